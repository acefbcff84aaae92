//! What a search asks the store for and what the store gives back. The store only finds and
//! counts; ranking and explaining happen in [`crate::rank`] and [`crate::answer`], so both
//! backends rank the same way.

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Visibility.
    pub scope: Scope,
    /// "Today", for relative dates (`since:30d`).
    pub today: NaiveDate,
    /// Restrict to insights observed in this range, on top of the query.
    pub observed: Option<DateRange>,
    /// How many matching insights to return for ranking, most recently observed first (ties by
    /// id, newest first). Counts and breakdowns always cover every match.
    pub candidates: usize,
    /// How many themes and segments to return in the breakdowns, largest first.
    pub breakdown: usize,
}

impl SearchOptions {
    /// Default options for a scope and a day: 1,000 candidates, 10 themes and segments.
    pub fn new(scope: Scope, today: NaiveDate) -> SearchOptions {
        SearchOptions {
            scope,
            today,
            observed: None,
            candidates: 1000,
            breakdown: 10,
        }
    }
}

/// A name with how many matching insights carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// The display name (for themes, one of the spellings sharing the same key).
    pub name: String,
    /// How many insights.
    pub count: u64,
}

/// What the store found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// How many insights match, in all.
    pub total: u64,
    /// Up to `candidates` of them, most recently observed first.
    pub candidates: Vec<Insight>,
    /// Themes among all matches, largest first (ties by name), at most `breakdown`.
    pub themes: Vec<Count>,
    /// Segments among all matches, largest first (ties by name), at most `breakdown`.
    pub segments: Vec<Count>,
    /// Matches per observed day, oldest first, every day that has any.
    pub by_day: Vec<(NaiveDate, u64)>,
    /// How many distinct accounts said it.
    pub accounts: u64,
}
