-- Who may call what. EXECUTE on every routine is revoked from PUBLIC (see lib.rs, finalize);
-- grant_pool_access hands a role one of three documented sets, so nobody has to list
-- signatures by hand. It runs with the caller's rights: only a role that may grant on the
-- extension's objects (its owner, a superuser) can use it.

-- The routines (or views) of each access level, as regprocedure / regclass text.
CREATE FUNCTION _pool_access_objects(access text)
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
