-- Scheduling the hourly release with pg_cron, when this database has it; a clear word on what
-- to do when it has not. Runs with the caller's rights: the job belongs to whoever schedules it.

-- pg_cron's cron.schedule, or a clear word on what to do when this database lacks pg_cron.
CREATE FUNCTION _schedule_job(job_name text, schedule text, command text, instead text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job bigint;
BEGIN
    IF schedule IS NULL OR job_name IS NULL THEN
        RAISE EXCEPTION 'schedule and job_name must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
            USING ERRCODE = '55000',
                  DETAIL = 'Nothing was scheduled.',
                  HINT = format('Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' '
                                'and cron.database_name = %L, restart, run CREATE EXTENSION pg_cron, and call this again. '
                                'Without pg_cron, %s.', current_database(), instead);
    END IF;
    -- cron.schedule with a job name replaces an existing job of that name.
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job USING job_name, schedule, command;
    RETURN job;
END
$$;

-- The ledger's daily upkeep (sql/ledger.sql): partitions made ahead, retention.
CREATE FUNCTION schedule_ledger_maintenance(
    schedule text DEFAULT '7 3 * * *',
    job_name text DEFAULT 'pool_ext-ledger-maintenance'
) RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@._schedule_job(job_name, schedule, 'SELECT count(*) FROM @extschema@.maintain_ledger()',
        'run SELECT * FROM @extschema@.maintain_ledger() daily from elsewhere');
$$;

COMMENT ON FUNCTION schedule_ledger_maintenance(text, text) IS
    'Schedule maintain_ledger() with pg_cron (daily at 03:07 by default); returns the cron job id.';

-- The hourly release, and with it the ledger's daily upkeep when that has no job yet (one call
-- sets up everything pg_cron runs for the extension).
CREATE FUNCTION schedule_release_job(
    schedule text DEFAULT '0 * * * *',
    job_name text DEFAULT 'pool_ext-release-expired'
) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job bigint;
BEGIN
    job := @extschema@._schedule_job(job_name, schedule, 'SELECT @extschema@.release_expired_phone_numbers()',
        'run SELECT @extschema@.release_expired_phone_numbers() hourly from elsewhere, '
        'e.g. the n8n workflow examples/n8n/hourly-release.json');
    -- A job of this database that runs it; pg_cron shows a role other than a superuser only its
    -- own jobs, so another role's job is not seen and a second one is made (harmless: the upkeep
    -- is idempotent and runs one at a time).
    IF NOT EXISTS (SELECT FROM cron.job WHERE command LIKE '%maintain_ledger()%'
                                        AND database = current_database()) THEN
        PERFORM @extschema@.schedule_ledger_maintenance();
    END IF;
    RETURN job;
END
$$;

COMMENT ON FUNCTION schedule_release_job(text, text) IS
    'Schedule release_expired_phone_numbers() with pg_cron (hourly by default), and maintain_ledger() daily if it has no job; returns the release job id.';

CREATE FUNCTION unschedule_release_job(job_name text DEFAULT 'pool_ext-release-expired')
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    removed boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1)' INTO removed USING job_name;
    IF removed THEN
        EXECUTE 'SELECT cron.unschedule($1)' USING job_name;
    END IF;
    RETURN removed;
END
$$;

CREATE FUNCTION unschedule_ledger_maintenance(job_name text DEFAULT 'pool_ext-ledger-maintenance')
RETURNS boolean
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.unschedule_release_job(job_name);
$$;

COMMENT ON FUNCTION unschedule_ledger_maintenance(text) IS
    'Remove the pg_cron job of maintain_ledger(); false when there was none.';
