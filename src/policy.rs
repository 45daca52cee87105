//! Per-company policy: hold rules (set_company_policy) and pool rules (set_pool_rules), stored
//! in company_policies; company_policy() (sql/schema.sql) supplies the defaults.

use pgrx::datum::{DatumWithOid, Interval};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::errors::PoolError;
use crate::plans::{plan, Statement};
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
    ],
};

/// The effective pool rules, defaults included (_policy_defaults).
const POOL_RULES: Statement = Statement {
    sql: "SELECT r.low_water_count, r.low_water_share, r.local_presence, r.cooldown, r.daily_cap,
                 cp.quarantine_below::float8,
                 coalesce(cp.health_min_calls, d.health_min_calls),
                 coalesce(cp.quarantine_for, d.quarantine_for)
          FROM company_policy($1) AS r
          CROSS JOIN _policy_defaults AS d
          LEFT JOIN company_policies AS cp ON cp.company = $1",
    arg_types: &[pg_sys::TEXTOID],
};

/// The rules set_pool_rules stores, None keeping one; checked already.
pub struct PoolRulesArgs {
    pub low_water_count: Option<i32>,
    pub low_water_share: Option<f64>,
    pub local_presence: Option<bool>,
    pub cooldown: Option<Interval>,
    pub daily_cap: Option<i32>,
    pub quarantine_below: Option<f64>,
    pub health_min_calls: Option<i32>,
    pub quarantine_for: Option<Interval>,
}

/// company, low_water_count, low_water_share, local_presence, cooldown, daily_cap,
/// quarantine_below, health_min_calls, quarantine_for: the effective pool rules.
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
);

/// Store the pool rules given (checked already; None keeps a rule) and return the effective
/// ones.
pub fn set_pool_rules(
    client: &mut SpiClient<'_>,
    company: &str,
    rules: &PoolRulesArgs,
) -> Result<PoolRulesRow, PoolError> {
    let share = rules.low_water_share.map(|v| v.to_string());
    let below = rules.quarantine_below.map(|v| v.to_string());
    let args: [DatumWithOid; 9] = [
        company.into(),
        rules.low_water_count.into(),
        share.as_deref().into(),
        rules.local_presence.into(),
        rules.cooldown.into(),
        rules.daily_cap.into(),
        below.as_deref().into(),
        rules.health_min_calls.into(),
        rules.quarantine_for.into(),
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
    ))
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
