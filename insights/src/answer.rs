//! What Flywheel says back to a question: how many insights match and from how many accounts,
//! which themes and segments they fall in, how the count moved over recent weeks, and the
//! ranked insights themselves. The CLI prints it as JSON; chat adapters render it.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use crate::query::Query;
use crate::rank::{Ranked, explain, explain_related};
use crate::search::{Count, SearchResult};

/// How many weeks the trend covers.
pub const TREND_WEEKS: usize = 8;

/// The answer to a question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The question as asked.
    pub query: String,
    /// How many insights match, in all.
    pub total: u64,
    /// Too few insights matched every word, so the words were relaxed to "any of them"
    /// (see [`Query::relaxed`]).
    pub relaxed: bool,
    /// When relaxed: how many insights match every word (they are among the results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_word: Option<u64>,
    /// How many distinct accounts said it.
    pub accounts: u64,
    /// Themes among the matches, largest first.
    pub themes: Vec<Count>,
    /// Segments among the matches, largest first.
    pub segments: Vec<Count>,
    /// Matches per week, oldest first: the [`TREND_WEEKS`] ISO weeks ending with the week of
    /// the newest match (not of today: imported data may be years old), zero-filled.
    pub trend: Vec<WeekCount>,
    /// The best matches, ranked and explained.
    pub results: Vec<Ranked>,
}

/// Matches in one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WeekCount {
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    /// Matches observed that week.
    pub count: u64,
}

/// Which way the count is moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Clearly more in the recent weeks.
    Rising,
    /// Clearly fewer in the recent weeks.
    Falling,
    /// About the same, or too few to tell.
    Steady,
}

/// The last four weeks of a trend against the four before, for a one-line summary:
/// `rising: 14 in the last 4 weeks, 6 in the 4 before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrendDirection {
    /// Which way.
    pub direction: Direction,
    /// Matches in the last four weeks of the trend.
    pub recent: u64,
    /// Matches in the four weeks before them.
    pub before: u64,
}

impl fmt::Display for TrendDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.direction {
            Direction::Rising => "rising",
            Direction::Falling => "falling",
            Direction::Steady => "steady",
        };
        write!(
            f,
            "{word}: {} in the last 4 weeks, {} in the 4 before",
            self.recent, self.before
        )
    }
}

impl Answer {
    /// Compares the last four weeks of the trend with the four before. A change counts when
    /// it is at least 3 insights and at least a quarter of the larger figure, so that 1 → 2 or
    /// 40 → 44 reads as steady.
    pub fn trend_direction(&self) -> TrendDirection {
        let half = self.trend.len().saturating_sub(4);
        let sum = |weeks: &[WeekCount]| weeks.iter().map(|w| w.count).sum::<u64>();
        let recent = sum(&self.trend[half..]);
        let before = sum(&self.trend[half.saturating_sub(4)..half]);
        let larger = recent.max(before) as f64;
        let change = recent.abs_diff(before) as f64;
        let direction = if change < 3.0_f64.max(larger / 4.0) {
            Direction::Steady
        } else if recent > before {
            Direction::Rising
        } else {
            Direction::Falling
        };
        TrendDirection {
            direction,
            recent,
            before,
        }
    }
}

/// Builds the answer to `query_text` (parsed as `query`, possibly relaxed) from what the store
/// found: its best matches explained, the breakdowns as counted by the store, and the weekly
/// trend. `every_word` is set when the query was relaxed: how many insights match every word
/// of the original.
pub fn answer(
    query_text: &str,
    query: &Query,
    result: SearchResult,
    every_word: Option<u64>,
    today: NaiveDate,
) -> Answer {
    let mut results = explain(query, result.hits, &result.rarity, today);
    explain_related(&mut results, &result.related);
    Answer {
        query: query_text.to_string(),
        total: result.total,
        relaxed: every_word.is_some(),
        every_word,
        accounts: result.accounts,
        trend: weekly_trend(&result.by_day, today),
        themes: result.themes,
        segments: result.segments,
        results,
    }
}

/// The Monday of the ISO week `day` falls in.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(day.weekday().num_days_from_monday().into()))
        .unwrap_or(day)
}

/// Counts per week for the [`TREND_WEEKS`] weeks ending with the newest day in `by_day` (or
/// with today's week when there is none), oldest first.
fn weekly_trend(by_day: &[(NaiveDate, u64)], today: NaiveDate) -> Vec<WeekCount> {
    let newest = by_day.iter().map(|(d, _)| *d).max().unwrap_or(today);
    let last = week_start(newest);
    // Weeks before the calendar's start are left out rather than invented.
    let mut trend: Vec<WeekCount> = (0..TREND_WEEKS as u64)
        .rev()
        .filter_map(|back| last.checked_sub_days(Days::new(7 * back)))
        .map(|week_start| WeekCount {
            week_start,
            count: 0,
        })
        .collect();
    for (day, count) in by_day {
        let monday = week_start(*day);
        if let Some(week) = trend.iter_mut().find(|w| w.week_start == monday) {
            week.count += count;
        }
    }
    trend
}

/// For each week starting on one of `weeks` (Mondays), the sum of the counts of `by_day`
/// falling in it; days outside those weeks are left out.
pub fn week_counts(by_day: &[(NaiveDate, u64)], weeks: &[NaiveDate]) -> Vec<u64> {
    let mut counts = vec![0; weeks.len()];
    for (day, count) in by_day {
        let monday = week_start(*day);
        if let Some(at) = weeks.iter().position(|w| *w == monday) {
            counts[at] += count;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Insight, InsightData, Sentiment, Severity, Visibility};
    use crate::query::parse;
    use chrono::{TimeZone, Utc};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn result(by_day: Vec<(NaiveDate, u64)>) -> SearchResult {
        SearchResult {
            total: by_day.iter().map(|(_, c)| c).sum(),
            hits: vec![],
            themes: vec![],
            segments: vec![],
            by_day,
            accounts: 0,
            theme_accounts: vec![],
            rarity: Default::default(),
            related: Vec::new(),
        }
    }

    fn trend_of(by_day: Vec<(NaiveDate, u64)>) -> Answer {
        answer(
            "q",
            &Query::everything(),
            result(by_day),
            None,
            day(2026, 3, 31),
        )
    }

    #[test]
    fn the_trend_is_eight_weeks_ending_with_the_newest_match() {
        // 2023-08-25 is a Friday; its week starts on Monday 2023-08-21.
        let a = trend_of(vec![
            (day(2023, 6, 1), 5),  // before the window
            (day(2023, 7, 3), 2),  // Monday of the first week
            (day(2023, 7, 9), 1),  // Sunday of the first week
            (day(2023, 8, 21), 4), // Monday of the last week
            (day(2023, 8, 25), 3),
        ]);
        let starts: Vec<NaiveDate> = a.trend.iter().map(|w| w.week_start).collect();
        assert_eq!(starts.len(), TREND_WEEKS);
        assert_eq!(starts[0], day(2023, 7, 3));
        assert_eq!(starts[7], day(2023, 8, 21));
        assert!(starts.iter().all(|d| d.weekday() == chrono::Weekday::Mon));
        let counts: Vec<u64> = a.trend.iter().map(|w| w.count).collect();
        assert_eq!(counts, [3, 0, 0, 0, 0, 0, 0, 7]);
    }

    #[test]
    fn with_no_matches_the_trend_is_zeros_up_to_this_week() {
        let a = trend_of(vec![]);
        assert_eq!(a.trend.len(), TREND_WEEKS);
        assert_eq!(a.trend[7].week_start, day(2026, 3, 30));
        assert!(a.trend.iter().all(|w| w.count == 0));
        assert_eq!(a.trend_direction().direction, Direction::Steady);
    }

    #[test]
    fn the_trend_survives_the_edge_of_the_calendar() {
        let a = trend_of(vec![(NaiveDate::MIN, 1)]);
        assert!(a.trend.len() <= TREND_WEEKS);
        let a = trend_of(vec![(NaiveDate::MAX, 1)]);
        assert_eq!(a.trend.len(), TREND_WEEKS);
    }

    fn direction(before: [u64; 4], recent: [u64; 4]) -> TrendDirection {
        let monday = day(2026, 1, 5);
        let by_day = before
            .iter()
            .chain(&recent)
            .enumerate()
            .map(|(i, c)| (monday + Days::new(7 * i as u64), *c))
            .collect();
        trend_of(by_day).trend_direction()
    }

    #[test]
    fn trend_direction_compares_the_last_four_weeks_with_the_four_before() {
        let rising = direction([1, 2, 1, 2], [3, 4, 3, 4]);
        assert_eq!(rising.direction, Direction::Rising);
        assert_eq!((rising.recent, rising.before), (14, 6));
        assert_eq!(
            rising.to_string(),
            "rising: 14 in the last 4 weeks, 6 in the 4 before"
        );
        assert_eq!(
            direction([5, 5, 5, 5], [1, 0, 1, 0]).direction,
            Direction::Falling
        );
        assert_eq!(
            direction([10, 10, 10, 10], [11, 11, 11, 11]).direction,
            Direction::Steady
        );
        assert_eq!(
            direction([0, 0, 0, 1], [0, 1, 0, 1]).direction,
            Direction::Steady
        );
        assert_eq!(
            direction([0, 0, 0, 0], [0, 0, 3, 0]).direction,
            Direction::Rising
        );
    }

    #[test]
    fn answers_keep_the_store_counts_and_limit_the_results() {
        let insight = |id: i64| Insight {
            id,
            data: InsightData {
                source: "test".into(),
                source_ref: id.to_string(),
                title: format!("Refund {id}"),
                body: String::new(),
                observed_on: day(2026, 3, 1),
                tags: vec![],
                segment: None,
                stage: None,
                kind: None,
                sentiment: Sentiment::Neutral,
                severity: Severity::DEFAULT,
                account: None,
                url: None,
                visibility: Visibility::All,
            },
            themes: vec![],
            added_at: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        };
        let result = SearchResult {
            total: 40,
            hits: (3..=5)
                .rev()
                .map(|id| crate::search::Hit {
                    insight: insight(id),
                    score: id as f64,
                    reach: None,
                })
                .collect(),
            themes: vec![Count {
                name: "Billing".into(),
                count: 30,
            }],
            segments: vec![],
            by_day: vec![(day(2026, 3, 1), 40)],
            accounts: 12,
            theme_accounts: vec![],
            rarity: Default::default(),
            related: Vec::new(),
        };
        let query = parse("refund").unwrap();
        let a = answer("refund", &query, result, None, day(2026, 3, 31));
        assert_eq!(a.results.len(), 3);
        assert_eq!((a.total, a.accounts), (40, 12));
        assert_eq!(a.themes[0].count, 30);
        assert_eq!(a.trend.iter().map(|w| w.count).sum::<u64>(), 40);
        let ids: Vec<i64> = a.results.iter().map(|r| r.insight.id).collect();
        assert_eq!(ids, [5, 4, 3], "in the engine's order");

        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["trend"].as_array().unwrap().len(), TREND_WEEKS);
        assert_eq!(json["trend"][7]["week_start"], "2026-02-23");
        assert_eq!(
            json["results"][0]["id"], 5,
            "the insight is flattened into its result"
        );
        assert_eq!(json["results"][0]["reasons"][0]["reason"], "matched");
        let none = answer(
            "refund",
            &query,
            result_with_nothing(),
            None,
            day(2026, 3, 31),
        );
        assert!(none.results.is_empty());
    }

    fn result_with_nothing() -> SearchResult {
        result(vec![])
    }
}
