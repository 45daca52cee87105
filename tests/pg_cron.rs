//! pg_cron for real: Debian's postgresql-15-cron, preloaded in the test cluster
//! (scripts/cluster.sh sets cron.database_name = 'pool_demo'). schedule_release_job schedules
//! the release, and a run of the job releases an expired hold. pg_cron 1.4 schedules by the
//! minute, so this test waits up to two minutes for the run.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;

#[test]
#[cfg_attr(
    feature = "pg18",
    ignore = "pg_cron is packaged by Debian for Postgres 15 only; this test runs in the 15 pass"
)]
fn a_scheduled_release_job_frees_an_expired_hold() {
    // pg_cron lives in the database cron.database_name names; so does the pool here.
    let db = TestDb::exactly("pool_demo");
    // Recreating the database ends pg_cron's scheduler for good (it exits cleanly, so the
    // postmaster does not restart it): restart the cluster so it starts on the new database.
    cluster_script("stop");
    cluster_script("start");
    let mut s = db.session();
    load_pool(&mut s, "Cron Realty", 6700, 2);
    let lead = lead(70, 1);
    let number = assign(&mut s, "Cron Realty", &lead).unwrap();

    // Without pg_cron: a clear error that says what to do, and nothing scheduled.
    let e = expect_error(s.query("SELECT schedule_release_job()", &[]), "55000");
    assert!(
        e.message().contains("pg_cron is not installed"),
        "{}",
        e.message()
    );
    assert!(e
        .hint()
        .unwrap_or_default()
        .contains("shared_preload_libraries"));

    s.batch_execute("CREATE EXTENSION pg_cron").unwrap();
    let job: i64 = s
        .query_one("SELECT schedule_release_job('* * * * *')", &[])
        .unwrap()
        .get(0);
    let command: String = s
        .query_one("SELECT command FROM cron.job WHERE jobid = $1", &[&job])
        .unwrap()
        .get(0);
    assert_eq!(command, "SELECT pool_ext.release_expired_phone_numbers()");
    // Scheduling again under the same name replaces the job, it does not add one.
    let again: i64 = s
        .query_one("SELECT schedule_release_job('* * * * *')", &[])
        .unwrap()
        .get(0);
    assert_eq!(again, job);
    // With it, the ledger's daily upkeep (once: it had no job yet).
    let (upkeep, schedule, command): (i64, String, String) = {
        let r = s
            .query_one(
                "SELECT jobid, schedule, command FROM cron.job WHERE jobname = 'pool_ext-ledger-maintenance'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(schedule, "7 3 * * *");
    assert_eq!(command, "SELECT count(*) FROM pool_ext.maintain_ledger()");
    assert_eq!(count(&mut s, "SELECT count(*) FROM cron.job"), 2);
    // Every minute for this test, so that pg_cron runs it here: it makes this month's
    // partition and the next two (the template database never ran it).
    let again: i64 = s
        .query_one("SELECT schedule_ledger_maintenance('* * * * *')", &[])
        .unwrap()
        .get(0);
    assert_eq!(again, upkeep);
    assert_eq!(count(&mut s, "SELECT count(*) FROM cron.job"), 2);

    // The hold's time is up; the next run of the job must release it.
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 minute'
         WHERE vapi_phone_number_id = $1",
        &[&number],
    )
    .unwrap();
    let started = Instant::now();
    loop {
        let released = count(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'released' AND reason = 'expired'",
        );
        if released == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "no pg_cron run released the hold within 150 s; runs: {:?}",
            s.query(
                "SELECT status, return_message FROM cron.job_run_details",
                &[]
            )
            .unwrap()
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(1)))
            .collect::<Vec<_>>()
        );
        thread::sleep(Duration::from_secs(1));
    }
    // pg_cron records the run's status after the command's transaction commits: the release
    // can be seen a moment before the run is marked succeeded.
    let mut succeeded = || {
        count(
            &mut s,
            &format!("SELECT count(*) FROM cron.job_run_details WHERE jobid = {job} AND status = 'succeeded'"),
        )
    };
    let marked = Instant::now();
    while succeeded() < 1 {
        assert!(
            marked.elapsed() < Duration::from_secs(30),
            "the run that released the hold was never marked succeeded"
        );
        thread::sleep(Duration::from_millis(200));
    }
    println!(
        "pg_cron released the expired hold {:.0} s after it expired",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE assignment_status = 'assigned'"
        ),
        0
    );
    // The upkeep's run: three partitions made, logged, and its run marked succeeded.
    let waited = Instant::now();
    while count(
        &mut s,
        &format!("SELECT count(*) FROM cron.job_run_details WHERE jobid = {upkeep} AND status = 'succeeded'"),
    ) < 1
    {
        assert!(
            waited.elapsed() < Duration::from_secs(150),
            "pg_cron never ran maintain_ledger()"
        );
        thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM ledger_maintenance_log WHERE action = 'created'"
        ),
        3
    );
    assert_eq!(count(&mut s, "SELECT count(*) FROM ledger_partitions"), 4);
    assert!(s
        .query_one("SELECT unschedule_ledger_maintenance()", &[])
        .unwrap()
        .get::<_, bool>(0));
    assert!(s
        .query_one("SELECT unschedule_release_job()", &[])
        .unwrap()
        .get::<_, bool>(0));
    assert_eq!(count(&mut s, "SELECT count(*) FROM cron.job"), 0);
    assert_pool_invariants(&mut s);
}
