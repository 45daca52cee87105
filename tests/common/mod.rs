//! Shared harness for the multi-session tests: a private Postgres cluster (scripts/cluster.sh,
//! as the `postgres` user), a template database with the extension, and one fresh database
//! per test so tests running in parallel never see each other's rows.
#![allow(dead_code)]

use std::process::Command;
use std::sync::OnceLock;

use postgres::Client;

mod database;
// Used by tests/backup.rs only; each test file compiles this module on its own.
#[allow(unused_imports)]
pub use database::recreate;
pub use uuid::Uuid;

pub struct Cluster {
    host: String,
    port: u16,
    /// The directory of the cluster's Postgres programs (pg_dump must match the server).
    bindir: String,
    template: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The fault tests kill backends and crash their server, so they get a cluster of their own;
/// so do the ledger's, whose server runs on a fake clock (scripts/cluster.sh clock); every other
/// test binary shares the `test` cluster.
pub fn cluster_name() -> &'static str {
    match env!("CARGO_CRATE_NAME") {
        "faults" => "faults",
        "ledger" => "clock",
        _ => "test",
    }
}

/// Where the clock cluster's time begins when it starts (tests/ledger.rs crosses the end of
/// January under load); the other clusters ignore it.
pub const CLOCK_START: &str = "@2027-01-31 23:59:40";

/// Runs scripts/cluster.sh ACTION on this binary's cluster (start, stop, crash).
pub fn cluster_script(action: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh");
    let status = Command::new("bash")
        .args([script, action, cluster_name()])
        .env("POOL_EXT_FAKETIME", CLOCK_START)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "scripts/cluster.sh {action} {} failed",
        cluster_name()
    );
}

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh");
        if cluster_name() == "clock" {
            // A server left running would be past the fake clock's cue.
            cluster_script("stop");
        }
        cluster_script("start");
        let out = Command::new("bash")
            .args([script, "env", cluster_name()])
            .output()
            .unwrap();
        let env = String::from_utf8(out.stdout).unwrap();
        let value = |key: &str| {
            env.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("cluster.sh env printed no {key}"))
                .to_string()
        };
        let template = format!("it_template_{}", env!("CARGO_CRATE_NAME"));
        let cluster = Cluster {
            host: value("PGHOST"),
            port: value("PGPORT").parse().unwrap(),
            bindir: value("PGBINDIR"),
            template: template.clone(),
        };
        let mut admin = cluster.connect("postgres");
        let available = admin
            .query(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pool_ext'",
                &[],
            )
            .unwrap();
        assert!(
            !available.is_empty(),
            "pool_ext is not installed into the system Postgres: run scripts/test.sh \
             (or `cargo pgrx install`) first"
        );
        database::recreate(&mut admin, &template, None);
        let mut db = cluster.connect(&template);
        db.batch_execute("CREATE EXTENSION pool_ext").unwrap();
        drop(db);
        cluster
    })
}

impl Cluster {
    fn try_connect(&self, dbname: &str) -> Result<Client, postgres::Error> {
        database::try_connect(&self.host, self.port, dbname)
    }

    fn connect(&self, dbname: &str) -> Client {
        self.try_connect(dbname)
            .unwrap_or_else(|e| panic!("connect to {dbname}: {e}"))
    }
}

/// A database of its own for one test, with pool_ext installed.
pub struct TestDb {
    name: String,
}

impl TestDb {
    pub fn new(test: &str) -> TestDb {
        TestDb::exactly(&format!("it_{}_{test}", env!("CARGO_CRATE_NAME")))
    }

    /// A database of exactly this name (pg_cron works in one database only).
    pub fn exactly(name: &str) -> TestDb {
        let cluster = cluster();
        let name = name.to_string();
        let mut admin = cluster.connect("postgres");
        database::recreate(&mut admin, &name, Some(&cluster.template));
        // What the README tells operators to do, so the API can be called unqualified.
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET search_path = \"$user\", public, pool_ext"
            ))
            .unwrap();
        TestDb { name }
    }

    /// A new session (connection) to this test's database.
    pub fn session(&self) -> Client {
        cluster().connect(&self.name)
    }

    /// A new session, or the error (the server may be restarting).
    pub fn try_session(&self) -> Result<Client, postgres::Error> {
        cluster().try_connect(&self.name)
    }

    /// A new session, retrying for up to a minute while the server recovers from a crash.
    pub fn session_after_restart(&self) -> Client {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            match self.try_session() {
                Ok(c) => return c,
                Err(e) if std::time::Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("the server did not come back: {e}"),
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path of a Postgres program (pg_dump, pg_restore) of the cluster's major version.
    pub fn program(name: &str) -> String {
        format!("{}/{name}", cluster().bindir)
    }

    /// Socket directory and port, for command-line clients such as pg_dump.
    pub fn host_and_port() -> (String, u16) {
        let c = cluster();
        (c.host.clone(), c.port)
    }
}

/// Adds `n` active numbers to `company`: ids `<company>-<i>`, numbers +1<prefix><i>.
pub fn load_pool(db: &mut Client, company: &str, prefix: u32, n: i32) {
    db.execute(
        "INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
         SELECT $1 || '-' || i, '+1' || $2::text || lpad(i::text, 5, '0'), 'Line ' || i, $1
         FROM generate_series(1, $3) AS i",
        &[&company, &prefix.to_string(), &n],
    )
    .unwrap();
}

/// `assign_phone_number` as n8n calls it: unqualified, with query parameters.
pub fn assign(db: &mut Client, company: &str, lead: &Uuid) -> Result<String, postgres::Error> {
    db.query_one(
        "SELECT * FROM assign_phone_number($1, $2)",
        &[&company, lead],
    )
    .map(|row| row.get("vapi_phone_number_id"))
}

/// The SQLSTATE of a failed call.
pub fn sqlstate(e: &postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// A deterministic lead id: `lead(7, 3)` = 00000007-0000-0000-0000-000000000003.
pub fn lead(group: u32, n: u32) -> Uuid {
    Uuid::from_u64_pair(u64::from(group) << 32, u64::from(n))
}

pub fn count(db: &mut Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).unwrap().get(0)
}

/// The invariants that must hold whatever happened: read from the ledger's history, not only
/// from the final state.
pub fn assert_pool_invariants(db: &mut Client) {
    // Per number, ledger events alternate assigned, released, assigned, ... starting with
    // assigned: no number was ever held by two leads at once.
    let overlaps = count(
        db,
        "SELECT count(*) FROM (
             SELECT event, lag(event) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS previous
             FROM phone_number_ledger WHERE event IN ('assigned', 'released')) AS history
         WHERE event = previous OR (previous IS NULL AND event <> 'assigned')",
    );
    assert_eq!(
        overlaps, 0,
        "a number was assigned twice without a release in between"
    );
    // Each release names the lead the preceding assignment named.
    let mismatched = count(
        db,
        "SELECT count(*) FROM (
             SELECT event, lead_id, lag(lead_id) OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS holder
             FROM phone_number_ledger WHERE event IN ('assigned', 'released')) AS history
         WHERE event = 'released' AND lead_id <> holder",
    );
    assert_eq!(
        mismatched, 0,
        "a release named another lead than the holder"
    );
    // The final state agrees with the ledger: a number is held exactly when its last event is
    // an assignment, and by that assignment's lead.
    let disagreeing = count(
        db,
        "SELECT count(*) FROM signalwire_phone_numbers AS pool
         LEFT JOIN LATERAL (
             SELECT event, lead_id FROM phone_number_ledger AS l
             WHERE l.vapi_phone_number_id = pool.vapi_phone_number_id
               AND l.event IN ('assigned', 'released')
             ORDER BY id DESC LIMIT 1
         ) AS last ON true
         WHERE (pool.assignment_status = 'assigned')
               IS DISTINCT FROM (last.event IS NOT DISTINCT FROM 'assigned')
            OR (pool.assignment_status = 'assigned' AND pool.currently_assigned_to <> last.lead_id)",
    );
    assert_eq!(disagreeing, 0, "pool state and ledger disagree");
    let double_holders = count(
        db,
        "SELECT count(*) FROM (
             SELECT currently_assigned_to FROM signalwire_phone_numbers
             WHERE currently_assigned_to IS NOT NULL
             GROUP BY currently_assigned_to, coalesce(lead_company, assigned_broker_company)
             HAVING count(*) > 1) AS d",
    );
    assert_eq!(double_holders, 0, "a lead holds two numbers of one company");
    // Every hold is its lead's previous number from now on (lead_numbers, by the lead's
    // company): a returning lead gets it back once it is released.
    let unremembered = count(
        db,
        "SELECT count(*) FROM signalwire_phone_numbers AS p
         LEFT JOIN lead_numbers AS n
           ON n.company = coalesce(p.lead_company, p.assigned_broker_company)
          AND n.lead_id = p.currently_assigned_to
         WHERE p.currently_assigned_to IS NOT NULL
           AND n.vapi_phone_number_id IS DISTINCT FROM p.vapi_phone_number_id",
    );
    assert_eq!(
        unremembered, 0,
        "a hold is not its lead's entry in lead_numbers"
    );
}

/// The error of a call that must fail, checked for its SQLSTATE.
pub fn expect_error<T: std::fmt::Debug>(
    result: Result<T, postgres::Error>,
    sqlstate: &str,
) -> postgres::error::DbError {
    let err = result.expect_err("the call should have failed");
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("not a database error: {err:?}"))
        .clone();
    assert_eq!(
        db.code().code(),
        sqlstate,
        "{}: {:?}",
        db.message(),
        db.hint()
    );
    db
}

/// Everything a failed call must leave unchanged: pool rows, ledger, policies, CRM registration,
/// low-water alert state.
pub fn snapshot(db: &mut Client) -> String {
    db.query_one(
        "SELECT concat_ws(' / ',
             (SELECT md5(coalesce(string_agg(p::text, '|' ORDER BY p.vapi_phone_number_id), '')) FROM signalwire_phone_numbers p),
             (SELECT count(*)::text || ':' || coalesce(max(id), 0)::text FROM phone_number_ledger),
             (SELECT md5(coalesce(string_agg(c::text, '|' ORDER BY c.company), '')) FROM company_policies c),
             (SELECT count(*)::text FROM crm_tables),
             (SELECT md5(coalesce(string_agg(a.company, '|' ORDER BY a.company), '')) FROM pool_alert_state a))",
        &[],
    )
    .unwrap()
    .get(0)
}

/// No number was held by two leads at once, judged by time: per number, each hold (from its
/// `assigned` row to the `released` row after it) ends before the next one begins. Holds
/// still running end at infinity. Valid for callers in autocommit mode, where each call's
/// now() is after the commits it saw.
pub fn assert_holds_never_overlap_in_time(db: &mut Client) {
    let overlapping = count(
        db,
        "WITH events AS (
             SELECT vapi_phone_number_id, event, occurred_at,
                    lead(event) OVER w AS next_event, lead(occurred_at) OVER w AS next_at
             FROM phone_number_ledger WHERE event IN ('assigned', 'released')
             WINDOW w AS (PARTITION BY vapi_phone_number_id ORDER BY id)
         ), holds AS (
             SELECT vapi_phone_number_id, occurred_at AS held_from,
                    CASE WHEN next_event = 'released' THEN next_at ELSE 'infinity' END AS held_until
             FROM events WHERE event = 'assigned'
         )
         SELECT count(*) FROM holds a JOIN holds b USING (vapi_phone_number_id)
         WHERE a.held_from < b.held_from AND b.held_from < a.held_until",
    );
    assert_eq!(overlapping, 0, "two holds of one number overlap in time");
}

/// A hold as a client sees it and as the ledger records it: (number id, lead, assigned_at).
pub type Hold = (String, Uuid, String);

/// Every hold the ledger records, to reconcile with the holds clients saw.
pub fn ledger_holds(db: &mut Client) -> std::collections::HashSet<Hold> {
    db.query(
        "SELECT vapi_phone_number_id, lead_id, occurred_at::text FROM phone_number_ledger
         WHERE event = 'assigned'",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

/// Numbers with chosen area codes, least recently used in the order given (the first was
/// assigned longest ago), all free: the plain least-recently-used order is known.
pub fn load_numbers(s: &mut Client, company: &str, numbers: &[(&str, &str)]) {
    for (i, (id, number)) in numbers.iter().enumerate() {
        s.execute(
            "INSERT INTO signalwire_phone_numbers
                 (vapi_phone_number_id, number, name, assigned_broker_company, assigned_at)
             VALUES ($1, $2, 'Line', $3, now() - interval '30 days' + $4 * interval '1 hour')",
            &[id, number, &company, &(i as f64)],
        )
        .unwrap();
    }
}

/// A small xorshift generator: reproducible per session, no extra crate.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
