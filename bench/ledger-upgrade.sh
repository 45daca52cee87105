#!/usr/bin/env bash
# How long the 0.4.0 -> 0.4.1 upgrade takes to convert a big ledger into monthly partitions in
# place (issue 16): a 0.4.0 database with POOL_EXT_UPGRADE_ROWS ledger rows (default
# 10,000,000: 100 days at 100,000 calls a day, two rows a call) over 3,000 numbers, then
# ALTER EXTENSION pool_ext UPDATE, timed, and the rows checked (count, ids, a checksum).
# The benchmark cluster (scripts/cluster.sh bench), default settings. Prints a summary and
# writes it to /tmp/pool_ext-ledger-upgrade.md. Installs 0.4.0, then this tree, into the system
# Postgres 15: do not run it beside the tests or the benchmark.
#
#   bash bench/ledger-upgrade.sh
#   POOL_EXT_UPGRADE_ROWS=1000000 bash bench/ledger-upgrade.sh
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

rows=${POOL_EXT_UPGRADE_ROWS:-10000000}
db=pool_ledger_upgrade
out=/tmp/pool_ext-ledger-upgrade.md

log upgrade "building and installing 0.4.0"
bash scripts/install-release.sh 0.4.0
bash scripts/cluster.sh start bench
trap 'bash scripts/cluster.sh stop bench' EXIT
eval "$(bash scripts/cluster.sh env bench)"
export PGHOST PGPORT PGUSER
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

recreate_database "$db" -- psql -X -q -d postgres
q -c "CREATE EXTENSION pool_ext VERSION '0.4.0'"
log upgrade "0.4.0: loading $rows ledger rows"
started=$(date +%s)
q <<SQL
INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
SELECT 'Upgrade ' || c || '-' || n, '+1' || (16000000000 + c * 15 + n), 'Line ' || n, 'Upgrade ' || c
FROM generate_series(0, 199) AS c, generate_series(0, 14) AS n;
-- Two rows a call, a call every 0.864 s (100,000 a day), newest now.
INSERT INTO pool_ext.phone_number_ledger
    (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
SELECT e.event, 'Upgrade ' || co || '-' || n, '+1' || (16000000000 + co * 15 + n), 'Upgrade ' || co,
       md5((j % 200000)::text)::uuid, now() - j * interval '864 milliseconds' + e.after, e.event
FROM generate_series($rows / 2, 1, -1) AS j,
     LATERAL (SELECT (j % 200000) % 200 AS co, (j / 200000) % 15 AS n) AS number,
     (VALUES ('assigned', interval '0'), ('released', interval '1 minute')) AS e (event, after);
SQL
q -c "VACUUM ANALYZE pool_ext.phone_number_ledger"
load_s=$(( $(date +%s) - started ))
fingerprint="SELECT count(*) || ' rows, ids ' || min(id) || '-' || max(id) || ', md5 '
                    || md5(string_agg(id || ':' || event || ':' || occurred_at, ',' ORDER BY id))
             FROM pool_ext.phone_number_ledger"
before=$(q -At -c "$fingerprint")
size_before=$(q -At -c "SELECT pg_size_pretty(pg_total_relation_size('pool_ext.phone_number_ledger'))")

log upgrade "installing this tree ($POOL_EXT_VERSION)"
bash scripts/install.sh
log upgrade "ALTER EXTENSION pool_ext UPDATE"
started=$(date +%s%N)
q -c "ALTER EXTENSION pool_ext UPDATE" 2>/dev/null
update_ms=$(( ($(date +%s%N) - started) / 1000000 ))
after=$(q -At -c "$fingerprint")
[ "$before" = "$after" ] || { echo "the ledger changed: before $before, after $after" >&2; exit 1; }
partitions=$(q -At -c "SELECT count(*) FROM pool_ext.ledger_partitions")
size_after=$(q -At -c "SELECT pg_size_pretty(sum(total_bytes)) FROM pool_ext.ledger_partitions")

{
  echo "# The 0.4.0 -> 0.4.1 upgrade of a big ledger"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB; Postgres $(psql -X -At -d postgres -c 'SHOW server_version'), default settings"
  echo "- ledger: $before ($size_before with indexes), loaded in ${load_s} s"
  echo "- \`ALTER EXTENSION pool_ext UPDATE\`: **$(awk -v ms="$update_ms" 'BEGIN {printf "%.1f", ms / 1000}') s**; afterwards $partitions partitions, $size_after; every row kept (same count, ids and checksum)"
} | tee "$out"
