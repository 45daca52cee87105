//! SQL: assign_phone_number.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

use crate::assignment::assign;
use crate::errors::PoolError;
use crate::rules::e164;
use crate::validation::{optional_text, required, required_text};

/// Assign a caller number of `company` to `lead` and return it, with how it was chosen. A lead
/// that holds a number of that company gets it back, its hold renewed to last at least the
/// company's retention from now (a longer hold is kept). Otherwise the number the lead held
/// last at the company comes first when it is free, then, when `customer_phone` (the lead's own
/// phone) has a North American area code and local presence is on, the least recently used
/// free number of that area, then the company's least recently used free number. Numbers
/// resting after a release (except the lead's previous one) or at their daily cap are skipped.
/// When the company's pool has none to give and it has an overflow pool (set_pool_rules'
/// `overflow_company`), the lead gets one of that pool's numbers the same way, under that
/// pool's rules: `assigned_broker_company` then names the overflow company and
/// `from_overflow` is true. Only when both are dry is it an error (53000, naming both).
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
            name!(from_overflow, bool),
        ),
    >,
    ErrorReport,
> {
    let (company, lead, customer_phone) = arguments(company, lead, customer_phone)?;
    let row = Spi::connect_mut(|client| assign(client, company, lead, customer_phone))?;
    Ok(TableIterator::once(row))
}

/// Longer than any phone number however it is written; keeps junk out of the CRM.
const MAX_CUSTOMER_PHONE: usize = 32;

/// The assignment's arguments, checked: both functions refuse the same values the same way.
fn arguments<'a>(
    company: Option<&'a str>,
    lead: Option<pgrx::Uuid>,
    customer_phone: Option<&'a str>,
) -> Result<(&'a str, pgrx::Uuid, Option<&'a str>), PoolError> {
    Ok((
        required_text(company, "company")?,
        required(lead, "lead")?,
        optional_text(customer_phone, "customer_phone", MAX_CUSTOMER_PHONE)?,
    ))
}

/// `assign_phone_number` for callers that branch on data rather than on errors, such as an
/// n8n workflow (its error output carries an error's message and description, never the
/// SQLSTATE). An exhausted pool is a normal answer here: `status` is 'pool_exhausted', the
/// number columns are NULL, and `message`, `detail` and `hint` say what 53000 would have said;
/// nothing is changed. A hold is `status` 'assigned' with the same columns as
/// `assign_phone_number`. Every other refusal (unknown company, NULL or overlong arguments)
/// is still an error: it is a mistake to fix, not a moment to wait out.
/// `customer_phone_e164` is the lead's phone as the voice API dials it, NULL when it cannot
/// be read as one (see `e164` in rules.rs).
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::type_complexity)] // the result row's columns, named for SQL
fn try_assign_phone_number(
    company: Option<&str>,
    lead: Option<pgrx::Uuid>,
    customer_phone: default!(Option<&str>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(status, String),
            name!(vapi_phone_number_id, Option<String>),
            name!(number, Option<String>),
            name!(name, Option<String>),
            name!(assigned_broker_company, Option<String>),
            name!(assigned_at, Option<TimestampWithTimeZone>),
            name!(release_at, Option<TimestampWithTimeZone>),
            name!(area_code_matched, Option<bool>),
            name!(chosen_by, Option<String>),
            name!(from_overflow, Option<bool>),
            name!(customer_phone_e164, Option<String>),
            name!(message, Option<String>),
            name!(detail, Option<String>),
            name!(hint, Option<String>),
        ),
    >,
    ErrorReport,
> {
    let (company, lead, customer_phone) = arguments(company, lead, customer_phone)?;
    let dialable = customer_phone.and_then(e164);
    let row = match Spi::connect_mut(|client| assign(client, company, lead, customer_phone)) {
        Ok((id, number, name, owner, assigned_at, release_at, matched, chosen_by, lent)) => (
            "assigned".to_string(),
            Some(id),
            Some(number),
            name,
            Some(owner),
            Some(assigned_at),
            Some(release_at),
            matched,
            Some(chosen_by),
            Some(lent),
            dialable,
            None,
            None,
            None,
        ),
        Err(exhausted @ PoolError::PoolExhausted { .. }) => (
            "pool_exhausted".to_string(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            dialable,
            Some(exhausted.message()),
            exhausted.detail(),
            exhausted.hint(),
        ),
        Err(other) => return Err(other.into()),
    };
    Ok(TableIterator::once(row))
}
