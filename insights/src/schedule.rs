//! When a team's digest is due: a 5-field Unix cron expression read in the team's own timezone,
//! exact across daylight-saving changes.
//!
//! Accepted forms (every one of these is checked by a test):
//!
//! | expression | fires |
//! |---|---|
//! | `0 9 * * MON` | Mondays at 09:00 |
//! | `30 8 * * 1-5` | weekdays at 08:30 |
//! | `0 9 * * MON-FRI` | weekdays at 09:00 |
//! | `0 9 * * MON,WED,FRI` | three times a week |
//! | `0 16 * * 0` / `0 16 * * 7` / `0 16 * * SUN` | Sundays at 16:00 |
//! | `*/15 9-17 * * 1-5` | every quarter hour in office hours |
//! | `0 9 1 * *` | the first of each month |
//! | `0 9 1 JAN,APR,JUL,OCT *` | quarterly |
//! | `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly` | the usual shortcuts (`@weekly` is Sunday 00:00) |
//!
//! Fields are minute, hour, day of month, month and day of week, with lists (`1,15`), ranges
//! (`1-5`), steps (`*/15`, `0-30/10`, `5/15` meaning `5-59/15`) and English names for months
//! and days. Day of week runs 0–7 with Sunday as both 0 and 7. As in Vixie cron, when both day
//! fields are restricted (neither starts with `*`), a day matches if *either* matches:
//! `0 9 13 * FRI` fires on every 13th and every Friday.
//!
//! The `cron` crate does the calendar search, but it wants a seconds field and numbers Sunday
//! as 1, so expressions are parsed here into sets and handed over as explicit lists with day
//! names: the two numberings can never meet.
//!
//! Times are found on the local wall clock first and only then placed on the timeline, so a
//! 09:00 schedule stays at 09:00 local all year. A wall-clock time that happens twice (clocks
//! going back) fires once, at the earlier instant; one that does not exist (clocks going
//! forward) fires at the first instant after the gap (02:30 becomes 03:00). Fire times are
//! strictly increasing. The calendar ends in 2100, the `cron` crate's horizon.

use std::collections::BTreeSet;
use std::fmt;
use std::iter::Peekable;
use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::nearest;

/// A parsed team schedule. Compares and prints as the text it was parsed from.
#[derive(Clone)]
pub struct Schedule {
    text: String,
    /// One search, or two whose union is the schedule when both day fields are restricted.
    /// They run in UTC as a stand-in for the naive local wall clock, which has no gaps.
    calendars: Vec<cron::Schedule>,
}

/// A cron expression that could not be read. Displays as
/// `"0 9 * * MONDAY" is not a cron expression: day-of-week "MONDAY" is not a day …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a cron expression: {problem}")]
pub struct ScheduleError {
    /// The expression as given.
    pub input: String,
    /// What is wrong with it.
    pub problem: ScheduleProblem,
}

/// The five fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    /// Minute, 0–59.
    Minute,
    /// Hour, 0–23.
    Hour,
    /// Day of the month, 1–31.
    DayOfMonth,
    /// Month, 1–12 or JAN–DEC.
    Month,
    /// Day of the week, 0–7 (Sunday is 0 and 7) or SUN–SAT.
    DayOfWeek,
}

impl CronField {
    const ALL: [CronField; 5] = [
        CronField::Minute,
        CronField::Hour,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
    ];

    fn range(self) -> (u32, u32) {
        match self {
            CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
        }
    }

    /// Names accepted for values, index 0 being the lowest value of the range.
    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &MONTHS,
            CronField::DayOfWeek => &DAYS,
            _ => &[],
        }
    }

    fn what(self) -> &'static str {
        match self {
            CronField::Minute => "a minute",
            CronField::Hour => "an hour",
            CronField::DayOfMonth => "a day of the month",
            CronField::Month => "a month",
            CronField::DayOfWeek => "a day",
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            CronField::Minute => "0-59",
            CronField::Hour => "0-23",
            CronField::DayOfMonth => "1-31",
            CronField::Month => "1-12 or JAN-DEC",
            CronField::DayOfWeek => "0-7 (Sunday is 0 or 7) or SUN-SAT",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        })
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FULL_MONTHS: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];
const FULL_DAYS: [&str; 7] = [
    "SUNDAY",
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
];

const FIVE_FIELDS: &str =
    "write five fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\"";

/// What is wrong with a cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleProblem {
    /// Nothing was given.
    #[error("it is empty; {FIVE_FIELDS}")]
    Empty,
    /// Neither five fields nor the six or seven of the seconds-first form.
    #[error("it has {found} field{}; {FIVE_FIELDS}", if *.found == 1 { "" } else { "s" })]
    FieldCount {
        /// How many whitespace-separated fields there were.
        found: usize,
    },
    /// The seconds-first (and optional year) form used by Quartz and the `cron` crate.
    #[error(
        "it has {found} fields, but schedules use the 5-field Unix form without seconds or years; {FIVE_FIELDS}"
    )]
    WithSeconds {
        /// How many fields there were (6 or 7).
        found: usize,
    },
    /// `@something` that is not a known shortcut.
    #[error(
        "unknown shortcut {name:?}{}; the shortcuts are @hourly, @daily, @weekly, @monthly and @yearly",
        suggestion_text(.suggestion)
    )]
    UnknownShortcut {
        /// The shortcut as given.
        name: String,
        /// The closest known shortcut, if it looks like a typo of one.
        suggestion: Option<String>,
    },
    /// `@reboot`, which has no time of its own.
    #[error("@reboot has no time to post a digest at; {FIVE_FIELDS}")]
    Reboot,
    /// A value that is neither a number nor a name the field accepts.
    #[error("{field} {token:?} is not {}: use {}{}", .field.what(), .field.allowed(), suggestion_text(.suggestion))]
    BadValue {
        /// Which field.
        field: CronField,
        /// The offending value.
        token: String,
        /// A likely intended spelling.
        suggestion: Option<String>,
    },
    /// A number outside the field's range.
    #[error("{field} {token:?} is out of range: use {}", .field.allowed())]
    OutOfRange {
        /// Which field.
        field: CronField,
        /// The offending number.
        token: String,
    },
    /// A step that is not a positive whole number within the field's range.
    #[error("{field} {token:?} has a bad step: after / put a whole number from 1 to {max}")]
    BadStep {
        /// Which field.
        field: CronField,
        /// The offending item.
        token: String,
        /// The largest useful step.
        max: u32,
    },
    /// `5-1`: ranges do not wrap around.
    #[error(
        "{field} range {token:?} runs backwards; ranges do not wrap around (write {suggestion:?})"
    )]
    Backwards {
        /// Which field.
        field: CronField,
        /// The offending range.
        token: String,
        /// The same days or hours written as two ranges.
        suggestion: String,
    },
    /// `1,,2` or a trailing comma.
    #[error("{field} {token:?} has an empty item in its list")]
    EmptyItem {
        /// Which field.
        field: CronField,
        /// The whole field.
        token: String,
    },
    /// Every date the expression names is impossible (`30 2`: February 30th).
    #[error("it never fires: no month in {months:?} has a day in {days:?}")]
    NeverFires {
        /// The month field.
        months: String,
        /// The day-of-month field.
        days: String,
    },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

/// The parsed values of one field, and whether it was written starting with `*` (which, for the
/// two day fields, decides between "both must match" and "either matches").
struct FieldValues {
    values: BTreeSet<u32>,
    starred: bool,
}

fn parse_field(field: CronField, text: &str) -> Result<FieldValues, ScheduleProblem> {
    let (min, max) = field.range();
    let mut values = BTreeSet::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(ScheduleProblem::EmptyItem {
                field,
                token: text.to_string(),
            });
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let bad_step = || ScheduleProblem::BadStep {
                    field,
                    token: item.to_string(),
                    max: max - min + 1,
                };
                let step: u32 = parse_number(step).ok_or_else(bad_step)?;
                if step == 0 || step > max - min + 1 {
                    return Err(bad_step());
                }
                (range, Some(step))
            }
            None => (item, None),
        };
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            if a.is_empty() || b.is_empty() {
                return Err(ScheduleProblem::BadValue {
                    field,
                    token: range.to_string(),
                    suggestion: None,
                });
            }
            let (from, to) = (parse_value(field, a)?, parse_value(field, b)?);
            if from > to {
                return Err(ScheduleProblem::Backwards {
                    field,
                    token: range.to_string(),
                    suggestion: wrapped_ranges(field, a, b),
                });
            }
            (from, to)
        } else {
            let value = parse_value(field, range)?;
            // `5/15` is read as `5-59/15`, as cronie does.
            (value, if step.is_some() { max } else { value })
        };
        let step = step.unwrap_or(1) as usize;
        values.extend((from..=to).step_by(step));
    }
    if field == CronField::DayOfWeek && values.remove(&7) {
        values.insert(0);
    }
    Ok(FieldValues {
        values,
        starred: text.starts_with('*'),
    })
}

/// A backwards range `a-b` rewritten as `a-LAST,FIRST-b`, in the same spelling (names or numbers).
fn wrapped_ranges(field: CronField, a: &str, b: &str) -> String {
    let (min, max) = field.range();
    let max = if field == CronField::DayOfWeek {
        6
    } else {
        max
    };
    let names = field.names();
    let spell = |v: u32| {
        if !names.is_empty() && a.parse::<u32>().is_err() {
            names[(v - min) as usize].to_string()
        } else {
            v.to_string()
        }
    };
    format!("{a}-{},{}-{b}", spell(max), spell(min))
}

fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_value(field: CronField, token: &str) -> Result<u32, ScheduleProblem> {
    let (min, max) = field.range();
    if !token.is_empty() && token.chars().all(|c| c.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(ScheduleProblem::OutOfRange {
                field,
                token: token.to_string(),
            }),
        };
    }
    let names = field.names();
    let upper = token.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Ok(min + i as u32);
    }
    Err(ScheduleProblem::BadValue {
        field,
        token: token.to_string(),
        suggestion: suggest_value(field, &upper),
    })
}

/// A likely meaning for a value the field does not accept: the short name for a full one
/// (`MONDAY` → `MON`), a near miss (`TUS` → `TUE`), `*` for Quartz's `?`.
fn suggest_value(field: CronField, upper: &str) -> Option<String> {
    if upper == "?" {
        return Some("*".to_string());
    }
    let full: &[&str] = match field {
        CronField::Month => &FULL_MONTHS,
        CronField::DayOfWeek => &FULL_DAYS,
        _ => return None,
    };
    if upper.len() >= 3
        && let Some(i) = full.iter().position(|name| name.starts_with(upper))
    {
        return Some(field.names()[i].to_string());
    }
    nearest(upper, field.names().iter().copied()).map(|s| s.to_string())
}

fn days_in_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Renders a set for the `cron` crate: `*` when complete, else an explicit list.
fn list(field: CronField, values: &BTreeSet<u32>) -> String {
    let (min, max) = field.range();
    let max = if field == CronField::DayOfWeek {
        6
    } else {
        max
    };
    if values.len() == (max - min + 1) as usize {
        return "*".to_string();
    }
    let items: Vec<String> = values
        .iter()
        .map(|&v| match field {
            CronField::DayOfWeek => DAYS[v as usize].to_string(),
            _ => v.to_string(),
        })
        .collect();
    items.join(",")
}

fn shortcut(name: &str) -> Result<&'static str, ScheduleProblem> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "@hourly" => "0 * * * *",
        "@daily" | "@midnight" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@reboot" => return Err(ScheduleProblem::Reboot),
        _ => {
            let known = ["@hourly", "@daily", "@weekly", "@monthly", "@yearly"];
            return Err(ScheduleProblem::UnknownShortcut {
                name: name.to_string(),
                suggestion: nearest(name, known).map(str::to_string),
            });
        }
    })
}

fn calendars(expression: &str) -> Result<Vec<cron::Schedule>, ScheduleProblem> {
    let expression = if expression.starts_with('@') {
        shortcut(expression)?
    } else {
        expression
    };
    let texts: Vec<&str> = expression.split_whitespace().collect();
    match texts.len() {
        0 => return Err(ScheduleProblem::Empty),
        5 => {}
        found @ (6 | 7) => return Err(ScheduleProblem::WithSeconds { found }),
        found => return Err(ScheduleProblem::FieldCount { found }),
    }
    let mut fields = Vec::with_capacity(5);
    for (field, text) in CronField::ALL.into_iter().zip(&texts) {
        fields.push(parse_field(field, text)?);
    }
    let [minutes, hours, days, months, weekdays] = <[FieldValues; 5]>::try_from(fields)
        .unwrap_or_else(|_| unreachable!("five fields were parsed"));
    let either_day = !days.starred && !weekdays.starred;
    if !either_day {
        let shortest = days.values.first().copied().unwrap_or(1);
        if !months.values.iter().any(|&m| shortest <= days_in_month(m)) {
            return Err(ScheduleProblem::NeverFires {
                months: texts[3].to_string(),
                days: texts[2].to_string(),
            });
        }
    }
    let render = |days: &str, weekdays: &str| {
        format!(
            "0 {} {} {days} {} {weekdays}",
            list(CronField::Minute, &minutes.values),
            list(CronField::Hour, &hours.values),
            list(CronField::Month, &months.values),
        )
    };
    let days_list = list(CronField::DayOfMonth, &days.values);
    let weekdays_list = list(CronField::DayOfWeek, &weekdays.values);
    let texts = if either_day {
        vec![render(&days_list, "*"), render("*", &weekdays_list)]
    } else {
        vec![render(&days_list, &weekdays_list)]
    };
    Ok(texts
        .iter()
        .map(|text| {
            // Every field was checked above and rendered in a form the crate documents, so a
            // refusal here is a bug in the translation, not in the user's input.
            cron::Schedule::from_str(text)
                .unwrap_or_else(|e| panic!("translated cron {text:?} was refused: {e}"))
        })
        .collect())
}

/// How far back [`Schedule::latest_at_or_before`] looks, growing until a fire is found: an hour
/// for frequent schedules, up to eight years for February 29th (2096 to 2104).
const LOOKBACK: [TimeDelta; 6] = [
    TimeDelta::hours(1),
    TimeDelta::hours(25),
    TimeDelta::days(8),
    TimeDelta::days(32),
    TimeDelta::days(367),
    TimeDelta::days(8 * 366 + 1),
];

impl Schedule {
    /// Parses a 5-field cron expression or a shortcut such as `@weekly`.
    pub fn parse(input: &str) -> Result<Schedule, ScheduleError> {
        let text = input.trim();
        let calendars = calendars(text).map_err(|problem| ScheduleError {
            input: text.to_string(),
            problem,
        })?;
        Ok(Schedule {
            text: text.to_string(),
            calendars,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every fire time strictly after `after`, in increasing order, for a team in `tz`.
    pub fn fires_after(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + use<> {
        // Wall-clock times up to `after`'s own cannot land after it: each resolves to the
        // earliest instant the clock shows that time or later, which is at or before `after`.
        // Past the calendar's end there is nothing to find, and local time may not be representable.
        let times = (after.year() <= 2100)
            .then(|| self.local_times(after.with_timezone(&tz).naive_local()));
        let mut last = after;
        times.into_iter().flatten().filter_map(move |local| {
            let fire = resolve(tz, local)?;
            // Several wall-clock times inside a gap resolve to the same instant: fire once.
            (fire > last).then(|| {
                last = fire;
                fire
            })
        })
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.fires_after(tz, after).next()
    }

    /// The latest fire time at or before `at`, if there is one since 1970.
    pub fn latest_at_or_before(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        for window in LOOKBACK {
            let Some(from) = at.checked_sub_signed(window) else {
                continue;
            };
            let found = self.fires_after(tz, from).take_while(|&t| t <= at).last();
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// The fire time before `fire` (strictly), e.g. to find the period a digest covers.
    pub fn previous_before(&self, tz: Tz, fire: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.latest_at_or_before(tz, fire.checked_sub_signed(TimeDelta::nanoseconds(1))?)
    }

    /// Wall-clock times strictly after `after`, increasing, each once.
    fn local_times(&self, after: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> + use<> {
        let mut heads: Vec<Peekable<cron::OwnedScheduleIterator<Utc>>> = self
            .calendars
            .iter()
            .map(|c| c.after_owned(after.and_utc()).peekable())
            .collect();
        std::iter::from_fn(move || {
            let next = heads.iter_mut().filter_map(|h| h.peek().copied()).min()?;
            for head in &mut heads {
                if head.peek() == Some(&next) {
                    head.next();
                }
            }
            Some(next.naive_utc())
        })
    }
}

/// The earliest instant at which the clock in `tz` shows `local` or later: the instant itself,
/// the first of two when the time repeats, the end of the gap when it is skipped.
fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, local),
    }
}

/// Binary search for the first second whose wall-clock time is at or past `local`. UTC offsets
/// stay within ±14 hours, so 27 hours either side brackets it.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let wall =
        |secs: i64| DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&tz).naive_local());
    let base = local.and_utc().timestamp();
    let (mut before, mut after) = (base - 27 * 3600, base + 27 * 3600);
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        if wall(mid)? >= local {
            after = mid;
        } else {
            before = mid;
        }
    }
    DateTime::from_timestamp(after, 0)
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The translated calendars are an implementation detail and very long when printed.
        f.debug_tuple("Schedule").field(&self.text).finish()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Schedule {}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Schedule::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Timelike, Weekday};
    use chrono_tz::America::New_York;
    use chrono_tz::Australia::Sydney;
    use chrono_tz::Europe::Berlin;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
            .and_utc()
    }

    fn schedule(text: &str) -> Schedule {
        Schedule::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fires(text: &str, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        schedule(text).fires_after(tz, after).take(n).collect()
    }

    fn problem(text: &str) -> String {
        Schedule::parse(text).unwrap_err().to_string()
    }

    /// The examples in this module's documentation and in the configuration docs.
    const DOCUMENTED: [&str; 15] = [
        "0 9 * * MON",
        "30 8 * * 1-5",
        "0 9 * * MON-FRI",
        "0 9 * * MON,WED,FRI",
        "0 16 * * 0",
        "0 16 * * 7",
        "0 16 * * SUN",
        "*/15 9-17 * * 1-5",
        "0 9 1 * *",
        "0 9 1 JAN,APR,JUL,OCT *",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@yearly",
    ];

    #[test]
    fn every_documented_example_parses_and_fires() {
        let start = utc(2026, 1, 1, 0, 0);
        for text in DOCUMENTED {
            let s = schedule(text);
            assert_eq!(s.to_string(), text);
            assert!(s.next_after(Tz::UTC, start).is_some(), "{text} never fires");
        }
    }

    #[test]
    fn monday_nine_stays_nine_across_dst_in_berlin() {
        // Clocks go forward on Sunday 2026-03-29 and back on Sunday 2026-10-25.
        assert_eq!(
            fires("0 9 * * MON", Berlin, utc(2026, 3, 20, 0, 0), 2),
            [utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0)]
        );
        assert_eq!(
            fires("0 9 * * MON", Berlin, utc(2026, 10, 15, 0, 0), 2),
            [utc(2026, 10, 19, 7, 0), utc(2026, 10, 26, 8, 0)]
        );
    }

    #[test]
    fn monday_nine_stays_nine_across_dst_in_new_york() {
        // Forward on 2026-03-08, back on 2026-11-01.
        assert_eq!(
            fires("0 9 * * MON", New_York, utc(2026, 3, 1, 0, 0), 2),
            [utc(2026, 3, 2, 14, 0), utc(2026, 3, 9, 13, 0)]
        );
        assert_eq!(
            fires("0 9 * * 1", New_York, utc(2026, 10, 25, 0, 0), 2),
            [utc(2026, 10, 26, 13, 0), utc(2026, 11, 2, 14, 0)]
        );
    }

    #[test]
    fn monday_nine_stays_nine_across_dst_in_sydney() {
        // Southern hemisphere: back on 2026-04-05, forward on 2026-10-04.
        assert_eq!(
            fires("0 9 * * MON", Sydney, utc(2026, 3, 25, 0, 0), 2),
            [utc(2026, 3, 29, 22, 0), utc(2026, 4, 5, 23, 0)]
        );
        assert_eq!(
            fires("0 9 * * MON", Sydney, utc(2026, 9, 25, 0, 0), 2),
            [utc(2026, 9, 27, 23, 0), utc(2026, 10, 4, 22, 0)]
        );
        for t in schedule("0 9 * * MON")
            .fires_after(Sydney, utc(2026, 1, 1, 0, 0))
            .take(60)
        {
            let local = t.with_timezone(&Sydney);
            assert_eq!(
                (local.weekday(), local.hour(), local.minute()),
                (Weekday::Mon, 9, 0)
            );
        }
    }

    #[test]
    fn a_skipped_time_fires_once_at_the_end_of_the_gap() {
        // 02:30 does not exist in Berlin on 2026-03-29: it fires at 03:00 CEST (01:00 UTC).
        assert_eq!(
            fires("30 2 * * *", Berlin, utc(2026, 3, 28, 0, 0), 3),
            [
                utc(2026, 3, 28, 1, 30),
                utc(2026, 3, 29, 1, 0),
                utc(2026, 3, 30, 0, 30)
            ]
        );
        // 02:30 does not exist in New York on 2026-03-08: 03:00 EDT is 07:00 UTC.
        assert_eq!(
            fires("30 2 * * *", New_York, utc(2026, 3, 7, 12, 0), 2),
            [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]
        );
    }

    #[test]
    fn a_repeated_time_fires_once_at_the_earlier_instant() {
        // 02:30 happens twice in Berlin on 2026-10-25 (00:30 and 01:30 UTC).
        assert_eq!(
            fires("30 2 * * *", Berlin, utc(2026, 10, 24, 0, 0), 3),
            [
                utc(2026, 10, 24, 0, 30),
                utc(2026, 10, 25, 0, 30),
                utc(2026, 10, 26, 1, 30)
            ]
        );
        // 01:30 happens twice in New York on 2026-11-01 (05:30 and 06:30 UTC).
        assert_eq!(
            fires("30 1 * * *", New_York, utc(2026, 10, 31, 12, 0), 2),
            [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
        );
        // Asking from between the two 01:30s must not fire the second one.
        assert_eq!(
            fires("30 1 * * *", New_York, utc(2026, 11, 1, 6, 0), 1),
            [utc(2026, 11, 2, 6, 30)]
        );
    }

    #[test]
    fn frequent_schedules_stay_strictly_increasing_across_both_changes() {
        let gap = fires("*/15 * * * *", Berlin, utc(2026, 3, 29, 0, 30), 4);
        // 01:45 CET, then 02:00-02:45 (skipped) and 03:00 all land on 01:00 UTC, once.
        assert_eq!(
            gap,
            [
                utc(2026, 3, 29, 0, 45),
                utc(2026, 3, 29, 1, 0),
                utc(2026, 3, 29, 1, 15),
                utc(2026, 3, 29, 1, 30)
            ]
        );
        let overlap = fires("*/15 * * * *", Berlin, utc(2026, 10, 25, 0, 30), 4);
        // 02:45 CEST, then the repeated 02:00-02:45 CET are skipped, then 03:00 CET.
        assert_eq!(
            overlap,
            [
                utc(2026, 10, 25, 0, 45),
                utc(2026, 10, 25, 2, 0),
                utc(2026, 10, 25, 2, 15),
                utc(2026, 10, 25, 2, 30)
            ]
        );
        for tz in [Berlin, New_York, Sydney] {
            let all: Vec<_> = schedule("*/30 * * * *")
                .fires_after(tz, utc(2026, 1, 1, 0, 0))
                .take(20_000)
                .collect();
            assert!(all.windows(2).all(|w| w[0] < w[1]), "{tz}");
        }
    }

    #[test]
    fn fires_strictly_after_the_given_instant() {
        let s = schedule("0 9 * * MON");
        let monday = utc(2026, 3, 2, 9, 0);
        assert_eq!(s.next_after(Tz::UTC, monday), Some(utc(2026, 3, 9, 9, 0)));
        let just_before = monday - TimeDelta::nanoseconds(1);
        assert_eq!(s.next_after(Tz::UTC, just_before), Some(monday));
    }

    #[test]
    fn sunday_is_zero_and_seven_and_sun() {
        let sunday = utc(2026, 3, 1, 16, 0);
        assert_eq!(sunday.weekday(), Weekday::Sun);
        for text in [
            "0 16 * * 0",
            "0 16 * * 7",
            "0 16 * * SUN",
            "0 16 * * sun",
            "@weekly",
        ] {
            let first = schedule(text)
                .next_after(Tz::UTC, utc(2026, 2, 28, 0, 0))
                .unwrap();
            assert_eq!(first.weekday(), Weekday::Sun, "{text}");
        }
        let weekend: Vec<Weekday> = schedule("0 9 * * 5-7")
            .fires_after(Tz::UTC, utc(2026, 3, 1, 12, 0))
            .take(4)
            .map(|t| t.weekday())
            .collect();
        assert_eq!(
            weekend,
            [Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Fri]
        );
        let every: Vec<_> = fires("0 9 * * 0-7", Tz::UTC, utc(2026, 3, 1, 0, 0), 7);
        assert_eq!(every, fires("0 9 * * *", Tz::UTC, utc(2026, 3, 1, 0, 0), 7));
    }

    #[test]
    fn names_numbers_ranges_lists_and_steps_agree() {
        let from = utc(2026, 3, 1, 0, 0);
        assert_eq!(
            fires("0 9 * * 1-5", Tz::UTC, from, 10),
            fires("0 9 * * MON-FRI", Tz::UTC, from, 10)
        );
        assert_eq!(
            fires("0 9 * * 1,3", Tz::UTC, from, 4),
            fires("0 9 * * mon,Wed", Tz::UTC, from, 4)
        );
        assert_eq!(
            fires("*/15 9 * * *", Tz::UTC, from, 4),
            [
                utc(2026, 3, 1, 9, 0),
                utc(2026, 3, 1, 9, 15),
                utc(2026, 3, 1, 9, 30),
                utc(2026, 3, 1, 9, 45)
            ]
        );
        assert_eq!(
            fires("5/20 9 * * *", Tz::UTC, from, 3),
            fires("5,25,45 9 * * *", Tz::UTC, from, 3)
        );
        assert_eq!(
            fires("0 0 1 1-12/3 *", Tz::UTC, from, 2),
            fires("0 0 1 JAN,APR,JUL,OCT *", Tz::UTC, from, 2)
        );
        assert_eq!(
            fires("0 0 1 4 *", Tz::UTC, from, 1),
            [utc(2026, 4, 1, 0, 0)]
        );
    }

    #[test]
    fn restricted_day_fields_match_either_day() {
        // 2026-03-13 is a Friday; 2026-02-13 too, so start in April: 4/3, 4/10, 4/13, 4/17.
        let days: Vec<u32> = fires("0 9 13 * FRI", Tz::UTC, utc(2026, 4, 1, 0, 0), 4)
            .iter()
            .map(|t| t.day())
            .collect();
        assert_eq!(days, [3, 10, 13, 17]);
        // A starred day-of-month narrows instead: odd days that are also Mondays.
        let both: Vec<u32> = fires("0 9 */2 * MON", Tz::UTC, utc(2026, 4, 1, 0, 0), 2)
            .iter()
            .map(|t| t.day())
            .collect();
        assert_eq!(both, [13, 27]);
    }

    #[test]
    fn shortcuts_mean_what_cron_means() {
        let from = utc(2026, 3, 4, 10, 20);
        assert_eq!(fires("@hourly", Tz::UTC, from, 1), [utc(2026, 3, 4, 11, 0)]);
        assert_eq!(fires("@daily", Tz::UTC, from, 1), [utc(2026, 3, 5, 0, 0)]);
        assert_eq!(fires("@weekly", Tz::UTC, from, 1), [utc(2026, 3, 8, 0, 0)]);
        assert_eq!(fires("@monthly", Tz::UTC, from, 1), [utc(2026, 4, 1, 0, 0)]);
        assert_eq!(fires("@yearly", Tz::UTC, from, 1), [utc(2027, 1, 1, 0, 0)]);
        assert_eq!(
            fires("@ANNUALLY", Tz::UTC, from, 1),
            [utc(2027, 1, 1, 0, 0)]
        );
    }

    #[test]
    fn latest_at_or_before_finds_the_last_fire() {
        let weekly = schedule("0 9 * * MON");
        let monday = utc(2026, 3, 2, 8, 0); // 09:00 in Berlin
        assert_eq!(weekly.latest_at_or_before(Berlin, monday), Some(monday));
        assert_eq!(
            weekly.latest_at_or_before(Berlin, utc(2026, 3, 8, 23, 0)),
            Some(monday)
        );
        assert_eq!(
            weekly.previous_before(Berlin, monday),
            Some(utc(2026, 2, 23, 8, 0))
        );
        // Across spring-forward: the Monday after is at 07:00 UTC, the one before at 08:00.
        assert_eq!(
            weekly.previous_before(Berlin, utc(2026, 3, 30, 7, 0)),
            Some(utc(2026, 3, 23, 8, 0))
        );

        let yearly = schedule("@yearly");
        assert_eq!(
            yearly.latest_at_or_before(Tz::UTC, utc(2026, 6, 15, 0, 0)),
            Some(utc(2026, 1, 1, 0, 0))
        );
        assert_eq!(
            yearly.previous_before(Tz::UTC, utc(2026, 1, 1, 0, 0)),
            Some(utc(2025, 1, 1, 0, 0))
        );
        let leap = schedule("0 12 29 2 *");
        assert_eq!(
            leap.latest_at_or_before(Tz::UTC, utc(2027, 1, 1, 0, 0)),
            Some(utc(2024, 2, 29, 12, 0))
        );
        // 2100 is not a leap year: eight years back.
        assert_eq!(
            leap.latest_at_or_before(Tz::UTC, utc(2100, 12, 31, 0, 0)),
            Some(utc(2096, 2, 29, 12, 0))
        );
        let minutely = schedule("* * * * *");
        assert_eq!(
            minutely.latest_at_or_before(Tz::UTC, utc(2026, 3, 2, 8, 0) + TimeDelta::seconds(59)),
            Some(utc(2026, 3, 2, 8, 0))
        );
        assert_eq!(
            schedule("0 0 1 1 *")
                .latest_at_or_before(Tz::UTC, utc(1970, 1, 1, 0, 0) - TimeDelta::days(1)),
            None
        );
    }

    #[test]
    fn latest_at_or_before_agrees_with_forward_iteration_across_dst() {
        let s = schedule("30 2 * * *");
        let all: Vec<_> = s
            .fires_after(Berlin, utc(2026, 3, 20, 0, 0))
            .take(230)
            .collect();
        for pair in all.windows(2) {
            assert_eq!(s.previous_before(Berlin, pair[1]), Some(pair[0]));
            assert_eq!(
                s.latest_at_or_before(Berlin, pair[1] - TimeDelta::seconds(1)),
                Some(pair[0])
            );
        }
    }

    #[test]
    fn the_calendar_ends_in_2100() {
        assert_eq!(
            schedule("@daily").next_after(Tz::UTC, utc(2101, 1, 1, 0, 0)),
            None
        );
        assert_eq!(
            schedule("@daily").next_after(Tz::UTC, DateTime::<Utc>::MAX_UTC),
            None
        );
    }

    #[test]
    fn schedules_display_and_serialize_as_written() {
        let s = schedule("  0 9 * * mon ");
        assert_eq!(s.as_str(), "0 9 * * mon");
        assert_eq!(format!("{s:?}"), "Schedule(\"0 9 * * mon\")");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"0 9 * * mon\"");
        let back: Schedule = serde_json::from_str("\"0 9 * * mon\"").unwrap();
        assert_eq!(back, s);
        let err = serde_json::from_str::<Schedule>("\"0 9 * * MONDAY\"").unwrap_err();
        assert!(err.to_string().contains("did you mean \"MON\""), "{err}");
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        assert_eq!(
            problem("0 9 * * MONDAY"),
            "\"0 9 * * MONDAY\" is not a cron expression: day-of-week \"MONDAY\" is not a day: \
             use 0-7 (Sunday is 0 or 7) or SUN-SAT (did you mean \"MON\"?)"
        );
        assert_eq!(
            problem("0 0 9 * * MON"),
            "\"0 0 9 * * MON\" is not a cron expression: it has 6 fields, but schedules use the \
             5-field Unix form without seconds or years; write five fields: minute hour \
             day-of-month month day-of-week, e.g. \"0 9 * * MON\""
        );
        assert!(problem("0 0 9 * * MON 2026").contains("it has 7 fields, but"));
        assert!(problem("0 9 * *").contains("it has 4 fields; write five fields"));
        assert!(problem("MON").contains("it has 1 field; write"));
        assert!(problem("").contains("it is empty"));
        assert!(problem("   ").contains("it is empty"));
        assert!(
            problem("@weeky").contains("unknown shortcut \"@weeky\" (did you mean \"@weekly\"?)")
        );
        assert!(problem("@reboot").contains("@reboot has no time"));
        assert!(problem("60 9 * * *").contains("minute \"60\" is out of range: use 0-59"));
        assert!(problem("0 24 * * *").contains("hour \"24\" is out of range: use 0-23"));
        assert!(problem("0 9 0 * *").contains("day-of-month \"0\" is out of range: use 1-31"));
        assert!(problem("0 9 * 13 *").contains("month \"13\" is out of range"));
        assert!(problem("0 9 * * 8").contains("day-of-week \"8\" is out of range"));
        assert!(problem("0 9 * * 99999999999999").contains("out of range"));
        assert!(problem("0 9 * JANUARY *").contains(
            "month \"JANUARY\" is not a month: use 1-12 or JAN-DEC (did you mean \"JAN\"?)"
        ));
        assert!(problem("0 9 * * TUS").contains("(did you mean \"TUE\"?)"));
        assert!(problem("0 9 ? * MON").contains("(did you mean \"*\"?)"));
        assert!(problem("0 9 L * *").contains("day-of-month \"L\" is not a day of the month"));
        assert!(
            problem("*/0 * * * *")
                .contains("minute \"*/0\" has a bad step: after / put a whole number from 1 to 60")
        );
        assert!(problem("*/x * * * *").contains("bad step"));
        assert!(problem("0 22-2 * * *").contains(
            "hour range \"22-2\" runs backwards; ranges do not wrap around (write \"22-23,0-2\")"
        ));
        assert!(problem("0 9 * * FRI-MON").contains("(write \"FRI-SAT,SUN-MON\")"));
        assert!(problem("0 9 * * 1,,3").contains("day-of-week \"1,,3\" has an empty item"));
        assert!(problem("0 9 * * 1,").contains("empty item"));
        assert!(problem("0 9 * * -1").contains("day-of-week \"-1\" is not a day"));
        assert!(
            problem("0 9 30 2 *").contains("it never fires: no month in \"2\" has a day in \"30\"")
        );
        assert!(problem("0 9 31 4,6 *").contains("never fires"));
        assert!(Schedule::parse("0 9 29 2 *").is_ok());
        // With a restricted day of week too, either day matches, so it does fire.
        assert!(Schedule::parse("0 9 30 2 MON").is_ok());
    }

    #[test]
    fn hostile_input_is_refused_quickly() {
        let long = "1,".repeat(10_000) + "1";
        assert!(Schedule::parse(&format!("{long} * * * *")).is_ok());
        assert!(problem(&"* ".repeat(1000)).contains("it has 1000 fields"));
        assert!(problem("\u{0} 9 * * *").contains("minute"));
    }
}
