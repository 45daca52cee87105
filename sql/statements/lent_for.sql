-- The lead's company of a hold of the owner's number lent to the lead (an overflow hold), for
-- an outcome that names the owner. $1 lead, $2 the number's owner.
SELECT lead_company FROM signalwire_phone_numbers
WHERE currently_assigned_to = $1 AND assigned_broker_company = $2
  AND lead_company IS NOT NULL
ORDER BY lead_company LIMIT 1
