//! SQL: import_phone_numbers (sql/import.sql, over _import_phone_numbers_text),
//! retire_phone_number, reactivate_phone_number and move_phone_number.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

use crate::errors::PoolError;
use crate::numbers::{self, parse_document, parse_numbers};
use crate::validation::required_text;

// `import_phone_numbers(jsonb)`, in SQL, hands the document to the function below as text.
pgrx::extension_sql_file!(
    "../../sql/import.sql",
    name = "import_phone_numbers",
    requires = [import_phone_numbers_text],
);

/// Import the numbers document (a JSON array of objects with vapi_phone_number_id, number,
/// name, broker_company and optional notes) given as JSON text; callers use
/// `import_phone_numbers(jsonb)`. All or nothing; re-running the same document changes
/// nothing. Numbers the document does not list are left alone.
#[pg_extern(
    volatile,
    security_definer,
    parallel_unsafe,
    name = "_import_phone_numbers_text"
)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn import_phone_numbers_text(
    numbers: Option<&str>,
) -> Result<
    TableIterator<
        'static,
        (
            name!(inserted, i64),
            name!(updated, i64),
            name!(unchanged, i64),
        ),
    >,
    ErrorReport,
> {
    let text = numbers.ok_or(PoolError::NullArgument {
        argument: "numbers",
    })?;
    let entries = parse_numbers(&parse_document(text)?)?;
    let counts = Spi::connect_mut(|client| numbers::import(client, &entries))?;
    Ok(TableIterator::once(counts))
}

/// Retire a number: it is never assigned again; a current hold runs on to its release.
/// Returns false when it was already inactive.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn retire_phone_number(vapi_phone_number_id: Option<&str>) -> Result<bool, ErrorReport> {
    set_status(vapi_phone_number_id, "inactive")
}

/// Put a retired number back into its company's pool (a quarantined one too, as
/// reinstate_phone_number does). Returns false when it was active.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn reactivate_phone_number(vapi_phone_number_id: Option<&str>) -> Result<bool, ErrorReport> {
    set_status(vapi_phone_number_id, "active")
}

/// Take a quarantined number back into its company's pool now, with its health forgotten (its
/// old calls do not count against it again). Returns false when it was not quarantined.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn reinstate_phone_number(vapi_phone_number_id: Option<&str>) -> Result<bool, ErrorReport> {
    let id = required_text(vapi_phone_number_id, "vapi_phone_number_id")?;
    Ok(Spi::connect_mut(|client| numbers::reinstate(client, id))?)
}

/// Retire or reactivate: false when the number had that status already.
fn set_status(vapi_phone_number_id: Option<&str>, status: &str) -> Result<bool, ErrorReport> {
    let id = required_text(vapi_phone_number_id, "vapi_phone_number_id")?;
    Ok(Spi::connect_mut(|client| {
        numbers::set_status(client, id, status)
    })?)
}

/// Move a number to another company. Refused while the number is held, so a lead's callback
/// never reaches the wrong broker. Returns false when it already belonged to that company.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn move_phone_number(
    vapi_phone_number_id: Option<&str>,
    company: Option<&str>,
) -> Result<bool, ErrorReport> {
    let id = required_text(vapi_phone_number_id, "vapi_phone_number_id")?;
    let company = required_text(company, "company")?;
    Ok(Spi::connect_mut(|client| {
        numbers::move_number(client, id, company)
    })?)
}
