-- Benchmark fixtures, loaded into each benchmark database after CREATE EXTENSION pool_ext.
-- The baseline is the original design's plain SQL, kept here only to be measured against:
-- its table (the original columns and index, no ledger, no triggers) and its
-- `WITH ... FOR UPDATE SKIP LOCKED ... UPDATE` statement wrapped as a SQL function.

CREATE SCHEMA bench;

CREATE TABLE bench.baseline_numbers (
    vapi_phone_number_id     text PRIMARY KEY,
    number                   text NOT NULL,
    name                     text,
    assigned_broker_company  text NOT NULL,
    currently_assigned_to    uuid,
    assigned_at              timestamptz,
    release_at               timestamptz,
    assignment_status        text DEFAULT 'available',
    last_call_outcome        text,
    appointment_scheduled_at timestamptz,
    status                   text DEFAULT 'active'
);
CREATE INDEX idx_baseline_pool_assignment
    ON bench.baseline_numbers (assigned_broker_company, assignment_status, assigned_at);

CREATE FUNCTION bench.baseline_assign(p_company text, p_lead uuid)
RETURNS TABLE (vapi_phone_number_id text, number text, release_at timestamptz)
LANGUAGE sql AS $$
    WITH available AS (
        SELECT b.vapi_phone_number_id
        FROM bench.baseline_numbers b
        WHERE b.assigned_broker_company = p_company
          AND b.assignment_status = 'available'
          AND b.status = 'active'
        ORDER BY b.assigned_at ASC NULLS FIRST
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE bench.baseline_numbers s
    SET assignment_status = 'assigned',
        currently_assigned_to = p_lead,
        assigned_at = now(),
        release_at = now() + interval '18 hours'
    FROM available a
    WHERE s.vapi_phone_number_id = a.vapi_phone_number_id
    RETURNING s.vapi_phone_number_id, s.number, s.release_at
$$;

CREATE FUNCTION bench.baseline_release(p_id text) RETURNS void
LANGUAGE sql AS $$
    UPDATE bench.baseline_numbers
    SET assignment_status = 'available', currently_assigned_to = NULL, release_at = NULL
    WHERE vapi_phone_number_id = p_id
$$;

-- The same numbers in both tables: `companies` companies named '<prefix><i>', `per_company`
-- numbers each.
CREATE PROCEDURE bench.load(prefix text, companies int, per_company int, first_number bigint)
LANGUAGE sql AS $$
    INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
    SELECT prefix || c || '-' || n, '+1' || (first_number + c::bigint * per_company + n), 'Line ' || n, prefix || c
    FROM generate_series(0, companies - 1) AS c, generate_series(0, per_company - 1) AS n;
    INSERT INTO bench.baseline_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
    SELECT prefix || c || '-' || n, '+1' || (first_number + c::bigint * per_company + n), 'Line ' || n, prefix || c
    FROM generate_series(0, companies - 1) AS c, generate_series(0, per_company - 1) AS n;
$$;

CREATE UNLOGGED TABLE bench.timings (impl text, ms double precision);

-- Server-side time of one assignment, measured inside the server around the call alone:
-- `n` cycles of (assign to a random company, record the time, release, commit).
CREATE PROCEDURE bench.server_side(impl text, n int, prefix text, companies int)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    id text;
    company text;
BEGIN
    DELETE FROM bench.timings WHERE timings.impl = server_side.impl;
    FOR i IN 1..n LOOP
        company := prefix || floor(random() * companies)::int;
        t0 := clock_timestamp();
        IF impl = 'pool_ext' THEN
            SELECT a.vapi_phone_number_id INTO id FROM pool_ext.assign_phone_number(company, gen_random_uuid()) a;
        ELSE
            SELECT a.vapi_phone_number_id INTO id FROM bench.baseline_assign(company, gen_random_uuid()) a;
        END IF;
        INSERT INTO bench.timings VALUES (impl, extract(epoch FROM clock_timestamp() - t0) * 1000);
        IF impl = 'pool_ext' THEN
            PERFORM pool_ext.force_release_phone_number(id, 'bench');
        ELSE
            PERFORM bench.baseline_release(id);
        END IF;
        COMMIT;
    END LOOP;
END
$$;
