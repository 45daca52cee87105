//! Tracking in the operator's CRM tables, and the monitoring views.

mod common;

use common::*;
use postgres::Client;

fn crm_tables(s: &mut Client) {
    s.batch_execute(
        "CREATE TABLE leads (
             id uuid PRIMARY KEY, email text,
             assigned_phone_number_id text, phone_assigned_at timestamptz);
         CREATE TABLE interactions (
             id bigserial PRIMARY KEY, lead_id uuid NOT NULL REFERENCES leads (id),
             type text NOT NULL, metadata jsonb, created_at timestamptz NOT NULL DEFAULT now());",
    )
    .unwrap();
}

#[test]
fn a_registered_crm_sees_each_new_assignment_in_the_same_transaction() {
    let db = TestDb::new("crm");
    let mut s = db.session();
    crm_tables(&mut s);
    load_pool(&mut s, "Crm Co", 3200, 2);
    let message: String = s
        .query_one("SELECT register_crm_tables('leads', 'interactions')", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        message,
        "assign_phone_number now also updates public.leads and inserts into public.interactions"
    );
    let buyer = lead(30, 1);
    s.execute(
        "INSERT INTO leads (id, email) VALUES ($1, 'buyer@example.com')",
        &[&buyer],
    )
    .unwrap();

    let row = s
        .query_one(
            "SELECT * FROM assign_phone_number($1, $2, customer_phone => '+17735550123')",
            &[&"Crm Co", &buyer],
        )
        .unwrap();
    let id: String = row.get("vapi_phone_number_id");
    let number: String = row.get("number");
    let lead_row = s
        .query_one("SELECT assigned_phone_number_id, phone_assigned_at IS NOT NULL FROM leads WHERE id = $1", &[&buyer])
        .unwrap();
    assert_eq!(lead_row.get::<_, String>(0), id);
    assert!(lead_row.get::<_, bool>(1));
    let meta: String = s
        .query_one(
            "SELECT metadata::text FROM interactions WHERE lead_id = $1 AND type = 'phone_number_assigned'",
            &[&buyer],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        meta,
        format!(
            r#"{{"broker_company": "Crm Co", "customer_phone": "+17735550123", "assigned_phone_number": "{number}", "assigned_phone_number_id": "{id}"}}"#
        )
    );
    // A repeat call returns the hold and writes nothing new.
    assign(&mut s, "Crm Co", &buyer).unwrap();
    assert_eq!(count(&mut s, "SELECT count(*) FROM interactions"), 1);

    // A rolled-back assignment leaves no trace in the CRM either.
    let second = lead(30, 2);
    s.execute("INSERT INTO leads (id) VALUES ($1)", &[&second])
        .unwrap();
    s.batch_execute("BEGIN").unwrap();
    assign(&mut s, "Crm Co", &second).unwrap();
    s.batch_execute("ROLLBACK").unwrap();
    assert_eq!(count(&mut s, "SELECT count(*) FROM interactions"), 1);
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM leads WHERE assigned_phone_number_id IS NOT NULL"
        ),
        1
    );

    // A lead the CRM does not know is refused, and nothing is held.
    let before = snapshot(&mut s);
    let e = expect_error(assign(&mut s, "Crm Co", &lead(30, 99)), "23503");
    assert_eq!(
        e.message(),
        format!("Lead {} is not in public.leads", lead(30, 99))
    );
    assert_eq!(snapshot(&mut s), before);

    assert!(s
        .query_one("SELECT unregister_crm_tables()", &[])
        .unwrap()
        .get::<_, bool>(0));
    assign(&mut s, "Crm Co", &lead(30, 99)).unwrap();
    assert_eq!(
        count(&mut s, "SELECT count(*) FROM interactions"),
        1,
        "no tracking after unregistering"
    );
}

/// The CRM's rows are written by the claim's own statement (sql/statements/crm_track.sql): a
/// unique violation of a CRM table's constraint is raised as Postgres reported it, not taken
/// for the pool's one-hold-per-lead index (whose violation means "retry").
#[test]
fn a_crm_tables_own_constraint_is_reported_as_it_is_and_nothing_is_held() {
    let db = TestDb::new("crm_unique");
    let mut s = db.session();
    crm_tables(&mut s);
    s.batch_execute(
        "CREATE UNIQUE INDEX interactions_one_per_lead ON interactions (lead_id, type)",
    )
    .unwrap();
    load_pool(&mut s, "Crm Unique Co", 3300, 2);
    s.batch_execute("SELECT register_crm_tables('leads', 'interactions')")
        .unwrap();
    let buyer = lead(31, 1);
    s.execute("INSERT INTO leads (id) VALUES ($1)", &[&buyer])
        .unwrap();
    let id = assign(&mut s, "Crm Unique Co", &buyer).unwrap();
    s.execute("SELECT force_release_phone_number($1, 'test')", &[&id])
        .unwrap();

    // A second assignment of the same lead needs a second interaction row, which the
    // operator's index refuses.
    let before = snapshot(&mut s);
    let e = expect_error(assign(&mut s, "Crm Unique Co", &buyer), "23505");
    assert!(
        e.message().contains("\"interactions_one_per_lead\""),
        "{}",
        e.message()
    );
    assert_eq!(snapshot(&mut s), before);
    assert_eq!(count(&mut s, "SELECT count(*) FROM interactions"), 1);
}

#[test]
fn registration_names_exactly_what_a_table_lacks() {
    let db = TestDb::new("crm_check");
    let mut s = db.session();
    s.batch_execute(
        "CREATE TABLE leads (id integer PRIMARY KEY, assigned_phone_number_id varchar(64));
         CREATE TABLE interactions (lead_id uuid, type text, metadata json, created_at timestamp);
         CREATE TABLE good_leads (id uuid, assigned_phone_number_id varchar(64), phone_assigned_at timestamp);",
    )
    .unwrap();
    let before = snapshot(&mut s);
    let e = expect_error(
        s.query_one("SELECT register_crm_tables('leads', 'interactions')", &[]),
        "42703",
    );
    assert_eq!(
        e.message(),
        "Table public.leads does not fit: column id must be uuid, not integer; \
         missing column phone_assigned_at (timestamp with time zone or timestamp without time zone)"
    );
    let e = expect_error(
        s.query_one(
            "SELECT register_crm_tables('good_leads', 'interactions')",
            &[],
        ),
        "42703",
    );
    assert_eq!(
        e.message(),
        "Table public.interactions does not fit: column metadata must be jsonb, not json"
    );
    expect_error(
        s.query_one(
            "SELECT register_crm_tables('no_such_table', 'interactions')",
            &[],
        ),
        "42P01",
    );
    expect_error(
        s.query_one("SELECT register_crm_tables(NULL, 'interactions')", &[]),
        "22004",
    );
    assert_eq!(snapshot(&mut s), before);
}

#[test]
fn monitoring_views_answer_the_on_call_questions() {
    let db = TestDb::new("monitoring");
    let mut s = db.session();
    load_pool(&mut s, "Watch Co", 3201, 4);
    let a = assign(&mut s, "Watch Co", &lead(31, 1)).unwrap();
    assign(&mut s, "Watch Co", &lead(31, 2)).unwrap();
    let retired = assign(&mut s, "Watch Co", &lead(31, 3)).unwrap();
    s.query_one("SELECT force_release_phone_number($1)", &[&retired])
        .unwrap();
    s.query_one("SELECT retire_phone_number($1)", &[&retired])
        .unwrap();
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() - interval '5 minutes' WHERE vapi_phone_number_id = $1",
        &[&a],
    )
    .unwrap();

    let health = s
        .query_one("SELECT available, assigned, inactive, total, utilization_pct::text, overdue FROM pool_health WHERE company = 'Watch Co'", &[])
        .unwrap();
    let health: (i64, i64, i64, i64, String, i64) = (
        health.get(0),
        health.get(1),
        health.get(2),
        health.get(3),
        health.get(4),
        health.get(5),
    );
    assert_eq!(health, (1, 2, 1, 4, "66.7".to_string(), 1));
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM recent_assignments WHERE company = 'Watch Co'"
        ),
        3
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM recent_assignments WHERE still_held"
        ),
        2
    );
    let overdue: String = s
        .query_one(
            "SELECT string_agg(vapi_phone_number_id, ',') FROM overdue_holds",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(overdue, a);
    assert_eq!(count(&mut s, "SELECT count(*) FROM double_assignments"), 0);
}

#[test]
fn who_held_a_number_at_a_time_reaches_the_last_lead_after_release() {
    let db = TestDb::new("who_held");
    let mut s = db.session();
    load_pool(&mut s, "Callback Co", 3202, 1);
    let first = lead(32, 1);
    assign(&mut s, "Callback Co", &first).unwrap();
    let number: String = s
        .query_one("SELECT number FROM signalwire_phone_numbers", &[])
        .unwrap()
        .get(0);
    let during: String = s
        .query_one("SELECT clock_timestamp()::text", &[])
        .unwrap()
        .get(0);

    let who = |s: &mut Client, at: &str| -> (Uuid, String, bool) {
        let r = s
            .query_one("SELECT lead_id, company, held_at_time FROM who_held_number($1, $2::text::timestamptz)", &[&number, &at])
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(who(&mut s, &during), (first, "Callback Co".into(), true));
    s.query_one("SELECT record_call_outcome($1, 'do_not_call')", &[&first])
        .unwrap();
    let after: String = s
        .query_one("SELECT clock_timestamp()::text", &[])
        .unwrap()
        .get(0);
    // Released, but a callback still reaches the lead that number last called for.
    assert_eq!(who(&mut s, &after), (first, "Callback Co".into(), false));

    let second = lead(32, 2);
    assign(&mut s, "Callback Co", &second).unwrap();
    let later: String = s
        .query_one("SELECT clock_timestamp()::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(who(&mut s, &later).0, second);
    assert_eq!(who(&mut s, &during).0, first, "history is kept");
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM who_held_number('+19999999999')"
        ),
        0
    );
}

#[test]
fn crm_tables_must_stay_superuser_owned_and_present_or_assignment_stops_clearly() {
    let db = TestDb::new("crm_owner");
    let mut s = db.session();
    crm_tables(&mut s);
    load_pool(&mut s, "Owner Realty", 6800, 3);
    s.batch_execute("DROP ROLE IF EXISTS pe_crm_owner; CREATE ROLE pe_crm_owner NOLOGIN")
        .unwrap();

    // A table owned by a non-superuser is refused at registration: its owner could add a
    // trigger that pool_ext would then run with superuser rights.
    s.batch_execute("ALTER TABLE interactions OWNER TO pe_crm_owner")
        .unwrap();
    let before = snapshot(&mut s);
    let e = expect_error(
        s.query_one("SELECT register_crm_tables('leads', 'interactions')", &[]),
        "42501",
    );
    assert!(
        e.message().contains("owned by pe_crm_owner"),
        "{}",
        e.message()
    );
    assert_eq!(snapshot(&mut s), before);

    // Registered while superuser-owned, then handed to another owner: assignments stop with
    // the same error instead of running that owner's code as a superuser, and hold nothing.
    s.batch_execute("ALTER TABLE interactions OWNER TO postgres")
        .unwrap();
    s.query_one("SELECT register_crm_tables('leads', 'interactions')", &[])
        .unwrap();
    let lead = lead(80, 1);
    s.execute("INSERT INTO leads (id) VALUES ($1)", &[&lead])
        .unwrap();
    s.batch_execute("ALTER TABLE leads OWNER TO pe_crm_owner")
        .unwrap();
    let before = snapshot(&mut s);
    expect_error(assign(&mut s, "Owner Realty", &lead), "42501");
    assert_eq!(snapshot(&mut s), before);

    // A registered table that was dropped: a clear 42P01 with what to do, nothing held.
    s.batch_execute("ALTER TABLE leads OWNER TO postgres; DROP TABLE interactions")
        .unwrap();
    let e = expect_error(assign(&mut s, "Owner Realty", &lead), "42P01");
    assert!(
        e.hint().unwrap_or_default().contains("register_crm_tables"),
        "{:?}",
        e.hint()
    );
    assert_eq!(snapshot(&mut s), before);
    s.query_one("SELECT unregister_crm_tables()", &[]).unwrap();
    assign(&mut s, "Owner Realty", &lead).unwrap();
    s.batch_execute("DROP TABLE leads; DROP ROLE pe_crm_owner")
        .unwrap();
}
