//! `assign_phone_number`: give a lead a caller number of its company, atomically.

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::crm::{self, CrmTables};
use crate::errors::{spi, PoolError};
use crate::plans::{plan, Statement};
use crate::validation::{closest_name, optional_text, required, required_text};

const FUNCTION: &str = "assign_phone_number";

/// The first key of pool_ext's advisory locks: 'pool' in ASCII.
const LOCK_SPACE: i32 = 1_886_351_212;

/// The second key of the per-lead lock: FNV-1a over the company and the lead, folded to 32
/// bits. The same in every backend running this library; a collision only makes two
/// unrelated calls wait for each other.
pub fn lead_lock_key(company: &str, lead: &[u8; 16]) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in company.bytes().chain([0]).chain(lead.iter().copied()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((hash >> 32) ^ hash) as u32 as i32
}

/// Serialises concurrent calls for the same (company, lead), so that a lead asking twice at
/// once waits for the first call and then gets its number back instead of a second one.
/// Taken with pg_advisory_xact_lock(int4, int4) called directly (no SQL statement); released
/// when the caller's transaction ends.
fn lock_lead(company: &str, lead: pgrx::Uuid) {
    let key = lead_lock_key(company, lead.as_bytes());
    // SAFETY: a plain function call into Postgres with two int4 arguments; errors (a deadlock,
    // a cancel) are raised as Postgres errors and unwind through pgrx's guard.
    unsafe {
        pgrx::direct_function_call_as_datum(
            pg_sys::pg_advisory_xact_lock_int4,
            &[
                Some(pg_sys::Datum::from(LOCK_SPACE)),
                Some(pg_sys::Datum::from(key)),
            ],
        );
    }
}

/// One statement: return the lead's existing hold, or else claim the least recently assigned
/// available active number (skipping rows other transactions have locked), hold it for the
/// company's retention and write the ledger row. Also says whether CRM tables are registered.
const CLAIM: Statement = Statement {
    sql: "
WITH held AS (
    SELECT vapi_phone_number_id, number, name, assigned_broker_company, assigned_at, release_at,
           true AS reused
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
), stamp AS (
    -- The moment of the claim, not the transaction's start: this snapshot already sees the
    -- release that freed the number, so the hold never seems to begin before that release.
    SELECT clock_timestamp() AS at
), claimed AS (
    UPDATE signalwire_phone_numbers AS pool
    SET assignment_status        = 'assigned',
        currently_assigned_to    = $2,
        assigned_at              = (SELECT at FROM stamp),
        release_at               = (SELECT at FROM stamp) + (SELECT retention FROM company_policy($1)),
        last_call_outcome        = NULL,
        appointment_scheduled_at = NULL
    FROM candidate
    WHERE pool.vapi_phone_number_id = candidate.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.name, pool.assigned_broker_company,
              pool.assigned_at, pool.release_at, false AS reused
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, release_at, reason)
    SELECT 'assigned', vapi_phone_number_id, number, assigned_broker_company, $2, assigned_at, release_at,
           'assign'
    FROM claimed
)
SELECT hold.*, crm.leads::text, crm.interactions::text
FROM (SELECT * FROM held UNION ALL SELECT * FROM claimed) AS hold
LEFT JOIN crm_tables AS crm ON true",
    arg_types: &[pg_sys::TEXTOID, pg_sys::UUIDOID],
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
/// number of that company, that hold is returned unchanged. `customer_phone`, the lead's own
/// phone, is recorded in the CRM interaction. Runs in the caller's transaction: a rollback
/// undoes the hold, its ledger row and the CRM rows together.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn assign_phone_number(
    company: Option<&str>,
    lead: Option<pgrx::Uuid>,
    customer_phone: default!(Option<&str>, "NULL"),
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
    let result = (|| {
        let company = required_text(company, "company")?;
        let lead = required(lead, "lead")?;
        let customer_phone = optional_text(customer_phone, "customer_phone", MAX_CUSTOMER_PHONE)?;
        Spi::connect_mut(|client| claim(client, company, lead, customer_phone))
    })();
    TableIterator::once(result.unwrap_or_else(|e| e.raise(FUNCTION)))
}

/// Longer than any phone number however it is written; keeps junk out of the CRM.
const MAX_CUSTOMER_PHONE: usize = 32;

fn claim(
    client: &mut SpiClient<'_>,
    company: &str,
    lead: pgrx::Uuid,
    customer_phone: Option<&str>,
) -> Result<AssignedRow, PoolError> {
    lock_lead(company, lead);
    let key: [DatumWithOid; 2] = [company.into(), lead.into()];

    let rows = spi(client.update(&*plan(client, &CLAIM), None, &key), FUNCTION);
    let Some(row) = rows.into_iter().next() else {
        return Err(why_nothing_was_claimed(client, company));
    };
    let text = |i| spi(row.get::<String>(i), FUNCTION);
    let time = |i| spi(row.get::<TimestampWithTimeZone>(i), FUNCTION).expect("set on a hold");
    let assigned: AssignedRow = (
        text(1).expect("NOT NULL"),
        text(2).expect("NOT NULL"),
        text(3),
        text(4).expect("NOT NULL"),
        time(5),
        time(6),
    );
    let reused = spi(row.get::<bool>(7), FUNCTION).unwrap_or(true);
    if let (false, Some(leads), Some(interactions)) = (reused, text(8), text(9)) {
        let (id, number, _, company, assigned_at, _) = &assigned;
        let assignment = crm::Assignment {
            lead,
            vapi_phone_number_id: id,
            number,
            company,
            customer_phone,
            assigned_at: *assigned_at,
        };
        crm::track(
            client,
            &CrmTables {
                leads,
                interactions,
            },
            &assignment,
        )?;
    }
    Ok(assigned)
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
        let closest = closest_name(company, names.iter().map(String::as_str));
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

#[cfg(test)]
mod tests {
    use super::lead_lock_key;

    #[test]
    fn lead_lock_keys_are_stable_and_tell_company_and_lead_apart() {
        let lead = [7_u8; 16];
        // A fixed value (FNV-1a, computed independently): the key must not change between
        // builds, or two versions of the library running side by side during an upgrade
        // would not exclude each other.
        assert_eq!(lead_lock_key("Acme", &lead), 432_971_459);
        assert_ne!(lead_lock_key("Acme", &lead), lead_lock_key("Acme ", &lead));
        assert_ne!(
            lead_lock_key("Acme", &lead),
            lead_lock_key("Acme", &[8; 16])
        );
        // The separator keeps "ab" + lead from colliding with "a" + "b"-prefixed lead.
        let mut shifted = [7_u8; 16];
        shifted[0] = b'b';
        assert_ne!(lead_lock_key("ab", &lead), lead_lock_key("a", &shifted));
    }
}
