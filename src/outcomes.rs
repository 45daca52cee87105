//! Recording a call's outcome: the lead's hold, locked, moved or ended by the outcome's rule
//! (src/holds.rs), with a ledger row; and the number's health (src/health.rs).

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::errors::PoolError;
use crate::health;
use crate::holds::{hold_after_outcome, HoldChange, HoldFacts, Outcome};
use crate::plans::{plan, Statement};
use crate::releases::release_one;

/// The lead's hold(s) with everything the outcome rules need, locked.
/// Text and parameters: sql/statements/hold_facts.sql.
const HOLD_FACTS: Statement = Statement {
    sql: include_str!("../sql/statements/hold_facts.sql"),
    arg_types: &[pg_sys::UUIDOID, pg_sys::TEXTOID],
};

/// Keep a hold until $2 after outcome $3 (appointment $4, or NULL to keep the one recorded).
/// Text and parameters: sql/statements/move_hold_end.sql.
const MOVE_RELEASE: Statement = Statement {
    sql: include_str!("../sql/statements/move_hold_end.sql"),
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::TIMESTAMPTZOID,
        pg_sys::TEXTOID,
        pg_sys::TIMESTAMPTZOID,
    ],
};

/// The lead's company of a hold of `owner`'s number lent to the lead (an overflow hold).
/// Text and parameters: sql/statements/lent_for.sql.
const LENT_FOR: Statement = Statement {
    sql: include_str!("../sql/statements/lent_for.sql"),
    arg_types: &[pg_sys::UUIDOID, pg_sys::TEXTOID],
};

/// When an outcome names the company that owns the lead's number but lent it for another
/// (the natural mistake: assign_phone_number's assigned_broker_company is the owner), that
/// other company, for the error's hint.
fn lent_for(
    client: &mut SpiClient<'_>,
    lead: pgrx::Uuid,
    owner: &str,
) -> Result<Option<String>, PoolError> {
    let args: [DatumWithOid; 2] = [lead.into(), owner.into()];
    let rows = client.update(&*plan(client, &LENT_FOR)?, None, &args)?;
    match rows.into_iter().next() {
        Some(row) => Ok(row.get::<String>(1)?),
        None => Ok(None),
    }
}

/// The number as record_call_outcome returns it.
/// Text and parameters: sql/statements/number_state.sql.
const NUMBER_STATE: Statement = Statement {
    sql: include_str!("../sql/statements/number_state.sql"),
    arg_types: &[pg_sys::TEXTOID],
};

/// vapi_phone_number_id, number, assigned_broker_company, assignment_status,
/// last_call_outcome, release_at: the number after the outcome.
pub type NumberAfterOutcome = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<TimestampWithTimeZone>,
);

/// Apply `outcome` (checked already, appointment included) to the hold of `lead`, for
/// `company` (the lead's company) when given, and return the number as it is afterwards. An
/// overflow hold runs by the rules of the pool that lent it, and counts in that pool's health.
pub fn record(
    client: &mut SpiClient<'_>,
    lead: pgrx::Uuid,
    outcome: Outcome,
    appointment_at: Option<TimestampWithTimeZone>,
    company: Option<&str>,
) -> Result<NumberAfterOutcome, PoolError> {
    let args: [DatumWithOid; 2] = [lead.into(), company.into()];
    // (number id, its owner, the lead's company, facts): the owner's rules and health; the
    // lead's company names the hold (another than the owner for an overflow hold).
    let mut holds: Vec<(String, String, String, HoldFacts)> = Vec::new();
    for row in client.update(&*plan(client, &HOLD_FACTS)?, None, &args)? {
        let text = |i| row.get::<String>(i).map(Option::unwrap_or_default);
        let micros = |i| {
            row.get::<TimestampWithTimeZone>(i)
                .map(|t| t.map(i64::from).expect("set on a hold"))
        };
        let facts = HoldFacts {
            now: micros(3)?,
            retention_ends: micros(4)?,
            booked_hold: row.get::<i64>(5)?.expect("policy"),
            local_day_ends: micros(6)?,
        };
        holds.push((text(1)?, text(2)?, text(7)?, facts));
    }
    let (id, owner, lead_company, facts) = match holds.as_slice() {
        [] => {
            return Err(PoolError::NoHold {
                lead: lead.to_string(),
                company: company.map(str::to_string),
                lent_for: match company {
                    Some(owner) => lent_for(client, lead, owner)?,
                    None => None,
                },
            })
        }
        [(id, owner, lead_company, facts)] => {
            (id.clone(), owner.clone(), lead_company.clone(), *facts)
        }
        many => {
            return Err(PoolError::AmbiguousHold {
                lead: lead.to_string(),
                companies: many.iter().map(|(_, _, c, _)| c.clone()).collect(),
            })
        }
    };
    let appointment = appointment_at.map(i64::from);
    match hold_after_outcome(outcome, appointment, &facts)? {
        HoldChange::ReleaseNow => {
            release_one(client, &id, lead, outcome.as_str(), Some(outcome.as_str()))?
        }
        HoldChange::ReleaseAt(at) => {
            let at = TimestampWithTimeZone::try_from(at).expect("a valid timestamp");
            let args: [DatumWithOid; 4] = [
                id.as_str().into(),
                at.into(),
                outcome.as_str().into(),
                appointment_at.into(),
            ];
            client.update(&*plan(client, &MOVE_RELEASE)?, None, &args)?;
        }
    }
    // The number's health, and its quarantine when its answers fell behind its company's.
    let lent_to = (lead_company != owner).then_some(lead_company.as_str());
    health::record_outcome(client, &id, &owner, lead, lent_to, outcome)?;
    let args: [DatumWithOid; 1] = [id.as_str().into()];
    let state = client.update(&*plan(client, &NUMBER_STATE)?, Some(1), &args)?;
    let row = state.first();
    let text = |i| row.get::<String>(i);
    Ok((
        text(1)?.unwrap_or_default(),
        text(2)?.unwrap_or_default(),
        text(3)?.unwrap_or_default(),
        text(4)?.unwrap_or_default(),
        text(5)?,
        row.get::<TimestampWithTimeZone>(6)?,
    ))
}
