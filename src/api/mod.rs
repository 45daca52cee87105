//! The SQL-facing layer: every `#[pg_extern]` of the extension, one file per area. Each checks
//! its arguments (src/validation.rs), opens SPI and calls the module that does the work;
//! errors travel as `PoolError` and reach the caller as an `ErrorReport` with its SQLSTATE,
//! message, detail and hint. The SQL files each area installs are wired here too.

mod assignment;
mod crm;
mod locks;
mod monitoring;
mod numbers;
mod outcomes;
mod policy;
mod releases;
