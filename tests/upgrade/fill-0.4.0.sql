-- Fill a 0.4.0 pool: the story of fill-0.3.0.sql (import, holds, outcomes, the release job, pool
-- rules, an alert out, grant_pool_access), whose calls 0.4.0 keeps, then what 0.4.0 added: a
-- repeat call that renews a hold (a 'renewed' ledger row). scripts/upgrade-test.sh then
-- upgrades this database and runs tests/upgrade/check.sql.
\ir fill-0.3.0.sql

-- Lead 4 calls again: its hold is renewed.
SELECT chosen_by FROM assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000004');

-- An operator granted the reports and set_pool_rules one by one: the upgrade re-creates them
-- (their result rows or arguments change) and must carry the grants over. check.sql calls them
-- as this role when the database says so.
-- (set_pool_rules by name alone: the pg_upgrade test fills the current version with this file.)
GRANT EXECUTE ON FUNCTION pool_activity(text, timestamptz, timestamptz), pool_runway(interval),
    set_pool_rules TO upgrade_caller;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET pool_ext_upgrade.reports_granted = on', current_database());
END $$;
