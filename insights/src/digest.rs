//! Composing a team's digest: what is new and what is moving, for one period, as a pure function
//! of what the store counted and found.
//!
//! [`compose`] takes a [`DigestInput`] (the period's insights and counts, the previous period's
//! theme counts, open flags, decisions due for review, engagement) and returns a [`Digest`]:
//!
//! - **items**: the top insights, near-duplicates folded into one item ("+4 similar"), ranked by
//!   severity, reach, theme momentum and recency, each explained by one to three
//!   [`ItemReason`]s;
//! - **themes**: the themes that moved noticeably against the previous period ([`Movement`]);
//! - flags waiting for a decision, decisions due for review and the most discussed insights;
//! - **chart**: the weekly counts of the period's top themes over the last [`CHART_WEEKS`]
//!   weeks ([`chart_range`] says which days the store counts), carried as data in the message.
//!
//! [`message`] turns a digest into the neutral [`Message`] every chat adapter renders. Nothing
//! here reads a clock or the store: the same input always gives the same digest.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::answer::{week_counts, week_start};
use crate::message::{Action, Block, Button, ChartSeries, ChartSpec, Message, Text};
use crate::model::{self, Insight, InsightId};
use crate::search::{Count, DateRange, Ranking, Recency, ThemeDays, ThemeFactors};
use crate::text;

/// How many items a digest shows when the team does not say.
pub const DEFAULT_SIZE: usize = 5;
/// The most items a digest shows, whatever the team asks: each takes three blocks of a message,
/// and Slack allows 50 blocks in all.
pub const MAX_ITEMS: usize = 10;
/// The most theme lines under "Themes on the move".
pub const MAX_THEME_LINES: usize = 6;
/// A theme moves when its count changes by at least this many insights...
const MIN_CHANGE: u64 = 3;
/// ...and by at least this share of the larger of the two counts, so 40 → 44 is steady.
const MIN_SHARE: f64 = 0.25;
/// Two bodies are near-duplicates when their content stems overlap at least this much (Jaccard).
const SIMILAR_BODIES: f64 = 0.6;
/// Bodies with fewer distinct content stems are too short to call near-duplicates by overlap.
const MIN_BODY_TERMS: usize = 8;
/// Each further item on an already shown main theme counts this much less, so the top items
/// do not all tell the same story.
const SAME_THEME_DISCOUNT: f64 = 0.85;
/// At most this many reasons per item.
const MAX_REASONS: usize = 3;
/// Lines listed in the flags, reviews and quiet-week sections of the message.
const LISTED: usize = 5;
/// Lines listed under "Most discussed".
const DISCUSSED_LISTED: usize = 3;
/// Similar ids named under an item.
const SIMILAR_LISTED: usize = 5;
/// Top themes named in the summary, and drawn in the chart.
const TOP_THEMES: usize = 5;
/// How many weeks the digest's chart covers, the period's last week included.
pub const CHART_WEEKS: usize = 10;
/// The quote of an item is at most this many characters.
const QUOTE_CHARS: usize = 280;
/// Titles are cut to this many characters in the message.
const TITLE_CHARS: usize = 150;
/// Theme, segment, account and owner names are cut to this many characters.
const NAME_CHARS: usize = 60;
/// Slack's limit for a header's text.
const HEADER_CHARS: usize = 150;
/// Links longer than this are shown as plain source references instead.
const MAX_URL_CHARS: usize = 1000;

/// The stretch of time a digest covers, and the timezone that decides which local dates it
/// spans and how it is labelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// The first instant included.
    pub start: DateTime<Utc>,
    /// The first instant no longer included.
    pub end: DateTime<Utc>,
    /// The team's timezone (serialized as its IANA name).
    #[serde(with = "tz_name")]
    pub timezone: Tz,
}

impl Period {
    /// Observed dates covered: [start's local date, end's local date) in the timezone. Never
    /// empty: a period that starts and ends on the same local date covers that date.
    pub fn observed(&self) -> DateRange {
        let from = self.local_date(self.start);
        let until = self.local_date(self.end);
        let until = if until > from {
            until
        } else {
            from.succ_opt().unwrap_or(from)
        };
        DateRange { from, until }
    }

    /// How many local dates the period covers (at least 1).
    pub fn days(&self) -> u64 {
        let range = self.observed();
        (range.until - range.from).num_days().max(1) as u64
    }

    /// The period of equal length right before this one. A period of whole local days steps
    /// back by calendar days, so a week across a daylight-saving change is preceded by a week
    /// that also starts at local midnight.
    pub fn previous(&self) -> Period {
        let tz = self.timezone;
        let start_local = self.start.with_timezone(&tz);
        let end_local = self.end.with_timezone(&tz);
        let days = (end_local.date_naive() - start_local.date_naive()).num_days();
        if start_local.time() == end_local.time()
            && days > 0
            && let Some(naive) = start_local
                .naive_local()
                .checked_sub_days(Days::new(days as u64))
            && let Some(start) = tz.from_local_datetime(&naive).earliest()
        {
            return Period {
                start: start.with_timezone(&Utc),
                end: self.start,
                timezone: tz,
            };
        }
        let length = self.end.signed_duration_since(self.start).abs();
        Period {
            start: self
                .start
                .checked_sub_signed(length)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            end: self.start,
            timezone: tz,
        }
    }

    /// "Week of 17 Jul 2023" / "17–23 Jul 2023" style label, in the timezone: a seven-day
    /// period is a week, one day is its date, anything else the first and last dates.
    pub fn label(&self) -> String {
        let range = self.observed();
        let first = range.from;
        let last = range.until.pred_opt().unwrap_or(first).max(first);
        let long = |d: NaiveDate| d.format("%-d %b %Y").to_string();
        match self.days() {
            1 => long(first),
            7 => format!("Week of {}", long(first)),
            _ if first.format("%Y-%m").to_string() == last.format("%Y-%m").to_string() => {
                format!("{}–{}", first.format("%-d"), long(last))
            }
            _ if first.format("%Y").to_string() == last.format("%Y").to_string() => {
                format!("{} – {}", first.format("%-d %b"), long(last))
            }
            _ => format!("{} – {}", long(first), long(last)),
        }
    }

    /// What the period is called in prose: `week`, `day` or `period`.
    pub fn noun(&self) -> &'static str {
        match self.days() {
            1 => "day",
            7 => "week",
            _ => "period",
        }
    }

    /// The previous period in prose, for comparisons: `last week`, `the day before`,
    /// `the previous 14 days`.
    pub fn versus(&self) -> String {
        match self.days() {
            1 => "the day before".to_string(),
            7 => "last week".to_string(),
            n => format!("the previous {n} days"),
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }
}

/// A timezone as its IANA name in JSON, so a stored digest reads back as the same period.
mod tz_name {
    use chrono_tz::Tz;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(D::Error::custom)
    }
}

/// An insight flagged for a decision that nobody has taken yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFlag {
    /// The flagged insight.
    pub insight_id: InsightId,
    /// Its title.
    pub title: String,
    /// How many people flagged it.
    pub flags: u32,
    /// What the most recent flag said, if anything.
    pub latest_note: Option<String>,
    /// When it was first flagged: the longer it waits, the more it matters.
    pub first_flagged_at: DateTime<Utc>,
}

/// How a team's decisions fare over a recent window, for the digest's footer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecisionFigures {
    /// The window's length in days.
    pub window_days: u32,
    /// Insights flagged for a decision in the window.
    pub flagged: u64,
    /// Decisions logged in the window.
    pub logged: u64,
    /// Of those, the median number of days from their first evidence to the decision.
    pub median_days_to_decision: Option<f64>,
    /// Reviews done in the window.
    pub reviews_done: u64,
    /// Of those, done by the review date.
    pub reviews_on_time: u64,
    /// Of the themes first watched or flagged in the window, the median number of days from
    /// their first insight to that.
    #[serde(default)]
    pub median_days_to_notice: Option<f64>,
    /// Spike alerts in the window.
    #[serde(default)]
    pub spikes: u64,
    /// Of those, the median number of days from the alert to a decision citing the theme.
    #[serde(default)]
    pub median_days_spike_to_decision: Option<f64>,
}

impl DecisionFigures {
    /// Whether there is nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.flagged == 0
            && self.logged == 0
            && self.reviews_done == 0
            && self.spikes == 0
            && self.median_days_to_notice.is_none()
    }
}

/// A logged decision whose review date has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueReview {
    /// The decision's id in the store.
    pub decision_id: i64,
    /// What was decided.
    pub title: String,
    /// When it was to be reviewed.
    pub review_on: NaiveDate,
    /// Who owns the review, as a display name.
    pub owner: Option<String>,
}

/// How much an insight was discussed and found useful since the last digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    /// The insight.
    pub insight_id: InsightId,
    /// Its title.
    pub title: String,
    /// Comments in its discussion threads.
    pub comments: u32,
    /// "Useful" votes.
    pub useful: u32,
}

/// Everything a digest is composed from, gathered by the store for one team and period.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestInput {
    /// The team's name.
    pub team: String,
    /// The period covered.
    pub period: Period,
    /// Today in the team's timezone: reviews are overdue against it.
    pub today: NaiveDate,
    /// The period's best insights (team filter and visibility already applied), as the store's
    /// search engine ranked every insight of the period by [`ranking`]: the candidates the
    /// items are chosen from.
    pub current: Vec<Insight>,
    /// Exact count of insights observed in the period.
    pub current_total: u64,
    /// Distinct accounts in the period.
    pub current_accounts: u64,
    /// Theme counts over the whole period, largest first. Every theme, not a top few: a theme
    /// missing here counts as 0.
    pub current_themes: Vec<Count>,
    /// Theme counts over [`Period::previous`], complete in the same way.
    pub previous_themes: Vec<Count>,
    /// Distinct accounts per main theme (an insight's first) over the whole period. Empty: they
    /// are counted among `current`.
    pub theme_accounts: Vec<Count>,
    /// Theme counts over the last ~8 weeks, for the quiet-week note.
    pub running_themes: Vec<Count>,
    /// Day by day over [`chart_range`], the matches of the themes [`chart_themes`] names, for
    /// the chart. Empty: no chart.
    pub theme_days: Vec<ThemeDays>,
    /// Open flags for the team.
    pub flags: Vec<OpenFlag>,
    /// Decisions whose review date has come.
    pub reviews_due: Vec<DueReview>,
    /// The most discussed or useful insights since the last digest.
    pub engagement: Vec<Engagement>,
    /// How the team's decisions fared recently, for the footer.
    pub decisions: Option<DecisionFigures>,
    /// How many top items to show: 0 means [`DEFAULT_SIZE`], more than [`MAX_ITEMS`] means
    /// [`MAX_ITEMS`].
    pub size: usize,
}

impl DigestInput {
    /// An input with nothing in it yet and the default size.
    pub fn new(team: impl Into<String>, period: Period, today: NaiveDate) -> DigestInput {
        DigestInput {
            team: team.into(),
            period,
            today,
            current: Vec::new(),
            current_total: 0,
            current_accounts: 0,
            current_themes: Vec::new(),
            previous_themes: Vec::new(),
            theme_accounts: Vec::new(),
            running_themes: Vec::new(),
            theme_days: Vec::new(),
            flags: Vec::new(),
            reviews_due: Vec::new(),
            engagement: Vec::new(),
            decisions: None,
            size: DEFAULT_SIZE,
        }
    }
}

/// How a theme's count moved against the previous period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Absent before, noticeable now.
    New,
    /// Noticeably more than before.
    Growing,
    /// Noticeably fewer than before, possibly none.
    Fading,
    /// About the same, or too few to tell.
    Steady,
}

impl Movement {
    /// The mark in front of a theme line: `✦` new, `▲` growing, `▼` fading, `·` steady.
    pub fn symbol(self) -> &'static str {
        match self {
            Movement::New => "✦",
            Movement::Growing => "▲",
            Movement::Fading => "▼",
            Movement::Steady => "·",
        }
    }
}

/// One theme's count in the period against the previous period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeTrend {
    /// The theme's display name.
    pub name: String,
    /// Insights carrying it in the period.
    pub count: u64,
    /// Insights carrying it in the previous period.
    pub previous: u64,
    /// Which way it moved.
    pub movement: Movement,
}

impl ThemeTrend {
    /// The change in count, negative when fading.
    pub fn change(&self) -> i64 {
        self.count as i64 - self.previous as i64
    }
}

/// Why an item is in the digest, printed as a short phrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ItemReason {
    /// `new theme: identity theft`: one of its themes was absent last period.
    NewTheme {
        /// The theme.
        theme: String,
    },
    /// `3× mentions of billing vs last week`: one of its themes is growing.
    Rising {
        /// The theme.
        theme: String,
        /// Its count in the period.
        now: u64,
        /// Its count in the previous period (never 0: that would be a new theme).
        before: u64,
        /// The previous period in prose ([`Period::versus`]).
        versus: String,
    },
    /// `severity 5`.
    Severity {
        /// 4 or 5: lower severities are not a reason.
        severity: u8,
    },
    /// `8 accounts`: distinct accounts that share its main theme or said the same thing.
    Reach {
        /// Distinct accounts.
        accounts: u64,
    },
    /// `+4 similar`: near-duplicates folded into this item.
    Similar {
        /// How many.
        count: usize,
    },
    /// `top theme: billing (40)`: its main theme is among the period's largest.
    TopTheme {
        /// The theme.
        theme: String,
        /// Insights carrying it in the period.
        count: u64,
    },
    /// `observed 21 Jul 2023`: nothing stands out but it is among the latest.
    Recent {
        /// When it was observed.
        on: NaiveDate,
    },
}

impl fmt::Display for ItemReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemReason::NewTheme { theme } => write!(f, "new theme: {theme}"),
            ItemReason::Rising {
                theme,
                now,
                before,
                versus,
            } => {
                let ratio = *now as f64 / (*before).max(1) as f64;
                if ratio >= 2.0 {
                    let times = format!("{:.1}", ratio);
                    let times = times.trim_end_matches(".0");
                    write!(f, "{times}× mentions of {theme} vs {versus}")
                } else {
                    let percent = ((ratio - 1.0) * 100.0).round();
                    write!(f, "+{percent}% mentions of {theme} vs {versus}")
                }
            }
            ItemReason::Severity { severity } => write!(f, "severity {severity}"),
            ItemReason::Reach { accounts: 1 } => f.write_str("1 account"),
            ItemReason::Reach { accounts } => write!(f, "{accounts} accounts"),
            ItemReason::Similar { count } => write!(f, "+{count} similar"),
            ItemReason::TopTheme { theme, count } => write!(f, "top theme: {theme} ({count})"),
            ItemReason::Recent { on } => write!(f, "observed {}", on.format("%-d %b %Y")),
        }
    }
}

/// One item of a digest: an insight standing for itself and its near-duplicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestItem {
    /// The insight shown.
    pub insight: Insight,
    /// Near-duplicates folded into it, by id, ascending.
    pub similar: Vec<InsightId>,
    /// Why it is here, most telling first, one to three.
    pub reasons: Vec<ItemReason>,
    /// Distinct accounts sharing its main theme or its group (at least 1).
    pub reach: u64,
    /// Higher ranks first; only comparable within one digest.
    pub score: f64,
}

/// A composed digest, ready to be stored in the outbox and rendered with [`message`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// The team's name.
    pub team: String,
    /// The period covered.
    pub period: Period,
    /// The period's label ([`Period::label`]).
    pub label: String,
    /// Today in the team's timezone, as given.
    pub today: NaiveDate,
    /// Insights observed in the period.
    pub total: u64,
    /// Distinct accounts among them.
    pub accounts: u64,
    /// The top items, best first.
    pub items: Vec<DigestItem>,
    /// The period's largest themes, largest first, at most five.
    pub top_themes: Vec<Count>,
    /// Themes that moved noticeably, new first, then growing, then fading, at most
    /// [`MAX_THEME_LINES`].
    pub themes: Vec<ThemeTrend>,
    /// Whether the previous period had enough data to compare with: without it no theme is
    /// called new or growing.
    pub compared: bool,
    /// Open flags, most flagged first, then the longest waiting.
    pub flags: Vec<OpenFlag>,
    /// Decisions due for review, the longest overdue first.
    pub reviews_due: Vec<DueReview>,
    /// The most discussed or useful insights, most engaged first.
    pub engagement: Vec<Engagement>,
    /// How the team's decisions fared recently (none: not counted, or nothing to tell).
    #[serde(default)]
    pub decisions: Option<DecisionFigures>,
    /// Nothing was observed in the period.
    pub quiet: bool,
    /// The biggest themes of recent weeks, largest first, for the quiet-week note.
    pub running_themes: Vec<Count>,
    /// The top themes week by week over the last [`CHART_WEEKS`] weeks (none: nothing to
    /// draw, or a digest stored before digests had charts).
    #[serde(default)]
    pub chart: Option<ChartSpec>,
}

/// What severity 1 to 5 multiplies an item's score by.
const SEVERITY_FACTORS: [f64; 5] = [0.7, 0.825, 0.95, 1.075, 1.2];
/// What recency loses from the period's last day to its first.
const RECENCY_DROP: f64 = 0.15;

/// Recency within a period: 1 on its last day, 0.85 on its first.
fn period_recency(period: &Period) -> Recency {
    let range = period.observed();
    Recency::Linear {
        reference: range.until.pred_opt().unwrap_or(range.from),
        span_days: period.days().saturating_sub(1).max(1) as f64,
        drop: RECENCY_DROP,
    }
}

/// What the distinct accounts behind an item multiply its score by: `1 + 0.15 × ln(accounts)`,
/// at most 1.6.
fn reach_factor(accounts: u64) -> f64 {
    1.0 + (0.15 * (accounts.max(1) as f64).ln()).min(0.6)
}

/// How the store's search engine ranks every insight of `period` for its digest, so that the
/// candidates handed to [`compose`] in [`DigestInput::current`] are the period's best, whatever
/// their number: severity, recency within the period, and the momentum and reach of the
/// insight's main theme, weighed as [`compose`] weighs them. The counts are those of the whole
/// period, the previous one, and distinct accounts per main theme.
pub fn ranking(
    period: &Period,
    current_themes: &[Count],
    previous_themes: &[Count],
    theme_accounts: &[Count],
) -> Ranking {
    let previous_mentions: u64 = previous_themes.iter().map(|c| c.count).sum();
    let compared = previous_mentions >= MIN_CHANGE;
    let trends = theme_trends(current_themes, previous_themes, &[], compared);
    let mut factors: BTreeMap<String, f64> = BTreeMap::new();
    for (key, trend) in &trends {
        let momentum = match trend.movement {
            Movement::New => Momentum::New {
                theme: trend.name.clone(),
                now: trend.count,
            }
            .factor(),
            Movement::Growing => Momentum::Rising {
                theme: trend.name.clone(),
                now: trend.count,
                before: trend.previous,
            }
            .factor(),
            Movement::Fading | Movement::Steady => 1.0,
        };
        factors.insert(key.clone(), momentum);
    }
    for c in theme_accounts {
        let key = model::key(&c.name);
        if !key.is_empty() {
            *factors.entry(key).or_insert(1.0) *= reach_factor(c.count);
        }
    }
    Ranking {
        relevance: false,
        coordination: false,
        recency: period_recency(period),
        severity: SEVERITY_FACTORS,
        main_theme: ThemeFactors::Given {
            factors,
            default: 1.0,
        },
    }
}

/// Composes the digest: pure and deterministic (ties are broken by id, never by input order or
/// hashing).
pub fn compose(input: &DigestInput) -> Digest {
    let period = &input.period;
    let mut seen = BTreeSet::new();
    let current: Vec<&Insight> = input.current.iter().filter(|i| seen.insert(i.id)).collect();

    let previous_mentions: u64 = input.previous_themes.iter().map(|c| c.count).sum();
    // Against fewer mentions than a meaningful change, every theme would look new.
    let compared = previous_mentions >= MIN_CHANGE;
    let trends = theme_trends(
        &input.current_themes,
        &input.previous_themes,
        &current,
        compared,
    );

    let size = match input.size {
        0 => DEFAULT_SIZE,
        n => n.min(MAX_ITEMS),
    };
    let sample_accounts = current
        .iter()
        .filter_map(|i| account_key(i))
        .collect::<BTreeSet<_>>()
        .len() as u64;
    let top_themes = sorted_counts(&input.current_themes, TOP_THEMES);
    let theme_accounts: BTreeMap<String, u64> = input
        .theme_accounts
        .iter()
        .map(|c| (model::key(&c.name), c.count))
        .collect();
    let items = top_items(
        &current,
        &trends,
        &top_themes,
        &theme_accounts,
        period,
        size,
    );

    let mut moving: Vec<ThemeTrend> = trends
        .into_values()
        .filter(|t| t.movement != Movement::Steady)
        .collect();
    moving.sort_by(|a, b| {
        b.change()
            .unsigned_abs()
            .cmp(&a.change().unsigned_abs())
            .then_with(|| model::key(&a.name).cmp(&model::key(&b.name)))
    });
    moving.truncate(MAX_THEME_LINES);
    // The biggest changes are chosen, then read in order: new, growing, fading.
    moving.sort_by_key(|t| t.movement);

    let mut flags = input.flags.clone();
    flags.sort_by(|a, b| {
        b.flags
            .cmp(&a.flags)
            .then(a.first_flagged_at.cmp(&b.first_flagged_at))
            .then(a.insight_id.cmp(&b.insight_id))
    });
    let mut reviews_due = input.reviews_due.clone();
    reviews_due.sort_by(|a, b| {
        a.review_on
            .cmp(&b.review_on)
            .then(a.decision_id.cmp(&b.decision_id))
    });
    let mut engagement: Vec<Engagement> = input
        .engagement
        .iter()
        .filter(|e| e.comments > 0 || e.useful > 0)
        .cloned()
        .collect();
    engagement.sort_by(|a, b| {
        let total = |e: &Engagement| u64::from(e.comments) + u64::from(e.useful);
        total(b)
            .cmp(&total(a))
            .then(b.comments.cmp(&a.comments))
            .then(a.insight_id.cmp(&b.insight_id))
    });

    Digest {
        team: input.team.clone(),
        period: period.clone(),
        label: period.label(),
        today: input.today,
        total: input.current_total.max(current.len() as u64),
        accounts: input.current_accounts.max(sample_accounts),
        items,
        top_themes,
        themes: moving,
        compared,
        flags,
        reviews_due,
        engagement,
        decisions: input.decisions.filter(|f| !f.is_empty()),
        quiet: current.is_empty() && input.current_total == 0,
        running_themes: sorted_counts(&input.running_themes, usize::MAX),
        chart: theme_chart(period, &input.theme_days),
    }
}

/// The themes the digest's chart draws: the period's largest, as the summary names them.
pub fn chart_themes(current_themes: &[Count]) -> Vec<String> {
    sorted_counts(current_themes, TOP_THEMES)
        .into_iter()
        .map(|c| c.name)
        .collect()
}

/// The Mondays of the chart's weeks, oldest first: [`CHART_WEEKS`] weeks ending with the week
/// of the period's last day.
fn chart_weeks(period: &Period) -> Vec<NaiveDate> {
    let range = period.observed();
    let last = week_start(range.until.pred_opt().unwrap_or(range.from));
    (0..CHART_WEEKS as u64)
        .rev()
        .filter_map(|back| last.checked_sub_days(Days::new(7 * back)))
        .collect()
}

/// The observed dates the chart counts: from the Monday of its first week to the end of the
/// period (its last week may be cut short by the period's end).
pub fn chart_range(period: &Period) -> DateRange {
    let range = period.observed();
    DateRange {
        from: chart_weeks(period).first().copied().unwrap_or(range.from),
        until: range.until,
    }
}

/// The chart of the top themes, week by week; none when no theme had a match in those weeks.
fn theme_chart(period: &Period, theme_days: &[ThemeDays]) -> Option<ChartSpec> {
    let weeks = chart_weeks(period);
    let series: Vec<ChartSeries> = theme_days
        .iter()
        .take(TOP_THEMES)
        .map(|theme| ChartSeries {
            name: clean(&theme.name, NAME_CHARS),
            counts: week_counts(&theme.by_day, &weeks),
        })
        .filter(|s| s.counts.iter().any(|n| *n > 0))
        .collect();
    if weeks.is_empty() || series.is_empty() {
        return None;
    }
    Some(ChartSpec {
        title: format!("Top themes, last {} weeks", weeks.len()),
        weeks,
        series,
    })
}

/// Counts merged by theme key (first spelling kept), largest first, ties by key.
fn sorted_counts(counts: &[Count], limit: usize) -> Vec<Count> {
    let mut merged: BTreeMap<String, Count> = BTreeMap::new();
    for c in counts {
        let key = model::key(&c.name);
        if key.is_empty() {
            continue;
        }
        merged
            .entry(key)
            .or_insert_with(|| Count {
                name: c.name.clone(),
                count: 0,
            })
            .count += c.count;
    }
    let mut out: Vec<(String, Count)> = merged.into_iter().filter(|(_, c)| c.count > 0).collect();
    out.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    out.into_iter().take(limit).map(|(_, c)| c).collect()
}

/// Every theme of either period by key, with its movement.
///
/// The insights handed over are a lower bound for the current counts: a store that lists only
/// its largest themes must not make a theme it left out look as if it had dropped to 0.
fn theme_trends(
    current: &[Count],
    previous: &[Count],
    sample: &[&Insight],
    compared: bool,
) -> BTreeMap<String, ThemeTrend> {
    let mut trends: BTreeMap<String, ThemeTrend> = BTreeMap::new();
    for (counts, is_current) in [(current, true), (previous, false)] {
        for c in counts {
            let key = model::key(&c.name);
            if key.is_empty() {
                continue;
            }
            let trend = trends.entry(key).or_insert_with(|| ThemeTrend {
                name: c.name.trim().to_string(),
                count: 0,
                previous: 0,
                movement: Movement::Steady,
            });
            if is_current {
                trend.count += c.count;
            } else {
                trend.previous += c.count;
            }
        }
    }
    let mut seen: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for insight in sample {
        let keys: BTreeSet<(String, &str)> = insight
            .themes
            .iter()
            .map(|t| (model::key(t), t.as_str()))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        for (key, name) in keys {
            seen.entry(key)
                .or_insert_with(|| (name.trim().to_string(), 0))
                .1 += 1;
        }
    }
    for (key, (name, count)) in seen {
        let trend = trends.entry(key).or_insert_with(|| ThemeTrend {
            name,
            count: 0,
            previous: 0,
            movement: Movement::Steady,
        });
        trend.count = trend.count.max(count);
    }
    for trend in trends.values_mut() {
        trend.movement = movement(trend.count, trend.previous, compared);
    }
    trends
}

/// New, growing or fading when the change is meaningful: at least [`MIN_CHANGE`] insights and
/// [`MIN_SHARE`] of the larger count. Steady otherwise, and always without a previous period.
fn movement(now: u64, before: u64, compared: bool) -> Movement {
    let change = now.abs_diff(before);
    let meaningful = change >= MIN_CHANGE && change as f64 >= MIN_SHARE * now.max(before) as f64;
    if !compared || !meaningful {
        Movement::Steady
    } else if before == 0 {
        Movement::New
    } else if now > before {
        Movement::Growing
    } else {
        Movement::Fading
    }
}

/// The strongest upward movement among an insight's themes.
#[derive(Debug, Clone)]
enum Momentum {
    New {
        theme: String,
        now: u64,
    },
    Rising {
        theme: String,
        now: u64,
        before: u64,
    },
}

impl Momentum {
    fn factor(&self) -> f64 {
        match self {
            Momentum::New { .. } => 1.35,
            Momentum::Rising { now, before, .. } => {
                1.0 + (0.1 * *now as f64 / (*before).max(1) as f64).min(0.3)
            }
        }
    }

    /// Orders momenta: any new theme beats a rising one, then the larger, then the first key.
    fn strength(&self) -> (u8, u64, u64) {
        match self {
            Momentum::New { now, .. } => (1, *now, 0),
            Momentum::Rising { now, before, .. } => (
                0,
                (*now as f64 / (*before).max(1) as f64 * 1000.0) as u64,
                *now,
            ),
        }
    }
}

fn momentum(insight: &Insight, trends: &BTreeMap<String, ThemeTrend>) -> Option<Momentum> {
    let mut best: Option<Momentum> = None;
    for theme in &insight.themes {
        let Some(trend) = trends.get(&model::key(theme)) else {
            continue;
        };
        let candidate = match trend.movement {
            Movement::New => Momentum::New {
                theme: trend.name.clone(),
                now: trend.count,
            },
            Movement::Growing => Momentum::Rising {
                theme: trend.name.clone(),
                now: trend.count,
                before: trend.previous,
            },
            Movement::Fading | Movement::Steady => continue,
        };
        // Strictly stronger only: on a tie the insight's first theme wins.
        if best
            .as_ref()
            .is_none_or(|b| candidate.strength() > b.strength())
        {
            best = Some(candidate);
        }
    }
    best
}

fn main_theme_key(insight: &Insight) -> Option<String> {
    insight
        .themes
        .iter()
        .map(|t| model::key(t))
        .find(|k| !k.is_empty())
}

fn account_key(insight: &Insight) -> Option<String> {
    insight
        .data
        .account
        .as_deref()
        .map(model::key)
        .filter(|k| !k.is_empty())
}

/// A group of near-duplicates on its way to becoming an item.
struct Group {
    lead: usize,
    similar: Vec<InsightId>,
    main_theme: Option<String>,
    reach: u64,
    momentum: Option<Momentum>,
    score: f64,
}

/// Groups the period's insights, scores each group and picks the top `size`, keeping them
/// varied across main themes.
fn top_items(
    insights: &[&Insight],
    trends: &BTreeMap<String, ThemeTrend>,
    top_themes: &[Count],
    period_accounts: &BTreeMap<String, u64>,
    period: &Period,
    size: usize,
) -> Vec<DigestItem> {
    if insights.is_empty() {
        return Vec::new();
    }
    let momenta: Vec<Option<Momentum>> = insights.iter().map(|i| momentum(i, trends)).collect();
    let recency = period_recency(period);
    // Severity, momentum and recency belong to one insight; reach and group size to its group.
    let base: Vec<f64> = insights
        .iter()
        .zip(&momenta)
        .map(|(insight, momentum)| {
            let severity = SEVERITY_FACTORS[usize::from(insight.data.severity.get() - 1)];
            let momentum = momentum.as_ref().map_or(1.0, Momentum::factor);
            severity * recency.factor(insight.data.observed_on) * momentum
        })
        .collect();

    let mut theme_accounts: HashMap<String, BTreeSet<String>> = HashMap::new();
    for insight in insights {
        if let (Some(theme), Some(account)) = (main_theme_key(insight), account_key(insight)) {
            theme_accounts.entry(theme).or_default().insert(account);
        }
    }

    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut groups = near_duplicates(insights);
    for i in 0..insights.len() {
        let root = groups.find(i);
        members.entry(root).or_default().push(i);
    }
    let better = |a: usize, b: usize| {
        base[a]
            .total_cmp(&base[b])
            .then(
                insights[a]
                    .data
                    .observed_on
                    .cmp(&insights[b].data.observed_on),
            )
            .then(insights[a].id.cmp(&insights[b].id))
    };
    let mut scored: Vec<Group> = members
        .into_values()
        .map(|group| {
            let lead = *group
                .iter()
                .max_by(|&&a, &&b| better(a, b))
                .expect("a group has members");
            let main_theme = main_theme_key(insights[lead]);
            let mut accounts: BTreeSet<String> = group
                .iter()
                .filter_map(|&i| account_key(insights[i]))
                .collect();
            if let Some(shared) = main_theme.as_ref().and_then(|t| theme_accounts.get(t)) {
                accounts.extend(shared.iter().cloned());
            }
            // The whole period's count, when the store gave it, knows accounts beyond the
            // candidates.
            let counted = main_theme
                .as_ref()
                .and_then(|t| period_accounts.get(t))
                .copied()
                .unwrap_or(0);
            let reach = (accounts.len() as u64).max(counted).max(1);
            let mut similar: Vec<InsightId> = group
                .iter()
                .filter(|&&i| i != lead)
                .map(|&i| insights[i].id)
                .collect();
            similar.sort_unstable();
            let score = base[lead]
                * reach_factor(reach)
                * (1.0 + (0.1 * (1.0 + similar.len() as f64).ln()).min(0.3));
            Group {
                lead,
                similar,
                main_theme,
                reach,
                momentum: momenta[lead].clone(),
                score,
            }
        })
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(
                insights[b.lead]
                    .data
                    .observed_on
                    .cmp(&insights[a.lead].data.observed_on),
            )
            .then(insights[b.lead].id.cmp(&insights[a.lead].id))
    });

    // Greedy choice: each pick discounts the rest on the same main theme.
    let mut chosen: Vec<Group> = Vec::new();
    let mut shown_themes: BTreeMap<String, i32> = BTreeMap::new();
    while chosen.len() < size && !scored.is_empty() {
        let adjusted = |g: &Group| {
            let shown = g
                .main_theme
                .as_ref()
                .and_then(|t| shown_themes.get(t))
                .copied()
                .unwrap_or(0);
            g.score * SAME_THEME_DISCOUNT.powi(shown)
        };
        let mut best = 0;
        for (i, g) in scored.iter().enumerate().skip(1) {
            // Strictly better only, so ties keep the order of the sort above.
            if adjusted(g) > adjusted(&scored[best]) {
                best = i;
            }
        }
        let group = scored.remove(best);
        if let Some(theme) = &group.main_theme {
            *shown_themes.entry(theme.clone()).or_default() += 1;
        }
        chosen.push(group);
    }

    let versus = period.versus();
    chosen
        .into_iter()
        .map(|g| {
            let insight = insights[g.lead];
            let reasons = reasons(insight, &g, top_themes, &versus);
            DigestItem {
                insight: insight.clone(),
                similar: g.similar,
                reasons,
                reach: g.reach,
                // Four decimals read well in JSON and parse back to the same value.
                score: (g.score * 1e4).round() / 1e4,
            }
        })
        .collect()
}

fn reasons(
    insight: &Insight,
    group: &Group,
    top_themes: &[Count],
    versus: &str,
) -> Vec<ItemReason> {
    let mut reasons = Vec::new();
    match &group.momentum {
        Some(Momentum::New { theme, .. }) => reasons.push(ItemReason::NewTheme {
            theme: theme.clone(),
        }),
        Some(Momentum::Rising { theme, now, before }) => reasons.push(ItemReason::Rising {
            theme: theme.clone(),
            now: *now,
            before: *before,
            versus: versus.to_string(),
        }),
        None => {}
    }
    let severity = insight.data.severity.get();
    if severity >= 4 {
        reasons.push(ItemReason::Severity { severity });
    }
    if group.reach >= 3 {
        reasons.push(ItemReason::Reach {
            accounts: group.reach,
        });
    }
    if !group.similar.is_empty() {
        reasons.push(ItemReason::Similar {
            count: group.similar.len(),
        });
    }
    if reasons.is_empty() {
        let top = group.main_theme.as_ref().and_then(|key| {
            top_themes
                .iter()
                .take(3)
                .find(|c| c.count >= 2 && model::key(&c.name) == *key)
        });
        reasons.push(match top {
            Some(c) => ItemReason::TopTheme {
                theme: c.name.clone(),
                count: c.count,
            },
            None => ItemReason::Recent {
                on: insight.data.observed_on,
            },
        });
    }
    reasons.truncate(MAX_REASONS);
    reasons
}

/// Union-find over insight positions; the smaller position is always the root, so groups come
/// out the same whatever order pairs are found in.
struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn new(n: usize) -> Groups {
        Groups {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (low, high) = (a.min(b), a.max(b));
            self.parent[high] = low;
        }
    }
}

/// Near-duplicates: the same title (as stems) from the same account, or bodies whose content
/// stems overlap by at least [`SIMILAR_BODIES`] (Jaccard).
fn near_duplicates(insights: &[&Insight]) -> Groups {
    let mut groups = Groups::new(insights.len());

    let mut by_title: HashMap<(String, String), usize> = HashMap::new();
    for (i, insight) in insights.iter().enumerate() {
        let title = text::Stems::of(&insight.data.title).as_spaced().to_string();
        let Some(account) = account_key(insight) else {
            continue;
        };
        if title.is_empty() {
            continue;
        }
        match by_title.get(&(title.clone(), account.clone())) {
            Some(&first) => groups.union(first, i),
            None => {
                by_title.insert((title, account), i);
            }
        }
    }

    for (a, b) in similar_bodies(insights) {
        groups.union(a, b);
    }
    groups
}

/// The distinct content stems of a body: no function words, no single letters and no redaction
/// marks such as CFPB's `XXXX`, which every narrative shares.
fn body_terms(body: &str) -> BTreeSet<String> {
    text::tokens(body)
        .filter(|t| {
            t.text.chars().count() > 1
                && !text::is_stopword(&t.text)
                && !t.text.chars().all(|c| c == 'x')
        })
        .map(|t| text::stem(&t.text))
        .collect()
}

/// Pairs of bodies with Jaccard overlap of at least [`SIMILAR_BODIES`], found with prefix
/// filtering: with stems ordered rarest first, two such sets must share one of their first
/// `len - ceil(t·len) + 1` stems, so only pairs sharing a rare stem are compared in full.
fn similar_bodies(insights: &[&Insight]) -> Vec<(usize, usize)> {
    let sets: Vec<BTreeSet<String>> = insights.iter().map(|i| body_terms(&i.data.body)).collect();
    let mut frequency: BTreeMap<&str, usize> = BTreeMap::new();
    for set in sets.iter().filter(|s| s.len() >= MIN_BODY_TERMS) {
        for stem in set {
            *frequency.entry(stem.as_str()).or_default() += 1;
        }
    }
    let mut order: Vec<(&str, usize)> = frequency.into_iter().collect();
    order.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    let rank: HashMap<&str, u32> = order
        .iter()
        .enumerate()
        .map(|(r, (stem, _))| (*stem, r as u32))
        .collect();
    let ranked: Vec<Option<Vec<u32>>> = sets
        .iter()
        .map(|set| {
            (set.len() >= MIN_BODY_TERMS).then(|| {
                let mut r: Vec<u32> = set.iter().map(|s| rank[s.as_str()]).collect();
                r.sort_unstable();
                r
            })
        })
        .collect();

    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut pairs = Vec::new();
    let mut checked = vec![usize::MAX; insights.len()];
    for (i, set) in ranked.iter().enumerate() {
        let Some(set) = set else { continue };
        let prefix = set.len() - (SIMILAR_BODIES * set.len() as f64).ceil() as usize + 1;
        for stem in &set[..prefix.min(set.len())] {
            let entry = index.entry(*stem).or_default();
            for &j in entry.iter() {
                if checked[j] == i {
                    continue;
                }
                checked[j] = i;
                let other = ranked[j].as_ref().expect("only indexed sets");
                if jaccard(set, other) >= SIMILAR_BODIES {
                    pairs.push((j, i));
                }
            }
            entry.push(i);
        }
    }
    pairs
}

/// Overlap of two sorted sets: shared over all.
fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let (small, large) = (a.len().min(b.len()), a.len().max(b.len()));
    if large == 0 || (small as f64) < SIMILAR_BODIES * large as f64 {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// The digest as a neutral message: header with the counts, each item with its quote, context,
/// reasons and buttons, the themes on the move, flags, reviews, the most discussed and a footer.
/// A quiet period gets a short note instead of items, never an empty message. Customer text is
/// carried as plain strings (control characters removed, long values cut); adapters escape.
pub fn message(digest: &Digest) -> Message {
    let mut m = Message::new().header(headline(digest));
    if digest.quiet {
        m = quiet_note(m, digest);
    } else {
        m = summary(m, digest);
        if let Some(chart) = &digest.chart {
            m = m.chart(chart.clone());
        }
        if !digest.items.is_empty() {
            m = m.divider();
            for item in &digest.items {
                m = item_blocks(m, item);
            }
        }
        if digest.compared {
            m = m.divider().section(themes_on_the_move(digest));
        }
    }
    if let Some(text) = flags_section(digest) {
        m = m.section(text);
    }
    if let Some(text) = reviews_section(digest) {
        m = m.section(text);
    }
    if let Some(text) = discussed_section(digest) {
        m = m.section(text);
    }
    m.divider().context(footer(digest))
}

fn headline(digest: &Digest) -> String {
    let counts = if digest.quiet {
        format!("quiet {}", digest.period.noun())
    } else {
        let insights = plural(digest.total, "new insight", "new insights");
        match digest.accounts {
            0 => insights,
            a => format!("{insights} from {}", plural(a, "account", "accounts")),
        }
    };
    let team = clean(&digest.team, 40);
    let text = if team.is_empty() {
        format!("{} — {counts}", digest.label)
    } else {
        format!("{team} · {} — {counts}", digest.label)
    };
    clean(&text, HEADER_CHARS)
}

fn summary(m: Message, digest: &Digest) -> Message {
    let mut notes = Vec::new();
    if !digest.top_themes.is_empty() {
        notes.push(Text::plain(format!(
            "Top themes: {}",
            counts_list(&digest.top_themes, TOP_THEMES)
        )));
    }
    if !digest.compared {
        notes.push(Text::plain(format!(
            "Too little data from {} to show trends yet.",
            digest.period.versus()
        )));
    }
    if notes.is_empty() {
        m
    } else {
        m.push(Block::Context(notes))
    }
}

fn quiet_note(m: Message, digest: &Digest) -> Message {
    let noun = digest.period.noun();
    let mut quiet = Text::new().strong(format!("Quiet {noun}")).and(format!(
        ": no new insights were observed {}.",
        match noun {
            "period" => "in this period",
            "day" => "on this day",
            _ => "this week",
        }
    ));
    let running: Vec<Count> = digest.running_themes.iter().take(LISTED).cloned().collect();
    quiet = quiet.line();
    quiet = if running.is_empty() {
        quiet
            .and("Nothing in recent weeks either: import a file, or add what a customer said with ")
            .code("/insights add TEXT")
            .and(".")
    } else {
        quiet.and(format!(
            "The biggest themes of recent weeks: {}.",
            counts_list(&running, LISTED)
        ))
    };
    m.section(quiet)
}

fn item_blocks(m: Message, item: &DigestItem) -> Message {
    let insight = &item.insight;
    let data = &insight.data;
    let mut title = clean(&data.title, TITLE_CHARS);
    if title.is_empty() {
        title = "(untitled)".to_string();
    }
    let mut head = Text::new().strong(format!("#{} {title}", insight.id));
    let quote = extract(&data.body, QUOTE_CHARS);
    if !quote.is_empty() && quote != title {
        head = head.line().quote(quote);
    }

    let mut about = vec![data.observed_on.format("%-d %b %Y").to_string()];
    let themes: Vec<String> = insight
        .themes
        .iter()
        .take(3)
        .map(|t| clean(t, NAME_CHARS))
        .filter(|t| !t.is_empty())
        .collect();
    if !themes.is_empty() {
        about.push(themes.join(", "));
    }
    for value in [&data.segment, &data.account].into_iter().flatten() {
        let value = clean(value, NAME_CHARS);
        if !value.is_empty() {
            about.push(value);
        }
    }
    let reference = clean(&format!("{} {}", data.source, data.source_ref), NAME_CHARS);
    let mut context_line = Text::plain(format!("{} · ", about.join(" · ")));
    context_line = match data.url.as_deref().filter(|u| linkable(u)) {
        Some(url) => context_line.link(reference, url.trim()),
        None => context_line.and(reference),
    };
    let mut context = vec![context_line];
    if !item.reasons.is_empty() {
        let reasons: Vec<String> = item
            .reasons
            .iter()
            .map(|r| clean(&r.to_string(), 2 * NAME_CHARS))
            .collect();
        context.push(Text::new().emphasis(format!("why: {}", reasons.join("; "))));
    }
    if !item.similar.is_empty() {
        let mut ids: Vec<String> = item
            .similar
            .iter()
            .take(SIMILAR_LISTED)
            .map(|id| format!("#{id}"))
            .collect();
        if item.similar.len() > SIMILAR_LISTED {
            ids.push(format!("+{} more", item.similar.len() - SIMILAR_LISTED));
        }
        context.push(Text::plain(format!("similar: {}", ids.join(", "))));
    }

    let id = insight.id;
    m.section(head)
        .push(Block::Context(context))
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
        ]))
}

fn themes_on_the_move(digest: &Digest) -> Text {
    let mut text = Text::new().strong("Themes on the move");
    if digest.themes.is_empty() {
        return text.line().and(format!(
            "No theme moved noticeably against {}.",
            digest.period.versus()
        ));
    }
    for trend in &digest.themes {
        let change = match trend.movement {
            Movement::New => "new".to_string(),
            _ if trend.change() >= 0 => format!("+{}", trend.change()),
            _ => format!("−{}", trend.change().unsigned_abs()),
        };
        text = text.line().and(format!(
            "{} {} {} ({change}, {} before)",
            trend.movement.symbol(),
            clean(&trend.name, NAME_CHARS),
            trend.count,
            trend.previous
        ));
    }
    text
}

fn flags_section(digest: &Digest) -> Option<Text> {
    if digest.flags.is_empty() {
        return None;
    }
    let mut text = Text::new().strong("Flagged for a decision");
    for flag in digest.flags.iter().take(LISTED) {
        let mut line = format!(
            "#{} {} — {} since {}",
            flag.insight_id,
            clean(&flag.title, 100),
            plural(u64::from(flag.flags), "flag", "flags"),
            flag.first_flagged_at.format("%-d %b %Y")
        );
        if let Some(note) = flag.latest_note.as_deref().map(|n| clean(n, 150))
            && !note.is_empty()
        {
            line.push_str(&format!(": “{note}”"));
        }
        text = text.line().and(line);
    }
    Some(and_more(text, digest.flags.len()))
}

fn reviews_section(digest: &Digest) -> Option<Text> {
    if digest.reviews_due.is_empty() {
        return None;
    }
    let mut text = Text::new().strong("Decisions due for review");
    for review in digest.reviews_due.iter().take(LISTED) {
        let late = (digest.today - review.review_on).num_days();
        let when = match late {
            ..=0 => "due today".to_string(),
            1 => "1 day overdue".to_string(),
            n => format!("{n} days overdue"),
        };
        let mut line = format!(
            "Decision {}: {} — review on {} ({when})",
            review.decision_id,
            clean(&review.title, 100),
            review.review_on.format("%-d %b %Y")
        );
        if let Some(owner) = review.owner.as_deref().map(|o| clean(o, NAME_CHARS))
            && !owner.is_empty()
        {
            line.push_str(&format!(", owner {owner}"));
        }
        text = text.line().and(line);
    }
    Some(and_more(text, digest.reviews_due.len()))
}

fn discussed_section(digest: &Digest) -> Option<Text> {
    if digest.engagement.is_empty() {
        return None;
    }
    let mut text = Text::new().strong("Most discussed");
    for e in digest.engagement.iter().take(DISCUSSED_LISTED) {
        let mut counts = Vec::new();
        if e.comments > 0 {
            counts.push(plural(u64::from(e.comments), "comment", "comments"));
        }
        if e.useful > 0 {
            counts.push(format!("{} useful", e.useful));
        }
        text = text.line().and(format!(
            "#{} {} — {}",
            e.insight_id,
            clean(&e.title, 100),
            counts.join(", ")
        ));
    }
    Some(text)
}

fn footer(digest: &Digest) -> Text {
    let mut text = if digest.items.is_empty() {
        Text::plain("Ask the store anything with ")
            .code("/insights ask")
            .and(".")
    } else {
        Text::plain("Discuss, flag or mark an insight useful with its buttons, or type ")
            .code("/insights show ID")
            .and(".")
    };
    text = text.and(format!(" Dates in {}.", digest.period.timezone.name()));
    if let Some(figures) = &digest.decisions {
        text = text.line().and(decision_figures(figures));
    }
    text
}

/// `Last 90 days: 4 insights flagged · 2 decisions logged, 6.5 days from first evidence to
/// decision (median) · 1 of 2 reviews on time.`
fn decision_figures(f: &DecisionFigures) -> String {
    let mut parts = vec![
        format!("{} flagged", plural(f.flagged, "insight", "insights")),
        plural(f.logged, "decision logged", "decisions logged"),
    ];
    if let Some(days) = f.median_days_to_decision {
        let last = parts.pop().unwrap_or_default();
        parts.push(format!(
            "{last}, {days:.1} days from first evidence to decision (median)"
        ));
    }
    if f.reviews_done > 0 {
        parts.push(format!(
            "{} of {} on time",
            thousands(f.reviews_on_time),
            plural(f.reviews_done, "review", "reviews")
        ));
    }
    if let Some(days) = f.median_days_to_notice {
        parts.push(format!(
            "themes noticed {days:.1} days after their first insight (median)"
        ));
    }
    if f.spikes > 0 {
        let decided = match f.median_days_spike_to_decision {
            Some(days) => format!(", decided {days:.1} days after (median)"),
            None => ", none decided yet".to_string(),
        };
        parts.push(format!("{}{decided}", plural(f.spikes, "spike", "spikes")));
    }
    format!("Last {} days: {}.", f.window_days, parts.join(" · "))
}

/// Appends "… and N more" when a list was cut to [`LISTED`].
fn and_more(text: Text, len: usize) -> Text {
    if len > LISTED {
        text.line().emphasis(format!("… and {} more", len - LISTED))
    } else {
        text
    }
}

fn counts_list(counts: &[Count], limit: usize) -> String {
    counts
        .iter()
        .take(limit)
        .map(|c| format!("{} ({})", clean(&c.name, NAME_CHARS), c.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", thousands(n))
    }
}

/// `1765` as `1,765`.
fn thousands(n: u64) -> String {
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

/// Only web links become links: anything else (`javascript:`, overlong or spaced values) is
/// shown as the plain source reference.
fn linkable(url: &str) -> bool {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() <= MAX_URL_CHARS
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Characters that are invisible yet change how text displays: bidirectional overrides and
/// isolates, zero-width characters, the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// `s` on one line: whitespace and control characters collapsed to single spaces, invisible
/// formatting characters removed, cut to `max` characters with an ellipsis.
fn clean(s: &str, max: usize) -> String {
    let mut out: Vec<char> = Vec::new();
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        // One past the limit is enough to know the text must be cut; the rest is never read.
        if out.len() > max {
            break;
        }
    }
    if out.len() > max {
        out.truncate(max.saturating_sub(1));
        while out.last() == Some(&' ') {
            out.pop();
        }
        out.push('…');
    }
    out.into_iter().collect()
}

/// A quote from a body: the whole of it when short, else the opening sentences that fit in
/// `max` characters, else a cut at a word boundary.
fn extract(body: &str, max: usize) -> String {
    let collapsed = clean(body, usize::MAX);
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut end = 0;
    let mut chars = collapsed.char_indices().enumerate().peekable();
    while let Some((n, (at, c))) = chars.next() {
        if n + 2 >= max {
            break;
        }
        let ends_sentence =
            matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|(_, (_, next))| *next == ' ');
        if ends_sentence {
            end = at + c.len_utf8();
        }
    }
    // A sentence of a few words reads as a fragment; a cut at a word boundary says more.
    if collapsed[..end].chars().count() >= max / 3 {
        format!("{} …", &collapsed[..end])
    } else {
        crate::rank::snippet(&collapsed, &[], max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{self, Format, ImportOptions};
    use crate::index::prepare;
    use crate::message::Span;
    use crate::model::{InsightData, Kind, Sentiment, Severity, Visibility};
    use chrono::{Datelike, TimeZone};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Local midnight of `date` in `tz`, as the scheduler computes a period's bounds.
    fn midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
        tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn period(tz: Tz, from: NaiveDate, days: u64) -> Period {
        Period {
            start: midnight(tz, from),
            end: midnight(tz, from + Days::new(days)),
            timezone: tz,
        }
    }

    fn week() -> Period {
        period(chrono_tz::Europe::London, day(2023, 7, 17), 7)
    }

    fn insight(id: i64, title: &str, body: &str) -> Insight {
        let stamp = Utc.with_ymd_and_hms(2023, 7, 24, 8, 0, 0).unwrap();
        Insight {
            id,
            data: InsightData {
                source: "support".into(),
                source_ref: format!("T-{id}"),
                title: title.into(),
                body: body.into(),
                observed_on: day(2023, 7, 19),
                tags: vec![],
                segment: None,
                stage: None,
                kind: Some(Kind::Pain),
                sentiment: Sentiment::Negative,
                severity: Severity::DEFAULT,
                account: Some(format!("Account {id}")),
                url: None,
                visibility: Visibility::All,
            },
            themes: vec![],
            added_at: stamp,
            updated_at: stamp,
        }
    }

    fn with(mut i: Insight, themes: &[&str], severity: u8, on: NaiveDate) -> Insight {
        i.themes = themes.iter().map(|t| t.to_string()).collect();
        i.data.severity = Severity::new(severity).unwrap();
        i.data.observed_on = on;
        i
    }

    fn count(name: &str, count: u64) -> Count {
        Count {
            name: name.into(),
            count,
        }
    }

    /// An input the way the store fills it: the period's insights most recent first, with
    /// exact counts of themes and accounts over them.
    fn input_of(insights: Vec<Insight>, previous: Vec<Count>) -> DigestInput {
        let mut input = DigestInput::new("Payments", week(), day(2023, 7, 24));
        input.current_total = insights.len() as u64;
        input.current_accounts = insights
            .iter()
            .filter_map(account_key)
            .collect::<BTreeSet<_>>()
            .len() as u64;
        input.current_themes = theme_counts(&insights);
        input.previous_themes = previous;
        input.current = insights;
        input
            .current
            .sort_by_key(|i| std::cmp::Reverse((i.data.observed_on, i.id)));
        input
    }

    fn theme_counts(insights: &[Insight]) -> Vec<Count> {
        let counts: Vec<Count> = insights
            .iter()
            .flat_map(|i| i.themes.iter().map(|t| count(t, 1)))
            .collect();
        sorted_counts(&counts, usize::MAX)
    }

    fn ids(digest: &Digest) -> Vec<i64> {
        digest.items.iter().map(|i| i.insight.id).collect()
    }

    fn reasons_of(item: &DigestItem) -> Vec<String> {
        item.reasons.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn periods_cover_local_dates_and_step_back_by_calendar_days() {
        let p = week();
        assert_eq!(
            p.observed(),
            DateRange {
                from: day(2023, 7, 17),
                until: day(2023, 7, 24)
            }
        );
        assert_eq!(p.label(), "Week of 17 Jul 2023");
        assert_eq!(p.noun(), "week");
        assert_eq!(p.versus(), "last week");
        // London is on summer time in July: the week starts at 23:00 UTC on the Sunday.
        assert_eq!(
            p.start,
            Utc.with_ymd_and_hms(2023, 7, 16, 23, 0, 0).unwrap()
        );
        assert_eq!(p.previous(), period(p.timezone, day(2023, 7, 10), 7));

        // Summer time starts on 26 Mar 2023: the week before still starts at local midnight.
        let london = chrono_tz::Europe::London;
        let after = period(london, day(2023, 3, 27), 7);
        assert_eq!(after.previous(), period(london, day(2023, 3, 20), 7));
        assert_eq!(after.previous().observed().from, day(2023, 3, 20));
        assert_eq!(after.previous().days(), 7);

        let utc = chrono_tz::UTC;
        assert_eq!(period(utc, day(2023, 7, 17), 1).label(), "17 Jul 2023");
        assert_eq!(period(utc, day(2023, 7, 17), 14).label(), "17–30 Jul 2023");
        assert_eq!(
            period(utc, day(2023, 7, 28), 7).label(),
            "Week of 28 Jul 2023"
        );
        assert_eq!(
            period(utc, day(2023, 7, 28), 10).label(),
            "28 Jul – 6 Aug 2023"
        );
        assert_eq!(
            period(utc, day(2023, 12, 28), 10).label(),
            "28 Dec 2023 – 6 Jan 2024"
        );
        assert_eq!(
            period(utc, day(2023, 7, 17), 14).versus(),
            "the previous 14 days"
        );

        // A period shorter than a day still covers its date, and an odd one never panics.
        let short = Period {
            start: Utc.with_ymd_and_hms(2023, 7, 17, 9, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2023, 7, 17, 10, 0, 0).unwrap(),
            timezone: utc,
        };
        assert_eq!(short.days(), 1);
        assert_eq!(short.previous().end, short.start);
        let edge = Period {
            start: DateTime::<Utc>::MIN_UTC,
            end: DateTime::<Utc>::MAX_UTC,
            timezone: utc,
        };
        let _ = (edge.previous(), edge.label(), edge.observed());

        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["timezone"], "Europe/London");
        assert_eq!(serde_json::from_value::<Period>(json).unwrap(), p);
    }

    #[test]
    fn theme_movements_skip_noise() {
        let current = vec![
            count("Identity theft", 5),
            count("Billing", 12),
            count("Onboarding", 41),
            count("Refunds", 2),
            count("Fees", 6),
        ];
        let previous = vec![
            count("billing", 5),
            count("Onboarding", 40),
            count("Late delivery", 9),
            count("Fees", 10),
            count("Refunds", 0),
            count("Login", 2),
        ];
        let mut input = input_of(vec![], previous);
        input.current_themes = current;
        // Not quiet: the store counted insights even if it handed none over.
        input.current_total = 66;
        let digest = compose(&input);
        assert!(digest.compared);
        let lines: Vec<(&str, Movement, u64, u64)> = digest
            .themes
            .iter()
            .map(|t| (t.name.as_str(), t.movement, t.count, t.previous))
            .collect();
        assert_eq!(
            lines,
            [
                ("Identity theft", Movement::New, 5, 0),
                ("Billing", Movement::Growing, 12, 5),
                ("Late delivery", Movement::Fading, 0, 9),
                ("Fees", Movement::Fading, 6, 10),
            ],
            "40 → 41, 0 → 2 and 2 → 0 are noise"
        );
        let text = message(&digest).to_plain();
        assert!(text.contains("Themes on the move"), "{text}");
        assert!(
            text.contains("✦ Identity theft 5 (new, 0 before)"),
            "{text}"
        );
        assert!(text.contains("▲ Billing 12 (+7, 5 before)"), "{text}");
        assert!(text.contains("▼ Late delivery 0 (−9, 9 before)"), "{text}");

        // Many movers: the six biggest changes, still read new, growing, fading.
        let current: Vec<Count> = (1..=10)
            .map(|n| count(&format!("New {n}"), n * 3))
            .collect();
        let mut input = input_of(vec![], vec![count("Gone", 100)]);
        input.current_themes = current;
        input.current_total = 100;
        let digest = compose(&input);
        assert_eq!(digest.themes.len(), MAX_THEME_LINES);
        assert_eq!(digest.themes[0].name, "New 10");
        assert_eq!(digest.themes[5].name, "Gone");
        assert_eq!(digest.themes[5].movement, Movement::Fading);
    }

    #[test]
    fn a_theme_left_out_of_the_counts_is_not_called_gone() {
        let on = day(2023, 7, 19);
        let insights: Vec<Insight> = (1..=6)
            .map(|id| with(insight(id, "Late parcel", ""), &["Delivery"], 3, on))
            .collect();
        let mut input = input_of(insights, vec![count("Delivery", 7), count("Billing", 9)]);
        // The store listed only its largest theme, and not this one.
        input.current_themes = vec![count("Billing", 30)];
        let digest = compose(&input);
        let delivery = digest.themes.iter().find(|t| t.name == "Delivery");
        assert_eq!(delivery, None, "6 against 7 is steady: {:?}", digest.themes);
        assert_eq!(digest.themes[0].name, "Billing");
    }

    #[test]
    fn without_a_previous_period_nothing_is_called_new() {
        let insights = vec![
            with(
                insight(1, "Card stolen", ""),
                &["Fraud"],
                5,
                day(2023, 7, 18),
            ),
            with(
                insight(2, "Card stolen again", ""),
                &["Fraud"],
                3,
                day(2023, 7, 18),
            ),
            with(insight(3, "Fee", ""), &["Fraud"], 3, day(2023, 7, 18)),
        ];
        // One mention before is too thin to compare with.
        let digest = compose(&input_of(insights, vec![count("Fees", 1)]));
        assert!(!digest.compared);
        assert!(digest.themes.is_empty());
        assert!(!digest.quiet);
        for item in &digest.items {
            assert!(
                !item
                    .reasons
                    .iter()
                    .any(|r| matches!(r, ItemReason::NewTheme { .. } | ItemReason::Rising { .. })),
                "{:?}",
                item.reasons
            );
        }
        let text = message(&digest).to_plain();
        assert!(text.contains("Too little data from last week"), "{text}");
        assert!(!text.contains("Themes on the move"), "{text}");
    }

    #[test]
    fn items_rank_by_severity_reach_and_momentum_and_say_why() {
        let on = day(2023, 7, 19);
        let mut insights = vec![
            // A new theme, severe.
            with(
                insight(1, "Someone opened a card in my name", ""),
                &["Identity theft"],
                5,
                on,
            ),
            // A growing theme, from many accounts.
            with(insight(2, "Charged twice", ""), &["Billing"], 3, on),
            // Steady and mild.
            with(insight(3, "Dashboard is slow", ""), &["Performance"], 2, on),
        ];
        for id in 10..17 {
            insights.push(with(
                insight(id, &format!("Invoice {id} wrong"), ""),
                &["Billing"],
                2,
                on,
            ));
        }
        for id in 20..23 {
            insights.push(with(
                insight(id, &format!("Fraud alert {id}"), ""),
                &["Identity theft"],
                3,
                on,
            ));
        }
        for id in 30..33 {
            insights.push(with(
                insight(id, &format!("Slow page {id}"), ""),
                &["Performance"],
                2,
                on,
            ));
        }
        let previous = vec![count("Billing", 2), count("Performance", 4)];
        let mut input = input_of(insights, previous);
        input.size = 3;
        let digest = compose(&input);
        assert_eq!(digest.items.len(), 3);

        let first = &digest.items[0];
        assert_eq!(first.insight.id, 1);
        assert_eq!(
            reasons_of(first),
            ["new theme: Identity theft", "severity 5", "4 accounts"]
        );
        let billing = digest
            .items
            .iter()
            .find(|i| i.insight.id == 2)
            .expect("the rising theme's most severe insight is shown");
        assert_eq!(
            reasons_of(billing),
            ["4× mentions of Billing vs last week", "8 accounts"]
        );
        assert!(
            digest
                .items
                .iter()
                .all(|i| (1..=MAX_REASONS).contains(&i.reasons.len()))
        );
        // A second insight on the new theme beats a steady, mild one, despite the discount.
        assert_eq!(ids(&digest), [1, 2, 22]);
        let scores: Vec<f64> = digest.items.iter().map(|i| i.score).collect();
        assert!(scores[0] >= scores[1], "{scores:?}");

        // Rising by less than double reads as a percentage.
        let rising = ItemReason::Rising {
            theme: "Billing".into(),
            now: 15,
            before: 10,
            versus: "last week".into(),
        };
        assert_eq!(rising.to_string(), "+50% mentions of Billing vs last week");
        let rising = ItemReason::Rising {
            theme: "Billing".into(),
            now: 25,
            before: 10,
            versus: "last week".into(),
        };
        assert_eq!(rising.to_string(), "2.5× mentions of Billing vs last week");
    }

    #[test]
    fn the_top_items_do_not_all_tell_the_same_story() {
        let on = day(2023, 7, 19);
        let insights: Vec<Insight> = (1..=5)
            .map(|id| {
                with(
                    insight(id, &format!("Invoice {id} wrong"), ""),
                    &["Billing"],
                    4,
                    on,
                )
            })
            .chain([with(insight(9, "Export broken", ""), &["Exports"], 3, on)])
            .map(|mut i| {
                i.data.account = None;
                i
            })
            .collect();
        let mut input = input_of(insights, vec![]);
        input.size = 3;
        // Billing is more severe, but a second billing item counts for less than the exports one.
        assert_eq!(ids(&compose(&input)), [5, 9, 4]);
    }

    #[test]
    fn equal_items_break_ties_by_recency_then_id_and_always_explain_themselves() {
        let insights: Vec<Insight> = (1..=4)
            .map(|id| insight(id, &format!("Thing {id}"), ""))
            .chain([with(
                insight(9, "Older thing", ""),
                &[],
                3,
                day(2023, 7, 17),
            )])
            .collect();
        let mut input = input_of(insights, vec![]);
        input.size = 5;
        let digest = compose(&input);
        assert_eq!(ids(&digest), [4, 3, 2, 1, 9]);
        for item in &digest.items {
            assert_eq!(item.reasons.len(), 1);
            assert!(matches!(item.reasons[0], ItemReason::Recent { .. }));
        }
        assert_eq!(reasons_of(&digest.items[4]), ["observed 17 Jul 2023"]);

        let themed: Vec<Insight> = (1..=3)
            .map(|id| {
                with(
                    insight(id, &format!("Late {id}"), ""),
                    &["Delivery"],
                    3,
                    day(2023, 7, 19),
                )
            })
            .map(|mut i| {
                i.data.account = None;
                i
            })
            .collect();
        let digest = compose(&input_of(themed, vec![]));
        assert_eq!(reasons_of(&digest.items[0]), ["top theme: Delivery (3)"]);
    }

    #[test]
    fn near_duplicates_are_grouped_not_repeated() {
        let on = day(2023, 7, 19);
        let body = "I was charged twice for my monthly subscription in July. The second charge \
                    appeared three days later and support never answered my emails about the refund.";
        let reworded = "I was charged twice for my monthly subscription in July. The second charge \
                        appeared two days later and support never replied to my emails about a refund.";
        let mut same_account = with(insight(5, "Charged twice!", "once"), &["Billing"], 4, on);
        same_account.data.account = Some("ACME, Inc.".into());
        let mut again = with(
            insight(6, "charged TWICE", "and again"),
            &["Billing"],
            4,
            on,
        );
        again.data.account = Some("acme inc".into());
        let insights = vec![
            with(insight(1, "Double charge", body), &["Billing"], 3, on),
            with(insight(2, "Refund missing", reworded), &["Billing"], 3, on),
            with(
                insight(
                    3,
                    "Refund missing",
                    "The export to CSV drops every column after the tenth one, so our finance team rebuilds it by hand each month.",
                ),
                &["Exports"],
                3,
                on,
            ),
            same_account,
            again,
        ];
        let digest = compose(&input_of(insights, vec![]));
        assert_eq!(digest.items.len(), 3, "{:?}", ids(&digest));
        let group_of = |id: i64| {
            digest
                .items
                .iter()
                .find(|i| i.insight.id == id || i.similar.contains(&id))
                .unwrap()
        };
        // Bodies overlapping in most content words, from different accounts.
        assert_eq!(group_of(1).insight.id, group_of(2).insight.id);
        assert_eq!(group_of(1).similar.len(), 1);
        // Same title once normalized, same account once normalized: the more severe leads.
        let acme = group_of(5);
        assert_eq!(acme.insight.id, 6);
        assert_eq!(acme.similar, [5]);
        assert!(
            reasons_of(acme).contains(&"+1 similar".to_string()),
            "{:?}",
            acme.reasons
        );
        // Same title from another account with a different body stays on its own.
        assert!(group_of(3).similar.is_empty());

        let text = message(&digest).to_plain();
        assert!(text.contains("similar: #5"), "{text}");
        assert_eq!(
            text.matches("Charged twice").count() + text.matches("charged TWICE").count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn short_or_disjoint_bodies_are_not_near_duplicates() {
        assert!(jaccard(&[1, 2, 3], &[4, 5, 6]) == 0.0);
        assert!((jaccard(&[1, 2, 3, 4], &[1, 2, 3, 5]) - 0.6).abs() < 1e-9);
        let short = [
            insight(1, "a", "refund please now"),
            insight(2, "b", "refund please now"),
        ];
        let refs: Vec<&Insight> = short.iter().collect();
        assert!(
            similar_bodies(&refs).is_empty(),
            "too short to judge by overlap"
        );
        assert_eq!(
            body_terms("XXXX xx the refund XXXX/XXXX a"),
            BTreeSet::from(["refund".to_string()])
        );
    }

    #[test]
    fn a_quiet_week_says_so_and_lists_the_running_themes() {
        let mut input = input_of(vec![], vec![count("Billing", 4)]);
        input.running_themes = vec![count("Onboarding", 12), count("Billing", 40)];
        input.flags = vec![OpenFlag {
            insight_id: 7,
            title: "Export drops columns".into(),
            flags: 2,
            latest_note: None,
            first_flagged_at: Utc.with_ymd_and_hms(2023, 7, 10, 9, 0, 0).unwrap(),
        }];
        let digest = compose(&input);
        assert!(digest.quiet);
        assert!(digest.items.is_empty());
        assert_eq!(digest.running_themes[0].name, "Billing");
        let m = message(&digest);
        let text = m.to_plain();
        assert!(
            text.starts_with("Payments · Week of 17 Jul 2023 — quiet week"),
            "{text}"
        );
        assert!(
            text.contains("Quiet week: no new insights were observed this week."),
            "{text}"
        );
        assert!(text.contains("Billing (40), Onboarding (12)"), "{text}");
        assert!(
            text.contains(
                "Flagged for a decision\n#7 Export drops columns — 2 flags since 10 Jul 2023"
            ),
            "{text}"
        );
        assert!(!m.blocks.iter().any(|b| matches!(b, Block::Actions(_))));

        // Nothing at all, ever: still a short, useful message.
        let digest = compose(&DigestInput::new("", week(), day(2023, 7, 24)));
        assert!(digest.quiet);
        let text = message(&digest).to_plain();
        assert!(
            text.starts_with("Week of 17 Jul 2023 — quiet week"),
            "{text}"
        );
        assert!(text.contains("Nothing in recent weeks either"), "{text}");
        assert!(text.contains("Dates in Europe/London."), "{text}");
    }

    #[test]
    fn the_same_input_in_any_order_gives_the_same_digest() {
        let on = day(2023, 7, 19);
        let insights: Vec<Insight> = (1..=40)
            .map(|id| {
                let theme = ["Billing", "Onboarding", "Exports", "Login"][id as usize % 4];
                let mut i = with(
                    insight(
                        id,
                        &format!("{theme} issue {}", id % 7),
                        "It broke again today for our whole team, nobody can work.",
                    ),
                    &[theme],
                    (id % 5 + 1) as u8,
                    on - Days::new(id as u64 % 3),
                );
                i.data.account = Some(format!("Account {}", id % 6));
                i
            })
            .collect();
        let input = input_of(insights, vec![count("Billing", 3), count("Exports", 9)]);
        let first = compose(&input);
        assert_eq!(first, compose(&input));
        let mut reversed = input.clone();
        reversed.current.reverse();
        reversed.current_themes.reverse();
        reversed.current.push(reversed.current[0].clone());
        let second = compose(&reversed);
        assert_eq!(ids(&first), ids(&second));
        assert_eq!(first.items, second.items);
        assert_eq!(first.themes, second.themes);
        assert_eq!(message(&first), message(&second));
        assert_eq!(
            serde_json::to_string(&first).unwrap(),
            serde_json::to_string(&compose(&input)).unwrap()
        );
        let back: Digest = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
        assert_eq!(back, first);
    }

    #[test]
    fn the_chart_draws_the_top_themes_week_by_week() {
        // The week of 17 Jul 2023: the chart's ten weeks run from 15 May to that week.
        let period = week();
        assert_eq!(
            chart_range(&period),
            DateRange {
                from: day(2023, 5, 15),
                until: day(2023, 7, 24)
            }
        );
        let mut input = input_of(
            vec![with(
                insight(1, "Charged twice", "twice"),
                &["Billing"],
                3,
                day(2023, 7, 20),
            )],
            Vec::new(),
        );
        input.current_themes = vec![count("Billing", 7), count("Onboarding", 2)];
        assert_eq!(
            chart_themes(&input.current_themes),
            ["Billing", "Onboarding"]
        );
        input.theme_days = vec![
            ThemeDays {
                name: "Billing".into(),
                by_day: vec![
                    (day(2023, 5, 14), 9), // the Sunday before the first week: left out
                    (day(2023, 5, 15), 2),
                    (day(2023, 5, 21), 1),
                    (day(2023, 7, 17), 4),
                    (day(2023, 7, 23), 3),
                ],
            },
            ThemeDays {
                name: "Onboarding".into(),
                by_day: vec![(day(2023, 6, 7), 2)],
            },
            ThemeDays {
                name: "Quiet".into(),
                by_day: Vec::new(),
            },
        ];
        let digest = compose(&input);
        let chart = digest.chart.clone().expect("a chart");
        assert_eq!(chart.weeks.len(), CHART_WEEKS);
        assert_eq!(chart.weeks[0], day(2023, 5, 15));
        assert_eq!(chart.weeks[9], day(2023, 7, 17));
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["Billing", "Onboarding"],
            "a theme without matches is left out"
        );
        assert_eq!(chart.series[0].counts, [3, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
        assert_eq!(chart.series[1].counts, [0, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
        let message = message(&digest);
        assert_eq!(message.charts().collect::<Vec<_>>(), [&chart]);
        // A digest stored before charts reads back without one.
        let mut stored = serde_json::to_value(&digest).unwrap();
        stored.as_object_mut().unwrap().remove("chart");
        let back: Digest = serde_json::from_value(stored).unwrap();
        assert_eq!(back.chart, None);
        // Nothing counted: no chart.
        input.theme_days.clear();
        assert_eq!(compose(&input).chart, None);
    }

    fn sections(m: &Message) -> Vec<String> {
        m.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Section(s) => Some(s.text.to_plain()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_message_has_a_header_items_with_buttons_and_every_section() {
        let on = day(2023, 7, 20);
        let mut linked = with(
            insight(
                42,
                "Export drops columns",
                "The CSV export stops after ten columns. We rebuild the report by hand every Monday.",
            ),
            &["Exports"],
            4,
            on,
        );
        linked.data.url = Some("https://support.example.com/tickets/42".into());
        linked.data.segment = Some("Enterprise".into());
        let mut unsafe_link = with(insight(43, "Login loop", ""), &["Login"], 3, on);
        unsafe_link.data.url = Some("javascript:alert(1)".into());
        let mut input = input_of(vec![linked, unsafe_link], vec![count("Login", 5)]);
        input.current_total = 142;
        input.current_accounts = 38;
        input.flags = (1..=7)
            .map(|n| OpenFlag {
                insight_id: n,
                title: format!("Flagged {n}"),
                flags: n as u32,
                latest_note: Some("we should fix this before renewal".into()),
                first_flagged_at: Utc.with_ymd_and_hms(2023, 7, 1, 9, 0, 0).unwrap(),
            })
            .collect();
        input.reviews_due = vec![
            DueReview {
                decision_id: 3,
                title: "Ship CSV export v2".into(),
                review_on: day(2023, 7, 21),
                owner: Some("Dana".into()),
            },
            DueReview {
                decision_id: 2,
                title: "Drop the legacy login".into(),
                review_on: day(2023, 7, 24),
                owner: None,
            },
        ];
        input.engagement = vec![
            Engagement {
                insight_id: 42,
                title: "Export drops columns".into(),
                comments: 4,
                useful: 2,
            },
            Engagement {
                insight_id: 9,
                title: "Silent".into(),
                comments: 0,
                useful: 0,
            },
        ];
        let digest = compose(&input);
        let m = message(&digest);
        assert_eq!(
            m.blocks[0],
            Block::Header(
                "Payments · Week of 17 Jul 2023 — 142 new insights from 38 accounts".into()
            )
        );

        let actions: Vec<&Vec<Button>> = m
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Actions(buttons) => Some(buttons),
                _ => None,
            })
            .collect();
        assert_eq!(actions.len(), digest.items.len());
        assert_eq!(digest.items[0].insight.id, 42);
        let first: Vec<(&str, &Action)> = actions[0]
            .iter()
            .map(|b| (b.label.as_str(), &b.action))
            .collect();
        assert_eq!(
            first,
            [
                ("Discuss", &Action::Discuss(42)),
                ("Flag for decision", &Action::Flag(42)),
                ("Useful", &Action::Useful(42)),
            ]
        );
        assert!(
            actions[1]
                .iter()
                .all(|b| b.action.encode().ends_with(".43"))
        );

        let texts = sections(&m);
        let item = texts.iter().find(|t| t.starts_with("#42")).unwrap();
        assert_eq!(
            item,
            "#42 Export drops columns\n“The CSV export stops after ten columns. We rebuild the report by hand every Monday.”"
        );
        let context = m
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Context(t) if t[0].to_plain().starts_with("20 Jul 2023") => Some(t.clone()),
                _ => None,
            })
            .unwrap();
        assert!(context[0].spans.contains(&Span::Link {
            label: "support T-42".into(),
            url: "https://support.example.com/tickets/42".into()
        }));
        assert_eq!(
            context[0].to_plain(),
            "20 Jul 2023 · Exports · Enterprise · Account 42 · support T-42 (https://support.example.com/tickets/42)"
        );
        assert!(
            context[1].to_plain().starts_with("why: severity 4"),
            "{:?}",
            context[1]
        );
        let plain = m.to_plain();
        assert!(!plain.contains("javascript:"), "{plain}");
        assert!(plain.contains("support T-43"), "{plain}");

        let flags = texts
            .iter()
            .find(|t| t.starts_with("Flagged for a decision"))
            .unwrap();
        assert!(
            flags.contains(
                "#7 Flagged 7 — 7 flags since 1 Jul 2023: “we should fix this before renewal”"
            ),
            "{flags}"
        );
        assert!(!flags.contains("#2 "), "{flags}");
        assert!(flags.ends_with("… and 2 more"), "{flags}");
        let reviews = texts
            .iter()
            .find(|t| t.starts_with("Decisions due for review"))
            .unwrap();
        assert_eq!(
            reviews,
            "Decisions due for review\nDecision 3: Ship CSV export v2 — review on 21 Jul 2023 (3 days overdue), owner Dana\nDecision 2: Drop the legacy login — review on 24 Jul 2023 (due today)"
        );
        let discussed = texts
            .iter()
            .find(|t| t.starts_with("Most discussed"))
            .unwrap();
        assert_eq!(
            discussed,
            "Most discussed\n#42 Export drops columns — 4 comments, 2 useful"
        );
        let themes = texts
            .iter()
            .find(|t| t.starts_with("Themes on the move"))
            .unwrap();
        assert!(themes.contains("▼ Login 1 (−4, 5 before)"), "{themes}");
        assert!(matches!(m.blocks.last(), Some(Block::Context(_))));
        assert!(plain.ends_with("Dates in Europe/London."), "{plain}");
    }

    #[test]
    fn the_footer_tells_how_decisions_fare_when_there_is_something_to_tell() {
        let figures = DecisionFigures {
            window_days: 90,
            flagged: 4,
            logged: 2,
            median_days_to_decision: Some(6.5),
            reviews_done: 2,
            reviews_on_time: 1,
            median_days_to_notice: None,
            spikes: 0,
            median_days_spike_to_decision: None,
        };
        let mut input = input_of(Vec::new(), Vec::new());
        input.decisions = Some(figures);
        let plain = message(&compose(&input)).to_plain();
        assert!(
            plain.ends_with(
                "Dates in Europe/London.\nLast 90 days: 4 insights flagged · 2 decisions logged, \
                 6.5 days from first evidence to decision (median) · 1 of 2 reviews on time."
            ),
            "{plain}"
        );

        let one = DecisionFigures {
            flagged: 1,
            logged: 0,
            median_days_to_decision: None,
            reviews_done: 0,
            reviews_on_time: 0,
            ..figures
        };
        input.decisions = Some(one);
        let plain = message(&compose(&input)).to_plain();
        assert!(
            plain.ends_with("Last 90 days: 1 insight flagged · 0 decisions logged."),
            "{plain}"
        );

        // How fast evidence is noticed, and spikes decided.
        input.decisions = Some(DecisionFigures {
            median_days_to_notice: Some(3.0),
            spikes: 2,
            median_days_spike_to_decision: Some(1.5),
            ..one
        });
        let plain = message(&compose(&input)).to_plain();
        assert!(
            plain.ends_with(
                "Last 90 days: 1 insight flagged · 0 decisions logged · themes noticed 3.0 days \
                 after their first insight (median) · 2 spikes, decided 1.5 days after (median)."
            ),
            "{plain}"
        );
        input.decisions = Some(DecisionFigures { spikes: 1, ..one });
        let plain = message(&compose(&input)).to_plain();
        assert!(plain.ends_with("· 1 spike, none decided yet."), "{plain}");

        // Nothing flagged, logged or reviewed: no line at all.
        input.decisions = Some(DecisionFigures { flagged: 0, ..one });
        let digest = compose(&input);
        assert_eq!(digest.decisions, None);
        assert!(
            message(&digest)
                .to_plain()
                .ends_with("Dates in Europe/London.")
        );
    }

    #[test]
    fn hostile_text_cannot_break_the_message() {
        let huge = "<!channel> @everyone *bold* `code` \u{202E}evil\u{0007}\n\n".repeat(2000);
        let mut bad = with(insight(1, &huge, &huge), &[&huge], 5, day(2023, 7, 19));
        bad.data.account = Some(huge.clone());
        bad.data.segment = Some("\u{0000}\u{200B}".into());
        bad.data.url = Some(format!("https://x.test/{}", "a".repeat(5000)));
        let one_word = with(
            insight(2, "Long", &"x".repeat(20_000)),
            &[],
            3,
            day(2023, 7, 19),
        );
        let mut input = input_of(vec![bad, one_word], vec![]);
        input.team = huge.clone();
        input.flags = vec![OpenFlag {
            insight_id: 1,
            title: huge.clone(),
            flags: u32::MAX,
            latest_note: Some(huge.clone()),
            first_flagged_at: DateTime::<Utc>::MIN_UTC,
        }];
        let digest = compose(&input);
        let m = message(&digest);
        for block in &m.blocks {
            let text = match block {
                Block::Header(s) => {
                    assert!(s.chars().count() <= HEADER_CHARS);
                    s.clone()
                }
                Block::Section(s) => s.text.to_plain(),
                Block::Context(t) => t.iter().map(Text::to_plain).collect::<Vec<_>>().join(" "),
                _ => String::new(),
            };
            assert!(
                text.chars().count() < 1500,
                "{} chars",
                text.chars().count()
            );
            assert!(
                !text
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || is_invisible(c)),
                "{text:?}"
            );
        }
        let quote = sections(&m)
            .into_iter()
            .find(|t| t.starts_with("#2"))
            .unwrap();
        assert!(quote.chars().count() <= QUOTE_CHARS + 20, "{quote}");
        assert!(
            !m.to_plain().contains("https://x.test"),
            "overlong links are not links"
        );
    }

    #[test]
    fn a_thousand_insights_stay_within_the_block_limit() {
        let insights: Vec<Insight> = (1..=1000)
            .map(|id| {
                let theme = format!("Theme {}", id % 37);
                let mut i = with(
                    insight(
                        id,
                        &format!("Problem number {}", id % 211),
                        &format!(
                            "Customer {id} wrote a long story about theme {} and more. ",
                            id % 37
                        )
                        .repeat(20),
                    ),
                    &[&theme, "Everything"],
                    (id % 5 + 1) as u8,
                    day(2023, 7, 17) + Days::new(id as u64 % 7),
                );
                i.data.account = Some(format!("Account {}", id % 97));
                i
            })
            .collect();
        let previous: Vec<Count> = (0..37).map(|n| count(&format!("Theme {n}"), n)).collect();
        let mut input = input_of(insights, previous);
        input.current_total = 4321;
        input.size = 1000;
        input.flags = (1..=50)
            .map(|n| OpenFlag {
                insight_id: n,
                title: "x".repeat(500),
                flags: 1,
                latest_note: Some("y".repeat(500)),
                first_flagged_at: Utc.with_ymd_and_hms(2023, 7, 1, 9, 0, 0).unwrap(),
            })
            .collect();
        input.reviews_due = (1..=50)
            .map(|n| DueReview {
                decision_id: n,
                title: "z".repeat(500),
                review_on: day(2023, 7, 1),
                owner: Some("o".repeat(500)),
            })
            .collect();
        input.engagement = (1..=50)
            .map(|n| Engagement {
                insight_id: n,
                title: "w".repeat(500),
                comments: 1,
                useful: 1,
            })
            .collect();
        let digest = compose(&input);
        assert_eq!(digest.items.len(), MAX_ITEMS);
        assert!(digest.themes.len() <= MAX_THEME_LINES);
        let m = message(&digest);
        assert!(m.blocks.len() < 50, "{} blocks", m.blocks.len());
        for text in sections(&m) {
            assert!(
                text.chars().count() < 3000,
                "{} chars",
                text.chars().count()
            );
        }
        assert!(!m.to_plain().contains("Ranked from"));
        assert!(m.to_plain().chars().count() < 20_000);
    }

    /// The shipped sample of real CFPB complaints, imported as `flywheel import` reads it.
    fn cfpb() -> Vec<Insight> {
        let bytes = include_bytes!("../../bot/data/cfpb-complaints-sample.csv");
        let today = day(2023, 9, 30);
        let parsed = import::read(bytes, &ImportOptions::new(Format::Csv, today)).unwrap();
        let stamp = Utc.with_ymd_and_hms(2023, 9, 30, 0, 0, 0).unwrap();
        parsed
            .rows
            .into_iter()
            .filter_map(|row| row.result.ok().map(|data| (row.number, data)))
            .map(|(number, data)| {
                let prepared = prepare(data, &[], today);
                Insight {
                    id: number as i64,
                    data: prepared.data,
                    themes: prepared.themes,
                    added_at: stamp,
                    updated_at: stamp,
                }
            })
            .collect()
    }

    /// What the store hands over for a team's week: the week's insights (at most 1,000, most
    /// recent first) and the counts over the week, the week before and the eight weeks before.
    fn cfpb_input(all: &[Insight], monday: NaiveDate) -> DigestInput {
        let tz = chrono_tz::America::New_York;
        let this = period(tz, monday, 7);
        let within = |p: &Period| {
            let range = p.observed();
            all.iter()
                .filter(|i| range.contains(i.data.observed_on))
                .cloned()
                .collect::<Vec<_>>()
        };
        let mut input = input_of(within(&this), theme_counts(&within(&this.previous())));
        input.team = "Consumer credit".into();
        input.period = this;
        input.today = monday + Days::new(7);
        let running = period(tz, monday - Days::new(49), 56);
        input.running_themes = theme_counts(&within(&running));
        input.current.truncate(1000);
        input
    }

    #[test]
    fn real_complaints_make_a_sensible_digest() {
        let all = cfpb();
        assert_eq!(all.len(), 2067);

        let input = cfpb_input(&all, day(2023, 7, 17));
        assert_eq!(input.current_total, 1765);
        assert_eq!(input.current.len(), 1000);
        let digest = compose(&input);
        assert_eq!(digest.label, "Week of 17 Jul 2023");
        assert!(!digest.compared, "one complaint the week before");
        assert_eq!(digest.items.len(), DEFAULT_SIZE);
        // Credit bureaus receive most complaints: the top items stand for many of them.
        let folded: usize = digest.items.iter().map(|i| i.similar.len()).sum();
        assert!(folded >= 50, "{folded}");
        let leads: BTreeSet<(String, String)> = digest
            .items
            .iter()
            .map(|i| {
                (
                    model::key(&i.insight.data.title),
                    account_key(&i.insight).unwrap(),
                )
            })
            .collect();
        assert_eq!(leads.len(), DEFAULT_SIZE, "no two items say the same thing");
        for item in &digest.items {
            assert!((1..=MAX_REASONS).contains(&item.reasons.len()));
            assert!(item.insight.data.observed_on.iso_week().week() == 29);
        }
        let m = message(&digest);
        let plain = m.to_plain();
        assert!(
            plain.starts_with("Consumer credit · Week of 17 Jul 2023 — 1,765 new insights from"),
            "{plain}"
        );
        assert!(
            !plain.contains("Ranked from"),
            "every insight is ranked: {plain}"
        );
        assert!(
            plain.contains("consumerfinance.gov"),
            "CFPB complaints link back: {plain}"
        );
        assert!(m.blocks.len() < 50);

        // The week of 28 Aug against the busier week before: themes fade.
        let digest = compose(&cfpb_input(&all, day(2023, 8, 28)));
        assert!(digest.compared);
        assert!(
            digest.themes.iter().any(|t| t.movement == Movement::Fading),
            "{:?}",
            digest.themes
        );
        // The week of 4 Sep against the quieter one before: themes grow or appear, and items say so.
        let digest = compose(&cfpb_input(&all, day(2023, 9, 4)));
        assert!(digest.compared);
        assert!(
            digest
                .themes
                .iter()
                .any(|t| matches!(t.movement, Movement::New | Movement::Growing)),
            "{:?}",
            digest.themes
        );
        assert!(
            digest.items.iter().any(|i| i
                .reasons
                .iter()
                .any(|r| matches!(r, ItemReason::NewTheme { .. } | ItemReason::Rising { .. }))),
            "{:?}",
            digest.items.iter().map(|i| &i.reasons).collect::<Vec<_>>()
        );
        let text = message(&digest).to_plain();
        assert!(text.contains("Themes on the move"), "{text}");

        // A week with nothing in it, between the two.
        let digest = compose(&cfpb_input(&all, day(2023, 7, 24)));
        assert!(digest.quiet);
        let text = message(&digest).to_plain();
        assert!(text.contains("Quiet week"), "{text}");
        assert!(text.contains("Credit reporting"), "{text}");
    }
}
