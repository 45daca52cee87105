#!/usr/bin/env bash
# Build an earlier release of pool_ext from its git commit and install it into the system
# Postgres 15 (for the upgrade test and the benchmark's comparison with the previous release).
#
#   scripts/install-release.sh VERSION [--release]
#
# VERSION must be listed in tests/upgrade/releases.txt ("version commit" lines). The sources
# come from `git archive` of that commit; each version builds in a target directory of its own
# under target/releases (in a shared one cargo may hand out another build's pool_ext.so: the
# file name carries no version). The first build of a version takes a few minutes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$PWD

version=${1:?usage: install-release.sh VERSION [--release]}
shift
commit=$(awk -v v="$version" '$1 == v {print $2}' tests/upgrade/releases.txt)
[ -n "$commit" ] || { echo "install-release.sh: $version is not in tests/upgrade/releases.txt" >&2; exit 2; }
git cat-file -e "$commit^{commit}" 2>/dev/null || {
  echo "install-release.sh: commit $commit of $version is not in this clone; it needs the full history (git fetch --unshallow)" >&2
  exit 1
}

work=$root/target/releases
src=$work/src-$version
rm -rf "$src" && mkdir -p "$src"
git archive "$commit" | tar -x -C "$src"
log=$work/install-$version.log
(cd "$src" && CARGO_TARGET_DIR=$work/target-$version \
  cargo pgrx install --pg-config "$PG_CONFIG" "${sudo_flag[@]}" "$@" >"$log" 2>&1) ||
  { tail -40 "$log"; echo "install-release.sh: building $version failed (log: $log)" >&2; exit 1; }
