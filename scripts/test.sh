#!/usr/bin/env bash
# README command 2: every test. Unit tests (plain Rust), in-database tests (#[pg_test], in the
# cluster `cargo pgrx test` manages) and multi-session tests (tests/, in a private cluster
# started by scripts/cluster.sh). Extra arguments go to `cargo pgrx test` (e.g. a test name).
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
trap 'bash scripts/cluster.sh stop test' EXIT

# The lib test binary runs first and installs this build into the system Postgres 15; the
# tests/ binaries then create the extension in the private cluster.
cargo pgrx test pg15 --runas postgres --pgdata "$pgrx_data" "$@"
