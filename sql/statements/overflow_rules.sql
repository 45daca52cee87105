-- What a new overflow rule may not clash with (src/rules.rs, check_overflow): the overflow
-- pool's own overflow company, the companies that lend from this company already, and whether
-- the overflow pool has numbers. $1 company, $2 the overflow pool's company.
SELECT (SELECT cp.overflow_company FROM company_policies AS cp WHERE cp.company = $2),
       ARRAY(SELECT cp.company FROM company_policies AS cp
             WHERE cp.overflow_company = $1 ORDER BY cp.company),
       EXISTS (SELECT FROM signalwire_phone_numbers AS p
               WHERE p.assigned_broker_company = $2)
