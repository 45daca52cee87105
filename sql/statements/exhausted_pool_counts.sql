-- Why a pool has nothing to give, counted only when that happens: pool_health's counts (the
-- states are _number_state's). No row: the company has no numbers at all. $1 company.
SELECT assigned, inactive, resting, at_cap, quarantined, total
FROM pool_health WHERE company = $1
