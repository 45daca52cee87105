//! Alerts and analytics (sql/analytics.sql), and the Rust rule they use: the runway forecast,
//! exposed to SQL as an immutable function of its inputs.

use pgrx::prelude::*;

use crate::rules;

/// Hours until `available` numbers are used up at `per_hour` assignments an hour, with
/// `releases_by_hour[h]` holds ending in hour h from now. NULL: it lasts beyond those hours.
#[pg_extern(immutable, parallel_safe)]
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
    "../sql/analytics.sql",
    name = "analytics",
    requires = ["monitoring", hours_until_dry]
);
