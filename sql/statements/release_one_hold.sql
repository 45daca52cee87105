-- Release one hold now, with a ledger row naming why. $1 id, $2 holder, $3 reason,
-- $4 the call outcome to record (NULL: keep the last one). The caller has locked the row.
WITH released AS (
    UPDATE signalwire_phone_numbers
    SET assignment_status     = 'available',
        currently_assigned_to = NULL,
        release_at            = NULL,
        released_at           = clock_timestamp(),
        last_call_outcome     = coalesce($4, last_call_outcome)
    WHERE vapi_phone_number_id = $1 AND currently_assigned_to = $2
    RETURNING vapi_phone_number_id, number, assigned_broker_company
)
INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, $2, $3
FROM released
