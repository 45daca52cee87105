//! Argument checks and name matching: plain Rust, no database.

use crate::errors::PoolError;

/// A required text argument: not NULL, not blank. The value is returned untouched, because
/// company names are matched exactly, as the CRM stores them.
pub fn required_text<'a>(
    value: Option<&'a str>,
    argument: &'static str,
) -> Result<&'a str, PoolError> {
    match value {
        None => Err(PoolError::NullArgument { argument }),
        Some(v) if v.trim().is_empty() => Err(PoolError::BlankArgument { argument }),
        Some(v) => Ok(v),
    }
}

/// An optional text argument: NULL is fine, but a given value must not be blank or longer
/// than `max` characters.
pub fn optional_text<'a>(
    value: Option<&'a str>,
    argument: &'static str,
    max: usize,
) -> Result<Option<&'a str>, PoolError> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Err(PoolError::BlankArgument { argument }),
        Some(v) if v.chars().count() > max => Err(PoolError::TooLong { argument, max }),
        Some(v) => Ok(Some(v)),
    }
}

/// A required argument of any type: not NULL.
pub fn required<T>(value: Option<T>, argument: &'static str) -> Result<T, PoolError> {
    value.ok_or(PoolError::NullArgument { argument })
}

/// A positive row count or batch size.
pub fn positive(value: i64, argument: &'static str) -> Result<i64, PoolError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(PoolError::NonPositiveLimit { argument, value })
    }
}

/// Whether `number` is an E.164 phone number: '+', a non-zero first digit, 2 to 15 digits.
/// Mirrors the table's check of signalwire_phone_numbers.number (_check_number_row, sql/schema.sql).
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The known name (a company, a time zone) a mistyped one most likely meant: the same name up to case and white
/// space, or else the one within a small edit distance. `None` when nothing is close.
pub fn closest_name<'a, I>(wanted: &str, known: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let wanted_key = comparable(wanted);
    let wanted_len = wanted_key.chars().count();
    // Allow about one typo per four characters, at least one and at most three.
    let budget = (wanted_len / 4).clamp(1, 3);
    known
        .into_iter()
        .filter(|name| *name != wanted)
        .map(|name| (comparable(name), name))
        // Names whose lengths differ by more than the budget are further apart than it: skip
        // them before the quadratic distance (a 10 KB argument against 1,200 time zone names
        // took 9 seconds).
        .filter(|(key, _)| key.chars().count().abs_diff(wanted_len) <= budget)
        .map(|(key, name)| (levenshtein(&wanted_key, &key), name))
        .filter(|(distance, _)| *distance <= budget)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, name)| name.to_string())
}

/// Lower case with runs of white space folded to one space and the ends trimmed.
fn comparable(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Edit distance in characters (insertions, deletions, substitutions).
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_rejects_null_and_blank_and_keeps_the_value_exact() {
        assert_eq!(
            required_text(None, "company"),
            Err(PoolError::NullArgument {
                argument: "company"
            })
        );
        for blank in ["", " ", "\t\n "] {
            assert_eq!(
                required_text(Some(blank), "company"),
                Err(PoolError::BlankArgument {
                    argument: "company"
                })
            );
        }
        assert_eq!(required_text(Some(" Acme "), "company"), Ok(" Acme "));
    }

    #[test]
    fn optional_text_allows_null_but_not_blank_or_long() {
        assert_eq!(optional_text(None, "p", 5), Ok(None));
        assert_eq!(optional_text(Some("12345"), "p", 5), Ok(Some("12345")));
        assert_eq!(
            optional_text(Some(" "), "p", 5),
            Err(PoolError::BlankArgument { argument: "p" })
        );
        assert_eq!(
            optional_text(Some("123456"), "p", 5),
            Err(PoolError::TooLong {
                argument: "p",
                max: 5
            })
        );
    }

    #[test]
    fn positive_rejects_zero_and_negative() {
        assert_eq!(positive(1, "n"), Ok(1));
        assert!(positive(0, "n").is_err());
        assert!(positive(-5, "n").is_err());
    }

    #[test]
    fn e164_accepts_valid_numbers_only() {
        for ok in ["+14155550100", "+447911123456", "+12", "+123456789012345"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "",
            "+",
            "14155550100",
            "+04155550100",
            "+1",
            "+1234567890123456",
            "+1 415 555 0100",
            "+1-415-555-0100",
            "+1415555010a",
            "++14155550100",
            "+\u{661}\u{664}\u{661}\u{665}",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn closest_company_finds_case_space_and_typo_variants() {
        let known = ["Acme Realty", "Blue Sky Brokers", "Northwind"];
        assert_eq!(
            closest_name("acme realty", known).as_deref(),
            Some("Acme Realty")
        );
        assert_eq!(
            closest_name("Acme  Realty ", known).as_deref(),
            Some("Acme Realty")
        );
        assert_eq!(
            closest_name("Acme Realy", known).as_deref(),
            Some("Acme Realty")
        );
        assert_eq!(
            closest_name("Blue Sky Broker", known).as_deref(),
            Some("Blue Sky Brokers")
        );
        assert_eq!(closest_name("Contoso", known), None);
        assert_eq!(closest_name("", known), None);
    }

    #[test]
    fn closest_company_prefers_the_smallest_distance() {
        let known = ["Acme One", "Acme Two", "acme one"];
        assert_eq!(closest_name("ACME ONE", known).as_deref(), Some("Acme One"));
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
    }
}

/// Property tests: the Rust E.164 check agrees with the table's check (_check_number_row)
/// (`^\+[1-9][0-9]{1,14}$`), written here independently, on strings near the boundary; short
/// values stay bounded; name suggestions are exact.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::errors::shorten;
    use proptest::prelude::*;

    fn matches_table_check(s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        chars.len() >= 3
            && chars.len() <= 16
            && chars[0] == '+'
            && ('1'..='9').contains(&chars[1])
            && chars[2..].iter().all(|c| c.is_ascii_digit())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn e164_agrees_with_the_table_constraint(s in "\\+?[0-9٠-٩ a+-]{0,18}") {
            prop_assert_eq!(is_e164(&s), matches_table_check(&s), "{:?}", s);
        }

        #[test]
        fn shortened_values_are_bounded_and_keep_their_start(s in ".{0,200}") {
            let short = shorten(&s);
            prop_assert!(short.chars().count() <= 43);
            let head: String = s.chars().take(40).collect();
            prop_assert!(short.starts_with(&head));
        }

        /// Skipping names by length first changes no suggestion: the same answer as comparing
        /// every name.
        #[test]
        fn closest_name_matches_comparing_every_name(
            wanted in "[a-cA-C ]{0,12}",
            known in proptest::collection::vec("[a-cA-C ]{1,12}", 0..12),
        ) {
            let wanted_key = comparable(&wanted);
            let budget = (wanted_key.chars().count() / 4).clamp(1, 3);
            let every = known
                .iter()
                .map(String::as_str)
                .filter(|name| *name != wanted)
                .map(|name| (levenshtein(&wanted_key, &comparable(name)), name))
                .filter(|(distance, _)| *distance <= budget)
                .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
                .map(|(_, name)| name.to_string());
            prop_assert_eq!(closest_name(&wanted, known.iter().map(String::as_str)), every);
        }
    }
}
