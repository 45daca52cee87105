//! pool_ext: a pool of outbound caller phone numbers inside PostgreSQL.
//!
//! Three layers, each importing only from the ones below it:
//! - `api/`: the SQL-facing layer, every `#[pg_extern]`, one file per area (assignment,
//!   releases, outcomes, numbers, policy, crm, monitoring): checks arguments, opens SPI, calls
//!   the module below, and returns `Result<_, ErrorReport>`;
//! - the work, through SPI: `assignment` (the claim, renewal and alert), `releases` (expired,
//!   one, forced; the row lock), `outcomes`, `health` (windows and quarantine), `numbers`
//!   (import, status, move), `policy`, `crm` (registration and tracking), `plans` (statements
//!   planned once per connection);
//! - plain Rust with plain unit tests: `holds` (outcome rules, release batching), `rules`
//!   (claim order, pool-rule checks, low-water mark, runway), `validation` (argument checks,
//!   E.164, closest name), and `errors` at the bottom (every error a caller can see, with its
//!   SQLSTATE, message, detail and hint; it imports nothing of the crate).
//!
//! SQL: `sql/schema.sql` (tables, constraints, indexes, triggers), `sql/monitoring.sql`
//! (views), `sql/health.sql` (health windows, `number_health`), `sql/access.sql` (`grant_pool_access`), `sql/scheduling.sql` (pg_cron),
//! `sql/analytics.sql` (alerts, activity, runway), `sql/import.sql`,
//! `sql/release_in_batches.sql` and `sql/finalize.sql`; the statements the Rust code runs are
//! in `sql/statements/`, one file each, named after what they do.

// API functions return Result<_, ErrorReport>, which pgrx raises with its SQLSTATE, detail
// and hint. The report is 208 bytes and travels only on the error path, once per call: boxing
// it would buy nothing.
#![allow(clippy::result_large_err)]

::pgrx::pg_module_magic!(name, version);

mod api;

mod assignment;
mod crm;
mod health;
mod numbers;
mod outcomes;
mod plans;
mod policy;
mod releases;

mod errors;
mod holds;
mod rules;
mod validation;

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!(
    "../sql/ledger.sql",
    name = "ledger",
    requires = ["schema", locks::lock_space]
);
pgrx::extension_sql_file!(
    "../sql/monitoring.sql",
    name = "monitoring",
    requires = ["schema"]
);

pgrx::extension_sql_file!(
    "../sql/health.sql",
    name = "health",
    requires = ["monitoring"]
);

pgrx::extension_sql_file!(
    "../sql/access.sql",
    name = "access",
    requires = ["monitoring", "health"]
);

pgrx::extension_sql_file!(
    "../sql/scheduling.sql",
    name = "scheduling",
    requires = ["schema"]
);

pgrx::extension_sql_file!("../sql/finalize.sql", name = "grants", finalize,);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
