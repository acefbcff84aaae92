//! How domain values are written to columns, identically on both backends, so that comparisons,
//! sorting and arithmetic in SQL mean the same thing everywhere: instants as milliseconds since
//! the Unix epoch (UTC), dates as `YYYY-MM-DD` text, lists as JSON arrays, closed vocabularies by
//! their canonical names.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use flywheel_insights::model::Vocabulary;

/// Dates are stored as text and compared as text, which orders like the calendar only while
/// every year has exactly four digits.
pub(crate) const FIRST_STORABLE_YEAR: i32 = 0;
/// See [`FIRST_STORABLE_YEAR`].
pub(crate) const LAST_STORABLE_YEAR: i32 = 9999;

/// An instant as stored: milliseconds since the Unix epoch. Finer precision is dropped.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// An instant read back.
pub(crate) fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Whether a date can be stored so that text order stays calendar order.
pub(crate) fn storable_day(day: NaiveDate) -> bool {
    (FIRST_STORABLE_YEAR..=LAST_STORABLE_YEAR).contains(&day.year())
}

/// A storable date as stored: `YYYY-MM-DD`.
pub(crate) fn day_text(day: NaiveDate) -> String {
    flywheel_insights::model::iso_day(day)
}

/// A date used as a bound in a comparison. Dates outside the storable years become text that
/// sorts before (or after) every stored date, so the comparison keeps its calendar meaning.
pub(crate) fn bound_text(day: NaiveDate) -> String {
    if day.year() < FIRST_STORABLE_YEAR {
        "0000-00-00".to_string()
    } else if day.year() > LAST_STORABLE_YEAR {
        "9999-12-32".to_string()
    } else {
        day_text(day)
    }
}

/// A stored date read back.
pub(crate) fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// A list of names as stored: a JSON array.
pub(crate) fn list_text(items: &[String]) -> String {
    serde_json::to_string(items).expect("a list of strings always serializes")
}

/// A stored list read back.
pub(crate) fn parse_list(text: &str) -> Option<Vec<String>> {
    serde_json::from_str(text).ok()
}

/// A vocabulary value read back from its canonical name.
pub(crate) fn parse_vocabulary<V: Vocabulary>(name: &str) -> Option<V> {
    V::ALL.iter().copied().find(|v| v.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flywheel_insights::model::Stage;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_are_fixed_width_and_order_like_the_calendar() {
        assert_eq!(day_text(day(2026, 3, 1)), "2026-03-01");
        assert_eq!(day_text(day(7, 1, 2)), "0007-01-02");
        assert_eq!(parse_day("2026-03-01"), Some(day(2026, 3, 1)));
        assert!(bound_text(NaiveDate::MIN) < day_text(day(0, 1, 1)));
        assert!(bound_text(NaiveDate::MAX) > day_text(day(9999, 12, 31)));
        assert!(!storable_day(day(10000, 1, 1)));
        assert!(!storable_day(day(-1, 1, 1)));
    }

    #[test]
    fn instants_keep_milliseconds() {
        let at = DateTime::from_timestamp_millis(1_767_225_600_123).unwrap();
        assert_eq!(from_millis(millis(at)), Some(at));
    }

    #[test]
    fn vocabulary_reads_canonical_names_only() {
        assert_eq!(
            parse_vocabulary::<Stage>("onboarding"),
            Some(Stage::Onboarding)
        );
        assert_eq!(parse_vocabulary::<Stage>("Onboarding"), None);
    }
}
