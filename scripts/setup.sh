#!/usr/bin/env bash
# Idempotent machine setup shared by scripts/demo.sh and scripts/test.sh:
# apt packages, cargo-pgrx (pinned), and `cargo pgrx init` against the system Postgres 15.
# Every step checks first and skips what is already in place, so running it twice is cheap.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PGRX_VERSION=0.18.1
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log setup "installing apt packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  log setup "apt packages present"
fi

# Debian's postgresql package starts a cluster on 5432; we never use it, and leave it alone.

if cargo pgrx --version 2>/dev/null | grep -q "cargo-pgrx ${PGRX_VERSION}\$"; then
  log setup "cargo-pgrx ${PGRX_VERSION} present"
else
  log setup "installing cargo-pgrx ${PGRX_VERSION} (one-time, ~15 minutes on 2 cores)"
  cargo install cargo-pgrx --version "${PGRX_VERSION}" --locked
fi

PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
if grep -qs "^pg15 = \"${PG_CONFIG}\"" "${PGRX_HOME}/config.toml"; then
  log setup "cargo pgrx already initialised for ${PG_CONFIG}"
else
  log setup "cargo pgrx init --pg15 ${PG_CONFIG}"
  cargo pgrx init --pg15 "${PG_CONFIG}"
fi

# `cargo pgrx install` writes into the system Postgres directories; pgrx tests do too (as root via sudo).
log setup "setup done"
