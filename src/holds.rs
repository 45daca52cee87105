//! How long a number is held: the call-outcome rules and release batching, in plain Rust.
//!
//! Times are Postgres `timestamptz` values (microseconds since 2000-01-01 UTC). Everything that
//! needs the time-zone database, such as where a company's local day ends, is computed by
//! Postgres and handed in; the decisions are made here.

use std::fmt;
use std::str::FromStr;

use crate::errors::PoolError;

/// Microseconds since 2000-01-01 00:00 UTC, as Postgres stores `timestamptz`.
pub type Micros = i64;

pub const MICROS_PER_HOUR: i64 = 3_600_000_000;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// An appointment further ahead than this is a typo, not a booking.
pub const MAX_APPOINTMENT_AHEAD: Micros = 366 * MICROS_PER_DAY;

/// A company's retention or booked hold may not exceed this.
pub const MAX_POLICY_HOLD: Micros = 30 * MICROS_PER_DAY;

/// `release_expired_phone_numbers` frees at most this many holds per statement. Each batch
/// locks only its own rows (skipping rows another transaction holds), so a large backlog
/// never becomes one huge statement; `release_expired_phone_numbers_in_batches` also commits
/// after each batch so no lock outlives its batch.
pub const RELEASE_BATCH_SIZE: i64 = 1000;

/// How many rows the next batch may release, given how many the caller still allows
/// (`None`: no limit). `None` when the limit has been reached.
pub fn next_batch_size(remaining: Option<i64>) -> Option<i64> {
    match remaining {
        None => Some(RELEASE_BATCH_SIZE),
        Some(left) if left > 0 => Some(left.min(RELEASE_BATCH_SIZE)),
        Some(_) => None,
    }
}

/// What happened on a call, as `record_call_outcome` accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An appointment was booked: hold the number until the appointment plus the booked hold.
    Booked,
    /// Nobody answered: retry the same day, then release at the end of the company's day.
    NoAnswer,
    /// Talked, nothing booked: release the same day, no later than assigned_at + retention.
    NoBooking,
    /// The lead asked not to be called: release now.
    DoNotCall,
    /// Not the lead's number: release now.
    WrongNumber,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Booked,
        Outcome::NoAnswer,
        Outcome::NoBooking,
        Outcome::DoNotCall,
        Outcome::WrongNumber,
    ];

    /// Whether someone picked up: every outcome but no_answer (number health counts these).
    pub fn answered(self) -> bool {
        self != Outcome::NoAnswer
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Booked => "booked",
            Outcome::NoAnswer => "no_answer",
            Outcome::NoBooking => "no_booking",
            Outcome::DoNotCall => "do_not_call",
            Outcome::WrongNumber => "wrong_number",
        }
    }

    /// The valid outcomes, for error messages: "booked, no_answer, ...".
    pub fn valid_list() -> String {
        Outcome::ALL.map(Outcome::as_str).join(", ")
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = PoolError;

    /// Exact names only: outcomes are machine-written by workflows, and a near miss is a bug
    /// to surface, not to guess at.
    fn from_str(s: &str) -> Result<Outcome, PoolError> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| PoolError::UnknownOutcome {
                given: s.to_string(),
                valid: Outcome::valid_list(),
            })
    }
}

/// What is known about a hold when an outcome is recorded.
#[derive(Debug, Clone, Copy)]
pub struct HoldFacts {
    pub now: Micros,
    /// assigned_at plus the company's retention (18 hours unless set otherwise).
    pub retention_ends: Micros,
    /// The company's booked hold (24 hours unless set otherwise).
    pub booked_hold: Micros,
    /// The first instant of the next day in the company's time zone.
    pub local_day_ends: Micros,
}

/// What happens to the hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldChange {
    /// Keep the hold, ending at this time.
    ReleaseAt(Micros),
    /// Release the number now.
    ReleaseNow,
}

/// Check the appointment argument against the outcome: booked needs one in the coming year,
/// every other outcome takes none. Needs no hold, so it runs before any lookup.
pub fn check_appointment(
    outcome: Outcome,
    appointment_at: Option<Micros>,
    now: Micros,
) -> Result<(), PoolError> {
    match (outcome, appointment_at) {
        (Outcome::Booked, None) => Err(PoolError::NullArgument {
            argument: "appointment_at",
        }),
        (Outcome::Booked, Some(at)) if at <= now => Err(PoolError::AppointmentInPast),
        (Outcome::Booked, Some(at)) if at - now > MAX_APPOINTMENT_AHEAD => {
            Err(PoolError::AppointmentTooFar)
        }
        (Outcome::Booked, Some(_)) | (_, None) => Ok(()),
        (other, Some(_)) => Err(PoolError::AppointmentNotExpected {
            outcome: other.as_str(),
        }),
    }
}

/// Apply an outcome's rule to a hold.
pub fn hold_after_outcome(
    outcome: Outcome,
    appointment_at: Option<Micros>,
    facts: &HoldFacts,
) -> Result<HoldChange, PoolError> {
    check_appointment(outcome, appointment_at, facts.now)?;
    let change = match (outcome, appointment_at) {
        (Outcome::Booked, Some(at)) => HoldChange::ReleaseAt(at + facts.booked_hold),
        (Outcome::Booked, None) => unreachable!("checked above"),
        (Outcome::NoAnswer, _) => HoldChange::ReleaseAt(facts.local_day_ends),
        (Outcome::NoBooking, _) => {
            HoldChange::ReleaseAt(facts.local_day_ends.min(facts.retention_ends))
        }
        (Outcome::DoNotCall | Outcome::WrongNumber, _) => HoldChange::ReleaseNow,
    };
    // A hold whose new end has already passed ends now, not at the next release run.
    Ok(match change {
        HoldChange::ReleaseAt(at) if at <= facts.now => HoldChange::ReleaseNow,
        other => other,
    })
}

/// Whether an interval (as Postgres compares them: a month is 30 days, a day 24 hours) is a
/// usable policy hold: more than zero and at most `MAX_POLICY_HOLD`.
pub fn valid_policy_hold(months: i32, days: i32, micros: i64) -> bool {
    let total = i128::from(months) * 30 * i128::from(MICROS_PER_DAY)
        + i128::from(days) * i128::from(MICROS_PER_DAY)
        + i128::from(micros);
    total > 0 && total <= i128::from(MAX_POLICY_HOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Micros = MICROS_PER_HOUR;

    /// Times are hours from an arbitrary origin; only their differences matter.
    fn facts(now: Micros, assigned_at: Micros, local_day_ends: Micros) -> HoldFacts {
        HoldFacts {
            now,
            retention_ends: assigned_at + 18 * H,
            booked_hold: 24 * H,
            local_day_ends,
        }
    }

    #[test]
    fn outcomes_parse_exactly_and_list_the_valid_ones_when_not() {
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
        }
        for bad in ["Booked", "no answer", "", " booked", "voicemail"] {
            assert_eq!(
                bad.parse::<Outcome>(),
                Err(PoolError::UnknownOutcome {
                    given: bad.into(),
                    valid: Outcome::valid_list()
                })
            );
        }
        assert_eq!(
            Outcome::valid_list(),
            "booked, no_answer, no_booking, do_not_call, wrong_number"
        );
    }

    #[test]
    fn booked_holds_until_the_appointment_plus_the_booked_hold() {
        let f = facts(100 * H, 90 * H, 110 * H);
        assert_eq!(
            hold_after_outcome(Outcome::Booked, Some(150 * H), &f),
            Ok(HoldChange::ReleaseAt(174 * H))
        );
        // A company with a 2-hour booked hold.
        let short = HoldFacts {
            booked_hold: 2 * H,
            ..f
        };
        assert_eq!(
            hold_after_outcome(Outcome::Booked, Some(150 * H), &short),
            Ok(HoldChange::ReleaseAt(152 * H))
        );
    }

    #[test]
    fn booked_needs_a_future_appointment_within_a_year() {
        let f = facts(100 * H, 90 * H, 110 * H);
        assert_eq!(
            hold_after_outcome(Outcome::Booked, None, &f),
            Err(PoolError::NullArgument {
                argument: "appointment_at"
            })
        );
        assert_eq!(
            hold_after_outcome(Outcome::Booked, Some(100 * H), &f),
            Err(PoolError::AppointmentInPast)
        );
        assert_eq!(
            hold_after_outcome(Outcome::Booked, Some(99 * H), &f),
            Err(PoolError::AppointmentInPast)
        );
        assert_eq!(
            hold_after_outcome(
                Outcome::Booked,
                Some(100 * H + MAX_APPOINTMENT_AHEAD + 1),
                &f
            ),
            Err(PoolError::AppointmentTooFar)
        );
        assert!(
            hold_after_outcome(Outcome::Booked, Some(100 * H + MAX_APPOINTMENT_AHEAD), &f).is_ok()
        );
    }

    #[test]
    fn only_booked_takes_an_appointment() {
        let f = facts(100 * H, 90 * H, 110 * H);
        assert_eq!(
            hold_after_outcome(Outcome::NoAnswer, Some(150 * H), &f),
            Err(PoolError::AppointmentNotExpected {
                outcome: "no_answer"
            })
        );
    }

    #[test]
    fn no_answer_releases_at_the_end_of_the_local_day_even_on_dst_days() {
        // A 23-hour local day (spring forward) and a 25-hour one (fall back): the end of the
        // day is whatever Postgres computed for the zone; the rule uses it as given, even
        // when that is sooner or later than the 18-hour retention.
        for day_length in [23 * H, 24 * H, 25 * H] {
            let day_start = 1_000 * H;
            let f = facts(
                day_start + 20 * H,
                day_start + 19 * H,
                day_start + day_length,
            );
            assert_eq!(
                hold_after_outcome(Outcome::NoAnswer, None, &f),
                Ok(HoldChange::ReleaseAt(day_start + day_length))
            );
        }
    }

    #[test]
    fn no_booking_releases_at_the_earlier_of_day_end_and_retention() {
        // Assigned in the morning: the day ends before the 18 hours do.
        let f = facts(10 * H, 9 * H, 24 * H);
        assert_eq!(
            hold_after_outcome(Outcome::NoBooking, None, &f),
            Ok(HoldChange::ReleaseAt(24 * H))
        );
        // Assigned the previous evening: retention (assigned + 18 h) comes first.
        let f = facts(30 * H, 20 * H, 48 * H);
        assert_eq!(
            hold_after_outcome(Outcome::NoBooking, None, &f),
            Ok(HoldChange::ReleaseAt(38 * H))
        );
        // Retention already over: release now.
        let f = facts(40 * H, 20 * H, 48 * H);
        assert_eq!(
            hold_after_outcome(Outcome::NoBooking, None, &f),
            Ok(HoldChange::ReleaseNow)
        );
    }

    #[test]
    fn do_not_call_and_wrong_number_release_now() {
        let f = facts(10 * H, 9 * H, 24 * H);
        assert_eq!(
            hold_after_outcome(Outcome::DoNotCall, None, &f),
            Ok(HoldChange::ReleaseNow)
        );
        assert_eq!(
            hold_after_outcome(Outcome::WrongNumber, None, &f),
            Ok(HoldChange::ReleaseNow)
        );
    }

    #[test]
    fn policy_holds_must_be_positive_and_at_most_30_days() {
        assert!(valid_policy_hold(0, 0, 18 * H));
        assert!(valid_policy_hold(0, 30, 0));
        assert!(valid_policy_hold(1, 0, 0)); // a month counts as 30 days
        assert!(!valid_policy_hold(0, 0, 0));
        assert!(!valid_policy_hold(0, 0, -H));
        assert!(!valid_policy_hold(0, 1, -25 * H)); // '1 day -25 hours' is negative overall
        assert!(!valid_policy_hold(0, 30, 1));
        assert!(!valid_policy_hold(i32::MAX, i32::MAX, i64::MAX)); // no overflow
    }

    #[test]
    fn batches_are_bounded_and_honour_the_callers_limit() {
        assert_eq!(next_batch_size(None), Some(RELEASE_BATCH_SIZE));
        assert_eq!(next_batch_size(Some(5)), Some(5));
        assert_eq!(
            next_batch_size(Some(RELEASE_BATCH_SIZE * 3)),
            Some(RELEASE_BATCH_SIZE)
        );
        assert_eq!(next_batch_size(Some(0)), None);
    }
}
