//! The n8n workflows in examples/n8n cannot rot: every SQL statement of every Postgres node is
//! run here with sample values for its query parameters, as n8n would send them (its Postgres
//! node formats `$1, $2, ...` as escaped literals), by a role that has only the `caller` rights.

mod common;

use std::path::Path;

use common::*;
use postgres::fallible_iterator::FallibleIterator;
use postgres::SimpleQueryMessage;
use serde_json::Value;

/// The Postgres nodes of a workflow file: (node name, query, parameter expressions).
fn postgres_nodes(file: &Path) -> Vec<(String, String, Vec<String>)> {
    let workflow: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    workflow["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "n8n-nodes-base.postgres")
        .map(|n| {
            let p = &n["parameters"];
            assert_eq!(p["operation"], "executeQuery", "{}", n["name"]);
            let query = p["query"].as_str().unwrap().to_string();
            let replacement = p["options"]["queryReplacement"].as_str().unwrap_or("");
            // "={{ [ a, b, c ] }}": one expression returning an array, so that a value with a
            // comma in it stays one parameter (a plain comma-separated list would split it).
            let expressions = if replacement.is_empty() {
                Vec::new()
            } else {
                let inner = replacement
                    .trim()
                    .strip_prefix("={{")
                    .and_then(|r| r.strip_suffix("}}"))
                    .map(str::trim)
                    .and_then(|r| r.strip_prefix('['))
                    .and_then(|r| r.strip_suffix(']'))
                    .unwrap_or_else(|| {
                        panic!("{}: parameters are not one array expression", n["name"])
                    });
                inner.split(',').map(|e| e.trim().to_string()).collect()
            };
            (n["name"].as_str().unwrap().to_string(), query, expressions)
        })
        .collect()
}

/// What the sample webhook bodies hold (None: the field is absent, so the value is null).
fn sample(expression: &str, lead: &Uuid) -> Option<String> {
    match expression {
        "$json.body.company_name" => Some("N8n, Realty".into()),
        "$json.body.lead_id" => Some(lead.to_string()),
        "$json.body.reply_phone || null" => Some("+13055550123".into()),
        "$json.body.outcome" => Some("no_answer".into()),
        "$json.body.appointment_at || null" => None,
        other => panic!("no sample value for the expression {other}"),
    }
}

/// `$n` replaced by the n-th value as an escaped literal (or NULL), as n8n's Postgres node
/// formats query parameters.
fn bind(query: &str, values: &[Option<String>]) -> String {
    let mut sql = query.to_string();
    for (i, v) in values.iter().enumerate().rev() {
        let literal = match v {
            Some(v) => format!("'{}'", v.replace('\'', "''")),
            None => "NULL".to_string(),
        };
        sql = sql.replace(&format!("${}", i + 1), &literal);
    }
    sql
}

fn rows(s: &mut postgres::Client, sql: &str) -> Result<usize, postgres::Error> {
    Ok(s.simple_query(sql)?
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
        .count())
}

#[test]
fn every_statement_of_the_n8n_examples_runs_with_query_parameters() {
    let db = TestDb::new("n8n_examples");
    let mut s = db.session();
    load_pool(&mut s, "N8n, Realty", 6600, 1);
    s.batch_execute(
        "DROP ROLE IF EXISTS pe_n8n_caller; CREATE ROLE pe_n8n_caller NOLOGIN;
         SELECT grant_pool_access('pe_n8n_caller');
         SET ROLE pe_n8n_caller;
         SET search_path = \"$user\", public;",
    )
    .unwrap();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/n8n");
    let first_lead = lead(60, 1);
    let mut statements = 0;
    // In the order a lead lives through them: assigned, called, released.
    for file in [
        "assign-on-email-reply.json",
        "record-call-outcome.json",
        "hourly-release.json",
    ] {
        for (node, query, expressions) in postgres_nodes(&dir.join(file)) {
            assert!(
                !query.contains("{{"),
                "{file} / {node}: values are pasted into the SQL text"
            );
            let placeholders = (1..=9).filter(|i| query.contains(&format!("${i}"))).count();
            assert_eq!(
                placeholders,
                expressions.len(),
                "{file} / {node}: parameters and placeholders differ"
            );
            let values: Vec<Option<String>> =
                expressions.iter().map(|e| sample(e, &first_lead)).collect();
            let returned = rows(&mut s, &bind(&query, &values))
                .unwrap_or_else(|e| panic!("{file} / {node}: {e}"));
            assert_eq!(returned, 1, "{file} / {node}");
            statements += 1;
        }
    }
    assert_eq!(statements, 4);

    // An exhausted pool is a row the workflow branches on, not an error: the one number is held.
    let (_, query, expressions) = postgres_nodes(&dir.join("assign-on-email-reply.json")).remove(0);
    let values: Vec<Option<String>> = expressions
        .iter()
        .map(|e| sample(e, &lead(60, 2)))
        .collect();
    let answer = s.simple_query(&bind(&query, &values)).unwrap();
    let row = answer
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .expect("one row");
    assert_eq!(row.get("status"), Some("pool_exhausted"));
    assert_eq!(row.get("number"), None);
    assert_eq!(row.get("detail"), Some("1 of 1 numbers are assigned."));
    assert_eq!(row.get("customer_phone_e164"), Some("+13055550123"));

    s.batch_execute("RESET ROLE; RESET search_path").unwrap();
    assert_pool_invariants(&mut s);
}

#[test]
fn the_low_water_workflow_listens_where_alerts_are_sent_and_reads_their_fields() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/n8n");
    let workflow: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("low-water-alert.json")).unwrap())
            .unwrap();
    let nodes = workflow["nodes"].as_array().unwrap();
    let trigger = nodes
        .iter()
        .find(|n| n["type"] == "n8n-nodes-base.postgresTrigger")
        .expect("a Postgres Trigger node");
    assert_eq!(trigger["parameters"]["triggerMode"], "listenTrigger");
    let channel = trigger["parameters"]["channelName"].as_str().unwrap();
    let code = nodes
        .iter()
        .find(|n| n["type"] == "n8n-nodes-base.code")
        .expect("a Code node")["parameters"]["jsCode"]
        .as_str()
        .unwrap();

    // A real alert from an assignment, received on the workflow's channel.
    let db = TestDb::new("n8n_low_water");
    let mut s = db.session();
    load_pool(&mut s, "N8n Alert Realty", 6601, 2);
    let mut listener = db.session();
    listener
        .batch_execute(&format!("LISTEN {channel}"))
        .unwrap();
    assign(&mut s, "N8n Alert Realty", &lead(61, 1)).unwrap(); // 1 of 2 free: the mark
    let mut notes = listener.notifications();
    let note = notes
        .timeout_iter(std::time::Duration::from_secs(5))
        .next()
        .unwrap()
        .expect("an alert on the workflow's channel");
    let payload: Value = serde_json::from_str(note.payload()).unwrap();
    // Every field the Code node reads is in the payload.
    let mut read = 0;
    for field in code.split("p.").skip(1) {
        let name: String = field
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            payload.get(&name).is_some(),
            "the Code node reads p.{name}, which the payload {payload} lacks"
        );
        read += 1;
    }
    assert_eq!(read, 4, "{code}");
}
