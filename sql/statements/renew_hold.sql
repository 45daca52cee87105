-- The lead's hold $4, locked, made to last at least the retention from now; a longer hold
-- (a booked appointment) stays as it is. A renewal that moves the end writes a 'renewed'
-- ledger row. No row: the hold was released since LOOKUP read it. A number out of rotation
-- (retired, or quarantined for its answers) is returned as it is, never renewed: its hold runs
-- out at its release_at, and no one else is given it afterwards.
-- An overflow hold (lead_company set: the number lent by another company's pool) lasts by its
-- owner's retention, as it did when it was claimed; the lead's own company's is $3.
-- $1 the lead's company, $2 lead, $3 retention, $4 the hold's vapi_phone_number_id.
WITH hold AS (
    SELECT p.vapi_phone_number_id, p.number, p.name, p.assigned_at, p.release_at,
           p.assigned_broker_company, p.lead_company, p.status = 'active' AS in_rotation
    FROM signalwire_phone_numbers AS p
    WHERE p.vapi_phone_number_id = $4 AND p.currently_assigned_to = $2
      AND coalesce(p.lead_company, p.assigned_broker_company) = $1
    FOR NO KEY UPDATE
), stamp AS (
    SELECT clock_timestamp() + CASE WHEN hold.lead_company IS NULL THEN $3
                                    ELSE (SELECT o.retention
                                          FROM company_policy(hold.assigned_broker_company) AS o)
                               END AS until
    FROM hold
), renewed AS (
    UPDATE signalwire_phone_numbers AS p
    SET release_at = stamp.until
    FROM hold, stamp
    WHERE p.vapi_phone_number_id = hold.vapi_phone_number_id AND hold.release_at < stamp.until
      AND hold.in_rotation
    RETURNING p.vapi_phone_number_id, p.number, p.release_at, p.assigned_broker_company,
              p.lead_company
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason,
         lead_company)
    SELECT 'renewed', vapi_phone_number_id, number, assigned_broker_company, $2, release_at,
           'repeat call', lead_company
    FROM renewed
)
SELECT hold.number, hold.name, hold.assigned_at,
       CASE WHEN hold.in_rotation THEN greatest(hold.release_at, stamp.until) ELSE hold.release_at END,
       hold.assigned_broker_company, hold.lead_company IS NOT NULL
FROM hold, stamp
