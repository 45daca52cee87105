-- A table of 121 hostile calls (the 94 of the former tests/hostile.rs, 18 for number health and
-- 9 for the overflow pool), each run through
-- expect_error() (helpers.sql). Every one must fail with the SQLSTATE hostile.rs expects
-- (column `as_expected`), with a short message that is no Rust panic, and the pool, the
-- ledger, the policies, the CRM registration and the alert state must be exactly as before
-- (one snapshot before all cases, compared after them: each case runs in a subtransaction
-- of its own, so only a case that did not fail could leave a change behind).
-- Placeholders, substituted before each call: $LEAD a lead that holds a number, $FREE one
-- that holds none, $HELD / $HELDNUMBER the held number's id and number, $BIG a 10 KB string,
-- $DEEP a 2,000-deep nested JSON array. Companies: Hostile Realty, Other Realty.

-- pg_regress sets DateStyle Postgres, IntervalStyle postgres_verbose and TimeZone PST8PDT;
-- back to what a client of a default server sees (ISO, postgres, UTC).
SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
-- As hostile.rs (tests/common): the API unqualified, as the README tells operators to set up.
SET search_path = "$user", public, pool_ext;

-- load_pool(COMPANY, 4158, 3) and load_pool("Other Realty", 4159, 1).
INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
SELECT c.company || '-' || i, '+1' || c.prefix || lpad(i::text, 5, '0'), 'Line ' || i, c.company
FROM (VALUES ('Hostile Realty', '4158', 3), ('Other Realty', '4159', 1)) AS c (company, prefix, n),
     generate_series(1, c.n) AS i;
CREATE TABLE hostile_interactions (lead_id uuid, type text, metadata jsonb, created_at timestamptz);
-- lead(5, 1) holds a number, lead(5, 2) holds none.
SELECT vapi_phone_number_id, number, chosen_by
FROM assign_phone_number('Hostile Realty', '00000005-0000-0000-0000-000000000001');

CREATE TEMP TABLE hostile_placeholders AS
SELECT '00000005-0000-0000-0000-000000000001'::text AS lead,
       '00000005-0000-0000-0000-000000000002'::text AS free,
       vapi_phone_number_id AS held, number AS held_number,
       repeat('x', 10 * 1024) AS big,
       repeat('[', 2000) || repeat(']', 2000) AS deep
FROM signalwire_phone_numbers
WHERE currently_assigned_to = '00000005-0000-0000-0000-000000000001';
SELECT lead, free, held, held_number, length(big) AS big, length(deep) AS deep FROM hostile_placeholders;

-- (what, statement, expected SQLSTATE), as hostile.rs's CASES, in its order.
CREATE TEMP TABLE hostile_cases (n serial, what text, statement text, expected text);
INSERT INTO hostile_cases (what, statement, expected) VALUES
    -- assign_phone_number
    ('assign: NULL company', $q$SELECT * FROM assign_phone_number(NULL, '$FREE')$q$, '22004'),
    ('assign: NULL lead', $q$SELECT * FROM assign_phone_number('Hostile Realty', NULL)$q$, '22004'),
    ('assign: empty company', $q$SELECT * FROM assign_phone_number('', '$FREE')$q$, '22023'),
    ('assign: white space company', $q$SELECT * FROM assign_phone_number(E' \t\n ', '$FREE')$q$, '22023'),
    ('assign: 10 KB company', $q$SELECT * FROM assign_phone_number('$BIG', '$FREE')$q$, '42704'),
    ('assign: unknown company', $q$SELECT * FROM assign_phone_number('hostile realty', '$FREE')$q$, '42704'),
    ('assign: 10 KB customer_phone', $q$SELECT * FROM assign_phone_number('Hostile Realty', '$FREE', '$BIG')$q$, '22023'),
    ('assign: blank customer_phone', $q$SELECT * FROM assign_phone_number('Hostile Realty', '$FREE', ' ')$q$, '22023'),
    ('assign: lead not a uuid', $q$SELECT * FROM assign_phone_number('Hostile Realty', 'lead-1')$q$, '22P02'),
    -- record_call_outcome
    ('outcome: NULL lead', $q$SELECT * FROM record_call_outcome(NULL, 'booked')$q$, '22004'),
    ('outcome: NULL outcome', $q$SELECT * FROM record_call_outcome('$LEAD', NULL)$q$, '22004'),
    ('outcome: empty outcome', $q$SELECT * FROM record_call_outcome('$LEAD', '')$q$, '22023'),
    ('outcome: unknown outcome', $q$SELECT * FROM record_call_outcome('$LEAD', 'voicemail')$q$, '22023'),
    ('outcome: wrong case', $q$SELECT * FROM record_call_outcome('$LEAD', 'BOOKED', now() + interval '1 day')$q$, '22023'),
    ('outcome: 10 KB outcome', $q$SELECT * FROM record_call_outcome('$LEAD', '$BIG')$q$, '22023'),
    ('outcome: booked without appointment', $q$SELECT * FROM record_call_outcome('$LEAD', 'booked')$q$, '22004'),
    ('outcome: appointment in the past', $q$SELECT * FROM record_call_outcome('$LEAD', 'booked', now() - interval '1 minute')$q$, '22023'),
    ('outcome: appointment two years ahead', $q$SELECT * FROM record_call_outcome('$LEAD', 'booked', now() + interval '2 years')$q$, '22023'),
    ('outcome: appointment infinity', $q$SELECT * FROM record_call_outcome('$LEAD', 'booked', 'infinity')$q$, '22023'),
    ('outcome: appointment -infinity', $q$SELECT * FROM record_call_outcome('$LEAD', 'booked', '-infinity')$q$, '22023'),
    ('outcome: appointment for no_answer', $q$SELECT * FROM record_call_outcome('$LEAD', 'no_answer', now() + interval '1 day')$q$, '22023'),
    ('outcome: lead without a hold', $q$SELECT * FROM record_call_outcome('$FREE', 'no_answer')$q$, 'P0002'),
    ('outcome: other company', $q$SELECT * FROM record_call_outcome('$LEAD', 'no_answer', company => 'Other Realty')$q$, 'P0002'),
    ('outcome: blank company', $q$SELECT * FROM record_call_outcome('$LEAD', 'no_answer', company => '')$q$, '22023'),
    -- set_company_policy
    ('policy: NULL company', $q$SELECT * FROM set_company_policy(NULL, '1 hour')$q$, '22004'),
    ('policy: unknown time zone', $q$SELECT * FROM set_company_policy('Hostile Realty', time_zone => 'Mars/Olympus_Mons')$q$, '22023'),
    ('policy: empty time zone', $q$SELECT * FROM set_company_policy('Hostile Realty', time_zone => '')$q$, '22023'),
    ('policy: 10 KB time zone', $q$SELECT * FROM set_company_policy('Hostile Realty', time_zone => '$BIG')$q$, '22023'),
    ('policy: POSIX offset zone', $q$SELECT * FROM set_company_policy('Hostile Realty', time_zone => 'UTC+3; DROP TABLE x')$q$, '22023'),
    ('policy: zero retention', $q$SELECT * FROM set_company_policy('Hostile Realty', interval '0')$q$, '22023'),
    ('policy: negative retention', $q$SELECT * FROM set_company_policy('Hostile Realty', interval '-1 hour')$q$, '22023'),
    ('policy: retention a year', $q$SELECT * FROM set_company_policy('Hostile Realty', interval '1 year')$q$, '22023'),
    ('policy: booked hold 1 month -40 days', $q$SELECT * FROM set_company_policy('Hostile Realty', booked_hold => interval '1 month -40 days')$q$, '22023'),
    ('policy: retention not an interval', $q$SELECT * FROM set_company_policy('Hostile Realty', 'forever')$q$, '22007'),
    -- import_phone_numbers
    ('import: NULL', $q$SELECT * FROM import_phone_numbers(NULL)$q$, '22004'),
    ('import: an object', $q$SELECT * FROM import_phone_numbers('{}')$q$, '22023'),
    ('import: a string', $q$SELECT * FROM import_phone_numbers('"numbers"')$q$, '22023'),
    ('import: array of numbers', $q$SELECT * FROM import_phone_numbers('[1, 2]')$q$, '22023'),
    ('import: array with null', $q$SELECT * FROM import_phone_numbers('[null]')$q$, '22023'),
    ('import: empty object', $q$SELECT * FROM import_phone_numbers('[{}]')$q$, '22023'),
    ('import: malformed JSON', $q$SELECT * FROM import_phone_numbers('[{"number": }')$q$, '22P02'),
    ('import: deeply nested', $q$SELECT * FROM import_phone_numbers('$DEEP')$q$, '22023'),
    ('import: nested in a field', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+14155559001", "name": {"a": [1]}, "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: number as a JSON number', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": 14155559001, "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: unknown field', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+14155559001", "name": "x", "broker_company": "Hostile Realty", "status": "active"}]')$q$, '22023'),
    ('import: missing company', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+14155559001", "name": "x"}]')$q$, '22023'),
    ('import: blank id', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "  ", "number": "+14155559001", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: 10 KB name', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+14155559001", "name": "$BIG", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: no plus', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "14155559001", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: 16 digits', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+1415555900123456", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: leading zero', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+04155559001", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: spaces in number', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+1 415 555 9001", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: Arabic digits', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+١٤١٥٥٥٥٩٠٠١", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: 10 KB number', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+$BIG", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: duplicate id', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+14155559001", "name": "x", "broker_company": "Hostile Realty"}, {"vapi_phone_number_id": "h-1", "number": "+14155559002", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: duplicate number', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+14155559001", "name": "x", "broker_company": "Hostile Realty"}, {"vapi_phone_number_id": "h-2", "number": "+14155559001", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: number of another id', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "h-1", "number": "+1415800001", "name": "x", "broker_company": "Hostile Realty"}]')$q$, '22023'),
    ('import: held number to another company', $q$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "$HELD", "number": "$HELDNUMBER", "name": "x", "broker_company": "Other Realty"}]')$q$, '22023'),
    -- number management
    ('retire: NULL id', $q$SELECT retire_phone_number(NULL)$q$, '22004'),
    ('retire: empty id', $q$SELECT retire_phone_number('')$q$, '22023'),
    ('retire: unknown id', $q$SELECT retire_phone_number('no-such-number')$q$, '42704'),
    ('retire: 10 KB id', $q$SELECT retire_phone_number('$BIG')$q$, '42704'),
    ('reactivate: unknown id', $q$SELECT reactivate_phone_number('no-such-number')$q$, '42704'),
    ('reinstate: NULL id', $q$SELECT reinstate_phone_number(NULL)$q$, '22004'),
    ('reinstate: empty id', $q$SELECT reinstate_phone_number('')$q$, '22023'),
    ('reinstate: unknown id', $q$SELECT reinstate_phone_number('no-such-number')$q$, '42704'),
    ('reinstate: 10 KB id', $q$SELECT reinstate_phone_number('$BIG')$q$, '42704'),
    ('move: NULL company', $q$SELECT move_phone_number('$HELD', NULL)$q$, '22004'),
    ('move: blank company', $q$SELECT move_phone_number('$HELD', '  ')$q$, '22023'),
    ('move: held number', $q$SELECT move_phone_number('$HELD', 'Other Realty')$q$, '55006'),
    ('move: unknown id', $q$SELECT move_phone_number('no-such-number', 'Other Realty')$q$, '42704'),
    ('force release: NULL id', $q$SELECT force_release_phone_number(NULL)$q$, '22004'),
    ('force release: unknown id', $q$SELECT force_release_phone_number('no-such-number')$q$, '42704'),
    ('force release: blank reason', $q$SELECT force_release_phone_number('$HELD', '')$q$, '22023'),
    -- release
    ('release: max_rows 0', $q$SELECT release_expired_phone_numbers(0)$q$, '22023'),
    ('release: max_rows negative', $q$SELECT release_expired_phone_numbers(-5)$q$, '22023'),
    ('release in batches: batch_size 0', $q$CALL release_expired_phone_numbers_in_batches(0)$q$, '22023'),
    -- pool rules
    ('pool rules: NULL company', $q$SELECT * FROM set_pool_rules(NULL, low_water_count => 2)$q$, '22004'),
    ('pool rules: blank company', $q$SELECT * FROM set_pool_rules(' ', daily_cap => 2)$q$, '22023'),
    ('pool rules: negative low-water count', $q$SELECT * FROM set_pool_rules('Hostile Realty', low_water_count => -1)$q$, '22023'),
    ('pool rules: huge low-water count', $q$SELECT * FROM set_pool_rules('Hostile Realty', low_water_count => 2000000000)$q$, '22023'),
    ('pool rules: share above 1', $q$SELECT * FROM set_pool_rules('Hostile Realty', low_water_share => 1.5)$q$, '22023'),
    ('pool rules: negative share', $q$SELECT * FROM set_pool_rules('Hostile Realty', low_water_share => -0.1)$q$, '22023'),
    ('pool rules: NaN share', $q$SELECT * FROM set_pool_rules('Hostile Realty', low_water_share => 'NaN')$q$, '22023'),
    ('pool rules: count and share', $q$SELECT * FROM set_pool_rules('Hostile Realty', low_water_count => 2, low_water_share => 0.5)$q$, '22023'),
    ('pool rules: negative cooldown', $q$SELECT * FROM set_pool_rules('Hostile Realty', cooldown => '-1 minute')$q$, '22023'),
    ('pool rules: cooldown a month', $q$SELECT * FROM set_pool_rules('Hostile Realty', cooldown => '1 month')$q$, '22023'),
    ('pool rules: cooldown 8 days', $q$SELECT * FROM set_pool_rules('Hostile Realty', cooldown => '8 days')$q$, '22023'),
    ('pool rules: cooldown not an interval', $q$SELECT * FROM set_pool_rules('Hostile Realty', cooldown => 'a while')$q$, '22007'),
    ('pool rules: negative daily cap', $q$SELECT * FROM set_pool_rules('Hostile Realty', daily_cap => -1)$q$, '22023'),
    ('pool rules: daily cap too large', $q$SELECT * FROM set_pool_rules('Hostile Realty', daily_cap => 100001)$q$, '22023'),
    ('pool rules: daily cap not a number', $q$SELECT * FROM set_pool_rules('Hostile Realty', daily_cap => 'ten')$q$, '22P02'),
    ('pool rules: quarantine_below above 1', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_below => 1.01)$q$, '22023'),
    ('pool rules: negative quarantine_below', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_below => -0.5)$q$, '22023'),
    ('pool rules: NaN quarantine_below', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_below => 'NaN')$q$, '22023'),
    ('pool rules: infinite quarantine_below', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_below => 'Infinity')$q$, '22023'),
    ('pool rules: health_min_calls 3', $q$SELECT * FROM set_pool_rules('Hostile Realty', health_min_calls => 3)$q$, '22023'),
    ('pool rules: health_min_calls negative', $q$SELECT * FROM set_pool_rules('Hostile Realty', health_min_calls => -20)$q$, '22023'),
    ('pool rules: health_min_calls too large', $q$SELECT * FROM set_pool_rules('Hostile Realty', health_min_calls => 1001)$q$, '22023'),
    ('pool rules: health_min_calls not a number', $q$SELECT * FROM set_pool_rules('Hostile Realty', health_min_calls => 'many')$q$, '22P02'),
    ('pool rules: quarantine_for negative', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_for => '-7 days')$q$, '22023'),
    ('pool rules: quarantine_for zero', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_for => '0')$q$, '22023'),
    ('pool rules: quarantine_for a minute', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_for => '1 minute')$q$, '22023'),
    ('pool rules: quarantine_for a month', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_for => '1 month')$q$, '22023'),
    ('pool rules: quarantine_for two years', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_for => '730 days')$q$, '22023'),
    ('pool rules: quarantine_for not an interval', $q$SELECT * FROM set_pool_rules('Hostile Realty', quarantine_for => 'a week or so')$q$, '22007'),
    ('pool rules: white space overflow_company', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => E' \t ')$q$, '22023'),
    ('pool rules: overflow into itself', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => 'Hostile Realty')$q$, '22023'),
    ('pool rules: 10 KB overflow_company', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => '$BIG')$q$, '42704'),
    ('pool rules: unknown overflow_company', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => 'No Such Pool')$q$, '42704'),
    ('pool rules: overflow_company in another case', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => 'other realty')$q$, '42704'),
    ('pool rules: overflow_company with a trailing space', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => 'Other Realty ')$q$, '42704'),
    ('pool rules: overflow_company with a quote and a semicolon', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => 'Other Realty''); DROP TABLE pool_ext.signalwire_phone_numbers; --')$q$, '42704'),
    ('pool rules: overflow_company in unicode', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => 'Öther Réalty ☎')$q$, '42704'),
    ('pool rules: overflow_company with a Cyrillic O', $q$SELECT * FROM set_pool_rules('Hostile Realty', overflow_company => 'Оther Realty')$q$, '42704'),
    ('activity: not a time', $q$SELECT * FROM pool_activity('Hostile Realty', 'yesterday-ish')$q$, '22007'),
    ('runway: not an interval', $q$SELECT * FROM pool_runway('soon')$q$, '22007'),
    -- CRM registration
    ('crm: NULL leads', $q$SELECT register_crm_tables(NULL, 'hostile_interactions')$q$, '22004'),
    ('crm: missing table', $q$SELECT register_crm_tables('no_such_table', 'hostile_interactions')$q$, '42P01'),
    ('crm: leads lacks columns', $q$SELECT register_crm_tables('hostile_interactions', 'hostile_interactions')$q$, '42703'),
    ('crm: a view is not a table', $q$SELECT register_crm_tables('pool_ext.pool_health', 'hostile_interactions')$q$, '42703');

SELECT count(*) AS cases FROM hostile_cases;

CREATE TEMP TABLE hostile_before AS SELECT pool_snapshot() AS snapshot;

-- Run every case, in order, each in its own subtransaction.
CREATE TEMP TABLE hostile_results AS
SELECT c.n, c.expected, r.*
FROM (SELECT n, what, expected,
             replace(replace(replace(replace(replace(replace(statement,
                 '$HELDNUMBER', p.held_number), '$HELD', p.held), '$LEAD', p.lead),
                 '$FREE', p.free), '$BIG', p.big), '$DEEP', p.deep) AS statement
      FROM hostile_cases, hostile_placeholders AS p
      ORDER BY n) AS c
CROSS JOIN LATERAL expect_error(c.what, c.statement) AS r;

-- One line per case: the SQLSTATE, whether it is the one hostile.rs expects, and the texts
-- (timestamps masked).
\pset format unaligned
\pset fieldsep ' | '
SELECT n, what, sqlstate, sqlstate IS NOT DISTINCT FROM expected AS as_expected, message, detail, hint
FROM hostile_results ORDER BY n;
\pset format aligned

-- Any case whose SQLSTATE is not hostile.rs's (none).
SELECT n, what, expected, sqlstate FROM hostile_results
WHERE sqlstate IS DISTINCT FROM expected ORDER BY n;
-- hostile.rs's other checks on every error: a message of at most 400 bytes, no Rust panic.
SELECT count(*) AS cases,
       count(*) FILTER (WHERE sqlstate IS NOT DISTINCT FROM expected) AS as_expected,
       count(*) FILTER (WHERE octet_length(message) > 400) AS long_messages,
       count(*) FILTER (WHERE message LIKE '%panicked%' OR message LIKE '%called `%') AS rust_panics
FROM hostile_results;

-- Nothing changed: pool, ledger, policies, CRM registration, alert state.
SELECT pool_snapshot() = snapshot AS unchanged FROM hostile_before;
SELECT count(*) AS crm_registrations FROM crm_tables;
SELECT company FROM company_policies WHERE company IN ('Hostile Realty', 'Other Realty');
SELECT event, vapi_phone_number_id, lead_id, reason FROM phone_number_ledger
WHERE broker_company IN ('Hostile Realty', 'Other Realty') ORDER BY id;
SELECT vapi_phone_number_id, number, assigned_broker_company, assignment_status, currently_assigned_to, status
FROM signalwire_phone_numbers
WHERE assigned_broker_company IN ('Hostile Realty', 'Other Realty') OR vapi_phone_number_id LIKE 'h-%'
ORDER BY 1;
SELECT * FROM pool_invariants();

-- Clean up for the next file.
DROP TABLE hostile_interactions;
SELECT * FROM forget_companies('Hostile Realty', 'Other Realty');
