-- Store pool rules; NULL keeps the stored value. A low-water count replaces a share and the
-- other way round; daily_cap 0 removes the cap, quarantine_below 0 turns the quarantine off,
-- overflow_company '' removes the overflow pool.
-- $1 company, $2 low_water_count, $3 low_water_share (text: numeric keeps 0.2 as given),
-- $4 local_presence, $5 cooldown, $6 daily_cap, $7 quarantine_below (text), $8
-- health_min_calls, $9 quarantine_for, $10 overflow_company.
INSERT INTO company_policies AS p
    (company, low_water_count, low_water_share, local_presence, cooldown, daily_cap,
     quarantine_below, health_min_calls, quarantine_for, overflow_company)
VALUES ($1, $2, $3::numeric, $4, $5, nullif($6, 0), nullif($7::numeric, 0), $8, $9,
        nullif($10, ''))
ON CONFLICT (company) DO UPDATE
SET low_water_count = CASE WHEN $2 IS NOT NULL THEN $2
                           WHEN $3 IS NOT NULL THEN NULL ELSE p.low_water_count END,
    low_water_share = CASE WHEN $3 IS NOT NULL THEN $3::numeric
                           WHEN $2 IS NOT NULL THEN NULL ELSE p.low_water_share END,
    local_presence  = coalesce($4, p.local_presence),
    cooldown        = coalesce($5, p.cooldown),
    daily_cap       = CASE WHEN $6 IS NULL THEN p.daily_cap ELSE nullif($6, 0) END,
    quarantine_below = CASE WHEN $7 IS NULL THEN p.quarantine_below
                            ELSE nullif($7::numeric, 0) END,
    health_min_calls = coalesce($8, p.health_min_calls),
    quarantine_for   = coalesce($9, p.quarantine_for),
    overflow_company = CASE WHEN $10 IS NULL THEN p.overflow_company ELSE nullif($10, '') END,
    updated_at      = now()
