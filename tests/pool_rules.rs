//! Issue 7's rules through real sessions: local presence, cooldowns, daily caps, low-water
//! alerts (pg_notify, seen by a LISTENing session), pool analytics and the runway forecast.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;

/// (number id, area_code_matched) of an assignment with the lead's phone.
fn assign_with_phone(
    s: &mut Client,
    company: &str,
    lead: &uuid::Uuid,
    phone: Option<&str>,
) -> (String, Option<bool>) {
    let row = s
        .query_one(
            "SELECT vapi_phone_number_id, area_code_matched FROM assign_phone_number($1, $2, $3)",
            &[&company, lead, &phone],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn local_presence_prefers_the_leads_area_code_then_falls_back() {
    let db = TestDb::new("local_presence");
    let mut s = db.session();
    let company = "Local Realty";
    load_numbers(
        &mut s,
        company,
        &[
            ("lp-212", "+12125550001"),
            ("lp-310", "+13105550002"),
            ("lp-415a", "+14155550003"),
            ("lp-415b", "+14155550004"),
        ],
    );
    // Without the lead's phone: the least recently used number, and no matching was tried.
    assert_eq!(
        assign_with_phone(&mut s, company, &lead(70, 1), None),
        ("lp-212".into(), None)
    );
    // The lead's area code, however the phone is written, picks a number of that area,
    // the least recently used of them first.
    assert_eq!(
        assign_with_phone(&mut s, company, &lead(70, 2), Some("(415) 555-0199")),
        ("lp-415a".into(), Some(true))
    );
    assert_eq!(
        assign_with_phone(&mut s, company, &lead(70, 3), Some("+1 415.555.0100")),
        ("lp-415b".into(), Some(true))
    );
    // No 415 number left: the company's least recently used one, and the row says so.
    assert_eq!(
        assign_with_phone(&mut s, company, &lead(70, 4), Some("4155550101")),
        ("lp-310".into(), Some(false))
    );
    // A lead asking again gets its number back; matched is judged against that number.
    assert_eq!(
        assign_with_phone(&mut s, company, &lead(70, 2), Some("212-555-0000")),
        ("lp-415a".into(), Some(false))
    );
    assert_eq!(
        assign_with_phone(&mut s, company, &lead(70, 2), Some("415-555-0000")),
        ("lp-415a".into(), Some(true))
    );

    // The switch: with local presence off the order is plain least recently used and the
    // result says no matching was tried.
    s.batch_execute(
        "SELECT force_release_phone_number(vapi_phone_number_id) FROM signalwire_phone_numbers
         WHERE assigned_broker_company = 'Local Realty'",
    )
    .unwrap();
    let row = s
        .query_one(
            "SELECT local_presence FROM set_pool_rules('Local Realty', local_presence => false)",
            &[],
        )
        .unwrap();
    assert!(!row.get::<_, bool>(0));
    // lp-212 was used longest ago; with matching on, a 415 lead would get lp-415a.
    assert_eq!(
        assign_with_phone(&mut s, company, &lead(71, 1), Some("415-555-0199")),
        ("lp-212".into(), None)
    );

    // A number outside the North American plan, or not a number, never matches anything
    // and takes the plain path.
    s.query_one(
        "SELECT * FROM set_pool_rules('Local Realty', local_presence => true)",
        &[],
    )
    .unwrap();
    let (_, matched) = assign_with_phone(&mut s, company, &lead(71, 2), Some("+44 20 7123 4567"));
    assert_eq!(matched, None);
    let (_, matched) = assign_with_phone(&mut s, company, &lead(71, 3), Some("call me maybe"));
    assert_eq!(matched, None);
    assert_pool_invariants(&mut s);
}

#[test]
fn cooldown_rests_a_released_number_before_anyone_else_gets_it() {
    let db = TestDb::new("cooldown");
    let mut s = db.session();
    let company = "Cooldown Realty";
    load_pool(&mut s, company, 7100, 2);
    let rules = s
        .query_one(
            "SELECT cooldown::text FROM set_pool_rules('Cooldown Realty', cooldown => '2 seconds')",
            &[],
        )
        .unwrap();
    assert_eq!(rules.get::<_, String>(0), "00:00:02");
    let first = assign(&mut s, company, &lead(72, 1)).unwrap();
    assign(&mut s, company, &lead(72, 2)).unwrap();

    // Released by an outcome: it rests, and the pool has nothing to give meanwhile.
    s.query(
        "SELECT * FROM record_call_outcome($1, 'do_not_call')",
        &[&lead(72, 1)],
    )
    .unwrap();
    let err = expect_error(assign(&mut s, company, &lead(72, 3)), "53000");
    assert_eq!(
        err.detail(),
        Some("1 of 2 numbers are assigned, 1 resting after a release (cooldown).")
    );
    let row = s
        .query_one(
            "SELECT available, resting FROM pool_health WHERE company = $1",
            &[&company],
        )
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (0, 1));
    let resting_for = s
        .query_one(
            "SELECT extract(epoch FROM resting_until - now())::float8 FROM number_states
             WHERE vapi_phone_number_id = $1 AND state = 'resting'",
            &[&first],
        )
        .unwrap()
        .get::<_, f64>(0);
    assert!(resting_for > 0.0 && resting_for <= 2.0, "{resting_for}");

    // After the cooldown the same number goes to the next lead.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(assign(&mut s, company, &lead(72, 3)).unwrap(), first);

    // Every API release starts the cooldown: the release job and a forced release too.
    s.batch_execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() - interval '1 minute'
         WHERE currently_assigned_to IS NOT NULL AND assigned_broker_company = 'Cooldown Realty'",
    )
    .unwrap();
    assert_eq!(count(&mut s, "SELECT release_expired_phone_numbers()"), 2);
    assert_eq!(
        count(
            &mut s,
            "SELECT resting FROM pool_health WHERE company = 'Cooldown Realty'"
        ),
        2
    );
    // No cooldown (the default, or set back to 0): a released number is free at once.
    s.query_one(
        "SELECT * FROM set_pool_rules('Cooldown Realty', cooldown => '0')",
        &[],
    )
    .unwrap();
    assert_eq!(
        count(
            &mut s,
            "SELECT available FROM pool_health WHERE company = 'Cooldown Realty'"
        ),
        2
    );
    let id = assign(&mut s, company, &lead(72, 4)).unwrap();
    s.query("SELECT force_release_phone_number($1)", &[&id])
        .unwrap();
    assert_eq!(
        count(
            &mut s,
            "SELECT available FROM pool_health WHERE company = 'Cooldown Realty'"
        ),
        2
    );
    assert_pool_invariants(&mut s);
}

#[test]
fn daily_cap_counts_the_ledger_since_the_start_of_the_companys_day() {
    let db = TestDb::new("daily_cap");
    let mut s = db.session();
    // A zone whose date differs from UTC's right now (UTC+14 from 10:00 UTC, UTC-11 before
    // 11:00 UTC), so counting by the UTC day would fail below.
    let zone: String = s
        .query_one(
            "SELECT CASE WHEN (now() AT TIME ZONE 'Pacific/Kiritimati')::date
                              <> (now() AT TIME ZONE 'UTC')::date
                         THEN 'Pacific/Kiritimati' ELSE 'Pacific/Pago_Pago' END",
            &[],
        )
        .unwrap()
        .get(0);
    let capped = |s: &mut Client, company: &str, prefix: u32, cap: i32| {
        load_pool(s, company, prefix, 1);
        s.query_one(
            "SELECT * FROM set_company_policy($1, time_zone => $2)",
            &[&company, &zone],
        )
        .unwrap();
        s.query_one(
            "SELECT * FROM set_pool_rules($1, daily_cap => $2)",
            &[&company, &cap],
        )
        .unwrap();
    };

    // Two assignments today through the API: the number is at its cap of 2.
    let company = "Capped Realty";
    capped(&mut s, company, 7200, 2);
    for n in 1..=2 {
        let id = assign(&mut s, company, &lead(73, n)).unwrap();
        s.query("SELECT force_release_phone_number($1)", &[&id])
            .unwrap();
    }
    let err = expect_error(assign(&mut s, company, &lead(73, 3)), "53000");
    assert_eq!(
        err.detail(),
        Some("0 of 1 numbers are assigned, 1 at their daily cap.")
    );
    assert!(err.hint().unwrap().contains("set_pool_rules"));
    let row = s
        .query_one(
            "SELECT h.available, h.at_cap, n.state, n.assignments_today
             FROM pool_health AS h JOIN number_states AS n USING (company) WHERE company = $1",
            &[&company],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);
    assert_eq!(row.get::<_, i64>(1), 1);
    assert_eq!(row.get::<_, String>(2), "at_cap");
    assert_eq!(row.get::<_, i64>(3), 2);

    // The day is the company's: an assignment a minute before its local midnight does not
    // count today, one a minute after does.
    let day_start = "date_trunc('day', now() AT TIME ZONE $2) AT TIME ZONE $2";
    for (company, prefix, offset, may_assign) in [
        ("Capped Realty Yesterday", 7201, "-1 minute", true),
        ("Capped Realty Today", 7202, "1 minute", false),
    ] {
        capped(&mut s, company, prefix, 1);
        s.execute(
            &format!(
                "INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
                 SELECT 'assigned', vapi_phone_number_id, number, $1, gen_random_uuid(),
                        {day_start} + $3::text::interval, 'test'
                 FROM signalwire_phone_numbers WHERE assigned_broker_company = $1"
            ),
            &[&company, &zone, &offset],
        )
        .unwrap();
        let result = assign(&mut s, company, &lead(74, prefix));
        assert_eq!(
            result.is_ok(),
            may_assign,
            "{company} in {zone}: {result:?}"
        );
        if !may_assign {
            expect_error(result, "53000");
        }
    }

    // 0 removes the cap: the number may go again at once.
    let row = s
        .query_one(
            "SELECT daily_cap FROM set_pool_rules('Capped Realty', daily_cap => 0)",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), None);
    assign(&mut s, company, &lead(73, 3)).unwrap();
    // (No assert_pool_invariants here: the hand-written ledger rows above are holds without
    // their releases.)
}

/// The low-water notifications a LISTENing session receives: waits up to `wait` for the first
/// one, then takes whatever else arrives within 300 ms.
fn alerts(listener: &mut Client, wait: Duration) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    let mut notes = listener.notifications();
    let mut timeout = wait;
    loop {
        let next = notes.timeout_iter(timeout).next().expect("notifications");
        let Some(note) = next else { break };
        assert_eq!(note.channel(), "pool_ext_low_water");
        got.push(serde_json::from_str(note.payload()).expect("JSON payload"));
        timeout = Duration::from_millis(300);
    }
    got
}

fn listener(db: &TestDb) -> Client {
    let mut l = db.session();
    l.batch_execute("LISTEN pool_ext_low_water").unwrap();
    l
}

#[test]
fn low_water_alert_is_sent_once_per_crossing_on_the_way_down_and_only_on_commit() {
    let db = TestDb::new("low_water");
    let mut l = listener(&db);
    let mut s = db.session();
    let company = "Alert Realty";
    load_pool(&mut s, company, 7300, 5); // default mark: a fifth of 5, 1 number
    let quiet = Duration::from_millis(300);

    for n in 1..=3 {
        assign(&mut s, company, &lead(74, n)).unwrap();
    }
    assert!(alerts(&mut l, quiet).is_empty(), "above the mark: no alert");

    // The assignment that leaves 1 free alerts, but only when its transaction commits.
    s.batch_execute("BEGIN").unwrap();
    assign(&mut s, company, &lead(74, 4)).unwrap();
    s.batch_execute("ROLLBACK").unwrap();
    assert!(
        alerts(&mut l, quiet).is_empty(),
        "a rolled back assignment alerted"
    );
    assign(&mut s, company, &lead(74, 4)).unwrap();
    let got = alerts(&mut l, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0],
        serde_json::json!({"company": company, "available": 1, "total": 5, "low_water_mark": 1})
    );
    let row = s
        .query_one(
            "SELECT level, available, numbers, low_water_mark, alerted_at IS NOT NULL
             FROM pool_alerts WHERE company = $1",
            &[&company],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "low");
    assert_eq!(
        (
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
            row.get::<_, i64>(3)
        ),
        (1, 5, 1)
    );
    assert!(row.get::<_, bool>(4));

    // Down to empty, and refused: no second alert for the same crossing.
    assign(&mut s, company, &lead(74, 5)).unwrap();
    expect_error(assign(&mut s, company, &lead(74, 6)), "53000");
    assert!(alerts(&mut l, quiet).is_empty());
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pool_alerts WHERE company = 'Alert Realty' AND level = 'empty'"
        ),
        1
    );
    assert_eq!(
        count(&mut s, "SELECT check_pool_alerts()::int8"),
        0,
        "already alerted"
    );

    // Refilled: an assignment above the mark re-arms, and the next crossing alerts again.
    s.batch_execute(
        "SELECT force_release_phone_number(vapi_phone_number_id) FROM signalwire_phone_numbers
         WHERE assigned_broker_company = 'Alert Realty'",
    )
    .unwrap();
    assign(&mut s, company, &lead(75, 1)).unwrap(); // 4 free: re-armed
    assert_eq!(count(&mut s, "SELECT count(*) FROM pool_alert_state"), 0);
    // A count as the mark: alert at 3 free.
    let row = s
        .query_one(
            "SELECT low_water_count, low_water_share FROM set_pool_rules('Alert Realty', low_water_count => 3)",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), Some(3));
    assert_eq!(row.get::<_, Option<f64>>(1), None);
    assign(&mut s, company, &lead(75, 2)).unwrap(); // 3 free
    let got = alerts(&mut l, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["available"], 3);
    assert_eq!(got[0]["low_water_mark"], 3);
    assert_pool_invariants(&mut s);
}

#[test]
fn concurrent_callers_draining_a_pool_get_exactly_one_alert_with_the_check() {
    let db = TestDb::new("low_water_burst");
    let mut l = listener(&db);
    let mut s = db.session();
    let company = "Burst Realty";
    load_pool(&mut s, company, 7400, 40);
    s.query_one(
        "SELECT * FROM set_pool_rules('Burst Realty', low_water_count => 10)",
        &[],
    )
    .unwrap();
    // 8 sessions take 5 numbers each at the same moment: the pool crosses its mark while
    // several claims are in flight.
    let start = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let start = Arc::clone(&start);
            let mut c = db.session();
            std::thread::spawn(move || {
                start.wait();
                for n in 0..5 {
                    assign(&mut c, "Burst Realty", &lead(76 + w, n)).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    // Whatever the assignments saw, the check sends what they did not, and never a second.
    let sent_by_check = count(&mut s, "SELECT check_pool_alerts()::int8");
    let got = alerts(&mut l, Duration::from_secs(5));
    assert_eq!(
        got.len(),
        1,
        "alerts: {got:?}, {sent_by_check} from the check"
    );
    assert_eq!(count(&mut s, "SELECT check_pool_alerts()::int8"), 0);
    assert!(alerts(&mut l, Duration::from_millis(300)).is_empty());
    eprintln!(
        "burst: one alert, sent by {} (payload {})",
        if sent_by_check == 1 {
            "check_pool_alerts"
        } else {
            "an assignment"
        },
        got[0]
    );
    assert_pool_invariants(&mut s);
}

#[test]
fn pool_activity_counts_each_hour_from_the_ledger() {
    let db = TestDb::new("activity");
    let mut s = db.session();
    let company = "History Realty";
    load_pool(&mut s, company, 7500, 2);
    // A known history, six hours ago onwards (both numbers are free now).
    s.batch_execute(
        "CREATE TEMP TABLE t0 AS SELECT date_trunc('hour', now()) - interval '6 hours' AS at;
         INSERT INTO phone_number_ledger (event, vapi_phone_number_id, number, broker_company, lead_id, occurred_at, reason)
         SELECT e.event, p.vapi_phone_number_id, p.number, 'History Realty', e.lead, t0.at + e.after, 'test'
         FROM t0, (VALUES
             ('assigned', 'History Realty-1', '00000000-0000-0000-0000-000000000001'::uuid, interval '70 minutes'),
             ('assigned', 'History Realty-2', '00000000-0000-0000-0000-000000000002', interval '80 minutes'),
             ('outcome',  'History Realty-2', '00000000-0000-0000-0000-000000000002', interval '90 minutes'),
             ('released', 'History Realty-1', '00000000-0000-0000-0000-000000000001', interval '125 minutes'),
             ('released', 'History Realty-2', '00000000-0000-0000-0000-000000000002', interval '210 minutes')
         ) AS e (event, id, lead, after)
         JOIN signalwire_phone_numbers AS p ON p.vapi_phone_number_id = e.id;",
    )
    .unwrap();
    let rows = s
        .query(
            "SELECT assignments, releases, outcomes, peak_holds, numbers, peak_utilization_pct::float8
             FROM pool_activity('History Realty', (SELECT at FROM t0), (SELECT at FROM t0) + interval '5 hours')",
            &[],
        )
        .unwrap();
    let got: Vec<(i64, i64, i64, i64, i64, f64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 0, 0, 0, 2, 0.0),   // hour 0: nothing
            (2, 0, 1, 2, 2, 100.0), // hour 1: both taken
            (0, 1, 0, 2, 2, 100.0), // hour 2: starts with 2 held, one released
            (0, 1, 0, 1, 2, 50.0),  // hour 3: one left, then released
            (0, 0, 0, 0, 2, 0.0),   // hour 4
        ]
    );

    // Live assignments in this hour, with a hold still open: the peak counts it.
    for n in 1..=2 {
        assign(&mut s, company, &lead(85, n)).unwrap();
    }
    s.query(
        "SELECT * FROM record_call_outcome($1, 'wrong_number')",
        &[&lead(85, 1)],
    )
    .unwrap();
    let (assignments, releases, peak): (i64, i64, i64) = {
        let r = s
            .query_one(
                "SELECT sum(assignments)::int8, sum(releases)::int8, max(peak_holds)
                 FROM pool_activity('History Realty', now() - interval '30 minutes')",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((assignments, releases, peak), (2, 1, 2));
}

#[test]
fn pool_runway_estimates_hours_until_dry_from_recent_demand_and_scheduled_releases() {
    let db = TestDb::new("runway");
    let mut s = db.session();
    let company = "Runway Realty";
    load_pool(&mut s, company, 7600, 10);
    for n in 1..=6 {
        assign(&mut s, company, &lead(86, n)).unwrap();
    }
    // Two of the holds end in an hour and a half; the other four after 18 hours.
    s.batch_execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() + interval '90 minutes'
         WHERE vapi_phone_number_id IN (
             SELECT vapi_phone_number_id FROM signalwire_phone_numbers
             WHERE assigned_broker_company = 'Runway Realty' AND currently_assigned_to IS NOT NULL
             ORDER BY vapi_phone_number_id LIMIT 2)",
    )
    .unwrap();
    let row = s
        .query_one(
            "SELECT available, assigned, assignments_per_hour::float8, releases_next_24h,
                    hours_until_dry::float8, dry_at > now()
             FROM pool_runway('3 hours') WHERE company = 'Runway Realty'",
            &[],
        )
        .unwrap();
    // 6 assignments in 3 hours: 2 an hour. 4 free: 4-2 = 2, then 2-2+2 released = 2, then 0:
    // dry after 3 hours (src/rules.rs, hours_until_dry).
    assert_eq!(row.get::<_, i64>(0), 4);
    assert_eq!(row.get::<_, i64>(1), 6);
    assert_eq!(row.get::<_, f64>(2), 2.0);
    assert_eq!(row.get::<_, i64>(3), 6);
    assert_eq!(row.get::<_, f64>(4), 3.0);
    assert!(row.get::<_, bool>(5));
    // No recent demand: no estimate.
    load_pool(&mut s, "Idle Realty", 7601, 3);
    let idle = s
        .query_one(
            "SELECT hours_until_dry::float8, dry_at FROM pool_runway() WHERE company = 'Idle Realty'",
            &[],
        )
        .unwrap();
    assert_eq!(idle.get::<_, Option<f64>>(0), None);
}

#[test]
fn the_alert_and_pool_alerts_agree_on_the_low_water_mark() {
    let db = TestDb::new("low_water_marks");
    let mut l = listener(&db);
    let mut s = db.session();
    // (numbers, share, expected mark): shares whose products are not exact in binary too.
    let cases: [(i32, Option<f64>, i64); 6] = [
        (15, None, 3),
        (5, None, 1),
        (5, Some(0.5), 3),
        (30, Some(0.1), 3),
        (10, Some(0.7), 7),
        (4, Some(0.0), 0),
    ];
    for (i, (numbers, share, expected)) in cases.into_iter().enumerate() {
        let company = format!("Mark Realty {i}");
        load_pool(&mut s, &company, 7700 + i as u32, numbers);
        if let Some(share) = share {
            s.query_one(
                "SELECT * FROM set_pool_rules($1, low_water_share => $2)",
                &[&company, &share],
            )
            .unwrap();
        }
        for n in 0..numbers {
            assign(&mut s, &company, &lead(90 + i as u32, n as u32)).unwrap();
        }
        let got = alerts(&mut l, Duration::from_secs(5));
        assert_eq!(got.len(), 1, "{company}: {got:?}");
        assert_eq!(got[0]["low_water_mark"], expected, "{company}");
        assert_eq!(
            got[0]["available"], expected,
            "{company}: alerted at the crossing"
        );
        let view_mark = count(
            &mut s,
            &format!("SELECT low_water_mark FROM pool_alerts WHERE company = '{company}'"),
        );
        assert_eq!(view_mark, expected, "{company}: pool_alerts");
    }
}
