-- Helpers the later files share (one database for the whole schedule, so they are defined once,
-- here, in schema public):
--   expect_error(what, statement)  runs a statement that must fail, inside its own
--       subtransaction, and returns its error as one row: what, sqlstate, message, detail, hint.
--       Timestamps in the texts are masked as <timestamp>. A statement that does NOT fail
--       returns sqlstate NULL and a message starting with '*** NO ERROR', and its changes stay.
--   pool_snapshot()  a fingerprint of everything a failed call must leave alone: pool rows,
--       ledger, policies, CRM registration, low-water alert state (tests/common, snapshot()).
--   pool_invariants()  the ledger and pool invariants of tests/common (assert_pool_invariants):
--       one row per check with its number of violations, all 0 when the history is sound.
--   forget_companies(company, ...)  the end of each file: releases the companies' holds through
--       the API, then removes their numbers, policies and alert state, so that every file starts
--       with an empty pool (the ledger is append-only and keeps its rows; files read it by
--       company or lead).
-- This file also proves the helpers themselves: a failing statement gives its SQLSTATE and
-- texts, a succeeding one the marker, and the snapshot tells a change.

CREATE TYPE error_report AS (what text, sqlstate text, message text, detail text, hint text);

-- ISO timestamps (each file sets DateStyle ISO) such as 2026-12-01 15:00:00.123456+00.
CREATE FUNCTION mask_timestamps(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(t, '\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d)?)?',
                          '<timestamp>', 'g')
$$;

CREATE FUNCTION expect_error(what text, statement text) RETURNS error_report
LANGUAGE plpgsql AS $$
DECLARE
    err_code text;
    err_message text;
    err_detail text;
    err_hint text;
BEGIN
    BEGIN
        EXECUTE statement;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_code = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
        RETURN ROW(what, err_code, mask_timestamps(err_message),
                   mask_timestamps(nullif(err_detail, '')),
                   mask_timestamps(nullif(err_hint, '')))::error_report;
    END;
    RETURN ROW(what, NULL, '*** NO ERROR: the statement succeeded, it should have failed ***',
               NULL, NULL)::error_report;
END
$$;

CREATE FUNCTION pool_snapshot() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT concat_ws(' / ',
        (SELECT md5(coalesce(string_agg(p::text, '|' ORDER BY p.vapi_phone_number_id), ''))
           FROM pool_ext.signalwire_phone_numbers p),
        (SELECT count(*)::text || ':' || coalesce(max(id), 0)::text FROM pool_ext.phone_number_ledger),
        (SELECT md5(coalesce(string_agg(c::text, '|' ORDER BY c.company), ''))
           FROM pool_ext.company_policies c),
        (SELECT md5(coalesce(string_agg(t::text, '|'), '')) FROM pool_ext.crm_tables t),
        (SELECT md5(coalesce(string_agg(a.company, '|' ORDER BY a.company), ''))
           FROM pool_ext.pool_alert_state a))
$$;

CREATE FUNCTION pool_invariants() RETURNS TABLE (invariant text, violations bigint)
LANGUAGE sql STABLE AS $$
    -- Per number, ledger events alternate assigned, released, ... starting with assigned.
    SELECT 'assigned twice without a release between', count(*)
    FROM (SELECT event, lag(event) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS previous
          FROM pool_ext.phone_number_ledger WHERE event IN ('assigned', 'released')) AS history
    WHERE event = previous OR (previous IS NULL AND event <> 'assigned')
    UNION ALL
    -- Each release names the lead of the assignment before it.
    SELECT 'release names another lead than the holder', count(*)
    FROM (SELECT event, lead_id, lag(lead_id) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS holder
          FROM pool_ext.phone_number_ledger WHERE event IN ('assigned', 'released')) AS history
    WHERE event = 'released' AND lead_id <> holder
    UNION ALL
    -- A number is held exactly when its last event is an assignment, and by that lead.
    SELECT 'pool state and ledger disagree', count(*)
    FROM pool_ext.signalwire_phone_numbers AS pool
    LEFT JOIN LATERAL (
        SELECT event, lead_id FROM pool_ext.phone_number_ledger AS l
        WHERE l.vapi_phone_number_id = pool.vapi_phone_number_id AND l.event IN ('assigned', 'released')
        ORDER BY id DESC LIMIT 1) AS last ON true
    WHERE (pool.assignment_status = 'assigned') IS DISTINCT FROM (last.event IS NOT DISTINCT FROM 'assigned')
       OR (pool.assignment_status = 'assigned' AND pool.currently_assigned_to <> last.lead_id)
    UNION ALL
    -- The lead's company: an overflow hold (lead_company) counts with the lead's own holds.
    SELECT 'a lead holds two numbers of one company', count(*)
    FROM (SELECT FROM pool_ext.signalwire_phone_numbers WHERE currently_assigned_to IS NOT NULL
          GROUP BY currently_assigned_to, coalesce(lead_company, assigned_broker_company)
          HAVING count(*) > 1) AS d
$$;

CREATE FUNCTION forget_companies(VARIADIC companies text[])
RETURNS TABLE (released bigint, removed bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT count(*) FILTER (WHERE pool_ext.force_release_phone_number(vapi_phone_number_id, 'end of test'))
      INTO released
      FROM pool_ext.signalwire_phone_numbers
     WHERE assigned_broker_company = ANY (companies) AND currently_assigned_to IS NOT NULL;
    DELETE FROM pool_ext.signalwire_phone_numbers WHERE assigned_broker_company = ANY (companies);
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM pool_ext.company_policies WHERE company = ANY (companies);
    DELETE FROM pool_ext.pool_alert_state WHERE company = ANY (companies);
    RETURN NEXT;
END
$$;

-- pg_regress sets DateStyle Postgres, IntervalStyle postgres_verbose and TimeZone PST8PDT;
-- back to what a client of a default server sees (ISO, postgres, UTC).
SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';

-- The helper on a statement that fails, one that fails with a detail and a hint, one whose
-- text carries a timestamp, and one that does not fail at all.
\pset format unaligned
\pset fieldsep ' | '
SELECT * FROM expect_error('division by zero', 'SELECT 1 / 0');
SELECT * FROM expect_error('raise with detail and hint',
    $x$DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '22023', DETAIL = 'a detail', HINT = 'a hint'; END $$$x$);
SELECT * FROM expect_error('a timestamp in the message',
    $x$DO $$ BEGIN RAISE EXCEPTION 'held until %', timestamptz '2026-12-01 15:00:00.5+00'; END $$$x$);
SELECT * FROM expect_error('a statement that succeeds', 'SELECT 1');
\pset format aligned
SELECT * FROM pool_invariants();

-- The snapshot sees a change (here a policy, made by a statement that expect_error reports as
-- not failing) and sees it undone.
CREATE TEMP TABLE helpers_before AS SELECT pool_snapshot() AS snapshot;
SELECT what, sqlstate, message FROM expect_error('a policy set',
    $$SELECT * FROM pool_ext.set_company_policy('Helpers Realty', retention => '1 hour')$$);
SELECT pool_snapshot() = snapshot AS unchanged FROM helpers_before;
DELETE FROM pool_ext.company_policies WHERE company = 'Helpers Realty';
SELECT pool_snapshot() = snapshot AS unchanged FROM helpers_before;
