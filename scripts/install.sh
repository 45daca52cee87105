#!/usr/bin/env bash
# Build pool_ext and install it into the Postgres of POOL_EXT_PG (scripts/lib.sh: the system 15 by default), with sudo
# when not root. Extra arguments go to `cargo pgrx install` (e.g. --release, --features ...).
# The build log is kept in /tmp/pool_ext-install.log and its end shown on failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cargo pgrx install --pg-config "$PG_CONFIG" "${sudo_flag[@]}" "$@" >/tmp/pool_ext-install.log 2>&1 ||
  { tail -40 /tmp/pool_ext-install.log; exit 1; }
