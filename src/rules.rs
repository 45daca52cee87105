//! Which free number a company hands out, and when to raise the alarm, in plain Rust: the
//! lead's area code (local presence), the order in which an assignment tries numbers (cooldown,
//! daily cap, local presence, least recently used), the validated pool rules, when a low-water
//! alert is raised or re-armed, and how long a pool lasts.
//!
//! `assignment.rs` reads the rows and claims the number; the decisions live here.

use crate::errors::PoolError;
use crate::holds::{Micros, MICROS_PER_DAY};

/// The E.164 prefix of a lead's area, "+1" and the three-digit area code, from the phone
/// number the lead gave in whatever form people write it: "+1 (415) 555-0101",
/// "415.555.0101", "14155550101". Area codes exist only in the North American Numbering
/// Plan here; any other number, or anything that is not a phone number, gives `None`, and the
/// assignment takes the company's least recently used number.
pub fn area_prefix(customer_phone: &str) -> Option<String> {
    let trimmed = customer_phone.trim();
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
        (true, 11) | (false, 11) => digits.strip_prefix('1')?,
        (false, 10) => digits.as_str(),
        _ => return None,
    };
    // NANP area codes and exchanges start with 2-9.
    let bytes = national.as_bytes();
    let nanp_digit = |b: u8| (b'2'..=b'9').contains(&b);
    if !nanp_digit(bytes[0]) || !nanp_digit(bytes[3]) {
        return None;
    }
    Some(format!("+1{}", &national[..3]))
}

/// One of a company's numbers as the assignment reads it, in least-recently-used order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolNumber<'a> {
    pub number: &'a str,
    /// Available and active: free to assign, unless resting or at its cap.
    pub free: bool,
    /// Active or held: counts toward the pool's size (retired free numbers do not).
    pub in_service: bool,
    /// Released within the company's cooldown.
    pub resting: bool,
    /// Assignments today, in the company's time zone (0 when the company has no cap).
    pub assigned_today: i64,
}

/// Where a company's numbers stand, for the low-water alert and an exhausted pool's error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolCounts {
    pub total: i64,
    pub assigned: i64,
    pub inactive: i64,
    pub resting: i64,
    pub at_cap: i64,
    pub assignable: i64,
    pub in_service: i64,
}

/// The numbers an assignment may try, best first, and the counts. A number may go when it is
/// free, not resting and under the daily cap. With `area` (the lead's area prefix, local
/// presence on), the numbers of that area come first; within each group, and without it, the
/// order stays least recently used.
pub fn claim_order(
    numbers: &[PoolNumber],
    daily_cap: Option<i64>,
    area: Option<&str>,
) -> (Vec<usize>, PoolCounts) {
    let mut counts = PoolCounts {
        total: numbers.len() as i64,
        ..PoolCounts::default()
    };
    let mut order = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        counts.in_service += i64::from(n.in_service);
        if !n.free {
            if n.in_service {
                counts.assigned += 1;
            } else {
                counts.inactive += 1;
            }
        } else if n.resting {
            counts.resting += 1;
        } else if daily_cap.is_some_and(|cap| n.assigned_today >= cap) {
            counts.at_cap += 1;
        } else {
            counts.assignable += 1;
            order.push(i);
        }
    }
    if let Some(area) = area {
        // A stable sort: false (matches) before true, least recently used kept within each.
        order.sort_by_key(|&i| !numbers[i].number.starts_with(area));
    }
    (order, counts)
}

/// When no low-water rule is set, alert when a pool is down to a fifth of its numbers.
pub const DEFAULT_LOW_WATER_SHARE: f64 = 0.2;

/// Largest low-water count and daily cap accepted: far above any real pool, low enough to
/// catch a typo.
pub const MAX_RULE_COUNT: i64 = 100_000;

/// A cooldown longer than this would take numbers out of the pool for good.
pub const MAX_COOLDOWN: Micros = 7 * MICROS_PER_DAY;

/// The low-water mark of a pool of `usable` numbers (active or held): an alert is raised when
/// an assignment leaves this many assignable numbers or fewer. A count, when the company set
/// one; otherwise a share of the pool, rounded up.
pub fn low_water_mark(count: Option<i64>, share: Option<f64>, usable: i64) -> i64 {
    match count {
        Some(count) => count,
        // Less a hair, so binary fractions round as decimals do (0.2 x 15 is 3, not 4): the
        // same mark pool_alerts computes in numeric.
        None => (share.unwrap_or(DEFAULT_LOW_WATER_SHARE) * usable as f64 - 1e-9)
            .ceil()
            .max(0.0) as i64,
    }
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
        if self.low_water_count.is_some() && self.low_water_share.is_some() {
            return invalid(
                "low_water_share",
                "a value together with low_water_count".into(),
                "one of low_water_count or low_water_share, not both",
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
        Ok(())
    }
}

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

    fn free(number: &str) -> PoolNumber<'_> {
        PoolNumber {
            number,
            free: true,
            in_service: true,
            resting: false,
            assigned_today: 0,
        }
    }

    #[test]
    fn claim_order_is_least_recently_used_among_the_numbers_that_may_go() {
        let numbers = [
            PoolNumber {
                free: false,
                ..free("+14155550001")
            }, // held
            PoolNumber {
                free: false,
                in_service: false,
                ..free("+14155550002")
            }, // retired
            PoolNumber {
                resting: true,
                ..free("+14155550003")
            },
            PoolNumber {
                assigned_today: 3,
                ..free("+14155550004")
            },
            free("+14155550005"),
            free("+12125550006"),
        ];
        let (order, counts) = claim_order(&numbers, None, None);
        assert_eq!(order, vec![3, 4, 5]); // no cap: the busy number may go
        assert_eq!(counts.assignable, 3);
        let (order, counts) = claim_order(&numbers, Some(3), None);
        assert_eq!(order, vec![4, 5]);
        assert_eq!(
            counts,
            PoolCounts {
                total: 6,
                assigned: 1,
                inactive: 1,
                resting: 1,
                at_cap: 1,
                assignable: 2,
                in_service: 5,
            }
        );
    }

    #[test]
    fn claim_order_puts_the_leads_area_first_and_keeps_lru_within_each_group() {
        let numbers = [
            free("+13105550001"),
            free("+14155550002"),
            free("+12125550003"),
            free("+14155550004"),
        ];
        let (order, _) = claim_order(&numbers, None, Some("+1415"));
        assert_eq!(order, vec![1, 3, 0, 2]);
        let (order, _) = claim_order(&numbers, None, Some("+1617"));
        assert_eq!(order, vec![0, 1, 2, 3]); // no match: plain LRU
        let (order, counts) = claim_order(&[], None, Some("+1415"));
        assert!(order.is_empty());
        assert_eq!(counts, PoolCounts::default());
    }

    #[test]
    fn low_water_mark_is_a_count_or_a_rounded_up_share() {
        assert_eq!(low_water_mark(None, None, 5), 1); // 20 % of 5
        assert_eq!(low_water_mark(None, None, 20), 4);
        assert_eq!(low_water_mark(None, None, 21), 5); // rounded up
        assert_eq!(low_water_mark(None, None, 15), 3); // 0.2 x 15 is 3.0000000000000004 in f64
        assert_eq!(low_water_mark(None, Some(0.1), 30), 3);
        assert_eq!(low_water_mark(None, Some(0.7), 10), 7);
        assert_eq!(low_water_mark(None, None, 0), 0);
        assert_eq!(low_water_mark(None, Some(0.5), 15), 8);
        assert_eq!(low_water_mark(None, Some(0.0), 15), 0); // alert only when empty
        assert_eq!(low_water_mark(Some(3), None, 100), 3);
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
}
