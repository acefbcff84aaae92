//! Which teams may see an insight, stored so that a [`Scope`] is a SQL condition: the
//! `visibility` column holds `all` or the JSON list of team names (for reading the insight back),
//! and `insight_teams` holds one ASCII-lowercased row per team (for filtering), matching
//! [`Visibility::allows`], which ignores ASCII case.

use flywheel_insights::model::{InsightId, Visibility};
use flywheel_insights::search::Scope;

use crate::db::{Db, SqlBuilder};
use crate::values::{list_text, parse_list};

/// The `visibility` column of an insight visible to every team.
const ALL: &str = "all";

/// How many teams go into one multi-row insert, at 2 values a team ([`MAX_BINDS`]).
const TEAMS_PER_STATEMENT: usize = crate::db::MAX_BINDS / 2;

/// The `visibility` column for a visibility.
pub(crate) fn column_text(visibility: &Visibility) -> String {
    match visibility {
        Visibility::All => ALL.to_string(),
        Visibility::Teams(teams) => list_text(teams),
    }
}

/// A `visibility` column read back.
pub(crate) fn parse_column(text: &str) -> Option<Visibility> {
    if text == ALL {
        Some(Visibility::All)
    } else {
        parse_list(text).map(Visibility::Teams)
    }
}

/// Appends ` AND <condition>` limiting the insights aliased `i` to those the scope may see.
pub(crate) fn push_scope(b: &mut SqlBuilder, scope: &Scope) {
    match scope {
        Scope::Everything => {}
        Scope::Public => {
            b.push(" AND i.visibility = 'all'");
        }
        Scope::Team(team) => {
            b.push(
                " AND (i.visibility = 'all' OR i.id IN \
                 (SELECT v.insight_id FROM insight_teams v WHERE v.team = ",
            )
            .push_bind(team.to_ascii_lowercase())
            .push("))");
        }
    }
}

/// Writes the team rows of newly inserted or rewritten insights, many per statement.
pub(crate) async fn write_teams(
    db: &mut Db<'_>,
    written: &[(InsightId, &Visibility)],
) -> Result<(), sqlx::Error> {
    let mut rows: Vec<(InsightId, String)> = Vec::new();
    for (id, visibility) in written {
        if let Visibility::Teams(teams) = visibility {
            let mut folded: Vec<String> = teams.iter().map(|t| t.to_ascii_lowercase()).collect();
            folded.sort();
            folded.dedup();
            rows.extend(folded.into_iter().map(|team| (*id, team)));
        }
    }
    for chunk in rows.chunks(TEAMS_PER_STATEMENT) {
        let mut b = SqlBuilder::new();
        b.push("INSERT INTO insight_teams (insight_id, team) VALUES ");
        for (n, (id, team)) in chunk.iter().enumerate() {
            b.push(if n == 0 { "(" } else { ", (" })
                .push_bind(*id)
                .push(", ")
                .push_bind(team.clone())
                .push(")");
        }
        db.execute(b.build()).await?;
    }
    Ok(())
}
