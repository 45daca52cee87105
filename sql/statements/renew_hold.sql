-- The lead's hold $4, locked, made to last at least the retention $3 from now; a longer hold
-- (a booked appointment) stays as it is. A renewal that moves the end writes a 'renewed'
-- ledger row. No row: the hold was released since LOOKUP read it.
-- $1 company, $2 lead, $3 retention, $4 the hold's vapi_phone_number_id.
WITH hold AS (
    SELECT p.vapi_phone_number_id, p.number, p.name, p.assigned_at, p.release_at
    FROM signalwire_phone_numbers AS p
    WHERE p.vapi_phone_number_id = $4 AND p.currently_assigned_to = $2
      AND p.assigned_broker_company = $1
    FOR NO KEY UPDATE
), stamp AS (
    SELECT clock_timestamp() + $3 AS until
), renewed AS (
    UPDATE signalwire_phone_numbers AS p
    SET release_at = stamp.until
    FROM hold, stamp
    WHERE p.vapi_phone_number_id = hold.vapi_phone_number_id AND hold.release_at < stamp.until
    RETURNING p.vapi_phone_number_id, p.number, p.release_at
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason)
    SELECT 'renewed', vapi_phone_number_id, number, $1, $2, release_at, 'repeat call'
    FROM renewed
)
SELECT hold.number, hold.name, hold.assigned_at, greatest(hold.release_at, stamp.until)
FROM hold, stamp
