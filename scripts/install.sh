#!/usr/bin/env bash
# Build pool_ext and install it into the system Postgres 15 (/usr/bin/pg_config), with sudo
# when not root. Extra arguments go to `cargo pgrx install` (e.g. --release, --features ...).
# The build log is kept in /tmp/pool_ext-install.log and its end shown on failure.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "$0")/.."

sudo_flag=()
[ "$(id -u)" -eq 0 ] || sudo_flag=(--sudo)
cargo pgrx install --pg-config /usr/bin/pg_config "${sudo_flag[@]}" "$@" >/tmp/pool_ext-install.log 2>&1 ||
  { tail -40 /tmp/pool_ext-install.log; exit 1; }
