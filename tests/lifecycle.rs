//! Call outcomes, hold rules, company policy and forced release, through a real client.

mod common;

use common::*;
use postgres::Client;

/// A pool of `n` numbers for `company` and one committed assignment to `lead(group, 1)`.
fn held(db: &TestDb, company: &str, prefix: u32, n: i32, group: u32) -> (Client, String) {
    let mut s = db.session();
    load_pool(&mut s, company, prefix, n);
    let id = assign(&mut s, company, &lead(group, 1)).unwrap();
    (s, id)
}

fn check(s: &mut Client, sql: &str, id: &str) -> bool {
    s.query_one(sql, &[&id]).unwrap().get(0)
}

#[test]
fn booked_holds_until_the_appointment_plus_the_companys_booked_hold() {
    let db = TestDb::new("booked");
    let (mut s, id) = held(&db, "Booked Co", 3000, 2, 10);
    let row = s
        .query_one(
            "SELECT * FROM record_call_outcome($1, 'booked', now() + interval '2 days')",
            &[&lead(10, 1)],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>("vapi_phone_number_id"), id);
    assert_eq!(row.get::<_, String>("last_call_outcome"), "booked");
    assert_eq!(row.get::<_, String>("assignment_status"), "assigned");
    assert!(check(
        &mut s,
        "SELECT release_at = appointment_scheduled_at + interval '24 hours'
                AND appointment_scheduled_at > now() + interval '47 hours'
                AND last_call_outcome = 'booked'
         FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
        &id
    ));
    assert!(check(
        &mut s,
        "SELECT count(*) = 1 AND bool_and(reason = 'booked' AND release_at IS NOT NULL)
         FROM phone_number_ledger WHERE event = 'outcome' AND vapi_phone_number_id = $1",
        &id
    ));

    // A company with a 2-hour booked hold.
    s.query_one(
        "SELECT * FROM set_company_policy('Booked Co', booked_hold => '2 hours')",
        &[],
    )
    .unwrap();
    let other = assign(&mut s, "Booked Co", &lead(10, 2)).unwrap();
    s.query_one(
        "SELECT * FROM record_call_outcome($1, 'booked', now() + interval '1 day')",
        &[&lead(10, 2)],
    )
    .unwrap();
    assert!(check(
        &mut s,
        "SELECT release_at = appointment_scheduled_at + interval '2 hours'
         FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
        &other
    ));
    assert_pool_invariants(&mut s);
}

#[test]
fn no_answer_holds_to_the_end_of_the_companys_local_day() {
    let db = TestDb::new("no_answer");
    let (mut s, id) = held(&db, "Kathmandu Co", 3001, 1, 11);
    s.query_one(
        "SELECT * FROM set_company_policy('Kathmandu Co', time_zone => 'Asia/Kathmandu')",
        &[],
    )
    .unwrap();
    s.query_one(
        "SELECT * FROM record_call_outcome($1, 'no_answer')",
        &[&lead(11, 1)],
    )
    .unwrap();
    assert!(check(
        &mut s,
        "SELECT release_at = (date_trunc('day', now() AT TIME ZONE 'Asia/Kathmandu') + interval '1 day')
                             AT TIME ZONE 'Asia/Kathmandu'
                AND last_call_outcome = 'no_answer' AND assignment_status = 'assigned'
         FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
        &id
    ));
}

#[test]
fn no_booking_releases_by_day_end_or_retention_whichever_is_first() {
    let db = TestDb::new("no_booking");
    let (mut s, id) = held(&db, "No Booking Co", 3002, 1, 12);
    s.query_one(
        "SELECT * FROM record_call_outcome($1, 'no_booking')",
        &[&lead(12, 1)],
    )
    .unwrap();
    assert!(check(
        &mut s,
        "SELECT release_at = least(_local_day_end(now(), 'UTC'), assigned_at + interval '18 hours')
         FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
        &id
    ));
    // With a 1-hour retention, in a time zone whose day has more than an hour left (in the
    // last hour of a UTC day, the UTC day's end would come first), the retention comes first.
    let zone: String = s
        .query_one(
            "SELECT z FROM unnest(ARRAY['UTC', 'Asia/Kathmandu', 'America/New_York']) AS z
             WHERE _local_day_end(now(), z) > now() + interval '2 hours' LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0);
    s.query_one(
        "SELECT * FROM set_company_policy('No Booking Co', retention => '1 hour', time_zone => $1)",
        &[&zone],
    )
    .unwrap();
    s.query_one(
        "SELECT * FROM record_call_outcome($1, 'no_booking')",
        &[&lead(12, 1)],
    )
    .unwrap();
    assert!(check(
        &mut s,
        "SELECT release_at = assigned_at + interval '1 hour'
         FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
        &id
    ));
}

#[test]
fn do_not_call_and_wrong_number_release_at_once() {
    let db = TestDb::new("release_now");
    let (mut s, id) = held(&db, "Now Co", 3003, 2, 13);
    let row = s
        .query_one(
            "SELECT * FROM record_call_outcome($1, 'do_not_call')",
            &[&lead(13, 1)],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>("assignment_status"), "available");
    assert_eq!(
        row.get::<_, Option<std::time::SystemTime>>("release_at"),
        None
    );
    assert!(check(
        &mut s,
        "SELECT assignment_status = 'available' AND currently_assigned_to IS NULL
                AND last_call_outcome = 'do_not_call'
         FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
        &id
    ));
    assert!(check(
        &mut s,
        "SELECT count(*) = 1 FROM phone_number_ledger
         WHERE event = 'released' AND reason = 'do_not_call' AND vapi_phone_number_id = $1",
        &id
    ));
    assign(&mut s, "Now Co", &lead(13, 2)).unwrap();
    let row = s
        .query_one(
            "SELECT * FROM record_call_outcome($1, 'wrong_number')",
            &[&lead(13, 2)],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>("assignment_status"), "available");
    assert_pool_invariants(&mut s);
}

#[test]
fn bad_outcomes_get_a_clear_error_and_change_nothing() {
    let db = TestDb::new("bad_outcomes");
    let (mut s, _) = held(&db, "Strict Co", 3004, 2, 14);
    let holder = lead(14, 1);
    let before = snapshot(&mut s);

    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'voicemail')",
            &[&holder],
        ),
        "22023",
    );
    assert_eq!(
        e.message(),
        "Unknown call outcome 'voicemail'; valid outcomes are booked, no_answer, no_booking, do_not_call, wrong_number"
    );
    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'booked')",
            &[&holder],
        ),
        "22004",
    );
    assert_eq!(e.message(), "appointment_at must not be NULL");
    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'booked', now() - interval '1 minute')",
            &[&holder],
        ),
        "22023",
    );
    assert_eq!(e.message(), "appointment_at must be in the future");
    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'booked', now() + interval '400 days')",
            &[&holder],
        ),
        "22023",
    );
    assert_eq!(e.message(), "appointment_at is more than a year ahead");
    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'no_answer', now() + interval '1 day')",
            &[&holder],
        ),
        "22023",
    );
    assert!(
        e.message().contains("only to the outcome 'booked'"),
        "{}",
        e.message()
    );
    expect_error(
        s.query_one("SELECT * FROM record_call_outcome(NULL, 'booked')", &[]),
        "22004",
    );
    expect_error(
        s.query_one("SELECT * FROM record_call_outcome($1, NULL)", &[&holder]),
        "22004",
    );
    expect_error(
        s.query_one("SELECT * FROM record_call_outcome($1, '')", &[&holder]),
        "22023",
    );
    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'booked')",
            &[&lead(14, 99)],
        ),
        "22004",
    );
    assert_eq!(
        e.message(),
        "appointment_at must not be NULL",
        "argument errors come before lookups"
    );
    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'no_answer')",
            &[&lead(14, 99)],
        ),
        "P0002",
    );
    assert_eq!(
        e.message(),
        format!("Lead {} holds no phone number", lead(14, 99))
    );
    assert!(e.hint().unwrap().contains("assign_phone_number()"));

    assert_eq!(snapshot(&mut s), before);
}

#[test]
fn a_lead_holding_numbers_of_two_companies_must_name_one() {
    let db = TestDb::new("ambiguous");
    let mut s = db.session();
    load_pool(&mut s, "Alpha Co", 3005, 1);
    load_pool(&mut s, "Beta Co", 3006, 1);
    let both = lead(15, 1);
    assign(&mut s, "Alpha Co", &both).unwrap();
    let beta = assign(&mut s, "Beta Co", &both).unwrap();
    let before = snapshot(&mut s);
    let e = expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'no_answer')",
            &[&both],
        ),
        "21000",
    );
    assert!(
        e.message()
            .ends_with("holds numbers of 2 companies: 'Alpha Co', 'Beta Co'"),
        "{}",
        e.message()
    );
    assert_eq!(snapshot(&mut s), before);
    let row = s
        .query_one(
            "SELECT * FROM record_call_outcome($1, 'no_answer', company => 'Beta Co')",
            &[&both],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>("vapi_phone_number_id"), beta);
}

#[test]
fn company_policy_is_validated_and_partial_updates_keep_the_rest() {
    let db = TestDb::new("policy");
    let mut s = db.session();
    load_pool(&mut s, "Policy Co", 3007, 2);
    let effective = |s: &mut Client| -> String {
        s.query_one(
            "SELECT retention::text || ' / ' || booked_hold::text || ' / ' || time_zone FROM company_policy('Policy Co')",
            &[],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(effective(&mut s), "18:00:00 / 24:00:00 / UTC", "defaults");
    s.query_one(
        "SELECT * FROM set_company_policy('Policy Co', retention => '6 hours')",
        &[],
    )
    .unwrap();
    s.query_one(
        "SELECT * FROM set_company_policy('Policy Co', time_zone => 'America/Chicago')",
        &[],
    )
    .unwrap();
    assert_eq!(effective(&mut s), "06:00:00 / 24:00:00 / America/Chicago");

    // The assignment uses the company's retention.
    let id = assign(&mut s, "Policy Co", &lead(16, 1)).unwrap();
    assert!(check(
        &mut s,
        "SELECT release_at = assigned_at + interval '6 hours' FROM signalwire_phone_numbers
         WHERE vapi_phone_number_id = $1",
        &id
    ));

    let before = snapshot(&mut s);
    for (sql, state, message) in [
        (
            "SELECT * FROM set_company_policy('Policy Co', retention => '0')",
            "22023",
            "retention must be longer than 0 and at most 30 days, got '00:00:00'",
        ),
        (
            "SELECT * FROM set_company_policy('Policy Co', retention => '-1 hour')",
            "22023",
            "retention must be longer than 0 and at most 30 days, got '-01:00:00'",
        ),
        (
            "SELECT * FROM set_company_policy('Policy Co', booked_hold => '31 days')",
            "22023",
            "booked_hold must be longer than 0 and at most 30 days, got '31 days'",
        ),
        (
            "SELECT * FROM set_company_policy('Policy Co', time_zone => 'America/Chicgo')",
            "22023",
            "Unknown time zone 'America/Chicgo'",
        ),
        (
            "SELECT * FROM set_company_policy('Policy Co', time_zone => 'Mars/Olympus_Mons')",
            "22023",
            "Unknown time zone 'Mars/Olympus_Mons'",
        ),
        (
            "SELECT * FROM set_company_policy(NULL, retention => '1 hour')",
            "22004",
            "company must not be NULL",
        ),
        (
            "SELECT * FROM set_company_policy(' ')",
            "22023",
            "company must not be empty",
        ),
    ] {
        let e = expect_error(s.query_one(sql, &[]), state);
        assert_eq!(e.message(), message, "{sql}");
    }
    let e = expect_error(
        s.query_one(
            "SELECT * FROM set_company_policy('Policy Co', time_zone => 'America/Chicgo')",
            &[],
        ),
        "22023",
    );
    assert!(
        e.hint()
            .unwrap()
            .ends_with("Did you mean 'America/Chicago'?"),
        "{:?}",
        e.hint()
    );
    assert_eq!(snapshot(&mut s), before);
}

#[test]
fn local_day_end_is_right_on_dst_and_odd_offset_days() {
    let db = TestDb::new("local_day");
    let mut s = db.session();
    for (day_start, zone, hours) in [
        (
            "2026-03-08 00:00 America/New_York",
            "America/New_York",
            "23.00",
        ), // spring forward
        (
            "2026-11-01 00:00 America/New_York",
            "America/New_York",
            "25.00",
        ), // fall back
        (
            "2026-06-15 00:00 America/New_York",
            "America/New_York",
            "24.00",
        ),
        (
            "2026-04-05 00:00 Australia/Lord_Howe",
            "Australia/Lord_Howe",
            "24.50",
        ), // half-hour DST
        (
            "2026-10-04 00:00 Australia/Lord_Howe",
            "Australia/Lord_Howe",
            "23.50",
        ),
        ("2026-06-15 00:00 Asia/Kathmandu", "Asia/Kathmandu", "24.00"),
    ] {
        let hours_long: String = s
            .query_one(
                "SELECT (extract(epoch FROM _local_day_end($1::text::timestamptz + interval '12 hours', $2)
                                      - $1::text::timestamptz) / 3600)::numeric(6, 2)::text",
                &[&day_start, &zone],
            )
            .unwrap()
            .get(0);
        assert_eq!(hours_long, hours, "{day_start}");
    }
}

#[test]
fn force_release_frees_a_held_number_with_a_ledger_row() {
    let db = TestDb::new("force_release");
    let (mut s, id) = held(&db, "Force Co", 3008, 1, 17);
    let released: bool = s
        .query_one("SELECT force_release_phone_number($1)", &[&id])
        .unwrap()
        .get(0);
    assert!(released);
    let again: bool = s
        .query_one("SELECT force_release_phone_number($1, 'cleanup')", &[&id])
        .unwrap()
        .get(0);
    assert!(!again, "not held any more");
    assert!(check(
        &mut s,
        "SELECT count(*) = 1 FROM phone_number_ledger WHERE event = 'released' AND reason = 'manual'
                AND vapi_phone_number_id = $1",
        &id
    ));
    let e = expect_error(
        s.query_one("SELECT force_release_phone_number('no-such-id')", &[]),
        "42704",
    );
    assert_eq!(
        e.message(),
        "No phone number with vapi_phone_number_id 'no-such-id'"
    );
    expect_error(
        s.query_one("SELECT force_release_phone_number(NULL)", &[]),
        "22004",
    );
    assert_pool_invariants(&mut s);
}
