//! The search index's fields, and an insight turned into an index document.
//!
//! Text is indexed as the domain tokenized and stemmed it ([`IndexedText`], its stems joined by
//! spaces and split there again), so the index and the in-memory matcher never disagree about a
//! word.
//! Keys (`theme:`, `segment:`, `account:`) are indexed with every prefix that ends between two
//! words (`credit`, `credit-report`, `credit-report-problem`), so a filter on the words a key
//! starts with is one term lookup. Breakdowns, recency, severity and the main theme are read
//! from fast (columnar) fields while matches are visited.

use chrono::{Datelike, NaiveDate};
use flywheel_insights::model::{self, Insight, InsightData, Visibility, Vocabulary};
use flywheel_insights::text::IndexedText;
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// Bumped whenever the fields or how they are filled change: an index of another layout is
/// rebuilt from the store.
pub(crate) const LAYOUT: u32 = 2;

/// Splits the text fields, which hold the domain's stems separated by spaces
/// ([`flywheel_insights::text::Stems`]), into those stems: the index and the in-memory matcher
/// see the same words.
pub(crate) const STEMS_TOKENIZER: &str = "whitespace";

/// Separates a key from its display name in the breakdown columns (`billing\u{1f}Billing`).
pub(crate) const NAME_SEPARATOR: char = '\u{1f}';

/// The visibility term of an insight every team may see.
pub(crate) const EVERY_TEAM: &str = "*";

/// The visibility term of a team: its ASCII-lowercased name (visibility ignores ASCII case),
/// prefixed so that no team name can pass for [`EVERY_TEAM`].
pub(crate) fn team_term(team: &str) -> String {
    format!("team:{}", team.to_ascii_lowercase())
}

/// The fields of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The insight's id (indexed for replacing it, fast for reading results).
    pub id: Field,
    /// Stems of the title, body and themes (one value per theme), with positions for phrases.
    pub title: Field,
    pub body: Field,
    pub themes: Field,
    /// Theme keys and their word prefixes, for `theme:`.
    pub theme_key: Field,
    /// `key␟Name` of each theme, for the breakdown.
    pub theme_name: Field,
    /// The first theme's key, for the ranking's theme factor and reach.
    pub main_theme: Field,
    /// Segment key and prefixes, for `segment:`; `key␟Name` for the breakdown.
    pub segment_key: Field,
    pub segment_name: Field,
    /// Account key and prefixes, for `account:`; the exact key for counting accounts.
    pub account_key: Field,
    pub account: Field,
    /// Lowercased source; vocabulary names.
    pub source: Field,
    pub stage: Field,
    pub kind: Field,
    pub sentiment: Field,
    /// 1 to 5.
    pub severity: Field,
    /// Observed date as days since 0001-01-01 (CE).
    pub day: Field,
    /// [`EVERY_TEAM`], or each team's [`team_term`].
    pub visible_to: Field,
}

impl Fields {
    /// The schema and its fields.
    pub(crate) fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = |positions: bool| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(STEMS_TOKENIZER)
                    .set_fieldnorms(true)
                    .set_index_option(if positions {
                        IndexRecordOption::WithFreqsAndPositions
                    } else {
                        IndexRecordOption::WithFreqs
                    }),
            )
        };
        let fast_text = TextOptions::default().set_fast("raw");
        let fields = Fields {
            id: b.add_u64_field("id", INDEXED | FAST),
            title: b.add_text_field("title", text(true)),
            body: b.add_text_field("body", text(true)),
            themes: b.add_text_field("themes", text(true)),
            theme_key: b.add_text_field("theme_key", STRING),
            theme_name: b.add_text_field("theme_name", fast_text.clone()),
            main_theme: b.add_text_field("main_theme", fast_text.clone()),
            segment_key: b.add_text_field("segment_key", STRING),
            segment_name: b.add_text_field("segment_name", fast_text.clone()),
            account_key: b.add_text_field("account_key", STRING),
            account: b.add_text_field("account", fast_text),
            source: b.add_text_field("source", STRING),
            stage: b.add_text_field("stage", STRING),
            kind: b.add_text_field("kind", STRING),
            sentiment: b.add_text_field("sentiment", STRING),
            severity: b.add_u64_field("severity", INDEXED | FAST),
            day: b.add_i64_field("day", INDEXED | FAST),
            visible_to: b.add_text_field("visible_to", STRING),
        };
        (b.build(), fields)
    }

    /// The document for an insight.
    pub(crate) fn document(
        &self,
        id: i64,
        data: &InsightData,
        themes: &[String],
        text: &IndexedText,
    ) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_u64(self.id, id as u64);
        doc.add_text(self.title, text.title.as_spaced());
        doc.add_text(self.body, text.body.as_spaced());
        for theme in &text.themes {
            doc.add_text(self.themes, theme.as_spaced());
        }
        let mut main_theme = None;
        for name in themes {
            let key = model::key(name);
            if key.is_empty() {
                continue;
            }
            for prefix in key_prefixes(&key) {
                doc.add_text(self.theme_key, prefix);
            }
            doc.add_text(self.theme_name, named(&key, name));
            main_theme.get_or_insert(key);
        }
        if let Some(key) = main_theme {
            doc.add_text(self.main_theme, key);
        }
        if let Some(segment) = &data.segment {
            let key = model::key(segment);
            for prefix in key_prefixes(&key) {
                doc.add_text(self.segment_key, prefix);
            }
            if !key.is_empty() {
                doc.add_text(self.segment_name, named(&key, segment));
            }
        }
        if let Some(account) = &data.account {
            let key = model::key(account);
            for prefix in key_prefixes(&key) {
                doc.add_text(self.account_key, prefix);
            }
            if !key.is_empty() {
                doc.add_text(self.account, key);
            }
        }
        doc.add_text(self.source, data.source.to_lowercase());
        if let Some(stage) = data.stage {
            doc.add_text(self.stage, stage.name());
        }
        if let Some(kind) = data.kind {
            doc.add_text(self.kind, kind.name());
        }
        doc.add_text(self.sentiment, data.sentiment.name());
        doc.add_u64(self.severity, u64::from(data.severity.get()));
        doc.add_i64(self.day, day_number(data.observed_on));
        match &data.visibility {
            Visibility::All => doc.add_text(self.visible_to, EVERY_TEAM),
            Visibility::Teams(teams) => {
                for team in teams {
                    doc.add_text(self.visible_to, team_term(team));
                }
            }
        }
        doc
    }

    /// The document for a stored insight, tokenizing its text.
    pub(crate) fn document_of(&self, insight: &Insight) -> TantivyDocument {
        let text = IndexedText::of(&insight.data.title, &insight.data.body, &insight.themes);
        self.document(insight.id, &insight.data, &insight.themes, &text)
    }
}

/// A date as the `day` field holds it.
pub(crate) fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// The date of a `day` value.
pub(crate) fn day_of(number: i64) -> Option<NaiveDate> {
    i32::try_from(number)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// `key␟Name`.
fn named(key: &str, name: &str) -> String {
    let name: String = name
        .trim()
        .chars()
        .filter(|c| *c != NAME_SEPARATOR)
        .collect();
    format!("{key}{NAME_SEPARATOR}{name}")
}

/// Splits a `key␟Name` value.
pub(crate) fn split_named(value: &str) -> (&str, &str) {
    value.split_once(NAME_SEPARATOR).unwrap_or((value, value))
}

/// Every prefix of a key that `key_matches` accepts as a filter: the key itself and each
/// prefix ending right before a `-` (`a-b-c` → `a`, `a-b`, `a-b-c`).
pub(crate) fn key_prefixes(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('-')
        .map(move |(at, _)| &key[..at])
        .chain((!key.is_empty()).then_some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefixes_are_exactly_what_key_matches_accepts() {
        let key = "credit-report-problem";
        let prefixes: Vec<&str> = key_prefixes(key).collect();
        assert_eq!(
            prefixes,
            ["credit", "credit-report", "credit-report-problem"]
        );
        for wanted in [
            "credit",
            "credit-report",
            "credit-report-problem",
            "cred",
            "report",
        ] {
            assert_eq!(
                prefixes.contains(&wanted),
                model::key_matches(key, wanted),
                "{wanted}"
            );
        }
        assert_eq!(key_prefixes("").count(), 0);
    }

    #[test]
    fn days_round_trip() {
        for date in [
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        ] {
            assert_eq!(day_of(day_number(date)), Some(date));
        }
    }
}
