//! Every error a caller can see: a SQLSTATE, a message that says what went wrong, and a hint
//! that says what to do. Built as plain values (testable without Postgres) and raised at the
//! edge: an API function returns `Result<_, ErrorReport>`, and pgrx raises the report with its
//! SQLSTATE, detail and hint. This module is the bottom layer: it imports nothing of the crate.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// A value quoted in an error message, cut short so a 10 KB argument does not flood the
/// caller's screen and the server log.
pub fn shorten(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        value.to_string()
    } else {
        format!("{}...", value.chars().take(MAX).collect::<String>())
    }
}

/// 'a', 'b', 'c'
fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error raised by the pool_ext API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// A required argument was NULL.
    NullArgument { argument: &'static str },
    /// A text argument was empty or only white space.
    BlankArgument { argument: &'static str },
    /// No number at all belongs to this company.
    UnknownCompany {
        company: String,
        closest: Option<String>,
    },
    /// Another transaction gave this lead a number of the company after this caller's
    /// snapshot was taken (REPEATABLE READ or SERIALIZABLE): retrying returns that number.
    LeadHoldTaken { company: String, lead: String },
    /// The company has numbers, but none is free right now; nor has its overflow pool, when
    /// it has one (set_pool_rules' overflow_company): its name and counts (None: no numbers).
    PoolExhausted {
        company: String,
        counts: PoolCounts,
        overflow: Option<(String, Option<PoolCounts>)>,
    },
    /// set_pool_rules: an overflow into the company itself, or one that would make a chain
    /// (the overflow pool overflows itself, or the company is another's overflow pool).
    OverflowRefused {
        company: String,
        overflow: String,
        /// The rule in the way, (who, into whom) it overflows (None: the company itself).
        blocking: Option<(String, String)>,
    },
    /// A text argument longer than allowed.
    TooLong { argument: &'static str, max: usize },
    /// A batch size or row limit that is not a positive number.
    NonPositiveLimit { argument: &'static str, value: i64 },
    /// `record_call_outcome` got an outcome it does not know; `valid` lists the known ones.
    UnknownOutcome { given: String, valid: String },
    /// An appointment time passed with an outcome other than booked.
    AppointmentNotExpected { outcome: &'static str },
    /// A booked appointment at or before now.
    AppointmentInPast,
    /// A booked appointment more than a year ahead.
    AppointmentTooFar,
    /// The lead holds no number (of the given company).
    NoHold {
        lead: String,
        company: Option<String>,
        /// The company named owns the number the lead holds, lent for this one (an overflow
        /// hold): the outcome names the lead's company.
        lent_for: Option<String>,
    },
    /// The lead holds numbers of several companies and no company was named.
    AmbiguousHold {
        lead: String,
        companies: Vec<String>,
    },
    /// A policy interval that is not positive or is longer than 30 days.
    InvalidPolicyHold {
        argument: &'static str,
        given: String,
    },
    /// A pool rule (low-water mark, cooldown, daily cap) out of range.
    InvalidRule {
        argument: &'static str,
        given: String,
        expected: &'static str,
    },
    /// A time zone name Postgres does not know.
    UnknownTimeZone {
        given: String,
        closest: Option<String>,
    },
    /// No number has this vapi_phone_number_id.
    UnknownNumber { id: String },
    /// The number is held by a lead, so it cannot be moved to another company now.
    NumberHeld {
        id: String,
        lead: String,
        release_at: String,
    },
    /// An entry of an imported document is invalid; `path` is like `numbers[3].number`.
    InvalidImport { path: String, problem: String },
    /// A registered CRM table lacks columns the tracking needs.
    CrmColumnsMissing { table: String, missing: Vec<String> },
    /// The CRM leads table has no row for the lead being assigned.
    CrmLeadMissing { table: String, lead: String },
    /// A registered CRM table no longer exists.
    CrmTableDropped,
    /// A CRM table is owned by a role that is not a superuser: pool_ext writes to it with the
    /// extension owner's (superuser) rights, so its owner could run code with those rights.
    CrmOwnerNotSuperuser { table: String, owner: String },
    /// set_pool_rules' overflow_company in a REPEATABLE READ or SERIALIZABLE transaction,
    /// whose snapshot may not see an overflow rule another transaction committed meanwhile (a
    /// cycle could pass: SERIALIZABLE does not see a READ COMMITTED writer's rule either).
    OverflowRuleNeedsFreshSnapshot,
    /// A pgrx-level SPI failure (such as a column read as the wrong type): a bug in pool_ext,
    /// not a mistake of the caller. Postgres' own errors inside SPI are raised by Postgres.
    Internal { problem: String },
}

/// Why a pool has nothing to give: pool_health's counts for one company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounts {
    pub assigned: i64,
    pub inactive: i64,
    /// Free, but resting after a release (the company's cooldown).
    pub resting: i64,
    /// Free, but at the company's daily cap.
    pub at_cap: i64,
    /// Out of rotation: its answer rate fell behind its company's (number_health).
    pub quarantined: i64,
    pub total: i64,
}

impl PoolCounts {
    /// "3 of 6 numbers are assigned, 1 inactive, 2 being assigned by ..." (no full stop).
    fn describe(&self) -> String {
        let PoolCounts {
            assigned,
            inactive,
            resting,
            at_cap,
            quarantined,
            total,
        } = *self;
        let mut detail = format!("{assigned} of {total} numbers are assigned");
        if inactive > 0 {
            detail.push_str(&format!(", {inactive} inactive"));
        }
        if resting > 0 {
            detail.push_str(&format!(", {resting} resting after a release (cooldown)"));
        }
        if at_cap > 0 {
            detail.push_str(&format!(", {at_cap} at their daily cap"));
        }
        if quarantined > 0 {
            detail.push_str(&format!(
                ", {quarantined} quarantined for a low answer rate"
            ));
        }
        let busy = total - assigned - inactive - resting - at_cap - quarantined;
        if busy > 0 {
            detail.push_str(&format!(
                ", {busy} being assigned by transactions still in progress"
            ));
        }
        detail
    }
}

impl From<pgrx::spi::Error> for PoolError {
    fn from(e: pgrx::spi::Error) -> Self {
        PoolError::Internal {
            problem: e.to_string(),
        }
    }
}

impl From<PoolError> for ErrorReport {
    fn from(e: PoolError) -> Self {
        e.report()
    }
}

impl PoolError {
    pub fn sqlstate(&self) -> PgSqlErrorCode {
        use PgSqlErrorCode::*;
        match self {
            PoolError::NullArgument { .. } => ERRCODE_NULL_VALUE_NOT_ALLOWED, // 22004
            PoolError::BlankArgument { .. }
            | PoolError::NonPositiveLimit { .. }
            | PoolError::TooLong { .. }
            | PoolError::UnknownOutcome { .. }
            | PoolError::AppointmentNotExpected { .. }
            | PoolError::AppointmentInPast
            | PoolError::AppointmentTooFar
            | PoolError::InvalidPolicyHold { .. }
            | PoolError::InvalidRule { .. }
            | PoolError::UnknownTimeZone { .. }
            | PoolError::InvalidImport { .. } => ERRCODE_INVALID_PARAMETER_VALUE, // 22023
            PoolError::UnknownCompany { .. } | PoolError::UnknownNumber { .. } => {
                ERRCODE_UNDEFINED_OBJECT // 42704
            }
            PoolError::PoolExhausted { .. } => ERRCODE_INSUFFICIENT_RESOURCES, // 53000
            PoolError::OverflowRefused { blocking: None, .. } => ERRCODE_INVALID_PARAMETER_VALUE, // 22023
            PoolError::OverflowRefused { .. } => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, // 55000
            PoolError::OverflowRuleNeedsFreshSnapshot => ERRCODE_INVALID_TRANSACTION_STATE, // 25000
            PoolError::LeadHoldTaken { .. } => ERRCODE_T_R_SERIALIZATION_FAILURE,          // 40001
            PoolError::NoHold { .. } => ERRCODE_NO_DATA_FOUND,                             // P0002
            PoolError::AmbiguousHold { .. } => ERRCODE_CARDINALITY_VIOLATION,              // 21000
            PoolError::NumberHeld { .. } => ERRCODE_OBJECT_IN_USE,                         // 55006
            PoolError::CrmColumnsMissing { .. } => ERRCODE_UNDEFINED_COLUMN,               // 42703
            PoolError::CrmLeadMissing { .. } => ERRCODE_FOREIGN_KEY_VIOLATION,             // 23503
            PoolError::CrmTableDropped => ERRCODE_UNDEFINED_TABLE,                         // 42P01
            PoolError::CrmOwnerNotSuperuser { .. } => ERRCODE_INSUFFICIENT_PRIVILEGE,      // 42501
            PoolError::Internal { .. } => ERRCODE_INTERNAL_ERROR,                          // XX000
        }
    }

    pub fn message(&self) -> String {
        match self {
            PoolError::NullArgument { argument } => format!("{argument} must not be NULL"),
            PoolError::BlankArgument { argument } => format!("{argument} must not be empty"),
            PoolError::UnknownCompany { company, .. } => {
                format!(
                    "No phone numbers are registered for company '{}'",
                    shorten(company)
                )
            }
            PoolError::LeadHoldTaken { company, lead } => format!(
                "Lead {lead} was given a number of '{}' by a concurrent transaction",
                shorten(company)
            ),
            PoolError::PoolExhausted {
                company,
                overflow: None,
                ..
            } => {
                format!(
                    "No available phone numbers in pool for '{}'",
                    shorten(company)
                )
            }
            PoolError::PoolExhausted {
                company,
                overflow: Some((overflow, _)),
                ..
            } => format!(
                "No available phone numbers in pool for '{}' nor in its overflow pool '{}'",
                shorten(company),
                shorten(overflow)
            ),
            PoolError::OverflowRuleNeedsFreshSnapshot => {
                "overflow_company can be set only in a READ COMMITTED transaction".into()
            }
            PoolError::OverflowRefused {
                company,
                blocking: None,
                ..
            } => format!(
                "Company '{}' cannot overflow into its own pool",
                shorten(company)
            ),
            PoolError::OverflowRefused {
                company,
                overflow,
                blocking: Some((who, into)),
            } => format!(
                "'{}' cannot overflow into '{}': '{}' overflows into '{}' ({})",
                shorten(company),
                shorten(overflow),
                shorten(who),
                shorten(into),
                if who == overflow && into == company {
                    "a cycle"
                } else {
                    "one level of overflow only"
                }
            ),
            PoolError::NonPositiveLimit { argument, value } => {
                format!("{argument} must be a positive number, got {value}")
            }
            PoolError::TooLong { argument, max } => {
                format!("{argument} must be at most {max} characters")
            }
            PoolError::UnknownOutcome { given, valid } => format!(
                "Unknown call outcome '{}'; valid outcomes are {valid}",
                shorten(given),
            ),
            PoolError::AppointmentNotExpected { outcome } => {
                format!("appointment_at applies only to the outcome 'booked', not '{outcome}'")
            }
            PoolError::AppointmentInPast => "appointment_at must be in the future".into(),
            PoolError::AppointmentTooFar => "appointment_at is more than a year ahead".into(),
            PoolError::NoHold {
                lead,
                company: None,
                ..
            } => {
                format!("Lead {lead} holds no phone number")
            }
            PoolError::NoHold {
                lead,
                company: Some(company),
                ..
            } => {
                format!(
                    "Lead {lead} holds no phone number of '{}'",
                    shorten(company)
                )
            }
            PoolError::AmbiguousHold { lead, companies } => format!(
                "Lead {lead} holds numbers of {} companies: {}",
                companies.len(),
                quoted_list(companies)
            ),
            PoolError::InvalidPolicyHold { argument, given } => {
                format!(
                    "{argument} must be longer than 0 and at most 30 days, got '{}'",
                    shorten(given)
                )
            }
            PoolError::InvalidRule {
                argument,
                given,
                expected,
            } => format!("{argument} must be {expected}, got '{}'", shorten(given)),
            PoolError::UnknownTimeZone { given, .. } => {
                format!("Unknown time zone '{}'", shorten(given))
            }
            PoolError::UnknownNumber { id } => {
                format!(
                    "No phone number with vapi_phone_number_id '{}'",
                    shorten(id)
                )
            }
            PoolError::NumberHeld { id, lead, .. } => {
                format!("Phone number '{}' is held by lead {lead}", shorten(id))
            }
            PoolError::InvalidImport { path, problem } => format!("{path}: {problem}"),
            PoolError::CrmColumnsMissing { table, missing } => {
                format!("Table {table} does not fit: {}", missing.join("; "))
            }
            PoolError::CrmLeadMissing { table, lead } => {
                format!("Lead {lead} is not in {table}")
            }
            PoolError::CrmTableDropped => "A registered CRM table no longer exists".to_string(),
            PoolError::CrmOwnerNotSuperuser { table, owner } => {
                format!("CRM table {table} is owned by {owner}, which is not a superuser")
            }
            PoolError::Internal { problem } => format!("pool_ext internal SPI error: {problem}"),
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            PoolError::PoolExhausted {
                counts,
                overflow: None,
                ..
            } => Some(format!("{}.", counts.describe())),
            PoolError::PoolExhausted {
                company,
                counts,
                overflow: Some((overflow, overflow_counts)),
            } => {
                let own = if counts.total == 0 {
                    "no numbers of its own".to_string()
                } else {
                    counts.describe()
                };
                let lent = match overflow_counts {
                    Some(c) if c.total > 0 => c.describe(),
                    _ => "no numbers".to_string(),
                };
                Some(format!(
                    "'{}': {own}. Overflow pool '{}': {lent}.",
                    shorten(company),
                    shorten(overflow)
                ))
            }
            PoolError::NumberHeld { release_at, .. } => {
                Some(format!("The hold ends at {release_at}."))
            }
            PoolError::OverflowRuleNeedsFreshSnapshot => Some(
                "The one-level check must see every overflow rule committed so far; this \
                 transaction's snapshot may be older than some."
                    .into(),
            ),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            PoolError::NullArgument { argument } | PoolError::BlankArgument { argument } => {
                Some(format!("Pass a value for {argument}."))
            }
            PoolError::UnknownCompany { closest, .. } => {
                let exact = "Company names must match brokers.company_name exactly \
                             (case, spaces and punctuation included)";
                Some(match closest {
                    Some(name) => format!("{exact}. Did you mean '{name}'?"),
                    None => format!("{exact}; add the company's numbers to the pool first."),
                })
            }
            PoolError::PoolExhausted { overflow: None, .. } => Some(
                "Run SELECT pool_ext.release_expired_phone_numbers() to free expired holds, \
                 add numbers to this company's pool, or relax its cooldown or daily cap \
                 (set_pool_rules)."
                    .to_string(),
            ),
            PoolError::PoolExhausted { .. } => Some(
                "Run SELECT pool_ext.release_expired_phone_numbers() to free expired holds, \
                 add numbers to either pool, or relax their cooldown or daily cap \
                 (set_pool_rules)."
                    .to_string(),
            ),
            PoolError::OverflowRuleNeedsFreshSnapshot => Some(
                "Set it in a READ COMMITTED transaction (BEGIN ISOLATION LEVEL READ COMMITTED). \
                 Nothing was changed."
                    .into(),
            ),
            PoolError::OverflowRefused { blocking: None, .. } => Some(
                "Name another company's pool as overflow_company, or '' for none. Nothing was changed."
                    .into(),
            ),
            PoolError::OverflowRefused {
                blocking: Some((who, _)),
                ..
            } => Some(format!(
                "Clear that rule first (set_pool_rules('{}', overflow_company => '')), or name \
                 another pool. Nothing was changed.",
                shorten(who)
            )),
            PoolError::LeadHoldTaken { .. } => Some(
                "Retry the transaction: the call then returns the number the lead holds. \
                 Nothing was changed."
                    .into(),
            ),
            PoolError::NonPositiveLimit { .. } => Some("Pass a number of 1 or more.".into()),
            PoolError::TooLong { argument, .. } => Some(format!("Pass a shorter {argument}.")),
            PoolError::UnknownOutcome { valid, .. } => Some(format!("Pass one of: {valid}.")),
            PoolError::AppointmentNotExpected { .. } => {
                Some("Leave appointment_at NULL, or record the outcome 'booked'.".into())
            }
            PoolError::AppointmentInPast | PoolError::AppointmentTooFar => Some(
                "Pass the appointment's start as a timestamptz with its time zone, \
                 e.g. '2026-12-01 15:00 America/New_York'."
                    .into(),
            ),
            PoolError::NoHold {
                company: Some(company),
                lent_for: Some(lent_for),
                ..
            } => Some(format!(
                "'{}' lent the lead its number for '{}' (its overflow pool): name the lead's \
                 company, company => '{}'.",
                shorten(company),
                shorten(lent_for),
                shorten(lent_for)
            )),
            PoolError::NoHold { .. } => Some(
                "Assign a number first with assign_phone_number(); a hold ends at its \
                 release_at and is then released."
                    .into(),
            ),
            PoolError::AmbiguousHold { .. } => {
                Some("Name the company: record_call_outcome(..., company => '...').".into())
            }
            PoolError::InvalidPolicyHold { .. } => {
                Some("Pass an interval such as '18 hours' or '2 days'.".into())
            }
            PoolError::InvalidRule { .. } => Some(
                "Nothing was changed. See docs/reference.md, \"set_pool_rules\", for each rule's range; \
                 NULL keeps a rule as it is."
                    .into(),
            ),
            PoolError::UnknownTimeZone { closest, .. } => Some(match closest {
                Some(name) => format!(
                    "Use a name from pg_timezone_names, e.g. 'America/New_York'. Did you mean '{name}'?"
                ),
                None => "Use a name from pg_timezone_names, e.g. 'America/New_York'.".into(),
            }),
            PoolError::UnknownNumber { .. } => Some(
                "Check the id against pool_ext.signalwire_phone_numbers.vapi_phone_number_id.".into(),
            ),
            PoolError::NumberHeld { .. } => Some(
                "Wait until the hold ends, or release it first with force_release_phone_number().".into(),
            ),
            PoolError::InvalidImport { .. } => Some(
                "Fix that entry and import the document again; nothing was imported.".into(),
            ),
            PoolError::CrmColumnsMissing { .. } => Some(
                "Add the missing columns (pool_ext never changes your tables), then register again."
                    .into(),
            ),
            PoolError::CrmLeadMissing { .. } => Some(
                "Create the lead before assigning it a number, or pass the lead's id as stored.".into(),
            ),
            PoolError::CrmTableDropped => Some(
                "Register the CRM tables again with register_crm_tables(), or stop tracking with \
                 unregister_crm_tables()."
                    .into(),
            ),
            PoolError::CrmOwnerNotSuperuser { .. } => Some(
                "pool_ext writes to the CRM tables with its owner's superuser rights, so a trigger \
                 added by another owner would run with them. Make a superuser the tables' owner \
                 (ALTER TABLE ... OWNER TO ...), or do not register them."
                    .into(),
            ),
            PoolError::Internal { .. } => None,
        }
    }

    /// The report Postgres raises: SQLSTATE, message, detail and hint.
    pub fn report(&self) -> ErrorReport {
        let mut report = ErrorReport::new(self.sqlstate(), self.message(), "pool_ext");
        if let Some(detail) = self.detail() {
            report = report.set_detail(detail);
        }
        if let Some(hint) = self.hint() {
            report = report.set_hint(hint);
        }
        report
    }

    /// Raise this error in Postgres at once, where no `Result` can carry it (inside a
    /// PgTryBuilder handler): aborts the statement and the caller's transaction.
    pub fn raise(self) -> ! {
        self.report().report(PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) does not return")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_pool_message_and_detail_name_the_counts() {
        let e = PoolError::PoolExhausted {
            company: "Acme".into(),
            counts: PoolCounts {
                assigned: 5,
                inactive: 0,
                resting: 0,
                at_cap: 0,
                quarantined: 0,
                total: 5,
            },
            overflow: None,
        };
        assert_eq!(e.message(), "No available phone numbers in pool for 'Acme'");
        assert_eq!(e.detail().unwrap(), "5 of 5 numbers are assigned.");
        assert!(e
            .hint()
            .unwrap()
            .contains("release_expired_phone_numbers()"));
        assert_eq!(e.sqlstate(), PgSqlErrorCode::ERRCODE_INSUFFICIENT_RESOURCES);
    }

    #[test]
    fn exhausted_detail_mentions_inactive_and_in_flight_numbers() {
        let e = PoolError::PoolExhausted {
            company: "Acme".into(),
            counts: PoolCounts {
                assigned: 3,
                inactive: 1,
                resting: 0,
                at_cap: 0,
                quarantined: 0,
                total: 6,
            },
            overflow: None,
        };
        assert_eq!(
            e.detail().unwrap(),
            "3 of 6 numbers are assigned, 1 inactive, 2 being assigned by transactions still in progress."
        );
    }

    #[test]
    fn exhausted_detail_mentions_resting_and_capped_numbers() {
        let e = PoolError::PoolExhausted {
            company: "Acme".into(),
            counts: PoolCounts {
                assigned: 2,
                inactive: 0,
                resting: 2,
                at_cap: 1,
                quarantined: 0,
                total: 5,
            },
            overflow: None,
        };
        assert_eq!(
            e.detail().unwrap(),
            "2 of 5 numbers are assigned, 2 resting after a release (cooldown), 1 at their daily cap."
        );
        let e = PoolError::PoolExhausted {
            company: "Acme".into(),
            counts: PoolCounts {
                assigned: 2,
                inactive: 1,
                resting: 0,
                at_cap: 0,
                quarantined: 2,
                total: 5,
            },
            overflow: None,
        };
        assert_eq!(
            e.detail().unwrap(),
            "2 of 5 numbers are assigned, 1 inactive, 2 quarantined for a low answer rate."
        );
    }

    #[test]
    fn exhausted_with_overflow_names_both_pools() {
        let held = |n| PoolCounts {
            assigned: n,
            total: n,
            ..PoolCounts::default()
        };
        let e = PoolError::PoolExhausted {
            company: "Acme".into(),
            counts: held(2),
            overflow: Some(("Shared Pool".into(), Some(held(20)))),
        };
        assert_eq!(
            e.message(),
            "No available phone numbers in pool for 'Acme' nor in its overflow pool 'Shared Pool'"
        );
        assert_eq!(
            e.detail().unwrap(),
            "'Acme': 2 of 2 numbers are assigned. Overflow pool 'Shared Pool': 20 of 20 numbers are assigned."
        );
        assert!(e.hint().unwrap().contains("either pool"));
        assert_eq!(e.sqlstate(), PgSqlErrorCode::ERRCODE_INSUFFICIENT_RESOURCES);
        // A company that relies on overflow alone, and an overflow pool whose numbers are gone.
        let e = PoolError::PoolExhausted {
            company: "Acme".into(),
            counts: PoolCounts::default(),
            overflow: Some(("Shared Pool".into(), None)),
        };
        assert_eq!(
            e.detail().unwrap(),
            "'Acme': no numbers of its own. Overflow pool 'Shared Pool': no numbers."
        );
    }

    #[test]
    fn a_refused_overflow_says_which_rule_stands_in_the_way() {
        let refused = |blocking: Option<(&str, &str)>, overflow: &str| PoolError::OverflowRefused {
            company: "Acme".into(),
            overflow: overflow.into(),
            blocking: blocking.map(|(w, i)| (w.to_string(), i.to_string())),
        };
        let own = refused(None, "Acme");
        assert_eq!(
            own.message(),
            "Company 'Acme' cannot overflow into its own pool"
        );
        assert_eq!(
            own.sqlstate(),
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        );
        let chain = refused(Some(("Shared", "Other")), "Shared");
        assert_eq!(
            chain.message(),
            "'Acme' cannot overflow into 'Shared': 'Shared' overflows into 'Other' (one level of overflow only)"
        );
        assert_eq!(
            chain.sqlstate(),
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE
        );
        assert!(chain
            .hint()
            .unwrap()
            .contains("set_pool_rules('Shared', overflow_company => '')"));
        let cycle = refused(Some(("Shared", "Acme")), "Shared");
        assert_eq!(
            cycle.message(),
            "'Acme' cannot overflow into 'Shared': 'Shared' overflows into 'Acme' (a cycle)"
        );
        let stale = PoolError::OverflowRuleNeedsFreshSnapshot;
        assert_eq!(
            stale.sqlstate(),
            PgSqlErrorCode::ERRCODE_INVALID_TRANSACTION_STATE
        );
        assert!(stale.hint().unwrap().contains("READ COMMITTED"));
        let target = refused(Some(("Beta", "Acme")), "Shared");
        assert_eq!(
            target.message(),
            "'Acme' cannot overflow into 'Shared': 'Beta' overflows into 'Acme' (one level of overflow only)"
        );
    }

    #[test]
    fn an_invalid_rule_names_the_argument_and_its_range() {
        let e = PoolError::InvalidRule {
            argument: "daily_cap",
            given: "-1".into(),
            expected: "1 to 100000 assignments a day, or 0 for no cap",
        };
        assert_eq!(
            e.message(),
            "daily_cap must be 1 to 100000 assignments a day, or 0 for no cap, got '-1'"
        );
        assert_eq!(
            e.sqlstate(),
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        );
        assert!(e.hint().unwrap().contains("Nothing was changed"));
    }

    #[test]
    fn unknown_company_hint_suggests_the_closest_name() {
        let e = PoolError::UnknownCompany {
            company: "acme".into(),
            closest: Some("Acme".into()),
        };
        assert!(e.hint().unwrap().ends_with("Did you mean 'Acme'?"));
        let e = PoolError::UnknownCompany {
            company: "zzz".into(),
            closest: None,
        };
        assert!(e.hint().unwrap().contains("brokers.company_name exactly"));
        assert!(!e.hint().unwrap().contains("Did you mean"));
    }

    #[test]
    fn each_error_kind_has_its_sqlstate() {
        assert_eq!(
            PoolError::NullArgument { argument: "lead" }.sqlstate(),
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED
        );
        assert_eq!(
            PoolError::BlankArgument {
                argument: "company"
            }
            .sqlstate(),
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        );
        assert_eq!(
            PoolError::UnknownCompany {
                company: "x".into(),
                closest: None
            }
            .sqlstate(),
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT
        );
    }
}
