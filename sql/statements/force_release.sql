-- One statement: lock the number (waiting for a transaction that is assigning it right now:
-- this is an operator's deliberate act), release it if held, and write the ledger row.
-- Returns (rows found, rows released). $1 id, $2 reason.
WITH target AS (
    SELECT vapi_phone_number_id, currently_assigned_to AS lead, lead_company
    FROM signalwire_phone_numbers
    WHERE vapi_phone_number_id = $1
    FOR NO KEY UPDATE
), released AS (
    UPDATE signalwire_phone_numbers AS p
    SET assignment_status = 'available', currently_assigned_to = NULL, release_at = NULL,
        lead_company = NULL, released_at = clock_timestamp()
    FROM target
    WHERE p.vapi_phone_number_id = target.vapi_phone_number_id AND target.lead IS NOT NULL
    RETURNING p.vapi_phone_number_id, p.number, p.assigned_broker_company, target.lead,
              target.lead_company
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, reason, lead_company)
    SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, lead, $2, lead_company
    FROM released
)
SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM released)
