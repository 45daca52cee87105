#!/usr/bin/env bash
# Golden-file tests with Postgres' own drivers, against the installed build of pool_ext in the
# private `test` cluster (scripts/cluster.sh):
#   tests/regress/    pg_regress: single-session behaviour, output compared with expected/*.out
#   tests/isolation/  pg_isolation_regress: interleavings of concurrent sessions (*.spec)
#
#   scripts/regress.sh [regress|isolation]...   # default: both
#
# Each suite gets a fresh database with the extension created. On a difference the diff is
# printed and the script fails. To accept a changed output after reading the diff, copy
# /var/tmp/pool_ext-regress/<suite>/results/<test>.out over tests/<suite>/expected/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pgxs_test=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(regress isolation)

bash scripts/cluster.sh start test
eval "$(bash scripts/cluster.sh env test)"

status=0
for suite in "${suites[@]}"; do
  case "$suite" in
    regress) driver=$pgxs_test/regress/pg_regress ;;
    isolation) driver=$pgxs_test/isolation/pg_isolation_regress ;;
    *) echo "regress.sh: unknown suite '$suite' (regress or isolation)" >&2; exit 2 ;;
  esac
  out=/var/tmp/pool_ext-regress/$suite
  rm -rf "$out" && mkdir -p "$out"
  # The tests run in file order (schedule); each file uses company names of its own.
  tests=$(sed -n 's/^test: //p' "tests/$suite/schedule" | tr '\n' ' ')
  log regress "$suite: $tests"
  # --bindir: psql and isolationtester come from this Postgres; the role and database are
  # made fresh, so nothing left by an earlier run changes the output.
  # shellcheck disable=SC2086
  if ! "$driver" --bindir="$PG_BINDIR" --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
      --dbname="pool_$suite" --load-extension=pool_ext \
      --inputdir="tests/$suite" --outputdir="$out" $tests >"$out/driver.log" 2>&1; then
    cat "$out/driver.log" >&2
    [ -f "$out/regression.diffs" ] && cat "$out/regression.diffs" >&2
    status=1
  else
    grep -E '^(ok|not ok|#|test |All )' "$out/driver.log" | tail -n 30 >&2 || cat "$out/driver.log" >&2
  fi
done
exit $status
