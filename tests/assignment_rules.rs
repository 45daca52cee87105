//! Issue 12's assignment rules (0.4.0) through real sessions: a repeat call renews the hold
//! (also an expired one the release job has not freed yet, never shortening a booked one), a
//! returning lead gets its previous number first (also while it rests in a cooldown; not when
//! it is retired or at its daily cap), the `chosen_by` column, and callers in REPEATABLE READ
//! and SERIALIZABLE that get a number or a retryable 40001, never a double hold.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier};
use std::thread;

use common::*;
use postgres::Client;

/// The default retention: 18 hours.
const RETENTION_18H: f64 = 18.0 * 3600.0;

/// One assignment as the caller sees it.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    /// assigned_at and release_at as text, to compare exactly.
    assigned_at: String,
    release_at: String,
    /// release_at - now() of the calling statement, in seconds.
    holds_for: f64,
    area_code_matched: Option<bool>,
    chosen_by: String,
}

/// `assign_phone_number` with every result column this file checks (autocommit: now() is the
/// call's own transaction start).
fn try_assign(
    s: &mut Client,
    company: &str,
    lead: &Uuid,
    phone: Option<&str>,
) -> Result<Got, postgres::Error> {
    s.query_one(
        "SELECT a.vapi_phone_number_id, a.assigned_at::text, a.release_at::text,
                extract(epoch FROM a.release_at - now())::float8, a.area_code_matched, a.chosen_by
         FROM assign_phone_number($1, $2, $3) AS a",
        &[&company, lead, &phone],
    )
    .map(|r| Got {
        id: r.get(0),
        assigned_at: r.get(1),
        release_at: r.get(2),
        holds_for: r.get(3),
        area_code_matched: r.get(4),
        chosen_by: r.get(5),
    })
}

fn assign_got(s: &mut Client, company: &str, lead: &Uuid, phone: Option<&str>) -> Got {
    try_assign(s, company, lead, phone)
        .unwrap_or_else(|e| panic!("assign_phone_number({company}, {lead}, {phone:?}): {e:?}"))
}

/// A hold that ends `expected` seconds from now, give or take the time the call took.
fn assert_holds_for(got: &Got, expected: f64, what: &str) {
    assert!(
        got.holds_for >= expected && got.holds_for < expected + 2.0,
        "{what}: release_at is now() + {} s, expected now() + {expected} s (within 2 s): {got:?}",
        got.holds_for
    );
}

/// A count from a statement with parameters.
fn count_of(s: &mut Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> i64 {
    s.query_one(sql, params).unwrap().get(0)
}

/// (assigned_at, release_at, holder) of a number as the table has it, times as text.
fn pool_row(s: &mut Client, id: &str) -> (Option<String>, Option<String>, Option<Uuid>) {
    let r = s
        .query_one(
            "SELECT assigned_at::text, release_at::text, currently_assigned_to
             FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
            &[&id],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

/// (event, number id, release_at as text, reason) of a lead's ledger rows, oldest first.
fn ledger_of(s: &mut Client, lead: &Uuid) -> Vec<(String, String, Option<String>, String)> {
    s.query(
        "SELECT event, vapi_phone_number_id, release_at::text, reason FROM phone_number_ledger
         WHERE lead_id = $1 ORDER BY id",
        &[lead],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

fn renewals_of(s: &mut Client, lead: &Uuid) -> Vec<(String, Option<String>, String)> {
    ledger_of(s, lead)
        .into_iter()
        .filter(|(event, ..)| event == "renewed")
        .map(|(_, id, release_at, reason)| (id, release_at, reason))
        .collect()
}

fn double_assignments(s: &mut Client) -> i64 {
    count(s, "SELECT count(*) FROM double_assignments")
}

/// Every 'renewed' ledger row renews a hold that was running: the number's last assignment
/// or release before it is an assignment to the same lead, and the new end is set.
fn assert_renewals_extend_running_holds(s: &mut Client) {
    let stray = count(
        s,
        "SELECT count(*) FROM phone_number_ledger AS r
         WHERE r.event = 'renewed'
           AND (r.release_at IS NULL OR r.reason <> 'repeat call' OR NOT EXISTS (
                SELECT FROM (SELECT l.event, l.lead_id FROM phone_number_ledger AS l
                             WHERE l.vapi_phone_number_id = r.vapi_phone_number_id
                               AND l.id < r.id AND l.event IN ('assigned', 'released')
                             ORDER BY l.id DESC LIMIT 1) AS last
                WHERE last.event = 'assigned' AND last.lead_id = r.lead_id))",
    );
    assert_eq!(stray, 0, "a 'renewed' row for a hold that was not running");
}

fn force_release(s: &mut Client, id: &str) {
    let released: bool = s
        .query_one("SELECT force_release_phone_number($1, 'test')", &[&id])
        .unwrap()
        .get(0);
    assert!(released, "{id} was not held");
}

fn do_not_call(s: &mut Client, lead: &Uuid) {
    let status: String = s
        .query_one(
            "SELECT assignment_status FROM record_call_outcome($1, 'do_not_call')",
            &[lead],
        )
        .unwrap()
        .get(0);
    assert_eq!(status, "available");
}

fn number_state(s: &mut Client, id: &str) -> String {
    s.query_one(
        "SELECT state FROM number_states WHERE vapi_phone_number_id = $1",
        &[&id],
    )
    .unwrap()
    .get(0)
}

// ---------------------------------------------------------------------------------------------
// 1. Renewal on a repeat call
// ---------------------------------------------------------------------------------------------

#[test]
fn a_repeat_call_renews_the_hold_to_the_retention_from_now_and_the_ledger_shows_it() {
    let db = TestDb::new("renew_repeat");
    let mut s = db.session();
    let company = "Renewal Realty";
    load_pool(&mut s, company, 8100, 3);
    let a = lead(1100, 1);

    let first = assign_got(&mut s, company, &a, None);
    assert_eq!(first.chosen_by, "least_recently_used");
    assert_holds_for(&first, RETENTION_18H, "a new hold");

    // The hold is about to end: five minutes left (a direct change of release_at only, which
    // the direct-change triggers do not log).
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() + interval '5 minutes'
         WHERE vapi_phone_number_id = $1",
        &[&first.id],
    )
    .unwrap();
    assert_eq!(ledger_of(&mut s, &a).len(), 1);

    let again = assign_got(&mut s, company, &a, None);
    assert_eq!(
        again.id, first.id,
        "a repeat call returns the lead's number"
    );
    assert_eq!(again.chosen_by, "current_hold");
    assert_holds_for(&again, RETENTION_18H, "a renewed hold");
    assert_eq!(
        again.assigned_at, first.assigned_at,
        "assigned_at stays as it was"
    );

    // The table agrees with what the caller got.
    assert_eq!(
        pool_row(&mut s, &first.id),
        (
            Some(first.assigned_at.clone()),
            Some(again.release_at.clone()),
            Some(a)
        )
    );
    // One 'renewed' row with the new end, after the one 'assigned' row.
    let ledger = ledger_of(&mut s, &a);
    assert_eq!(
        ledger
            .iter()
            .map(|(event, ..)| event.as_str())
            .collect::<Vec<_>>(),
        ["assigned", "renewed"],
        "{ledger:?}"
    );
    assert_eq!(
        renewals_of(&mut s, &a),
        [(
            first.id.clone(),
            Some(again.release_at.clone()),
            "repeat call".to_string()
        )]
    );

    // The company's retention, not the default: 2 hours from now.
    s.query_one(
        "SELECT * FROM set_company_policy($1, retention => '2 hours')",
        &[&company],
    )
    .unwrap();
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() + interval '1 minute'
         WHERE vapi_phone_number_id = $1",
        &[&first.id],
    )
    .unwrap();
    let third = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (third.id.as_str(), third.chosen_by.as_str()),
        (first.id.as_str(), "current_hold")
    );
    assert_holds_for(&third, 2.0 * 3600.0, "renewed to the company's retention");
    assert_eq!(third.assigned_at, first.assigned_at);
    let renewals = renewals_of(&mut s, &a);
    assert_eq!(renewals.len(), 2, "{renewals:?}");
    assert_eq!(renewals[1].1.as_deref(), Some(third.release_at.as_str()));

    // Only this lead's hold moved; the other numbers are untouched and free.
    assert_eq!(
        count_of(
            &mut s,
            "SELECT count(*) FROM signalwire_phone_numbers
             WHERE assigned_broker_company = $1 AND assignment_status = 'available'",
            &[&company]
        ),
        2
    );
    assert_pool_invariants(&mut s);
    assert_renewals_extend_running_holds(&mut s);
    assert_eq!(double_assignments(&mut s), 0);
}

// ---------------------------------------------------------------------------------------------
// 2. Renewal of an expired hold that the release job has not freed yet
// ---------------------------------------------------------------------------------------------

#[test]
fn an_expired_hold_not_yet_released_is_renewed_and_the_next_release_run_frees_nothing_of_it() {
    let db = TestDb::new("renew_expired");
    let mut s = db.session();
    let company = "Expired Hold Realty";
    load_pool(&mut s, company, 8200, 3);
    let (a, b) = (lead(1200, 1), lead(1200, 2));
    let held_a = assign_got(&mut s, company, &a, None);
    let held_b = assign_got(&mut s, company, &b, None);
    assert_ne!(held_a.id, held_b.id);

    // Both holds ended ten minutes ago; the hourly job has not run yet.
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() - interval '10 minutes'
         WHERE assigned_broker_company = $1 AND currently_assigned_to IS NOT NULL",
        &[&company],
    )
    .unwrap();
    assert_eq!(
        count_of(
            &mut s,
            "SELECT count(*) FROM overdue_holds WHERE vapi_phone_number_id = ANY ($1)",
            &[&vec![held_a.id.clone(), held_b.id.clone()]]
        ),
        2
    );

    // Lead A replies: its expired hold comes back, renewed from now.
    let again = assign_got(&mut s, company, &a, None);
    assert_eq!(again.id, held_a.id);
    assert_eq!(again.chosen_by, "current_hold");
    assert_holds_for(&again, RETENTION_18H, "a renewed expired hold");
    assert_eq!(again.assigned_at, held_a.assigned_at);
    assert_eq!(
        renewals_of(&mut s, &a),
        [(
            held_a.id.clone(),
            Some(again.release_at.clone()),
            "repeat call".to_string()
        )]
    );

    // The job run right after frees B's expired hold and nothing of A's.
    let released: i64 = s
        .query_one("SELECT release_expired_phone_numbers()", &[])
        .unwrap()
        .get(0);
    assert_eq!(released, 1, "only B's hold had expired");
    let (_, release_at, holder) = pool_row(&mut s, &held_a.id);
    assert_eq!(holder, Some(a), "A still holds its number");
    assert_eq!(release_at.as_deref(), Some(again.release_at.as_str()));
    assert_eq!(pool_row(&mut s, &held_b.id).2, None, "B's hold was freed");
    let released_leads: Vec<Uuid> = s
        .query(
            "SELECT lead_id FROM phone_number_ledger WHERE event = 'released' ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(released_leads, [b]);

    // And A asking once more still gets the same number.
    let third = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (third.id.as_str(), third.chosen_by.as_str()),
        (held_a.id.as_str(), "current_hold")
    );
    assert_pool_invariants(&mut s);
    assert_renewals_extend_running_holds(&mut s);
    assert_eq!(double_assignments(&mut s), 0);
}

// ---------------------------------------------------------------------------------------------
// 3. A booked hold is never shortened
// ---------------------------------------------------------------------------------------------

#[test]
fn a_repeat_call_never_shortens_a_booked_hold() {
    let db = TestDb::new("renew_booked");
    let mut s = db.session();
    let company = "Booked Realty";
    load_pool(&mut s, company, 8300, 3);
    let a = lead(1300, 1);
    let first = assign_got(&mut s, company, &a, None);

    // Booked for three days from now: held until the appointment plus the booked hold (24 h).
    let appointment: String = s
        .query_one(
            "SELECT date_trunc('second', now() + interval '3 days')::text",
            &[],
        )
        .unwrap()
        .get(0);
    let booked_until: String = s
        .query_one(
            "SELECT release_at::text FROM record_call_outcome($1, 'booked', $2::text::timestamptz)",
            &[&a, &appointment],
        )
        .unwrap()
        .get(0);
    let expected: String = s
        .query_one(
            "SELECT ($1::text::timestamptz + interval '24 hours')::text",
            &[&appointment],
        )
        .unwrap()
        .get(0);
    assert_eq!(booked_until, expected);

    let again = assign_got(&mut s, company, &a, None);
    assert_eq!(again.id, first.id);
    assert_eq!(again.chosen_by, "current_hold");
    assert_eq!(
        again.release_at, booked_until,
        "the booked hold is kept as it was"
    );
    assert_eq!(again.assigned_at, first.assigned_at);
    assert!(again.holds_for > 3.9 * 86400.0, "{again:?}");
    assert_eq!(
        pool_row(&mut s, &first.id),
        (
            Some(first.assigned_at.clone()),
            Some(booked_until.clone()),
            Some(a)
        )
    );
    let row = s
        .query_one(
            "SELECT last_call_outcome, appointment_scheduled_at = $2::text::timestamptz
             FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
            &[&first.id, &appointment],
        )
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("booked"));
    assert_eq!(row.get::<_, Option<bool>>(1), Some(true));
    assert!(
        renewals_of(&mut s, &a).is_empty(),
        "release_at did not move: no 'renewed' row"
    );
    assert_eq!(
        ledger_of(&mut s, &a)
            .iter()
            .map(|(event, ..)| event.as_str())
            .collect::<Vec<_>>(),
        ["assigned", "outcome"]
    );

    // A booked hold shorter than the retention from now is lengthened, not kept short:
    // release_at := greatest(release_at, now() + retention).
    s.query_one(
        "SELECT * FROM set_company_policy($1, booked_hold => '1 hour')",
        &[&company],
    )
    .unwrap();
    let b = lead(1300, 2);
    let held_b = assign_got(&mut s, company, &b, None);
    s.query_one(
        "SELECT * FROM record_call_outcome($1, 'booked', now() + interval '2 hours')",
        &[&b],
    )
    .unwrap();
    let again_b = assign_got(&mut s, company, &b, None);
    assert_eq!(
        (again_b.id.as_str(), again_b.chosen_by.as_str()),
        (held_b.id.as_str(), "current_hold")
    );
    assert_holds_for(&again_b, RETENTION_18H, "a 3-hour booked hold renewed");
    assert_eq!(
        renewals_of(&mut s, &b),
        [(
            held_b.id.clone(),
            Some(again_b.release_at.clone()),
            "repeat call".to_string()
        )]
    );
    assert_pool_invariants(&mut s);
    assert_renewals_extend_running_holds(&mut s);
    assert_eq!(double_assignments(&mut s), 0);
}

// ---------------------------------------------------------------------------------------------
// 4. Previous number first
// ---------------------------------------------------------------------------------------------

#[test]
fn a_returning_lead_gets_its_previous_number_before_area_code_and_least_recently_used() {
    let db = TestDb::new("previous_number");
    let mut s = db.session();
    let company = "Returning Realty";
    // Least recently used in this order.
    load_numbers(
        &mut s,
        company,
        &[
            ("ret-212", "+12125550101"),
            ("ret-415", "+14155550102"),
            ("ret-310", "+13105550103"),
            ("ret-646", "+16465550104"),
        ],
    );
    let (a, b, c, d, e) = (
        lead(1400, 1),
        lead(1400, 2),
        lead(1400, 3),
        lead(1400, 4),
        lead(1400, 5),
    );
    let x = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (x.id.as_str(), x.chosen_by.as_str()),
        ("ret-212", "least_recently_used")
    );
    force_release(&mut s, "ret-212");

    // Other leads take numbers and release them again: ret-212 is now the most recently used
    // of the free numbers but one, ret-646 the least recently used.
    assert_eq!(assign_got(&mut s, company, &b, None).id, "ret-415");
    assert_eq!(assign_got(&mut s, company, &c, None).id, "ret-310");
    do_not_call(&mut s, &b);
    do_not_call(&mut s, &c);

    // A replies, with a phone of area 415 (a free 415 number exists): its previous number
    // still comes first.
    let back = assign_got(&mut s, company, &a, Some("(415) 555-0199"));
    assert_eq!(back.id, "ret-212");
    assert_eq!(back.chosen_by, "previous_number");
    assert_eq!(
        back.area_code_matched,
        Some(false),
        "a phone was given: whether ret-212 has area 415"
    );
    assert_ne!(back.assigned_at, x.assigned_at, "a new hold");
    assert_holds_for(&back, RETENTION_18H, "a previous number's new hold");
    assert_eq!(
        count_of(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger
             WHERE lead_id = $1 AND event = 'assigned' AND vapi_phone_number_id = 'ret-212'",
            &[&a]
        ),
        2
    );
    // ret-646 was the least recently used one all along: a new lead gets it.
    let fresh = assign_got(&mut s, company, &d, None);
    assert_eq!(
        (fresh.id.as_str(), fresh.chosen_by.as_str()),
        ("ret-646", "least_recently_used")
    );

    // Only when free: A's previous number held by another lead, A gets another one.
    do_not_call(&mut s, &a);
    let other = assign_got(&mut s, company, &e, Some("212-555-0000"));
    assert_eq!(
        (
            other.id.as_str(),
            other.chosen_by.as_str(),
            other.area_code_matched
        ),
        ("ret-212", "area_code", Some(true))
    );
    let instead = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (instead.id.as_str(), instead.chosen_by.as_str()),
        ("ret-415", "least_recently_used")
    );

    // The latest number the lead held is its previous number: ret-415 now, not ret-212.
    do_not_call(&mut s, &a);
    do_not_call(&mut s, &e);
    let latest = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (latest.id.as_str(), latest.chosen_by.as_str()),
        ("ret-415", "previous_number")
    );
    assert_pool_invariants(&mut s);
    assert_renewals_extend_running_holds(&mut s);
    assert_eq!(double_assignments(&mut s), 0);
}

#[test]
fn the_previous_number_is_remembered_by_plain_sql_holds_too_and_not_by_rolled_back_calls() {
    let db = TestDb::new("previous_remembered");
    let mut s = db.session();
    let company = "Remembered Realty";
    load_numbers(
        &mut s,
        company,
        &[("rem-1", "+12125550201"), ("rem-2", "+12125550202")],
    );
    let (a, b) = (lead(1450, 1), lead(1450, 2));
    // A hold made and ended with plain SQL (the original guide's way): the direct-change
    // trigger writes the ledger and lead_numbers as an assignment would.
    s.execute(
        "UPDATE signalwire_phone_numbers
         SET assignment_status = 'assigned', currently_assigned_to = $1,
             assigned_at = now(), release_at = now() + interval '1 hour'
         WHERE vapi_phone_number_id = 'rem-2'",
        &[&a],
    )
    .unwrap();
    assert_pool_invariants(&mut s);
    s.batch_execute(
        "UPDATE signalwire_phone_numbers
         SET assignment_status = 'available', currently_assigned_to = NULL, release_at = NULL
         WHERE vapi_phone_number_id = 'rem-2'",
    )
    .unwrap();
    // rem-1 is the least recently used; A gets rem-2 back.
    let back = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (back.id.as_str(), back.chosen_by.as_str()),
        ("rem-2", "previous_number")
    );
    // A caller that rolls back leaves no trace: B has no previous number afterwards.
    let mut tx = s.transaction().unwrap();
    let taken: String = tx
        .query_one(
            "SELECT vapi_phone_number_id FROM assign_phone_number($1, $2)",
            &[&company, &b],
        )
        .unwrap()
        .get(0);
    assert_eq!(taken, "rem-1");
    tx.rollback().unwrap();
    assert_eq!(
        count_of(
            &mut s,
            "SELECT count(*) FROM lead_numbers WHERE lead_id = $1",
            &[&b]
        ),
        0
    );
    assert_eq!(
        count_of(
            &mut s,
            "SELECT count(*) FROM lead_numbers
             WHERE company = $1 AND lead_id = $2 AND vapi_phone_number_id = 'rem-2'",
            &[&company, &a]
        ),
        1
    );
    assert_pool_invariants(&mut s);
}

#[test]
fn a_returning_lead_gets_its_number_back_while_it_rests_in_a_cooldown_and_no_one_else_does() {
    let db = TestDb::new("previous_resting");
    let mut s = db.session();
    let company = "Resting Return Realty";
    load_pool(&mut s, company, 8400, 2);
    s.query_one(
        "SELECT * FROM set_pool_rules($1, cooldown => '1 hour')",
        &[&company],
    )
    .unwrap();
    let (a, b, c) = (lead(1410, 1), lead(1410, 2), lead(1410, 3));
    let x = assign_got(&mut s, company, &a, None);
    let y = assign_got(&mut s, company, &c, None);
    assert_ne!(x.id, y.id);

    // X is released and rests for an hour.
    do_not_call(&mut s, &a);
    assert_eq!(number_state(&mut s, &x.id), "resting");

    // Another lead does not get X: the pool has nothing for it.
    let err = expect_error(try_assign(&mut s, company, &b, None), "53000");
    assert!(
        err.detail().unwrap_or_default().contains("resting"),
        "{:?}",
        err.detail()
    );

    // A gets X back, resting or not.
    let back = assign_got(&mut s, company, &a, None);
    assert_eq!(back.id, x.id);
    assert_eq!(back.chosen_by, "previous_number");
    assert_eq!(back.area_code_matched, None);
    assert_holds_for(&back, RETENTION_18H, "a previous number's new hold");

    // Both numbers resting: each lead gets its own back, a third lead nothing.
    force_release(&mut s, &x.id);
    do_not_call(&mut s, &c);
    assert_eq!(number_state(&mut s, &x.id), "resting");
    assert_eq!(number_state(&mut s, &y.id), "resting");
    expect_error(try_assign(&mut s, company, &b, None), "53000");
    let c_back = assign_got(&mut s, company, &c, None);
    assert_eq!(
        (c_back.id.as_str(), c_back.chosen_by.as_str()),
        (y.id.as_str(), "previous_number")
    );
    let a_back = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (a_back.id.as_str(), a_back.chosen_by.as_str()),
        (x.id.as_str(), "previous_number")
    );
    assert_eq!(
        count_of(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger WHERE lead_id = $1",
            &[&b]
        ),
        0,
        "B never held anything"
    );
    assert_pool_invariants(&mut s);
    assert_renewals_extend_running_holds(&mut s);
    assert_eq!(double_assignments(&mut s), 0);
}

#[test]
fn the_previous_number_is_skipped_when_retired_or_at_its_daily_cap() {
    let db = TestDb::new("previous_skipped");
    let mut s = db.session();

    // Retired: the least recently used number instead.
    let company = "Retired Return Realty";
    load_pool(&mut s, company, 8500, 3);
    let a = lead(1420, 1);
    let x = assign_got(&mut s, company, &a, None);
    force_release(&mut s, &x.id);
    let retired: bool = s
        .query_one("SELECT retire_phone_number($1)", &[&x.id])
        .unwrap()
        .get(0);
    assert!(retired);
    let instead = assign_got(&mut s, company, &a, None);
    assert_ne!(instead.id, x.id, "a retired number is never assigned");
    assert_eq!(instead.chosen_by, "least_recently_used");
    assert_eq!(
        pool_row(&mut s, &x.id).2,
        None,
        "the retired number stays free"
    );
    // Reactivated, the older number is not the previous one any more: the latest is.
    let reactivated: bool = s
        .query_one("SELECT reactivate_phone_number($1)", &[&x.id])
        .unwrap()
        .get(0);
    assert!(reactivated);
    force_release(&mut s, &instead.id);
    let latest = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (latest.id.as_str(), latest.chosen_by.as_str()),
        (instead.id.as_str(), "previous_number")
    );
    assert_pool_invariants(&mut s);

    // At its daily cap: the least recently used number instead.
    let company = "Capped Return Realty";
    load_pool(&mut s, company, 8501, 3);
    s.query_one(
        "SELECT * FROM set_pool_rules($1, daily_cap => 2)",
        &[&company],
    )
    .unwrap();
    let a = lead(1421, 1);
    let x = assign_got(&mut s, company, &a, None);
    assert_eq!(x.chosen_by, "least_recently_used");
    force_release(&mut s, &x.id);
    // Under the cap (1 of 2 today): the previous number.
    let second = assign_got(&mut s, company, &a, None);
    assert_eq!(
        (second.id.as_str(), second.chosen_by.as_str()),
        (x.id.as_str(), "previous_number")
    );
    force_release(&mut s, &x.id);
    assert_eq!(number_state(&mut s, &x.id), "at_cap");
    // At the cap (2 of 2 today): another number.
    let third = assign_got(&mut s, company, &a, None);
    assert_ne!(third.id, x.id, "a number at its daily cap is not assigned");
    assert_eq!(third.chosen_by, "least_recently_used");
    assert_eq!(
        count_of(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger
             WHERE event = 'assigned' AND vapi_phone_number_id = $1",
            &[&x.id]
        ),
        2
    );
    assert_pool_invariants(&mut s);
    assert_renewals_extend_running_holds(&mut s);
    assert_eq!(double_assignments(&mut s), 0);
}

// ---------------------------------------------------------------------------------------------
// 5. chosen_by and area_code_matched
// ---------------------------------------------------------------------------------------------

#[test]
fn chosen_by_says_how_the_number_was_chosen_and_area_code_matched_stays_as_it_was() {
    let db = TestDb::new("chosen_by");
    let mut s = db.session();
    let company = "Chosen Realty";
    // Least recently used in this order: a 415 number first, so a 212 lead's match is not
    // the plain least recently used one.
    load_numbers(
        &mut s,
        company,
        &[
            ("ch-415", "+14155550001"),
            ("ch-212", "+12125550002"),
            ("ch-310", "+13105550003"),
            ("ch-718", "+17185550004"),
        ],
    );
    let summary = |g: &Got| (g.id.clone(), g.chosen_by.clone(), g.area_code_matched);
    let row = |id: &str, by: &str, matched: Option<bool>| (id.to_string(), by.to_string(), matched);

    // A new lead without a phone: the least recently used number; no matching tried.
    let l1 = assign_got(&mut s, company, &lead(1500, 1), None);
    assert_eq!(summary(&l1), row("ch-415", "least_recently_used", None));
    // A new lead whose NANP area code matches a free number.
    let l2 = assign_got(&mut s, company, &lead(1500, 2), Some("(212) 555-0199"));
    assert_eq!(summary(&l2), row("ch-212", "area_code", Some(true)));
    // A new lead whose area code matches no free number: least recently used, not matched.
    let l3 = assign_got(&mut s, company, &lead(1500, 3), Some("(646) 555-0100"));
    assert_eq!(
        summary(&l3),
        row("ch-310", "least_recently_used", Some(false))
    );
    // A phone outside the North American plan: no matching tried.
    let l4 = assign_got(&mut s, company, &lead(1500, 4), Some("+44 20 7123 4567"));
    assert_eq!(summary(&l4), row("ch-718", "least_recently_used", None));
    // Repeat calls: current_hold; matched judged against the held number, NULL without phone.
    let again = assign_got(&mut s, company, &lead(1500, 2), Some("212.555.0199"));
    assert_eq!(summary(&again), row("ch-212", "current_hold", Some(true)));
    let again = assign_got(&mut s, company, &lead(1500, 2), Some("415-555-0000"));
    assert_eq!(summary(&again), row("ch-212", "current_hold", Some(false)));
    let again = assign_got(&mut s, company, &lead(1500, 2), None);
    assert_eq!(summary(&again), row("ch-212", "current_hold", None));

    // Local presence off: no area code preference, and no matching tried.
    let company = "Chosen Realty Off";
    load_numbers(
        &mut s,
        company,
        &[("off-415", "+14155550011"), ("off-212", "+12125550012")],
    );
    let rules = s
        .query_one(
            "SELECT local_presence FROM set_pool_rules($1, local_presence => false)",
            &[&company],
        )
        .unwrap();
    assert!(!rules.get::<_, bool>(0));
    let off = assign_got(&mut s, company, &lead(1501, 1), Some("(212) 555-0199"));
    assert_eq!(summary(&off), row("off-415", "least_recently_used", None));
    let off_again = assign_got(&mut s, company, &lead(1501, 1), Some("(212) 555-0199"));
    assert_eq!(summary(&off_again), row("off-415", "current_hold", None));

    // The column is named chosen_by, of type text, before from_overflow (issue 15), the last.
    let stmt = s
        .prepare("SELECT * FROM assign_phone_number($1::text, $2::uuid)")
        .unwrap();
    let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "vapi_phone_number_id",
            "number",
            "name",
            "assigned_broker_company",
            "assigned_at",
            "release_at",
            "area_code_matched",
            "chosen_by",
            "from_overflow"
        ]
    );
    assert_eq!(stmt.columns()[7].type_(), &postgres::types::Type::TEXT);
    assert_eq!(
        stmt.columns().last().unwrap().type_(),
        &postgres::types::Type::BOOL
    );
    assert_pool_invariants(&mut s);
}

// ---------------------------------------------------------------------------------------------
// 6. REPEATABLE READ and SERIALIZABLE callers
// ---------------------------------------------------------------------------------------------

/// What one racing session saw.
#[derive(Default)]
struct RaceSeen {
    /// Holds returned by committed assignments: (number id, lead, assigned_at as text).
    holds: HashSet<Hold>,
    /// Committed assignments by chosen_by.
    chosen_by: BTreeMap<String, u64>,
    /// Documented refusals by SQLSTATE (40001, 53000), any statement.
    refusals: BTreeMap<String, u64>,
    /// Anything else: must stay empty.
    unexpected: Vec<String>,
    releases: u64,
}

impl RaceSeen {
    fn failed(&mut self, what: &str, e: &postgres::Error) {
        let code = sqlstate(e);
        if code == "40001" || code == "53000" {
            *self.refusals.entry(code).or_default() += 1;
        } else {
            self.unexpected.push(format!("{what}: {code}: {e:?}"));
        }
    }
}

/// Runs `sql` (one statement, with params) in a transaction of `level` and commits; None and
/// the error recorded when any step failed (the transaction is rolled back).
fn in_transaction(
    s: &mut Client,
    level: &str,
    seen: &mut RaceSeen,
    what: &str,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Option<postgres::Row> {
    s.batch_execute(&format!("BEGIN ISOLATION LEVEL {level}"))
        .unwrap();
    let result = s
        .query_one(sql, params)
        .and_then(|row| s.batch_execute("COMMIT").map(|()| row));
    match result {
        Ok(row) => Some(row),
        Err(e) => {
            seen.failed(what, &e);
            // After a failed COMMIT there is no transaction left: ROLLBACK only warns.
            s.batch_execute("ROLLBACK").unwrap();
            None
        }
    }
}

fn race(level: &'static str, test: &str, company: &'static str, prefix: u32, group: u32) {
    const NUMBERS: i32 = 5;
    const THREADS: u32 = 8;
    const ATTEMPTS: u32 = 50;
    const SHARED_LEADS: u32 = 6;
    let db = Arc::new(TestDb::new(test));
    load_pool(&mut db.session(), company, prefix, NUMBERS);

    let start = Arc::new(Barrier::new(THREADS as usize));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            thread::spawn(move || {
                let mut s = db.session();
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((u64::from(t) + 1) * 0x1000_0001));
                let mut seen = RaceSeen::default();
                // New holds of this session not released yet: (number id, lead).
                let mut held: Vec<(String, Uuid)> = Vec::new();
                start.wait();
                for i in 0..ATTEMPTS {
                    // Half the calls are for a few leads every session asks for at about the
                    // same time (same-lead races, repeat calls); the rest for leads of their own.
                    let lead = if i % 2 == 0 {
                        lead(group, (i / 2) % SHARED_LEADS)
                    } else {
                        lead(group + 1 + t, i)
                    };
                    if let Some(row) = in_transaction(
                        &mut s,
                        level,
                        &mut seen,
                        "assign",
                        "SELECT vapi_phone_number_id, assigned_at::text, chosen_by
                         FROM assign_phone_number($1, $2)",
                        &[&company, &lead],
                    ) {
                        let id: String = row.get(0);
                        let chosen_by: String = row.get(2);
                        seen.holds.insert((id.clone(), lead, row.get(1)));
                        if chosen_by != "current_hold" {
                            held.push((id, lead));
                        }
                        *seen.chosen_by.entry(chosen_by).or_default() += 1;
                    }
                    // After every attempt each session keeps at most one of its holds, often
                    // none, so the pool keeps turning over: two in three releases by force,
                    // the others by expiry and the release job (a hold already gone is fine).
                    while held.len() > 1 || (!held.is_empty() && rng.below(2) == 0) {
                        let (id, lead) = held.swap_remove(rng.below(held.len() as u64) as usize);
                        let done = if rng.below(3) > 0 {
                            in_transaction(
                                &mut s,
                                level,
                                &mut seen,
                                "force release",
                                "SELECT force_release_phone_number($1, 'race')",
                                &[&id],
                            )
                            .map(|r| seen.releases += u64::from(r.get::<_, bool>(0)))
                        } else {
                            s.execute(
                                "UPDATE signalwire_phone_numbers
                                 SET release_at = now() - interval '1 second'
                                 WHERE vapi_phone_number_id = $1 AND currently_assigned_to = $2",
                                &[&id, &lead],
                            )
                            .unwrap();
                            in_transaction(
                                &mut s,
                                level,
                                &mut seen,
                                "release job",
                                "SELECT release_expired_phone_numbers()",
                                &[],
                            )
                            .map(|r| seen.releases += r.get::<_, i64>(0) as u64)
                        };
                        if done.is_none() {
                            // Refused (40001): try again after the next attempt.
                            held.push((id, lead));
                            break;
                        }
                    }
                }
                seen
            })
        })
        .collect();

    let mut total = RaceSeen::default();
    for w in workers {
        let seen = w.join().unwrap();
        total.holds.extend(seen.holds);
        total.releases += seen.releases;
        for (k, n) in seen.chosen_by {
            *total.chosen_by.entry(k).or_default() += n;
        }
        for (k, n) in seen.refusals {
            *total.refusals.entry(k).or_default() += n;
        }
        total.unexpected.extend(seen.unexpected);
    }
    println!(
        "{level}: {THREADS} sessions x {ATTEMPTS} on {NUMBERS} numbers: {} holds, chosen_by {:?}, \
         {} releases, refusals {:?}",
        total.holds.len(),
        total.chosen_by,
        total.releases,
        total.refusals
    );
    assert!(
        total.unexpected.is_empty(),
        "{level}: {} errors other than 40001 and 53000, first: {:#?}",
        total.unexpected.len(),
        &total.unexpected[..total.unexpected.len().min(5)]
    );
    let committed: u64 = total.chosen_by.values().sum();
    assert!(
        committed >= u64::from(NUMBERS as u32),
        "{level}: only {committed} assignments"
    );
    assert!(
        total.chosen_by.keys().all(|k| [
            "current_hold",
            "previous_number",
            "area_code",
            "least_recently_used"
        ]
        .contains(&k.as_str())),
        "{:?}",
        total.chosen_by
    );

    let mut check = db.session();
    assert_pool_invariants(&mut check);
    assert_holds_never_overlap_in_time(&mut check);
    assert_eq!(
        double_assignments(&mut check),
        0,
        "{level}: double_assignments"
    );
    assert_renewals_extend_running_holds(&mut check);
    let renewals = count(
        &mut check,
        "SELECT count(*) FROM phone_number_ledger WHERE event = 'renewed'",
    );
    println!("{level}: {renewals} renewals in the ledger");
    // The clients' committed holds and the ledger's assignments are the same, both ways.
    let ledger = ledger_holds(&mut check);
    let missing: Vec<_> = total.holds.difference(&ledger).collect();
    let unseen: Vec<_> = ledger.difference(&total.holds).collect();
    assert!(
        missing.is_empty() && unseen.is_empty(),
        "{level}: committed holds not in the ledger: {missing:?}; ledger holds no client committed: {unseen:?}"
    );
    // The alert bookkeeping the assignments skipped can be caught up with.
    check.query_one("SELECT check_pool_alerts()", &[]).unwrap();
}

#[test]
fn repeatable_read_callers_racing_on_a_small_pool_get_a_number_or_40001() {
    race(
        "REPEATABLE READ",
        "race_repeatable_read",
        "Race Realty RR",
        8600,
        1600,
    );
}

#[test]
fn serializable_callers_racing_on_a_small_pool_get_a_number_or_40001() {
    race(
        "SERIALIZABLE",
        "race_serializable",
        "Race Realty SER",
        8700,
        1700,
    );
}

#[test]
fn a_snapshot_older_than_the_leads_committed_hold_gets_40001_not_a_second_number() {
    let db = TestDb::new("old_snapshot");
    let mut setup = db.session();
    for (i, level) in ["REPEATABLE READ", "SERIALIZABLE"].into_iter().enumerate() {
        let company = format!("Snapshot Realty {i}");
        load_pool(&mut setup, &company, 8800 + i as u32, 3);
        let (l, m) = (lead(1800 + i as u32, 1), lead(1800 + i as u32, 2));
        let mut t1 = db.session();
        let mut t2 = db.session();

        // T2 takes its snapshot; then T1 assigns lead L and commits.
        t2.batch_execute(&format!("BEGIN ISOLATION LEVEL {level}; SELECT 1"))
            .unwrap();
        let held = assign_got(&mut t1, &company, &l, None);
        assert_eq!(held.chosen_by, "least_recently_used");

        // T2, whose snapshot does not see L's hold, asks for L: 40001, not a second number.
        let err = expect_error(try_assign(&mut t2, &company, &l, None), "40001");
        t2.batch_execute("ROLLBACK").unwrap();
        assert_eq!(
            count_of(
                &mut setup,
                "SELECT count(*) FROM signalwire_phone_numbers WHERE currently_assigned_to = $1",
                &[&l]
            ),
            1,
            "{level}: {}",
            err.message()
        );
        assert_eq!(
            count_of(
                &mut setup,
                "SELECT count(*) FROM phone_number_ledger WHERE lead_id = $1",
                &[&l]
            ),
            1,
            "{level}: only T1's assignment is in the ledger"
        );

        // Retried in a new transaction, T2 gets L's number back.
        t2.batch_execute(&format!("BEGIN ISOLATION LEVEL {level}"))
            .unwrap();
        let retried = assign_got(&mut t2, &company, &l, None);
        t2.batch_execute("COMMIT").unwrap();
        assert_eq!(
            (retried.id.as_str(), retried.chosen_by.as_str()),
            (held.id.as_str(), "current_hold")
        );

        // Another lead in a snapshot older than L's hold never gets L's number.
        t2.batch_execute(&format!("BEGIN ISOLATION LEVEL {level}; SELECT 1"))
            .unwrap();
        let l2 = lead(1800 + i as u32, 3);
        let held2 = assign_got(&mut t1, &company, &l2, None);
        match try_assign(&mut t2, &company, &m, None) {
            Ok(got) => {
                assert_ne!(got.id, held.id, "{level}: M got L's number");
                assert_ne!(got.id, held2.id, "{level}: M got L2's number");
                t2.batch_execute("COMMIT").unwrap();
            }
            Err(e) => {
                assert!(
                    ["40001", "53000"].contains(&sqlstate(&e).as_str()),
                    "{level}: {e:?}"
                );
                t2.batch_execute("ROLLBACK").unwrap();
            }
        }
        assert_pool_invariants(&mut setup);
        assert_holds_never_overlap_in_time(&mut setup);
        assert_eq!(double_assignments(&mut setup), 0, "{level}");
        assert_renewals_extend_running_holds(&mut setup);
    }
}
