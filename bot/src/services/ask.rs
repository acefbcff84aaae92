//! Asking the store a question: parse, search within what the asker may see, relax a question
//! that too few insights match in full, rank, and build the answer. Shared by
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
    let exact = result.total;
    let mut ranked_query = query.clone();
    let mut searched = effective;
    // Too few insights hold every word of a question, or of plain words: answer with those
    // holding most of it (every exact match among them).
    if result.total < limit as u64
        && (query.natural_language || query.is_plain_words())
        && let Some(looser) = query.relaxed()
    {
        let effective = match team_filter {
            Some(filter) => filter.clone().and(&looser),
            None => looser.clone(),
        };
        options.ranking.coordination = true;
        let looser_result = app
            .store
            .search(&effective, &options)
            .await
            .context("search failed")?;
        if looser_result.total > result.total {
            relaxed = true;
            result = looser_result;
            ranked_query = looser;
            searched = effective;
        }
    }
    // A question of several plain words also finds insights that say the same in other
    // words: the answer is ranked again with the words that set its first answers apart.
    if (query.natural_language || query.is_plain_words())
        && query.relaxed().is_some()
        && !result.hits.is_empty()
    {
        let (related, hits) = app
            .store
            .search_related(&searched, &options, &result.hits)
            .await
            .context("search failed")?;
        result.hits = hits;
        result.related = related;
    }
    let mut notes = Vec::new();
    if result.total == 0 {
        notes.extend(unknown_themes(app, &query, &scope).await?);
    }
    let answer = answer(text, &ranked_query, result, relaxed.then_some(exact), today);
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
    // A theme some insight carries needs no hint: the dictionary says so without a pass.
    let mut unknown = Vec::new();
    for key in wanted {
        if !app.store.theme_key_known(key).await? {
            unknown.push(key);
        }
    }
    let wanted = unknown;
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // Every theme in scope, counted by the search engine in one pass over its columns.
    let mut options = SearchOptions::new(scope.clone(), app.today());
    options.limit = 0;
    options.breakdown = usize::MAX;
    let known = app
        .store
        .search(&Query::everything(), &options)
        .await
        .context("listing themes failed")?;
    let keys: Vec<String> = known
        .themes
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

#[cfg(test)]
mod tests {
    use flywheel_insights::model::{InsightData, Sentiment, Severity, Visibility};

    use super::*;
    use crate::conversation::scratch_inbound;

    fn insight(n: usize, title: &str) -> InsightData {
        InsightData {
            source: "test".into(),
            source_ref: n.to_string(),
            title: title.into(),
            body: String::new(),
            observed_on: chrono::Utc::now().date_naive(),
            tags: Vec::new(),
            segment: None,
            stage: None,
            kind: None,
            sentiment: Sentiment::Neutral,
            severity: Severity::DEFAULT,
            account: None,
            url: None,
            visibility: Visibility::All,
        }
    }

    fn titles(asked: &Asked) -> Vec<&str> {
        asked
            .answer
            .results
            .iter()
            .map(|r| r.insight.data.title.as_str())
            .collect()
    }

    #[tokio::test]
    async fn too_few_full_matches_are_completed_by_those_holding_most_of_the_question() {
        let (inbound, _dir) = scratch_inbound().await;
        let app = inbound.app();
        let mut rows = vec![
            insight(0, "refund for a gift card never arrived"),
            insight(1, "gift card declined at checkout"),
        ];
        rows.extend((2..12).map(|n| insight(n, "refund delayed again")));
        crate::services::ingest::ingest(app, rows, |_| {})
            .await
            .unwrap();

        // Plain words: one insight holds all three, so the rest is filled by partial matches,
        // the full match first and the rarer words ("gift", "card") before the common one.
        let asked = ask(app, "refund gift card", Scope::Everything, None, 5)
            .await
            .unwrap();
        assert!(asked.answer.relaxed);
        assert_eq!(asked.answer.every_word, Some(1));
        assert_eq!(asked.answer.total, 12);
        assert_eq!(
            titles(&asked)[..2],
            [
                "refund for a gift card never arrived",
                "gift card declined at checkout"
            ]
        );

        // Enough full matches: nothing is relaxed.
        let asked = ask(app, "refund delayed", Scope::Everything, None, 5)
            .await
            .unwrap();
        assert!(!asked.answer.relaxed);
        assert_eq!(asked.answer.total, 10);

        // Query syntax means what it says: an exclusion or a phrase is never relaxed.
        for exact in ["refund gift -declined", "\"gift card\" refund"] {
            let asked = ask(app, exact, Scope::Everything, None, 5).await.unwrap();
            assert!(!asked.answer.relaxed, "{exact}");
            assert_eq!(
                titles(&asked),
                ["refund for a gift card never arrived"],
                "{exact}"
            );
        }
    }

    #[tokio::test]
    async fn a_question_also_finds_insights_that_say_it_in_other_words() {
        let (inbound, _dir) = scratch_inbound().await;
        let app = inbound.app();
        let mut rows = vec![
            insight(
                0,
                "dispute outcome never told: investigation results not notified",
            ),
            insight(
                1,
                "dispute outcome unknown, investigation results never notified",
            ),
            insight(2, "investigation results were not notified"),
        ];
        let others = [
            "mortgage payment late",
            "card fee charged twice",
            "loan application delayed",
            "account closed without warning",
        ];
        rows.extend((3..11).map(|n| insight(n, others[n % others.len()])));
        crate::services::ingest::ingest(app, rows, |_| {})
            .await
            .unwrap();

        let asked = ask(
            app,
            "customers never told the outcome of their dispute",
            Scope::Everything,
            None,
            3,
        )
        .await
        .unwrap();
        // The answer counts what holds the question's words; the third insight holds none of
        // them but says the same, and says why it is there.
        assert_eq!(asked.answer.total, 2);
        let found = titles(&asked);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[..2].iter().all(|t| t.starts_with("dispute outcome")),
            "{found:?}"
        );
        assert_eq!(found[2], "investigation results were not notified");
        let reasons: Vec<String> = asked.answer.results[2]
            .reasons
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            reasons[0].starts_with("like the best matches: ")
                && reasons[0].contains("\"investigation\""),
            "{reasons:?}"
        );

        // One word is looked up as typed: nothing else joins it.
        let asked = ask(app, "dispute", Scope::Everything, None, 3)
            .await
            .unwrap();
        assert_eq!(asked.answer.results.len(), 2);
    }

    #[tokio::test]
    async fn an_unknown_theme_gets_the_nearest_known_one() {
        let (inbound, _dir) = scratch_inbound().await;
        let app = inbound.app();
        let mut row = insight(0, "charged twice");
        row.tags = vec!["Billing".into()];
        crate::services::ingest::ingest(app, vec![row], |_| {})
            .await
            .unwrap();
        let asked = ask(app, "theme:biling", Scope::Everything, None, 5)
            .await
            .unwrap();
        assert_eq!(asked.answer.total, 0);
        assert_eq!(
            asked.notes,
            ["no theme is called \"biling\" — did you mean theme:billing?"]
        );
        // A known theme that matches nothing here needs no hint.
        let asked = ask(app, "theme:billing zebra", Scope::Everything, None, 5)
            .await
            .unwrap();
        assert_eq!(asked.answer.total, 0);
        assert!(asked.notes.is_empty(), "{:?}", asked.notes);
    }
}
