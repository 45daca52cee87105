#!/usr/bin/env bash
# The Prometheus test: Debian's real prometheus-postgres-exporter (0.11) runs
# examples/prometheus/queries.yaml against a private cluster, as a role that has only
# grant_pool_access(role, 'monitor'), and every series the queries promise is scraped and
# checked against a pool filled with the extension's own API; then promtool checks and
# unit-tests examples/prometheus/alerts.yml (examples/prometheus/alerts_test.yml).
#
#   bash scripts/prometheus-test.sh
#
# Needs the apt packages prometheus-postgres-exporter and prometheus (promtool), which
# scripts/setup.sh installs, and pool_ext installed into the system Postgres 15
# (scripts/install.sh). It fails, never skips, when any of them is missing.
# Cluster: scripts/cluster.sh metrics (port 55438, socket /var/tmp/pool_ext-metrics, nothing on
# TCP). The exporter listens on 127.0.0.1:${POOL_EXT_EXPORTER_PORT:-59187} only; no system
# service (a packaged exporter on :9187, a Prometheus on :9090) is used or touched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

EXPORTER=/usr/bin/prometheus-postgres-exporter
PROMTOOL=/usr/bin/promtool
QUERIES=$PWD/examples/prometheus/queries.yaml
RULES=examples/prometheus/alerts.yml
RULE_TESTS=examples/prometheus/alerts_test.yml
EXPORTER_PORT=${POOL_EXT_EXPORTER_PORT:-59187}
DB=pool_metrics
ROLE=pool_ext_exporter
work=$PWD/target/prometheus-test
mkdir -p "$work"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "[prometheus] ok: $*"; }
not_ok() { failed=$((failed + 1)); echo "[prometheus] FAILED: $*" >&2; }
die() { echo "[prometheus] FAILED: $*" >&2; echo "prometheus: $passed passed, $((failed + 1)) failed" >&2; exit 1; }

started=$(date +%s)
for tool in "$EXPORTER" "$PROMTOOL" curl psql; do
  command -v "$tool" >/dev/null || die "$tool is missing (bash scripts/setup.sh installs the apt packages)"
done
echo "[prometheus] $("$EXPORTER" --version 2>&1 | head -1)"
echo "[prometheus] $("$PROMTOOL" --version 2>&1 | head -1)"

exporter_pid=
cleanup() {
  if [ -n "$exporter_pid" ] && kill -0 "$exporter_pid" 2>/dev/null; then
    kill "$exporter_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$exporter_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$exporter_pid" 2>/dev/null || true
  fi
  bash scripts/cluster.sh stop metrics || true
}
trap cleanup EXIT

bash scripts/cluster.sh start metrics
eval "$(bash scripts/cluster.sh env metrics)"
export PGHOST PGPORT PGUSER
psql_in() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# --- a fresh database, filled through the API -------------------------------------------
recreate_database "$DB" -- psql_in postgres
psql_in postgres -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE ROLE $ROLE LOGIN"
psql_in "$DB" -c 'CREATE EXTENSION pool_ext'
# The exporter's role: the monitor level and nothing else (USAGE on the schema, SELECT on the
# views, EXECUTE on the monitoring functions; never a table).
psql_in "$DB" -At -c "SELECT pool_ext.grant_pool_access('$ROLE', 'monitor')" >"$work/grants.txt"

# Three companies, every state present somewhere:
#   Acme Metrics (7): low-water count 3, cooldown 1 hour. Three leads assigned; one hold made
#     3 hours overdue (a release job that has not run for 3 hours), one force-released (resting
#     in its cooldown), one number retired. Left: 3 available, 2 assigned, 1 resting,
#     1 retired; the alert is out (3 <= 3).
#   Bravo Metrics (3): daily cap 1, no cooldown. One lead assigned and released at once
#     (do_not_call): that number is at its cap for the day; two more leads take the other two.
#     Left: 0 available, 2 assigned, 1 at_cap: empty.
#   Charlie Metrics (5): no demand (no runway forecast); one number quarantined (set as the
#     owner, as if its answers had collapsed). Left: 4 available, 1 quarantined.
# The daily cap counts since the start of the company's day: Bravo's day is a time zone where
# it is around noon now, so the test never straddles its midnight.
psql_in "$DB" >/dev/null <<'SQL'
SET search_path = "$user", public, pool_ext;
SELECT * FROM import_phone_numbers((
  SELECT jsonb_agg(jsonb_build_object(
           'vapi_phone_number_id', lower(split_part(c.company, ' ', 1)) || '-' || n,
           'number', '+1415555' || lpad((c.base + n)::text, 4, '0'),
           'name', c.company || ' line ' || n,
           'broker_company', c.company))
  FROM (VALUES ('Acme Metrics', 7, 100), ('Bravo Metrics', 3, 200), ('Charlie Metrics', 5, 300))
         AS c (company, size, base)
  CROSS JOIN LATERAL generate_series(1, c.size) AS n));

SELECT * FROM set_pool_rules('Acme Metrics', low_water_count => 3, cooldown => '1 hour');
UPDATE signalwire_phone_numbers SET status = 'quarantined', quarantined_until = now() + interval '7 days'
WHERE vapi_phone_number_id = 'charlie-5';
SELECT retire_phone_number('acme-7');
SELECT * FROM assign_phone_number('Acme Metrics', '00000000-0000-0000-0000-00000000a001');
SELECT * FROM assign_phone_number('Acme Metrics', '00000000-0000-0000-0000-00000000a002');
SELECT * FROM assign_phone_number('Acme Metrics', '00000000-0000-0000-0000-00000000a003');
SELECT force_release_phone_number(vapi_phone_number_id, 'prometheus test')
FROM signalwire_phone_numbers WHERE currently_assigned_to = '00000000-0000-0000-0000-00000000a003';
-- As the owner: move one hold's times back, as if the release job had not run for 3 hours.
-- (A change of times, not of holder: nothing is written to the ledger.)
UPDATE signalwire_phone_numbers
SET assigned_at = now() - interval '21 hours', release_at = now() - interval '3 hours'
WHERE currently_assigned_to = '00000000-0000-0000-0000-00000000a002';

SELECT * FROM set_company_policy('Bravo Metrics', time_zone => (
  SELECT CASE WHEN h = 0 THEN 'Etc/GMT' WHEN h > 0 THEN 'Etc/GMT-' || h ELSE 'Etc/GMT+' || -h END
  FROM (SELECT 12 - extract(hour FROM now() AT TIME ZONE 'UTC')::int AS h) AS offset_hours));
SELECT * FROM set_pool_rules('Bravo Metrics', daily_cap => 1);
SELECT * FROM assign_phone_number('Bravo Metrics', '00000000-0000-0000-0000-00000000b001');
SELECT * FROM record_call_outcome('00000000-0000-0000-0000-00000000b001', 'do_not_call');
SELECT * FROM assign_phone_number('Bravo Metrics', '00000000-0000-0000-0000-00000000b002');
SELECT * FROM assign_phone_number('Bravo Metrics', '00000000-0000-0000-0000-00000000b003');

-- What the scheduled check would do: send the alerts no assignment sent.
SELECT check_pool_alerts();
SQL
psql_in "$DB" -c 'SELECT * FROM pool_ext.pool_health ORDER BY company' >"$work/pool_health.txt"
cat "$work/pool_health.txt"

# --- the exporter role sees the views, never the tables ----------------------------------
as_exporter() { psql -X -q -v ON_ERROR_STOP=1 -U "$ROLE" -d "$DB" "$@"; }
if got=$(as_exporter -At -c 'SELECT count(*) FROM pool_ext.pool_health' 2>&1) && [ "$got" = 3 ]; then
  ok "$ROLE reads pool_health (3 companies)"
else
  not_ok "$ROLE cannot read pool_health: $got"
fi
for table in signalwire_phone_numbers phone_number_ledger company_policies pool_alert_state; do
  if out=$(as_exporter -At -c "SELECT count(*) FROM pool_ext.$table" 2>&1); then
    not_ok "$ROLE read the table $table directly: $out"
  elif grep -q "permission denied for table $table" <<<"$out"; then
    ok "$ROLE: permission denied on SELECT from $table"
  else
    not_ok "$ROLE on $table: unexpected error: $out"
  fi
done
if out=$(as_exporter -At -c "SELECT * FROM pool_ext.assign_phone_number('Charlie Metrics', gen_random_uuid())" 2>&1); then
  not_ok "$ROLE could assign a number: $out"
elif grep -q 'permission denied for function assign_phone_number' <<<"$out"; then
  ok "$ROLE: permission denied for assign_phone_number (monitor level only)"
else
  not_ok "$ROLE assign: unexpected error: $out"
fi
# The role's privileges on the extension's tables, from the catalog: none.
table_privileges=$(psql_in "$DB" -At -c "
  SELECT count(*) FROM pg_class AS c
  CROSS JOIN unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p (privilege)
  WHERE c.relnamespace = 'pool_ext'::regnamespace AND c.relkind = 'r'
    AND has_table_privilege('$ROLE', c.oid, p.privilege)")
if [ "$table_privileges" = 0 ]; then ok "$ROLE has no privilege on any table of pool_ext"
else not_ok "$ROLE has $table_privileges table privileges in pool_ext"; fi

# --- the real exporter on a private loopback port ----------------------------------------
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$EXPORTER_PORT/"; then
  die "something already listens on 127.0.0.1:$EXPORTER_PORT (an exporter left over?); set POOL_EXT_EXPORTER_PORT to another port"
fi
env -i PATH=/usr/bin:/bin \
  DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=$ROLE dbname=$DB sslmode=disable" \
  "$EXPORTER" --web.listen-address="127.0.0.1:$EXPORTER_PORT" \
  --extend.query-path="$QUERIES" \
  --disable-default-metrics --disable-settings-metrics \
  --no-collector.database --no-collector.bgwriter \
  --log.level=warn >"$work/exporter.log" 2>&1 &
exporter_pid=$!

# Wait (at most 30 s) for the exporter to answer with a connected scrape.
metrics=$work/metrics.txt
deadline=$(($(date +%s) + 30))
until curl -s --max-time 5 "http://127.0.0.1:$EXPORTER_PORT/metrics" -o "$metrics" &&
      grep -q '^pg_up 1$' "$metrics"; do
  kill -0 "$exporter_pid" 2>/dev/null || die "the exporter exited: $(cat "$work/exporter.log")"
  [ "$(date +%s)" -lt "$deadline" ] ||
    die "no scrape with pg_up 1 within 30 s; exporter log: $(cat "$work/exporter.log")"
  sleep 0.5
done
ok "exporter on 127.0.0.1:$EXPORTER_PORT answers, pg_up 1"
# A second scrape, the one checked (the first may have raced the connection).
curl -sf --max-time 10 "http://127.0.0.1:$EXPORTER_PORT/metrics" -o "$metrics" ||
  die "scraping http://127.0.0.1:$EXPORTER_PORT/metrics failed"

# The value of the series with exactly this name and label set, or nothing.
series_value() { awk -v s="$1" 'index($0, s " ") == 1 && substr($0, length(s) + 2) !~ / / {print substr($0, length(s) + 2)}' "$metrics"; }
expect() {
  local series=$1 want=$2 got
  got=$(series_value "$series")
  if [ -z "$got" ]; then not_ok "$series: no such series"
  elif awk -v a="$got" -v b="$want" 'BEGIN {exit !(a + 0 == b + 0)}'; then ok "$series $got"
  else not_ok "$series is $got, expected $want"; fi
}
expect_between() {
  local series=$1 low=$2 high=$3 got
  got=$(series_value "$series")
  if [ -z "$got" ]; then not_ok "$series: no such series"
  elif awk -v a="$got" -v l="$low" -v h="$high" 'BEGIN {exit !(a + 0 >= l && a + 0 <= h)}'; then ok "$series $got"
  else not_ok "$series is $got, expected $low to $high"; fi
}
expect_absent() {
  if grep -qF "$1" "$metrics"; then not_ok "$1...} should not be exported: $(grep -F "$1" "$metrics" | head -1)"
  else ok "$1...}: no series, as expected"; fi
}

# Exporter 0.11 labels every series of a custom query with server="HOST:PORT" of its DSN
# (labels are printed in name order).
srv="server=\"$PGHOST:$PGPORT\""

expect 'pg_exporter_last_scrape_error' 0
expect 'pg_exporter_user_queries_load_error{filename="'"$QUERIES"'",hashsum="'"$(sha256sum "$QUERIES" | cut -d' ' -f1)"'"}' 0

state_list=(available assigned resting at_cap retired quarantined)
declare -A want_numbers=(
  [Acme Metrics]="3 2 1 0 1 0"
  [Bravo Metrics]="0 2 0 1 0 0"
  [Charlie Metrics]="4 0 0 0 0 1"
)
for company in "Acme Metrics" "Bravo Metrics" "Charlie Metrics"; do
  read -r -a counts <<<"${want_numbers[$company]}"
  for i in "${!state_list[@]}"; do
    expect "pool_ext_numbers{company=\"$company\",$srv,state=\"${state_list[$i]}\"}" "${counts[$i]}"
  done
done
n=$(grep -c '^pool_ext_numbers{' "$metrics" || true)
[ "$n" = 18 ] && ok "pool_ext_numbers: 18 series (3 companies x 6 states)" ||
  not_ok "pool_ext_numbers: $n series, expected 18"

#                 company            low_water_alert notified overdue assignments_last_hour
while read -r alert notified overdue assigned company; do
  expect "pool_ext_company_low_water_alert{company=\"$company\",$srv}" "$alert"
  expect "pool_ext_company_low_water_notified{company=\"$company\",$srv}" "$notified"
  expect "pool_ext_company_overdue_holds{company=\"$company\",$srv}" "$overdue"
  expect "pool_ext_company_assignments_last_hour{company=\"$company\",$srv}" "$assigned"
done <<'ROWS'
1 1 1 3 Acme Metrics
1 1 0 3 Bravo Metrics
0 0 0 0 Charlie Metrics
ROWS

# pool_runway(): Acme has 3 available and 3 assignments in 3 hours (1 an hour), the overdue
# hold back in hour 0: 3 -1 +1, then 2, 1, 0: dry after 4.0 hours. Bravo is empty: 0.
# Charlie has no demand: no forecast, no series.
expect "pool_ext_runway_hours_until_dry{company=\"Acme Metrics\",$srv}" 4
expect "pool_ext_runway_hours_until_dry{company=\"Bravo Metrics\",$srv}" 0
expect_absent 'pool_ext_runway_hours_until_dry{company="Charlie Metrics"'
n=$(grep -c '^pool_ext_runway_hours_until_dry{' "$metrics" || true)
[ "$n" = 2 ] && ok "pool_ext_runway_hours_until_dry: 2 series" ||
  not_ok "pool_ext_runway_hours_until_dry: $n series, expected 2"

expect "pool_ext_release_overdue_holds{$srv}" 1
# 3 hours overdue when filled, plus the seconds the test has taken since.
expect_between "pool_ext_release_oldest_overdue_seconds{$srv}" 10800 $((10800 + $(date +%s) - started + 5))

# Only the pool_ext_ series and the exporter's own: the default metrics are off.
others=$(grep -v '^#' "$metrics" | grep -Ev '^(pool_ext_|pg_up |pg_exporter_|postgres_exporter_build_info|go_|process_|promhttp_)' || true)
[ -z "$others" ] && ok "no other series" || not_ok "unexpected series: $(head -3 <<<"$others")"

kill "$exporter_pid" 2>/dev/null || true
wait "$exporter_pid" 2>/dev/null || true
exporter_pid=
if grep -qi 'level=error' "$work/exporter.log"; then
  not_ok "the exporter logged errors: $(grep -i 'level=error' "$work/exporter.log" | head -3)"
else
  ok "the exporter logged no errors"
fi

# --- the alert rules ---------------------------------------------------------------------
if out=$("$PROMTOOL" check rules "$RULES" 2>&1); then ok "promtool check rules $RULES: $(tail -1 <<<"$out")"
else not_ok "promtool check rules $RULES: $out"; fi
if out=$("$PROMTOOL" test rules "$RULE_TESTS" 2>&1); then ok "promtool test rules $RULE_TESTS: $(tail -1 <<<"$out")"
else not_ok "promtool test rules $RULE_TESTS: $out"; fi

echo "prometheus: $passed passed, $failed failed ($(($(date +%s) - started)) s)"
[ "$failed" -eq 0 ]
