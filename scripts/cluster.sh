#!/usr/bin/env bash
# A private Postgres 15 cluster for the demo, the tests or the benchmark, run as the `postgres`
# user (initdb refuses root) on its own port and socket directory, apart from any system cluster.
#
#   scripts/cluster.sh start NAME   # idempotent: reuses a running cluster
#   scripts/cluster.sh stop NAME
#   scripts/cluster.sh env NAME     # prints PGHOST=... PGPORT=... PGUSER=... for `eval`
#   scripts/cluster.sh crash NAME   # pg_ctl stop -m immediate (fault tests)
#
# NAME is demo, test, faults (tests that crash and restart their server), upgrade (the upgrade
# test), smoke (the package check), bench, metrics (the Prometheus exporter test), n8n (the n8n
# test: it also listens on 127.0.0.1, n8n connects over TCP), majors (the 15 -> 18 pg_upgrade test)
# or clock (tests/ledger.rs: started with POOL_EXT_FAKETIME="@2027-01-31 23:59:40", its server
# runs under libfaketime from that time on, to cross a month's end on cue). Data lives in /var/tmp/pool_ext-NAME/data, the
# socket in /var/tmp/pool_ext-NAME, the server log in /var/tmp/pool_ext-NAME/server.log.
# With POOL_EXT_PG=18 the cluster is a Postgres 18 one (scripts/lib.sh), apart from the 15
# one of the same name: /var/tmp/pool_ext-NAME-pg18, port + 100, no pg_cron (Debian packages
# it for 15 only).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

action=${1:?usage: cluster.sh start|stop|crash|env NAME}
name=${2:?usage: cluster.sh start|stop|env NAME}
case "$name" in
  demo) port=55432 ;;
  test) port=55433 ;;
  bench) port=55434 ;;
  faults) port=55435 ;;
  smoke) port=55436 ;;
  upgrade) port=55437 ;;
  metrics) port=55438 ;;
  n8n) port=55439 ;;
  majors) port=55440 ;;
  clock) port=55441 ;;
  *) echo "cluster.sh: unknown cluster '$name' (demo, test, faults, upgrade, smoke, bench, metrics, n8n, majors or clock)" >&2; exit 2 ;;
esac

bindir=$PG_BINDIR
base=/var/tmp/pool_ext-$name
if [ "$POOL_EXT_PG" != 15 ]; then
  base=$base-pg$POOL_EXT_PG
  port=$((port + 100))
fi
data=$base/data

running() { as_postgres "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

case "$action" in
  env)
    echo "PGHOST=$base PGPORT=$port PGUSER=postgres PGBINDIR=$bindir"
    ;;
  stop)
    if [ -d "$data" ] && running; then
      as_postgres "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  crash)
    # For the fault tests: stop with no shutdown checkpoint, as a power cut would; the next
    # start runs crash recovery.
    if [ -d "$data" ] && running; then
      as_postgres "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
    fi
    ;;
  start)
    if [ ! -f "$data/PG_VERSION" ]; then
      # Socket only, nothing on TCP, except for n8n, which connects over TCP: loopback only.
      listen=''
      [ "$name" = n8n ] && listen=127.0.0.1
      as_root install -d -o postgres -g postgres "$base"
      as_postgres "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
      # Trust is for this local socket (owned by postgres) and loopback: a test machine's.
      as_postgres tee -a "$data/postgresql.conf" >/dev/null <<CONF
port = $port
listen_addresses = '$listen'
unix_socket_directories = '$base'
max_worker_processes = 32
max_connections = 200
fsync = on
CONF
      # pg_cron only where it is used (demo and the pg_cron test): elsewhere its launcher
      # would look for the database pool_demo, fail and restart every second.
      case "$POOL_EXT_PG/$name" in
        15/demo|15/test)
          as_postgres tee -a "$data/postgresql.conf" >/dev/null <<CONF
shared_preload_libraries = 'pg_cron'
cron.database_name = 'pool_demo'
cron.use_background_workers = on
CONF
          ;;
      esac
    fi
    if ! running; then
      # Started from a test run, the server would inherit RUST_BACKTRACE, and pgrx would then
      # append Rust backtraces to error details; a production server has none of that.
      clock=()
      if [ "$name" = clock ] && [ -n "${POOL_EXT_FAKETIME:-}" ]; then
        # The wall clock only: timeouts and waits keep the real monotonic one.
        clock=(LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
               FAKETIME="$POOL_EXT_FAKETIME" FAKETIME_DONT_FAKE_MONOTONIC=1)
      fi
      as_postgres env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "${clock[@]}" \
        "$bindir/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 start >/dev/null
    fi
    ;;
  *)
    echo "cluster.sh: unknown action '$action' (start, stop, crash or env)" >&2; exit 2 ;;
esac
