//! Connecting to a private cluster and making a fresh database there: shared by the
//! multi-session tests (tests/common/mod.rs) and the benchmark (bench/harness.rs, through
//! `#[path]`), so both create their databases the same way.

use postgres::{Client, NoTls};

/// A session as `postgres` to `dbname` on the cluster listening at `host` (a socket
/// directory) and `port`.
pub fn try_connect(host: &str, port: u16, dbname: &str) -> Result<Client, postgres::Error> {
    postgres::Config::new()
        .host(host)
        .port(port)
        .user("postgres")
        .dbname(dbname)
        .connect(NoTls)
}

/// Drop database `name` if it exists (ending its sessions) and create it anew, as a copy of
/// `template` when one is given.
pub fn recreate(admin: &mut Client, name: &str, template: Option<&str>) {
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap_or_else(|e| panic!("drop database {name}: {e}"));
    let from = template
        .map(|t| format!(" TEMPLATE {t}"))
        .unwrap_or_default();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}{from}"))
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
}
