//! What a search asks the store for and what the store gives back. The store's search engine
//! finds, counts and ranks every match by the [`Ranking`] defined here (its factors come from
//! [`crate::rank`] for questions and [`crate::digest`] for digests); explaining the best
//! matches happens in [`crate::rank`] and [`crate::answer`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::Insight;

/// Whose eyes the search is for: visibility is enforced by the store, never by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// An operator at the terminal: every insight.
    Everything,
    /// Only insights visible to this team.
    Team(String),
    /// Only insights visible to every team (a channel that belongs to no team).
    Public,
}

impl Scope {
    /// Whether an insight with this visibility may be shown in this scope.
    pub fn allows(&self, visibility: &crate::model::Visibility) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Team(team) => visibility.allows(team),
            Scope::Public => *visibility == crate::model::Visibility::All,
        }
    }
}

/// Observed dates `from` (inclusive) to `until` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// First day included.
    pub from: NaiveDate,
    /// First day no longer included.
    pub until: NaiveDate,
}

impl DateRange {
    /// Whether `day` falls inside.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day < self.until
    }
}

/// How to run a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Visibility.
    pub scope: Scope,
    /// "Today", for relative dates (`since:30d`).
    pub today: NaiveDate,
    /// Restrict to insights observed in this range, on top of the query.
    pub observed: Option<DateRange>,
    /// How many of the best matches to return, best first. Every match is ranked; counts and
    /// breakdowns always cover every match.
    pub limit: usize,
    /// How many themes and segments to return in the breakdowns, largest first.
    pub breakdown: usize,
    /// How matches are ordered.
    pub ranking: Ranking,
    /// Also count, for each main theme (an insight's first), the distinct accounts among the
    /// matches ([`SearchResult::theme_accounts`]).
    pub theme_accounts: bool,
}

impl SearchOptions {
    /// Options for answering a question: the ten best matches by
    /// [`crate::rank::question_ranking`], ten themes and segments.
    pub fn new(scope: Scope, today: NaiveDate) -> SearchOptions {
        SearchOptions {
            scope,
            today,
            observed: None,
            limit: 10,
            breakdown: 10,
            ranking: crate::rank::question_ranking(today),
            theme_accounts: false,
        }
    }
}

/// How the engine orders matches: one score per match, computed while every match is visited,
/// highest first; ties go to the newer observation, then the higher id.
///
/// The score is a product, so each factor can be read on its own: relevance to the query's
/// words (BM25 with field weights, or 1 when it does not count), recency, severity and a factor
/// for the insight's main theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Relevance to the query's words counts (BM25, a word in the title weighing
    /// [`TITLE_WEIGHT`] times and in a theme [`THEMES_WEIGHT`] times one in the body). Without
    /// it, or for a query without words, every match starts at 1.
    pub relevance: bool,
    /// For a question relaxed to "any of these words" ([`crate::query::Query::relaxed`]): a
    /// match's relevance is multiplied by the share of the question's words it holds, so that
    /// insights holding most of the question come first.
    pub coordination: bool,
    /// The factor for how long ago an insight was observed.
    pub recency: Recency,
    /// The factor for severity 1 to 5.
    pub severity: [f64; 5],
    /// The factor for the insight's main theme.
    pub main_theme: ThemeFactors,
}

/// A word in the title counts this many times one in the body.
pub const TITLE_WEIGHT: f32 = 3.0;
/// A word in a theme counts this many times one in the body.
pub const THEMES_WEIGHT: f32 = 2.0;

impl Ranking {
    /// The factor for severity `severity` (1 to 5; anything else counts as the nearest).
    pub fn severity_factor(&self, severity: u8) -> f64 {
        self.severity[usize::from(severity.clamp(1, 5) - 1)]
    }
}

/// How recency weighs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Recency {
    /// 1 on `reference`, falling towards `floor`, halving the distance every `half_life_days`.
    Decay {
        /// The day that counts as now.
        reference: NaiveDate,
        /// Days after which half of what can be lost is lost.
        half_life_days: f64,
        /// What very old insights get.
        floor: f64,
    },
    /// 1 on `reference`, falling linearly by `drop` over `span_days` days, and no further.
    Linear {
        /// The day that counts as now.
        reference: NaiveDate,
        /// Days over which the drop happens (at least 1).
        span_days: f64,
        /// How much is lost at the end of the span.
        drop: f64,
    },
}

impl Recency {
    /// The factor for an insight observed on `observed` (a future date counts as `reference`).
    pub fn factor(&self, observed: NaiveDate) -> f64 {
        match *self {
            Recency::Decay {
                reference,
                half_life_days,
                floor,
            } => {
                let age = (reference - observed).num_days().max(0) as f64;
                floor + (1.0 - floor) * 0.5_f64.powf(age / half_life_days.max(f64::MIN_POSITIVE))
            }
            Recency::Linear {
                reference,
                span_days,
                drop,
            } => {
                let span = span_days.max(1.0);
                let age = ((reference - observed).num_days().max(0) as f64).min(span);
                1.0 - drop * age / span
            }
        }
    }
}

/// The factor for an insight's main theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ThemeFactors {
    /// By its reach: how many distinct accounts share the main theme across the insights every
    /// team may see, as the store counts them, through [`crate::rank::reach_factor`].
    Reach,
    /// Given per theme key; an insight whose main theme is not listed, or that has none, gets
    /// `default`.
    Given {
        /// Factor by theme key ([`crate::model::key`]).
        factors: BTreeMap<String, f64>,
        /// For everything else.
        default: f64,
    },
}

/// A name with how many matching insights carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// The display name (for themes, one of the spellings sharing the same key).
    pub name: String,
    /// How many insights.
    pub count: u64,
}

/// How many matching insights carry one theme, day by day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeDays {
    /// The display name (one of the spellings sharing the theme's key).
    pub name: String,
    /// Matches per observed day, oldest first, every day that has any.
    pub by_day: Vec<(NaiveDate, u64)>,
}

/// One of the best matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The insight.
    pub insight: Insight,
    /// Its score; higher ranks first. Only comparable within one search.
    pub score: f64,
    /// Distinct accounts sharing its main theme, when the ranking counted them
    /// ([`ThemeFactors::Reach`]).
    pub reach: Option<u64>,
}

/// What the store found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// How many insights match, in all.
    pub total: u64,
    /// Up to `limit` of them, best first.
    pub hits: Vec<Hit>,
    /// Themes among all matches, largest first (ties by name), at most `breakdown`.
    pub themes: Vec<Count>,
    /// Segments among all matches, largest first (ties by name), at most `breakdown`.
    pub segments: Vec<Count>,
    /// Matches per observed day, oldest first, every day that has any.
    pub by_day: Vec<(NaiveDate, u64)>,
    /// How many distinct accounts said it.
    pub accounts: u64,
    /// When asked for: per main theme, the distinct accounts among the matches, largest first
    /// (ties by name), every theme.
    pub theme_accounts: Vec<Count>,
    /// For each stem of the query's positive words: about how many insights in the store hold
    /// it (the most of any one field), to tell telling words from common ones.
    pub rarity: BTreeMap<String, u64>,
    /// Stems of the words that set a question's first answers apart, when the hits were
    /// ranked with them too (pseudo-relevance feedback), most telling first.
    #[serde(default)]
    pub related: Vec<String>,
}
