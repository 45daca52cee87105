-- The lead's hold(s) with everything the outcome rules need, locked. $1 lead, $2 the lead's
-- company or NULL. The rules are the number owner's (an overflow hold runs by the rules of the
-- pool that lent it); the last column is the lead's company.
SELECT p.vapi_phone_number_id, p.assigned_broker_company, now(),
       p.assigned_at + policy.retention,
       (extract(epoch FROM policy.booked_hold) * 1000000)::int8,
       _local_day_end(now(), policy.time_zone),
       coalesce(p.lead_company, p.assigned_broker_company)
FROM signalwire_phone_numbers AS p
CROSS JOIN LATERAL company_policy(p.assigned_broker_company) AS policy
WHERE p.currently_assigned_to = $1
  AND ($2::text IS NULL OR coalesce(p.lead_company, p.assigned_broker_company) = $2)
ORDER BY coalesce(p.lead_company, p.assigned_broker_company)
FOR NO KEY UPDATE OF p
