-- Fill a pool_ext database on the old major for scripts/pg-upgrade-test.sh (pg_upgrade 15 -> 18):
-- the release-upgrade test's story (tests/upgrade/fill-0.4.0.sql: the company 'Upgrade Co',
-- holds, outcomes, a release, an overdue hold, a retired number, pool rules, an alert out, the
-- role upgrade_caller), then two more companies, registered CRM tables, roles of each access
-- level that log in, and their activity, so that every table, the ledger and both sequences
-- (the ledger's and the CRM interactions') have moved. tests/pg_upgrade/after.sql relies on
-- what is made here.
\set ON_ERROR_STOP on
\ir ../upgrade/fill-0.4.0.sql
SET search_path = pool_ext, public;

-- Two more companies: Beta (New York and San Francisco lines, local presence, a cooldown, a
-- daily cap, a count low-water mark), Gamma (plain LRU, a share low-water mark, Chicago time).
SELECT * FROM import_phone_numbers((
    SELECT jsonb_agg(jsonb_build_object('vapi_phone_number_id', 'beta-' || n,
                                        'number', CASE WHEN n <= 3 THEN '+1212555' ELSE '+1415666' END
                                                  || lpad(n::text, 4, '0'),
                                        'name', 'Beta line ' || n,
                                        'broker_company', 'Beta Brokers',
                                        'notes', CASE WHEN n = 1 THEN 'ported from Twilio' END))
    FROM generate_series(1, 6) AS n));
SELECT * FROM import_phone_numbers((
    SELECT jsonb_agg(jsonb_build_object('vapi_phone_number_id', 'gamma-' || n,
                                        'number', '+1312777' || lpad(n::text, 4, '0'),
                                        'name', 'Gamma line ' || n,
                                        'broker_company', 'Gamma Homes'))
    FROM generate_series(1, 4) AS n));
SELECT * FROM set_company_policy('Beta Brokers', retention => '6 hours', booked_hold => '36 hours',
                                 time_zone => 'America/New_York');
SELECT * FROM set_pool_rules('Beta Brokers', low_water_count => 1, cooldown => '30 minutes', daily_cap => 8);
SELECT * FROM set_company_policy('Gamma Homes', time_zone => 'America/Chicago');
SELECT * FROM set_pool_rules('Gamma Homes', low_water_share => 0.5, local_presence => false);
-- Gamma line 4 moves to Beta; Beta line 6 is retired.
SELECT move_phone_number('gamma-4', 'Beta Brokers');
SELECT retire_phone_number('beta-6');

-- The CRM tables of the original design, registered: from now on every new hold updates the
-- lead and writes an interaction (so every lead assigned from here on must exist).
CREATE TABLE public.leads (
    id uuid PRIMARY KEY,
    full_name text NOT NULL,
    phone text,
    assigned_phone_number_id text,
    phone_assigned_at timestamptz
);
CREATE TABLE public.interactions (
    id bigserial PRIMARY KEY,
    lead_id uuid NOT NULL REFERENCES public.leads (id),
    type text NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.leads (id, full_name, phone)
SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, 'Lead ' || n,
       CASE WHEN n % 2 = 0 THEN '(212) 555-' ELSE '415.555.' END || lpad(n::text, 4, '0')
FROM generate_series(1, 40) AS n;
SELECT register_crm_tables('public.leads', 'public.interactions');

-- Roles of each level, as an operator would make them.
CREATE ROLE pgu_caller LOGIN;
CREATE ROLE pgu_monitor LOGIN;
CREATE ROLE pgu_operator LOGIN;
SELECT grant_pool_access('pgu_caller');
SELECT grant_pool_access('pgu_monitor', 'monitor');
SELECT grant_pool_access('pgu_operator', 'operator');
GRANT SELECT ON public.leads TO pgu_monitor;

-- Beta: leads 11-16 (local presence picks 212 or 415 lines), outcomes, a force release, a
-- repeat call; lead 15 takes the moved Gamma line or what is left.
SELECT l.id, a.vapi_phone_number_id, a.chosen_by
FROM public.leads AS l,
     LATERAL assign_phone_number('Beta Brokers', l.id, l.phone) AS a
WHERE l.id IN ('00000000-0000-0000-0000-000000000011', '00000000-0000-0000-0000-000000000012',
               '00000000-0000-0000-0000-000000000013', '00000000-0000-0000-0000-000000000014',
               '00000000-0000-0000-0000-000000000015')
ORDER BY l.id;
SELECT * FROM record_call_outcome('00000000-0000-0000-0000-000000000011', 'booked', now() + interval '3 days');
SELECT * FROM record_call_outcome('00000000-0000-0000-0000-000000000012', 'no_answer');
SELECT * FROM record_call_outcome('00000000-0000-0000-0000-000000000013', 'wrong_number');
SELECT * FROM record_call_outcome('00000000-0000-0000-0000-000000000014', 'no_booking');
SELECT force_release_phone_number(vapi_phone_number_id, 'lead asked to stop')
FROM signalwire_phone_numbers WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000015';
SELECT chosen_by FROM assign_phone_number('Beta Brokers', '00000000-0000-0000-0000-000000000012', '(212) 555-0012');

-- Gamma: leads 21-23; lead 22's hold is overdue (the release job has not run yet); lead 23's
-- ended and the release job freed it.
SELECT vapi_phone_number_id FROM assign_phone_number('Gamma Homes', '00000000-0000-0000-0000-000000000021');
SELECT vapi_phone_number_id FROM assign_phone_number('Gamma Homes', '00000000-0000-0000-0000-000000000022');
SELECT vapi_phone_number_id FROM assign_phone_number('Gamma Homes', '00000000-0000-0000-0000-000000000023');
UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 minute'
WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000023';
SELECT release_expired_phone_numbers();
UPDATE signalwire_phone_numbers SET release_at = now() - interval '2 hours'
WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000022';
SELECT check_pool_alerts();

-- The roles at work, in sessions of their own (the ledger's actor is the session user).
\c - pgu_caller
SELECT vapi_phone_number_id FROM pool_ext.assign_phone_number('Beta Brokers', '00000000-0000-0000-0000-000000000016', '(212) 555-0016');
\c - pgu_operator
SELECT * FROM pool_ext.set_pool_rules('Gamma Homes', daily_cap => 20);
\c - postgres
