//! Managing the numbers themselves: importing the JSON config, retiring, reactivating and
//! moving numbers between companies.

use std::collections::HashMap;

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::spi::SpiClient;
use pgrx::JsonB;
use serde::{Deserialize, Serialize};

use crate::errors::{shorten, PoolError};
use crate::health;
use crate::plans::{plan, Statement};
use crate::releases::lock_number;
use crate::validation::is_e164;

/// One entry of the numbers document, as the original JSON config writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NumberEntry {
    pub vapi_phone_number_id: String,
    pub number: String,
    pub name: String,
    pub broker_company: String,
    #[serde(default)]
    pub notes: Option<String>,
}

const FIELDS: [&str; 5] = [
    "vapi_phone_number_id",
    "number",
    "name",
    "broker_company",
    "notes",
];
const MAX_ID: usize = 128;
const MAX_NAME: usize = 200;
const MAX_NOTES: usize = 2000;

fn invalid(path: String, problem: impl Into<String>) -> PoolError {
    PoolError::InvalidImport {
        path,
        problem: problem.into(),
    }
}

/// Parse and check a whole document; the first problem, by entry index and field, is the error.
pub fn parse_numbers(document: &serde_json::Value) -> Result<Vec<NumberEntry>, PoolError> {
    let items = document
        .as_array()
        .ok_or_else(|| invalid("numbers".into(), "must be a JSON array of objects"))?;
    let mut entries = Vec::with_capacity(items.len());
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut phones: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let entry = parse_entry(i, item)?;
        entries.push(entry);
    }
    for (i, entry) in entries.iter().enumerate() {
        if let Some(first) = ids.insert(&entry.vapi_phone_number_id, i) {
            return Err(invalid(
                format!("numbers[{i}].vapi_phone_number_id"),
                format!(
                    "'{}' also appears at numbers[{first}]",
                    entry.vapi_phone_number_id
                ),
            ));
        }
        if let Some(first) = phones.insert(&entry.number, i) {
            return Err(invalid(
                format!("numbers[{i}].number"),
                format!("'{}' also appears at numbers[{first}]", entry.number),
            ));
        }
    }
    Ok(entries)
}

fn parse_entry(i: usize, item: &serde_json::Value) -> Result<NumberEntry, PoolError> {
    let at = |field: &str| format!("numbers[{i}].{field}");
    let object = item
        .as_object()
        .ok_or_else(|| invalid(format!("numbers[{i}]"), "must be an object"))?;
    // serde names a missing or unknown field itself; a wrong type it does not, so name it here.
    for field in FIELDS {
        match object.get(field) {
            Some(serde_json::Value::String(_)) | None => {}
            Some(serde_json::Value::Null) if field == "notes" => {}
            Some(other) => {
                return Err(invalid(
                    at(field),
                    format!("must be a string, got {}", json_type(other)),
                ))
            }
        }
    }
    let entry: NumberEntry = serde_json::from_value(item.clone())
        .map_err(|e| invalid(format!("numbers[{i}]"), e.to_string()))?;
    let text = |field: &str, value: &str, max: usize| -> Result<(), PoolError> {
        if value.trim().is_empty() {
            return Err(invalid(at(field), "must not be empty"));
        }
        if value.chars().count() > max {
            return Err(invalid(
                at(field),
                format!("must be at most {max} characters"),
            ));
        }
        Ok(())
    };
    text("vapi_phone_number_id", &entry.vapi_phone_number_id, MAX_ID)?;
    text("name", &entry.name, MAX_NAME)?;
    text("broker_company", &entry.broker_company, MAX_NAME)?;
    if !is_e164(&entry.number) {
        return Err(invalid(
            at("number"),
            format!(
                "'{}' is not an E.164 number such as +14155550100",
                shorten(&entry.number)
            ),
        ));
    }
    if let Some(notes) = &entry.notes {
        if notes.chars().count() > MAX_NOTES {
            return Err(invalid(
                at("notes"),
                format!("must be at most {MAX_NOTES} characters"),
            ));
        }
    }
    Ok(entry)
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Lock the rows the document touches and report the first conflict.
/// Text and parameters: sql/statements/import_conflicts.sql.
const IMPORT_CONFLICTS: Statement = Statement {
    sql: include_str!("../sql/statements/import_conflicts.sql"),
    arg_types: &[pg_sys::JSONBOID],
};

/// Insert new numbers, update changed ones, leave identical ones alone.
/// Text and parameters: sql/statements/import_upsert.sql.
const IMPORT_UPSERT: Statement = Statement {
    sql: include_str!("../sql/statements/import_upsert.sql"),
    arg_types: &[pg_sys::JSONBOID],
};

/// Parse the document's JSON text. serde_json stops at 128 levels of nesting; Postgres' jsonb
/// goes far deeper, so such a document is reported as an import error, not a crash.
pub fn parse_document(text: &str) -> Result<serde_json::Value, PoolError> {
    serde_json::from_str(text).map_err(|e| {
        let problem = if e.to_string().contains("recursion limit") {
            "is nested more than 128 levels deep".to_string()
        } else {
            format!("is not valid JSON: {e}")
        };
        invalid("numbers".into(), problem)
    })
}

/// Import the parsed entries, all or nothing: (inserted, updated, unchanged).
pub fn import(
    client: &mut SpiClient<'_>,
    entries: &[NumberEntry],
) -> Result<(i64, i64, i64), PoolError> {
    let total = entries.len() as i64;
    let document = || JsonB(serde_json::to_value(entries).expect("entries serialize"));
    let args: [DatumWithOid; 1] = [document().into()];
    let conflict = client.update(&*plan(client, &IMPORT_CONFLICTS)?, Some(1), &args)?;
    if let Some(row) = conflict.into_iter().next() {
        let position = row.get::<i64>(1)?.unwrap_or_default();
        let field = row.get::<String>(2)?.unwrap_or_default();
        let problem = row.get::<String>(3)?.unwrap_or_default();
        return Err(invalid(format!("numbers[{position}].{field}"), problem));
    }
    let args: [DatumWithOid; 1] = [document().into()];
    let counts = client.update(&*plan(client, &IMPORT_UPSERT)?, Some(1), &args)?;
    let (inserted, updated) = counts.first().get_two::<i64, i64>()?;
    let (inserted, updated) = (inserted.unwrap_or(0), updated.unwrap_or(0));
    Ok((inserted, updated, total - inserted - updated))
}

const SET_STATUS: Statement = Statement {
    sql: "UPDATE signalwire_phone_numbers SET status = $2, quarantined_until = NULL
          WHERE vapi_phone_number_id = $1 AND status <> $2",
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID],
};

/// Set a number's status ('active' or 'inactive'); false when it had that status already.
/// Activating a quarantined number ends its quarantine as reinstate_phone_number does (its
/// health window goes with the status: sql/health.sql).
pub fn set_status(client: &mut SpiClient<'_>, id: &str, status: &str) -> Result<bool, PoolError> {
    lock_number(client, id)?;
    let args: [DatumWithOid; 2] = [id.into(), status.into()];
    Ok(!client
        .update(&*plan(client, &SET_STATUS)?, None, &args)?
        .is_empty())
}

/// End number `id`'s quarantine now; false when it was not quarantined, an error when there
/// is no such number.
pub fn reinstate(client: &mut SpiClient<'_>, id: &str) -> Result<bool, PoolError> {
    lock_number(client, id)?;
    Ok(health::end_quarantine(client, Some(id))? > 0)
}

/// Moves the number (its health window is forgotten: sql/health.sql).
const MOVE: Statement = Statement {
    sql: "UPDATE signalwire_phone_numbers SET assigned_broker_company = $2
          WHERE vapi_phone_number_id = $1 AND assigned_broker_company <> $2",
    arg_types: &[pg_sys::TEXTOID, pg_sys::TEXTOID],
};

const HOLD_END: Statement = Statement {
    sql: "SELECT release_at::text FROM signalwire_phone_numbers WHERE vapi_phone_number_id = $1",
    arg_types: &[pg_sys::TEXTOID],
};

/// Move number `id` to `company`, refused while it is held; false when it was there already.
pub fn move_number(client: &mut SpiClient<'_>, id: &str, company: &str) -> Result<bool, PoolError> {
    if let Some(lead) = lock_number(client, id)? {
        let args: [DatumWithOid; 1] = [id.into()];
        let release_at = client
            .update(&*plan(client, &HOLD_END)?, Some(1), &args)?
            .first()
            .get_one::<String>()?;
        return Err(PoolError::NumberHeld {
            id: id.to_string(),
            lead: lead.to_string(),
            release_at: release_at.unwrap_or_default(),
        });
    }
    let args: [DatumWithOid; 2] = [id.into(), company.into()];
    Ok(!client
        .update(&*plan(client, &MOVE)?, None, &args)?
        .is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(id: &str, number: &str) -> serde_json::Value {
        json!({"vapi_phone_number_id": id, "number": number, "name": "Line", "broker_company": "Acme"})
    }

    fn problem(document: serde_json::Value) -> String {
        match parse_numbers(&document) {
            Err(PoolError::InvalidImport { path, problem }) => format!("{path}: {problem}"),
            other => panic!("expected an import error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_document_parses_with_optional_notes() {
        let doc = json!([
            entry("a", "+14155550101"),
            {"vapi_phone_number_id": "b", "number": "+14155550102", "name": "B",
             "broker_company": "Acme", "notes": "spare"},
            {"vapi_phone_number_id": "c", "number": "+14155550103", "name": "C",
             "broker_company": "Acme", "notes": null},
        ]);
        let entries = parse_numbers(&doc).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].notes.as_deref(), Some("spare"));
        assert_eq!(entries[2].notes, None);
        assert!(parse_numbers(&json!([])).unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_entry_and_the_field() {
        assert_eq!(
            problem(json!({"a": 1})),
            "numbers: must be a JSON array of objects"
        );
        assert_eq!(
            problem(json!([entry("a", "+14155550101"), 5])),
            "numbers[1]: must be an object"
        );
        assert_eq!(
            problem(json!([entry("a", "4155550101")])),
            "numbers[0].number: '4155550101' is not an E.164 number such as +14155550100"
        );
        assert_eq!(
            problem(
                json!([{"vapi_phone_number_id": "a", "number": 14155550101_i64, "name": "x", "broker_company": "y"}])
            ),
            "numbers[0].number: must be a string, got a number"
        );
        assert_eq!(
            problem(
                json!([{"vapi_phone_number_id": "a", "number": "+14155550101", "broker_company": "y"}])
            ),
            "numbers[0]: missing field `name`"
        );
        let unknown = problem(
            json!([{"vapi_phone_number_id": "a", "number": "+14155550101",
                                       "name": "x", "broker_company": "y", "company": "z"}]),
        );
        assert!(
            unknown.starts_with("numbers[0]: unknown field `company`"),
            "{unknown}"
        );
        assert_eq!(
            problem(
                json!([{"vapi_phone_number_id": " ", "number": "+14155550101", "name": "x", "broker_company": "y"}])
            ),
            "numbers[0].vapi_phone_number_id: must not be empty"
        );
        assert_eq!(
            problem(
                json!([{"vapi_phone_number_id": "a", "number": "+14155550101", "name": "x", "broker_company": ""}])
            ),
            "numbers[0].broker_company: must not be empty"
        );
    }

    #[test]
    fn duplicates_inside_the_document_are_refused() {
        assert_eq!(
            problem(json!([
                entry("a", "+14155550101"),
                entry("b", "+14155550102"),
                entry("a", "+14155550103")
            ])),
            "numbers[2].vapi_phone_number_id: 'a' also appears at numbers[0]"
        );
        assert_eq!(
            problem(json!([
                entry("a", "+14155550101"),
                entry("b", "+14155550101")
            ])),
            "numbers[1].number: '+14155550101' also appears at numbers[0]"
        );
    }

    #[test]
    fn long_values_are_refused_and_quoted_short() {
        let long = "9".repeat(10_000);
        let p = problem(json!([entry("a", &format!("+{long}"))]));
        assert!(p.len() < 120, "{p}");
        let p = problem(
            json!([{"vapi_phone_number_id": "a".repeat(129), "number": "+14155550101",
                                 "name": "x", "broker_company": "y"}]),
        );
        assert_eq!(
            p,
            "numbers[0].vapi_phone_number_id: must be at most 128 characters"
        );
    }
}

/// Property tests: whatever the document, the import parses it or names what is wrong, and
/// never panics; valid documents come back exactly; a bad field is reported where it is.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// Strings that look like what a document holds: field names, phone numbers good and bad,
    /// blanks, quotes, non-ASCII digits.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("   ".to_string()),
            "\\+[1-9][0-9]{1,14}",
            "\\+?[0-9٠-٩ ()+-]{0,20}",
            "[a-zA-Z0-9 '\";%$\\\\-]{1,30}",
            prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
        ]
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
                            "[a-z_]{1,8}"
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    /// A valid document of 1 to 8 entries with distinct ids and numbers.
    fn valid_document() -> impl Strategy<Value = Vec<NumberEntry>> {
        prop::collection::vec(
            (
                "[A-Za-z0-9 '-]{0,20}",
                "[A-Za-z ']{1,20}",
                prop::option::of("[ -~]{0,40}"),
            ),
            1..8,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (name, company, notes))| NumberEntry {
                    vapi_phone_number_id: format!("id-{i}"),
                    number: format!("+1415555{i:04}"),
                    name: format!("Line {name}"),
                    broker_company: format!("Co {company}"),
                    notes,
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_document_is_parsed_or_refused_with_its_place(doc in any_json()) {
            match parse_numbers(&doc) {
                Ok(entries) => {
                    let mut ids = std::collections::HashSet::new();
                    let mut numbers = std::collections::HashSet::new();
                    for e in &entries {
                        prop_assert!(is_e164(&e.number));
                        prop_assert!(!e.vapi_phone_number_id.trim().is_empty());
                        prop_assert!(!e.name.trim().is_empty());
                        prop_assert!(!e.broker_company.trim().is_empty());
                        prop_assert!(ids.insert(e.vapi_phone_number_id.clone()));
                        prop_assert!(numbers.insert(e.number.clone()));
                    }
                }
                Err(PoolError::InvalidImport { path, problem }) => {
                    prop_assert!(path.starts_with("numbers"), "{path}");
                    prop_assert!(!problem.is_empty());
                    prop_assert!(problem.len() < 400, "{problem}");
                }
                Err(other) => prop_assert!(false, "not an import error: {other:?}"),
            }
        }

        #[test]
        fn valid_documents_come_back_exactly(entries in valid_document()) {
            let text = serde_json::to_string(&entries).unwrap();
            let parsed = parse_numbers(&parse_document(&text).unwrap()).unwrap();
            prop_assert_eq!(parsed, entries);
        }

        #[test]
        fn a_bad_field_is_reported_at_its_entry_and_field(
            entries in valid_document(),
            pick in any::<prop::sample::Index>(),
            field in prop::sample::select(vec!["vapi_phone_number_id", "number", "name", "broker_company"]),
            bad in prop_oneof![
                Just(json!("")),
                Just(json!("  ")),
                Just(json!(14155550100_i64)),
                Just(json!(null)),
                Just(json!(["+14155550100"])),
                Just(json!({"number": "+14155550100"})),
            ],
        ) {
            let k = pick.index(entries.len());
            let mut doc = serde_json::to_value(&entries).unwrap();
            doc[k][field] = bad;
            match parse_numbers(&doc) {
                Err(PoolError::InvalidImport { path, .. }) => {
                    // A missing value (null) is named by serde at the entry; the rest at the field.
                    prop_assert!(
                        path == format!("numbers[{k}].{field}") || path == format!("numbers[{k}]"),
                        "{path}"
                    );
                }
                other => prop_assert!(false, "expected an import error, got {other:?}"),
            }
        }

        #[test]
        fn nesting_of_any_depth_is_an_error_not_a_crash(depth in 1_usize..5000) {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            match parse_document(&text) {
                Ok(v) => prop_assert!(parse_numbers(&v).is_err() || depth == 1),
                Err(PoolError::InvalidImport { path, problem }) => {
                    prop_assert_eq!(path, "numbers");
                    prop_assert!(problem.contains("nested") , "{problem}");
                }
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
