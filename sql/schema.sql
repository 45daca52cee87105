-- pool_ext schema: the pool table, its ledger, and what keeps both honest.
-- Everything here is created inside the extension's own schema (pool_ext, see pool_ext.control).

-- The pool. Column names are those of the original design so its SQL keeps working.
CREATE TABLE signalwire_phone_numbers (
    vapi_phone_number_id     text PRIMARY KEY
                             CHECK (btrim(vapi_phone_number_id) <> ''),
    number                   text NOT NULL UNIQUE
                             -- E.164: '+', a non-zero country digit, at most 15 digits in all.
                             CHECK (number ~ '^\+[1-9][0-9]{1,14}$'),
    name                     text,
    assigned_broker_company  text NOT NULL
                             CHECK (btrim(assigned_broker_company) <> ''),
    currently_assigned_to    uuid,          -- the lead holding the number
    assigned_at              timestamptz,   -- last assignment; kept after release for LRU order
    release_at               timestamptz,   -- when the current hold ends
    assignment_status        text NOT NULL DEFAULT 'available'
                             CHECK (assignment_status IN ('available', 'assigned')),
    last_call_outcome        text,
    appointment_scheduled_at timestamptz,
    status                   text NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'inactive')),
    notes                    text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    -- assigned <=> a holder and a release time; available <=> neither.
    CONSTRAINT signalwire_phone_numbers_hold_consistent CHECK (
        (assignment_status = 'assigned'  AND currently_assigned_to IS NOT NULL AND release_at IS NOT NULL)
     OR (assignment_status = 'available' AND currently_assigned_to IS NULL     AND release_at IS NULL)
    )
);

COMMENT ON TABLE signalwire_phone_numbers IS
    'Caller numbers of every broker company and who holds each. Change holds only through the pool_ext functions.';

-- The assignment path: one company's available numbers, least recently assigned first
-- (never-assigned numbers, with assigned_at NULL, come first).
CREATE INDEX idx_signalwire_pool_assignment
    ON signalwire_phone_numbers (assigned_broker_company, assignment_status, assigned_at NULLS FIRST);

-- A lead holds at most one number of a company: the sticky lookup, and the guarantee behind it.
CREATE UNIQUE INDEX idx_signalwire_pool_one_hold_per_lead
    ON signalwire_phone_numbers (currently_assigned_to, assigned_broker_company)
    WHERE currently_assigned_to IS NOT NULL;

-- Append-only history: one row per assignment and per release.
CREATE TABLE phone_number_ledger (
    id                   bigserial PRIMARY KEY,
    event                text NOT NULL CHECK (event IN ('assigned', 'released')),
    vapi_phone_number_id text NOT NULL,
    number               text NOT NULL,
    broker_company       text NOT NULL,
    lead_id              uuid NOT NULL,
    occurred_at          timestamptz NOT NULL DEFAULT now(),
    release_at           timestamptz,   -- the hold's scheduled end, for 'assigned' rows
    reason               text NOT NULL, -- why: 'assign', 'expired', ...
    actor                text NOT NULL DEFAULT session_user
);

COMMENT ON TABLE phone_number_ledger IS
    'Append-only history of every assignment and release; answers who held which number when.';

CREATE INDEX idx_phone_number_ledger_number_time
    ON phone_number_ledger (vapi_phone_number_id, occurred_at);
CREATE INDEX idx_phone_number_ledger_lead
    ON phone_number_ledger (lead_id);

-- The ledger is history: rows are added, never changed or removed.
CREATE FUNCTION phone_number_ledger_is_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'phone_number_ledger is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The ledger is the audit trail of assignments; keep it whole.';
END
$$;

CREATE TRIGGER phone_number_ledger_no_update_delete
    BEFORE UPDATE OR DELETE ON phone_number_ledger
    FOR EACH ROW EXECUTE FUNCTION phone_number_ledger_is_append_only();
CREATE TRIGGER phone_number_ledger_no_truncate
    BEFORE TRUNCATE ON phone_number_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION phone_number_ledger_is_append_only();

-- Nobody but the owner touches the tables directly; callers get EXECUTE on the API.
REVOKE ALL ON signalwire_phone_numbers, phone_number_ledger FROM PUBLIC;
REVOKE ALL ON SEQUENCE phone_number_ledger_id_seq FROM PUBLIC;

-- Extension tables are skipped by pg_dump unless marked as configuration.
SELECT pg_catalog.pg_extension_config_dump('signalwire_phone_numbers', '');
SELECT pg_catalog.pg_extension_config_dump('phone_number_ledger', '');
SELECT pg_catalog.pg_extension_config_dump('phone_number_ledger_id_seq', '');
