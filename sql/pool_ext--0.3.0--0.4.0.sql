-- pool_ext 0.3.0 -> 0.4.0, run by ALTER EXTENSION pool_ext UPDATE: the assignment rebuilt
-- (index lookups at any pool size, holds renewed on repeat calls, returning leads get their
-- number back, chosen_by), one hold per lead and company enforced by a unique index, and the
-- active-number counts the low-water mark reads.
-- Released with 0.4.0: never edit this file; later changes get a script of their own.
-- scripts/upgrade-test.sh checks that an upgraded database equals a fresh 0.4.0 install.

-- The unique index below cannot be built while a lead holds two numbers of one company (only
-- plain SQL could have made that). Say which, and change nothing.
DO $$
DECLARE
    twice text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s at %s', currently_assigned_to, assigned_broker_company), '; ')
    INTO twice
    FROM (SELECT currently_assigned_to, assigned_broker_company
          FROM @extschema@.signalwire_phone_numbers
          WHERE currently_assigned_to IS NOT NULL
          GROUP BY 1, 2 HAVING pg_catalog.count(*) > 1) AS d;
    IF twice IS NOT NULL THEN
        RAISE EXCEPTION 'pool_ext 0.4.0 allows one hold per lead and company; these leads hold several: %', twice
            USING ERRCODE = 'unique_violation',
                  HINT = 'Release the extra holds with pool_ext.force_release_phone_number() (see the view '
                         'pool_ext.double_assignments), then run ALTER EXTENSION pool_ext UPDATE again.';
    END IF;
END
$$;

-- The ledger records renewals too.
ALTER TABLE phone_number_ledger DROP CONSTRAINT phone_number_ledger_event_check;
ALTER TABLE phone_number_ledger ADD CONSTRAINT phone_number_ledger_event_check
    CHECK (event IN ('assigned', 'outcome', 'released', 'renewed'));

-- The assignment path (sql/schema.sql explains each).
CREATE UNIQUE INDEX idx_signalwire_pool_lead_hold
    ON signalwire_phone_numbers (currently_assigned_to, assigned_broker_company)
    WHERE currently_assigned_to IS NOT NULL;
DROP INDEX idx_signalwire_pool_assignment;
CREATE INDEX idx_signalwire_pool_assignment
    ON signalwire_phone_numbers (assigned_broker_company, assigned_at NULLS FIRST, vapi_phone_number_id)
    WHERE assignment_status = 'available' AND status = 'active';
CREATE INDEX idx_signalwire_pool_free_area
    ON signalwire_phone_numbers (assigned_broker_company, left(number, 5), assigned_at NULLS FIRST,
                                 vapi_phone_number_id)
    WHERE assignment_status = 'available' AND status = 'active';
ALTER TABLE signalwire_phone_numbers SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);

-- Active numbers per company, kept by triggers (sql/schema.sql).
CREATE TABLE company_pool_sizes (
    company text PRIMARY KEY,
    active  bigint NOT NULL
);

COMMENT ON TABLE company_pool_sizes IS
    'Active numbers per company, kept by triggers on signalwire_phone_numbers; read by assign_phone_number.';

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
CREATE TRIGGER signalwire_phone_numbers_count_moved
    AFTER UPDATE OF status, assigned_broker_company ON signalwire_phone_numbers FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.assigned_broker_company IS DISTINCT FROM NEW.assigned_broker_company)
    EXECUTE FUNCTION _count_pool_rows();
CREATE TRIGGER signalwire_phone_numbers_count_truncated
    AFTER TRUNCATE ON signalwire_phone_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION _count_pool_rows();

INSERT INTO company_pool_sizes (company, active)
SELECT assigned_broker_company, count(*) FILTER (WHERE status = 'active')
FROM signalwire_phone_numbers
GROUP BY assigned_broker_company;

REVOKE ALL ON company_pool_sizes FROM PUBLIC;
ALTER TABLE company_pool_sizes ENABLE ROW LEVEL SECURITY;

-- The mark's base is the company's active numbers, as the assignment reads it.
CREATE OR REPLACE VIEW pool_alerts AS
SELECT h.company,
       CASE WHEN h.available = 0 THEN 'empty' ELSE 'low' END AS level,
       h.available,
       size.active AS numbers,
       mark.low_water_mark,
       h.resting,
       h.at_cap,
       a.alerted_at
FROM pool_health AS h
LEFT JOIN company_policies AS cp ON cp.company = h.company
JOIN (
    SELECT assigned_broker_company, count(*) FILTER (WHERE status = 'active')
    FROM signalwire_phone_numbers GROUP BY assigned_broker_company
) AS size (company, active) ON size.company = h.company
CROSS JOIN LATERAL (
    SELECT coalesce(cp.low_water_count,
                    ceil(coalesce(cp.low_water_share, 0.2) * size.active))::bigint
) AS mark (low_water_mark)
LEFT JOIN pool_alert_state AS a ON a.company = h.company
WHERE h.available <= mark.low_water_mark;

-- assign_phone_number returns chosen_by: a new row type, so drop and create, keeping the
-- roles that could execute it.
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
	"area_code_matched" bool,
	"chosen_by" TEXT
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'assign_phone_number_wrapper';

REVOKE ALL ON FUNCTION _add_pool_sizes(jsonb), _count_pool_rows() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION assign_phone_number(text, uuid, text) FROM PUBLIC;

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

ALTER FUNCTION assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';
-- No JIT for the API's short statements (src/lib.rs says why).
ALTER FUNCTION assign_phone_number(text, uuid, text) SET jit = off;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_seqscan = off;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_bitmapscan = off;
ALTER FUNCTION release_expired_phone_numbers(bigint) SET jit = off;
ALTER FUNCTION force_release_phone_number(text, text) SET jit = off;
ALTER FUNCTION record_call_outcome(uuid, text, timestamptz, text) SET jit = off;

-- The initial privileges of every routine as a fresh install records them (the owner's
-- EXECUTE), so that pg_dump saves the grants re-made above (0.2.0 -> 0.3.0 says why).
UPDATE pg_catalog.pg_init_privs AS ip
SET initprivs = ARRAY[pg_catalog.makeaclitem(p.proowner, p.proowner, 'EXECUTE', false)]
FROM pg_catalog.pg_proc AS p
WHERE ip.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND ip.objoid = p.oid
  AND ip.objsubid = 0 AND p.pronamespace = '@extschema@'::pg_catalog.regnamespace;
