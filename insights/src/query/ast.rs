//! The parsed form of a query. Both store backends translate it to SQL, and the in-memory
//! matcher evaluates it, with the same meaning:
//!
//! - a query is a conjunction of [`Clause`]s (every clause must hold);
//! - a clause is a disjunction of [`Atom`]s (`refund OR chargeback` is one clause of two atoms);
//! - an atom is a term, a phrase or a filter, possibly negated (`-fee`, `-theme:billing`).
//!
//! Text atoms carry stems produced by [`crate::text`], so matching is done on the same tokens the
//! store indexed, whatever the backend.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::{Kind, Sentiment, Stage};

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Query {
    /// Every clause must hold. No clauses matches everything.
    pub clauses: Vec<Clause>,
    /// The input looked like a question in natural language (question words, filler), so plain
    /// words may be relaxed from "all of them" to "most of them" when nothing matches them all.
    pub natural_language: bool,
}

/// One or more alternatives, at least one of which must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    /// Never empty.
    pub alternatives: Vec<Atom>,
}

/// A single condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Atom {
    /// `-` in front: the condition must not hold.
    pub negated: bool,
    /// What is tested.
    pub test: Test,
}

/// What an atom tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Test {
    /// A word somewhere in title, body or themes.
    Term(Term),
    /// Words next to each other, in order. Never empty.
    Phrase(Vec<Term>),
    /// A field condition.
    Filter(Filter),
}

/// A word of the query: as typed, and its stem as indexed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Term {
    /// The word as the user typed it, for explanations ("matched 'refunds'").
    pub word: String,
    /// The indexed token: lowercase, stemmed, only alphanumeric characters.
    pub stem: String,
}

/// A field condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Filter {
    /// `theme:billing` — the value is a [`crate::model::key`]; matches per [`crate::model::key_matches`].
    Theme(String),
    /// `segment:enterprise` — a key, matched like themes.
    Segment(String),
    /// `account:equifax` — a key, matched like themes.
    Account(String),
    /// `source:cfpb` — exact, case-insensitive (stored lowercase).
    Source(String),
    /// `stage:onboarding`
    Stage(Stage),
    /// `kind:pain`
    Kind(Kind),
    /// `sentiment:neg`
    Sentiment(Sentiment),
    /// `severity:>=4`, `severity:5`
    Severity(Comparison, u8),
    /// `since:30d`, `since:2026-01-01` — observed on or after.
    Since(DateBound),
    /// `until:2026-03-31` — observed on or before.
    Until(DateBound),
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    /// `value <op> bound`.
    pub fn holds(self, value: u8, bound: u8) -> bool {
        match self {
            Comparison::Eq => value == bound,
            Comparison::Lt => value < bound,
            Comparison::Le => value <= bound,
            Comparison::Gt => value > bound,
            Comparison::Ge => value >= bound,
        }
    }

    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// A date in a filter: fixed, or relative to today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateBound {
    /// `2026-01-01`
    On(NaiveDate),
    /// `30d`, `2w`
    DaysAgo(u32),
    /// `6m`, `1y` (12 months)
    MonthsAgo(u32),
}

impl DateBound {
    /// The calendar date this bound means when today is `today`.
    pub fn resolve(self, today: NaiveDate) -> NaiveDate {
        match self {
            DateBound::On(date) => date,
            DateBound::DaysAgo(days) => today
                .checked_sub_days(chrono::Days::new(days.into()))
                .unwrap_or(NaiveDate::MIN),
            DateBound::MonthsAgo(months) => today
                .checked_sub_months(Months::new(months))
                .unwrap_or(NaiveDate::MIN),
        }
    }
}

impl Query {
    /// A query that matches everything.
    pub fn everything() -> Query {
        Query::default()
    }

    /// Both queries must hold (a team filter combined with what someone asked).
    pub fn and(mut self, other: &Query) -> Query {
        self.clauses.extend(other.clauses.iter().cloned());
        self.natural_language |= other.natural_language;
        self
    }

    /// Adds a clause with one atom.
    pub fn with(mut self, negated: bool, test: Test) -> Query {
        self.clauses.push(Clause {
            alternatives: vec![Atom { negated, test }],
        });
        self
    }

    /// Whether the query tests any text at all (as opposed to filters only).
    pub fn has_text(&self) -> bool {
        self.atoms()
            .any(|a| matches!(a.test, Test::Term(_) | Test::Phrase(_)))
    }

    /// Every atom, in order.
    pub fn atoms(&self) -> impl Iterator<Item = &Atom> {
        self.clauses.iter().flat_map(|c| c.alternatives.iter())
    }

    /// The positive terms and phrase words, for highlighting and explanations.
    pub fn positive_terms(&self) -> Vec<&Term> {
        let mut out: Vec<&Term> = Vec::new();
        for atom in self.atoms().filter(|a| !a.negated) {
            let terms: Vec<&Term> = match &atom.test {
                Test::Term(t) => vec![t],
                Test::Phrase(ts) => ts.iter().collect(),
                Test::Filter(_) => vec![],
            };
            for t in terms {
                if !out.iter().any(|o| o.stem == t.stem) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Whether the query is only plain words, without phrases, alternatives, exclusions or
    /// filters: typed as one would type into a search box, so it may be relaxed like a
    /// question.
    pub fn is_plain_words(&self) -> bool {
        !self.clauses.is_empty()
            && self.clauses.iter().all(|c| {
                matches!(c.alternatives.as_slice(),
                    [atom] if !atom.negated && matches!(atom.test, Test::Term(_)))
            })
    }

    /// The looser form tried when too few insights match every plain word of a question: its
    /// single-word clauses become one clause of alternatives (results are then ranked by how
    /// much of the question they hold). Phrases, filters and exclusions still
    /// hold. `None` when there is nothing to relax.
    pub fn relaxed(&self) -> Option<Query> {
        let is_plain_word = |c: &Clause| {
            c.alternatives.len() == 1
                && !c.alternatives[0].negated
                && matches!(c.alternatives[0].test, Test::Term(_))
        };
        let words: Vec<Atom> = self
            .clauses
            .iter()
            .filter(|c| is_plain_word(c))
            .flat_map(|c| c.alternatives.iter().cloned())
            .collect();
        if words.len() < 2 {
            return None;
        }
        let mut clauses: Vec<Clause> = self
            .clauses
            .iter()
            .filter(|c| !is_plain_word(c))
            .cloned()
            .collect();
        clauses.push(Clause {
            alternatives: words,
        });
        Some(Query {
            clauses,
            natural_language: self.natural_language,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(s: &str) -> Test {
        Test::Term(Term {
            word: s.into(),
            stem: s.into(),
        })
    }

    #[test]
    fn relaxing_merges_plain_words_and_keeps_the_rest() {
        let q = Query::everything()
            .with(false, term("identity"))
            .with(false, term("theft"))
            .with(true, term("mortgage"))
            .with(false, Test::Filter(Filter::Severity(Comparison::Ge, 4)));
        let r = q.relaxed().expect("two words relax");
        assert_eq!(r.clauses.len(), 3);
        assert_eq!(r.clauses.last().unwrap().alternatives.len(), 2);
        assert!(
            Query::everything()
                .with(false, term("one"))
                .relaxed()
                .is_none()
        );
    }

    #[test]
    fn relative_dates_resolve_against_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert_eq!(
            DateBound::DaysAgo(30).resolve(today),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        assert_eq!(
            DateBound::MonthsAgo(1).resolve(today),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
    }
}
