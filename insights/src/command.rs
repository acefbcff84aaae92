//! The chat command grammar: what people type after `/insights` and `/decision`, read into a
//! [`Command`] the `flywheel` binary then authorizes and applies. Every chat adapter (the
//! console, Slack slash commands, Discord) goes through [`parse`] or [`parse_parts`], so a
//! command means the same thing everywhere and a mistake gets the same answer.
//!
//! ```text
//! /insights ask --share refunds theme:billing
//! /insights chart refund OR chargeback
//! /insights add Charged twice for one order theme:billing kind:pain severity:4
//! /decision log "Refund duplicate charges automatically" evidence:12,15 review:30d owner:me
//! ```
//!
//! The leading slash is optional and command words ignore case. Text is read as typed except
//! that runs of whitespace become one space and characters that only steer rendering are
//! dropped (see [`parse`]). Errors are [`CommandError`]s written for the person who typed the
//! command: what is wrong, a likely fix, and the usage line of the command they meant.
//! [`Command`] prints back as its canonical command line, which parses to the same command.
//!
//! Layout: the types live here, reading is in `parse` (with the character cursor in `lex`),
//! printing commands and the help text in `render`, and errors in `error`.

mod error;
mod lex;
mod parse;
mod render;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;

use crate::address::UserAddress;
use crate::model::{InsightId, Kind, Severity, Stage};
use crate::watch::Cadence;

pub use error::{CommandError, CommandErrorKind, IdProblem};
pub use parse::{parse, parse_parts};
pub use render::help;

/// The store's identity for a decision, typed in chat as `12` or `#12` like an insight id.
pub type DecisionId = i64;

/// The longest command accepted, in characters, before anything is dropped from it.
pub const MAX_INPUT_CHARS: usize = 8_000;
/// The longest insight text `/insights add` accepts, in characters.
pub const MAX_INSIGHT_TEXT_CHARS: usize = 4_000;
/// The longest decision title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest note on a flag or a review, and the longest rationale, in characters: a note
/// must fit one chat message section with room to spare.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// The longest theme, segment, account or person's name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The most insights one decision may cite as evidence.
pub const MAX_EVIDENCE: usize = 50;
/// The furthest a review may be set, in days (about ten years).
pub const MAX_REVIEW_DAYS: u32 = 3_660;
/// The furthest a review may be set, in months.
pub const MAX_REVIEW_MONTHS: u32 = 120;

/// Usage of `/insights ask`.
pub const USAGE_ASK: &str = "/insights ask [--share] QUESTION";
/// Usage of `/insights chart`.
pub const USAGE_CHART: &str = "/insights chart QUESTION";
/// Usage of `/insights show`.
pub const USAGE_SHOW: &str = "/insights show ID";
/// Usage of `/insights add`.
pub const USAGE_ADD: &str = "/insights add TEXT [theme:NAME] [segment:NAME] [kind:KIND] [stage:STAGE] [severity:1-5] [account:NAME]";
/// Usage of `/insights flag`.
pub const USAGE_FLAG: &str = "/insights flag ID [note]";
/// Usage of `/insights useful`.
pub const USAGE_USEFUL: &str = "/insights useful ID";
/// Usage of `/insights digest`.
pub const USAGE_DIGEST: &str = "/insights digest [preview]";
/// Usage of `/insights watch`.
pub const USAGE_WATCH: &str = "/insights watch QUESTION [every:now|hourly|daily]";
/// Usage of `/insights watches`.
pub const USAGE_WATCHES: &str = "/insights watches";
/// Usage of `/insights unwatch`.
pub const USAGE_UNWATCH: &str = "/insights unwatch ID";
/// Usage of `/insights help`.
pub const USAGE_HELP: &str = "/insights help [COMMAND]";
/// Every `/insights` command at a glance, for mistakes that do not name one.
pub const USAGE_INSIGHTS: &str =
    "/insights ask|chart|show|add|flag|useful|digest|watch|watches|unwatch|help …";
/// Usage of `/decision log`.
pub const USAGE_DECISION_LOG: &str = "/decision log \"TITLE\" evidence:ID,ID [review:30d|review:YYYY-MM-DD] [owner:@name|owner:me] [rationale:\"WHY\"]";
/// Usage of `/decision list`.
pub const USAGE_DECISION_LIST: &str = "/decision list [open|due|mine|all] [QUERY]";
/// Usage of `/decision show`.
pub const USAGE_DECISION_SHOW: &str = "/decision show ID";
/// Usage of `/decision review`.
pub const USAGE_DECISION_REVIEW: &str =
    "/decision review ID kept|changed|reversed \"WHAT HAPPENED\"";
/// Usage of `/decision queue`.
pub const USAGE_DECISION_QUEUE: &str = "/decision queue";
/// Usage of `/decision stats`.
pub const USAGE_DECISION_STATS: &str = "/decision stats";
/// Usage of `/decision help`.
pub const USAGE_DECISION_HELP: &str = "/decision help [COMMAND]";
/// Every `/decision` command at a glance, for mistakes that do not name one.
pub const USAGE_DECISION: &str = "/decision log|list|show|review|queue|stats|help …";

/// A chat command, parsed and checked but not yet applied. Prints as its canonical command
/// line ([`Command::to_command_line`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/insights ask [--share] QUESTION` (or `/insights share QUESTION`): search the store.
    Ask {
        /// The question as typed, for [`crate::query::parse`]. Never empty.
        query: String,
        /// Post the answer in the channel for everyone; answers are private by default.
        share: bool,
    },
    /// `/insights chart QUESTION`: post the weekly trend of the matches as a chart in the
    /// channel. Always for everyone: a platform such as Slack cannot show an image to one
    /// person only.
    Chart {
        /// The question as typed, for [`crate::query::parse`]. Never empty.
        query: String,
    },
    /// `/insights show ID`: one insight in full.
    Show {
        /// Which insight.
        id: InsightId,
    },
    /// `/insights add TEXT field:value…`: a new insight typed in chat.
    Add(NewInsightText),
    /// `/insights flag ID [note]`: ask for a decision on an insight.
    Flag {
        /// Which insight.
        id: InsightId,
        /// Why it needs a decision, if said.
        note: Option<String>,
    },
    /// `/insights useful ID`: vote that an insight helped (the console's "useful" button).
    Useful {
        /// Which insight.
        id: InsightId,
    },
    /// `/insights digest [preview]`: the team's digest, now.
    Digest {
        /// Show it only to the person asking instead of posting it.
        preview: bool,
    },
    /// `/insights watch QUESTION [every:now|hourly|daily]`: tell this channel about new
    /// insights matching a question.
    Watch {
        /// The question as typed, for [`crate::query::parse`]. Never empty, at most
        /// [`crate::watch::MAX_WATCH_CHARS`] characters.
        query: String,
        /// How often to report.
        every: Cadence,
    },
    /// `/insights watches`: this channel's watches.
    Watches,
    /// `/insights unwatch ID`: end one of this channel's watches.
    Unwatch {
        /// Which watch.
        id: i64,
    },
    /// `/insights help [COMMAND]`, `/decision help [COMMAND]`, or a family name alone.
    Help {
        /// What to explain; `None` lists every command.
        topic: Option<Topic>,
    },
    /// `/decision log "TITLE" evidence:… …`: record a decision and the insights behind it.
    DecisionLog(DecisionDraft),
    /// `/decision list [open|due|mine|all] [QUERY]`.
    DecisionList {
        /// Which decisions.
        filter: ListFilter,
        /// Words to search their titles and rationales for, as typed.
        query: Option<String>,
    },
    /// `/decision show ID`: one decision with its evidence and reviews.
    DecisionShow {
        /// Which decision.
        id: DecisionId,
    },
    /// `/decision review ID kept|changed|reversed "WHAT HAPPENED"`: close a review.
    DecisionReview {
        /// Which decision.
        id: DecisionId,
        /// What became of it.
        outcome: Outcome,
        /// What happened, in the reviewer's words. Never empty.
        note: String,
    },
    /// `/decision queue`: flagged insights waiting for a decision.
    DecisionQueue,
    /// `/decision stats`: how decisions fared.
    DecisionStats,
}

/// An insight typed in chat with `/insights add`: the text plus any fields given inline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewInsightText {
    /// The insight itself, with the fields taken out. Never empty, at most
    /// [`MAX_INSIGHT_TEXT_CHARS`] characters.
    pub text: String,
    /// `theme:` (also `themes:`, `tag:`, `tags:`; comma-separated, repeatable), as typed, each
    /// theme once by its [`crate::model::key`].
    pub themes: Vec<String>,
    /// `segment:`, as typed.
    pub segment: Option<String>,
    /// `kind:`.
    pub kind: Option<Kind>,
    /// `stage:`.
    pub stage: Option<Stage>,
    /// `severity:`, 1 to 5.
    pub severity: Option<Severity>,
    /// `account:`, as typed.
    pub account: Option<String>,
}

/// A decision as logged in chat, before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionDraft {
    /// What was decided. Never empty, at most [`MAX_TITLE_CHARS`] characters.
    pub title: String,
    /// The insights it rests on, in the order given, each once. Never empty.
    pub evidence: Vec<InsightId>,
    /// When to look at it again; `None` leaves it to the team's default.
    pub review: Option<ReviewWhen>,
    /// Who answers for it; `None` means whoever logged it.
    pub owner: Option<OwnerRef>,
    /// Why, if said.
    pub rationale: Option<String>,
}

/// When a decision is due for review. Relative times count from when it is logged, which
/// only the caller knows; a date is not checked against today here for the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewWhen {
    /// `review:30d`, `review:2w` (14 days). At least 1, at most [`MAX_REVIEW_DAYS`].
    InDays(u32),
    /// `review:6m`, `review:1y` (12 months): calendar months. At most [`MAX_REVIEW_MONTHS`].
    InMonths(u32),
    /// `review:2026-03-01`.
    On(NaiveDate),
}

/// Who owns a decision, as written in the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerRef {
    /// `owner:me`: whoever sent the command.
    Me,
    /// `owner:@alice`: a name for the adapter to look up on its platform (without the `@`).
    Mention(String),
    /// `owner:slack:U0123ABCD`, or a platform mention such as Slack's `<@U0123ABCD|alice>`
    /// or Discord's `<@1234>`.
    User(UserAddress),
}

/// What became of a decision at its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It stands as decided.
    Kept,
    /// It was adjusted.
    Changed,
    /// It was undone.
    Reversed,
}

impl Outcome {
    /// Every outcome, in display order.
    pub const ALL: [Outcome; 3] = [Outcome::Kept, Outcome::Changed, Outcome::Reversed];

    /// The word typed and shown for it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Kept => "kept",
            Outcome::Changed => "changed",
            Outcome::Reversed => "reversed",
        }
    }
}

/// Which decisions `/decision list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ListFilter {
    /// Not yet reviewed (the default).
    #[default]
    Open,
    /// Due for review.
    Due,
    /// Owned by whoever asks.
    Mine,
    /// Every decision.
    All,
}

impl ListFilter {
    /// Every filter, in display order.
    pub const ALL: [ListFilter; 4] = [
        ListFilter::Open,
        ListFilter::Due,
        ListFilter::Mine,
        ListFilter::All,
    ];

    /// The word typed for it.
    pub fn name(self) -> &'static str {
        match self {
            ListFilter::Open => "open",
            ListFilter::Due => "due",
            ListFilter::Mine => "mine",
            ListFilter::All => "all",
        }
    }
}

/// The two command families, one slash command each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `/insights`: asking, showing, adding and flagging insights, digests.
    Insights,
    /// `/decision`: logging and reviewing decisions.
    Decision,
}

impl Family {
    /// The slash command, as typed.
    pub fn command(self) -> &'static str {
        match self {
            Family::Insights => "/insights",
            Family::Decision => "/decision",
        }
    }

    /// The usage line listing the family's commands.
    pub fn usage(self) -> &'static str {
        match self {
            Family::Insights => USAGE_INSIGHTS,
            Family::Decision => USAGE_DECISION,
        }
    }
}

/// What `help` explains: one command, or the `/decision` family as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `/insights ask` (and `share`).
    Ask,
    /// `/insights chart`.
    Chart,
    /// `/insights show`.
    Show,
    /// `/insights add`.
    Add,
    /// `/insights flag`.
    Flag,
    /// `/insights useful`.
    Useful,
    /// `/insights digest`.
    Digest,
    /// `/insights watch`.
    Watch,
    /// `/insights watches`.
    Watches,
    /// `/insights unwatch`.
    Unwatch,
    /// `/insights help`.
    Help,
    /// The `/decision` commands together.
    Decision,
    /// `/decision log`.
    DecisionLog,
    /// `/decision list`.
    DecisionList,
    /// `/decision show`.
    DecisionShow,
    /// `/decision review`.
    DecisionReview,
    /// `/decision queue`.
    DecisionQueue,
    /// `/decision stats`.
    DecisionStats,
}

impl Topic {
    /// Every topic, in the order help lists them.
    pub const ALL: [Topic; 18] = [
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
        Topic::Help,
        Topic::Decision,
        Topic::DecisionLog,
        Topic::DecisionList,
        Topic::DecisionShow,
        Topic::DecisionReview,
        Topic::DecisionQueue,
        Topic::DecisionStats,
    ];

    /// The family the command belongs to.
    pub fn family(self) -> Family {
        match self {
            Topic::Ask
            | Topic::Chart
            | Topic::Show
            | Topic::Add
            | Topic::Flag
            | Topic::Useful
            | Topic::Digest
            | Topic::Watch
            | Topic::Watches
            | Topic::Unwatch
            | Topic::Help => Family::Insights,
            Topic::Decision
            | Topic::DecisionLog
            | Topic::DecisionList
            | Topic::DecisionShow
            | Topic::DecisionReview
            | Topic::DecisionQueue
            | Topic::DecisionStats => Family::Decision,
        }
    }

    /// The subcommand word (`ask`, `log`); `None` for the [`Topic::Decision`] family itself.
    pub fn word(self) -> Option<&'static str> {
        Some(match self {
            Topic::Ask => "ask",
            Topic::Chart => "chart",
            Topic::Show | Topic::DecisionShow => "show",
            Topic::Add => "add",
            Topic::Flag => "flag",
            Topic::Useful => "useful",
            Topic::Digest => "digest",
            Topic::Watch => "watch",
            Topic::Watches => "watches",
            Topic::Unwatch => "unwatch",
            Topic::Help => "help",
            Topic::Decision => return None,
            Topic::DecisionLog => "log",
            Topic::DecisionList => "list",
            Topic::DecisionReview => "review",
            Topic::DecisionQueue => "queue",
            Topic::DecisionStats => "stats",
        })
    }

    /// The usage line.
    pub fn usage(self) -> &'static str {
        match self {
            Topic::Ask => USAGE_ASK,
            Topic::Chart => USAGE_CHART,
            Topic::Show => USAGE_SHOW,
            Topic::Add => USAGE_ADD,
            Topic::Flag => USAGE_FLAG,
            Topic::Useful => USAGE_USEFUL,
            Topic::Digest => USAGE_DIGEST,
            Topic::Watch => USAGE_WATCH,
            Topic::Watches => USAGE_WATCHES,
            Topic::Unwatch => USAGE_UNWATCH,
            Topic::Help => USAGE_HELP,
            Topic::Decision => USAGE_DECISION,
            Topic::DecisionLog => USAGE_DECISION_LOG,
            Topic::DecisionList => USAGE_DECISION_LIST,
            Topic::DecisionShow => USAGE_DECISION_SHOW,
            Topic::DecisionReview => USAGE_DECISION_REVIEW,
            Topic::DecisionQueue => USAGE_DECISION_QUEUE,
            Topic::DecisionStats => USAGE_DECISION_STATS,
        }
    }
}

impl Command {
    /// Redacts, in place, every text of the command that Flywheel keeps or posts for others to
    /// read: a flag's note, a decision's title and rationale, a review's note, a watched
    /// question, and an added insight's text, themes, segment and account. A question asked
    /// once is left as asked (it is searched, not kept). Returns what was replaced.
    pub fn redact(&mut self, redactor: &crate::redact::Redactor) -> crate::redact::RedactionCounts {
        let mut counts = crate::redact::RedactionCounts::default();
        let mut redact = |text: &mut String| {
            let redacted = redactor.redact(text);
            counts += redacted.counts;
            *text = redacted.text;
        };
        match self {
            Command::Add(added) => {
                redact(&mut added.text);
                added.themes.iter_mut().for_each(&mut redact);
                added.segment.iter_mut().for_each(&mut redact);
                added.account.iter_mut().for_each(&mut redact);
            }
            Command::Flag { note, .. } => note.iter_mut().for_each(&mut redact),
            Command::DecisionLog(draft) => {
                redact(&mut draft.title);
                draft.rationale.iter_mut().for_each(&mut redact);
            }
            Command::DecisionReview { note, .. } => redact(note),
            Command::Watch { query, .. } => redact(query),
            Command::Ask { .. }
            | Command::Chart { .. }
            | Command::Show { .. }
            | Command::Useful { .. }
            | Command::Digest { .. }
            | Command::Watches
            | Command::Unwatch { .. }
            | Command::Help { .. }
            | Command::DecisionList { .. }
            | Command::DecisionShow { .. }
            | Command::DecisionQueue
            | Command::DecisionStats => {}
        }
        counts
    }

    /// The help topic of the command, whose usage line describes it.
    pub fn topic(&self) -> Topic {
        match self {
            Command::Ask { .. } => Topic::Ask,
            Command::Chart { .. } => Topic::Chart,
            Command::Show { .. } => Topic::Show,
            Command::Add(_) => Topic::Add,
            Command::Flag { .. } => Topic::Flag,
            Command::Useful { .. } => Topic::Useful,
            Command::Digest { .. } => Topic::Digest,
            Command::Watch { .. } => Topic::Watch,
            Command::Watches => Topic::Watches,
            Command::Unwatch { .. } => Topic::Unwatch,
            Command::Help { .. } => Topic::Help,
            Command::DecisionLog(_) => Topic::DecisionLog,
            Command::DecisionList { .. } => Topic::DecisionList,
            Command::DecisionShow { .. } => Topic::DecisionShow,
            Command::DecisionReview { .. } => Topic::DecisionReview,
            Command::DecisionQueue => Topic::DecisionQueue,
            Command::DecisionStats => Topic::DecisionStats,
        }
    }

    /// The canonical command line: lowercase command words, ids as numbers, fields in a fixed
    /// order, text quoted where that keeps it whole. [`parse`] reads it back to an equal
    /// command.
    pub fn to_command_line(&self) -> String {
        self.to_string()
    }
}
