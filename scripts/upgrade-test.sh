#!/usr/bin/env bash
# The upgrade test, run by scripts/test.sh. For each earlier release (tests/upgrade/releases.txt):
# build it from its git commit (scripts/install-release.sh), install it into the system Postgres 15, create it and fill a pool and ledger with its
# own API (tests/upgrade/fill-VERSION.sql), install this tree, ALTER EXTENSION pool_ext UPDATE
# in a new session, and check that
#   (a) every row of the pool and the ledger is as it was, and the old holds carry on
#       (tests/upgrade/check.sql);
#   (b) the upgraded schema equals a fresh install of this version, fact by fact
#       (tests/upgrade/catalog.sql: members, columns, indexes, constraints, triggers, routines,
#       privileges, dumped tables).
# It leaves this tree's default build installed. Cluster: scripts/cluster.sh upgrade (55437).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$PWD

work=$root/target/upgrade-test
mkdir -p "$work"
version=$POOL_EXT_VERSION
log() { echo "[upgrade] $*"; }
fail() { echo "[upgrade] FAILED: $*" >&2; exit 1; }

bash scripts/cluster.sh start upgrade
trap 'bash scripts/cluster.sh stop upgrade' EXIT
eval "$(bash scripts/cluster.sh env upgrade)"
export PGHOST PGPORT PGUSER
psql_in() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
# The tables and sequences pg_dump saves, as "name|columns" lines, with the columns the
# installed version gave them: the data check compares exactly those before and after.
dumped_relations() {
  psql_in "$1" -At -F'|' -c "
    SELECT k.oid::regclass,
           CASE k.relkind WHEN 'S' THEN 'last_value, is_called'
                ELSE (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                      FROM pg_attribute AS a
                      WHERE a.attrelid = k.oid AND a.attnum > 0 AND NOT a.attisdropped) END
    FROM pg_extension AS e, unnest(e.extconfig) AS c (oid)
    JOIN pg_class AS k ON k.oid = c.oid
    WHERE e.extname = 'pool_ext'
    ORDER BY 1"
}
# Every row of those relations, ordered by the first column (each table's key).
snapshot_data() {
  while IFS='|' read -r relation columns; do
    echo "== $relation"
    psql_in "$1" -A -c "SELECT $columns FROM $relation ORDER BY 1"
  done <"$2"
}

while read -r old commit <&3; do
  log "$old (commit ${commit:0:7}) -> $version"
  [ -f "tests/upgrade/fill-$old.sql" ] || fail "tests/upgrade/fill-$old.sql is missing"

  log "building and installing $old (the first time takes a few minutes)"
  bash scripts/install-release.sh "$old" || fail "building $old"

  recreate_database pool_upgrade -- psql_in postgres
  psql_in postgres -c 'DROP DATABASE IF EXISTS pool_restored WITH (FORCE)'
  psql_in pool_upgrade -c "CREATE EXTENSION pool_ext VERSION '$old'"
  psql_in pool_upgrade -f "tests/upgrade/fill-$old.sql" >/dev/null
  dumped_relations pool_upgrade >"$work/relations-$old.txt"
  snapshot_data pool_upgrade "$work/relations-$old.txt" >"$work/data-before-$old.txt"
  rows=$(grep -c '^upg-' "$work/data-before-$old.txt" || true)
  log "$old filled: $rows pool rows, $(psql_in pool_upgrade -At -c 'SELECT count(*) FROM pool_ext.phone_number_ledger') ledger rows"

  log "installing this tree ($version)"
  bash scripts/install.sh
  # In a session time zone other than UTC, as an operator in New York would run it: the
  # ledger's months must still be UTC months that meet end to end.
  PGTZ=America/New_York psql_in pool_upgrade -c 'ALTER EXTENSION pool_ext UPDATE' 2>"$work/update-$old.log"
  # The fill gave a role access: an update through a version that added to the access levels
  # (its script raises the warning) names the role and says how to extend its rights.
  path_scripts=$(awk -v v="$old" '$1 == v {on = 1} on {print "sql/pool_ext--" $1 "--*.sql"}' tests/upgrade/releases.txt)
  # shellcheck disable=SC2086 # the globs name the scripts on the path
  if grep -qs 'RAISE WARNING' $path_scripts; then
    grep -q 'grant_pool_access' "$work/update-$old.log" ||
      fail "ALTER EXTENSION UPDATE from $old did not say how to give the roles the new functions: $(cat "$work/update-$old.log")"
  fi
  got=$(psql_in pool_upgrade -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pool_ext'")
  [ "$got" = "$version" ] || fail "ALTER EXTENSION UPDATE from $old reached $got, not $version"

  # (a) The data: every row as it was, then the old holds used through the new API.
  snapshot_data pool_upgrade "$work/relations-$old.txt" >"$work/data-after-$old.txt"
  diff -u "$work/data-before-$old.txt" "$work/data-after-$old.txt" ||
    fail "the upgrade from $old changed the data (diff above)"
  psql_in pool_upgrade -f tests/upgrade/check.sql >/dev/null || fail "tests/upgrade/check.sql after $old"
  log "$old -> $version: data intact, old holds carry on, the old grant works"

  # The grants operators made survive a dump and restore of the upgraded database (pg_dump
  # leaves out what an extension script recorded as initial privileges).
  recreate_database pool_restored -- psql_in postgres
  pg_dump -Fc -d pool_upgrade -f "$work/upgraded-$old.dump"
  pg_restore -d pool_restored "$work/upgraded-$old.dump"
  kept=$(psql_in pool_restored -At -c "SELECT has_function_privilege('upgrade_caller',
           'pool_ext.assign_phone_number(text, uuid, text)', 'EXECUTE')
         AND has_function_privilege('upgrade_caller', 'pool_ext.release_expired_phone_numbers(bigint)', 'EXECUTE')
         AND (SELECT count(*) FROM pool_ext.phone_number_ledger)
             = $(psql_in pool_upgrade -At -c 'SELECT count(*) FROM pool_ext.phone_number_ledger')")
  [ "$kept" = t ] || fail "a dump and restore of the database upgraded from $old lost grants or rows"
  # Its grants would keep the fill's role from being dropped next time.
  psql_in postgres -c 'DROP DATABASE pool_restored WITH (FORCE)'
  log "$old -> $version: a dump and restore keeps the rows and the operators' grants"

  # (b) The schema, against a fresh install. The role granted in the fill is not in the fresh
  # database; take its grants back first so privileges compare like for like.
  psql_in pool_upgrade -c 'SELECT pool_ext.revoke_pool_access($$upgrade_caller$$)' >/dev/null
  recreate_database pool_fresh -- psql_in postgres
  psql_in pool_fresh -c 'CREATE EXTENSION pool_ext'
  # The upgrade made the ledger's partitions for this month and the next two (the fill's rows
  # are of this month); a fresh install has them once maintain_ledger() has run.
  psql_in pool_fresh -c 'SELECT count(*) FROM pool_ext.maintain_ledger()' >/dev/null
  psql_in pool_upgrade -f tests/upgrade/catalog.sql >"$work/catalog-upgraded-$old.txt"
  psql_in pool_fresh -f tests/upgrade/catalog.sql >"$work/catalog-fresh.txt"
  facts=$(grep -c '' "$work/catalog-fresh.txt")
  [ "$facts" -gt 100 ] || fail "the catalog description has only $facts lines"
  diff -u "$work/catalog-fresh.txt" "$work/catalog-upgraded-$old.txt" ||
    fail "the schema upgraded from $old differs from a fresh $version (- fresh, + upgraded)"
  # pg_dump saves the same tables' rows from both.
  pg_dump -d pool_upgrade --data-only | grep '^COPY ' | cut -d' ' -f2 >"$work/dumped-upgraded-$old.txt"
  pg_dump -d pool_fresh --data-only | grep '^COPY ' | cut -d' ' -f2 >"$work/dumped-fresh.txt"
  diff -u "$work/dumped-fresh.txt" "$work/dumped-upgraded-$old.txt" ||
    fail "pg_dump saves other tables after the upgrade from $old"
  log "$old -> $version: schema equals a fresh install ($facts facts compared; pg_dump saves $(paste -sd' ' "$work/dumped-fresh.txt"))"
done 3<tests/upgrade/releases.txt
