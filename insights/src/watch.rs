//! Watches and alerts, the pure part: how often a watch reports, a team's quiet hours, and the
//! message that tells a channel about new insights matching its question.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::message::{Action, Block, Button, Message, Section, Text};
use crate::model::Insight;

/// How often a watch reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cadence {
    /// As soon as new matches arrive (looked at every minute or so).
    Now,
    /// At most once an hour, on the hour.
    Hourly,
    /// At most once a day, in the morning of the team's timezone.
    Daily,
}

impl Cadence {
    /// Every cadence.
    pub const ALL: [Cadence; 3] = [Cadence::Now, Cadence::Hourly, Cadence::Daily];

    /// The name stored and typed (`every:hourly`).
    pub fn name(self) -> &'static str {
        match self {
            Cadence::Now => "now",
            Cadence::Hourly => "hourly",
            Cadence::Daily => "daily",
        }
    }

    /// The cadence named `name` (any case).
    pub fn parse(name: &str) -> Option<Cadence> {
        Cadence::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// When a watch looked at `now` is next looked at: a minute on, the next hour, or the next
    /// day's [`DAILY_AT`] in `tz`.
    pub fn next_check(self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        match self {
            Cadence::Now => now + chrono::Duration::seconds(NOW_EVERY_SECS),
            Cadence::Hourly => {
                let hour = now
                    .with_minute(0)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0))
                    .unwrap_or(now);
                hour + chrono::Duration::hours(1)
            }
            Cadence::Daily => {
                let local = now.with_timezone(&tz);
                let mut day = local.date_naive();
                if local.time() >= DAILY_AT {
                    day = day.checked_add_days(Days::new(1)).unwrap_or(day);
                }
                local_instant(tz, day, DAILY_AT).unwrap_or(now + chrono::Duration::days(1))
            }
        }
    }
}

impl std::fmt::Display for Cadence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How often an `every:now` watch is looked at, in seconds.
pub const NOW_EVERY_SECS: i64 = 60;
/// When a daily watch reports, in the team's timezone.
pub const DAILY_AT: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
/// The most insights one alert quotes; the rest are counted and linked to a question.
pub const MAX_QUOTED: usize = 3;
/// The longest question a watch may have, in characters.
pub const MAX_WATCH_CHARS: usize = 500;

/// The first instant of `time` on `day` in `tz`, or the first instant after it when a clock
/// change skips it.
fn local_instant(tz: Tz, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let naive = day.and_time(time);
    (0..4).find_map(|hours| {
        tz.from_local_datetime(&(naive + chrono::Duration::hours(hours)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// A team's quiet hours, in its timezone: alerts found inside wait until they end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// When they start (`22:00`).
    pub start: NaiveTime,
    /// When they end (`07:00`); before `start` when they span midnight.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Reads `22:00-07:00`.
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("`{text}` is not a range of hours: write it as 22:00-07:00"))?;
        let time = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| format!("`{}` is not a time of day: write it as 07:00", t.trim()))
        };
        let hours = QuietHours {
            start: time(start)?,
            end: time(end)?,
        };
        if hours.start == hours.end {
            return Err(format!(
                "`{text}` starts and ends at the same time: leave quiet_hours out for none"
            ));
        }
        Ok(hours)
    }

    /// Whether `time` of day falls inside.
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// When something found at `now` may be sent: `now` outside quiet hours, else the instant
    /// they end.
    pub fn release(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&tz);
        if !self.contains(local.time()) {
            return now;
        }
        let mut day = local.date_naive();
        if local.time() >= self.end {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        }
        local_instant(tz, day, self.end)
            .filter(|t| *t > now)
            .unwrap_or(now)
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// What a watch found in one look: how many new insights match, and the best of them.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchBatch<'a> {
    /// The watch's id.
    pub watch_id: i64,
    /// Its question, as typed.
    pub query: &'a str,
    /// How many new insights match.
    pub total: u64,
    /// The best of them, best first, at most [`MAX_QUOTED`].
    pub best: Vec<&'a Insight>,
    /// The observed day of the oldest match, for the "and N more" question.
    pub since: NaiveDate,
}

/// Each insight as a quote (title, an excerpt, where it came from) with Discuss, Flag and
/// Useful buttons: the body of an alert.
pub fn quotes(best: &[&Insight]) -> Vec<Block> {
    let mut blocks = Vec::with_capacity(best.len() * 2);
    for insight in best {
        let mut text = Text::new()
            .strong(format!("#{} {}", insight.id, insight.data.title))
            .line()
            .quote(crate::rank::snippet(&insight.data.body, &[], 280));
        let mut context = vec![insight.data.source.clone()];
        context.push(insight.data.observed_on.format("%-d %b %Y").to_string());
        if let Some(account) = &insight.data.account {
            context.push(account.clone());
        }
        context.push(format!("severity {}", insight.data.severity.get()));
        text = text.line().and(context.join(" · "));
        let button = |label: &str, action: Action| Button {
            label: label.into(),
            action,
            primary: false,
        };
        blocks.push(Block::Section(Section {
            text,
            fields: Vec::new(),
        }));
        blocks.push(Block::Actions(vec![
            Button {
                primary: true,
                ..button("Discuss", Action::Discuss(insight.id))
            },
            button("Flag for decision", Action::Flag(insight.id)),
            button("Useful", Action::Useful(insight.id)),
        ]));
    }
    blocks
}

/// `3 new insights match refund -"gift card"`, the best quotes with Discuss, Flag and Useful
/// buttons, and, past the quotes, "and 240 more: /insights ask … since:…".
pub fn watch_message(batch: &WatchBatch<'_>) -> Message {
    let noun = if batch.total == 1 {
        "new insight matches"
    } else {
        "new insights match"
    };
    let mut message = Message::new().section(
        Text::new()
            .strong(format!("{} {noun}", batch.total))
            .and(" ")
            .code(batch.query),
    );
    for block in quotes(&batch.best) {
        message = message.push(block);
    }
    let shown = batch.best.len() as u64;
    if batch.total > shown {
        let ask = format!(
            "/insights ask {} since:{}",
            batch.query,
            batch.since.format("%Y-%m-%d")
        );
        message =
            message.context(Text::plain(format!("and {} more: ", batch.total - shown)).code(ask));
    }
    message.context(
        Text::plain(format!("Watch {} · stop it with ", batch.watch_id))
            .code(format!("/insights unwatch {}", batch.watch_id)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_hold_until_they_end_in_the_teams_timezone() {
        let night = QuietHours::parse("22:00-07:00").unwrap();
        let tz: Tz = "Europe/Paris".parse().unwrap();
        // 23:30 in Paris (UTC+1 in winter) waits for 07:00 Paris the next morning.
        assert_eq!(
            night.release(utc("2026-01-14T22:30:00Z"), tz),
            utc("2026-01-15T06:00:00Z")
        );
        // 05:00 Paris waits for 07:00 the same morning.
        assert_eq!(
            night.release(utc("2026-01-15T04:00:00Z"), tz),
            utc("2026-01-15T06:00:00Z")
        );
        // Noon goes at once.
        let noon = utc("2026-01-15T11:00:00Z");
        assert_eq!(night.release(noon, tz), noon);
        // Hours within one day.
        let lunch = QuietHours::parse("12:00-13:30").unwrap();
        assert_eq!(
            lunch.release(utc("2026-01-15T12:10:00Z"), Tz::UTC),
            utc("2026-01-15T13:30:00Z")
        );
        assert_eq!(lunch.to_string(), "12:00-13:30");
        for bad in ["22:00", "25:00-07:00", "07:00-07:00", "late-early"] {
            assert!(QuietHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cadences_schedule_the_next_look() {
        let now = utc("2026-01-15T10:42:13Z");
        assert_eq!(
            Cadence::Now.next_check(now, Tz::UTC),
            utc("2026-01-15T10:43:13Z")
        );
        assert_eq!(
            Cadence::Hourly.next_check(now, Tz::UTC),
            utc("2026-01-15T11:00:00Z")
        );
        let tz: Tz = "America/New_York".parse().unwrap();
        // 05:42 in New York: 09:00 there today.
        assert_eq!(
            Cadence::Daily.next_check(now, tz),
            utc("2026-01-15T14:00:00Z")
        );
        // Past 09:00 there: tomorrow.
        assert_eq!(
            Cadence::Daily.next_check(utc("2026-01-15T15:00:00Z"), tz),
            utc("2026-01-16T14:00:00Z")
        );
        assert_eq!(Cadence::parse("HOURLY"), Some(Cadence::Hourly));
        assert_eq!(Cadence::parse("weekly"), None);
    }
}
