-- Fill a 0.1.0 pool the way 0.1.0's users did (its README): numbers inserted by hand, holds
-- through its API, an n8n role granted by hand. scripts/upgrade-test.sh then upgrades this
-- database and runs tests/upgrade/check.sql, which relies on what is made here.
\set ON_ERROR_STOP on
SET search_path = pool_ext, public;

INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
SELECT 'upg-' || n, '+1415555' || lpad(n::text, 4, '0'), 'Upgrade line ' || n, 'Upgrade Co'
FROM generate_series(1, 6) AS n;
INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company, status)
VALUES ('upg-retired', '+14155559999', 'Upgrade Co', 'inactive');

-- Lead 1 keeps a live hold; lead 3's hold ends and the release job frees it; lead 2's hold is
-- overdue but not released yet; lead 4 holds a number that was never used before.
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000001');
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000002');
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000003');
UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 hour'
WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000003';
SELECT release_expired_phone_numbers();
UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 hour'
WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000002';
SELECT vapi_phone_number_id FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000004');

-- The 0.1.0 README's grant for n8n.
DROP ROLE IF EXISTS upgrade_caller;
CREATE ROLE upgrade_caller;
GRANT USAGE ON SCHEMA pool_ext TO upgrade_caller;
GRANT EXECUTE ON FUNCTION assign_phone_number(text, uuid), release_expired_phone_numbers(bigint)
    TO upgrade_caller;
