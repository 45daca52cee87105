-- pool_ext schema: the pool table, its ledger, and what keeps both honest.
-- Everything here is created inside the extension's own schema (pool_ext, see pool_ext.control).

-- The pool. Column names are those of the original design so its SQL keeps working.
CREATE TABLE signalwire_phone_numbers (
    vapi_phone_number_id     text PRIMARY KEY,  -- not blank (signalwire_phone_numbers_check_row)
    -- Unique, checked at the end of each statement so an import may swap two numbers.
    number                   text NOT NULL UNIQUE DEFERRABLE INITIALLY IMMEDIATE,  -- E.164
    name                     text,
    assigned_broker_company  text NOT NULL,     -- not blank
    currently_assigned_to    uuid,          -- the lead holding the number
    assigned_at              timestamptz,   -- last assignment; kept after release for LRU order
    release_at               timestamptz,   -- when the current hold ends
    assignment_status        text NOT NULL DEFAULT 'available',  -- or 'assigned' (hold_consistent)
    last_call_outcome        text,
    appointment_scheduled_at timestamptz,
    status                   text NOT NULL DEFAULT 'active',     -- or 'inactive', 'quarantined'
    notes                    text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    -- Since 0.3.0 (added at the end, where ALTER TABLE puts it on upgrade):
    released_at              timestamptz,   -- last release by the API; the cooldown counts from it
    -- Since 0.4.1: status 'quarantined' (its answer rate fell against its company's, see
    -- number_health) until this time; the release job or reinstate_phone_number ends it.
    quarantined_until        timestamptz,
    -- Since 0.4.1: the company of the lead holding the number when that is not the number's
    -- own company (an overflow hold: set_pool_rules' overflow_company lent it). NULL: the
    -- owner's own lead, or no hold.
    lead_company             text,
    -- assigned <=> a holder and a release time; available <=> neither.
    CONSTRAINT signalwire_phone_numbers_hold_consistent CHECK (
        (assignment_status = 'assigned'  AND currently_assigned_to IS NOT NULL AND release_at IS NOT NULL
                                         AND assigned_at IS NOT NULL)
     OR (assignment_status = 'available' AND currently_assigned_to IS NULL     AND release_at IS NULL)
    )
);

COMMENT ON TABLE signalwire_phone_numbers IS
    'Caller numbers of every broker company and who holds each. Change holds only through the pool_ext functions.';

-- The values a number's row may have, checked by a trigger on the columns concerned instead of
-- CHECK constraints (until 0.4.0): Postgres compiles and evaluates every CHECK constraint of a
-- table on every UPDATE, whatever columns it sets, and every hold and release is an UPDATE
-- (dropping these checks took 0.03 ms off a claim's 0.13; bench/RESULTS.md, "What 0.4.1
-- changed"). An AFTER ... UPDATE OF trigger is not even queued for an update that sets none of
-- its columns. Errors are those of the constraints it replaces: SQLSTATE 23514 and the same
-- constraint names. hold_consistent stays a CHECK (every hold and release must satisfy it), and
-- it allows no assignment_status but 'available' and 'assigned', so the former
-- assignment_status check is gone (a bad value now names hold_consistent).
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
-- Like a constraint, also for sessions in session_replication_role = replica (logical
-- replication's apply, some restore tools); only ALTER TABLE ... DISABLE TRIGGER turns it off.
ALTER TABLE signalwire_phone_numbers ENABLE ALWAYS TRIGGER signalwire_phone_numbers_check_row;

-- The assignment path (since 0.4.0). An assignment reaches the number it takes through one
-- of these indexes in O(log n), whatever the size of the company's pool:
-- the lead's own hold (sticky repeat calls), unique, so that one lead can never hold two
-- numbers for one company, whatever the isolation level of the callers: keyed by the lead's
-- company, which is the owner except for an overflow hold (lead_company);
CREATE UNIQUE INDEX idx_signalwire_pool_lead_hold
    ON signalwire_phone_numbers (currently_assigned_to, coalesce(lead_company, assigned_broker_company))
    WHERE currently_assigned_to IS NOT NULL;
-- the company's free numbers, least recently used first (never used first): the original
-- design's index name, now partial and in the claim's order;
CREATE INDEX idx_signalwire_pool_assignment
    ON signalwire_phone_numbers (assigned_broker_company, assigned_at NULLS FIRST, vapi_phone_number_id)
    WHERE assignment_status = 'available' AND status = 'active';
-- the same by NANP area ('+1' and the area code: the first five characters), for local presence.
CREATE INDEX idx_signalwire_pool_free_area
    ON signalwire_phone_numbers (assigned_broker_company, left(number, 5), assigned_at NULLS FIRST,
                                 vapi_phone_number_id)
    WHERE assignment_status = 'available' AND status = 'active';
-- Nothing else: every index is written on every hold and release. What reads all of a
-- company's numbers (monitoring, an exhausted pool's counts) reads the table.

-- A hold and a release change indexed columns, so neither is a HOT update: each leaves a dead
-- row version and dead index entries behind. Vacuum this small, busy table after every 1,000
-- changes instead of after a fifth of its rows, and without the cost delay, so that it stays
-- near its fresh size under load (bench/RESULTS.md, "Sizes after 1,000,000 cycles").
-- Renewals and call outcomes change only release_at and last_call_outcome and stay HOT,
-- hence the room left on each page.
ALTER TABLE signalwire_phone_numbers SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);

-- Append-only history: one row per assignment, outcome, renewal (a repeat call that extended
-- a hold) and release. Partitioned by month on occurred_at (since 0.4.1): a month of history
-- is one table, which retention (sql/ledger.sql) detaches or drops whole, and every lookup
-- reads only the months its time window reaches.
--
-- Why the parent has no primary key and no indexes: a month's partition is created at run
-- time (maintain_ledger), so it is not a member of the extension and pg_dump dumps it whole,
-- with its indexes. Had the parent partitioned indexes, the restored CREATE EXTENSION would
-- make them, the dump's ATTACH PARTITION would create the month's copies, and the dump's own
-- index statements would then fail or duplicate them. Each partition gets its indexes from
-- _index_ledger_partition instead; id is unique because the sequence makes it so, and it is
-- the primary key of every partition.
CREATE TABLE phone_number_ledger (
    id                   bigserial NOT NULL,
    event                text NOT NULL CONSTRAINT phone_number_ledger_event_check
                             CHECK (event IN ('assigned', 'outcome', 'released', 'renewed', 'quarantined')),
    vapi_phone_number_id text NOT NULL,
    number               text NOT NULL,
    broker_company       text NOT NULL,
    lead_id              uuid NOT NULL,
    -- When the change was made, not when its transaction began: ordered like the changes.
    occurred_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    release_at           timestamptz,   -- the hold's scheduled end, for 'assigned' and 'outcome' rows
    reason               text NOT NULL, -- why: 'assign', 'repeat call', 'expired', 'manual', or the call outcome
    actor                text NOT NULL DEFAULT session_user,
    -- Since 0.4.1: the lead's company when the number was lent by its owner, broker_company
    -- (an overflow hold); NULL: the lead is the owner's own.
    lead_company         text
) PARTITION BY RANGE (occurred_at);

COMMENT ON TABLE phone_number_ledger IS
    'Append-only history of every assignment and release, partitioned by month; answers who held which number when.';

-- The ledger is history: rows are added, never changed or removed (a whole month leaves only
-- by retention, sql/ledger.sql).
CREATE FUNCTION _ledger_is_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'phone_number_ledger is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The ledger is the audit trail of assignments; keep it whole.';
END
$$;

-- Row triggers of the parent are cloned to every partition; statement triggers are not, so
-- _index_ledger_partition gives each partition its own TRUNCATE guard.
CREATE TRIGGER phone_number_ledger_no_update_delete
    BEFORE UPDATE OR DELETE ON phone_number_ledger
    FOR EACH ROW EXECUTE FUNCTION _ledger_is_append_only();
CREATE TRIGGER phone_number_ledger_no_truncate
    BEFORE TRUNCATE ON phone_number_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION _ledger_is_append_only();

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

-- Rows whose month has no partition yet land here, so an insert never fails for lack of one;
-- maintain_ledger moves them into their month's partition. Empty in normal operation. The
-- one partition the extension owns (a member, dumped as configuration); the months are not.
CREATE TABLE phone_number_ledger_default PARTITION OF phone_number_ledger DEFAULT;
SELECT _index_ledger_partition('phone_number_ledger_default');

-- The number each lead held most recently at each company (the lead's company: an overflow
-- hold counts for the company that borrowed the number), written by every assignment in the
-- statement that makes the hold (and by _log_direct_change for a hold made with plain SQL).
-- A returning lead's previous number is one probe of this key, whatever the ledger's length:
-- looked up in the ledger instead, it cost one index probe and one lock per month kept, in
-- every assignment (bench/RESULTS.md, "A lead's previous number without the ledger"). Rows
-- older than the ledger's retention go with its months (maintain_ledger).
CREATE TABLE lead_numbers (
    company              text NOT NULL,
    lead_id              uuid NOT NULL,
    vapi_phone_number_id text NOT NULL,
    assigned_at          timestamptz NOT NULL,
    PRIMARY KEY (company, lead_id)
);

COMMENT ON TABLE lead_numbers IS
    'The number each lead held most recently at each company: a returning lead gets it back first.';

-- Per-company rules. A NULL column means "the default", which company_policy() supplies.
-- Hold rules (set_company_policy) first; pool rules (set_pool_rules, since 0.3.0) after.
CREATE TABLE company_policies (
    company     text PRIMARY KEY CHECK (btrim(company) <> ''),
    retention   interval CHECK (retention > interval '0'),    -- default 18 hours
    booked_hold interval CHECK (booked_hold > interval '0'),  -- default 24 hours
    time_zone   text,                                         -- default 'UTC'
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Alert when an assignment leaves this many assignable numbers or fewer; the share is
    -- of the company's usable numbers, rounded up. At most one is set; default: share 0.2.
    low_water_count   integer CHECK (low_water_count >= 0),
    low_water_share   numeric CHECK (low_water_share BETWEEN 0 AND 1),
    local_presence    boolean,                                  -- default true
    cooldown          interval CHECK (cooldown >= interval '0'), -- default 0: none
    daily_cap         integer CHECK (daily_cap > 0),            -- default NULL: no cap
    CONSTRAINT company_policies_one_low_water_rule
        CHECK (low_water_count IS NULL OR low_water_share IS NULL),
    -- Since 0.4.1 (set_pool_rules): quarantine a number whose answer rate over its last
    -- health_min_calls outcomes is below quarantine_below times its company's, for
    -- quarantine_for. Default: off (quarantine_below NULL), 20 calls, 7 days.
    quarantine_below  numeric CHECK (quarantine_below > 0 AND quarantine_below <= 1),
    health_min_calls  integer CHECK (health_min_calls BETWEEN 4 AND 1000),
    quarantine_for    interval CHECK (quarantine_for > interval '0'),
    -- Since 0.4.1 (set_pool_rules): the company whose pool lends a number when this one has
    -- none to give. One level: set_pool_rules refuses a company that overflows itself or
    -- receives overflow, and an assignment never follows a second level. Default: none.
    overflow_company  text CHECK (btrim(overflow_company) <> '' AND overflow_company <> company)
);

COMMENT ON TABLE company_policies IS
    'Per-company rules; change them with set_company_policy() and set_pool_rules(). NULL means the default.';

-- The default of every per-company rule, the one place the defaults live: company_policy()
-- and the monitoring views read them (a view may read this view without its readers needing a
-- grant on it; a function they would need EXECUTE on). A NULL column of company_policies means
-- "this default". The share stays numeric, so 0.2 of 15 numbers is 3 in pool_alerts too.
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

-- The effective policy of any company, defaults included (_policy_defaults): every statement
-- of the Rust code reads a company's rules here. overflow_company and quarantine_below (since
-- 0.4.1) have no default: NULL, none (quarantine off). The views apply _policy_defaults
-- themselves: their readers may not call this function (owner only).
-- Plain SQL without SET options so the planner inlines it into the statements that use it.
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

-- Companies whose low-water alert is out (pg_notify sent, pool not above its mark since):
-- the next alert waits until an assignment finds the pool above its mark again.
CREATE TABLE pool_alert_state (
    company    text PRIMARY KEY,
    alerted_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE pool_alert_state IS
    'Companies with a low-water alert out; maintained by assign_phone_number.';

-- The first instant of the day after `instant`'s local day in `time_zone`. Postgres' time-zone
-- database makes this right on days of 23 or 25 hours.
CREATE FUNCTION _local_day_end(instant timestamptz, time_zone text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (pg_catalog.date_trunc('day', $1 AT TIME ZONE $2) OPERATOR(pg_catalog.+) interval '1 day')
           AT TIME ZONE $2
$$;

-- How many active numbers each company has: the base of its low-water mark, read by every
-- assignment. Counting them on each call would cost in proportion to the pool; this table is
-- kept by the triggers below instead, which fire only when numbers are added, removed,
-- retired, reactivated or moved (never on a hold or a release). Derived data, so pg_dump
-- leaves it out; restoring the pool's rows fills it again through the same triggers, and an
-- assignment counts the pool itself for a company that has no row here.
CREATE TABLE company_pool_sizes (
    company text PRIMARY KEY,
    active  bigint NOT NULL
);

COMMENT ON TABLE company_pool_sizes IS
    'Active numbers per company, kept by triggers on signalwire_phone_numbers; read by assign_phone_number.';

-- Add `delta` active numbers to each company of `changes`. Deltas rather than recounts: two
-- transactions changing one company's numbers at once wait for each other on its row here
-- and both changes count.
CREATE FUNCTION _add_pool_sizes(changes jsonb) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    WITH change AS (
        SELECT c.key AS company, c.value::bigint AS delta FROM jsonb_each_text($1) AS c
    ), counted AS (
        UPDATE company_pool_sizes AS s SET active = s.active + change.delta
        FROM change WHERE s.company = change.company
        RETURNING s.company
    )
    -- A company new here is counted whole (after a restore with triggers disabled, its rows
    -- may predate this table's row). When two transactions add one at once, the second waits
    -- and adds its own count, which sees only its own rows.
    INSERT INTO company_pool_sizes AS s (company, active)
    SELECT change.company,
           (SELECT count(*) FROM signalwire_phone_numbers AS p
            WHERE p.assigned_broker_company = change.company AND p.status = 'active')
    FROM change
    WHERE change.company NOT IN (SELECT company FROM counted)
    ON CONFLICT (company) DO UPDATE SET active = s.active + excluded.active
$$;

-- SECURITY DEFINER: whoever changes the pool (a careless grant included) needs no rights here.
CREATE FUNCTION _count_pool_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM _add_pool_sizes((SELECT jsonb_object_agg(company, n) FROM (
            SELECT assigned_broker_company AS company, count(*) AS n FROM added_rows
            WHERE status = 'active' GROUP BY 1) AS c));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM _add_pool_sizes((SELECT jsonb_object_agg(company, -n) FROM (
            SELECT assigned_broker_company AS company, count(*) AS n FROM removed_rows
            WHERE status = 'active' GROUP BY 1) AS c));
    ELSIF TG_OP = 'UPDATE' THEN
        -- One row: it leaves its old company's active count and joins its new one's.
        PERFORM _add_pool_sizes(jsonb_build_object(OLD.assigned_broker_company,
                                                   -(OLD.status = 'active')::int));
        PERFORM _add_pool_sizes(jsonb_build_object(NEW.assigned_broker_company,
                                                   (NEW.status = 'active')::int));
    ELSE -- TRUNCATE
        DELETE FROM company_pool_sizes;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER signalwire_phone_numbers_count_added
    AFTER INSERT ON signalwire_phone_numbers REFERENCING NEW TABLE AS added_rows
    FOR EACH STATEMENT EXECUTE FUNCTION _count_pool_rows();
CREATE TRIGGER signalwire_phone_numbers_count_removed
    AFTER DELETE ON signalwire_phone_numbers REFERENCING OLD TABLE AS removed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION _count_pool_rows();
-- "UPDATE OF": a hold or a release sets neither column, so this trigger is not even looked at.
CREATE TRIGGER signalwire_phone_numbers_count_moved
    AFTER UPDATE OF status, assigned_broker_company ON signalwire_phone_numbers FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.assigned_broker_company IS DISTINCT FROM NEW.assigned_broker_company)
    EXECUTE FUNCTION _count_pool_rows();
CREATE TRIGGER signalwire_phone_numbers_count_truncated
    AFTER TRUNCATE ON signalwire_phone_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION _count_pool_rows();

-- The operator's CRM tables, when registered with register_crm_tables(): at most one row.
CREATE TABLE crm_tables (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    leads         regclass NOT NULL,
    interactions  regclass NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE crm_tables IS
    'CRM tables that assign_phone_number also updates; set with register_crm_tables().';

-- Nobody but the owner touches the tables directly; callers get EXECUTE on the API.
REVOKE ALL ON signalwire_phone_numbers, phone_number_ledger, company_policies, crm_tables,
              pool_alert_state, company_pool_sizes, lead_numbers FROM PUBLIC;
REVOKE ALL ON SEQUENCE phone_number_ledger_id_seq FROM PUBLIC;

-- Row level security with no policies: a role that is granted a table by mistake (say, a
-- blanket GRANT to Supabase's anon) still sees no rows and can add or change none. The owner,
-- and so the SECURITY DEFINER API and the monitoring views, are not affected.
ALTER TABLE signalwire_phone_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE phone_number_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE company_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE pool_alert_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE company_pool_sizes ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_numbers ENABLE ROW LEVEL SECURITY;

-- Extension tables are skipped by pg_dump unless marked as configuration.
SELECT pg_catalog.pg_extension_config_dump('signalwire_phone_numbers', '');
SELECT pg_catalog.pg_extension_config_dump('phone_number_ledger', '');
SELECT pg_catalog.pg_extension_config_dump('phone_number_ledger_default', '');
SELECT pg_catalog.pg_extension_config_dump('phone_number_ledger_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('company_policies', '');
SELECT pg_catalog.pg_extension_config_dump('crm_tables', '');
SELECT pg_catalog.pg_extension_config_dump('pool_alert_state', '');
SELECT pg_catalog.pg_extension_config_dump('lead_numbers', '');

-- Changes made with plain SQL instead of the API (the original guide's force release, a
-- hand-made hold, a DELETE of a held number) still reach the ledger, so its history stays
-- whole. There is deliberately no INSERT trigger: pg_restore loads held rows with COPY, and
-- a trigger would log them a second time (and collide with the restored ledger's ids). The API writes
-- its own, more precise ledger rows and marks its calls with pool_ext.in_api (set on its
-- functions), so these triggers skip them without running.
CREATE FUNCTION _log_direct_change() RETURNS trigger
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

CREATE TRIGGER signalwire_phone_numbers_direct_update
    AFTER UPDATE ON signalwire_phone_numbers FOR EACH ROW
    WHEN (OLD.currently_assigned_to IS DISTINCT FROM NEW.currently_assigned_to
          AND current_setting('pool_ext.in_api', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION _log_direct_change();
CREATE TRIGGER signalwire_phone_numbers_direct_delete
    AFTER DELETE ON signalwire_phone_numbers FOR EACH ROW
    WHEN (OLD.currently_assigned_to IS NOT NULL
          AND current_setting('pool_ext.in_api', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION _log_direct_change();

