-- Alerts and analytics: which pools are low, what each pool did hour by hour, and how long it
-- lasts at the recent rate. The runway's rule is in Rust (src/rules.rs, hours_until_dry()).

-- Companies at or under their low-water mark now, empty ones included: for a pg_cron check,
-- a dashboard, or to catch what a rolled-back notification never said. The mark is
-- _low_water_mark's (sql/schema.sql), the one every assignment reads, with the company's
-- share or _policy_defaults'.
CREATE VIEW pool_alerts AS
SELECT h.company,
       CASE WHEN h.available = 0 THEN 'empty' ELSE 'low' END AS level,
       h.available,
       size.active AS numbers,
       mark.low_water_mark,
       h.resting,
       h.at_cap,
       a.alerted_at,
       h.quarantined
FROM pool_health AS h
LEFT JOIN company_policies AS cp ON cp.company = h.company
CROSS JOIN _policy_defaults AS d
JOIN (
    SELECT assigned_broker_company, count(*) FILTER (WHERE status = 'active')
    FROM signalwire_phone_numbers GROUP BY assigned_broker_company
) AS size (company, active) ON size.company = h.company
CROSS JOIN LATERAL (
    SELECT _low_water_mark(cp.low_water_count, coalesce(cp.low_water_share, d.low_water_share),
                           size.active)
) AS mark (low_water_mark)
LEFT JOIN pool_alert_state AS a ON a.company = h.company
WHERE h.available <= mark.low_water_mark;

COMMENT ON VIEW pool_alerts IS
    'Companies whose assignable numbers are at or under their low-water mark (level low) or gone (level empty).';

-- The one place a company's low-water alert changes, for assign_phone_number and
-- check_pool_alerts alike. Each first takes the transaction-level advisory lock
-- (_lock_space('low_water_alert'), hashtext(company)) without waiting: a company whose alert another transaction
-- is changing right now is left to that transaction, so no caller waits and no two notify.
-- _raise_pool_alert takes the alert out and notifies (on commit) unless it is out already;
-- returns whether it notified. _rearm_pool_alert lets the next crossing alert again.
CREATE FUNCTION _raise_pool_alert(company text, available bigint, numbers bigint, mark bigint)
RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    WITH locked AS (
        SELECT pg_try_advisory_xact_lock(_lock_space('low_water_alert'), hashtext($1)) AS got
    ), raised AS (
        INSERT INTO pool_alert_state (company)
        SELECT $1 FROM locked WHERE locked.got
        ON CONFLICT (company) DO NOTHING
        RETURNING company
    )
    SELECT count(pg_notify('pool_ext_low_water',
                           jsonb_build_object('company', $1, 'available', greatest($2, 0),
                                              'total', $3, 'low_water_mark', $4)::text)) > 0
    FROM raised
$$;

CREATE FUNCTION _rearm_pool_alert(company text) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    DELETE FROM pool_alert_state
    WHERE pool_alert_state.company = $1
      AND pg_try_advisory_xact_lock(_lock_space('low_water_alert'), hashtext($1))
$$;

-- Send the low-water alerts no assignment sent, and re-arm pools that are above their mark
-- again. An assignment alerts when it sees its pool reach the mark, but it counts with its
-- own snapshot: when several callers take a company's last numbers at the same instant, each
-- may still see the others' numbers as free, and nobody alerts. Schedule this next to the
-- release job (README, "Alerts") and no crossing goes unsaid for longer than its schedule.
-- Returns how many alerts it sent.
CREATE FUNCTION check_pool_alerts() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    sent integer := 0;
    low record;
BEGIN
    PERFORM _rearm_pool_alert(s.company) FROM pool_alert_state AS s
    WHERE NOT EXISTS (SELECT FROM pool_alerts AS a WHERE a.company = s.company);
    FOR low IN SELECT * FROM pool_alerts WHERE alerted_at IS NULL ORDER BY company LOOP
        IF _raise_pool_alert(low.company, low.available, low.numbers, low.low_water_mark) THEN
            sent := sent + 1;
        END IF;
    END LOOP;
    RETURN sent;
END
$$;

-- Per company and hour, from the ledger: assignments, releases and outcomes recorded, the peak
-- of holds open at once, and that peak against the company's numbers in service now; and the
-- overflow use: `lent`, of the assignments, those for leads of companies that overflow into
-- this pool; `borrowed`, this company's leads given a number of its overflow pool (counted
-- there, not in this company's assignments). A company with an overflow pool but no numbers
-- of its own is listed with 0 numbers, for what it borrowed.
-- Refused assignments (an exhausted pool) are not here: the error rolls back anything the
-- call could record. Hours are those of the session's TimeZone.
CREATE FUNCTION pool_activity(
    company text DEFAULT NULL,
    since timestamptz DEFAULT now() - interval '24 hours',
    until timestamptz DEFAULT now()
) RETURNS TABLE (company text, hour timestamptz, assignments bigint, releases bigint,
                 outcomes bigint, peak_holds bigint, numbers bigint, peak_utilization_pct numeric,
                 lent bigint, borrowed bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
WITH companies AS (
    SELECT assigned_broker_company AS company,
           count(*) FILTER (WHERE status = 'active' OR assignment_status = 'assigned') AS numbers,
           count(*) FILTER (WHERE assignment_status = 'assigned') AS held_now
    FROM signalwire_phone_numbers
    WHERE pool_activity.company IS NULL OR assigned_broker_company = pool_activity.company
    GROUP BY assigned_broker_company
    UNION ALL
    SELECT cp.company, 0, 0
    FROM company_policies AS cp
    WHERE cp.overflow_company IS NOT NULL
      AND (pool_activity.company IS NULL OR cp.company = pool_activity.company)
      AND NOT EXISTS (SELECT FROM signalwire_phone_numbers AS p
                      WHERE p.assigned_broker_company = cp.company)
), change AS (
    -- +1 a hold begins, -1 it ends; outcome rows move a hold's end and change nothing here.
    SELECT l.broker_company AS company, l.occurred_at, l.id, l.event,
           CASE l.event WHEN 'assigned' THEN 1 WHEN 'released' THEN -1 ELSE 0 END AS delta,
           l.lead_company IS NOT NULL AS lent
    FROM phone_number_ledger AS l
    WHERE l.occurred_at >= since
      AND (pool_activity.company IS NULL OR l.broker_company = pool_activity.company)
), at_since AS (
    -- Holds open at `since`: those open now, less what changed after it.
    SELECT c.company, c.numbers,
           c.held_now - coalesce((SELECT sum(delta) FROM change WHERE change.company = c.company), 0)
               AS holds
    FROM companies AS c
), per_hour AS (
    SELECT company, hour,
           count(*) FILTER (WHERE event = 'assigned') AS assignments,
           count(*) FILTER (WHERE event = 'released') AS releases,
           count(*) FILTER (WHERE event = 'outcome') AS outcomes,
           count(*) FILTER (WHERE event = 'assigned' AND lent) AS lent,
           sum(delta) AS net,
           greatest(max(rise), 0) AS top_rise
    FROM (SELECT company, event, delta, lent, date_trunc('hour', occurred_at) AS hour,
                 sum(delta) OVER (PARTITION BY company, date_trunc('hour', occurred_at)
                                  ORDER BY occurred_at, id) AS rise
          FROM change WHERE occurred_at < until) AS within_hour
    GROUP BY company, hour
), borrowed AS (
    SELECT l.lead_company AS company, date_trunc('hour', l.occurred_at) AS hour, count(*) AS n
    FROM phone_number_ledger AS l
    WHERE l.occurred_at >= since AND l.occurred_at < until
      AND l.event = 'assigned' AND l.lead_company IS NOT NULL
      AND (pool_activity.company IS NULL OR l.lead_company = pool_activity.company)
    GROUP BY 1, 2
), grid AS (
    SELECT s.company, s.numbers, s.holds, g.hour, p.assignments, p.releases, p.outcomes,
           p.top_rise, p.lent, b.n AS borrowed,
           -- holds open as the hour begins: at `since`, plus every earlier hour's net change
           s.holds + coalesce(sum(p.net) OVER (PARTITION BY s.company ORDER BY g.hour), 0)
                   - coalesce(p.net, 0) AS at_start
    FROM at_since AS s
    CROSS JOIN generate_series(date_trunc('hour', since), until, interval '1 hour') AS g (hour)
    LEFT JOIN per_hour AS p ON p.company = s.company AND p.hour = g.hour
    LEFT JOIN borrowed AS b ON b.company = s.company AND b.hour = g.hour
    WHERE g.hour < until
)
SELECT company, hour, coalesce(assignments, 0), coalesce(releases, 0), coalesce(outcomes, 0),
       at_start + coalesce(top_rise, 0), numbers,
       round(100.0 * (at_start + coalesce(top_rise, 0)) / nullif(numbers, 0), 1),
       coalesce(lent, 0), coalesce(borrowed, 0)
FROM grid
ORDER BY company, hour
$$;

COMMENT ON FUNCTION pool_activity(text, timestamptz, timestamptz) IS
    'Per company and hour: assignments, releases, outcomes, peak holds at once, peak utilization of the numbers in service, and overflow lent and borrowed.';

-- How long each pool lasts: assignments per hour over the `recent` window, the holds that end
-- in each of the next 48 hours, and the hours until nothing is left to assign at that rate
-- (NULL: no recent demand, or not within 48 hours). An overflow pool's demand includes what
-- it lends (lent_per_hour, of assignments_per_hour); borrowed_per_hour is the company's leads
-- given its overflow pool's numbers, demand its own pool could not meet, and counted in its
-- hours_until_dry; a company with an overflow pool but no numbers of its own is listed too.
CREATE FUNCTION pool_runway(recent interval DEFAULT '3 hours')
RETURNS TABLE (company text, available bigint, assigned bigint, assignments_per_hour numeric,
               releases_next_24h bigint, hours_until_dry numeric, dry_at timestamptz,
               lent_per_hour numeric, borrowed_per_hour numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
WITH demand AS (
    SELECT broker_company AS company,
           count(*) / (extract(epoch FROM recent) / 3600.0) AS per_hour,
           count(*) FILTER (WHERE lead_company IS NOT NULL) / (extract(epoch FROM recent) / 3600.0)
               AS lent_per_hour
    FROM phone_number_ledger
    WHERE event = 'assigned' AND occurred_at > now() - recent
    GROUP BY broker_company
), borrowing AS (
    SELECT lead_company AS company,
           count(*) / (extract(epoch FROM recent) / 3600.0) AS per_hour
    FROM phone_number_ledger
    WHERE event = 'assigned' AND occurred_at > now() - recent AND lead_company IS NOT NULL
    GROUP BY lead_company
), ending AS (
    -- Overdue holds count in the first hour: the next release run frees them.
    SELECT assigned_broker_company AS company,
           greatest(floor(extract(epoch FROM release_at - now()) / 3600), 0)::int AS hour,
           count(*) AS holds
    FROM signalwire_phone_numbers
    WHERE assignment_status = 'assigned'
    GROUP BY 1, 2
), forecast AS (
    SELECT h.company, h.available, h.assigned, coalesce(d.per_hour, 0) AS per_hour,
           coalesce(d.lent_per_hour, 0) AS lent_per_hour,
           coalesce(b.per_hour, 0) AS borrowed_per_hour,
           r.next_24h,
           -- The company's own demand: its leads served by its overflow pool would have
           -- taken its own numbers, had it had any to give.
           _hours_until_dry(h.available, (coalesce(d.per_hour, 0) + coalesce(b.per_hour, 0))::float8,
                            r.by_hour) AS hours
    FROM (SELECT company, available, assigned FROM pool_health
          UNION ALL
          SELECT cp.company, 0, 0 FROM company_policies AS cp
          WHERE cp.overflow_company IS NOT NULL
            AND NOT EXISTS (SELECT FROM pool_health AS o WHERE o.company = cp.company)) AS h
    LEFT JOIN demand AS d ON d.company = h.company
    LEFT JOIN borrowing AS b ON b.company = h.company
    CROSS JOIN LATERAL (
        SELECT array_agg(coalesce(e.holds, 0) ORDER BY s.hour) AS by_hour,
               coalesce(sum(e.holds) FILTER (WHERE s.hour < 24), 0)::bigint AS next_24h
        FROM generate_series(0, 47) AS s (hour)
        LEFT JOIN ending AS e ON e.company = h.company AND e.hour = s.hour
    ) AS r
    WHERE recent > interval '0'
)
SELECT company, available, assigned, round(per_hour, 2), next_24h, round(hours::numeric, 1),
       now() + hours * interval '1 hour', round(lent_per_hour, 2), round(borrowed_per_hour, 2)
FROM forecast
ORDER BY hours NULLS LAST, company
$$;

COMMENT ON FUNCTION pool_runway(interval) IS
    'Per company: recent assignments per hour, holds ending in the next 24 hours, the hours until the pool runs dry at that rate, and overflow lent and borrowed per hour.';

REVOKE ALL ON pool_alerts FROM PUBLIC;
