-- After ALTER EXTENSION pool_ext UPDATE of the database tests/upgrade/fill-*.sql filled: the
-- holds made by the old version carry on under the new one. Each check raises on failure.
\set ON_ERROR_STOP on
SET search_path = pool_ext, public;

-- Each lead's previous number (lead_numbers, 0.4.1) was filled from the old ledger: the newest
-- assignment of every lead at every company, and nothing else.
DO $$
DECLARE
    expected bigint;
    differing bigint;
BEGIN
    WITH newest AS (
        SELECT DISTINCT ON (coalesce(lead_company, broker_company), lead_id)
               coalesce(lead_company, broker_company) AS company, lead_id, vapi_phone_number_id
        FROM phone_number_ledger WHERE event = 'assigned'
        ORDER BY coalesce(lead_company, broker_company), lead_id, occurred_at DESC, id DESC
    )
    SELECT (SELECT count(*) FROM newest),
           (SELECT count(*) FROM ((SELECT * FROM newest
                                   EXCEPT SELECT company, lead_id, vapi_phone_number_id FROM lead_numbers)
                                  UNION ALL
                                  (SELECT company, lead_id, vapi_phone_number_id FROM lead_numbers
                                   EXCEPT SELECT * FROM newest)) AS d)
    INTO expected, differing;
    IF expected = 0 OR differing <> 0 THEN
        RAISE EXCEPTION 'lead_numbers after the upgrade: % leads assigned in the ledger, % rows differ',
            expected, differing;
    END IF;
END
$$;

-- The n8n role the old README granted can still assign, through the new signature.
SET ROLE upgrade_caller;
SELECT set_config('upgrade.lead_1_sticky', vapi_phone_number_id, false)
FROM pool_ext.assign_phone_number('Upgrade Co', '00000000-0000-0000-0000-000000000001');
RESET ROLE;

DO $$
DECLARE
    held text;
    released bigint;
    refused_by text;
BEGIN
    -- Lead 1 gets back the number it held before the upgrade, not a new one.
    SELECT vapi_phone_number_id INTO held FROM phone_number_ledger
    WHERE lead_id = '00000000-0000-0000-0000-000000000001' AND event = 'assigned' ORDER BY id LIMIT 1;
    IF (SELECT count(*) FROM signalwire_phone_numbers
        WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000001') <> 1 THEN
        RAISE EXCEPTION 'lead 1 does not hold exactly one number after the upgrade';
    END IF;
    IF held IS DISTINCT FROM current_setting('upgrade.lead_1_sticky') THEN
        RAISE EXCEPTION 'lead 1 held % before the upgrade and was given % after it',
            held, current_setting('upgrade.lead_1_sticky');
    END IF;
    -- The hold that was overdue before the upgrade is released by the new release job.
    released := release_expired_phone_numbers();
    IF released <> 1 OR EXISTS (SELECT FROM signalwire_phone_numbers
                                WHERE currently_assigned_to = '00000000-0000-0000-0000-000000000002') THEN
        RAISE EXCEPTION 'the overdue 0.1.0 hold was not released (released %)', released;
    END IF;
    -- An outcome on a hold made by 0.1.0.
    PERFORM record_call_outcome('00000000-0000-0000-0000-000000000004', 'no_answer');
    -- New leads take the rest of the pool; never two holds of one number.
    PERFORM assign_phone_number('Upgrade Co', gen_random_uuid()) FROM generate_series(1, 3);
    IF EXISTS (SELECT FROM double_assignments) THEN
        RAISE EXCEPTION 'double_assignments is not empty after the upgrade';
    END IF;
    -- The table still refuses a number that is not E.164, with the constraint's name.
    BEGIN
        INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company)
        VALUES ('upg-bad', '4155550100', 'Upgrade Co');
        RAISE EXCEPTION 'a number not in E.164 form was accepted after the upgrade';
    EXCEPTION WHEN check_violation THEN
        GET STACKED DIAGNOSTICS refused_by = CONSTRAINT_NAME;
        IF refused_by IS DISTINCT FROM 'signalwire_phone_numbers_number_check' THEN
            RAISE EXCEPTION 'a number not in E.164 form was refused by %, not by the number check', refused_by;
        END IF;
    END;
    -- This version's rules work on the upgraded pool.
    PERFORM set_pool_rules('Upgrade Co', cooldown => '1 hour', daily_cap => 5);
    PERFORM record_call_outcome('00000000-0000-0000-0000-000000000004', 'do_not_call');
    IF coalesce((SELECT resting FROM pool_health WHERE company = 'Upgrade Co'), 0) < 1 THEN
        RAISE EXCEPTION 'a number released under a cooldown after the upgrade is not resting';
    END IF;
    PERFORM check_pool_alerts();
    PERFORM count(*) FROM pool_activity('Upgrade Co');
    PERFORM count(*) FROM pool_runway();
    IF (SELECT w.lead_id FROM signalwire_phone_numbers AS p, who_held_number(p.number) AS w
        WHERE p.vapi_phone_number_id = current_setting('upgrade.lead_1_sticky'))
       IS DISTINCT FROM '00000000-0000-0000-0000-000000000001' THEN
        RAISE EXCEPTION 'who_held_number does not find a 0.1.0 hold';
    END IF;
    -- Number health (0.4.1) on the upgraded pool: every number has a row, the two outcomes above
    -- joined their number's window, the new rules take, and an active number is not reinstated.
    IF (SELECT count(*) FROM number_health) <> (SELECT count(*) FROM signalwire_phone_numbers) THEN
        RAISE EXCEPTION 'number_health does not list every number after the upgrade';
    END IF;
    IF NOT EXISTS (SELECT FROM number_health WHERE calls = 2) THEN  -- no_answer, do_not_call
        RAISE EXCEPTION 'the outcome recorded after the upgrade is not in a health window';
    END IF;
    IF (SELECT quarantine_below FROM set_pool_rules('Upgrade Co', quarantine_below => 0.5,
                                                    health_min_calls => 10))
       IS DISTINCT FROM 0.5::float8 THEN
        RAISE EXCEPTION 'set_pool_rules does not take quarantine_below after the upgrade';
    END IF;
    IF reinstate_phone_number((SELECT min(vapi_phone_number_id) FROM signalwire_phone_numbers
                               WHERE status = 'active')) THEN
        RAISE EXCEPTION 'an active number was reinstated';
    END IF;
END
$$;

-- The overflow pool (0.4.1) on the upgraded pool: the old caller role, whose grant was carried
-- to the re-created assign_phone_number, is lent a number of another company's pool once its
-- own is dry, and the hold names the lead's company everywhere.
SELECT import_phone_numbers('[{"vapi_phone_number_id": "upg-shared-1", "number": "+14155559901",
                               "name": "Shared 1", "broker_company": "Upgrade Shared"}]');
SELECT overflow_company FROM set_pool_rules('Upgrade Co', overflow_company => 'Upgrade Shared');
SET ROLE upgrade_caller;
DO $$
DECLARE
    lead uuid;
BEGIN
    FOR i IN 1..12 LOOP  -- the pool's own numbers first, then the lent one
        lead := gen_random_uuid();
        IF (SELECT from_overflow FROM pool_ext.assign_phone_number('Upgrade Co', lead)) THEN
            PERFORM set_config('upgrade.lent_to', lead::text, false);
            RETURN;
        END IF;
    END LOOP;
    RAISE EXCEPTION 'no lead of Upgrade Co was lent a number of its overflow pool';
END
$$;
RESET ROLE;
DO $$
DECLARE
    lead uuid := current_setting('upgrade.lent_to')::uuid;
BEGIN
    IF (SELECT lead_company FROM signalwire_phone_numbers WHERE vapi_phone_number_id = 'upg-shared-1')
       IS DISTINCT FROM 'Upgrade Co' THEN
        RAISE EXCEPTION 'the overflow hold after the upgrade does not name the lead''s company';
    END IF;
    IF (SELECT count(*) FROM phone_number_ledger
        WHERE lead_id = lead AND broker_company = 'Upgrade Shared' AND lead_company = 'Upgrade Co') <> 1 THEN
        RAISE EXCEPTION 'the overflow hold after the upgrade has no ledger row naming both companies';
    END IF;
    IF (SELECT company FROM who_held_number('+14155559901')) IS DISTINCT FROM 'Upgrade Co' THEN
        RAISE EXCEPTION 'who_held_number does not name the lead''s company for an overflow hold';
    END IF;
    IF (SELECT chosen_by FROM assign_phone_number('Upgrade Co', lead)) <> 'current_hold' THEN
        RAISE EXCEPTION 'a repeat call does not return the overflow hold after the upgrade';
    END IF;
    PERFORM record_call_outcome(lead, 'wrong_number', company => 'Upgrade Co');
    IF EXISTS (SELECT FROM signalwire_phone_numbers WHERE currently_assigned_to = lead)
       OR EXISTS (SELECT FROM double_assignments) THEN
        RAISE EXCEPTION 'the outcome did not end the overflow hold cleanly after the upgrade';
    END IF;
END
$$;
-- The reports an operator granted one by one before the upgrade (fill-0.4.0.sql).
SELECT coalesce(current_setting('pool_ext_upgrade.reports_granted', true) = 'on', false) AS reports_granted \gset
\if :reports_granted
SET ROLE upgrade_caller;
SELECT sum(borrowed) FROM pool_ext.pool_activity('Upgrade Co');
SELECT sum(lent_per_hour) FROM pool_ext.pool_runway();
SELECT daily_cap FROM pool_ext.set_pool_rules('Upgrade Co', daily_cap => 6);
RESET ROLE;
\endif
