-- Keep a hold until $2 after outcome $3 (appointment $4, or NULL to keep the one recorded).
WITH moved AS (
    UPDATE signalwire_phone_numbers
    SET release_at               = $2,
        last_call_outcome        = $3,
        appointment_scheduled_at = coalesce($4, appointment_scheduled_at)
    WHERE vapi_phone_number_id = $1
    RETURNING vapi_phone_number_id, number, assigned_broker_company, currently_assigned_to, release_at,
              lead_company
)
INSERT INTO phone_number_ledger
    (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason, lead_company)
SELECT 'outcome', vapi_phone_number_id, number, assigned_broker_company, currently_assigned_to,
       release_at, $3, lead_company
FROM moved
