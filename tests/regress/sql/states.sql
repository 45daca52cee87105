-- A number's state and the advisory locks' keys, each defined once (issue 13): _number_state's
-- table of cases; number_states and the assignment agree on which numbers are available
-- (resting, at the daily cap, retired, quarantined, held: each state once, and the lead's
-- previous number taken while it rests); _lock_space's keys and its refusal.
-- Company: States Realty (6 numbers). Leads 0000001a-0000-4000-8000-0000000000NN, shown as NN.
-- Nothing printed depends on the date or the time of day.

SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
SET search_path = "$user", public, pool_ext;

-- The function alone: each state, and a NULL cutoff or cap that never applies.
SELECT c.label,
       _number_state(c.assignment_status, c.status, c.released_at, c.rest_cutoff,
                     c.assignments_today, c.daily_cap) AS state
FROM (VALUES
    ('held',                         'assigned',  'active',      NULL::timestamptz,               NULL::timestamptz,              NULL::bigint, NULL::integer),
    ('held and retired',             'assigned',  'inactive',    NULL,                            NULL,                           NULL,         NULL),
    ('retired',                      'available', 'inactive',    NULL,                            NULL,                           NULL,         NULL),
    ('quarantined',                  'available', 'quarantined', NULL,                            NULL,                           NULL,         NULL),
    ('released after the cutoff',    'available', 'active',      '2027-01-01 12:00+00',           '2027-01-01 11:00+00',          NULL,         NULL),
    ('released at the cutoff',       'available', 'active',      '2027-01-01 11:00+00',           '2027-01-01 11:00+00',          NULL,         NULL),
    ('no cutoff (no cooldown asked)','available', 'active',      '2027-01-01 12:00+00',           NULL,                           NULL,         NULL),
    ('never released',               'available', 'active',      NULL,                            '2027-01-01 11:00+00',          NULL,         NULL),
    ('at the cap',                   'available', 'active',      NULL,                            NULL,                           3,            3),
    ('under the cap',                'available', 'active',      NULL,                            NULL,                           2,            3),
    ('no cap',                       'available', 'active',      NULL,                            NULL,                           9,            NULL),
    ('resting beats at the cap',     'available', 'active',      '2027-01-01 12:00+00',           '2027-01-01 11:00+00',          3,            3)
) AS c (label, assignment_status, status, released_at, rest_cutoff, assignments_today, daily_cap);

-- Six numbers, least recently used in id order: one of each state once the rules and holds
-- below are in place.
INSERT INTO signalwire_phone_numbers
    (vapi_phone_number_id, number, name, assigned_broker_company, assigned_at)
VALUES ('st-1', '+14155551001', 'One', 'States Realty', now() - interval '30 days'),
       ('st-2', '+14155551002', 'Two', 'States Realty', now() - interval '29 days'),
       ('st-3', '+14155551003', 'Three', 'States Realty', now() - interval '28 days'),
       ('st-4', '+14155551004', 'Four', 'States Realty', now() - interval '27 days'),
       ('st-5', '+14155551005', 'Five', 'States Realty', now() - interval '26 days'),
       ('st-6', '+14155551006', 'Six', 'States Realty', now() - interval '25 days');
SELECT company, cooldown, daily_cap
FROM set_pool_rules('States Realty', cooldown => '2 hours', daily_cap => 1);

-- st-1 is held by lead 01; st-2 was held by lead 02 and released: resting (and at its cap of 1);
-- st-3 retired; st-4 quarantined by hand; st-5 and st-6 untouched.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000001');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000002');
SELECT force_release_phone_number('st-2', 'states test');
SELECT retire_phone_number('st-3');
UPDATE signalwire_phone_numbers
SET status = 'quarantined', quarantined_until = now() + interval '7 days'
WHERE vapi_phone_number_id = 'st-4';

-- st-5 reaches its cap once lead 05 has held it; released, it is resting as well, and resting
-- comes first.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000005');
SELECT vapi_phone_number_id FROM number_states
WHERE company = 'States Realty' AND state = 'available';
SELECT force_release_phone_number('st-5', 'states test');

SELECT vapi_phone_number_id, state, lead_id IS NOT NULL AS held,
       resting_until IS NOT NULL AS resting_until_shown, assignments_today, daily_cap
FROM number_states WHERE company = 'States Realty' ORDER BY vapi_phone_number_id;
SELECT available, assigned, inactive, resting, at_cap, quarantined, total
FROM pool_health WHERE company = 'States Realty';

-- The assignment takes what the view calls available (st-6), then nothing: the refusal counts
-- each state as the view does.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000010');
\pset format unaligned
\pset fieldsep ' | '
SELECT * FROM expect_error('nothing available',
    $$SELECT * FROM pool_ext.assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000011')$$);
\pset format aligned

-- Lead 02 returns: its previous number may come back while it rests, but not over its cap.
\pset format unaligned
\pset fieldsep ' | '
SELECT * FROM expect_error('previous number at its cap',
    $$SELECT * FROM pool_ext.assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000002')$$);
\pset format aligned

-- Without the cooldown, st-2 and st-5 are at their cap (one assignment today each).
SELECT company, cooldown FROM set_pool_rules('States Realty', cooldown => '0');
SELECT vapi_phone_number_id, state, assignments_today
FROM number_states WHERE company = 'States Realty' ORDER BY vapi_phone_number_id;
\pset format unaligned
\pset fieldsep ' | '
SELECT * FROM expect_error('nothing available: two at the cap',
    $$SELECT * FROM pool_ext.assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000011')$$);
\pset format aligned

-- The cooldown back, the cap lifted: lead 02 gets its previous number while it rests.
SELECT company, cooldown, daily_cap
FROM set_pool_rules('States Realty', cooldown => '2 hours', daily_cap => 0);
SELECT vapi_phone_number_id, state FROM number_states
WHERE company = 'States Realty' AND vapi_phone_number_id = 'st-2';
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('States Realty', '0000001a-0000-4000-8000-000000000002');

-- The advisory locks' first keys, by name; another name is refused.
SELECT purpose, _lock_space(purpose)
FROM unnest(ARRAY['assignment', 'low_water_alert', 'ledger_maintenance']) AS purpose;
\pset format unaligned
\pset fieldsep ' | '
SELECT * FROM expect_error('unknown lock', $$SELECT pool_ext._lock_space('pool')$$);
\pset format aligned

SELECT * FROM pool_invariants();

-- Clean up for the next file.
SELECT * FROM forget_companies('States Realty');
