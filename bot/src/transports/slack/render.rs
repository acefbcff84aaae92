//! Slack rendering: the neutral [`Message`] as Block Kit JSON plus the `text` fallback Slack
//! shows in notifications.
//!
//! Two promises hold for every message, whatever its text:
//!
//! - **Customer words stay words.** `&`, `<` and `>` are escaped everywhere, so `<!channel>`,
//!   `<@U123>` or `<https://evil|click>` typed by a customer arrive as text, never as a mention
//!   or a disguised link; `@channel`, `@here` and `@everyone` get an invisible word joiner after
//!   the `@` so no setting on Slack's side can turn them into a broadcast. Styling a span would
//!   break on its own marker (`*` in bold text, `_` in italics, `` ` `` in code), so such spans
//!   are shown unstyled instead. Links are only made for `http`, `https` and `mailto` URLs.
//! - **Slack's limits are never exceeded.** Over-long text is cut with `…`, extra fields and
//!   buttons are split into further blocks, and when the message still does not fit in 50
//!   blocks, or anything was cut, it ends with a "Show more" button (an [`Action::ShowMore`]).
//!   Lengths are counted in characters of the text as sent, markup and escapes included.

use std::collections::HashSet;

use flywheel_insights::message::{Action, Block, Button, Field, Message, MoreRef, Span, Text};
use serde_json::{Value, json};

/// The most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// The longest section text.
pub const MAX_SECTION_TEXT: usize = 3000;
/// The most fields in one section.
pub const MAX_FIELDS: usize = 10;
/// The longest field text.
pub const MAX_FIELD_TEXT: usize = 2000;
/// The longest header text.
pub const MAX_HEADER_TEXT: usize = 150;
/// The longest button text.
pub const MAX_BUTTON_TEXT: usize = 75;
/// The longest button value.
pub const MAX_BUTTON_VALUE: usize = 2000;
/// The most elements in one actions block.
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
/// The longest `action_id`.
pub const MAX_ACTION_ID: usize = 255;
/// The most elements in one context block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// The longest text of one context element.
pub const MAX_CONTEXT_TEXT: usize = 3000;
/// The longest top-level `text` (the notification fallback).
pub const MAX_TEXT: usize = 40_000;

const ELLIPSIS: char = '…';
/// Placed after the `@` of `@channel`, `@here` and `@everyone`: invisible, but no longer a
/// broadcast keyword.
const WORD_JOINER: char = '\u{2060}';
const BROADCAST_WORDS: [&str; 3] = ["channel", "here", "everyone"];
const SHOW_MORE_LABEL: &str = "Show more";
const EMPTY_TEXT: &str = "(empty message)";

/// A message ready for `chat.postMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The notification and accessibility fallback (escaped mrkdwn).
    pub text: String,
    /// Block Kit blocks; empty when the message has nothing to show in blocks.
    pub blocks: Vec<Value>,
    /// Whether anything was cut to fit Slack's limits.
    pub truncated: bool,
}

/// Renders `message`. When it has to be shortened, the "Show more" button reuses the first
/// [`Action::ShowMore`] button of the message; composers of long messages should include one.
/// Without it, a dropped insight button supplies the reference, and failing that the message
/// ends with a note that it was shortened.
pub fn render(message: &Message) -> Rendered {
    render_with_more(message, None)
}

/// Renders `message`; when it has to be shortened, it ends with a "Show more" button for `more`
/// (or, when `None`, as [`render`] chooses).
pub fn render_with_more(message: &Message, more: Option<MoreRef>) -> Rendered {
    let mut truncated = false;
    let mut blocks = Vec::new();
    for block in &message.blocks {
        render_block(block, &mut blocks, &mut truncated);
    }

    if blocks.len() > MAX_BLOCKS {
        truncated = true;
        blocks.truncate(MAX_BLOCKS);
    }
    if truncated {
        let more = more
            .map(|what| Action::ShowMore { what })
            .or_else(|| show_more_of(message, &blocks));
        let already_there = more
            .as_ref()
            .is_some_and(|action| has_action(&blocks, &action.encode()));
        if !already_there {
            if blocks.len() >= MAX_BLOCKS {
                blocks.truncate(MAX_BLOCKS - 1);
            }
            blocks.push(match more {
                Some(action) => show_more_block(&action),
                None => json!({
                    "type": "context",
                    "elements": [{
                        "type": "mrkdwn",
                        "text": "_This message was shortened to fit in Slack._",
                    }],
                }),
            });
        }
    }

    let mut text = Budget::new(MAX_TEXT);
    text.escaped(message.to_plain().trim());
    let mut text = text.finish();
    if text.trim().is_empty() {
        text = EMPTY_TEXT.to_string();
    }
    Rendered {
        text,
        blocks,
        truncated,
    }
}

/// Escapes text for mrkdwn: `&`, `<` and `>` become entities, control characters other than
/// line breaks are dropped, and broadcast keywords are defused.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for piece in escaped_pieces(s) {
        piece.push_to(&mut out);
    }
    out
}

/// The escaped form of each character of `s`, one piece per character, so text can be cut
/// between pieces without splitting an entity.
fn escaped_pieces(s: &str) -> impl Iterator<Item = Piece> + '_ {
    s.char_indices().filter_map(move |(i, c)| {
        Some(match c {
            '&' => Piece::Str("&amp;"),
            '<' => Piece::Str("&lt;"),
            '>' => Piece::Str("&gt;"),
            '\n' => Piece::Char('\n'),
            '\t' => Piece::Char(' '),
            c if c.is_control() => return None,
            '@' if is_broadcast(&s[i + 1..]) => Piece::Two('@', WORD_JOINER),
            c => Piece::Char(c),
        })
    })
}

fn is_broadcast(rest: &str) -> bool {
    BROADCAST_WORDS.iter().any(|word| {
        rest.get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
    })
}

enum Piece {
    Str(&'static str),
    Char(char),
    Two(char, char),
}

impl Piece {
    fn chars(&self) -> usize {
        match self {
            Piece::Str(s) => s.chars().count(),
            Piece::Char(_) => 1,
            Piece::Two(..) => 2,
        }
    }

    fn push_to(&self, out: &mut String) {
        match self {
            Piece::Str(s) => out.push_str(s),
            Piece::Char(c) => out.push(*c),
            Piece::Two(a, b) => {
                out.push(*a);
                out.push(*b);
            }
        }
    }
}

/// Text built up to a limit in characters. Once something does not fit, nothing more is added
/// and [`Budget::finish`] ends the text with `…` (one character is always kept free for it).
struct Budget {
    out: String,
    used: usize,
    limit: usize,
    cut: bool,
}

impl Budget {
    fn new(max: usize) -> Budget {
        Budget {
            out: String::new(),
            used: 0,
            limit: max.saturating_sub(1),
            cut: false,
        }
    }

    fn room(&self) -> usize {
        self.limit - self.used
    }

    /// Adds markup that must appear whole or not at all.
    fn atomic(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.cut || n > self.room() {
            self.cut = true;
            return false;
        }
        self.out.push_str(s);
        self.used += n;
        true
    }

    /// Adds escaped text, cut between characters when it does not fit, keeping `reserve`
    /// characters free (for a closing marker).
    fn escaped_reserving(&mut self, s: &str, reserve: usize) {
        for piece in escaped_pieces(s) {
            if self.cut || piece.chars() + reserve > self.room() {
                self.cut = true;
                return;
            }
            piece.push_to(&mut self.out);
            self.used += piece.chars();
        }
    }

    fn escaped(&mut self, s: &str) {
        self.escaped_reserving(s, 0);
    }

    /// `marker` + escaped `core` + `marker`, the closing marker guaranteed room.
    fn styled(&mut self, marker: char, core: &str) {
        if self.cut || self.room() < 3 {
            self.cut = true;
            return;
        }
        self.out.push(marker);
        self.used += 1;
        self.escaped_reserving(core, 1);
        self.out.push(marker);
        self.used += 1;
    }

    fn finish(mut self) -> String {
        if self.cut {
            self.out.push(ELLIPSIS);
        }
        self.out
    }
}

fn render_block(block: &Block, out: &mut Vec<Value>, truncated: &mut bool) {
    match block {
        Block::Header(title) => {
            let title = plain_line(title, MAX_HEADER_TEXT, truncated);
            if !title.is_empty() {
                out.push(json!({
                    "type": "header",
                    "text": {"type": "plain_text", "text": title, "emoji": true},
                }));
            }
        }
        Block::Section(section) => {
            let text = mrkdwn(&section.text, MAX_SECTION_TEXT, truncated);
            let fields: Vec<Value> = section
                .fields
                .iter()
                .filter_map(|field| render_field(field, truncated))
                .collect();
            let mut chunks = fields.chunks(MAX_FIELDS);
            let first = chunks.next().unwrap_or(&[]);
            if text.is_some() || !first.is_empty() {
                let mut block = json!({"type": "section"});
                if let Some(text) = text {
                    block["text"] = json!({"type": "mrkdwn", "text": text});
                }
                if !first.is_empty() {
                    block["fields"] = Value::Array(first.to_vec());
                }
                out.push(block);
            }
            for rest in chunks {
                out.push(json!({"type": "section", "fields": rest}));
            }
        }
        Block::Context(texts) => {
            let mut shown: Vec<Text> = texts
                .iter()
                .filter(|t| mrkdwn(t, MAX_CONTEXT_TEXT, &mut false).is_some())
                .cloned()
                .collect();
            if shown.len() > MAX_CONTEXT_ELEMENTS {
                // The tail is joined into the last element rather than dropped.
                let mut tail = Text::new();
                for t in shown.drain(MAX_CONTEXT_ELEMENTS - 1..) {
                    if !tail.is_empty() {
                        tail = tail.and(" · ");
                    }
                    tail.spans.extend(t.spans);
                }
                shown.push(tail);
            }
            let elements: Vec<Value> = shown
                .iter()
                .filter_map(|t| mrkdwn(t, MAX_CONTEXT_TEXT, truncated))
                .map(|text| json!({"type": "mrkdwn", "text": text}))
                .collect();
            if !elements.is_empty() {
                out.push(json!({"type": "context", "elements": elements}));
            }
        }
        Block::Actions(buttons) => {
            let mut seen = HashSet::new();
            let elements: Vec<Value> = buttons
                .iter()
                .filter(|b| seen.insert(b.action.encode()))
                .filter_map(|b| render_button(b, truncated))
                .collect();
            for chunk in elements.chunks(MAX_ACTIONS_ELEMENTS) {
                out.push(json!({"type": "actions", "elements": chunk}));
            }
        }
        Block::Divider => out.push(json!({"type": "divider"})),
        // A chart is drawn and uploaded as a file right after the message (see the client);
        // the fallback text describes it in words.
        Block::Chart(_) => {}
    }
}

fn render_field(field: &Field, truncated: &mut bool) -> Option<Value> {
    let label = field.label.trim();
    let mut text = Budget::new(MAX_FIELD_TEXT);
    if !label.is_empty() {
        if label.contains('*') || label.contains('\n') {
            text.escaped(label);
        } else {
            text.styled('*', label);
        }
        text.atomic("\n");
    }
    spans(&field.value, &mut text);
    *truncated |= text.cut;
    let text = text.finish();
    (!text.trim().is_empty()).then(|| json!({"type": "mrkdwn", "text": text}))
}

fn render_button(button: &Button, truncated: &mut bool) -> Option<Value> {
    let action_id = button.action.encode();
    if action_id.chars().count() > MAX_ACTION_ID.min(MAX_BUTTON_VALUE) {
        *truncated = true;
        return None;
    }
    let mut label = plain_line(&button.label, MAX_BUTTON_TEXT, truncated);
    if label.is_empty() {
        label = action_id.clone();
    }
    let mut element = json!({
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": true},
        "action_id": action_id,
        "value": action_id,
    });
    if button.primary {
        element["style"] = json!("primary");
    }
    Some(element)
}

fn show_more_block(action: &Action) -> Value {
    let button = Button {
        label: SHOW_MORE_LABEL.to_string(),
        action: action.clone(),
        primary: false,
    };
    let element = render_button(&button, &mut false).unwrap_or_else(|| json!({}));
    json!({"type": "actions", "elements": [element]})
}

/// What a "Show more" button should refer to: the message's own show-more action, else the
/// first insight whose button did not make it into `kept`.
fn show_more_of(message: &Message, kept: &[Value]) -> Option<Action> {
    let buttons = || {
        message.blocks.iter().flat_map(|b| match b {
            Block::Actions(buttons) => buttons.as_slice(),
            _ => &[],
        })
    };
    if let Some(b) = buttons().find(|b| matches!(b.action, Action::ShowMore { .. })) {
        return Some(b.action.clone());
    }
    buttons()
        .find_map(|b| match b.action {
            Action::Discuss(id) | Action::Flag(id) | Action::Useful(id)
                if !has_action(kept, &b.action.encode()) =>
            {
                Some(id)
            }
            _ => None,
        })
        .map(|id| Action::ShowMore {
            what: MoreRef::Insight(id),
        })
}

fn has_action(blocks: &[Value], action_id: &str) -> bool {
    blocks.iter().any(|block| {
        block["elements"]
            .as_array()
            .is_some_and(|els| els.iter().any(|e| e["action_id"] == action_id))
    })
}

/// Plain text on one line (headers, button labels): control characters dropped, line breaks
/// as spaces, at most `max` characters.
fn plain_line(s: &str, max: usize, truncated: &mut bool) -> String {
    let line: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let line = line.trim();
    if line.chars().count() <= max {
        return line.to_string();
    }
    *truncated = true;
    let mut cut: String = line.chars().take(max - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push(ELLIPSIS);
    cut
}

/// `text` as mrkdwn of at most `max` characters, or `None` when it shows nothing.
fn mrkdwn(text: &Text, max: usize, truncated: &mut bool) -> Option<String> {
    let mut budget = Budget::new(max);
    spans(text, &mut budget);
    *truncated |= budget.cut;
    let out = budget.finish();
    (!out.trim().is_empty()).then_some(out)
}

fn spans(text: &Text, out: &mut Budget) {
    for span in &text.spans {
        match span {
            Span::Plain(s) => out.escaped(s),
            Span::Strong(s) => styled(out, '*', s),
            Span::Emphasis(s) => styled(out, '_', s),
            Span::Code(s) => {
                if s.contains('`') || s.contains('\n') || s.trim().is_empty() {
                    out.escaped(s);
                } else {
                    out.styled('`', s);
                }
            }
            Span::Quote(s) => {
                out.atomic("“");
                out.escaped_reserving(s, 1);
                out.atomic("”");
            }
            Span::Link { label, url } => link(out, label, url),
            Span::Break => {
                out.atomic("\n");
            }
        }
    }
}

/// Bold or italic text; the surrounding whitespace stays outside the markers, where Slack
/// requires it, and text containing its own marker is left unstyled.
fn styled(out: &mut Budget, marker: char, s: &str) {
    let core = s.trim();
    if core.is_empty() || core.contains(marker) || core.contains('\n') {
        out.escaped(s);
        return;
    }
    let lead = &s[..s.len() - s.trim_start().len()];
    let trail = &s[s.trim_end().len()..];
    out.escaped(lead);
    out.styled(marker, core);
    out.escaped(trail);
}

fn link(out: &mut Budget, label: &str, url: &str) {
    if out.cut {
        return;
    }
    let url = url.trim();
    let Some(target) = link_target(url) else {
        // Not a URL Slack should make clickable: shown as text.
        if label.trim().is_empty() || label == url {
            out.escaped(url);
        } else {
            out.escaped(&format!("{label} ({url})"));
        }
        return;
    };
    let label = label.trim();
    let whole = if label.is_empty() || label == url {
        format!("<{target}>")
    } else {
        format!("<{target}|{}>", escape(&label.replace('\n', " ")))
    };
    if !out.atomic(&whole) {
        // The link does not fit: keep what can be read of its label.
        out.cut = false;
        out.escaped(if label.is_empty() { url } else { label });
        out.cut = true;
    }
}

/// The URL as it may appear inside `<…>`, when it is one Slack should link.
fn link_target(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let allowed = ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len());
    if !allowed || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '|' => out.push_str("%7C"),
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flywheel_insights::message::Section;
    use proptest::prelude::*;

    fn chars(v: &Value) -> usize {
        v.as_str().map_or(0, |s| s.chars().count())
    }

    /// Slack's documented limits, checked independently of the renderer.
    fn assert_within_limits(r: &Rendered) {
        let text_len = r.text.chars().count();
        assert!((1..=MAX_TEXT).contains(&text_len), "text is {text_len}");
        assert!(r.blocks.len() <= MAX_BLOCKS, "{} blocks", r.blocks.len());
        for block in &r.blocks {
            match block["type"].as_str().unwrap() {
                "header" => {
                    assert_eq!(block["text"]["type"], "plain_text");
                    let n = chars(&block["text"]["text"]);
                    assert!((1..=MAX_HEADER_TEXT).contains(&n), "header {n}");
                }
                "section" => {
                    let has_text = block.get("text").is_some();
                    let fields = block["fields"].as_array().map_or(0, Vec::len);
                    assert!(has_text || fields > 0, "empty section");
                    if has_text {
                        let n = chars(&block["text"]["text"]);
                        assert!((1..=MAX_SECTION_TEXT).contains(&n), "section {n}");
                        assert_safe(block["text"]["text"].as_str().unwrap());
                    }
                    assert!(fields <= MAX_FIELDS, "{fields} fields");
                    for f in block["fields"].as_array().into_iter().flatten() {
                        let n = chars(&f["text"]);
                        assert!((1..=MAX_FIELD_TEXT).contains(&n), "field {n}");
                        assert_safe(f["text"].as_str().unwrap());
                    }
                }
                "context" => {
                    let els = block["elements"].as_array().unwrap();
                    assert!((1..=MAX_CONTEXT_ELEMENTS).contains(&els.len()));
                    for e in els {
                        let n = chars(&e["text"]);
                        assert!((1..=MAX_CONTEXT_TEXT).contains(&n), "context {n}");
                        assert_safe(e["text"].as_str().unwrap());
                    }
                }
                "actions" => {
                    let els = block["elements"].as_array().unwrap();
                    assert!((1..=MAX_ACTIONS_ELEMENTS).contains(&els.len()));
                    let mut ids = HashSet::new();
                    for e in els {
                        assert_eq!(e["type"], "button");
                        let n = chars(&e["text"]["text"]);
                        assert!((1..=MAX_BUTTON_TEXT).contains(&n), "button {n}");
                        let id = e["action_id"].as_str().unwrap();
                        assert!(id.len() <= MAX_ACTION_ID);
                        assert!(ids.insert(id.to_string()), "duplicate action_id {id}");
                        assert!(Action::decode(id).is_some());
                    }
                }
                "divider" => {}
                other => panic!("unexpected block type {other}"),
            }
        }
    }

    /// Every `<` opens a link the renderer made; nothing can be a mention or broadcast.
    fn assert_safe(mrkdwn: &str) {
        for (i, _) in mrkdwn.match_indices('<') {
            let rest = &mrkdwn[i + 1..];
            assert!(
                ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| rest.to_ascii_lowercase().starts_with(s)),
                "unexpected markup in {mrkdwn:?}"
            );
            let end = rest.find('>').expect("link closed");
            assert!(!rest[..end].contains('<'));
        }
        for word in BROADCAST_WORDS {
            assert!(
                !mrkdwn.to_lowercase().contains(&format!("@{word}")),
                "{mrkdwn:?}"
            );
        }
    }

    fn button(label: &str, action: Action) -> Button {
        Button {
            label: label.into(),
            action,
            primary: false,
        }
    }

    #[test]
    fn a_small_message_renders_whole() {
        let m = Message::new()
            .header("Weekly digest · Onboarding")
            .section(
                Text::plain("Top: ")
                    .strong("Refunds")
                    .and(" are ")
                    .emphasis("up 3×")
                    .line()
                    .quote("I was charged twice")
                    .and(" ")
                    .code("#12")
                    .and(" ")
                    .link("source", "https://x.test/a?b=1&c=2"),
            )
            .context(Text::plain("week 2024-W23"))
            .divider()
            .push(Block::Actions(vec![Button {
                label: "Discuss".into(),
                action: Action::Discuss(12),
                primary: true,
            }]));
        let r = render(&m);
        assert!(!r.truncated);
        assert_within_limits(&r);
        assert_eq!(r.blocks.len(), 5);
        assert_eq!(r.blocks[0]["text"]["text"], "Weekly digest · Onboarding");
        assert_eq!(
            r.blocks[1]["text"]["text"],
            "Top: *Refunds* are _up 3×_\n“I was charged twice” `#12` <https://x.test/a?b=1&amp;c=2|source>"
        );
        assert_eq!(r.blocks[3]["type"], "divider");
        assert_eq!(r.blocks[4]["elements"][0]["action_id"], "fw.discuss.12");
        assert_eq!(r.blocks[4]["elements"][0]["style"], "primary");
        assert!(
            r.text
                .starts_with("Weekly digest · Onboarding\nTop: Refunds")
        );
    }

    #[test]
    fn hostile_customer_text_cannot_mention_or_link() {
        let hostile = "<!channel> <!here|here> <@U0123ABCD> <#C0123ABCD> <https://evil.test|bank> \
                       @channel @Here @everyone a & b > c \u{1b}[2J";
        let m = Message::new()
            .header(hostile)
            .section(Text::plain(hostile).quote(hostile).strong(hostile))
            .push(Block::Section(Section {
                text: Text::new(),
                fields: vec![Field {
                    label: hostile.into(),
                    value: Text::plain(hostile),
                }],
            }))
            .context(
                Text::new()
                    .link(hostile, hostile)
                    .link("label <!channel>", "https://ok.test/x|<!channel>"),
            )
            .context(Text::new().link("js", "javascript:alert(1)"));
        let r = render(&m);
        assert_within_limits(&r);
        let section = r.blocks[1]["text"]["text"].as_str().unwrap();
        assert!(section.starts_with("&lt;!channel&gt; &lt;!here|here&gt; &lt;@U0123ABCD&gt;"));
        assert!(section.contains("a &amp; b &gt; c"));
        assert!(!section.contains('\u{1b}'));
        assert!(section.contains("@\u{2060}channel @\u{2060}Here @\u{2060}everyone"));
        let links = r.blocks[3]["elements"][0]["text"].as_str().unwrap();
        assert!(links.ends_with("<https://ok.test/x%7C%3C!channel%3E|label &lt;!channel&gt;>"));
        assert_eq!(
            r.blocks[4]["elements"][0]["text"],
            "js (javascript:alert(1))"
        );
        assert!(!r.text.contains('<'));
        // The header is plain text: shown as typed, minus control characters.
        assert!(
            r.blocks[0]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("<!channel>")
        );
    }

    #[test]
    fn styling_that_would_break_is_dropped() {
        let m = Message::new().section(
            Text::new()
                .strong("2*3")
                .and(" ")
                .emphasis("snake_case")
                .and(" ")
                .code("a`b")
                .and(" ")
                .strong(" padded "),
        );
        let r = render(&m);
        assert_eq!(r.blocks[0]["text"]["text"], "2*3 snake_case a`b  *padded* ");
    }

    #[test]
    fn long_section_text_is_cut_and_offers_more() {
        let m = Message::new()
            .section(Text::plain("x".repeat(5000)))
            .push(Block::Actions(vec![button(
                "Full digest",
                Action::ShowMore {
                    what: MoreRef::Digest(7),
                },
            )]));
        let r = render(&m);
        assert!(r.truncated);
        assert_within_limits(&r);
        let text = r.blocks[0]["text"]["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), MAX_SECTION_TEXT);
        assert!(text.ends_with('…'));
        // The message's own show-more button is kept, not repeated.
        assert_eq!(r.blocks.len(), 2);
        assert_eq!(r.blocks[1]["elements"][0]["action_id"], "fw.more.digest.7");
    }

    #[test]
    fn escapes_are_never_split_by_a_cut() {
        let m = Message::new().section(Text::plain("&".repeat(1000)));
        let r = render(&m);
        let text = r.blocks[0]["text"]["text"].as_str().unwrap();
        assert!(text.chars().count() <= MAX_SECTION_TEXT);
        assert!(text.trim_end_matches('…').ends_with("&amp;"));
        assert_eq!(text.matches("&amp;").count(), (MAX_SECTION_TEXT - 1) / 5);
    }

    #[test]
    fn a_cut_bold_span_is_still_closed() {
        let m = Message::new().section(Text::plain("a".repeat(2990)).strong("b".repeat(50)));
        let text = render(&m).blocks[0]["text"]["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.ends_with("*…"), "{}", &text[2980..]);
        assert_eq!(text.matches('*').count(), 2);
    }

    #[test]
    fn too_many_blocks_end_with_a_show_more_button() {
        let mut m = Message::new().header("Digest");
        for id in 0..40 {
            m = m
                .section(Text::plain(format!("Insight {id}")))
                .push(Block::Actions(vec![button("Discuss", Action::Discuss(id))]));
        }
        let r = render_with_more(&m, Some(MoreRef::Digest(3)));
        assert!(r.truncated);
        assert_within_limits(&r);
        assert_eq!(r.blocks.len(), MAX_BLOCKS);
        let last = &r.blocks[MAX_BLOCKS - 1];
        assert_eq!(last["elements"][0]["action_id"], "fw.more.digest.3");
        assert_eq!(last["elements"][0]["text"]["text"], "Show more");

        // Without a reference given, the first insight that was left out is offered.
        let r = render(&m);
        let last = &r.blocks[MAX_BLOCKS - 1];
        assert_eq!(last["elements"][0]["action_id"], "fw.more.insight.24");
        assert_within_limits(&r);
    }

    #[test]
    fn with_nothing_to_point_at_a_note_says_it_was_shortened() {
        let mut m = Message::new();
        for i in 0..60 {
            m = m.section(Text::plain(format!("line {i}")));
        }
        let r = render(&m);
        assert_within_limits(&r);
        assert_eq!(r.blocks[MAX_BLOCKS - 1]["type"], "context");
    }

    #[test]
    fn fields_and_buttons_are_split_not_dropped() {
        let fields = (0..23)
            .map(|i| Field {
                label: format!("L{i}"),
                value: Text::plain("v".repeat(3000)),
            })
            .collect();
        let buttons = (0..60).map(|i| button("Flag", Action::Flag(i))).collect();
        let m = Message::new()
            .push(Block::Section(Section {
                text: Text::plain("intro"),
                fields,
            }))
            .push(Block::Actions(buttons))
            .push(Block::Context(
                (0..14).map(|i| Text::plain(format!("c{i}"))).collect(),
            ));
        let r = render(&m);
        assert_within_limits(&r);
        let kinds: Vec<&str> = r
            .blocks
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            &kinds[..7],
            [
                "section", "section", "section", "actions", "actions", "actions", "context"
            ]
        );
        assert_eq!(r.blocks[2]["fields"].as_array().unwrap().len(), 3);
        assert_eq!(r.blocks[5]["elements"].as_array().unwrap().len(), 10);
        assert_eq!(
            r.blocks[6]["elements"][9]["text"],
            "c9 · c10 · c11 · c12 · c13"
        );
        assert!(r.truncated, "field values over 2,000 characters were cut");
    }

    #[test]
    fn empty_parts_are_skipped_and_empty_messages_still_have_text() {
        let m = Message::new()
            .header("  ")
            .section(Text::new())
            .push(Block::Context(vec![Text::plain(" ")]))
            .push(Block::Actions(vec![]));
        let r = render(&m);
        assert!(r.blocks.is_empty());
        assert_eq!(r.text, EMPTY_TEXT);
        assert_eq!(render(&Message::new()).text, EMPTY_TEXT);
    }

    #[test]
    fn long_labels_and_headers_are_cut() {
        let m = Message::new()
            .header("h".repeat(400))
            .push(Block::Actions(vec![button(
                &"b".repeat(200),
                Action::Useful(1),
            )]));
        let r = render(&m);
        assert_within_limits(&r);
        assert!(r.truncated);
        assert_eq!(chars(&r.blocks[0]["text"]["text"]), MAX_HEADER_TEXT);
        assert_eq!(
            chars(&r.blocks[1]["elements"][0]["text"]["text"]),
            MAX_BUTTON_TEXT
        );
    }

    fn arb_string() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => ".{0,40}",
            1 => "[<>&@!*_`|\n a-z]{0,60}",
            1 => (0usize..4000).prop_map(|n| "é&<".repeat(n / 3)),
            1 => Just("<!channel> @here <@U1>".to_string()),
        ]
    }

    fn arb_span() -> impl Strategy<Value = Span> {
        prop_oneof![
            arb_string().prop_map(Span::Plain),
            arb_string().prop_map(Span::Strong),
            arb_string().prop_map(Span::Emphasis),
            arb_string().prop_map(Span::Code),
            arb_string().prop_map(Span::Quote),
            (
                arb_string(),
                prop_oneof![arb_string(), "https://[a-z<>|&]{1,30}"]
            )
                .prop_map(|(label, url)| Span::Link { label, url }),
            Just(Span::Break),
        ]
    }

    fn arb_text() -> impl Strategy<Value = Text> {
        prop::collection::vec(arb_span(), 0..6).prop_map(|spans| Text { spans })
    }

    fn arb_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            any::<i64>().prop_map(Action::Discuss),
            any::<i64>().prop_map(Action::Flag),
            (0i64..5).prop_map(Action::Useful),
            any::<i64>().prop_map(|id| Action::ShowMore {
                what: MoreRef::Digest(id)
            }),
        ]
    }

    fn arb_block() -> impl Strategy<Value = Block> {
        prop_oneof![
            arb_string().prop_map(Block::Header),
            (
                arb_text(),
                prop::collection::vec(
                    (arb_string(), arb_text()).prop_map(|(label, value)| Field { label, value }),
                    0..14
                )
            )
                .prop_map(|(text, fields)| Block::Section(Section { text, fields })),
            prop::collection::vec(arb_text(), 0..13).prop_map(Block::Context),
            prop::collection::vec(
                (arb_string(), arb_action(), any::<bool>()).prop_map(|(label, action, primary)| {
                    Button {
                        label,
                        action,
                        primary,
                    }
                }),
                0..30
            )
            .prop_map(Block::Actions),
            Just(Block::Divider),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_message_renders_within_limits(blocks in prop::collection::vec(arb_block(), 0..60)) {
            let message = Message { blocks };
            let r = render(&message);
            assert_within_limits(&r);
            assert_safe(&r.text);
        }
    }
}
