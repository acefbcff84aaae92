//! `/decision …`: decisions that cite their customer evidence, and the reviews that ask whether
//! they worked. Managers (per team, in the configuration) log and review; anyone in a team's
//! channel can browse; a refusal says why and offers to flag instead.

use chrono::{Days, Months, NaiveDate};
use flywheel_insights::command::{
    DecisionDraft, DecisionId, ListFilter, Outcome, OwnerRef, ReviewWhen,
};
use flywheel_insights::message::{Message, Text};
use flywheel_insights::search::Scope;
use flywheel_storage::decisions::{
    DecisionError, DecisionFilter, DecisionListing, DecisionStatus, DecisionSummary, NewDecision,
    ReviewOutcome,
};

use super::context::Context;
use super::reply::{HandlerError, Reply, UserError, refuse};

/// Days until review when a decision does not say.
pub const DEFAULT_REVIEW_DAYS: u64 = 30;
/// Decisions listed at most.
const LISTED: usize = 20;

/// Refuses a manager-only command to anyone else, recording the refusal.
async fn require_manager<'a>(
    context: &Context<'a>,
    what: &str,
) -> Result<&'a flywheel_config::Team, HandlerError> {
    let team = context.require_team(what)?;
    if context.is_manager(&team.name) {
        return Ok(team);
    }
    context
        .audit(
            "permission.refused",
            None,
            serde_json::json!({"command": what, "team": team.name}),
        )
        .await;
    refuse(format!(
        "Only {}'s managers can {what}. You can flag the insights instead: /insights flag ID [why it needs a decision].",
        team.name
    ))
}

fn review_date(today: NaiveDate, when: Option<ReviewWhen>) -> Result<NaiveDate, HandlerError> {
    let date = match when {
        None => today.checked_add_days(Days::new(DEFAULT_REVIEW_DAYS)),
        Some(ReviewWhen::InDays(days)) => today.checked_add_days(Days::new(days.into())),
        Some(ReviewWhen::InMonths(months)) => today.checked_add_months(Months::new(months)),
        Some(ReviewWhen::On(date)) => Some(date),
    };
    match date {
        Some(date) if date > today => Ok(date),
        Some(date) => refuse(format!(
            "review:{date} is not in the future (today is {today}); give a later date or review:30d"
        )),
        None => refuse("that review date is out of range"),
    }
}

/// `/decision log`.
pub async fn log(context: &Context<'_>, draft: DecisionDraft) -> Result<Reply, HandlerError> {
    let team = require_manager(context, "log decisions").await?;
    let today = context.team_today();
    let review_on = review_date(today, draft.review)?;
    let owner = match &draft.owner {
        None | Some(OwnerRef::Me) => context.user.to_string(),
        Some(OwnerRef::User(user)) => user.to_string(),
        Some(OwnerRef::Mention(name)) => format!("@{name}"),
    };
    let new = NewDecision {
        team: team.name.clone(),
        title: draft.title.clone(),
        rationale: draft.rationale.clone(),
        owner: Some(owner.clone()),
        decided_by: context.user.to_string(),
        channel: context.channel.to_string(),
        thread_ref: None,
        review_on: Some(review_on),
        timezone: team.timezone.name().to_string(),
        evidence: draft.evidence.clone(),
        now: context.app.clock.now(),
    };
    let id = match context.app.store.log_decision(&new).await {
        Ok(id) => id,
        Err(DecisionError::NoEvidence) => {
            return refuse(
                "A decision needs evidence: evidence:ID,ID with the insights behind it.",
            );
        }
        Err(DecisionError::UnknownEvidence(ids)) => {
            let ids: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
            return refuse(format!(
                "No insight {} is visible to {}: check the ids with /insights show ID.",
                ids.join(", "),
                team.name
            ));
        }
        Err(e) => return Err(HandlerError::Internal(e.into())),
    };
    context
        .audit(
            "decision.logged",
            Some(format!("decision:{id}")),
            serde_json::json!({"team": team.name, "evidence": draft.evidence, "review_on": review_on}),
        )
        .await;
    let evidence: Vec<String> = draft.evidence.iter().map(|id| format!("#{id}")).collect();
    Ok(Reply::public(
        Message::new().section(
            Text::plain("Decision ")
                .strong(format!("D{id}"))
                .and(" logged: ")
                .strong(draft.title)
                .line()
                .and(format!(
                    "Evidence {} · owner {owner} · review on {review_on}",
                    evidence.join(", ")
                )),
        ),
    ))
}

/// `/decision list`.
pub async fn list(
    context: &Context<'_>,
    filter: ListFilter,
    query: Option<&str>,
) -> Result<Reply, HandlerError> {
    let team = context.require_team("list decisions")?;
    let status = match filter {
        ListFilter::Open => DecisionListing::Open,
        ListFilter::Due => DecisionListing::Due {
            today: context.team_today(),
        },
        ListFilter::Mine => DecisionListing::Mine {
            user: context.user.to_string(),
        },
        ListFilter::All => DecisionListing::All,
    };
    let found = context
        .app
        .store
        .decisions(&DecisionFilter {
            team: Some(team.name.clone()),
            status,
            text: query.map(str::to_string),
            limit: LISTED,
        })
        .await?;
    if found.is_empty() {
        return Ok(Reply::private(Message::text(
            "No decisions match. Managers log them with /decision log \"TITLE\" evidence:ID,ID.",
        )));
    }
    let mut text = Text::new().strong(format!("{}'s decisions", team.name));
    for d in &found {
        text = text.line().and(format!(
            "D{} {} — {}{}",
            d.id,
            d.title,
            status_label(d),
            d.review_on
                .map(|r| format!(", review {r}"))
                .unwrap_or_default()
        ));
    }
    Ok(Reply::private(Message::new().section(text)))
}

/// `/decision show`.
pub async fn show(context: &Context<'_>, id: DecisionId) -> Result<Reply, HandlerError> {
    let scope = context.scope();
    let Some(decision) = context.app.store.decision(id, &scope).await? else {
        return refuse(format!(
            "There is no decision D{id} here (it does not exist or belongs to another team)."
        ));
    };
    let summary = &decision.summary;
    // Its dates are shown on the calendar it was logged in.
    let zone = summary.zone();
    let review_on = match (summary.status, summary.review_on) {
        (DecisionStatus::Open, Some(day)) => format!(", review on {day} ({})", zone.name()),
        _ => String::new(),
    };
    let mut message = Message::new()
        .header(format!("D{} {}", summary.id, summary.title))
        .context(Text::plain(format!(
            "{} · decided by {} · owner {} · {}{review_on}",
            summary.team,
            summary.decided_by,
            summary.owner.as_deref().unwrap_or("none"),
            status_label(summary)
        )));
    if let Some(rationale) = &decision.rationale {
        message = message.section(Text::plain("Why: ").quote(rationale.clone()));
    }
    let mut evidence = Text::new().strong("Evidence");
    for e in &decision.evidence {
        evidence = evidence.line().and(format!(
            "#{} {}",
            e.insight_id,
            e.title.as_deref().unwrap_or("(not visible here)")
        ));
    }
    message = message.section(evidence);
    // What people said about the evidence, latest first; hidden evidence says nothing.
    let mut comments = Vec::new();
    for e in decision.evidence.iter().filter(|e| e.title.is_some()) {
        comments.extend(context.app.store.comments(e.insight_id).await?);
    }
    if !comments.is_empty() {
        comments.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        let mut discussion = Text::new().strong("Discussion of the evidence");
        for c in comments.iter().take(SHOWN_COMMENTS) {
            discussion = discussion
                .line()
                .and(format!(
                    "#{} {} on {}: ",
                    c.insight_id,
                    c.author,
                    c.created_at.with_timezone(&zone).format("%Y-%m-%d")
                ))
                .quote(snippet(&c.text));
        }
        if comments.len() > SHOWN_COMMENTS {
            discussion = discussion
                .line()
                .emphasis(format!("… and {} more", comments.len() - SHOWN_COMMENTS));
        }
        message = message.section(discussion);
    }
    if let Some(review) = &decision.review {
        message = message.section(
            Text::new()
                .strong(format!("Reviewed: {}", review.outcome.name()))
                .and(" ")
                .quote(review.note.clone()),
        );
    }
    let mut history = Text::new().strong("History");
    for event in &decision.history {
        history = history.line().and(format!(
            "{} {} by {}{}",
            event.at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"),
            event.kind.name(),
            event.actor,
            event
                .details
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ));
    }
    Ok(Reply::private(message.section(history)))
}

/// How many comments on its evidence `/decision show` quotes.
const SHOWN_COMMENTS: usize = 5;

/// A comment cut to one short line.
fn snippet(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 200 {
        return line;
    }
    let mut cut: String = line.chars().take(199).collect();
    cut.push('…');
    cut
}

/// `/decision review`.
pub async fn review(
    context: &Context<'_>,
    id: DecisionId,
    outcome: Outcome,
    note: &str,
) -> Result<Reply, HandlerError> {
    let team = require_manager(context, "review decisions").await?;
    let outcome_value = match outcome {
        Outcome::Kept => ReviewOutcome::Kept,
        Outcome::Changed => ReviewOutcome::Changed,
        Outcome::Reversed => ReviewOutcome::Reversed,
    };
    match context
        .app
        .store
        .review_decision(
            id,
            &Scope::Team(team.name.clone()),
            outcome_value,
            note,
            &context.user.to_string(),
            context.app.clock.now(),
        )
        .await
    {
        Ok(()) => {}
        Err(DecisionError::NotFound(_)) => {
            return refuse(format!("There is no decision D{id} in {}.", team.name));
        }
        Err(DecisionError::AlreadyReviewed(_)) => {
            return refuse(format!(
                "D{id} has already been reviewed; /decision show {id} has the outcome."
            ));
        }
        Err(e) => return Err(HandlerError::Internal(e.into())),
    }
    context
        .audit(
            "decision.reviewed",
            Some(format!("decision:{id}")),
            serde_json::json!({"outcome": outcome.name(), "note": note}),
        )
        .await;
    Ok(Reply::public(Message::text(format!(
        "D{id} reviewed: {} — {note}",
        outcome.name()
    ))))
}

/// `/decision queue`: the team's open flags, for its managers.
pub async fn queue(context: &Context<'_>) -> Result<Reply, HandlerError> {
    let team = require_manager(context, "see the decision queue").await?;
    let flags = context.app.store.open_flags(&team.name).await?;
    if flags.is_empty() {
        return Ok(Reply::private(Message::text(format!(
            "Nothing is waiting for a decision in {}.",
            team.name
        ))));
    }
    let mut text = Text::new().strong(format!("Waiting for a decision in {}", team.name));
    for f in &flags {
        text = text.line().and(format!(
            "#{} {} — flagged {}× since {}{}",
            f.insight_id,
            f.title,
            f.flags,
            f.first_flagged_at.format("%Y-%m-%d"),
            f.latest_note
                .as_deref()
                .map(|n| format!(": “{n}”"))
                .unwrap_or_default()
        ));
    }
    Ok(Reply::private(Message::new().section(text)))
}

/// `/decision stats`.
pub async fn stats(context: &Context<'_>) -> Result<Reply, HandlerError> {
    let team = context.require_team("show decision figures for")?;
    let s = context
        .app
        .store
        .decision_stats(Some(&team.name), None, context.team_today())
        .await?;
    let days = |d: Option<f64>| d.map_or_else(|| "n/a".to_string(), |d| format!("{d:.1} days"));
    let median = days(s.median_days_evidence_to_decision);
    Ok(Reply::private(Message::new().section(
        Text::new()
            .strong(format!("Decisions in {}", team.name))
            .line()
            .and(format!(
                "{} insights flagged · {} decisions logged · median {median} from first evidence to decision",
                s.flags_raised, s.decisions_logged
            ))
            .line()
            .and(format!(
                "{} reviews done, {} on time, {} late · {} overdue",
                s.reviews_done, s.reviews_on_time, s.reviews_late, s.reviews_overdue
            ))
            .line()
            .and(format!(
                "{} themes noticed (first watched or flagged), median {} after their first insight",
                s.themes_noticed,
                days(s.median_days_to_notice)
            ))
            .line()
            .and(format!(
                "{} spikes, {} followed by a decision citing the theme, median {} after the alert",
                s.spikes,
                s.spikes_decided,
                days(s.median_days_spike_to_decision)
            )),
    )))
}

/// `open, review 2026-03-01`, `reviewed: kept`.
pub fn status_label(summary: &DecisionSummary) -> String {
    match (summary.status, summary.outcome) {
        (DecisionStatus::Reviewed, Some(outcome)) => format!("reviewed: {}", outcome.name()),
        (DecisionStatus::Reviewed, None) => "reviewed".into(),
        (DecisionStatus::Open, _) => "open".into(),
    }
}

impl From<UserError> for HandlerError {
    fn from(e: UserError) -> HandlerError {
        HandlerError::User(e)
    }
}
