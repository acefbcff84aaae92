//! Fuzzes the query parser with arbitrary text: it must never panic, must give the same answer
//! twice, must point errors inside the input, and what it accepts must evaluate without panics.
//!
//! Run with `cargo +nightly fuzz run query_parse` from `insights/`.

#![no_main]

use chrono::NaiveDate;
use flywheel_insights::model::{InsightData, Kind, Sentiment, Severity, Stage, Visibility};
use flywheel_insights::query::{Document, Test, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let parsed = parse(input);
    assert_eq!(parsed, parse(input), "parsing is deterministic");
    match parsed {
        Err(error) => {
            assert!(error.position < input.chars().count(), "{error:?}");
            let shown = error.display_with_input(input);
            assert!(shown.contains('^'));
        }
        Ok(query) => {
            for clause in &query.clauses {
                assert!(!clause.alternatives.is_empty());
            }
            for atom in query.atoms() {
                if let Test::Phrase(terms) = &atom.test {
                    assert!(!terms.is_empty());
                }
            }
            for term in query.positive_terms() {
                assert!(!term.stem.is_empty());
                assert!(term.stem.chars().all(char::is_alphanumeric), "{term:?}");
            }
            // The same text as an insight: evaluation must cope with whatever was accepted.
            let data = InsightData {
                source: "fuzz".into(),
                source_ref: "1".into(),
                title: input.chars().take(100).collect(),
                body: input.to_string(),
                observed_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                tags: vec![input.chars().take(20).collect()],
                segment: Some(input.to_string()),
                stage: Some(Stage::Onboarding),
                kind: Some(Kind::Pain),
                sentiment: Sentiment::Negative,
                severity: Severity::DEFAULT,
                account: Some(input.to_string()),
                url: None,
                visibility: Visibility::All,
            };
            let themes = data.tags.clone();
            let doc = Document::new(&data, &themes);
            let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
            let _ = query.matches(&doc, today);
            if let Some(relaxed) = query.relaxed() {
                let _ = relaxed.matches(&doc, today);
            }
        }
    }
});
