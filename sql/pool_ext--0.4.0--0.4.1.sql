-- pool_ext 0.4.0 -> 0.4.1, run by ALTER EXTENSION pool_ext UPDATE: cheaper holds and releases,
-- an exhausted pool's error that no longer counts the day's ledger rows of every number, and
-- internal helpers named with a leading underscore, and try_assign_phone_number (n8n: an exhausted
-- pool as a status, the lead's phone in E.164).
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

-- Number health (issue 15): a number may be quarantined for a low answer rate, and the
-- company's rules say when (sql/schema.sql, sql/health.sql).
ALTER TABLE signalwire_phone_numbers ADD COLUMN quarantined_until timestamptz;
ALTER TABLE company_policies
    ADD COLUMN quarantine_below numeric CHECK (quarantine_below > 0 AND quarantine_below <= 1),
    ADD COLUMN health_min_calls integer CHECK (health_min_calls BETWEEN 4 AND 1000),
    ADD COLUMN quarantine_for interval CHECK (quarantine_for > interval '0');
-- A quarantine writes a ledger row. Checking the constraint reads the ledger once.
ALTER TABLE phone_number_ledger
    DROP CONSTRAINT phone_number_ledger_event_check,
    ADD CONSTRAINT phone_number_ledger_event_check
        CHECK (event IN ('assigned', 'outcome', 'released', 'renewed', 'quarantined'));

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
        (NEW.status IN ('active', 'inactive', 'quarantined'), 'status_check',
         'status must be ''active'', ''inactive'' or ''quarantined''.')
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

-- The defaults of the per-company rules in one place, read by company_policy(),
-- number_states and pool_alerts (the same text as sql/schema.sql and sql/analytics.sql).
CREATE VIEW _policy_defaults AS
SELECT interval '18 hours' AS retention,
       interval '24 hours' AS booked_hold,
       'UTC'::text AS time_zone,
       0.2::numeric AS low_water_share,
       true AS local_presence,
       interval '0' AS cooldown,
       20 AS health_min_calls,
       interval '7 days' AS quarantine_for;

COMMENT ON VIEW _policy_defaults IS
    'The default of each per-company rule (internal): what a NULL column of company_policies means.';

CREATE OR REPLACE FUNCTION company_policy(company text)
RETURNS TABLE (retention interval, booked_hold interval, time_zone text,
               low_water_count integer, low_water_share double precision,
               local_presence boolean, cooldown interval, daily_cap integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(p.retention, d.retention),
           coalesce(p.booked_hold, d.booked_hold),
           coalesce(p.time_zone, d.time_zone),
           p.low_water_count,
           CASE WHEN p.low_water_count IS NULL
                THEN coalesce(p.low_water_share, d.low_water_share)::float8 END,
           coalesce(p.local_presence, d.local_presence),
           coalesce(p.cooldown, d.cooldown),
           p.daily_cap
    FROM @extschema@._policy_defaults AS d
    LEFT JOIN @extschema@.company_policies AS p ON p.company OPERATOR(pg_catalog.=) $1
$$;

-- The day's assignments of each number are counted only where they matter (see
-- sql/monitoring.sql): an exhausted pool's error reads pool_health. The defaults come from
-- _policy_defaults.
CREATE OR REPLACE VIEW number_states AS
SELECT p.assigned_broker_company AS company, p.vapi_phone_number_id, p.number,
       CASE WHEN p.assignment_status = 'assigned' THEN 'assigned'
            WHEN p.status = 'inactive' THEN 'inactive'
            WHEN p.status = 'quarantined' THEN 'quarantined'
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
       rules.daily_cap,
       p.quarantined_until
FROM signalwire_phone_numbers AS p
LEFT JOIN company_policies AS cp ON cp.company = p.assigned_broker_company
CROSS JOIN _policy_defaults AS d
CROSS JOIN LATERAL (
    SELECT coalesce(cp.cooldown, d.cooldown) AS cooldown,
           cp.daily_cap,
           date_trunc('day', now() AT TIME ZONE coalesce(cp.time_zone, d.time_zone))
               AT TIME ZONE coalesce(cp.time_zone, d.time_zone) AS day_start
) AS rules
CROSS JOIN LATERAL (
    SELECT count(*) AS assignments
    FROM phone_number_ledger AS l
    WHERE rules.daily_cap IS NOT NULL
      AND l.number = p.number AND l.broker_company = p.assigned_broker_company
      AND l.event = 'assigned' AND l.occurred_at >= rules.day_start
) AS capped;

-- pool_health and pool_alerts count quarantined numbers apart (the same text as
-- sql/monitoring.sql and sql/analytics.sql).
CREATE OR REPLACE VIEW pool_health AS
SELECT company,
       count(*) FILTER (WHERE state = 'available') AS available,
       count(*) FILTER (WHERE state = 'assigned') AS assigned,
       count(*) FILTER (WHERE state = 'inactive') AS inactive,
       count(*) AS total,
       round(100.0 * count(*) FILTER (WHERE state = 'assigned')
             / nullif(count(*) FILTER (WHERE state NOT IN ('inactive', 'quarantined')), 0), 1)
           AS utilization_pct,
       count(*) FILTER (WHERE state = 'assigned' AND release_at <= now()) AS overdue,
       count(*) FILTER (WHERE state = 'resting') AS resting,
       count(*) FILTER (WHERE state = 'at_cap') AS at_cap,
       count(*) FILTER (WHERE state = 'quarantined') AS quarantined
FROM number_states
GROUP BY company;

CREATE OR REPLACE VIEW pool_alerts AS
SELECT h.company,
       CASE WHEN h.available = 0 THEN 'empty' ELSE 'low' END AS level,
       h.available,
       size.active AS numbers,
       mark.low_water_mark,
       h.resting,
       h.at_cap,
       a.alerted_at,
       h.quarantined
FROM pool_health AS h
LEFT JOIN company_policies AS cp ON cp.company = h.company
CROSS JOIN _policy_defaults AS d
JOIN (
    SELECT assigned_broker_company, count(*) FILTER (WHERE status = 'active')
    FROM signalwire_phone_numbers GROUP BY assigned_broker_company
) AS size (company, active) ON size.company = h.company
CROSS JOIN LATERAL (
    SELECT coalesce(cp.low_water_count,
                    ceil(coalesce(cp.low_water_share, d.low_water_share) * size.active))::bigint
) AS mark (low_water_mark)
LEFT JOIN pool_alert_state AS a ON a.company = h.company
WHERE h.available <= mark.low_water_mark;

COMMENT ON VIEW number_states IS
    'Each number: assigned, inactive, quarantined, resting (cooldown), at_cap (daily cap) or available, by its company''s rules.';
COMMENT ON VIEW pool_health IS
    'Per company: available (assignable now), assigned, inactive (retired, free), total, utilization of usable numbers, holds overdue for release, resting (cooldown), at_cap (daily cap), quarantined (free).';

-- Internal helpers are named with a leading underscore (pgmq's convention): what \df lists
-- without one is the API. A rename keeps each routine's grants and comment, and triggers and
-- views refer to routines by oid; the routines that call a helper by name get their new text
-- below (the same text as sql/analytics.sql, sql/access.sql and sql/import.sql).
ALTER FUNCTION phone_number_ledger_is_append_only() RENAME TO _ledger_is_append_only;
ALTER FUNCTION signalwire_phone_numbers_log_direct_change() RENAME TO _log_direct_change;
ALTER FUNCTION local_day_end(timestamptz, text) RENAME TO _local_day_end;
ALTER FUNCTION raise_pool_alert(text, bigint, bigint, bigint) RENAME TO _raise_pool_alert;
ALTER FUNCTION rearm_pool_alert(text) RENAME TO _rearm_pool_alert;
ALTER FUNCTION hours_until_dry(bigint, double precision, bigint[]) RENAME TO _hours_until_dry;
ALTER FUNCTION pool_access_objects(text) RENAME TO _pool_access_objects;
ALTER FUNCTION import_phone_numbers_text(text) RENAME TO _import_phone_numbers_text;

CREATE OR REPLACE FUNCTION import_phone_numbers(numbers jsonb)
RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT * FROM @extschema@._import_phone_numbers_text(numbers::text)
$$;

CREATE OR REPLACE FUNCTION check_pool_alerts() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    sent integer := 0;
    low record;
BEGIN
    PERFORM _rearm_pool_alert(s.company) FROM pool_alert_state AS s
    WHERE NOT EXISTS (SELECT FROM pool_alerts AS a WHERE a.company = s.company);
    FOR low IN SELECT * FROM pool_alerts WHERE alerted_at IS NULL ORDER BY company LOOP
        IF _raise_pool_alert(low.company, low.available, low.numbers, low.low_water_mark) THEN
            sent := sent + 1;
        END IF;
    END LOOP;
    RETURN sent;
END
$$;

CREATE OR REPLACE FUNCTION pool_runway(recent interval DEFAULT '3 hours')
RETURNS TABLE (company text, available bigint, assigned bigint, assignments_per_hour numeric,
               releases_next_24h bigint, hours_until_dry numeric, dry_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
WITH demand AS (
    SELECT broker_company AS company,
           count(*) / (extract(epoch FROM recent) / 3600.0) AS per_hour
    FROM phone_number_ledger
    WHERE event = 'assigned' AND occurred_at > now() - recent
    GROUP BY broker_company
), ending AS (
    -- Overdue holds count in the first hour: the next release run frees them.
    SELECT assigned_broker_company AS company,
           greatest(floor(extract(epoch FROM release_at - now()) / 3600), 0)::int AS hour,
           count(*) AS holds
    FROM signalwire_phone_numbers
    WHERE assignment_status = 'assigned'
    GROUP BY 1, 2
), forecast AS (
    SELECT h.company, h.available, h.assigned, coalesce(d.per_hour, 0) AS per_hour,
           r.next_24h,
           _hours_until_dry(h.available, coalesce(d.per_hour, 0)::float8, r.by_hour) AS hours
    FROM pool_health AS h
    LEFT JOIN demand AS d ON d.company = h.company
    CROSS JOIN LATERAL (
        SELECT array_agg(coalesce(e.holds, 0) ORDER BY s.hour) AS by_hour,
               coalesce(sum(e.holds) FILTER (WHERE s.hour < 24), 0)::bigint AS next_24h
        FROM generate_series(0, 47) AS s (hour)
        LEFT JOIN ending AS e ON e.company = h.company AND e.hour = s.hour
    ) AS r
    WHERE recent > interval '0'
)
SELECT company, available, assigned, round(per_hour, 2), next_24h, round(hours::numeric, 1),
       now() + hours * interval '1 hour'
FROM forecast
ORDER BY hours NULLS LAST, company
$$;

CREATE OR REPLACE FUNCTION grant_pool_access(role regrole, access text DEFAULT 'caller')
RETURNS SETOF text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item record;
BEGIN
    IF role IS NULL OR access IS NULL THEN
        RAISE EXCEPTION 'role and access must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF access NOT IN ('caller', 'monitor', 'operator') THEN
        RAISE EXCEPTION 'Unknown access level ''%''; valid levels are caller, monitor, operator', access
            USING ERRCODE = '22023',
                  HINT = 'caller: assign and outcomes; monitor: views; operator: everything.';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %s', role);
    RETURN NEXT 'USAGE ON SCHEMA @extschema@';
    FOR item IN SELECT * FROM @extschema@._pool_access_objects(access) LOOP
        IF item.kind = 'view' THEN
            EXECUTE format('GRANT SELECT ON %s TO %s', item.object, role);
            RETURN NEXT 'SELECT ON ' || item.object;
        ELSE
            EXECUTE format('GRANT EXECUTE ON %s %s TO %s', upper(item.kind), item.object, role);
            RETURN NEXT 'EXECUTE ON ' || item.object;
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION revoke_pool_access(role regrole)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item record;
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = '22004';
    END IF;
    FOR item IN SELECT * FROM @extschema@._pool_access_objects('operator') LOOP
        IF item.kind = 'view' THEN
            EXECUTE format('REVOKE ALL ON %s FROM %s', item.object, role);
        ELSE
            EXECUTE format('REVOKE ALL ON %s %s FROM %s', upper(item.kind), item.object, role);
        END IF;
    END LOOP;
    EXECUTE format('REVOKE ALL ON SCHEMA @extschema@ FROM %s', role);
END
$$;

-- try_assign_phone_number: assign_phone_number for callers that branch on data (n8n), with an
-- exhausted pool as a status rather than an error, and the lead's phone in E.164.
CREATE FUNCTION try_assign_phone_number(
	"company" TEXT,
	"lead" uuid,
	"customer_phone" TEXT DEFAULT NULL
) RETURNS TABLE (
	"status" TEXT,
	"vapi_phone_number_id" TEXT,
	"number" TEXT,
	"name" TEXT,
	"assigned_broker_company" TEXT,
	"assigned_at" timestamp with time zone,
	"release_at" timestamp with time zone,
	"area_code_matched" bool,
	"chosen_by" TEXT,
	"customer_phone_e164" TEXT,
	"message" TEXT,
	"detail" TEXT,
	"hint" TEXT
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'try_assign_phone_number_wrapper';

REVOKE EXECUTE ON FUNCTION try_assign_phone_number(text, uuid, text) FROM PUBLIC;
-- The settings of assign_phone_number (sql/finalize.sql): it writes its own ledger rows and
-- runs the same statements.
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET jit = off;
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET enable_seqscan = off;
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET enable_bitmapscan = off;

-- The caller level gains it (the same text as sql/access.sql). Roles granted a level before
-- get it by running grant_pool_access again: a GRANT made here would be recorded as the
-- extension's initial privilege, which pg_dump leaves out.
CREATE OR REPLACE FUNCTION _pool_access_objects(access text)
RETURNS TABLE (kind text, object text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT kind, '@extschema@.' || object
    FROM (VALUES
        ('caller',   'function',  'assign_phone_number(text, uuid, text)'),
        ('caller',   'function',  'try_assign_phone_number(text, uuid, text)'),
        ('caller',   'function',  'record_call_outcome(uuid, text, timestamp with time zone, text)'),
        ('caller',   'function',  'release_expired_phone_numbers(bigint)'),
        ('caller',   'function',  'check_pool_alerts()'),
        ('monitor',  'view',      'pool_health'),
        ('monitor',  'view',      'number_states'),
        ('monitor',  'view',      'pool_alerts'),
        ('monitor',  'function',  'pool_activity(text, timestamp with time zone, timestamp with time zone)'),
        ('monitor',  'function',  'pool_runway(interval)'),
        ('monitor',  'view',      'recent_assignments'),
        ('monitor',  'view',      'overdue_holds'),
        ('monitor',  'view',      'double_assignments'),
        ('monitor',  'view',      'number_health'),
        ('monitor',  'function',  'who_held_number(text, timestamp with time zone)'),
        ('operator', 'procedure', 'release_expired_phone_numbers_in_batches(integer, bigint)'),
        ('operator', 'function',  'force_release_phone_number(text, text)'),
        ('operator', 'function',  'import_phone_numbers(jsonb)'),
        ('operator', 'function',  'retire_phone_number(text)'),
        ('operator', 'function',  'reactivate_phone_number(text)'),
        ('operator', 'function',  'reinstate_phone_number(text)'),
        ('operator', 'function',  'move_phone_number(text, text)'),
        ('operator', 'function',  'set_company_policy(text, interval, interval, text)'),
        ('operator', 'function',  'set_pool_rules(text, integer, double precision, boolean, interval, integer, double precision, integer, interval)'),
        ('operator', 'function',  'schedule_release_job(text, text)'),
        ('operator', 'function',  'unschedule_release_job(text)')
    ) AS levels (level, kind, object)
    -- operator includes caller and monitor
    WHERE level = access OR (access = 'operator' AND level IN ('caller', 'monitor'))
$$;

-- Number health and quarantine (issue 15; the same text as sql/health.sql).

-- Each number's last outcomes since it last came back (its window), oldest first, at most its
-- company's health_min_calls of them, with when each was recorded; true: answered (any
-- outcome but no_answer). With it, the company's calls and answers over the same period (from
-- the window's first outcome on, every number of the company), as the last outcome saw them:
-- the quarantine rule compares the two (src/rules.rs, quarantine_due). Over the same period,
-- so that a company-wide fall (a bad list, a holiday) lowers both and quarantines nothing.
-- Written by record_call_outcome in the outcome's transaction
-- (sql/statements/record_health.sql); forgotten when a quarantine ends, so old calls do not
-- quarantine the number again at once, and when the number changes or is retired (below). Kept
-- here rather than counted from the ledger: a company's rate would read every ledger row of
-- its numbers on every outcome; this way it reads one row per number of the company.
CREATE TABLE number_health_windows (
    vapi_phone_number_id text PRIMARY KEY,
    company              text NOT NULL,
    answered             boolean[] NOT NULL,
    called_at            timestamptz[] NOT NULL,
    company_calls        bigint NOT NULL,
    company_answered     bigint NOT NULL
);

COMMENT ON TABLE number_health_windows IS
    'Each number''s last call outcomes (true: answered), kept by record_call_outcome; read by number_health.';

-- A company's windows, for its answer rate at each outcome.
CREATE INDEX idx_number_health_windows_company ON number_health_windows (company);

REVOKE ALL ON number_health_windows FROM PUBLIC;
ALTER TABLE number_health_windows ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('number_health_windows', '');

-- A window belongs to a number as it was called: it is forgotten when the number changes
-- (another E.164 number or company under the same id, an import or move_phone_number), when it
-- is retired (a retired number that comes back starts afresh), when its quarantine ends (the
-- calls that quarantined it must not do so again at once) and when its row is deleted.
-- Holds and releases never set these columns, so this trigger is never even queued for them.
CREATE FUNCTION _forget_number_health() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    DELETE FROM number_health_windows WHERE vapi_phone_number_id = OLD.vapi_phone_number_id;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION _forget_number_health() FROM PUBLIC;

CREATE TRIGGER signalwire_phone_numbers_forget_health
    AFTER UPDATE OF number, assigned_broker_company, status ON signalwire_phone_numbers
    FOR EACH ROW
    WHEN (OLD.number IS DISTINCT FROM NEW.number
          OR OLD.assigned_broker_company IS DISTINCT FROM NEW.assigned_broker_company
          OR (NEW.status IS DISTINCT FROM OLD.status
              AND (NEW.status = 'inactive' OR OLD.status = 'quarantined')))
    EXECUTE FUNCTION _forget_number_health();
CREATE TRIGGER signalwire_phone_numbers_forget_health_of_deleted
    AFTER DELETE ON signalwire_phone_numbers FOR EACH ROW
    EXECUTE FUNCTION _forget_number_health();

-- One row per number: its calls and answer rate over its window, its company's answer rate
-- over the same period (as of the number's last outcome), and its state: quarantined (until
-- quarantined_until), retired, probation (fewer calls than health_min_calls since it came
-- back: too few to judge) or healthy. Rates are NULL without calls. quarantine_below is the
-- company's rule (NULL: off). One index lookup per number.
CREATE VIEW number_health AS
SELECT p.assigned_broker_company AS company, p.vapi_phone_number_id, p.number,
       coalesce(cardinality(h.answered), 0) AS calls,
       round(w.answered::numeric / nullif(cardinality(h.answered), 0), 3) AS answer_rate,
       round(h.company_answered::numeric / nullif(h.company_calls, 0), 3) AS company_answer_rate,
       CASE WHEN p.status = 'quarantined' THEN 'quarantined'
            WHEN p.status = 'inactive' THEN 'retired'
            WHEN coalesce(cardinality(h.answered), 0)
                 < coalesce(cp.health_min_calls, d.health_min_calls) THEN 'probation'
            ELSE 'healthy'
       END AS state,
       p.quarantined_until,
       h.called_at[1] AS calls_since,
       coalesce(cp.health_min_calls, d.health_min_calls) AS health_min_calls,
       cp.quarantine_below
FROM signalwire_phone_numbers AS p
LEFT JOIN company_policies AS cp ON cp.company = p.assigned_broker_company
CROSS JOIN _policy_defaults AS d
LEFT JOIN number_health_windows AS h
    ON h.vapi_phone_number_id = p.vapi_phone_number_id AND h.company = p.assigned_broker_company
CROSS JOIN LATERAL (SELECT count(*) AS answered FROM unnest(h.answered) AS a WHERE a) AS w;

COMMENT ON VIEW number_health IS
    'Each number: calls and answer rate over its last health_min_calls outcomes, its company''s rate over the same period, and healthy, probation, quarantined or retired.';

REVOKE ALL ON number_health FROM PUBLIC;

-- set_pool_rules gains quarantine_below, health_min_calls and quarantine_for: a new
-- signature. The EXECUTE grants of the old one move to the new one, and its initial
-- privileges are the owner's alone (as a fresh install records them), so that pg_dump saves
-- the moved grants.
CREATE  FUNCTION "set_pool_rules"(
	"company" TEXT,
	"low_water_count" INT DEFAULT NULL,
	"low_water_share" double precision DEFAULT NULL,
	"local_presence" bool DEFAULT NULL,
	"cooldown" interval DEFAULT NULL,
	"daily_cap" INT DEFAULT NULL,
	"quarantine_below" double precision DEFAULT NULL,
	"health_min_calls" INT DEFAULT NULL,
	"quarantine_for" interval DEFAULT NULL
) RETURNS TABLE (
	"company" TEXT,
	"low_water_count" INT,
	"low_water_share" double precision,
	"local_presence" bool,
	"cooldown" interval,
	"daily_cap" INT,
	"quarantine_below" double precision,
	"health_min_calls" INT,
	"quarantine_for" interval
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'set_pool_rules_wrapper';

REVOKE ALL ON FUNCTION set_pool_rules(text, integer, double precision, boolean, interval,
                                      integer, double precision, integer, interval) FROM PUBLIC;

DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN
        SELECT acl.grantee::regrole
        FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS acl
        WHERE p.oid = '@extschema@.set_pool_rules(text, integer, double precision, boolean, interval, integer)'::pg_catalog.regprocedure
          AND acl.privilege_type = 'EXECUTE' AND acl.grantee <> p.proowner AND acl.grantee <> 0
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION @extschema@.set_pool_rules(text, integer, double precision, boolean, interval, integer, double precision, integer, interval) TO %s',
                                  grantee);
    END LOOP;
END
$$;

DROP FUNCTION set_pool_rules(text, integer, double precision, boolean, interval, integer);

UPDATE pg_catalog.pg_init_privs AS ip
SET initprivs = ARRAY[pg_catalog.makeaclitem(p.proowner, p.proowner, 'EXECUTE', false)]
FROM pg_catalog.pg_proc AS p
WHERE ip.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND ip.objoid = p.oid
  AND ip.objsubid = 0
  AND p.oid = '@extschema@.set_pool_rules(text, integer, double precision, boolean, interval, integer, double precision, integer, interval)'::pg_catalog.regprocedure;

CREATE  FUNCTION "reinstate_phone_number"(
	"vapi_phone_number_id" TEXT
) RETURNS bool
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'reinstate_phone_number_wrapper';

REVOKE ALL ON FUNCTION reinstate_phone_number(text) FROM PUBLIC;

-- Roles given access before keep what they had; what this version adds reaches them when
-- grant_pool_access runs again. Say so, naming them (a WARNING: an extension script hides
-- NOTICEs).
DO $$
DECLARE
    roles text;
BEGIN
    SELECT pg_catalog.string_agg(DISTINCT acl.grantee::regrole::text, ', ') INTO roles
    FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(n.nspacl) AS acl
    WHERE n.nspname = '@extschema@' AND acl.privilege_type = 'USAGE'
      AND acl.grantee <> n.nspowner AND acl.grantee <> 0;
    IF roles IS NOT NULL THEN
        RAISE WARNING 'pool_ext 0.4.1 adds to each access level; roles with access to pool_ext: %', roles
            USING HINT = 'Run SELECT pool_ext.grant_pool_access(role, level) again for each of them '
                         '(caller: try_assign_phone_number; monitor: number_health; operator: '
                         'reinstate_phone_number).';
    END IF;
END
$$;
