//! Freeing holds whose time is up.

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::errors::spi;
use crate::holds::next_batch_size;
use crate::plans::{plan, Statement};
use crate::validation::positive;

const FUNCTION: &str = "release_expired_phone_numbers";

/// Release up to $1 expired holds, oldest first, with a ledger row each. Rows locked by an
/// in-flight transaction (an assignment, an outcome being recorded) are skipped, never waited
/// for: the next run picks them up.
const RELEASE_BATCH: Statement = Statement {
    sql: "
WITH expired AS (
    SELECT vapi_phone_number_id, currently_assigned_to AS lead_id
    FROM signalwire_phone_numbers
    WHERE assignment_status = 'assigned' AND release_at <= now()
    ORDER BY release_at
    LIMIT $1
    FOR NO KEY UPDATE SKIP LOCKED
), released AS (
    UPDATE signalwire_phone_numbers AS pool
    SET assignment_status     = 'available',
        currently_assigned_to = NULL,
        release_at            = NULL
    FROM expired
    WHERE pool.vapi_phone_number_id = expired.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.assigned_broker_company, expired.lead_id
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
    SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, lead_id, 'expired'
    FROM released
    RETURNING 1
)
SELECT count(*) FROM logged",
    arg_types: &[pg_sys::INT8OID],
};

/// Release every hold whose `release_at` has passed and return how many were released.
/// `max_rows` caps the number released by this call (NULL: no cap).
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn release_expired_phone_numbers(max_rows: default!(Option<i64>, "NULL")) -> i64 {
    if let Some(limit) = max_rows {
        if let Err(e) = positive(limit, "max_rows") {
            e.raise(FUNCTION);
        }
    }
    let mut released = 0_i64;
    Spi::connect_mut(|client| {
        while let Some(batch) = next_batch_size(max_rows.map(|cap| cap - released)) {
            let args: [DatumWithOid; 1] = [batch.into()];
            let count = spi(
                client
                    .update(&*plan(client, &RELEASE_BATCH), Some(1), &args)
                    .and_then(|t| t.first().get_one::<i64>()),
                FUNCTION,
            )
            .unwrap_or(0);
            released += count;
            if count < batch {
                break; // nothing more expired, or the rest is locked by others
            }
        }
    });
    released
}

pgrx::extension_sql!(
    r#"
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
"#,
    name = "release_in_batches",
    requires = [release_expired_phone_numbers],
);
