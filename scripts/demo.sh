#!/usr/bin/env bash
# README command 1: set up this machine, build and install pool_ext into the system Postgres 15,
# start a private cluster, and walk through a demo. Safe to run again: it reinstalls the
# extension and reloads the demo data.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bash scripts/setup.sh

echo "[demo] building and installing pool_ext into $("$PG_CONFIG" --pkglibdir)"
bash scripts/install.sh

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

\echo '== This session listens for low-water alerts (printed as "Asynchronous notification")'
LISTEN pool_ext_low_water;

\echo
\echo '== A demo pool from a JSON document: 6 numbers for Acme Realty (5 in 415, 1 in 212), 1 for Solo Brokers'
SELECT * FROM import_phone_numbers($$[
  {"vapi_phone_number_id": "vapi-acme-1", "number": "+14155550101", "name": "Acme line 1", "broker_company": "Acme Realty"},
  {"vapi_phone_number_id": "vapi-acme-2", "number": "+14155550102", "name": "Acme line 2", "broker_company": "Acme Realty"},
  {"vapi_phone_number_id": "vapi-acme-3", "number": "+14155550103", "name": "Acme line 3", "broker_company": "Acme Realty"},
  {"vapi_phone_number_id": "vapi-acme-4", "number": "+14155550104", "name": "Acme line 4", "broker_company": "Acme Realty"},
  {"vapi_phone_number_id": "vapi-acme-5", "number": "+14155550105", "name": "Acme line 5", "broker_company": "Acme Realty"},
  {"vapi_phone_number_id": "vapi-acme-ny", "number": "+12125550106", "name": "Acme New York", "broker_company": "Acme Realty"},
  {"vapi_phone_number_id": "vapi-solo-1", "number": "+12125550199", "name": "Solo line 1", "broker_company": "Solo Brokers"}
]$$);
SELECT * FROM set_company_policy('Acme Realty', time_zone => 'America/Los_Angeles');

\echo '== A lead replies: assign_phone_number(company, lead)'
SELECT * FROM assign_phone_number('Acme Realty', '11111111-1111-1111-1111-111111111111');

\echo '== The same lead asks again: the same number comes back (current_hold), its hold renewed; no second hold'
SELECT vapi_phone_number_id, number, release_at, chosen_by
FROM assign_phone_number(company => 'Acme Realty', lead => '11111111-1111-1111-1111-111111111111');
SELECT event, vapi_phone_number_id, reason, release_at FROM phone_number_ledger
WHERE lead_id = '11111111-1111-1111-1111-111111111111' ORDER BY id;

\echo '== Local presence: a lead who wrote from (212) gets the New York line'
SELECT vapi_phone_number_id, number, area_code_matched, chosen_by
FROM assign_phone_number('Acme Realty', '44444444-4444-4444-4444-444444444444', '(212) 555-0142');

\echo '== A day later (simulated) that hold has run out and the job freed it; the lead replies again and gets the number it knows (previous_number)'
UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 minute'
 WHERE currently_assigned_to = '44444444-4444-4444-4444-444444444444';
SELECT release_expired_phone_numbers() AS released;
SELECT vapi_phone_number_id, number, chosen_by
FROM assign_phone_number('Acme Realty', '44444444-4444-4444-4444-444444444444');

\echo '== Solo Brokers has one number: taking it sends a low-water alert; the next lead finds the pool exhausted'
SELECT vapi_phone_number_id, number FROM assign_phone_number('Solo Brokers', '22222222-2222-2222-2222-222222222222');
SELECT company, level, available, numbers, low_water_mark FROM pool_alerts;
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

\echo '== The call went unanswered: retry today, release at the end of the company day'
SELECT * FROM record_call_outcome('11111111-1111-1111-1111-111111111111', 'no_answer');
\echo '== The callback booked an appointment in 3 days: hold until 24 hours after it'
SELECT * FROM record_call_outcome('11111111-1111-1111-1111-111111111111', 'booked',
                                  appointment_at => now() + interval '3 days');
\set ON_ERROR_STOP 0
\echo '== An unknown outcome is refused and changes nothing'
SELECT * FROM record_call_outcome('11111111-1111-1111-1111-111111111111', 'voicemail');
\set ON_ERROR_STOP 1

\echo '== Pool rules for Acme: a released number rests 15 minutes; at most 6 assignments a number a day'
SELECT * FROM set_pool_rules('Acme Realty', cooldown => '15 minutes', daily_cap => 6);
SELECT force_release_phone_number('vapi-acme-ny', 'demo');
SELECT vapi_phone_number_id, state, to_char(resting_until, 'HH24:MI') AS resting_until, assignments_today
FROM number_states WHERE company = 'Acme Realty' ORDER BY 1;

\echo '== Number health: Solo Brokers quarantines a number answered at less than half its company rate (over 4 calls)'
LISTEN pool_ext_quarantine;
SELECT * FROM import_phone_numbers($$[
  {"vapi_phone_number_id": "vapi-solo-2", "number": "+12125550198", "name": "Solo line 2", "broker_company": "Solo Brokers"}
]$$);
SELECT quarantine_below, health_min_calls, quarantine_for
FROM set_pool_rules('Solo Brokers', quarantine_below => 0.5, health_min_calls => 4, quarantine_for => '7 days');
-- Four rounds: line 2 is answered every time, line 1 never (each call: the line assigned to a
-- new lead, its outcome recorded, the line freed).
DO $$
DECLARE
    round int;
    line text;
    lead uuid;
BEGIN
    PERFORM force_release_phone_number('vapi-solo-1', 'demo');
    FOR round IN 1..4 LOOP
        FOREACH line IN ARRAY ARRAY['vapi-solo-2', 'vapi-solo-1'] LOOP
            lead := gen_random_uuid();
            -- This line first (least recently used), for the demo.
            UPDATE signalwire_phone_numbers
            SET assigned_at = CASE WHEN vapi_phone_number_id = line THEN NULL ELSE now() END
            WHERE assigned_broker_company = 'Solo Brokers' AND assignment_status = 'available';
            PERFORM assign_phone_number('Solo Brokers', lead);
            PERFORM record_call_outcome(lead, CASE WHEN line = 'vapi-solo-1' THEN 'no_answer' ELSE 'no_booking' END);
            PERFORM force_release_phone_number(line, 'demo');
        END LOOP;
    END LOOP;
END
$$;
SELECT vapi_phone_number_id, calls, answer_rate, company_answer_rate, state,
       to_char(quarantined_until, 'YYYY-MM-DD') AS quarantined_until
FROM number_health WHERE company = 'Solo Brokers' ORDER BY 1;
SELECT event, vapi_phone_number_id, reason FROM phone_number_ledger WHERE event = 'quarantined';
\echo '== An operator takes it back (or the release job does, after 7 days): active, its calls forgotten'
SELECT reinstate_phone_number('vapi-solo-1');
SELECT vapi_phone_number_id, calls, state FROM number_health WHERE company = 'Solo Brokers' ORDER BY 1;

\echo '== Overflow: Tiny Homes (1 number) borrows from Shared Pool (2 numbers) when its own pool is dry'
SELECT * FROM import_phone_numbers($$[
  {"vapi_phone_number_id": "vapi-tiny-1", "number": "+13105550301", "name": "Tiny line 1", "broker_company": "Tiny Homes"},
  {"vapi_phone_number_id": "vapi-shared-1", "number": "+13105550401", "name": "Shared line 1", "broker_company": "Shared Pool"},
  {"vapi_phone_number_id": "vapi-shared-2", "number": "+13105550402", "name": "Shared line 2", "broker_company": "Shared Pool"}
]$$);
SELECT company, overflow_company FROM set_pool_rules('Tiny Homes', overflow_company => 'Shared Pool');
\echo '== One level only: Shared Pool cannot overflow in turn (55000), Tiny Homes not into itself (22023)'
\set ON_ERROR_STOP 0
SELECT company, overflow_company FROM set_pool_rules('Shared Pool', overflow_company => 'Acme Realty');
SELECT company, overflow_company FROM set_pool_rules('Tiny Homes', overflow_company => 'Tiny Homes');
\set ON_ERROR_STOP 1
\echo '== Three Tiny Homes leads reply: the first gets its own line, the next two are lent Shared Pool lines (from_overflow)'
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Tiny Homes', '55555555-5555-5555-5555-555555555501');
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Tiny Homes', '55555555-5555-5555-5555-555555555502');
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Tiny Homes', '55555555-5555-5555-5555-555555555503');
\echo '== A fourth lead: both pools are dry, and the error counts both; try_assign_phone_number returns it as a row'
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT vapi_phone_number_id FROM assign_phone_number('Tiny Homes', '55555555-5555-5555-5555-555555555504');
\set VERBOSITY default
\set ON_ERROR_STOP 1
SELECT status, from_overflow, detail FROM try_assign_phone_number('Tiny Homes', '55555555-5555-5555-5555-555555555504');
\echo '== A lent hold is kept for the company of its lead: a repeat call gets it back (renewed), the outcome and a callback lookup name Tiny Homes'
SELECT vapi_phone_number_id, chosen_by, from_overflow
FROM assign_phone_number('Tiny Homes', '55555555-5555-5555-5555-555555555502');
SELECT vapi_phone_number_id, assigned_broker_company, last_call_outcome
FROM record_call_outcome('55555555-5555-5555-5555-555555555502', 'no_answer', company => 'Tiny Homes');
SELECT lead_id, company, vapi_phone_number_id, held_at_time FROM who_held_number('+13105550401');
SELECT company, vapi_phone_number_id, state, lead_id, lead_company
FROM number_states WHERE company IN ('Tiny Homes', 'Shared Pool') ORDER BY 1, 2;

\echo '== Pool health per company'
SELECT * FROM pool_health ORDER BY company;

\echo '== This hour from the ledger, and how long each pool lasts at the recent pace'
SELECT company, hour, assignments, releases, outcomes, peak_holds, peak_utilization_pct, lent, borrowed
FROM pool_activity(since => date_trunc('hour', now())) ORDER BY company;
SELECT * FROM pool_runway();

\echo '== The pool now'
SELECT vapi_phone_number_id, assigned_broker_company, assignment_status, currently_assigned_to,
       to_char(release_at, 'YYYY-MM-DD HH24:MI') AS release_at, lead_company
FROM signalwire_phone_numbers ORDER BY 1;

\echo '== The ledger: every assignment, outcome and release'
SELECT id, event, vapi_phone_number_id, broker_company, lead_id, reason, actor, lead_company
FROM phone_number_ledger ORDER BY id;

\echo '== The ledger is partitioned by month: the upkeep makes this month and the next two, and'
\echo '   moves the rows a month without a partition left in the default one (this fresh database'
\echo '   had none yet); set_ledger_retention(N) would let it detach months older than N'
SELECT action, partition, rows, detail FROM maintain_ledger();
SELECT partition, starts_at, ends_at FROM ledger_partitions;

\echo '== pg_cron runs the release every hour, the ledger upkeep daily, and the alert check every 5 minutes'
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT schedule_release_job() IS NOT NULL AS scheduled;
SELECT cron.schedule('pool_ext-alerts', '*/5 * * * *', 'SELECT pool_ext.check_pool_alerts()') IS NOT NULL AS scheduled;
SELECT jobname, schedule, command FROM cron.job ORDER BY jobname;
SQL

cat <<TXT

Demo done. The cluster keeps running; connect with:
  psql -h $PGHOST -p $PGPORT -U $PGUSER pool_demo
Stop it with:  bash scripts/cluster.sh stop demo
TXT
