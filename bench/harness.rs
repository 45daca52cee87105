//! The benchmark harness (run by `bash bench/run.sh`, which builds the extension in release mode
//! and starts the private benchmark cluster first). Ignored by the test command: it measures,
//! it does not check. Every figure is printed next to the baseline measured in the same run.
//!
//! Settings: POOL_EXT_BENCH_SECONDS (each throughput measurement, default 15; comparisons split
//! it into PASSES interleaved passes of at least a second each),
//! POOL_EXT_BENCH_SAMPLES (latency samples per pool size, default 3000),
//! POOL_EXT_BENCH_CYCLES (assign/release cycles for the bloat run, default 1,000,000),
//! POOL_EXT_BENCH_ONLY (a comma-separated list of sections to run, default all: 1 to 8, 10 to 12;
//! section 9 of bench/RESULTS.md is bench/compare-previous.sh's).

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use postgres::Client;
use uuid::Uuid;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[path = "../tests/common/database.rs"]
mod database;

/// The server's own pgbench (bench/run.sh exports the cluster's PGBINDIR), Debian's 15 else.
fn pgbench_program() -> String {
    std::env::var("PGBINDIR")
        .map(|dir| format!("{dir}/pgbench"))
        .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin/pgbench".to_string())
}

fn connect(db: &str) -> Client {
    let host = std::env::var("PGHOST").expect("PGHOST: run bench/run.sh");
    let port: u16 = std::env::var("PGPORT").expect("PGPORT").parse().unwrap();
    database::try_connect(&host, port, db).unwrap_or_else(|e| panic!("connect to {db}: {e}"))
}

const DB: &str = "pool_bench";

/// Section 2's cycle on the `Steady ` companies, for pgbench (section 12 runs it too).
const STEADY_CYCLE: &str = "\\set c random(0, 99)
BEGIN;
SELECT vapi_phone_number_id AS id FROM pool_ext.assign_phone_number('Steady ' || :c, gen_random_uuid()) \\gset
SELECT pool_ext.force_release_phone_number(:id, 'bench');
END;
";

/// A fresh benchmark database with the extension and the baseline fixtures, its ledger
/// partitioned as an installation's is after its first maintenance (this month, the next two
/// and the default partition: every ledger row an assignment writes is routed among them).
/// Releases before 0.4.1 (bench/compare-previous.sh) have no partitions and no maintain_ledger().
fn fresh_db() -> Client {
    database::recreate(&mut connect("postgres"), DB, None);
    let mut c = connect(DB);
    c.batch_execute(
        "CREATE EXTENSION pool_ext;
         DO $$ BEGIN
             IF to_regprocedure('pool_ext.maintain_ledger()') IS NOT NULL THEN
                 PERFORM count(*) FROM pool_ext.maintain_ledger();
             END IF;
         END $$;",
    )
    .unwrap();
    c.batch_execute(include_str!("setup.sql")).unwrap();
    c
}

fn load(c: &mut Client, prefix: &str, companies: i32, per_company: i32, first: i64) {
    c.execute(
        "CALL bench.load($1, $2, $3, $4)",
        &[&prefix, &companies, &per_company, &first],
    )
    .unwrap();
    // One statement per call: VACUUM cannot run in the implicit transaction of a batch.
    c.batch_execute("VACUUM ANALYZE pool_ext.signalwire_phone_numbers")
        .unwrap();
    c.batch_execute("VACUUM ANALYZE bench.baseline_numbers")
        .unwrap();
}

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    PoolExt,
    Baseline,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::PoolExt => "pool_ext",
            Impl::Baseline => "baseline",
        }
    }
    fn assign_sql(self) -> &'static str {
        match self {
            Impl::PoolExt => {
                "SELECT vapi_phone_number_id FROM pool_ext.assign_phone_number($1, $2)"
            }
            Impl::Baseline => "SELECT vapi_phone_number_id FROM bench.baseline_assign($1, $2)",
        }
    }
    fn release_sql(self) -> &'static str {
        match self {
            Impl::PoolExt => "SELECT pool_ext.force_release_phone_number($1, 'bench')",
            Impl::Baseline => "SELECT bench.baseline_release($1)",
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One client's assign/release cycles, each in its own transaction (BEGIN; assign; release;
/// COMMIT), for `duration`. Returns cycle latencies in ms and the number of 53000 refusals.
fn cycles(
    client: &mut Client,
    imp: Impl,
    prefix: &str,
    companies: u64,
    duration: Duration,
    max_cycles: u64,
    seed: u64,
) -> (Vec<f64>, u64) {
    let assign = client.prepare(imp.assign_sql()).unwrap();
    let release = client.prepare(imp.release_sql()).unwrap();
    let mut rng = Rng(seed | 1);
    let (mut lat, mut refused) = (Vec::new(), 0);
    let start = Instant::now();
    while start.elapsed() < duration && (lat.len() as u64) < max_cycles {
        let company = format!("{prefix}{}", rng.below(companies));
        let t = Instant::now();
        let mut tx = client.transaction().unwrap();
        match tx.query_opt(&assign, &[&company, &Uuid::new_v4()]) {
            Ok(Some(row)) => {
                let id: String = row.get(0);
                tx.query(&release, &[&id]).unwrap();
                tx.commit().unwrap();
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            // The baseline returns no row on an exhausted pool; pool_ext raises 53000.
            Ok(None) => {
                tx.rollback().unwrap();
                refused += 1;
            }
            Err(e) if e.code().map(|c| c.code()) == Some("53000") => {
                drop(tx);
                refused += 1;
            }
            Err(e) => panic!("{}: {e}", imp.name()),
        }
    }
    (lat, refused)
}

struct Run {
    per_sec: f64,
    p50: f64,
    p99: f64,
    refused: u64,
    cycles: u64,
}

/// `clients` sessions running cycles at once for `duration` (or until `total` cycles).
fn run_clients(
    imp: Impl,
    clients: u64,
    prefix: &str,
    companies: u64,
    duration: Duration,
    total: u64,
) -> Run {
    let barrier = Arc::new(Barrier::new(clients as usize));
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            let (barrier, prefix) = (Arc::clone(&barrier), prefix.to_string());
            thread::spawn(move || {
                let mut c = connect(DB);
                barrier.wait();
                cycles(
                    &mut c,
                    imp,
                    &prefix,
                    companies,
                    duration,
                    total / clients,
                    0x5EED + i * 7919,
                )
            })
        })
        .collect();
    let (mut all, mut refused) = (Vec::new(), 0);
    for h in handles {
        let (lat, r) = h.join().unwrap();
        all.extend(lat);
        refused += r;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let all = sorted(all);
    Run {
        per_sec: all.len() as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        refused,
        cycles: all.len() as u64,
    }
}

fn vacuum(c: &mut Client) {
    // One statement per call: VACUUM cannot run in the implicit transaction of a batch.
    c.batch_execute("VACUUM ANALYZE pool_ext.signalwire_phone_numbers")
        .unwrap();
    c.batch_execute("VACUUM ANALYZE bench.baseline_numbers")
        .unwrap();
}

/// Server-side assignment times (ms) of `n` cycles, from bench.server_side.
fn server_side(c: &mut Client, imp: Impl, n: i32, prefix: &str, companies: i32) -> (f64, f64) {
    // Simple protocol: the procedure commits after each cycle, which CALL allows only at top
    // level.
    c.batch_execute(&format!(
        "CALL bench.server_side('{}', {n}, '{prefix}', {companies})",
        imp.name()
    ))
    .unwrap();
    let row = c
        .query_one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
             FROM bench.timings WHERE impl = $1",
            &[&imp.name()],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// End-to-end client time of one assignment (ms): the call alone is timed, the release after
/// it is not.
fn client_side(c: &mut Client, imp: Impl, n: u64, prefix: &str, companies: u64) -> (f64, f64) {
    let assign = c.prepare(imp.assign_sql()).unwrap();
    let release = c.prepare(imp.release_sql()).unwrap();
    let mut rng = Rng(42);
    let mut lat = Vec::new();
    for _ in 0..n {
        let company = format!("{prefix}{}", rng.below(companies));
        let t = Instant::now();
        let id: String = c
            .query_one(&assign, &[&company, &Uuid::new_v4()])
            .unwrap()
            .get(0);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        c.query(&release, &[&id]).unwrap();
    }
    let lat = sorted(lat);
    (percentile(&lat, 0.5), percentile(&lat, 0.99))
}

fn sizes(c: &mut Client) -> Vec<(String, i64)> {
    c.query(
        "SELECT c.oid::regclass::text, pg_relation_size(c.oid)
         FROM pg_class c
         WHERE c.relnamespace = 'pool_ext'::regnamespace AND c.relkind IN ('r', 'i')
         ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

fn mb(bytes: i64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_048_576.0)
}

#[test]
#[ignore = "a benchmark: run it with bash bench/run.sh"]
fn benchmark() {
    let seconds = Duration::from_secs(env_or("POOL_EXT_BENCH_SECONDS", 15));
    let samples = env_or("POOL_EXT_BENCH_SAMPLES", 3000);
    let bloat_cycles = env_or("POOL_EXT_BENCH_CYCLES", 1_000_000);
    // POOL_EXT_BENCH_ONLY=2,3 runs only those sections.
    let only = std::env::var("POOL_EXT_BENCH_ONLY").ok();
    let want = |n: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x.trim() == n))
    };
    let mut report = String::new();
    let mut out = |line: String| {
        println!("{line}");
        report.push_str(&line);
        report.push('\n');
    };

    if want("1") {
        // 1. Latency by pool size.
        out("## 1. One assignment, by pool size (ms)\n".into());
        out("| pool | impl | server p50 | server p99 | client p50 | client p99 |".into());
        out("|---|---|---|---|---|---|".into());
        let mut p50_by_size = Vec::new();
        for (companies, per) in [(1, 5), (100, 15), (200, 15), (5000, 20)] {
            let mut c = fresh_db();
            load(&mut c, "Size ", companies, per, 12_000_000_000);
            let label = format!("{} numbers / {} companies", companies * per, companies);
            for imp in [Impl::PoolExt, Impl::Baseline] {
                // Warm up: plans cached, caches filled.
                client_side(&mut c, imp, 200, "Size ", companies as u64);
                let (s50, s99) = server_side(&mut c, imp, samples as i32, "Size ", companies);
                let (c50, c99) = client_side(&mut c, imp, samples, "Size ", companies as u64);
                if imp == Impl::PoolExt {
                    p50_by_size.push(s50);
                }
                out(format!(
                    "| {label} | {} | {s50:.3} | {s99:.3} | {c50:.3} | {c99:.3} |",
                    imp.name()
                ));
            }
        }
        let flat = p50_by_size[3] / p50_by_size[0];
        out(format!(
        "\npool_ext server p50 at 100,000 numbers / at 5 numbers: **{flat:.2}x** (target <= 1.5x)\n"
    ));
    }

    if want("2") {
        // 2. Steady-state throughput, and the machine's write limit: all three driven by pgbench,
        // so the client costs the same for each.
        out("## 2. Steady-state throughput (pgbench; one transaction = BEGIN; assign; release; COMMIT), 1,500 numbers / 100 companies\n".into());
        out(format!(
            "pool_ext and the baseline in turns, {PASSES} passes of {} s each; the median pass of each.\n",
            (seconds / PASSES).as_secs()
        ));
        out("| clients | pool_ext tps | baseline tps | pool_ext / baseline | pool_ext p99 ms | baseline p99 ms |".into());
        out("|---|---|---|---|---|---|".into());
        let mut c = fresh_db();
        load(&mut c, "Steady ", 100, 15, 13_000_000_000);
        let ours_script = STEADY_CYCLE;
        let base_script = "\\set c random(0, 99)
BEGIN;
SELECT vapi_phone_number_id AS id FROM bench.baseline_assign('Steady ' || :c, gen_random_uuid()) \\gset
SELECT bench.baseline_release(:id);
END;
";
        let mut ours_at_8 = 0.0;
        let (ours_file, base_file) = (
            script_file("ours", ours_script),
            script_file("baseline", base_script),
        );
        for clients in [1, 8, 32] {
            let files = [&ours_file, &base_file];
            let mut runs = in_turns(
                2,
                |i| {
                    vacuum(&mut c);
                    pgbench_stats(DB, &["-f", files[i]], clients, seconds / PASSES)
                },
                |b| b.tps,
            );
            let (base, ours) = (runs.pop().unwrap(), runs.pop().unwrap());
            if clients == 8 {
                ours_at_8 = ours.tps;
            }
            out(format!(
                "| {clients} | {:.0} | {:.0} | **{:.2}x** | {:.2} | {:.2} |",
                ours.tps,
                base.tps,
                ours.tps / base.tps,
                ours.p99,
                base.p99
            ));
        }
        let simple_update = pgbench_simple_update(seconds);
        out(format!(
        "\npgbench simple-update (scale 10), 8 clients, same cluster: {simple_update:.0} tps; pool_ext at 8 clients / simple-update: **{:.2}x** (target >= 0.5x)\n",
        ours_at_8 / simple_update
    ));
    }

    if want("3") {
        // 3. One hot company.
        out("## 3. One hot company: 20 numbers, 32 clients\n".into());
        let mut c = fresh_db();
        load(&mut c, "Hot ", 1, 20, 14_000_000_000);
        load(&mut c, "Spread ", 100, 15, 14_100_000_000);
        let alone = run_clients(Impl::PoolExt, 1, "Hot ", 1, seconds, u64::MAX);
        let spread = run_clients(Impl::PoolExt, 32, "Spread ", 100, seconds, u64::MAX);
        // pool_ext and the baseline in turns; the median pass of each.
        let impls = [Impl::PoolExt, Impl::Baseline];
        let mut runs = in_turns(
            2,
            |i| run_clients(impls[i], 32, "Hot ", 1, seconds / PASSES, u64::MAX),
            |r| r.per_sec,
        );
        let (hot_baseline, hot) = (runs.pop().unwrap(), runs.pop().unwrap());
        let doubles: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM pool_ext.double_assignments)
                  + (SELECT count(*) FROM (
                        SELECT event, lag(event) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS prev
                        FROM pool_ext.phone_number_ledger) h WHERE event = prev)",
            &[],
        )
        .unwrap()
        .get(0);
        out(format!(
        "pool_ext and the baseline on the hot company in turns, {PASSES} passes of {} s each; the median pass of each.\n\n\
         {:.0} cycles/s, p50 {:.2} ms, p99 {:.2} ms; {} cycles, {} refusals while all 20 were held; double assignments (all passes): **{doubles}**.\n\n\
         p99 against one client alone on the same company ({:.2} ms): **{:.2}x** (target < 5x). \
         p99 against the same 32 clients spread over 100 companies ({:.2} ms): **{:.2}x**. \
         The baseline on the same hot company: {:.0} cycles/s (pool_ext / baseline **{:.2}x**).\n",
        (seconds / PASSES).as_secs(),
        hot.per_sec,
        hot.p50,
        hot.p99,
        hot.cycles,
        hot.refused,
        alone.p99,
        hot.p99 / alone.p99,
        spread.p99,
        hot.p99 / spread.p99,
        hot_baseline.per_sec,
        hot.per_sec / hot_baseline.per_sec
    ));
        // For bench/compare-previous.sh: this release's hot-pool throughput beside the
        // baseline's, as section 6 writes its paths.
        if let Ok(path) = std::env::var("POOL_EXT_BENCH_TSV") {
            use std::io::Write;
            let version: String = c
                .query_one(
                    "SELECT extversion FROM pg_extension WHERE extname = 'pool_ext'",
                    &[],
                )
                .unwrap()
                .get(0);
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            writeln!(
                f,
                "{version}\thot pool (20 numbers)\t32\t{:.1}\t{:.1}",
                hot.per_sec, hot_baseline.per_sec
            )
            .unwrap();
        }
    }

    if want("4") {
        // 4. A backlog of 100,000 expired holds.
        out("## 4. Releasing a backlog of 100,000 expired holds while assignments go on\n".into());
        let mut c = fresh_db();
        load(&mut c, "Live ", 100, 15, 15_000_000_000);
        load(&mut c, "Backlog ", 5000, 20, 16_000_000_000);
        let before = run_clients(Impl::PoolExt, 8, "Live ", 100, seconds, u64::MAX);
        // Make every backlog number an expired hold (triggers off: a bulk fixture, not a change
        // anyone made through the pool).
        c.batch_execute(
            "SET session_replication_role = replica;
         UPDATE pool_ext.signalwire_phone_numbers
         SET assignment_status = 'assigned', currently_assigned_to = gen_random_uuid(),
             assigned_at = now() - interval '19 hours', release_at = now() - interval '1 hour'
         WHERE assigned_broker_company LIKE 'Backlog %';
         RESET session_replication_role;",
        )
        .unwrap();
        vacuum(&mut c);
        let releaser = thread::spawn(|| {
            let mut r = connect(DB);
            thread::sleep(Duration::from_millis(500));
            let t = Instant::now();
            let n: i64 = r
                .query_one("SELECT pool_ext.release_expired_phone_numbers()", &[])
                .unwrap()
                .get(0);
            (n, t.elapsed())
        });
        let during = run_clients(Impl::PoolExt, 8, "Live ", 100, seconds, u64::MAX);
        let (released, took) = releaser.join().unwrap();
        out(format!(
        "release_expired_phone_numbers() released {released} holds in {:.2} s. Assignment p99 (8 clients): {:.2} ms without a backlog, {:.2} ms while releasing (**{:.2}x**, target <= 3x); throughput {:.0} vs {:.0} cycles/s\n",
        took.as_secs_f64(),
        before.p99,
        during.p99,
        during.p99 / before.p99,
        before.per_sec,
        during.per_sec
    ));
    }

    if want("5") {
        // 5. Bloat after many cycles, autovacuum on default settings.
        out(format!(
        "## 5. Sizes after {bloat_cycles} assign/release cycles (8 clients), autovacuum defaults\n"
    ));
        let mut c = fresh_db();
        load(&mut c, "Bloat ", 100, 15, 17_000_000_000);
        let fresh = sizes(&mut c);
        let t = Instant::now();
        let run = run_clients(
            Impl::PoolExt,
            8,
            "Bloat ",
            100,
            Duration::from_secs(3600),
            bloat_cycles,
        );
        let after = sizes(&mut c);
        out(format!(
            "{} cycles in {:.0} s ({:.0}/s).\n",
            run.cycles,
            t.elapsed().as_secs_f64(),
            run.per_sec
        ));
        out("| relation | fresh | after | after / fresh |".into());
        out("|---|---|---|---|".into());
        for ((name, f), (_, a)) in fresh.iter().zip(after.iter()) {
            let ratio = if *f > 0 {
                format!("{:.2}x", *a as f64 / *f as f64)
            } else {
                "n/a (empty when fresh)".into()
            };
            out(format!("| {name} | {} | {} | {ratio} |", mb(*f), mb(*a)));
        }
        out("\nThe ledger and its indexes grow by design (two rows per cycle: assigned, released); the target applies to the pool table and its indexes.\n".into());
    }

    if want("6") {
        // 6. The assignment paths of the pool rules, against the plain-SQL baseline. Run against
        // a previous release too by bench/compare-previous.sh (which reads POOL_EXT_BENCH_TSV).
        let version = assignment_paths(seconds, &mut out);
        out(format!("(pool_ext {version})\n"));
    }

    if want("7") {
        // 7. Cost by company size: one database, three companies, server defaults (JIT on).
        cost_by_company_size(seconds, &mut out);
    }

    if want("8") {
        // 8. One call with the CRM tables registered, against the three statements it replaces.
        crm_one_call_vs_three_statements(seconds, &mut out);
    }

    if want("10") {
        // 10. Recording an outcome by company size (0.4.1 and later: health windows). Section 9
        // of RESULTS.md is bench/compare-previous.sh's.
        outcome_cost_by_company_size(seconds, &mut out);
    }

    if want("11") {
        // 11. The ledger's lookups as it grows: 0, 1,000,000 and 20,000,000 rows of history.
        ledger_lookups_by_history(seconds, &mut out);
    }

    if want("12") {
        // 12. The default path with the ledger's months of a fresh install and of years kept.
        default_path_by_months_kept(seconds, &mut out);
    }

    let path =
        std::env::var("POOL_EXT_BENCH_OUT").unwrap_or_else(|_| "/tmp/pool_ext-bench.md".into());
    std::fs::write(&path, &report).unwrap();
    println!("results written to {path}");
}

/// 100 companies named "<prefix> 0".."<prefix> 99" of 15 numbers each, spread over 10 area codes,
/// in the pool and in the baseline's table (sections 6 and 8).
fn load_area_companies(c: &mut Client, prefix: &str) {
    c.batch_execute(&format!(
        "INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
         SELECT '{prefix} ' || c || '-' || n, '+1' || (201 + (n % 10) * 11) || lpad((c * 15 + n)::text, 7, '0'),
                'Line ' || n, '{prefix} ' || c
         FROM generate_series(0, 99) AS c, generate_series(0, 14) AS n;
         INSERT INTO bench.baseline_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
         SELECT vapi_phone_number_id, number, name, assigned_broker_company FROM pool_ext.signalwire_phone_numbers;"
    ))
    .unwrap();
}

/// Section 6: throughput of each assignment path at 1 and 8 clients, 1,500 numbers / 100
/// companies whose numbers have 10 area codes, with the plain-SQL baseline measured in the same
/// run. Paths: no customer phone (the default: the plain least-recently-used statement); a
/// phone with local presence off; a phone with local presence on (the lead's area code first).
/// A release without pool rules (before 0.3.0) runs the first two only. Returns the version.
fn assignment_paths(seconds: Duration, out: &mut impl FnMut(String)) -> String {
    out("## 6. Assignment paths (pgbench; BEGIN; assign; release; COMMIT), 1,500 numbers / 100 companies, 10 area codes\n".into());
    out(format!(
        "The paths in turns, {PASSES} passes of {} s each; the median pass of each.\n",
        (seconds / PASSES).as_secs()
    ));
    let mut c = fresh_db();
    let version: String = c
        .query_one(
            "SELECT extversion FROM pg_extension WHERE extname = 'pool_ext'",
            &[],
        )
        .unwrap()
        .get(0);
    let has_rules = c
        .query_opt("SELECT FROM pg_proc WHERE proname = 'set_pool_rules'", &[])
        .unwrap()
        .is_some();
    load_area_companies(&mut c, "Area");
    let script = |call: &str| {
        format!(
            "\\set c random(0, 99)\n\\set a random(0, 9)\nBEGIN;\n\
             SELECT vapi_phone_number_id AS id FROM {call} \\gset\n\
             SELECT {release};\nEND;\n",
            release = if call.starts_with("bench.") {
                "bench.baseline_release(:id)"
            } else {
                "pool_ext.force_release_phone_number(:id, 'bench')"
            }
        )
    };
    let phone = "'+1' || (201 + :a * 11) || '5550123'";
    let mut paths = vec![
        (
            "baseline",
            script("bench.baseline_assign('Area ' || :c, gen_random_uuid())"),
            None,
        ),
        (
            "no phone (default)",
            script("pool_ext.assign_phone_number('Area ' || :c, gen_random_uuid())"),
            None,
        ),
        (
            "phone, local presence off",
            script(&format!(
                "pool_ext.assign_phone_number('Area ' || :c, gen_random_uuid(), {phone})"
            )),
            Some(false),
        ),
    ];
    if has_rules {
        paths.push((
            "phone, local presence on",
            script(&format!(
                "pool_ext.assign_phone_number('Area ' || :c, gen_random_uuid(), {phone})"
            )),
            Some(true),
        ));
    }
    let tsv = std::env::var("POOL_EXT_BENCH_TSV").ok();
    out("| path | clients | tps | / baseline | p99 ms |".into());
    out("|---|---|---|---|---|".into());
    let files: Vec<_> = paths
        .iter()
        .enumerate()
        .map(|(i, (_, text, _))| script_file(&format!("path{i}"), text))
        .collect();
    for clients in [1, 8] {
        // The paths in turns; the median pass of each.
        let runs = in_turns(
            paths.len(),
            |i| {
                if let (Some(on), true) = (paths[i].2, has_rules) {
                    c.execute(
                        "SELECT pool_ext.set_pool_rules('Area ' || n, local_presence => $1)
                         FROM generate_series(0, 99) AS n",
                        &[&on],
                    )
                    .unwrap();
                }
                vacuum(&mut c);
                pgbench_stats(DB, &["-f", &files[i]], clients, seconds / PASSES)
            },
            |b| b.tps,
        );
        let baseline = runs[0].tps;
        for ((name, _, _), run) in paths.iter().zip(&runs) {
            let (tps, p99) = (run.tps, run.p99);
            out(format!(
                "| {name} | {clients} | {tps:.0} | {:.2}x | {p99:.2} |",
                tps / baseline
            ));
            if let Some(path) = &tsv {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                writeln!(f, "{version}\t{name}\t{clients}\t{tps:.1}\t{baseline:.1}").unwrap();
            }
        }
    }
    version
}

/// The tables the measured statements write: the pool, the ledger and the baseline's table.
const MEASURED_TABLES: [&str; 3] = [
    "pool_ext.signalwire_phone_numbers",
    "pool_ext.phone_number_ledger",
    "bench.baseline_numbers",
];

/// Run `command` (ANALYZE or VACUUM) on the measured tables and `extra`, one statement each:
/// VACUUM cannot run in the implicit transaction of a batch.
fn each_table(c: &mut Client, command: &str, extra: &[&str]) {
    for table in MEASURED_TABLES.iter().chain(extra) {
        c.batch_execute(&format!("{command} {table}")).unwrap();
    }
}

/// The tables autovacuum analyzes by itself after a load, analyzed by hand. pool_ext's small
/// tables (crm_tables, company_policies, pool_alert_state, ...) are left as autovacuum leaves
/// them: never analyzed, as in production.
fn analyze_as_autovacuum(c: &mut Client, extra: &[&str]) {
    each_table(c, "ANALYZE", extra);
}

/// Plain VACUUM (no ANALYZE: statistics stay as they were) of the tables that rolled-back
/// transactions leave dead rows in, between two measured runs, as autovacuum would.
fn vacuum_only(c: &mut Client, extra: &[&str]) {
    each_table(c, "VACUUM", extra);
}

/// pool_ext's tables that have never been analyzed, by hand or by autovacuum.
fn never_analyzed(c: &mut Client) -> String {
    c.query_one(
        "SELECT coalesce(string_agg(relname, ', ' ORDER BY relname), 'none')
         FROM pg_stat_user_tables
         WHERE schemaname = 'pool_ext' AND last_analyze IS NULL AND last_autoanalyze IS NULL",
        &[],
    )
    .unwrap()
    .get(0)
}

/// Section 12: section 2's cycle (BEGIN; assign; release; COMMIT) in two databases that differ
/// only in the ledger's months: four partitions (a fresh install after its first maintenance)
/// and 32 (28 past months besides, as two and a half years kept whole would leave). Nothing in
/// an assignment should read a month it does not write: a lead's previous number is one key of
/// lead_numbers, not a probe of every month (and a lock of every partition) of the ledger.
fn default_path_by_months_kept(seconds: Duration, out: &mut impl FnMut(String)) {
    const MONTHS_DB: &str = "pool_bench_months";
    let pass = seconds / PASSES;
    let mut c = fresh_db();
    load(&mut c, "Steady ", 100, 15, 13_000_000_000);
    drop(c);
    database::recreate(&mut connect("postgres"), MONTHS_DB, Some(DB));
    let mut m = connect(MONTHS_DB);
    m.batch_execute(
        "INSERT INTO pool_ext.phone_number_ledger
             (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
         SELECT 'assigned', 'History', '+12025550100', 'History', gen_random_uuid(),
                date_trunc('month', now()) - make_interval(months => k) + interval '1 day', 'assign'
         FROM generate_series(1, 28) AS k;
         SELECT count(*) FROM pool_ext.maintain_ledger();",
    )
    .unwrap();
    // One statement per call: VACUUM cannot run in the implicit transaction of a batch.
    m.batch_execute("VACUUM ANALYZE pool_ext.phone_number_ledger")
        .unwrap();
    let partitions = |db: &str| -> i64 {
        connect(db)
            .query_one("SELECT count(*) FROM pool_ext.ledger_partitions", &[])
            .unwrap()
            .get(0)
    };
    let (few, many) = (partitions(DB), partitions(MONTHS_DB));
    out(format!(
        "## 12. The default path by months kept: the ledger with {few} partitions and with {many} (pgbench; one transaction = BEGIN; assign; release; COMMIT), 1,500 numbers / 100 companies\n"
    ));
    out(format!(
        "Two databases alike but for {} past months of the ledger (one row each); in turns, \
         {PASSES} passes of {} s each, the median pass of each.\n",
        many - few,
        pass.as_secs()
    ));
    out(format!(
        "| clients | {few} partitions tps | {many} partitions tps | {many} / {few} |"
    ));
    out("|---|---|---|---|".into());
    let script = script_file("months", STEADY_CYCLE);
    for clients in [1, 8] {
        let dbs = [DB, MONTHS_DB];
        let mut runs = in_turns(
            2,
            |i| pgbench_stats(dbs[i], &["-f", &script], clients, pass),
            |b| b.tps,
        );
        let (many_run, few_run) = (runs.pop().unwrap(), runs.pop().unwrap());
        out(format!(
            "| {clients} | {:.0} | {:.0} | **{:.2}x** |",
            few_run.tps,
            many_run.tps,
            many_run.tps / few_run.tps
        ));
    }
    out(String::new());
}

/// Section 7: the cost of one assignment by the size of the company's pool. One fresh database
/// holds three companies of 20, 2,000 and 20,000 numbers (and the same numbers in the
/// baseline's table), with the server's default settings (JIT on), analyzed as autovacuum
/// leaves it: the pool and the ledger analyzed, pool_ext's small tables never. One pgbench
/// client per run, one company per run: BEGIN; assign; ROLLBACK (nothing is committed, so every
/// call finds the pool as loaded). Then the same with the CRM tables registered (leads picked
/// from 100,000 existing rows: a registered CRM refuses unknown leads), and the plain-SQL
/// baseline for context.
fn cost_by_company_size(seconds: Duration, out: &mut impl FnMut(String)) {
    const SIZES: [i32; 3] = [20, 2_000, 20_000];
    const LEADS: i32 = 100_000;
    // The sizes are measured in turns (PASSES), each size reporting its median pass.
    let pass = seconds / PASSES;
    let mut c = fresh_db();
    for (i, numbers) in SIZES.iter().enumerate() {
        c.execute(
            "CALL bench.load_company($1, $2, $3)",
            &[
                &format!("Size {numbers}"),
                numbers,
                &(18_000_000_000i64 + i as i64 * 100_000),
            ],
        )
        .unwrap();
    }
    c.execute("CALL bench.create_crm($1)", &[&LEADS]).unwrap();
    analyze_as_autovacuum(&mut c, &["public.leads", "public.interactions"]);
    let settings: String = c
        .query_one(
            "SELECT format('jit = %s (available: %s), jit_above_cost = %s, jit_inline_above_cost = %s, jit_optimize_above_cost = %s',
                           current_setting('jit'), pg_jit_available(), current_setting('jit_above_cost'),
                           current_setting('jit_inline_above_cost'), current_setting('jit_optimize_above_cost'))",
            &[],
        )
        .unwrap()
        .get(0);
    let unanalyzed_before = never_analyzed(&mut c);

    out("## 7. Cost by company size: one database with companies of 20, 2,000 and 20,000 numbers (pgbench, 1 client; one transaction = BEGIN; assign; ROLLBACK)\n".into());
    out(format!(
        "Server defaults: {settings}. Analyzed as autovacuum leaves a fresh install: \
         pool_ext.signalwire_phone_numbers and pool_ext.phone_number_ledger (and the baseline's \
         table, public.leads); never analyzed: {unanalyzed_before}. Every number is free and never used. \
         pool_ext and the baseline: the three sizes in turns, {PASSES} passes of {} s each, the median pass \
         per size; with the CRM tables: one run of {} s per size.\n",
        pass.as_secs(),
        seconds.as_secs()
    ));
    out("| implementation | company | tps | mean ms | p99 ms | mean / company of 20 | pool_ext tps / baseline tps |".into());
    out("|---|---|---|---|---|---|---|".into());

    let run = |c: &mut Client, name: &str, text: &str, time: Duration| {
        vacuum_only(c, &[]);
        pgbench_stats(DB, &["-f", &script_file(name, text)], 1, time)
    };
    // Side 2k is pool_ext on size k, side 2k+1 the baseline on it.
    let runs = in_turns(
        SIZES.len() * 2,
        |i| {
            let company = format!("Size {}", SIZES[i / 2]);
            let (name, call) = if i % 2 == 0 {
                ("size_ours", "pool_ext.assign_phone_number")
            } else {
                ("size_baseline", "bench.baseline_assign")
            };
            run(
                &mut c,
                name,
                &format!(
                    "BEGIN;\nSELECT * FROM {call}('{company}', gen_random_uuid());\nROLLBACK;\n"
                ),
                pass,
            )
        },
        |b| b.tps,
    );
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for (i, b) in runs.into_iter().enumerate() {
        if i % 2 == 0 {
            ours.push(b)
        } else {
            base.push(b)
        }
    }
    // From here on every assignment also updates the lead row and inserts an interaction.
    c.batch_execute("SELECT pool_ext.register_crm_tables('public.leads', 'public.interactions')")
        .unwrap();
    let mut crm = Vec::new();
    for numbers in SIZES {
        let company = format!("Size {numbers}");
        crm.push(run(
            &mut c,
            "size_crm",
            &format!(
                "\\set l random(1, {LEADS})\nBEGIN;\n\
                 SELECT * FROM pool_ext.assign_phone_number('{company}', md5(:l::text)::uuid);\nROLLBACK;\n"
            ),
            seconds,
        ));
    }
    c.batch_execute("SELECT pool_ext.unregister_crm_tables()")
        .unwrap();

    for (label, runs) in [
        ("pool_ext", &ours),
        ("pool_ext, CRM tables registered", &crm),
        ("baseline", &base),
    ] {
        for (i, (numbers, b)) in SIZES.iter().zip(runs.iter()).enumerate() {
            out(format!(
                "| {label} | {numbers} numbers | {:.0} | {:.3} | {:.3} | {:.2}x | {:.2}x |",
                b.tps,
                b.mean,
                b.p99,
                b.mean / runs[0].mean,
                b.tps / base[i].tps
            ));
        }
    }
    out(format!(
        "\npool_ext mean latency, company of 2,000 / company of 20: **{:.2}x** (target <= 1.5x); \
         company of 20,000 / company of 20: **{:.2}x** (target <= 2x). \
         With the CRM tables registered: {:.2}x and {:.2}x. Baseline: {:.2}x and {:.2}x.\n",
        ours[1].mean / ours[0].mean,
        ours[2].mean / ours[0].mean,
        crm[1].mean / crm[0].mean,
        crm[2].mean / crm[0].mean,
        base[1].mean / base[0].mean,
        base[2].mean / base[0].mean,
    ));
    out(format!(
        "pool_ext's tables still never analyzed after the runs: {}.\n",
        never_analyzed(&mut c)
    ));
}

/// Section 10: the cost of recording a call's outcome by the size of the company's pool. Since
/// 0.4.1 an outcome also writes its number's health window and counts its company's calls over
/// the same period, reading one window row per number of the company (sql/statements/
/// record_health.sql). One fresh database holds companies of 20 and 2,000 numbers whose every
/// number has a full window (20 outcomes of the last hour), the quarantine rule off (the
/// default); one pgbench client, each transaction rolled back (every call finds the windows
/// as loaded): BEGIN; assign; ROLLBACK against BEGIN; assign; record_call_outcome; ROLLBACK,
/// the four in turns. The outcome's own cost is the difference of the two means.
fn outcome_cost_by_company_size(seconds: Duration, out: &mut impl FnMut(String)) {
    const SIZES: [i32; 2] = [20, 2_000];
    let pass = seconds / PASSES;
    let mut c = fresh_db();
    for (i, numbers) in SIZES.iter().enumerate() {
        let company = format!("Outcomes {numbers}");
        c.execute(
            "CALL bench.load_company($1, $2, $3)",
            &[&company, numbers, &(19_000_000_000i64 + i as i64 * 100_000)],
        )
        .unwrap();
        // Full windows: 20 outcomes each over the last hour, three in four answered.
        c.execute(
            "INSERT INTO pool_ext.number_health_windows
                 (vapi_phone_number_id, company, answered, called_at, company_calls, company_answered)
             SELECT p.vapi_phone_number_id, p.assigned_broker_company,
                    ARRAY(SELECT k % 4 <> 0 FROM generate_series(1, 20) AS k),
                    ARRAY(SELECT now() - (21 - k) * interval '3 minutes' FROM generate_series(1, 20) AS k),
                    0, 0
             FROM pool_ext.signalwire_phone_numbers AS p
             WHERE p.assigned_broker_company = $1",
            &[&company],
        )
        .unwrap();
    }
    analyze_as_autovacuum(&mut c, &[]);
    out("## 10. Recording an outcome, by company size: companies of 20 and 2,000 numbers, every number with a full health window (pgbench, 1 client; one transaction = BEGIN; assign; [record_call_outcome;] ROLLBACK)\n".into());
    out(format!(
        "The four runs in turns, {PASSES} passes of {} s each, the median pass of each. Quarantine \
         rule off (the default): the window and the company's count are written all the same.\n",
        pass.as_secs()
    ));
    out("| company | transaction | tps | mean ms | p99 ms |".into());
    out("|---|---|---|---|---|".into());
    // Side 2k: assign only on size k; side 2k+1: assign and outcome.
    let runs = in_turns(
        SIZES.len() * 2,
        |i| {
            let company = format!("Outcomes {}", SIZES[i / 2]);
            let (name, text) = if i % 2 == 0 {
                (
                    "outcome_base",
                    format!(
                        "BEGIN;\nSELECT * FROM pool_ext.assign_phone_number('{company}', gen_random_uuid());\nROLLBACK;\n"
                    ),
                )
            } else {
                (
                    "outcome_with",
                    format!(
                        "BEGIN;\nSELECT pool_ext.record_call_outcome(l.lead, 'no_booking') \
                         FROM (SELECT gen_random_uuid() AS lead) AS l, \
                         LATERAL pool_ext.assign_phone_number('{company}', l.lead) AS a;\nROLLBACK;\n"
                    ),
                )
            };
            vacuum_only(&mut c, &["pool_ext.number_health_windows"]);
            pgbench_stats(DB, &["-f", &script_file(name, &text)], 1, pass)
        },
        |b| b.tps,
    );
    let mut outcome_ms = Vec::new();
    for (k, numbers) in SIZES.iter().enumerate() {
        let (base, with) = (&runs[2 * k], &runs[2 * k + 1]);
        for (label, b) in [("assign", base), ("assign + outcome", with)] {
            out(format!(
                "| {numbers} numbers | {label} | {:.0} | {:.3} | {:.3} |",
                b.tps, b.mean, b.p99
            ));
        }
        outcome_ms.push(with.mean - base.mean);
    }
    out(format!(
        "\nThe outcome's own cost (mean difference): {:.3} ms at 20 numbers, {:.3} ms at 2,000: \
         **{:.2}x**. The assignment alone, company of 2,000 / company of 20: {:.2}x.\n",
        outcome_ms[0],
        outcome_ms[1],
        outcome_ms[1] / outcome_ms[0],
        runs[2].mean / runs[0].mean
    ));
}

/// Section 8: one `assign_phone_number(company, lead, phone)` call with the CRM tables
/// registered, against what users ran before pool_ext: three statements from the client (the
/// original claim statement on the baseline's table, `UPDATE leads`, `INSERT INTO
/// interactions`) writing the same lead columns and interaction row. 1,500 numbers / 100
/// companies with 10 area codes (as section 6), 100,000 leads; every transaction rolls back on
/// both sides, so the pool, the leads and the interactions stay as loaded and neither side pays
/// for a commit the other skips.
fn crm_one_call_vs_three_statements(seconds: Duration, out: &mut impl FnMut(String)) {
    const LEADS: i32 = 100_000;
    let mut c = fresh_db();
    load_area_companies(&mut c, "Crm");
    c.execute("CALL bench.create_crm($1)", &[&LEADS]).unwrap();
    let crm_tables = ["public.leads", "public.interactions"];
    analyze_as_autovacuum(&mut c, &crm_tables);
    c.batch_execute("SELECT pool_ext.register_crm_tables('public.leads', 'public.interactions')")
        .unwrap();

    out("## 8. One call with the CRM tables registered against the three statements it replaces (pgbench; one transaction = BEGIN; ...; ROLLBACK), 1,500 numbers / 100 companies, 10 area codes, 100,000 leads\n".into());
    out("Both sides roll back every transaction (nothing committed, the same state for every run) and write the same data: the number's hold, the lead's assigned_phone_number_id and phone_assigned_at, one interaction row. pool_ext also writes its ledger row; the three statements write none. Server defaults (JIT on); pool_ext's small tables never analyzed.\n".into());
    out(format!(
        "The variants in turns, {PASSES} passes of {} s each; the median pass of each.\n",
        (seconds / PASSES).as_secs()
    ));
    out("| clients | transaction | round trips (with BEGIN/ROLLBACK; statements alone) | tps | mean ms | p99 ms | / three statements |".into());
    out("|---|---|---|---|---|---|---|".into());

    let head = format!(
        "\\set c random(0, 99)\n\\set a random(0, 9)\n\\set l random(1, {LEADS})\nBEGIN;\n"
    );
    let phone = "'+1' || (201 + :a * 11) || '5550123'";
    let three = format!(
        "{head}\
WITH available AS (
    SELECT b.vapi_phone_number_id
    FROM bench.baseline_numbers b
    WHERE b.assigned_broker_company = 'Crm ' || :c
      AND b.assignment_status = 'available'
      AND b.status = 'active'
    ORDER BY b.assigned_at ASC NULLS FIRST
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE bench.baseline_numbers s
SET assignment_status = 'assigned',
    currently_assigned_to = md5(:l::text)::uuid,
    assigned_at = now(),
    release_at = now() + interval '18 hours'
FROM available a
WHERE s.vapi_phone_number_id = a.vapi_phone_number_id
RETURNING s.vapi_phone_number_id AS id, s.number AS number \\gset
UPDATE public.leads SET assigned_phone_number_id = :id, phone_assigned_at = now() WHERE id = md5(:l::text)::uuid;
INSERT INTO public.interactions (lead_id, type, metadata, created_at)
VALUES (md5(:l::text)::uuid, 'phone_number_assigned',
        jsonb_build_object('assigned_phone_number_id', :id::text, 'assigned_phone_number', :number::text,
                           'customer_phone', {phone}, 'broker_company', 'Crm ' || :c),
        now());
ROLLBACK;
"
    );
    let one_call = format!(
        "{head}SELECT * FROM pool_ext.assign_phone_number('Crm ' || :c, md5(:l::text)::uuid, {phone});\nROLLBACK;\n"
    );
    let one_call_no_phone = format!(
        "{head}SELECT * FROM pool_ext.assign_phone_number('Crm ' || :c, md5(:l::text)::uuid);\nROLLBACK;\n"
    );
    let variants = [
        (
            "three statements: claim, UPDATE leads, INSERT INTO interactions",
            "5; 3",
            three,
        ),
        (
            "pool_ext: one call, customer phone given (local presence on, the default)",
            "3; 1",
            one_call,
        ),
        (
            "pool_ext: one call, no customer phone",
            "3; 1",
            one_call_no_phone,
        ),
    ];
    let files: Vec<_> = variants
        .iter()
        .enumerate()
        .map(|(i, (_, _, text))| script_file(&format!("crm{i}"), text))
        .collect();
    let mut ratio_at_1 = f64::NAN;
    for clients in [1, 8] {
        // The variants in turns; the median pass of each.
        let runs = in_turns(
            files.len(),
            |i| {
                vacuum_only(&mut c, &crm_tables);
                pgbench_stats(DB, &["-f", &files[i]], clients, seconds / PASSES)
            },
            |b| b.tps,
        );
        let three_tps = runs[0].tps;
        if clients == 1 {
            ratio_at_1 = runs[1].tps / three_tps;
        }
        for ((name, trips, _), b) in variants.iter().zip(&runs) {
            out(format!(
                "| {clients} | {name} | {trips} | {:.0} | {:.3} | {:.3} | {:.2}x |",
                b.tps,
                b.mean,
                b.p99,
                b.tps / three_tps
            ));
        }
    }
    let interactions: i64 = c
        .query_one("SELECT count(*) FROM public.interactions", &[])
        .unwrap()
        .get(0);
    out(format!(
        "\nOne call (customer phone given) / three statements at 1 client: **{ratio_at_1:.2}x** (target >= 1.2x). \
         Round trips per assignment: 3 instead of 5 in an explicit transaction, 1 instead of 3 without one \
         (a networked client saves 2 round trips per assignment). Interactions left after the runs (all rolled back): {interactions}.\n"
    ));
}

/// Writes a pgbench script to a temporary file and returns its path.
fn script_file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("pool_ext_bench_{name}.pgbench"));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs pgbench with `args` (a script or a built-in) for `duration`, with prepared statements
/// for every workload alike, and returns tps and the p99 transaction latency in ms, read from
/// its per-transaction log.
fn pgbench(db: &str, args: &[&str], clients: u64, duration: Duration) -> (f64, f64) {
    let b = pgbench_stats(db, args, clients, duration);
    (b.tps, b.p99)
}

/// One pgbench run: transactions per second, and the mean and p99 transaction latency in ms
/// from its per-transaction log.
struct Bench {
    tps: f64,
    mean: f64,
    p99: f64,
}

/// Comparisons run in turns, PASSES times for a third of the run time each, and report the
/// median pass: a single run swings by a third on a noisy 2-core machine, and measuring one
/// side after the other would give all of a drift (autovacuum, the ledger's growth) to one.
const PASSES: u32 = 3;

/// Measure `sides` things in turns, PASSES times each (`run(i)` measures side i once), each
/// pass in the other order from the one before, and return each side's median pass by `rate`.
fn in_turns<T>(sides: usize, mut run: impl FnMut(usize) -> T, rate: impl Fn(&T) -> f64) -> Vec<T> {
    let mut passes: Vec<Vec<T>> = (0..sides).map(|_| Vec::new()).collect();
    for pass in 0..PASSES {
        // Every other pass in reverse order (A B, B A, A B): a run pays for the vacuum and
        // checkpoint debt of the run before it, so a side that always goes first is favoured
        // (2026-12-04, two builds of pool_ext on one database, 8 clients: whichever ran
        // first won 5 of 5 rounds one way round and 3 of 5 the other).
        for k in 0..sides {
            let i = if pass % 2 == 0 { k } else { sides - 1 - k };
            passes[i].push(run(i));
        }
    }
    passes
        .into_iter()
        .map(|mut runs| {
            runs.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
            runs.swap_remove(runs.len() / 2)
        })
        .collect()
}

/// pgbench, as [`pgbench`], with the mean latency as well.
fn pgbench_stats(db: &str, args: &[&str], clients: u64, duration: Duration) -> Bench {
    let dir = std::env::temp_dir().join("pool_ext_pgbench_logs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("log");
    let clients_s = clients.to_string();
    let threads = clients.min(2).to_string();
    // pgbench -T takes whole seconds; a pass of a short run is at least one.
    let seconds = duration.as_secs().max(1).to_string();
    let prefix_s = prefix.to_str().unwrap();
    let mut all_args: Vec<&str> = vec![
        "-n",
        "-M",
        "prepared",
        "-c",
        &clients_s,
        "-j",
        &threads,
        "-T",
        &seconds,
        "-l",
        "--log-prefix",
        prefix_s,
        "-U",
        "postgres",
    ];
    all_args.extend_from_slice(args);
    all_args.push(db);
    let out = Command::new(pgbench_program())
        .args(&all_args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench {all_args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tps = text
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench output: {text}"));
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let log = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // client_id transaction_no time_us script_no time_epoch time_us
        latencies.extend(log.lines().filter_map(|l| {
            l.split_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<f64>().ok())
                .map(|us| us / 1000.0)
        }));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mean = latencies.iter().sum::<f64>() / latencies.len() as f64;
    Bench {
        tps,
        mean,
        p99: percentile(&sorted(latencies), 0.99),
    }
}

/// pgbench's built-in simple-update at 8 clients on a scale-10 database of the same cluster.
fn pgbench_simple_update(duration: Duration) -> f64 {
    database::recreate(&mut connect("postgres"), "pgbench_ref", None);
    let init = Command::new(pgbench_program())
        .args(["-i", "-q", "-s", "10", "-U", "postgres", "pgbench_ref"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    pgbench("pgbench_ref", &["-b", "simple-update"], 8, duration).0
}

/// Section 11: every lookup that reads the ledger, as the ledger grows (issue 16). One database
/// of 200 companies of 15 numbers ("Ledger 0".."Ledger 199"; 0-49 with a daily cap of 1,000, so
/// that their assignments count the day's rows), a day of recent traffic (200,000 rows over
/// the last 24 hours: about 100,000 calls a day), then history added older than 3 days at the
/// same rate, two rows (assigned, released) per call: 1,000,000 rows (5 days), then 20,000,000
/// (100 days, four months' partitions). The history's leads are md5(k)::uuid for k in
/// 1..200,000, lead k at company k % 200, so a returning lead finds its previous number.
/// Each size runs the six lookups in turns (pgbench, 1 client, prepared), the median pass each;
/// ratios are against the same lookup with no history. Env POOL_EXT_BENCH_LEDGER_ROWS
/// (default 20,000,000) sets the largest size.
fn ledger_lookups_by_history(seconds: Duration, out: &mut impl FnMut(String)) {
    let largest = env_or("POOL_EXT_BENCH_LEDGER_ROWS", 20_000_000) as i64;
    let sizes = [0i64, 1_000_000, largest];
    let pass = seconds / PASSES;
    let mut c = fresh_db();
    load(&mut c, "Ledger ", 200, 15, 17_000_000_000);
    // fresh_db() made the months' partitions.
    c.batch_execute(
        "SELECT count(*) FROM generate_series(0, 49) AS k,
                LATERAL pool_ext.set_pool_rules('Ledger ' || k, daily_cap => 1000);",
    )
    .unwrap();
    // A day of traffic: rows i = 1..200,000 over the last 24 hours.
    history(&mut c, 0, 200_000, "now()");
    settle(&mut c);

    let workloads: [(&str, &str); 6] = [
        (
            "who_held_number (3 days ago)",
            "\\set n random(0, 2999)\nSELECT * FROM pool_ext.who_held_number('+1' || (17000000000 + :n)::text, now() - interval '3 days');\n",
        ),
        (
            "assign, daily cap counted",
            "\\set k random(0, 49)\nBEGIN;\nSELECT * FROM pool_ext.assign_phone_number('Ledger ' || :k::text, gen_random_uuid());\nROLLBACK;\n",
        ),
        (
            "assign, default path",
            "\\set k random(150, 199)\nBEGIN;\nSELECT * FROM pool_ext.assign_phone_number('Ledger ' || :k::text, gen_random_uuid());\nROLLBACK;\n",
        ),
        (
            "assign, returning lead",
            "\\set k random(1, 200000)\nBEGIN;\nSELECT * FROM pool_ext.assign_phone_number('Ledger ' || (:k % 200)::text, md5(:k::text)::uuid);\nROLLBACK;\n",
        ),
        (
            "pool_activity (1 company, 24 h)",
            "\\set k random(0, 199)\nSELECT count(*) FROM pool_ext.pool_activity('Ledger ' || :k::text, now() - interval '24 hours', now());\n",
        ),
        (
            "pool_runway (all companies, 3 h)",
            "SELECT count(*) FROM pool_ext.pool_runway();\n",
        ),
    ];
    let mut means: Vec<Vec<f64>> = Vec::new();
    let mut notes = Vec::new();
    let mut loaded = 0i64;
    for &size in &sizes {
        if size > loaded {
            let started = Instant::now();
            // History before the window of every lookup, newest first: rows loaded+1..size.
            history(&mut c, loaded, size, "now() - interval '3 days'");
            settle(&mut c);
            loaded = size;
            let (rows, bytes, partitions): (i64, i64, i64) = {
                let r = c
                    .query_one(
                        "SELECT (SELECT count(*) FROM pool_ext.phone_number_ledger),
                                (SELECT sum(total_bytes)::bigint FROM pool_ext.ledger_partitions),
                                (SELECT count(*) FROM pool_ext.ledger_partitions)",
                        &[],
                    )
                    .unwrap();
                (r.get(0), r.get(1), r.get(2))
            };
            notes.push(format!(
                "{size} rows of history: loaded and analyzed in {:.0} s; the ledger then holds {rows} rows, {} in {partitions} partitions",
                started.elapsed().as_secs_f64(),
                mb(bytes)
            ));
        }
        means.push(measure_lookups(&mut c, &workloads, pass));
    }
    // Lookups without a time bound (a returning lead's previous number) probe every month
    // kept: the same 20,000,000 rows with 24 more (empty) months before them, as three years of
    // history kept whole would have.
    c.batch_execute(
        "SELECT pool_ext._create_ledger_partition(m)
         FROM generate_series((SELECT min(starts_at) FROM pool_ext.ledger_partitions) - interval '24 months',
                              (SELECT min(starts_at) FROM pool_ext.ledger_partitions) - interval '1 month',
                              interval '1 month') AS m",
    )
    .unwrap();
    settle(&mut c);
    let months: i64 = c
        .query_one("SELECT count(*) FROM pool_ext.ledger_partitions", &[])
        .unwrap()
        .get(0);
    means.push(measure_lookups(&mut c, &workloads, pass));
    out(format!(
        "## 11. The ledger's lookups as it grows (mean ms per transaction; pgbench, 1 client, {PASSES} passes of {} s in turns, the median pass)\n",
        pass.as_secs()
    ));
    out("200 companies of 15 numbers, a day of recent traffic (200,000 rows) in every run; history older than 3 days added at 200,000 rows a day. Assignments roll back.\n".into());
    for n in &notes {
        out(format!("- {n}"));
    }
    out(String::new());
    out(format!(
        "| lookup | no history | {} rows | {} rows | {} rows, {months} partitions | ratio at {} | ratio at {} | ratio at {months} partitions |",
        sizes[1], sizes[2], sizes[2], sizes[1], sizes[2]
    ));
    out("|---|---|---|---|---|---|---|---|".into());
    for (i, (name, _)) in workloads.iter().enumerate() {
        out(format!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2}x | {:.2}x | {:.2}x |",
            means[0][i],
            means[1][i],
            means[2][i],
            means[3][i],
            means[1][i] / means[0][i],
            means[2][i] / means[0][i],
            means[3][i] / means[0][i]
        ));
    }
    out(String::new());
}

/// After a load: vacuumed and analyzed as autovacuum would leave it, and written out, so that
/// neither autovacuum nor a checkpoint of the load runs during the measurement.
fn settle(c: &mut Client) {
    c.batch_execute("VACUUM ANALYZE pool_ext.phone_number_ledger")
        .unwrap();
    analyze_as_autovacuum(c, &[]);
    c.batch_execute("CHECKPOINT").unwrap();
}

/// The six lookups of section 11 in turns, the median pass's mean ms of each.
fn measure_lookups(c: &mut Client, workloads: &[(&str, &str)], pass: Duration) -> Vec<f64> {
    let runs = in_turns(
        workloads.len(),
        |i| {
            vacuum_only(c, &[]);
            pgbench_stats(
                DB,
                &["-f", &script_file(&format!("ledger{i}"), workloads[i].1)],
                1,
                pass,
            )
        },
        |b| b.tps,
    );
    runs.iter().map(|b| b.mean).collect()
}

/// Ledger rows `from`+1..=`to` of the benchmark's history, written as the superuser: pairs
/// (assigned, released a minute later) at 200,000 rows a day counted back from `newest` (SQL),
/// each month's partition made first. Lead k = j % 200,000 + 1 calls from company k % 200.
fn history(c: &mut Client, from: i64, to: i64, newest: &str) {
    // Seconds between consecutive calls: 86,400 s / 100,000 calls.
    let step = "interval '864 milliseconds'";
    c.batch_execute(&format!(
        "SELECT pool_ext._create_ledger_partition(m)
         FROM (SELECT DISTINCT date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m
               FROM generate_series({newest} - ({to} / 2) * {step}, {newest}, interval '1 day') AS t
               UNION SELECT date_trunc('month', ({newest} - ({to} / 2) * {step}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS months
         WHERE NOT EXISTS (SELECT FROM pool_ext.ledger_partitions AS p WHERE p.starts_at = months.m)"
    ))
    .unwrap();
    c.batch_execute(&format!(
        "INSERT INTO pool_ext.phone_number_ledger
             (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
         SELECT e.event, 'Ledger ' || co || '-' || n, '+1' || (17000000000 + co * 15 + n),
                'Ledger ' || co, md5(k::text)::uuid,
                {newest} - j * {step} + e.after, e.event
         FROM generate_series({from} / 2 + 1, {to} / 2) AS j,
              LATERAL (SELECT j % 200000 + 1 AS k) AS lead,
              LATERAL (SELECT lead.k % 200 AS co, (j / 200000) % 15 AS n) AS number,
              (VALUES ('assigned', interval '0'), ('released', interval '1 minute')) AS e (event, after)"
    ))
    .unwrap();
}
