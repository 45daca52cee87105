-- Store pool rules; NULL keeps the stored value. A low-water count replaces a share and the
-- other way round; daily_cap 0 removes the cap.
INSERT INTO company_policies AS p
    (company, low_water_count, low_water_share, local_presence, cooldown, daily_cap)
VALUES ($1, $2, $3::numeric, $4, $5, nullif($6, 0))
ON CONFLICT (company) DO UPDATE
SET low_water_count = CASE WHEN $2 IS NOT NULL THEN $2
                           WHEN $3 IS NOT NULL THEN NULL ELSE p.low_water_count END,
    low_water_share = CASE WHEN $3 IS NOT NULL THEN $3::numeric
                           WHEN $2 IS NOT NULL THEN NULL ELSE p.low_water_share END,
    local_presence  = coalesce($4, p.local_presence),
    cooldown        = coalesce($5, p.cooldown),
    daily_cap       = CASE WHEN $6 IS NULL THEN p.daily_cap ELSE nullif($6, 0) END,
    updated_at      = now()
