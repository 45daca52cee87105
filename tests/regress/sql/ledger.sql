-- The ledger's months (issue 16): maintain_ledger() makes this month's partition and the next
-- two, moves the rows the default partition caught into their months, and applies retention;
-- set_ledger_retention() refuses what it cannot keep; every partition is append-only.
-- Company: Ledger Regress; its history is of 2020 (months no other test writes to).

SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
SET search_path = "$user", public, pool_ext;

-- Rows of months without a partition land in the default partition: nothing fails.
INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
SELECT 'assigned', 'ledger-1', '+13035550901', 'Ledger Regress', '0000000f-0000-4000-8000-000000000001',
       t, 'assign'
FROM unnest(ARRAY['2020-01-10 08:00+00', '2020-01-31 23:59:59.999999+00', '2020-02-01 00:00+00']::timestamptz[]) AS t;
SELECT c.relname, count(*) FROM phone_number_ledger AS l JOIN pg_class AS c ON c.oid = l.tableoid
WHERE l.broker_company = 'Ledger Regress' GROUP BY 1 ORDER BY 1;

-- The upkeep: the two months of 2020 (rows moved in) and this month and the next two (named
-- here by their distance from this month, so that the expected output holds every month).
WITH this_month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m)
SELECT s.action,
       coalesce((SELECT 'this month + ' || k FROM generate_series(0, 2) AS k, this_month
                 WHERE s.partition = _ledger_partition_name(m + make_interval(months => k))),
                s.partition) AS partition,
       CASE WHEN s.partition LIKE '%2020%' OR s.rows = 0 THEN s.rows::text
            ELSE 'the earlier tests'' rows' END AS rows_moved
FROM maintain_ledger() AS s ORDER BY 2;
SELECT c.relname, count(*) FROM phone_number_ledger AS l JOIN pg_class AS c ON c.oid = l.tableoid
WHERE l.broker_company = 'Ledger Regress' GROUP BY 1 ORDER BY 1;
SELECT partition, starts_at, ends_at FROM ledger_partitions WHERE partition LIKE '%2020%' OR starts_at IS NULL;
-- Run again: nothing to do.
SELECT count(*) AS steps FROM maintain_ledger();

-- who_held_number walks back month by month from its time: from mid-March 2020 (no partition,
-- no row) to February; each month finds its own row; before the first row, nothing.
SELECT lead_id, company, assigned_at, released_at, held_at_time
FROM who_held_number('+13035550901', '2020-03-15 00:00+00');
SELECT assigned_at FROM who_held_number('+13035550901', '2020-02-01 00:00+00');
SELECT assigned_at FROM who_held_number('+13035550901', '2020-01-31 23:59:59+00');
SELECT count(*) AS nobody FROM who_held_number('+13035550901', '2019-12-01 00:00+00');

-- Append-only, in every partition and through the ledger.
UPDATE phone_number_ledger SET reason = 'x' WHERE broker_company = 'Ledger Regress';
DELETE FROM phone_number_ledger_2020_01;
TRUNCATE phone_number_ledger_2020_02;
TRUNCATE phone_number_ledger_default;

-- Retention: refusals, with nothing changed.
SELECT set_ledger_retention(0);
SELECT set_ledger_retention(1201);
SELECT set_ledger_retention(12, 'shred');
SELECT set_ledger_retention(12, NULL);
SELECT count(*) AS settings FROM ledger_settings;

-- Keep 12 months, detach older: both months of 2020 become tables of their own.
SELECT keep_months, expired_months FROM set_ledger_retention(12);
SELECT action, partition, rows, detail FROM maintain_ledger();
SELECT count(*) AS still_in_the_ledger FROM phone_number_ledger WHERE broker_company = 'Ledger Regress';
SELECT count(*) AS archived FROM phone_number_ledger_2020_01;
-- A row of a detached month: the default partition takes it, and the upkeep cannot make the
-- month again while the detached table has its name; it says so and goes on.
INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
VALUES ('released', 'ledger-1', '+13035550901', 'Ledger Regress', '0000000f-0000-4000-8000-000000000001',
        '2020-01-11 08:00+00', 'manual');
SELECT action, partition, rows, detail FROM maintain_ledger();
-- A detached month is the operator's: no longer guarded, it can be archived and dropped.
DROP TABLE phone_number_ledger_2020_01, phone_number_ledger_2020_02;
-- Then the month is made again, its row moved in, and detached by retention.
SELECT action, partition, rows FROM maintain_ledger();
DROP TABLE phone_number_ledger_2020_01;
SELECT action, partition, rows FROM ledger_maintenance_log WHERE partition LIKE '%2020%' ORDER BY id;

-- Back to the default: keep everything.
SELECT keep_months, expired_months FROM set_ledger_retention(NULL);

-- Months are UTC months whatever the session's time zone: in New York (and across its change
-- to daylight saving time), the rows on either side of a UTC month's end land in their own
-- months, and each partition ends where the next begins.
SET timezone = 'America/New_York';
INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
SELECT 'assigned', 'ledger-1', '+13035550901', 'Ledger Regress', '0000000f-0000-4000-8000-0000000000aa',
       t, 'assign'
FROM unnest(ARRAY['2021-03-31 23:30+00', '2021-04-01 00:30+00',
                  '2021-11-30 23:30+00', '2021-12-01 00:30+00']::timestamptz[]) AS t;
SELECT action, partition, rows FROM maintain_ledger() WHERE partition LIKE '%2021%';
SET timezone = 'UTC';
SELECT partition, starts_at, ends_at FROM ledger_partitions WHERE partition LIKE '%2021%';
SELECT c.relname, l.occurred_at FROM phone_number_ledger AS l JOIN pg_class AS c ON c.oid = l.tableoid
WHERE l.lead_id = '0000000f-0000-4000-8000-0000000000aa' ORDER BY 2;
