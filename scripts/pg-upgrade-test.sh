#!/usr/bin/env bash
# The major-version upgrade test: a Postgres 15 cluster with pool_ext, filled
# (tests/pg_upgrade/fill.sql: three companies, holds in progress and one overdue, outcomes,
# releases, retired and moved numbers, pool rules, an alert out, registered CRM tables, roles of
# each access level), upgraded with Postgres 18's pg_upgrade (first --check, then a copy) to a
# new Postgres 18 cluster that has the same pool_ext version installed. Then:
#   (a) every row, sequence position, role, privilege and schema fact is as before
#       (tests/pg_upgrade/snapshot.sql, diffed);
#   (b) assignment, outcomes and the release go on (the roles in sessions of their own), the
#       ledger and the CRM interactions continue from their sequences' old positions;
#   (c) the upgraded schema equals a fresh install on 18 (tests/upgrade/catalog.sql).
# It runs vacuumdb as pg_upgrade advises, and keeps pg_upgrade's output (--check and the
# upgrade) in target/pg-upgrade-test/. Ends with "pg_upgrade 15 -> 18: N passed, M failed".
#
# Clusters: the old one is scripts/cluster.sh majors (15: port 55440, /var/tmp/pool_ext-majors),
# recreated each run; the new one is made by initdb where `POOL_EXT_PG=18 scripts/cluster.sh
# start majors` finds it (port 55540, /var/tmp/pool_ext-majors-pg18), with the same settings,
# and started and stopped by cluster.sh after the upgrade. Both are stopped on exit, and removed
# after a passing run. It builds this tree and installs it into both majors first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$PWD

work=$root/target/pg-upgrade-test
rm -rf "$work"
mkdir -p "$work"
version=$POOL_EXT_VERSION
started=$(date +%s)
old_bin=$("$(pg_config_for 15)" --bindir)
new_bin=$("$(pg_config_for 18)" --bindir)
old_base=/var/tmp/pool_ext-majors
old_data=$old_base/data
old_port=55440
new_base=/var/tmp/pool_ext-majors-pg18
new_data=$new_base/data
new_port=55540
db=pool_majors

say() { echo "[pg_upgrade] $*"; }
passed=0
failed=0
pass() { passed=$((passed + 1)); say "ok: $*"; }
fail() { failed=$((failed + 1)); say "FAILED: $*" >&2; }
# A failure after which nothing else can be tested.
abort() {
  fail "$*"
  say "pg_upgrade 15 -> 18: $passed passed, $failed failed (stopped early; clusters kept in $old_base, $new_base; output in $work)"
  exit 1
}

cluster() { POOL_EXT_PG=$1 bash scripts/cluster.sh "$2" majors; }
cleanup() {
  local rc=$?
  cluster 15 stop || true
  cluster 18 stop || true
  if [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]; then
    as_root rm -rf "$old_base" "$new_base"
  fi
}
trap cleanup EXIT

# Every psql, pg_dump and vacuumdb is Postgres 18's (it speaks to 15 as well), so the client
# cannot make the before and after snapshots differ; UTC so that timestamps print alike.
export PGTZ=UTC PGUSER=postgres PGCONNECT_TIMEOUT=10 PGOPTIONS='-c statement_timeout=120s'
old_sql() { "$new_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$old_base" -p "$old_port" "$@"; }
new_sql() { "$new_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$new_base" -p "$new_port" "$@"; }
# new_value [psql options] -c SQL: one value from the new cluster's database.
new_value() { new_sql -d "$db" -At "$@"; }

# The same build of this tree in both majors, as an operator installs it (no test features:
# a pg_test build adds a schema of test functions to the extension, which only one side
# would have if the two were built differently).
for major in 15 18; do
  say "building and installing pool_ext $version into Postgres $major"
  POOL_EXT_PG=$major bash scripts/install.sh --no-default-features --features "pg$major"
  control="$("$(pg_config_for "$major")" --sharedir)/extension/pool_ext.control"
  installed=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$control" 2>/dev/null || true)
  [ "$installed" = "$version" ] || abort "pool_ext $version is not installed into Postgres $major (found: ${installed:-nothing})"
done
pass "pool_ext $version installed into Postgres 15 and 18"

# --- The old side: a fresh Postgres 15 cluster, filled. -----------------------------------
say "old: Postgres 15 cluster in $old_data (port $old_port)"
cluster 15 stop
cluster 18 stop
as_root rm -rf "$old_base" "$new_base"
cluster 15 start
recreate_database "$db" -- old_sql -d postgres
old_sql -d "$db" -c 'CREATE EXTENSION pool_ext'
old_sql -d "$db" -f tests/pg_upgrade/fill.sql >"$work/fill.out" 2>&1 ||
  { cat "$work/fill.out"; abort "tests/pg_upgrade/fill.sql on 15"; }
old_version=$(old_sql -d "$db" -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pool_ext'")
old_server=$(old_sql -d "$db" -At -c 'SHOW server_version_num')
[ "$old_version" = "$version" ] && [ "${old_server:0:2}" = 15 ] ||
  abort "the old cluster has pool_ext $old_version on server $old_server, expected $version on 15"
old_sql -d "$db" -f tests/pg_upgrade/snapshot.sql >"$work/before.txt"
ledger_before=$(old_sql -d "$db" -At -c 'SELECT count(*) FROM pool_ext.phone_number_ledger')
ledger_seq=$(old_sql -d "$db" -At -c 'SELECT last_value FROM pool_ext.phone_number_ledger_id_seq')
crm_seq=$(old_sql -d "$db" -At -c 'SELECT last_value FROM public.interactions_id_seq')
held_before=$(old_sql -d "$db" -At -c "SELECT count(*) FROM pool_ext.signalwire_phone_numbers WHERE assignment_status = 'assigned'")
overdue_before=$(old_sql -d "$db" -At -c 'SELECT count(*) FROM pool_ext.overdue_holds')
lead1_number=$(old_sql -d "$db" -At -c "SELECT vapi_phone_number_id FROM pool_ext.signalwire_phone_numbers
                                         WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000001'")
lines=$(grep -c '' "$work/before.txt")
if [ "$ledger_before" -ge 20 ] && [ "$held_before" -ge 6 ] && [ "$overdue_before" -ge 1 ] && [ "$lines" -gt 500 ]; then
  pass "15 filled: $ledger_before ledger rows (sequence at $ledger_seq), $held_before holds ($overdue_before overdue), CRM interactions at $crm_seq; snapshot of $lines lines"
else
  abort "the fill is thinner than expected: $ledger_before ledger rows, $held_before holds, $overdue_before overdue, $lines snapshot lines"
fi

# Debian's Postgres 15.20 (15.20-0+deb12u1) gives every column of every table and view it
# creates the attribute option pg_attver=<n>, which pg_dump copies into its output as
# `ALTER TABLE ONLY ... ALTER COLUMN ... SET (pg_attver=<n>)`; Postgres 18.6 knows no such
# option, so pg_upgrade stops at "Restoring database schemas in the new cluster" with
# ERROR: unrecognized parameter "pg_attver" (pg_upgrade --check does not see it). It is not
# pool_ext's: a plain user table carries it too. Unless PG_UPGRADE_TEST_KEEP_ATTVER=1 (to see
# the failure), the test clears that one option from the user tables' columns of every
# database in the old cluster, as a superuser, after the snapshot (ALTER TABLE ... RESET
# cannot: the 15.20 server sets it again on every ALTER TABLE).
attver=$(old_sql -d "$db" -At -c "SELECT count(*) FROM pg_attribute WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg_attver=%'")
if [ "$attver" -gt 0 ]; then
  say "NOTE: the old cluster's columns carry the option pg_attver ($attver columns in $db; $("$old_bin/postgres" --version))"
  if [ "${PG_UPGRADE_TEST_KEEP_ATTVER:-0}" = 1 ]; then
    say "NOTE: PG_UPGRADE_TEST_KEEP_ATTVER=1: left as it is"
  else
    for database in $(old_sql -d postgres -At -c 'SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1'); do
      old_sql -d "$database" -At -c "
        UPDATE pg_catalog.pg_attribute
        SET attoptions = nullif(ARRAY(SELECT o FROM unnest(attoptions) AS o WHERE o NOT LIKE 'pg_attver=%'), '{}')
        WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg_attver=%'" >/dev/null
    done
    left=$(old_sql -d "$db" -At -c "SELECT count(*) FROM pg_attribute WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg_attver=%'")
    [ "$left" = 0 ] || abort "clearing pg_attver left $left columns with it"
    say "NOTE: cleared pg_attver from the user tables' columns of every database (the workaround; see docs/install.md)"
  fi
fi
cluster 15 stop

# --- The new side: an empty Postgres 18 cluster with the old one's settings. ----------------
# initdb 18 turns data checksums on by default; pg_upgrade needs them as in the old cluster.
checksums=$(as_postgres "$old_bin/pg_controldata" "$old_data" | awk -F: '/Data page checksum version/ {gsub(/ /, "", $2); print $2}')
checksum_flag=--no-data-checksums
[ "$checksums" = 0 ] || checksum_flag=--data-checksums
say "new: initdb Postgres 18 in $new_data (checksums as the old cluster: $checksum_flag)"
as_root install -d -o postgres -g postgres "$new_base"
as_postgres "$new_bin/initdb" -D "$new_data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  "$checksum_flag" >"$work/initdb.out" 2>&1 || { cat "$work/initdb.out"; abort "initdb 18"; }
# What scripts/cluster.sh gives a new cluster (pg_upgrade leaves postgresql.conf alone).
as_postgres tee -a "$new_data/postgresql.conf" >/dev/null <<CONF
port = $new_port
listen_addresses = ''
unix_socket_directories = '$new_base'
max_worker_processes = 32
max_connections = 200
fsync = on
CONF

# --- pg_upgrade: --check, then the upgrade (copy mode). Both clusters stopped; pg_upgrade
# starts each on its own port with its sockets in the old cluster's directory, and writes
# files into the current directory: the old cluster's, which postgres may write. -----------
upgrade() {
  (cd "$old_base" && as_postgres timeout 900 "$new_bin/pg_upgrade" \
    --old-bindir "$old_bin" --new-bindir "$new_bin" \
    --old-datadir "$old_data" --new-datadir "$new_data" \
    --old-port "$old_port" --new-port "$new_port" --socketdir "$old_base" \
    --username postgres "$@")
}
say "pg_upgrade --check"
if upgrade --check >"$work/pg_upgrade-check.txt" 2>&1 && grep -q '^\*Clusters are compatible\*' "$work/pg_upgrade-check.txt"; then
  pass "pg_upgrade --check: clusters are compatible"
  sed 's/^/    /' "$work/pg_upgrade-check.txt"
else
  cat "$work/pg_upgrade-check.txt"
  abort "pg_upgrade --check"
fi
say "pg_upgrade --copy"
if upgrade --copy >"$work/pg_upgrade.txt" 2>&1 && grep -q '^Upgrade Complete' "$work/pg_upgrade.txt"; then
  pass "pg_upgrade: upgrade complete ($(grep -c ' ok$' "$work/pg_upgrade.txt") steps ok)"
else
  cat "$work/pg_upgrade.txt"
  # The log pg_upgrade names for the failure, e.g. the restore's error.
  failure_log=$(sed -n 's/.*"\(.*pg_upgrade_output\.d.*\.log\)".*/\1/p' "$work/pg_upgrade.txt" | head -1)
  [ -z "$failure_log" ] || as_root tail -n 15 "$failure_log" || true
  abort "pg_upgrade"
fi

# --- After: start 18 as cluster.sh would, analyze as pg_upgrade advises, compare. ----------
cluster 18 start
new_server=$(new_value -c 'SHOW server_version_num')
new_version=$(new_value -c "SELECT extversion FROM pg_extension WHERE extname = 'pool_ext'")
if [ "${new_server:0:2}" = 18 ] && [ "$new_version" = "$version" ]; then
  pass "the new cluster runs Postgres $new_server with pool_ext $new_version"
else
  fail "the new cluster runs $new_server with pool_ext $new_version, expected 18 and $version"
fi
# pg_upgrade 18 carries the optimizer statistics over and prints the vacuumdb commands for
# what it cannot carry: run exactly those (the bindir and connection added).
grep -A3 -i 'vacuumdb' "$work/pg_upgrade.txt" | grep -o 'vacuumdb .*' >"$work/vacuumdb-commands.txt" || true
[ -s "$work/vacuumdb-commands.txt" ] || echo 'vacuumdb --all --analyze-in-stages' >"$work/vacuumdb-commands.txt"
analyzed=ok
while read -r command; do
  # shellcheck disable=SC2086 # the command's own words
  "$new_bin"/$command -h "$new_base" -p "$new_port" >>"$work/vacuumdb.out" 2>&1 || analyzed="failed: $command"
done <"$work/vacuumdb-commands.txt"
if [ "$analyzed" = ok ] && [ "$(new_value -c "SELECT count(*) FROM pg_stats WHERE schemaname = 'pool_ext'")" -gt 0 ]; then
  pass "statistics: $(paste -sd';' "$work/vacuumdb-commands.txt" | sed 's/;/; /g'), pool_ext's tables have statistics"
else
  fail "vacuumdb after the upgrade ($analyzed; see $work/vacuumdb.out)"
fi

new_sql -d "$db" -f tests/pg_upgrade/snapshot.sql >"$work/after.txt"
if diff -u "$work/before.txt" "$work/after.txt" >"$work/snapshot.diff"; then
  pass "every row, sequence position, role, privilege and schema fact as before ($lines lines compared)"
else
  cat "$work/snapshot.diff"
  fail "the database differs after pg_upgrade (diff above: - before on 15, + after on 18)"
fi

# --- Assignment and release go on, in the roles' own sessions. ------------------------------
as_role() { local role=$1; shift; new_sql -d "$db" -U "$role" -At "$@"; }
new_lead=00000000-0000-0000-0000-000000000041

# The lead that held a number before the upgrade gets it back, through the caller role.
got=$(as_role pgu_caller -c "SELECT vapi_phone_number_id || ' ' || chosen_by FROM pool_ext.assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000001')")
if [ "$got" = "$lead1_number current_hold" ]; then
  pass "a lead holding $lead1_number since before the upgrade gets it back (current_hold)"
else
  fail "lead 1 held $lead1_number before the upgrade; after it, assign_phone_number gave '$got'"
fi

# A new lead: in the CRM first, then a number with its area code, once the operator has ended
# Beta's cooldown (its free 415 line rests since a release before the upgrade); the ledger and
# the CRM interactions go on from their sequences' old positions.
rules=$(as_role pgu_operator -c "SELECT cooldown FROM pool_ext.set_pool_rules('Beta Brokers', cooldown => '0')")
[ "$rules" = 00:00:00 ] || fail "the operator could not set Beta's cooldown after the upgrade: '$rules'"
new_value -c "INSERT INTO public.leads (id, full_name, phone) VALUES ('$new_lead', 'Lead after the upgrade', '415.555.0041')" >/dev/null
got=$(as_role pgu_caller -c "SELECT chosen_by || ' ' || area_code_matched FROM pool_ext.assign_phone_number('Beta Brokers', '$new_lead', '415.555.0041')")
first_id=$(new_value -c "SELECT min(id) FROM pool_ext.phone_number_ledger WHERE id > $ledger_seq")
crm=$(new_value -c "SELECT i.id || ' ' || i.type || ' ' || (l.assigned_phone_number_id = i.metadata->>'assigned_phone_number_id')
                    FROM public.interactions AS i JOIN public.leads AS l ON l.id = i.lead_id WHERE i.lead_id = '$new_lead'")
if [ "$got" = 'area_code true' ] && [ "$first_id" = $((ledger_seq + 1)) ] && [ "$crm" = "$((crm_seq + 1)) phone_number_assigned true" ]; then
  pass "a new lead gets a 415 line (area_code); ledger id $first_id and CRM interaction $((crm_seq + 1)) follow the old positions ($ledger_seq, $crm_seq)"
else
  fail "new lead: '$got' (expected 'area_code true'), first ledger id $first_id (expected $((ledger_seq + 1))), CRM '$crm' (expected '$((crm_seq + 1)) phone_number_assigned true')"
fi

got=$(as_role pgu_caller -c "SELECT assignment_status || ' ' || last_call_outcome FROM pool_ext.record_call_outcome('$new_lead', 'no_answer')")
outcome_rows=$(new_value -c "SELECT count(*) FROM pool_ext.phone_number_ledger WHERE lead_id = '$new_lead' AND event = 'outcome' AND reason = 'no_answer'")
if [ "$got" = 'assigned no_answer' ] && [ "$outcome_rows" = 1 ]; then
  pass "record_call_outcome on the new hold (no_answer), with its ledger row"
else
  fail "record_call_outcome after the upgrade: '$got', $outcome_rows outcome rows"
fi

# The release: the hold overdue since before the upgrade, and one made to expire now (as the
# fill does: the superuser moves release_at into the past).
new_value -c "UPDATE pool_ext.signalwire_phone_numbers SET release_at = now() - interval '1 minute'
              WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000021'" >/dev/null
due=$(new_value -c 'SELECT count(*) FROM pool_ext.overdue_holds')
released=$(as_role pgu_caller -c 'SELECT pool_ext.release_expired_phone_numbers()')
left=$(new_value -c "SELECT count(*) FROM pool_ext.signalwire_phone_numbers
                     WHERE currently_assigned_to IN ('00000000-0000-0000-0000-000000000021', '00000000-0000-0000-0000-000000000022')")
if [ "$due" -ge 2 ] && [ "$released" = "$due" ] && [ "$left" = 0 ] && [ "$(new_value -c 'SELECT count(*) FROM pool_ext.overdue_holds')" = 0 ]; then
  pass "release_expired_phone_numbers() frees the $released overdue holds (one overdue since before the upgrade)"
else
  fail "release after the upgrade: $due due, $released released, $left of leads 21 and 22 still held"
fi

# The other levels: the monitor reads the views and may not assign; the operator manages.
monitor=$(as_role pgu_monitor -c "SELECT count(*) FROM pool_ext.pool_health" 2>&1)
refused=$(as_role pgu_monitor -c "SELECT pool_ext.assign_phone_number('Beta Brokers', gen_random_uuid())" 2>&1 || true)
new_value -c "INSERT INTO public.leads (id, full_name) VALUES ('00000000-0000-0000-0000-000000000042', 'Lead 42')" >/dev/null
operator=$(as_role pgu_operator -c "SELECT pool_ext.force_release_phone_number(vapi_phone_number_id, 'after the upgrade')
                                   FROM pool_ext.assign_phone_number('Gamma Homes', '00000000-0000-0000-0000-000000000042')" 2>&1 || true)
if [ "$monitor" = 3 ] && [[ "$refused" == *'permission denied for function assign_phone_number'* ]] && [ "$operator" = t ]; then
  pass "the grants act as before: monitor reads pool_health and may not assign; operator assigns and force-releases"
else
  fail "grants after the upgrade: monitor '$monitor', monitor assigning '$refused', operator '$operator'"
fi

ledger_after=$(new_value -c 'SELECT count(*) FROM pool_ext.phone_number_ledger')
seq_after=$(new_value -c 'SELECT last_value FROM pool_ext.phone_number_ledger_id_seq')
doubles=$(new_value -c 'SELECT count(*) FROM pool_ext.double_assignments')
# Lead 1's repeat call (a renewed row only if it moved release_at: lead 1 is booked beyond
# the retention), the new lead's assignment and outcome, the due releases, and the operator's
# assignment and release.
renewals=$(new_value -c "SELECT count(*) FROM pool_ext.phone_number_ledger WHERE id > $ledger_seq AND event = 'renewed'")
expected=$((ledger_before + renewals + 2 + due + 2))
if [ "$ledger_after" = "$expected" ] && [ "$seq_after" = $((ledger_seq + ledger_after - ledger_before)) ] && [ "$doubles" = 0 ]; then
  pass "the ledger grew from $ledger_before to $ledger_after rows, ids $((ledger_seq + 1))..$seq_after without a gap; double_assignments empty"
else
  fail "ledger after the upgrade: $ledger_after rows (expected $expected), sequence at $seq_after, $doubles double assignments"
fi

# --- The upgraded schema equals a fresh install on 18 (the roles' grants taken back first,
# as in scripts/upgrade-test.sh, so that privileges compare like for like). ------------------
for role in pgu_caller pgu_monitor pgu_operator upgrade_caller; do
  new_value -c "SELECT pool_ext.revoke_pool_access('$role')" >/dev/null
done
recreate_database pool_majors_fresh -- new_sql -d postgres
new_sql -d pool_majors_fresh -c 'CREATE EXTENSION pool_ext'
# One difference is expected and harmless: CREATE EXTENSION on 18 leaves the tables' (the
# partitioned ledger's too), views' and
# the sequence's ACL and initial privileges written out as the owner's default
# ({postgres=arwdDxtm/postgres}, {postgres=rwU/postgres}); pg_upgrade restores them as NULL,
# which means that default, and records no initial privileges equal to it. Both read alike here.
# The same for the one function whose ACL is a function's default, owner and PUBLIC
# (_low_water_mark, granted to PUBLIC after the extension revokes all routines from it).
# And the names of NOT NULL constraints, which 18 keeps in pg_constraint and 15 does not: a
# partition made on 18 takes its ledger's names, one pg_upgrade brings from 15 gets names of
# its own (phone_number_ledger_default_actor_not_null); the constraints are the same.
owner_default() {
  sed -E -e '/^relation .* kind [rvp] /s/ acl \{postgres=arwdDxtm\/postgres\} / acl (default) /' \
         -e '/^relation .* kind S /s/ acl \{postgres=rwU\/postgres\} / acl (default) /' \
         -e '/^initprivs (table|view) .* \{postgres=arwdDxtm\/postgres\}$/d' \
         -e '/^initprivs sequence .* \{postgres=rwU\/postgres\}$/d' \
         -e '/^routine /s/ acl \{postgres=X\/postgres,=X\/postgres\} / acl (default) /' \
         -e '/^initprivs function .* \{postgres=X\/postgres,=X\/postgres\}$/d' \
         -e 's/^(constraint [^ ]+) [^ ]+_not_null NOT NULL /\1 (not null) NOT NULL /' |
    LC_ALL=C sort
}
new_sql -d "$db" -f tests/upgrade/catalog.sql | owner_default >"$work/catalog-upgraded.txt"
new_sql -d pool_majors_fresh -f tests/upgrade/catalog.sql | owner_default >"$work/catalog-fresh.txt"
facts=$(grep -c '' "$work/catalog-fresh.txt")
if [ "$facts" -gt 100 ] && diff -u "$work/catalog-fresh.txt" "$work/catalog-upgraded.txt"; then
  pass "the upgraded schema equals a fresh install of $version on 18 ($facts facts)"
else
  fail "the upgraded schema differs from a fresh install on 18 (diff above: - fresh, + upgraded; $facts facts)"
fi

say "run time $(($(date +%s) - started)) s; pg_upgrade's output: $work/pg_upgrade-check.txt, $work/pg_upgrade.txt"
say "pg_upgrade 15 -> 18: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
