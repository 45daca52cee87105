//! pool_ext: a pool of outbound caller phone numbers inside PostgreSQL.
//!
//! Modules, one per concern:
//! - `assignment`: `assign_phone_number`, the atomic, row-locked, least-recently-used claim;
//! - `release`: `release_expired_phone_numbers` and its batched procedure;
//! - `holds`: how long holds last and how releases are batched (plain Rust);
//! - `validation`: argument checks and company-name matching (plain Rust);
//! - `errors`: every error a caller can see, with its SQLSTATE, message and hint;
//! - `plans`: statements planned once per connection;
//! - `sql/schema.sql`: the tables, constraints and indexes.

::pgrx::pg_module_magic!(name, version);

mod assignment;
mod errors;
mod holds;
mod plans;
mod release;
mod validation;

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);

pgrx::extension_sql!(
    r#"
-- Callers get EXECUTE only when an operator grants it (see README: "Roles and grants").
REVOKE ALL ON FUNCTION assign_phone_number(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION release_expired_phone_numbers(bigint) FROM PUBLIC;
REVOKE ALL ON PROCEDURE release_expired_phone_numbers_in_batches(integer, bigint) FROM PUBLIC;
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
