-- End quarantines: number $1 now (an operator's reinstate_phone_number), or, with $1 NULL,
-- every quarantine whose time is up (the release job). The number is active again; its health
-- window is forgotten by the trigger signalwire_phone_numbers_forget_health (sql/health.sql).
-- Returns how many came back.
WITH back AS (
    UPDATE signalwire_phone_numbers
    SET status = 'active', quarantined_until = NULL
    WHERE status = 'quarantined'
      -- A quarantine without an end (set by hand) ends at the next run.
      AND (vapi_phone_number_id = $1
           OR ($1::text IS NULL AND coalesce(quarantined_until, '-infinity') <= now()))
    RETURNING vapi_phone_number_id
)
SELECT count(*) FROM back
