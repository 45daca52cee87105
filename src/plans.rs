//! Prepared SPI statements, planned once per backend and reused by every later call.
//!
//! The API functions run the same few statements over and over; planning them on each call
//! would cost more than executing them. Postgres' plan cache re-plans a kept statement by
//! itself when the tables it uses change (for example after DROP and CREATE EXTENSION).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys::{self, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient};

use crate::errors::PoolError;

/// A statement the extension runs: its text and the types of its parameters.
pub struct Statement {
    pub sql: &'static str,
    pub arg_types: &'static [pg_sys::Oid],
}

thread_local! {
    // A backend is single-threaded, so this is one cache per connection, keyed by SQL text.
    static PLANS: RefCell<HashMap<String, Rc<OwnedPreparedStatement>>> =
        RefCell::new(HashMap::new());
}

/// The kept plan of `statement`, preparing it on first use in this backend.
pub fn plan(
    client: &SpiClient<'_>,
    statement: &Statement,
) -> Result<Rc<OwnedPreparedStatement>, PoolError> {
    plan_sql(client, statement.sql, statement.arg_types)
}

/// The kept plan of a statement whose text is built at run time (for example around the
/// names of registered CRM tables); the same text reuses the same plan.
pub fn plan_sql(
    client: &SpiClient<'_>,
    sql: &str,
    arg_types: &[pg_sys::Oid],
) -> Result<Rc<OwnedPreparedStatement>, PoolError> {
    if let Some(found) = PLANS.with(|plans| plans.borrow().get(sql).cloned()) {
        return Ok(found);
    }
    let arg_types: Vec<PgOid> = arg_types.iter().map(|oid| PgOid::from(*oid)).collect();
    let prepared = Rc::new(client.prepare_mut(sql, &arg_types)?.keep());
    PLANS.with(|plans| {
        plans
            .borrow_mut()
            .insert(sql.to_string(), Rc::clone(&prepared))
    });
    Ok(prepared)
}
