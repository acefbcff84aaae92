//! Preparing an insight for the store: its themes (tags plus every configured theme whose query
//! matches), the words the search index holds, and a fingerprint that tells an unchanged
//! re-import from an update.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{self, InsightData, Visibility};
use crate::query::{Document, Query};
use crate::text::{IndexedText, Stems};

/// A theme declared in configuration as a saved query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeDef {
    /// The theme's display name.
    pub name: String,
    /// The insights it covers.
    pub query: Query,
}

/// An insight ready to be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedInsight {
    /// What was imported (already redacted).
    pub data: InsightData,
    /// Tags plus matching configured themes, deduplicated by key, in that order.
    pub themes: Vec<String>,
    /// The stems of title, body and each theme, as the search index holds them.
    pub text: IndexedText,
    /// Changes whenever anything stored about the insight changes.
    pub fingerprint: String,
}

/// Prepares imported data for the store. Themes are the tags, then every configured theme whose
/// query matches the title, body and tags (`today` resolves relative dates such as `since:30d`),
/// deduplicated by [`model::key`] with the first spelling kept; tags without a letter or digit
/// are dropped, as nothing could ever search for them. The source is trimmed and lowercased,
/// as the store keeps it and `source:` compares it.
pub fn prepare(mut data: InsightData, themes: &[ThemeDef], today: NaiveDate) -> PreparedInsight {
    data.source = data.source.trim().to_lowercase();
    let (matched, mut text): (Vec<&str>, IndexedText) = if themes.is_empty() {
        (Vec::new(), IndexedText::of(&data.title, &data.body, &[]))
    } else {
        let doc = Document::new(&data, &data.tags);
        let matched = themes
            .iter()
            .filter(|def| def.query.matches(&doc, today))
            .map(|def| def.name.as_str())
            .collect();
        (matched, doc.into_text())
    };
    let mut keys: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for name in data.tags.iter().map(String::as_str).chain(matched) {
        let key = model::key(name);
        if !key.is_empty() && !keys.contains(&key) {
            keys.push(key);
            names.push(name.trim().to_string());
        }
    }
    // The title's and body's stems are the ones the themes were matched on; only the themes
    // differ from the tags.
    text.themes = names.iter().map(|name| Stems::of(name)).collect();
    let fingerprint = fingerprint(&data, &names, &text);
    PreparedInsight {
        data,
        themes: names,
        text,
        fingerprint,
    }
}

/// FNV-1a, 128 bits: defined byte for byte, so the same insight has the same fingerprint on
/// every platform and Rust release (`DefaultHasher` promises neither). It detects change; it
/// is not meant to resist someone crafting collisions.
struct Fnv1a(u128);

impl Fnv1a {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// A length-prefixed field, so that moving text from one field to the next (`"ab" + "c"`
    /// vs `"a" + "bc"`) changes the hash.
    fn field(&mut self, text: &str) {
        self.bytes(&(text.len() as u64).to_le_bytes());
        self.bytes(text.as_bytes());
    }

    fn optional(&mut self, text: Option<&str>) {
        match text {
            None => self.bytes(&[0]),
            Some(text) => {
                self.bytes(&[1]);
                self.field(text);
            }
        }
    }

    /// The non-empty `items` as one field, separated by single spaces (as if joined first).
    fn spaced<'a, I: Iterator<Item = &'a str>>(&mut self, items: impl Fn() -> I) {
        let (count, bytes) = items()
            .filter(|item| !item.is_empty())
            .fold((0_usize, 0_usize), |(count, bytes), item| {
                (count + 1, bytes + item.len())
            });
        let len = bytes + count.saturating_sub(1);
        self.bytes(&(len as u64).to_le_bytes());
        for (n, item) in items().filter(|item| !item.is_empty()).enumerate() {
            if n > 0 {
                self.bytes(b" ");
            }
            self.bytes(item.as_bytes());
        }
    }

    fn list(&mut self, items: &[String]) {
        self.bytes(&(items.len() as u64).to_le_bytes());
        for item in items {
            self.field(item);
        }
    }
}

fn fingerprint(data: &InsightData, themes: &[String], text: &IndexedText) -> String {
    // Destructured so that a new field fails to compile here until it is hashed.
    let InsightData {
        source,
        source_ref,
        title,
        body,
        observed_on,
        tags,
        segment,
        stage,
        kind,
        sentiment,
        severity,
        account,
        url,
        visibility,
    } = data;
    let mut h = Fnv1a(Fnv1a::OFFSET);
    h.field("flywheel-insight-v1");
    h.field(source);
    h.field(source_ref);
    h.field(title);
    h.field(body);
    h.field(&model::iso_day(*observed_on));
    h.list(tags);
    h.optional(segment.as_deref());
    h.optional(stage.map(model::Vocabulary::name));
    h.optional(kind.map(model::Vocabulary::name));
    h.field(model::Vocabulary::name(*sentiment));
    h.bytes(&[severity.get()]);
    h.optional(account.as_deref());
    h.optional(url.as_deref());
    match visibility {
        Visibility::All => h.bytes(&[0]),
        Visibility::Teams(teams) => {
            h.bytes(&[1]);
            h.list(teams);
        }
    }
    h.list(themes);
    // The terms follow from the rest, but also from the stemmer: hashing them means a change
    // in tokenizing reindexes on the next import instead of leaving stale terms.
    h.spaced(|| text.fields().map(Stems::as_spaced));
    format!("{:032x}", h.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Sentiment, Severity, Stage};
    use crate::query::parse;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn data() -> InsightData {
        InsightData {
            source: "cfpb".into(),
            source_ref: "7523056".into(),
            title: "Debt was result of identity theft".into(),
            body: "Someone opened a card in my name and I was charged twice.".into(),
            observed_on: day(2023, 8, 25),
            tags: vec!["Attempts to collect debt not owed".into()],
            segment: Some("Older American".into()),
            stage: Some(Stage::Support),
            kind: Some(Kind::Pain),
            sentiment: Sentiment::Negative,
            severity: Severity::new(4).unwrap(),
            account: Some("EQUIFAX, INC.".into()),
            url: Some("https://example.com/7523056".into()),
            visibility: Visibility::All,
        }
    }

    fn theme(name: &str, query: &str) -> ThemeDef {
        ThemeDef {
            name: name.into(),
            query: parse(query).unwrap(),
        }
    }

    fn defs() -> Vec<ThemeDef> {
        vec![
            theme(
                "Identity theft",
                "\"identity theft\" OR \"stolen identity\"",
            ),
            theme("Billing", "charged OR refund"),
            theme("Debt collection", "theme:attempts"),
            theme("Mortgages", "mortgage"),
            theme("Recent", "since:30d"),
        ]
    }

    #[test]
    fn themes_are_tags_then_matching_configured_themes() {
        let prepared = prepare(data(), &defs(), day(2023, 9, 1));
        assert_eq!(
            prepared.themes,
            [
                "Attempts to collect debt not owed",
                "Identity theft",
                "Billing",
                "Debt collection",
                "Recent"
            ]
        );
        // Relative dates in theme queries count from the day given.
        let later = prepare(data(), &defs(), day(2024, 9, 1));
        assert!(!later.themes.iter().any(|t| t == "Recent"));
    }

    #[test]
    fn themes_are_deduplicated_by_key_first_spelling_wins() {
        let mut data = data();
        data.tags = vec![
            " billing ".into(),
            "BILLING".into(),
            "!!!".into(),
            "".into(),
            "Identity-Theft".into(),
        ];
        let prepared = prepare(data, &defs(), day(2023, 9, 1));
        assert_eq!(prepared.themes, ["billing", "Identity-Theft", "Recent"]);
    }

    #[test]
    fn sources_are_stored_lowercase() {
        let mut shouted = data();
        shouted.source = " CFPB ".into();
        let a = prepare(shouted, &defs(), day(2023, 9, 1));
        let b = prepare(data(), &defs(), day(2023, 9, 1));
        assert_eq!(a.data.source, "cfpb");
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn theme_queries_see_tags_but_not_other_themes() {
        let mut data = data();
        data.title = "Mortgage".into();
        data.body = String::new();
        data.tags = vec![];
        let chained = vec![
            theme("Housing", "theme:mortgages"),
            theme("Mortgages", "mortgage"),
        ];
        let prepared = prepare(data, &chained, day(2023, 9, 1));
        assert_eq!(prepared.themes, ["Mortgages"]);
    }

    #[test]
    fn terms_index_title_body_then_themes() {
        let prepared = prepare(data(), &defs(), day(2023, 9, 1));
        assert!(
            prepared
                .text
                .terms()
                .starts_with("debt was result of ident theft someon open")
        );
        assert!(prepared.text.terms().ends_with("debt collect recent"));
    }

    #[test]
    fn fingerprint_is_stable_and_pinned() {
        let a = prepare(data(), &defs(), day(2023, 9, 1));
        let b = prepare(data(), &defs(), day(2023, 9, 1));
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint.len(), 32);
        assert!(a.fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
        // Pinned: if this changes, every stored insight looks updated on the next import.
        assert_eq!(a.fingerprint, PINNED);
    }

    const PINNED: &str = "902922c0b368d758d1b6be94227e53ec";

    #[test]
    fn the_hash_is_fnv1a_128() {
        // Reference values of the published algorithm.
        let hash = |input: &[u8]| {
            let mut h = Fnv1a(Fnv1a::OFFSET);
            h.bytes(input);
            h.0
        };
        assert_eq!(hash(b""), Fnv1a::OFFSET);
        assert_eq!(hash(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
        assert_eq!(hash(b"foobar"), 0x343e1662793c64bf6f0d3597ba446f18);
    }

    #[test]
    fn any_change_changes_the_fingerprint() {
        let today = day(2023, 9, 1);
        let base = prepare(data(), &defs(), today).fingerprint;
        type Change = fn(&mut InsightData);
        let changes: Vec<(&str, Change)> = vec![
            ("source", |d| d.source.push('x')),
            ("source_ref", |d| d.source_ref.push('1')),
            ("title", |d| d.title.push('!')),
            ("body", |d| d.body.push(' ')),
            ("observed_on", |d| {
                d.observed_on = d.observed_on.succ_opt().unwrap()
            }),
            ("tags", |d| d.tags.push("Late fees".into())),
            ("tag order", |d| d.tags.insert(0, "Late fees".into())),
            ("segment", |d| d.segment = None),
            ("segment text", |d| d.segment = Some("Servicemember".into())),
            ("stage", |d| d.stage = Some(Stage::Usage)),
            ("no stage", |d| d.stage = None),
            ("kind", |d| d.kind = None),
            ("sentiment", |d| d.sentiment = Sentiment::Neutral),
            ("severity", |d| d.severity = Severity::new(5).unwrap()),
            ("account", |d| d.account = Some("Experian".into())),
            ("url", |d| d.url = None),
            ("visibility", |d| {
                d.visibility = Visibility::Teams(vec!["growth".into()])
            }),
            ("empty team list", |d| {
                d.visibility = Visibility::Teams(vec![])
            }),
            ("text moved between fields", |d| {
                d.title.push_str(" Someone");
                d.body = d.body.trim_start_matches("Someone").to_string();
            }),
        ];
        let mut seen = vec![base.clone()];
        for (what, change) in changes {
            let mut changed = data();
            change(&mut changed);
            let fingerprint = prepare(changed, &defs(), today).fingerprint;
            assert!(
                !seen.contains(&fingerprint),
                "{what} did not change the fingerprint"
            );
            seen.push(fingerprint);
        }
        // A theme appearing (configuration changed) changes it too, with the data untouched.
        let fewer = prepare(data(), &defs()[1..], today).fingerprint;
        assert_ne!(fewer, base);
    }
}
