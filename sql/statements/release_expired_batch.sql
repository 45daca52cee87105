-- Release up to $1 expired holds, oldest first, with a ledger row each. Rows locked by an
-- in-flight transaction (an assignment, an outcome being recorded) are skipped, never waited
-- for: the next run picks them up.
WITH expired AS (
    SELECT vapi_phone_number_id, currently_assigned_to AS lead_id, lead_company
    FROM signalwire_phone_numbers
    WHERE assignment_status = 'assigned' AND release_at <= now()
    ORDER BY release_at
    LIMIT $1
    FOR NO KEY UPDATE SKIP LOCKED
), released AS (
    UPDATE signalwire_phone_numbers AS pool
    SET assignment_status     = 'available',
        currently_assigned_to = NULL,
        release_at            = NULL,
        lead_company          = NULL,
        released_at           = clock_timestamp()
    FROM expired
    WHERE pool.vapi_phone_number_id = expired.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.assigned_broker_company, expired.lead_id,
              expired.lead_company
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, reason, lead_company)
    SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, lead_id, 'expired',
           lead_company
    FROM released
    RETURNING 1
)
SELECT count(*) FROM logged
