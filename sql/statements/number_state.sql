-- The number as record_call_outcome returns it, after the outcome. $1 its id.
SELECT vapi_phone_number_id, number, assigned_broker_company, assignment_status,
       last_call_outcome, release_at
FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1
