//! A hold's life after assignment: call outcomes move its end, expired holds are released,
//! operators release one by hand, and per-company policy sets the defaults.

use pgrx::datum::{DatumWithOid, Interval, TimestampWithTimeZone};
use pgrx::pg_sys::{self, panic::ErrorReport};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::errors::PoolError;
use crate::holds::{
    check_appointment, hold_after_outcome, next_batch_size, valid_policy_hold, HoldChange,
    HoldFacts, Outcome,
};
use crate::plans::{plan, Statement};
use crate::rules::PoolRules;
use crate::validation::{closest_name, positive, required, required_text};

/// Release up to $1 expired holds, oldest first, with a ledger row each. Rows locked by an
/// in-flight transaction (an assignment, an outcome being recorded) are skipped, never waited
/// for: the next run picks them up.
const RELEASE_BATCH: Statement = Statement {
    sql: "
WITH expired AS (
    SELECT vapi_phone_number_id, currently_assigned_to AS lead_id
    FROM signalwire_phone_numbers
    WHERE assignment_status = 'assigned' AND release_at <= now()
    ORDER BY release_at
    LIMIT $1
    FOR NO KEY UPDATE SKIP LOCKED
), released AS (
    UPDATE signalwire_phone_numbers AS pool
    SET assignment_status     = 'available',
        currently_assigned_to = NULL,
        release_at            = NULL,
        released_at           = clock_timestamp()
    FROM expired
    WHERE pool.vapi_phone_number_id = expired.vapi_phone_number_id
    RETURNING pool.vapi_phone_number_id, pool.number, pool.assigned_broker_company, expired.lead_id
), logged AS (
    INSERT INTO phone_number_ledger
        (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
    SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, lead_id, 'expired'
    FROM released
    RETURNING 1
)
SELECT count(*) FROM logged",
    arg_types: &[pg_sys::INT8OID],
};

/// Release every hold whose `release_at` has passed and return how many were released.
/// `max_rows` caps the number released by this call (NULL: no cap).
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn release_expired_phone_numbers(
    max_rows: default!(Option<i64>, "NULL"),
) -> Result<i64, ErrorReport> {
    if let Some(limit) = max_rows {
        positive(limit, "max_rows")?;
    }
    let mut released = 0_i64;
    Spi::connect_mut(|client| -> Result<(), PoolError> {
        while let Some(batch) = next_batch_size(max_rows.map(|cap| cap - released)) {
            let args: [DatumWithOid; 1] = [batch.into()];
            let count = client
                .update(&*plan(client, &RELEASE_BATCH)?, Some(1), &args)?
                .first()
                .get_one::<i64>()?
                .unwrap_or(0);
            released += count;
            if count < batch {
                break; // nothing more expired, or the rest is locked by others
            }
        }
        Ok(())
    })?;
    Ok(released)
}

pgrx::extension_sql!(
    r#"
-- Release a large backlog without holding its locks until the end: one batch per transaction.
-- A procedure, so it can COMMIT; call it at top level (psql, pg_cron), not inside BEGIN.
CREATE PROCEDURE release_expired_phone_numbers_in_batches(
    batch_size integer DEFAULT 1000,
    INOUT released bigint DEFAULT 0
)
LANGUAGE plpgsql AS $$
DECLARE
    batch bigint;
BEGIN
    IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive number, got %', batch_size
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass a number of 1 or more.';
    END IF;
    released := 0;
    LOOP
        batch := @extschema@.release_expired_phone_numbers(batch_size);
        released := released OPERATOR(pg_catalog.+) batch;
        COMMIT;
        EXIT WHEN batch OPERATOR(pg_catalog.<) batch_size;
    END LOOP;
END
$$;
"#,
    name = "release_in_batches",
    requires = [release_expired_phone_numbers],
);

/// Release one hold now, with a ledger row naming why. $1 id, $2 holder, $3 reason,
/// $4 the call outcome to record (NULL: keep the last one). The caller has locked the row.
const RELEASE_ONE: Statement = Statement {
    sql: "
WITH released AS (
    UPDATE signalwire_phone_numbers
    SET assignment_status     = 'available',
        currently_assigned_to = NULL,
        release_at            = NULL,
        released_at           = clock_timestamp(),
        last_call_outcome     = coalesce($4, last_call_outcome)
    WHERE vapi_phone_number_id = $1 AND currently_assigned_to = $2
    RETURNING vapi_phone_number_id, number, assigned_broker_company
)
INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, $2, $3
FROM released",
    arg_types: &[pg_sys::TEXTOID, pg_sys::UUIDOID, pg_sys::TEXTOID, pg_sys::TEXTOID],
};

fn release_one(
    client: &mut SpiClient<'_>,
    id: &str,
    lead: pgrx::Uuid,
    reason: &str,
    outcome: Option<&str>,
) -> Result<(), PoolError> {
    let args: [DatumWithOid; 4] = [id.into(), lead.into(), reason.into(), outcome.into()];
    client.update(&*plan(client, &RELEASE_ONE)?, None, &args)?;
    Ok(())
}

/// Lock one number (waiting for an in-flight transaction: this is an operator's deliberate
/// act) and return its holder, if any.
const LOCK_NUMBER: Statement = Statement {
    sql: "SELECT currently_assigned_to FROM signalwire_phone_numbers
          WHERE vapi_phone_number_id = $1 FOR NO KEY UPDATE",
    arg_types: &[pg_sys::TEXTOID],
};

/// The holder of a number after locking it; an unknown id is an error.
pub fn lock_number(client: &mut SpiClient<'_>, id: &str) -> Result<Option<pgrx::Uuid>, PoolError> {
    let args: [DatumWithOid; 1] = [id.into()];
    let rows = client.update(&*plan(client, &LOCK_NUMBER)?, None, &args)?;
    match rows.into_iter().next() {
        None => Err(PoolError::UnknownNumber { id: id.to_string() }),
        Some(row) => Ok(row.get::<pgrx::Uuid>(1)?),
    }
}

/// One statement: lock the number (waiting for a transaction that is assigning it right now:
/// this is an operator's deliberate act), release it if held, and write the ledger row.
/// Returns (rows found, rows released). $1 id, $2 reason.
const FORCE_RELEASE: Statement = Statement {
    sql: "
WITH target AS (
    SELECT vapi_phone_number_id, currently_assigned_to AS lead
    FROM signalwire_phone_numbers
    WHERE vapi_phone_number_id = $1
    FOR NO KEY UPDATE
), released AS (
    UPDATE signalwire_phone_numbers AS p
    SET assignment_status = 'available', currently_assigned_to = NULL, release_at = NULL,
        released_at = clock_timestamp()
    FROM target
    WHERE p.vapi_phone_number_id = target.vapi_phone_number_id AND target.lead IS NOT NULL
    RETURNING p.vapi_phone_number_id, p.number, p.assigned_broker_company, target.lead
), logged AS (
    INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
    SELECT 'released', vapi_phone_number_id, number, assigned_broker_company, lead, $2
    FROM released
)
SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM released)",
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID],
};

/// Release one number now, whoever holds it, with a ledger row. Returns false when it was
/// not held. Waits for a transaction that is assigning it right now.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn force_release_phone_number(
    vapi_phone_number_id: Option<&str>,
    reason: default!(Option<&str>, "'manual'"),
) -> Result<bool, ErrorReport> {
    let id = required_text(vapi_phone_number_id, "vapi_phone_number_id")?;
    let reason = required_text(reason, "reason")?;
    let released = Spi::connect_mut(|client| {
        let args: [DatumWithOid; 2] = [id.into(), reason.into()];
        let counts = client.update(&*plan(client, &FORCE_RELEASE)?, Some(1), &args)?;
        let (found, released) = counts.first().get_two::<i64, i64>()?;
        match (found.unwrap_or(0), released.unwrap_or(0)) {
            (0, _) => Err(PoolError::UnknownNumber { id: id.to_string() }),
            (_, released) => Ok(released > 0),
        }
    })?;
    Ok(released)
}

/// The lead's hold(s) with everything the outcome rules need, locked. $1 lead, $2 company or NULL.
const HOLD_FACTS: Statement = Statement {
    sql: "
SELECT p.vapi_phone_number_id, p.assigned_broker_company, now(),
       p.assigned_at + policy.retention,
       (extract(epoch FROM policy.booked_hold) * 1000000)::int8,
       local_day_end(now(), policy.time_zone)
FROM signalwire_phone_numbers AS p
CROSS JOIN LATERAL company_policy(p.assigned_broker_company) AS policy
WHERE p.currently_assigned_to = $1 AND ($2::text IS NULL OR p.assigned_broker_company = $2)
ORDER BY p.assigned_broker_company
FOR NO KEY UPDATE OF p",
    arg_types: &[pg_sys::UUIDOID, pg_sys::TEXTOID],
};

/// Keep a hold until $2 after outcome $3 (appointment $4, or NULL to keep the one recorded).
const MOVE_RELEASE: Statement = Statement {
    sql: "
WITH moved AS (
    UPDATE signalwire_phone_numbers
    SET release_at               = $2,
        last_call_outcome        = $3,
        appointment_scheduled_at = coalesce($4, appointment_scheduled_at)
    WHERE vapi_phone_number_id = $1
    RETURNING vapi_phone_number_id, number, assigned_broker_company, currently_assigned_to, release_at
)
INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, release_at, reason)
SELECT 'outcome', vapi_phone_number_id, number, assigned_broker_company, currently_assigned_to, release_at, $3
FROM moved",
    arg_types: &[pg_sys::TEXTOID, pg_sys::TIMESTAMPTZOID, pg_sys::TEXTOID, pg_sys::TIMESTAMPTZOID],
};

const NUMBER_STATE: Statement = Statement {
    sql: "SELECT vapi_phone_number_id, number, assigned_broker_company, assignment_status,
                 last_call_outcome, release_at
          FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
    arg_types: &[pg_sys::TEXTOID],
};

/// Record what happened on the call to `lead` and move the end of its hold by the outcome's
/// rule (see README). `company` is needed only when the lead holds numbers of several
/// companies. Returns the number's state afterwards.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::type_complexity)] // the result row's columns, named for SQL
fn record_call_outcome(
    lead: Option<pgrx::Uuid>,
    outcome: Option<&str>,
    appointment_at: default!(Option<TimestampWithTimeZone>, "NULL"),
    company: default!(Option<&str>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(vapi_phone_number_id, String),
            name!(number, String),
            name!(assigned_broker_company, String),
            name!(assignment_status, String),
            name!(last_call_outcome, Option<String>),
            name!(release_at, Option<TimestampWithTimeZone>),
        ),
    >,
    ErrorReport,
> {
    let lead = required(lead, "lead")?;
    let outcome: Outcome = required_text(outcome, "outcome")?.parse()?;
    if let Some(c) = company {
        required_text(Some(c), "company")?;
    }
    // now() of this transaction, as the statements below see it.
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    check_appointment(outcome, appointment_at.map(i64::from), now)?;
    let row = Spi::connect_mut(|client| -> Result<_, PoolError> {
        let args: [DatumWithOid; 2] = [lead.into(), company.into()];
        let mut holds: Vec<(String, String, HoldFacts)> = Vec::new();
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
            holds.push((text(1)?, text(2)?, facts));
        }
        let (id, facts) = match holds.as_slice() {
            [] => {
                return Err(PoolError::NoHold {
                    lead: lead.to_string(),
                    company: company.map(str::to_string),
                })
            }
            [(id, _, facts)] => (id.clone(), *facts),
            many => {
                return Err(PoolError::AmbiguousHold {
                    lead: lead.to_string(),
                    companies: many.iter().map(|(_, c, _)| c.clone()).collect(),
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
    })?;
    Ok(TableIterator::once(row))
}

const UPSERT_POLICY: Statement = Statement {
    sql: "
INSERT INTO company_policies AS p (company, retention, booked_hold, time_zone)
VALUES ($1, $2, $3, $4)
ON CONFLICT (company) DO UPDATE
SET retention   = coalesce(EXCLUDED.retention, p.retention),
    booked_hold = coalesce(EXCLUDED.booked_hold, p.booked_hold),
    time_zone   = coalesce(EXCLUDED.time_zone, p.time_zone),
    updated_at  = now()",
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::INTERVALOID,
        pg_sys::INTERVALOID,
        pg_sys::TEXTOID,
    ],
};

/// Set a company's hold rules; arguments left NULL keep their current value (or the default:
/// retention 18 hours, booked hold 24 hours, time zone UTC). Returns the effective policy.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn set_company_policy(
    company: Option<&str>,
    retention: default!(Option<Interval>, "NULL"),
    booked_hold: default!(Option<Interval>, "NULL"),
    time_zone: default!(Option<&str>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(company, String),
            name!(retention, Interval),
            name!(booked_hold, Interval),
            name!(time_zone, String),
        ),
    >,
    ErrorReport,
> {
    let company = required_text(company, "company")?;
    for (argument, value) in [("retention", retention), ("booked_hold", booked_hold)] {
        if let Some(v) = value {
            if !valid_policy_hold(v.months(), v.days(), v.micros()) {
                return Err(PoolError::InvalidPolicyHold {
                    argument,
                    given: v.to_string(),
                }
                .into());
            }
        }
    }
    let row = Spi::connect_mut(|client| -> Result<_, PoolError> {
        if let Some(zone) = time_zone {
            check_time_zone(client, zone)?;
        }
        let args: [DatumWithOid; 4] = [
            company.into(),
            retention.into(),
            booked_hold.into(),
            time_zone.into(),
        ];

        client.update(&*plan(client, &UPSERT_POLICY)?, None, &args)?;
        let args: [DatumWithOid; 1] = [company.into()];
        let row = client
            .update(
                "SELECT retention, booked_hold, time_zone FROM company_policy($1)",
                Some(1),
                &args,
            )?
            .first();
        let (retention, booked_hold, zone) = row.get_three::<Interval, Interval, String>()?;
        Ok((
            company.to_string(),
            retention.expect("policy"),
            booked_hold.expect("policy"),
            zone.expect("policy"),
        ))
    })?;
    Ok(TableIterator::once(row))
}

/// Store pool rules; NULL keeps the stored value. A low-water count replaces a share and the
/// other way round; daily_cap 0 removes the cap.
const UPSERT_POOL_RULES: Statement = Statement {
    sql: "
INSERT INTO company_policies AS p
    (company, low_water_count, low_water_share, local_presence, cooldown, daily_cap)
VALUES ($1, $2, $3::numeric, $4, $5, nullif($6, 0))
ON CONFLICT (company) DO UPDATE
SET low_water_count = CASE WHEN $2 IS NOT NULL THEN $2
                           WHEN $3 IS NOT NULL THEN NULL ELSE p.low_water_count END,
    low_water_share = CASE WHEN $3 IS NOT NULL THEN $3::numeric
                           WHEN $2 IS NOT NULL THEN NULL ELSE p.low_water_share END,
    local_presence  = coalesce($4, p.local_presence),
    cooldown        = coalesce($5, p.cooldown),
    daily_cap       = CASE WHEN $6 IS NULL THEN p.daily_cap ELSE nullif($6, 0) END,
    updated_at      = now()",
    arg_types: &[
        pg_sys::TEXTOID,
        pg_sys::INT4OID,
        pg_sys::TEXTOID, // the share as text: numeric keeps 0.2 as given
        pg_sys::BOOLOID,
        pg_sys::INTERVALOID,
        pg_sys::INT4OID,
    ],
};

/// Set which free numbers a company hands out and when it is warned (see README,
/// "set_pool_rules"): the low-water mark of its alert (a count, or a share of its numbers),
/// local presence (prefer the lead's area code), a cooldown after each release, and a daily
/// cap per number. NULL keeps a rule as it is. Returns the effective rules.
#[pg_extern(volatile, security_definer, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::type_complexity)] // the result row's columns, named for SQL
fn set_pool_rules(
    company: Option<&str>,
    low_water_count: default!(Option<i32>, "NULL"),
    low_water_share: default!(Option<f64>, "NULL"),
    local_presence: default!(Option<bool>, "NULL"),
    cooldown: default!(Option<Interval>, "NULL"),
    daily_cap: default!(Option<i32>, "NULL"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(company, String),
            name!(low_water_count, Option<i32>),
            name!(low_water_share, Option<f64>),
            name!(local_presence, bool),
            name!(cooldown, Interval),
            name!(daily_cap, Option<i32>),
        ),
    >,
    ErrorReport,
> {
    let company = required_text(company, "company")?;
    PoolRules {
        low_water_count: low_water_count.map(i64::from),
        low_water_share,
        local_presence,
        cooldown: cooldown.map(|c| (c.months(), c.days(), c.micros())),
        daily_cap: daily_cap.map(i64::from),
    }
    .validate()?;
    let row = Spi::connect_mut(|client| -> Result<_, PoolError> {
        let share = low_water_share.map(|v| v.to_string());
        let args: [DatumWithOid; 6] = [
            company.into(),
            low_water_count.into(),
            share.as_deref().into(),
            local_presence.into(),
            cooldown.into(),
            daily_cap.into(),
        ];

        client.update(&*plan(client, &UPSERT_POOL_RULES)?, None, &args)?;
        let args: [DatumWithOid; 1] = [company.into()];
        let rows = client.update(
            "SELECT low_water_count, low_water_share, local_presence, cooldown, daily_cap
                     FROM company_policy($1)",
            Some(1),
            &args,
        )?;
        let row = rows.first();
        Ok((
            company.to_string(),
            row.get::<i32>(1)?,
            row.get::<f64>(2)?,
            row.get::<bool>(3)?.expect("policy"),
            row.get::<Interval>(4)?.expect("policy"),
            row.get::<i32>(5)?,
        ))
    })?;
    Ok(TableIterator::once(row))
}

/// Only names Postgres lists in pg_timezone_names: abbreviations and POSIX strings such as
/// 'EST5EDT,M3.2.0' are legal in SQL but easy to get subtly wrong for "same day" rules.
fn check_time_zone(client: &mut SpiClient<'_>, zone: &str) -> Result<(), PoolError> {
    let mut names: Vec<String> = Vec::new();
    for row in client.update("SELECT name FROM pg_timezone_names", None, &[])? {
        names.extend(row.get::<String>(1)?);
    }
    if names.iter().any(|n| n == zone) {
        return Ok(());
    }
    Err(PoolError::UnknownTimeZone {
        given: zone.to_string(),
        closest: closest_name(zone, names.iter().map(String::as_str)),
    })
}
