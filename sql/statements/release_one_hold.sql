-- Release one hold now, with a ledger row naming why. $1 id, $2 holder, $3 reason,
-- $4 the call outcome to record (NULL: keep the last one). The caller has locked the row.
WITH hold AS (
    -- As it was: an overflow hold's lead company goes into the ledger row.
    SELECT vapi_phone_number_id, lead_company
    FROM signalwire_phone_numbers
    WHERE vapi_phone_number_id = $1 AND currently_assigned_to = $2
), released AS (
    UPDATE signalwire_phone_numbers AS p
    SET assignment_status     = 'available',
        currently_assigned_to = NULL,
        release_at            = NULL,
        lead_company          = NULL,
        released_at           = clock_timestamp(),
        last_call_outcome     = coalesce($4, p.last_call_outcome)
    FROM hold
    WHERE p.vapi_phone_number_id = hold.vapi_phone_number_id
    RETURNING p.vapi_phone_number_id, p.number, p.assigned_broker_company, hold.lead_company
)
INSERT INTO phone_number_ledger
    (event, vapi_phone_number_id, number, broker_company, lead_id, reason, lead_company)
SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, $2, $3, lead_company
FROM released
