#!/usr/bin/env bash
# README command 1: set up this machine, build and install pool_ext into the system Postgres 15,
# start a private cluster, and walk through a demo. Safe to run again: it reinstalls the
# extension and reloads the demo data.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "[demo] building and installing pool_ext into $(/usr/bin/pg_config --pkglibdir)"
sudo_flag=()
[ "$(id -u)" -eq 0 ] || sudo_flag=(--sudo)
cargo pgrx install --pg-config /usr/bin/pg_config "${sudo_flag[@]}" >/tmp/pool_ext-install.log 2>&1 ||
  { tail -40 /tmp/pool_ext-install.log; exit 1; }

bash scripts/cluster.sh start demo
eval "$(bash scripts/cluster.sh env demo)"
export PGHOST PGPORT PGUSER

psql -X -q -d postgres -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE DATABASE pool_demo' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pool_demo')
\gexec
SQL

psql -X -q -d pool_demo -v ON_ERROR_STOP=1 <<'SQL'
\pset footer off
SET client_min_messages = warning;
-- A clean start on every run: the demo owns this database.
DROP EXTENSION IF EXISTS pool_ext CASCADE;
CREATE EXTENSION pool_ext;
ALTER DATABASE pool_demo SET search_path = "$user", public, pool_ext;
SET search_path = "$user", public, pool_ext;

\echo
\echo '== A demo pool: 5 numbers for Acme Realty, 1 for Solo Brokers'
INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company) VALUES
    ('vapi-acme-1', '+14155550101', 'Acme line 1', 'Acme Realty'),
    ('vapi-acme-2', '+14155550102', 'Acme line 2', 'Acme Realty'),
    ('vapi-acme-3', '+14155550103', 'Acme line 3', 'Acme Realty'),
    ('vapi-acme-4', '+14155550104', 'Acme line 4', 'Acme Realty'),
    ('vapi-acme-5', '+14155550105', 'Acme line 5', 'Acme Realty'),
    ('vapi-solo-1', '+12125550199', 'Solo line 1', 'Solo Brokers');
SELECT assigned_broker_company, count(*) AS numbers FROM signalwire_phone_numbers GROUP BY 1 ORDER BY 1;

\echo '== A lead replies: assign_phone_number(company, lead)'
SELECT * FROM assign_phone_number('Acme Realty', '11111111-1111-1111-1111-111111111111');

\echo '== The same lead asks again: the same number comes back (sticky), no second hold'
SELECT * FROM assign_phone_number(company => 'Acme Realty', lead => '11111111-1111-1111-1111-111111111111');

\echo '== Solo Brokers has one number; the second lead finds the pool exhausted'
SELECT vapi_phone_number_id, number FROM assign_phone_number('Solo Brokers', '22222222-2222-2222-2222-222222222222');
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT vapi_phone_number_id, number FROM assign_phone_number('Solo Brokers', '33333333-3333-3333-3333-333333333333');
\set VERBOSITY default
\set ON_ERROR_STOP 1

\echo '== 18 hours later (simulated) the hourly job releases the expired hold'
UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 minute'
 WHERE assigned_broker_company = 'Solo Brokers';
SELECT release_expired_phone_numbers() AS released;
SELECT vapi_phone_number_id, number FROM assign_phone_number('Solo Brokers', '33333333-3333-3333-3333-333333333333');

\echo '== The pool now'
SELECT vapi_phone_number_id, assigned_broker_company, assignment_status, currently_assigned_to,
       to_char(release_at, 'YYYY-MM-DD HH24:MI') AS release_at
FROM signalwire_phone_numbers ORDER BY 1;

\echo '== The ledger: every assignment and release'
SELECT id, event, vapi_phone_number_id, broker_company, lead_id, reason, actor
FROM phone_number_ledger ORDER BY id;

\echo '== pg_cron runs the release every hour'
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.schedule('release-phone-numbers', '0 * * * *', $$SELECT release_expired_phone_numbers()$$) IS NOT NULL AS scheduled;
SELECT jobname, schedule, command FROM cron.job;
SQL

cat <<TXT

Demo done. The cluster keeps running; connect with:
  psql -h $PGHOST -p $PGPORT -U $PGUSER pool_demo
Stop it with:  bash scripts/cluster.sh stop demo
TXT
