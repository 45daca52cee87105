//! SQL: release_expired_phone_numbers, force_release_phone_number, and the procedure
//! release_expired_phone_numbers_in_batches (sql/release_in_batches.sql).

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

use crate::errors::PoolError;
use crate::health;
use crate::releases;
use crate::validation::{positive, required_text};

/// Release every hold whose `release_at` has passed and return how many were released.
/// `max_rows` caps the number released by this call (NULL: no cap). Quarantines whose time is
/// up end here too (src/health.rs): the numbers are active again, their health forgotten.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn release_expired_phone_numbers(
    max_rows: default!(Option<i64>, "NULL"),
) -> Result<i64, ErrorReport> {
    if let Some(limit) = max_rows {
        positive(limit, "max_rows")?;
    }
    Ok(Spi::connect_mut(|client| {
        let released = releases::release_expired(client, max_rows)?;
        health::end_quarantine(client, None)?;
        Ok::<_, PoolError>(released)
    })?)
}

pgrx::extension_sql_file!(
    "../../sql/release_in_batches.sql",
    name = "release_in_batches",
    requires = [release_expired_phone_numbers],
);

/// Release one number now, whoever holds it, with a ledger row. Returns false when it was
/// not held. Waits for a transaction that is assigning it right now.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn force_release_phone_number(
    vapi_phone_number_id: Option<&str>,
    reason: default!(Option<&str>, "'manual'"),
) -> Result<bool, ErrorReport> {
    let id = required_text(vapi_phone_number_id, "vapi_phone_number_id")?;
    let reason = required_text(reason, "reason")?;
    Ok(Spi::connect_mut(|client| {
        releases::force_release(client, id, reason)
    })?)
}
