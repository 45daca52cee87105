//! Issue 15's overflow pool through real sessions: concurrent callers of two companies sharing
//! one overflow pool never hold a number twice; sticky repeats and outcomes of a lent hold run
//! by the lending pool's rules and name the lead's company; opposite overflow rules set at once
//! cannot both pass; a rolled-back overflow assignment leaves nothing; one level only, whatever
//! is stored; a company without numbers lives on its overflow pool, and the analytics count it.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use postgres::Client;

/// What a caller sees of an assignment.
#[derive(Debug, Clone, PartialEq)]
struct Assigned {
    id: String,
    owner: String,
    chosen_by: String,
    from_overflow: bool,
}

fn assign_row(s: &mut Client, company: &str, lead: &Uuid) -> Result<Assigned, postgres::Error> {
    s.query_one(
        "SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
         FROM assign_phone_number($1, $2)",
        &[&company, lead],
    )
    .map(|r| Assigned {
        id: r.get(0),
        owner: r.get(1),
        chosen_by: r.get(2),
        from_overflow: r.get(3),
    })
}

fn set_overflow(
    s: &mut Client,
    company: &str,
    overflow: &str,
) -> Result<Option<String>, postgres::Error> {
    s.query_one(
        "SELECT overflow_company FROM set_pool_rules($1, overflow_company => $2)",
        &[&company, &overflow],
    )
    .map(|r| r.get(0))
}

fn exhausted_message(company: &str, overflow: &str) -> String {
    format!(
        "No available phone numbers in pool for '{company}' nor in its overflow pool '{overflow}'"
    )
}

fn bool_of(s: &mut Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> bool {
    s.query_one(sql, params).unwrap().get(0)
}

#[test]
fn concurrent_callers_of_two_companies_share_one_overflow_pool_without_a_double_hold() {
    const THREADS: u32 = 16;
    const PER_THREAD: u32 = 4;
    const OWN: i32 = 3;
    const SHARED: i32 = 8;
    let (alpha, beta, shared) = ("Ovf Race Alpha", "Ovf Race Beta", "Ovf Race Shared");
    let db = Arc::new(TestDb::new("overflow_race"));
    {
        let mut s = db.session();
        load_pool(&mut s, alpha, 7101, OWN);
        load_pool(&mut s, beta, 7102, OWN);
        load_pool(&mut s, shared, 7103, SHARED);
        set_overflow(&mut s, alpha, shared).unwrap();
        set_overflow(&mut s, beta, shared).unwrap();
    }

    // Even threads call for Alpha, odd ones for Beta; every lead is new. 64 attempts, 14 numbers.
    let start = Arc::new(Barrier::new(THREADS as usize));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            thread::spawn(move || {
                let company = if t % 2 == 0 { alpha } else { beta };
                let mut session = db.session();
                start.wait();
                let mut won = Vec::new();
                let mut refused = Vec::new();
                for i in 0..PER_THREAD {
                    let who = lead(700 + t, i);
                    match assign_row(&mut session, company, &who) {
                        Ok(a) => won.push((company, who, a)),
                        Err(e) => {
                            let db_err = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
                            refused.push((
                                company,
                                db_err.code().code().to_string(),
                                db_err.message().to_string(),
                                db_err.detail().unwrap_or_default().to_string(),
                            ));
                        }
                    }
                }
                // A repeat of a lead that won: its hold back, whatever the pools look like now.
                if let Some((_, who, first)) = won.first() {
                    let again = assign_row(&mut session, company, who).unwrap();
                    assert_eq!(again.id, first.id);
                    assert_eq!(again.chosen_by, "current_hold");
                    assert_eq!(again.from_overflow, first.from_overflow);
                }
                (won, refused)
            })
        })
        .collect();
    let mut won = Vec::new();
    let mut refused = Vec::new();
    for w in workers {
        let (a, r) = w.join().unwrap();
        won.extend(a);
        refused.extend(r);
    }

    let capacity = (2 * OWN + SHARED) as usize;
    assert_eq!(won.len(), capacity, "every number of both pools handed out");
    assert_eq!(refused.len(), (THREADS * PER_THREAD) as usize - capacity);
    let mut ids: Vec<&str> = won.iter().map(|(_, _, a)| a.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), capacity, "no number handed out twice");
    for (company, _, a) in &won {
        assert_eq!(a.from_overflow, a.owner == shared, "{a:?}");
        assert!(a.owner == *company || a.owner == shared, "{company}: {a:?}");
    }
    for company in [alpha, beta] {
        let own = won
            .iter()
            .filter(|(c, _, a)| c == &company && !a.from_overflow)
            .count();
        assert_eq!(
            own, OWN as usize,
            "{company}: its own pool first, and all of it"
        );
    }
    // Every refusal is the 53000 of both pools dry (or being taken), naming both.
    for (company, code, message, detail) in &refused {
        assert_eq!(code, "53000", "{message}");
        assert_eq!(message, &exhausted_message(company, shared));
        assert!(detail.starts_with(&format!("'{company}': ")), "{detail}");
        assert!(
            detail.contains(&format!(". Overflow pool '{shared}': ")),
            "{detail}"
        );
    }

    let mut check = db.session();
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE currently_assigned_to IS NOT NULL"
        ),
        capacity as i64
    );
    // Each lent hold and its ledger row name the lead's company, as the caller asked.
    for (company, who, a) in won.iter().filter(|(_, _, a)| a.from_overflow) {
        let row = check
            .query_one(
                "SELECT p.lead_company, l.lead_company, l.broker_company
                 FROM signalwire_phone_numbers AS p
                 JOIN phone_number_ledger AS l
                   ON l.vapi_phone_number_id = p.vapi_phone_number_id AND l.event = 'assigned'
                 WHERE p.vapi_phone_number_id = $1 AND p.currently_assigned_to = $2",
                &[&a.id, who],
            )
            .unwrap();
        let (hold, ledger, owner): (Option<String>, Option<String>, String) =
            (row.get(0), row.get(1), row.get(2));
        assert_eq!(hold.as_deref(), Some(*company));
        assert_eq!(ledger.as_deref(), Some(*company));
        assert_eq!(owner, shared);
    }
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger
             WHERE (broker_company = 'Ovf Race Shared') <> (lead_company IS NOT NULL)"
        ),
        0,
        "a lent hold's ledger row without the lead's company, or an own one with it"
    );
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM (
                 SELECT 1 FROM signalwire_phone_numbers WHERE currently_assigned_to IS NOT NULL
                 GROUP BY currently_assigned_to, coalesce(lead_company, assigned_broker_company)
                 HAVING count(*) > 1) AS d"
        ),
        0,
        "a lead with two holds for one company"
    );
    assert_eq!(
        count(&mut check, "SELECT count(*) FROM double_assignments"),
        0
    );
    let lent: i64 = check
        .query_one(
            "SELECT lent FROM pool_health WHERE company = $1",
            &[&shared],
        )
        .unwrap()
        .get(0);
    assert_eq!(lent, i64::from(SHARED));
    assert_pool_invariants(&mut check);
    assert_holds_never_overlap_in_time(&mut check);
}

#[test]
fn one_lead_asking_from_many_sessions_at_once_gets_one_overflow_hold() {
    const THREADS: usize = 8;
    let db = Arc::new(TestDb::new("overflow_same_lead"));
    {
        let mut s = db.session();
        load_pool(&mut s, "Ovf Twice Co", 7111, 1);
        load_pool(&mut s, "Ovf Twice Shared", 7112, 3);
        set_overflow(&mut s, "Ovf Twice Co", "Ovf Twice Shared").unwrap();
        assign(&mut s, "Ovf Twice Co", &lead(711, 0)).unwrap();
    }
    let start = Arc::new(Barrier::new(THREADS));
    let got: Vec<Assigned> = (0..THREADS)
        .map(|_| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            thread::spawn(move || {
                let mut session = db.session();
                start.wait();
                assign_row(&mut session, "Ovf Twice Co", &lead(711, 1)).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|w| w.join().unwrap())
        .collect();
    assert!(
        got.iter().all(|a| a.id == got[0].id && a.from_overflow),
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|a| a.chosen_by != "current_hold").count(),
        1,
        "{got:?}"
    );
    let mut check = db.session();
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM phone_number_ledger
             WHERE event = 'assigned' AND lead_company = 'Ovf Twice Co'"
        ),
        1
    );
    assert_eq!(
        count(
            &mut check,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE lead_company IS NOT NULL"
        ),
        1
    );
    assert_pool_invariants(&mut check);
}

#[test]
fn sticky_repeats_and_outcomes_of_an_overflow_hold_follow_the_lending_pools_rules() {
    let db = TestDb::new("overflow_sticky");
    let mut s = db.session();
    let (co, shared) = ("Ovf Sticky Co", "Ovf Sticky Shared");
    load_pool(&mut s, co, 7121, 1);
    load_pool(&mut s, shared, 7122, 1);
    s.batch_execute(
        "SELECT set_company_policy('Ovf Sticky Co', retention => '1 hour', booked_hold => '1 day');
         SELECT set_company_policy('Ovf Sticky Shared', retention => '5 hours', booked_hold => '3 days');",
    )
    .unwrap();
    set_overflow(&mut s, co, shared).unwrap();
    assign(&mut s, co, &lead(712, 0)).unwrap();
    let borrower = lead(712, 1);
    let lent_id = format!("{shared}-1");

    // Claimed by the lender's retention.
    let a = assign_row(&mut s, co, &borrower).unwrap();
    assert_eq!(
        a,
        Assigned {
            id: lent_id.clone(),
            owner: shared.into(),
            chosen_by: "least_recently_used".into(),
            from_overflow: true
        }
    );
    assert!(bool_of(
        &mut s,
        "SELECT release_at - assigned_at = interval '5 hours' FROM signalwire_phone_numbers
         WHERE vapi_phone_number_id = $1",
        &[&lent_id]
    ));

    // A repeat renews it by the lender's retention too (5 hours, not 1): its end is moved close
    // by hand first, so that the renewal shows.
    s.execute(
        "UPDATE signalwire_phone_numbers SET release_at = now() + interval '1 minute'
         WHERE vapi_phone_number_id = $1",
        &[&lent_id],
    )
    .unwrap();
    let row = s
        .query_one(
            "SELECT vapi_phone_number_id, chosen_by, from_overflow,
                    release_at - now() >= interval '5 hours'
                        AND release_at - now() < interval '5 hours 1 minute'
             FROM assign_phone_number($1, $2)",
            &[&co, &borrower],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), lent_id);
    assert_eq!(row.get::<_, String>(1), "current_hold");
    assert!(row.get::<_, bool>(2));
    assert!(row.get::<_, bool>(3), "not renewed by the lender's 5 hours");
    let renewed = s
        .query_one(
            "SELECT broker_company, lead_company FROM phone_number_ledger
             WHERE event = 'renewed' AND lead_id = $1",
            &[&borrower],
        )
        .unwrap();
    assert_eq!(renewed.get::<_, String>(0), shared);
    assert_eq!(renewed.get::<_, Option<String>>(1).as_deref(), Some(co));

    // booked: the appointment plus the lender's booked hold (3 days, not 1).
    let row = s
        .query_one(
            "SELECT assigned_broker_company, assignment_status,
                    release_at = now() + interval '2 days' + interval '3 days'
             FROM record_call_outcome($1, 'booked', now() + interval '2 days', company => $2)",
            &[&borrower, &co],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), shared);
    assert_eq!(row.get::<_, String>(1), "assigned");
    assert!(row.get::<_, bool>(2), "not the lender's booked hold");
    // The lender's name is not the lead's company.
    expect_error(
        s.query_one(
            "SELECT * FROM record_call_outcome($1, 'no_answer', company => $2)",
            &[&borrower, &shared],
        ),
        "P0002",
    );
    // The outcome counts in the lender's number health.
    let health = s
        .query_one(
            "SELECT company, calls::int8 FROM number_health WHERE vapi_phone_number_id = $1",
            &[&lent_id],
        )
        .unwrap();
    assert_eq!(health.get::<_, String>(0), shared);
    assert_eq!(health.get::<_, i64>(1), 1);

    // A releasing outcome: the ledger's release names the lead's company; the number is free.
    let row = s
        .query_one(
            "SELECT vapi_phone_number_id, assignment_status FROM record_call_outcome($1, 'wrong_number')",
            &[&borrower],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), lent_id);
    assert_eq!(row.get::<_, String>(1), "available");
    let released = s
        .query_one(
            "SELECT broker_company, lead_company, reason FROM phone_number_ledger
             WHERE event = 'released' AND lead_id = $1",
            &[&borrower],
        )
        .unwrap();
    assert_eq!(released.get::<_, String>(0), shared);
    assert_eq!(released.get::<_, Option<String>>(1).as_deref(), Some(co));
    assert_eq!(released.get::<_, String>(2), "wrong_number");
    let pool_row = s
        .query_one(
            "SELECT assignment_status, currently_assigned_to IS NULL, lead_company
             FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
            &[&lent_id],
        )
        .unwrap();
    assert_eq!(pool_row.get::<_, String>(0), "available");
    assert!(pool_row.get::<_, bool>(1));
    assert_eq!(pool_row.get::<_, Option<String>>(2), None);
    // The lender's own lead gets it, as its own.
    let own = assign_row(&mut s, shared, &lead(712, 2)).unwrap();
    assert_eq!(
        (own.id.as_str(), own.from_overflow),
        (lent_id.as_str(), false)
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM signalwire_phone_numbers WHERE lead_company IS NOT NULL"
        ),
        0
    );

    // The returning lead: its previous number was lent and is held now; both pools dry.
    let e = expect_error(assign(&mut s, co, &borrower), "53000");
    assert_eq!(e.message(), exhausted_message(co, shared));
    assert_eq!(
        e.detail(),
        Some("'Ovf Sticky Co': 1 of 1 numbers are assigned. Overflow pool 'Ovf Sticky Shared': 1 of 1 numbers are assigned.")
    );
    assert!(e.hint().unwrap().contains("either pool"), "{:?}", e.hint());
    // Freed again: it comes back to the lead as its previous number, from overflow.
    s.execute("SELECT force_release_phone_number($1)", &[&lent_id])
        .unwrap();
    let back = assign_row(&mut s, co, &borrower).unwrap();
    assert_eq!(back.id, lent_id);
    assert_eq!(back.chosen_by, "previous_number");
    assert!(back.from_overflow);
    // who_held_number names the lead's company, not the number's.
    let company: String = s
        .query_one(
            "SELECT company FROM who_held_number(
                 (SELECT number FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1))",
            &[&lent_id],
        )
        .unwrap()
        .get(0);
    assert_eq!(company, co);
    assert_pool_invariants(&mut s);
}

#[test]
fn opposite_overflow_rules_set_at_once_cannot_both_pass() {
    let db = Arc::new(TestDb::new("overflow_rules_race"));
    let mut s = db.session();
    load_pool(&mut s, "Ovf Rule A", 7131, 1);
    load_pool(&mut s, "Ovf Rule B", 7132, 1);

    // In turn: B's change waits for A's open transaction (the overflow rules' lock), then is
    // judged against A's committed rule.
    let mut a = db.session();
    a.batch_execute("BEGIN").unwrap();
    assert_eq!(
        set_overflow(&mut a, "Ovf Rule A", "Ovf Rule B")
            .unwrap()
            .as_deref(),
        Some("Ovf Rule B")
    );
    let mut b = db.session();
    let b_pid: i32 = b.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let waiting = thread::spawn(move || {
        set_overflow(&mut b, "Ovf Rule B", "Ovf Rule A").map_err(|e| e.as_db_error().cloned())
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !bool_of(
        &mut s,
        "SELECT coalesce(bool_or(wait_event_type = 'Lock' AND wait_event = 'advisory'), false)
         FROM pg_stat_activity WHERE pid = $1",
        &[&b_pid],
    ) {
        assert!(Instant::now() < deadline, "B never waited for A's lock");
        thread::sleep(Duration::from_millis(20));
    }
    a.batch_execute("COMMIT").unwrap();
    let refused = waiting
        .join()
        .unwrap()
        .expect_err("both rules of a cycle were accepted")
        .unwrap();
    assert_eq!(refused.code().code(), "55000");
    assert_eq!(
        refused.message(),
        "'Ovf Rule B' cannot overflow into 'Ovf Rule A': 'Ovf Rule A' overflows into 'Ovf Rule B' (a cycle)"
    );

    // At once, many times over: exactly one of each pair passes, the other gets 55000.
    set_overflow(&mut s, "Ovf Rule A", "").unwrap();
    for round in 0..20 {
        let start = Arc::new(Barrier::new(2));
        let results: Vec<_> = [("Ovf Rule A", "Ovf Rule B"), ("Ovf Rule B", "Ovf Rule A")]
            .into_iter()
            .map(|(from, into)| {
                let (db, start) = (Arc::clone(&db), Arc::clone(&start));
                thread::spawn(move || {
                    let mut session = db.session();
                    start.wait();
                    set_overflow(&mut session, from, into).map_err(|e| sqlstate(&e))
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect();
        let passed = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(passed, 1, "round {round}: {results:?}");
        assert!(
            results.iter().any(|r| r == &Err("55000".to_string())),
            "round {round}: {results:?}"
        );
        assert_eq!(
            count(
                &mut s,
                "SELECT count(*) FROM company_policies WHERE overflow_company IS NOT NULL"
            ),
            1
        );
        s.batch_execute(
            "SELECT set_pool_rules('Ovf Rule A', overflow_company => '');
             SELECT set_pool_rules('Ovf Rule B', overflow_company => '');",
        )
        .unwrap();
    }
}

#[test]
fn a_rolled_back_overflow_assignment_leaves_nothing_and_a_committed_one_is_tracked() {
    let db = TestDb::new("overflow_rollback");
    let mut s = db.session();
    let (co, shared) = ("Ovf Undo Co", "Ovf Undo Shared");
    load_pool(&mut s, co, 7141, 1);
    load_pool(&mut s, shared, 7142, 1);
    set_overflow(&mut s, co, shared).unwrap();
    assign(&mut s, co, &lead(714, 0)).unwrap();
    s.batch_execute(
        "CREATE TABLE leads (id uuid PRIMARY KEY, assigned_phone_number_id text, phone_assigned_at timestamptz);
         CREATE TABLE interactions (id bigserial PRIMARY KEY, lead_id uuid NOT NULL REFERENCES leads (id),
                                    type text NOT NULL, metadata jsonb, created_at timestamptz NOT NULL DEFAULT now());
         SELECT register_crm_tables('leads', 'interactions');",
    )
    .unwrap();
    let buyer = lead(714, 1);
    s.execute("INSERT INTO leads (id) VALUES ($1)", &[&buyer])
        .unwrap();
    let crm = |s: &mut Client| -> String {
        s.query_one(
            "SELECT (SELECT string_agg(l::text, '|') FROM leads l) || ' / ' ||
                    (SELECT count(*) FROM interactions)::text",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let before = (snapshot(&mut s), crm(&mut s));

    s.batch_execute("BEGIN").unwrap();
    let a = assign_row(&mut s, co, &buyer).unwrap();
    assert!(a.from_overflow, "{a:?}");
    assert_ne!(
        (snapshot(&mut s), crm(&mut s)),
        before,
        "the assignment changed nothing"
    );
    s.batch_execute("ROLLBACK").unwrap();
    // Pool row, ledger, alert state (the lender's, raised by the claim) and CRM rows: as before.
    assert_eq!((snapshot(&mut s), crm(&mut s)), before);

    // Committed: the CRM sees the lead's company, and the lender's alert state is raised.
    let a = assign_row(&mut s, co, &buyer).unwrap();
    assert_eq!((a.owner.as_str(), a.from_overflow), (shared, true));
    let meta = s
        .query_one(
            "SELECT metadata->>'broker_company', metadata->>'assigned_phone_number_id',
                    (SELECT assigned_phone_number_id FROM leads WHERE id = $1)
             FROM interactions WHERE lead_id = $1 AND type = 'phone_number_assigned'",
            &[&buyer],
        )
        .unwrap();
    assert_eq!(meta.get::<_, String>(0), co);
    assert_eq!(meta.get::<_, String>(1), a.id);
    assert_eq!(meta.get::<_, String>(2), a.id);
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pool_alert_state WHERE company = 'Ovf Undo Shared'"
        ),
        1
    );
    assert_pool_invariants(&mut s);
}

#[test]
fn overflow_is_one_level_only_even_when_a_chain_or_a_cycle_is_written_by_hand() {
    let db = TestDb::new("overflow_one_level");
    let mut s = db.session();
    let (a, mid, far) = ("Ovf Level A", "Ovf Level Mid", "Ovf Level Far");
    load_pool(&mut s, a, 7151, 1);
    load_pool(&mut s, mid, 7152, 1);
    load_pool(&mut s, far, 7153, 2);
    set_overflow(&mut s, a, mid).unwrap();
    // The API refuses Mid into Far; the owner writes it anyway.
    expect_error(set_overflow(&mut s, mid, far), "55000");
    s.execute(
        "INSERT INTO company_policies (company, overflow_company) VALUES ($1, $2)",
        &[&mid, &far],
    )
    .unwrap();
    assign(&mut s, a, &lead(715, 1)).unwrap();
    assert!(assign_row(&mut s, a, &lead(715, 2)).unwrap().from_overflow);
    // A and Mid dry: A's lead is refused, though Far has free numbers two levels away.
    let e = expect_error(assign(&mut s, a, &lead(715, 3)), "53000");
    assert_eq!(e.message(), exhausted_message(a, mid));
    assert_eq!(
        count(&mut s, "SELECT count(*) FROM signalwire_phone_numbers WHERE assigned_broker_company = 'Ovf Level Far' AND currently_assigned_to IS NOT NULL"),
        0
    );
    // Mid's own lead: Far is one level away for it.
    let m = assign_row(&mut s, mid, &lead(715, 4)).unwrap();
    assert_eq!((m.owner.as_str(), m.from_overflow), (far, true));

    // A cycle by hand (Mid into A): Mid's leads borrow from A, never back into Mid and on.
    s.execute(
        "UPDATE company_policies SET overflow_company = $2 WHERE company = $1",
        &[&mid, &a],
    )
    .unwrap();
    s.execute(
        "SELECT force_release_phone_number($1)",
        &[&format!("{a}-1")],
    )
    .unwrap();
    let m = assign_row(&mut s, mid, &lead(715, 5)).unwrap();
    assert_eq!((m.owner.as_str(), m.from_overflow), (a, true));
    let e = expect_error(assign(&mut s, mid, &lead(715, 6)), "53000");
    assert_eq!(e.message(), exhausted_message(mid, a));
    let e = expect_error(assign(&mut s, a, &lead(715, 7)), "53000");
    assert_eq!(e.message(), exhausted_message(a, mid));
    assert_eq!(count(&mut s, "SELECT count(*) FROM double_assignments"), 0);
    assert_pool_invariants(&mut s);
}

#[test]
fn a_company_without_numbers_lives_on_its_overflow_pool_and_the_analytics_count_it() {
    let db = TestDb::new("overflow_ghost");
    let mut s = db.session();
    let (ghost, other, shared) = ("Ovf Ghost", "Ovf Ghost Other", "Ovf Ghost Shared");
    load_pool(&mut s, other, 7161, 1);
    load_pool(&mut s, shared, 7162, 3);
    // Without an overflow pool, a company without numbers is a mistake (42704).
    expect_error(assign(&mut s, ghost, &lead(716, 1)), "42704");
    set_overflow(&mut s, ghost, shared).unwrap();
    set_overflow(&mut s, other, shared).unwrap();
    for n in 1..=2 {
        let g = assign_row(&mut s, ghost, &lead(716, n)).unwrap();
        assert_eq!((g.owner.as_str(), g.from_overflow), (shared, true));
    }
    assert!(
        !assign_row(&mut s, other, &lead(717, 1))
            .unwrap()
            .from_overflow
    );
    assert!(
        assign_row(&mut s, other, &lead(717, 2))
            .unwrap()
            .from_overflow
    );
    let e = expect_error(assign(&mut s, ghost, &lead(716, 3)), "53000");
    assert_eq!(e.message(), exhausted_message(ghost, shared));
    assert_eq!(
        e.detail(),
        Some("'Ovf Ghost': no numbers of its own. Overflow pool 'Ovf Ghost Shared': 3 of 3 numbers are assigned.")
    );
    let row = s
        .query_one(
            "SELECT status, message, detail, from_overflow IS NULL
             FROM try_assign_phone_number($1, $2)",
            &[&ghost, &lead(716, 3)],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "pool_exhausted");
    assert_eq!(row.get::<_, String>(1), exhausted_message(ghost, shared));
    assert_eq!(row.get::<_, Option<&str>>(2), e.detail());
    assert!(row.get::<_, bool>(3));

    // who_held_number: the lead's company.
    let held: Vec<String> = s
        .query(
            "SELECT w.company FROM signalwire_phone_numbers AS p,
                    LATERAL who_held_number(p.number) AS w
             WHERE p.assigned_broker_company = $1 ORDER BY w.company",
            &[&shared],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(held, [ghost, ghost, other]);

    // pool_activity: the lender's assignments are all lent; Other borrowed one, Ghost (listed
    // though it has no numbers) two.
    let activity = |s: &mut Client, company: &str| -> (i64, i64, i64) {
        let r = s
            .query_one(
                "SELECT sum(assignments)::int8, sum(lent)::int8, sum(borrowed)::int8
                 FROM pool_activity($1)",
                &[&company],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(activity(&mut s, shared), (3, 3, 0));
    assert_eq!(activity(&mut s, other), (1, 0, 1));
    assert_eq!(activity(&mut s, ghost), (0, 0, 2));
    // pool_runway over the last hour: 3 lent by the lender, 1 borrowed by Other, 2 by Ghost.
    let runway: Vec<(String, String, String)> = s
        .query(
            "SELECT company, lent_per_hour::text, borrowed_per_hour::text
             FROM pool_runway('1 hour') WHERE company LIKE 'Ovf Ghost%' ORDER BY company",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        runway,
        [
            (ghost.to_string(), "0.00".to_string(), "2.00".to_string()),
            (other.to_string(), "0.00".to_string(), "1.00".to_string()),
            (shared.to_string(), "3.00".to_string(), "0.00".to_string())
        ]
    );
    assert_pool_invariants(&mut s);
}
