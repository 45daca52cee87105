-- Quarantine number $1 (active now) until $3 from now, after the outcome of lead $2: a ledger
-- row saying why ($4) and one notification on pool_ext_quarantine (sent on commit, not on
-- rollback) with the number's and the company's answer rates ($5, $6) and its calls ($7).
-- $8: the lead's company when the number was lent to it (an overflow hold), else NULL.
-- Returns the rows it quarantined (0 when the number was not active).
WITH quarantined AS (
    UPDATE signalwire_phone_numbers
    SET status = 'quarantined', quarantined_until = now() + $3
    WHERE vapi_phone_number_id = $1 AND status = 'active'
    RETURNING vapi_phone_number_id, number, assigned_broker_company, quarantined_until
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, reason, lead_company)
    SELECT 'quarantined', vapi_phone_number_id, number, assigned_broker_company, $2, $4, $8
    FROM quarantined
)
SELECT count(pg_notify('pool_ext_quarantine', jsonb_build_object(
           'company', q.assigned_broker_company,
           'vapi_phone_number_id', q.vapi_phone_number_id,
           'number', q.number,
           'answer_rate', round($5::numeric, 3),
           'company_answer_rate', round($6::numeric, 3),
           'calls', $7,
           'quarantined_until', q.quarantined_until)::text))
FROM quarantined AS q
