-- The effective pool rules of a company, as set_pool_rules returns them: company_policy()'s,
-- and the health rules with their defaults (_policy_defaults). $1 company.
SELECT r.low_water_count, r.low_water_share::float8, r.local_presence, r.cooldown, r.daily_cap,
       cp.quarantine_below::float8,
       coalesce(cp.health_min_calls, d.health_min_calls),
       coalesce(cp.quarantine_for, d.quarantine_for),
       cp.overflow_company
FROM company_policy($1) AS r
CROSS JOIN _policy_defaults AS d
LEFT JOIN company_policies AS cp ON cp.company = $1
