-- A call's outcome into its number's health window (sql/health.sql), with its company's calls
-- and answers over the same period, and what the quarantine rule needs to judge it: the
-- number's calls and answers, the company's (this number's window included), the rule.
-- $1 number, $2 its company, $3 answered (any outcome but no_answer).
-- The window keeps the last health_min_calls outcomes; one of another company (the number
-- moved) starts again. The period is the new window's: from its first outcome on.
WITH rules AS (
    SELECT policy.quarantine_below::float8 AS quarantine_below,
           policy.health_min_calls AS size,
           policy.quarantine_for
    FROM company_policy($2) AS policy
), previous AS (
    SELECT answered, called_at FROM number_health_windows
    WHERE vapi_phone_number_id = $1 AND company = $2
), new_window AS (
    SELECT joined.answered[greatest(cardinality(joined.answered) + 1 - rules.size, 1):] AS answered,
           joined.called_at[greatest(cardinality(joined.called_at) + 1 - rules.size, 1):] AS called_at
    FROM rules
    CROSS JOIN LATERAL (
        SELECT coalesce((SELECT answered FROM previous), '{}') || $3::boolean AS answered,
               coalesce((SELECT called_at FROM previous), '{}') || clock_timestamp() AS called_at
    ) AS joined
), mine AS (
    SELECT cardinality(new_window.answered)::bigint AS calls,
           (SELECT count(*) FROM unnest(new_window.answered) AS a WHERE a) AS answered,
           new_window.called_at[1] AS since
    FROM new_window
), whole_company AS (
    -- The other numbers' outcomes of the period, as this statement's snapshot has them. Each
    -- window's times are in order (appended as they happen), so the period's outcomes are its
    -- last ones: width_bucket finds where they begin by binary search (the count of times
    -- before `since`), and array_positions counts their answers; no outcome is read as a row
    -- of its own (reading them one by one cost 12 ms per outcome in a company of 2,000
    -- numbers: bench/RESULTS.md, section 10).
    SELECT mine.calls + coalesce(sum(o.calls), 0) AS calls,
           mine.answered + coalesce(sum(o.answered), 0) AS answered
    FROM mine
    LEFT JOIN LATERAL (
        SELECT cardinality(w.called_at) - b.before AS calls,
               cardinality(array_positions(w.answered[b.before + 1:], true)) AS answered
        FROM number_health_windows AS w
        CROSS JOIN LATERAL (
            SELECT width_bucket(mine.since - interval '1 microsecond', w.called_at) AS before
        ) AS b
        WHERE w.company = $2 AND w.vapi_phone_number_id <> $1
    ) AS o ON true
    GROUP BY mine.calls, mine.answered
), stored AS (
    INSERT INTO number_health_windows AS w
        (vapi_phone_number_id, company, answered, called_at, company_calls, company_answered)
    SELECT $1, $2, new_window.answered, new_window.called_at, whole_company.calls, whole_company.answered
    FROM new_window, whole_company
    ON CONFLICT (vapi_phone_number_id) DO UPDATE
    SET company = excluded.company, answered = excluded.answered, called_at = excluded.called_at,
        company_calls = excluded.company_calls, company_answered = excluded.company_answered
)
SELECT mine.calls, mine.answered, whole_company.calls, whole_company.answered,
       rules.quarantine_below, rules.size::bigint, rules.quarantine_for
FROM mine, whole_company, rules
