//! `assign_phone_number`: give a lead a caller number of its company, atomically.

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::errors::{spi, PoolError};
use crate::holds::DEFAULT_HOLD_HOURS;
use crate::plans::{plan, Statement};
use crate::validation::{closest_company, required, required_text};

const FUNCTION: &str = "assign_phone_number";

/// Serialises concurrent calls for the same (company, lead), so that a lead asking twice at
/// once waits for the first call and then gets its number back instead of a second one.
/// The lock is released when the caller's transaction ends. The first key spells 'pool'.
const LOCK_LEAD: Statement = Statement {
    sql: "SELECT pg_advisory_xact_lock(1886351212, hashtext($1 || '/' || $2::text))",
    arg_types: &[pg_sys::TEXTOID, pg_sys::UUIDOID],
};

/// One statement: return the lead's existing hold, or else claim the least recently assigned
/// available active number (skipping rows other transactions have locked), mark it held and
/// write the ledger row.
const CLAIM: Statement = Statement {
    sql: "
WITH held AS (
    SELECT vapi_phone_number_id, number, name, assigned_broker_company, assigned_at, release_at
    FROM signalwire_phone_numbers
    WHERE currently_assigned_to = $2 AND assigned_broker_company = $1
), candidate AS (
    SELECT vapi_phone_number_id
    FROM signalwire_phone_numbers
    WHERE assigned_broker_company = $1
      AND assignment_status = 'available'
      AND status = 'active'
      AND NOT EXISTS (SELECT FROM held)
    ORDER BY assigned_at NULLS FIRST
    LIMIT 1
    FOR NO KEY UPDATE SKIP LOCKED
), claimed AS (
    UPDATE signalwire_phone_numbers AS pool
    SET assignment_status        = 'assigned',
        currently_assigned_to    = $2,
        assigned_at              = now(),
        release_at               = now() + make_interval(hours => $3),
        last_call_outcome        = NULL,
        appointment_scheduled_at = NULL
    FROM candidate
    WHERE pool.vapi_phone_number_id = candidate.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.name, pool.assigned_broker_company,
              pool.assigned_at, pool.release_at
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason)
    SELECT 'assigned', vapi_phone_number_id, number, assigned_broker_company, $2, release_at, 'assign'
    FROM claimed
)
SELECT * FROM held
UNION ALL
SELECT * FROM claimed",
    arg_types: &[pg_sys::TEXTOID, pg_sys::UUIDOID, pg_sys::INT4OID],
};

/// Counts that explain why nothing could be claimed. Only runs on the failure path.
const POOL_COUNTS: Statement = Statement {
    sql: "
SELECT count(*),
       count(*) FILTER (WHERE assignment_status = 'assigned'),
       count(*) FILTER (WHERE status = 'inactive' AND assignment_status = 'available')
FROM signalwire_phone_numbers
WHERE assigned_broker_company = $1",
    arg_types: &[pg_sys::TEXTOID],
};

const COMPANIES: &str = "SELECT DISTINCT assigned_broker_company FROM signalwire_phone_numbers";

/// vapi_phone_number_id, number, name, assigned_broker_company, assigned_at, release_at
type AssignedRow = (
    String,
    String,
    Option<String>,
    String,
    TimestampWithTimeZone,
    TimestampWithTimeZone,
);

/// Assign a caller number of `company` to `lead` and return it. If the lead already holds a
/// number of that company, that hold is returned unchanged. Runs in the caller's transaction:
/// a rollback undoes the hold and its ledger row together.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn assign_phone_number(
    company: Option<&str>,
    lead: Option<pgrx::Uuid>,
) -> TableIterator<
    'static,
    (
        name!(vapi_phone_number_id, String),
        name!(number, String),
        name!(name, Option<String>),
        name!(assigned_broker_company, String),
        name!(assigned_at, TimestampWithTimeZone),
        name!(release_at, TimestampWithTimeZone),
    ),
> {
    let (company, lead) = match validate(company, lead) {
        Ok(args) => args,
        Err(e) => e.raise(FUNCTION),
    };
    let row = Spi::connect_mut(|client| claim(client, company, lead))
        .unwrap_or_else(|e| e.raise(FUNCTION));
    TableIterator::once(row)
}

fn validate(
    company: Option<&str>,
    lead: Option<pgrx::Uuid>,
) -> Result<(&str, pgrx::Uuid), PoolError> {
    Ok((required_text(company, "company")?, required(lead, "lead")?))
}

fn claim(
    client: &mut SpiClient<'_>,
    company: &str,
    lead: pgrx::Uuid,
) -> Result<AssignedRow, PoolError> {
    let key: [DatumWithOid; 2] = [company.into(), lead.into()];
    spi(
        client.update(&*plan(client, &LOCK_LEAD), None, &key),
        FUNCTION,
    );

    let args: [DatumWithOid; 3] = [company.into(), lead.into(), DEFAULT_HOLD_HOURS.into()];
    let rows = spi(client.update(&*plan(client, &CLAIM), None, &args), FUNCTION);
    if let Some(row) = rows.into_iter().next() {
        let column = |i| spi(row.get::<String>(i), FUNCTION).expect("NOT NULL column");
        let time = |i| spi(row.get::<TimestampWithTimeZone>(i), FUNCTION).expect("set on a hold");
        return Ok((
            column(1),
            column(2),
            spi(row.get::<String>(3), FUNCTION),
            column(4),
            time(5),
            time(6),
        ));
    }
    Err(why_nothing_was_claimed(client, company))
}

/// Tell an unknown company (a configuration mistake) from an exhausted pool (a capacity one).
fn why_nothing_was_claimed(client: &mut SpiClient<'_>, company: &str) -> PoolError {
    let args: [DatumWithOid; 1] = [company.into()];
    let counts = spi(
        client.update(&*plan(client, &POOL_COUNTS), Some(1), &args),
        FUNCTION,
    );
    let (total, assigned, inactive) = spi(counts.first().get_three::<i64, i64, i64>(), FUNCTION);
    let total = total.unwrap_or(0);
    if total == 0 {
        let names = spi(client.update(COMPANIES, None, &[]), FUNCTION)
            .into_iter()
            .filter_map(|row| spi(row.get::<String>(1), FUNCTION))
            .collect::<Vec<_>>();
        let closest = closest_company(company, names.iter().map(String::as_str));
        return PoolError::UnknownCompany {
            company: company.to_string(),
            closest,
        };
    }
    PoolError::PoolExhausted {
        company: company.to_string(),
        assigned: assigned.unwrap_or(0),
        inactive: inactive.unwrap_or(0),
        total,
    }
}
