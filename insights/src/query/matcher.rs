//! Evaluating a [`Query`] against one insight in memory, with exactly the meaning the store's
//! search index gives it. Configured themes are assigned with this, and the index is tested
//! against it, so any difference between the two is a bug in one of them.

use chrono::NaiveDate;

use super::ast::{Atom, Filter, Query, Term, Test};
use crate::model::{self, Insight, InsightData};
use crate::text::IndexedText;

/// An insight as queries see it: the indexed stems and the normalized keys, computed once so
/// many queries (every configured theme) can test it cheaply.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    data: &'a InsightData,
    /// The stems of title, body and each theme: what the search index holds.
    text: IndexedText,
    theme_keys: Vec<String>,
    segment_key: Option<String>,
    account_key: Option<String>,
    source: String,
}

impl<'a> Document<'a> {
    /// The document for an insight's data carrying these themes.
    pub fn new(data: &'a InsightData, themes: &[String]) -> Document<'a> {
        Document {
            data,
            text: IndexedText::of(&data.title, &data.body, themes),
            theme_keys: themes.iter().map(|t| model::key(t)).collect(),
            segment_key: data.segment.as_deref().map(model::key),
            account_key: data.account.as_deref().map(model::key),
            source: data.source.to_lowercase(),
        }
    }

    /// The document for a stored insight and its themes.
    pub fn from_insight(insight: &'a Insight) -> Document<'a> {
        Document::new(&insight.data, &insight.themes)
    }

    /// The indexed stems, field by field.
    pub fn text(&self) -> &IndexedText {
        &self.text
    }

    /// The indexed stems, field by field, kept.
    pub fn into_text(self) -> IndexedText {
        self.text
    }

    fn has_term(&self, term: &Term) -> bool {
        self.text.contains(&term.stem)
    }

    fn has_phrase(&self, phrase: &[Term]) -> bool {
        let stems: Vec<&str> = phrase.iter().map(|t| t.stem.as_str()).collect();
        self.text.contains_phrase(&stems)
    }

    fn passes(&self, filter: &Filter, today: NaiveDate) -> bool {
        let keyed = |stored: &Option<String>, wanted: &str| {
            stored
                .as_deref()
                .is_some_and(|s| model::key_matches(s, wanted))
        };
        let data = self.data;
        match filter {
            Filter::Theme(wanted) => self
                .theme_keys
                .iter()
                .any(|k| model::key_matches(k, wanted)),
            Filter::Segment(wanted) => keyed(&self.segment_key, wanted),
            Filter::Account(wanted) => keyed(&self.account_key, wanted),
            Filter::Source(wanted) => self.source == wanted.to_lowercase(),
            Filter::Stage(stage) => data.stage == Some(*stage),
            Filter::Kind(kind) => data.kind == Some(*kind),
            Filter::Sentiment(sentiment) => data.sentiment == *sentiment,
            Filter::Severity(op, bound) => op.holds(data.severity.get(), *bound),
            Filter::Since(bound) => data.observed_on >= bound.resolve(today),
            Filter::Until(bound) => data.observed_on <= bound.resolve(today),
        }
    }

    fn satisfies(&self, atom: &Atom, today: NaiveDate) -> bool {
        let holds = match &atom.test {
            Test::Term(term) => self.has_term(term),
            Test::Phrase(phrase) => self.has_phrase(phrase),
            Test::Filter(filter) => self.passes(filter, today),
        };
        holds != atom.negated
    }
}

impl Query {
    /// Whether the insight behind `doc` matches: every clause has an alternative that holds.
    ///
    /// A filter on a field the insight does not have (`stage:onboarding` with no stage) does
    /// not hold, so its negation (`-stage:onboarding`) does: SQL must not let a NULL swallow
    /// the `NOT`. `since`/`until` are inclusive and relative bounds count back from `today`.
    pub fn matches(&self, doc: &Document<'_>, today: NaiveDate) -> bool {
        self.clauses.iter().all(|clause| {
            clause
                .alternatives
                .iter()
                .any(|atom| doc.satisfies(atom, today))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Sentiment, Severity, Stage, Visibility};
    use crate::query::{Clause, Comparison, DateBound, parse};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const TODAY: (i32, u32, u32) = (2026, 3, 31);

    fn today() -> NaiveDate {
        day(TODAY.0, TODAY.1, TODAY.2)
    }

    fn data() -> InsightData {
        InsightData {
            source: "Zendesk".into(),
            source_ref: "4521".into(),
            title: "Charged twice for one order".into(),
            body: "They charged my card twice and the refund never came. Don't make me call again."
                .into(),
            observed_on: day(2026, 3, 1),
            tags: vec![],
            segment: Some("Enterprise EMEA".into()),
            stage: Some(Stage::Purchase),
            kind: Some(Kind::Pain),
            sentiment: Sentiment::Negative,
            severity: Severity::new(4).unwrap(),
            account: Some("EQUIFAX, INC.".into()),
            url: None,
            visibility: Visibility::All,
        }
    }

    fn themes() -> Vec<String> {
        vec!["Billing disputes".into(), "Refunds".into()]
    }

    fn holds(query: &str) -> bool {
        let data = data();
        let themes = themes();
        let doc = Document::new(&data, &themes);
        parse(query).unwrap().matches(&doc, today())
    }

    #[test]
    fn everything_matches_everything() {
        let data = data();
        assert!(Query::everything().matches(&Document::new(&data, &[]), today()));
    }

    #[test]
    fn terms_match_stems_anywhere_in_title_body_and_themes() {
        assert!(holds("charges"), "stem of the title word");
        assert!(holds("refunded"), "stem of a body word");
        assert!(holds("disputed"), "stem of a theme word");
        assert!(holds("dont"), "apostrophes dropped alike");
        assert!(!holds("chargeback"));
        assert!(holds("charged card refund"));
        assert!(!holds("charged card chargeback"), "every clause must hold");
    }

    #[test]
    fn phrases_need_adjacent_stems_in_order() {
        assert!(holds("\"charged twice\""));
        assert!(holds("\"charging twice\""), "phrases are stemmed too");
        assert!(holds("\"the refund never came\""));
        assert!(!holds("\"twice charged\""));
        assert!(!holds("\"charged refund\""));
        // A phrase stays inside one field: it never runs from the body into a theme, nor
        // from one theme into the next.
        assert!(!holds("\"call again billing\""));
        assert!(!holds("\"disputes refunds\""));
        assert!(holds("\"billing disputes\""));
    }

    #[test]
    fn or_needs_one_alternative_and_negation_inverts_an_atom() {
        assert!(holds("chargeback OR refund"));
        assert!(!holds("chargeback OR wire"));
        assert!(!holds("-refund"));
        assert!(holds("-chargeback"));
        assert!(holds("-chargeback OR -refund"));
        assert!(!holds("-\"charged twice\""));
        assert!(holds("-\"twice charged\""));
        assert!(holds("wire OR -theme:shipping"));
    }

    #[test]
    fn keyed_filters_match_whole_leading_words() {
        assert!(holds("theme:billing"));
        assert!(holds("theme:\"Billing Disputes\""));
        assert!(!holds("theme:bill"), "a prefix of a word is not a word");
        assert!(holds("tag:refunds"));
        assert!(!holds("theme:disputes"), "words must lead the key");
        assert!(holds("segment:enterprise"));
        assert!(!holds("segment:emea"));
        assert!(holds("account:equifax"));
        assert!(holds("account:\"equifax inc\""));
        assert!(!holds("account:experian"));
        assert!(holds("source:zendesk") && holds("source:ZENDESK"));
        assert!(!holds("source:zen"), "sources match exactly");
    }

    #[test]
    fn vocabulary_and_severity_filters() {
        assert!(holds("stage:purchase") && !holds("stage:onboarding"));
        assert!(holds("kind:complaint") && !holds("kind:praise"));
        assert!(holds("sentiment:neg") && !holds("sentiment:pos"));
        for (query, expected) in [
            ("severity:4", true),
            ("severity:>=4", true),
            ("severity:>4", false),
            ("severity:<=4", true),
            ("severity:<4", false),
            ("severity:3", false),
        ] {
            assert_eq!(holds(query), expected, "{query}");
        }
    }

    #[test]
    fn missing_fields_fail_filters_and_pass_their_negation() {
        let mut data = data();
        data.stage = None;
        data.kind = None;
        data.segment = None;
        data.account = None;
        let doc = Document::new(&data, &[]);
        for (query, expected) in [
            ("stage:purchase", false),
            ("-stage:purchase", true),
            ("kind:pain", false),
            ("-kind:pain", true),
            ("segment:enterprise", false),
            ("-segment:enterprise", true),
            ("account:equifax", false),
            ("-account:equifax", true),
            ("theme:billing", false),
            ("-theme:billing", true),
        ] {
            assert_eq!(
                parse(query).unwrap().matches(&doc, today()),
                expected,
                "{query}"
            );
        }
    }

    #[test]
    fn date_bounds_are_inclusive_and_relative_to_today() {
        // Observed 2026-03-01, today 2026-03-31: exactly 30 days ago and one month ago.
        for (query, expected) in [
            ("since:2026-03-01", true),
            ("since:2026-03-02", false),
            ("until:2026-03-01", true),
            ("until:2026-02-28", false),
            ("since:30d", true),
            ("since:29d", false),
            ("until:30d", true),
            ("until:31d", false),
            // One month before 03-31 is 02-28: the end of February, not "03-00".
            ("since:1m", true),
            ("until:1m", false),
            ("since:1y until:4w", true),
        ] {
            assert_eq!(holds(query), expected, "{query}");
        }
        // Bounds beyond the calendar resolve to its start instead of failing.
        let q = Query::everything().with(
            false,
            Test::Filter(Filter::Since(DateBound::MonthsAgo(u32::MAX))),
        );
        let data = data();
        assert!(q.matches(&Document::new(&data, &[]), today()));
    }

    #[test]
    fn clauses_without_alternatives_never_hold() {
        let q = Query {
            clauses: vec![Clause {
                alternatives: vec![],
            }],
            natural_language: false,
        };
        let empty_phrase = Query::everything().with(false, Test::Phrase(vec![]));
        let data = data();
        let doc = Document::new(&data, &[]);
        assert!(!q.matches(&doc, today()));
        assert!(!empty_phrase.matches(&doc, today()));
        let severity =
            Query::everything().with(false, Test::Filter(Filter::Severity(Comparison::Gt, 5)));
        assert!(!severity.matches(&doc, today()));
    }

    #[test]
    fn empty_documents_match_only_negations() {
        let mut data = data();
        data.title = String::new();
        data.body = String::new();
        let doc = Document::new(&data, &[]);
        assert!(doc.text().fields().all(crate::text::Stems::is_empty));
        assert!(!parse("refund").unwrap().matches(&doc, today()));
        assert!(parse("-refund").unwrap().matches(&doc, today()));
    }
}
