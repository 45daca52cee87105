//! Per-company policy: hold rules (set_company_policy) and pool rules (set_pool_rules), stored
//! in company_policies; company_policy() (sql/schema.sql) supplies the defaults.

use pgrx::datum::{DatumWithOid, Interval};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::assignment::unknown_company;
use crate::errors::PoolError;
use crate::plans::{plan, Statement};
use crate::rules::{check_overflow, LockSpace, OverflowChange, OVERFLOW_RULES_KEY};
use crate::validation::closest_name;

/// Store a company's hold rules; NULL keeps the stored value.
/// Text and parameters: sql/statements/upsert_hold_policy.sql.
const UPSERT_POLICY: Statement = Statement {
    sql: include_str!("../sql/statements/upsert_hold_policy.sql"),
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::INTERVALOID,
        pg_sys::INTERVALOID,
        pg_sys::TEXTOID,
    ],
};

/// company, retention, booked_hold, time_zone: the effective hold rules.
pub type HoldPolicy = (String, Interval, Interval, String);

/// Store the hold rules given (None keeps a rule) and return the effective ones.
pub fn set_hold_policy(
    client: &mut SpiClient<'_>,
    company: &str,
    retention: Option<Interval>,
    booked_hold: Option<Interval>,
    time_zone: Option<&str>,
) -> Result<HoldPolicy, PoolError> {
    if let Some(zone) = time_zone {
        check_time_zone(client, zone)?;
    }
    let args: [DatumWithOid; 4] = [
        company.into(),
        retention.into(),
        booked_hold.into(),
        time_zone.into(),
    ];
    client.update(&*plan(client, &UPSERT_POLICY)?, None, &args)?;
    let args: [DatumWithOid; 1] = [company.into()];
    let row = client
        .update(
            "SELECT retention, booked_hold, time_zone FROM company_policy($1)",
            Some(1),
            &args,
        )?
        .first();
    let (retention, booked_hold, zone) = row.get_three::<Interval, Interval, String>()?;
    Ok((
        company.to_string(),
        retention.expect("policy"),
        booked_hold.expect("policy"),
        zone.expect("policy"),
    ))
}

/// Store pool rules; NULL keeps the stored value.
/// Text and parameters: sql/statements/upsert_pool_rules.sql.
const UPSERT_POOL_RULES: Statement = Statement {
    sql: include_str!("../sql/statements/upsert_pool_rules.sql"),
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::INT4OID,
        pg_sys::TEXTOID, // the share as text: numeric keeps 0.2 as given
        pg_sys::BOOLOID,
        pg_sys::INTERVALOID,
        pg_sys::INT4OID,
        pg_sys::TEXTOID, // quarantine_below as text, as the share
        pg_sys::INT4OID,
        pg_sys::INTERVALOID,
        pg_sys::TEXTOID,
    ],
};

/// The effective pool rules, defaults included (company_policy()).
/// Text and parameters: sql/statements/pool_rules.sql.
const POOL_RULES: Statement = Statement {
    sql: include_str!("../sql/statements/pool_rules.sql"),
    arg_types: &[pg_sys::TEXTOID],
};

/// The rules set_pool_rules stores, None keeping one; checked already.
pub struct PoolRulesArgs<'a> {
    pub low_water_count: Option<i32>,
    pub low_water_share: Option<f64>,
    pub local_presence: Option<bool>,
    pub cooldown: Option<Interval>,
    pub daily_cap: Option<i32>,
    pub quarantine_below: Option<f64>,
    pub health_min_calls: Option<i32>,
    pub quarantine_for: Option<Interval>,
    pub overflow_company: OverflowChange<'a>,
}

/// company, low_water_count, low_water_share, local_presence, cooldown, daily_cap,
/// quarantine_below, health_min_calls, quarantine_for, overflow_company: the effective pool
/// rules.
pub type PoolRulesRow = (
    String,
    Option<i32>,
    Option<f64>,
    bool,
    Interval,
    Option<i32>,
    Option<f64>,
    i32,
    Interval,
    Option<String>,
);

/// Store the pool rules given (checked already; None keeps a rule) and return the effective
/// ones.
pub fn set_pool_rules(
    client: &mut SpiClient<'_>,
    company: &str,
    rules: &PoolRulesArgs<'_>,
) -> Result<PoolRulesRow, PoolError> {
    let overflow = match rules.overflow_company {
        OverflowChange::Keep => None,
        OverflowChange::Clear => Some(""),
        OverflowChange::Set(overflow) => {
            check_overflow_rule(client, company, overflow)?;
            Some(overflow)
        }
    };
    let share = rules.low_water_share.map(|v| v.to_string());
    let below = rules.quarantine_below.map(|v| v.to_string());
    let args: [DatumWithOid; 10] = [
        company.into(),
        rules.low_water_count.into(),
        share.as_deref().into(),
        rules.local_presence.into(),
        rules.cooldown.into(),
        rules.daily_cap.into(),
        below.as_deref().into(),
        rules.health_min_calls.into(),
        rules.quarantine_for.into(),
        overflow.into(),
    ];
    client.update(&*plan(client, &UPSERT_POOL_RULES)?, None, &args)?;
    let args: [DatumWithOid; 1] = [company.into()];
    let rows = client.update(&*plan(client, &POOL_RULES)?, Some(1), &args)?;
    let row = rows.first();
    Ok((
        company.to_string(),
        row.get::<i32>(1)?,
        row.get::<f64>(2)?,
        row.get::<bool>(3)?.expect("policy"),
        row.get::<Interval>(4)?.expect("policy"),
        row.get::<i32>(5)?,
        row.get::<f64>(6)?,
        row.get::<i32>(7)?.expect("policy"),
        row.get::<Interval>(8)?.expect("policy"),
        row.get::<String>(9)?,
    ))
}

/// Overflow rules the company's may not clash with: the overflow pool's own overflow, and
/// the companies lending from `company`.
/// Text and parameters: sql/statements/overflow_rules.sql.
const OVERFLOW_RULES: Statement = Statement {
    sql: include_str!("../sql/statements/overflow_rules.sql"),
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID],
};

/// `company` may lend from `overflow`: a company with numbers, one level (rules::check_overflow).
/// Changes of overflow rules take one lock in turn, so that two at once (A into B, B into A)
/// cannot both pass the check; the lock is held until the caller's transaction ends. Under
/// READ COMMITTED each check then sees the other's committed rule. A REPEATABLE READ or
/// SERIALIZABLE snapshot may predate the other's commit (and SERIALIZABLE does not guard
/// against a READ COMMITTED writer), so both are refused. An assignment follows one level
/// whatever is stored, so no stored rule can make it go further.
fn check_overflow_rule(
    client: &mut SpiClient<'_>,
    company: &str,
    overflow: &str,
) -> Result<(), PoolError> {
    // SAFETY: reading a backend-local global that Postgres sets at transaction start.
    if unsafe { pg_sys::XactIsoLevel } >= pg_sys::XACT_REPEATABLE_READ as i32 {
        return Err(PoolError::OverflowRuleNeedsFreshSnapshot);
    }
    client.update(
        "SELECT pg_advisory_xact_lock($1, $2)",
        None,
        &[
            LockSpace::Assignment.key().into(),
            OVERFLOW_RULES_KEY.into(),
        ],
    )?;
    let args: [DatumWithOid; 2] = [company.into(), overflow.into()];
    let rows = client.update(&*plan(client, &OVERFLOW_RULES)?, Some(1), &args)?;
    let row = rows.first();
    let overflow_of_overflow = row.get::<String>(1)?;
    let borrowers = row.get::<Vec<String>>(2)?.unwrap_or_default();
    let has_numbers = row.get::<bool>(3)?.unwrap_or(false);
    check_overflow(
        company,
        overflow,
        overflow_of_overflow.as_deref(),
        &borrowers,
    )?;
    if has_numbers {
        return Ok(());
    }
    Err(unknown_company(client, overflow)?)
}

/// Only names Postgres lists in pg_timezone_names: abbreviations and POSIX strings such as
/// 'EST5EDT,M3.2.0' are legal in SQL but easy to get subtly wrong for "same day" rules.
fn check_time_zone(client: &mut SpiClient<'_>, zone: &str) -> Result<(), PoolError> {
    let mut names: Vec<String> = Vec::new();
    for row in client.update("SELECT name FROM pg_timezone_names", None, &[])? {
        names.extend(row.get::<String>(1)?);
    }
    if names.iter().any(|n| n == zone) {
        return Ok(());
    }
    Err(PoolError::UnknownTimeZone {
        given: zone.to_string(),
        closest: closest_name(zone, names.iter().map(String::as_str)),
    })
}
