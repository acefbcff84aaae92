//! Alerts, as steps the service loop (and tests) drive: [`watch_step`] tells channels about
//! new insights matching the questions they watch, and [`spike_step`] tells teams when a theme
//! they follow jumps far above its own normal.
//!
//! Both write alerts into the outbox, where the delivery workers send them like digests:
//! exactly once, within the platforms' limits. An alert found during the team's quiet hours is
//! written at once but due when they end. Every write is keyed, so any number of replicas may
//! run the steps at the same time and each alert is still written once:
//! - a watch moves its mark over the new insights and writes its alert in one transaction that
//!   only succeeds from the mark it read;
//! - a spike's alert is keyed by team, theme and day.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use flywheel_config::Team;
use flywheel_insights::message::{Block, ChartSeries, ChartSpec, Message, Text};
use flywheel_insights::model::Insight;
use flywheel_insights::query::{Document, Query, parse};
use flywheel_insights::search::{DateRange, Scope, SearchOptions};
use flywheel_insights::spike::{self, DailySeries, Spike, SpikeState};
use flywheel_insights::watch::{MAX_QUOTED, QuietHours, WatchBatch, quotes, watch_message};
use flywheel_storage::{
    AlertCreated, AlertKind, NewAlert, NewWatch, SpikeStateRecord, Watch, WatchSettled,
};

use crate::app::App;

/// Watches looked at per step.
const WATCHES_PER_STEP: usize = 100;
/// New insights read per page while looking.
const PAGE: usize = 2_000;
/// Days of a theme's history read for one look: every day replayed, each with its baseline
/// (the rule's days, or the four weeks of its weekday, whichever reach further back), and at
/// least the weeks the alert's chart shows.
fn history_days(rule: &spike::SpikeRule) -> u64 {
    let baseline = u64::from(rule.baseline_days).max(28);
    // The chart's twelve weeks end with the week of yesterday at the earliest.
    (REPLAY_DAYS + baseline + 1).max(CHART_WEEKS * 7 + 1)
}
/// The most whole days folded into a theme's state at once after the service was down.
const REPLAY_DAYS: u64 = 60;
/// The most themes a team follows by default (every theme): the largest.
const MAX_FOLLOWED: usize = 50;
/// The days whose themes a team follows by default: a baseline's worth, and a little more.
const FOLLOWED_WINDOW_DAYS: u64 = 35;

/// What one [`watch_step`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchOutcome {
    /// Watches looked at.
    pub looked: usize,
    /// Alerts written.
    pub alerted: usize,
    /// New insights matching, over every watch.
    pub matched: u64,
    /// Watches another replica settled first.
    pub lost: usize,
}

/// Brings the watches declared in the configuration into the store (each team's `watches`, on
/// every channel of the team) and ends those the file no longer declares. Returns how many are
/// declared.
pub async fn sync_declared_watches(app: &App) -> anyhow::Result<usize> {
    let now = app.clock.now();
    let mut keys = Vec::new();
    for team in &app.config.teams {
        for (n, declared) in team.watches.iter().enumerate() {
            for channel in &team.channels {
                let key = format!("{}/{n}/{channel}", team.name);
                let watch = NewWatch {
                    team: Some(team.name.clone()),
                    channel: channel.to_string(),
                    query: declared.query.clone(),
                    cadence: declared.every,
                    created_by: "config".into(),
                    config_key: Some(key.clone()),
                };
                app.store
                    .create_watch(&watch, now)
                    .await
                    .with_context(|| format!("cannot declare the watch {key}"))?;
                keys.push(key);
            }
        }
    }
    let ended = app.store.end_undeclared_watches(&keys, now).await?;
    if ended > 0 {
        tracing::info!("{ended} watch(es) no longer in the configuration ended");
    }
    Ok(keys.len())
}

/// Looks at every watch that is due: new insights matching its question become one alert to
/// its channel.
pub async fn watch_step(app: &App) -> anyhow::Result<WatchOutcome> {
    let now = app.clock.now();
    let due = app
        .store
        .due_watches(now, WATCHES_PER_STEP)
        .await
        .context("cannot read due watches")?;
    let mut outcome = WatchOutcome::default();
    if due.is_empty() {
        return Ok(outcome);
    }
    let through = app.store.latest_change().await?;
    // Watches at the same mark for the same team look at the same new insights: one pass
    // over them serves every such watch.
    let mut groups: BTreeMap<(i64, Option<String>), Vec<Watch>> = BTreeMap::new();
    for watch in due {
        groups
            .entry((watch.seen_seq, watch.team.clone()))
            .or_default()
            .push(watch);
    }
    for ((seen, team), watches) in groups {
        let (tz, _) = team_time(app, team.as_deref());
        let today = now.with_timezone(&tz).date_naive();
        let queries: Vec<Option<Query>> = watches
            .iter()
            .map(|watch| match parse(&watch.query) {
                Ok(query) => Some(query),
                Err(e) => {
                    tracing::warn!(watch = watch.id, "a watched question no longer reads: {e}");
                    None
                }
            })
            .collect();
        let found = if through > seen {
            scan(app, seen, through, &watches[0].scope(), queries, today).await?
        } else {
            watches.iter().map(|_| Found::default()).collect()
        };
        for (watch, found) in watches.iter().zip(found) {
            outcome.looked += 1;
            outcome.matched += found.total;
            match settle(app, watch, through, now, found).await? {
                WatchSettled::Settled { alert_id: Some(_) } => outcome.alerted += 1,
                WatchSettled::Settled { alert_id: None } => {}
                WatchSettled::Lost => outcome.lost += 1,
            }
        }
    }
    if outcome.alerted > 0 {
        metrics::counter!(crate::telemetry::ALERTS, "kind" => "watch")
            .increment(outcome.alerted as u64);
    }
    Ok(outcome)
}

/// The timezone and quiet hours of a watch's or alert's team (UTC and none without one).
fn team_time(app: &App, team: Option<&str>) -> (Tz, Option<QuietHours>) {
    match team.and_then(|name| app.config.team(name)) {
        Some(team) => (team.timezone, team.quiet_hours),
        None => (Tz::UTC, None),
    }
}

/// Reads the insights added after change `seen` up to `through` that `scope` may see, page by
/// page, and matches each against every question (`None`: a question that no longer reads,
/// which matches nothing): what each found, in the order of `queries`.
async fn scan(
    app: &App,
    seen: i64,
    through: i64,
    scope: &Scope,
    queries: Vec<Option<Query>>,
    today: NaiveDate,
) -> anyhow::Result<Vec<Found>> {
    let queries = std::sync::Arc::new(queries);
    let mut found: Vec<Found> = queries.iter().map(|_| Found::default()).collect();
    let mut from = None;
    loop {
        let page = app
            .store
            .insights_added(seen, through, from, scope, PAGE)
            .await?;
        let Some((seq, last)) = page.last().map(|(seq, i)| (*seq, i.id)) else {
            break;
        };
        from = Some((seq, last));
        let full = page.len() == PAGE;
        let queries = queries.clone();
        let mut before = std::mem::take(&mut found);
        // Matching is CPU work: off the runtime's threads.
        found = tokio::task::spawn_blocking(move || {
            for (_, insight) in &page {
                let document = Document::from_insight(insight);
                for (query, found) in queries.iter().zip(before.iter_mut()) {
                    if query.as_ref().is_some_and(|q| q.matches(&document, today)) {
                        found.add(insight);
                    }
                }
            }
            before
        })
        .await
        .context("matching new insights failed")?;
        if !full {
            break;
        }
    }
    Ok(found)
}

/// Moves `watch` on to change `through`, with an alert of what it `found` when it found any.
async fn settle(
    app: &App,
    watch: &Watch,
    through: i64,
    now: DateTime<Utc>,
    found: Found,
) -> anyhow::Result<WatchSettled> {
    let (tz, quiet) = team_time(app, watch.team.as_deref());
    let next = watch.cadence.next_check(now, tz);
    let alert = if found.total == 0 {
        None
    } else {
        let today = now.with_timezone(&tz).date_naive();
        let batch = WatchBatch {
            watch_id: watch.id,
            query: &watch.query,
            total: found.total,
            best: found.best.iter().collect(),
            since: found.oldest.unwrap_or(today),
        };
        let message = watch_message(&batch);
        Some(NewAlert {
            key: format!("watch:{}:{through}", watch.id),
            team: watch.team.clone(),
            kind: AlertKind::Watch,
            subject: format!("watch:{}", watch.id),
            thread: None,
            message: serde_json::to_value(&message)?,
            summary: serde_json::json!({
                "watch": watch.id,
                "query": watch.query,
                "matched": found.total,
                "quoted": found.best.iter().map(|i| i.id).collect::<Vec<_>>(),
                "from_change": watch.seen_seq,
                "through_change": through,
            }),
            channels: vec![watch.channel.clone()],
            now,
            due: quiet.map_or(now, |q| q.release(now, tz)),
        })
    };
    app.store
        .settle_watch(watch.id, watch.seen_seq, through, next, alert.as_ref())
        .await
        .with_context(|| format!("cannot settle watch {}", watch.id))
}

/// New insights matching a watch, so far.
#[derive(Debug, Default)]
struct Found {
    total: u64,
    /// The best, best first, at most [`MAX_QUOTED`].
    best: Vec<Insight>,
    oldest: Option<NaiveDate>,
}

impl Found {
    /// Counts a match, keeping it among the best when it is: most severe first, then the most
    /// recently observed, then the newest.
    fn add(&mut self, insight: &Insight) {
        self.total += 1;
        let day = insight.data.observed_on;
        self.oldest = Some(self.oldest.map_or(day, |d| d.min(day)));
        let rank = |i: &Insight| (i.data.severity.get(), i.data.observed_on, i.id);
        if self.best.len() == MAX_QUOTED
            && self
                .best
                .last()
                .is_some_and(|worst| rank(worst) >= rank(insight))
        {
            return;
        }
        self.best.push(insight.clone());
        self.best.sort_by_key(|i| std::cmp::Reverse(rank(i)));
        self.best.truncate(MAX_QUOTED);
    }
}

/// What one [`spike_step`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpikeOutcome {
    /// Team themes looked at.
    pub looked: usize,
    /// Alerts written by this step.
    pub alerted: usize,
    /// Alerts another replica wrote first.
    pub already: usize,
}

/// Looks at the themes each team follows: a theme whose volume today is far above its own
/// normal raises one alert to the team's channels, and stays raised, silently, until it
/// settles.
pub async fn spike_step(app: &App) -> anyhow::Result<SpikeOutcome> {
    let mut outcome = SpikeOutcome::default();
    for team in app.config.teams.iter().filter(|t| t.spike_alerts) {
        for theme in followed(app, team).await? {
            outcome.looked += 1;
            match spike_theme(app, team, &theme).await? {
                Some(AlertCreated::Created { .. }) => outcome.alerted += 1,
                Some(AlertCreated::AlreadyExists { .. }) => outcome.already += 1,
                None => {}
            }
        }
    }
    if outcome.alerted > 0 {
        metrics::counter!(crate::telemetry::ALERTS, "kind" => "spike")
            .increment(outcome.alerted as u64);
    }
    Ok(outcome)
}

/// The theme keys the team follows: configured, named by its filter, or else the largest
/// themes among what the team may see of the last [`FOLLOWED_WINDOW_DAYS`] days (one pass over
/// the index).
async fn followed(app: &App, team: &Team) -> anyhow::Result<Vec<String>> {
    let themes = team.followed_themes();
    if !themes.is_empty() {
        return Ok(themes);
    }
    let today = app.clock.now().with_timezone(&team.timezone).date_naive();
    let mut options = SearchOptions::new(Scope::Team(team.name.clone()), today);
    options.limit = 0;
    options.breakdown = MAX_FOLLOWED;
    options.observed = Some(DateRange {
        from: today
            .checked_sub_days(Days::new(FOLLOWED_WINDOW_DAYS))
            .unwrap_or(today),
        until: today.succ_opt().unwrap_or(today),
    });
    let result = app.store.search(&Query::everything(), &options).await?;
    Ok(result
        .themes
        .into_iter()
        .map(|c| flywheel_insights::model::key(&c.name))
        .collect())
}

/// Folds the whole days since the theme was last looked at into its state, then looks at
/// today: the alert this wrote (or found written), if the theme spiked.
async fn spike_theme(app: &App, team: &Team, theme: &str) -> anyhow::Result<Option<AlertCreated>> {
    let rule = app.config.spikes;
    let now = app.clock.now();
    let today = now.with_timezone(&team.timezone).date_naive();
    let Some(yesterday) = today.pred_opt() else {
        return Ok(None);
    };
    let stored = app.store.spike_state(&team.name, theme).await?;
    let first = today
        .checked_sub_days(Days::new(history_days(&rule)))
        .unwrap_or(today);
    let series = theme_series(app, team, theme, first, today).await?;

    let mut state = match stored.and_then(|s| s.alerted_on) {
        Some(alerted_on) => SpikeState::Raised { alerted_on },
        None => SpikeState::Quiet,
    };
    let replay_from = match stored {
        Some(s) => s.through.succ_opt().unwrap_or(today),
        None => today,
    }
    .max(
        yesterday
            .checked_sub_days(Days::new(REPLAY_DAYS))
            .unwrap_or(yesterday),
    );
    let mut spiked: Option<Spike> = None;
    let mut day = replay_from;
    while day <= yesterday {
        let stepped = spike::step(state, &series, day, &rule);
        state = stepped.state;
        // A spike on a day that ended while nobody looked is news only if it was yesterday.
        if day == yesterday {
            spiked = stepped.alert;
        }
        day = match day.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    if state == SpikeState::Quiet
        && let Some(spike) = spike::spike_on(&series, today, &rule)
    {
        state = SpikeState::Raised { alerted_on: today };
        spiked = Some(spike);
    }
    let record = SpikeStateRecord {
        alerted_on: match state {
            SpikeState::Raised { alerted_on } => Some(alerted_on),
            SpikeState::Quiet => None,
        },
        through: yesterday,
    };
    let alert = match &spiked {
        Some(spike) => Some(spike_alert(app, team, theme, spike, &series, now).await?),
        None => None,
    };
    if stored == Some(record) && alert.is_none() {
        return Ok(None);
    }
    let created = app
        .store
        .record_spike_state(&team.name, theme, record, alert.as_ref())
        .await?;
    if let Some(AlertCreated::Created { alert_id, .. }) = &created {
        tracing::info!(
            team = team.name,
            theme,
            alert = alert_id,
            "spike alert queued"
        );
    }
    Ok(created)
}

/// The theme's daily volume from `first` to `last`, as the team sees it.
async fn theme_series(
    app: &App,
    team: &Team,
    theme: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> anyhow::Result<DailySeries> {
    let query = theme_query(theme);
    let mut options = SearchOptions::new(Scope::Team(team.name.clone()), last);
    options.limit = 0;
    options.observed = Some(DateRange {
        from: first,
        until: last.succ_opt().unwrap_or(last),
    });
    let result = app.store.search(&query, &options).await?;
    Ok(DailySeries::from_days(first, last, &result.by_day))
}

/// `theme:KEY` as a query.
fn theme_query(theme: &str) -> Query {
    use flywheel_insights::query::{Filter, Test};
    Query::everything().with(false, Test::Filter(Filter::Theme(theme.to_string())))
}

/// Weeks a spike alert's chart shows, the spike's week last.
const CHART_WEEKS: u64 = 12;

/// The weekly totals of `series` over the [`CHART_WEEKS`] weeks (Monday to Sunday) ending with
/// the week of `last`, as one named line.
fn weekly_chart(title: &str, name: &str, series: &DailySeries, last: NaiveDate) -> ChartSpec {
    use chrono::Datelike as _;
    let monday = last
        .checked_sub_days(Days::new(u64::from(last.weekday().num_days_from_monday())))
        .unwrap_or(last);
    let weeks: Vec<NaiveDate> = (0..CHART_WEEKS)
        .rev()
        .filter_map(|back| monday.checked_sub_days(Days::new(7 * back)))
        .collect();
    let counts = weeks
        .iter()
        .map(|week| {
            (0..7)
                .filter_map(|d| week.checked_add_days(Days::new(d)))
                .filter(|day| *day <= last)
                .map(|day| series.on(day))
                .sum()
        })
        .collect();
    ChartSpec {
        title: title.to_string(),
        weeks,
        series: vec![ChartSeries {
            name: name.to_string(),
            counts,
        }],
    }
}

/// Insights quoted in a spike alert.
const SPIKE_QUOTES: usize = 3;
/// Segments and accounts named as driving a spike.
const DRIVERS: usize = 3;

/// The alert for a theme's spike: how far above normal, since when, the segments and accounts
/// driving it, and the best quotes.
async fn spike_alert(
    app: &App,
    team: &Team,
    theme: &str,
    spike: &Spike,
    series: &DailySeries,
    now: DateTime<Utc>,
) -> anyhow::Result<NewAlert> {
    let query = theme_query(theme);
    let mut options = SearchOptions::new(Scope::Team(team.name.clone()), spike.day);
    options.observed = Some(DateRange {
        from: spike.since,
        until: spike.day.succ_opt().unwrap_or(spike.day),
    });
    options.limit = SPIKE_QUOTES;
    options.ranking = flywheel_insights::rank::question_ranking(spike.day);
    options.theme_accounts = false;
    let result = app.store.search(&query, &options).await?;
    let name = result
        .themes
        .iter()
        .find(|c| flywheel_insights::model::key(&c.name) == theme)
        .map_or(theme.to_string(), |c| c.name.clone());
    let mut message = Message::new().header(format!("{name} is spiking")).section(
        Text::new()
            .strong(name.clone())
            .and(format!(" is at {}.", spike.summary())),
    );
    let mut drivers = Vec::new();
    let segments: Vec<String> = result
        .segments
        .iter()
        .take(DRIVERS)
        .map(|c| format!("{} ({})", c.name, c.count))
        .collect();
    if !segments.is_empty() {
        drivers.push(format!("segments: {}", segments.join(", ")));
    }
    let accounts: BTreeSet<&str> = result
        .hits
        .iter()
        .filter_map(|h| h.insight.data.account.as_deref())
        .collect();
    drivers.push(format!(
        "{} insights from {} accounts since {}",
        result.total,
        result.accounts,
        spike.since.format("%-d %b")
    ));
    if !accounts.is_empty() {
        drivers.push(format!(
            "among them {}",
            accounts
                .into_iter()
                .take(DRIVERS)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    message = message.context(Text::plain(drivers.join(" · ")));
    message = message.push(Block::Chart(weekly_chart(
        &format!("{name}: insights a week"),
        &name,
        series,
        spike.day,
    )));
    let quoted: Vec<&Insight> = result.hits.iter().map(|h| &h.insight).collect();
    for block in quotes(&quoted) {
        message = message.push(block);
    }
    message = message.push(Block::Context(vec![Text::plain("More: ").code(format!(
        "/insights ask theme:{theme} since:{}",
        spike.since.format("%Y-%m-%d")
    ))]));
    let (tz, quiet) = (team.timezone, team.quiet_hours);
    Ok(NewAlert {
        key: format!("spike:{}:{theme}:{}", team.name, spike.day),
        team: Some(team.name.clone()),
        kind: AlertKind::Spike,
        subject: theme.to_string(),
        thread: None,
        message: serde_json::to_value(&message)?,
        summary: serde_json::json!({
            "theme": theme,
            "day": spike.day,
            "count": spike.count,
            "baseline": spike.baseline,
            "ratio": spike.ratio,
            "since": spike.since,
            "matched": result.total,
            "accounts": result.accounts,
        }),
        channels: team.channels.iter().map(ToString::to_string).collect(),
        now,
        due: quiet.map_or(now, |q| q.release(now, tz)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_look_reads_every_day_its_replays_and_chart_need() {
        let rule = spike::SpikeRule::default();
        assert_eq!(history_days(&rule), REPLAY_DAYS + 28 + 1);
        let long = spike::SpikeRule {
            baseline_days: 365,
            ..rule
        };
        assert_eq!(history_days(&long), REPLAY_DAYS + 365 + 1);
        let short = spike::SpikeRule {
            baseline_days: 7,
            ..rule
        };
        assert!(history_days(&short) > CHART_WEEKS * 7);
    }
}
