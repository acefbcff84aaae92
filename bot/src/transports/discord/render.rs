//! Discord rendering: the neutral [`Message`] as one or more Discord messages of embeds and
//! buttons, each inside Discord's limits.
//!
//! - **Customer words stay words.** Markdown characters are escaped with a backslash, `<` is
//!   escaped so `<@123>` or `<#1>` never render as a mention, and `@everyone` / `@here` get an
//!   invisible joiner after the `@`. Every message also carries `allowed_mentions: {parse: []}`,
//!   so nothing Flywheel posts can ping anyone. Links are only made for `http` and `https`.
//! - **Discord's limits are never exceeded.** A header starts an embed (title at most 256
//!   characters), a section's text goes into its description (4,096), fields become embed
//!   fields (25 an embed, name 256, value 1,024), small print is `-#` subtext, and a divider
//!   starts the next embed. Embeds are packed into messages of at most 10 embeds and 6,000
//!   characters, with at most 5 rows of 5 buttons; what does not fit goes into the next
//!   message instead of failing. Only text that alone passes an embed's limits is cut, with `…`.
//!   A short message of plain text is sent as `content` (2,000 characters) instead.
//! - **A chart is an embed of its own**, titled, described in words, and showing the chart's
//!   PNG as an attachment once the adapter draws it ([`Part::body_with_charts`]).

use std::collections::HashSet;

use flywheel_insights::message::{Block, Button, ChartSpec, Field, Message, Span, Text};
use serde_json::{Value, json};

/// The longest `content`.
pub const MAX_CONTENT: usize = 2000;
/// The most embeds in one message.
pub const MAX_EMBEDS: usize = 10;
/// The most characters of all embeds of one message together.
pub const MAX_EMBED_TOTAL: usize = 6000;
/// The longest embed title.
pub const MAX_TITLE: usize = 256;
/// The longest embed description.
pub const MAX_DESCRIPTION: usize = 4096;
/// The most fields in one embed.
pub const MAX_FIELDS: usize = 25;
/// The longest field name.
pub const MAX_FIELD_NAME: usize = 256;
/// The longest field value.
pub const MAX_FIELD_VALUE: usize = 1024;
/// The longest footer text.
pub const MAX_FOOTER: usize = 2048;
/// The most rows of components in one message.
pub const MAX_ROWS: usize = 5;
/// The most buttons in one row.
pub const MAX_BUTTONS_PER_ROW: usize = 5;
/// The longest button label.
pub const MAX_LABEL: usize = 80;
/// The longest `custom_id`.
pub const MAX_CUSTOM_ID: usize = 100;

/// Flywheel's colour on the side of its embeds.
const COLOUR: u32 = 0x2F6F4F;
const ELLIPSIS: char = '…';
const WORD_JOINER: char = '\u{2060}';
const EMPTY: &str = "(empty message)";
/// Room kept in each message for the footer that marks a delivery.
const FOOTER_ROOM: usize = 64;

/// One Discord message: what `POST /channels/{id}/messages` or an interaction answer takes,
/// without the nonce.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The plain `content`, possibly empty.
    pub content: String,
    /// The embeds, each a JSON object.
    pub embeds: Vec<Value>,
    /// The action rows, each a JSON object of buttons.
    pub components: Vec<Value>,
    /// The charts to attach, each shown in one of the embeds.
    pub charts: Vec<PartChart>,
}

/// A chart of a [`Part`].
#[derive(Debug, Clone, PartialEq)]
pub struct PartChart {
    /// Which of the part's embeds shows it.
    pub embed: usize,
    /// What to draw.
    pub spec: ChartSpec,
}

/// The file name of the `n`-th chart attached to a message: `chart.png`, `chart-2.png`, …
pub fn chart_filename(n: usize) -> String {
    if n == 0 {
        "chart.png".to_string()
    } else {
        format!("chart-{}.png", n + 1)
    }
}

impl Part {
    /// A part with these contents and no charts.
    fn of(content: String, embeds: Vec<Value>, components: Vec<Value>) -> Part {
        Part {
            content,
            embeds,
            components,
            charts: Vec::new(),
        }
    }

    /// The JSON body of the message with its charts attached as `files[n]` named
    /// [`chart_filename`]`(n)`: `attachments` lists them, and each chart's embed shows its
    /// file as its image.
    pub fn body_with_charts(&self) -> Value {
        let mut body = self.body();
        let mut attachments = Vec::new();
        for (n, chart) in self.charts.iter().enumerate() {
            let filename = chart_filename(n);
            body["embeds"][chart.embed]["image"] =
                json!({"url": format!("attachment://{filename}")});
            attachments.push(json!({"id": n, "filename": filename}));
        }
        body["attachments"] = json!(attachments);
        body
    }

    /// The JSON body of the message, with mentions turned off.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "allowed_mentions": {"parse": []},
        });
        if !self.content.is_empty() {
            body["content"] = json!(self.content);
        }
        // An empty list clears what a message had when it is edited.
        body["embeds"] = json!(self.embeds);
        body["components"] = json!(self.components);
        body
    }

    /// Marks the message with `text` in the footer of its last embed (or as an embed of its
    /// own when it has none), where it can be found again in the channel's history.
    pub fn mark(&mut self, text: &str) {
        let footer = json!({"text": cut(text, MAX_FOOTER).0});
        match self.embeds.last_mut() {
            Some(embed) => embed["footer"] = footer,
            None => {
                let description = if self.content.is_empty() {
                    EMPTY.to_string()
                } else {
                    std::mem::take(&mut self.content)
                };
                self.embeds
                    .push(json!({"description": description, "color": COLOUR, "footer": footer}));
            }
        }
    }
}

/// The characters of an embed that count towards the 6,000 of a message.
pub fn embed_chars(embed: &Value) -> usize {
    let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let mut n = len(&embed["title"]) + len(&embed["description"]);
    n += len(&embed["footer"]["text"]) + len(&embed["author"]["name"]);
    if let Some(fields) = embed["fields"].as_array() {
        for field in fields {
            n += len(&field["name"]) + len(&field["value"]);
        }
    }
    n
}

/// Renders `message` as one or more Discord messages.
pub fn render(message: &Message) -> Vec<Part> {
    if let Some(content) = plain_content(message) {
        return vec![Part::of(content, Vec::new(), Vec::new())];
    }
    let mut groups: Vec<Group> = vec![Group::default()];
    for block in &message.blocks {
        let group = groups
            .last_mut()
            .unwrap_or_else(|| unreachable!("never empty"));
        match block {
            Block::Header(title) => {
                let title = one_line(title);
                if !title.is_empty() {
                    if !group.is_empty() {
                        groups.push(Group::default());
                    }
                    let group = groups.last_mut().unwrap_or_else(|| unreachable!());
                    group.embed_mut().title = Some(cut(&title, MAX_TITLE).0);
                }
            }
            Block::Section(section) => {
                let text = markdown(&section.text);
                if !text.trim().is_empty() {
                    group.describe(&text);
                }
                for field in &section.fields {
                    group.field(field);
                }
            }
            Block::Context(texts) => {
                let line: Vec<String> = texts
                    .iter()
                    .map(markdown)
                    .filter(|t| !t.trim().is_empty())
                    .collect();
                if !line.is_empty() {
                    let small: Vec<String> = line
                        .join(" · ")
                        .lines()
                        .map(|l| format!("-# {l}"))
                        .collect();
                    group.describe(&small.join("\n"));
                }
            }
            Block::Actions(buttons) => group.buttons.extend(buttons.iter().cloned()),
            Block::Chart(chart) => {
                // An embed of its own, and nothing after it joins it.
                groups.push(Group {
                    embeds: vec![Embed {
                        title: Some(cut(&one_line(&chart.title), MAX_TITLE).0),
                        description: cut(
                            &format!("-# {}", escape(&one_line(&chart.describe()))),
                            MAX_DESCRIPTION,
                        )
                        .0,
                        fields: Vec::new(),
                        chart: Some(chart.clone()),
                    }],
                    buttons: Vec::new(),
                });
                groups.push(Group::default());
            }
            Block::Divider => {
                if !group.is_empty() {
                    groups.push(Group::default());
                }
            }
        }
    }
    pack(groups)
}

/// A short message of one plain section, sent as `content`.
fn plain_content(message: &Message) -> Option<String> {
    let [Block::Section(section)] = message.blocks.as_slice() else {
        return None;
    };
    if !section.fields.is_empty() {
        return None;
    }
    let text = markdown(&section.text);
    (text.chars().count() <= MAX_CONTENT && !text.trim().is_empty()).then_some(text)
}

/// An embed being built.
#[derive(Debug, Default)]
struct Embed {
    title: Option<String>,
    description: String,
    fields: Vec<Value>,
    /// The chart the embed shows, once attached.
    chart: Option<ChartSpec>,
}

impl Embed {
    fn chars(&self) -> usize {
        embed_chars(&self.to_json())
    }

    fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_empty() && self.fields.is_empty()
    }

    fn to_json(&self) -> Value {
        let mut embed = json!({"color": COLOUR});
        if let Some(title) = &self.title {
            embed["title"] = json!(title);
        }
        if !self.description.is_empty() {
            embed["description"] = json!(self.description);
        }
        if !self.fields.is_empty() {
            embed["fields"] = json!(self.fields);
        }
        embed
    }
}

/// What belongs together: the embeds of one item (a header or divider starts the next) and the
/// buttons under it. A group is never split between messages unless it alone is too large.
#[derive(Debug, Default)]
struct Group {
    embeds: Vec<Embed>,
    buttons: Vec<Button>,
}

impl Group {
    fn is_empty(&self) -> bool {
        self.embeds.iter().all(Embed::is_empty) && self.buttons.is_empty()
    }

    fn embed_mut(&mut self) -> &mut Embed {
        if self.embeds.is_empty() {
            self.embeds.push(Embed::default());
        }
        let last = self.embeds.len() - 1;
        &mut self.embeds[last]
    }

    /// Adds text to the description, continuing in a new embed when it is full.
    fn describe(&mut self, text: &str) {
        let mut rest = text.to_string();
        loop {
            let room_total = MAX_EMBED_TOTAL - FOOTER_ROOM;
            let embed = self.embed_mut();
            let used = embed.description.chars().count();
            let sep = if used == 0 { 0 } else { 1 };
            let room = MAX_DESCRIPTION
                .saturating_sub(used + sep)
                .min(room_total.saturating_sub(embed.chars() + sep));
            if rest.chars().count() <= room {
                if sep == 1 {
                    embed.description.push('\n');
                }
                embed.description.push_str(&rest);
                return;
            }
            if room < 200 && used > 0 {
                self.embeds.push(Embed::default());
                continue;
            }
            let (head, tail) = split_at_line(&rest, room.max(1));
            if sep == 1 {
                embed.description.push('\n');
            }
            embed.description.push_str(&head);
            match tail {
                Some(tail) if !tail.is_empty() => {
                    rest = tail;
                    self.embeds.push(Embed::default());
                }
                _ => return,
            }
        }
    }

    fn field(&mut self, field: &Field) {
        let name = cut(&escape(one_line(&field.label).trim()), MAX_FIELD_NAME).0;
        let value = cut(&markdown(&field.value), MAX_FIELD_VALUE).0;
        let name = if name.is_empty() {
            "\u{200B}".to_string()
        } else {
            name
        };
        let value = if value.trim().is_empty() {
            "\u{200B}".to_string()
        } else {
            value
        };
        let cost = name.chars().count() + value.chars().count();
        let full = {
            let embed = self.embed_mut();
            embed.fields.len() >= MAX_FIELDS || embed.chars() + cost > MAX_EMBED_TOTAL - FOOTER_ROOM
        };
        if full {
            self.embeds.push(Embed::default());
        }
        self.embed_mut()
            .fields
            .push(json!({"name": name, "value": value, "inline": true}));
    }
}

/// Packs groups into messages within the per-message limits.
fn pack(groups: Vec<Group>) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut current = Part::of(String::new(), Vec::new(), Vec::new());
    let mut chars = 0;
    let mut ids: HashSet<String> = HashSet::new();
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let flush = |current: &mut Part, rows: &mut Vec<Vec<Value>>, parts: &mut Vec<Part>| {
        current.components = rows
            .drain(..)
            .map(|row| json!({"type": 1, "components": row}))
            .collect();
        if !current.embeds.is_empty() || !current.components.is_empty() {
            parts.push(std::mem::replace(
                current,
                Part::of(String::new(), Vec::new(), Vec::new()),
            ));
        }
    };
    for group in groups {
        let embeds: Vec<(Value, Option<ChartSpec>)> = group
            .embeds
            .iter()
            .filter(|e| !e.is_empty())
            .map(|e| (e.to_json(), e.chart.clone()))
            .collect();
        let buttons: Vec<Value> = group.buttons.iter().filter_map(button).collect();
        if embeds.is_empty() && buttons.is_empty() {
            continue;
        }
        let group_chars: usize = embeds.iter().map(|(e, _)| embed_chars(e)).sum();
        let group_rows = buttons.len().div_ceil(MAX_BUTTONS_PER_ROW).min(MAX_ROWS);
        let fits = current.embeds.len() + embeds.len() <= MAX_EMBEDS
            && chars + group_chars <= MAX_EMBED_TOTAL - FOOTER_ROOM
            && rows.len() + group_rows <= MAX_ROWS;
        if !fits {
            flush(&mut current, &mut rows, &mut parts);
            chars = 0;
            ids.clear();
        }
        for (embed, chart) in embeds {
            // A group larger than a message on its own goes over several.
            if current.embeds.len() >= MAX_EMBEDS
                || chars + embed_chars(&embed) > MAX_EMBED_TOTAL - FOOTER_ROOM
            {
                flush(&mut current, &mut rows, &mut parts);
                chars = 0;
                ids.clear();
            }
            chars += embed_chars(&embed);
            if let Some(spec) = chart {
                current.charts.push(PartChart {
                    embed: current.embeds.len(),
                    spec,
                });
            }
            current.embeds.push(embed);
        }
        for element in buttons {
            let id = element["custom_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            // Discord refuses two components with one id in a message.
            if !ids.insert(id) {
                continue;
            }
            let row_has_room = rows
                .last()
                .is_some_and(|row| row.len() < MAX_BUTTONS_PER_ROW);
            if row_has_room {
                if let Some(row) = rows.last_mut() {
                    row.push(element);
                }
            } else if rows.len() < MAX_ROWS {
                rows.push(vec![element]);
            }
        }
    }
    flush(&mut current, &mut rows, &mut parts);
    if parts.is_empty() {
        parts.push(Part::of(EMPTY.to_string(), Vec::new(), Vec::new()));
    }
    parts
}

fn button(button: &Button) -> Option<Value> {
    let id = button.action.encode();
    if id.chars().count() > MAX_CUSTOM_ID {
        return None;
    }
    let mut label = cut(one_line(&button.label).trim(), MAX_LABEL).0;
    if label.is_empty() {
        label.clone_from(&id);
    }
    Some(json!({
        "type": 2,
        // 1 primary, 2 secondary.
        "style": if button.primary { 1 } else { 2 },
        "label": label,
        "custom_id": id,
    }))
}

/// `text` cut to at most `max` characters, ending with `…` when cut; whether it was.
fn cut(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_string(), false);
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    // A trailing backslash would escape the ellipsis.
    while out.ends_with('\\') {
        out.pop();
    }
    out.push(ELLIPSIS);
    (out, true)
}

/// The first `max` characters of `text`, preferably ending at a line break, and the rest.
fn split_at_line(text: &str, max: usize) -> (String, Option<String>) {
    if text.chars().count() <= max {
        return (text.to_string(), None);
    }
    let byte_end = text
        .char_indices()
        .nth(max)
        .map_or(text.len(), |(at, _)| at);
    let head = &text[..byte_end];
    let at = match head.rfind('\n').or_else(|| head.rfind(' ')) {
        Some(at) if at > byte_end / 2 => at,
        _ => {
            // Never between a backslash and what it escapes.
            let mut at = byte_end;
            while at > 0 && text[..at].ends_with('\\') {
                at -= 1;
            }
            at
        }
    };
    let rest = text[at..].trim_start_matches(['\n', ' ']).to_string();
    (text[..at].to_string(), Some(rest))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes text for Discord markdown: markdown characters get a backslash, `<` cannot open a
/// mention, broadcast words are defused, control characters other than line breaks dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line_start = true;
    for (i, c) in text.char_indices() {
        let at_start = line_start;
        line_start = c == '\n' || (line_start && c == ' ');
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '<' | '[' | ']' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            // Headings, lists and quotes only start a line.
            '#' | '-' | '>' if at_start => {
                out.push('\\');
                out.push(c);
            }
            '@' => {
                out.push('@');
                let rest = &text[i + 1..];
                if ["everyone", "here"].iter().any(|w| {
                    rest.get(..w.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(w))
                }) {
                    out.push(WORD_JOINER);
                }
            }
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders formatted text as Discord markdown.
pub fn markdown(text: &Text) -> String {
    let mut out = String::new();
    for span in &text.spans {
        match span {
            Span::Plain(s) => out.push_str(&escape(s)),
            Span::Strong(s) => styled(&mut out, "**", s),
            Span::Emphasis(s) => styled(&mut out, "*", s),
            Span::Code(s) => {
                // Inside code nothing is markdown; a backtick would end it, so such code is
                // shown as escaped text instead.
                if s.contains('`') || s.contains('\n') || s.trim().is_empty() {
                    out.push_str(&escape(s));
                } else {
                    out.push('`');
                    out.push_str(s);
                    out.push('`');
                }
            }
            Span::Quote(s) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                let lines: Vec<String> = s.lines().map(|l| format!("> {}", escape(l))).collect();
                out.push_str(&lines.join("\n"));
                out.push('\n');
            }
            Span::Link { label, url } => {
                let safe = (url.starts_with("https://") || url.starts_with("http://"))
                    && !url.contains([' ', '(', ')', '<', '>', '\n']);
                if safe {
                    out.push('[');
                    out.push_str(&escape(if label.trim().is_empty() { url } else { label }));
                    out.push_str("](");
                    out.push_str(url);
                    out.push(')');
                } else {
                    out.push_str(&escape(label));
                }
            }
            Span::Break => out.push('\n'),
        }
    }
    out.trim_end_matches('\n').to_string()
}

fn styled(out: &mut String, marker: &str, text: &str) {
    if text.trim().is_empty() {
        out.push_str(&escape(text));
        return;
    }
    out.push_str(marker);
    out.push_str(&escape(text));
    out.push_str(marker);
}

#[cfg(test)]
mod tests {
    use flywheel_insights::message::{Action, MoreRef, Section};

    use super::*;

    fn digest(items: i64, words: usize) -> Message {
        let mut m = Message::new()
            .header("Weekly digest · growth")
            .context(Text::plain("3 new insights"));
        for id in 1..=items {
            m = m
                .divider()
                .push(Block::Section(Section {
                    text: Text::plain(format!("{id}. "))
                        .strong(format!("Refunds {id}"))
                        .line()
                        .quote("@everyone <@123> *bold* ".repeat(words)),
                    fields: vec![Field {
                        label: "Severity".into(),
                        value: Text::plain("x".repeat(2000)),
                    }],
                }))
                .push(Block::Actions(vec![
                    Button {
                        label: "Discuss".into(),
                        action: Action::Discuss(id),
                        primary: true,
                    },
                    Button {
                        label: "Flag for decision".into(),
                        action: Action::Flag(id),
                        primary: false,
                    },
                    Button {
                        label: "Useful".into(),
                        action: Action::Useful(id),
                        primary: false,
                    },
                ]));
        }
        m.push(Block::Actions(vec![Button {
            label: "Full digest".into(),
            action: Action::ShowMore {
                what: MoreRef::Digest(1),
            },
            primary: false,
        }]))
    }

    fn check(part: &Part) {
        assert!(part.content.chars().count() <= MAX_CONTENT);
        assert!(part.embeds.len() <= MAX_EMBEDS);
        let total: usize = part.embeds.iter().map(embed_chars).sum();
        assert!(total <= MAX_EMBED_TOTAL, "{total}");
        for embed in &part.embeds {
            let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
            assert!(len(&embed["title"]) <= MAX_TITLE);
            assert!(len(&embed["description"]) <= MAX_DESCRIPTION);
            let fields = embed["fields"].as_array().cloned().unwrap_or_default();
            assert!(fields.len() <= MAX_FIELDS);
            for f in fields {
                assert!(len(&f["value"]) <= MAX_FIELD_VALUE && len(&f["value"]) > 0);
            }
        }
        assert!(part.components.len() <= MAX_ROWS);
        let mut ids = HashSet::new();
        for row in &part.components {
            let buttons = row["components"].as_array().unwrap();
            assert!(!buttons.is_empty() && buttons.len() <= MAX_BUTTONS_PER_ROW);
            for b in buttons {
                assert!(ids.insert(b["custom_id"].as_str().unwrap().to_string()));
            }
        }
    }

    #[test]
    fn a_large_digest_is_split_into_messages_that_each_fit() {
        let parts = render(&digest(30, 200));
        assert!(parts.len() > 3, "{}", parts.len());
        let mut buttons = 0;
        for part in &parts {
            check(part);
            buttons += part
                .components
                .iter()
                .map(|r| r["components"].as_array().unwrap().len())
                .sum::<usize>();
            for embed in &part.embeds {
                let d = embed["description"].as_str().unwrap_or("");
                assert_eq!(d.matches("<@123>").count(), d.matches("\\<@123>").count());
                assert!(!d.contains("@everyone"), "{d}");
            }
        }
        // Every item keeps its three buttons, and the digest its "Full digest".
        assert_eq!(buttons, 30 * 3 + 1);
    }

    #[test]
    fn one_enormous_section_is_spread_over_embeds_and_messages() {
        let m = Message::new()
            .header("h".repeat(500))
            .section(Text::plain("word ".repeat(5000)));
        let parts = render(&m);
        for part in &parts {
            check(part);
        }
        let words: usize = parts
            .iter()
            .flat_map(|p| &p.embeds)
            .map(|e| {
                e["description"]
                    .as_str()
                    .unwrap_or("")
                    .matches("word")
                    .count()
            })
            .sum();
        assert_eq!(words, 5000, "nothing is lost");
    }

    #[test]
    fn short_text_is_content_and_markdown_is_escaped() {
        let parts = render(&Message::text("Saved as #3. *not bold* @here"));
        assert_eq!(parts.len(), 1);
        assert!(parts[0].embeds.is_empty());
        assert_eq!(
            parts[0].content,
            "Saved as #3. \\*not bold\\* @\u{2060}here"
        );
        assert_eq!(parts[0].body()["allowed_mentions"]["parse"], json!([]));
        let link = markdown(
            &Text::new()
                .link("ok", "https://x.test/1")
                .link("bad", "javascript:alert(1)"),
        );
        assert_eq!(link, "[ok](https://x.test/1)bad");
    }

    #[test]
    fn a_marked_message_carries_the_marker_in_its_footer() {
        let mut part = render(&Message::text("hi")).remove(0);
        part.mark("Flywheel · fd1.0");
        assert_eq!(part.embeds[0]["footer"]["text"], "Flywheel · fd1.0");
        assert_eq!(part.embeds[0]["description"], "hi");
        assert!(part.content.is_empty());
    }

    #[test]
    fn a_chart_is_an_embed_of_its_own_that_shows_its_attachment() {
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let chart = ChartSpec {
            title: "Top themes".into(),
            weeks: vec![monday],
            series: vec![flywheel_insights::message::ChartSeries {
                name: "Billing *bold*".into(),
                counts: vec![4],
            }],
        };
        let m = Message::new()
            .header("Digest")
            .chart(chart.clone())
            .section(Text::plain("after the chart"))
            .chart(chart.clone());
        let parts = render(&m);
        assert_eq!(parts.len(), 1);
        let part = &parts[0];
        assert_eq!(part.charts.len(), 2);
        assert_eq!(part.charts[0].spec, chart);
        let plain = part.body();
        let shown = part.body_with_charts();
        let first = part.charts[0].embed;
        assert_eq!(plain["embeds"][first]["title"], "Top themes");
        assert!(
            plain["embeds"][first]["image"].is_null(),
            "no file, no image"
        );
        let described = plain["embeds"][first]["description"].as_str().unwrap();
        assert!(
            described.starts_with("-# Top themes: Billing \\*bold\\* 4"),
            "{described}"
        );
        assert_eq!(
            shown["embeds"][first]["image"]["url"],
            "attachment://chart.png"
        );
        assert_eq!(
            shown["embeds"][part.charts[1].embed]["image"]["url"],
            "attachment://chart-2.png"
        );
        assert_eq!(
            shown["attachments"],
            json!([{"id": 0, "filename": "chart.png"}, {"id": 1, "filename": "chart-2.png"}])
        );
        // Text after a chart is not folded into the chart's embed.
        let after = &plain["embeds"][first + 1]["description"];
        assert_eq!(after, "after the chart");
    }
}
