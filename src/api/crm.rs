//! SQL: register_crm_tables and unregister_crm_tables. Both run with the caller's rights:
//! only the extension's owner (or a superuser) may change what assign_phone_number writes to.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgRelation;

use crate::crm;
use crate::errors::PoolError;

/// Register the CRM's leads and interactions tables; from then on every new assignment also
/// updates the lead row and inserts an interaction. Checks the columns first and names what is
/// missing. Runs with the caller's rights: only the extension's owner (or a superuser) can
/// register. pool_ext never creates, alters or drops these tables.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn register_crm_tables(
    leads: Option<PgRelation>,
    interactions: Option<PgRelation>,
) -> Result<String, ErrorReport> {
    let leads = leads
        .ok_or(PoolError::NullArgument { argument: "leads" })?
        .oid();
    let interactions = interactions
        .ok_or(PoolError::NullArgument {
            argument: "interactions",
        })?
        .oid();
    Ok(Spi::connect_mut(|client| {
        crm::register(client, leads, interactions)
    })?)
}

/// Stop tracking assignments in the CRM tables. Returns false when none were registered.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn unregister_crm_tables() -> Result<bool, ErrorReport> {
    Ok(Spi::connect_mut(crm::unregister)?)
}
