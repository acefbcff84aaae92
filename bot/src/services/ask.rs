//! Asking the store a question: parse, search within what the asker may see, relax a
//! natural-language question that matched nothing, rank, and build the answer. Shared by
//! `flywheel ask`, the chat `ask` command and the demo.

use anyhow::Context as _;
use flywheel_insights::answer::{Answer, answer};
use flywheel_insights::model::{key_matches, nearest};
use flywheel_insights::query::{Filter, Query, QueryError, Test, parse};
use flywheel_insights::search::{Scope, SearchOptions};
use serde::Serialize;

use crate::app::{App, UnknownTeam};

/// An answer and anything the asker should know about their question.
#[derive(Debug, Clone, Serialize)]
pub struct Asked {
    /// The answer.
    #[serde(flatten)]
    pub answer: Answer,
    /// Hints, such as a theme filter that names no known theme.
    pub notes: Vec<String>,
}

/// Why a question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// The question does not parse.
    #[error("{}", .error.display_with_input(.input))]
    Query {
        /// What was typed.
        input: String,
        /// What is wrong with it.
        error: QueryError,
    },
    /// The question was asked as a team that does not exist.
    #[error(transparent)]
    UnknownTeam(#[from] UnknownTeam),
    /// Nothing to look for.
    #[error(
        "ask needs something to look for: words, \"a phrase\" or a filter such as theme:billing"
    )]
    Empty,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Answers `text` as seen from `scope`, within `team_filter` when the asker's team has one.
pub async fn ask(
    app: &App,
    text: &str,
    scope: Scope,
    team_filter: Option<&Query>,
    limit: usize,
) -> Result<Asked, AskError> {
    let query = parse(text).map_err(|error| AskError::Query {
        input: text.to_string(),
        error,
    })?;
    if query.clauses.is_empty() {
        return Err(AskError::Empty);
    }
    let today = app.today();
    let started = std::time::Instant::now();
    let effective = match team_filter {
        Some(filter) => filter.clone().and(&query),
        None => query.clone(),
    };
    let mut options = SearchOptions::new(scope.clone(), today);
    options.limit = limit;
    let mut result = app
        .store
        .search(&effective, &options)
        .await
        .context("search failed")?;
    let mut relaxed = false;
    let mut ranked_query = query.clone();
    if result.total == 0
        && query.natural_language
        && let Some(looser) = query.relaxed()
    {
        let effective = match team_filter {
            Some(filter) => filter.clone().and(&looser),
            None => looser.clone(),
        };
        // Insights with more of the question's words come first.
        options.ranking.most_words_first = true;
        result = app
            .store
            .search(&effective, &options)
            .await
            .context("search failed")?;
        relaxed = result.total > 0;
        if relaxed {
            ranked_query = looser;
        }
    }
    let mut notes = Vec::new();
    if result.total == 0 {
        notes.extend(unknown_themes(app, &query, &scope).await?);
    }
    let answer = answer(text, &ranked_query, result, relaxed, today);
    metrics::histogram!(crate::telemetry::SEARCH_SECONDS).record(started.elapsed().as_secs_f64());
    Ok(Asked { answer, notes })
}

/// A note for every `theme:` filter that names no theme the store knows, with the nearest one.
async fn unknown_themes(app: &App, query: &Query, scope: &Scope) -> anyhow::Result<Vec<String>> {
    let wanted: Vec<&String> = query
        .atoms()
        .filter_map(|a| match &a.test {
            Test::Filter(Filter::Theme(key)) => Some(key),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let known = app.store.theme_counts(scope).await?;
    let keys: Vec<String> = known
        .iter()
        .map(|c| flywheel_insights::model::key(&c.name))
        .collect();
    Ok(wanted
        .into_iter()
        .filter(|w| !keys.iter().any(|k| key_matches(k, w)))
        .map(|w| match nearest(w, keys.iter().map(String::as_str)) {
            Some(s) => format!("no theme is called {w:?} — did you mean theme:{s}?"),
            None => format!("no theme is called {w:?}"),
        })
        .collect())
}

/// Answers `text`, as `team` sees it when one is named (only insights visible to the team,
/// within its filter), else over everything.
pub async fn ask_as(
    app: &App,
    text: &str,
    team: Option<&str>,
    limit: usize,
) -> Result<Asked, AskError> {
    match team {
        Some(name) => {
            let team = app.team(name)?;
            let scope = Scope::Team(team.name.clone());
            ask(app, text, scope, Some(&team.filter), limit).await
        }
        None => ask(app, text, Scope::Everything, None, limit).await,
    }
}
