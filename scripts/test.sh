#!/usr/bin/env bash
# README command 2: every test. Unit tests (plain Rust), in-database tests (#[pg_test], in the
# cluster `cargo pgrx test` manages) and multi-session tests (tests/, in a private cluster
# started by scripts/cluster.sh), then the upgrade test (scripts/upgrade-test.sh). Extra
# arguments go to `cargo pgrx test` (e.g. a test name) and skip the upgrade test.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# cargo pgrx test runs Postgres as the postgres user; its data directory must belong to it.
pgrx_data=/var/tmp/pool_ext-pgrx-test
if [ "$(id -u)" -eq 0 ]; then
  install -d -o postgres -g postgres "$pgrx_data"
else
  sudo install -d -o postgres -g postgres "$pgrx_data"
fi

# Stop the private test cluster on the way out, pass or fail.
trap 'bash scripts/cluster.sh stop test; bash scripts/cluster.sh stop faults' EXIT

# Install this build into the system Postgres 15 first: the tests/ binaries create the
# extension from there, and `cargo pgrx test` installs only when an in-database test runs,
# which a name filter may skip. Same features as the test build, so nothing compiles twice.
bash scripts/install.sh --no-default-features --features "pg15 pg_test"

# The private test clusters are stopped on the way out (trap above).
cargo pgrx test pg15 --runas postgres --pgdata "$pgrx_data" "$@"

# The upgrade from every earlier release (builds each from its commit): with a full run only,
# not when a test name was given.
if [ $# -eq 0 ]; then
  bash scripts/upgrade-test.sh
fi
