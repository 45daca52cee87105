//! Every error a caller can see: a SQLSTATE, a message that says what went wrong, and a hint
//! that says what to do. Built as plain values (testable without Postgres) and raised at the edge.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

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
    /// The company has numbers, but none is free right now.
    PoolExhausted {
        company: String,
        assigned: i64,
        inactive: i64,
        total: i64,
    },
    /// A batch size or row limit that is not a positive number.
    NonPositiveLimit { argument: &'static str, value: i64 },
}

impl PoolError {
    pub fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            PoolError::NullArgument { .. } => PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, // 22004
            PoolError::BlankArgument { .. } => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, // 22023
            PoolError::UnknownCompany { .. } => PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, // 42704
            PoolError::PoolExhausted { .. } => PgSqlErrorCode::ERRCODE_INSUFFICIENT_RESOURCES, // 53000
            PoolError::NonPositiveLimit { .. } => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, // 22023
        }
    }

    pub fn message(&self) -> String {
        match self {
            PoolError::NullArgument { argument } => format!("{argument} must not be NULL"),
            PoolError::BlankArgument { argument } => format!("{argument} must not be empty"),
            PoolError::UnknownCompany { company, .. } => {
                format!("No phone numbers are registered for company '{company}'")
            }
            PoolError::PoolExhausted { company, .. } => {
                format!("No available phone numbers in pool for '{company}'")
            }
            PoolError::NonPositiveLimit { argument, value } => {
                format!("{argument} must be a positive number, got {value}")
            }
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            PoolError::PoolExhausted {
                assigned,
                inactive,
                total,
                ..
            } => {
                let mut detail = format!("{assigned} of {total} numbers are assigned");
                if *inactive > 0 {
                    detail.push_str(&format!(", {inactive} inactive"));
                }
                let busy = total - assigned - inactive;
                if busy > 0 {
                    detail.push_str(&format!(
                        ", {busy} being assigned by transactions still in progress"
                    ));
                }
                detail.push('.');
                Some(detail)
            }
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
            PoolError::PoolExhausted { .. } => Some(
                "Run SELECT pool_ext.release_expired_phone_numbers() to free expired holds, \
                 or add numbers to this company's pool."
                    .to_string(),
            ),
            PoolError::NonPositiveLimit { .. } => Some("Pass a number of 1 or more.".into()),
        }
    }

    /// Raise this error in Postgres: aborts the statement and the caller's transaction.
    #[track_caller]
    pub fn raise(self, function: &'static str) -> ! {
        let mut report = ErrorReport::new(self.sqlstate(), self.message(), function);
        if let Some(detail) = self.detail() {
            report = report.set_detail(detail);
        }
        if let Some(hint) = self.hint() {
            report = report.set_hint(hint);
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) does not return")
    }
}

/// Unwrap the result of an SPI call. SPI reports Postgres errors by raising them itself; what
/// remains here are pgrx-level failures, which are bugs, so they surface as internal errors.
pub fn spi<T>(result: pgrx::spi::SpiResult<T>, function: &'static str) -> T {
    result.unwrap_or_else(|e| {
        ErrorReport::new(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("pool_ext internal SPI error: {e}"),
            function,
        )
        .report(PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) does not return")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_pool_message_and_detail_name_the_counts() {
        let e = PoolError::PoolExhausted {
            company: "Acme".into(),
            assigned: 5,
            inactive: 0,
            total: 5,
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
            assigned: 3,
            inactive: 1,
            total: 6,
        };
        assert_eq!(
            e.detail().unwrap(),
            "3 of 6 numbers are assigned, 1 inactive, 2 being assigned by transactions still in progress."
        );
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
