//! What an insight is: the record every other part of Flywheel stores, searches, ranks and posts.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The store's identity for an insight: small, stable, typed by people in chat (`/insights show 12`).
pub type InsightId = i64;

/// Where in the customer journey an insight was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Awareness,
    Consideration,
    Purchase,
    Onboarding,
    Usage,
    Support,
    Renewal,
}

/// What kind of thing the customer told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Pain,
    Request,
    Praise,
    JobToBeDone,
    Competitor,
    ChurnSignal,
}

/// How the customer felt, as far as the text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

/// A closed vocabulary with canonical names, accepted aliases, and a list for "did you mean".
pub trait Vocabulary: Sized + Copy + 'static {
    /// Every value, in display order.
    const ALL: &'static [Self];
    /// The canonical name, as stored and printed.
    fn name(self) -> &'static str;
    /// Other spellings accepted on input.
    fn aliases(self) -> &'static [&'static str] {
        &[]
    }
    /// Looks a value up by its name or an alias, ignoring case.
    fn parse_name(input: &str) -> Option<Self> {
        let wanted = input.trim().to_lowercase();
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == wanted || v.aliases().contains(&wanted.as_str()))
    }
    /// Every accepted spelling, for suggestions.
    fn spellings() -> Vec<&'static str> {
        Self::ALL
            .iter()
            .flat_map(|v| std::iter::once(v.name()).chain(v.aliases().iter().copied()))
            .collect()
    }
}

impl Vocabulary for Stage {
    const ALL: &'static [Self] = &[
        Stage::Awareness,
        Stage::Consideration,
        Stage::Purchase,
        Stage::Onboarding,
        Stage::Usage,
        Stage::Support,
        Stage::Renewal,
    ];
    fn name(self) -> &'static str {
        match self {
            Stage::Awareness => "awareness",
            Stage::Consideration => "consideration",
            Stage::Purchase => "purchase",
            Stage::Onboarding => "onboarding",
            Stage::Usage => "usage",
            Stage::Support => "support",
            Stage::Renewal => "renewal",
        }
    }
}

impl Vocabulary for Kind {
    const ALL: &'static [Self] = &[
        Kind::Pain,
        Kind::Request,
        Kind::Praise,
        Kind::JobToBeDone,
        Kind::Competitor,
        Kind::ChurnSignal,
    ];
    fn name(self) -> &'static str {
        match self {
            Kind::Pain => "pain",
            Kind::Request => "request",
            Kind::Praise => "praise",
            Kind::JobToBeDone => "job-to-be-done",
            Kind::Competitor => "competitor",
            Kind::ChurnSignal => "churn-signal",
        }
    }
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Kind::Pain => &["complaint", "problem"],
            Kind::Request => &["feature-request"],
            Kind::JobToBeDone => &["job", "jtbd"],
            Kind::ChurnSignal => &["churn"],
            Kind::Praise | Kind::Competitor => &[],
        }
    }
}

impl Vocabulary for Sentiment {
    const ALL: &'static [Self] = &[Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];
    fn name(self) -> &'static str {
        match self {
            Sentiment::Negative => "neg",
            Sentiment::Neutral => "neu",
            Sentiment::Positive => "pos",
        }
    }
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Sentiment::Negative => &["negative"],
            Sentiment::Neutral => &["neutral"],
            Sentiment::Positive => &["positive"],
        }
    }
}

macro_rules! vocabulary_text {
    ($($t:ty => $what:literal),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $t {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse_name(s).ok_or_else(|| UnknownValue::new($what, s, &<$t>::spellings()))
            }
        }
    )*};
}
vocabulary_text!(Stage => "stage", Kind => "kind", Sentiment => "sentiment");

/// A value that is not in a closed vocabulary, with the nearest valid spelling if one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {what}{}", suggestion_text(.suggestion, .valid))]
pub struct UnknownValue {
    /// What was being parsed ("stage", "kind", ...).
    pub what: &'static str,
    /// The input as given.
    pub value: String,
    /// The closest valid spelling, if any is close enough to be a likely typo.
    pub suggestion: Option<String>,
    /// Every valid spelling, for the message.
    pub valid: Vec<String>,
}

fn suggestion_text(suggestion: &Option<String>, valid: &[String]) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => format!(" (one of: {})", valid.join(", ")),
    }
}

impl UnknownValue {
    /// Builds the error, picking the nearest spelling from `valid`.
    pub fn new(what: &'static str, value: &str, valid: &[&str]) -> Self {
        UnknownValue {
            what,
            value: value.to_string(),
            suggestion: nearest(value, valid.iter().copied()).map(str::to_string),
            valid: valid.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The candidate closest to `input` by edit distance, if it is close enough to be a typo.
pub fn nearest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_lowercase();
    let allowed = match input.chars().count() {
        0..=2 => 1,
        3..=5 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| {
            let lower = c.to_lowercase();
            let distance = strsim::damerau_levenshtein(&input, &lower);
            // On equal distance, a word the input begins ("stag" → "stage") beats one it
            // merely resembles ("tag").
            let completes = input.len() >= 3 && lower.starts_with(&input);
            (distance, !completes, c)
        })
        .filter(|(d, incomplete, _)| *d <= allowed || !*incomplete)
        .min_by_key(|(d, incomplete, _)| (*d, *incomplete))
        .map(|(_, _, c)| c)
}

/// How much it hurts, from 1 (mild) to 5 (severe). Unknown severity is 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

impl Severity {
    /// The severity given to insights that do not say.
    pub const DEFAULT: Severity = Severity(3);

    /// A severity, if `value` is within 1..=5.
    pub fn new(value: u8) -> Option<Severity> {
        (1..=5).contains(&value).then_some(Severity(value))
    }

    /// The number from 1 to 5.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Severity {
    fn default() -> Self {
        Severity::DEFAULT
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Severity::new(value).ok_or_else(|| format!("severity {value} is outside 1-5"))
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which teams may see an insight.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "visible_to", content = "teams")]
pub enum Visibility {
    /// Every team.
    #[default]
    All,
    /// Only the named teams.
    Teams(Vec<String>),
}

impl Visibility {
    /// Whether `team` may see it.
    pub fn allows(&self, team: &str) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Teams(teams) => teams.iter().any(|t| t.eq_ignore_ascii_case(team)),
        }
    }
}

/// An insight as it comes in: everything but the store's id and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightData {
    /// Where it came from (`cfpb`, `zendesk`, `slack`, ...). With `source_ref`, its identity.
    pub source: String,
    /// Its id in the source. Re-importing the same `(source, source_ref)` updates, never duplicates.
    pub source_ref: String,
    /// A short headline.
    pub title: String,
    /// The customer's words, verbatim (after redaction).
    pub body: String,
    /// When the customer said it.
    pub observed_on: NaiveDate,
    /// Explicit themes and tags given at import.
    pub tags: Vec<String>,
    /// The customer segment ("enterprise", "Older American", ...).
    pub segment: Option<String>,
    /// The journey stage.
    pub stage: Option<Stage>,
    /// The kind of insight.
    pub kind: Option<Kind>,
    /// The sentiment.
    pub sentiment: Sentiment,
    /// How severe, 1 to 5.
    pub severity: Severity,
    /// The customer account (company or customer name), used to count reach.
    pub account: Option<String>,
    /// A link back to the source (ticket URL, Slack permalink).
    pub url: Option<String>,
    /// Which teams may see it.
    pub visibility: Visibility,
}

/// An insight in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    /// The store's id.
    pub id: InsightId,
    /// What was imported.
    #[serde(flatten)]
    pub data: InsightData,
    /// Its tags plus every configured theme whose query matches it.
    pub themes: Vec<String>,
    /// When it entered the store.
    pub added_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The normalized form of a theme, segment or account name used for matching: lowercase words
/// joined by `-`. `"Incorrect information on your report"` becomes
/// `incorrect-information-on-your-report`; `"EQUIFAX, INC."` becomes `equifax-inc`.
pub fn key(name: &str) -> String {
    if name.is_ascii() {
        // The same rule, byte by byte.
        let mut out = Vec::with_capacity(name.len());
        let mut between = false;
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() {
                if between && !out.is_empty() {
                    out.push(b'-');
                }
                between = false;
                out.push(b.to_ascii_lowercase());
            } else {
                between = true;
            }
        }
        return String::from_utf8(out).expect("ASCII in, ASCII out");
    }
    key_by_chars(name, String::with_capacity(name.len()))
}

fn key_by_chars(name: &str, mut out: String) -> String {
    for word in name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// `date` as `YYYY-MM-DD`, exactly as `date.format("%Y-%m-%d")` writes it (years outside
/// 0–9999 with their sign), without parsing a format for every date: the store and the
/// fingerprint write one for every imported row.
pub fn iso_day(date: NaiveDate) -> String {
    use chrono::Datelike;
    let year = date.year();
    if !(0..=9999).contains(&year) {
        return date.format("%Y-%m-%d").to_string();
    }
    format!("{year:04}-{:02}-{:02}", date.month(), date.day())
}

/// Whether a stored key matches a key typed in a filter: equal, or the typed words are its first
/// whole words (`equifax` matches `equifax-inc`, `equi` does not).
pub fn key_matches(stored: &str, wanted: &str) -> bool {
    stored == wanted
        || (stored.len() > wanted.len()
            && stored.starts_with(wanted)
            && stored.as_bytes()[wanted.len()] == b'-')
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_prefers_the_word_being_typed_on_a_tie() {
        assert_eq!(super::nearest("stag", ["tag", "stage"]), Some("stage"));
        assert_eq!(
            super::nearest("bilin", ["billing", "onboarding"]),
            Some("billing")
        );
        assert_eq!(super::nearest("zzzzzz", ["billing"]), None);
    }

    use super::*;
    use chrono::Datelike;

    proptest::proptest! {
        #[test]
        fn keys_of_ascii_names_read_byte_by_byte_as_by_characters(name in "[ -~]{0,40}") {
            proptest::prop_assert_eq!(key(&name), key_by_chars(&name, String::new()));
        }

        #[test]
        fn days_are_written_as_chrono_writes_them(
            day in NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce(),
            near in -1_000_i32..4_000_000,
        ) {
            for date in [day, near].map(|n| NaiveDate::from_num_days_from_ce_opt(n).unwrap()) {
                proptest::prop_assert_eq!(iso_day(date), date.format("%Y-%m-%d").to_string());
            }
        }
    }

    #[test]
    fn days_at_the_edges_of_the_fast_path() {
        for (y, m, d, text) in [
            (0, 1, 1, "0000-01-01"),
            (-1, 12, 31, "-0001-12-31"),
            (9999, 12, 31, "9999-12-31"),
            (10000, 1, 1, "+10000-01-01"),
            (2026, 3, 9, "2026-03-09"),
        ] {
            assert_eq!(iso_day(NaiveDate::from_ymd_opt(y, m, d).unwrap()), text);
        }
    }

    #[test]
    fn vocabulary_names_and_aliases_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(stage.name().parse::<Stage>(), Ok(*stage));
        }
        assert_eq!("JTBD".parse::<Kind>(), Ok(Kind::JobToBeDone));
        assert_eq!("negative".parse::<Sentiment>(), Ok(Sentiment::Negative));
    }

    #[test]
    fn unknown_value_suggests_the_nearest_spelling() {
        let err = "onbording".parse::<Stage>().unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("onboarding"));
        assert_eq!(
            err.to_string(),
            "\"onbording\" is not a stage (did you mean \"onboarding\"?)"
        );
        let err = "xyzzy".parse::<Kind>().unwrap_err();
        assert_eq!(err.suggestion, None);
        assert!(err.to_string().contains("one of: pain"));
    }

    #[test]
    fn severity_is_bounded() {
        assert!(Severity::new(0).is_none());
        assert!(Severity::new(6).is_none());
        assert_eq!(Severity::new(5).map(Severity::get), Some(5));
        assert!(serde_json::from_str::<Severity>("9").is_err());
    }

    #[test]
    fn keys_normalize_names() {
        assert_eq!(key("EQUIFAX, INC."), "equifax-inc");
        assert_eq!(key("  Older American "), "older-american");
        assert_eq!(key("Crédit reporting"), "crédit-reporting");
        assert!(key_matches("equifax-inc", "equifax"));
        assert!(!key_matches("equifax-inc", "equi"));
        assert!(key_matches("billing", "billing"));
    }

    #[test]
    fn visibility_checks_team_names() {
        assert!(Visibility::All.allows("growth"));
        let v = Visibility::Teams(vec!["Payments".into()]);
        assert!(v.allows("payments"));
        assert!(!v.allows("growth"));
    }
}
