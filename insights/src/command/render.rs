//! Commands as text: the canonical command line of a [`Command`], and the help message.

use std::fmt;

use super::lex::is_quote;
use super::*;
use crate::message::{Message, Text};
use crate::model::Vocabulary;

/// What help says about a topic.
struct About {
    /// One line, for the command list.
    short: &'static str,
    /// A few sentences, for the topic's own help.
    long: &'static str,
    /// Commands that work, each on its own line; the first is the one the list shows.
    examples: &'static [&'static str],
}

fn about(topic: Topic) -> About {
    match topic {
        Topic::Ask => About {
            short: "search the insights",
            long: "Search the insights and get the best matches, ranked, with why each matched. \
                   Answers are shown only to you; add --share to post one in the channel. \
                   Filters: theme: segment: account: source: stage: kind: sentiment: \
                   severity:>=4 since:30d until:2026-03-31; \"quoted phrases\", -excluded words \
                   and OR work too.",
            examples: &[
                "/insights ask what do enterprise customers say about onboarding?",
                "/insights ask --share refund OR chargeback theme:billing since:30d",
            ],
        },
        Topic::Chart => About {
            short: "post the weekly trend of a question as a chart",
            long: "Post a chart of how many insights matched the question each week, over the \
                   last 8 weeks up to the newest match, in the channel for everyone (an image \
                   cannot be shown to you alone everywhere). The question is read as for \
                   /insights ask, filters included.",
            examples: &[
                "/insights chart refund",
                "/insights chart onboarding theme:billing segment:enterprise",
            ],
        },
        Topic::Show => About {
            short: "one insight in full",
            long: "Show one insight in full, with its themes, source and discussion.",
            examples: &["/insights show 12"],
        },
        Topic::Add => About {
            short: "add an insight in your own words",
            long: "Add an insight heard from a customer. Fields anywhere in the text are filed \
                   instead of kept as text; the text may be up to 4,000 characters.",
            examples: &[
                "/insights add Charged twice for one order theme:billing kind:pain severity:4",
                "/insights add Wants SSO before renewal account:\"Acme, Inc.\" segment:enterprise stage:renewal kind:request",
            ],
        },
        Topic::Flag => About {
            short: "ask for a decision on an insight",
            long: "Flag an insight for a decision, with a note saying why. Flagged insights wait \
                   in /decision queue and in the next digest.",
            examples: &["/insights flag 12 duplicate charges keep coming up"],
        },
        Topic::Useful => About {
            short: "mark an insight as useful",
            long: "Vote that an insight was useful to you.",
            examples: &["/insights useful 12"],
        },
        Topic::Digest => About {
            short: "your team's digest, now",
            long: "Post your team's digest now; with preview, only you see it.",
            examples: &["/insights digest preview", "/insights digest"],
        },
        Topic::Watch => About {
            short: "hear about new insights on a question",
            long: "Watch a question from this channel: new insights that match it are posted \
                   here as they arrive (every:now, the default), or gathered hourly or daily. \
                   The question is written as for ask. The channel only ever sees insights its \
                   team may see, and alerts found during the team's quiet hours wait for the \
                   morning.",
            examples: &[
                "/insights watch refund -\"gift card\"",
                "/insights watch theme:onboarding severity:>=4 every:daily",
            ],
        },
        Topic::Watches => About {
            short: "this channel's watches",
            long: "List the questions this channel watches, with their ids.",
            examples: &["/insights watches"],
        },
        Topic::Unwatch => About {
            short: "stop watching a question",
            long: "End one of this channel's watches, by the id /insights watches shows.",
            examples: &["/insights unwatch 3"],
        },
        Topic::Help => About {
            short: "these commands, or one in detail",
            long: "List the commands, or explain one of them.",
            examples: &["/insights help add", "/insights help decision log"],
        },
        Topic::Decision => About {
            short: "decisions and the insights behind them",
            long: "Log decisions with the insights they rest on, and review them later: was \
                   each kept, changed or reversed?",
            examples: &["/decision help log"],
        },
        Topic::DecisionLog => About {
            short: "log a decision and its evidence",
            long: "Log a decision with the insights it rests on. Review in days, weeks or months \
                   (30d, 2w, 6m) or on a date (2026-03-01); without review:, the team's default \
                   applies. The owner is @name, me, or a platform id such as slack:U0123ABCD; \
                   without owner:, it is you.",
            examples: &[
                "/decision log \"Refund duplicate charges automatically\" evidence:12,15 review:30d owner:me rationale:\"top complaint in billing\"",
                "/decision log Drop the setup fee evidence:#7 review:2026-03-01",
            ],
        },
        Topic::DecisionList => About {
            short: "list decisions",
            long: "List decisions: open (the default), due for review, mine, or all, \
                   optionally only those matching some words.",
            examples: &["/decision list due", "/decision list all refunds"],
        },
        Topic::DecisionShow => About {
            short: "one decision with its evidence",
            long: "Show a decision with its evidence, owner and reviews.",
            examples: &["/decision show 4"],
        },
        Topic::DecisionReview => About {
            short: "record how a decision turned out",
            long: "Record how a decision turned out: kept, changed or reversed, and what \
                   happened.",
            examples: &["/decision review 4 kept \"duplicate-charge tickets halved\""],
        },
        Topic::DecisionQueue => About {
            short: "flagged insights waiting for a decision",
            long: "Show the insights flagged for a decision that none cites yet.",
            examples: &["/decision queue"],
        },
        Topic::DecisionStats => About {
            short: "how decisions have fared",
            long: "Count decisions by outcome: kept, changed, reversed, and still open.",
            examples: &["/decision stats"],
        },
    }
}

/// The help message: every command with one example when `topic` is `None`, else the
/// topic's usage, explanation and examples.
pub fn help(topic: Option<Topic>) -> Message {
    let Some(topic) = topic else {
        let list = |title: &str, topics: &[Topic]| {
            let mut text = Text::new().strong(title);
            for topic in topics {
                let info = about(*topic);
                text = text
                    .line()
                    .code(info.examples[0])
                    .and(format!(" — {}", info.short));
            }
            text
        };
        return Message::new()
            .header("Flywheel commands")
            .section(list(
                "Insights",
                &[
                    Topic::Ask,
                    Topic::Chart,
                    Topic::Show,
                    Topic::Add,
                    Topic::Flag,
                    Topic::Useful,
                    Topic::Digest,
                    Topic::Watch,
                    Topic::Watches,
                    Topic::Unwatch,
                ],
            ))
            .section(list(
                "Decisions",
                &[
                    Topic::DecisionLog,
                    Topic::DecisionList,
                    Topic::DecisionShow,
                    Topic::DecisionReview,
                    Topic::DecisionQueue,
                    Topic::DecisionStats,
                ],
            ))
            .context(
                Text::plain("Answers are private unless you add ")
                    .code("--share")
                    .and(". More on one command: ")
                    .code(USAGE_HELP),
            );
    };
    let info = about(topic);
    let mut message = Message::new()
        .header(topic.to_string())
        .section(Text::plain(info.long))
        .section(Text::plain("Usage: ").code(topic.usage()));
    if topic == Topic::Decision {
        let mut text = Text::new();
        for (i, sub) in [
            Topic::DecisionLog,
            Topic::DecisionList,
            Topic::DecisionShow,
            Topic::DecisionReview,
            Topic::DecisionQueue,
            Topic::DecisionStats,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                text = text.line();
            }
            text = text
                .code(sub.usage())
                .and(format!(" — {}", about(sub).short));
        }
        message = message.section(text);
    }
    let mut examples = Text::plain(if info.examples.len() == 1 {
        "Example:"
    } else {
        "Examples:"
    });
    for example in info.examples {
        examples = examples.line().code(*example);
    }
    message = message.section(examples);
    if topic == Topic::Add {
        let names = |all: Vec<&'static str>| all.join(", ");
        message = message.context(Text::plain(format!(
            "kind: {}. stage: {}. severity: 1 (mild) to 5 (severe).",
            names(Kind::ALL.iter().map(|k| k.name()).collect()),
            names(Stage::ALL.iter().map(|s| s.name()).collect()),
        )));
    }
    message
}

/// Text as one command argument: quoted when it holds a space or starts with a quote.
/// Parsed text never holds a space and a quote together unquoted, so this is always exact.
fn value(text: &str) -> String {
    if text.contains(' ') || text.starts_with(is_quote) {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

/// Free text (a title, note or rationale): quoted unless it holds quotes itself, in which
/// case it was typed unquoted and reads back the same way.
fn free_text(text: &str) -> String {
    if text.contains(is_quote) {
        text.to_string()
    } else {
        format!("\"{text}\"")
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Ask { query, share } => {
                let share = if *share { "--share " } else { "" };
                write!(f, "/insights ask {share}{query}")
            }
            Command::Chart { query } => write!(f, "/insights chart {query}"),
            Command::Show { id } => write!(f, "/insights show {id}"),
            Command::Add(new) => {
                write!(f, "/insights add {}", new.text)?;
                for theme in &new.themes {
                    write!(f, " theme:{}", value(theme))?;
                }
                if let Some(segment) = &new.segment {
                    write!(f, " segment:{}", value(segment))?;
                }
                if let Some(kind) = new.kind {
                    write!(f, " kind:{kind}")?;
                }
                if let Some(stage) = new.stage {
                    write!(f, " stage:{stage}")?;
                }
                if let Some(severity) = new.severity {
                    write!(f, " severity:{severity}")?;
                }
                if let Some(account) = &new.account {
                    write!(f, " account:{}", value(account))?;
                }
                Ok(())
            }
            Command::Flag { id, note } => {
                write!(f, "/insights flag {id}")?;
                match note {
                    Some(note) => write!(f, " {}", free_text(note)),
                    None => Ok(()),
                }
            }
            Command::Useful { id } => write!(f, "/insights useful {id}"),
            Command::Watch { query, every } => match every {
                Cadence::Now => write!(f, "/insights watch {query}"),
                every => write!(f, "/insights watch {query} every:{every}"),
            },
            Command::Watches => f.write_str("/insights watches"),
            Command::Unwatch { id } => write!(f, "/insights unwatch {id}"),
            Command::Digest { preview } => f.write_str(if *preview {
                "/insights digest preview"
            } else {
                "/insights digest"
            }),
            Command::Help { topic: None } => f.write_str("/insights help"),
            Command::Help { topic: Some(topic) } => match topic.word() {
                Some(word) => write!(f, "{} help {word}", topic.family().command()),
                None => write!(f, "{} help", topic.family().command()),
            },
            Command::DecisionLog(draft) => {
                let evidence: Vec<String> = draft.evidence.iter().map(i64::to_string).collect();
                write!(
                    f,
                    "/decision log {} evidence:{}",
                    free_text(&draft.title),
                    evidence.join(",")
                )?;
                if let Some(review) = draft.review {
                    write!(f, " review:{review}")?;
                }
                if let Some(owner) = &draft.owner {
                    write!(f, " owner:{}", value(&owner.to_string()))?;
                }
                if let Some(rationale) = &draft.rationale {
                    write!(f, " rationale:{}", free_text(rationale))?;
                }
                Ok(())
            }
            Command::DecisionList { filter, query } => {
                write!(f, "/decision list {filter}")?;
                match query {
                    Some(query) => write!(f, " {query}"),
                    None => Ok(()),
                }
            }
            Command::DecisionShow { id } => write!(f, "/decision show {id}"),
            Command::DecisionReview { id, outcome, note } => {
                write!(f, "/decision review {id} {outcome} {}", free_text(note))
            }
            Command::DecisionQueue => f.write_str("/decision queue"),
            Command::DecisionStats => f.write_str("/decision stats"),
        }
    }
}

impl fmt::Display for Topic {
    /// The command the topic explains: `/insights ask`, `/decision`, `/decision log`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.word() {
            Some(word) => write!(f, "{} {word}", self.family().command()),
            None => f.write_str(self.family().command()),
        }
    }
}

impl fmt::Display for ReviewWhen {
    /// As typed in a command: `30d`, `6m`, `2026-03-01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReviewWhen::InDays(days) => write!(f, "{days}d"),
            ReviewWhen::InMonths(months) => write!(f, "{months}m"),
            ReviewWhen::On(date) => write!(f, "{}", date.format("%Y-%m-%d")),
        }
    }
}

impl fmt::Display for OwnerRef {
    /// As typed in a command: `me`, `@alice`, `slack:U0123ABCD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OwnerRef::Me => f.write_str("me"),
            OwnerRef::Mention(name) => write!(f, "@{name}"),
            OwnerRef::User(address) => write!(f, "{address}"),
        }
    }
}

impl fmt::Display for Outcome {
    /// `kept`, `changed`, `reversed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ListFilter {
    /// `open`, `due`, `mine`, `all`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
