//! [`Store::search`]: a [`Query`] translated to one SQL condition, then run as a handful of
//! statements in one read snapshot — the capped candidates, matches per day (whose sum is the
//! total), distinct accounts, and the theme and segment breakdowns over every match.
//!
//! The condition follows `flywheel_insights::query` exactly: clauses are ANDed, the atoms of a
//! clause ORed, a negated atom is `NOT COALESCE(atom, FALSE)` so that a missing field (no segment,
//! no stage) counts as "does not match" and its negation as "matches". Text atoms use full-text
//! search on the stems the domain indexed: FTS5 on SQLite, a `tsvector` on PostgreSQL. The search
//! expression is built from stems alone, each quoted, and passed as a bind value; a stem that is
//! not a single alphanumeric token (which the domain never produces) matches nothing, as it would
//! in memory, instead of being handed to a query parser.

use chrono::NaiveDate;
use flywheel_insights::model::Vocabulary;
use flywheel_insights::query::{Atom, Clause, Filter, Query, Term, Test};
use flywheel_insights::search::{SearchOptions, SearchResult};

use crate::db::{Db, SqlBuilder};
use crate::error::{QueryResultExt, StoreError};
use crate::insights::{CountRow, INSIGHT_COLUMNS, InsightRow, into_insights};
use crate::store::{Backend, Store};
use crate::values::{bound_text, parse_day};
use crate::visibility::push_scope;

impl Store {
    /// Finds the insights matching `query` that `options.scope` may see, observed within
    /// `options.observed` if given, with relative dates resolved against `options.today`.
    ///
    /// Returns the exact total, up to `options.candidates` matches most recently observed first
    /// (ties: higher id first), theme and segment breakdowns over every match (largest first,
    /// ties by name, at most `options.breakdown` each), matches per day and distinct accounts.
    /// The cap is applied by the database, so a query matching most of the store stays cheap to
    /// transfer and rank. The query's `natural_language` flag is the caller's business: relaxing
    /// a query ([`Query::relaxed`]) is another search.
    #[tracing::instrument(skip(self, query, options), fields(backend = %self.backend(), clauses = query.clauses.len()))]
    pub async fn search(
        &self,
        query: &Query,
        options: &SearchOptions,
    ) -> Result<SearchResult, StoreError> {
        const CONTEXT: &str = "searching insights";
        let backend = self.backend();
        let mut tx = self.pool.begin_read().await.context(backend, CONTEXT)?;
        let found = find(&mut tx.db(), query, options)
            .await
            .context(backend, CONTEXT)?;
        // Read-only: ending the snapshot by commit or rollback is the same.
        tx.commit().await.context(backend, CONTEXT)?;
        found.into_result()
    }
}

/// What the statements of a search return, before decoding into the domain's types.
struct Found {
    days: Vec<(String, i64)>,
    accounts: i64,
    candidates: Vec<InsightRow>,
    themes: Vec<CountRow>,
    segments: Vec<CountRow>,
}

async fn find(
    db: &mut Db<'_>,
    query: &Query,
    options: &SearchOptions,
) -> Result<Found, sqlx::Error> {
    let backend = db.backend();
    let matching = |b: &mut SqlBuilder| push_condition(b, backend, query, options);

    let mut b = SqlBuilder::new();
    b.push("SELECT i.observed_on, COUNT(*) FROM insights i WHERE ");
    matching(&mut b);
    b.push(" GROUP BY i.observed_on ORDER BY i.observed_on");
    let days: Vec<(String, i64)> = db.fetch_all(b.build()).await?;

    let mut b = SqlBuilder::new();
    b.push("SELECT COUNT(DISTINCT i.account_key) FROM insights i WHERE ");
    matching(&mut b);
    let (accounts,): (i64,) = db.fetch_one(b.build()).await?;

    let mut candidates = Vec::new();
    if options.candidates > 0 {
        let mut b = SqlBuilder::new();
        b.push("SELECT ")
            .push(INSIGHT_COLUMNS)
            .push(" FROM insights i WHERE ");
        matching(&mut b);
        b.push(" ORDER BY i.observed_on DESC, i.id DESC LIMIT ")
            .push_bind(limit(options.candidates));
        candidates = db.fetch_all::<InsightRow>(b.build()).await?;
    }

    let mut themes = Vec::new();
    let mut segments = Vec::new();
    if options.breakdown > 0 {
        let mut b = SqlBuilder::new();
        b.push(
            "SELECT MIN(t.name) AS display, COUNT(*) AS matches \
             FROM insight_themes t JOIN insights i ON i.id = t.insight_id WHERE ",
        );
        matching(&mut b);
        b.push(" GROUP BY t.key ORDER BY matches DESC, display LIMIT ")
            .push_bind(limit(options.breakdown));
        themes = db.fetch_all::<CountRow>(b.build()).await?;

        let mut b = SqlBuilder::new();
        b.push(
            "SELECT MIN(i.segment) AS display, COUNT(*) AS matches FROM insights i \
             WHERE i.segment_key IS NOT NULL AND ",
        );
        matching(&mut b);
        b.push(" GROUP BY i.segment_key ORDER BY matches DESC, display LIMIT ")
            .push_bind(limit(options.breakdown));
        segments = db.fetch_all::<CountRow>(b.build()).await?;
    }

    Ok(Found {
        days,
        accounts,
        candidates,
        themes,
        segments,
    })
}

impl Found {
    fn into_result(self) -> Result<SearchResult, StoreError> {
        let mut by_day = Vec::with_capacity(self.days.len());
        for (day, n) in self.days {
            let date = parse_day(&day).ok_or_else(|| StoreError::Corrupt {
                detail: format!("observed_on {day:?} is not a date"),
            })?;
            by_day.push((date, count(n)));
        }
        Ok(SearchResult {
            total: by_day.iter().map(|(_, n)| n).sum(),
            candidates: into_insights(self.candidates)?,
            themes: self.themes.into_iter().map(Into::into).collect(),
            segments: self.segments.into_iter().map(Into::into).collect(),
            by_day,
            accounts: count(self.accounts),
        })
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A `LIMIT` value; anything beyond `i64` is "no limit" in practice.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Appends the condition selecting the insights (aliased `i`) a search matches.
fn push_condition(b: &mut SqlBuilder, backend: Backend, query: &Query, options: &SearchOptions) {
    b.push("TRUE");
    push_scope(b, &options.scope);
    if let Some(range) = options.observed {
        b.push(" AND i.observed_on >= ")
            .push_bind(bound_text(range.from))
            .push(" AND i.observed_on < ")
            .push_bind(bound_text(range.until));
    }
    for clause in &query.clauses {
        b.push(" AND ");
        push_clause(b, backend, clause, options.today);
    }
}

fn push_clause(b: &mut SqlBuilder, backend: Backend, clause: &Clause, today: NaiveDate) {
    if clause.alternatives.is_empty() {
        // No alternative can hold.
        b.push("FALSE");
        return;
    }
    b.push("(");
    for (n, atom) in clause.alternatives.iter().enumerate() {
        if n > 0 {
            b.push(" OR ");
        }
        push_atom(b, backend, atom, today);
    }
    b.push(")");
}

fn push_atom(b: &mut SqlBuilder, backend: Backend, atom: &Atom, today: NaiveDate) {
    // A test on a missing field is NULL in SQL; COALESCE makes it false before negating, so
    // `-segment:enterprise` keeps the insights that have no segment.
    b.push(if atom.negated { "NOT COALESCE((" } else { "((" });
    push_test(b, backend, &atom.test, today);
    b.push(if atom.negated { "), FALSE)" } else { "))" });
}

fn push_test(b: &mut SqlBuilder, backend: Backend, test: &Test, today: NaiveDate) {
    match test {
        Test::Term(term) => push_text(b, backend, std::slice::from_ref(term)),
        Test::Phrase(terms) => push_text(b, backend, terms),
        Test::Filter(filter) => push_filter(b, filter, today),
    }
}

/// Whether a stem is one token as the domain produces them, so the backends index it whole.
fn is_token(stem: &str) -> bool {
    !stem.is_empty() && stem.chars().all(char::is_alphanumeric)
}

/// Words next to each other, in order (a single word is a one-word phrase).
fn push_text(b: &mut SqlBuilder, backend: Backend, terms: &[Term]) {
    if terms.is_empty() || !terms.iter().all(|t| is_token(&t.stem)) {
        b.push("FALSE");
        return;
    }
    match backend {
        Backend::Sqlite => {
            // An FTS5 string: one double-quoted phrase, inner quotes doubled.
            let mut phrase = String::from("\"");
            for (n, term) in terms.iter().enumerate() {
                if n > 0 {
                    phrase.push(' ');
                }
                phrase.push_str(&term.stem.replace('"', "\"\""));
            }
            phrase.push('"');
            b.push("i.id IN (SELECT rowid FROM insights_fts WHERE insights_fts MATCH ")
                .push_bind(phrase)
                .push(")");
        }
        Backend::Postgres => {
            // tsquery input: quoted lexemes (quotes doubled, backslashes escaped) joined by the
            // "followed by" operator.
            let lexemes: Vec<String> = terms
                .iter()
                .map(|t| format!("'{}'", t.stem.replace('\\', "\\\\").replace('\'', "''")))
                .collect();
            b.push("i.search @@ CAST(")
                .push_bind(lexemes.join(" <-> "))
                .push(" AS tsquery)");
        }
    }
}

fn push_filter(b: &mut SqlBuilder, filter: &Filter, today: NaiveDate) {
    match filter {
        Filter::Theme(key) => {
            b.push("i.id IN (SELECT t.insight_id FROM insight_themes t WHERE ");
            push_key_match(b, "t.key", key);
            b.push(")");
        }
        Filter::Segment(key) => push_key_match(b, "i.segment_key", key),
        Filter::Account(key) => push_key_match(b, "i.account_key", key),
        Filter::Source(source) => {
            b.push("i.source = ").push_bind(source.to_lowercase());
        }
        Filter::Stage(stage) => {
            b.push("i.stage = ").push_bind(stage.name());
        }
        Filter::Kind(kind) => {
            b.push("i.kind = ").push_bind(kind.name());
        }
        Filter::Sentiment(sentiment) => {
            b.push("i.sentiment = ").push_bind(sentiment.name());
        }
        Filter::Severity(comparison, bound) => {
            b.push("i.severity ")
                .push(comparison.sql())
                .push(" ")
                .push_bind(i64::from(*bound));
        }
        Filter::Since(bound) => {
            b.push("i.observed_on >= ")
                .push_bind(bound_text(bound.resolve(today)));
        }
        Filter::Until(bound) => {
            b.push("i.observed_on <= ")
                .push_bind(bound_text(bound.resolve(today)));
        }
    }
}

/// `column` equals `key`, or starts with `key` followed by `-` (`equifax` matches `equifax-inc`,
/// `equi` does not), as [`flywheel_insights::model::key_matches`]. The prefix test is a range
/// (`key-` ≤ column < `key.`, since `.` follows `-`), which an index serves; both backends
/// compare these columns by code point.
fn push_key_match(b: &mut SqlBuilder, column: &'static str, key: &str) {
    b.push("(")
        .push(column)
        .push(" = ")
        .push_bind(key)
        .push(" OR (")
        .push(column)
        .push(" >= ")
        .push_bind(format!("{key}-"))
        .push(" AND ")
        .push(column)
        .push(" < ")
        .push_bind(format!("{key}."))
        .push("))");
}

#[cfg(test)]
mod tests {
    use super::*;
    use flywheel_insights::search::Scope;

    fn term(stem: &str) -> Term {
        Term {
            word: stem.into(),
            stem: stem.into(),
        }
    }

    fn condition(backend: Backend, query: &Query) -> String {
        let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let mut b = SqlBuilder::new();
        push_condition(
            &mut b,
            backend,
            query,
            &SearchOptions::new(Scope::Everything, today),
        );
        b.build().text().to_string()
    }

    #[test]
    fn values_never_enter_the_sql_text() {
        let hostile = "x' OR 1=1; DROP TABLE insights; --";
        let query = Query::everything()
            .with(false, Test::Term(term(hostile)))
            .with(true, Test::Filter(Filter::Theme(hostile.into())))
            .with(false, Test::Filter(Filter::Source(hostile.into())));
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let text = condition(backend, &query);
            assert!(!text.contains("DROP"), "{text}");
            assert!(text.contains("NOT COALESCE"), "{text}");
        }
    }

    #[test]
    fn only_alphanumeric_stems_are_searched() {
        assert!(is_token("refund"));
        assert!(is_token("crédit"));
        assert!(is_token("2026"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("\"x\""));
        assert!(!is_token("a*"));
    }
}
