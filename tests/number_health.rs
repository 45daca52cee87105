//! Issue 15's number health through real sessions: a number whose answers collapse against
//! its company's is quarantined at the outcome that crosses the rule, notified once (on
//! commit only), never assigned while quarantined, and back with its history forgotten when
//! an operator reinstates it or its time is up; a company-wide fall quarantines nothing.

mod common;

use std::time::Duration;

use common::*;
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;

/// One call from number `id` of `company` to a new lead, with `outcome`, then the number free
/// again: the number is made the company's least recently used, assigned, the outcome
/// recorded, and whatever hold is left released.
fn call(s: &mut Client, company: &str, id: &str, lead: &uuid::Uuid, outcome: &str) {
    s.execute(
        "UPDATE signalwire_phone_numbers
         SET assigned_at = CASE WHEN vapi_phone_number_id = $2 THEN NULL
                                ELSE coalesce(assigned_at, now()) END
         WHERE assigned_broker_company = $1 AND assignment_status = 'available'",
        &[&company, &id],
    )
    .unwrap();
    assert_eq!(assign(s, company, lead).unwrap(), id);
    s.execute("SELECT record_call_outcome($1, $2)", &[lead, &outcome])
        .unwrap();
    s.execute("SELECT force_release_phone_number($1)", &[&id])
        .unwrap();
}

/// `rounds` rounds in which each of the company's three numbers is called in turn, with the
/// outcome `outcome_of(round)`.
fn every_number_in_turns(
    s: &mut Client,
    company: &str,
    group: u32,
    rounds: u32,
    outcome_of: impl Fn(u32) -> &'static str,
) {
    for round in 0..rounds {
        for i in 1..=3 {
            let id = format!("{company}-{i}");
            call(
                s,
                company,
                &id,
                &lead(group, round * 10 + i),
                outcome_of(round),
            );
        }
    }
}

/// The quarantine notifications a LISTENing session receives within `wait` of the first
/// (and 300 ms of each next one).
fn quarantines(listener: &mut Client, wait: Duration) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    let mut notes = listener.notifications();
    let mut timeout = wait;
    while let Some(note) = notes.timeout_iter(timeout).next().expect("notifications") {
        assert_eq!(note.channel(), "pool_ext_quarantine");
        got.push(serde_json::from_str(note.payload()).expect("JSON payload"));
        timeout = Duration::from_millis(300);
    }
    got
}

fn state(s: &mut Client, id: &str) -> (String, i64) {
    let row = s
        .query_one(
            "SELECT state, calls::int8 FROM number_health WHERE vapi_phone_number_id = $1",
            &[&id],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// A company of `numbers` numbers with the rule on (below 0.5 of the company's rate, over 4
/// calls, for 2 days). In a company of four, number 1 is the one under watch.
fn company_with_rule(s: &mut Client, company: &str, prefix: u32, numbers: i32) {
    load_pool(s, company, prefix, numbers);
    s.execute(
        "SELECT set_pool_rules($1, quarantine_below => 0.5, health_min_calls => 4,
                               quarantine_for => '2 days')",
        &[&company],
    )
    .unwrap();
}

/// One round of calls: numbers 2 to 4 each answered, then number 1 with `outcome`. The
/// company's rate is taken over the same period as number 1's window, so the others must
/// keep calling while it does.
fn round(s: &mut Client, company: &str, group: u32, n: u32, outcome: &str) {
    for good in 2..=4 {
        let id = format!("{company}-{good}");
        call(s, company, &id, &lead(group, n * 10 + good), "no_booking");
    }
    call(
        s,
        company,
        &format!("{company}-1"),
        &lead(group, n * 10 + 1),
        outcome,
    );
}

#[test]
fn a_number_whose_answers_collapse_is_quarantined_at_the_crossing_outcome_and_never_assigned() {
    let db = TestDb::new("health_quarantine");
    let mut l = db.session();
    l.batch_execute("LISTEN pool_ext_quarantine").unwrap();
    let mut s = db.session();
    let company = "Health Realty";
    company_with_rule(&mut s, company, 8890, 4);
    let bad = "Health Realty-1";
    let quiet = Duration::from_millis(300);

    for n in 1..=3 {
        round(&mut s, company, 90, n, "no_answer");
        assert_eq!(state(&mut s, bad), ("probation".into(), i64::from(n)));
    }
    assert!(
        quarantines(&mut l, quiet).is_empty(),
        "probation: no quarantine"
    );

    // The fourth no_answer crosses the rule: 0 answered against the company's 9 of 13 since
    // number 1's first call (0 < 0.5 x 0.692); a rollback takes it back.
    s.batch_execute("BEGIN").unwrap();
    round(&mut s, company, 90, 4, "no_answer");
    assert_eq!(state(&mut s, bad).0, "quarantined");
    s.batch_execute("ROLLBACK").unwrap();
    assert!(quarantines(&mut l, quiet).is_empty(), "a rollback notified");
    assert_eq!(state(&mut s, bad), ("probation".into(), 3));

    round(&mut s, company, 90, 4, "no_answer");
    let got = quarantines(&mut l, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "{got:?}");
    let note = &got[0];
    assert_eq!(note["company"], company);
    assert_eq!(note["vapi_phone_number_id"], bad);
    assert_eq!(note["number"], "+1889000001");
    assert_eq!(note["answer_rate"], 0.0);
    assert_eq!(note["company_answer_rate"], 0.692);
    assert_eq!(note["calls"], 4);
    assert!(note["quarantined_until"].is_string());
    let row = s
        .query_one(
            "SELECT state, calls::int8, answer_rate::float8, company_answer_rate::float8,
                    quarantined_until - now() > interval '47 hours'
             FROM number_health WHERE vapi_phone_number_id = $1",
            &[&bad],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "quarantined");
    assert_eq!(row.get::<_, i64>(1), 4);
    assert_eq!(row.get::<_, f64>(2), 0.0);
    assert_eq!(row.get::<_, f64>(3), 0.692);
    assert!(row.get::<_, bool>(4));
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger
             WHERE event = 'quarantined' AND vapi_phone_number_id = 'Health Realty-1'
               AND reason = 'answer rate 0.000 over 4 calls, below 0.5 x the company''s 0.692'"
        ),
        1
    );

    // Never assigned while quarantined: the other three go, then the pool is exhausted and
    // says why.
    for n in 1..=3 {
        assert_ne!(assign(&mut s, company, &lead(92, n)).unwrap(), bad);
    }
    let e = expect_error(assign(&mut s, company, &lead(92, 4)), "53000");
    assert_eq!(
        e.detail(),
        Some("3 of 4 numbers are assigned, 1 quarantined for a low answer rate.")
    );
    let health: (i64, i64) = {
        let row = s
            .query_one(
                "SELECT available, quarantined FROM pool_health WHERE company = $1",
                &[&company],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(health, (0, 1));

    // No further notification: the refusals and the other assignments quarantine nothing.
    assert!(quarantines(&mut l, quiet).is_empty());

    // A monitoring role reads number_health, never the windows behind it.
    s.batch_execute(
        "DROP ROLE IF EXISTS pe_health_monitor; CREATE ROLE pe_health_monitor;
         SELECT grant_pool_access('pe_health_monitor', 'monitor');
         SET ROLE pe_health_monitor",
    )
    .unwrap();
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pool_ext.number_health WHERE company = 'Health Realty'"
        ),
        4
    );
    expect_error(
        s.query_one("SELECT count(*) FROM pool_ext.number_health_windows", &[]),
        "42501",
    );
    s.batch_execute(
        "RESET ROLE; SELECT revoke_pool_access('pe_health_monitor'); DROP ROLE pe_health_monitor",
    )
    .unwrap();
    assert_pool_invariants(&mut s);
}

#[test]
fn reinstatement_and_expiry_bring_a_number_back_with_its_history_forgotten() {
    let db = TestDb::new("health_reinstate");
    let mut s = db.session();
    let company = "Reinstate Realty";
    company_with_rule(&mut s, company, 8930, 4);
    let bad = "Reinstate Realty-1";
    for n in 1..=4 {
        round(&mut s, company, 93, n, "no_answer");
    }
    assert_eq!(state(&mut s, bad).0, "quarantined");

    // An operator takes it back at once: active, no calls counted, assignable.
    let back: bool = s
        .query_one("SELECT reinstate_phone_number($1)", &[&bad])
        .unwrap()
        .get(0);
    assert!(back);
    assert_eq!(state(&mut s, bad), ("probation".into(), 0));
    let again: bool = s
        .query_one("SELECT reinstate_phone_number($1)", &[&bad])
        .unwrap()
        .get(0);
    assert!(!again, "not quarantined any more");
    expect_error(
        s.query_one("SELECT reinstate_phone_number('No Such Number')", &[]),
        "42704",
    );
    // Quarantined again by new calls only: one answered, then three not (1 of 4 against the
    // company's 10 of 13 since: 0.25 < 0.5 x 0.769) ...
    round(&mut s, company, 94, 1, "no_booking");
    for n in 2..=3 {
        round(&mut s, company, 94, n, "no_answer");
        assert_eq!(state(&mut s, bad).0, "probation");
    }
    round(&mut s, company, 94, 4, "no_answer");
    assert_eq!(state(&mut s, bad).0, "quarantined");
    // ... until its time is up: the release job ends the quarantine.
    s.execute(
        "UPDATE signalwire_phone_numbers SET quarantined_until = now() - interval '1 second'
         WHERE vapi_phone_number_id = $1",
        &[&bad],
    )
    .unwrap();
    s.execute("SELECT release_expired_phone_numbers()", &[])
        .unwrap();
    assert_eq!(state(&mut s, bad), ("probation".into(), 0));
    round(&mut s, company, 94, 5, "no_booking");
    assert_eq!(state(&mut s, bad), ("probation".into(), 1));
    assert_pool_invariants(&mut s);
}

#[test]
fn a_company_wide_fall_quarantines_nothing_and_the_rule_is_off_by_default() {
    let db = TestDb::new("health_relative");
    let mut s = db.session();
    let company = "Quiet Realty";
    company_with_rule(&mut s, company, 8950, 3);
    // Answered at first, then nobody answers any number: each number's window falls to 0, but
    // so does the company's rate over the same period, so no number stands out.
    every_number_in_turns(&mut s, company, 95, 5, |round| {
        if round == 0 {
            "no_booking"
        } else {
            "no_answer"
        }
    });
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM number_health WHERE company = 'Quiet Realty' AND state = 'healthy'"
        ),
        3
    );

    // Every number answering half its calls, the company too: no number stands out.
    let company = "Even Realty";
    company_with_rule(&mut s, company, 8955, 3);
    every_number_in_turns(&mut s, company, 98, 6, |round| {
        if round % 2 == 0 {
            "no_booking"
        } else {
            "no_answer"
        }
    });
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM number_health
             WHERE company = 'Even Realty' AND state = 'healthy' AND answer_rate = 0.5"
        ),
        3
    );

    // A retired number forgets its calls: reactivated, it starts on probation.
    s.execute("SELECT retire_phone_number('Even Realty-1')", &[])
        .unwrap();
    s.execute("SELECT reactivate_phone_number('Even Realty-1')", &[])
        .unwrap();
    assert_eq!(state(&mut s, "Even Realty-1"), ("probation".into(), 0));

    // Without quarantine_below (the default), the worst number stays in rotation.
    let company = "Default Realty";
    load_pool(&mut s, company, 8960, 2);
    for i in 1..=25 {
        call(
            &mut s,
            company,
            "Default Realty-1",
            &lead(96, i),
            "no_answer",
        );
        call(
            &mut s,
            company,
            "Default Realty-2",
            &lead(97, i),
            "no_booking",
        );
    }
    assert_eq!(state(&mut s, "Default Realty-1"), ("healthy".into(), 20));
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger WHERE event = 'quarantined'"
        ),
        0
    );
    assert_pool_invariants(&mut s);
}

#[test]
fn a_hold_on_a_number_out_of_rotation_runs_out_and_a_repeat_call_does_not_renew_it() {
    let db = TestDb::new("health_hold_runs_out");
    let mut s = db.session();
    let company = "Runs Out Realty";
    company_with_rule(&mut s, company, 8893, 4);
    let bad = "Runs Out Realty-1";
    for n in 1..=3 {
        round(&mut s, company, 95, n, "no_answer");
    }
    // The crossing outcome is recorded while number 1 holds its lead: no_answer keeps the hold
    // to the end of the company's day, and quarantines the number.
    let held = lead(95, 99);
    s.execute(
        "UPDATE signalwire_phone_numbers SET assigned_at = NULL WHERE vapi_phone_number_id = $1",
        &[&bad],
    )
    .unwrap();
    for good in 2..=4 {
        let id = format!("{company}-{good}");
        call(&mut s, company, &id, &lead(95, 40 + good), "no_booking");
    }
    s.execute(
        "UPDATE signalwire_phone_numbers SET assigned_at = NULL WHERE vapi_phone_number_id = $1",
        &[&bad],
    )
    .unwrap();
    assert_eq!(assign(&mut s, company, &held).unwrap(), bad);
    s.execute("SELECT record_call_outcome($1, 'no_answer')", &[&held])
        .unwrap();
    assert_eq!(state(&mut s, bad).0, "quarantined");
    // Shorten the hold so that a renewal would move it: a repeat call must return the
    // number as it is, its end unchanged and no 'renewed' row written.
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() + interval '5 minutes'
         WHERE vapi_phone_number_id = $1",
        &[&bad],
    )
    .unwrap();
    let before: String = s
        .query_one(
            "SELECT release_at::text FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
            &[&bad],
        )
        .unwrap()
        .get(0);
    let row = s
        .query_one(
            "SELECT vapi_phone_number_id, chosen_by, release_at::text
             FROM assign_phone_number($1, $2)",
            &[&company, &held],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), bad);
    assert_eq!(row.get::<_, String>(1), "current_hold");
    assert_eq!(row.get::<_, String>(2), before);
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM phone_number_ledger
             WHERE event = 'renewed' AND vapi_phone_number_id = 'Runs Out Realty-1'"
        ),
        0
    );
    // A retired number's hold is not renewed either; an active one is.
    let active = lead(95, 98);
    let id = assign(&mut s, company, &active).unwrap();
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() + interval '5 minutes'
         WHERE vapi_phone_number_id = $1",
        &[&id],
    )
    .unwrap();
    assert_eq!(assign(&mut s, company, &active).unwrap(), id);
    assert_eq!(
        count(
            &mut s,
            &format!(
                "SELECT count(*) FROM signalwire_phone_numbers
                 WHERE vapi_phone_number_id = '{id}' AND release_at > now() + interval '1 hour'"
            )
        ),
        1
    );
    s.execute("SELECT retire_phone_number($1)", &[&id]).unwrap();
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() + interval '5 minutes'
         WHERE vapi_phone_number_id = $1",
        &[&id],
    )
    .unwrap();
    assert_eq!(assign(&mut s, company, &active).unwrap(), id);
    assert_eq!(
        count(
            &mut s,
            &format!(
                "SELECT count(*) FROM signalwire_phone_numbers
                 WHERE vapi_phone_number_id = '{id}' AND release_at < now() + interval '6 minutes'"
            )
        ),
        1
    );
    assert_pool_invariants(&mut s);
}
