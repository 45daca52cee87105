//! `assign_phone_number`: give a lead a caller number of its company, atomically.

use std::sync::LazyLock;

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::crm::{self, CrmTables};
use crate::errors::{spi, PoolError};
use crate::plans::{plan, plan_sql, Statement};
use crate::rules::{alert_after_assignment, area_prefix, low_water_mark, Alert};
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

/// A free number the company's rules let go now is neither resting after its last release
/// (the company's cooldown) nor at the company's daily cap (counted in its time zone). Shared
/// by the claim, its counts and the exhausted-pool counts; pool_health (sql/monitoring.sql)
/// says the same in SQL. Needs `pool`, `policy` (company_policy), `stamp` and `today`.
const RESTING: &str = "coalesce(pool.released_at + policy.cooldown > stamp.at, false)";
const AT_CAP: &str = "coalesce(pool.assignments_day = today.day \
                      AND pool.assignments_today >= policy.daily_cap, false)";

/// The claim, one statement: return the lead's existing hold, or else claim the least
/// recently assigned assignable number (skipping rows other transactions have locked), hold
/// it for the company's retention, count it against today's cap and write the ledger row.
/// Also returns the CRM registration and what the low-water alert needs: the company's
/// usable numbers and how many stay assignable after this claim (as this snapshot sees them).
///
/// With `local`, $3 is the lead's area prefix ("+1415"): numbers of that area come first when
/// the company has local presence on, and the result says whether the hold matched. Without
/// it the statement is the plain least-recently-used claim: companies and callers that do not
/// use local presence pay nothing for it.
fn claim_sql(local: bool) -> String {
    let matches = |number: &str| {
        if local {
            format!("CASE WHEN policy.local_presence THEN left({number}, length($3)) = $3 END")
        } else {
            "NULL::boolean".to_string()
        }
    };
    let order = if local {
        format!("{} DESC NULLS LAST, ", matches("pool.number"))
    } else {
        String::new()
    };
    let hold_matches = matches("hold.number");
    format!(
        "
WITH policy AS (
    SELECT * FROM company_policy($1)
), stamp AS (
    -- The moment of the claim, not the transaction's start: this snapshot already sees the
    -- release that freed the number, so the hold never seems to begin before that release.
    SELECT clock_timestamp() AS at
), today AS (
    SELECT (stamp.at AT TIME ZONE policy.time_zone)::date AS day FROM stamp, policy
), held AS (
    SELECT vapi_phone_number_id, number, name, assigned_broker_company, assigned_at, release_at,
           true AS reused
    FROM signalwire_phone_numbers
    WHERE currently_assigned_to = $2 AND assigned_broker_company = $1
), candidate AS (
    SELECT pool.vapi_phone_number_id
    FROM signalwire_phone_numbers AS pool, policy, stamp, today
    WHERE pool.assigned_broker_company = $1
      AND pool.assignment_status = 'available'
      AND pool.status = 'active'
      AND NOT {RESTING} AND NOT {AT_CAP}
      AND NOT EXISTS (SELECT FROM held)
    ORDER BY {order}pool.assigned_at NULLS FIRST
    LIMIT 1
    FOR NO KEY UPDATE OF pool SKIP LOCKED
), claimed AS (
    UPDATE signalwire_phone_numbers AS pool
    SET assignment_status        = 'assigned',
        currently_assigned_to    = $2,
        assigned_at              = stamp.at,
        release_at               = stamp.at + policy.retention,
        last_call_outcome        = NULL,
        appointment_scheduled_at = NULL,
        assignments_today        = CASE WHEN pool.assignments_day = today.day
                                        THEN pool.assignments_today + 1 ELSE 1 END,
        assignments_day          = today.day
    FROM candidate, policy, stamp, today
    WHERE pool.vapi_phone_number_id = candidate.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.name, pool.assigned_broker_company,
              pool.assigned_at, pool.release_at, false AS reused
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, release_at, reason)
    SELECT 'assigned', vapi_phone_number_id, number, assigned_broker_company, $2, assigned_at, release_at,
           'assign'
    FROM claimed
), counts AS (
    SELECT count(*) FILTER (WHERE pool.status = 'active' OR pool.assignment_status = 'assigned')
               AS usable,
           count(*) FILTER (WHERE pool.assignment_status = 'available' AND pool.status = 'active'
                              AND NOT {RESTING} AND NOT {AT_CAP}) AS assignable
    FROM signalwire_phone_numbers AS pool, policy, stamp, today
    WHERE pool.assigned_broker_company = $1
)
SELECT hold.*, crm.leads::text, crm.interactions::text,
       counts.usable, counts.assignable - 1, policy.low_water_count, policy.low_water_share,
       EXISTS (SELECT FROM pool_alert_state AS a WHERE a.company = $1),
       {hold_matches}
FROM (SELECT * FROM held UNION ALL SELECT * FROM claimed) AS hold
LEFT JOIN crm_tables AS crm ON true
CROSS JOIN counts CROSS JOIN policy"
    )
}

// Built once per backend; plans.rs keeps their plans.
static CLAIM_LRU: LazyLock<String> = LazyLock::new(|| claim_sql(false));
static CLAIM_LOCAL: LazyLock<String> = LazyLock::new(|| claim_sql(true));
static POOL_COUNTS: LazyLock<String> = LazyLock::new(pool_counts_sql);

/// Counts that explain why nothing could be claimed. Only runs on the failure path.
fn pool_counts_sql() -> String {
    format!(
        "
WITH policy AS (
    SELECT * FROM company_policy($1)
), stamp AS (
    SELECT clock_timestamp() AS at
), today AS (
    SELECT (stamp.at AT TIME ZONE policy.time_zone)::date AS day FROM stamp, policy
)
SELECT count(*),
       count(*) FILTER (WHERE assignment_status = 'assigned'),
       count(*) FILTER (WHERE status = 'inactive' AND assignment_status = 'available'),
       count(*) FILTER (WHERE status = 'active' AND assignment_status = 'available' AND {RESTING}),
       count(*) FILTER (WHERE status = 'active' AND assignment_status = 'available'
                          AND NOT {RESTING} AND {AT_CAP})
FROM signalwire_phone_numbers AS pool, policy, stamp, today
WHERE assigned_broker_company = $1"
    )
}

const COMPANIES: &str = "SELECT DISTINCT assigned_broker_company FROM signalwire_phone_numbers";

/// The channel low-water alerts are sent on (`LISTEN pool_ext_low_water`).
pub const LOW_WATER_CHANNEL: &str = "pool_ext_low_water";

/// Raising or re-arming a company's alert first takes the transaction-level advisory lock
/// (1886351213, hashtext(company)), without waiting: if another transaction holds it, that one
/// is changing the alert right now and this one leaves it alone. So an assignment never waits
/// for another caller's alert, and two never both notify. check_pool_alerts() (sql/analytics.sql)
/// takes the same lock.
const RAISE_ALERT: Statement = Statement {
    sql: "WITH locked AS (
              SELECT pg_try_advisory_xact_lock(1886351213, hashtext($1)) AS got
          ), raised AS (
              INSERT INTO pool_alert_state (company)
              SELECT $1 FROM locked WHERE locked.got
              ON CONFLICT (company) DO NOTHING
              RETURNING company
          )
          SELECT pg_notify($2, $3) FROM raised",
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID],
};

const REARM_ALERT: Statement = Statement {
    sql: "DELETE FROM pool_alert_state
          WHERE company = $1 AND pg_try_advisory_xact_lock(1886351213, hashtext($1))",
    arg_types: &[pg_sys::TEXTOID],
};

/// vapi_phone_number_id, number, name, assigned_broker_company, assigned_at, release_at,
/// area_code_matched
type AssignedRow = (
    String,
    String,
    Option<String>,
    String,
    TimestampWithTimeZone,
    TimestampWithTimeZone,
    Option<bool>,
);

/// Assign a caller number of `company` to `lead` and return it. If the lead already holds a
/// number of that company, that hold is returned unchanged. `customer_phone`, the lead's own
/// phone, is recorded in the CRM interaction and, when the company has local presence on,
/// makes a free number of the lead's area code come first (`area_code_matched` says whether
/// the number matched; NULL when no matching was tried). Runs in the caller's transaction: a
/// rollback undoes the hold, its ledger row, the CRM rows and a low-water alert together.
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
        name!(area_code_matched, Option<bool>),
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
    let area = customer_phone.and_then(area_prefix);
    let rows = match area.as_deref() {
        None => {
            let args: [DatumWithOid; 2] = [company.into(), lead.into()];
            let statement = plan_sql(client, &CLAIM_LRU, &[pg_sys::TEXTOID, pg_sys::UUIDOID]);
            spi(client.update(&*statement, None, &args), FUNCTION)
        }
        Some(area) => {
            let args: [DatumWithOid; 3] = [company.into(), lead.into(), area.into()];
            let types = [pg_sys::TEXTOID, pg_sys::UUIDOID, pg_sys::TEXTOID];
            let statement = plan_sql(client, &CLAIM_LOCAL, &types);
            spi(client.update(&*statement, None, &args), FUNCTION)
        }
    };
    let Some(row) = rows.into_iter().next() else {
        return Err(why_nothing_was_claimed(client, company));
    };
    let text = |i| spi(row.get::<String>(i), FUNCTION);
    let time = |i| spi(row.get::<TimestampWithTimeZone>(i), FUNCTION).expect("set on a hold");
    let count = |i| spi(row.get::<i64>(i), FUNCTION).unwrap_or(0);
    let assigned: AssignedRow = (
        text(1).expect("NOT NULL"),
        text(2).expect("NOT NULL"),
        text(3),
        text(4).expect("NOT NULL"),
        time(5),
        time(6),
        spi(row.get::<bool>(15), FUNCTION),
    );
    let reused = spi(row.get::<bool>(7), FUNCTION).unwrap_or(true);
    if reused {
        return Ok(assigned);
    }
    let pool = PoolAfterClaim {
        usable: count(10),
        assignable: count(11),
        low_water_count: spi(row.get::<i32>(12), FUNCTION).map(i64::from),
        low_water_share: spi(row.get::<f64>(13), FUNCTION),
        alerted: spi(row.get::<bool>(14), FUNCTION).unwrap_or(false),
    };
    if let (Some(leads), Some(interactions)) = (text(8), text(9)) {
        let (id, number, _, company, assigned_at, _, _) = &assigned;
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
    update_low_water_alert(client, company, &pool);
    Ok(assigned)
}

/// The company's pool as the claim saw it, for the low-water alert.
struct PoolAfterClaim {
    usable: i64,
    assignable: i64,
    low_water_count: Option<i64>,
    low_water_share: Option<f64>,
    alerted: bool,
}

/// Raise the company's low-water alert when this assignment took its pool down to the mark
/// (one pg_notify per crossing, sent when the caller commits), or re-arm it when the pool is
/// above the mark again. Both are rare; most assignments change nothing here.
fn update_low_water_alert(client: &mut SpiClient<'_>, company: &str, pool: &PoolAfterClaim) {
    let mark = low_water_mark(pool.low_water_count, pool.low_water_share, pool.usable);
    match alert_after_assignment(pool.assignable, mark, pool.alerted) {
        Alert::Keep => {}
        Alert::Raise => {
            let payload = serde_json::json!({
                "company": company,
                "available": pool.assignable.max(0),
                "total": pool.usable,
                "low_water_mark": mark,
            })
            .to_string();
            let args: [DatumWithOid; 3] = [
                company.into(),
                LOW_WATER_CHANNEL.into(),
                payload.as_str().into(),
            ];
            spi(
                client.update(&*plan(client, &RAISE_ALERT), None, &args),
                FUNCTION,
            );
        }
        Alert::Rearm => {
            let args: [DatumWithOid; 1] = [company.into()];
            spi(
                client.update(&*plan(client, &REARM_ALERT), None, &args),
                FUNCTION,
            );
        }
    }
}

/// Tell an unknown company (a configuration mistake) from an exhausted pool (a capacity one).
fn why_nothing_was_claimed(client: &mut SpiClient<'_>, company: &str) -> PoolError {
    let args: [DatumWithOid; 1] = [company.into()];
    let counts = spi(
        client.update(
            &*plan_sql(client, &POOL_COUNTS, &[pg_sys::TEXTOID]),
            Some(1),
            &args,
        ),
        FUNCTION,
    );
    let row = counts.first();
    let count = |i| spi(row.get::<i64>(i), FUNCTION).unwrap_or(0);
    let total = count(1);
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
        assigned: count(2),
        inactive: count(3),
        resting: count(4),
        at_cap: count(5),
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
