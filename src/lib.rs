//! pool_ext: a pool of outbound caller phone numbers inside PostgreSQL.
//!
//! Modules, one per concern:
//! - `assignment`: `assign_phone_number`, the atomic, row-locked, least-recently-used claim;
//! - `lifecycle`: call outcomes, releases (expired, batched, forced) and company policy;
//! - `numbers`: importing the numbers document, retiring, reactivating and moving numbers;
//! - `crm`: registering the CRM's tables and tracking assignments in them;
//! - `holds`: the outcome rules and release batching (plain Rust);
//! - `rules`: local presence, cooldown, daily cap, low-water alerts, runway (plain Rust);
//! - `validation`: argument checks and company-name matching (plain Rust);
//! - `errors`: every error a caller can see, with its SQLSTATE, message and hint;
//! - `plans`: statements planned once per connection;
//! - `sql/schema.sql`: the tables, constraints and indexes; `sql/monitoring.sql`: views;
//!   `sql/access.sql`: `grant_pool_access`, the documented sets of privileges;
//!   `sql/scheduling.sql`: `schedule_release_job`, the pg_cron helper; `sql/analytics.sql`:
//!   low-water alerts, hourly activity and the runway forecast (`analytics`: their Rust rules).

// API functions return Result<_, ErrorReport>, which pgrx raises with its SQLSTATE, detail
// and hint. The report is 208 bytes and travels only on the error path, once per call: boxing
// it would buy nothing.
#![allow(clippy::result_large_err)]

::pgrx::pg_module_magic!(name, version);

mod analytics;
mod assignment;
mod crm;
mod errors;
mod holds;
mod lifecycle;
mod numbers;
mod plans;
mod rules;
mod validation;

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!(
    "../sql/monitoring.sql",
    name = "monitoring",
    requires = ["schema"]
);

pgrx::extension_sql_file!(
    "../sql/access.sql",
    name = "access",
    requires = ["monitoring"]
);

pgrx::extension_sql_file!(
    "../sql/scheduling.sql",
    name = "scheduling",
    requires = ["schema"]
);

pgrx::extension_sql!(
    r#"
-- Callers get EXECUTE only when an operator grants it (see README: "Roles and grants").
REVOKE ALL ON ALL ROUTINES IN SCHEMA @extschema@ FROM PUBLIC;

-- These write their own ledger rows; the marker tells the direct-change triggers to stay out.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION release_expired_phone_numbers(bigint) SET pool_ext.in_api = 'on';
ALTER FUNCTION force_release_phone_number(text, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION record_call_outcome(uuid, text, timestamptz, text) SET pool_ext.in_api = 'on';

-- Every statement of these is a few index lookups: compiling one with JIT would cost more
-- than running it, and a plan estimated from unanalyzed tables can cross jit_above_cost.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET jit = off;
-- Its statements are written to need no parameter values to plan well (a test checks the
-- generic plans): planning them again on every call would cost more than running them.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET plan_cache_mode = force_generic_plan;
-- Every row it reads is reached through an index; a scan of a whole table (even a small one
-- such as company_pool_sizes, which grows with the companies) or a bitmap over a company's
-- rows would grow with the data.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_seqscan = off;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_bitmapscan = off;
ALTER FUNCTION release_expired_phone_numbers(bigint) SET jit = off;
ALTER FUNCTION force_release_phone_number(text, text) SET jit = off;
ALTER FUNCTION record_call_outcome(uuid, text, timestamptz, text) SET jit = off;
"#,
    name = "grants",
    finalize,
);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
