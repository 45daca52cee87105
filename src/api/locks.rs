//! SQL: _lock_space, the first key of pool_ext's advisory locks for the SQL that takes them
//! (sql/analytics.sql, sql/ledger.sql); the keys themselves live in src/rules.rs (LockSpace).

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use crate::rules::LockSpace;

/// The first key of the advisory locks taken for `purpose` ('assignment', 'low_water_alert',
/// 'ledger_maintenance'). Internal: named with a leading underscore in SQL. Another name is a
/// mistake in pool_ext's own SQL, refused with 22023.
#[pg_extern(immutable, strict, parallel_safe, name = "_lock_space")]
#[search_path(pg_catalog, pg_temp)]
fn lock_space(purpose: &str) -> Result<i32, ErrorReport> {
    LockSpace::named(purpose)
        .map(LockSpace::key)
        .ok_or_else(|| {
            let names: Vec<&str> = LockSpace::ALL.into_iter().map(LockSpace::name).collect();
            ErrorReport::new(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("no advisory lock of pool_ext is named '{purpose}'"),
                "_lock_space",
            )
            .set_hint(format!("The names are {}.", names.join(", ")))
        })
}
