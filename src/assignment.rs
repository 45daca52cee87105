//! `assign_phone_number`: give a lead a caller number of its company, atomically.
//!
//! A call costs a few index lookups whatever the size of the company's pool (bench/RESULTS.md,
//! section 7): nothing is read per number.
//! 1. LOOKUP reads the company's rules, the lead's current hold (through the unique index on
//!    the holder) and the number the lead held last (lead_numbers, by company and lead).
//! 2. A lead with a hold gets it back, RENEWed so it lasts at least the retention from now.
//! 3. Otherwise CLAIM tries, in order, the lead's previous number, a free number of the lead's
//!    area, and the least recently used free number (rules::claim_choices). Each try is one
//!    statement that walks a partial index of free numbers in least-recently-used order and
//!    takes the first row no other transaction has locked (FOR NO KEY UPDATE SKIP LOCKED),
//!    writing the hold, its ledger row and the lead's lead_numbers entry in the same
//!    statement (and, with CRM tables registered, the lead's row and an interaction row:
//!    src/crm.rs).
//! 4. When the company's own pool has nothing to give and it has an overflow pool
//!    (set_pool_rules' overflow_company), the same claims run in that pool under its rules,
//!    the hold marked with the lead's company (lead_company): one level, never further.

use std::sync::OnceLock;

use pgrx::datum::{DatumWithOid, Interval, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::PgSqlErrorCode;

use crate::crm::{self, CrmTables};
use crate::errors::{PoolCounts, PoolError};
use crate::plans::{plan, plan_sql, Statement};
use crate::rules::{
    alert_after_scan, alert_scan_size, area_prefix, claim_choices, Alert, ChosenBy, LockSpace,
};
use crate::validation::closest_name;

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
                Some(pg_sys::Datum::from(LockSpace::Assignment.key())),
                Some(pg_sys::Datum::from(key)),
            ],
        );
    }
}

/// The company's rules and the lead's standing, in one row.
/// Text and parameters: sql/statements/lookup_standing.sql.
pub(crate) const LOOKUP: Statement = Statement {
    sql: include_str!("../sql/statements/lookup_standing.sql"),
    arg_types: &[pg_sys::TEXTOID, pg_sys::UUIDOID],
};

/// A company missing from company_pool_sizes (one without numbers of its own, or a restore
/// with triggers disabled): counted, with its low-water mark, and a company without numbers
/// given its row of 0.
/// Text and parameters: sql/statements/count_pool_size.sql.
const COUNT_ACTIVE: Statement = Statement {
    sql: include_str!("../sql/statements/count_pool_size.sql"),
    arg_types: &[pg_sys::TEXTOID],
};

/// The lead's hold, locked and renewed to last at least the retention from now.
/// Text and parameters: sql/statements/renew_hold.sql.
pub(crate) const RENEW: Statement = Statement {
    sql: include_str!("../sql/statements/renew_hold.sql"),
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::UUIDOID,
        pg_sys::INTERVALOID,
        pg_sys::TEXTOID,
    ],
};

/// One claim: the first free number of the choice, hold, ledger row and the lead's
/// lead_numbers entry written together.
/// Text and parameters: sql/statements/claim_number.sql.
const CLAIM: &str = include_str!("../sql/statements/claim_number.sql");

/// The assignable numbers a claim left, for the low-water alert.
/// Text and parameters: sql/statements/count_free_numbers.sql.
const COUNT_FREE: &str = include_str!("../sql/statements/count_free_numbers.sql");

/// Number `{n}`'s assignments today, for a company with a daily cap.
/// Text and parameters: sql/statements/assignments_today.sql.
const ASSIGNMENTS_TODAY: &str = include_str!("../sql/statements/assignments_today.sql");

const CLAIM_ARGS: &[pg_sys::Oid] = &[
    pg_sys::TEXTOID,
    pg_sys::UUIDOID,
    pg_sys::INTERVALOID,
    pg_sys::TIMESTAMPTZOID,
    pg_sys::INT4OID,
    pg_sys::TIMESTAMPTZOID,
    pg_sys::INT8OID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
];

/// The claim for each choice and COUNT_FREE, their texts built once per backend, each in two
/// forms: for a company with a daily cap, and without one (the default), where the cap's
/// ledger count is left out of the text altogether: a subquery is set up (its scan opened, its
/// aggregate built) on every execution even when `$5 IS NULL` never runs it, and an uncapped
/// claim had two of them (its own and the alert scan's).
struct Texts {
    /// [uncapped, capped], each [previous number, area code, least recently used]
    claims: [[String; 3]; 2],
    /// The same with the CRM's writes (crm::track_steps), the tables' names still to fill in.
    tracked: [[String; 3]; 2],
    /// [uncapped, capped]
    count_free: [String; 2],
}

fn texts() -> &'static Texts {
    static TEXTS: OnceLock<Texts> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let build = |capped: bool| {
            // A company without a cap: no count at all (NULL never reaches the cap).
            let assignments = |n: &str| {
                if capped {
                    ASSIGNMENTS_TODAY.replace("{n}", n)
                } else {
                    "NULL::bigint".to_string()
                }
            };
            let template = |sql: &str| {
                sql.replace("{assignments_p}", &assignments("p"))
                    .replace("{assignments_f}", &assignments("f"))
            };
            let claims = |tracked: bool| {
                let (crm, crm_lead_rows) = if tracked {
                    (crm::track_steps(), "(SELECT count(*) FROM crm_lead)")
                } else {
                    (String::new(), "NULL::bigint")
                };
                let claim = |choice: &str, rest_cutoff: &str| {
                    template(CLAIM)
                        .replace("{choice}", choice)
                        .replace("{rest_cutoff}", rest_cutoff)
                        .replace("{crm}", &crm)
                        .replace("{crm_lead_rows}", crm_lead_rows)
                };
                [
                    // The previous number, even while it rests.
                    claim("p.vapi_phone_number_id = $8", "NULL::timestamptz"),
                    // The lead's area: idx_signalwire_pool_free_area.
                    claim("left(p.number, 5) = $8", "$4"),
                    // Least recently used: idx_signalwire_pool_assignment.
                    claim("true", "$4"),
                ]
            };
            (claims(false), claims(true), template(COUNT_FREE))
        };
        let (uncapped, tracked_uncapped, count_uncapped) = build(false);
        let (capped, tracked_capped, count_capped) = build(true);
        Texts {
            claims: [uncapped, capped],
            tracked: [tracked_uncapped, tracked_capped],
            count_free: [count_uncapped, count_capped],
        }
    })
}

/// The text of the claim for one choice, for a company with (`capped`) or without a daily cap.
pub(crate) fn claim_sql(choice: ChosenBy, capped: bool) -> &'static str {
    &texts().claims[usize::from(capped)][choice_index(choice)]
}

/// The same claim writing the assignment to the registered CRM tables as well.
pub(crate) fn tracked_claim_sql(choice: ChosenBy, capped: bool, tables: &CrmTables) -> String {
    crm::fill_in(
        &texts().tracked[usize::from(capped)][choice_index(choice)],
        tables,
    )
}

fn choice_index(choice: ChosenBy) -> usize {
    match choice {
        ChosenBy::PreviousNumber => 0,
        ChosenBy::AreaCode => 1,
        ChosenBy::LeastRecentlyUsed | ChosenBy::CurrentHold => 2,
    }
}

/// Why the pool has nothing to give, counted only when that happens (pool_health's counts).
/// Text and parameters: sql/statements/exhausted_pool_counts.sql.
const EXHAUSTED: Statement = Statement {
    sql: include_str!("../sql/statements/exhausted_pool_counts.sql"),
    arg_types: &[pg_sys::TEXTOID],
};

const COMPANIES: &str = "SELECT DISTINCT assigned_broker_company FROM signalwire_phone_numbers";

/// Changing a company's low-water alert: sql/analytics.sql, _raise_pool_alert and
/// _rearm_pool_alert (check_pool_alerts uses them too).
const RAISE_ALERT: Statement = Statement {
    sql: "SELECT _raise_pool_alert($1, $2, $3, $4)",
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::INT8OID,
        pg_sys::INT8OID,
        pg_sys::INT8OID,
    ],
};

const REARM_ALERT: Statement = Statement {
    sql: "SELECT _rearm_pool_alert($1)",
    arg_types: &[pg_sys::TEXTOID],
};

/// vapi_phone_number_id, number, name, assigned_broker_company (the number's owner: the
/// overflow pool's company for an overflow hold), assigned_at, release_at, area_code_matched,
/// chosen_by, from_overflow
pub type AssignedRow = (
    String,
    String,
    Option<String>,
    String,
    TimestampWithTimeZone,
    TimestampWithTimeZone,
    Option<bool>,
    String,
    bool,
);

/// What LOOKUP read.
struct Standing {
    retention: Interval,
    rest_cutoff: TimestampWithTimeZone,
    daily_cap: Option<i32>,
    day_start: Option<TimestampWithTimeZone>,
    local_presence: bool,
    mark: i64,
    active: i64,
    alerted: bool,
    crm: Option<CrmTables>,
    current_hold: Option<String>,
    previous_number: Option<String>,
    overflow_company: Option<String>,
}

fn lookup(
    client: &mut SpiClient<'_>,
    company: &str,
    lead: pgrx::Uuid,
) -> Result<Standing, PoolError> {
    let args: [DatumWithOid; 2] = [company.into(), lead.into()];
    let table = client.update(&*plan(client, &LOOKUP)?, None, &args)?;
    let row = table.first();
    let text = |i| row.get::<String>(i);
    let retention = row.get::<Interval>(1)?.expect("a policy retention");
    let rest_cutoff = row.get::<TimestampWithTimeZone>(2)?.expect("a cutoff");
    let daily_cap = row.get::<i32>(3)?;
    let day_start = row.get::<TimestampWithTimeZone>(4)?;
    let local_presence = row.get::<bool>(5)?.unwrap_or(true);
    let mark = row.get::<i64>(6)?.unwrap_or(0);
    let alerted = row.get::<bool>(7)?.unwrap_or(false);
    let active = row.get::<i64>(8)?;
    let crm = match row.get::<Vec<Option<String>>>(9)? {
        Some(names) => Some(CrmTables::from_lookup(
            names,
            row.get::<Vec<Option<pg_sys::Oid>>>(10)?.unwrap_or_default(),
        )),
        None => None,
    };
    let (current_hold, previous_number, overflow_company) = (text(11)?, text(12)?, text(13)?);
    // A company missing from company_pool_sizes: counted here, with its mark on that count
    // (the table's rows borrow the client, hence after them).
    let (active, mark) = match active {
        Some(active) => (active, mark),
        None => {
            let args: [DatumWithOid; 1] = [company.into()];
            let counted = client.update(&*plan(client, &COUNT_ACTIVE)?, None, &args)?;
            let row = counted.first();
            (
                row.get::<i64>(1)?.unwrap_or(0),
                row.get::<i64>(2)?.unwrap_or(0),
            )
        }
    };
    Ok(Standing {
        retention,
        rest_cutoff,
        daily_cap,
        day_start,
        local_presence,
        mark,
        active,
        alerted,
        crm,
        current_hold,
        previous_number,
        overflow_company,
    })
}

/// The assignment itself, its arguments checked (src/api/assignment.rs says what it does).
pub fn assign(
    client: &mut SpiClient<'_>,
    company: &str,
    lead: pgrx::Uuid,
    customer_phone: Option<&str>,
) -> Result<AssignedRow, PoolError> {
    lock_lead(company, lead);
    let standing = lookup(client, company, lead)?;

    if let Some(id) = &standing.current_hold {
        if let Some(renewed) = renew(client, company, lead, &standing, id)? {
            // A lent number is matched by its owner's local presence, as when it was claimed.
            let area = if renewed.from_overflow {
                local_area(&lookup(client, &renewed.owner, lead)?, customer_phone)
            } else {
                local_area(&standing, customer_phone)
            };
            let matched = area.map(|a| renewed.number.starts_with(&a));
            return Ok((
                id.clone(),
                renewed.number,
                renewed.name,
                renewed.owner,
                renewed.assigned_at,
                renewed.release_at,
                matched,
                ChosenBy::CurrentHold.as_str().to_string(),
                renewed.from_overflow,
            ));
        }
        // Released since LOOKUP read it: the lead has no hold now, and that number comes
        // first below (it is the lead's previous number).
    }

    let lead_at = LeadAt {
        company,
        lead,
        customer_phone,
        previous_number: standing.previous_number.as_deref(),
        crm: standing.crm.as_ref(),
    };
    if let Some(row) = claim_in_pool(client, &lead_at, company, &standing)? {
        return Ok(row);
    }
    let Some(overflow) = standing.overflow_company.as_deref() else {
        return Err(nothing_to_give(client, company, None)?);
    };
    // The overflow pool lends under its own rules (retention, cooldown, cap, local presence,
    // alert), read as for an assignment of its own; the lead's previous number may be one it
    // lent before. Its own overflow rule is not followed: one level only.
    let lender = lookup(client, overflow, lead)?;
    if let Some(row) = claim_in_pool(client, &lead_at, overflow, &lender)? {
        return Ok(row);
    }
    Err(nothing_to_give(client, company, Some(overflow))?)
}

/// The lead asking, as every pool it may be given a number from sees it.
struct LeadAt<'a> {
    /// The lead's company (the one assign_phone_number was called with).
    company: &'a str,
    lead: pgrx::Uuid,
    customer_phone: Option<&'a str>,
    /// The number the lead held last for its company, from any pool.
    previous_number: Option<&'a str>,
    crm: Option<&'a CrmTables>,
}

/// The lead's area prefix when `pool` prefers local numbers.
fn local_area(pool: &Standing, customer_phone: Option<&str>) -> Option<String> {
    customer_phone
        .filter(|_| pool.local_presence)
        .and_then(area_prefix)
}

/// Try the claim choices in `owner`'s pool, read as `pool`; the hold, tracked in the CRM and
/// the pool's alert updated, or None when the pool has nothing to give.
fn claim_in_pool(
    client: &mut SpiClient<'_>,
    lead_at: &LeadAt<'_>,
    owner: &str,
    pool: &Standing,
) -> Result<Option<AssignedRow>, PoolError> {
    let from_overflow = owner != lead_at.company;
    let area = local_area(pool, lead_at.customer_phone);
    // The CRM's tables are written by the claim itself: checked before, as pool_ext writes
    // them with its owner's rights.
    if let Some(tables) = lead_at.crm {
        tables.check_owners()?;
    }
    for choice in claim_choices(lead_at.previous_number.is_some(), area.is_some()) {
        let key = match choice {
            ChosenBy::PreviousNumber => lead_at.previous_number,
            ChosenBy::AreaCode => area.as_deref(),
            _ => None,
        };
        let Some(claimed) = claim(client, owner, lead_at, pool, choice, key)? else {
            continue;
        };
        if let Some(tables) = lead_at.crm {
            if claimed.crm_lead_rows == Some(0) {
                return Err(PoolError::CrmLeadMissing {
                    table: tables.leads.clone(),
                    lead: lead_at.lead.to_string(),
                });
            }
        }
        if !snapshot_per_transaction() {
            update_low_water_alert(client, owner, pool, &claimed)?;
        }
        let matched = area.as_deref().map(|a| claimed.number.starts_with(a));
        return Ok(Some((
            claimed.id,
            claimed.number,
            claimed.name,
            owner.to_string(),
            claimed.assigned_at,
            claimed.release_at,
            matched,
            choice.as_str().to_string(),
            from_overflow,
        )));
    }
    Ok(None)
}

/// The renewed hold.
struct Renewed {
    number: String,
    name: Option<String>,
    assigned_at: TimestampWithTimeZone,
    release_at: TimestampWithTimeZone,
    /// The number's company: another one's for an overflow hold.
    owner: String,
    from_overflow: bool,
}

/// The lead's hold `id`, renewed; None when it is gone.
fn renew(
    client: &mut SpiClient<'_>,
    company: &str,
    lead: pgrx::Uuid,
    standing: &Standing,
    id: &str,
) -> Result<Option<Renewed>, PoolError> {
    let args: [DatumWithOid; 4] = [
        company.into(),
        lead.into(),
        standing.retention.into(),
        id.into(),
    ];
    let table = client.update(&*plan(client, &RENEW)?, None, &args)?;
    let Some(row) = table.into_iter().next() else {
        return Ok(None);
    };
    let time = |i| {
        row.get::<TimestampWithTimeZone>(i)
            .map(|t| t.expect("a hold's times"))
    };
    Ok(Some(Renewed {
        number: row.get::<String>(1)?.expect("NOT NULL"),
        name: row.get::<String>(2)?,
        assigned_at: time(3)?,
        release_at: time(4)?,
        owner: row.get::<String>(5)?.expect("NOT NULL"),
        from_overflow: row.get::<bool>(6)?.unwrap_or(false),
    }))
}

struct Claimed {
    id: String,
    number: String,
    name: Option<String>,
    assigned_at: TimestampWithTimeZone,
    release_at: TimestampWithTimeZone,
    /// Whether at least alert_scan_size(mark) assignable numbers are left beside this one.
    enough_left: bool,
    /// The CRM lead rows the claim updated (None: no CRM tables registered).
    crm_lead_rows: Option<i64>,
}

/// The unique index that allows one hold per lead and company (sql/schema.sql).
const LEAD_HOLD_INDEX: &str = "idx_signalwire_pool_lead_hold";

/// Whether a caught error names `constraint` (Postgres quotes the name in the message, in
/// every language it reports in).
fn error_names(error: &pg_sys::panic::CaughtError, constraint: &str) -> bool {
    match error {
        pg_sys::panic::CaughtError::PostgresError(report)
        | pg_sys::panic::CaughtError::ErrorReport(report) => {
            report.message().contains(&format!("\"{constraint}\""))
        }
        pg_sys::panic::CaughtError::RustPanic { .. } => false,
    }
}

/// Run one claim in `company`'s pool for the lead (an overflow claim when `company` is not the
/// lead's); None when that choice had no number to give.
fn claim(
    client: &mut SpiClient<'_>,
    company: &str,
    lead_at: &LeadAt<'_>,
    standing: &Standing,
    choice: ChosenBy,
    key: Option<&str>,
) -> Result<Option<Claimed>, PoolError> {
    let lead = lead_at.lead;
    let borrower = (company != lead_at.company).then_some(lead_at.company);
    let args: [DatumWithOid; 10] = [
        company.into(),
        lead.into(),
        standing.retention.into(),
        standing.rest_cutoff.into(),
        standing.daily_cap.into(),
        standing.day_start.into(),
        alert_scan_size(standing.mark).into(),
        key.into(),
        borrower.into(),
        lead_at.customer_phone.into(),
    ];
    let capped = standing.daily_cap.is_some();
    let statement = match lead_at.crm {
        None => plan_sql(client, claim_sql(choice, capped), CLAIM_ARGS)?,
        Some(tables) => plan_sql(
            client,
            &tracked_claim_sql(choice, capped, tables),
            CLAIM_ARGS,
        )?,
    };
    // The unique index on the holder refuses a second hold of the lead at this company. Under
    // READ COMMITTED the per-lead lock means this cannot happen; a REPEATABLE READ or
    // SERIALIZABLE caller whose snapshot predates another call's hold for the same lead gets a
    // retryable serialization failure instead of a unique violation. A unique violation of
    // anything else (a CRM table's own constraint) is raised as it is.
    let table = PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
        client.update(&*statement, None, &args)
    }))
    .catch_when(PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION, |error| {
        if !error_names(&error, LEAD_HOLD_INDEX) {
            error.rethrow()
        }
        PoolError::LeadHoldTaken {
            company: borrower.unwrap_or(company).to_string(),
            lead: lead.to_string(),
        }
        .raise()
    })
    .execute()?;
    let Some(row) = table.into_iter().next() else {
        return Ok(None);
    };
    let time = |i| {
        row.get::<TimestampWithTimeZone>(i)
            .map(|t| t.expect("set by the claim"))
    };
    Ok(Some(Claimed {
        id: row.get::<String>(1)?.expect("NOT NULL"),
        number: row.get::<String>(2)?.expect("NOT NULL"),
        name: row.get::<String>(3)?,
        assigned_at: time(4)?,
        release_at: time(5)?,
        enough_left: row.get::<bool>(6)?.unwrap_or(false),
        crm_lead_rows: row.get::<i64>(7)?,
    }))
}

/// REPEATABLE READ and SERIALIZABLE keep one snapshot for the whole transaction. There, the
/// alert bookkeeping (a shared row per company) could fail the caller with a serialization
/// error, so it is left to check_pool_alerts().
fn snapshot_per_transaction() -> bool {
    // SAFETY: reading a backend-local global that Postgres sets at transaction start.
    unsafe { pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32 }
}

/// Raise the company's low-water alert when this assignment took its pool down to the mark
/// (one pg_notify per crossing, sent when the caller commits), or re-arm it when the pool is
/// above the mark again. Both are rare; most assignments change nothing here.
fn update_low_water_alert(
    client: &mut SpiClient<'_>,
    company: &str,
    standing: &Standing,
    claimed: &Claimed,
) -> Result<(), PoolError> {
    let scan = alert_scan_size(standing.mark);
    let left = match (claimed.enough_left, standing.alerted) {
        (true, _) => scan,
        // Fewer than the scan left means at or under the mark: with the alert out already,
        // nothing changes and nothing needs counting.
        (false, true) => return Ok(()),
        // Being raised: how many exactly, for the payload.
        (false, false) => count_free(client, company, standing, &claimed.id, scan)?,
    };
    match alert_after_scan(left, standing.mark, standing.alerted) {
        Alert::Keep => {}
        Alert::Raise => {
            let args: [DatumWithOid; 4] = [
                company.into(),
                left.into(),
                standing.active.into(),
                standing.mark.into(),
            ];
            client.update(&*plan(client, &RAISE_ALERT)?, None, &args)?;
        }
        Alert::Rearm => {
            let args: [DatumWithOid; 1] = [company.into()];
            client.update(&*plan(client, &REARM_ALERT)?, None, &args)?;
        }
    }
    Ok(())
}

/// COUNT_FREE: the assignable numbers left beside `claimed`, at most `most`.
fn count_free(
    client: &mut SpiClient<'_>,
    company: &str,
    standing: &Standing,
    claimed: &str,
    most: i64,
) -> Result<i64, PoolError> {
    let args: [DatumWithOid; 10] = [
        company.into(),
        Option::<pgrx::Uuid>::None.into(),
        Option::<Interval>::None.into(),
        standing.rest_cutoff.into(),
        standing.daily_cap.into(),
        standing.day_start.into(),
        most.into(),
        claimed.into(),
        Option::<&str>::None.into(),
        Option::<&str>::None.into(),
    ];
    let statement = plan_sql(
        client,
        &texts().count_free[usize::from(standing.daily_cap.is_some())],
        CLAIM_ARGS,
    )?;
    let table = client.update(&*statement, None, &args)?;
    Ok(table.first().get::<i64>(1)?.unwrap_or(0))
}

/// No claim found a number: the pool (and its overflow pool, when it has one) is exhausted,
/// with their counts, or the company has no numbers and no overflow pool, a configuration
/// mistake named with the closest company. Ok holds the error for the caller; Err, a failure
/// finding out.
fn nothing_to_give(
    client: &mut SpiClient<'_>,
    company: &str,
    overflow: Option<&str>,
) -> Result<PoolError, PoolError> {
    let counts = pool_counts(client, company)?;
    if let Some(overflow) = overflow {
        return Ok(PoolError::PoolExhausted {
            company: company.to_string(),
            counts: counts.unwrap_or_default(),
            overflow: Some((overflow.to_string(), pool_counts(client, overflow)?)),
        });
    }
    if let Some(counts) = counts {
        return Ok(PoolError::PoolExhausted {
            company: company.to_string(),
            counts,
            overflow: None,
        });
    }
    unknown_company(client, company)
}

/// The error for a company with no numbers, naming the known company closest to it (a
/// mistyped name). Ok holds the error; Err, a failure finding out.
pub(crate) fn unknown_company(
    client: &mut SpiClient<'_>,
    company: &str,
) -> Result<PoolError, PoolError> {
    let mut names = Vec::new();
    for row in client.update(COMPANIES, None, &[])? {
        names.extend(row.get::<String>(1)?);
    }
    let closest = closest_name(company, names.iter().map(String::as_str));
    Ok(PoolError::UnknownCompany {
        company: company.to_string(),
        closest,
    })
}

/// pool_health's counts of `company`; None when it has no numbers.
fn pool_counts(client: &mut SpiClient<'_>, company: &str) -> Result<Option<PoolCounts>, PoolError> {
    let args: [DatumWithOid; 1] = [company.into()];
    let table = client.update(&*plan(client, &EXHAUSTED)?, None, &args)?;
    let Some(row) = table.into_iter().next() else {
        return Ok(None);
    };
    let count = |i| row.get::<i64>(i).map(|n| n.unwrap_or(0));
    Ok(Some(PoolCounts {
        assigned: count(1)?,
        inactive: count(2)?,
        resting: count(3)?,
        at_cap: count(4)?,
        quarantined: count(5)?,
        total: count(6)?,
    }))
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
