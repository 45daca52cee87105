-- Monitoring: views and a lookup for DBAs, dashboards and the on-call person.
-- Views run with their owner's rights: grant SELECT on them to monitoring roles, not on the tables.

-- Every number's state now, by its company's rules: assigned, inactive (retired),
-- quarantined (its answers fell behind its company's: sql/health.sql), resting
-- (in the cooldown after a release), at_cap (the daily cap reached: assignments in the ledger
-- since the start of the company's day) or available (the next assignment may take it).
-- The state is _number_state's (sql/schema.sql), which every claim reads too
-- (sql/statements/claim_number.sql): what this view calls available is what an assignment may
-- take. The defaults come from
-- _policy_defaults: a view must not call a function its readers would need EXECUTE on
-- (company_policy()).
-- The day's assignments are counted only where they matter: for the state, only under a
-- daily cap (`capped`, a subquery with an aggregate: planned once per row, never copied into
-- each use of `state`, and skipped when the cap is NULL); as assignments_today, only when a
-- query reads that column (pool_health does not). A busy number has thousands of ledger rows a
-- day, and an exhausted pool's error reads pool_health: counting them for every number of a
-- company without a cap cost 85 ms per refusal in a hot pool (bench/RESULTS.md, "What 0.4.1
-- changed").
CREATE VIEW number_states AS
SELECT p.assigned_broker_company AS company, p.vapi_phone_number_id, p.number,
       _number_state(p.assignment_status, p.status, p.released_at, rules.rest_cutoff,
                     capped.assignments, rules.daily_cap) AS state,
       p.currently_assigned_to AS lead_id,
       p.release_at,
       CASE WHEN p.released_at > rules.rest_cutoff THEN p.released_at + rules.cooldown END
           AS resting_until,
       CASE WHEN rules.daily_cap IS NOT NULL THEN capped.assignments
            ELSE (SELECT count(*) FROM phone_number_ledger AS l
                  WHERE l.number = p.number AND l.broker_company = p.assigned_broker_company
                    AND l.event = 'assigned' AND l.occurred_at >= rules.day_start)
       END AS assignments_today,
       rules.daily_cap,
       p.quarantined_until,
       -- an overflow hold: the lead's company, which borrowed this number (NULL: the owner's)
       p.lead_company
FROM signalwire_phone_numbers AS p
LEFT JOIN company_policies AS cp ON cp.company = p.assigned_broker_company
CROSS JOIN _policy_defaults AS d
CROSS JOIN LATERAL (
    SELECT coalesce(cp.cooldown, d.cooldown) AS cooldown,
           now() - coalesce(cp.cooldown, d.cooldown) AS rest_cutoff,
           cp.daily_cap,
           date_trunc('day', now() AT TIME ZONE coalesce(cp.time_zone, d.time_zone))
               AT TIME ZONE coalesce(cp.time_zone, d.time_zone) AS day_start
) AS rules
CROSS JOIN LATERAL (
    SELECT count(*) AS assignments
    FROM phone_number_ledger AS l
    WHERE rules.daily_cap IS NOT NULL
      AND l.number = p.number AND l.broker_company = p.assigned_broker_company
      AND l.event = 'assigned' AND l.occurred_at >= rules.day_start
) AS capped;

COMMENT ON VIEW number_states IS
    'Each number: assigned, inactive, quarantined, resting (cooldown), at_cap (daily cap) or available, by its company''s rules.';

-- "Why is this pool empty?": one row per company.
-- available + assigned + inactive + resting + at_cap + quarantined = total; lent: of the
-- assigned, those held for leads of companies that overflow into this one.
CREATE VIEW pool_health AS
SELECT company,
       count(*) FILTER (WHERE state = 'available') AS available,
       count(*) FILTER (WHERE state = 'assigned') AS assigned,
       count(*) FILTER (WHERE state = 'inactive') AS inactive,
       count(*) AS total,
       round(100.0 * count(*) FILTER (WHERE state = 'assigned')
             / nullif(count(*) FILTER (WHERE state NOT IN ('inactive', 'quarantined')), 0), 1)
           AS utilization_pct,
       count(*) FILTER (WHERE state = 'assigned' AND release_at <= now()) AS overdue,
       count(*) FILTER (WHERE state = 'resting') AS resting,
       count(*) FILTER (WHERE state = 'at_cap') AS at_cap,
       count(*) FILTER (WHERE state = 'quarantined') AS quarantined,
       count(*) FILTER (WHERE state = 'assigned' AND lead_company IS NOT NULL) AS lent
FROM number_states
GROUP BY company;

COMMENT ON VIEW pool_health IS
    'Per company: available (assignable now), assigned, inactive (retired, free), total, utilization of usable numbers, holds overdue for release, resting (cooldown), at_cap (daily cap), quarantined (free).';

-- Assignments of the last 24 hours, newest first, with the hold's current state. company owns
-- the number; lead_company is the lead's company when the number was lent to it (NULL: the
-- owner's own lead).
CREATE VIEW recent_assignments AS
SELECT l.occurred_at AS assigned_at,
       l.broker_company AS company,
       l.vapi_phone_number_id,
       l.number,
       l.lead_id,
       l.release_at AS scheduled_release_at,
       (p.currently_assigned_to IS NOT DISTINCT FROM l.lead_id) AS still_held,
       l.actor,
       l.lead_company
FROM phone_number_ledger AS l
LEFT JOIN signalwire_phone_numbers AS p USING (vapi_phone_number_id)
WHERE l.event = 'assigned' AND l.occurred_at > now() - interval '24 hours'
ORDER BY l.id DESC;

-- Holds whose time is up but that no release has freed yet (is the pg_cron job running?).
CREATE VIEW overdue_holds AS
SELECT vapi_phone_number_id, number, assigned_broker_company AS company,
       currently_assigned_to AS lead_id, assigned_at, release_at,
       now() - release_at AS overdue_by,
       lead_company  -- a lent hold's borrower (NULL: the owner's own lead)
FROM signalwire_phone_numbers
WHERE assignment_status = 'assigned' AND release_at <= now()
ORDER BY release_at;

-- Must always be empty. Two checks: a lead holding several numbers of one company now, and
-- a number the ledger shows assigned twice without a release in between (ever). The lead's
-- company: an overflow hold counts with the lead's own holds.
CREATE VIEW double_assignments AS
SELECT 'lead holds several numbers of one company'::text AS problem,
       coalesce(lead_company, assigned_broker_company) AS company,
       currently_assigned_to AS lead_id,
       string_agg(vapi_phone_number_id, ', ' ORDER BY vapi_phone_number_id) AS vapi_phone_number_ids
FROM signalwire_phone_numbers
WHERE currently_assigned_to IS NOT NULL
GROUP BY coalesce(lead_company, assigned_broker_company), currently_assigned_to
HAVING count(*) > 1
UNION ALL
SELECT 'number assigned again before it was released', broker_company, lead_id, vapi_phone_number_id
FROM (SELECT broker_company, lead_id, vapi_phone_number_id, event,
             lag(event) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS previous_event
      FROM phone_number_ledger
      WHERE event IN ('assigned', 'released')) AS history
WHERE event = 'assigned' AND previous_event = 'assigned';

-- Who held phone number `phone` at `at_time`: the latest assignment at or before that time,
-- whether or not it had ended by then, so an inbound callback to a released number still
-- reaches the lead and broker it last called for. held_at_time says whether the hold was live.
-- company is the lead's: for an overflow hold, the company that borrowed the number.
-- Month by month, newest first (the ledger is partitioned by month): a callback finds its hold
-- in the first month or two, each one partition's (number, occurred_at) index, however many
-- months the ledger keeps; only a number without a hold before at_time walks back to its first
-- row. PL/pgSQL, so that the plans are kept for the session: a SQL function's would be made
-- again on every call, over every partition. Months of UTC, as the partitions' (TimeZone).
CREATE FUNCTION who_held_number(phone text, at_time timestamptz DEFAULT now())
RETURNS TABLE (lead_id uuid, company text, vapi_phone_number_id text,
               assigned_at timestamptz, released_at timestamptz, held_at_time boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp
SET TimeZone = 'UTC' AS $$
#variable_conflict use_column
DECLARE
    month_start timestamptz := date_trunc('month', at_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    first_seen timestamptz;
BEGIN
    LOOP
        RETURN QUERY
        SELECT a.lead_id, coalesce(a.lead_company, a.broker_company), a.vapi_phone_number_id,
               a.occurred_at, r.occurred_at,
               r.occurred_at IS NULL OR r.occurred_at > at_time
        FROM phone_number_ledger AS a
        LEFT JOIN LATERAL (
            SELECT r.occurred_at FROM phone_number_ledger AS r
            WHERE r.number = a.number AND r.occurred_at >= a.occurred_at
              AND r.event = 'released' AND r.id > a.id
            -- in the order of the (number, occurred_at) index: the first release after the
            -- hold is its first row, however long the number's later history
            ORDER BY r.occurred_at, r.id LIMIT 1
        ) AS r ON true
        WHERE a.number = phone AND a.event = 'assigned'
          AND a.occurred_at <= at_time AND a.occurred_at >= month_start
        ORDER BY a.occurred_at DESC, a.id DESC
        LIMIT 1;
        EXIT WHEN FOUND;
        IF first_seen IS NULL THEN
            first_seen := (SELECT min(l.occurred_at) FROM phone_number_ledger AS l WHERE l.number = phone);
            EXIT WHEN first_seen IS NULL;
        END IF;
        EXIT WHEN month_start <= first_seen;
        month_start := month_start - interval '1 month';
    END LOOP;
END
$$;

REVOKE ALL ON number_states, pool_health, recent_assignments, overdue_holds, double_assignments FROM PUBLIC;
