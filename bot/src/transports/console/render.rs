//! Console rendering: the neutral message as plain text for a terminal or a log file.

use std::path::PathBuf;

use flywheel_insights::message::{Block, Message, Span, Text};

/// Renders a message as plain text for a terminal or a log file. A chart is described in
/// words.
///
/// Customer text can hold anything; control characters (terminal escape sequences included)
/// are dropped so a hostile complaint cannot rewrite the operator's screen.
pub fn render(message: &Message) -> String {
    render_with_charts(message, &[])
}

/// Renders a message like [`render`], naming for the n-th chart the file it was drawn into,
/// `files[n]`, when there is one.
pub fn render_with_charts(message: &Message, files: &[Option<PathBuf>]) -> String {
    let mut out = String::new();
    let mut charts = files.iter();
    for block in &message.blocks {
        match block {
            Block::Header(title) => {
                let title = clean(title);
                let width = title.chars().count().clamp(3, 72);
                out.push_str(&title);
                out.push('\n');
                out.push_str(&"─".repeat(width));
                out.push('\n');
            }
            Block::Section(section) => {
                if !section.text.is_empty() {
                    out.push_str(&text(&section.text));
                    out.push('\n');
                }
                for field in &section.fields {
                    out.push_str(&format!(
                        "  {}: {}\n",
                        clean(&field.label),
                        text(&field.value)
                    ));
                }
            }
            Block::Context(texts) => {
                let line: Vec<String> = texts.iter().map(text).collect();
                out.push_str(&format!("  {}\n", line.join(" · ")));
            }
            Block::Actions(buttons) => {
                let line: Vec<String> = buttons
                    .iter()
                    .map(|b| format!("{}: {}", clean(&b.label), b.action.command()))
                    .collect();
                out.push_str(&format!("  ↳ {}\n", line.join("  ·  ")));
            }
            Block::Divider => out.push('\n'),
            Block::Chart(chart) => {
                out.push_str(&format!("  Chart: {}\n", clean(&chart.describe())));
                if let Some(Some(file)) = charts.next() {
                    out.push_str(&format!(
                        "  ↳ drawn in {}\n",
                        clean(&file.display().to_string())
                    ));
                }
            }
        }
    }
    out
}

fn text(t: &Text) -> String {
    let mut out = String::new();
    for span in &t.spans {
        match span {
            Span::Plain(s) | Span::Strong(s) | Span::Emphasis(s) => out.push_str(&clean(s)),
            Span::Code(s) => out.push_str(&clean(s)),
            Span::Quote(s) => {
                out.push('“');
                out.push_str(&clean(s));
                out.push('”');
            }
            Span::Link { label, url } => {
                if label == url {
                    out.push_str(&clean(url));
                } else {
                    out.push_str(&format!("{} <{}>", clean(label), clean(url)));
                }
            }
            Span::Break => out.push_str("\n  "),
        }
    }
    out
}

/// Drops control characters but keeps line structure.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flywheel_insights::message::{Action, Button};

    #[test]
    fn escapes_are_dropped_and_words_kept() {
        let m = Message::new()
            .header("Digest\u{1b}[2J")
            .section(Text::plain("A ").quote("evil \u{1b}]0;pwned\u{7} text"))
            .push(Block::Actions(vec![Button {
                label: "Flag for decision".into(),
                action: Action::Flag(7),
                primary: false,
            }]));
        let out = render(&m);
        assert!(!out.contains('\u{1b}'));
        assert!(!out.contains('\u{7}'));
        assert!(out.starts_with("Digest[2J\n"));
        assert!(out.contains("A “evil ]0;pwned text”"));
        assert!(out.contains("Flag for decision: /insights flag 7"));
    }

    #[test]
    fn a_chart_is_described_and_its_file_named() {
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let chart = flywheel_insights::message::ChartSpec {
            title: "Top themes\u{1b}[2J".into(),
            weeks: vec![monday],
            series: vec![flywheel_insights::message::ChartSeries {
                name: "Billing".into(),
                counts: vec![4],
            }],
        };
        let m = Message::new().chart(chart);
        let out = render(&m);
        assert_eq!(
            out,
            "  Chart: Top themes[2J: Billing 4 → 4 (peak 4), weeks of 5 Jan to 5 Jan 2026\n"
        );
        let out = render_with_charts(&m, &[Some(PathBuf::from("/tmp/chart.png"))]);
        assert!(out.ends_with("  ↳ drawn in /tmp/chart.png\n"), "{out}");
    }
}
