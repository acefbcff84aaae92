//! Spikes: when a theme's daily volume jumps far above its own normal.
//!
//! A day's count is compared with a baseline built from the days before it: the larger of the
//! median of the last [`SpikeRule::baseline_days`] days and the median of the same weekday over
//! the last four weeks, so that a theme that always peaks on Mondays does not alert every
//! Monday. A day spikes when its count is at least [`SpikeRule::ratio`] times the baseline and
//! at least [`SpikeRule::min_count`]. A slow rise moves the baseline with it and never gets
//! there.
//!
//! Once a theme has alerted it stays raised, and does not alert again, until it settles: a day
//! whose count is back under [`SpikeRule::settle_ratio`] times its baseline. [`step`] advances
//! that state one day at a time; it is pure, so the service persists the state and replays
//! nothing (tests feed synthetic series day by day).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// When a day counts as a spike, and when a raised theme has settled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpikeRule {
    /// At least this many times the baseline.
    pub ratio: f64,
    /// And at least this many insights that day.
    pub min_count: u64,
    /// How many days before the day make the baseline.
    pub baseline_days: u32,
    /// A raised theme settles on a day under this many times its baseline.
    pub settle_ratio: f64,
}

impl Default for SpikeRule {
    /// Three times the 28-day median and at least five insights; settled under 1.5 times.
    fn default() -> SpikeRule {
        SpikeRule {
            ratio: 3.0,
            min_count: 5,
            baseline_days: 28,
            settle_ratio: 1.5,
        }
    }
}

/// Daily counts over consecutive days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySeries {
    /// The day of `counts[0]`.
    pub first: NaiveDate,
    /// One count per day from `first`.
    pub counts: Vec<u64>,
}

impl DailySeries {
    /// A series from `(day, count)` pairs in any order, zero-filled from `first` to `last`
    /// (both included); pairs outside are ignored, pairs on the same day add up.
    pub fn from_days(first: NaiveDate, last: NaiveDate, days: &[(NaiveDate, u64)]) -> DailySeries {
        let len = (last - first).num_days().max(-1) + 1;
        let mut counts = vec![0; len.max(0) as usize];
        for (day, count) in days {
            if let Some(slot) = usize::try_from((*day - first).num_days())
                .ok()
                .and_then(|i| counts.get_mut(i))
            {
                *slot += count;
            }
        }
        DailySeries { first, counts }
    }

    /// The count on `day`: 0 outside the series.
    pub fn on(&self, day: NaiveDate) -> u64 {
        usize::try_from((day - self.first).num_days())
            .ok()
            .and_then(|i| self.counts.get(i).copied())
            .unwrap_or(0)
    }

    /// The last day of the series, if it has any.
    pub fn last(&self) -> Option<NaiveDate> {
        let len = self.counts.len() as u64;
        (len > 0).then(|| self.first + Days::new(len - 1))
    }
}

fn median(mut values: Vec<u64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid] as f64
    } else {
        (values[mid - 1] + values[mid]) as f64 / 2.0
    }
}

/// The normal volume of `day`: the larger of the median of the `rule.baseline_days` days before
/// it and the median of the same weekday in the four weeks before it. Never below 1, so that a
/// theme that was silent needs [`SpikeRule::min_count`] and the ratio of one to spike.
pub fn baseline(series: &DailySeries, day: NaiveDate, rule: &SpikeRule) -> f64 {
    let before: Vec<u64> = (1..=u64::from(rule.baseline_days))
        .filter_map(|back| day.checked_sub_days(Days::new(back)))
        .map(|d| series.on(d))
        .collect();
    let same_weekday: Vec<u64> = (1..=4_u64)
        .filter_map(|weeks| day.checked_sub_days(Days::new(7 * weeks)))
        .map(|d| series.on(d))
        .collect();
    median(before).max(median(same_weekday)).max(1.0)
}

/// A theme's spike, as an alert tells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    /// The day that spiked.
    pub day: NaiveDate,
    /// Insights that day.
    pub count: u64,
    /// The normal volume for that day ([`baseline`]).
    pub baseline: f64,
    /// `count / baseline`.
    pub ratio: f64,
    /// The first day of the current run above the settle threshold: "since when".
    pub since: NaiveDate,
}

impl Spike {
    /// `5.2× its usual volume (25 on 10 Feb, usually 5 a day), rising since 9 Feb 2026`.
    pub fn summary(&self) -> String {
        let times = format!("{:.1}", self.ratio);
        let usual = format!("{:.0}", self.baseline);
        format!(
            "{}× its usual volume ({} on {}, usually {} a day), rising since {}",
            times.trim_end_matches(".0"),
            self.count,
            self.day.format("%-d %b"),
            usual,
            self.since.format("%-d %b %Y")
        )
    }
}

/// Where a theme stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpikeState {
    /// Normal: a spike would alert.
    Quiet,
    /// Alerted on `alerted_on`; no new alert until it settles.
    Raised {
        /// The day of the alert.
        alerted_on: NaiveDate,
    },
}

/// What happened on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Stepped {
    /// The state after the day.
    pub state: SpikeState,
    /// A spike to alert about, at most once per raised period.
    pub alert: Option<Spike>,
}

/// Whether `day` spikes, with its figures; `None` when it does not.
pub fn spike_on(series: &DailySeries, day: NaiveDate, rule: &SpikeRule) -> Option<Spike> {
    let count = series.on(day);
    let normal = baseline(series, day, rule);
    if count < rule.min_count || (count as f64) < rule.ratio * normal {
        return None;
    }
    // Back to the first day of this run above the settle threshold.
    let mut since = day;
    while let Some(before) = since.pred_opt()
        && before >= series.first
        && series.on(before) > 0
        && series.on(before) as f64 >= rule.settle_ratio * baseline(series, before, rule)
    {
        since = before;
    }
    Some(Spike {
        day,
        count,
        baseline: normal,
        ratio: count as f64 / normal,
        since,
    })
}

/// Advances a theme's state over `day`: a quiet theme that spikes raises one alert; a raised
/// theme stays raised, silently, until a day under the settle threshold.
pub fn step(state: SpikeState, series: &DailySeries, day: NaiveDate, rule: &SpikeRule) -> Stepped {
    match state {
        SpikeState::Quiet => match spike_on(series, day, rule) {
            Some(spike) => Stepped {
                state: SpikeState::Raised { alerted_on: day },
                alert: Some(spike),
            },
            None => Stepped { state, alert: None },
        },
        SpikeState::Raised { .. } => {
            let settled = (series.on(day) as f64) < rule.settle_ratio * baseline(series, day, rule);
            Stepped {
                state: if settled { SpikeState::Quiet } else { state },
                alert: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u64) -> NaiveDate {
        // 2026-01-05 is a Monday.
        NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + Days::new(n)
    }

    fn series(counts: Vec<u64>) -> DailySeries {
        DailySeries {
            first: day(0),
            counts,
        }
    }

    /// Every alert raised walking the series day by day from `from`.
    fn alerts(s: &DailySeries, from: u64, rule: &SpikeRule) -> Vec<Spike> {
        let mut state = SpikeState::Quiet;
        let mut out = Vec::new();
        for n in from..s.counts.len() as u64 {
            let stepped = step(state, s, day(n), rule);
            state = stepped.state;
            out.extend(stepped.alert);
        }
        out
    }

    #[test]
    fn a_spike_alerts_once_and_says_since_when() {
        let mut counts = [4, 5, 3, 4, 6, 4, 5].repeat(5);
        // A day above normal, two far above, then back to normal.
        counts.extend([9, 25, 22, 5, 4, 4, 5]);
        let s = series(counts);
        let found = alerts(&s, 28, &SpikeRule::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let spike = &found[0];
        assert_eq!(spike.day, day(36));
        assert_eq!(spike.since, day(35), "the run started the day before");
        assert_eq!(spike.count, 25);
        assert!(spike.ratio >= 5.0 && spike.ratio <= 6.5, "{}", spike.ratio);
        assert!(spike.summary().starts_with("5"), "{}", spike.summary());
    }

    #[test]
    fn a_slow_rise_does_not_alert() {
        // From 4 a day to 40 a day over two months: ten times the volume, never a spike.
        let counts: Vec<u64> = (0..63).map(|n| 4 + n * 36 / 62).collect();
        assert!(alerts(&series(counts), 28, &SpikeRule::default()).is_empty());
    }

    #[test]
    fn a_weekly_pattern_does_not_alert() {
        // Mondays bring five times the usual volume, every week.
        let week = [30, 6, 5, 6, 5, 3, 2];
        let s = series(week.repeat(9));
        assert!(alerts(&s, 28, &SpikeRule::default()).is_empty());
        // A Monday twice as busy as other Mondays is still not three times normal; a
        // Wednesday at Monday's level is.
        let mut counts = week.repeat(8);
        counts.extend([60, 6, 31, 6, 5, 3, 2]);
        let found = alerts(&series(counts), 28, &SpikeRule::default());
        assert_eq!(found.iter().map(|s| s.day).collect::<Vec<_>>(), [day(58)]);
    }

    #[test]
    fn a_raised_theme_alerts_again_only_after_it_settles() {
        let mut counts = vec![4; 28];
        counts.extend([20, 18, 19, 4, 4, 21]);
        let found = alerts(&series(counts), 28, &SpikeRule::default());
        assert_eq!(
            found.iter().map(|s| s.day).collect::<Vec<_>>(),
            [day(28), day(33)]
        );
    }

    #[test]
    fn small_numbers_never_spike() {
        // Zero to four is "four times" a silent theme but under the minimum count.
        let mut counts = vec![0; 28];
        counts.push(4);
        assert!(alerts(&series(counts.clone()), 28, &SpikeRule::default()).is_empty());
        counts.push(5);
        assert_eq!(alerts(&series(counts), 28, &SpikeRule::default()).len(), 1);
    }

    #[test]
    fn thresholds_are_configurable() {
        let mut counts = vec![10; 28];
        counts.push(25);
        let s = series(counts);
        assert!(alerts(&s, 28, &SpikeRule::default()).is_empty());
        let touchy = SpikeRule {
            ratio: 2.0,
            ..SpikeRule::default()
        };
        assert_eq!(alerts(&s, 28, &touchy).len(), 1);
    }

    #[test]
    fn series_are_zero_filled_and_read_outside_as_zero() {
        let s = DailySeries::from_days(
            day(0),
            day(4),
            &[(day(1), 2), (day(1), 3), (day(4), 1), (day(9), 7)],
        );
        assert_eq!(s.counts, [0, 5, 0, 0, 1]);
        assert_eq!(s.on(day(20)), 0);
        assert_eq!(s.last(), Some(day(4)));
        assert_eq!(
            DailySeries::from_days(day(3), day(1), &[]).counts,
            Vec::<u64>::new()
        );
    }
}
