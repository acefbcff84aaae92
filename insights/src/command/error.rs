//! What a person is told when a command cannot be read.

use std::fmt;

use super::{Family, MAX_INPUT_CHARS};

/// Why a command could not be read: what is wrong, where, a likely fix, and the usage line of
/// the command it was meant to be. Displays as one short answer for chat:
///
/// ```text
/// unknown command `flg` — did you mean `flag`? Usage: /insights flag ID [note]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// What is wrong.
    pub kind: CommandErrorKind,
    /// 0-based offset in characters (not bytes) into the input as given, counting any
    /// characters the parser drops. It is the input's length when something is missing at the
    /// end, and never more. For [`super::parse_parts`], the input is `"{command} {text}"`.
    pub position: usize,
    /// The usage line of the command the input was meant to be.
    pub usage: &'static str,
    /// What was probably meant (`flag`, `evidence:`, `onboarding`), when something is close.
    pub suggestion: Option<String>,
}

/// What is wrong with a command. Words from the input are shown shortened to 40 characters,
/// with backticks replaced so they cannot break the message's formatting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandErrorKind {
    /// Nothing but whitespace (or dropped characters).
    #[error("empty command")]
    Empty,
    /// More than [`MAX_INPUT_CHARS`] characters.
    #[error(
        "the command is {} characters long; the limit is {}",
        thousands(*chars),
        thousands(MAX_INPUT_CHARS)
    )]
    TooLong {
        /// The input's length in characters.
        chars: usize,
    },
    /// The first word is neither `/insights` nor `/decision`.
    #[error("unknown command `{word}`")]
    UnknownFamily {
        /// The word as typed.
        word: String,
    },
    /// `/insights flg`: no such command in the family.
    #[error("unknown command `{word}`")]
    UnknownSubcommand {
        /// The family typed.
        family: Family,
        /// The word as typed.
        word: String,
    },
    /// `/insights show` without an id.
    #[error("`{command}` needs {what}")]
    MissingArgument {
        /// The command, as `/insights show`.
        command: &'static str,
        /// What is missing, as "an insight id".
        what: &'static str,
    },
    /// Words after everything the command takes.
    #[error("unexpected `{word}`")]
    ExtraArgument {
        /// The first unexpected word.
        word: String,
    },
    /// `show abc`, `show 0`, `show #-3`.
    #[error("{}", problem.describe(what, value))]
    InvalidId {
        /// `insight` or `decision`.
        what: &'static str,
        /// The id as typed.
        value: String,
        /// What is wrong with it.
        problem: IdProblem,
    },
    /// A quote that is opened and never closed.
    #[error("a quote is never closed")]
    UnterminatedQuote,
    /// `"Drop "the" fee"`: a closing quote followed directly by more text.
    #[error("a quote inside quoted text ends it early; use single quotes (') inside")]
    QuoteInsideQuote,
    /// `evidense:12`: a `name:` that is not a field of the command but looks like one.
    #[error("unknown field `{key}:`")]
    UnknownField {
        /// The name as typed.
        key: String,
        /// The command's fields, for the message when nothing is close.
        fields: &'static str,
    },
    /// A field that takes one value, given twice.
    #[error("`{key}:` is given twice")]
    DuplicateField {
        /// The field.
        key: &'static str,
    },
    /// `review:` with nothing right after the colon.
    #[error("`{key}:` needs a value right after the colon, as in {example}")]
    EmptyValue {
        /// The field.
        key: &'static str,
        /// The field with a value that works.
        example: &'static str,
    },
    /// `evidence:1,,2`.
    #[error("`{key}:` has an empty item between commas")]
    EmptyListItem {
        /// The field.
        key: &'static str,
    },
    /// `kind:complain`, `severity:9`, `owner:alice`: a value the field does not take.
    #[error("{message}")]
    InvalidValue {
        /// The field.
        key: &'static str,
        /// What is wrong, in a sentence.
        message: String,
    },
    /// `review:soon`, `review:0d`, `review:2026-02-30`.
    #[error("`review:{value}` {reason}")]
    BadReview {
        /// The value as typed.
        value: String,
        /// What is wrong and what works.
        reason: &'static str,
    },
    /// `/decision review 4 kep …`.
    #[error("`{word}` is not an outcome: say kept, changed or reversed")]
    UnknownOutcome {
        /// The word as typed.
        word: String,
    },
    /// `--shar`, `digest prevew`: an option the command does not have.
    #[error("unknown option `{word}`")]
    UnknownOption {
        /// The word as typed.
        word: String,
    },
    /// `/insights help foo`.
    #[error("there is no help on `{word}`")]
    UnknownTopic {
        /// The word as typed.
        word: String,
    },
    /// A text argument over its limit.
    #[error(
        "{what} is {} characters long; the limit is {}",
        thousands(*chars),
        thousands(*limit)
    )]
    TextTooLong {
        /// What is too long, as "the insight text".
        what: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit in characters.
        limit: usize,
    },
}

/// What is wrong with an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// Not digits (with an optional `#`).
    NotANumber,
    /// `0`: ids start at 1.
    Zero,
    /// `-3`, `#-3`.
    Negative,
    /// More than fits in an id.
    TooLarge,
}

impl IdProblem {
    fn describe(self, what: &str, value: &str) -> String {
        let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        match self {
            IdProblem::NotANumber => {
                format!("`{value}` is not {article} {what} id: ids are numbers, like 12 or #12")
            }
            IdProblem::Zero => format!("there is no {what} {value}: ids start at 1"),
            IdProblem::Negative => {
                format!("`{value}` is not {article} {what} id: ids are positive numbers")
            }
            IdProblem::TooLarge => format!("`{value}` is too large to be {article} {what} id"),
        }
    }
}

/// `8000` as `8,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A word from the input as it may appear in a message: at most 40 characters, no backticks.
pub(super) fn shown(word: &str) -> String {
    const LIMIT: usize = 40;
    let mut out: String = word
        .chars()
        .take(LIMIT)
        .map(|c| if c == '`' { '\'' } else { c })
        .collect();
    if word.chars().nth(LIMIT).is_some() {
        out.push('…');
    }
    out
}

impl CommandError {
    /// The 1-based column of the error, as people count.
    pub fn column(&self) -> usize {
        self.position + 1
    }

    /// The input, a caret under the error's position and the message, for a terminal or a
    /// code block in chat. Long input is shown as a window around the position.
    ///
    /// ```text
    /// /insights flg 12
    ///           ^
    /// unknown command `flg` — did you mean `flag`? Usage: /insights flag ID [note]
    /// ```
    pub fn display_with_input(&self, input: &str) -> String {
        const CONTEXT: usize = 40;
        // One character in, one character out, so the caret's offset stays a character count.
        let chars: Vec<char> = input
            .chars()
            .map(|c| {
                if c.is_control() || super::lex::is_dropped(c) {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        format!(
            "{}\n{self}",
            crate::text::point_at(&chars, self.position, CONTEXT)
        )
    }

    /// A hint for when nothing close was found to suggest.
    fn hint(&self) -> Option<String> {
        match &self.kind {
            CommandErrorKind::UnknownField { fields, .. } => Some(format!("fields are {fields}")),
            CommandErrorKind::UnknownFamily { .. } => {
                Some("commands start with /insights or /decision".to_string())
            }
            _ => None,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        match (&self.suggestion, self.hint()) {
            (Some(suggestion), _) => write!(f, " — did you mean `{suggestion}`? ")?,
            (None, Some(hint)) => write!(f, " ({hint}). ")?,
            (None, None) => f.write_str(". ")?,
        }
        write!(f, "Usage: {}", self.usage)
    }
}

impl std::error::Error for CommandError {}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separates_groups_of_three() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(8_000), "8,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn shown_words_are_short_and_cannot_close_code() {
        assert_eq!(super::shown("a`b"), "a'b");
        assert_eq!(
            super::shown(&"x".repeat(41)),
            format!("{}…", "x".repeat(40))
        );
        assert_eq!(super::shown(&"x".repeat(40)), "x".repeat(40));
    }
}
