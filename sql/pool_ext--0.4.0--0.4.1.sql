-- pool_ext 0.4.0 -> 0.4.1, run by ALTER EXTENSION pool_ext UPDATE: cheaper holds and releases,
-- an exhausted pool's error that no longer counts the day's ledger rows of every number,
-- internal helpers named with a leading underscore, try_assign_phone_number (n8n: an exhausted
-- pool as a status, the lead's phone in E.164), number health with quarantine, and the
-- overflow pool.
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
-- The overflow pool (issue 15): a company may borrow from another's pool when its own is dry;
-- the hold and its ledger rows name the lead's company when it is not the owner
-- (sql/schema.sql).
ALTER TABLE signalwire_phone_numbers ADD COLUMN lead_company text;
ALTER TABLE company_policies
    ADD COLUMN overflow_company text CHECK (btrim(overflow_company) <> '' AND overflow_company <> company);
ALTER TABLE phone_number_ledger ADD COLUMN lead_company text;
-- One hold per lead and lead's company, an overflow hold included.
DROP INDEX idx_signalwire_pool_lead_hold;
CREATE UNIQUE INDEX idx_signalwire_pool_lead_hold
    ON signalwire_phone_numbers (currently_assigned_to, coalesce(lead_company, assigned_broker_company))
    WHERE currently_assigned_to IS NOT NULL;

-- The ledger, partitioned by month (issue 16; sql/schema.sql and sql/ledger.sql say why and
-- how). A table cannot become partitioned in place: the 0.4.0 ledger is renamed, a partitioned
-- one takes its name, sequence and grants, and its rows are copied over, ids and all, into one
-- partition per month; indexes are built after the copy, which is faster than keeping them
-- up to date row by row (docs/install.md gives the time for 10,000,000 rows). The months are
-- not members of the extension, as those maintain_ledger() makes are not: pg_dump dumps them
-- whole. The views that read the old table are created anew below; it is dropped at the end.
-- The quarantine's ledger event is in the new table's constraint.
ALTER FUNCTION phone_number_ledger_is_append_only() RENAME TO _ledger_is_append_only;
ALTER EXTENSION pool_ext DROP TABLE phone_number_ledger;
ALTER TABLE phone_number_ledger RENAME TO _phone_number_ledger_0_4_0;
CREATE TABLE phone_number_ledger (
    id                   bigint NOT NULL DEFAULT nextval('phone_number_ledger_id_seq'::regclass),
    event                text NOT NULL CONSTRAINT phone_number_ledger_event_check
                             CHECK (event IN ('assigned', 'outcome', 'released', 'renewed', 'quarantined')),
    vapi_phone_number_id text NOT NULL,
    number               text NOT NULL,
    broker_company       text NOT NULL,
    lead_id              uuid NOT NULL,
    occurred_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    release_at           timestamptz,
    reason               text NOT NULL,
    actor                text NOT NULL DEFAULT session_user,
    lead_company         text
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE phone_number_ledger_id_seq OWNED BY phone_number_ledger.id;
COMMENT ON TABLE phone_number_ledger IS
    'Append-only history of every assignment and release, partitioned by month; answers who held which number when.';
CREATE TRIGGER phone_number_ledger_no_update_delete
    BEFORE UPDATE OR DELETE ON phone_number_ledger
    FOR EACH ROW EXECUTE FUNCTION _ledger_is_append_only();
CREATE TRIGGER phone_number_ledger_no_truncate
    BEFORE TRUNCATE ON phone_number_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION _ledger_is_append_only();
ALTER TABLE phone_number_ledger ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON phone_number_ledger FROM PUBLIC;
-- Grants on the table itself (none unless an operator gave some) go with it: granted again
-- (so that the roles' dependencies are recorded), and the table's initial privileges then set
-- back to the owner's alone, as a fresh install records them, so that pg_dump saves the grants.
DO $$
DECLARE
    item record;
    owner_only aclitem[] := (SELECT ip.initprivs FROM pg_catalog.pg_init_privs AS ip
                             WHERE ip.classoid = 'pg_catalog.pg_class'::regclass AND ip.objsubid = 0
                               AND ip.objoid = '@extschema@.phone_number_ledger'::regclass);
BEGIN
    FOR item IN
        SELECT acl.grantee::regrole AS grantee, acl.privilege_type, acl.is_grantable
        FROM pg_catalog.pg_class AS c, pg_catalog.aclexplode(c.relacl) AS acl
        WHERE c.oid = '@extschema@._phone_number_ledger_0_4_0'::regclass
          AND acl.grantee <> c.relowner AND acl.grantee <> 0
    LOOP
        EXECUTE format('GRANT %s ON @extschema@.phone_number_ledger TO %s%s', item.privilege_type,
                       item.grantee, CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    -- What the REVOKE above recorded: the owner's privileges alone.
    UPDATE pg_catalog.pg_init_privs AS ip SET initprivs = owner_only
    WHERE ip.classoid = 'pg_catalog.pg_class'::regclass AND ip.objsubid = 0
      AND ip.objoid = '@extschema@.phone_number_ledger'::regclass;
END
$$;
SELECT pg_catalog.pg_extension_config_dump('phone_number_ledger', '');

-- The indexes, TRUNCATE guard and privileges of one partition of the ledger. Few indexes:
-- every assignment and release writes a ledger row, and each index is paid for on every one
-- of them (see bench/RESULTS.md).
CREATE FUNCTION _index_ledger_partition(partition regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    name text := (SELECT relname FROM pg_class WHERE oid = partition);
BEGIN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (id)', partition, name || '_pkey');
    -- A lead's history, newest first (the returning lead's previous number).
    EXECUTE format('CREATE INDEX %I ON %s (lead_id, occurred_at)', name || '_lead', partition);
    -- "Who held +1... at time T": inbound callbacks are looked up by the phone number; and
    -- the daily cap counts a number's assignments since the day began.
    EXECUTE format('CREATE INDEX %I ON %s (number, occurred_at)', name || '_number_time', partition);
    -- Time windows (pool_activity, pool_runway): rows arrive in time order, so a BRIN index
    -- of a few pages finds them at almost no cost per insert.
    EXECUTE format('CREATE INDEX %I ON %s USING brin (occurred_at)', name || '_time', partition);
    EXECUTE format('CREATE TRIGGER phone_number_ledger_no_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._ledger_is_append_only()', partition);
    -- Read through the parent only: nobody but the owner reads or writes a partition itself.
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', partition);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', partition);
END
$$;

CREATE TABLE phone_number_ledger_default PARTITION OF phone_number_ledger DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('phone_number_ledger_default', '');

-- One partition per month of the old rows and for this month and the next two; the rows;
-- then each partition's indexes. Months of UTC: the arithmetic is on UTC timestamps without a
-- time zone, so the session's time zone plays no part (a month added in New York's would end
-- a partition hours away from the next one's start).
DO $$
DECLARE
    month_utc timestamp;   -- the month's first moment, UTC
    name text;
BEGIN
    FOR month_utc IN
        SELECT DISTINCT date_trunc('month', l.occurred_at AT TIME ZONE 'UTC')
        FROM @extschema@._phone_number_ledger_0_4_0 AS l
        UNION
        SELECT date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => ahead)
        FROM generate_series(0, 2) AS ahead
    LOOP
        name := 'phone_number_ledger_' || to_char(month_utc, 'YYYY_MM');
        -- Made and attached as maintain_ledger() does (LIKE, then ATTACH), so that the
        -- partition's constraints are its own and pg_dump writes them with it.
        EXECUTE format('CREATE TABLE @extschema@.%I (LIKE @extschema@.phone_number_ledger '
                       'INCLUDING CONSTRAINTS)', name);
        EXECUTE format('ALTER TABLE @extschema@.phone_number_ledger ATTACH PARTITION @extschema@.%I '
                       'FOR VALUES FROM (%L) TO (%L)', name, month_utc AT TIME ZONE 'UTC',
                       (month_utc + interval '1 month') AT TIME ZONE 'UTC');
        EXECUTE format('ALTER EXTENSION pool_ext DROP TABLE @extschema@.%I', name);
    END LOOP;
END
$$;
INSERT INTO phone_number_ledger
    (id, event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, release_at,
     reason, actor, lead_company)
SELECT id, event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, release_at,
       reason, actor, lead_company
FROM _phone_number_ledger_0_4_0;
SELECT _index_ledger_partition(i.inhrelid::regclass)
FROM pg_inherits AS i WHERE i.inhparent = 'phone_number_ledger'::regclass;
ANALYZE phone_number_ledger;

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

-- The low-water mark of a pool of `active` numbers, its one definition: an alert is raised
-- when an assignment leaves this many assignable numbers or fewer. The company's count when it
-- set one, else its share of the pool rounded up, in numeric so that 0.2 of 15 is 3; with
-- neither, 0 (only an empty pool alerts). Read by every assignment
-- (sql/statements/lookup_standing.sql, count_pool_size.sql) and by the view pool_alerts,
-- whose readers need EXECUTE on it: it is granted to PUBLIC (sql/finalize.sql), being
-- arithmetic on its arguments and nothing else. Operators qualified: a caller's search_path
-- must not pick up its own.
CREATE FUNCTION _low_water_mark(low_water_count integer, low_water_share numeric, active bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE($1::bigint, pg_catalog.ceil($2 OPERATOR(pg_catalog.*) $3::numeric)::bigint, 0)
$$;

REVOKE ALL ON FUNCTION _low_water_mark(integer, numeric, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _low_water_mark(integer, numeric, bigint) TO PUBLIC;

-- A number's state, its one definition: assigned, inactive (retired), quarantined, resting
-- (released after rest_cutoff, the moment its cooldown reaches back to), at_cap (its
-- assignments since the start of its company's day reached daily_cap) or available. A NULL
-- rest_cutoff or daily_cap never applies. The view number_states shows it for every number;
-- every claim (sql/statements/claim_number.sql) takes only numbers it calls 'available',
-- after walking an index of free, active numbers. Plain SQL, never STRICT, so that the
-- planner inlines it into both (a function call would hide the conditions from the plan);
-- granted to PUBLIC like _low_water_mark (the view calls it with its reader's rights).
CREATE FUNCTION _number_state(assignment_status text, status text, released_at timestamptz,
                              rest_cutoff timestamptz, assignments_today bigint,
                              daily_cap integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN $1 OPERATOR(pg_catalog.=) 'assigned' THEN 'assigned'
                WHEN $2 OPERATOR(pg_catalog.=) 'inactive' THEN 'inactive'
                WHEN $2 OPERATOR(pg_catalog.=) 'quarantined' THEN 'quarantined'
                WHEN $3 OPERATOR(pg_catalog.>) $4 THEN 'resting'
                WHEN $5 OPERATOR(pg_catalog.>=) $6 THEN 'at_cap'
                ELSE 'available'
           END
$$;

REVOKE ALL ON FUNCTION _number_state(text, text, timestamptz, timestamptz, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _number_state(text, text, timestamptz, timestamptz, bigint, integer)
    TO PUBLIC;

-- company_policy gains overflow_company and the health rules (the columns added above), and its
-- low_water_share is numeric (for _low_water_mark): its result changes, so it is dropped and
-- created. Statements
-- name it in their text, nothing depends on it by oid, and no access level includes it (only
-- the owner calls it).
DROP FUNCTION company_policy(text);
CREATE FUNCTION company_policy(company text)
RETURNS TABLE (retention interval, booked_hold interval, time_zone text,
               low_water_count integer, low_water_share numeric,
               local_presence boolean, cooldown interval, daily_cap integer,
               overflow_company text, quarantine_below numeric, health_min_calls integer,
               quarantine_for interval)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(p.retention, d.retention),
           coalesce(p.booked_hold, d.booked_hold),
           coalesce(p.time_zone, d.time_zone),
           p.low_water_count,
           CASE WHEN p.low_water_count IS NULL
                THEN coalesce(p.low_water_share, d.low_water_share) END,
           coalesce(p.local_presence, d.local_presence),
           coalesce(p.cooldown, d.cooldown),
           p.daily_cap,
           p.overflow_company,
           p.quarantine_below,
           coalesce(p.health_min_calls, d.health_min_calls),
           coalesce(p.quarantine_for, d.quarantine_for)
    FROM @extschema@._policy_defaults AS d
    LEFT JOIN @extschema@.company_policies AS p ON p.company OPERATOR(pg_catalog.=) $1
$$;
REVOKE ALL ON FUNCTION company_policy(text) FROM PUBLIC;

-- The day's assignments of each number are counted only where they matter (see
-- sql/monitoring.sql): an exhausted pool's error reads pool_health. The defaults come from
-- _policy_defaults; the state from _number_state, which the claims read too.
CREATE OR REPLACE VIEW number_states AS
SELECT p.assigned_broker_company AS company, p.vapi_phone_number_id, p.number,
       _number_state(p.assignment_status, p.status, p.released_at, rules.rest_cutoff,
                     capped.assignments, rules.daily_cap) AS state,
       p.currently_assigned_to AS lead_id,
       p.release_at,
       CASE WHEN p.released_at > rules.rest_cutoff THEN p.released_at + rules.cooldown END
           AS resting_until,
       CASE WHEN rules.daily_cap IS NOT NULL THEN capped.assignments
            ELSE (SELECT count(*) FROM phone_number_ledger AS l
                  WHERE l.number = p.number AND l.broker_company = p.assigned_broker_company
                    AND l.event = 'assigned' AND l.occurred_at >= rules.day_start)
       END AS assignments_today,
       rules.daily_cap,
       p.quarantined_until,
       -- an overflow hold: the lead's company, which borrowed this number (NULL: the owner's)
       p.lead_company
FROM signalwire_phone_numbers AS p
LEFT JOIN company_policies AS cp ON cp.company = p.assigned_broker_company
CROSS JOIN _policy_defaults AS d
CROSS JOIN LATERAL (
    SELECT coalesce(cp.cooldown, d.cooldown) AS cooldown,
           now() - coalesce(cp.cooldown, d.cooldown) AS rest_cutoff,
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

-- pool_health and pool_alerts count quarantined numbers apart, and pool_health the numbers
-- lent to other companies' leads (the same text as sql/monitoring.sql and sql/analytics.sql).
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
       count(*) FILTER (WHERE state = 'quarantined') AS quarantined,
       count(*) FILTER (WHERE state = 'assigned' AND lead_company IS NOT NULL) AS lent
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
    SELECT _low_water_mark(cp.low_water_count, coalesce(cp.low_water_share, d.low_water_share),
                           size.active)
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
ALTER FUNCTION signalwire_phone_numbers_log_direct_change() RENAME TO _log_direct_change;
ALTER FUNCTION local_day_end(timestamptz, text) RENAME TO _local_day_end;
ALTER FUNCTION raise_pool_alert(text, bigint, bigint, bigint) RENAME TO _raise_pool_alert;
ALTER FUNCTION rearm_pool_alert(text) RENAME TO _rearm_pool_alert;

ALTER FUNCTION hours_until_dry(bigint, double precision, bigint[]) RENAME TO _hours_until_dry;
ALTER FUNCTION pool_access_objects(text) RENAME TO _pool_access_objects;
ALTER FUNCTION import_phone_numbers_text(text) RENAME TO _import_phone_numbers_text;

-- The advisory locks' first keys have one home (src/rules.rs, LockSpace); SQL asks for them by
-- name. The low-water alert's functions get their new text (the same as sql/analytics.sql);
-- the key is the same as before.
CREATE FUNCTION _lock_space("purpose" TEXT) RETURNS INT
IMMUTABLE STRICT PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'lock_space_wrapper';
REVOKE EXECUTE ON FUNCTION _lock_space(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION _raise_pool_alert(company text, available bigint, numbers bigint, mark bigint)
RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    WITH locked AS (
        SELECT pg_try_advisory_xact_lock(_lock_space('low_water_alert'), hashtext($1)) AS got
    ), raised AS (
        INSERT INTO pool_alert_state (company)
        SELECT $1 FROM locked WHERE locked.got
        ON CONFLICT (company) DO NOTHING
        RETURNING company
    )
    SELECT count(pg_notify('pool_ext_low_water',
                           jsonb_build_object('company', $1, 'available', greatest($2, 0),
                                              'total', $3, 'low_water_mark', $4)::text)) > 0
    FROM raised
$$;

CREATE OR REPLACE FUNCTION _rearm_pool_alert(company text) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    DELETE FROM pool_alert_state
    WHERE pool_alert_state.company = $1
      AND pg_try_advisory_xact_lock(_lock_space('low_water_alert'), hashtext($1))
$$;

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
	"from_overflow" bool,
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
        ('monitor',  'view',      'ledger_partitions'),
        ('operator', 'procedure', 'release_expired_phone_numbers_in_batches(integer, bigint)'),
        ('operator', 'function',  'force_release_phone_number(text, text)'),
        ('operator', 'function',  'import_phone_numbers(jsonb)'),
        ('operator', 'function',  'retire_phone_number(text)'),
        ('operator', 'function',  'reactivate_phone_number(text)'),
        ('operator', 'function',  'reinstate_phone_number(text)'),
        ('operator', 'function',  'move_phone_number(text, text)'),
        ('operator', 'function',  'set_company_policy(text, interval, interval, text)'),
        ('operator', 'function',  'set_pool_rules(text, integer, double precision, boolean, interval, integer, double precision, integer, interval, text)'),
        ('operator', 'function',  'schedule_release_job(text, text)'),
        ('operator', 'function',  'unschedule_release_job(text)'),
        ('operator', 'function',  'maintain_ledger()'),
        ('operator', 'function',  'set_ledger_retention(integer, text)'),
        ('operator', 'function',  'schedule_ledger_maintenance(text, text)'),
        ('operator', 'function',  'unschedule_ledger_maintenance(text)')
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

-- Routines whose result or arguments change are created anew: _carry_grants gives the new one
-- the EXECUTE grants of the old one (with their grant option), and makes its initial
-- privileges the owner's alone, as a fresh install records them, so that pg_dump saves the
-- carried grants. It exists only while this script runs.
CREATE FUNCTION _carry_grants(old regprocedure, new regprocedure) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    grantee regrole;
    grantable boolean;
BEGIN
    FOR grantee, grantable IN
        SELECT acl.grantee::regrole, acl.is_grantable
        FROM pg_proc AS p, aclexplode(p.proacl) AS acl
        WHERE p.oid = old AND acl.privilege_type = 'EXECUTE'
          AND acl.grantee <> p.proowner AND acl.grantee <> 0
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s%s', new::oid::regprocedure, grantee,
                       CASE WHEN grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    UPDATE pg_init_privs AS ip
    SET initprivs = ARRAY[makeaclitem(p.proowner, p.proowner, 'EXECUTE', false)]
    FROM pg_proc AS p
    WHERE ip.classoid = 'pg_proc'::regclass AND ip.objoid = p.oid AND ip.objsubid = 0
      AND p.oid = new;
END
$$;

-- set_pool_rules gains quarantine_below, health_min_calls, quarantine_for and
-- overflow_company: a new signature, which takes the old one's grants (_carry_grants).
CREATE  FUNCTION "set_pool_rules"(
	"company" TEXT,
	"low_water_count" INT DEFAULT NULL,
	"low_water_share" double precision DEFAULT NULL,
	"local_presence" bool DEFAULT NULL,
	"cooldown" interval DEFAULT NULL,
	"daily_cap" INT DEFAULT NULL,
	"quarantine_below" double precision DEFAULT NULL,
	"health_min_calls" INT DEFAULT NULL,
	"quarantine_for" interval DEFAULT NULL,
	"overflow_company" TEXT DEFAULT NULL
) RETURNS TABLE (
	"company" TEXT,
	"low_water_count" INT,
	"low_water_share" double precision,
	"local_presence" bool,
	"cooldown" interval,
	"daily_cap" INT,
	"quarantine_below" double precision,
	"health_min_calls" INT,
	"quarantine_for" interval,
	"overflow_company" TEXT
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'set_pool_rules_wrapper';

REVOKE ALL ON FUNCTION set_pool_rules(text, integer, double precision, boolean, interval,
                                      integer, double precision, integer, interval, text) FROM PUBLIC;

SELECT _carry_grants('set_pool_rules(text, integer, double precision, boolean, interval, integer)',
                     'set_pool_rules(text, integer, double precision, boolean, interval, integer, double precision, integer, interval, text)');
DROP FUNCTION set_pool_rules(text, integer, double precision, boolean, interval, integer);

CREATE  FUNCTION "reinstate_phone_number"(
	"vapi_phone_number_id" TEXT
) RETURNS bool
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'reinstate_phone_number_wrapper';

REVOKE ALL ON FUNCTION reinstate_phone_number(text) FROM PUBLIC;

-- The overflow pool (issue 15), continued: what names a hold's company now names the lead's
-- (the same text as sql/schema.sql and sql/monitoring.sql).
CREATE OR REPLACE FUNCTION _log_direct_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.currently_assigned_to IS NOT NULL THEN
        INSERT INTO phone_number_ledger
            (event, vapi_phone_number_id, number, broker_company, lead_id, reason, lead_company)
        VALUES ('released', OLD.vapi_phone_number_id, OLD.number, OLD.assigned_broker_company,
                OLD.currently_assigned_to, 'direct ' || lower(TG_OP), OLD.lead_company);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.currently_assigned_to IS NOT NULL THEN
        INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason)
        VALUES ('assigned', NEW.vapi_phone_number_id, NEW.number, NEW.assigned_broker_company,
                NEW.currently_assigned_to, NEW.release_at, 'direct ' || lower(TG_OP));
        INSERT INTO lead_numbers AS n (company, lead_id, vapi_phone_number_id, assigned_at)
        VALUES (NEW.assigned_broker_company, NEW.currently_assigned_to, NEW.vapi_phone_number_id,
                clock_timestamp())
        ON CONFLICT (company, lead_id) DO UPDATE
        SET vapi_phone_number_id = excluded.vapi_phone_number_id, assigned_at = excluded.assigned_at;
    END IF;
    -- An overflow hold's lead company goes with its lead: a hold released or handed to
    -- another lead by plain SQL is the owner's (the API sets the column itself). Cleared here,
    -- after the fact, rather than by a BEFORE trigger, which every hold and release would pay
    -- for (it re-reads the row before the WHEN is even looked at).
    IF TG_OP = 'UPDATE' AND NEW.lead_company IS NOT NULL THEN
        UPDATE signalwire_phone_numbers SET lead_company = NULL
        WHERE vapi_phone_number_id = NEW.vapi_phone_number_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE VIEW recent_assignments AS
SELECT l.occurred_at AS assigned_at,
       l.broker_company AS company,
       l.vapi_phone_number_id,
       l.number,
       l.lead_id,
       l.release_at AS scheduled_release_at,
       (p.currently_assigned_to IS NOT DISTINCT FROM l.lead_id) AS still_held,
       l.actor,
       l.lead_company
FROM phone_number_ledger AS l
LEFT JOIN signalwire_phone_numbers AS p USING (vapi_phone_number_id)
WHERE l.event = 'assigned' AND l.occurred_at > now() - interval '24 hours'
ORDER BY l.id DESC;

CREATE OR REPLACE VIEW overdue_holds AS
SELECT vapi_phone_number_id, number, assigned_broker_company AS company,
       currently_assigned_to AS lead_id, assigned_at, release_at,
       now() - release_at AS overdue_by,
       lead_company  -- a lent hold's borrower (NULL: the owner's own lead)
FROM signalwire_phone_numbers
WHERE assignment_status = 'assigned' AND release_at <= now()
ORDER BY release_at;

CREATE OR REPLACE VIEW double_assignments AS
SELECT 'lead holds several numbers of one company'::text AS problem,
       coalesce(lead_company, assigned_broker_company) AS company,
       currently_assigned_to AS lead_id,
       string_agg(vapi_phone_number_id, ', ' ORDER BY vapi_phone_number_id) AS vapi_phone_number_ids
FROM signalwire_phone_numbers
WHERE currently_assigned_to IS NOT NULL
GROUP BY coalesce(lead_company, assigned_broker_company), currently_assigned_to
HAVING count(*) > 1
UNION ALL
SELECT 'number assigned again before it was released', broker_company, lead_id, vapi_phone_number_id
FROM (SELECT broker_company, lead_id, vapi_phone_number_id, event,
             lag(event) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS previous_event
      FROM phone_number_ledger
      WHERE event IN ('assigned', 'released')) AS history
WHERE event = 'assigned' AND previous_event = 'assigned';

CREATE OR REPLACE FUNCTION who_held_number(phone text, at_time timestamptz DEFAULT now())
RETURNS TABLE (lead_id uuid, company text, vapi_phone_number_id text,
               assigned_at timestamptz, released_at timestamptz, held_at_time boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp
SET TimeZone = 'UTC' AS $$
#variable_conflict use_column
DECLARE
    month_start timestamptz := date_trunc('month', at_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    first_seen timestamptz;
BEGIN
    LOOP
        RETURN QUERY
        SELECT a.lead_id, coalesce(a.lead_company, a.broker_company), a.vapi_phone_number_id,
               a.occurred_at, r.occurred_at,
               r.occurred_at IS NULL OR r.occurred_at > at_time
        FROM phone_number_ledger AS a
        LEFT JOIN LATERAL (
            SELECT r.occurred_at FROM phone_number_ledger AS r
            WHERE r.number = a.number AND r.occurred_at >= a.occurred_at
              AND r.event = 'released' AND r.id > a.id
            -- in the order of the (number, occurred_at) index: the first release after the
            -- hold is its first row, however long the number's later history
            ORDER BY r.occurred_at, r.id LIMIT 1
        ) AS r ON true
        WHERE a.number = phone AND a.event = 'assigned'
          AND a.occurred_at <= at_time AND a.occurred_at >= month_start
        ORDER BY a.occurred_at DESC, a.id DESC
        LIMIT 1;
        EXIT WHEN FOUND;
        IF first_seen IS NULL THEN
            first_seen := (SELECT min(l.occurred_at) FROM phone_number_ledger AS l WHERE l.number = phone);
            EXIT WHEN first_seen IS NULL;
        END IF;
        EXIT WHEN month_start <= first_seen;
        month_start := month_start - interval '1 month';
    END LOOP;
END
$$;

-- assign_phone_number, pool_activity and pool_runway gain result columns, which CREATE OR
-- REPLACE cannot do: each old one is renamed, the new one created (the same text as a fresh
-- install), the old one's EXECUTE grants carried over to it (_carry_grants, above), and the
-- old one dropped.
ALTER FUNCTION assign_phone_number(text, uuid, text) RENAME TO _assign_phone_number_0_4_0;
ALTER FUNCTION pool_activity(text, timestamptz, timestamptz) RENAME TO _pool_activity_0_4_0;
ALTER FUNCTION pool_runway(interval) RENAME TO _pool_runway_0_4_0;

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
	"release_at" timestamp with time zone,
	"area_code_matched" bool,
	"chosen_by" TEXT,
	"from_overflow" bool
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'assign_phone_number_wrapper';

REVOKE ALL ON FUNCTION assign_phone_number(text, uuid, text) FROM PUBLIC;
-- Its settings (sql/finalize.sql says why).
ALTER FUNCTION assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION assign_phone_number(text, uuid, text) SET jit = off;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_seqscan = off;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_bitmapscan = off;

CREATE FUNCTION pool_activity(
    company text DEFAULT NULL,
    since timestamptz DEFAULT now() - interval '24 hours',
    until timestamptz DEFAULT now()
) RETURNS TABLE (company text, hour timestamptz, assignments bigint, releases bigint,
                 outcomes bigint, peak_holds bigint, numbers bigint, peak_utilization_pct numeric,
                 lent bigint, borrowed bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
WITH companies AS (
    SELECT assigned_broker_company AS company,
           count(*) FILTER (WHERE status = 'active' OR assignment_status = 'assigned') AS numbers,
           count(*) FILTER (WHERE assignment_status = 'assigned') AS held_now
    FROM signalwire_phone_numbers
    WHERE pool_activity.company IS NULL OR assigned_broker_company = pool_activity.company
    GROUP BY assigned_broker_company
    UNION ALL
    SELECT cp.company, 0, 0
    FROM company_policies AS cp
    WHERE cp.overflow_company IS NOT NULL
      AND (pool_activity.company IS NULL OR cp.company = pool_activity.company)
      AND NOT EXISTS (SELECT FROM signalwire_phone_numbers AS p
                      WHERE p.assigned_broker_company = cp.company)
), change AS (
    -- +1 a hold begins, -1 it ends; outcome rows move a hold's end and change nothing here.
    SELECT l.broker_company AS company, l.occurred_at, l.id, l.event,
           CASE l.event WHEN 'assigned' THEN 1 WHEN 'released' THEN -1 ELSE 0 END AS delta,
           l.lead_company IS NOT NULL AS lent
    FROM phone_number_ledger AS l
    WHERE l.occurred_at >= since
      AND (pool_activity.company IS NULL OR l.broker_company = pool_activity.company)
), at_since AS (
    -- Holds open at `since`: those open now, less what changed after it.
    SELECT c.company, c.numbers,
           c.held_now - coalesce((SELECT sum(delta) FROM change WHERE change.company = c.company), 0)
               AS holds
    FROM companies AS c
), per_hour AS (
    SELECT company, hour,
           count(*) FILTER (WHERE event = 'assigned') AS assignments,
           count(*) FILTER (WHERE event = 'released') AS releases,
           count(*) FILTER (WHERE event = 'outcome') AS outcomes,
           count(*) FILTER (WHERE event = 'assigned' AND lent) AS lent,
           sum(delta) AS net,
           greatest(max(rise), 0) AS top_rise
    FROM (SELECT company, event, delta, lent, date_trunc('hour', occurred_at) AS hour,
                 sum(delta) OVER (PARTITION BY company, date_trunc('hour', occurred_at)
                                  ORDER BY occurred_at, id) AS rise
          FROM change WHERE occurred_at < until) AS within_hour
    GROUP BY company, hour
), borrowed AS (
    SELECT l.lead_company AS company, date_trunc('hour', l.occurred_at) AS hour, count(*) AS n
    FROM phone_number_ledger AS l
    WHERE l.occurred_at >= since AND l.occurred_at < until
      AND l.event = 'assigned' AND l.lead_company IS NOT NULL
      AND (pool_activity.company IS NULL OR l.lead_company = pool_activity.company)
    GROUP BY 1, 2
), grid AS (
    SELECT s.company, s.numbers, s.holds, g.hour, p.assignments, p.releases, p.outcomes,
           p.top_rise, p.lent, b.n AS borrowed,
           -- holds open as the hour begins: at `since`, plus every earlier hour's net change
           s.holds + coalesce(sum(p.net) OVER (PARTITION BY s.company ORDER BY g.hour), 0)
                   - coalesce(p.net, 0) AS at_start
    FROM at_since AS s
    CROSS JOIN generate_series(date_trunc('hour', since), until, interval '1 hour') AS g (hour)
    LEFT JOIN per_hour AS p ON p.company = s.company AND p.hour = g.hour
    LEFT JOIN borrowed AS b ON b.company = s.company AND b.hour = g.hour
    WHERE g.hour < until
)
SELECT company, hour, coalesce(assignments, 0), coalesce(releases, 0), coalesce(outcomes, 0),
       at_start + coalesce(top_rise, 0), numbers,
       round(100.0 * (at_start + coalesce(top_rise, 0)) / nullif(numbers, 0), 1),
       coalesce(lent, 0), coalesce(borrowed, 0)
FROM grid
ORDER BY company, hour
$$;

COMMENT ON FUNCTION pool_activity(text, timestamptz, timestamptz) IS
    'Per company and hour: assignments, releases, outcomes, peak holds at once, peak utilization of the numbers in service, and overflow lent and borrowed.';

CREATE FUNCTION pool_runway(recent interval DEFAULT '3 hours')
RETURNS TABLE (company text, available bigint, assigned bigint, assignments_per_hour numeric,
               releases_next_24h bigint, hours_until_dry numeric, dry_at timestamptz,
               lent_per_hour numeric, borrowed_per_hour numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
WITH demand AS (
    SELECT broker_company AS company,
           count(*) / (extract(epoch FROM recent) / 3600.0) AS per_hour,
           count(*) FILTER (WHERE lead_company IS NOT NULL) / (extract(epoch FROM recent) / 3600.0)
               AS lent_per_hour
    FROM phone_number_ledger
    WHERE event = 'assigned' AND occurred_at > now() - recent
    GROUP BY broker_company
), borrowing AS (
    SELECT lead_company AS company,
           count(*) / (extract(epoch FROM recent) / 3600.0) AS per_hour
    FROM phone_number_ledger
    WHERE event = 'assigned' AND occurred_at > now() - recent AND lead_company IS NOT NULL
    GROUP BY lead_company
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
           coalesce(d.lent_per_hour, 0) AS lent_per_hour,
           coalesce(b.per_hour, 0) AS borrowed_per_hour,
           r.next_24h,
           -- The company's own demand: its leads served by its overflow pool would have
           -- taken its own numbers, had it had any to give.
           _hours_until_dry(h.available, (coalesce(d.per_hour, 0) + coalesce(b.per_hour, 0))::float8,
                            r.by_hour) AS hours
    FROM (SELECT company, available, assigned FROM pool_health
          UNION ALL
          SELECT cp.company, 0, 0 FROM company_policies AS cp
          WHERE cp.overflow_company IS NOT NULL
            AND NOT EXISTS (SELECT FROM pool_health AS o WHERE o.company = cp.company)) AS h
    LEFT JOIN demand AS d ON d.company = h.company
    LEFT JOIN borrowing AS b ON b.company = h.company
    CROSS JOIN LATERAL (
        SELECT array_agg(coalesce(e.holds, 0) ORDER BY s.hour) AS by_hour,
               coalesce(sum(e.holds) FILTER (WHERE s.hour < 24), 0)::bigint AS next_24h
        FROM generate_series(0, 47) AS s (hour)
        LEFT JOIN ending AS e ON e.company = h.company AND e.hour = s.hour
    ) AS r
    WHERE recent > interval '0'
)
SELECT company, available, assigned, round(per_hour, 2), next_24h, round(hours::numeric, 1),
       now() + hours * interval '1 hour', round(lent_per_hour, 2), round(borrowed_per_hour, 2)
FROM forecast
ORDER BY hours NULLS LAST, company
$$;

COMMENT ON FUNCTION pool_runway(interval) IS
    'Per company: recent assignments per hour, holds ending in the next 24 hours, the hours until the pool runs dry at that rate, and overflow lent and borrowed per hour.';

REVOKE ALL ON FUNCTION pool_activity(text, timestamptz, timestamptz), pool_runway(interval) FROM PUBLIC;

SELECT _carry_grants('_assign_phone_number_0_4_0(text, uuid, text)',
                     'assign_phone_number(text, uuid, text)'),
       _carry_grants('_pool_activity_0_4_0(text, timestamptz, timestamptz)',
                     'pool_activity(text, timestamptz, timestamptz)'),
       _carry_grants('_pool_runway_0_4_0(interval)', 'pool_runway(interval)');
-- The ledger's months, maintenance and retention (issue 16): the same text as sql/ledger.sql
-- and sql/scheduling.sql.
-- Retention, at most one row (none: the defaults, so that a restored dump's row does not
-- meet one made by CREATE EXTENSION): keep every month that holds a row younger than
-- keep_months months (NULL: keep everything, the default); older months are detached (kept as
-- tables of their own, for archiving) or dropped.
CREATE TABLE ledger_settings (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    keep_months    integer CHECK (keep_months BETWEEN 1 AND 1200),
    expired_months text NOT NULL DEFAULT 'detach' CHECK (expired_months IN ('detach', 'drop')),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE ledger_settings IS
    'Ledger retention: keep_months (NULL: keep everything) and what happens to older months; set with set_ledger_retention().';

-- What maintain_ledger did, one row per step.
CREATE TABLE ledger_maintenance_log (
    id          bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    action      text NOT NULL CHECK (action IN ('created', 'moved', 'detached', 'dropped', 'postponed')),
    partition   text NOT NULL,
    rows        bigint,
    detail      text NOT NULL,
    actor       text NOT NULL DEFAULT session_user
);

COMMENT ON TABLE ledger_maintenance_log IS
    'Every step of maintain_ledger(): partitions created, rows moved out of the default partition, months detached or dropped.';

REVOKE ALL ON ledger_settings, ledger_maintenance_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE ledger_maintenance_log_id_seq FROM PUBLIC;
ALTER TABLE ledger_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_maintenance_log ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('ledger_settings', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_maintenance_log', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_maintenance_log_id_seq', '');

-- The ledger's partitions: one per month (bounds in UTC), and the default one.
CREATE VIEW ledger_partitions AS
SELECT c.relname::text AS partition,
       CASE WHEN b.bound = 'DEFAULT' THEN NULL
            ELSE substring(b.bound FROM 'FROM \(''([^'']+)''\)')::timestamptz END AS starts_at,
       CASE WHEN b.bound = 'DEFAULT' THEN NULL
            ELSE substring(b.bound FROM 'TO \(''([^'']+)''\)')::timestamptz END AS ends_at,
       -- the planner's count, as of the last ANALYZE or VACUUM (-1: never counted)
       c.reltuples::bigint AS estimated_rows,
       pg_total_relation_size(c.oid) AS total_bytes
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) AS b
WHERE i.inhparent = '@extschema@.phone_number_ledger'::regclass
ORDER BY starts_at NULLS FIRST;

COMMENT ON VIEW ledger_partitions IS
    'The ledger''s partitions: the default one (rows whose month had no partition; empty in normal operation) and one per month.';

-- The partition name of the month that begins at `month_start` (UTC).
CREATE FUNCTION _ledger_partition_name(month_start timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'phone_number_ledger_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM')
$$;

-- Take the locks a change of the ledger's partitions needs, without waiting while holding any:
-- each try takes them all at once or none (NOWAIT, in a subtransaction that gives back what it
-- got), then sleeps 20 ms, for up to `tries` tries. Waiting in a lock queue instead would hold
-- up every assignment behind it, and could deadlock with a caller that read the ledger and
-- then inserts into it. `parent_mode`: the mode on the ledger itself (ONLY: not its
-- partitions); `partitions`: locked in ACCESS EXCLUSIVE mode. Raises lock_not_available when
-- the tries run out.
CREATE FUNCTION _lock_ledger(parent_mode text, partitions regclass[], tries integer DEFAULT 250)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    part regclass;
BEGIN
    FOR attempt IN 1..tries LOOP
        BEGIN
            EXECUTE format('LOCK TABLE ONLY @extschema@.phone_number_ledger IN %s MODE NOWAIT', parent_mode);
            FOREACH part IN ARRAY partitions LOOP
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', part);
            END LOOP;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_sleep(0.02);
        END;
    END LOOP;
    RAISE EXCEPTION 'the ledger was busy: no moment free of other sessions'' locks in % tries', tries
        USING ERRCODE = 'lock_not_available';
END
$$;

-- The table of the month that begins at `month_start` (UTC), indexed, not yet attached: it
-- needs no lock on the ledger. Without the ledger's column defaults: rows come through the
-- ledger, whose defaults apply, and a detached month dumped with pg_dump -t then needs nothing
-- else (its sequence) to restore. A table of its own, attached later, rather than CREATE TABLE
-- ... PARTITION OF, which would lock the ledger while the indexes are built.
CREATE FUNCTION _prepare_ledger_partition(month_start timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    name text := _ledger_partition_name(month_start);
BEGIN
    EXECUTE format('CREATE TABLE %I.%I (LIKE @extschema@.phone_number_ledger INCLUDING CONSTRAINTS)',
                   '@extschema@', name);
    PERFORM _index_ledger_partition(format('%I.%I', '@extschema@', name)::regclass);
    -- The bound as a constraint, so that ATTACH need not scan the table to prove it.
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)',
                   '@extschema@', name, name || '_month', month_start, month_start + interval '1 month');
END
$$;

-- Attach the prepared month, moving into it the rows of that month that the default partition
-- caught; returns the rows moved. The caller holds the ledger in SHARE mode (no insert is under
-- way: one that chose the default partition before the month was attached would fail after
-- it, the default partition's constraint having changed under it; the test of a month's end
-- under load saw it) and the default partition in ACCESS EXCLUSIVE mode (ATTACH checks that it
-- holds no row of the month).
CREATE FUNCTION _attach_ledger_partition(month_start timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    name text := _ledger_partition_name(month_start);
    month_end timestamptz := month_start + interval '1 month';
    moved bigint;
BEGIN
    -- The append-only guard is a trigger that replica mode does not fire: this move is the one
    -- change of a ledger row the extension makes, and the row is the same, in another table.
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE format('WITH moved AS (DELETE FROM @extschema@.phone_number_ledger_default '
                   'WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *) '
                   'INSERT INTO %I.%I SELECT * FROM moved', '@extschema@', name)
        USING month_start, month_end;
    GET DIAGNOSTICS moved = ROW_COUNT;
    PERFORM set_config('session_replication_role', 'origin', true);
    EXECUTE format('ALTER TABLE @extschema@.phone_number_ledger ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   '@extschema@', name, month_start, month_end);
    EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT %I', '@extschema@', name, name || '_month');
    RETURN moved;
END
$$;

-- One month made and attached, in one go (the benchmark and the tests make months this way).
CREATE FUNCTION _create_ledger_partition(month_start timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    PERFORM _prepare_ledger_partition(month_start);
    PERFORM _lock_ledger('SHARE', ARRAY['@extschema@.phone_number_ledger_default'::regclass]);
    RETURN _attach_ledger_partition(month_start);
END
$$;

-- The ledger's upkeep, run daily by pg_cron (schedule_ledger_maintenance) or by hand:
-- 1. a partition for every month that has rows in the default partition, and for this month
--    and the next two, so that inserts find theirs;
-- 2. retention (set_ledger_retention): months whose every row is older than keep_months
--    months are detached or dropped.
-- Everything that needs no lock on the ledger comes first (the new months' tables and indexes,
-- the expired months' row counts); then every lock the changes need is taken at one moment
-- (_lock_ledger: the ledger in SHARE mode, or ACCESS EXCLUSIVE when a month is detached or
-- dropped, the default partition and the expired months), and the changes, catalog work and
-- the default partition's rows, run while assignments wait. When there is no such moment
-- within about 5 s, every step is postponed to the next run: inserts go to the default
-- partition meanwhile, and nothing fails. Each step is logged and returned. Month arithmetic
-- in UTC, whatever the session's time zone.
CREATE FUNCTION maintain_ledger()
RETURNS TABLE (action text, partition text, rows bigint, detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    settings ledger_settings;
    this_month timestamptz := date_trunc('month', now());
    months timestamptz[] := '{}';
    month_start timestamptz;
    expired text[] := '{}';
    expired_rows bigint[] := '{}';
    name text;
    n bigint;
    steps text[] := '{}';          -- action, partition, rows, detail: four entries a step
    busy boolean := false;
BEGIN
    -- One maintenance at a time (two would race to make the same month).
    PERFORM pg_advisory_xact_lock(_lock_space('ledger_maintenance'), 0);
    SELECT * INTO settings FROM ledger_settings;  -- no row: keep everything

    -- What to do. 1. The months that need a partition: those of rows the default partition
    -- caught, this month and the next two; a month whose name a table has (one retention
    -- detached) waits until the operator moves that table away.
    FOR month_start IN
        SELECT m FROM (
            SELECT DISTINCT date_trunc('month', d.occurred_at) AS m FROM phone_number_ledger_default AS d
            UNION
            SELECT this_month + make_interval(months => ahead) FROM generate_series(0, 2) AS ahead
        ) AS wanted
        WHERE NOT EXISTS (SELECT FROM ledger_partitions AS p WHERE p.starts_at = wanted.m)
        ORDER BY m
    LOOP
        name := _ledger_partition_name(month_start);
        IF to_regclass(format('%I.%I', '@extschema@', name)) IS NOT NULL THEN
            steps := steps || ARRAY['postponed', name, NULL,
                format('a table named %I.%I exists (a month retention detached?): archive and drop it, or '
                       'rename it, and the next run makes the partition (the rows stay in the default partition meanwhile)',
                       '@extschema@', name)];
        ELSE
            months := months || month_start;
        END IF;
    END LOOP;
    -- 2. Retention: a month whose end is older than keep_months months holds no row to keep;
    --    a month made above for rows the default partition caught may be one already.
    IF settings.keep_months IS NOT NULL THEN
        FOR name, n IN
            SELECT p.partition, NULL FROM ledger_partitions AS p
            WHERE p.ends_at <= now() - make_interval(months => settings.keep_months)
            UNION ALL
            SELECT _ledger_partition_name(m),
                   (SELECT count(*) FROM phone_number_ledger_default AS d
                    WHERE d.occurred_at >= m AND d.occurred_at < m + interval '1 month')
            FROM unnest(months) AS m
            WHERE m + interval '1 month' <= now() - make_interval(months => settings.keep_months)
            ORDER BY 1
        LOOP
            IF n IS NULL THEN
                EXECUTE format('SELECT count(*) FROM %I.%I', '@extschema@', name) INTO n;
            END IF;
            expired := expired || name;
            expired_rows := expired_rows || n;
        END LOOP;
    END IF;

    IF cardinality(months) > 0 OR cardinality(expired) > 0 THEN
        BEGIN
            FOREACH month_start IN ARRAY months LOOP
                PERFORM _prepare_ledger_partition(month_start);
            END LOOP;
            PERFORM _lock_ledger(
                CASE WHEN cardinality(expired) > 0 THEN 'ACCESS EXCLUSIVE' ELSE 'SHARE' END,
                ARRAY['@extschema@.phone_number_ledger_default'::regclass]
                    || ARRAY(SELECT format('%I.%I', '@extschema@', e)::regclass FROM unnest(expired) AS e));
            FOREACH month_start IN ARRAY months LOOP
                n := _attach_ledger_partition(month_start);
                steps := steps || ARRAY['created', _ledger_partition_name(month_start), n::text,
                    format('the month from %s to %s (UTC)%s',
                           to_char(month_start, 'YYYY-MM-DD'),
                           to_char(month_start + interval '1 month', 'YYYY-MM-DD'),
                           CASE WHEN n > 0 THEN format(', with %s rows moved in from the default partition', n)
                                ELSE '' END)];
            END LOOP;
            FOR k IN 1..cardinality(expired) LOOP
                IF settings.expired_months = 'drop' THEN
                    EXECUTE format('DROP TABLE %I.%I', '@extschema@', expired[k]);
                    steps := steps || ARRAY['dropped', expired[k], expired_rows[k]::text,
                        format('every row older than %s months (keep_months = %s)',
                               settings.keep_months, settings.keep_months)];
                ELSE
                    EXECUTE format('ALTER TABLE @extschema@.phone_number_ledger DETACH PARTITION %I.%I',
                                   '@extschema@', expired[k]);
                    -- The archive is the operator's: dumped alone, it restores anywhere.
                    EXECUTE format('DROP TRIGGER phone_number_ledger_no_truncate ON %I.%I',
                                   '@extschema@', expired[k]);
                    steps := steps || ARRAY['detached', expired[k], expired_rows[k]::text,
                        format('older than %s months (keep_months = %s): now a table of its own, %I.%I, '
                               'for archiving (pg_dump -t) and then DROP TABLE',
                               settings.keep_months, settings.keep_months, '@extschema@', expired[k])];
                END IF;
            END LOOP;
            -- A lead's previous number is forgotten with the months that held it.
            IF cardinality(expired) > 0 THEN
                DELETE FROM lead_numbers
                WHERE assigned_at < date_trunc('month', now() - make_interval(months => settings.keep_months));
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            -- Everything above is undone (the prepared tables too); the next run tries again.
            busy := true;
        END;
        IF busy THEN
            FOREACH month_start IN ARRAY months LOOP
                steps := steps || ARRAY['postponed', _ledger_partition_name(month_start), NULL,
                    'the ledger was too busy to attach it; the next run tries again (rows of the month go to the default partition meanwhile)'];
            END LOOP;
            FOR k IN 1..cardinality(expired) LOOP
                steps := steps || ARRAY['postponed', expired[k], NULL,
                    format('the ledger was too busy to %s it; the next run tries again', settings.expired_months)];
            END LOOP;
        END IF;
    END IF;

    FOR k IN 0..cardinality(steps) / 4 - 1 LOOP
        action := steps[4 * k + 1];
        partition := steps[4 * k + 2];
        rows := steps[4 * k + 3]::bigint;
        detail := steps[4 * k + 4];
        INSERT INTO ledger_maintenance_log (action, partition, rows, detail)
        VALUES (maintain_ledger.action, maintain_ledger.partition, maintain_ledger.rows, maintain_ledger.detail);
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION maintain_ledger() IS
    'The ledger''s upkeep: partitions for this month and the next two (and any month the default partition caught), then retention. Run daily; returns and logs each step.';

-- Retention of the ledger: keep every month that holds a row younger than `keep_months` months
-- (NULL: keep everything); older months are detached ('detach': kept as tables of their own,
-- for archiving) or dropped ('drop'). Applied by the next maintain_ledger().
CREATE FUNCTION set_ledger_retention(keep_months integer, expired_months text DEFAULT 'detach')
RETURNS ledger_settings
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    result ledger_settings;
BEGIN
    IF keep_months IS NOT NULL AND (keep_months < 1 OR keep_months > 1200) THEN
        RAISE EXCEPTION 'keep_months must be between 1 and 1200, got %', keep_months
            USING ERRCODE = '22023',
                  HINT = 'Pass the number of months of ledger history to keep, or NULL to keep everything.';
    END IF;
    IF expired_months IS NULL OR expired_months NOT IN ('detach', 'drop') THEN
        RAISE EXCEPTION 'expired_months must be ''detach'' or ''drop'', got %', coalesce(quote_literal(expired_months), 'NULL')
            USING ERRCODE = '22023',
                  HINT = '''detach'' keeps an expired month as a table of its own, for archiving; ''drop'' deletes it.';
    END IF;
    INSERT INTO ledger_settings AS s (keep_months, expired_months)
    VALUES (set_ledger_retention.keep_months, set_ledger_retention.expired_months)
    ON CONFLICT (singleton) DO UPDATE
    SET keep_months = excluded.keep_months, expired_months = excluded.expired_months, updated_at = now()
    RETURNING s.* INTO result;
    RETURN result;
END
$$;

COMMENT ON FUNCTION set_ledger_retention(integer, text) IS
    'Keep keep_months months of ledger history (NULL: everything); older months are detached or dropped by maintain_ledger().';

REVOKE ALL ON ledger_partitions FROM PUBLIC;

-- pg_cron's cron.schedule, or a clear word on what to do when this database lacks pg_cron.
CREATE FUNCTION _schedule_job(job_name text, schedule text, command text, instead text)
RETURNS bigint
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
                                'Without pg_cron, %s.', current_database(), instead);
    END IF;
    -- cron.schedule with a job name replaces an existing job of that name.
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job USING job_name, schedule, command;
    RETURN job;
END
$$;

-- The ledger's daily upkeep (sql/ledger.sql): partitions made ahead, retention.
CREATE FUNCTION schedule_ledger_maintenance(
    schedule text DEFAULT '7 3 * * *',
    job_name text DEFAULT 'pool_ext-ledger-maintenance'
) RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@._schedule_job(job_name, schedule, 'SELECT count(*) FROM @extschema@.maintain_ledger()',
        'run SELECT * FROM @extschema@.maintain_ledger() daily from elsewhere');
$$;

COMMENT ON FUNCTION schedule_ledger_maintenance(text, text) IS
    'Schedule maintain_ledger() with pg_cron (daily at 03:07 by default); returns the cron job id.';

-- The hourly release, and with it the ledger's daily upkeep when that has no job yet (one call
-- sets up everything pg_cron runs for the extension).
CREATE OR REPLACE FUNCTION schedule_release_job(
    schedule text DEFAULT '0 * * * *',
    job_name text DEFAULT 'pool_ext-release-expired'
) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job bigint;
BEGIN
    job := @extschema@._schedule_job(job_name, schedule, 'SELECT @extschema@.release_expired_phone_numbers()',
        'run SELECT @extschema@.release_expired_phone_numbers() hourly from elsewhere, '
        'e.g. the n8n workflow examples/n8n/hourly-release.json');
    -- A job of this database that runs it; pg_cron shows a role other than a superuser only its
    -- own jobs, so another role's job is not seen and a second one is made (harmless: the upkeep
    -- is idempotent and runs one at a time).
    IF NOT EXISTS (SELECT FROM cron.job WHERE command LIKE '%maintain_ledger()%'
                                        AND database = current_database()) THEN
        PERFORM @extschema@.schedule_ledger_maintenance();
    END IF;
    RETURN job;
END
$$;

COMMENT ON FUNCTION schedule_release_job(text, text) IS
    'Schedule release_expired_phone_numbers() with pg_cron (hourly by default), and maintain_ledger() daily if it has no job; returns the release job id.';

CREATE FUNCTION unschedule_ledger_maintenance(job_name text DEFAULT 'pool_ext-ledger-maintenance')
RETURNS boolean
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.unschedule_release_job(job_name);
$$;

COMMENT ON FUNCTION unschedule_ledger_maintenance(text) IS
    'Remove the pg_cron job of maintain_ledger(); false when there was none.';

-- Only the owner runs these until an operator grants them (grant_pool_access).
REVOKE ALL ON FUNCTION _index_ledger_partition(regclass), _ledger_partition_name(timestamptz),
    _lock_ledger(text, regclass[], integer), _prepare_ledger_partition(timestamptz),
    _attach_ledger_partition(timestamptz),
    _create_ledger_partition(timestamptz), maintain_ledger(), set_ledger_retention(integer, text),
    _schedule_job(text, text, text, text), schedule_ledger_maintenance(text, text),
    unschedule_ledger_maintenance(text) FROM PUBLIC;

-- The readers of the ledger run without JIT (sql/finalize.sql says why).
ALTER FUNCTION pool_activity(text, timestamptz, timestamptz) SET jit = off;
ALTER FUNCTION pool_runway(interval) SET jit = off;
ALTER FUNCTION who_held_number(text, timestamptz) SET jit = off;

-- The number each lead held most recently at each company, which a returning lead gets back
-- first: one key to probe instead of every month of the ledger (sql/schema.sql says why),
-- filled from the ledger's assignments.
CREATE TABLE lead_numbers (
    company              text NOT NULL,
    lead_id              uuid NOT NULL,
    vapi_phone_number_id text NOT NULL,
    assigned_at          timestamptz NOT NULL,
    PRIMARY KEY (company, lead_id)
);

COMMENT ON TABLE lead_numbers IS
    'The number each lead held most recently at each company: a returning lead gets it back first.';

REVOKE ALL ON lead_numbers FROM PUBLIC;
ALTER TABLE lead_numbers ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('lead_numbers', '');

INSERT INTO lead_numbers (company, lead_id, vapi_phone_number_id, assigned_at)
SELECT DISTINCT ON (coalesce(l.lead_company, l.broker_company), l.lead_id)
       coalesce(l.lead_company, l.broker_company), l.lead_id, l.vapi_phone_number_id, l.occurred_at
FROM phone_number_ledger AS l
WHERE l.event = 'assigned'
ORDER BY coalesce(l.lead_company, l.broker_company), l.lead_id, l.occurred_at DESC, l.id DESC;

-- The 0.4.0 ledger's rows are in the partitioned one (above), and every view reads that now.
DROP TABLE _phone_number_ledger_0_4_0;

DROP FUNCTION _assign_phone_number_0_4_0(text, uuid, text),
              _pool_activity_0_4_0(text, timestamptz, timestamptz),
              _pool_runway_0_4_0(interval),
              _carry_grants(regprocedure, regprocedure);

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
                         '(caller: try_assign_phone_number; monitor: number_health, ledger_partitions; operator: '
                         'reinstate_phone_number, maintain_ledger, set_ledger_retention and the ledger '
                         'maintenance''s schedule).';
    END IF;
END
$$;
