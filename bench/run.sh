#!/usr/bin/env bash
# The benchmark, in one command: build pool_ext in release mode and install it into the
# Postgres of POOL_EXT_PG (the system 15 by default), start the private benchmark cluster (port
# 55434, socket /var/tmp/pool_ext-bench; on 18 port 55534, socket /var/tmp/pool_ext-bench-pg18;
# default Postgres settings, fsync on), run bench/harness.rs and print the results table.
# The table is also written to /tmp/pool_ext-bench.md; bench/RESULTS.md keeps a run of it.
#
#   bash bench/run.sh
#   POOL_EXT_BENCH_SECONDS=30 POOL_EXT_BENCH_CYCLES=200000 bash bench/run.sh   # other sizes
#   POOL_EXT_PG=18 bash bench/run.sh     # on Postgres 18 (scripts/lib.sh), its own cluster and pgbench
#
# About 15 minutes on 2 cores, half of it the 1,000,000-cycle bloat run.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

bash scripts/setup.sh

echo "[bench] building pool_ext in release mode and installing it into Postgres $POOL_EXT_PG"
bash scripts/install.sh --release --no-default-features --features "pg$POOL_EXT_PG"

bash scripts/cluster.sh start bench
trap 'bash scripts/cluster.sh stop bench' EXIT
eval "$(bash scripts/cluster.sh env bench)"
export PGHOST PGPORT PGUSER PGBINDIR

out=/tmp/pool_ext-bench.md
{
  echo "# pool_ext benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB memory"
  echo "- server: $(psql -X -At -d postgres -c 'SHOW server_version'), default settings (shared_buffers $(psql -X -At -d postgres -c 'SHOW shared_buffers'), fsync $(psql -X -At -d postgres -c 'SHOW fsync')), over a Unix socket"
  echo "- pool_ext $POOL_EXT_VERSION, release build; client: bench/harness.rs (Rust, postgres crate)"
  echo
} >"$out.head"

# The harness is an ignored test target; it shares the test command's build of the client.
POOL_EXT_BENCH_OUT="$out.body" cargo test --no-default-features --features "pg15 pg_test" \
  --test bench -- --ignored --nocapture benchmark

cat "$out.head" "$out.body" >"$out"
rm -f "$out.head" "$out.body"
echo
echo "[bench] results: $out"
