-- A company missing from company_pool_sizes: its active numbers, counted. A company with none
-- (one that lives on its overflow pool) gets its row of 0 here, so that its next assignments
-- read the row instead of counting again: its first numbers, when they come, add to that row
-- through the triggers (_add_pool_sizes), whichever transaction commits first. A company with
-- numbers but no row (a restore with triggers disabled) is counted on each call until its next
-- change of numbers adds the row, as before: keeping its count here could race with that
-- change and count its numbers twice. With the count, the company's low-water mark on it
-- (_low_water_mark). $1 company.
WITH counted AS (
    SELECT count(*) AS active FROM signalwire_phone_numbers
    WHERE assigned_broker_company = $1 AND status = 'active'
), kept AS (
    INSERT INTO company_pool_sizes (company, active)
    SELECT $1, 0 FROM counted WHERE counted.active = 0
    ON CONFLICT (company) DO NOTHING
)
SELECT counted.active,
       _low_water_mark(policy.low_water_count, policy.low_water_share, counted.active)
FROM counted, company_policy($1) AS policy
