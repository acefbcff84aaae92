//! Ordering the insights a search found, and saying why each is where it is.
//!
//! A score is the product of four signals, so each one can be read on its own:
//!
//! - **relevance**: BM25F over the candidate set: a word in the title counts three times and
//!   a theme carrying it twice as much as a word in the body (each text field normalized by its
//!   own average length), multiplied by the share of the query's weight the
//!   insight covers (a question relaxed to "any of these words" puts insights with more of the
//!   rarer words first). A query without words is neutral: relevance 1.
//! - **recency**: from 1 (observed today) down to 0.7, losing half of the way every
//!   [`HALF_LIFE_DAYS`]; the floor keeps years-old data ranked by relevance rather than by age
//!   (a strong match from last year beats a passing mention from today).
//! - **severity**: 0.8 for severity 1 up to 1.2 for severity 5.
//! - **reach**: how many distinct accounts among the candidates said the same thing — the same
//!   first theme (by key) or the same title once tokenized and stemmed. It adds
//!   `0.1 × ln(accounts)`, at most 0.5. Insights without an account add no one to a count but
//!   always reach at least one.
//!
//! Scores compare insights within one ranking; they mean nothing across queries.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::model::{self, Insight};
use crate::query::Query;
use crate::text;

/// Days after which recency has lost half of what it can lose.
pub const HALF_LIFE_DAYS: f64 = 30.0;
/// What recency multiplies by for very old insights.
const RECENCY_FLOOR: f64 = 0.7;
/// A term in the title counts this many times.
const TITLE_WEIGHT: f64 = 3.0;
/// A term in a theme counts this many times.
const THEMES_WEIGHT: f64 = 2.0;
/// BM25's saturation: how quickly more occurrences of a word stop adding.
const K1: f64 = 1.2;
/// BM25's length normalization: how much a long text is discounted.
const B: f64 = 0.75;
/// How long an insight is said to be recent in the reasons.
const RECENT_DAYS: i64 = 60;
/// At most this many reasons per insight.
const MAX_REASONS: usize = 4;
/// Snippets are at most about this many characters.
pub const SNIPPET_CHARS: usize = 200;

/// An insight in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    /// The insight (its fields appear at the top level in JSON).
    #[serde(flatten)]
    pub insight: Insight,
    /// Higher ranks first. Only comparable within one ranking.
    pub score: f64,
    /// Why it ranks where it does, most telling first, at most four.
    pub reasons: Vec<Reason>,
    /// A short extract of the body (or the title when there is no body) around the first
    /// matching word.
    pub snippet: String,
}

/// Where in an insight a word was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The headline.
    Title,
    /// The customer's words.
    Body,
    /// Its themes and tags.
    Themes,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::Themes => "themes",
        })
    }
}

/// One reason an insight ranks where it does, printed as a short phrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// `matched "refund" in title and body`: query words and where they were found.
    Matched {
        /// The words as typed in the query.
        words: Vec<String>,
        /// Where all of them were found.
        fields: Vec<Field>,
    },
    /// `12 days old`: observed recently.
    Age {
        /// Days between the observation and today.
        days: i64,
    },
    /// `severity 4`: severe.
    Severity {
        /// 1 to 5.
        severity: u8,
    },
    /// `8 accounts`: many accounts said the same thing.
    Reach {
        /// Distinct accounts.
        accounts: u64,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Matched { words, fields } => {
                let words: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                let fields: Vec<String> = fields.iter().map(Field::to_string).collect();
                write!(f, "matched {} in {}", list(&words), list(&fields))
            }
            Reason::Age { days: 0 } => f.write_str("observed today"),
            Reason::Age { days: 1 } => f.write_str("1 day old"),
            Reason::Age { days } => write!(f, "{days} days old"),
            Reason::Severity { severity } => write!(f, "severity {severity}"),
            Reason::Reach { accounts: 1 } => f.write_str("1 account"),
            Reason::Reach { accounts } => write!(f, "{accounts} accounts"),
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One candidate's words, field by field, as stems.
struct Fields {
    title: Vec<String>,
    body: Vec<String>,
    themes: Vec<String>,
}

impl Fields {
    fn of(insight: &Insight) -> Fields {
        Fields {
            title: text::stems(&insight.data.title),
            body: text::stems(&insight.data.body),
            themes: insight.themes.iter().flat_map(|t| text::stems(t)).collect(),
        }
    }

    fn count(stems: &[String], stem: &str) -> f64 {
        stems.iter().filter(|s| *s == stem).count() as f64
    }

    fn contains(&self, stem: &str) -> bool {
        [&self.title, &self.body, &self.themes]
            .into_iter()
            .any(|stems| stems.iter().any(|s| s == stem))
    }

    /// BM25F's combined term frequency: each text field's count normalized by its length
    /// against the average, then weighted. Themes count once however often a word recurs in
    /// them: a long category name ("Credit monitoring or identity theft protection services")
    /// says what the insight is about, not that it says so insistently.
    fn weighted_tf(&self, stem: &str, average: &AverageLengths) -> f64 {
        let normalized = |stems: &[String], average: f64| {
            let count = Fields::count(stems, stem);
            if count == 0.0 {
                return 0.0;
            }
            let norm = if average > 0.0 {
                1.0 - B + B * stems.len() as f64 / average
            } else {
                1.0
            };
            count / norm
        };
        let in_themes = if self.themes.iter().any(|s| s == stem) {
            1.0
        } else {
            0.0
        };
        TITLE_WEIGHT * normalized(&self.title, average.title)
            + THEMES_WEIGHT * in_themes
            + normalized(&self.body, average.body)
    }

    fn found_in(&self, stem: &str) -> Vec<Field> {
        [
            (Field::Title, &self.title),
            (Field::Body, &self.body),
            (Field::Themes, &self.themes),
        ]
        .into_iter()
        .filter(|(_, stems)| stems.iter().any(|s| s == stem))
        .map(|(field, _)| field)
        .collect()
    }
}

/// Average lengths of the titles and bodies that have any words: many insights have no body,
/// and counting them would make every real body look long.
struct AverageLengths {
    title: f64,
    body: f64,
}

impl AverageLengths {
    fn of(fields: &[Fields]) -> AverageLengths {
        let average = |len: fn(&Fields) -> usize| {
            let (sum, n) = fields
                .iter()
                .map(len)
                .filter(|&l| l > 0)
                .fold((0usize, 0usize), |(sum, n), l| (sum + l, n + 1));
            if n == 0 { 0.0 } else { sum as f64 / n as f64 }
        };
        AverageLengths {
            title: average(|f| f.title.len()),
            body: average(|f| f.body.len()),
        }
    }
}

/// Ranks `candidates` for `query`: highest score first, ties broken by the newer observation,
/// then the higher id. See the module documentation for what the score is made of.
pub fn rank(query: &Query, candidates: &[Insight], today: NaiveDate) -> Vec<Ranked> {
    let terms = query.positive_terms();
    let stems: Vec<&str> = terms.iter().map(|t| t.stem.as_str()).collect();
    let fields: Vec<Fields> = candidates.iter().map(Fields::of).collect();
    let idf = idf(&stems, &fields);
    let relevance = relevance(&stems, &idf, &fields);
    let reach = reach(candidates, &fields);
    // Snippets show the most telling word: "theft" rather than "credit" in credit complaints.
    let mut telling: Vec<(&str, f64)> = stems.iter().copied().zip(idf).collect();
    telling.sort_by(|a, b| b.1.total_cmp(&a.1));
    let telling: Vec<&str> = telling.into_iter().map(|(stem, _)| stem).collect();

    let mut ranked: Vec<Ranked> = candidates
        .iter()
        .zip(&fields)
        .enumerate()
        .map(|(i, (insight, fields))| {
            let age = (today - insight.data.observed_on).num_days().max(0);
            let severity = insight.data.severity.get();
            let score = relevance[i]
                * recency(age)
                * (0.8 + 0.1 * f64::from(severity - 1))
                * (1.0 + (0.1 * (reach[i] as f64).ln()).min(0.5));

            let mut reasons = matched_reasons(&terms, fields);
            if severity >= 4 {
                reasons.push(Reason::Severity { severity });
            }
            if reach[i] >= 2 {
                reasons.push(Reason::Reach { accounts: reach[i] });
            }
            if age <= RECENT_DAYS {
                reasons.push(Reason::Age { days: age });
            }
            reasons.truncate(MAX_REASONS);

            let source = if insight.data.body.trim().is_empty() {
                &insight.data.title
            } else {
                &insight.data.body
            };
            Ranked {
                insight: insight.clone(),
                score,
                reasons,
                snippet: snippet(source, &telling, SNIPPET_CHARS),
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.insight.data.observed_on.cmp(&a.insight.data.observed_on))
            .then(b.insight.id.cmp(&a.insight.id))
    });
    ranked
}

/// From 1 today down towards [`RECENCY_FLOOR`], halving the distance every half-life.
fn recency(age_days: i64) -> f64 {
    RECENCY_FLOOR + (1.0 - RECENCY_FLOOR) * 0.5_f64.powf(age_days as f64 / HALF_LIFE_DAYS)
}

/// How telling each stem is among the candidates: BM25's inverse document frequency, always
/// positive.
fn idf(stems: &[&str], fields: &[Fields]) -> Vec<f64> {
    let n = fields.len() as f64;
    stems
        .iter()
        .map(|stem| {
            let with = fields.iter().filter(|f| f.contains(stem)).count() as f64;
            (1.0 + (n - with + 0.5) / (with + 0.5)).ln()
        })
        .collect()
}

/// BM25F of each candidate for the query stems, times the share of the query's weight (the
/// sum of the stems' idf) it covers. 1 for everyone when the query has no words.
fn relevance(stems: &[&str], idf: &[f64], fields: &[Fields]) -> Vec<f64> {
    if stems.is_empty() {
        return vec![1.0; fields.len()];
    }
    let total_idf: f64 = idf.iter().sum();
    let average = AverageLengths::of(fields);
    fields
        .iter()
        .map(|f| {
            let mut score = 0.0;
            let mut covered = 0.0;
            for (stem, idf) in stems.iter().zip(idf) {
                let tf = f.weighted_tf(stem, &average);
                if tf > 0.0 {
                    score += idf * tf * (K1 + 1.0) / (tf + K1);
                    covered += idf;
                }
            }
            let coverage = if total_idf > 0.0 {
                covered / total_idf
            } else {
                1.0
            };
            score * coverage
        })
        .collect()
}

/// For each candidate, the distinct accounts among all candidates that share its first theme
/// or its title (compared as stems); at least 1.
fn reach(candidates: &[Insight], fields: &[Fields]) -> Vec<u64> {
    let theme_key = |i: usize| candidates[i].themes.first().map(|t| model::key(t));
    let title_key = |i: usize| Some(fields[i].title.join(" ")).filter(|t| !t.is_empty());
    let account = |i: usize| {
        candidates[i]
            .data
            .account
            .as_deref()
            .map(model::key)
            .filter(|a| !a.is_empty())
    };
    let mut by_theme: HashMap<String, HashSet<String>> = HashMap::new();
    let mut by_title: HashMap<String, HashSet<String>> = HashMap::new();
    for i in 0..candidates.len() {
        let Some(account) = account(i) else { continue };
        if let Some(key) = theme_key(i).filter(|k| !k.is_empty()) {
            by_theme.entry(key).or_default().insert(account.clone());
        }
        if let Some(key) = title_key(i) {
            by_title.entry(key).or_default().insert(account);
        }
    }
    let empty = HashSet::new();
    (0..candidates.len())
        .map(|i| {
            let themed = theme_key(i)
                .and_then(|k| by_theme.get(&k))
                .unwrap_or(&empty);
            let titled = title_key(i)
                .and_then(|k| by_title.get(&k))
                .unwrap_or(&empty);
            (themed.union(titled).count() as u64).max(1)
        })
        .collect()
}

/// Query words found in the insight, grouped by where they were found, at most two groups.
fn matched_reasons(terms: &[&crate::query::Term], fields: &Fields) -> Vec<Reason> {
    let mut groups: Vec<(Vec<Field>, Vec<String>)> = Vec::new();
    for term in terms {
        let found = fields.found_in(&term.stem);
        if found.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(f, _)| *f == found) {
            Some((_, words)) => words.push(term.word.clone()),
            None => groups.push((found, vec![term.word.clone()])),
        }
    }
    groups
        .into_iter()
        .take(2)
        .map(|(fields, words)| Reason::Matched { words, fields })
        .collect()
}

/// Up to about `max_chars` characters of `text`, whitespace collapsed, centered on the first
/// occurrence of the first of `stems` (in the order given) that the text contains, or on the
/// start when it contains none; cut at word boundaries and marked with `…` where text was left
/// out.
pub fn snippet(text: &str, stems: &[&str], max_chars: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = collapsed.chars().collect();
    if chars.len() <= max_chars {
        return collapsed;
    }
    let char_at = |byte: usize| collapsed[..byte].chars().count();
    let words: Vec<(String, std::ops::Range<usize>)> = text::tokens(&collapsed)
        .map(|t| (text::stem(&t.text), t.span))
        .collect();
    let (match_start, match_end) = stems
        .iter()
        .find_map(|wanted| words.iter().find(|(stem, _)| stem == wanted))
        .map(|(_, span)| (char_at(span.start), char_at(span.end)))
        .unwrap_or((0, 0));

    // Room for the two ellipses.
    let width = max_chars.saturating_sub(2).max(1);
    let center = (match_start + match_end) / 2;
    let mut start = center.saturating_sub(width / 2);
    let mut end = (start + width).min(chars.len());
    start = end.saturating_sub(width);

    // Move inwards to whole words, but never past the match itself.
    if start > 0
        && chars[start - 1] != ' '
        && let Some(space) = (start..match_start.max(start)).find(|&i| chars[i] == ' ')
    {
        start = space + 1;
    }
    if end < chars.len()
        && chars[end] != ' '
        && let Some(space) = (match_end.min(end)..end).rev().find(|&i| chars[i] == ' ')
    {
        end = space;
    }

    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(chars[start..end].iter());
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InsightData, Sentiment, Severity, Visibility};
    use crate::query::parse;
    use chrono::{TimeZone, Utc};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        day(2026, 3, 31)
    }

    fn insight(id: i64, title: &str, body: &str) -> Insight {
        Insight {
            id,
            data: InsightData {
                source: "test".into(),
                source_ref: id.to_string(),
                title: title.into(),
                body: body.into(),
                observed_on: today(),
                tags: vec![],
                segment: None,
                stage: None,
                kind: None,
                sentiment: Sentiment::Neutral,
                severity: Severity::DEFAULT,
                account: None,
                url: None,
                visibility: Visibility::All,
            },
            themes: vec![],
            added_at: Utc.with_ymd_and_hms(2026, 3, 31, 0, 0, 0).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2026, 3, 31, 0, 0, 0).unwrap(),
        }
    }

    fn order(query: &str, candidates: &[Insight]) -> Vec<i64> {
        rank(&parse(query).unwrap(), candidates, today())
            .iter()
            .map(|r| r.insight.id)
            .collect()
    }

    #[test]
    fn a_match_in_the_title_outranks_one_in_the_body() {
        let candidates = [
            insight(1, "Waited for weeks", "my refund never arrived"),
            insight(2, "Refund never arrived", "I waited for weeks"),
        ];
        assert_eq!(order("refund", &candidates), [2, 1]);
    }

    #[test]
    fn a_match_in_a_theme_outranks_one_in_the_body() {
        let mut themed = insight(1, "Card declined", "It happened at checkout");
        themed.themes = vec!["Refunds".into()];
        let candidates = [insight(2, "Card declined", "It happened at refund"), themed];
        assert_eq!(order("refund", &candidates), [1, 2]);
    }

    #[test]
    fn covering_more_of_a_relaxed_question_ranks_higher() {
        let q = parse("what are customers saying about identity theft on their credit report?")
            .unwrap()
            .relaxed()
            .unwrap();
        let candidates = [
            insight(
                1,
                "Credit report error",
                "wrong address on my credit report",
            ),
            insight(2, "Identity theft", "someone used my identity, a theft"),
            insight(
                3,
                "Identity theft on my credit report",
                "accounts I never opened",
            ),
            insight(4, "Late fee", "charged a fee on my credit card"),
            insight(5, "Credit report", "report shows an old credit line"),
        ];
        let ids: Vec<i64> = rank(&q, &candidates, today())
            .iter()
            .map(|r| r.insight.id)
            .collect();
        assert_eq!(ids[..2], [3, 2], "{ids:?}");
        assert_eq!(*ids.last().unwrap(), 4, "{ids:?}");
    }

    #[test]
    fn the_rarer_word_weighs_more() {
        let mut candidates: Vec<Insight> = (1..=6)
            .map(|id| insight(id, "Account update", "my account was updated"))
            .collect();
        candidates.push(insight(10, "Account", "chargeback filed"));
        candidates.push(insight(11, "Chargeback", "on my account"));
        let ids = order("account OR chargeback", &candidates);
        assert_eq!(ids[..2], [11, 10], "{ids:?}");
    }

    #[test]
    fn newer_ranks_higher_but_old_relevant_data_is_not_buried() {
        let mut old = insight(1, "Refund refused", "refund refund refund, no refund");
        old.data.observed_on = day(2021, 1, 1);
        let mut recent = insight(2, "Refund refused", "refund refund refund, no refund");
        recent.data.observed_on = day(2026, 3, 20);
        let mut barely = insight(3, "Shipping", "slow shipping; also a refund");
        barely.data.observed_on = today();
        assert_eq!(order("refund", &[old, recent, barely]), [2, 1, 3]);
    }

    #[test]
    fn severity_and_reach_order_otherwise_equal_insights() {
        let mut mild = insight(1, "Login loop", "");
        mild.data.severity = Severity::new(1).unwrap();
        let mut severe = insight(2, "Login loop", "");
        severe.data.severity = Severity::new(5).unwrap();
        assert_eq!(order("login", &[mild, severe]), [2, 1]);

        let shared = |id: i64, account: &str| {
            let mut i = insight(id, &format!("Problem {id}"), "");
            i.themes = vec!["Billing".into()];
            i.data.account = Some(account.into());
            i
        };
        let mut alone = insight(9, "Problem nine", "");
        alone.themes = vec!["Onboarding".into()];
        alone.data.account = Some("Initech".into());
        let candidates = [
            alone,
            shared(1, "Acme"),
            shared(2, "ACME"),
            shared(3, "Globex"),
            shared(4, "Umbrella"),
        ];
        let ranked = rank(&Query::everything(), &candidates, today());
        assert_eq!(ranked.last().unwrap().insight.id, 9);
        // Acme and ACME are one account.
        assert!(
            ranked[0].reasons.contains(&Reason::Reach { accounts: 3 }),
            "{:?}",
            ranked[0].reasons
        );
    }

    #[test]
    fn reach_counts_near_identical_titles_as_the_same_thing() {
        let mut a = insight(1, "Charged twice!", "");
        a.data.account = Some("Acme".into());
        let mut b = insight(2, "charged  TWICE", "");
        b.data.account = Some("Globex".into());
        let mut c = insight(3, "Charged once", "");
        c.data.account = Some("Initech".into());
        let ranked = rank(&Query::everything(), &[a, b, c], today());
        let reach_of = |id: i64| {
            ranked
                .iter()
                .find(|r| r.insight.id == id)
                .unwrap()
                .reasons
                .iter()
                .find_map(|r| match r {
                    Reason::Reach { accounts } => Some(*accounts),
                    _ => None,
                })
        };
        assert_eq!(reach_of(1), Some(2));
        assert_eq!(reach_of(2), Some(2));
        assert_eq!(reach_of(3), None);
    }

    #[test]
    fn without_words_recency_and_severity_decide() {
        let mut old = insight(1, "A", "");
        old.data.observed_on = day(2025, 1, 1);
        let mut new = insight(2, "B", "");
        new.data.observed_on = day(2026, 3, 30);
        let mut old_severe = insight(3, "C", "");
        old_severe.data.observed_on = day(2025, 1, 1);
        old_severe.data.severity = Severity::new(5).unwrap();
        let ranked = rank(
            &parse("theme:x OR -theme:x").unwrap(),
            &[old, new, old_severe],
            today(),
        );
        let ids: Vec<i64> = ranked.iter().map(|r| r.insight.id).collect();
        assert_eq!(ids, [2, 3, 1]);
        assert!(ranked.iter().all(|r| r.score > 0.0));
    }

    #[test]
    fn ties_go_to_the_newer_then_the_higher_id() {
        let mut a = insight(1, "Same", "same");
        a.data.observed_on = day(2020, 1, 1);
        let mut b = insight(2, "Same", "same");
        b.data.observed_on = day(2020, 1, 1);
        let mut c = insight(3, "Same", "same");
        c.data.observed_on = day(2020, 1, 2);
        assert_eq!(order("same", &[a, b, c]), [3, 2, 1]);
        assert!(rank(&Query::everything(), &[], today()).is_empty());
    }

    #[test]
    fn future_observations_count_as_today() {
        let mut future = insight(1, "Refund", "");
        future.data.observed_on = day(2027, 1, 1);
        let ranked = rank(&parse("refund").unwrap(), &[future], today());
        assert!(ranked[0].score.is_finite());
        assert!(ranked[0].reasons.contains(&Reason::Age { days: 0 }));
    }

    #[test]
    fn reasons_read_as_short_phrases() {
        let mut i = insight(7, "Refund refused", "They refused my refund twice");
        i.data.severity = Severity::new(4).unwrap();
        i.data.observed_on = day(2026, 3, 19);
        i.themes = vec!["Billing".into()];
        let ranked = rank(&parse("refunds twice billing").unwrap(), &[i], today());
        let reasons: Vec<String> = ranked[0].reasons.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            reasons,
            [
                "matched \"refunds\" in title and body",
                "matched \"twice\" in body",
                "severity 4",
                "12 days old"
            ]
        );
        assert_eq!(
            Reason::Matched {
                words: vec!["a".into(), "b".into(), "c".into()],
                fields: vec![Field::Themes]
            }
            .to_string(),
            "matched \"a\", \"b\" and \"c\" in themes"
        );
        assert_eq!(Reason::Reach { accounts: 8 }.to_string(), "8 accounts");
        assert_eq!(Reason::Age { days: 1 }.to_string(), "1 day old");
        assert_eq!(Reason::Age { days: 0 }.to_string(), "observed today");
    }

    #[test]
    fn old_mild_unmatched_insights_have_no_reasons() {
        let mut i = insight(1, "Nothing", "");
        i.data.observed_on = day(2020, 1, 1);
        let ranked = rank(&Query::everything(), &[i], today());
        assert!(ranked[0].reasons.is_empty());
    }

    #[test]
    fn snippets_center_on_the_first_match_and_cut_at_words() {
        let body = format!(
            "{} the refund never came {}",
            "lorem ipsum ".repeat(40),
            "dolor sit ".repeat(40)
        );
        let s = snippet(&body, &["refund"], 200);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.chars().count() <= 200, "{}", s.chars().count());
        assert!(s.contains("the refund never came"));
        let inner = s.trim_matches('…');
        assert!(!inner.starts_with(' ') && !inner.ends_with(' '));
        for word in inner.split(' ') {
            assert!(
                [
                    "lorem", "ipsum", "the", "refund", "never", "came", "dolor", "sit"
                ]
                .contains(&word),
                "cut inside a word: {word:?}"
            );
        }
        let position = inner.find("refund").unwrap();
        assert!((60..140).contains(&position), "centered: {position}");
    }

    #[test]
    fn snippets_collapse_whitespace_and_keep_short_text_whole() {
        assert_eq!(snippet("  a\n\nb\t c  ", &[], 200), "a b c");
        assert_eq!(snippet("", &["x"], 200), "");
        let long = "word ".repeat(100);
        let s = snippet(&long, &["nothing"], 50);
        assert!(s.starts_with("word") && s.ends_with('…'), "{s}");
    }

    #[test]
    fn snippets_never_split_a_character_even_without_spaces() {
        let body = format!("{}refund{}", "é".repeat(300), "日本".repeat(300));
        let s = snippet(&body, &["refund"], 200);
        assert!(s.chars().count() <= 200);
        let body = "🙂".repeat(1000);
        let s = snippet(&body, &[], 20);
        assert!(s.chars().count() <= 20 && s.ends_with('…'), "{s}");
        assert!(s.starts_with('🙂'));
    }

    #[test]
    fn the_snippet_comes_from_the_title_when_there_is_no_body() {
        let ranked = rank(
            &parse("refund").unwrap(),
            &[insight(1, "Refund refused", "  ")],
            today(),
        );
        assert_eq!(ranked[0].snippet, "Refund refused");
    }
}
