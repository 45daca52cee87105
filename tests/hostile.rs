//! Hostile input, as a table: every entry must fail with its SQLSTATE and a message that says
//! what is wrong, and leave the pool, the ledger, the policies and the CRM registration exactly
//! as they were.

mod common;

use common::*;

const COMPANY: &str = "Hostile Realty";

/// (what, SQL, SQLSTATE). `$LEAD` is a lead that holds a number, `$FREE` one that holds none,
/// `$HELD` / `$HELDNUMBER` the held number's id and
/// number, `$BIG` a 10 KB string, `$DEEP` a 2,000-deep nested JSON array.
const CASES: &[(&str, &str, &str)] = &[
    // assign_phone_number
    ("assign: NULL company", "SELECT * FROM assign_phone_number(NULL, '$FREE')", "22004"),
    ("assign: NULL lead", "SELECT * FROM assign_phone_number('Hostile Realty', NULL)", "22004"),
    ("assign: empty company", "SELECT * FROM assign_phone_number('', '$FREE')", "22023"),
    ("assign: white space company", "SELECT * FROM assign_phone_number(E' \\t\\n ', '$FREE')", "22023"),
    ("assign: 10 KB company", "SELECT * FROM assign_phone_number('$BIG', '$FREE')", "42704"),
    ("assign: unknown company", "SELECT * FROM assign_phone_number('hostile realty', '$FREE')", "42704"),
    ("assign: 10 KB customer_phone", "SELECT * FROM assign_phone_number('Hostile Realty', '$FREE', '$BIG')", "22023"),
    ("assign: blank customer_phone", "SELECT * FROM assign_phone_number('Hostile Realty', '$FREE', ' ')", "22023"),
    ("assign: lead not a uuid", "SELECT * FROM assign_phone_number('Hostile Realty', 'lead-1')", "22P02"),
    // record_call_outcome
    ("outcome: NULL lead", "SELECT * FROM record_call_outcome(NULL, 'booked')", "22004"),
    ("outcome: NULL outcome", "SELECT * FROM record_call_outcome('$LEAD', NULL)", "22004"),
    ("outcome: empty outcome", "SELECT * FROM record_call_outcome('$LEAD', '')", "22023"),
    ("outcome: unknown outcome", "SELECT * FROM record_call_outcome('$LEAD', 'voicemail')", "22023"),
    ("outcome: wrong case", "SELECT * FROM record_call_outcome('$LEAD', 'BOOKED', now() + interval '1 day')", "22023"),
    ("outcome: 10 KB outcome", "SELECT * FROM record_call_outcome('$LEAD', '$BIG')", "22023"),
    ("outcome: booked without appointment", "SELECT * FROM record_call_outcome('$LEAD', 'booked')", "22004"),
    ("outcome: appointment in the past", "SELECT * FROM record_call_outcome('$LEAD', 'booked', now() - interval '1 minute')", "22023"),
    ("outcome: appointment two years ahead", "SELECT * FROM record_call_outcome('$LEAD', 'booked', now() + interval '2 years')", "22023"),
    ("outcome: appointment infinity", "SELECT * FROM record_call_outcome('$LEAD', 'booked', 'infinity')", "22023"),
    ("outcome: appointment -infinity", "SELECT * FROM record_call_outcome('$LEAD', 'booked', '-infinity')", "22023"),
    ("outcome: appointment for no_answer", "SELECT * FROM record_call_outcome('$LEAD', 'no_answer', now() + interval '1 day')", "22023"),
    ("outcome: lead without a hold", "SELECT * FROM record_call_outcome('$FREE', 'no_answer')", "P0002"),
    ("outcome: other company", "SELECT * FROM record_call_outcome('$LEAD', 'no_answer', company => 'Other Realty')", "P0002"),
    ("outcome: blank company", "SELECT * FROM record_call_outcome('$LEAD', 'no_answer', company => '')", "22023"),
    // set_company_policy
    ("policy: NULL company", "SELECT * FROM set_company_policy(NULL, '1 hour')", "22004"),
    ("policy: unknown time zone", "SELECT * FROM set_company_policy('Hostile Realty', time_zone => 'Mars/Olympus_Mons')", "22023"),
    ("policy: empty time zone", "SELECT * FROM set_company_policy('Hostile Realty', time_zone => '')", "22023"),
    ("policy: 10 KB time zone", "SELECT * FROM set_company_policy('Hostile Realty', time_zone => '$BIG')", "22023"),
    ("policy: POSIX offset zone", "SELECT * FROM set_company_policy('Hostile Realty', time_zone => 'UTC+3; DROP TABLE x')", "22023"),
    ("policy: zero retention", "SELECT * FROM set_company_policy('Hostile Realty', interval '0')", "22023"),
    ("policy: negative retention", "SELECT * FROM set_company_policy('Hostile Realty', interval '-1 hour')", "22023"),
    ("policy: retention a year", "SELECT * FROM set_company_policy('Hostile Realty', interval '1 year')", "22023"),
    ("policy: booked hold 1 month -40 days", "SELECT * FROM set_company_policy('Hostile Realty', booked_hold => interval '1 month -40 days')", "22023"),
    ("policy: retention not an interval", "SELECT * FROM set_company_policy('Hostile Realty', 'forever')", "22007"),
    // import_phone_numbers
    ("import: NULL", "SELECT * FROM import_phone_numbers(NULL)", "22004"),
    ("import: an object", "SELECT * FROM import_phone_numbers('{}')", "22023"),
    ("import: a string", "SELECT * FROM import_phone_numbers('\"numbers\"')", "22023"),
    ("import: array of numbers", "SELECT * FROM import_phone_numbers('[1, 2]')", "22023"),
    ("import: array with null", "SELECT * FROM import_phone_numbers('[null]')", "22023"),
    ("import: empty object", "SELECT * FROM import_phone_numbers('[{}]')", "22023"),
    ("import: malformed JSON", "SELECT * FROM import_phone_numbers('[{\"number\": }')", "22P02"),
    ("import: deeply nested", "SELECT * FROM import_phone_numbers('$DEEP')", "22023"),
    ("import: nested in a field", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+14155559001\", \"name\": {\"a\": [1]}, \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: number as a JSON number", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": 14155559001, \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: unknown field", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+14155559001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\", \"status\": \"active\"}]')", "22023"),
    ("import: missing company", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+14155559001\", \"name\": \"x\"}]')", "22023"),
    ("import: blank id", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"  \", \"number\": \"+14155559001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: 10 KB name", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+14155559001\", \"name\": \"$BIG\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: no plus", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"14155559001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: 16 digits", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+1415555900123456\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: leading zero", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+04155559001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: spaces in number", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+1 415 555 9001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: Arabic digits", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+١٤١٥٥٥٥٩٠٠١\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: 10 KB number", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+$BIG\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: duplicate id", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+14155559001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}, {\"vapi_phone_number_id\": \"h-1\", \"number\": \"+14155559002\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: duplicate number", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+14155559001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}, {\"vapi_phone_number_id\": \"h-2\", \"number\": \"+14155559001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: number of another id", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"h-1\", \"number\": \"+1415800001\", \"name\": \"x\", \"broker_company\": \"Hostile Realty\"}]')", "22023"),
    ("import: held number to another company", "SELECT * FROM import_phone_numbers('[{\"vapi_phone_number_id\": \"$HELD\", \"number\": \"$HELDNUMBER\", \"name\": \"x\", \"broker_company\": \"Other Realty\"}]')", "22023"),
    // number management
    ("retire: NULL id", "SELECT retire_phone_number(NULL)", "22004"),
    ("retire: empty id", "SELECT retire_phone_number('')", "22023"),
    ("retire: unknown id", "SELECT retire_phone_number('no-such-number')", "42704"),
    ("retire: 10 KB id", "SELECT retire_phone_number('$BIG')", "42704"),
    ("reactivate: unknown id", "SELECT reactivate_phone_number('no-such-number')", "42704"),
    ("move: NULL company", "SELECT move_phone_number('$HELD', NULL)", "22004"),
    ("move: blank company", "SELECT move_phone_number('$HELD', '  ')", "22023"),
    ("move: held number", "SELECT move_phone_number('$HELD', 'Other Realty')", "55006"),
    ("move: unknown id", "SELECT move_phone_number('no-such-number', 'Other Realty')", "42704"),
    ("force release: NULL id", "SELECT force_release_phone_number(NULL)", "22004"),
    ("force release: unknown id", "SELECT force_release_phone_number('no-such-number')", "42704"),
    ("force release: blank reason", "SELECT force_release_phone_number('$HELD', '')", "22023"),
    // release
    ("release: max_rows 0", "SELECT release_expired_phone_numbers(0)", "22023"),
    ("release: max_rows negative", "SELECT release_expired_phone_numbers(-5)", "22023"),
    ("release in batches: batch_size 0", "CALL release_expired_phone_numbers_in_batches(0)", "22023"),
    // pool rules
    ("pool rules: NULL company", "SELECT * FROM set_pool_rules(NULL, low_water_count => 2)", "22004"),
    ("pool rules: blank company", "SELECT * FROM set_pool_rules(' ', daily_cap => 2)", "22023"),
    ("pool rules: negative low-water count", "SELECT * FROM set_pool_rules('Hostile Realty', low_water_count => -1)", "22023"),
    ("pool rules: huge low-water count", "SELECT * FROM set_pool_rules('Hostile Realty', low_water_count => 2000000000)", "22023"),
    ("pool rules: share above 1", "SELECT * FROM set_pool_rules('Hostile Realty', low_water_share => 1.5)", "22023"),
    ("pool rules: negative share", "SELECT * FROM set_pool_rules('Hostile Realty', low_water_share => -0.1)", "22023"),
    ("pool rules: NaN share", "SELECT * FROM set_pool_rules('Hostile Realty', low_water_share => 'NaN')", "22023"),
    ("pool rules: count and share", "SELECT * FROM set_pool_rules('Hostile Realty', low_water_count => 2, low_water_share => 0.5)", "22023"),
    ("pool rules: negative cooldown", "SELECT * FROM set_pool_rules('Hostile Realty', cooldown => '-1 minute')", "22023"),
    ("pool rules: cooldown a month", "SELECT * FROM set_pool_rules('Hostile Realty', cooldown => '1 month')", "22023"),
    ("pool rules: cooldown 8 days", "SELECT * FROM set_pool_rules('Hostile Realty', cooldown => '8 days')", "22023"),
    ("pool rules: cooldown not an interval", "SELECT * FROM set_pool_rules('Hostile Realty', cooldown => 'a while')", "22007"),
    ("pool rules: negative daily cap", "SELECT * FROM set_pool_rules('Hostile Realty', daily_cap => -1)", "22023"),
    ("pool rules: daily cap too large", "SELECT * FROM set_pool_rules('Hostile Realty', daily_cap => 100001)", "22023"),
    ("pool rules: daily cap not a number", "SELECT * FROM set_pool_rules('Hostile Realty', daily_cap => 'ten')", "22P02"),
    ("activity: not a time", "SELECT * FROM pool_activity('Hostile Realty', 'yesterday-ish')", "22007"),
    ("runway: not an interval", "SELECT * FROM pool_runway('soon')", "22007"),
    // CRM registration
    ("crm: NULL leads", "SELECT register_crm_tables(NULL, 'hostile_interactions')", "22004"),
    ("crm: missing table", "SELECT register_crm_tables('no_such_table', 'hostile_interactions')", "42P01"),
    ("crm: leads lacks columns", "SELECT register_crm_tables('hostile_interactions', 'hostile_interactions')", "42703"),
    ("crm: a view is not a table", "SELECT register_crm_tables('pool_ext.pool_health', 'hostile_interactions')", "42703"),
];

#[test]
fn every_hostile_input_gets_a_clear_error_and_changes_nothing() {
    let db = TestDb::new("hostile_inputs");
    let mut s = db.session();
    load_pool(&mut s, COMPANY, 4158, 3);
    load_pool(&mut s, "Other Realty", 4159, 1);
    s.batch_execute(
        "CREATE TABLE hostile_interactions (lead_id uuid, type text, metadata jsonb, created_at timestamptz)",
    )
    .unwrap();
    let holder = lead(5, 1);
    let held = assign(&mut s, COMPANY, &holder).unwrap();
    let held_number: String = s
        .query_one(
            "SELECT number FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
            &[&held],
        )
        .unwrap()
        .get(0);
    let free = lead(5, 2).to_string();
    let big = "x".repeat(10 * 1024);
    let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));

    let mut failures = Vec::new();
    for (what, sql, expected) in CASES {
        let sql = sql
            .replace("$HELDNUMBER", &held_number)
            .replace("$HELD", &held)
            .replace("$LEAD", &holder.to_string())
            .replace("$FREE", &free)
            .replace("$BIG", &big)
            .replace("$DEEP", &deep);
        let before = snapshot(&mut s);
        match s.batch_execute(&sql) {
            Ok(()) => failures.push(format!("{what}: succeeded")),
            Err(e) => match e.as_db_error() {
                None => failures.push(format!("{what}: not a database error: {e}")),
                Some(db) => {
                    let code = db.code().code();
                    if code != *expected {
                        failures.push(format!(
                            "{what}: SQLSTATE {code}, expected {expected}: {}",
                            db.message()
                        ));
                    }
                    if db.message().len() > 400 {
                        failures.push(format!("{what}: message of {} bytes", db.message().len()));
                    }
                    if db.message().contains("panicked") || db.message().contains("called `") {
                        failures.push(format!(
                            "{what}: a Rust panic reached the caller: {}",
                            db.message()
                        ));
                    }
                }
            },
        }
        if snapshot(&mut s) != before {
            failures.push(format!(
                "{what}: changed the pool, ledger, policies or CRM registration"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs misbehaved:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    assert_pool_invariants(&mut s);
    eprintln!(
        "hostile inputs tried: {}, all refused with their SQLSTATE, nothing changed",
        CASES.len()
    );
}
