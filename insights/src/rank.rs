//! How questions are ranked, and saying why each of the best matches is where it is.
//!
//! The search engine scores every match while it visits it ([`question_ranking`] gives the
//! factors), as the product of four signals, so each one can be read on its own:
//!
//! - **relevance**: BM25 over every match: a word in the title counts three times and one in a
//!   theme twice as much as a word in the body, each field normalized by its own average length.
//!   A question relaxed to "any of these words" puts the insights containing more of them first.
//!   A query without words is neutral: relevance 1.
//! - **recency**: from 1 (observed today) down to 0.7, losing half of the way every
//!   [`HALF_LIFE_DAYS`]; the floor keeps years-old data ranked by relevance rather than by age
//!   (a strong match from last year beats a passing mention from today).
//! - **severity**: 0.8 for severity 1 up to 1.2 for severity 5.
//! - **reach**: how many distinct accounts share the insight's main theme, among the insights
//!   every team may see. It adds `0.1 × ln(accounts)`, at most 0.5.
//!
//! [`explain`] turns the engine's best matches into [`Ranked`] results with their reasons and a
//! snippet. Scores compare insights within one ranking; they mean nothing across queries.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::model::Insight;
use crate::query::{Query, Term};
use crate::search::{Hit, Ranking, Recency, ThemeFactors};
use crate::text::{self, IndexedText};

/// Days after which recency has lost half of what it can lose.
pub const HALF_LIFE_DAYS: f64 = 30.0;
/// What recency multiplies by for very old insights.
pub const RECENCY_FLOOR: f64 = 0.7;
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
    /// `like the best matches: "monitoring", "protection"`: it holds words that set the
    /// question's best matches apart, as written in it.
    Related {
        /// The words as written in the insight.
        words: Vec<String>,
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
            Reason::Related { words } => {
                let words: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                write!(f, "like the best matches: {}", list(&words))
            }
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

/// The factors the engine ranks a question's matches by, `today` being the day recency counts
/// from. See the module documentation.
pub fn question_ranking(today: NaiveDate) -> Ranking {
    Ranking {
        relevance: true,
        coordination: false,
        recency: Recency::Decay {
            reference: today,
            half_life_days: HALF_LIFE_DAYS,
            floor: RECENCY_FLOOR,
        },
        severity: [0.8, 0.9, 1.0, 1.1, 1.2],
        main_theme: ThemeFactors::Reach,
    }
}

/// What reaching `accounts` distinct accounts multiplies a score by: `1 + 0.1 × ln(accounts)`,
/// at most 1.5; 1 for one account or none.
pub fn reach_factor(accounts: u64) -> f64 {
    1.0 + (0.1 * (accounts.max(1) as f64).ln()).min(0.5)
}

/// The best matches the engine returned, in its order, with why each is there and a snippet.
/// `rarity` says how many insights in the store contain each query stem: the snippet centres on
/// the rarest word the text contains ("theft" rather than "credit" in credit complaints).
pub fn explain(
    query: &Query,
    hits: Vec<Hit>,
    rarity: &BTreeMap<String, u64>,
    today: NaiveDate,
) -> Vec<Ranked> {
    let terms = query.positive_terms();
    let mut telling: Vec<&str> = terms.iter().map(|t| t.stem.as_str()).collect();
    telling.sort_by_key(|stem| rarity.get(*stem).copied().unwrap_or(u64::MAX));
    hits.into_iter()
        .map(|hit| {
            let insight = hit.insight;
            let text = IndexedText::of(&insight.data.title, &insight.data.body, &insight.themes);
            let age = (today - insight.data.observed_on).num_days().max(0);
            let severity = insight.data.severity.get();
            let mut reasons = matched_reasons(&terms, &text);
            if severity >= 4 {
                reasons.push(Reason::Severity { severity });
            }
            if let Some(accounts) = hit.reach.filter(|&a| a >= 2) {
                reasons.push(Reason::Reach { accounts });
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
            let snippet = snippet(source, &telling, SNIPPET_CHARS);
            Ranked {
                insight,
                score: hit.score,
                reasons,
                snippet,
            }
        })
        .collect()
}

/// Where in an insight's indexed text a stem is found.
fn found_in(text: &IndexedText, stem: &str) -> Vec<Field> {
    let mut fields = Vec::new();
    if text.title.contains(stem) {
        fields.push(Field::Title);
    }
    if text.body.contains(stem) {
        fields.push(Field::Body);
    }
    if text.themes.iter().any(|theme| theme.contains(stem)) {
        fields.push(Field::Themes);
    }
    fields
}

/// The most related words shown in a reason.
const MAX_RELATED_WORDS: usize = 3;

/// Adds to each of `ranked` that holds none of the question's words but some of `related`
/// (stems of the words that set the question's best matches apart, most telling first) the
/// reason naming those as the insight writes them, first. Reasons stay at most four.
pub fn explain_related(ranked: &mut [Ranked], related: &[String]) {
    if related.is_empty() {
        return;
    }
    for hit in ranked {
        if hit
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::Matched { .. }))
        {
            continue;
        }
        let data = &hit.insight.data;
        let mut written: Vec<(usize, String)> = Vec::new();
        let texts = [data.title.as_str(), data.body.as_str()]
            .into_iter()
            .chain(hit.insight.themes.iter().map(String::as_str));
        for text in texts {
            for token in text::tokens(text) {
                let stem = text::stem(&token.text);
                if let Some(at) = related.iter().position(|r| *r == stem)
                    && !written.iter().any(|(a, _)| *a == at)
                {
                    written.push((at, token.text));
                }
            }
        }
        if written.is_empty() {
            continue;
        }
        written.sort();
        let words = written
            .into_iter()
            .take(MAX_RELATED_WORDS)
            .map(|(_, word)| word)
            .collect();
        hit.reasons.insert(0, Reason::Related { words });
        hit.reasons.truncate(MAX_REASONS);
    }
}

/// Query words found in the insight, grouped by where they were found, at most two groups.
fn matched_reasons(terms: &[&Term], text: &IndexedText) -> Vec<Reason> {
    let mut groups: Vec<(Vec<Field>, Vec<String>)> = Vec::new();
    for term in terms {
        let found = found_in(text, &term.stem);
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

    fn hit(insight: Insight) -> Hit {
        Hit {
            insight,
            score: 1.0,
            reach: None,
        }
    }

    fn explained(query: &str, insight: Insight) -> Ranked {
        let mut ranked = explain(
            &parse(query).unwrap(),
            vec![hit(insight)],
            &BTreeMap::new(),
            today(),
        );
        ranked.remove(0)
    }

    #[test]
    fn an_insight_holding_only_related_words_says_which() {
        let holding = insight(
            1,
            "Investigations never notified",
            "The investigation results, then more results",
        );
        let matched = insight(2, "refund and investigation", "");
        let unrelated = insight(3, "nothing shared", "");
        let mut ranked = explain(
            &parse("refund").unwrap(),
            vec![hit(holding), hit(matched), hit(unrelated)],
            &BTreeMap::new(),
            today(),
        );
        let related: Vec<String> = ["result", "investig", "notifi", "never"]
            .iter()
            .map(|w| text::stem(w))
            .collect();
        explain_related(&mut ranked, &related);
        // Each word once, as the insight first writes it, most telling first, at most three.
        assert_eq!(
            ranked[0].reasons[0].to_string(),
            "like the best matches: \"results\", \"investigations\" and \"notified\""
        );
        // A match of the question's words is explained by them alone.
        assert!(
            ranked[1]
                .reasons
                .iter()
                .all(|r| !matches!(r, Reason::Related { .. }))
        );
        assert!(
            ranked[2]
                .reasons
                .iter()
                .all(|r| !matches!(r, Reason::Related { .. }))
        );
    }

    #[test]
    fn the_ranking_of_questions_weighs_as_documented() {
        let ranking = question_ranking(today());
        assert!(ranking.relevance);
        assert_eq!(ranking.recency.factor(today()), 1.0);
        let month = ranking.recency.factor(day(2026, 3, 1));
        assert!((month - 0.85).abs() < 1e-9, "{month}");
        let old = ranking.recency.factor(day(2016, 1, 1));
        assert!((old - RECENCY_FLOOR).abs() < 1e-3, "{old}");
        // A future observation counts as today.
        assert_eq!(ranking.recency.factor(day(2027, 1, 1)), 1.0);
        assert_eq!(ranking.severity_factor(1), 0.8);
        assert_eq!(ranking.severity_factor(5), 1.2);
        assert_eq!(reach_factor(0), 1.0);
        assert_eq!(reach_factor(1), 1.0);
        assert!((reach_factor(10) - (1.0 + 0.1 * 10f64.ln())).abs() < 1e-12);
        assert_eq!(reach_factor(1_000_000), 1.5);
    }

    #[test]
    fn explaining_keeps_the_engines_order_and_score() {
        let hits = vec![
            Hit {
                score: 9.5,
                ..hit(insight(2, "Second", ""))
            },
            Hit {
                score: 3.0,
                ..hit(insight(1, "First", ""))
            },
        ];
        let ranked = explain(&Query::everything(), hits, &BTreeMap::new(), today());
        let order: Vec<(i64, f64)> = ranked.iter().map(|r| (r.insight.id, r.score)).collect();
        assert_eq!(order, [(2, 9.5), (1, 3.0)]);
    }

    #[test]
    fn reach_is_a_reason_from_two_accounts() {
        let with = |reach| {
            explain(
                &Query::everything(),
                vec![Hit {
                    reach,
                    ..hit(insight(1, "A", ""))
                }],
                &BTreeMap::new(),
                day(2030, 1, 1),
            )
            .remove(0)
            .reasons
        };
        assert_eq!(with(Some(3)), [Reason::Reach { accounts: 3 }]);
        assert!(with(Some(1)).is_empty());
        assert!(with(None).is_empty());
    }

    #[test]
    fn future_observations_count_as_today() {
        let mut future = insight(1, "Refund", "");
        future.data.observed_on = day(2027, 1, 1);
        let ranked = explained("refund", future);
        assert!(ranked.reasons.contains(&Reason::Age { days: 0 }));
    }

    #[test]
    fn reasons_read_as_short_phrases() {
        let mut i = insight(7, "Refund refused", "They refused my refund twice");
        i.data.severity = Severity::new(4).unwrap();
        i.data.observed_on = day(2026, 3, 19);
        i.themes = vec!["Billing".into()];
        let ranked = explained("refunds twice billing", i);
        let reasons: Vec<String> = ranked.reasons.iter().map(|r| r.to_string()).collect();
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
        assert!(explained("-refund", i).reasons.is_empty());
    }

    #[test]
    fn the_snippet_centres_on_the_rarest_word() {
        let body = format!(
            "credit {} identity theft {}",
            "lorem ipsum ".repeat(40),
            "dolor sit ".repeat(40)
        );
        let rarity = BTreeMap::from([("credit".to_string(), 900), ("theft".to_string(), 3)]);
        let ranked = explain(
            &parse("credit theft").unwrap(),
            vec![hit(insight(1, "T", &body))],
            &rarity,
            today(),
        );
        assert!(
            ranked[0].snippet.contains("identity theft"),
            "{}",
            ranked[0].snippet
        );
        assert!(!ranked[0].snippet.starts_with("credit"));
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
        let ranked = explained("refund", insight(1, "Refund refused", "  "));
        assert_eq!(ranked.snippet, "Refund refused");
    }
}
