-- Fill a 0.3.0 pool through 0.3.0's API (import, assign with the lead's phone, outcomes,
-- the release job, grant_pool_access). scripts/upgrade-test.sh then upgrades this database
-- and runs tests/upgrade/check.sql, which relies on what is made here (the same story as
-- fill-0.1.0.sql), with 0.3.0's pool rules and an alert out.
\set ON_ERROR_STOP on
SET search_path = pool_ext, public;

SELECT * FROM import_phone_numbers((
    SELECT jsonb_agg(jsonb_build_object('vapi_phone_number_id', 'upg-' || n,
                                        'number', '+1415555' || lpad(n::text, 4, '0'),
                                        'name', 'Upgrade line ' || n,
                                        'broker_company', 'Upgrade Co'))
    FROM generate_series(1, 6) AS n
) || '[{"vapi_phone_number_id": "upg-retired", "number": "+14155559999", "name": "Retired line", "broker_company": "Upgrade Co"}]');
SELECT retire_phone_number('upg-retired');
SELECT * FROM set_company_policy('Upgrade Co', retention => '12 hours', time_zone => 'America/Chicago');
-- 0.3.0's pool rules: an alert at 4 numbers left (the fourth assignment below raises it).
SELECT * FROM set_pool_rules('Upgrade Co', low_water_count => 4);

-- Lead 1 keeps a live hold; lead 3's hold ends and the release job frees it; lead 2's hold is
-- overdue but not released yet; lead 4 holds a number that was never used before.
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000001', '+1 415 555 0101');
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000002');
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000003');
SELECT * FROM record_call_outcome('00000000-0000-0000-0000-000000000001', 'booked', now() + interval '2 days');
SELECT * FROM record_call_outcome('00000000-0000-0000-0000-000000000003', 'do_not_call');
UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 hour'
WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000002';
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000004');

DROP ROLE IF EXISTS upgrade_caller;
CREATE ROLE upgrade_caller;
SELECT grant_pool_access('upgrade_caller', 'caller');
