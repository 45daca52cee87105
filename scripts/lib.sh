# Sourced by the scripts in scripts/: what they all need once. Not run on its own.
#   . "$(dirname "$0")/lib.sh"
# Puts cargo on PATH, moves to the repository root and defines:
#   PG_CONFIG, PG_BINDIR          the Postgres 15 the project builds against
#   POOL_EXT_VERSION              the version in Cargo.toml
#   as_root CMD...                root itself, or sudo
#   as_postgres CMD...            the postgres user (initdb and the server refuse root)
#   sudo_flag                     (--sudo) for `cargo pgrx install` when not root, else empty
#   log TAG MESSAGE...            a coloured progress line on stderr
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_CONFIG=/usr/bin/pg_config
PG_BINDIR=$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
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
