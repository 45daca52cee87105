-- Benchmark fixtures, loaded into each benchmark database after CREATE EXTENSION pool_ext.
-- The baseline is the original design's plain SQL, kept here only to be measured against:
-- its table (the original columns and index, no triggers), its
-- `WITH ... FOR UPDATE SKIP LOCKED ... UPDATE` statement wrapped as a SQL function, and, since
-- 0.4.0 (issue 12's definition of the baseline), one audit row per assignment in a table shaped
-- like pool_ext's ledger, with the same indexes: pool_ext writes its ledger on every
-- assignment, so the comparison is of the assignment itself.
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

CREATE TABLE bench.baseline_audit (
    id                   bigserial PRIMARY KEY,
    event                text NOT NULL,
    vapi_phone_number_id text NOT NULL,
    number               text NOT NULL,
    broker_company       text NOT NULL,
    lead_id              uuid NOT NULL,
    occurred_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    release_at           timestamptz,
    reason               text NOT NULL,
    actor                text NOT NULL DEFAULT session_user
);
CREATE INDEX ON bench.baseline_audit (lead_id);
CREATE INDEX ON bench.baseline_audit (number, occurred_at);
CREATE INDEX ON bench.baseline_audit USING brin (occurred_at);

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
    , claimed AS (
    UPDATE bench.baseline_numbers s
    SET assignment_status = 'assigned',
        currently_assigned_to = p_lead,
        assigned_at = now(),
        release_at = now() + interval '18 hours'
    FROM available a
    WHERE s.vapi_phone_number_id = a.vapi_phone_number_id
    RETURNING s.vapi_phone_number_id, s.number, s.release_at
    ), audited AS (
    INSERT INTO bench.baseline_audit (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason)
    SELECT 'assigned', vapi_phone_number_id, number, p_company, p_lead, release_at, 'assign' FROM claimed
    )
    SELECT vapi_phone_number_id, number, release_at FROM claimed
$$;

CREATE FUNCTION bench.baseline_release(p_id text) RETURNS void
LANGUAGE sql AS $$
    WITH released AS (
        UPDATE bench.baseline_numbers
        SET assignment_status = 'available', currently_assigned_to = NULL, release_at = NULL
        WHERE vapi_phone_number_id = p_id
        RETURNING vapi_phone_number_id, number, assigned_broker_company
    )
    INSERT INTO bench.baseline_audit (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
    SELECT 'released', vapi_phone_number_id, number, assigned_broker_company,
           '00000000-0000-0000-0000-000000000000', 'manual'
    FROM released
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

-- One company named `company` with `numbers` numbers, in both tables (section 7).
CREATE PROCEDURE bench.load_company(company text, numbers int, first_number bigint)
LANGUAGE sql AS $$
    INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
    SELECT company || '-' || n, '+1' || (first_number + n), 'Line ' || n, company
    FROM generate_series(0, numbers - 1) AS n;
    INSERT INTO bench.baseline_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
    SELECT company || '-' || n, '+1' || (first_number + n), 'Line ' || n, company
    FROM generate_series(0, numbers - 1) AS n;
$$;

-- A CRM's tables as an operator would have them (sections 7 and 8): public.leads with `leads`
-- rows whose ids are md5(n::text)::uuid for n in 1..leads (pgbench scripts pick n at random),
-- and public.interactions referencing them. Owned by the superuser running the benchmark, as
-- register_crm_tables requires; not registered here.
CREATE PROCEDURE bench.create_crm(leads int)
LANGUAGE plpgsql AS $$
BEGIN
    -- plpgsql, not sql: a SQL body is parsed whole before it runs, so its INSERT could not see
    -- the table its CREATE TABLE makes.
    CREATE TABLE public.leads (
        id uuid PRIMARY KEY,
        email text,
        assigned_phone_number_id text,
        phone_assigned_at timestamptz);
    CREATE TABLE public.interactions (
        id bigserial PRIMARY KEY,
        lead_id uuid NOT NULL REFERENCES public.leads (id),
        type text NOT NULL,
        metadata jsonb,
        created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO public.leads (id, email)
    SELECT md5(n::text)::uuid, 'lead' || n || '@example.com' FROM generate_series(1, leads) AS n;
END
$$;
