//! In-database tests (`cargo pgrx test`): one session, one transaction per test, rolled back
//! afterwards. Behaviour that needs several sessions lives in tests/ (real client connections).

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// Runs a statement and returns "SQLSTATE|message|detail|hint" of the error it raised, or
    /// "ok". The exception block is a subtransaction, so a failed call leaves nothing behind.
    fn error_of(sql: &str) -> String {
        Spi::get_one_with_args::<String>("SELECT tests.error_of_sql($1)", &[sql.into()])
            .unwrap()
            .unwrap()
    }

    pgrx::extension_sql!(
        r#"
CREATE FUNCTION tests.error_of_sql(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; message text; detail text; hint text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN concat_ws('|', state, message, detail, hint);
END
$$;
"#,
        name = "error_of_sql",
    );

    fn run(sql: &str) {
        Spi::run(sql).unwrap();
    }

    fn one<T: FromDatum + IntoDatum>(sql: &str) -> T {
        Spi::get_one::<T>(sql)
            .unwrap()
            .expect("query returned NULL")
    }

    /// A pool of `n` numbers for `company`, ids `<company>-1`.., numbers +1555<prefix>000x.
    fn pool(company: &str, prefix: u32, n: u32) {
        for i in 1..=n {
            run(&format!(
                "INSERT INTO pool_ext.signalwire_phone_numbers
                     (vapi_phone_number_id, number, name, assigned_broker_company)
                 VALUES ('{company}-{i}', '+1555{prefix:03}{i:04}', 'Line {i}', '{company}')"
            ));
        }
    }

    fn pool_state() -> String {
        one::<String>(
            "SELECT (SELECT count(*) FROM pool_ext.signalwire_phone_numbers
                      WHERE assignment_status = 'assigned')::text || '/' ||
                    (SELECT count(*) FROM pool_ext.phone_number_ledger)::text",
        )
    }

    const LEAD_A: &str = "00000000-0000-0000-0000-00000000000a";
    const LEAD_B: &str = "00000000-0000-0000-0000-00000000000b";

    #[pg_test]
    fn assign_claims_a_number_holds_it_18_hours_and_logs_it() {
        pool("Acme", 100, 3);
        let (id, company) = Spi::get_two::<String, String>(&format!(
            "SELECT vapi_phone_number_id, assigned_broker_company
             FROM pool_ext.assign_phone_number('Acme', '{LEAD_A}')"
        ))
        .unwrap();
        assert!(id.unwrap().starts_with("Acme-"));
        assert_eq!(company.as_deref(), Some("Acme"));
        assert!(one::<bool>(&format!(
            "SELECT assignment_status = 'assigned' AND currently_assigned_to = '{LEAD_A}'
                    AND assigned_at BETWEEN now() AND clock_timestamp()
                    AND release_at = assigned_at + interval '18 hours'
             FROM pool_ext.signalwire_phone_numbers WHERE currently_assigned_to IS NOT NULL"
        )));
        assert!(one::<bool>(&format!(
            "SELECT count(*) = 1 AND bool_and(event = 'assigned' AND lead_id = '{LEAD_A}'
                    AND broker_company = 'Acme' AND reason = 'assign'
                    AND occurred_at = (SELECT assigned_at FROM pool_ext.signalwire_phone_numbers
                                       WHERE vapi_phone_number_id = l.vapi_phone_number_id)
                    AND release_at = occurred_at + interval '18 hours' AND actor = session_user)
             FROM pool_ext.phone_number_ledger AS l"
        )));
    }

    #[pg_test]
    fn named_arguments_and_returned_columns_match_the_table() {
        pool("Named Co", 101, 1);
        let number = one::<String>(&format!(
            "SELECT number FROM pool_ext.assign_phone_number(company => 'Named Co', lead => '{LEAD_A}')"
        ));
        assert_eq!(number, "+15551010001");
        let columns = one::<String>(
            "SELECT string_agg(p.name, ',' ORDER BY p.ordinality)
             FROM pg_proc, unnest(proargnames) WITH ORDINALITY AS p(name, ordinality)
             WHERE proname = 'assign_phone_number'",
        );
        assert_eq!(
            columns,
            "company,lead,customer_phone,vapi_phone_number_id,number,name,assigned_broker_company,assigned_at,release_at,area_code_matched,chosen_by,from_overflow"
        );
    }

    #[pg_test]
    fn a_lead_that_asks_again_gets_the_same_number_its_hold_renewed_and_logged() {
        pool("Sticky", 102, 3);
        let sql = format!(
            "SELECT vapi_phone_number_id || ' ' || chosen_by
             FROM pool_ext.assign_phone_number('Sticky', '{LEAD_A}')"
        );
        let first = one::<String>(&sql);
        let second = one::<String>(&sql);
        assert_eq!(first.replace("least_recently_used", "current_hold"), second);
        // One hold; its ledger: the assignment, then the renewal (clock time moved on, so the
        // hold now ends a little later), ending where the hold ends.
        assert_eq!(pool_state(), "1/2");
        let renewal = one::<bool>(
            "SELECT l.event = 'renewed' AND l.reason = 'repeat call' AND l.release_at = p.release_at
                    AND p.release_at > p.assigned_at + interval '18 hours'
             FROM pool_ext.phone_number_ledger AS l
             JOIN pool_ext.signalwire_phone_numbers AS p USING (vapi_phone_number_id)
             ORDER BY l.id DESC LIMIT 1",
        );
        assert!(renewal);
        // Another lead gets another number.
        let other = one::<String>(&format!(
            "SELECT vapi_phone_number_id FROM pool_ext.assign_phone_number('Sticky', '{LEAD_B}')"
        ));
        assert_ne!(first.split(' ').next().unwrap(), other);
        assert_eq!(pool_state(), "2/3");
    }

    #[pg_test]
    fn the_least_recently_assigned_number_goes_first_and_never_used_ones_before_all() {
        pool("Lru", 103, 3);
        run(
            "UPDATE pool_ext.signalwire_phone_numbers SET assigned_at = now() - interval '1 hour'
             WHERE vapi_phone_number_id = 'Lru-1'",
        );
        run(
            "UPDATE pool_ext.signalwire_phone_numbers SET assigned_at = now() - interval '3 hours'
             WHERE vapi_phone_number_id = 'Lru-2'",
        );
        let picks: Vec<String> = (1..=3)
            .map(|i| {
                one::<String>(&format!(
                    "SELECT vapi_phone_number_id FROM pool_ext.assign_phone_number(
                         'Lru', '00000000-0000-0000-0000-00000000010{i}')"
                ))
            })
            .collect();
        assert_eq!(picks, ["Lru-3", "Lru-2", "Lru-1"]);
    }

    #[pg_test]
    fn inactive_numbers_are_never_assigned() {
        pool("Retired", 104, 2);
        run(
            "UPDATE pool_ext.signalwire_phone_numbers SET status = 'inactive'
             WHERE vapi_phone_number_id = 'Retired-1'",
        );
        let id = one::<String>(&format!(
            "SELECT vapi_phone_number_id FROM pool_ext.assign_phone_number('Retired', '{LEAD_A}')"
        ));
        assert_eq!(id, "Retired-2");
        let err = error_of(&format!(
            "SELECT pool_ext.assign_phone_number('Retired', '{LEAD_B}')"
        ));
        assert_eq!(
            err,
            "53000|No available phone numbers in pool for 'Retired'|1 of 2 numbers are assigned, 1 inactive.|\
             Run SELECT pool_ext.release_expired_phone_numbers() to free expired holds, add numbers to this company's pool, or relax its cooldown or daily cap (set_pool_rules)."
        );
    }

    #[pg_test]
    fn an_exhausted_pool_says_so_with_counts_and_changes_nothing() {
        pool("Tiny", 105, 1);
        run(&format!(
            "SELECT pool_ext.assign_phone_number('Tiny', '{LEAD_A}')"
        ));
        let before = pool_state();
        let err = error_of(&format!(
            "SELECT pool_ext.assign_phone_number('Tiny', '{LEAD_B}')"
        ));
        assert!(
            err.starts_with(
                "53000|No available phone numbers in pool for 'Tiny'|1 of 1 numbers are assigned.|"
            ),
            "{err}"
        );
        assert!(err.contains("release_expired_phone_numbers()"), "{err}");
        assert_eq!(pool_state(), before);
    }

    // Each argument error, and the unknown company with and without a suggestion, are in the
    // golden files (tests/regress: hostile.sql and errors.sql) with their full texts.

    #[pg_test]
    fn overflow_lends_one_level_under_the_lenders_rules_and_refuses_itself_and_cycles() {
        pool("Borrower", 140, 1);
        pool("Lender", 141, 1);
        run("SELECT pool_ext.set_company_policy('Lender', retention => '5 hours')");
        run("SELECT pool_ext.set_pool_rules('Borrower', overflow_company => 'Lender')");
        let sql = |lead: &str| {
            format!(
                "SELECT vapi_phone_number_id || ' ' || assigned_broker_company || ' ' || from_overflow
                 FROM pool_ext.assign_phone_number('Borrower', '{lead}')"
            )
        };
        assert_eq!(one::<String>(&sql(LEAD_A)), "Borrower-1 Borrower false");
        // The own pool is dry: the lender's number, by the lender's retention, for the lead's
        // company.
        assert_eq!(one::<String>(&sql(LEAD_B)), "Lender-1 Lender true");
        assert!(one::<bool>(&format!(
            "SELECT lead_company = 'Borrower' AND release_at = assigned_at + interval '5 hours'
             FROM pool_ext.signalwire_phone_numbers WHERE currently_assigned_to = '{LEAD_B}'"
        )));
        assert!(one::<bool>(&format!(
            "SELECT lead_company = 'Borrower' AND broker_company = 'Lender'
             FROM pool_ext.phone_number_ledger WHERE lead_id = '{LEAD_B}'"
        )));
        let before = pool_state();
        let err = error_of(
            "SELECT pool_ext.assign_phone_number('Borrower', '00000000-0000-0000-0000-00000000000c')",
        );
        assert!(
            err.starts_with(
                "53000|No available phone numbers in pool for 'Borrower' nor in its overflow pool 'Lender'|\
                 'Borrower': 1 of 1 numbers are assigned. Overflow pool 'Lender': 1 of 1 numbers are assigned.|"
            ),
            "{err}"
        );
        // Refused with a code, nothing changed: itself, and a cycle.
        let err =
            error_of("SELECT pool_ext.set_pool_rules('Borrower', overflow_company => 'Borrower')");
        assert!(
            err.starts_with("22023|Company 'Borrower' cannot overflow into its own pool|"),
            "{err}"
        );
        let err =
            error_of("SELECT pool_ext.set_pool_rules('Lender', overflow_company => 'Borrower')");
        assert!(
            err.starts_with(
                "55000|'Lender' cannot overflow into 'Borrower': 'Borrower' overflows into 'Lender' \
                 (a cycle)||Clear that rule first (set_pool_rules('Borrower'"
            ),
            "{err}"
        );
        assert_eq!(pool_state(), before);
        assert_eq!(
            one::<String>(
                "SELECT string_agg(company || '>' || coalesce(overflow_company, '-'), ',' ORDER BY company)
                 FROM pool_ext.company_policies"
            ),
            "Borrower>Lender,Lender>-"
        );
    }

    #[pg_test]
    fn release_frees_expired_holds_only_and_logs_each() {
        pool("Expiry", 108, 3);
        for lead in [LEAD_A, LEAD_B, "00000000-0000-0000-0000-00000000000c"] {
            run(&format!(
                "SELECT pool_ext.assign_phone_number('Expiry', '{lead}')"
            ));
        }
        run(&format!(
            "UPDATE pool_ext.signalwire_phone_numbers SET release_at = now() - interval '1 minute'
             WHERE currently_assigned_to IN ('{LEAD_A}', '{LEAD_B}')"
        ));
        assert_eq!(
            one::<i64>("SELECT pool_ext.release_expired_phone_numbers()"),
            2
        );
        assert_eq!(
            one::<i64>("SELECT pool_ext.release_expired_phone_numbers()"),
            0
        );
        assert!(one::<bool>(
            "SELECT count(*) FILTER (WHERE assignment_status = 'available'
                                       AND currently_assigned_to IS NULL AND release_at IS NULL) = 2
                AND count(*) FILTER (WHERE assignment_status = 'assigned') = 1
             FROM pool_ext.signalwire_phone_numbers"
        ));
        assert!(one::<bool>(&format!(
            "SELECT array_agg(lead_id::text ORDER BY lead_id) = ARRAY['{LEAD_A}', '{LEAD_B}']
                    AND bool_and(reason = 'expired')
             FROM pool_ext.phone_number_ledger WHERE event = 'released'"
        )));
        // The released lead can be assigned again (it no longer holds a number).
        run(&format!(
            "SELECT pool_ext.assign_phone_number('Expiry', '{LEAD_A}')"
        ));
    }

    #[pg_test]
    fn release_respects_max_rows_across_batches() {
        run("INSERT INTO pool_ext.signalwire_phone_numbers
                 (vapi_phone_number_id, number, assigned_broker_company, assignment_status,
                  currently_assigned_to, assigned_at, release_at)
             SELECT 'Backlog-' || i, '+1555209' || lpad(i::text, 4, '0'), 'Backlog', 'assigned',
                    gen_random_uuid(), now() - interval '1 day', now() - interval '1 hour'
             FROM generate_series(1, 2500) AS i");
        assert_eq!(
            one::<i64>("SELECT pool_ext.release_expired_phone_numbers(1200)"),
            1200
        );
        assert_eq!(
            one::<i64>("SELECT pool_ext.release_expired_phone_numbers()"),
            1300
        );
        assert_eq!(
            one::<i64>(
                "SELECT count(*) FROM pool_ext.phone_number_ledger WHERE event = 'released'"
            ),
            2500
        );
    }

    #[pg_test]
    fn the_table_rejects_impossible_states() {
        pool("Guarded", 110, 1);
        for (sql, constraint) in [
            ("INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company)
              VALUES ('bad-1', '4155550100', 'Guarded')", "signalwire_phone_numbers_number_check"),
            ("INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company)
              VALUES ('bad-2', '+15551100001', 'Guarded')", "signalwire_phone_numbers_number_key"),
            ("UPDATE pool_ext.signalwire_phone_numbers SET assignment_status = 'assigned'",
             "signalwire_phone_numbers_hold_consistent"),
            ("UPDATE pool_ext.signalwire_phone_numbers SET currently_assigned_to = gen_random_uuid()",
             "signalwire_phone_numbers_hold_consistent"),
            ("UPDATE pool_ext.signalwire_phone_numbers SET status = 'retired'",
             "signalwire_phone_numbers_status_check"),
            ("UPDATE pool_ext.signalwire_phone_numbers SET assignment_status = 'reserved'",
             "signalwire_phone_numbers_hold_consistent"),
            ("UPDATE pool_ext.signalwire_phone_numbers SET number = '555-0100'",
             "signalwire_phone_numbers_number_check"),
            ("INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company)
              VALUES (' ', '+15551100002', 'Guarded')", "signalwire_phone_numbers_vapi_phone_number_id_check"),
            ("INSERT INTO pool_ext.signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company)
              VALUES ('bad-3', '+15551100003', '  ')", "signalwire_phone_numbers_assigned_broker_company_check"),
        ] {
            let err = error_of(sql);
            assert!(err.starts_with("23"), "{sql}: {err}");
            assert!(err.contains(constraint), "{sql}: {err}");
        }
        // The row checks are a trigger (since 0.4.1) enabled ALWAYS: a session in replica mode
        // (logical replication's apply) is checked too, as it was by the CHECK constraints.
        run("SET LOCAL session_replication_role = replica");
        let err = error_of("UPDATE pool_ext.signalwire_phone_numbers SET status = 'retired'");
        run("SET LOCAL session_replication_role = origin");
        assert!(
            err.contains("signalwire_phone_numbers_status_check"),
            "replica mode: {err}"
        );
    }

    #[pg_test]
    fn the_ledger_is_append_only() {
        pool("Ledger", 111, 1);
        run(&format!(
            "SELECT pool_ext.assign_phone_number('Ledger', '{LEAD_A}')"
        ));
        for sql in [
            "UPDATE pool_ext.phone_number_ledger SET reason = 'x'",
            "DELETE FROM pool_ext.phone_number_ledger",
            "TRUNCATE pool_ext.phone_number_ledger",
        ] {
            let err = error_of(sql);
            assert!(
                err.starts_with("42501|phone_number_ledger is append-only"),
                "{sql}: {err}"
            );
        }
    }

    #[pg_test]
    fn api_functions_pin_search_path_and_are_not_granted_to_public() {
        // Every function a caller can reach runs with a pinned search_path, and none is
        // executable by PUBLIC.
        let unpinned = one::<String>(
            "SELECT coalesce(string_agg(p.proname, ', ' ORDER BY p.proname), '')
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'pool_ext' AND p.prokind = 'f'
               AND p.proname NOT IN ('company_policy', '_local_day_end', '_low_water_mark', '_number_state')  -- inlined SQL helpers
               AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=pg_catalog,%')
               OR (n.nspname = 'pool_ext' AND p.prosecdef
                   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pool_ext, pg_temp'], false))",
        );
        assert_eq!(unpinned, "");
        let public = one::<String>(
            "SELECT coalesce(string_agg(p.proname, ', ' ORDER BY p.proname), '')
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'pool_ext' AND has_function_privilege('public', p.oid, 'EXECUTE')",
        );
        // The low-water mark and a number's state are arithmetic that the views pool_alerts
        // and number_states call with their readers' rights (sql/finalize.sql).
        assert_eq!(public, "_low_water_mark, _number_state");
        let definers = one::<i64>(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'pool_ext' AND p.prosecdef
               AND p.proname IN ('assign_phone_number', 'release_expired_phone_numbers',
                                 'record_call_outcome', 'force_release_phone_number')",
        );
        assert_eq!(definers, 4);
    }

    #[pg_test]
    fn tables_and_sequence_are_marked_for_pg_dump() {
        let dumped = one::<String>(
            "SELECT string_agg(c.relname, ',' ORDER BY c.relname)
             FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
             WHERE e.extname = 'pool_ext'",
        );
        assert_eq!(
            dumped,
            "company_policies,crm_tables,lead_numbers,ledger_maintenance_log,ledger_maintenance_log_id_seq,ledger_settings,number_health_windows,phone_number_ledger,phone_number_ledger_default,phone_number_ledger_id_seq,pool_alert_state,signalwire_phone_numbers"
        );
    }

    /// The plan of a statement of the assignment as every call after the fifth runs it (the
    /// generic plan of a kept statement), one line.
    fn generic_plan(sql: &str, types: &str, args: &str) -> String {
        // The settings assign_phone_number runs its statements with.
        run(
            "SELECT set_config(split_part(c, '=', 1), split_part(c, '=', 2), true)
             FROM pg_proc, unnest(proconfig) AS c WHERE proname = 'assign_phone_number'",
        );
        run(&format!("PREPARE assignment_step ({types}) AS {sql}"));
        let plan = Spi::connect_mut(|client| {
            client
                .update(
                    &format!("EXPLAIN EXECUTE assignment_step ({args})"),
                    None,
                    &[],
                )
                .unwrap()
                .map(|row| row.get::<String>(1).unwrap().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" / ")
        });
        run("DEALLOCATE assignment_step");
        run(
            "RESET search_path; RESET enable_seqscan; RESET enable_bitmapscan;
             RESET plan_cache_mode; RESET jit",
        );
        plan
    }

    /// Each step of an assignment reaches its rows through an index, on a fresh install (no
    /// statistics at all), on a large pool not analyzed yet and on the same pool analyzed, so its
    /// cost never depends on the company's size or on what autovacuum has analyzed.
    #[pg_test]
    fn every_assignment_statement_uses_its_index_with_or_without_statistics() {
        use crate::assignment::{claim_sql, LOOKUP, RENEW};
        use crate::rules::ChosenBy;
        // The last: the lead's company of an overflow claim (issue 15).
        let claim_types = "text, uuid, interval, timestamptz, int4, timestamptz, int8, text, text";
        let claim_args = "'Acme', gen_random_uuid(), '18 hours', now(), 3, now(), 5, 'x', 'Other'";
        let mut steps = vec![
            (
                LOOKUP.sql,
                "text, uuid",
                "'Acme', gen_random_uuid()",
                "idx_signalwire_pool_lead_hold",
            ),
            (
                RENEW.sql,
                "text, uuid, interval, text",
                "'Acme', gen_random_uuid(), '1 hour', 'x'",
                "signalwire_phone_numbers_pkey",
            ),
        ];
        // With and without a daily cap (the texts differ).
        for capped in [false, true] {
            steps.extend([
                (
                    claim_sql(ChosenBy::PreviousNumber, capped),
                    claim_types,
                    claim_args,
                    "signalwire_phone_numbers_pkey",
                ),
                (
                    claim_sql(ChosenBy::AreaCode, capped),
                    claim_types,
                    claim_args,
                    "idx_signalwire_pool_free_area",
                ),
                (
                    claim_sql(ChosenBy::LeastRecentlyUsed, capped),
                    claim_types,
                    claim_args,
                    "idx_signalwire_pool_assignment ",
                ),
            ]);
        }
        // A fresh install (a few rows, no statistics), a large pool imported but not analyzed
        // yet (autovacuum has not come by), and the same pool analyzed.
        for state in ["fresh", "large, never analyzed", "large, analyzed"] {
            match state {
                "large, never analyzed" => run("INSERT INTO pool_ext.signalwire_phone_numbers
                         (vapi_phone_number_id, number, assigned_broker_company)
                     SELECT 'big-' || n, '+1212' || lpad(n::text, 7, '0'), 'Big ' || (n % 3)
                     FROM generate_series(1, 30000) AS n"),
                "large, analyzed" => run("ANALYZE pool_ext.signalwire_phone_numbers"),
                _ => {}
            }
            for &(sql, types, args, index) in &steps {
                let plan = generic_plan(sql, types, args);
                // On a table of a few rows the planner prices both free-number indexes alike
                // for the area code's claim, and either reaches its row at once there; the
                // plan is made again when autovacuum first vacuums or analyzes the table.
                let either_free_index = state == "fresh"
                    && index == "idx_signalwire_pool_free_area"
                    && plan.contains("idx_signalwire_pool_assignment ");
                assert!(
                    plan.contains(index) || either_free_index,
                    "{state}: expected {index} in {plan}"
                );
                assert!(
                    !plan.contains("Seq Scan on signalwire_phone_numbers")
                        && !plan.contains("Seq Scan on phone_number_ledger"),
                    "{state}: a sequential scan in {plan}"
                );
                // Only a capped company's claim counts the day's assignments in the ledger.
                let capped = sql.contains("l.occurred_at >= $6");
                assert_eq!(
                    plan.contains("_number_time"),
                    capped,
                    "{state}: the daily cap's count in {plan}"
                );
            }
        }
    }

    #[pg_test]
    fn the_api_functions_never_compile_with_jit() {
        let without = one::<i64>(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'pool_ext' AND 'jit=off' = ANY (p.proconfig)
               AND p.proname IN ('assign_phone_number', 'try_assign_phone_number',
                                 'release_expired_phone_numbers', 'record_call_outcome',
                                 'force_release_phone_number')",
        );
        assert_eq!(without, 5);
    }

    /// try_assign_phone_number runs assign_phone_number's statements: without its settings it
    /// would plan them differently, and without pool_ext.in_api the direct-change trigger would
    /// log every hold twice (found by the n8n test).
    #[pg_test]
    fn try_assign_runs_with_the_settings_of_assign() {
        let differing = one::<i64>(
            "SELECT count(DISTINCT proconfig) FROM pg_proc
             WHERE pronamespace = 'pool_ext'::regnamespace
               AND proname IN ('assign_phone_number', 'try_assign_phone_number')",
        );
        assert_eq!(differing, 1);
        run("SELECT pool_ext.import_phone_numbers('[{\"vapi_phone_number_id\": \"try-1\",
             \"number\": \"+14155550991\", \"name\": \"t\", \"broker_company\": \"Try Settings Co\"}]')");
        // As a caller that is not the owner: the trigger sees session_user, not the definer.
        run("CREATE ROLE try_settings_caller");
        run("SELECT pool_ext.grant_pool_access('try_settings_caller', 'caller')");
        run("SET LOCAL ROLE try_settings_caller");
        run("SELECT pool_ext.try_assign_phone_number('Try Settings Co', '00000000-0000-4000-8000-0000000007a1')");
        run("RESET ROLE");
        let rows = one::<String>(
            "SELECT string_agg(event || ':' || reason, ' ' ORDER BY id) FROM pool_ext.phone_number_ledger
             WHERE broker_company = 'Try Settings Co'",
        );
        assert_eq!(rows, "assigned:assign");
    }

    /// The low-water mark's one definition (_low_water_mark, read by every assignment and by
    /// pool_alerts): a count, else a share of the pool rounded up in numeric; callable by any
    /// role, since a monitoring role reads it through pool_alerts.
    #[pg_test]
    fn the_low_water_mark_is_a_count_or_a_rounded_up_share() {
        let marks = one::<String>(
            "SELECT string_agg(pool_ext._low_water_mark(c, s, n)::text, ',' ORDER BY i)
             FROM (VALUES (1, NULL::int, 0.2, 5), (2, NULL, 0.2, 20), (3, NULL, 0.2, 21),
                          (4, NULL, 0.2, 15), (5, NULL, 0.1, 30), (6, NULL, 0.7, 10),
                          (7, NULL, 0.2, 0), (8, NULL, 0.5, 15), (9, NULL, 0.0, 15),
                          (10, 3, NULL, 100), (11, NULL, NULL, 100)) AS v (i, c, s, n)",
        );
        // 20 % of 5; rounded up; 0.2 x 15 is 3 (numeric); no rule at all: only an empty pool.
        assert_eq!(marks, "1,4,5,3,3,7,0,8,0,3,0");
        assert!(one::<bool>(
            "SELECT has_function_privilege('public',
                 'pool_ext._low_water_mark(integer, numeric, bigint)', 'EXECUTE')"
        ));
    }

    /// company_pool_sizes, the base of the low-water mark, equals a live count after every kind
    /// of change, while holds and releases (which do not fire its triggers) change nothing.
    #[pg_test]
    fn company_pool_sizes_follow_every_change_of_the_pool() {
        let mismatches = || {
            one::<String>(
                "SELECT coalesce(string_agg(concat_ws(' ', coalesce(live.company, s.company),
                                                      live.n, s.active), '; '), '')
                 FROM (SELECT assigned_broker_company AS company,
                              count(*) FILTER (WHERE status = 'active') AS n
                       FROM pool_ext.signalwire_phone_numbers GROUP BY 1) AS live
                 FULL JOIN pool_ext.company_pool_sizes AS s USING (company)
                 WHERE live.n IS DISTINCT FROM s.active AND coalesce(live.n, s.active) <> 0",
            )
        };
        pool("Size A", 110, 4);
        pool("Size B", 111, 2);
        assert_eq!(mismatches(), "");
        let size_a = || {
            one::<i64>("SELECT active FROM pool_ext.company_pool_sizes WHERE company = 'Size A'")
        };
        assert_eq!(size_a(), 4);
        run("SELECT pool_ext.retire_phone_number('Size A-1')");
        run(
            "UPDATE pool_ext.signalwire_phone_numbers SET assigned_broker_company = 'Size B'
             WHERE vapi_phone_number_id = 'Size A-2'",
        );
        run(
            "DELETE FROM pool_ext.signalwire_phone_numbers WHERE vapi_phone_number_id = 'Size B-1'",
        );
        run("SELECT pool_ext.reactivate_phone_number('Size A-1')");
        run("SELECT pool_ext.retire_phone_number('Size A-3')");
        assert_eq!(mismatches(), "");
        assert_eq!(size_a(), 2);
        run(&format!(
            "SELECT pool_ext.assign_phone_number('Size A', '{LEAD_A}');
             SELECT pool_ext.force_release_phone_number('Size A-1', 'test')"
        ));
        assert_eq!(size_a(), 2);
        // A company that lost its row (a restore with triggers disabled) is counted whole when
        // its next change arrives.
        run("DELETE FROM pool_ext.company_pool_sizes WHERE company = 'Size A'");
        run("INSERT INTO pool_ext.signalwire_phone_numbers
                 (vapi_phone_number_id, number, assigned_broker_company)
             VALUES ('Size A-new', '+15551120001', 'Size A')");
        assert_eq!(mismatches(), "");
        assert_eq!(size_a(), 3);
        // A company without numbers of its own that lends from an overflow pool is counted once
        // by its first assignment and read from its row of 0 after; its first number adds 1.
        run("SELECT pool_ext.set_pool_rules('Size C', overflow_company => 'Size B')");
        run(&format!(
            "SELECT pool_ext.assign_phone_number('Size C', '{LEAD_B}')"
        ));
        assert_eq!(
            one::<i64>("SELECT active FROM pool_ext.company_pool_sizes WHERE company = 'Size C'"),
            0
        );
        run("INSERT INTO pool_ext.signalwire_phone_numbers
                 (vapi_phone_number_id, number, assigned_broker_company)
             VALUES ('Size C-1', '+15551130001', 'Size C')");
        assert_eq!(mismatches(), "");
        assert_eq!(
            one::<i64>("SELECT active FROM pool_ext.company_pool_sizes WHERE company = 'Size C'"),
            1
        );
    }

    /// A mark beyond the assignment's scan (a pool of 200: mark 40, scan 33): the assignments
    /// leave the crossing at 40 to check_pool_alerts() and raise it themselves at 32 left.
    #[pg_test]
    fn a_large_mark_is_raised_by_check_pool_alerts_or_once_32_are_left() {
        pool("Wide", 120, 200);
        let alerted = || {
            one::<bool>(
                "SELECT EXISTS (SELECT FROM pool_ext.pool_alert_state WHERE company = 'Wide')",
            )
        };
        let assign = |company: &str| {
            run(&format!(
                "SELECT pool_ext.assign_phone_number('{company}', gen_random_uuid())"
            ))
        };
        for _ in 0..160 {
            assign("Wide");
        }
        // 40 left, the mark: the assignment cannot tell 40 from 400 with its scan.
        assert!(!alerted());
        assert_eq!(one::<i32>("SELECT pool_ext.check_pool_alerts()"), 1);
        assert!(alerted());
        // A second pool drained by assignments alone raises at 32 left.
        pool("Wide Two", 121, 200);
        let raised_at = (1..=200)
            .find(|_| {
                assign("Wide Two");
                one::<bool>(
                    "SELECT EXISTS (SELECT FROM pool_ext.pool_alert_state WHERE company = 'Wide Two')",
                )
            })
            .unwrap();
        assert_eq!(200 - raised_at, 32);
    }
}
