-- The effective pool rules of a company, as set_pool_rules returns them (company_policy(),
-- defaults included). $1 company.
SELECT r.low_water_count, r.low_water_share::float8, r.local_presence, r.cooldown, r.daily_cap,
       r.quarantine_below::float8, r.health_min_calls, r.quarantine_for, r.overflow_company
FROM company_policy($1) AS r
