//! Which free number a company hands out, and when to raise the alarm, in plain Rust: the
//! lead's area code (local presence), the order in which an assignment tries its choices
//! (previous number, area code, least recently used), the validated pool rules, when a
//! low-water alert is raised or re-armed, and how long a pool lasts.
//!
//! `assignment.rs` runs the statements; the decisions live here.

use crate::errors::PoolError;
use crate::holds::{Micros, MICROS_PER_DAY};

/// The lead's phone in E.164, from the way people write it, for the voice API that places the
/// call: a North American number in any usual form ("415.555.0101", "(415) 555-0101",
/// "1 415 555 0101") becomes "+14155550101"; a number written with its country code after a
/// '+' keeps it ("+44 20 7123 4567" becomes "+442071234567"). Only spaces, dashes, dots and
/// parentheses may separate the digits. Anything else, or a number without '+' outside the
/// North American Numbering Plan (no country code to know it by), gives `None`.
pub fn e164(phone: &str) -> Option<String> {
    let trimmed = phone.trim();
    let (international, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let national = match (international, digits.len()) {
        (_, 11) if digits.starts_with('1') => &digits[1..],
        (false, 10) => digits.as_str(),
        // +1 is the North American plan: eleven digits or none.
        (true, _) if digits.starts_with('1') => return None,
        // Another country's number, as written after its '+'.
        (true, _) => {
            let number = format!("+{digits}");
            return crate::validation::is_e164(&number).then_some(number);
        }
        _ => return None,
    };
    // NANP area codes and exchanges start with 2-9.
    let bytes = national.as_bytes();
    let nanp_digit = |b: u8| (b'2'..=b'9').contains(&b);
    if !nanp_digit(bytes[0]) || !nanp_digit(bytes[3]) {
        return None;
    }
    Some(format!("+1{national}"))
}

/// The E.164 prefix of a lead's area, "+1" and the three-digit area code, from the phone
/// number the lead gave in whatever form people write it (see `e164`). Area codes exist only
/// in the North American Numbering Plan here; any other number, or anything that is not a
/// phone number, gives `None`, and the assignment takes the company's least recently used
/// number.
pub fn area_prefix(customer_phone: &str) -> Option<String> {
    e164(customer_phone)
        .filter(|number| number.starts_with("+1") && number.len() == 12)
        .map(|number| number[..5].to_string())
}

/// How an assignment chose the number it returns, in the order it tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// The lead already holds a number of the company: the same number, its hold renewed.
    CurrentHold,
    /// The number the lead held last at this company, free again: people answer numbers
    /// they recognise. Taken even while it rests in a cooldown (which protects callbacks to
    /// other leads, not to this one), but never retired or over its daily cap.
    PreviousNumber,
    /// A free number of the lead's area code (local presence).
    AreaCode,
    /// The company's least recently used free number, never-used first.
    LeastRecentlyUsed,
}

impl ChosenBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ChosenBy::CurrentHold => "current_hold",
            ChosenBy::PreviousNumber => "previous_number",
            ChosenBy::AreaCode => "area_code",
            ChosenBy::LeastRecentlyUsed => "least_recently_used",
        }
    }
}

/// The claims a lead without a current hold tries, best first: its previous number when it
/// has one, then its area (when known and local presence is on), then least recently used.
pub fn claim_choices(has_previous: bool, has_area: bool) -> Vec<ChosenBy> {
    let mut choices = Vec::with_capacity(3);
    if has_previous {
        choices.push(ChosenBy::PreviousNumber);
    }
    if has_area {
        choices.push(ChosenBy::AreaCode);
    }
    choices.push(ChosenBy::LeastRecentlyUsed);
    choices
}

/// Largest low-water count and daily cap accepted: far above any real pool, low enough to
/// catch a typo.
pub const MAX_RULE_COUNT: i64 = 100_000;

/// A cooldown longer than this would take numbers out of the pool for good.
pub const MAX_COOLDOWN: Micros = 7 * MICROS_PER_DAY;

/// A number's calls and answers in its health window, or its company's over all its numbers'
/// windows (sql/health.sql).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answers {
    pub calls: i64,
    pub answered: i64,
}

impl Answers {
    /// The share of calls answered; None without calls.
    pub fn rate(self) -> Option<f64> {
        (self.calls > 0).then(|| self.answered as f64 / self.calls as f64)
    }
}

/// Whether an outcome that leaves `number`'s window as it is should quarantine it: the rule is
/// on (`quarantine_below`), the number has at least `min_calls` calls since it came back, and
/// its answer rate is below `quarantine_below` times its company's. Relative on purpose: when
/// a whole company's answers fall (a bad list, a holiday), no number stands out and none is
/// quarantined; a company that answers nothing has no rate to fall below.
pub fn quarantine_due(
    number: Answers,
    company: Answers,
    quarantine_below: Option<f64>,
    min_calls: i64,
) -> bool {
    let (Some(below), Some(rate), Some(company_rate)) =
        (quarantine_below, number.rate(), company.rate())
    else {
        return false;
    };
    number.calls >= min_calls && rate < below * company_rate
}

/// Why a number was quarantined, for its ledger row.
pub fn quarantine_reason(number: Answers, company: Answers, quarantine_below: f64) -> String {
    format!(
        "answer rate {:.3} over {} calls, below {} x the company's {:.3}",
        number.rate().unwrap_or(0.0),
        number.calls,
        quarantine_below,
        company.rate().unwrap_or(0.0)
    )
}

/// What a committed assignment does to a company's low-water alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// The pool went down to its mark and no alert is out: notify, once.
    Raise,
    /// The pool is above its mark again after an alert: the next crossing alerts again.
    Rearm,
    /// Nothing changes.
    Keep,
}

/// Decide the alert after an assignment that left `assignable` numbers free.
pub fn alert_after_assignment(assignable: i64, mark: i64, alerted: bool) -> Alert {
    match (assignable <= mark, alerted) {
        (true, false) => Alert::Raise,
        (false, true) => Alert::Rearm,
        _ => Alert::Keep,
    }
}

/// An assignment counts the numbers still assignable after its claim, but never more than
/// this many, so that its cost does not grow with the pool. Marks up to this (any pool of up
/// to 160 numbers with the default fifth) are decided by every assignment; for larger marks an
/// assignment raises the alert once this few are left, and check_pool_alerts() (scheduled with
/// the release job) reports the crossing at the mark itself.
pub const ALERT_SCAN_LIMIT: i64 = 32;

/// How many assignable numbers an assignment counts at most for a pool with this mark: one
/// more than the mark (or the scan limit), so that "more than that" is seen too.
pub fn alert_scan_size(mark: i64) -> i64 {
    mark.clamp(0, ALERT_SCAN_LIMIT) + 1
}

/// The alert after an assignment that counted `seen` assignable numbers left, counting at most
/// `alert_scan_size(mark)`. When it saw that many, it knows only that more are left, which
/// settles the question only when the mark is within the scan.
pub fn alert_after_scan(seen: i64, mark: i64, alerted: bool) -> Alert {
    if seen < alert_scan_size(mark) {
        alert_after_assignment(seen, mark, alerted)
    } else if mark <= ALERT_SCAN_LIMIT {
        alert_after_assignment(mark + 1, mark, alerted)
    } else {
        Alert::Keep
    }
}

/// The rules `set_pool_rules` was given, before they are stored. `None` keeps a rule as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolRules {
    pub low_water_count: Option<i64>,
    pub low_water_share: Option<f64>,
    pub local_presence: Option<bool>,
    /// (months, days, microseconds) of the interval, as Postgres keeps it.
    pub cooldown: Option<(i32, i32, i64)>,
    /// 0 removes the cap.
    pub daily_cap: Option<i64>,
    /// 0 turns the quarantine off.
    pub quarantine_below: Option<f64>,
    pub health_min_calls: Option<i64>,
    /// (months, days, microseconds), as `cooldown`.
    pub quarantine_for: Option<(i32, i32, i64)>,
}

impl PoolRules {
    /// Every value in range, or the first one that is not, with what would be accepted.
    pub fn validate(&self) -> Result<(), PoolError> {
        let invalid = |argument: &'static str, given: String, expected: &'static str| {
            Err(PoolError::InvalidRule {
                argument,
                given,
                expected,
            })
        };
        if let (Some(_), Some(share)) = (self.low_water_count, self.low_water_share) {
            return invalid(
                "low_water_share",
                share.to_string(),
                "NULL when low_water_count is given (one low-water rule at a time)",
            );
        }
        if let Some(count) = self.low_water_count {
            if !(0..=MAX_RULE_COUNT).contains(&count) {
                return invalid("low_water_count", count.to_string(), "0 to 100000 numbers");
            }
        }
        if let Some(share) = self.low_water_share {
            if !(0.0..=1.0).contains(&share) {
                return invalid(
                    "low_water_share",
                    share.to_string(),
                    "0 to 1 (0.2 is a fifth)",
                );
            }
        }
        if let Some((months, days, micros)) = self.cooldown {
            let total = i64::from(days)
                .checked_mul(MICROS_PER_DAY)
                .and_then(|d| d.checked_add(micros));
            if months != 0 || !total.is_some_and(|t| (0..=MAX_COOLDOWN).contains(&t)) {
                return invalid(
                    "cooldown",
                    format_interval(months, days, micros),
                    "0 to 7 days, e.g. '30 minutes'",
                );
            }
        }
        if let Some(cap) = self.daily_cap {
            if !(0..=MAX_RULE_COUNT).contains(&cap) {
                return invalid(
                    "daily_cap",
                    cap.to_string(),
                    "1 to 100000 assignments a day, or 0 for no cap",
                );
            }
        }
        if let Some(below) = self.quarantine_below {
            if !(0.0..=1.0).contains(&below) {
                return invalid(
                    "quarantine_below",
                    below.to_string(),
                    "0 to 1: a share of the company's answer rate (0.5 is half), or 0 for off",
                );
            }
        }
        if let Some(calls) = self.health_min_calls {
            if !(MIN_HEALTH_CALLS..=MAX_HEALTH_CALLS).contains(&calls) {
                return invalid("health_min_calls", calls.to_string(), "4 to 1000 calls");
            }
        }
        if let Some((months, days, micros)) = self.quarantine_for {
            let total = i64::from(days)
                .checked_mul(MICROS_PER_DAY)
                .and_then(|d| d.checked_add(micros));
            if months != 0 || !total.is_some_and(|t| (MIN_QUARANTINE..=MAX_QUARANTINE).contains(&t))
            {
                return invalid(
                    "quarantine_for",
                    format_interval(months, days, micros),
                    "1 hour to 365 days, e.g. '7 days'",
                );
            }
        }
        Ok(())
    }
}

/// pool_ext's advisory locks, the one list of their keys. A lock is a pair of int4: the space
/// of its purpose ('pool' in ASCII, and the two numbers after it) and a key within it. Rust
/// takes its locks with these; SQL asks `_lock_space('low_water_alert')` (src/api/locks.rs),
/// so no key is written twice. docs/design.md ("Locking") lists them for readers of pg_locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockSpace {
    /// One assignment per (company, lead) at a time (key: assignment::lead_lock_key), and one
    /// change of overflow rules at a time (key: OVERFLOW_RULES_KEY).
    Assignment = 1_886_351_212,
    /// A company's low-water alert (key: hashtext(company), sql/analytics.sql).
    LowWaterAlert = 1_886_351_213,
    /// One upkeep of the ledger at a time (key 0, sql/ledger.sql).
    LedgerMaintenance = 1_886_351_214,
}

impl LockSpace {
    pub const ALL: [LockSpace; 3] = [
        LockSpace::Assignment,
        LockSpace::LowWaterAlert,
        LockSpace::LedgerMaintenance,
    ];

    /// The name SQL asks for it by.
    pub fn name(self) -> &'static str {
        match self {
            LockSpace::Assignment => "assignment",
            LockSpace::LowWaterAlert => "low_water_alert",
            LockSpace::LedgerMaintenance => "ledger_maintenance",
        }
    }

    pub fn named(name: &str) -> Option<LockSpace> {
        LockSpace::ALL
            .into_iter()
            .find(|space| space.name() == name)
    }

    /// The first int4 of its locks.
    pub fn key(self) -> i32 {
        self as i32
    }
}

/// The second key of the lock every change of an overflow rule takes: 'over' in ASCII.
pub const OVERFLOW_RULES_KEY: i32 = 0x6f76_6572;

/// What set_pool_rules' `overflow_company` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowChange<'a> {
    /// NULL: keep the rule as it is.
    Keep,
    /// '': no overflow pool.
    Clear,
    /// Lend from this company's pool.
    Set(&'a str),
}

impl<'a> OverflowChange<'a> {
    /// Read the argument: NULL keeps, '' clears, a name sets; white space alone is a mistake.
    pub fn parse(given: Option<&'a str>) -> Result<Self, PoolError> {
        match given {
            None => Ok(OverflowChange::Keep),
            Some("") => Ok(OverflowChange::Clear),
            Some(name) if name.trim().is_empty() => Err(PoolError::InvalidRule {
                argument: "overflow_company",
                given: name.to_string(),
                expected: "a company's name, or '' for none",
            }),
            Some(name) => Ok(OverflowChange::Set(name)),
        }
    }
}

/// One level of overflow: `company` may lend from `overflow` only when that is another
/// company, which has no overflow pool itself (`overflow_of_overflow`), and when no company
/// lends from `company` (`borrowers`, the companies whose overflow pool it is). A cycle is a
/// chain, so it is refused too.
pub fn check_overflow(
    company: &str,
    overflow: &str,
    overflow_of_overflow: Option<&str>,
    borrowers: &[String],
) -> Result<(), PoolError> {
    let refused = |who: &str, into: &str| {
        Err(PoolError::OverflowRefused {
            company: company.to_string(),
            overflow: overflow.to_string(),
            blocking: Some((who.to_string(), into.to_string())),
        })
    };
    if overflow == company {
        return Err(PoolError::OverflowRefused {
            company: company.to_string(),
            overflow: overflow.to_string(),
            blocking: None,
        });
    }
    if let Some(further) = overflow_of_overflow {
        return refused(overflow, further);
    }
    match borrowers.iter().find(|b| b.as_str() != company) {
        Some(borrower) => refused(borrower, company),
        None => Ok(()),
    }
}

/// Fewer calls say nothing about a number; with one, the period it is judged over is an
/// instant, the company's rate over it is its own, and the rule could never fire.
pub const MIN_HEALTH_CALLS: i64 = 4;

/// A health window longer than this would remember months of calls of a busy number.
pub const MAX_HEALTH_CALLS: i64 = 1_000;

/// Shorter than the release job's hour would end before anyone could look.
pub const MIN_QUARANTINE: Micros = 3_600 * 1_000_000;

/// Beyond a year, retire the number instead.
pub const MAX_QUARANTINE: Micros = 365 * MICROS_PER_DAY;

fn format_interval(months: i32, days: i32, micros: i64) -> String {
    format!("{months} months {days} days {} seconds", micros / 1_000_000)
}

/// Hours until a pool with `available` free numbers runs dry, when assignments come at
/// `per_hour` and `releases_by_hour[h]` holds are scheduled to end in hour h from now. A
/// release counts at the end of its hour (the hourly job frees it then), so the estimate errs
/// on the early side. `None`: no demand, or the pool lasts beyond the hours given.
pub fn hours_until_dry(available: i64, per_hour: f64, releases_by_hour: &[i64]) -> Option<f64> {
    if per_hour.is_nan() || per_hour <= 0.0 {
        return None;
    }
    let mut left = available.max(0) as f64;
    for (hour, released) in releases_by_hour.iter().enumerate() {
        if left < per_hour {
            return Some(hour as f64 + left / per_hour);
        }
        left = left - per_hour + *released as f64;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_prefix_reads_north_american_numbers_as_people_write_them() {
        for written in [
            "+14155550101",
            "+1 (415) 555-0101",
            "415-555-0101",
            "(415) 555.0101",
            "14155550101",
            " 415 555 0101 ",
        ] {
            assert_eq!(area_prefix(written).as_deref(), Some("+1415"), "{written}");
        }
        assert_eq!(area_prefix("+12125550123").as_deref(), Some("+1212"));
    }

    #[test]
    fn area_prefix_is_none_for_other_countries_and_non_numbers() {
        for written in [
            "",
            "+442071234567",  // UK: no area codes here
            "+4915123456789", // Germany
            "5550101",        // too short
            "+1415555010",    // ten digits after +: not E.164 NANP
            "4155550101 x12", // an extension: not a plain number
            "0415555010",     // area codes never start with 0
            "1155550101",     // or 1
            "4151550101",     // exchanges neither
            "two one two",
            "+",
        ] {
            assert_eq!(area_prefix(written), None, "{written}");
        }
    }

    #[test]
    fn e164_writes_the_lead_phone_as_the_voice_api_wants_it() {
        for (written, dialable) in [
            ("415.555.0123", "+14155550123"),
            ("(415) 555-0123", "+14155550123"),
            ("1 415 555 0123", "+14155550123"),
            ("+1 (415) 555-0123", "+14155550123"),
            (" +14155550123 ", "+14155550123"),
            ("+44 20 7123 4567", "+442071234567"),
            ("+49 151 23456789", "+4915123456789"),
        ] {
            assert_eq!(e164(written).as_deref(), Some(dialable), "{written}");
        }
    }

    #[test]
    fn e164_is_none_when_the_number_cannot_be_dialled_as_written() {
        for written in [
            "",
            "+",
            "5550101",           // no area code
            "442071234567",      // a country code needs its '+'
            "+1415555010",       // ten digits after +1 is not a NANP number
            "0415555010",        // area codes never start with 0
            "+0123456789",       // no country code starts with 0
            "+1234567890123456", // longer than E.164 allows
            "4155550101 x12",    // an extension
            "call me",
        ] {
            assert_eq!(e164(written), None, "{written}");
        }
    }

    fn answers(calls: i64, answered: i64) -> Answers {
        Answers { calls, answered }
    }

    #[test]
    fn a_number_answered_far_less_than_its_company_is_quarantined() {
        // 2 of 20 answered against a company at 60%: 0.1 < 0.5 x 0.6.
        assert!(quarantine_due(
            answers(20, 2),
            answers(200, 120),
            Some(0.5),
            20
        ));
        // Exactly at the line is not below it: 0.3 = 0.5 x 0.6.
        assert!(!quarantine_due(
            answers(20, 6),
            answers(200, 120),
            Some(0.5),
            20
        ));
        assert!(quarantine_due(
            answers(20, 5),
            answers(200, 120),
            Some(0.5),
            20
        ));
    }

    #[test]
    fn no_quarantine_with_the_rule_off_too_few_calls_or_a_company_wide_fall() {
        // Off.
        assert!(!quarantine_due(answers(20, 0), answers(200, 120), None, 20));
        // Probation: 19 calls of 20.
        assert!(!quarantine_due(
            answers(19, 0),
            answers(200, 120),
            Some(0.5),
            20
        ));
        // The whole company fell with it: 2 of 20 against 22 of 200 is no outlier.
        assert!(!quarantine_due(
            answers(20, 2),
            answers(200, 22),
            Some(0.5),
            20
        ));
        // A company that answers nothing has no rate to fall below.
        assert!(!quarantine_due(
            answers(20, 0),
            answers(200, 0),
            Some(1.0),
            20
        ));
        // No calls at all.
        assert!(!quarantine_due(answers(0, 0), answers(0, 0), Some(1.0), 1));
    }

    #[test]
    fn the_ledger_says_why_a_number_was_quarantined() {
        assert_eq!(
            quarantine_reason(answers(20, 2), answers(200, 120), 0.5),
            "answer rate 0.100 over 20 calls, below 0.5 x the company's 0.600"
        );
    }

    #[test]
    fn choices_put_the_previous_number_first_then_the_area_then_lru() {
        use ChosenBy::*;
        assert_eq!(claim_choices(false, false), vec![LeastRecentlyUsed]);
        assert_eq!(
            claim_choices(true, false),
            vec![PreviousNumber, LeastRecentlyUsed]
        );
        assert_eq!(
            claim_choices(false, true),
            vec![AreaCode, LeastRecentlyUsed]
        );
        assert_eq!(
            claim_choices(true, true),
            vec![PreviousNumber, AreaCode, LeastRecentlyUsed]
        );
        let names: Vec<_> = [CurrentHold, PreviousNumber, AreaCode, LeastRecentlyUsed]
            .map(ChosenBy::as_str)
            .into();
        assert_eq!(
            names,
            [
                "current_hold",
                "previous_number",
                "area_code",
                "least_recently_used"
            ]
        );
    }

    #[test]
    fn the_alert_scan_decides_every_mark_within_it() {
        // Mark 3 (a pool of 15): the scan counts up to 4.
        assert_eq!(alert_scan_size(3), 4);
        assert_eq!(alert_after_scan(4, 3, false), Alert::Keep); // 4 or more left
        assert_eq!(alert_after_scan(4, 3, true), Alert::Rearm);
        assert_eq!(alert_after_scan(3, 3, false), Alert::Raise);
        assert_eq!(alert_after_scan(0, 3, true), Alert::Keep);
        // Mark 0 (alert only when empty): counts up to 1.
        assert_eq!(alert_scan_size(0), 1);
        assert_eq!(alert_after_scan(0, 0, false), Alert::Raise);
        assert_eq!(alert_after_scan(1, 0, true), Alert::Rearm);
        // The largest mark decided exactly.
        let m = ALERT_SCAN_LIMIT;
        assert_eq!(alert_after_scan(m, m, false), Alert::Raise);
        assert_eq!(alert_after_scan(m + 1, m, true), Alert::Rearm);
    }

    #[test]
    fn beyond_the_scan_only_a_pool_down_to_the_scan_alerts() {
        // Mark 400 (a pool of 2,000): the scan stops at 33.
        let m = 400;
        assert_eq!(alert_scan_size(m), ALERT_SCAN_LIMIT + 1);
        // 33 or more left: could be above or below 400; the assignment leaves it to
        // check_pool_alerts() and changes nothing.
        assert_eq!(
            alert_after_scan(ALERT_SCAN_LIMIT + 1, m, false),
            Alert::Keep
        );
        assert_eq!(alert_after_scan(ALERT_SCAN_LIMIT + 1, m, true), Alert::Keep);
        // 32 left: surely under the mark.
        assert_eq!(alert_after_scan(ALERT_SCAN_LIMIT, m, false), Alert::Raise);
        assert_eq!(alert_after_scan(ALERT_SCAN_LIMIT, m, true), Alert::Keep);
        // A negative mark cannot happen, but would scan one row rather than none.
        assert_eq!(alert_scan_size(-5), 1);
    }

    #[test]
    fn an_alert_is_raised_once_on_the_way_down_and_rearmed_above_the_mark() {
        // A pool of 5 with mark 1 draining: 4, 3, 2 free: nothing; 1 free: alert; 0: no repeat.
        let mut alerted = false;
        let mut raised = 0;
        for free in [4, 3, 2, 1, 0] {
            match alert_after_assignment(free, 1, alerted) {
                Alert::Raise => {
                    raised += 1;
                    alerted = true;
                }
                Alert::Rearm => alerted = false,
                Alert::Keep => {}
            }
        }
        assert_eq!(raised, 1);
        // Refilled: the first assignment above the mark re-arms, the next crossing alerts.
        assert_eq!(alert_after_assignment(3, 1, true), Alert::Rearm);
        assert_eq!(alert_after_assignment(1, 1, false), Alert::Raise);
        assert_eq!(alert_after_assignment(1, 1, true), Alert::Keep);
        assert_eq!(alert_after_assignment(2, 1, false), Alert::Keep);
    }

    #[test]
    fn rules_accept_their_ranges() {
        let ok = PoolRules {
            low_water_count: Some(0),
            local_presence: Some(false),
            cooldown: Some((0, 7, 0)),
            daily_cap: Some(0),
            ..PoolRules::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        let share = PoolRules {
            low_water_share: Some(1.0),
            cooldown: Some((0, 0, 1_800_000_000)),
            daily_cap: Some(100_000),
            ..PoolRules::default()
        };
        assert_eq!(share.validate(), Ok(()));
        assert_eq!(PoolRules::default().validate(), Ok(()));
    }

    #[test]
    fn rules_refuse_values_out_of_range_naming_the_argument() {
        let argument_of = |rules: PoolRules| match rules.validate() {
            Err(PoolError::InvalidRule { argument, .. }) => argument,
            other => panic!("expected InvalidRule, got {other:?}"),
        };
        let base = PoolRules::default();
        let cases = [
            (
                PoolRules {
                    low_water_count: Some(-1),
                    ..base
                },
                "low_water_count",
            ),
            (
                PoolRules {
                    low_water_count: Some(100_001),
                    ..base
                },
                "low_water_count",
            ),
            (
                PoolRules {
                    low_water_share: Some(1.01),
                    ..base
                },
                "low_water_share",
            ),
            (
                PoolRules {
                    low_water_share: Some(-0.1),
                    ..base
                },
                "low_water_share",
            ),
            (
                PoolRules {
                    low_water_share: Some(f64::NAN),
                    ..base
                },
                "low_water_share",
            ),
            (
                PoolRules {
                    low_water_count: Some(2),
                    low_water_share: Some(0.5),
                    ..base
                },
                "low_water_share",
            ),
            (
                PoolRules {
                    cooldown: Some((0, 0, -1)),
                    ..base
                },
                "cooldown",
            ),
            (
                PoolRules {
                    cooldown: Some((1, 0, 0)),
                    ..base
                },
                "cooldown",
            ),
            (
                PoolRules {
                    cooldown: Some((0, 7, 1)),
                    ..base
                },
                "cooldown",
            ),
            (
                PoolRules {
                    daily_cap: Some(-1),
                    ..base
                },
                "daily_cap",
            ),
            (
                PoolRules {
                    quarantine_below: Some(1.5),
                    ..base
                },
                "quarantine_below",
            ),
            (
                PoolRules {
                    quarantine_below: Some(f64::NAN),
                    ..base
                },
                "quarantine_below",
            ),
            (
                PoolRules {
                    health_min_calls: Some(0),
                    ..base
                },
                "health_min_calls",
            ),
            (
                PoolRules {
                    health_min_calls: Some(3),
                    ..base
                },
                "health_min_calls",
            ),
            (
                PoolRules {
                    health_min_calls: Some(1_001),
                    ..base
                },
                "health_min_calls",
            ),
            (
                PoolRules {
                    quarantine_for: Some((0, 0, 59 * 60 * 1_000_000)),
                    ..base
                },
                "quarantine_for",
            ),
            (
                PoolRules {
                    quarantine_for: Some((12, 0, 0)),
                    ..base
                },
                "quarantine_for",
            ),
            (
                PoolRules {
                    quarantine_for: Some((0, 366, 0)),
                    ..base
                },
                "quarantine_for",
            ),
        ];
        for (rules, argument) in cases {
            assert_eq!(argument_of(rules), argument, "{rules:?}");
        }
    }

    #[test]
    fn hours_until_dry_counts_down_and_adds_releases_at_the_end_of_their_hour() {
        // 10 free, 4 an hour, nothing released: 2.5 hours.
        assert_eq!(hours_until_dry(10, 4.0, &[0; 48]), Some(2.5));
        // Releases keep it going: 10 - 4 + 4 each hour never runs out within the horizon.
        assert_eq!(hours_until_dry(10, 4.0, &[4; 48]), None);
        // A burst of releases in hour 1 buys time: 10-4+0=6, 6-4+6=8, 8-4=4, 4-4=0 at hour 4.
        let mut releases = [0; 48];
        releases[1] = 6;
        assert_eq!(hours_until_dry(10, 4.0, &releases), Some(4.0));
        // Already empty, no demand, or a negative count from a race.
        assert_eq!(hours_until_dry(0, 2.0, &[0; 48]), Some(0.0));
        assert_eq!(hours_until_dry(10, 0.0, &[0; 48]), None);
        assert_eq!(hours_until_dry(-3, 2.0, &[0; 48]), Some(0.0));
        assert_eq!(hours_until_dry(10, f64::NAN, &[0; 48]), None);
        // Beyond the horizon given.
        assert_eq!(hours_until_dry(100, 1.0, &[0; 48]), None);
    }

    #[test]
    fn overflow_argument_keeps_clears_or_sets() {
        assert_eq!(OverflowChange::parse(None), Ok(OverflowChange::Keep));
        assert_eq!(OverflowChange::parse(Some("")), Ok(OverflowChange::Clear));
        assert_eq!(
            OverflowChange::parse(Some("Shared Pool")),
            Ok(OverflowChange::Set("Shared Pool"))
        );
        for blank in [" ", "\t", "  \n "] {
            assert!(matches!(
                OverflowChange::parse(Some(blank)),
                Err(PoolError::InvalidRule {
                    argument: "overflow_company",
                    ..
                })
            ));
        }
    }

    #[test]
    fn overflow_is_one_level_never_itself_never_a_chain_or_cycle() {
        let none: &[String] = &[];
        // Several companies may share one pool: who else lends from Shared does not matter.
        assert_eq!(check_overflow("Acme", "Shared", None, none), Ok(()));
        let refused = |blocking: Option<(&str, &str)>, overflow: &str| {
            Err(PoolError::OverflowRefused {
                company: "Acme".into(),
                overflow: overflow.into(),
                blocking: blocking.map(|(w, i)| (w.to_string(), i.to_string())),
            })
        };
        assert_eq!(
            check_overflow("Acme", "Acme", None, none),
            refused(None, "Acme")
        );
        // Shared lends from Other: Acme -> Shared -> Other would be two levels.
        assert_eq!(
            check_overflow("Acme", "Shared", Some("Other"), none),
            refused(Some(("Shared", "Other")), "Shared")
        );
        // A cycle: Shared lends from Acme already.
        assert_eq!(
            check_overflow("Acme", "Shared", Some("Acme"), &["Shared".to_string()]),
            refused(Some(("Shared", "Acme")), "Shared")
        );
        // Beta lends from Acme: Acme is an overflow pool and may not lend from another.
        assert_eq!(
            check_overflow("Acme", "Shared", None, &["Beta".to_string()]),
            refused(Some(("Beta", "Acme")), "Shared")
        );
    }

    #[test]
    fn lock_spaces_are_distinct_and_found_by_name() {
        assert_eq!(LockSpace::Assignment.key(), i32::from_be_bytes(*b"pool"));
        for (i, space) in LockSpace::ALL.into_iter().enumerate() {
            assert_eq!(LockSpace::named(space.name()), Some(space));
            assert_eq!(space.key(), LockSpace::Assignment.key() + i as i32);
        }
        assert_eq!(LockSpace::named("pool"), None);
    }
}
