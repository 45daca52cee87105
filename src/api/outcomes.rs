//! SQL: record_call_outcome.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, panic::ErrorReport};
use pgrx::prelude::*;

use crate::holds::{check_appointment, Outcome};
use crate::outcomes;
use crate::validation::{required, required_text};

/// Record what happened on the call to `lead` and move the end of its hold by the outcome's
/// rule (docs/reference.md). `company` is needed only when the lead holds numbers of several
/// companies. Returns the number's state afterwards.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::type_complexity)] // the result row's columns, named for SQL
fn record_call_outcome(
    lead: Option<pgrx::Uuid>,
    outcome: Option<&str>,
    appointment_at: default!(Option<TimestampWithTimeZone>, "NULL"),
    company: default!(Option<&str>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(vapi_phone_number_id, String),
            name!(number, String),
            name!(assigned_broker_company, String),
            name!(assignment_status, String),
            name!(last_call_outcome, Option<String>),
            name!(release_at, Option<TimestampWithTimeZone>),
        ),
    >,
    ErrorReport,
> {
    let lead = required(lead, "lead")?;
    let outcome: Outcome = required_text(outcome, "outcome")?.parse()?;
    if let Some(c) = company {
        required_text(Some(c), "company")?;
    }
    // SAFETY: reads the backend's transaction start time: now() as the statements see it.
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    check_appointment(outcome, appointment_at.map(i64::from), now)?;
    let row = Spi::connect_mut(|client| {
        outcomes::record(client, lead, outcome, appointment_at, company)
    })?;
    Ok(TableIterator::once(row))
}
