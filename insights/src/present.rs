//! How Flywheel's answers read: an [`Answer`] turned into a platform-neutral [`Message`] that the
//! console, Slack and Discord adapters each render in their own markup.

use crate::answer::{Answer, WeekCount};
use crate::message::{Block, Field, Message, Section, Text};
use crate::rank::Ranked;
use crate::search::Count;

/// Themes and segments listed in an answer's summary.
const LISTED_COUNTS: usize = 5;

/// An answer: the summary (how many, from how many accounts, top themes and segments, the
/// trend), then each ranked insight with its quote, id, date, themes and why it ranks there.
/// `notes` (such as "no theme is called …") come first.
pub fn answer(answer: &Answer, notes: &[String]) -> Message {
    let mut message = Message::new().header(headline(answer));
    for note in notes {
        message = message.section(Text::plain(note.clone()));
    }
    if answer.relaxed {
        let lead = match answer.every_word.unwrap_or(0) {
            0 => "Nothing matched every word".to_string(),
            1 => "Only 1 insight matched every word".to_string(),
            n => format!("Only {n} insights matched every word"),
        };
        message = message.section(Text::plain(format!(
            "{lead}, so these match some of them, those holding most of the question first."
        )));
    }
    if answer.total == 0 {
        return message.section(Text::plain(
            "Try fewer words, an OR between alternatives, or a wider date range (since:365d).",
        ));
    }

    let mut fields = Vec::new();
    if !answer.themes.is_empty() {
        fields.push(Field {
            label: "Top themes".into(),
            value: Text::plain(counts(&answer.themes)),
        });
    }
    if !answer.segments.is_empty() {
        fields.push(Field {
            label: "Segments".into(),
            value: Text::plain(counts(&answer.segments)),
        });
    }
    if answer.trend.iter().any(|w| w.count > 0) {
        fields.push(Field {
            label: "Trend".into(),
            value: Text::plain(format!(
                "{} {} (weeks from {})",
                sparkline(&answer.trend),
                answer.trend_direction(),
                answer.trend[0].week_start.format("%Y-%m-%d"),
            )),
        });
    }
    if !fields.is_empty() {
        message = message.push(Block::Section(Section {
            text: Text::new(),
            fields,
        }));
    }

    let shown = answer.results.len() as u64;
    message = message.section(Text::plain(if shown < answer.total {
        format!("The best {shown} of {}:", answer.total)
    } else {
        "The matches:".to_string()
    }));
    for ranked in &answer.results {
        message = result(message, ranked);
    }
    message
}

fn headline(answer: &Answer) -> String {
    let query = answer.query.trim();
    match (answer.total, answer.accounts) {
        (0, _) => format!("Nothing matches “{query}”"),
        (1, _) => format!("1 insight matches “{query}”"),
        (n, 0) => format!("{n} insights match “{query}”"),
        (n, 1) => format!("{n} insights from 1 account match “{query}”"),
        (n, a) => format!("{n} insights from {a} accounts match “{query}”"),
    }
}

fn result(message: Message, ranked: &Ranked) -> Message {
    let insight = &ranked.insight;
    let data = &insight.data;
    let mut quote = Text::new().strong(format!("#{}", insight.id)).and(" ");
    quote = quote.strong(data.title.clone());
    if !ranked.snippet.is_empty() && ranked.snippet != data.title {
        quote = quote.line().quote(ranked.snippet.clone());
    }
    let mut about = vec![
        data.observed_on.format("%Y-%m-%d").to_string(),
        format!("{} {}", data.source, data.source_ref),
    ];
    if let Some(account) = &data.account {
        about.push(account.clone());
    }
    if !insight.themes.is_empty() {
        about.push(insight.themes.join(", "));
    }
    let mut context = vec![Text::plain(about.join(" · "))];
    if !ranked.reasons.is_empty() {
        let reasons: Vec<String> = ranked.reasons.iter().map(ToString::to_string).collect();
        context.push(Text::new().emphasis(format!("why: {}", reasons.join("; "))));
    }
    message.section(quote).push(Block::Context(context))
}

fn counts(counts: &[Count]) -> String {
    counts
        .iter()
        .take(LISTED_COUNTS)
        .map(|c| format!("{} ({})", c.name, c.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `▁▂▅█▃`: one bar per week, scaled to the busiest.
pub fn sparkline(weeks: &[WeekCount]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = weeks.iter().map(|w| w.count).max().unwrap_or(0);
    weeks
        .iter()
        .map(|w| {
            if max == 0 {
                BARS[0]
            } else {
                BARS[((w.count * 7).div_ceil(max)) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn week(day: u32, count: u64) -> WeekCount {
        WeekCount {
            week_start: NaiveDate::from_ymd_opt(2023, 7, day).unwrap(),
            count,
        }
    }

    #[test]
    fn sparkline_scales_to_the_busiest_week() {
        let line = sparkline(&[week(3, 0), week(10, 1), week(17, 14), week(24, 7)]);
        assert_eq!(line, "▁▂█▅");
        assert_eq!(sparkline(&[week(3, 0)]), "▁");
    }

    #[test]
    fn an_empty_answer_suggests_what_to_try() {
        let a = Answer {
            query: "zebra".into(),
            total: 0,
            relaxed: false,
            every_word: None,
            accounts: 0,
            themes: vec![],
            segments: vec![],
            trend: vec![],
            results: vec![],
        };
        let text = answer(&a, &["no theme is called \"bilin\"".into()]).to_plain();
        assert!(text.contains("Nothing matches “zebra”"), "{text}");
        assert!(text.contains("no theme is called"), "{text}");
        assert!(text.contains("since:365d"), "{text}");
    }

    #[test]
    fn the_summary_counts_accounts_and_lists_themes() {
        let a = Answer {
            query: "refund".into(),
            total: 12,
            relaxed: true,
            every_word: Some(2),
            accounts: 3,
            themes: vec![Count {
                name: "Billing".into(),
                count: 9,
            }],
            segments: vec![],
            trend: vec![week(3, 2), week(10, 10)],
            results: vec![],
        };
        let text = answer(&a, &[]).to_plain();
        assert!(
            text.contains("12 insights from 3 accounts match “refund”"),
            "{text}"
        );
        assert!(text.contains("Billing (9)"), "{text}");
        assert!(
            text.contains("Only 2 insights matched every word, so these match some of them"),
            "{text}"
        );
        assert!(text.contains("The best 0 of 12"), "{text}");
    }
}
