#!/usr/bin/env bash
# CI: build the package, remove every pool_ext file the source tree installed, install from the
# package alone, and use it in a fresh cluster (port 55436; with POOL_EXT_PG=18, the Postgres 18
# package in a Postgres 18 cluster, port 55536): the operator's path, end to end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

package=$(bash scripts/package.sh)
echo "[smoke] package: $package ($(du -h "$package" | cut -f1))"

libdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension
as_root rm -f "$libdir/pool_ext.so" "$extdir"/pool_ext.control "$extdir"/pool_ext--*.sql

unpacked=$(mktemp -d)
tar -C "$unpacked" -xzf "$package"
as_root sh "$unpacked"/pool_ext-*/install.sh "$PG_CONFIG"

bash scripts/cluster.sh start smoke
trap 'bash scripts/cluster.sh stop smoke; rm -rf "$unpacked"' EXIT
eval "$(bash scripts/cluster.sh env smoke)"
export PGHOST PGPORT PGUSER
recreate_database pool_smoke -- psql -X -q -d postgres
psql -X -q -d pool_smoke -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION pool_ext;
SET search_path = "$user", public, pool_ext;
SELECT inserted FROM import_phone_numbers('[{"vapi_phone_number_id": "smoke-1", "number": "+14155550901", "name": "Smoke", "broker_company": "Smoke Co"}]');
SELECT vapi_phone_number_id FROM assign_phone_number('Smoke Co', '00000000-0000-0000-0000-000000000001');
SELECT force_release_phone_number('smoke-1', 'smoke test');
SQL
installed=$(psql -X -At -d pool_smoke -c "SELECT extversion FROM pg_extension WHERE extname = 'pool_ext'")
[ "$installed" = "$POOL_EXT_VERSION" ] || { echo "[smoke] FAILED: extension version $installed, expected $POOL_EXT_VERSION"; exit 1; }
result=$(psql -X -At -d pool_smoke -c "SELECT count(*) FROM pool_ext.phone_number_ledger")
[ "$result" = 2 ] || { echo "[smoke] FAILED: ledger has $result rows, expected 2"; exit 1; }
echo "[smoke] installed from $package, created, assigned and released: ok"
