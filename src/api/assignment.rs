//! SQL: assign_phone_number.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

use crate::assignment::assign;
use crate::validation::{optional_text, required, required_text};

/// Assign a caller number of `company` to `lead` and return it, with how it was chosen. A lead
/// that holds a number of that company gets it back, its hold renewed to last at least the
/// company's retention from now (a longer hold is kept). Otherwise the number the lead held
/// last at the company comes first when it is free, then, when `customer_phone` (the lead's own
/// phone) has a North American area code and local presence is on, the least recently used
/// free number of that area, then the company's least recently used free number. Numbers
/// resting after a release (except the lead's previous one) or at their daily cap are skipped.
/// Runs in the caller's transaction: a rollback undoes the hold, its ledger row, the CRM rows
/// and a low-water alert together.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::type_complexity)] // the result row's columns, named for SQL
fn assign_phone_number(
    company: Option<&str>,
    lead: Option<pgrx::Uuid>,
    customer_phone: default!(Option<&str>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(vapi_phone_number_id, String),
            name!(number, String),
            name!(name, Option<String>),
            name!(assigned_broker_company, String),
            name!(assigned_at, TimestampWithTimeZone),
            name!(release_at, TimestampWithTimeZone),
            name!(area_code_matched, Option<bool>),
            name!(chosen_by, String),
        ),
    >,
    ErrorReport,
> {
    let company = required_text(company, "company")?;
    let lead = required(lead, "lead")?;
    let customer_phone = optional_text(customer_phone, "customer_phone", MAX_CUSTOMER_PHONE)?;
    let row = Spi::connect_mut(|client| assign(client, company, lead, customer_phone))?;
    Ok(TableIterator::once(row))
}

/// Longer than any phone number however it is written; keeps junk out of the CRM.
const MAX_CUSTOMER_PHONE: usize = 32;
