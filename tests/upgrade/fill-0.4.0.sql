-- Fill a 0.4.0 pool: the story of fill-0.3.0.sql (import, holds, outcomes, the release job, pool
-- rules, an alert out, grant_pool_access), whose calls 0.4.0 keeps, then what 0.4.0 added: a
-- repeat call that renews a hold (a 'renewed' ledger row). scripts/upgrade-test.sh then
-- upgrades this database and runs tests/upgrade/check.sql.
\ir fill-0.3.0.sql

-- Lead 4 calls again: its hold is renewed.
SELECT chosen_by FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000004');
