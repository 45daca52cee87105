//! `assign_phone_number`: give a lead a caller number of its company, atomically.

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::crm::{self, CrmTables};
use crate::errors::{spi, PoolError};
use crate::plans::{plan, Statement};
use crate::rules::{
    alert_after_assignment, area_prefix, claim_order, low_water_mark, Alert, PoolNumber,
};
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

/// The company's numbers in least-recently-used order (never-assigned first), each with its
/// state for this lead (1 its own hold, 2 held by another, 3 retired, 4 free but resting
/// after a release, 5 free), and the company's rules, CRM registration and alert state
/// repeated on every row. One row with a NULL state when the company has no numbers.
/// $1 company, $2 lead.
const COMPANY_NUMBERS: Statement = Statement {
    sql: "
SELECT CASE WHEN p.currently_assigned_to = $2 THEN 1
            WHEN p.assignment_status = 'assigned' THEN 2
            WHEN p.status = 'inactive' THEN 3
            WHEN p.released_at > c.rest_cutoff THEN 4
            WHEN p.vapi_phone_number_id IS NOT NULL THEN 5
       END::int4,
       p.vapi_phone_number_id, p.number, p.name, p.assigned_at, p.release_at,
       c.retention, c.rest_cutoff, c.daily_cap, c.time_zone, c.local_presence,
       c.low_water_count, c.low_water_share, c.leads, c.interactions, c.alerted
FROM (SELECT policy.retention, policy.daily_cap, policy.time_zone, policy.local_presence,
             policy.low_water_count, policy.low_water_share,
             clock_timestamp() - policy.cooldown AS rest_cutoff,
             crm.leads::text AS leads, crm.interactions::text AS interactions,
             EXISTS (SELECT FROM pool_alert_state AS a WHERE a.company = $1) AS alerted
      FROM company_policy($1) AS policy
      LEFT JOIN crm_tables AS crm ON true) AS c
LEFT JOIN signalwire_phone_numbers AS p ON p.assigned_broker_company = $1
ORDER BY p.assigned_at NULLS FIRST, p.vapi_phone_number_id",
    arg_types: &[pg_sys::TEXTOID, pg_sys::UUIDOID],
};

/// For a company with a daily cap: how often the company assigned each of its numbers since
/// the start of its day. $1 company, $2 time zone.
const ASSIGNED_TODAY: Statement = Statement {
    sql: "
SELECT l.number, count(*)
FROM phone_number_ledger AS l
WHERE l.number IN (SELECT number FROM signalwire_phone_numbers WHERE assigned_broker_company = $1)
  AND l.broker_company = $1
  AND l.event = 'assigned'
  AND l.occurred_at >= pg_catalog.date_trunc('day', clock_timestamp() AT TIME ZONE $2) AT TIME ZONE $2
GROUP BY l.number",
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID],
};

/// Claim the first number of $3 (ids, best first) that is still free (re-checked on the row
/// as it is now: another caller may have taken it since it was read) and not locked by an
/// in-flight transaction; hold it for the retention and write the ledger row. Returns the
/// claim and the number's place in $3; no row: none of them could be had.
/// $1 company, $2 lead, $3 ids, $4 retention, $5 the cooldown's cutoff.
const CLAIM_FIRST: Statement = Statement {
    sql: "
WITH target AS (
    SELECT vapi_phone_number_id, array_position($3, vapi_phone_number_id) AS place
    FROM signalwire_phone_numbers
    WHERE vapi_phone_number_id = ANY ($3)
      AND assigned_broker_company = $1
      AND assignment_status = 'available'
      AND status = 'active'
      AND NOT coalesce(released_at > $5, false)
    ORDER BY array_position($3, vapi_phone_number_id)
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
        release_at               = (SELECT at FROM stamp) + $4,
        last_call_outcome        = NULL,
        appointment_scheduled_at = NULL
    FROM target
    WHERE pool.vapi_phone_number_id = target.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.name, pool.assigned_broker_company,
              pool.assigned_at, pool.release_at, target.place
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, release_at, reason)
    SELECT 'assigned', vapi_phone_number_id, number, assigned_broker_company, $2, assigned_at, release_at,
           'assign'
    FROM claimed
)
SELECT assigned_at, release_at, name, place FROM claimed",
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::UUIDOID,
        pg_sys::TEXTARRAYOID,
        pg_sys::INTERVALOID,
        pg_sys::TIMESTAMPTZOID,
    ],
};

const COMPANIES: &str = "SELECT DISTINCT assigned_broker_company FROM signalwire_phone_numbers";

/// Changing a company's low-water alert: sql/analytics.sql, raise_pool_alert and
/// rearm_pool_alert (check_pool_alerts uses them too).
const RAISE_ALERT: Statement = Statement {
    sql: "SELECT raise_pool_alert($1, $2, $3, $4)",
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::INT8OID,
        pg_sys::INT8OID,
        pg_sys::INT8OID,
    ],
};

const REARM_ALERT: Statement = Statement {
    sql: "SELECT rearm_pool_alert($1)",
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
/// the number matched; NULL when no matching was tried). Numbers resting after a release or at
/// their daily cap are skipped. Runs in the caller's transaction: a rollback undoes the hold,
/// its ledger row, the CRM rows and a low-water alert together.
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

/// A number's state for this lead, as COMPANY_NUMBERS reports it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Mine,
    Held,
    Retired,
    Resting,
    Free,
}

/// One row of COMPANY_NUMBERS. The id and number are read only for numbers that may be
/// claimed or are the lead's own: most rows need nothing but their state.
struct NumberRow {
    slot: Slot,
    id: String,
    number: String,
}

/// The lead's own hold of this company, returned as it is.
struct OwnHold {
    id: String,
    number: String,
    name: Option<String>,
    assigned_at: TimestampWithTimeZone,
    release_at: TimestampWithTimeZone,
}

/// The company's rules and context, the same on every row of COMPANY_NUMBERS.
struct Context {
    retention: pgrx::datum::Interval,
    rest_cutoff: TimestampWithTimeZone,
    daily_cap: Option<i64>,
    time_zone: String,
    local_presence: bool,
    low_water_count: Option<i64>,
    low_water_share: Option<f64>,
    crm: Option<CrmTables>,
    alerted: bool,
}

/// The company's numbers, the lead's own hold if it has one, and the context.
fn company_numbers(
    client: &mut SpiClient<'_>,
    company: &str,
    lead: pgrx::Uuid,
) -> (Vec<NumberRow>, Option<OwnHold>, Context) {
    let args: [DatumWithOid; 2] = [company.into(), lead.into()];
    let table = spi(
        client.update(&*plan(client, &COMPANY_NUMBERS), None, &args),
        FUNCTION,
    );
    let mut numbers = Vec::with_capacity(table.len());
    let mut own = None;
    let mut context = None;
    for row in table {
        let text = |i| spi(row.get::<String>(i), FUNCTION);
        let time = |i| spi(row.get::<TimestampWithTimeZone>(i), FUNCTION);
        if context.is_none() {
            let (leads, interactions) = (text(14), text(15));
            context = Some(Context {
                retention: spi(row.get::<pgrx::datum::Interval>(7), FUNCTION).expect("policy"),
                rest_cutoff: time(8).expect("policy"),
                daily_cap: spi(row.get::<i32>(9), FUNCTION).map(i64::from),
                time_zone: text(10).expect("policy"),
                local_presence: spi(row.get::<bool>(11), FUNCTION).unwrap_or(true),
                low_water_count: spi(row.get::<i32>(12), FUNCTION).map(i64::from),
                low_water_share: spi(row.get::<f64>(13), FUNCTION),
                crm: leads
                    .zip(interactions)
                    .map(|(leads, interactions)| CrmTables {
                        leads,
                        interactions,
                    }),
                alerted: spi(row.get::<bool>(16), FUNCTION).unwrap_or(false),
            });
        }
        let slot = match spi(row.get::<i32>(1), FUNCTION) {
            None => continue, // the company has no numbers: one row of NULLs
            Some(1) => Slot::Mine,
            Some(2) => Slot::Held,
            Some(3) => Slot::Retired,
            Some(4) => Slot::Resting,
            Some(_) => Slot::Free,
        };
        let (id, number) = match slot {
            Slot::Mine | Slot::Free => (text(2).expect("NOT NULL"), text(3).expect("NOT NULL")),
            _ => (String::new(), String::new()),
        };
        if slot == Slot::Mine {
            own = Some(OwnHold {
                id: id.clone(),
                number: number.clone(),
                name: text(4),
                assigned_at: time(5).expect("a hold has assigned_at"),
                release_at: time(6).expect("a hold has release_at"),
            });
        }
        numbers.push(NumberRow { slot, id, number });
    }
    (
        numbers,
        own,
        context.expect("company_policy returns one row"),
    )
}

/// Today's assignments of each number of a capped company.
fn assigned_today(
    client: &mut SpiClient<'_>,
    company: &str,
    time_zone: &str,
) -> std::collections::HashMap<String, i64> {
    let args: [DatumWithOid; 2] = [company.into(), time_zone.into()];
    spi(
        client.update(&*plan(client, &ASSIGNED_TODAY), None, &args),
        FUNCTION,
    )
    .into_iter()
    .filter_map(|row| {
        let number = spi(row.get::<String>(1), FUNCTION)?;
        Some((number, spi(row.get::<i64>(2), FUNCTION).unwrap_or(0)))
    })
    .collect()
}

fn claim(
    client: &mut SpiClient<'_>,
    company: &str,
    lead: pgrx::Uuid,
    customer_phone: Option<&str>,
) -> Result<AssignedRow, PoolError> {
    lock_lead(company, lead);
    let (numbers, own, context) = company_numbers(client, company, lead);
    if numbers.is_empty() {
        return Err(unknown_company(client, company));
    }
    let area = customer_phone
        .filter(|_| context.local_presence)
        .and_then(area_prefix);
    let matched = |number: &str| area.as_deref().map(|a| number.starts_with(a));

    // Sticky: the lead's hold of this company comes back unchanged.
    if let Some(held) = own {
        let matched = matched(&held.number);
        return Ok((
            held.id,
            held.number,
            held.name,
            company.to_string(),
            held.assigned_at,
            held.release_at,
            matched,
        ));
    }

    let today = match context.daily_cap {
        Some(_) => assigned_today(client, company, &context.time_zone),
        None => Default::default(),
    };
    let pool: Vec<PoolNumber> = numbers
        .iter()
        .map(|n| PoolNumber {
            number: &n.number,
            free: matches!(n.slot, Slot::Free | Slot::Resting),
            in_service: n.slot != Slot::Retired,
            resting: n.slot == Slot::Resting,
            assigned_today: today.get(&n.number).copied().unwrap_or(0),
        })
        .collect();
    let (order, counts) = claim_order(&pool, context.daily_cap, area.as_deref());

    // The first number of the order that is still free: usually the first one, tried alone;
    // if another caller took it or is taking it right now, the first of the rest, in one more
    // statement. Never waited for.
    let ids: Vec<&str> = order.iter().map(|&i| numbers[i].id.as_str()).collect();
    let mut claimed = None;
    let mut passed_over = 0;
    for (skip, tried) in [(0, ids.get(..1)), (1, ids.get(1..))] {
        let Some(tried) = tried.filter(|t| !t.is_empty()) else {
            break;
        };
        let args: [DatumWithOid; 5] = [
            company.into(),
            lead.into(),
            tried.to_vec().into(),
            context.retention.into(),
            context.rest_cutoff.into(),
        ];
        let rows = spi(
            client.update(&*plan(client, &CLAIM_FIRST), None, &args),
            FUNCTION,
        );
        if let Some(row) = rows.into_iter().next() {
            let time = |i| spi(row.get::<TimestampWithTimeZone>(i), FUNCTION).expect("set");
            let place = spi(row.get::<i32>(4), FUNCTION).expect("in the list") as usize;
            passed_over = skip + place - 1;
            claimed = Some((
                order[passed_over],
                time(1),
                time(2),
                spi(row.get::<String>(3), FUNCTION),
            ));
            break;
        }
    }
    let Some((i, assigned_at, release_at, claimed_name)) = claimed else {
        return Err(PoolError::PoolExhausted {
            company: company.to_string(),
            assigned: counts.assigned,
            inactive: counts.inactive,
            resting: counts.resting,
            at_cap: counts.at_cap,
            total: counts.total,
        });
    };
    let number = &numbers[i];
    if let Some(tables) = &context.crm {
        let assignment = crm::Assignment {
            lead,
            vapi_phone_number_id: &number.id,
            number: &number.number,
            company,
            customer_phone,
            assigned_at,
        };
        crm::track(client, tables, &assignment)?;
    }
    // Free after this claim: the others that may go, less those other callers took meanwhile.
    let left = counts.assignable - 1 - passed_over as i64;
    update_low_water_alert(client, company, &context, counts.in_service, left);
    Ok((
        number.id.clone(),
        number.number.clone(),
        claimed_name,
        company.to_string(),
        assigned_at,
        release_at,
        matched(&number.number),
    ))
}

/// Raise the company's low-water alert when this assignment took its pool down to the mark
/// (one pg_notify per crossing, sent when the caller commits), or re-arm it when the pool is
/// above the mark again. Both are rare; most assignments change nothing here.
fn update_low_water_alert(
    client: &mut SpiClient<'_>,
    company: &str,
    context: &Context,
    in_service: i64,
    available: i64,
) {
    let mark = low_water_mark(context.low_water_count, context.low_water_share, in_service);
    match alert_after_assignment(available, mark, context.alerted) {
        Alert::Keep => {}
        Alert::Raise => {
            let args: [DatumWithOid; 4] = [
                company.into(),
                available.into(),
                in_service.into(),
                mark.into(),
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

/// No number belongs to the company: a configuration mistake, named with the closest company.
fn unknown_company(client: &mut SpiClient<'_>, company: &str) -> PoolError {
    let names = spi(client.update(COMPANIES, None, &[]), FUNCTION)
        .into_iter()
        .filter_map(|row| spi(row.get::<String>(1), FUNCTION))
        .collect::<Vec<_>>();
    let closest = closest_name(company, names.iter().map(String::as_str));
    PoolError::UnknownCompany {
        company: company.to_string(),
        closest,
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
