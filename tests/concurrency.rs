//! Real concurrent sessions against a real Postgres: what a single-session test cannot show.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn two_open_transactions_never_get_the_same_number_and_a_rollback_frees_it() {
    let db = TestDb::new("two_sessions");
    let mut setup = db.session();
    load_pool(&mut setup, "Two Sessions", 2000, 2);

    let mut a = db.session();
    let mut b = db.session();
    a.batch_execute("BEGIN").unwrap();
    let held_by_a = assign(&mut a, "Two Sessions", &lead(1, 1)).unwrap();

    // B does not wait for A's lock: it skips the locked row and takes the other number.
    b.batch_execute("SET lock_timeout = '2s'").unwrap();
    let held_by_b = assign(&mut b, "Two Sessions", &lead(1, 2)).unwrap();
    assert_ne!(held_by_a, held_by_b);

    // A third lead finds the pool empty while A's hold is in flight.
    let err = assign(&mut b, "Two Sessions", &lead(1, 3)).unwrap_err();
    assert_eq!(sqlstate(&err), "53000");

    a.batch_execute("ROLLBACK").unwrap();
    // A's number is available again, with no trace in the ledger, and goes to the next lead.
    let state: (String, Option<String>) = {
        let row = setup
            .query_one(
                "SELECT assignment_status, currently_assigned_to::text FROM signalwire_phone_numbers
                 WHERE vapi_phone_number_id = $1",
                &[&held_by_a],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(state, ("available".to_string(), None));
    assert_eq!(
        count(&mut setup, "SELECT count(*) FROM phone_number_ledger"),
        1
    );
    assert_eq!(
        assign(&mut b, "Two Sessions", &lead(1, 3)).unwrap(),
        held_by_a
    );
    assert_pool_invariants(&mut setup);
}

#[test]
fn many_sessions_on_one_hot_company_hand_out_each_number_once() {
    const NUMBERS: i32 = 10;
    const THREADS: u32 = 16;
    const PER_THREAD: u32 = 25;
    let db = Arc::new(TestDb::new("hot_company"));
    load_pool(&mut db.session(), "Hot Co", 2001, NUMBERS);

    let start = Arc::new(Barrier::new(THREADS as usize));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            thread::spawn(move || {
                let mut session = db.session();
                start.wait();
                let (mut won, mut exhausted) = (Vec::new(), 0);
                for i in 0..PER_THREAD {
                    match assign(&mut session, "Hot Co", &lead(100 + t, i)) {
                        Ok(id) => won.push(id),
                        Err(e) if sqlstate(&e) == "53000" => exhausted += 1,
                        Err(e) => panic!("unexpected error: {e:?}"),
                    }
                }
                (won, exhausted)
            })
        })
        .collect();

    let mut won = Vec::new();
    let mut exhausted = 0;
    for w in workers {
        let (ids, refused) = w.join().unwrap();
        won.extend(ids);
        exhausted += refused;
    }
    let attempts = (THREADS * PER_THREAD) as usize;
    assert_eq!(
        won.len(),
        NUMBERS as usize,
        "every number handed out exactly once"
    );
    assert_eq!(
        exhausted,
        attempts - NUMBERS as usize,
        "every other attempt refused as exhausted"
    );
    won.sort();
    won.dedup();
    assert_eq!(won.len(), NUMBERS as usize, "no number handed out twice");

    let mut check = db.session();
    assert_eq!(
        count(
            &mut check,
            "SELECT count(DISTINCT currently_assigned_to) FROM signalwire_phone_numbers"
        ),
        NUMBERS as i64
    );
    assert_eq!(
        count(&mut check, "SELECT count(*) FROM phone_number_ledger"),
        NUMBERS as i64
    );
    assert_pool_invariants(&mut check);
}

#[test]
fn assign_and_release_cycles_in_parallel_never_overlap_holds() {
    const THREADS: u32 = 8;
    const CYCLES: u32 = 60;
    let db = Arc::new(TestDb::new("cycles"));
    load_pool(&mut db.session(), "Cycle Co", 2002, 5);

    let start = Arc::new(Barrier::new(THREADS as usize));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            thread::spawn(move || {
                let mut session = db.session();
                start.wait();
                let (mut assigned, mut exhausted) = (0, 0);
                for i in 0..CYCLES {
                    let lead = lead(200 + t, i);
                    // More workers than numbers: wait for a number, as a caller would retry.
                    loop {
                        match assign(&mut session, "Cycle Co", &lead) {
                            Ok(_) => break,
                            Err(e) if sqlstate(&e) == "53000" => {
                                exhausted += 1;
                                assert!(exhausted < 100_000, "no number came free");
                                thread::sleep(Duration::from_millis(1));
                            }
                            Err(e) => panic!("unexpected error: {e:?}"),
                        }
                    }
                    assigned += 1;
                    // The hold ends (as if its time were up) and the release job runs.
                    session
                        .execute(
                            "UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 second'
                             WHERE currently_assigned_to = $1",
                            &[&lead],
                        )
                        .unwrap();
                    session.query_one("SELECT release_expired_phone_numbers()", &[]).unwrap();
                }
                (assigned, exhausted)
            })
        })
        .collect();
    let (mut assigned, mut exhausted) = (0, 0);
    for w in workers {
        let (a, e) = w.join().unwrap();
        assigned += a;
        exhausted += e;
    }
    assert_eq!(assigned, THREADS * CYCLES);
    println!("{assigned} cycles by {THREADS} sessions on 5 numbers; {exhausted} refusals while all were held");

    let mut check = db.session();
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'assigned'"
        ),
        assigned as i64
    );
    // Every hold was released again, by this worker's own release or by another's.
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'released'"
        ),
        assigned as i64
    );
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE assignment_status = 'assigned'"
        ),
        0
    );
    assert_pool_invariants(&mut check);
}

#[test]
fn one_lead_asking_from_many_sessions_at_once_gets_one_number() {
    const THREADS: usize = 8;
    let db = Arc::new(TestDb::new("same_lead"));
    load_pool(&mut db.session(), "Same Lead Co", 2003, 5);
    let start = Arc::new(Barrier::new(THREADS));
    let ids: Vec<String> = (0..THREADS)
        .map(|_| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            thread::spawn(move || {
                let mut session = db.session();
                start.wait();
                assign(&mut session, "Same Lead Co", &lead(300, 1)).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|w| w.join().unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let mut check = db.session();
    // One assignment; every later call renewed that hold.
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'assigned'"
        ),
        1
    );
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'renewed'"
        ),
        THREADS as i64 - 1
    );
    assert_pool_invariants(&mut check);
}

#[test]
fn the_least_recently_assigned_number_is_handed_out_first() {
    let db = TestDb::new("lru");
    let mut s = db.session();
    load_pool(&mut s, "Lru Co", 2004, 3);
    // Three assignments in three transactions, so their assigned_at times differ.
    let order: Vec<String> = (1..=3)
        .map(|i| assign(&mut s, "Lru Co", &lead(400, i)).unwrap())
        .collect();
    s.batch_execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 second'
         WHERE assigned_broker_company = 'Lru Co';
         SELECT release_expired_phone_numbers();",
    )
    .unwrap();
    let again: Vec<String> = (4..=6)
        .map(|i| assign(&mut s, "Lru Co", &lead(400, i)).unwrap())
        .collect();
    assert_eq!(
        again, order,
        "numbers come back in the order they were first used"
    );
    assert_pool_invariants(&mut s);
}

#[test]
fn release_skips_rows_locked_by_in_flight_transactions_instead_of_waiting() {
    let db = TestDb::new("release_skips");
    let mut s = db.session();
    load_pool(&mut s, "Skip Co", 2005, 3);
    assign(&mut s, "Skip Co", &lead(500, 1)).unwrap();
    assign(&mut s, "Skip Co", &lead(500, 2)).unwrap();
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 minute'
               WHERE currently_assigned_to IS NOT NULL",
        &[],
    )
    .unwrap();

    // An in-flight transaction holds a lock on one expired hold (say, recording an outcome),
    // and another is in the middle of an assignment.
    let mut busy = db.session();
    busy.batch_execute("BEGIN").unwrap();
    busy.execute(
        "SELECT 1 FROM signalwire_phone_numbers WHERE currently_assigned_to = $1 FOR UPDATE",
        &[&lead(500, 1)],
    )
    .unwrap();
    let mut assigning = db.session();
    assigning.batch_execute("BEGIN").unwrap();
    assign(&mut assigning, "Skip Co", &lead(500, 3)).unwrap();

    // The release job must not wait for either: a lock wait would hit lock_timeout.
    let mut job = db.session();
    job.batch_execute("SET lock_timeout = '3s'").unwrap();
    let started = Instant::now();
    let released: i64 = job
        .query_one("SELECT release_expired_phone_numbers()", &[])
        .unwrap()
        .get(0);
    let waited = started.elapsed();
    assert_eq!(
        released, 1,
        "the unlocked expired hold is released, the locked one skipped"
    );
    assert!(waited < Duration::from_secs(3), "release waited {waited:?}");

    busy.batch_execute("COMMIT").unwrap();
    assigning.batch_execute("COMMIT").unwrap();
    let released: i64 = job
        .query_one("SELECT release_expired_phone_numbers()", &[])
        .unwrap()
        .get(0);
    assert_eq!(released, 1, "the next run picks up the skipped hold");
    assert_pool_invariants(&mut s);
}

#[test]
fn the_batched_procedure_clears_a_backlog_one_committed_batch_at_a_time() {
    let db = TestDb::new("backlog");
    let mut s = db.session();
    s.batch_execute(
        "INSERT INTO signalwire_phone_numbers
             (vapi_phone_number_id, number, assigned_broker_company, assignment_status,
              currently_assigned_to, assigned_at, release_at)
         SELECT 'Backlog-' || i, '+1200600' || lpad(i::text, 4, '0'), 'Backlog Co', 'assigned',
                gen_random_uuid(), now() - interval '1 day', now() - interval '1 hour'
         FROM generate_series(1, 2500) AS i",
    )
    .unwrap();
    let released: i64 = s
        .query_one("CALL release_expired_phone_numbers_in_batches(1000)", &[])
        .unwrap()
        .get("released");
    assert_eq!(released, 2500);
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE assignment_status = 'available'"
        ),
        2500
    );
    // Three batches, three transactions: the release rows were written by three transactions.
    let transactions = count(
        &mut s,
        "SELECT count(DISTINCT xmin::text) FROM phone_number_ledger WHERE event = 'released'",
    );
    assert_eq!(transactions, 3, "one transaction per batch of 1000");

    // Inside an explicit transaction the procedure cannot commit, and says so.
    s.batch_execute("BEGIN").unwrap();
    let err = s
        .query_one("CALL release_expired_phone_numbers_in_batches()", &[])
        .unwrap_err();
    assert_eq!(sqlstate(&err), "2D000", "{err:?}");
    s.batch_execute("ROLLBACK").unwrap();
    let err = s
        .query_one("CALL release_expired_phone_numbers_in_batches(0)", &[])
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22023", "{err:?}");
}

#[test]
fn errors_reach_the_client_with_sqlstate_message_and_hint_and_change_nothing() {
    let db = TestDb::new("client_errors");
    let mut s = db.session();
    load_pool(&mut s, "Full Co", 2006, 1);
    assign(&mut s, "Full Co", &lead(600, 1)).unwrap();
    let snapshot = |s: &mut postgres::Client| {
        s.query_one(
            "SELECT (SELECT string_agg(vapi_phone_number_id || ':' || assignment_status || ':' ||
                                       coalesce(currently_assigned_to::text, '-'), ',')
                     FROM signalwire_phone_numbers),
                    (SELECT count(*) FROM phone_number_ledger)",
            &[],
        )
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
        .unwrap()
    };
    let before = snapshot(&mut s);

    let err = assign(&mut s, "Full Co", &lead(600, 2)).unwrap_err();
    let db_err = err.as_db_error().unwrap();
    assert_eq!(db_err.code().code(), "53000");
    assert_eq!(
        db_err.message(),
        "No available phone numbers in pool for 'Full Co'"
    );
    assert_eq!(db_err.detail(), Some("1 of 1 numbers are assigned."));
    assert!(db_err
        .hint()
        .unwrap()
        .contains("release_expired_phone_numbers()"));

    let err = assign(&mut s, "full co", &lead(600, 2)).unwrap_err();
    let db_err = err.as_db_error().unwrap();
    assert_eq!(db_err.code().code(), "42704");
    assert!(db_err.hint().unwrap().ends_with("Did you mean 'Full Co'?"));

    let err = s
        .query_one(
            "SELECT * FROM assign_phone_number(NULL, $1)",
            &[&lead(600, 2)],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22004");
    let err = s
        .query_one("SELECT * FROM assign_phone_number('Full Co', NULL)", &[])
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22004");
    let err = assign(&mut s, "   ", &lead(600, 2)).unwrap_err();
    assert_eq!(sqlstate(&err), "22023");

    assert_eq!(snapshot(&mut s), before);
}
