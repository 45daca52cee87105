//! Tracking assignments in the operator's own CRM tables, when registered: the lead row gets
//! the number, and an interaction row records it, in the assignment's transaction. Both are
//! written by the claim statement itself (sql/statements/crm_track.sql, filled in here);
//! this module registers the tables and checks that pool_ext may write to them.

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::errors::PoolError;

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
    check_owner(leads, &leads_name)?;
    check_owner(interactions, &interactions_name)?;
    let args: [DatumWithOid; 2] = [leads.into(), interactions.into()];
    client.update(
        include_str!("../sql/statements/register_crm_tables.sql"),
        None,
        &args,
    )?;
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

/// The registered tables (read by the assignment's lookup): their names quoted for SQL, and
/// their oids, to check their owners.
pub struct CrmTables {
    pub leads: String,
    pub interactions: String,
    oids: [pg_sys::Oid; 2],
}

impl CrmTables {
    /// From the lookup's two arrays: [leads, interactions] as names and as oids
    /// (sql/statements/lookup_standing.sql).
    pub fn from_lookup(names: Vec<Option<String>>, oids: Vec<Option<pg_sys::Oid>>) -> Self {
        let name = |i: usize| names.get(i).cloned().flatten().unwrap_or_default();
        let oid = |i: usize| oids.get(i).copied().flatten().unwrap_or(pg_sys::InvalidOid);
        CrmTables {
            leads: name(0),
            interactions: name(1),
            oids: [oid(0), oid(1)],
        }
    }

    /// Both tables must still exist and belong to superusers (see [`check_owner`]).
    pub fn check_owners(&self) -> Result<(), PoolError> {
        check_owner(self.oids[0], &self.leads)?;
        check_owner(self.oids[1], &self.interactions)
    }
}

/// A registered table must still exist and belong to a superuser: pool_ext writes to it as its
/// owner, a superuser, and any trigger, default or policy on it runs with those rights.
/// Read from the system caches, not by SQL: every tracked assignment checks both tables, and a
/// query of pg_class and pg_roles cost it 0.08 ms (EXPLAIN ANALYZE, bench/RESULTS.md section 8).
fn check_owner(table: pg_sys::Oid, name: &str) -> Result<(), PoolError> {
    // SAFETY: a system-cache lookup by oid; the tuple is only read while pinned and released
    // before returning. GETSTRUCT of a RELOID cache tuple is a FormData_pg_class.
    let owner = unsafe {
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::RELOID as i32,
            pg_sys::Datum::from(table),
        );
        if tuple.is_null() {
            return Err(PoolError::CrmTableDropped);
        }
        let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple)).relowner;
        pg_sys::ReleaseSysCache(tuple);
        owner
    };
    // SAFETY: superuser_arg and GetUserNameFromId(noerr) read the role caches; a missing role
    // gives NULL, which is read as no name.
    unsafe {
        if pg_sys::superuser_arg(owner) {
            return Ok(());
        }
        let role = pg_sys::GetUserNameFromId(owner, true);
        let owner = if role.is_null() {
            owner.to_u32().to_string()
        } else {
            std::ffi::CStr::from_ptr(role)
                .to_string_lossy()
                .into_owned()
        };
        Err(PoolError::CrmOwnerNotSuperuser {
            table: name.to_string(),
            owner,
        })
    }
}

/// The CRM's writes, as steps of the claim (sql/statements/claim_number.sql, placeholder crm);
/// the tables' names are filled in by [`fill_in`].
pub fn track_steps() -> String {
    include_str!("../sql/statements/crm_track.sql").replace("{interaction_type}", INTERACTION_TYPE)
}

/// `sql` with the registered tables' names in its placeholders.
pub fn fill_in(sql: &str, tables: &CrmTables) -> String {
    sql.replace("{leads}", &tables.leads)
        .replace("{interactions}", &tables.interactions)
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
