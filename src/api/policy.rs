//! SQL: set_company_policy and set_pool_rules.

use pgrx::datum::Interval;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

use crate::errors::PoolError;
use crate::holds::valid_policy_hold;
use crate::policy;
use crate::rules::{OverflowChange, PoolRules};
use crate::validation::{optional_text, required_text};

/// Longer than any name in pg_timezone_names (the longest has 32 characters).
const MAX_TIME_ZONE: usize = 64;

/// Set a company's hold rules; arguments left NULL keep their current value (or the default:
/// retention 18 hours, booked hold 24 hours, time zone UTC). Returns the effective policy.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn set_company_policy(
    company: Option<&str>,
    retention: default!(Option<Interval>, "NULL"),
    booked_hold: default!(Option<Interval>, "NULL"),
    time_zone: default!(Option<&str>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(company, String),
            name!(retention, Interval),
            name!(booked_hold, Interval),
            name!(time_zone, String),
        ),
    >,
    ErrorReport,
> {
    let company = required_text(company, "company")?;
    let time_zone = optional_text(time_zone, "time_zone", MAX_TIME_ZONE)?;
    for (argument, value) in [("retention", retention), ("booked_hold", booked_hold)] {
        if let Some(v) = value {
            if !valid_policy_hold(v.months(), v.days(), v.micros()) {
                return Err(PoolError::InvalidPolicyHold {
                    argument,
                    given: v.to_string(),
                }
                .into());
            }
        }
    }
    let row = Spi::connect_mut(|client| {
        policy::set_hold_policy(client, company, retention, booked_hold, time_zone)
    })?;
    Ok(TableIterator::once(row))
}

/// Set which free numbers a company hands out and when it is warned (docs/reference.md,
/// "set_pool_rules"): the low-water mark of its alert (a count, or a share of its numbers),
/// local presence (prefer the lead's area code), a cooldown after each release, a daily cap
/// per number, the quarantine of numbers whose answers fall behind the company's, and the
/// overflow pool that lends a number when the company has none ('' for none; one level: a
/// company cannot overflow into itself, into a pool that overflows, or when it is another's
/// overflow pool). NULL keeps a rule as it is. Returns the effective rules.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::type_complexity, clippy::too_many_arguments)] // the SQL signature and row
fn set_pool_rules(
    company: Option<&str>,
    low_water_count: default!(Option<i32>, "NULL"),
    low_water_share: default!(Option<f64>, "NULL"),
    local_presence: default!(Option<bool>, "NULL"),
    cooldown: default!(Option<Interval>, "NULL"),
    daily_cap: default!(Option<i32>, "NULL"),
    quarantine_below: default!(Option<f64>, "NULL"),
    health_min_calls: default!(Option<i32>, "NULL"),
    quarantine_for: default!(Option<Interval>, "NULL"),
    overflow_company: default!(Option<&str>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(company, String),
            name!(low_water_count, Option<i32>),
            name!(low_water_share, Option<f64>),
            name!(local_presence, bool),
            name!(cooldown, Interval),
            name!(daily_cap, Option<i32>),
            name!(quarantine_below, Option<f64>),
            name!(health_min_calls, i32),
            name!(quarantine_for, Interval),
            name!(overflow_company, Option<String>),
        ),
    >,
    ErrorReport,
> {
    let company = required_text(company, "company")?;
    let parts = |i: Interval| (i.months(), i.days(), i.micros());
    PoolRules {
        low_water_count: low_water_count.map(i64::from),
        low_water_share,
        local_presence,
        cooldown: cooldown.map(parts),
        daily_cap: daily_cap.map(i64::from),
        quarantine_below,
        health_min_calls: health_min_calls.map(i64::from),
        quarantine_for: quarantine_for.map(parts),
    }
    .validate()?;
    let overflow_company = OverflowChange::parse(overflow_company)?;
    let rules = policy::PoolRulesArgs {
        low_water_count,
        low_water_share,
        local_presence,
        cooldown,
        daily_cap,
        quarantine_below,
        health_min_calls,
        quarantine_for,
        overflow_company,
    };
    let row = Spi::connect_mut(|client| policy::set_pool_rules(client, company, &rules))?;
    Ok(TableIterator::once(row))
}
