//! The ledger's months (issue 16), on a server whose clock runs from 2027-01-31 23:59:40 UTC
//! (scripts/cluster.sh clock, libfaketime): a month's end crossed under load, with the next
//! month's partition made ahead and without it; retention dropping and detaching months while
//! the rest stays as it was; a detached month archived with pg_dump and restored.

mod common;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use postgres::Client;

/// Server time: the fake clock.
fn server_time_after(db: &mut Client, at: &str) -> bool {
    db.query_one("SELECT clock_timestamp() >= $1::text::timestamptz", &[&at])
        .unwrap()
        .get(0)
}

/// Assign and release in a loop from `workers` sessions until `stop`; counts the ledger rows
/// each success wrote, and every error other than an exhausted pool.
fn load(
    db: &TestDb,
    company: &str,
    workers: u32,
    stop: &Arc<AtomicBool>,
    rows: &Arc<AtomicI64>,
    errors: &Arc<std::sync::Mutex<Vec<String>>>,
) -> Vec<thread::JoinHandle<()>> {
    (0..workers)
        .map(|w| {
            let mut s = db.session();
            let (company, stop, rows, errors) = (
                company.to_string(),
                stop.clone(),
                rows.clone(),
                errors.clone(),
            );
            thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    match assign(&mut s, &company, &lead(w, n)) {
                        Ok(id) => {
                            rows.fetch_add(1, Ordering::Relaxed);
                            match s
                                .query_one("SELECT force_release_phone_number($1, 'test')", &[&id])
                            {
                                Ok(_) => {
                                    rows.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => errors
                                    .lock()
                                    .unwrap()
                                    .push(format!("release: {}", describe(&e))),
                            }
                        }
                        Err(e) if sqlstate(&e) == "53000" => {}
                        Err(e) => errors
                            .lock()
                            .unwrap()
                            .push(format!("assign: {}", describe(&e))),
                    }
                }
            })
        })
        .collect()
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} {}", d.code().code(), d.message()),
        None => e.to_string(),
    }
}

/// Every row is in the partition of its month, none in the default one, ids are unique, and
/// both months of the boundary have rows.
fn assert_rows_in_their_months(db: &mut Client, expected_rows: i64) {
    let misplaced = count(
        db,
        "SELECT count(*) FROM phone_number_ledger AS l JOIN pg_class AS c ON c.oid = l.tableoid
         WHERE c.relname <> pool_ext._ledger_partition_name(
                   date_trunc('month', l.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')",
    );
    assert_eq!(misplaced, 0, "rows outside their month's partition");
    assert_eq!(
        count(db, "SELECT count(*) FROM phone_number_ledger_default"),
        0
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM phone_number_ledger"),
        expected_rows
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) - count(DISTINCT id) FROM phone_number_ledger"
        ),
        0
    );
    for month in ["2027_01", "2027_02"] {
        let rows = count(
            db,
            &format!("SELECT count(*) FROM pool_ext.phone_number_ledger_{month}"),
        );
        assert!(
            rows > 0,
            "no rows in {month}: the load did not cross the boundary"
        );
    }
    assert_pool_invariants(db);
}

#[test]
fn a_month_boundary_crossed_under_load() {
    // Ahead: maintain_ledger made February's partition in January, as the daily job does.
    let ahead = TestDb::new("ahead");
    let mut a = ahead.session();
    load_pool(&mut a, "Boundary Ahead", 301, 20);
    let made: Vec<String> = a
        .query(
            "SELECT partition FROM maintain_ledger() WHERE action = 'created'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        made,
        [
            "phone_number_ledger_2027_01",
            "phone_number_ledger_2027_02",
            "phone_number_ledger_2027_03"
        ],
        "the clock: {:?}",
        a.query_one("SELECT clock_timestamp()::text", &[])
            .unwrap()
            .get::<_, String>(0)
    );
    // Old history in the ahead database, for retention to drop under load below.
    history(&mut a, &["2026-06-01"], 300);
    a.execute("SELECT count(*) FROM maintain_ledger()", &[])
        .unwrap();
    // Missed: only January's partition; February's rows must land somewhere all the same.
    let missed = TestDb::new("missed");
    let mut m = missed.session();
    load_pool(&mut m, "Boundary Missed", 302, 20);
    m.execute(
        "SELECT pool_ext._create_ledger_partition('2027-01-01 00:00:00+00')",
        &[],
    )
    .unwrap();
    assert!(
        !server_time_after(&mut m, "2027-02-01 00:00:00+00"),
        "the setup took so long that the month ended before the load began"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (rows_a, rows_m) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
    let mut workers = load(&ahead, "Boundary Ahead", 4, &stop, &rows_a, &errors);
    workers.extend(load(&missed, "Boundary Missed", 4, &stop, &rows_m, &errors));

    // A few seconds into February, under load, the missed database's maintenance runs: it
    // makes February's partition and moves the rows the default partition caught into it.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !server_time_after(&mut m, "2027-02-01 00:00:04+00") {
        assert!(Instant::now() < deadline, "the fake clock does not move");
        thread::sleep(Duration::from_millis(200));
    }
    let caught = count(&mut m, "SELECT count(*) FROM phone_number_ledger_default");
    assert!(
        caught > 0,
        "no row of February reached the default partition"
    );
    let moved = maintain_until(
        &mut m,
        "created",
        "phone_number_ledger_2027_02",
        deadline,
        "maintain_ledger never got its locks",
    );
    assert!(
        moved >= caught,
        "moved {moved:?}, the default held {caught} before"
    );
    // Retention under load: June 2026 is dropped while the ahead database's workers assign and
    // release (the maintenance waits for a moment with no lock on the ledger, never in a queue).
    a.execute("SELECT set_ledger_retention(6, 'drop')", &[])
        .unwrap();
    let dropped = maintain_until(
        &mut a,
        "dropped",
        "phone_number_ledger_2026_06",
        deadline,
        "maintain_ledger never dropped June under load",
    );
    assert_eq!(dropped, 300);
    while !server_time_after(&mut m, "2027-02-01 00:00:10+00") {
        assert!(Instant::now() < deadline, "the fake clock does not move");
        thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let errors = errors.lock().unwrap();
    assert!(
        errors.is_empty(),
        "{} calls failed, first: {}",
        errors.len(),
        errors[0]
    );

    assert_rows_in_their_months(&mut a, rows_a.load(Ordering::Relaxed));
    assert_rows_in_their_months(&mut m, rows_m.load(Ordering::Relaxed));
    let logged = count(
        &mut m,
        "SELECT count(*) FROM ledger_maintenance_log
         WHERE action = 'created' AND partition = 'phone_number_ledger_2027_02' AND rows > 0",
    );
    assert_eq!(logged, 1, "the move is in the maintenance log");
}

/// History of `rows_per_month` assignments in each of `months` (first day of each, UTC),
/// written as the superuser straight into the ledger (the default partition catches them).
fn history(db: &mut Client, months: &[&str], rows_per_month: i32) {
    for month in months {
        db.execute(
            "INSERT INTO phone_number_ledger
                 (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
             SELECT 'assigned', 'Kept-' || (i % 7), '+1303555' || lpad((i % 7)::text, 4, '0'),
                    'Kept', gen_random_uuid(),
                    $1::text::timestamptz + i * interval '1 minute', 'assign'
             FROM generate_series(1, $2) AS i",
            &[&format!("{month} 00:00:00+00"), &rows_per_month],
        )
        .unwrap();
    }
}

#[test]
fn retention_drops_and_detaches_whole_months_and_keeps_the_rest() {
    let db = TestDb::new("retention");
    let mut s = db.session();
    load_pool(&mut s, "Kept", 303, 7);
    history(
        &mut s,
        &["2026-05-01", "2026-06-01", "2026-10-01", "2026-12-01"],
        500,
    );
    let moved = count(
        &mut s,
        "SELECT coalesce(sum(rows), 0)::bigint FROM maintain_ledger() WHERE action = 'created'",
    );
    assert_eq!(
        moved, 2_000,
        "every history row moved out of the default partition"
    );
    // Each history month's last lead entry (lead_numbers), as the assignments would have left it.
    s.batch_execute(
        "INSERT INTO lead_numbers (company, lead_id, vapi_phone_number_id, assigned_at)
         SELECT DISTINCT ON (lead_id) 'Kept', lead_id, vapi_phone_number_id, occurred_at
         FROM phone_number_ledger WHERE broker_company = 'Kept' AND event = 'assigned'
         ORDER BY lead_id, occurred_at DESC",
    )
    .unwrap();
    let kept_before = fingerprint_of(&mut s, KEPT_MONTHS);
    let held_before: String = s
        .query_one(
            "SELECT lead_id::text FROM who_held_number('+13035550003', '2026-12-01 05:00:00+00')",
            &[],
        )
        .unwrap()
        .get(0);

    // Keep 6 months, drop older: May and June go (whole tables), October and December stay.
    s.execute("SELECT set_ledger_retention(6, 'drop')", &[])
        .unwrap();
    let steps: Vec<(String, String, Option<i64>)> = s
        .query(
            "SELECT action, partition, rows FROM maintain_ledger() WHERE action <> 'created'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        steps,
        [
            (
                "dropped".into(),
                "phone_number_ledger_2026_05".into(),
                Some(500)
            ),
            (
                "dropped".into(),
                "phone_number_ledger_2026_06".into(),
                Some(500)
            ),
        ]
    );
    for gone in ["2026_05", "2026_06"] {
        assert_eq!(
            count(
                &mut s,
                &format!(
                    "SELECT count(*) FROM pg_class WHERE relname = 'phone_number_ledger_{gone}'"
                )
            ),
            0
        );
    }
    assert_eq!(fingerprint_of(&mut s, KEPT_MONTHS), kept_before);
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger WHERE occurred_at < '2026-10-01'"
        ),
        0
    );
    // A lead's previous number goes with its month; the kept months' leads keep theirs.
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FILTER (WHERE assigned_at < '2026-10-01') * 10000 + count(*)
             FROM lead_numbers WHERE company = 'Kept'"
        ),
        1_000,
        "lead_numbers after the drop: none of May and June, all of October and December"
    );
    let held_after: String = s
        .query_one(
            "SELECT lead_id::text FROM who_held_number('+13035550003', '2026-12-01 05:00:00+00')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(held_after, held_before);
    // The pool works on: an assignment lands in this month's partition.
    assign(&mut s, "Kept", &lead(9, 1)).unwrap();

    // Keep 2 months, detach older: October becomes a table of its own; December stays.
    s.execute("SELECT set_ledger_retention(2)", &[]).unwrap();
    let steps: Vec<(String, String)> = s
        .query(
            "SELECT action, partition FROM maintain_ledger() WHERE action <> 'created'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        steps,
        [("detached".into(), "phone_number_ledger_2026_10".into())]
    );
    let archived = fingerprint_of(&mut s, "pool_ext.phone_number_ledger_2026_10");
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger WHERE occurred_at < '2026-11-01'"
        ),
        0
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger WHERE occurred_at >= '2026-12-01' AND occurred_at < '2027-01-01'"
        ),
        500
    );

    // The archive, as docs/operations.md shows it: pg_dump of the detached month, restored
    // elsewhere, same rows; then the table is dropped.
    let (host, port) = TestDb::host_and_port();
    let file = std::env::temp_dir().join("pool_ext_ledger_2026_10.sql");
    let dump = std::process::Command::new(TestDb::program("pg_dump"))
        .args([
            "-h",
            &host,
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            db.name(),
        ])
        .args([
            "-t",
            "pool_ext.phone_number_ledger_2026_10",
            "-f",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let archive = TestDb::new("archive");
    let mut a = archive.session();
    a.batch_execute("DROP EXTENSION pool_ext").unwrap(); // the schema stays
    let restore = std::process::Command::new(TestDb::program("psql"))
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &host,
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
        ])
        .args(["-d", archive.name(), "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    assert_eq!(
        fingerprint_of(&mut a, "pool_ext.phone_number_ledger_2026_10"),
        archived
    );
    s.batch_execute("DROP TABLE pool_ext.phone_number_ledger_2026_10")
        .unwrap();
    let _ = std::fs::remove_file(file);

    let logged: Vec<String> = s
        .query("SELECT action || ' ' || partition FROM ledger_maintenance_log WHERE action <> 'created' ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        logged,
        [
            "dropped phone_number_ledger_2026_05",
            "dropped phone_number_ledger_2026_06",
            "detached phone_number_ledger_2026_10"
        ]
    );
}

/// The ledger's rows from October 2026 on: the months retention keeps in the test below.
const KEPT_MONTHS: &str =
    "(SELECT * FROM phone_number_ledger WHERE occurred_at >= '2026-10-01 00:00:00+00')";

/// A table's (or a subquery's) rows as one text: ids, times and all.
fn fingerprint_of(db: &mut Client, table: &str) -> String {
    db.query_one(
        &format!(
            "SELECT count(*) || ':' || md5(string_agg(l::text, ',' ORDER BY id)) FROM {table} AS l"
        ),
        &[],
    )
    .unwrap()
    .get(0)
}

/// Run maintain_ledger() until one of its steps is `action` on `partition` (it postpones while
/// the ledger is busy) and return that step's row count; fails with `why` after `deadline`.
fn maintain_until(
    client: &mut Client,
    action: &str,
    partition: &str,
    deadline: Instant,
    why: &str,
) -> i64 {
    loop {
        assert!(Instant::now() < deadline, "{why}");
        for row in client
            .query("SELECT action, partition, rows FROM maintain_ledger()", &[])
            .unwrap()
        {
            if row.get::<_, String>(0) == action && row.get::<_, String>(1) == partition {
                if let Some(rows) = row.get::<_, Option<i64>>(2) {
                    return rows;
                }
            }
        }
    }
}
