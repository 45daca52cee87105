//! Data safety: `pg_dump` of a database with a live pool, restored with `pg_restore` into a
//! fresh database, keeps every row, hold, policy, CRM registration and the ledger's sequence
//! position, and assignment goes on there without a key collision. And `DROP EXTENSION`
//! really does drop the pool, as the README warns.

mod common;

use std::process::Command;

use common::*;
use postgres::Client;

/// Every row of the extension's tables and the CRM tables, as one comparable text.
fn contents(s: &mut Client) -> Vec<String> {
    [
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.vapi_phone_number_id) FROM pool_ext.signalwire_phone_numbers t",
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM pool_ext.phone_number_ledger t",
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.company) FROM pool_ext.company_policies t",
        "SELECT string_agg(t::text, E'\\n') FROM pool_ext.crm_tables t",
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM public.leads t",
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM public.interactions t",
        "SELECT last_value::text || ' ' || is_called::text FROM pool_ext.phone_number_ledger_id_seq",
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.company) FROM pool_ext.pool_health t",
        // The ledger's months: names, bounds, and which month holds each row.
        "SELECT string_agg(t.partition || ' ' || coalesce(t.starts_at::text, 'default'), E'\\n' ORDER BY t.partition) FROM pool_ext.ledger_partitions t",
        "SELECT string_agg(t.tableoid::regclass::text || ' ' || t.id, E'\\n' ORDER BY t.id) FROM pool_ext.phone_number_ledger t",
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM pool_ext.ledger_maintenance_log t",
        "SELECT string_agg(t::text, E'\\n') FROM pool_ext.ledger_settings t",
        // Each lead's previous number, which a returning lead gets back after the restore.
        "SELECT string_agg(t::text, E'\\n' ORDER BY t.company, t.lead_id) FROM pool_ext.lead_numbers t",
    ]
    .iter()
    .map(|sql| {
        s.query_one(*sql, &[])
            .unwrap()
            .get::<_, Option<String>>(0)
            .unwrap_or_default()
    })
    .collect()
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pg_dump_and_restore_keep_the_live_pool_and_assignment_goes_on() {
    let db = TestDb::new("backup_source");
    let mut s = db.session();
    s.batch_execute(
        "CREATE TABLE public.leads (id uuid PRIMARY KEY, assigned_phone_number_id text, phone_assigned_at timestamptz);
         CREATE TABLE public.interactions (id bigserial PRIMARY KEY, lead_id uuid, type text, metadata jsonb, created_at timestamptz);
         SELECT register_crm_tables('public.leads', 'public.interactions');",
    )
    .unwrap();
    load_pool(&mut s, "Backup Realty", 6500, 6);
    load_pool(&mut s, "Backup Brokers", 6501, 3);
    s.query(
        "SELECT * FROM set_company_policy('Backup Realty', retention => '12 hours', time_zone => 'America/Chicago')",
        &[],
    )
    .unwrap();
    for n in 0..8 {
        let lead = lead(40, n);
        s.execute("INSERT INTO public.leads (id) VALUES ($1)", &[&lead])
            .unwrap();
        let company = if n % 3 == 0 {
            "Backup Brokers"
        } else {
            "Backup Realty"
        };
        assign(&mut s, company, &lead).unwrap();
    }
    s.query(
        "SELECT * FROM record_call_outcome($1, 'booked', now() + interval '2 days')",
        &[&lead(40, 1)],
    )
    .unwrap();
    s.query(
        "SELECT * FROM record_call_outcome($1, 'do_not_call')",
        &[&lead(40, 2)],
    )
    .unwrap();
    s.query("SELECT retire_phone_number('Backup Realty-6')", &[])
        .unwrap();
    // The ledger's months: an old one from history written as the superuser, this month's
    // (its rows moved in from the default partition) and the two ahead; then one more row in
    // the default partition, of a month retention has not made, and a retention setting.
    s.batch_execute(
        "INSERT INTO pool_ext.phone_number_ledger
             (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
         VALUES ('assigned', 'Backup History-1', '+1650009901', 'Backup Realty',
                 '00000028-0000-0000-0000-0000000000ff', '2025-03-05 10:00+00', 'assign');
         SELECT count(*) FROM pool_ext.maintain_ledger();
         INSERT INTO pool_ext.phone_number_ledger
             (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
         VALUES ('released', 'Backup History-1', '+1650009901', 'Backup Realty',
                 '00000028-0000-0000-0000-0000000000ff', '2025-04-05 10:00+00', 'manual');
         SELECT pool_ext.set_ledger_retention(120);",
    )
    .unwrap();
    let before = contents(&mut s);
    assert!(
        before[8].lines().count() >= 5,
        "the default partition and four months: {}",
        before[8]
    );
    assert!(before[1].lines().count() >= 10, "a ledger worth keeping");

    let (host, port) = TestDb::host_and_port();
    let port = port.to_string();
    let file = std::env::temp_dir().join("pool_ext_backup_test.dump");
    let file = file.to_str().unwrap();
    run(
        &TestDb::program("pg_dump"),
        &[
            "-h",
            &host,
            "-p",
            &port,
            "-U",
            "postgres",
            "-Fc",
            "-d",
            db.name(),
            "-f",
            file,
        ],
    );

    // A fresh, empty database: pg_restore creates the extension and loads its tables.
    let target = "it_backup_restored";
    let mut admin = db.session();
    recreate(&mut admin, target, Some("template0"));
    run(
        &TestDb::program("pg_restore"),
        &[
            "-h",
            &host,
            "-p",
            &port,
            "-U",
            "postgres",
            "--exit-on-error",
            "-d",
            target,
            file,
        ],
    );
    let mut r = postgres::Config::new()
        .host(&host)
        .port(port.parse().unwrap())
        .user("postgres")
        .dbname(target)
        .connect(postgres::NoTls)
        .unwrap();
    r.batch_execute("SET search_path = \"$user\", public, pool_ext")
        .unwrap();
    assert_eq!(contents(&mut r), before, "the restored database differs");
    assert_pool_invariants(&mut r);

    // Assignment, outcomes and release go on: new ledger ids follow the old ones, the CRM
    // registration points at the restored tables, and the sticky hold is still there.
    let max_id = count(&mut r, "SELECT max(id) FROM phone_number_ledger");
    let held_before: String = r
        .query_one(
            "SELECT vapi_phone_number_id FROM signalwire_phone_numbers WHERE currently_assigned_to = $1",
            &[&lead(40, 0)],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        assign(&mut r, "Backup Brokers", &lead(40, 0)).unwrap(),
        held_before
    );
    let newcomer = lead(40, 50);
    r.execute("INSERT INTO public.leads (id) VALUES ($1)", &[&newcomer])
        .unwrap();
    assign(&mut r, "Backup Realty", &newcomer).unwrap();
    assert_eq!(
        count(
            &mut r,
            &format!(
                "SELECT count(*) FILTER (WHERE event = 'assigned') * 10
                        + count(*) FILTER (WHERE event = 'renewed')
                 FROM phone_number_ledger WHERE id > {max_id}"
            )
        ),
        11,
        "after the restore: the newcomer's assignment and the returning lead's renewal"
    );
    assert_eq!(
        count(
            &mut r,
            &format!("SELECT count(*) FROM public.leads WHERE id = '{newcomer}' AND assigned_phone_number_id IS NOT NULL")
        ),
        1
    );
    r.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() WHERE assignment_status = 'assigned'",
        &[],
    )
    .unwrap();
    assert!(count(&mut r, "SELECT release_expired_phone_numbers()") >= 6);
    assert_pool_invariants(&mut r);
    drop(r);
    admin
        .batch_execute(&format!("DROP DATABASE {target} WITH (FORCE)"))
        .unwrap();
    let _ = std::fs::remove_file(file);
}

#[test]
fn drop_extension_drops_the_pool_and_the_ledger() {
    let db = TestDb::new("drop_extension");
    let mut s = db.session();
    load_pool(&mut s, "Dropped Realty", 6502, 2);
    assign(&mut s, "Dropped Realty", &lead(41, 1)).unwrap();
    s.batch_execute("DROP EXTENSION pool_ext").unwrap();
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pg_class WHERE relname IN ('signalwire_phone_numbers', 'phone_number_ledger')"
        ),
        0
    );
    // Postgres keeps the schema CREATE EXTENSION made for it, empty (the README says so).
    assert_eq!(
        count(
            &mut s,
            "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'pool_ext'::regnamespace)
                  + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'pool_ext'::regnamespace)"
        ),
        0
    );
}
