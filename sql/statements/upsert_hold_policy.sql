-- Store a company's hold rules (set_company_policy); NULL keeps the stored value.
-- $1 company, $2 retention, $3 booked hold, $4 time zone.
INSERT INTO company_policies AS p (company, retention, booked_hold, time_zone)
VALUES ($1, $2, $3, $4)
ON CONFLICT (company) DO UPDATE
SET retention   = coalesce(EXCLUDED.retention, p.retention),
    booked_hold = coalesce(EXCLUDED.booked_hold, p.booked_hold),
    time_zone   = coalesce(EXCLUDED.time_zone, p.time_zone),
    updated_at  = now()
