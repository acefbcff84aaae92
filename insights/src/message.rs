//! The neutral message model: what Flywheel says, before any platform renders it.
//!
//! Digests, answers and replies are built once as a [`Message`]; the Slack, Discord and console
//! adapters each render it for their platform, escape the text in [`Span`]s their own way
//! (customer words can hold anything, including `<!channel>` or `@everyone`), and enforce their
//! own size limits.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::InsightId;

/// A message: blocks in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// What the message shows, top to bottom.
    pub blocks: Vec<Block>,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Block {
    /// A title line, plain text.
    Header(String),
    /// Body text, with optional label/value fields laid out beside it.
    Section(Section),
    /// Small print: dates, ids, explanations.
    Context(Vec<Text>),
    /// Buttons.
    Actions(Vec<Button>),
    /// A horizontal rule.
    Divider,
    /// A chart, carried as its data: each adapter draws it when it sends the message, so a
    /// stored message stays small.
    Chart(ChartSpec),
}

/// What a chart shows: weekly counts of one or more named series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartSpec {
    /// The title above the chart, plain text.
    pub title: String,
    /// The Monday of each week, oldest first.
    pub weeks: Vec<NaiveDate>,
    /// The series, each with one count per week.
    pub series: Vec<ChartSeries>,
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartSeries {
    /// Its name in the legend, plain text.
    pub name: String,
    /// One count per week of [`ChartSpec::weeks`].
    pub counts: Vec<u64>,
}

impl ChartSpec {
    /// The chart in words, for places that cannot show an image and for screen readers:
    /// `Top themes: Billing 3 → 30 (peak 30), Onboarding 10 → 2 (peak 11), weeks of 5 Jan to 9 Mar`.
    pub fn describe(&self) -> String {
        let series: Vec<String> = self
            .series
            .iter()
            .map(|s| {
                let first = s.counts.first().copied().unwrap_or(0);
                let last = s.counts.last().copied().unwrap_or(0);
                let peak = s.counts.iter().copied().max().unwrap_or(0);
                format!("{} {first} → {last} (peak {peak})", s.name)
            })
            .collect();
        let weeks = match (self.weeks.first(), self.weeks.last()) {
            (Some(first), Some(last)) => format!(
                ", weeks of {} to {}",
                first.format("%-d %b"),
                last.format("%-d %b %Y")
            ),
            _ => String::new(),
        };
        format!("{}: {}{weeks}", self.title, series.join(", "))
    }

    /// Whether there is nothing to draw: no week, or no series.
    pub fn is_empty(&self) -> bool {
        self.weeks.is_empty() || self.series.is_empty()
    }
}

/// Body text with fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Section {
    /// The main text.
    pub text: Text,
    /// Label/value pairs.
    pub fields: Vec<Field>,
}

/// A label/value pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Plain label.
    pub label: String,
    /// The value.
    pub value: Text,
}

/// Formatted text: a sequence of spans, each escaped by the renderer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Text {
    /// The spans, in order.
    pub spans: Vec<Span>,
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Span {
    /// Ordinary text.
    Plain(String),
    /// Bold.
    Strong(String),
    /// Italic.
    Emphasis(String),
    /// Monospace: ids, commands, queries.
    Code(String),
    /// A customer's own words, verbatim: rendered as a quotation and never interpreted as markup
    /// or mentions.
    Quote(String),
    /// A link.
    Link {
        /// What is shown.
        label: String,
        /// Where it goes.
        url: String,
    },
    /// A line break.
    Break,
}

impl Text {
    /// Empty text.
    pub fn new() -> Text {
        Text::default()
    }

    /// Text of one plain span.
    pub fn plain(s: impl Into<String>) -> Text {
        Text::new().push(Span::Plain(s.into()))
    }

    /// Appends a span.
    pub fn push(mut self, span: Span) -> Text {
        self.spans.push(span);
        self
    }

    /// Appends plain text.
    pub fn and(self, s: impl Into<String>) -> Text {
        self.push(Span::Plain(s.into()))
    }

    /// Appends bold text.
    pub fn strong(self, s: impl Into<String>) -> Text {
        self.push(Span::Strong(s.into()))
    }

    /// Appends italic text.
    pub fn emphasis(self, s: impl Into<String>) -> Text {
        self.push(Span::Emphasis(s.into()))
    }

    /// Appends monospace text.
    pub fn code(self, s: impl Into<String>) -> Text {
        self.push(Span::Code(s.into()))
    }

    /// Appends a verbatim customer quote.
    pub fn quote(self, s: impl Into<String>) -> Text {
        self.push(Span::Quote(s.into()))
    }

    /// Appends a link.
    pub fn link(self, label: impl Into<String>, url: impl Into<String>) -> Text {
        self.push(Span::Link {
            label: label.into(),
            url: url.into(),
        })
    }

    /// Appends a line break.
    pub fn line(self) -> Text {
        self.push(Span::Break)
    }

    /// The text without any styling, links as `label (url)`, quotes in quotation marks.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for span in &self.spans {
            match span {
                Span::Plain(s) | Span::Strong(s) | Span::Emphasis(s) | Span::Code(s) => {
                    out.push_str(s)
                }
                Span::Quote(s) => {
                    out.push('“');
                    out.push_str(s);
                    out.push('”');
                }
                Span::Link { label, url } => {
                    if label == url {
                        out.push_str(url);
                    } else {
                        out.push_str(&format!("{label} ({url})"));
                    }
                }
                Span::Break => out.push('\n'),
            }
        }
        out
    }

    /// Number of characters of visible text.
    pub fn len_chars(&self) -> usize {
        self.to_plain().chars().count()
    }

    /// Whether there is no text.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// A button people can press.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// What it says.
    pub label: String,
    /// What pressing it does.
    pub action: Action,
    /// Whether it is the main action of its row.
    pub primary: bool,
}

/// What a button does. Encoded into platform ids (`action_id`, `custom_id`, at most 100 chars)
/// with [`Action::encode`] and read back with [`Action::decode`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Open a discussion thread under this insight.
    Discuss(InsightId),
    /// Flag this insight for a decision.
    Flag(InsightId),
    /// Vote that this insight was useful.
    Useful(InsightId),
    /// Show the full text of a message that had to be shortened.
    ShowMore {
        /// What to show more of, as a [`MoreRef`].
        what: MoreRef,
    },
}

/// What a "show more" button refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MoreRef {
    /// A digest, by its id in the store.
    Digest(i64),
    /// An insight, by id.
    Insight(InsightId),
}

impl Action {
    /// A short, stable id: `fw.discuss.12`, `fw.more.digest.3`.
    pub fn encode(&self) -> String {
        match self {
            Action::Discuss(id) => format!("fw.discuss.{id}"),
            Action::Flag(id) => format!("fw.flag.{id}"),
            Action::Useful(id) => format!("fw.useful.{id}"),
            Action::ShowMore {
                what: MoreRef::Digest(id),
            } => format!("fw.more.digest.{id}"),
            Action::ShowMore {
                what: MoreRef::Insight(id),
            } => format!("fw.more.insight.{id}"),
        }
    }

    /// Reads an id made by [`Action::encode`]; anything else is `None`.
    pub fn decode(s: &str) -> Option<Action> {
        let mut parts = s.split('.');
        if parts.next()? != "fw" {
            return None;
        }
        let verb = parts.next()?;
        let (what, id) = match verb {
            "more" => (Some(parts.next()?), parts.next()?),
            _ => (None, parts.next()?),
        };
        if parts.next().is_some() || id.starts_with('+') {
            return None;
        }
        let id: i64 = id.parse().ok()?;
        Some(match (verb, what) {
            ("discuss", None) => Action::Discuss(id),
            ("flag", None) => Action::Flag(id),
            ("useful", None) => Action::Useful(id),
            ("more", Some("digest")) => Action::ShowMore {
                what: MoreRef::Digest(id),
            },
            ("more", Some("insight")) => Action::ShowMore {
                what: MoreRef::Insight(id),
            },
            _ => return None,
        })
    }

    /// The chat command that does the same, for places without buttons (the console).
    pub fn command(&self) -> String {
        match self {
            Action::Discuss(id) => format!("/insights show {id}"),
            Action::Flag(id) => format!("/insights flag {id}"),
            Action::Useful(id) => format!("/insights useful {id}"),
            Action::ShowMore {
                what: MoreRef::Digest(_),
            } => "/insights digest preview".to_string(),
            Action::ShowMore {
                what: MoreRef::Insight(id),
            } => format!("/insights show {id}"),
        }
    }
}

impl Message {
    /// An empty message.
    pub fn new() -> Message {
        Message::default()
    }

    /// A message of one section of plain text.
    pub fn text(s: impl Into<String>) -> Message {
        Message::new().section(Text::plain(s))
    }

    /// Appends a block.
    pub fn push(mut self, block: Block) -> Message {
        self.blocks.push(block);
        self
    }

    /// Appends a header.
    pub fn header(self, s: impl Into<String>) -> Message {
        self.push(Block::Header(s.into()))
    }

    /// Appends a section without fields.
    pub fn section(self, text: Text) -> Message {
        self.push(Block::Section(Section {
            text,
            fields: Vec::new(),
        }))
    }

    /// Appends a line of small print.
    pub fn context(self, text: Text) -> Message {
        self.push(Block::Context(vec![text]))
    }

    /// Appends a divider.
    pub fn divider(self) -> Message {
        self.push(Block::Divider)
    }

    /// Appends a chart.
    pub fn chart(self, chart: ChartSpec) -> Message {
        self.push(Block::Chart(chart))
    }

    /// The charts of the message, in order.
    pub fn charts(&self) -> impl Iterator<Item = &ChartSpec> {
        self.blocks.iter().filter_map(|block| match block {
            Block::Chart(chart) => Some(chart),
            _ => None,
        })
    }

    /// The whole message as plain text, one block a paragraph: the notification text on
    /// platforms that need one, and what tests read.
    pub fn to_plain(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Header(s) => parts.push(s.clone()),
                Block::Section(section) => {
                    let mut s = section.text.to_plain();
                    for field in &section.fields {
                        if !s.is_empty() {
                            s.push('\n');
                        }
                        s.push_str(&format!("{}: {}", field.label, field.value.to_plain()));
                    }
                    parts.push(s);
                }
                Block::Context(texts) => parts.push(
                    texts
                        .iter()
                        .map(Text::to_plain)
                        .collect::<Vec<_>>()
                        .join(" · "),
                ),
                Block::Actions(buttons) => parts.push(
                    buttons
                        .iter()
                        .map(|b| format!("[{}]", b.label))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Block::Divider => parts.push("---".to_string()),
                Block::Chart(chart) => parts.push(format!("Chart: {}", chart.describe())),
            }
        }
        parts.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_reject_garbage() {
        for action in [
            Action::Discuss(12),
            Action::Flag(1),
            Action::Useful(99999),
            Action::ShowMore {
                what: MoreRef::Digest(3),
            },
            Action::ShowMore {
                what: MoreRef::Insight(4),
            },
        ] {
            assert_eq!(Action::decode(&action.encode()), Some(action.clone()));
            assert!(action.encode().len() <= 100);
        }
        for bad in [
            "",
            "fw",
            "fw.discuss",
            "fw.discuss.x",
            "fw.discuss.1.2",
            "fw.more.digest",
            "fw.more.page.1",
            "xx.flag.1",
            "fw.flag.+1",
            "fw.flag.99999999999999999999999",
        ] {
            assert_eq!(Action::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn plain_text_keeps_every_word() {
        let m = Message::new()
            .header("Weekly digest")
            .section(
                Text::plain("Top: ")
                    .strong("Refunds")
                    .line()
                    .quote("charged twice <!channel>"),
            )
            .context(
                Text::plain("id ")
                    .code("12")
                    .link("source", "https://x.test/1"),
            )
            .divider();
        let plain = m.to_plain();
        assert!(plain.contains("Weekly digest"));
        assert!(plain.contains("Top: Refunds\n“charged twice <!channel>”"));
        assert!(plain.contains("id 12source (https://x.test/1)"));
        assert!(plain.ends_with("---"));
    }

    fn chart() -> ChartSpec {
        let monday = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        ChartSpec {
            title: "Top themes".into(),
            weeks: vec![monday, monday + chrono::Days::new(7)],
            series: vec![ChartSeries {
                name: "Billing".into(),
                counts: vec![3, 30],
            }],
        }
    }

    #[test]
    fn a_chart_is_data_and_reads_as_words() {
        let m = Message::new().header("Digest").chart(chart());
        assert_eq!(m.charts().count(), 1);
        assert_eq!(
            m.to_plain(),
            "Digest\nChart: Top themes: Billing 3 → 30 (peak 30), weeks of 5 Jan to 12 Jan 2026"
        );
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["blocks"][1]["Chart"]["series"][0]["counts"][1], 30);
        let back: Message = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn messages_stored_before_charts_still_read() {
        let stored = r#"{"blocks":[{"Header":"Weekly digest"},"Divider",{"Section":{"text":{"spans":[{"Plain":"hi"}]},"fields":[]}}]}"#;
        let m: Message = serde_json::from_str(stored).unwrap();
        assert_eq!(m.blocks.len(), 3);
        assert_eq!(m.charts().count(), 0);
    }
}
