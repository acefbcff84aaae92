//! Reading a command line into a [`Command`].

use chrono::NaiveDate;

use super::error::{CommandError, CommandErrorKind, IdProblem, shown};
use super::lex::{Cursor, Line, QuoteError, Span, is_quote};
use super::*;
use crate::address::{AddressError, UserAddress};
use crate::model::{self, InsightId, Kind, Severity, Stage, Vocabulary, nearest};
use crate::watch::MAX_WATCH_CHARS;

/// Reads one chat command, such as `/insights ask refunds` or `decision show #4`.
///
/// The leading slash is optional and command words, field names, filters and outcomes ignore
/// case. Every whitespace character separates words and free text is kept with each run of
/// whitespace made one space. Control characters and invisible direction or zero-width marks
/// are dropped before reading (they would make stored text display differently from what was
/// typed); error positions still count them, so they point into the input as given. Input
/// over [`MAX_INPUT_CHARS`] characters is refused before it is read.
///
/// A family name alone (`/insights`, `/decision`) asks for help.
pub fn parse(input: &str) -> Result<Command, CommandError> {
    let chars = input.chars().count();
    if chars > MAX_INPUT_CHARS {
        return Err(CommandError {
            kind: CommandErrorKind::TooLong { chars },
            position: MAX_INPUT_CHARS,
            usage: USAGE_INSIGHTS,
            suggestion: None,
        });
    }
    let line = Line::new(input);
    Parser {
        cursor: Cursor::new(&line),
        usage: USAGE_INSIGHTS,
    }
    .command()
}

/// Reads a slash command as Slack (and similar platforms) deliver it: the command
/// (`/insights`) apart from the text after it (`ask refunds`). The same as [`parse`] on
/// `"{command} {text}"`; error positions count in that joined line.
pub fn parse_parts(command: &str, text: &str) -> Result<Command, CommandError> {
    parse(&format!("{command} {text}"))
}

const INSIGHTS_WORDS: &[&str] = &[
    "ask", "share", "chart", "show", "add", "flag", "useful", "digest", "watch", "watches",
    "unwatch", "help",
];
const DECISION_WORDS: &[&str] = &["log", "list", "show", "review", "queue", "stats", "help"];

/// A subcommand word of a family.
fn subcommand(family: Family, word: &str) -> Option<Topic> {
    Some(match (family, word) {
        (Family::Insights, "ask" | "share") => Topic::Ask,
        (Family::Insights, "chart") => Topic::Chart,
        (Family::Insights, "show") => Topic::Show,
        (Family::Insights, "add") => Topic::Add,
        (Family::Insights, "flag") => Topic::Flag,
        (Family::Insights, "useful") => Topic::Useful,
        (Family::Insights, "digest") => Topic::Digest,
        (Family::Insights, "watch") => Topic::Watch,
        (Family::Insights, "watches") => Topic::Watches,
        (Family::Insights, "unwatch") => Topic::Unwatch,
        (Family::Insights, "help") => Topic::Help,
        (Family::Decision, "log") => Topic::DecisionLog,
        (Family::Decision, "list") => Topic::DecisionList,
        (Family::Decision, "show") => Topic::DecisionShow,
        (Family::Decision, "review") => Topic::DecisionReview,
        (Family::Decision, "queue") => Topic::DecisionQueue,
        (Family::Decision, "stats") => Topic::DecisionStats,
        (Family::Decision, "help") => Topic::Decision,
        _ => return None,
    })
}

/// The fields `/insights add` reads out of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddField {
    Theme,
    Segment,
    Kind,
    Stage,
    Severity,
    Account,
}

const ADD_FIELDS: &[(&str, AddField)] = &[
    ("theme", AddField::Theme),
    ("themes", AddField::Theme),
    ("tag", AddField::Theme),
    ("tags", AddField::Theme),
    ("segment", AddField::Segment),
    ("kind", AddField::Kind),
    ("stage", AddField::Stage),
    ("severity", AddField::Severity),
    ("account", AddField::Account),
];
const ADD_FIELD_LIST: &str = "theme, segment, kind, stage, severity, account";

/// The fields of `/decision log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogField {
    Evidence,
    Review,
    Owner,
    Rationale,
}

const LOG_FIELDS: &[(&str, LogField)] = &[
    ("evidence", LogField::Evidence),
    ("review", LogField::Review),
    ("owner", LogField::Owner),
    ("rationale", LogField::Rationale),
];
const LOG_FIELD_LIST: &str = "evidence, review, owner, rationale";

/// How a word relates to a command's `name:value` fields.
enum FieldWord<F> {
    /// A field: which one, where its name starts and where its value starts.
    Field {
        field: F,
        name: &'static str,
        at: usize,
        value_at: usize,
    },
    /// `name:` with a name that is no field and not close to one (`https:`, `Pricing:`).
    OtherName { name: String, at: usize },
    /// Not `name:` at all.
    Text,
}

/// A field value as read: trimmed text and where it starts.
struct Value {
    text: String,
    span: Span,
}

struct Parser<'a> {
    cursor: Cursor<'a>,
    /// The usage line errors carry: the family's until the command is known.
    usage: &'static str,
}

impl<'a> Parser<'a> {
    fn line(&self) -> &'a Line {
        self.cursor.line
    }

    fn text(&self, span: Span) -> String {
        self.line().text(span)
    }

    fn fail(&self, at: usize, kind: CommandErrorKind) -> CommandError {
        CommandError {
            kind,
            position: self.line().origin(at),
            usage: self.usage,
            suggestion: None,
        }
    }

    fn fail_suggesting(
        &self,
        at: usize,
        kind: CommandErrorKind,
        suggestion: Option<impl Into<String>>,
    ) -> CommandError {
        CommandError {
            suggestion: suggestion.map(Into::into),
            ..self.fail(at, kind)
        }
    }

    fn end_of_input(&self) -> usize {
        self.line().len()
    }

    fn missing(&self, command: &'static str, what: &'static str) -> CommandError {
        self.fail(
            self.end_of_input(),
            CommandErrorKind::MissingArgument { command, what },
        )
    }

    fn quote_error(&self, error: QuoteError) -> CommandError {
        match error {
            QuoteError::Unterminated(at) => self.fail(at, CommandErrorKind::UnterminatedQuote),
            QuoteError::TextAfterClose(at) => self.fail(at, CommandErrorKind::QuoteInsideQuote),
        }
    }

    /// Fails if anything is left.
    fn finish(&mut self) -> Result<(), CommandError> {
        match self.cursor.word() {
            Some(word) => Err(self.fail(
                word.start,
                CommandErrorKind::ExtraArgument {
                    word: shown(&self.text(word)),
                },
            )),
            None => Ok(()),
        }
    }

    fn command(mut self) -> Result<Command, CommandError> {
        let Some(first) = self.cursor.word() else {
            return Err(CommandError {
                position: 0,
                ..self.fail(0, CommandErrorKind::Empty)
            });
        };
        let typed = self.text(first);
        let name = typed.strip_prefix('/').unwrap_or(&typed).to_lowercase();
        let family = match name.as_str() {
            "insights" => Family::Insights,
            "decision" => Family::Decision,
            _ => return Err(self.unknown_family(first, &typed, &name)),
        };
        self.usage = family.usage();
        let Some(word) = self.cursor.word() else {
            return Ok(Command::Help {
                topic: match family {
                    Family::Insights => None,
                    Family::Decision => Some(Topic::Decision),
                },
            });
        };
        let typed = self.text(word);
        let Some(topic) = subcommand(family, &typed.to_lowercase()) else {
            return Err(self.unknown_subcommand(family, word, &typed));
        };
        self.usage = topic.usage();
        match topic {
            Topic::Ask => self.ask(typed.eq_ignore_ascii_case("share")),
            Topic::Chart => self.chart(),
            Topic::Show => Ok(Command::Show {
                id: self.id_then_end("/insights show", "insight")?,
            }),
            Topic::Add => self.add().map(Command::Add),
            Topic::Flag => {
                let id = self.id("/insights flag", "insight")?;
                let note = self.note("the note")?;
                Ok(Command::Flag { id, note })
            }
            Topic::Useful => Ok(Command::Useful {
                id: self.id_then_end("/insights useful", "insight")?,
            }),
            Topic::Digest => self.digest(),
            Topic::Watch => self.watch(),
            Topic::Watches => self.finish().map(|()| Command::Watches),
            Topic::Unwatch => Ok(Command::Unwatch {
                id: self.id_then_end("/insights unwatch", "watch")?,
            }),
            Topic::Help | Topic::Decision => self.help(family),
            Topic::DecisionLog => self.decision_log().map(Command::DecisionLog),
            Topic::DecisionList => self.decision_list(),
            Topic::DecisionShow => Ok(Command::DecisionShow {
                id: self.id_then_end("/decision show", "decision")?,
            }),
            Topic::DecisionReview => self.decision_review(),
            Topic::DecisionQueue => self.finish().map(|()| Command::DecisionQueue),
            Topic::DecisionStats => self.finish().map(|()| Command::DecisionStats),
        }
    }

    /// `ask refunds` typed without a family gets `/insights ask refunds`; typos of a family
    /// get the family.
    fn unknown_family(&self, word: Span, typed: &str, name: &str) -> CommandError {
        let kind = CommandErrorKind::UnknownFamily { word: shown(typed) };
        for family in [Family::Insights, Family::Decision] {
            if let Some(topic) = subcommand(family, name) {
                let rest = self.line().collapsed(Span {
                    start: word.end,
                    end: self.end_of_input(),
                });
                let line = format!("{name} {rest}");
                return CommandError {
                    usage: topic.usage(),
                    ..self.fail_suggesting(
                        word.start,
                        kind,
                        Some(format!("{} {}", family.command(), shown(line.trim_end()))),
                    )
                };
            }
        }
        let suggestion = nearest(name, ["insights", "decision"]).map(|n| format!("/{n}"));
        self.fail_suggesting(word.start, kind, suggestion)
    }

    /// A typo of a subcommand gets the subcommand and its usage; a subcommand of the other
    /// family gets that family; other words after `/insights` were probably a question.
    fn unknown_subcommand(&self, family: Family, word: Span, typed: &str) -> CommandError {
        let kind = CommandErrorKind::UnknownSubcommand {
            family,
            word: shown(typed),
        };
        let lower = typed.to_lowercase();
        let other = match family {
            Family::Insights => Family::Decision,
            Family::Decision => Family::Insights,
        };
        let words = match family {
            Family::Insights => INSIGHTS_WORDS,
            Family::Decision => DECISION_WORDS,
        };
        // "what", "how", "does": a question typed without `ask`, not a typo of a command.
        let question = family == Family::Insights && crate::text::is_question_opener(&lower);
        let (suggestion, usage) = if let Some(topic) = subcommand(other, &lower) {
            (Some(format!("{} {lower}", other.command())), topic.usage())
        } else if let Some(close) = nearest(&lower, words.iter().copied()).filter(|_| !question) {
            let usage = match subcommand(family, close) {
                Some(Topic::Help | Topic::Decision) => help_usage(family),
                Some(topic) => topic.usage(),
                None => family.usage(),
            };
            (Some(close.to_string()), usage)
        } else if family == Family::Insights {
            let rest = self.line().collapsed(Span {
                start: word.start,
                end: self.end_of_input(),
            });
            (Some(format!("/insights ask {}", shown(&rest))), USAGE_ASK)
        } else {
            (None, family.usage())
        };
        CommandError {
            usage,
            ..self.fail_suggesting(word.start, kind, suggestion)
        }
    }

    /// An id (`12`, `#12`; a trailing `,` `:` or `.` is punctuation, not part of it).
    fn id(&mut self, command: &'static str, what: &'static str) -> Result<i64, CommandError> {
        let Some(word) = self.cursor.word() else {
            return Err(self.missing(
                command,
                if what == "insight" {
                    "an insight id"
                } else {
                    "a decision id"
                },
            ));
        };
        let typed = self.text(word);
        parse_id(&typed).map_err(|problem| {
            self.fail(
                word.start,
                CommandErrorKind::InvalidId {
                    what,
                    value: shown(&typed),
                    problem,
                },
            )
        })
    }

    fn id_then_end(
        &mut self,
        command: &'static str,
        what: &'static str,
    ) -> Result<i64, CommandError> {
        let id = self.id(command, what)?;
        self.finish()?;
        Ok(id)
    }

    /// Free text to the end: a note. Wrapped whole in quotes, the quotes go; otherwise quotes
    /// are part of the text. `None` when there is none.
    fn note(&mut self, what: &'static str) -> Result<Option<String>, CommandError> {
        let Some(rest) = self.cursor.rest() else {
            return Ok(None);
        };
        let line = self.line();
        let mut span = rest;
        if line.get(rest.start).is_some_and(is_quote)
            && line.find(rest.start + 1, rest.end, is_quote) == Some(rest.end - 1)
        {
            span = Span {
                start: rest.start + 1,
                end: rest.end - 1,
            };
        }
        let note = line.collapsed(span);
        if note.is_empty() {
            return Ok(None);
        }
        self.check_length(&note, rest.start, what, MAX_NOTE_CHARS)?;
        Ok(Some(note))
    }

    fn check_length(
        &self,
        text: &str,
        at: usize,
        what: &'static str,
        limit: usize,
    ) -> Result<(), CommandError> {
        let chars = text.chars().count();
        if chars > limit {
            return Err(self.fail(at, CommandErrorKind::TextTooLong { what, chars, limit }));
        }
        Ok(())
    }

    /// `ask [--share] QUESTION [--share]`: `--share` is read at either end, where people
    /// put afterthoughts; in the middle it is part of the question.
    fn ask(&mut self, mut share: bool) -> Result<Command, CommandError> {
        const COMMAND: &str = "/insights ask";
        let mut words = Vec::new();
        while let Some(word) = self.cursor.word() {
            if words.is_empty() && self.share_option(word)? {
                share = true;
            } else {
                words.push(word);
            }
        }
        while let Some(&last) = words.last() {
            if !self.share_option(last)? {
                break;
            }
            share = true;
            words.pop();
        }
        let (Some(first), Some(last)) = (words.first(), words.last()) else {
            return Err(self.missing(COMMAND, "a question"));
        };
        Ok(Command::Ask {
            query: self.line().collapsed(Span {
                start: first.start,
                end: last.end,
            }),
            share,
        })
    }

    /// `chart QUESTION`: no options, at either end (a chart is always posted for everyone).
    fn chart(&mut self) -> Result<Command, CommandError> {
        const COMMAND: &str = "/insights chart";
        let mut words = Vec::new();
        while let Some(word) = self.cursor.word() {
            words.push(word);
        }
        for end in [words.first(), words.last()].into_iter().flatten() {
            let typed = self.text(*end);
            if option_name(&typed).is_some() {
                return Err(self.fail_suggesting(
                    end.start,
                    CommandErrorKind::UnknownOption {
                        word: shown(&typed),
                    },
                    None::<String>,
                ));
            }
        }
        let (Some(first), Some(last)) = (words.first(), words.last()) else {
            return Err(self.missing(COMMAND, "a question"));
        };
        Ok(Command::Chart {
            query: self.line().collapsed(Span {
                start: first.start,
                end: last.end,
            }),
        })
    }

    /// Whether `word` is `--share`; another `--option` is an error.
    fn share_option(&self, word: Span) -> Result<bool, CommandError> {
        let typed = self.text(word);
        match option_name(&typed) {
            Some(name) if name == "share" => Ok(true),
            Some(_) => Err(self.unknown_option(word.start, &typed)),
            None => Ok(false),
        }
    }

    fn unknown_option(&self, at: usize, typed: &str) -> CommandError {
        let name = option_name(typed).unwrap_or_default();
        self.fail_suggesting(
            at,
            CommandErrorKind::UnknownOption { word: shown(typed) },
            nearest(&name, ["share"]).map(|n| format!("--{n}")),
        )
    }

    /// `watch QUESTION [every:now|hourly|daily]`: `every:` may stand anywhere; the rest is the
    /// question.
    fn watch(&mut self) -> Result<Command, CommandError> {
        const COMMAND: &str = "/insights watch";
        const KEY: &str = "every";
        let mut every = Cadence::Now;
        let mut words = Vec::new();
        while let Some(word) = self.cursor.word() {
            let typed = self.text(word);
            let Some((key, value)) = typed.split_once(':') else {
                words.push(word);
                continue;
            };
            if !key.eq_ignore_ascii_case(KEY) {
                words.push(word);
                continue;
            }
            every = Cadence::parse(value).ok_or_else(|| {
                let names = Cadence::ALL.map(Cadence::name);
                self.fail_suggesting(
                    word.start + key.len() + 1,
                    CommandErrorKind::InvalidValue {
                        key: KEY,
                        message: format!(
                            "`{}` is not how often: say every:now, every:hourly or every:daily",
                            shown(value)
                        ),
                    },
                    nearest(&value.to_lowercase(), names).map(|n| format!("every:{n}")),
                )
            })?;
        }
        let Some(first) = words.first() else {
            return Err(self.missing(COMMAND, "a question"));
        };
        let query = words
            .iter()
            .map(|word| self.line().collapsed(*word))
            .collect::<Vec<_>>()
            .join(" ");
        self.check_length(&query, first.start, "the question", MAX_WATCH_CHARS)?;
        Ok(Command::Watch { query, every })
    }

    /// `digest [preview]`.
    fn digest(&mut self) -> Result<Command, CommandError> {
        let Some(word) = self.cursor.word() else {
            return Ok(Command::Digest { preview: false });
        };
        let typed = self.text(word);
        let name = option_name(&typed).unwrap_or_else(|| typed.to_lowercase());
        if name != "preview" {
            return Err(self.fail_suggesting(
                word.start,
                CommandErrorKind::UnknownOption {
                    word: shown(&typed),
                },
                nearest(&name, ["preview"]),
            ));
        }
        self.finish()?;
        Ok(Command::Digest { preview: true })
    }

    /// `help [COMMAND]`, from either family.
    fn help(&mut self, family: Family) -> Result<Command, CommandError> {
        self.usage = help_usage(family);
        let Some(word) = self.cursor.word() else {
            return Ok(Command::Help {
                topic: match family {
                    Family::Insights => None,
                    Family::Decision => Some(Topic::Decision),
                },
            });
        };
        let typed = self.text(word);
        let name = typed.strip_prefix('/').unwrap_or(&typed).to_lowercase();
        let topic = match name.as_str() {
            "insights" => None,
            "decision" | "decisions" => {
                // `/insights help decision log` names a decision command.
                let sub = self.cursor.peek_word().and_then(|w| {
                    let t = subcommand(Family::Decision, &self.text(w).to_lowercase())?;
                    Some((w, t))
                });
                match sub {
                    Some((w, t)) => {
                        self.cursor.at = w.end;
                        Some(t)
                    }
                    None => Some(Topic::Decision),
                }
            }
            _ => {
                let topic = subcommand(family, &name)
                    .or_else(|| subcommand(Family::Insights, &name))
                    .or_else(|| subcommand(Family::Decision, &name));
                match topic {
                    Some(topic) => Some(topic),
                    None => {
                        let words = INSIGHTS_WORDS
                            .iter()
                            .chain(DECISION_WORDS)
                            .copied()
                            .chain(["decision"]);
                        return Err(self.fail_suggesting(
                            word.start,
                            CommandErrorKind::UnknownTopic {
                                word: shown(&typed),
                            },
                            nearest(&name, words),
                        ));
                    }
                }
            }
        };
        self.finish()?;
        Ok(Command::Help { topic })
    }

    /// Classifies a word against a command's fields. A `name:` that is not a field but is one
    /// or two letters from one is an error with the field as suggestion: it was meant as a
    /// field, and reading it as text would lose what it says quietly.
    fn field_word<F: Copy>(
        &self,
        word: Span,
        fields: &[(&'static str, F)],
        listing: &'static str,
    ) -> Result<FieldWord<F>, CommandError> {
        let line = self.line();
        let Some(colon) = line.find(word.start, word.end, |c| !c.is_alphabetic()) else {
            return Ok(FieldWord::Text);
        };
        if colon == word.start || line.get(colon) != Some(':') {
            return Ok(FieldWord::Text);
        }
        let typed = self.text(Span {
            start: word.start,
            end: colon,
        });
        let lower = typed.to_lowercase();
        if let Some((name, field)) = fields.iter().find(|(name, _)| *name == lower) {
            return Ok(FieldWord::Field {
                field: *field,
                name,
                at: word.start,
                value_at: colon + 1,
            });
        }
        match suggest_field(&lower, fields.iter().map(|(name, _)| *name)) {
            Some(suggestion) => Err(self.fail_suggesting(
                word.start,
                CommandErrorKind::UnknownField {
                    key: shown(&typed),
                    fields: listing,
                },
                Some(format!("{suggestion}:")),
            )),
            None => Ok(FieldWord::OtherName {
                name: typed,
                at: word.start,
            }),
        }
    }

    /// The value of a field starting at `value_at`: quoted, or up to the next space. Moves
    /// the cursor past it.
    fn value(
        &mut self,
        key: &'static str,
        example: &'static str,
        key_at: usize,
        value_at: usize,
    ) -> Result<Value, CommandError> {
        let line = self.line();
        let empty = |p: &Self| p.fail(key_at, CommandErrorKind::EmptyValue { key, example });
        match line.get(value_at) {
            None | Some(' ') => Err(empty(self)),
            Some(c) if is_quote(c) => {
                let (inner, next) = line.quoted(value_at).map_err(|e| self.quote_error(e))?;
                self.cursor.at = next;
                let text = line.collapsed(inner);
                if text.is_empty() {
                    return Err(empty(self));
                }
                Ok(Value { text, span: inner })
            }
            Some(_) => {
                let end = line
                    .find(value_at, line.len(), |c| c == ' ')
                    .unwrap_or(line.len());
                self.cursor.at = end;
                let span = Span {
                    start: value_at,
                    end,
                };
                Ok(Value {
                    text: self.text(span),
                    span,
                })
            }
        }
    }

    /// Comma-separated items of `span`, trimmed, with where each starts. An empty item is an
    /// error pointing where it should be.
    fn items(&self, key: &'static str, span: Span) -> Result<Vec<(String, usize)>, CommandError> {
        let line = self.line();
        let mut items = Vec::new();
        let mut start = span.start;
        loop {
            let end = line.find(start, span.end, |c| c == ',').unwrap_or(span.end);
            let item = Span { start, end };
            let text = line.collapsed(item);
            if text.is_empty() {
                return Err(self.fail(start, CommandErrorKind::EmptyListItem { key }));
            }
            let first = line.find(start, end, |c| c != ' ').unwrap_or(start);
            items.push((text, first));
            if end >= span.end {
                return Ok(items);
            }
            start = end + 1;
        }
    }

    /// `add TEXT field:value…`: fields anywhere in the text are taken out of it.
    fn add(&mut self) -> Result<NewInsightText, CommandError> {
        const EXAMPLES: [&str; 6] = [
            "theme:billing",
            "segment:enterprise",
            "kind:pain",
            "stage:onboarding",
            "severity:4",
            "account:\"Acme, Inc.\"",
        ];
        let mut new = NewInsightText::default();
        let mut words: Vec<String> = Vec::new();
        let mut text_at = None;
        while let Some(word) = self.cursor.word() {
            let (field, at, value_at) = match self.field_word(word, ADD_FIELDS, ADD_FIELD_LIST)? {
                FieldWord::Field {
                    field,
                    at,
                    value_at,
                    ..
                } => (field, at, value_at),
                FieldWord::OtherName { .. } | FieldWord::Text => {
                    text_at.get_or_insert(word.start);
                    words.push(self.text(word));
                    continue;
                }
            };
            let key = match field {
                AddField::Theme => "theme",
                AddField::Segment => "segment",
                AddField::Kind => "kind",
                AddField::Stage => "stage",
                AddField::Severity => "severity",
                AddField::Account => "account",
            };
            let example = EXAMPLES[field as usize];
            let value = self.value(key, example, at, value_at)?;
            let duplicate = || self.fail(at, CommandErrorKind::DuplicateField { key });
            match field {
                AddField::Theme => {
                    for (item, item_at) in self.items(key, value.span)? {
                        let theme = self.name_value(key, &item, item_at)?;
                        let theme_key = model::key(&theme);
                        if !new.themes.iter().any(|t| model::key(t) == theme_key) {
                            new.themes.push(theme);
                        }
                    }
                }
                AddField::Segment | AddField::Account => {
                    let name_value = self.name_value(key, &value.text, value.span.start)?;
                    let slot = if field == AddField::Segment {
                        &mut new.segment
                    } else {
                        &mut new.account
                    };
                    if slot.is_some() {
                        return Err(duplicate());
                    }
                    *slot = Some(name_value);
                }
                AddField::Kind => {
                    if new.kind.is_some() {
                        return Err(duplicate());
                    }
                    new.kind = Some(self.vocabulary::<Kind>(key, "kind of insight", &value)?);
                }
                AddField::Stage => {
                    if new.stage.is_some() {
                        return Err(duplicate());
                    }
                    new.stage = Some(self.vocabulary::<Stage>(key, "stage", &value)?);
                }
                AddField::Severity => {
                    if new.severity.is_some() {
                        return Err(duplicate());
                    }
                    let severity = match value.text.as_str() {
                        digit @ ("1" | "2" | "3" | "4" | "5") => {
                            Severity::new(digit.as_bytes()[0] - b'0')
                        }
                        _ => None,
                    };
                    new.severity = Some(severity.ok_or_else(|| {
                        self.fail(
                            value.span.start,
                            CommandErrorKind::InvalidValue {
                                key,
                                message: format!(
                                    "`{}` is not a severity: use a whole number from 1 (mild) to 5 (severe)",
                                    shown(&value.text)
                                ),
                            },
                        )
                    })?);
                }
            }
        }
        new.text = words.join(" ");
        let Some(text_at) = text_at else {
            return Err(self.missing("/insights add", "the insight text"));
        };
        self.check_length(
            &new.text,
            text_at,
            "the insight text",
            MAX_INSIGHT_TEXT_CHARS,
        )?;
        Ok(new)
    }

    /// A theme, segment, account or person's name: something to match on, not too long.
    fn name_value(&self, key: &'static str, text: &str, at: usize) -> Result<String, CommandError> {
        if model::key(text).is_empty() {
            return Err(self.fail(
                at,
                CommandErrorKind::InvalidValue {
                    key,
                    message: format!(
                        "`{}` is not a {key} name: it needs a letter or a digit",
                        shown(text)
                    ),
                },
            ));
        }
        self.check_length(text, at, "the name", MAX_NAME_CHARS)?;
        Ok(text.to_string())
    }

    fn vocabulary<V: Vocabulary>(
        &self,
        key: &'static str,
        what: &str,
        value: &Value,
    ) -> Result<V, CommandError> {
        V::parse_name(&value.text).ok_or_else(|| {
            let spellings = V::spellings();
            let suggestion = nearest(&value.text, spellings.iter().copied());
            let mut message = format!("`{}` is not a {what}", shown(&value.text));
            if suggestion.is_none() {
                let names: Vec<&str> = V::ALL.iter().map(|v| v.name()).collect();
                message.push_str(&format!(" (one of: {})", names.join(", ")));
            }
            self.fail_suggesting(
                value.span.start,
                CommandErrorKind::InvalidValue { key, message },
                suggestion,
            )
        })
    }

    /// `log "TITLE" evidence:… [review:…] [owner:…] [rationale:…]`.
    fn decision_log(&mut self) -> Result<DecisionDraft, CommandError> {
        const COMMAND: &str = "/decision log";
        if self.cursor.at_end() {
            return Err(self.missing(COMMAND, "a title in quotes"));
        }
        let title_at = self.cursor.at;
        let title = if self.line().get(title_at).is_some_and(is_quote) {
            let (inner, next) = self
                .line()
                .quoted(title_at)
                .map_err(|e| self.quote_error(e))?;
            self.cursor.at = next;
            self.line().collapsed(inner)
        } else {
            self.words_until_field()?
        };
        if title.is_empty() {
            return Err(self.fail(
                title_at,
                CommandErrorKind::MissingArgument {
                    command: COMMAND,
                    what: "a title in quotes",
                },
            ));
        }
        self.check_length(&title, title_at, "the title", MAX_TITLE_CHARS)?;

        let mut evidence: Option<Vec<InsightId>> = None;
        let mut review = None;
        let mut owner = None;
        let mut rationale = None;
        while let Some(word) = self.cursor.word() {
            let (field, name, at, value_at) =
                match self.field_word(word, LOG_FIELDS, LOG_FIELD_LIST)? {
                    FieldWord::Field {
                        field,
                        name,
                        at,
                        value_at,
                    } => (field, name, at, value_at),
                    FieldWord::OtherName { name, at } => {
                        return Err(self.fail(
                            at,
                            CommandErrorKind::UnknownField {
                                key: shown(&name),
                                fields: LOG_FIELD_LIST,
                            },
                        ));
                    }
                    FieldWord::Text => {
                        return Err(self.fail(
                            word.start,
                            CommandErrorKind::ExtraArgument {
                                word: shown(&self.text(word)),
                            },
                        ));
                    }
                };
            let duplicate = self.fail(at, CommandErrorKind::DuplicateField { key: name });
            match field {
                LogField::Evidence => {
                    if evidence.is_some() {
                        return Err(duplicate);
                    }
                    evidence = Some(self.evidence(at, value_at)?);
                }
                LogField::Review => {
                    if review.is_some() {
                        return Err(duplicate);
                    }
                    let value = self.value("review", "review:30d", at, value_at)?;
                    review = Some(parse_review(&value.text).map_err(|(reason, suggestion)| {
                        self.fail_suggesting(
                            value.span.start,
                            CommandErrorKind::BadReview {
                                value: shown(&value.text),
                                reason,
                            },
                            suggestion,
                        )
                    })?);
                }
                LogField::Owner => {
                    if owner.is_some() {
                        return Err(duplicate);
                    }
                    let value = self.value("owner", "owner:@alice", at, value_at)?;
                    owner = Some(self.owner(&value)?);
                }
                LogField::Rationale => {
                    if rationale.is_some() {
                        return Err(duplicate);
                    }
                    rationale = Some(self.rationale(at, value_at)?);
                }
            }
        }
        let Some(evidence) = evidence else {
            return Err(self.missing(
                COMMAND,
                "evidence: the insights behind it, as evidence:12,15",
            ));
        };
        Ok(DecisionDraft {
            title,
            evidence,
            review,
            owner,
            rationale,
        })
    }

    /// Words up to the next field of `/decision log`, joined by single spaces. A `name:`
    /// that is no field is text here: a title or rationale may say `Pricing: …`.
    fn words_until_field(&mut self) -> Result<String, CommandError> {
        let mut words = Vec::new();
        while let Some(word) = self.cursor.peek_word() {
            if let FieldWord::Field { .. } = self.field_word(word, LOG_FIELDS, LOG_FIELD_LIST)? {
                break;
            }
            words.push(self.text(word));
            self.cursor.at = word.end;
        }
        Ok(words.join(" "))
    }

    /// `evidence:12,15`, `evidence:#12, #15`, `evidence:"12, 15"`.
    fn evidence(&mut self, key_at: usize, value_at: usize) -> Result<Vec<InsightId>, CommandError> {
        const KEY: &str = "evidence";
        let value = self.value(KEY, "evidence:12,15", key_at, value_at)?;
        // `evidence:12, 15`: an unquoted list ending in a comma goes on in the next word.
        let mut items = Vec::new();
        let mut span = value.span;
        let mut quoted = self.line().get(span.end).is_some_and(is_quote);
        loop {
            let next = self
                .cursor
                .peek_word()
                .filter(|_| !quoted && self.line().get(span.end - 1) == Some(','));
            let next = match next {
                Some(next) => match self.field_word(next, LOG_FIELDS, LOG_FIELD_LIST)? {
                    FieldWord::Text => Some(next),
                    _ => None,
                },
                None => None,
            };
            let own = match next {
                Some(_) => Span {
                    start: span.start,
                    end: span.end - 1,
                },
                None => span,
            };
            items.extend(self.items(KEY, own)?);
            let Some(next) = next else { break };
            self.cursor.at = next.end;
            span = next;
            quoted = false;
        }
        let mut ids = Vec::new();
        for (item, at) in items {
            let id = parse_id(&item).map_err(|problem| {
                self.fail(
                    at,
                    CommandErrorKind::InvalidId {
                        what: "insight",
                        value: shown(&item),
                        problem,
                    },
                )
            })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > MAX_EVIDENCE {
            return Err(self.fail(
                value_at,
                CommandErrorKind::InvalidValue {
                    key: KEY,
                    message: format!(
                        "evidence lists {} insights; the limit is {MAX_EVIDENCE}",
                        ids.len()
                    ),
                },
            ));
        }
        Ok(ids)
    }

    /// `rationale:"…"`, or words up to the next field. A space after the colon is allowed:
    /// the rationale is a sentence, not a single value.
    fn rationale(&mut self, key_at: usize, value_at: usize) -> Result<String, CommandError> {
        const KEY: &str = "rationale";
        self.cursor.at = value_at;
        self.cursor.skip_spaces();
        let start = self.cursor.at;
        let text = if self.line().get(start).is_some_and(is_quote) {
            let (inner, next) = self.line().quoted(start).map_err(|e| self.quote_error(e))?;
            self.cursor.at = next;
            self.line().collapsed(inner)
        } else {
            self.words_until_field()?
        };
        if text.is_empty() {
            return Err(self.fail(
                key_at,
                CommandErrorKind::EmptyValue {
                    key: KEY,
                    example: "rationale:\"refunds are our top complaint\"",
                },
            ));
        }
        self.check_length(&text, start, "the rationale", MAX_NOTE_CHARS)?;
        Ok(text)
    }

    /// `owner:me`, `owner:@alice`, `owner:slack:U0123ABCD`, `owner:<@U0123ABCD|alice>`.
    fn owner(&self, value: &Value) -> Result<OwnerRef, CommandError> {
        const KEY: &str = "owner";
        let text = value.text.as_str();
        let invalid = |message: String, suggestion: Option<String>| {
            self.fail_suggesting(
                value.span.start,
                CommandErrorKind::InvalidValue { key: KEY, message },
                suggestion,
            )
        };
        if text.eq_ignore_ascii_case("me") {
            return Ok(OwnerRef::Me);
        }
        if let Some(inner) = text.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
            let id = inner.split('|').next().unwrap_or_default();
            let id = id.strip_prefix('!').unwrap_or(id);
            let platform = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                "discord"
            } else {
                "slack"
            };
            return UserAddress::parse(&format!("{platform}:{id}"))
                .map(OwnerRef::User)
                .map_err(|e| invalid(format!("owner {e}"), None));
        }
        if let Some(name) = text.strip_prefix('@') {
            let name = name.trim();
            if name.is_empty() {
                return Err(self.fail(
                    value.span.start,
                    CommandErrorKind::EmptyValue {
                        key: KEY,
                        example: "owner:@alice",
                    },
                ));
            }
            self.check_length(name, value.span.start, "the owner's name", MAX_NAME_CHARS)?;
            return Ok(OwnerRef::Mention(name.to_string()));
        }
        match UserAddress::parse(text) {
            Ok(address) => Ok(OwnerRef::User(address)),
            Err(AddressError::NoPlatform { hint, .. }) => Err(invalid(
                format!(
                    "`{}` is not a person: write owner:@name, owner:me or owner:slack:U0123ABCD",
                    shown(text)
                ),
                Some(hint.unwrap_or_else(|| format!("@{}", shown(text)))),
            )),
            Err(e) => Err(invalid(format!("owner {e}"), None)),
        }
    }

    /// `list [open|due|mine|all] [QUERY]`.
    fn decision_list(&mut self) -> Result<Command, CommandError> {
        let mut filter = ListFilter::default();
        if let Some(word) = self.cursor.peek_word() {
            let typed = self.text(word).to_lowercase();
            if let Some(f) = ListFilter::ALL.into_iter().find(|f| f.name() == typed) {
                filter = f;
                self.cursor.at = word.end;
            }
        }
        let query = self.cursor.rest().map(|span| self.line().collapsed(span));
        Ok(Command::DecisionList { filter, query })
    }

    /// `review ID kept|changed|reversed "WHAT HAPPENED"`.
    fn decision_review(&mut self) -> Result<Command, CommandError> {
        const COMMAND: &str = "/decision review";
        let id = self.id(COMMAND, "decision")?;
        let Some(word) = self.cursor.word() else {
            return Err(self.missing(COMMAND, "an outcome: kept, changed or reversed"));
        };
        let typed = self.text(word);
        let lower = typed.trim_end_matches([':', ',']).to_lowercase();
        let outcome = match lower.as_str() {
            "kept" | "keep" => Outcome::Kept,
            "changed" | "change" => Outcome::Changed,
            "reversed" | "reverse" | "reverted" | "revert" => Outcome::Reversed,
            _ => {
                let suggestion = nearest(
                    &lower,
                    [
                        "kept", "keep", "changed", "change", "reversed", "reverse", "reverted",
                        "revert",
                    ],
                )
                .map(|s| match s {
                    "kept" | "keep" => "kept",
                    "changed" | "change" => "changed",
                    _ => "reversed",
                });
                return Err(self.fail_suggesting(
                    word.start,
                    CommandErrorKind::UnknownOutcome {
                        word: shown(&typed),
                    },
                    suggestion,
                ));
            }
        };
        let Some(note) = self.note("the note")? else {
            return Err(self.missing(COMMAND, "a note saying what happened, in quotes"));
        };
        Ok(Command::DecisionReview { id, outcome, note })
    }
}

/// The usage line of a family's `help`.
fn help_usage(family: Family) -> &'static str {
    match family {
        Family::Insights => USAGE_HELP,
        Family::Decision => USAGE_DECISION_HELP,
    }
}

/// The name of an `--option` (also `—option`, as some keyboards turn `--` into a dash), lowercase.
fn option_name(word: &str) -> Option<String> {
    let name = word
        .strip_prefix("--")
        .or_else(|| word.strip_prefix('\u{2014}'))
        .or_else(|| word.strip_prefix('\u{2013}'))?;
    name.chars()
        .next()
        .is_some_and(char::is_alphabetic)
        .then(|| name.to_lowercase())
}

/// An id typed as `12` or `#12`. A trailing `,` `:` or `.` is punctuation (`flag 12: why`).
fn parse_id(typed: &str) -> Result<i64, IdProblem> {
    let trimmed = typed.strip_suffix([',', ':', '.']).unwrap_or(typed);
    let digits = trimmed.strip_prefix('#').unwrap_or(trimmed);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits.strip_prefix('-').is_some_and(all_digits) {
        return Err(IdProblem::Negative);
    }
    if !all_digits(digits) {
        return Err(IdProblem::NotANumber);
    }
    match digits.parse::<i64>() {
        Ok(0) => Err(IdProblem::Zero),
        Ok(id) => Ok(id),
        Err(_) => Err(IdProblem::TooLarge),
    }
}

/// A field name close enough to a real one to be a typo: three letters or more, within one
/// edit (two for names over four letters). Looser matching would catch ordinary words in
/// insight text (`time:`, `note:`).
fn suggest_field<'f>(name: &str, fields: impl Iterator<Item = &'f str>) -> Option<&'f str> {
    let length = name.chars().count();
    if length < 3 {
        return None;
    }
    let allowed = if length <= 4 { 1 } else { 2 };
    fields
        .map(|f| {
            (
                strsim::damerau_levenshtein(name, f),
                !f.starts_with(name),
                f,
            )
        })
        .filter(|(distance, _, _)| *distance <= allowed)
        .min_by_key(|(distance, incomplete, _)| (*distance, *incomplete))
        .map(|(_, _, f)| f)
}

/// `30d`, `2w`, `6m`, `1y` (also `30days`, `2weeks`, …) or `2026-03-01`. On failure, why
/// (to follow `review:VALUE`) and a likely fix.
fn parse_review(value: &str) -> Result<ReviewWhen, (&'static str, Option<String>)> {
    const HOW: &str = "is not a review time: use days, weeks or months from now (30d, 2w, 6m) or a date (2026-03-01)";
    let bytes = value.as_bytes();
    let all_digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    if bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-' {
        if !(all_digits(&bytes[..4]) && all_digits(&bytes[5..7]) && all_digits(&bytes[8..])) {
            return Err((HOW, None));
        }
        let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().ok();
        return match (number(0..4), number(5..7), number(8..10)) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d)
                .map(ReviewWhen::On)
                .ok_or(("is not a day on the calendar", None)),
            _ => Err((HOW, None)),
        };
    }
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    if !all_digits(digits.as_bytes()) {
        return Err((HOW, None));
    }
    const TOO_FAR: &str = "is more than ten years away";
    let Ok(count) = digits.parse::<u32>() else {
        return Err((TOO_FAR, None));
    };
    let when = match unit.to_ascii_lowercase().as_str() {
        "" => return Err(("needs a unit: d, w or m", Some(format!("review:{count}d")))),
        "d" | "day" | "days" => ReviewWhen::InDays(count),
        "w" | "wk" | "week" | "weeks" => {
            ReviewWhen::InDays(count.checked_mul(7).ok_or((TOO_FAR, None))?)
        }
        "m" | "mo" | "month" | "months" => ReviewWhen::InMonths(count),
        "y" | "yr" | "year" | "years" => {
            ReviewWhen::InMonths(count.checked_mul(12).ok_or((TOO_FAR, None))?)
        }
        _ => return Err((HOW, None)),
    };
    match when {
        ReviewWhen::InDays(0) | ReviewWhen::InMonths(0) => {
            Err(("is now: a review must be at least a day away", None))
        }
        ReviewWhen::InDays(days) if days > MAX_REVIEW_DAYS => Err((TOO_FAR, None)),
        ReviewWhen::InMonths(months) if months > MAX_REVIEW_MONTHS => Err((TOO_FAR, None)),
        when => Ok(when),
    }
}
