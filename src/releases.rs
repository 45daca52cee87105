//! Ending holds: the expired ones in batches (the hourly job), one now (an operator, or an
//! outcome that ends the call), and the row lock that operators' changes of a number take.

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::errors::PoolError;
use crate::holds::next_batch_size;
use crate::plans::{plan, Statement};

/// Release up to $1 expired holds, oldest first, with a ledger row each.
/// Text and parameters: sql/statements/release_expired_batch.sql.
const RELEASE_BATCH: Statement = Statement {
    sql: include_str!("../sql/statements/release_expired_batch.sql"),
    arg_types: &[pg_sys::INT8OID],
};

/// Release every expired hold, at most `max_rows` (None: all), in batches; how many.
pub fn release_expired(
    client: &mut SpiClient<'_>,
    max_rows: Option<i64>,
) -> Result<i64, PoolError> {
    let mut released = 0_i64;
    while let Some(batch) = next_batch_size(max_rows.map(|cap| cap - released)) {
        let args: [DatumWithOid; 1] = [batch.into()];
        let count = client
            .update(&*plan(client, &RELEASE_BATCH)?, Some(1), &args)?
            .first()
            .get_one::<i64>()?
            .unwrap_or(0);
        released += count;
        if count < batch {
            break; // nothing more expired, or the rest is locked by others
        }
    }
    Ok(released)
}

/// Release one hold now, with a ledger row naming why.
/// Text and parameters: sql/statements/release_one_hold.sql.
const RELEASE_ONE: Statement = Statement {
    sql: include_str!("../sql/statements/release_one_hold.sql"),
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::UUIDOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
    ],
};

/// Release number `id`, held by `lead` and locked by the caller, recording `outcome` (None:
/// keep the last one) and a ledger row with `reason`.
pub fn release_one(
    client: &mut SpiClient<'_>,
    id: &str,
    lead: pgrx::Uuid,
    reason: &str,
    outcome: Option<&str>,
) -> Result<(), PoolError> {
    let args: [DatumWithOid; 4] = [id.into(), lead.into(), reason.into(), outcome.into()];
    client.update(&*plan(client, &RELEASE_ONE)?, None, &args)?;
    Ok(())
}

/// Lock one number (waiting for an in-flight transaction: this is an operator's deliberate
/// act) and return its holder, if any.
const LOCK_NUMBER: Statement = Statement {
    sql: "SELECT currently_assigned_to FROM signalwire_phone_numbers
          WHERE vapi_phone_number_id = $1 FOR NO KEY UPDATE",
    arg_types: &[pg_sys::TEXTOID],
};

/// The holder of a number after locking it; an unknown id is an error.
pub fn lock_number(client: &mut SpiClient<'_>, id: &str) -> Result<Option<pgrx::Uuid>, PoolError> {
    let args: [DatumWithOid; 1] = [id.into()];
    let rows = client.update(&*plan(client, &LOCK_NUMBER)?, None, &args)?;
    match rows.into_iter().next() {
        None => Err(PoolError::UnknownNumber { id: id.to_string() }),
        Some(row) => Ok(row.get::<pgrx::Uuid>(1)?),
    }
}

/// Lock a number, release it if held, and write the ledger row; (rows found, rows released).
/// Text and parameters: sql/statements/force_release.sql.
const FORCE_RELEASE: Statement = Statement {
    sql: include_str!("../sql/statements/force_release.sql"),
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID],
};

/// Release number `id` now, whoever holds it; false when it was not held.
pub fn force_release(
    client: &mut SpiClient<'_>,
    id: &str,
    reason: &str,
) -> Result<bool, PoolError> {
    let args: [DatumWithOid; 2] = [id.into(), reason.into()];
    let counts = client.update(&*plan(client, &FORCE_RELEASE)?, Some(1), &args)?;
    let (found, released) = counts.first().get_two::<i64, i64>()?;
    match (found.unwrap_or(0), released.unwrap_or(0)) {
        (0, _) => Err(PoolError::UnknownNumber { id: id.to_string() }),
        (_, released) => Ok(released > 0),
    }
}
