-- Release a large backlog without holding its locks until the end: one batch per transaction.
-- A procedure, so it can COMMIT; call it at top level (psql, pg_cron), not inside BEGIN.
CREATE PROCEDURE release_expired_phone_numbers_in_batches(
    batch_size integer DEFAULT 1000,
    INOUT released bigint DEFAULT 0
)
LANGUAGE plpgsql AS $$
DECLARE
    batch bigint;
BEGIN
    IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive number, got %', batch_size
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass a number of 1 or more.';
    END IF;
    released := 0;
    LOOP
        batch := @extschema@.release_expired_phone_numbers(batch_size);
        released := released OPERATOR(pg_catalog.+) batch;
        COMMIT;
        EXIT WHEN batch OPERATOR(pg_catalog.<) batch_size;
    END LOOP;
END
$$;
