//! Tracking assignments in the operator's own CRM tables, when registered: the lead row gets
//! the number, and an interaction row records it, in the assignment's transaction.

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::errors::PoolError;
use crate::plans::{plan, plan_sql, Statement};

/// The columns each CRM table needs, and the types accepted for each (values are written
/// with Postgres' assignment casts, so varchar and timestamp work as well).
const LEADS_COLUMNS: &[(&str, &[&str])] = &[
    ("id", &["uuid"]),
    ("assigned_phone_number_id", &["text", "character varying"]),
    (
        "phone_assigned_at",
        &["timestamp with time zone", "timestamp without time zone"],
    ),
];
const INTERACTIONS_COLUMNS: &[(&str, &[&str])] = &[
    ("lead_id", &["uuid"]),
    ("type", &["text", "character varying"]),
    ("metadata", &["jsonb"]),
    (
        "created_at",
        &["timestamp with time zone", "timestamp without time zone"],
    ),
];

/// The interaction type written for an assignment.
pub const INTERACTION_TYPE: &str = "phone_number_assigned";

/// What a table lacks: "missing column x (uuid)" for a missing column, "column x must be uuid, not
/// integer" for a wrong type. `actual` holds (name, format_type) pairs; typmods such as
/// "character varying(20)" count as their base type.
pub fn column_problems(required: &[(&str, &[&str])], actual: &[(String, String)]) -> Vec<String> {
    required
        .iter()
        .filter_map(|(name, accepted)| {
            let wanted = accepted.join(" or ");
            match actual.iter().find(|(n, _)| n == name) {
                None => Some(format!("missing column {name} ({wanted})")),
                Some((_, ty)) => {
                    let base = ty.split('(').next().unwrap_or(ty).trim();
                    (!accepted.contains(&base))
                        .then(|| format!("column {name} must be {wanted}, not {ty}"))
                }
            }
        })
        .collect()
}

fn check_table(
    client: &mut SpiClient<'_>,
    table: pg_sys::Oid,
    required: &[(&str, &[&str])],
) -> Result<String, PoolError> {
    let args: [DatumWithOid; 1] = [table.into()];
    let name = client
        .update("SELECT $1::regclass::text", Some(1), &args)?
        .first()
        .get_one::<String>()?
        .unwrap_or_default();
    let mut actual: Vec<(String, String)> = Vec::new();
    let columns = client.update(
        "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
         WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
        None,
        &args,
    )?;
    for row in columns {
        let column = |i| row.get::<String>(i).map(Option::unwrap_or_default);
        actual.push((column(1)?, column(2)?));
    }
    let missing = column_problems(required, &actual);
    if missing.is_empty() {
        Ok(name)
    } else {
        Err(PoolError::CrmColumnsMissing {
            table: name,
            missing,
        })
    }
}

/// Register `leads` and `interactions` (their columns checked first); the message to show.
pub fn register(
    client: &mut SpiClient<'_>,
    leads: pg_sys::Oid,
    interactions: pg_sys::Oid,
) -> Result<String, PoolError> {
    let leads_name = check_table(client, leads, LEADS_COLUMNS)?;
    let interactions_name = check_table(client, interactions, INTERACTIONS_COLUMNS)?;
    let args: [DatumWithOid; 2] = [leads.into(), interactions.into()];
    client.update(
        include_str!("../sql/statements/register_crm_tables.sql"),
        None,
        &args,
    )?;
    check_owners(client)?;
    Ok(format!(
        "assign_phone_number now also updates {leads_name} and inserts into {interactions_name}"
    ))
}

/// Forget the registered tables; false when none were registered.
pub fn unregister(client: &mut SpiClient<'_>) -> Result<bool, PoolError> {
    Ok(!client
        .update("DELETE FROM crm_tables", None, &[])?
        .is_empty())
}

/// The registered tables, as names quoted for SQL.
pub struct CrmTables {
    pub leads: String,
    pub interactions: String,
}

/// A new assignment, as the CRM records it.
pub struct Assignment<'a> {
    pub lead: pgrx::Uuid,
    pub vapi_phone_number_id: &'a str,
    pub number: &'a str,
    pub company: &'a str,
    pub customer_phone: Option<&'a str>,
    pub assigned_at: TimestampWithTimeZone,
}

/// Each registered table with its owner (NULL when the table was dropped).
/// Text and parameters: sql/statements/crm_table_owners.sql.
const OWNERS: Statement = Statement {
    sql: include_str!("../sql/statements/crm_table_owners.sql"),
    arg_types: &[],
};

/// Both tables must still exist and belong to superusers: pool_ext writes to them as its
/// owner, a superuser, and any trigger, default or policy on them runs with those rights.
fn check_owners(client: &mut SpiClient<'_>) -> Result<(), PoolError> {
    let rows = client.update(&*plan(client, &OWNERS)?, None, &[])?;
    for row in rows {
        match row.get::<bool>(3)? {
            None => return Err(PoolError::CrmTableDropped),
            Some(true) => {}
            Some(false) => {
                return Err(PoolError::CrmOwnerNotSuperuser {
                    table: row.get::<String>(1)?.unwrap_or_default(),
                    owner: row.get::<String>(2)?.unwrap_or_default(),
                })
            }
        }
    }
    Ok(())
}

/// Write the assignment to the lead row and the interactions table.
pub fn track(
    client: &mut SpiClient<'_>,
    tables: &CrmTables,
    a: &Assignment<'_>,
) -> Result<(), PoolError> {
    check_owners(client)?;
    let update_lead =
        include_str!("../sql/statements/crm_update_lead.sql").replace("{leads}", &tables.leads);
    let args: [DatumWithOid; 3] = [
        a.lead.into(),
        a.vapi_phone_number_id.into(),
        a.assigned_at.into(),
    ];
    let types = [pg_sys::UUIDOID, pg_sys::TEXTOID, pg_sys::TIMESTAMPTZOID];
    let updated = client.update(&*plan_sql(client, &update_lead, &types)?, None, &args)?;
    if updated.is_empty() {
        return Err(PoolError::CrmLeadMissing {
            table: tables.leads.clone(),
            lead: a.lead.to_string(),
        });
    }
    let insert_interaction = include_str!("../sql/statements/crm_insert_interaction.sql")
        .replace("{interactions}", &tables.interactions)
        .replace("{interaction_type}", INTERACTION_TYPE);
    let args: [DatumWithOid; 6] = [
        a.lead.into(),
        a.vapi_phone_number_id.into(),
        a.number.into(),
        a.customer_phone.into(),
        a.company.into(),
        a.assigned_at.into(),
    ];
    let types = [
        pg_sys::UUIDOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TIMESTAMPTZOID,
    ];
    client.update(
        &*plan_sql(client, &insert_interaction, &types)?,
        None,
        &args,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn a_complete_leads_table_passes() {
        let actual = cols(&[
            ("id", "uuid"),
            ("email", "text"),
            ("assigned_phone_number_id", "character varying(64)"),
            ("phone_assigned_at", "timestamp with time zone"),
        ]);
        assert!(column_problems(LEADS_COLUMNS, &actual).is_empty());
    }

    #[test]
    fn missing_and_mistyped_columns_are_named() {
        let actual = cols(&[("id", "integer"), ("metadata", "json"), ("type", "text")]);
        assert_eq!(
            column_problems(INTERACTIONS_COLUMNS, &actual),
            [
                "missing column lead_id (uuid)",
                "column metadata must be jsonb, not json",
                "missing column created_at (timestamp with time zone or timestamp without time zone)",
            ]
        );
        assert_eq!(
            column_problems(LEADS_COLUMNS, &cols(&[("id", "integer")])),
            [
                "column id must be uuid, not integer",
                "missing column assigned_phone_number_id (text or character varying)",
                "missing column phone_assigned_at (timestamp with time zone or timestamp without time zone)",
            ]
        );
    }
}
