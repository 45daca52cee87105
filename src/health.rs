//! Number health (sql/health.sql): each outcome joins its number's window, and a number
//! answered far less often than its company's others is quarantined; quarantines end when
//! their time is up (the release job) or when an operator reinstates the number.

use pgrx::datum::{DatumWithOid, Interval};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::errors::PoolError;
use crate::holds::Outcome;
use crate::plans::{plan, Statement};
use crate::rules::{quarantine_due, quarantine_reason, Answers};

/// The outcome into the window; the number's and company's answers and the company's rule.
/// Text and parameters: sql/statements/record_health.sql.
const RECORD_HEALTH: Statement = Statement {
    sql: include_str!("../sql/statements/record_health.sql"),
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::BOOLOID],
};

/// Quarantine one number with its ledger row and notification.
/// Text and parameters: sql/statements/quarantine_number.sql.
const QUARANTINE: Statement = Statement {
    sql: include_str!("../sql/statements/quarantine_number.sql"),
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::UUIDOID,
        pg_sys::INTERVALOID,
        pg_sys::TEXTOID,
        pg_sys::FLOAT8OID,
        pg_sys::FLOAT8OID,
        pg_sys::INT8OID,
        pg_sys::TEXTOID,
    ],
};

/// End one number's quarantine, or every one whose time is up.
/// Text and parameters: sql/statements/end_quarantine.sql.
const END_QUARANTINE: Statement = Statement {
    sql: include_str!("../sql/statements/end_quarantine.sql"),
    arg_types: &[pg_sys::TEXTOID],
};

/// Count `outcome` of the call from number `id` (of `company`) to `lead` into the number's
/// health, and quarantine the number when the company's rule says so. Returns whether it did.
/// `lead_company`: the lead's company when the number was lent to it (an overflow hold), for
/// the ledger row.
pub fn record_outcome(
    client: &mut SpiClient<'_>,
    id: &str,
    company: &str,
    lead: pgrx::Uuid,
    lead_company: Option<&str>,
    outcome: Outcome,
) -> Result<bool, PoolError> {
    let args: [DatumWithOid; 3] = [id.into(), company.into(), outcome.answered().into()];
    let rows = client.update(&*plan(client, &RECORD_HEALTH)?, Some(1), &args)?;
    let row = rows.first();
    let count = |i| row.get::<i64>(i).map(Option::unwrap_or_default);
    let number = Answers {
        calls: count(1)?,
        answered: count(2)?,
    };
    let whole_company = Answers {
        calls: count(3)?,
        answered: count(4)?,
    };
    let below = row.get::<f64>(5)?;
    let min_calls = count(6)?;
    let Some(below) = below.filter(|_| quarantine_due(number, whole_company, below, min_calls))
    else {
        return Ok(false);
    };
    let quarantine_for = row.get::<Interval>(7)?.expect("a default");
    let args: [DatumWithOid; 8] = [
        id.into(),
        lead.into(),
        quarantine_for.into(),
        quarantine_reason(number, whole_company, below).into(),
        number.rate().into(),
        whole_company.rate().into(),
        number.calls.into(),
        lead_company.into(),
    ];
    let quarantined = client
        .update(&*plan(client, &QUARANTINE)?, Some(1), &args)?
        .first()
        .get_one::<i64>()?
        .unwrap_or(0);
    Ok(quarantined > 0)
}

/// End the quarantine of number `id` now (None: of every number whose quarantine is over);
/// how many numbers came back.
pub fn end_quarantine(client: &mut SpiClient<'_>, id: Option<&str>) -> Result<i64, PoolError> {
    let args: [DatumWithOid; 1] = [id.into()];
    Ok(client
        .update(&*plan(client, &END_QUARANTINE)?, Some(1), &args)?
        .first()
        .get_one::<i64>()?
        .unwrap_or(0))
}
