#!/usr/bin/env bash
# Build an installable package of pool_ext for one PostgreSQL major (POOL_EXT_PG, 15 by
# default, or 18; scripts/lib.sh):
#   dist/pool_ext-<version>-pg<major>-<arch>.tar.gz
# holding the shared library, the control file, the SQL scripts and install.sh, which copies
# them into any Postgres of that major given its pg_config. No Rust toolchain is needed where
# it installs. `POOL_EXT_PG=18 bash scripts/package.sh` builds the Postgres 18 one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bash scripts/setup.sh >/dev/null

major=$POOL_EXT_PG
name="pool_ext-${POOL_EXT_VERSION}-pg${major}-$(uname -m)"
out="target/package"
rm -rf "$out"
echo "[package] cargo pgrx package (release build)" >&2
cargo pgrx package --pg-config "$PG_CONFIG" --no-default-features --features "pg$major" --out-dir "$out" >/tmp/pool_ext-package.log 2>&1 ||
  { tail -40 /tmp/pool_ext-package.log; exit 1; }

stage="target/$name"
rm -rf "$stage"
mkdir -p "$stage/lib" "$stage/extension"
cp "$out$("$PG_CONFIG" --pkglibdir)/pool_ext.so" "$stage/lib/"
cp "$out$("$PG_CONFIG" --sharedir)"/extension/pool_ext* "$stage/extension/"
cp README.md CHANGELOG.md "$stage/"
cp -r docs "$stage/"
sed "s/@MAJOR@/$major/g" >"$stage/install.sh" <<'INSTALL'
#!/bin/sh
# Install pool_ext into a PostgreSQL @MAJOR@ server: sh install.sh [path/to/pg_config]
# (default: the pg_config on PATH). Run it as a user that may write to the server's
# library and extension directories (root, or with sudo). Then, in your database:
#   CREATE EXTENSION pool_ext;
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pg_config=${1:-pg_config}
version=$("$pg_config" --version)
case "$version" in
  "PostgreSQL @MAJOR@"*) ;;
  *) echo "install.sh: this package is for PostgreSQL @MAJOR@, $pg_config says: $version" >&2; exit 1 ;;
esac
libdir=$("$pg_config" --pkglibdir)
extdir=$("$pg_config" --sharedir)/extension
install -m 755 "$here/lib/pool_ext.so" "$libdir/pool_ext.so"
for f in "$here"/extension/*; do install -m 644 "$f" "$extdir/"; done
echo "pool_ext installed into $libdir and $extdir. Now, in your database: CREATE EXTENSION pool_ext;"
INSTALL
chmod 755 "$stage/install.sh"

mkdir -p dist
tar -C target -czf "dist/$name.tar.gz" "$name"
echo "dist/$name.tar.gz"
