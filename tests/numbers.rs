//! Importing the numbers document, retiring, reactivating and moving numbers.

mod common;

use common::*;
use postgres::Client;

fn import(s: &mut Client, document: &str) -> Result<(i64, i64, i64), postgres::Error> {
    s.query_one(
        "SELECT * FROM import_phone_numbers($1::text::jsonb)",
        &[&document],
    )
    .map(|r| (r.get("inserted"), r.get("updated"), r.get("unchanged")))
}

const DOCUMENT: &str = r#"[
  {"vapi_phone_number_id": "imp-1", "number": "+13125550101", "name": "Chicago 1", "broker_company": "Import Co"},
  {"vapi_phone_number_id": "imp-2", "number": "+13125550102", "name": "Chicago 2", "broker_company": "Import Co",
   "notes": "ported from Twilio"},
  {"vapi_phone_number_id": "imp-3", "number": "+13125550103", "name": "Chicago 3", "broker_company": "Other Co"}
]"#;

#[test]
fn importing_inserts_then_updates_only_what_changed_and_is_idempotent() {
    let db = TestDb::new("import");
    let mut s = db.session();
    assert_eq!(import(&mut s, DOCUMENT).unwrap(), (3, 0, 0));
    assert_eq!(
        import(&mut s, DOCUMENT).unwrap(),
        (0, 0, 3),
        "re-running changes nothing"
    );
    let xmins: String = s
        .query_one("SELECT string_agg(xmin::text, ',' ORDER BY vapi_phone_number_id) FROM signalwire_phone_numbers", &[])
        .unwrap()
        .get(0);
    import(&mut s, DOCUMENT).unwrap();
    let xmins_after: String = s
        .query_one("SELECT string_agg(xmin::text, ',' ORDER BY vapi_phone_number_id) FROM signalwire_phone_numbers", &[])
        .unwrap()
        .get(0);
    assert_eq!(xmins, xmins_after, "unchanged rows are not even rewritten");

    let changed = DOCUMENT
        .replace("Chicago 2", "Chicago Two")
        .replace(r#""notes": "ported from Twilio""#, r#""notes": null"#);
    assert_eq!(import(&mut s, &changed).unwrap(), (0, 1, 2));
    let row = s
        .query_one(
            "SELECT name, notes FROM signalwire_phone_numbers WHERE vapi_phone_number_id = 'imp-2'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Chicago Two");
    assert_eq!(
        row.get::<_, Option<String>>(1),
        None,
        "the document is the truth for the numbers it lists"
    );

    // Numbers can swap phone numbers in one document.
    let swapped = DOCUMENT
        .replace("+13125550101", "+1TMP")
        .replace("+13125550102", "+13125550101")
        .replace("+1TMP", "+13125550102");
    assert_eq!(import(&mut s, &swapped).unwrap().1, 2);
    assert_eq!(import(&mut s, "[]").unwrap(), (0, 0, 0));
    assert_eq!(
        count(&mut s, "SELECT count(*) FROM signalwire_phone_numbers"),
        3
    );
}

#[test]
fn a_bad_entry_names_its_index_and_field_and_imports_nothing() {
    let db = TestDb::new("import_errors");
    let mut s = db.session();
    import(&mut s, DOCUMENT).unwrap();
    let before = snapshot(&mut s);
    let cases = [
        (
            r#"{"vapi_phone_number_id": "x"}"#,
            "numbers: must be a JSON array of objects",
        ),
        (
            r#"[{"vapi_phone_number_id": "new-1", "number": "+13125550199", "name": "ok", "broker_company": "Import Co"},
                {"vapi_phone_number_id": "new-2", "number": "312-555-0100", "name": "bad", "broker_company": "Import Co"}]"#,
            "numbers[1].number: '312-555-0100' is not an E.164 number such as +14155550100",
        ),
        (
            r#"[{"vapi_phone_number_id": "new-1", "number": "+13125550199", "name": "x", "broker_company": 7}]"#,
            "numbers[0].broker_company: must be a string, got a number",
        ),
        (
            r#"[{"vapi_phone_number_id": "new-1", "number": "+13125550199", "broker_company": "Import Co"}]"#,
            "numbers[0]: missing field `name`",
        ),
        (
            r#"[{"vapi_phone_number_id": "new-1", "number": "+13125550101", "name": "x", "broker_company": "Import Co"}]"#,
            "numbers[0].number: +13125550101 already belongs to 'imp-1'",
        ),
        (
            r#"[{"vapi_phone_number_id": "a", "number": "+13125550198", "name": "x", "broker_company": "Import Co"},
                {"vapi_phone_number_id": "a", "number": "+13125550199", "name": "y", "broker_company": "Import Co"}]"#,
            "numbers[1].vapi_phone_number_id: 'a' also appears at numbers[0]",
        ),
    ];
    for (document, message) in cases {
        let e = expect_error(import(&mut s, document), "22023");
        assert_eq!(e.message(), message);
        assert!(e.hint().unwrap().contains("nothing was imported"));
    }
    expect_error(
        s.query_one("SELECT * FROM import_phone_numbers(NULL)", &[]),
        "22004",
    );
    assert_eq!(snapshot(&mut s), before);
}

#[test]
fn import_will_not_move_a_held_number_to_another_company() {
    let db = TestDb::new("import_held");
    let mut s = db.session();
    import(&mut s, DOCUMENT).unwrap();
    assign(&mut s, "Other Co", &lead(20, 1)).unwrap();
    let before = snapshot(&mut s);
    let moved = DOCUMENT.replace(
        r#""name": "Chicago 3", "broker_company": "Other Co""#,
        r#""name": "Chicago 3", "broker_company": "Import Co""#,
    );
    let e = expect_error(import(&mut s, &moved), "22023");
    assert!(
        e.message()
            .starts_with("numbers[2].broker_company: 'imp-3' is held by lead"),
        "{}",
        e.message()
    );
    assert_eq!(snapshot(&mut s), before);
}

#[test]
fn the_original_upsert_keeps_working() {
    let db = TestDb::new("original_upsert");
    let mut s = db.session();
    for name in ["First", "Renamed"] {
        s.execute(
            "INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company, status)
             VALUES ('orig-1', '+16465550101', $1, 'Upsert Co', 'active')
             ON CONFLICT (vapi_phone_number_id) DO UPDATE SET
                 number = EXCLUDED.number,
                 name = EXCLUDED.name,
                 assigned_broker_company = EXCLUDED.assigned_broker_company,
                 status = EXCLUDED.status",
            &[&name],
        )
        .unwrap();
    }
    let name: String = s
        .query_one(
            "SELECT name FROM signalwire_phone_numbers WHERE vapi_phone_number_id = 'orig-1'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(name, "Renamed");
}

#[test]
fn retired_numbers_finish_their_hold_and_are_never_assigned_again_until_reactivated() {
    let db = TestDb::new("retire");
    let mut s = db.session();
    load_pool(&mut s, "Retire Co", 3100, 1);
    let id = assign(&mut s, "Retire Co", &lead(21, 1)).unwrap();
    assert!(s
        .query_one("SELECT retire_phone_number($1)", &[&id])
        .unwrap()
        .get::<_, bool>(0));
    assert!(
        !s.query_one("SELECT retire_phone_number($1)", &[&id])
            .unwrap()
            .get::<_, bool>(0),
        "already inactive"
    );
    // The hold runs on.
    let holder: Option<Uuid> = s
        .query_one("SELECT currently_assigned_to FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1", &[&id])
        .unwrap()
        .get(0);
    assert_eq!(holder, Some(lead(21, 1)));
    s.query_one("SELECT force_release_phone_number($1)", &[&id])
        .unwrap();
    let e = expect_error(assign(&mut s, "Retire Co", &lead(21, 2)), "53000");
    assert_eq!(e.detail(), Some("0 of 1 numbers are assigned, 1 inactive."));
    assert!(s
        .query_one("SELECT reactivate_phone_number($1)", &[&id])
        .unwrap()
        .get::<_, bool>(0));
    assert!(!s
        .query_one("SELECT reactivate_phone_number($1)", &[&id])
        .unwrap()
        .get::<_, bool>(0));
    assert_eq!(assign(&mut s, "Retire Co", &lead(21, 2)).unwrap(), id);
    expect_error(
        s.query_one("SELECT retire_phone_number('nope')", &[]),
        "42704",
    );
    expect_error(
        s.query_one("SELECT reactivate_phone_number(NULL)", &[]),
        "22004",
    );
}

#[test]
fn a_number_moves_to_another_company_only_when_free() {
    let db = TestDb::new("move");
    let mut s = db.session();
    load_pool(&mut s, "From Co", 3101, 1);
    let id = assign(&mut s, "From Co", &lead(22, 1)).unwrap();
    let before = snapshot(&mut s);
    let e = expect_error(
        s.query_one("SELECT move_phone_number($1, 'To Co')", &[&id]),
        "55006",
    );
    assert_eq!(
        e.message(),
        format!("Phone number '{id}' is held by lead {}", lead(22, 1))
    );
    assert!(e.detail().unwrap().starts_with("The hold ends at "));
    assert!(e.hint().unwrap().contains("force_release_phone_number()"));
    assert_eq!(snapshot(&mut s), before);

    s.query_one("SELECT force_release_phone_number($1)", &[&id])
        .unwrap();
    assert!(s
        .query_one("SELECT move_phone_number($1, 'To Co')", &[&id])
        .unwrap()
        .get::<_, bool>(0));
    assert!(!s
        .query_one("SELECT move_phone_number($1, 'To Co')", &[&id])
        .unwrap()
        .get::<_, bool>(0));
    assert_eq!(assign(&mut s, "To Co", &lead(22, 2)).unwrap(), id);
    expect_error(
        s.query_one("SELECT move_phone_number($1, '')", &[&id]),
        "22023",
    );
    expect_error(
        s.query_one("SELECT move_phone_number('nope', 'To Co')", &[]),
        "42704",
    );
}
