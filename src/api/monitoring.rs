//! SQL: alerts and analytics (sql/analytics.sql: pool_alerts, check_pool_alerts,
//! pool_activity, pool_runway), and the Rust rule pool_runway uses, _hours_until_dry.

use pgrx::prelude::*;

use crate::rules;

/// Hours until `available` numbers are used up at `per_hour` assignments an hour, with
/// `releases_by_hour[h]` holds ending in hour h from now. NULL: it lasts beyond those hours.
/// Internal (pool_runway uses it): named with a leading underscore in SQL.
#[pg_extern(immutable, parallel_safe, name = "_hours_until_dry")]
#[search_path(pg_catalog, pg_temp)]
fn hours_until_dry(
    available: i64,
    per_hour: f64,
    releases_by_hour: Vec<Option<i64>>,
) -> Option<f64> {
    let releases: Vec<i64> = releases_by_hour
        .into_iter()
        .map(|n| n.unwrap_or(0))
        .collect();
    rules::hours_until_dry(available, per_hour, &releases)
}

pgrx::extension_sql_file!(
    "../../sql/analytics.sql",
    name = "analytics",
    requires = ["monitoring", hours_until_dry, locks::lock_space]
);
