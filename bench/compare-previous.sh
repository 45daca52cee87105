#!/usr/bin/env bash
# Is this tree's assignment any slower than the previous release's? Builds both in release
# mode, then measures section 6 of the harness (the assignment paths, each next to the
# plain-SQL baseline of the same run) for the previous release and for this tree, in turns
# (previous, this, then this, previous, ...: drift on the machine hits both alike), and prints each
# path's throughput for both, the ratio this / previous, and each against its baseline.
#
#   bash bench/compare-previous.sh            # previous = the last line of tests/upgrade/releases.txt
#   POOL_EXT_BENCH_SECONDS=30 POOL_EXT_BENCH_ROUNDS=3 bash bench/compare-previous.sh
#   POOL_EXT_BENCH_PREVIOUS=0.2.0 POOL_EXT_BENCH_ONLY=3 bash bench/compare-previous.sh   # the hot pool against 0.2.0
#
# About 10 minutes on 2 cores after the builds (the first release build of each version takes
# a few minutes more). The table is written to /tmp/pool_ext-compare.md.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

bash scripts/setup.sh
previous=${POOL_EXT_BENCH_PREVIOUS:-$(tail -1 tests/upgrade/releases.txt | cut -d' ' -f1)}
sections=${POOL_EXT_BENCH_ONLY:-6}
current=$POOL_EXT_VERSION
rounds=${POOL_EXT_BENCH_ROUNDS:-2}
export POOL_EXT_BENCH_SECONDS=${POOL_EXT_BENCH_SECONDS:-15}

echo "[compare] building $previous and $current in release mode"
bash scripts/install-release.sh "$previous" --release
bash scripts/install.sh --release
# The harness client, built once.
cargo test --no-default-features --features "pg15 pg_test" --test bench --no-run >/dev/null 2>&1

bash scripts/cluster.sh start bench
trap 'bash scripts/cluster.sh stop bench' EXIT
eval "$(bash scripts/cluster.sh env bench)"
export PGHOST PGPORT PGUSER

tsv=/tmp/pool_ext-compare.tsv
rm -f "$tsv" /tmp/pool_ext-compare-*.md
for round in $(seq "$rounds"); do
  # ABBA: every other round the other way round, so that neither always runs second (a run
  # pays for the vacuum and checkpoint debt of the one before it).
  if [ $((round % 2)) = 1 ]; then versions=("$previous" "$current"); else versions=("$current" "$previous"); fi
  for version in "${versions[@]}"; do
    echo "[compare] round $round: $version"
    if [ "$version" = "$current" ]; then
      bash scripts/install.sh --release
    else
      bash scripts/install-release.sh "$previous" --release
    fi
    POOL_EXT_BENCH_ONLY=$sections POOL_EXT_BENCH_TSV=$tsv POOL_EXT_BENCH_OUT=/tmp/pool_ext-compare-$version-$round.md \
      cargo test --no-default-features --features "pg15 pg_test" --test bench -- \
      --ignored --nocapture benchmark >/tmp/pool_ext-compare-run.log 2>&1 ||
      { tail -30 /tmp/pool_ext-compare-run.log; exit 1; }
  done
done
# Leave this tree's build installed.
bash scripts/install.sh --release

out=/tmp/pool_ext-compare.md
# Medians over the rounds, per version, path and clients.
awk -F'\t' -v prev="$previous" -v cur="$current" -v rounds="$rounds" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { key = $2 SUBSEP $3; tps[$1, key] = tps[$1, key] " " $4; base[$1, key] = base[$1, key] " " $5
    if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
  END {
    printf "# pool_ext %s against %s: assignment paths (median of %d rounds, tps)\n\n", cur, prev, rounds
    printf "| path | clients | %s | %s / baseline | %s | %s / baseline | %s / %s |\n", prev, prev, cur, cur, cur, prev
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, kc, SUBSEP)
      if (kc[1] == "baseline") continue
      c = median(tps[cur, k]); cb = median(base[cur, k])
      if (tps[prev, k] == "") {
        printf "| %s | %s | (none) | | %.0f | %.2fx | |\n", kc[1], kc[2], c, c / cb
      } else {
        p = median(tps[prev, k]); pb = median(base[prev, k])
        printf "| %s | %s | %.0f | %.2fx | %.0f | %.2fx | **%.2fx** |\n", kc[1], kc[2], p, p / pb, c, c / cb, c / p
      }
    }
  }' "$tsv" >"$out"
{
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores; $POOL_EXT_BENCH_SECONDS s per comparison (3 interleaved passes); both release builds, same cluster"
  echo "- \"phone, local presence off\" for $previous: the phone is passed and ignored (no pool rules there)"
} >>"$out"
# Each run's own tables (sections without a throughput line, such as 7, are read there).
for round in $(seq "$rounds"); do
  for version in "$previous" "$current"; do
    { echo; echo "## Round $round: pool_ext $version"; echo
      sed 's/^## /### /' "/tmp/pool_ext-compare-$version-$round.md"; } >>"$out"
  done
done
cat "$out"
