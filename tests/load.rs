//! Load: 32 sessions doing assign / outcome cycles across 120 companies of 15 numbers and one
//! hot pool of 5 (a fifth of all assignments), while a release job runs in a loop. Afterwards the ledger must show no number
//! held by two leads at once, every client-seen success must be in the ledger and every ledger
//! row must be a client-seen success, and every failure must be a documented one.
//!
//! POOL_EXT_LOAD_OPS sets the number of operations (default 50,000); POOL_EXT_LOAD_SECONDS
//! bounds the run (default 600): a run that ends by time still checks everything, then fails
//! for not having done all the operations asked for.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use postgres::types::Type;

const SESSIONS: u32 = 32;
const COMPANIES: u32 = 120;
const NUMBERS_PER_COMPANY: i32 = 15;
const HOT: &str = "Load Hot";
const HOT_NUMBERS: i32 = 5;
/// Distinct leads per session and company; small, so leads ask again while they hold a number.
const LEADS_PER_SESSION: u32 = 40;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn company(i: u64) -> String {
    format!("Load Co {i:03}")
}

/// What one session saw.
#[derive(Default)]
struct Seen {
    ops: u64,
    /// New holds returned by assign: (number id, lead, assigned_at as text).
    holds: HashSet<Hold>,
    sticky: u64,
    /// Outcomes that kept the hold (an `outcome` ledger row) and that released it.
    outcomes_kept: u64,
    outcomes_released: u64,
    /// Documented refusals by SQLSTATE.
    refusals: BTreeMap<String, u64>,
    /// Anything else: must stay empty.
    unexpected: Vec<String>,
}

#[test]
fn thirty_two_sessions_under_load_never_double_assign_and_lose_nothing() {
    let target_ops = env_or("POOL_EXT_LOAD_OPS", 50_000);
    let time_limit = Duration::from_secs(env_or("POOL_EXT_LOAD_SECONDS", 600));
    let db = Arc::new(TestDb::new("load"));
    let mut setup = db.session();
    // Short holds, so the release job has work: a second of retention, bookings held a second
    // past the appointment (made a few seconds ahead).
    for c in 0..u64::from(COMPANIES) {
        load_pool(
            &mut setup,
            &company(c),
            5000 + c as u32,
            NUMBERS_PER_COMPANY,
        );
    }
    load_pool(&mut setup, HOT, 4999, HOT_NUMBERS);
    for c in (0..u64::from(COMPANIES))
        .map(company)
        .chain([HOT.to_string()])
    {
        setup
            .query(
                "SELECT * FROM set_company_policy($1, retention => '1 second', booked_hold => '1 second')",
                &[&c],
            )
            .unwrap();
    }

    let done = Arc::new(AtomicBool::new(false));
    let ops_left = Arc::new(AtomicU64::new(target_ops));
    let started = Instant::now();

    // The release job, in a loop, as pg_cron would run it (much more often).
    let releaser = {
        let (db, done) = (Arc::clone(&db), Arc::clone(&done));
        thread::spawn(move || {
            let mut s = db.session();
            let (mut runs, mut released) = (0_u64, 0_i64);
            while !done.load(Ordering::Relaxed) {
                let n: i64 = s
                    .query_one("SELECT release_expired_phone_numbers()", &[])
                    .unwrap()
                    .get(0);
                released += n;
                runs += 1;
                thread::sleep(Duration::from_millis(20));
            }
            (runs, released)
        })
    };

    let start = Arc::new(Barrier::new(SESSIONS as usize));
    let workers: Vec<_> = (0..SESSIONS)
        .map(|t| {
            let (db, start, ops_left) = (Arc::clone(&db), Arc::clone(&start), Arc::clone(&ops_left));
            thread::spawn(move || {
                let mut s = db.session();
                let assign_stmt = s
                    .prepare_typed(
                        "SELECT vapi_phone_number_id, assigned_at::text FROM assign_phone_number($1, $2)",
                        &[Type::TEXT, Type::UUID],
                    )
                    .unwrap();
                let outcome_stmt = s
                    .prepare_typed(
                        "SELECT assignment_status FROM record_call_outcome($1, $2, $3, $4)",
                        &[Type::UUID, Type::TEXT, Type::TIMESTAMPTZ, Type::TEXT],
                    )
                    .unwrap();
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((u64::from(t) + 1) * 0x1000_0001));
                let mut seen = Seen::default();
                let mut held: Vec<(Uuid, String)> = Vec::new();
                start.wait();
                while started.elapsed() < time_limit
                    && ops_left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_ok()
                {
                    seen.ops += 1;
                    // Two in three operations assign; the rest record an outcome for a hold
                    // this session got (a no_answer keeps it for a later call's outcome).
                    let result = if rng.below(3) < 2 || held.is_empty() {
                        // A fifth of the assignments go to the hot company.
                        let company = if rng.below(5) == 0 {
                            HOT.to_string()
                        } else {
                            company(rng.below(u64::from(COMPANIES)))
                        };
                        let lead = lead(10_000 + t, rng.below(u64::from(LEADS_PER_SESSION)) as u32);
                        s.query_one(&assign_stmt, &[&company, &lead]).map(|row| {
                            let hold = (row.get::<_, String>(0), lead, row.get::<_, String>(1));
                            if seen.holds.insert(hold) {
                                held.push((lead, company));
                            } else {
                                seen.sticky += 1;
                            }
                        })
                    } else {
                        let i = rng.below(held.len() as u64) as usize;
                        let (lead, company) = held[i].clone();
                        let outcome = ["booked", "no_answer", "no_booking", "no_booking", "do_not_call", "wrong_number"]
                            [rng.below(6) as usize];
                        let appointment: Option<std::time::SystemTime> = (outcome == "booked").then(|| {
                            std::time::SystemTime::now() + Duration::from_millis(1000 + rng.below(3000))
                        });
                        let result = s
                            .query_one(&outcome_stmt, &[&lead, &outcome, &appointment, &company])
                            .map(|row| row.get::<_, String>(0) == "assigned");
                        match result {
                            Ok(true) => seen.outcomes_kept += 1,
                            Ok(false) => {
                                seen.outcomes_released += 1;
                                held.swap_remove(i);
                            }
                            // Released by the job meanwhile.
                            Err(ref e) if sqlstate(e) == "P0002" => {
                                held.swap_remove(i);
                            }
                            Err(_) => {}
                        }
                        result.map(|_| ())
                    };
                    if let Err(e) = result {
                        let code = sqlstate(&e);
                        // Documented: an exhausted pool (53000); an outcome for a hold the
                        // release job freed meanwhile (P0002).
                        if code == "53000" || code == "P0002" {
                            *seen.refusals.entry(code).or_default() += 1;
                        } else {
                            seen.unexpected.push(format!("{code}: {e}"));
                        }
                    }
                }
                seen
            })
        })
        .collect();

    let mut total = Seen::default();
    for w in workers {
        let seen = w.join().unwrap();
        total.ops += seen.ops;
        total.sticky += seen.sticky;
        total.outcomes_kept += seen.outcomes_kept;
        total.outcomes_released += seen.outcomes_released;
        total.holds.extend(seen.holds);
        for (code, n) in seen.refusals {
            *total.refusals.entry(code).or_default() += n;
        }
        total.unexpected.extend(seen.unexpected);
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (release_runs, released_by_job) = releaser.join().unwrap();

    println!(
        "load: {} sessions x {} operations = {} in {:.1} s ({:.0} ops/s); {} new holds, {} sticky repeats, \
         {} outcomes kept, {} released by outcome, {} released by {} job runs; refusals {:?}",
        SESSIONS,
        total.ops / u64::from(SESSIONS),
        total.ops,
        elapsed.as_secs_f64(),
        total.ops as f64 / elapsed.as_secs_f64(),
        total.holds.len(),
        total.sticky,
        total.outcomes_kept,
        total.outcomes_released,
        released_by_job,
        release_runs,
        total.refusals
    );
    assert!(
        total.unexpected.is_empty(),
        "{} unexpected errors, first: {:?}",
        total.unexpected.len(),
        &total.unexpected[..total.unexpected.len().min(5)]
    );
    assert_eq!(
        total.ops, target_ops,
        "only {} of {target_ops} operations within POOL_EXT_LOAD_SECONDS ({time_limit:?})",
        total.ops
    );

    let mut check = db.session();
    assert_pool_invariants(&mut check);
    assert_holds_never_overlap_in_time(&mut check);

    // Reconcile the clients' view with the ledger, both ways.
    let ledger_holds = ledger_holds(&mut check);
    assert_eq!(
        ledger_holds.len(),
        total.holds.len(),
        "ledger assignments vs new holds the clients saw"
    );
    assert!(
        ledger_holds == total.holds,
        "a hold is in one of ledger and clients only"
    );
    let by = |check: &mut postgres::Client, sql: &str| count(check, sql) as u64;
    assert_eq!(
        by(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'outcome'"
        ),
        total.outcomes_kept
    );
    assert_eq!(
        by(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'released' AND reason <> 'expired'"
        ),
        total.outcomes_released
    );
    assert_eq!(
        by(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'released' AND reason = 'expired'"
        ),
        released_by_job as u64
    );
    // Held now = assigned - released, per the ledger.
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE assignment_status = 'assigned'"
        ),
        count(
            &mut check,
            "SELECT count(*) FILTER (WHERE event = 'assigned') - count(*) FILTER (WHERE event = 'released')
             FROM phone_number_ledger"
        )
    );
    assert_eq!(
        count(&mut check, "SELECT count(*) FROM double_assignments"),
        0
    );
}
