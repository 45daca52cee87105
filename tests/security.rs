//! Who can do what, and what hostile objects and values cannot do: a pinned search_path, no
//! EXECUTE for PUBLIC, callers that cannot touch the tables, Supabase-style roles that see
//! nothing, and values full of quotes and SQL that are stored and matched literally.

mod common;

use common::*;
use postgres::Client;

/// A role of this test's own (roles are cluster-wide), created afresh.
fn fresh_role(s: &mut Client, role: &str) {
    s.batch_execute(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} NOLOGIN"
    ))
    .unwrap();
}

/// Runs `sql` as `role` (SET ROLE, so privileges and row level security are the role's).
fn as_role<T>(s: &mut Client, role: &str, f: impl FnOnce(&mut Client) -> T) -> T {
    s.batch_execute(&format!("SET ROLE {role}")).unwrap();
    let result = f(s);
    s.batch_execute("RESET ROLE").unwrap();
    result
}

#[test]
fn hostile_objects_in_public_and_pg_temp_are_never_picked_up() {
    let db = TestDb::new("hostile_search_path");
    let mut s = db.session();
    load_pool(&mut s, "Shadow Realty", 4155, 3);
    // Look-alikes of everything the API uses, where a caller's search_path would find them
    // first: tables, operators and functions that log every call to a tripwire table.
    s.batch_execute(
        "CREATE TABLE public.tripwire (what text);
         CREATE FUNCTION public.trip(a text, b text) RETURNS boolean LANGUAGE sql AS
             $$ INSERT INTO public.tripwire VALUES ('text ='); SELECT true $$;
         CREATE FUNCTION public.trip(a uuid, b uuid) RETURNS boolean LANGUAGE sql AS
             $$ INSERT INTO public.tripwire VALUES ('uuid ='); SELECT true $$;
         CREATE FUNCTION public.trip(a timestamptz, b timestamptz) RETURNS boolean LANGUAGE sql AS
             $$ INSERT INTO public.tripwire VALUES ('timestamptz <='); SELECT true $$;
         CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.trip);
         CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.trip);
         CREATE OPERATOR public.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.trip);
         CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS
             $$ INSERT INTO public.tripwire VALUES ('now'); SELECT timestamptz '2000-01-01' $$;
         CREATE FUNCTION public.btrim(text) RETURNS text LANGUAGE sql AS
             $$ INSERT INTO public.tripwire VALUES ('btrim'); SELECT 'x' $$;
         CREATE TABLE public.signalwire_phone_numbers (LIKE pool_ext.signalwire_phone_numbers);
         CREATE TABLE public.phone_number_ledger (LIKE pool_ext.phone_number_ledger);
         CREATE TABLE public.company_policies (LIKE pool_ext.company_policies);
         CREATE TEMP TABLE signalwire_phone_numbers (LIKE pool_ext.signalwire_phone_numbers);
         CREATE TEMP TABLE phone_number_ledger (LIKE pool_ext.phone_number_ledger);
         SET search_path = pg_temp, public, pool_ext, pg_catalog;",
    )
    .unwrap();
    let lead = lead(1, 1);
    let number = assign(&mut s, "Shadow Realty", &lead).unwrap();
    s.query(
        "SELECT * FROM record_call_outcome($1, 'no_answer')",
        &[&lead],
    )
    .unwrap();
    s.query(
        "SELECT * FROM set_company_policy('Shadow Realty', time_zone => 'Europe/Berlin')",
        &[],
    )
    .unwrap();
    s.query(
        "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"Shadow Realty-9\",
            \"number\": \"+14155550999\", \"name\": \"x\", \"broker_company\": \"Shadow Realty\"}]')",
        &[],
    )
    .unwrap();
    s.query("SELECT release_expired_phone_numbers()", &[])
        .unwrap();
    s.query("SELECT force_release_phone_number($1)", &[&number])
        .unwrap();
    s.query("SELECT * FROM who_held_number('+1415500001')", &[])
        .unwrap();
    s.query("SELECT * FROM pool_ext.pool_health", &[]).unwrap();

    assert_eq!(
        count(&mut s, "SELECT count(*) FROM public.tripwire"),
        0,
        "a public operator or function ran inside the API"
    );
    for shadow in [
        "public.signalwire_phone_numbers",
        "public.phone_number_ledger",
        "public.company_policies",
        "pg_temp.signalwire_phone_numbers",
        "pg_temp.phone_number_ledger",
    ] {
        assert_eq!(
            count(&mut s, &format!("SELECT count(*) FROM {shadow}")),
            0,
            "{shadow} was written"
        );
    }
    // The real tables got it all: assigned, outcome, released (forced), plus the import.
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pool_ext.phone_number_ledger WHERE event IN ('assigned', 'outcome', 'released')"
        ),
        3
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pool_ext.signalwire_phone_numbers WHERE assigned_broker_company = 'Shadow Realty'"
        ),
        4
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pool_ext.company_policies WHERE time_zone = 'Europe/Berlin'"
        ),
        1
    );
}

#[test]
fn every_routine_pins_its_search_path_or_qualifies_every_name() {
    let db = TestDb::new("pinned_routines");
    let mut s = db.session();
    // Routines without a pinned search_path: the three inlinable SQL helpers (a SET clause
    // would stop inlining) and the batched release procedure (a SET clause would forbid its
    // COMMIT). Each qualifies every operator, function and table it uses.
    let unpinned: Vec<(String, String)> = s
        .query(
            "SELECT proname::text, prosrc FROM pg_proc
             WHERE pronamespace = 'pool_ext'::regnamespace
               AND NOT coalesce(proconfig::text[] && ARRAY[
                   'search_path=pg_catalog, pool_ext, pg_temp', 'search_path=pg_catalog, pg_temp'], false)
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: Vec<&str> = unpinned.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "_local_day_end",
            "_low_water_mark",
            "_number_state",
            "company_policy",
            "release_expired_phone_numbers_in_batches"
        ]
    );
    for (name, body) in &unpinned {
        for bare in [
            " < ",
            " > ",
            " >= ",
            " + ",
            " * ",
            " ceil(",
            " = $",
            " date_trunc(",
            " company_policies",
            " release_expired_phone_numbers(",
        ] {
            assert!(!body.contains(bare), "unqualified {bare:?} in {name}");
        }
    }
    // Nothing in the schema is executable by PUBLIC but the low-water mark and a number's
    // state: arithmetic on their arguments, which the views pool_alerts and number_states call
    // with their readers' rights.
    let public: Vec<String> = s
        .query(
            "SELECT p.proname::text
             FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             WHERE p.pronamespace = 'pool_ext'::regnamespace AND a.grantee = 0
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(public, ["_low_water_mark", "_number_state"]);
}

#[test]
fn callers_get_execute_only_and_cannot_touch_the_tables() {
    let db = TestDb::new("caller_role");
    let mut s = db.session();
    load_pool(&mut s, "Caller Realty", 4156, 3);
    fresh_role(&mut s, "pe_sec_n8n");
    fresh_role(&mut s, "pe_sec_monitor");
    let holder = lead(2, 1);

    // Before any grant: nothing at all.
    let denied = as_role(&mut s, "pe_sec_n8n", |s| {
        s.batch_execute(&format!(
            "SELECT * FROM pool_ext.assign_phone_number('Caller Realty', '{holder}')"
        ))
    });
    expect_error(denied, "42501");

    let granted: Vec<String> = s
        .query("SELECT grant_pool_access('pe_sec_n8n')", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(granted.len(), 6, "{granted:?}");
    s.query("SELECT grant_pool_access('pe_sec_monitor', 'monitor')", &[])
        .unwrap();

    as_role(&mut s, "pe_sec_n8n", |s| {
        assign(s, "Caller Realty", &holder).unwrap();
        s.query(
            "SELECT * FROM record_call_outcome($1, 'no_answer')",
            &[&holder],
        )
        .unwrap();
        s.query("SELECT release_expired_phone_numbers()", &[])
            .unwrap();
        for sql in [
            "SELECT count(*) FROM pool_ext.signalwire_phone_numbers",
            "SELECT count(*) FROM pool_ext.phone_number_ledger",
            "UPDATE pool_ext.signalwire_phone_numbers SET currently_assigned_to = NULL",
            "INSERT INTO pool_ext.phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, reason)
             VALUES ('released', 'x', '+1', 'x', gen_random_uuid(), 'forged')",
            "SELECT * FROM pool_ext.import_phone_numbers('[]')",
            "SELECT pool_ext.force_release_phone_number('Caller Realty-1')",
            "SELECT * FROM pool_ext.set_company_policy('Caller Realty', '1 hour')",
            "SELECT * FROM pool_ext.pool_health",
            "SELECT * FROM pool_ext.set_pool_rules('Caller Realty', daily_cap => 1)",
            "SELECT * FROM pool_ext.pool_activity()",
            "SELECT * FROM pool_ext.pool_alert_state",
            "SELECT * FROM pool_ext.lead_numbers",
            "SELECT pool_ext.grant_pool_access('pe_sec_n8n', 'operator')",
        ] {
            expect_error(s.batch_execute(sql), "42501");
        }
    });

    as_role(&mut s, "pe_sec_monitor", |s| {
        let health = s
            .query_one(
                "SELECT assigned FROM pool_health WHERE company = 'Caller Realty'",
                &[],
            )
            .unwrap();
        assert_eq!(health.get::<_, i64>(0), 1);
        s.query("SELECT * FROM who_held_number('+1415600001')", &[])
            .unwrap();
        for sql in [
            "SELECT * FROM pool_ext.number_states",
            "SELECT * FROM pool_ext.pool_alerts",
            "SELECT * FROM pool_ext.pool_activity()",
            "SELECT * FROM pool_ext.pool_runway()",
        ] {
            s.batch_execute(sql).unwrap();
        }
        expect_error(assign(s, "Caller Realty", &lead(2, 2)), "42501");
        expect_error(
            s.batch_execute("SELECT pool_ext.check_pool_alerts()"),
            "42501",
        );
        expect_error(
            s.batch_execute("SELECT count(*) FROM pool_ext.phone_number_ledger"),
            "42501",
        );
    });

    // An operator manages numbers and policies, and still cannot write the tables directly.
    fresh_role(&mut s, "pe_sec_operator");
    let granted = count(
        &mut s,
        "SELECT count(*) FROM grant_pool_access('pe_sec_operator', 'operator')",
    );
    // USAGE, 5 caller routines, 8 monitor views and 3 monitor functions, 15 operator routines.
    assert_eq!(granted, 32);
    as_role(&mut s, "pe_sec_operator", |s| {
        // The ledger's upkeep runs as the owner: an operator may run it and set retention,
        // and read the partitions' list, but not the partitions.
        s.query("SELECT * FROM maintain_ledger()", &[]).unwrap();
        s.query("SELECT * FROM set_ledger_retention(NULL)", &[])
            .unwrap();
        s.query("SELECT * FROM ledger_partitions", &[]).unwrap();
        expect_error(
            s.batch_execute("SELECT count(*) FROM pool_ext.phone_number_ledger_default"),
            "42501",
        );
        s.query("SELECT * FROM retire_phone_number('Caller Realty-3')", &[])
            .unwrap();
        s.query(
            "SELECT * FROM set_company_policy('Caller Realty', '2 hours')",
            &[],
        )
        .unwrap();
        s.query("SELECT * FROM pool_health", &[]).unwrap();
        s.batch_execute("CALL release_expired_phone_numbers_in_batches()")
            .unwrap();
        expect_error(
            s.batch_execute("DELETE FROM pool_ext.signalwire_phone_numbers"),
            "42501",
        );
    });

    // Taking it back works, and an unknown level is refused with the valid ones listed.
    s.query("SELECT revoke_pool_access('pe_sec_n8n')", &[])
        .unwrap();
    let denied = as_role(&mut s, "pe_sec_n8n", |s| {
        s.batch_execute(&format!(
            "SELECT * FROM pool_ext.assign_phone_number('Caller Realty', '{holder}')"
        ))
    });
    expect_error(denied, "42501");
    let e = expect_error(
        s.query("SELECT grant_pool_access('pe_sec_n8n', 'admin')", &[]),
        "22023",
    );
    assert!(
        e.message().contains("caller, monitor, operator"),
        "{}",
        e.message()
    );
}

#[test]
fn supabase_style_roles_read_and_change_nothing_even_with_careless_grants() {
    let db = TestDb::new("supabase_roles");
    let mut s = db.session();
    load_pool(&mut s, "Supa Realty", 4157, 2);
    assign(&mut s, "Supa Realty", &lead(3, 1)).unwrap();
    fresh_role(&mut s, "pe_sec_anon");
    fresh_role(&mut s, "pe_sec_authenticated");
    // Supabase grants anon and authenticated everything in schema public; pool_ext lives in
    // its own schema, so by default they cannot even look.
    s.batch_execute(
        "GRANT ALL ON ALL TABLES IN SCHEMA public TO pe_sec_anon, pe_sec_authenticated;
         GRANT USAGE ON SCHEMA public TO pe_sec_anon, pe_sec_authenticated;",
    )
    .unwrap();
    for role in ["pe_sec_anon", "pe_sec_authenticated"] {
        as_role(&mut s, role, |s| {
            expect_error(
                s.batch_execute("SELECT count(*) FROM pool_ext.signalwire_phone_numbers"),
                "42501",
            );
            expect_error(
                s.batch_execute(&format!(
                    "SELECT * FROM pool_ext.assign_phone_number('Supa Realty', '{}')",
                    lead(3, 2)
                )),
                "42501",
            );
        });
    }
    // A careless blanket grant on the schema's tables: row level security still hides every
    // row and refuses every write.
    s.batch_execute(
        "GRANT USAGE ON SCHEMA pool_ext TO pe_sec_anon;
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pool_ext TO pe_sec_anon;
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA pool_ext TO pe_sec_anon;",
    )
    .unwrap();
    let before = snapshot(&mut s);
    as_role(&mut s, "pe_sec_anon", |s| {
        for table in [
            "signalwire_phone_numbers",
            "phone_number_ledger",
            "company_policies",
            "crm_tables",
        ] {
            assert_eq!(
                count(s, &format!("SELECT count(*) FROM pool_ext.{table}")),
                0,
                "anon sees rows of {table}"
            );
        }
        let updated = s
            .execute(
                "UPDATE pool_ext.signalwire_phone_numbers SET currently_assigned_to = NULL,
                        assignment_status = 'available', release_at = NULL",
                &[],
            )
            .unwrap();
        assert_eq!(updated, 0);
        assert_eq!(
            s.execute("DELETE FROM pool_ext.signalwire_phone_numbers", &[])
                .unwrap(),
            0
        );
        expect_error(
            s.batch_execute(
                "INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company)
                 VALUES ('evil', '+19995550000', 'Supa Realty')",
            ),
            "42501",
        );
        expect_error(
            s.batch_execute(
                "INSERT INTO pool_ext.company_policies (company, retention) VALUES ('Supa Realty', '1 second')",
            ),
            "42501",
        );
    });
    assert_eq!(snapshot(&mut s), before, "anon changed something");
}

#[test]
fn values_with_quotes_and_sql_are_stored_and_matched_literally() {
    let db = TestDb::new("literal_values");
    let mut s = db.session();
    let companies = [
        "O'Brien & Sons; DROP TABLE pool_ext.signalwire_phone_numbers; --",
        "Robert'); DELETE FROM pool_ext.phone_number_ledger; --",
        "$$ || pg_sleep(5) || $$",
        "%s %I %L \\ \" quoted \"",
        "Ünïcödé 日本 Realty",
    ];
    let notes = "'; UPDATE pool_ext.signalwire_phone_numbers SET status = 'inactive'; --";
    let document = serde_like_document(&companies, notes);
    let imported = s
        .query_one(
            "SELECT inserted FROM import_phone_numbers($1::text::jsonb)",
            &[&document],
        )
        .unwrap();
    assert_eq!(imported.get::<_, i64>(0), companies.len() as i64);

    // CRM tables whose names need quoting too.
    s.batch_execute(
        r#"CREATE TABLE "lead's; table" (id uuid PRIMARY KEY, assigned_phone_number_id text, phone_assigned_at timestamptz);
           CREATE TABLE "inter""actions" (lead_id uuid, type text, metadata jsonb, created_at timestamptz);
           SELECT register_crm_tables('"lead''s; table"', '"inter""actions"');"#,
    )
    .unwrap();

    for (i, company) in companies.iter().enumerate() {
        let lead = lead(4, i as u32);
        s.execute(r#"INSERT INTO "lead's; table" (id) VALUES ($1)"#, &[&lead])
            .unwrap();
        let number = assign(&mut s, company, &lead).unwrap();
        assert_eq!(number, format!("lit-{i}"));
        let row = s
            .query_one(
                "SELECT assigned_broker_company, notes FROM signalwire_phone_numbers
                 WHERE vapi_phone_number_id = $1",
                &[&number],
            )
            .unwrap();
        assert_eq!(row.get::<_, String>(0), *company);
        assert_eq!(row.get::<_, String>(1), notes);
        s.query(
            "SELECT * FROM record_call_outcome($1, 'no_answer', company => $2)",
            &[&lead, company],
        )
        .unwrap();
        s.query(
            "SELECT * FROM set_company_policy($1, '2 hours')",
            &[company],
        )
        .unwrap();
        let held: String = s
            .query_one(
                "SELECT company FROM who_held_number($1)",
                &[&format!("+1415700{i:04}")],
            )
            .unwrap()
            .get(0);
        assert_eq!(held, *company);
    }
    // A near miss of a hostile name is an unknown company, not a match.
    expect_error(
        assign(&mut s, "O'Brien & Sons", &lead(4, 99)).map(|_| ()),
        "42704",
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE status = 'active'"
        ),
        companies.len() as i64
    );
    assert_eq!(
        count(
            &mut s,
            r#"SELECT count(*) FROM "lead's; table" WHERE assigned_phone_number_id IS NOT NULL"#
        ),
        companies.len() as i64
    );
    assert_eq!(
        count(&mut s, r#"SELECT count(*) FROM "inter""actions""#),
        companies.len() as i64
    );
    assert_eq!(
        count(&mut s, "SELECT count(*) FROM company_policies"),
        companies.len() as i64
    );
    assert_pool_invariants(&mut s);
}

/// The import document for one number per company, written with JSON escaping by hand so the
/// test needs no JSON library: ids lit-<i>, numbers +1415700<i>.
fn serde_like_document(companies: &[&str], notes: &str) -> String {
    let escape = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    let entries: Vec<String> = companies
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                r#"{{"vapi_phone_number_id": "lit-{i}", "number": "+1415700{i:04}", "name": "Line {i}",
                    "broker_company": "{}", "notes": "{}"}}"#,
                escape(c),
                escape(notes)
            )
        })
        .collect();
    format!("[{}]", entries.join(","))
}
