-- pool_ext 0.4.0 -> 0.4.1, run by ALTER EXTENSION pool_ext UPDATE: cheaper holds and releases,
-- and an exhausted pool's error that no longer counts the day's ledger rows of every number.
-- Released with 0.4.1: never edit this file; later changes get a script of their own.
-- scripts/upgrade-test.sh checks that an upgraded database equals a fresh 0.4.1 install.

-- The row checks move from CHECK constraints, which every hold and release paid for, to a
-- trigger on the columns they concern (sql/schema.sql says why). assignment_status needs no
-- check of its own: signalwire_phone_numbers_hold_consistent allows only its two values.
ALTER TABLE signalwire_phone_numbers
    DROP CONSTRAINT signalwire_phone_numbers_vapi_phone_number_id_check,
    DROP CONSTRAINT signalwire_phone_numbers_number_check,
    DROP CONSTRAINT signalwire_phone_numbers_assigned_broker_company_check,
    DROP CONSTRAINT signalwire_phone_numbers_assignment_status_check,
    DROP CONSTRAINT signalwire_phone_numbers_status_check;

CREATE FUNCTION _check_number_row() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    violated text;
    rule text;
BEGIN
    SELECT c.name, c.rule INTO violated, rule
    FROM (VALUES
        (btrim(NEW.vapi_phone_number_id) <> '', 'vapi_phone_number_id_check',
         'vapi_phone_number_id must not be blank.'),
        -- E.164: '+', a non-zero country digit, at most 15 digits in all.
        (NEW.number ~ '^\+[1-9][0-9]{1,14}$', 'number_check',
         'number must be in E.164 form: +, the country code and the number, at most 15 digits (for example +14155550123).'),
        (btrim(NEW.assigned_broker_company) <> '', 'assigned_broker_company_check',
         'assigned_broker_company must not be blank.'),
        (NEW.status IN ('active', 'inactive'), 'status_check',
         'status must be ''active'' or ''inactive''.')
    ) AS c (ok, name, rule)
    WHERE NOT c.ok
    LIMIT 1;
    IF violated IS NOT NULL THEN
        violated := TG_TABLE_NAME || '_' || violated;
        RAISE EXCEPTION 'new row for relation "%" violates check constraint "%"', TG_TABLE_NAME, violated
            USING ERRCODE = 'check_violation', CONSTRAINT = violated, TABLE = TG_TABLE_NAME,
                  SCHEMA = TG_TABLE_SCHEMA, DETAIL = rule;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER signalwire_phone_numbers_check_row
    AFTER INSERT OR UPDATE OF vapi_phone_number_id, number, assigned_broker_company, status
    ON signalwire_phone_numbers FOR EACH ROW EXECUTE FUNCTION _check_number_row();

ALTER TABLE signalwire_phone_numbers ENABLE ALWAYS TRIGGER signalwire_phone_numbers_check_row;

REVOKE ALL ON FUNCTION _check_number_row() FROM PUBLIC;

-- The day's assignments of each number are counted only where they matter (see
-- sql/monitoring.sql): an exhausted pool's error reads pool_health.
CREATE OR REPLACE VIEW number_states AS
SELECT p.assigned_broker_company AS company, p.vapi_phone_number_id, p.number,
       CASE WHEN p.assignment_status = 'assigned' THEN 'assigned'
            WHEN p.status = 'inactive' THEN 'inactive'
            WHEN p.released_at + rules.cooldown > now() THEN 'resting'
            WHEN capped.assignments >= rules.daily_cap THEN 'at_cap'
            ELSE 'available'
       END AS state,
       p.currently_assigned_to AS lead_id,
       p.release_at,
       CASE WHEN p.released_at + rules.cooldown > now() THEN p.released_at + rules.cooldown END
           AS resting_until,
       CASE WHEN rules.daily_cap IS NOT NULL THEN capped.assignments
            ELSE (SELECT count(*) FROM phone_number_ledger AS l
                  WHERE l.number = p.number AND l.broker_company = p.assigned_broker_company
                    AND l.event = 'assigned' AND l.occurred_at >= rules.day_start)
       END AS assignments_today,
       rules.daily_cap
FROM signalwire_phone_numbers AS p
LEFT JOIN company_policies AS cp ON cp.company = p.assigned_broker_company
CROSS JOIN LATERAL (
    SELECT coalesce(cp.cooldown, interval '0') AS cooldown,
           cp.daily_cap,
           date_trunc('day', now() AT TIME ZONE coalesce(cp.time_zone, 'UTC'))
               AT TIME ZONE coalesce(cp.time_zone, 'UTC') AS day_start
) AS rules
CROSS JOIN LATERAL (
    SELECT count(*) AS assignments
    FROM phone_number_ledger AS l
    WHERE rules.daily_cap IS NOT NULL
      AND l.number = p.number AND l.broker_company = p.assigned_broker_company
      AND l.event = 'assigned' AND l.occurred_at >= rules.day_start
) AS capped;
