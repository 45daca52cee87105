-- The ledger's months (issue 16): partitions made ahead of time, rows that missed theirs moved
-- in, and retention. maintain_ledger() does all of it; pg_cron runs it daily
-- (schedule_ledger_maintenance, which schedule_release_job also calls). Each step it takes is a
-- row in ledger_maintenance_log.

-- Retention, at most one row (none: the defaults, so that a restored dump's row does not
-- meet one made by CREATE EXTENSION): keep every month that holds a row younger than
-- keep_months months (NULL: keep everything, the default); older months are detached (kept as
-- tables of their own, for archiving) or dropped.
CREATE TABLE ledger_settings (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    keep_months    integer CHECK (keep_months BETWEEN 1 AND 1200),
    expired_months text NOT NULL DEFAULT 'detach' CHECK (expired_months IN ('detach', 'drop')),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE ledger_settings IS
    'Ledger retention: keep_months (NULL: keep everything) and what happens to older months; set with set_ledger_retention().';

-- What maintain_ledger did, one row per step.
CREATE TABLE ledger_maintenance_log (
    id          bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    action      text NOT NULL CHECK (action IN ('created', 'moved', 'detached', 'dropped', 'postponed')),
    partition   text NOT NULL,
    rows        bigint,
    detail      text NOT NULL,
    actor       text NOT NULL DEFAULT session_user
);

COMMENT ON TABLE ledger_maintenance_log IS
    'Every step of maintain_ledger(): partitions created, rows moved out of the default partition, months detached or dropped.';

REVOKE ALL ON ledger_settings, ledger_maintenance_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE ledger_maintenance_log_id_seq FROM PUBLIC;
ALTER TABLE ledger_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_maintenance_log ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('ledger_settings', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_maintenance_log', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_maintenance_log_id_seq', '');

-- The ledger's partitions: one per month (bounds in UTC), and the default one.
CREATE VIEW ledger_partitions AS
SELECT c.relname::text AS partition,
       CASE WHEN b.bound = 'DEFAULT' THEN NULL
            ELSE substring(b.bound FROM 'FROM \(''([^'']+)''\)')::timestamptz END AS starts_at,
       CASE WHEN b.bound = 'DEFAULT' THEN NULL
            ELSE substring(b.bound FROM 'TO \(''([^'']+)''\)')::timestamptz END AS ends_at,
       -- the planner's count, as of the last ANALYZE or VACUUM (-1: never counted)
       c.reltuples::bigint AS estimated_rows,
       pg_total_relation_size(c.oid) AS total_bytes
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) AS b
WHERE i.inhparent = '@extschema@.phone_number_ledger'::regclass
ORDER BY starts_at NULLS FIRST;

COMMENT ON VIEW ledger_partitions IS
    'The ledger''s partitions: the default one (rows whose month had no partition; empty in normal operation) and one per month.';

-- The partition name of the month that begins at `month_start` (UTC).
CREATE FUNCTION _ledger_partition_name(month_start timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'phone_number_ledger_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM')
$$;

-- Take the locks a change of the ledger's partitions needs, without waiting while holding any:
-- each try takes them all at once or none (NOWAIT, in a subtransaction that gives back what it
-- got), then sleeps 20 ms, for up to `tries` tries. Waiting in a lock queue instead would hold
-- up every assignment behind it, and could deadlock with a caller that read the ledger and
-- then inserts into it. `parent_mode`: the mode on the ledger itself (ONLY: not its
-- partitions); `partitions`: locked in ACCESS EXCLUSIVE mode. Raises lock_not_available when
-- the tries run out.
CREATE FUNCTION _lock_ledger(parent_mode text, partitions regclass[], tries integer DEFAULT 250)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    part regclass;
BEGIN
    FOR attempt IN 1..tries LOOP
        BEGIN
            EXECUTE format('LOCK TABLE ONLY @extschema@.phone_number_ledger IN %s MODE NOWAIT', parent_mode);
            FOREACH part IN ARRAY partitions LOOP
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', part);
            END LOOP;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_sleep(0.02);
        END;
    END LOOP;
    RAISE EXCEPTION 'the ledger was busy: no moment free of other sessions'' locks in % tries', tries
        USING ERRCODE = 'lock_not_available';
END
$$;

-- The table of the month that begins at `month_start` (UTC), indexed, not yet attached: it
-- needs no lock on the ledger. Without the ledger's column defaults: rows come through the
-- ledger, whose defaults apply, and a detached month dumped with pg_dump -t then needs nothing
-- else (its sequence) to restore. A table of its own, attached later, rather than CREATE TABLE
-- ... PARTITION OF, which would lock the ledger while the indexes are built.
CREATE FUNCTION _prepare_ledger_partition(month_start timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    name text := _ledger_partition_name(month_start);
BEGIN
    EXECUTE format('CREATE TABLE %I.%I (LIKE @extschema@.phone_number_ledger INCLUDING CONSTRAINTS)',
                   '@extschema@', name);
    PERFORM _index_ledger_partition(format('%I.%I', '@extschema@', name)::regclass);
    -- The bound as a constraint, so that ATTACH need not scan the table to prove it.
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)',
                   '@extschema@', name, name || '_month', month_start, month_start + interval '1 month');
END
$$;

-- Attach the prepared month, moving into it the rows of that month that the default partition
-- caught; returns the rows moved. The caller holds the ledger in SHARE mode (no insert is under
-- way: one that chose the default partition before the month was attached would fail after
-- it, the default partition's constraint having changed under it; the test of a month's end
-- under load saw it) and the default partition in ACCESS EXCLUSIVE mode (ATTACH checks that it
-- holds no row of the month).
CREATE FUNCTION _attach_ledger_partition(month_start timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    name text := _ledger_partition_name(month_start);
    month_end timestamptz := month_start + interval '1 month';
    moved bigint;
BEGIN
    -- The append-only guard is a trigger that replica mode does not fire: this move is the one
    -- change of a ledger row the extension makes, and the row is the same, in another table.
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE format('WITH moved AS (DELETE FROM @extschema@.phone_number_ledger_default '
                   'WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *) '
                   'INSERT INTO %I.%I SELECT * FROM moved', '@extschema@', name)
        USING month_start, month_end;
    GET DIAGNOSTICS moved = ROW_COUNT;
    PERFORM set_config('session_replication_role', 'origin', true);
    EXECUTE format('ALTER TABLE @extschema@.phone_number_ledger ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   '@extschema@', name, month_start, month_end);
    EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT %I', '@extschema@', name, name || '_month');
    RETURN moved;
END
$$;

-- One month made and attached, in one go (the benchmark and the tests make months this way).
CREATE FUNCTION _create_ledger_partition(month_start timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    PERFORM _prepare_ledger_partition(month_start);
    PERFORM _lock_ledger('SHARE', ARRAY['@extschema@.phone_number_ledger_default'::regclass]);
    RETURN _attach_ledger_partition(month_start);
END
$$;

-- The ledger's upkeep, run daily by pg_cron (schedule_ledger_maintenance) or by hand:
-- 1. a partition for every month that has rows in the default partition, and for this month
--    and the next two, so that inserts find theirs;
-- 2. retention (set_ledger_retention): months whose every row is older than keep_months
--    months are detached or dropped.
-- Everything that needs no lock on the ledger comes first (the new months' tables and indexes,
-- the expired months' row counts); then every lock the changes need is taken at one moment
-- (_lock_ledger: the ledger in SHARE mode, or ACCESS EXCLUSIVE when a month is detached or
-- dropped, the default partition and the expired months), and the changes, catalog work and
-- the default partition's rows, run while assignments wait. When there is no such moment
-- within about 5 s, every step is postponed to the next run: inserts go to the default
-- partition meanwhile, and nothing fails. Each step is logged and returned. Month arithmetic
-- in UTC, whatever the session's time zone.
CREATE FUNCTION maintain_ledger()
RETURNS TABLE (action text, partition text, rows bigint, detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    settings ledger_settings;
    this_month timestamptz := date_trunc('month', now());
    months timestamptz[] := '{}';
    month_start timestamptz;
    expired text[] := '{}';
    expired_rows bigint[] := '{}';
    name text;
    n bigint;
    steps text[] := '{}';          -- action, partition, rows, detail: four entries a step
    busy boolean := false;
BEGIN
    -- One maintenance at a time (two would race to make the same month).
    PERFORM pg_advisory_xact_lock(_lock_space('ledger_maintenance'), 0);
    SELECT * INTO settings FROM ledger_settings;  -- no row: keep everything

    -- What to do. 1. The months that need a partition: those of rows the default partition
    -- caught, this month and the next two; a month whose name a table has (one retention
    -- detached) waits until the operator moves that table away.
    FOR month_start IN
        SELECT m FROM (
            SELECT DISTINCT date_trunc('month', d.occurred_at) AS m FROM phone_number_ledger_default AS d
            UNION
            SELECT this_month + make_interval(months => ahead) FROM generate_series(0, 2) AS ahead
        ) AS wanted
        WHERE NOT EXISTS (SELECT FROM ledger_partitions AS p WHERE p.starts_at = wanted.m)
        ORDER BY m
    LOOP
        name := _ledger_partition_name(month_start);
        IF to_regclass(format('%I.%I', '@extschema@', name)) IS NOT NULL THEN
            steps := steps || ARRAY['postponed', name, NULL,
                format('a table named %I.%I exists (a month retention detached?): archive and drop it, or '
                       'rename it, and the next run makes the partition (the rows stay in the default partition meanwhile)',
                       '@extschema@', name)];
        ELSE
            months := months || month_start;
        END IF;
    END LOOP;
    -- 2. Retention: a month whose end is older than keep_months months holds no row to keep;
    --    a month made above for rows the default partition caught may be one already.
    IF settings.keep_months IS NOT NULL THEN
        FOR name, n IN
            SELECT p.partition, NULL FROM ledger_partitions AS p
            WHERE p.ends_at <= now() - make_interval(months => settings.keep_months)
            UNION ALL
            SELECT _ledger_partition_name(m),
                   (SELECT count(*) FROM phone_number_ledger_default AS d
                    WHERE d.occurred_at >= m AND d.occurred_at < m + interval '1 month')
            FROM unnest(months) AS m
            WHERE m + interval '1 month' <= now() - make_interval(months => settings.keep_months)
            ORDER BY 1
        LOOP
            IF n IS NULL THEN
                EXECUTE format('SELECT count(*) FROM %I.%I', '@extschema@', name) INTO n;
            END IF;
            expired := expired || name;
            expired_rows := expired_rows || n;
        END LOOP;
    END IF;

    IF cardinality(months) > 0 OR cardinality(expired) > 0 THEN
        BEGIN
            FOREACH month_start IN ARRAY months LOOP
                PERFORM _prepare_ledger_partition(month_start);
            END LOOP;
            PERFORM _lock_ledger(
                CASE WHEN cardinality(expired) > 0 THEN 'ACCESS EXCLUSIVE' ELSE 'SHARE' END,
                ARRAY['@extschema@.phone_number_ledger_default'::regclass]
                    || ARRAY(SELECT format('%I.%I', '@extschema@', e)::regclass FROM unnest(expired) AS e));
            FOREACH month_start IN ARRAY months LOOP
                n := _attach_ledger_partition(month_start);
                steps := steps || ARRAY['created', _ledger_partition_name(month_start), n::text,
                    format('the month from %s to %s (UTC)%s',
                           to_char(month_start, 'YYYY-MM-DD'),
                           to_char(month_start + interval '1 month', 'YYYY-MM-DD'),
                           CASE WHEN n > 0 THEN format(', with %s rows moved in from the default partition', n)
                                ELSE '' END)];
            END LOOP;
            FOR k IN 1..cardinality(expired) LOOP
                IF settings.expired_months = 'drop' THEN
                    EXECUTE format('DROP TABLE %I.%I', '@extschema@', expired[k]);
                    steps := steps || ARRAY['dropped', expired[k], expired_rows[k]::text,
                        format('every row older than %s months (keep_months = %s)',
                               settings.keep_months, settings.keep_months)];
                ELSE
                    EXECUTE format('ALTER TABLE @extschema@.phone_number_ledger DETACH PARTITION %I.%I',
                                   '@extschema@', expired[k]);
                    -- The archive is the operator's: dumped alone, it restores anywhere.
                    EXECUTE format('DROP TRIGGER phone_number_ledger_no_truncate ON %I.%I',
                                   '@extschema@', expired[k]);
                    steps := steps || ARRAY['detached', expired[k], expired_rows[k]::text,
                        format('older than %s months (keep_months = %s): now a table of its own, %I.%I, '
                               'for archiving (pg_dump -t) and then DROP TABLE',
                               settings.keep_months, settings.keep_months, '@extschema@', expired[k])];
                END IF;
            END LOOP;
            -- A lead's previous number is forgotten with the months that held it.
            IF cardinality(expired) > 0 THEN
                DELETE FROM lead_numbers
                WHERE assigned_at < date_trunc('month', now() - make_interval(months => settings.keep_months));
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            -- Everything above is undone (the prepared tables too); the next run tries again.
            busy := true;
        END;
        IF busy THEN
            FOREACH month_start IN ARRAY months LOOP
                steps := steps || ARRAY['postponed', _ledger_partition_name(month_start), NULL,
                    'the ledger was too busy to attach it; the next run tries again (rows of the month go to the default partition meanwhile)'];
            END LOOP;
            FOR k IN 1..cardinality(expired) LOOP
                steps := steps || ARRAY['postponed', expired[k], NULL,
                    format('the ledger was too busy to %s it; the next run tries again', settings.expired_months)];
            END LOOP;
        END IF;
    END IF;

    FOR k IN 0..cardinality(steps) / 4 - 1 LOOP
        action := steps[4 * k + 1];
        partition := steps[4 * k + 2];
        rows := steps[4 * k + 3]::bigint;
        detail := steps[4 * k + 4];
        INSERT INTO ledger_maintenance_log (action, partition, rows, detail)
        VALUES (maintain_ledger.action, maintain_ledger.partition, maintain_ledger.rows, maintain_ledger.detail);
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION maintain_ledger() IS
    'The ledger''s upkeep: partitions for this month and the next two (and any month the default partition caught), then retention. Run daily; returns and logs each step.';

-- Retention of the ledger: keep every month that holds a row younger than `keep_months` months
-- (NULL: keep everything); older months are detached ('detach': kept as tables of their own,
-- for archiving) or dropped ('drop'). Applied by the next maintain_ledger().
CREATE FUNCTION set_ledger_retention(keep_months integer, expired_months text DEFAULT 'detach')
RETURNS ledger_settings
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    result ledger_settings;
BEGIN
    IF keep_months IS NOT NULL AND (keep_months < 1 OR keep_months > 1200) THEN
        RAISE EXCEPTION 'keep_months must be between 1 and 1200, got %', keep_months
            USING ERRCODE = '22023',
                  HINT = 'Pass the number of months of ledger history to keep, or NULL to keep everything.';
    END IF;
    IF expired_months IS NULL OR expired_months NOT IN ('detach', 'drop') THEN
        RAISE EXCEPTION 'expired_months must be ''detach'' or ''drop'', got %', coalesce(quote_literal(expired_months), 'NULL')
            USING ERRCODE = '22023',
                  HINT = '''detach'' keeps an expired month as a table of its own, for archiving; ''drop'' deletes it.';
    END IF;
    INSERT INTO ledger_settings AS s (keep_months, expired_months)
    VALUES (set_ledger_retention.keep_months, set_ledger_retention.expired_months)
    ON CONFLICT (singleton) DO UPDATE
    SET keep_months = excluded.keep_months, expired_months = excluded.expired_months, updated_at = now()
    RETURNING s.* INTO result;
    RETURN result;
END
$$;

COMMENT ON FUNCTION set_ledger_retention(integer, text) IS
    'Keep keep_months months of ledger history (NULL: everything); older months are detached or dropped by maintain_ledger().';

REVOKE ALL ON ledger_partitions FROM PUBLIC;
