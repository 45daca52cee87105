-- One claim: the first free number of the choice, hold, ledger row and the lead's entry in
-- lead_numbers written together.
-- The choice (a placeholder) narrows the candidates; the ORDER BY matches idx_signalwire_pool_assignment (and
-- idx_signalwire_pool_free_area after its equality), so the scan stops at the first row it can
-- lock. The row is re-checked as it is now (another caller may have taken it since this
-- snapshot) and rows locked by transactions in flight are skipped, never waited for. The last
-- column says whether at least $7 assignable numbers are left beside the claimed one, for the
-- low-water alert (EXISTS, not a count: it costs less to set up on every call).
-- $1 company, $2 lead, $3 retention, $4 the cooldown's cutoff, $5 daily cap, $6 start of the
-- company's day, $7 how many assignable numbers left are "enough" (alert_scan_size), $8 the
-- choice's key (the previous number's id, or the area prefix), $9 the lead's company when it
-- is not $1 (an overflow claim; NULL: $1's own lead), $10 the customer's phone (only for the
-- CRM's interaction row).
-- With CRM tables registered (placeholder crm: sql/statements/crm_track.sql, else nothing), the
-- lead's row and the interaction are written by this same statement, from the claimed row, and
-- the last column counts the lead rows updated (placeholder crm_lead_rows; NULL without CRM):
-- one statement instead of three on the tracked path.
-- A number is taken only when _number_state (sql/schema.sql, inlined by the planner) calls it
-- available, as the view number_states does; the cooldown (placeholder rest_cutoff: $4, or NULL for the
-- lead's previous number, which may be given back while it rests) and the daily cap
-- (assignments_p and assignments_f: its count, or NULL for a company without a cap).
-- A template: src/assignment.rs fills in its placeholders (names in braces) once per backend.
WITH target AS (
    SELECT p.vapi_phone_number_id
    FROM signalwire_phone_numbers AS p
    WHERE p.assigned_broker_company = $1
      -- the free-number indexes' predicate, so that the scan walks one of them
      AND p.assignment_status = 'available' AND p.status = 'active'
      AND {choice}
      AND _number_state(p.assignment_status, p.status, p.released_at, {rest_cutoff},
                        {assignments_p}, $5) = 'available'
    ORDER BY p.assigned_at NULLS FIRST, p.vapi_phone_number_id
    LIMIT 1
    FOR NO KEY UPDATE SKIP LOCKED
), stamp AS (
    -- The moment of the claim, not the transaction's start: this snapshot already sees the
    -- release that freed the number, so the hold never seems to begin before that release.
    SELECT clock_timestamp() AS at
), claimed AS (
    UPDATE signalwire_phone_numbers AS pool
    SET assignment_status        = 'assigned',
        currently_assigned_to    = $2,
        lead_company             = $9,
        assigned_at              = stamp.at,
        release_at               = stamp.at + $3,
        last_call_outcome        = NULL,
        appointment_scheduled_at = NULL
    FROM target, stamp
    WHERE pool.vapi_phone_number_id = target.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.name, pool.assigned_at, pool.release_at
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, release_at, reason,
         lead_company)
    SELECT 'assigned', vapi_phone_number_id, number, $1, $2, assigned_at, release_at, 'assign', $9
    FROM claimed
), remembered AS (
    -- The lead's previous number from now on (lead_numbers, keyed by the lead's company).
    INSERT INTO lead_numbers AS n (company, lead_id, vapi_phone_number_id, assigned_at)
    SELECT coalesce($9, $1), $2, vapi_phone_number_id, assigned_at
    FROM claimed
    ON CONFLICT (company, lead_id) DO UPDATE
    SET vapi_phone_number_id = excluded.vapi_phone_number_id, assigned_at = excluded.assigned_at
){crm}
SELECT c.vapi_phone_number_id, c.number, c.name, c.assigned_at, c.release_at,
       EXISTS (SELECT FROM signalwire_phone_numbers AS f
               WHERE f.assigned_broker_company = $1
                 AND f.assignment_status = 'available' AND f.status = 'active'
                 AND _number_state(f.assignment_status, f.status, f.released_at, $4,
                                   {assignments_f}, $5) = 'available'
                 AND f.vapi_phone_number_id <> c.vapi_phone_number_id
               OFFSET $7 - 1),
       {crm_lead_rows}
FROM claimed AS c
