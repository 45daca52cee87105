-- pool_ext 0.1.0 -> 0.2.0, run by ALTER EXTENSION pool_ext UPDATE.
-- Released with 0.2.0: never edit this file; later changes get a script of their own.
-- scripts/upgrade-test.sh checks that an upgraded database equals a fresh 0.2.0 install.

-- The pool table ---------------------------------------------------------------------------

-- Unique numbers, checked at the end of each statement so an import may swap two numbers.
-- (Only foreign keys can be altered in place: drop and add under the same name.)
ALTER TABLE signalwire_phone_numbers
    DROP CONSTRAINT signalwire_phone_numbers_number_key,
    ADD CONSTRAINT signalwire_phone_numbers_number_key UNIQUE (number) DEFERRABLE INITIALLY IMMEDIATE;

-- A hold now needs its assigned_at. 0.1.0 always set it; a hold made by hand may lack it.
UPDATE signalwire_phone_numbers SET assigned_at = created_at
WHERE assignment_status = 'assigned' AND assigned_at IS NULL;
ALTER TABLE signalwire_phone_numbers
    DROP CONSTRAINT signalwire_phone_numbers_hold_consistent,
    ADD CONSTRAINT signalwire_phone_numbers_hold_consistent CHECK (
        (assignment_status = 'assigned'  AND currently_assigned_to IS NOT NULL AND release_at IS NOT NULL
                                         AND assigned_at IS NOT NULL)
     OR (assignment_status = 'available' AND currently_assigned_to IS NULL     AND release_at IS NULL)
    );

-- HOT-friendly layout (bench/RESULTS.md, section 5): no index on a column that a hold or a
-- release changes, and room on each page for the new row version. Existing pages get the room
-- as they are rewritten; VACUUM FULL signalwire_phone_numbers applies it at once.
DROP INDEX idx_signalwire_pool_one_hold_per_lead;
DROP INDEX idx_signalwire_pool_assignment;
CREATE INDEX idx_signalwire_pool_assignment
    ON signalwire_phone_numbers (assigned_broker_company);
ALTER TABLE signalwire_phone_numbers SET (fillfactor = 50);

-- The ledger -------------------------------------------------------------------------------

ALTER TABLE phone_number_ledger
    DROP CONSTRAINT phone_number_ledger_event_check,
    ADD CONSTRAINT phone_number_ledger_event_check CHECK (event IN ('assigned', 'outcome', 'released')),
    ALTER COLUMN occurred_at SET DEFAULT clock_timestamp();

-- Callbacks are looked up by the phone number, not by its id.
DROP INDEX idx_phone_number_ledger_number_time;
CREATE INDEX idx_phone_number_ledger_phone_time
    ON phone_number_ledger (number, occurred_at);

-- New in 0.2.0: policies, CRM registration, row level security, direct-change logging -------

-- Per-company hold rules. A NULL column means "the default", which company_policy() supplies.
CREATE TABLE company_policies (
    company     text PRIMARY KEY CHECK (btrim(company) <> ''),
    retention   interval CHECK (retention > interval '0'),    -- default 18 hours
    booked_hold interval CHECK (booked_hold > interval '0'),  -- default 24 hours
    time_zone   text,                                         -- default 'UTC'
    updated_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE company_policies IS
    'Per-company hold rules; change them with set_company_policy(). NULL means the default.';

-- The effective policy of any company, defaults included: the one place the defaults live.
-- Plain SQL without SET options so the planner inlines it into the statements that use it.
CREATE FUNCTION company_policy(company text)
RETURNS TABLE (retention interval, booked_hold interval, time_zone text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(p.retention, interval '18 hours'),
           coalesce(p.booked_hold, interval '24 hours'),
           coalesce(p.time_zone, 'UTC')
    FROM (SELECT) AS one
    LEFT JOIN @extschema@.company_policies AS p ON p.company OPERATOR(pg_catalog.=) $1
$$;

-- The first instant of the day after `instant`'s local day in `time_zone`. Postgres' time-zone
-- database makes this right on days of 23 or 25 hours.
CREATE FUNCTION local_day_end(instant timestamptz, time_zone text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (pg_catalog.date_trunc('day', $1 AT TIME ZONE $2) OPERATOR(pg_catalog.+) interval '1 day')
           AT TIME ZONE $2
$$;

-- The operator's CRM tables, when registered with register_crm_tables(): at most one row.
CREATE TABLE crm_tables (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    leads         regclass NOT NULL,
    interactions  regclass NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE crm_tables IS
    'CRM tables that assign_phone_number also updates; set with register_crm_tables().';

REVOKE ALL ON company_policies, crm_tables FROM PUBLIC;

-- Row level security with no policies: a role that is granted a table by mistake (say, a
-- blanket GRANT to Supabase's anon) still sees no rows and can add or change none. The owner,
-- and so the SECURITY DEFINER API and the monitoring views, are not affected.
ALTER TABLE signalwire_phone_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE phone_number_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE company_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_tables ENABLE ROW LEVEL SECURITY;

-- Extension tables are skipped by pg_dump unless marked as configuration.
SELECT pg_catalog.pg_extension_config_dump('company_policies', '');
SELECT pg_catalog.pg_extension_config_dump('crm_tables', '');

-- Changes made with plain SQL instead of the API (the original guide's force release, a
-- hand-made hold, a DELETE of a held number) still reach the ledger, so its history stays
-- whole. There is deliberately no INSERT trigger: pg_restore loads held rows with COPY, and
-- a trigger would log them a second time (and collide with the restored ledger's ids). The API writes
-- its own, more precise ledger rows and marks its calls with pool_ext.in_api (set on its
-- functions), so these triggers skip them without running.
CREATE FUNCTION signalwire_phone_numbers_log_direct_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.currently_assigned_to IS NOT NULL THEN
        INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
        VALUES ('released', OLD.vapi_phone_number_id, OLD.number, OLD.assigned_broker_company,
                OLD.currently_assigned_to, 'direct ' || lower(TG_OP));
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.currently_assigned_to IS NOT NULL THEN
        INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason)
        VALUES ('assigned', NEW.vapi_phone_number_id, NEW.number, NEW.assigned_broker_company,
                NEW.currently_assigned_to, NEW.release_at, 'direct ' || lower(TG_OP));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER signalwire_phone_numbers_direct_update
    AFTER UPDATE ON signalwire_phone_numbers FOR EACH ROW
    WHEN (OLD.currently_assigned_to IS DISTINCT FROM NEW.currently_assigned_to
          AND current_setting('pool_ext.in_api', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION signalwire_phone_numbers_log_direct_change();
CREATE TRIGGER signalwire_phone_numbers_direct_delete
    AFTER DELETE ON signalwire_phone_numbers FOR EACH ROW
    WHEN (OLD.currently_assigned_to IS NOT NULL
          AND current_setting('pool_ext.in_api', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION signalwire_phone_numbers_log_direct_change();

-- Monitoring (sql/monitoring.sql) ---------------------------------------------------------

-- Monitoring: views and a lookup for DBAs, dashboards and the on-call person.
-- Views run with their owner's rights: grant SELECT on them to monitoring roles, not on the tables.

-- "Why is this pool empty?": one row per company. available + assigned + inactive = total.
CREATE VIEW pool_health AS
SELECT assigned_broker_company AS company,
       count(*) FILTER (WHERE status = 'active' AND assignment_status = 'available') AS available,
       count(*) FILTER (WHERE assignment_status = 'assigned') AS assigned,
       count(*) FILTER (WHERE status = 'inactive' AND assignment_status = 'available') AS inactive,
       count(*) AS total,
       round(100.0 * count(*) FILTER (WHERE assignment_status = 'assigned')
             / nullif(count(*) FILTER (WHERE status = 'active' OR assignment_status = 'assigned'), 0),
             1) AS utilization_pct,
       count(*) FILTER (WHERE assignment_status = 'assigned' AND release_at <= now()) AS overdue
FROM signalwire_phone_numbers
GROUP BY assigned_broker_company;

COMMENT ON VIEW pool_health IS
    'Per company: available (active, free), assigned, inactive (retired, free), total, utilization of usable numbers, holds overdue for release.';

-- Assignments of the last 24 hours, newest first, with the hold's current state.
CREATE VIEW recent_assignments AS
SELECT l.occurred_at AS assigned_at,
       l.broker_company AS company,
       l.vapi_phone_number_id,
       l.number,
       l.lead_id,
       l.release_at AS scheduled_release_at,
       (p.currently_assigned_to IS NOT DISTINCT FROM l.lead_id) AS still_held,
       l.actor
FROM phone_number_ledger AS l
LEFT JOIN signalwire_phone_numbers AS p USING (vapi_phone_number_id)
WHERE l.event = 'assigned' AND l.occurred_at > now() - interval '24 hours'
ORDER BY l.id DESC;

-- Holds whose time is up but that no release has freed yet (is the pg_cron job running?).
CREATE VIEW overdue_holds AS
SELECT vapi_phone_number_id, number, assigned_broker_company AS company,
       currently_assigned_to AS lead_id, assigned_at, release_at,
       now() - release_at AS overdue_by
FROM signalwire_phone_numbers
WHERE assignment_status = 'assigned' AND release_at <= now()
ORDER BY release_at;

-- Must always be empty. Two checks: a lead holding several numbers of one company now, and
-- a number the ledger shows assigned twice without a release in between (ever).
CREATE VIEW double_assignments AS
SELECT 'lead holds several numbers of one company'::text AS problem,
       assigned_broker_company AS company,
       currently_assigned_to AS lead_id,
       string_agg(vapi_phone_number_id, ', ' ORDER BY vapi_phone_number_id) AS vapi_phone_number_ids
FROM signalwire_phone_numbers
WHERE currently_assigned_to IS NOT NULL
GROUP BY assigned_broker_company, currently_assigned_to
HAVING count(*) > 1
UNION ALL
SELECT 'number assigned again before it was released', broker_company, lead_id, vapi_phone_number_id
FROM (SELECT broker_company, lead_id, vapi_phone_number_id, event,
             lag(event) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS previous_event
      FROM phone_number_ledger
      WHERE event IN ('assigned', 'released')) AS history
WHERE event = 'assigned' AND previous_event = 'assigned';

-- Who held phone number `phone` at `at_time`: the latest assignment at or before that time,
-- whether or not it had ended by then, so an inbound callback to a released number still
-- reaches the lead and broker it last called for. held_at_time says whether the hold was live.
CREATE FUNCTION who_held_number(phone text, at_time timestamptz DEFAULT now())
RETURNS TABLE (lead_id uuid, company text, vapi_phone_number_id text,
               assigned_at timestamptz, released_at timestamptz, held_at_time boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT a.lead_id, a.broker_company, a.vapi_phone_number_id, a.occurred_at, r.occurred_at,
           r.occurred_at IS NULL OR r.occurred_at > at_time
    FROM phone_number_ledger AS a
    LEFT JOIN LATERAL (
        SELECT occurred_at FROM phone_number_ledger AS r
        WHERE r.number = a.number AND r.occurred_at >= a.occurred_at
          AND r.event = 'released' AND r.id > a.id
        ORDER BY r.id LIMIT 1
    ) AS r ON true
    WHERE a.number = phone AND a.event = 'assigned' AND a.occurred_at <= at_time
    ORDER BY a.occurred_at DESC, a.id DESC
    LIMIT 1
$$;

REVOKE ALL ON pool_health, recent_assignments, overdue_holds, double_assignments FROM PUBLIC;

-- Access levels (sql/access.sql) ----------------------------------------------------------

-- Who may call what. EXECUTE on every routine is revoked from PUBLIC (see lib.rs, finalize);
-- grant_pool_access hands a role one of three documented sets, so nobody has to list
-- signatures by hand. It runs with the caller's rights: only a role that may grant on the
-- extension's objects (its owner, a superuser) can use it.

-- The routines (or views) of each access level, as regprocedure / regclass text.
CREATE FUNCTION pool_access_objects(access text)
RETURNS TABLE (kind text, object text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT kind, '@extschema@.' || object
    FROM (VALUES
        ('caller',   'function',  'assign_phone_number(text, uuid, text)'),
        ('caller',   'function',  'record_call_outcome(uuid, text, timestamp with time zone, text)'),
        ('caller',   'function',  'release_expired_phone_numbers(bigint)'),
        ('monitor',  'view',      'pool_health'),
        ('monitor',  'view',      'recent_assignments'),
        ('monitor',  'view',      'overdue_holds'),
        ('monitor',  'view',      'double_assignments'),
        ('monitor',  'function',  'who_held_number(text, timestamp with time zone)'),
        ('operator', 'procedure', 'release_expired_phone_numbers_in_batches(integer, bigint)'),
        ('operator', 'function',  'force_release_phone_number(text, text)'),
        ('operator', 'function',  'import_phone_numbers(jsonb)'),
        ('operator', 'function',  'retire_phone_number(text)'),
        ('operator', 'function',  'reactivate_phone_number(text)'),
        ('operator', 'function',  'move_phone_number(text, text)'),
        ('operator', 'function',  'set_company_policy(text, interval, interval, text)'),
        ('operator', 'function',  'schedule_release_job(text, text)'),
        ('operator', 'function',  'unschedule_release_job(text)')
    ) AS levels (level, kind, object)
    -- operator includes caller and monitor
    WHERE level = access OR (access = 'operator' AND level IN ('caller', 'monitor'))
$$;

-- Give `role` the API of one access level:
--   caller   assign, record outcomes, release expired holds (n8n, PostgREST's authenticated role)
--   monitor  the monitoring views and who_held_number (dashboards, on-call)
--   operator both, plus importing, retiring, moving and force-releasing numbers and policies
-- Always with USAGE on the schema and never a privilege on the tables. Returns what it granted.
CREATE FUNCTION grant_pool_access(role regrole, access text DEFAULT 'caller')
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
    FOR item IN SELECT * FROM @extschema@.pool_access_objects(access) LOOP
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

-- Take back everything grant_pool_access can give (any level), and the schema's USAGE.
CREATE FUNCTION revoke_pool_access(role regrole)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item record;
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = '22004';
    END IF;
    FOR item IN SELECT * FROM @extschema@.pool_access_objects('operator') LOOP
        IF item.kind = 'view' THEN
            EXECUTE format('REVOKE ALL ON %s FROM %s', item.object, role);
        ELSE
            EXECUTE format('REVOKE ALL ON %s %s FROM %s', upper(item.kind), item.object, role);
        END IF;
    END LOOP;
    EXECUTE format('REVOKE ALL ON SCHEMA @extschema@ FROM %s', role);
END
$$;

-- Scheduling with pg_cron (sql/scheduling.sql) --------------------------------------------

-- Scheduling the hourly release with pg_cron, when this database has it; a clear word on what
-- to do when it has not. Runs with the caller's rights: the job belongs to whoever schedules it.

CREATE FUNCTION schedule_release_job(
    schedule text DEFAULT '0 * * * *',
    job_name text DEFAULT 'pool_ext-release-expired'
) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job bigint;
BEGIN
    IF schedule IS NULL OR job_name IS NULL THEN
        RAISE EXCEPTION 'schedule and job_name must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
            USING ERRCODE = '55000',
                  DETAIL = 'Nothing was scheduled.',
                  HINT = format('Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' '
                                'and cron.database_name = %L, restart, run CREATE EXTENSION pg_cron, and call this again. '
                                'Without pg_cron, run SELECT @extschema@.release_expired_phone_numbers() hourly from '
                                'elsewhere, e.g. the n8n workflow examples/n8n/hourly-release.json.',
                                current_database());
    END IF;
    -- cron.schedule with a job name replaces an existing job of that name.
    EXECUTE 'SELECT cron.schedule($1, $2, $3)'
        INTO job
        USING job_name, schedule, 'SELECT @extschema@.release_expired_phone_numbers()';
    RETURN job;
END
$$;

COMMENT ON FUNCTION schedule_release_job(text, text) IS
    'Schedule release_expired_phone_numbers() with pg_cron (hourly by default); returns the cron job id.';

CREATE FUNCTION unschedule_release_job(job_name text DEFAULT 'pool_ext-release-expired')
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    removed boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1)' INTO removed USING job_name;
    IF removed THEN
        EXECUTE 'SELECT cron.unschedule($1)' USING job_name;
    END IF;
    RETURN removed;
END
$$;

-- The functions in Rust (pool_ext.so) ------------------------------------------------------

-- assign_phone_number gains customer_phone (a new signature): the new function is created
-- next to the old one, gets every EXECUTE grant the old one had (an n8n role keeps working),
-- and then the old one goes.
CREATE  FUNCTION "assign_phone_number"(
	"company" TEXT,
	"lead" uuid,
	"customer_phone" TEXT DEFAULT NULL
) RETURNS TABLE (
	"vapi_phone_number_id" TEXT,
	"number" TEXT,
	"name" TEXT,
	"assigned_broker_company" TEXT,
	"assigned_at" timestamp with time zone,
	"release_at" timestamp with time zone
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'assign_phone_number_wrapper';

DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN
        SELECT acl.grantee::regrole
        FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS acl
        WHERE p.oid = '@extschema@.assign_phone_number(text, uuid)'::pg_catalog.regprocedure
          AND acl.privilege_type = 'EXECUTE' AND acl.grantee <> p.proowner AND acl.grantee <> 0
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION @extschema@.assign_phone_number(text, uuid, text) TO %s',
                                  grantee);
    END LOOP;
END
$$;

DROP FUNCTION assign_phone_number(text, uuid);

CREATE  FUNCTION "force_release_phone_number"(
	"vapi_phone_number_id" TEXT,
	"reason" TEXT DEFAULT 'manual'
) RETURNS bool
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'force_release_phone_number_wrapper';

CREATE  FUNCTION "import_phone_numbers_text"(
	"numbers" TEXT
) RETURNS TABLE (
	"inserted" bigint,
	"updated" bigint,
	"unchanged" bigint
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'import_phone_numbers_text_wrapper';

CREATE FUNCTION import_phone_numbers(numbers jsonb)
RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT * FROM @extschema@.import_phone_numbers_text(numbers::text)
$$;
COMMENT ON FUNCTION import_phone_numbers(jsonb) IS
    'Import the numbers document: a JSON array of {vapi_phone_number_id, number, name, broker_company, notes?}. All or nothing; returns inserted, updated, unchanged.';

CREATE  FUNCTION "move_phone_number"(
	"vapi_phone_number_id" TEXT,
	"company" TEXT
) RETURNS bool
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'move_phone_number_wrapper';

CREATE  FUNCTION "reactivate_phone_number"(
	"vapi_phone_number_id" TEXT
) RETURNS bool
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'reactivate_phone_number_wrapper';

CREATE  FUNCTION "record_call_outcome"(
	"lead" uuid,
	"outcome" TEXT,
	"appointment_at" timestamp with time zone DEFAULT NULL,
	"company" TEXT DEFAULT NULL
) RETURNS TABLE (
	"vapi_phone_number_id" TEXT,
	"number" TEXT,
	"assigned_broker_company" TEXT,
	"assignment_status" TEXT,
	"last_call_outcome" TEXT,
	"release_at" timestamp with time zone
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'record_call_outcome_wrapper';

CREATE  FUNCTION "register_crm_tables"(
	"leads" regclass,
	"interactions" regclass
) RETURNS TEXT
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'register_crm_tables_wrapper';

CREATE  FUNCTION "retire_phone_number"(
	"vapi_phone_number_id" TEXT
) RETURNS bool
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'retire_phone_number_wrapper';

CREATE  FUNCTION "set_company_policy"(
	"company" TEXT,
	"retention" interval DEFAULT NULL,
	"booked_hold" interval DEFAULT NULL,
	"time_zone" TEXT DEFAULT NULL
) RETURNS TABLE (
	"company" TEXT,
	"retention" interval,
	"booked_hold" interval,
	"time_zone" TEXT
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'set_company_policy_wrapper';

CREATE  FUNCTION "unregister_crm_tables"() RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'unregister_crm_tables_wrapper';

-- Callers get EXECUTE only when an operator grants it (see README: "Roles and grants").
REVOKE ALL ON ALL ROUTINES IN SCHEMA @extschema@ FROM PUBLIC;

-- These write their own ledger rows; the marker tells the direct-change triggers to stay out.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION release_expired_phone_numbers(bigint) SET pool_ext.in_api = 'on';
ALTER FUNCTION force_release_phone_number(text, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION record_call_outcome(uuid, text, timestamptz, text) SET pool_ext.in_api = 'on';
