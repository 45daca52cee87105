-- Scheduling the hourly release with pg_cron, when this database has it; a clear word on what
-- to do when it has not. Runs with the caller's rights: the job belongs to whoever schedules it.

CREATE FUNCTION schedule_release_job(
    schedule text DEFAULT '0 * * * *',
    job_name text DEFAULT 'pool_ext-release-expired'
) RETURNS bigint
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
                                'Without pg_cron, run SELECT @extschema@.release_expired_phone_numbers() hourly from '
                                'elsewhere, e.g. the n8n workflow examples/n8n/hourly-release.json.',
                                current_database());
    END IF;
    -- cron.schedule with a job name replaces an existing job of that name.
    EXECUTE 'SELECT cron.schedule($1, $2, $3)'
        INTO job
        USING job_name, schedule, 'SELECT @extschema@.release_expired_phone_numbers()';
    RETURN job;
END
$$;

COMMENT ON FUNCTION schedule_release_job(text, text) IS
    'Schedule release_expired_phone_numbers() with pg_cron (hourly by default); returns the cron job id.';

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
