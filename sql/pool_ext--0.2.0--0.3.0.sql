-- pool_ext 0.2.0 -> 0.3.0, run by ALTER EXTENSION pool_ext UPDATE: low-water alerts, pool
-- analytics, local presence, cooldowns and daily caps.
-- Released with 0.3.0: never edit this file; later changes get a script of their own.
-- scripts/upgrade-test.sh checks that an upgraded database equals a fresh 0.3.0 install.

-- The pool table: when each number was last released, for the cooldown. Not indexed, so
-- holds and releases stay HOT updates.
ALTER TABLE signalwire_phone_numbers ADD COLUMN released_at timestamptz;

-- Time windows over the ledger (pool_activity, pool_runway).
CREATE INDEX idx_phone_number_ledger_time
    ON phone_number_ledger USING brin (occurred_at);

-- Pool rules beside the hold rules; NULL is the default.
ALTER TABLE company_policies
    ADD COLUMN low_water_count integer CHECK (low_water_count >= 0),
    ADD COLUMN low_water_share numeric CHECK (low_water_share BETWEEN 0 AND 1),
    ADD COLUMN local_presence  boolean,
    ADD COLUMN cooldown        interval CHECK (cooldown >= interval '0'),
    ADD COLUMN daily_cap       integer CHECK (daily_cap > 0),
    ADD CONSTRAINT company_policies_one_low_water_rule
        CHECK (low_water_count IS NULL OR low_water_share IS NULL);

COMMENT ON TABLE company_policies IS
    'Per-company rules; change them with set_company_policy() and set_pool_rules(). NULL means the default.';

-- company_policy() returns the new rules too (a new row type: drop and create).
DROP FUNCTION company_policy(text);
-- The effective policy of any company, defaults included: the one place the defaults live.
-- Plain SQL without SET options so the planner inlines it into the statements that use it.
CREATE FUNCTION company_policy(company text)
RETURNS TABLE (retention interval, booked_hold interval, time_zone text,
               low_water_count integer, low_water_share double precision,
               local_presence boolean, cooldown interval, daily_cap integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(p.retention, interval '18 hours'),
           coalesce(p.booked_hold, interval '24 hours'),
           coalesce(p.time_zone, 'UTC'),
           p.low_water_count,
           CASE WHEN p.low_water_count IS NULL THEN coalesce(p.low_water_share, 0.2)::float8 END,
           coalesce(p.local_presence, true),
           coalesce(p.cooldown, interval '0'),
           p.daily_cap
    FROM (SELECT) AS one
    LEFT JOIN @extschema@.company_policies AS p ON p.company OPERATOR(pg_catalog.=) $1
$$;

-- Companies whose low-water alert is out (pg_notify sent, pool not above its mark since):
-- the next alert waits until an assignment finds the pool above its mark again.
CREATE TABLE pool_alert_state (
    company    text PRIMARY KEY,
    alerted_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE pool_alert_state IS
    'Companies with a low-water alert out; maintained by assign_phone_number.';

REVOKE ALL ON pool_alert_state FROM PUBLIC;
ALTER TABLE pool_alert_state ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('pool_alert_state', '');

-- Monitoring: each number's state; pool_health counts resting and capped numbers (two new
-- columns at the end) and "available" now means "assignable now".
-- Every number's state now, by its company's rules: assigned, inactive (retired), resting
-- (in the cooldown after a release), at_cap (the daily cap reached: assignments in the ledger
-- since the start of the company's day) or available (the next assignment may take it).
-- assign_phone_number decides the same way (src/rules.rs, claim_order). The defaults are
-- company_policy()'s, written out: a view must not call a function its readers would need
-- EXECUTE on.
CREATE VIEW number_states AS
SELECT p.assigned_broker_company AS company, p.vapi_phone_number_id, p.number,
       CASE WHEN p.assignment_status = 'assigned' THEN 'assigned'
            WHEN p.status = 'inactive' THEN 'inactive'
            WHEN p.released_at + rules.cooldown > now() THEN 'resting'
            WHEN today.assignments >= rules.daily_cap THEN 'at_cap'
            ELSE 'available'
       END AS state,
       p.currently_assigned_to AS lead_id,
       p.release_at,
       CASE WHEN p.released_at + rules.cooldown > now() THEN p.released_at + rules.cooldown END
           AS resting_until,
       today.assignments AS assignments_today,
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
    WHERE l.number = p.number AND l.broker_company = p.assigned_broker_company
      AND l.event = 'assigned' AND l.occurred_at >= rules.day_start
) AS today;

COMMENT ON VIEW number_states IS
    'Each number: assigned, inactive, resting (cooldown), at_cap (daily cap) or available, by its company''s rules.';

-- "Why is this pool empty?": one row per company.
-- available + assigned + inactive + resting + at_cap = total.
CREATE OR REPLACE VIEW pool_health AS
SELECT company,
       count(*) FILTER (WHERE state = 'available') AS available,
       count(*) FILTER (WHERE state = 'assigned') AS assigned,
       count(*) FILTER (WHERE state = 'inactive') AS inactive,
       count(*) AS total,
       round(100.0 * count(*) FILTER (WHERE state = 'assigned')
             / nullif(count(*) FILTER (WHERE state <> 'inactive'), 0), 1) AS utilization_pct,
       count(*) FILTER (WHERE state = 'assigned' AND release_at <= now()) AS overdue,
       count(*) FILTER (WHERE state = 'resting') AS resting,
       count(*) FILTER (WHERE state = 'at_cap') AS at_cap
FROM number_states
GROUP BY company;

COMMENT ON VIEW pool_health IS
    'Per company: available (assignable now), assigned, inactive (retired, free), total, utilization of usable numbers, holds overdue for release, resting (cooldown), at_cap (daily cap).';

REVOKE ALL ON number_states FROM PUBLIC;

-- Access levels: the new functions and views.
CREATE OR REPLACE FUNCTION pool_access_objects(access text)
RETURNS TABLE (kind text, object text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT kind, '@extschema@.' || object
    FROM (VALUES
        ('caller',   'function',  'assign_phone_number(text, uuid, text)'),
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
        ('monitor',  'function',  'who_held_number(text, timestamp with time zone)'),
        ('operator', 'procedure', 'release_expired_phone_numbers_in_batches(integer, bigint)'),
        ('operator', 'function',  'force_release_phone_number(text, text)'),
        ('operator', 'function',  'import_phone_numbers(jsonb)'),
        ('operator', 'function',  'retire_phone_number(text)'),
        ('operator', 'function',  'reactivate_phone_number(text)'),
        ('operator', 'function',  'move_phone_number(text, text)'),
        ('operator', 'function',  'set_company_policy(text, interval, interval, text)'),
        ('operator', 'function',  'set_pool_rules(text, integer, double precision, boolean, interval, integer)'),
        ('operator', 'function',  'schedule_release_job(text, text)'),
        ('operator', 'function',  'unschedule_release_job(text)')
    ) AS levels (level, kind, object)
    -- operator includes caller and monitor
    WHERE level = access OR (access = 'operator' AND level IN ('caller', 'monitor'))
$$;

-- The runway's rule (Rust), then alerts and analytics (sql/analytics.sql).
CREATE  FUNCTION "hours_until_dry"(
	"available" bigint,
	"per_hour" double precision,
	"releases_by_hour" bigint[]
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'hours_until_dry_wrapper';

-- Companies at or under their low-water mark now, empty ones included: for a pg_cron check,
-- a dashboard, or to catch what a rolled-back notification never said. The mark is
-- src/rules.rs's low_water_mark (a count, else a share of the numbers in service, default
-- 0.2, rounded up), written out: a view must not call a function its readers would need
-- EXECUTE on. tests/pool_rules.rs checks that both agree.
CREATE VIEW pool_alerts AS
SELECT h.company,
       CASE WHEN h.available = 0 THEN 'empty' ELSE 'low' END AS level,
       h.available,
       h.total - h.inactive AS numbers,
       mark.low_water_mark,
       h.resting,
       h.at_cap,
       a.alerted_at
FROM pool_health AS h
LEFT JOIN company_policies AS cp ON cp.company = h.company
CROSS JOIN LATERAL (
    SELECT coalesce(cp.low_water_count,
                    ceil(coalesce(cp.low_water_share, 0.2) * (h.total - h.inactive)))::bigint
) AS mark (low_water_mark)
LEFT JOIN pool_alert_state AS a ON a.company = h.company
WHERE h.available <= mark.low_water_mark;

COMMENT ON VIEW pool_alerts IS
    'Companies whose assignable numbers are at or under their low-water mark (level low) or gone (level empty).';

-- The one place a company's low-water alert changes, for assign_phone_number and
-- check_pool_alerts alike. Each first takes the transaction-level advisory lock
-- (1886351213, hashtext(company)) without waiting: a company whose alert another transaction
-- is changing right now is left to that transaction, so no caller waits and no two notify.
-- raise_pool_alert takes the alert out and notifies (on commit) unless it is out already;
-- returns whether it notified. rearm_pool_alert lets the next crossing alert again.
CREATE FUNCTION raise_pool_alert(company text, available bigint, numbers bigint, mark bigint)
RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    WITH locked AS (
        SELECT pg_try_advisory_xact_lock(1886351213, hashtext($1)) AS got
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

CREATE FUNCTION rearm_pool_alert(company text) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    DELETE FROM pool_alert_state
    WHERE pool_alert_state.company = $1 AND pg_try_advisory_xact_lock(1886351213, hashtext($1))
$$;

-- Send the low-water alerts no assignment sent, and re-arm pools that are above their mark
-- again. An assignment alerts when it sees its pool reach the mark, but it counts with its
-- own snapshot: when several callers take a company's last numbers at the same instant, each
-- may still see the others' numbers as free, and nobody alerts. Schedule this next to the
-- release job (README, "Alerts") and no crossing goes unsaid for longer than its schedule.
-- Returns how many alerts it sent.
CREATE FUNCTION check_pool_alerts() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    sent integer := 0;
    low record;
BEGIN
    PERFORM rearm_pool_alert(s.company) FROM pool_alert_state AS s
    WHERE NOT EXISTS (SELECT FROM pool_alerts AS a WHERE a.company = s.company);
    FOR low IN SELECT * FROM pool_alerts WHERE alerted_at IS NULL ORDER BY company LOOP
        IF raise_pool_alert(low.company, low.available, low.numbers, low.low_water_mark) THEN
            sent := sent + 1;
        END IF;
    END LOOP;
    RETURN sent;
END
$$;

-- Per company and hour, from the ledger: assignments, releases and outcomes recorded, the peak
-- of holds open at once, and that peak against the company's numbers in service now.
-- Refused assignments (an exhausted pool) are not here: the error rolls back anything the
-- call could record. Hours are those of the session's TimeZone.
CREATE FUNCTION pool_activity(
    company text DEFAULT NULL,
    since timestamptz DEFAULT now() - interval '24 hours',
    until timestamptz DEFAULT now()
) RETURNS TABLE (company text, hour timestamptz, assignments bigint, releases bigint,
                 outcomes bigint, peak_holds bigint, numbers bigint, peak_utilization_pct numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
WITH companies AS (
    SELECT assigned_broker_company AS company,
           count(*) FILTER (WHERE status = 'active' OR assignment_status = 'assigned') AS numbers,
           count(*) FILTER (WHERE assignment_status = 'assigned') AS held_now
    FROM signalwire_phone_numbers
    WHERE pool_activity.company IS NULL OR assigned_broker_company = pool_activity.company
    GROUP BY assigned_broker_company
), change AS (
    -- +1 a hold begins, -1 it ends; outcome rows move a hold's end and change nothing here.
    SELECT l.broker_company AS company, l.occurred_at, l.id, l.event,
           CASE l.event WHEN 'assigned' THEN 1 WHEN 'released' THEN -1 ELSE 0 END AS delta
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
           sum(delta) AS net,
           greatest(max(rise), 0) AS top_rise
    FROM (SELECT company, event, delta, date_trunc('hour', occurred_at) AS hour,
                 sum(delta) OVER (PARTITION BY company, date_trunc('hour', occurred_at)
                                  ORDER BY occurred_at, id) AS rise
          FROM change WHERE occurred_at < until) AS within_hour
    GROUP BY company, hour
), grid AS (
    SELECT s.company, s.numbers, s.holds, g.hour, p.assignments, p.releases, p.outcomes,
           p.top_rise,
           -- holds open as the hour begins: at `since`, plus every earlier hour's net change
           s.holds + coalesce(sum(p.net) OVER (PARTITION BY s.company ORDER BY g.hour), 0)
                   - coalesce(p.net, 0) AS at_start
    FROM at_since AS s
    CROSS JOIN generate_series(date_trunc('hour', since), until, interval '1 hour') AS g (hour)
    LEFT JOIN per_hour AS p ON p.company = s.company AND p.hour = g.hour
    WHERE g.hour < until
)
SELECT company, hour, coalesce(assignments, 0), coalesce(releases, 0), coalesce(outcomes, 0),
       at_start + coalesce(top_rise, 0), numbers,
       round(100.0 * (at_start + coalesce(top_rise, 0)) / nullif(numbers, 0), 1)
FROM grid
ORDER BY company, hour
$$;

COMMENT ON FUNCTION pool_activity(text, timestamptz, timestamptz) IS
    'Per company and hour: assignments, releases, outcomes, peak holds at once, and peak utilization of the numbers in service.';

-- How long each pool lasts: assignments per hour over the `recent` window, the holds that end
-- in each of the next 48 hours, and the hours until nothing is left to assign at that rate
-- (NULL: no recent demand, or not within 48 hours).
CREATE FUNCTION pool_runway(recent interval DEFAULT '3 hours')
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
           hours_until_dry(h.available, coalesce(d.per_hour, 0)::float8, r.by_hour) AS hours
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

COMMENT ON FUNCTION pool_runway(interval) IS
    'Per company: recent assignments per hour, holds ending in the next 24 hours, and the hours until the pool runs dry at that rate.';

REVOKE ALL ON pool_alerts FROM PUBLIC;

-- Pool rules (Rust).
CREATE  FUNCTION "set_pool_rules"(
	"company" TEXT,
	"low_water_count" INT DEFAULT NULL,
	"low_water_share" double precision DEFAULT NULL,
	"local_presence" bool DEFAULT NULL,
	"cooldown" interval DEFAULT NULL,
	"daily_cap" INT DEFAULT NULL
) RETURNS TABLE (
	"company" TEXT,
	"low_water_count" INT,
	"low_water_share" double precision,
	"local_presence" bool,
	"cooldown" interval,
	"daily_cap" INT
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'set_pool_rules_wrapper';

-- assign_phone_number returns area_code_matched (a new row type): drop and create, and give
-- back every EXECUTE grant it had (an n8n role keeps working).
SELECT pg_catalog.set_config('pool_ext.upgrade_grantees',
                              coalesce(pg_catalog.string_agg(acl.grantee::text, ','), ''), true)
FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS acl
WHERE p.oid = '@extschema@.assign_phone_number(text, uuid, text)'::pg_catalog.regprocedure
  AND acl.privilege_type = 'EXECUTE' AND acl.grantee <> p.proowner AND acl.grantee <> 0;

DROP FUNCTION assign_phone_number(text, uuid, text);
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
	"area_code_matched" bool
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'assign_phone_number_wrapper';

DO $$
DECLARE
    grantee oid;
BEGIN
    FOREACH grantee IN ARRAY pg_catalog.string_to_array(pg_catalog.current_setting('pool_ext.upgrade_grantees'), ',')::oid[]
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION @extschema@.assign_phone_number(text, uuid, text) TO %s',
                                  grantee::regrole);
    END LOOP;
END
$$;

-- Callers get EXECUTE only when an operator grants it (see README: "Roles and grants"). Only
-- the routines this script creates: a REVOKE inside an extension script also records the
-- routine's whole ACL as its initial privileges, which pg_dump leaves out of a dump.
REVOKE ALL ON FUNCTION company_policy(text), hours_until_dry(bigint, double precision, bigint[]),
    raise_pool_alert(text, bigint, bigint, bigint), rearm_pool_alert(text),
    check_pool_alerts(), pool_activity(text, timestamptz, timestamptz), pool_runway(interval),
    set_pool_rules(text, integer, double precision, boolean, interval, integer)
    FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION assign_phone_number(text, uuid, text) FROM PUBLIC;

-- assign_phone_number writes its own ledger rows; the marker tells the direct-change triggers.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';

-- The initial privileges of every routine as a fresh install records them (the owner's
-- EXECUTE), so that pg_dump saves every grant an operator made, including the one moved to
-- the new assign_phone_number above. 0.1.0 -> 0.2.0 revoked PUBLIC on all routines inside
-- its script, which recorded the operators' grants as initial privileges: a dump of such a
-- database left them out, and a restore lost them.
UPDATE pg_catalog.pg_init_privs AS ip
SET initprivs = ARRAY[pg_catalog.makeaclitem(p.proowner, p.proowner, 'EXECUTE', false)]
FROM pg_catalog.pg_proc AS p
WHERE ip.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND ip.objoid = p.oid
  AND ip.objsubid = 0 AND p.pronamespace = '@extschema@'::pg_catalog.regnamespace;

-- Roles given access before keep what they had; what this version adds reaches them when
-- grant_pool_access runs again. Say so, naming them (a WARNING: an extension script hides NOTICEs).
DO $$
DECLARE
    roles text;
BEGIN
    SELECT pg_catalog.string_agg(DISTINCT acl.grantee::regrole::text, ', ') INTO roles
    FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(n.nspacl) AS acl
    WHERE n.nspname = '@extschema@' AND acl.privilege_type = 'USAGE'
      AND acl.grantee <> n.nspowner AND acl.grantee <> 0;
    IF roles IS NOT NULL THEN
        RAISE WARNING 'pool_ext 0.3.0 adds to each access level; roles with access to pool_ext: %', roles
            USING HINT = 'Run SELECT pool_ext.grant_pool_access(role, level) again for each of them '
                         '(caller: check_pool_alerts; monitor: number_states, pool_alerts, pool_activity, '
                         'pool_runway; operator: set_pool_rules).';
    END IF;
END
$$;
