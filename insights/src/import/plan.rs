//! Which cells feed which field, decided once per file (the CFPB export's own layout, columns
//! recognised by name, `--map` over both), then applied to every record to build an insight.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::fields::normalize;
use super::signals::{estimate_sentiment, estimate_severity};
use super::table::{Cell, Record, Shape};
use super::{Field, FileError, ImportOptions, Recognised, Row, RowError, clip};
use crate::model::{
    InsightData, Kind, Sentiment, Severity, Stage, UnknownValue, Visibility, key, nearest,
};
use crate::redact::Redactor;

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Nowhere: the field's default.
    Absent,
    /// One column, as written.
    Column(usize),
    /// The same value on every row.
    Fixed(&'static str),
    /// `Issue: Sub-issue`.
    CfpbTitle {
        issue: usize,
        sub_issue: Option<usize>,
    },
    /// `[Issue, Product]`.
    CfpbTags { issue: usize, product: usize },
    /// The complaint's page on consumerfinance.gov.
    CfpbUrl { id: usize },
    /// [`estimate_severity`] from the issue, narrative and timeliness.
    CfpbSeverity {
        issue: usize,
        sub_issue: Option<usize>,
        narrative: Option<usize>,
        timely: Option<usize>,
    },
}

impl Rule {
    /// The columns it reads.
    fn columns(self) -> Vec<usize> {
        match self {
            Rule::Absent | Rule::Fixed(_) => vec![],
            Rule::Column(c) | Rule::CfpbUrl { id: c } => vec![c],
            Rule::CfpbTitle { issue, sub_issue } => {
                [Some(issue), sub_issue].into_iter().flatten().collect()
            }
            Rule::CfpbTags { issue, product } => vec![issue, product],
            Rule::CfpbSeverity {
                issue,
                sub_issue,
                narrative,
                timely,
            } => [Some(issue), sub_issue, narrative, timely]
                .into_iter()
                .flatten()
                .collect(),
        }
    }
}

/// The columns of a CFPB Consumer Complaint Database export. CSV headers (`Complaint ID`) and
/// the JSON keys of the API's export (`complaint_id`) normalize alike; the narrative is
/// `Consumer complaint narrative` in one and `complaint_what_happened` in the other.
struct CfpbColumns {
    id: usize,
    date: usize,
    product: usize,
    issue: usize,
    sub_issue: Option<usize>,
    narrative: Option<usize>,
    company: Option<usize>,
    tags: Option<usize>,
    timely: Option<usize>,
}

impl CfpbColumns {
    fn find(columns: &[String]) -> Option<CfpbColumns> {
        let normalized: Vec<String> = columns.iter().map(|c| normalize(c)).collect();
        let find = |names: &[&str]| normalized.iter().position(|c| names.contains(&c.as_str()));
        Some(CfpbColumns {
            id: find(&["complaintid"])?,
            date: find(&["datereceived"])?,
            product: find(&["product"])?,
            issue: find(&["issue"])?,
            sub_issue: find(&["subissue"]),
            narrative: find(&["consumercomplaintnarrative", "complaintwhathappened"]),
            company: find(&["company"]),
            tags: find(&["tags"]),
            timely: find(&["timelyresponse", "timely"]),
        })
    }

    fn rules(&self) -> [Rule; Field::ALL.len()] {
        let column = |c: Option<usize>| c.map_or(Rule::Absent, Rule::Column);
        let mut rules = [Rule::Absent; Field::ALL.len()];
        rules[Field::Title as usize] = Rule::CfpbTitle {
            issue: self.issue,
            sub_issue: self.sub_issue,
        };
        rules[Field::Body as usize] = column(self.narrative);
        rules[Field::SourceRef as usize] = Rule::Column(self.id);
        rules[Field::ObservedOn as usize] = Rule::Column(self.date);
        rules[Field::Tags as usize] = Rule::CfpbTags {
            issue: self.issue,
            product: self.product,
        };
        rules[Field::Segment as usize] = column(self.tags);
        rules[Field::Kind as usize] = Rule::Fixed("pain");
        rules[Field::Sentiment as usize] = Rule::Fixed("negative");
        rules[Field::Severity as usize] = Rule::CfpbSeverity {
            issue: self.issue,
            sub_issue: self.sub_issue,
            narrative: self.narrative,
            timely: self.timely,
        };
        rules[Field::Account as usize] = column(self.company);
        rules[Field::Url as usize] = Rule::CfpbUrl { id: self.id };
        rules
    }
}

/// How every record of one file becomes an insight.
pub(super) struct Plan {
    columns: Vec<String>,
    recognised: Recognised,
    rules: [Rule; Field::ALL.len()],
    default_source: String,
    max_chars: usize,
    today: NaiveDate,
}

impl Plan {
    /// Recognises the table's columns and applies the options' mappings over them.
    pub(super) fn new(table: &Shape, options: &ImportOptions) -> Result<Plan, FileError> {
        let columns = &table.columns;
        let mapped = resolve_mappings(table, options)?;
        let cfpb = CfpbColumns::find(columns);
        let recognised = if cfpb.is_some() {
            Recognised::Cfpb
        } else {
            Recognised::Generic
        };
        let mut rules = match &cfpb {
            Some(cfpb) => cfpb.rules(),
            None => recognise_generic(columns, &mapped),
        };
        for &(field, column) in &mapped {
            rules[field as usize] = Rule::Column(column);
        }
        let holds_text = |f: Field| rules[f as usize] != Rule::Absent;
        // An empty JSON array has no keys and nothing to import: not an error.
        let nothing_at_all = columns.is_empty() && table.records == 0;
        if !(holds_text(Field::Title) || holds_text(Field::Body) || nothing_at_all) {
            return Err(FileError::NoTextColumn {
                noun: table.noun.one(),
                columns: columns.clone(),
            });
        }
        let default_source = options
            .source
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(match recognised {
                Recognised::Cfpb => "cfpb",
                Recognised::Generic => "import",
            })
            .to_string();
        Ok(Plan {
            columns: columns.clone(),
            recognised,
            rules,
            default_source,
            max_chars: options.max_field_chars,
            today: options.today,
        })
    }

    pub(super) fn recognised(&self) -> Recognised {
        self.recognised
    }

    /// Columns no rule reads, in file order.
    pub(super) fn ignored_columns(&self) -> Vec<String> {
        let used: Vec<usize> = self.rules.iter().flat_map(|r| r.columns()).collect();
        self.columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// One insight, and whether its source_ref was derived rather than given.
    fn build(&self, cells: &[Cell]) -> Result<(InsightData, bool), RowError> {
        let row = RowReader { plan: self, cells };
        let source = row
            .text(Field::Source)?
            .unwrap_or_else(|| self.default_source.clone());
        let title = row.text(Field::Title)?.unwrap_or_default();
        let body = row.text(Field::Body)?.unwrap_or_default();
        if title.is_empty() && body.is_empty() {
            return Err(RowError::MissingText);
        }
        let observed_on = match row.text(Field::ObservedOn)? {
            None => self.today,
            Some(value) => parse_date(&value).ok_or_else(|| RowError::BadDate {
                column: self.column_name(Field::ObservedOn),
                value: clip(&value, 60),
            })?,
        };
        let stage = row.vocabulary::<Stage>(Field::Stage)?;
        let kind = row.vocabulary::<Kind>(Field::Kind)?;
        let sentiment = match row.vocabulary::<Sentiment>(Field::Sentiment)? {
            Some(sentiment) => sentiment,
            None => estimate_sentiment(&format!("{title}\n{body}")),
        };
        let severity = match row.text(Field::Severity)? {
            None => Severity::DEFAULT,
            Some(value) => parse_severity(&value).ok_or_else(|| RowError::BadSeverity {
                column: self.column_name(Field::Severity),
                value: clip(&value, 60),
            })?,
        };
        let url = match row.text(Field::Url)? {
            Some(value) if !is_link(&value) => {
                return Err(RowError::BadUrl {
                    column: self.column_name(Field::Url),
                    value: clip(&value, 60),
                });
            }
            url => url,
        };
        let teams = distinct(row.list(Field::Teams)?, |t| t.to_lowercase());
        let visibility = if teams.is_empty() {
            Visibility::All
        } else {
            Visibility::Teams(teams)
        };
        let (source_ref, derived) = match row.text(Field::SourceRef)? {
            Some(given) => (given, false),
            None => (derived_ref(&source, &title, &body, observed_on), true),
        };
        let data = InsightData {
            source,
            source_ref,
            title,
            body,
            observed_on,
            tags: distinct(row.list(Field::Tags)?, |t| match key(t) {
                k if k.is_empty() => t.to_string(),
                k => k,
            }),
            segment: row.text(Field::Segment)?,
            stage,
            kind,
            sentiment,
            severity,
            account: row.text(Field::Account)?,
            url,
            visibility,
        };
        Ok((data, derived))
    }

    /// The column a field is read from, for messages.
    fn column_name(&self, field: Field) -> String {
        match self.rules[field as usize].columns().first() {
            Some(&c) => self.columns[c].clone(),
            None => field.name().to_string(),
        }
    }
}

/// Builds rows one at a time, skipping repeats of an earlier row's `(source, source_ref)`. It
/// remembers a 128-bit hash of each pair, not the pair, so that a file of millions of rows
/// costs tens of megabytes, not its own size.
pub(super) struct Builder<'p> {
    plan: &'p Plan,
    first_rows: HashMap<u128, usize>,
}

impl<'p> Builder<'p> {
    pub(super) fn new(plan: &'p Plan) -> Self {
        Builder {
            plan,
            first_rows: HashMap::new(),
        }
    }

    /// The row of one record.
    pub(super) fn row(&mut self, record: Record) -> Row {
        let result = record
            .cells
            .and_then(|cells| self.plan.build(&cells))
            .and_then(|(data, derived)| {
                match self
                    .first_rows
                    .entry(fnv128(&[&data.source, &data.source_ref]))
                {
                    Entry::Occupied(first) => Err(if derived {
                        RowError::DuplicateRow {
                            first_row: *first.get(),
                        }
                    } else {
                        RowError::DuplicateRef {
                            source_ref: clip(&data.source_ref, 60),
                            first_row: *first.get(),
                        }
                    }),
                    Entry::Vacant(slot) => {
                        slot.insert(record.number);
                        Ok(data)
                    }
                }
            });
        Row {
            number: record.number,
            result,
        }
    }
}

/// The column index of every `--map`, refusing unknown columns and fields mapped twice.
fn resolve_mappings(
    table: &Shape,
    options: &ImportOptions,
) -> Result<Vec<(Field, usize)>, FileError> {
    let columns = &table.columns;
    let mut mapped: Vec<(Field, usize)> = Vec::new();
    for mapping in &options.mappings {
        let wanted = mapping.column.trim();
        let found = columns
            .iter()
            .position(|c| c.trim() == wanted)
            .or_else(|| {
                columns
                    .iter()
                    .position(|c| c.trim().eq_ignore_ascii_case(wanted))
            })
            .or_else(|| {
                let wanted = normalize(wanted);
                (!wanted.is_empty())
                    .then(|| columns.iter().position(|c| normalize(c) == wanted))
                    .flatten()
            });
        let Some(column) = found else {
            return Err(FileError::UnknownColumn {
                noun: table.noun.one(),
                column: mapping.column.clone(),
                suggestion: nearest(wanted, columns.iter().map(String::as_str)).map(str::to_string),
                columns: columns.clone(),
            });
        };
        if let Some(&(_, first)) = mapped.iter().find(|(f, _)| *f == mapping.field) {
            if first == column {
                continue;
            }
            return Err(FileError::MappedTwice {
                field: mapping.field,
                first: columns[first].clone(),
                second: columns[column].clone(),
            });
        }
        mapped.push((mapping.field, column));
    }
    Ok(mapped)
}

/// Each field from the column whose name means it most clearly (its own name before an alias,
/// then the first such column), leaving mapped columns and fields to their mappings.
fn recognise_generic(columns: &[String], mapped: &[(Field, usize)]) -> [Rule; Field::ALL.len()] {
    let mut best: [Option<(usize, usize)>; Field::ALL.len()] = [None; Field::ALL.len()];
    for (column, name) in columns.iter().enumerate() {
        if mapped.iter().any(|&(_, c)| c == column) {
            continue;
        }
        let Some((field, rank)) = Field::recognise(name) else {
            continue;
        };
        if mapped.iter().any(|&(f, _)| f == field) {
            continue;
        }
        let slot = &mut best[field as usize];
        if slot.is_none_or(|(best_rank, _)| rank < best_rank) {
            *slot = Some((rank, column));
        }
    }
    best.map(|b| b.map_or(Rule::Absent, |(_, column)| Rule::Column(column)))
}

/// One record's cells read through the plan, each checked for length and NUL characters.
struct RowReader<'a> {
    plan: &'a Plan,
    cells: &'a [Cell],
}

impl RowReader<'_> {
    /// A field's text, trimmed; `None` when empty or absent.
    fn text(&self, field: Field) -> Result<Option<String>, RowError> {
        match self.plan.rules[field as usize] {
            Rule::Absent => Ok(None),
            Rule::Fixed(value) => Ok(Some(value.to_string())),
            Rule::Column(c) => self.text_at(c),
            Rule::CfpbTitle { issue, sub_issue } => self.cfpb_title(issue, sub_issue),
            // Tags are a list; as text (never asked for today) they read as one line.
            Rule::CfpbTags { .. } => Ok(Some(self.list(field)?.join(", "))),
            Rule::CfpbUrl { id } => Ok(self
                .text_at(id)?
                .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
                .map(|id| {
                    format!(
                        "https://www.consumerfinance.gov/data-research/consumer-complaints/search/detail/{id}"
                    )
                })),
            Rule::CfpbSeverity {
                issue,
                sub_issue,
                narrative,
                timely,
            } => {
                let issue = self.cfpb_title(issue, sub_issue)?.unwrap_or_default();
                let narrative = match narrative {
                    Some(c) => self.str_at(c)?.unwrap_or_default(),
                    None => "",
                };
                let timely = match timely {
                    Some(c) => self.str_at(c)?.and_then(|t| match t.to_ascii_lowercase().as_str() {
                        "yes" | "true" => Some(true),
                        "no" | "false" => Some(false),
                        _ => None,
                    }),
                    None => None,
                };
                Ok(Some(estimate_severity(&issue, narrative, timely).to_string()))
            }
        }
    }

    /// A list field: a JSON array, or text split on `,`, `;` or `|`; items trimmed, empty ones
    /// dropped. CFPB tags are whole values, never split: products hold commas.
    fn list(&self, field: Field) -> Result<Vec<String>, RowError> {
        let items = match self.plan.rules[field as usize] {
            Rule::CfpbTags { issue, product } => {
                return Ok([self.text_at(issue)?, self.text_at(product)?]
                    .into_iter()
                    .flatten()
                    .collect());
            }
            Rule::Column(c) => match self.cell(c)? {
                Cell::List(items) => items.clone(),
                _ => self.text_at(c)?.map(split_list).unwrap_or_default(),
            },
            _ => self.text(field)?.map(split_list).unwrap_or_default(),
        };
        Ok(items
            .iter()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// A stage, kind or sentiment, with the nearest valid spelling when it is not one.
    fn vocabulary<T>(&self, field: Field) -> Result<Option<T>, RowError>
    where
        T: std::str::FromStr<Err = UnknownValue>,
    {
        let Some(value) = self.text(field)? else {
            return Ok(None);
        };
        value.parse().map(Some).map_err(|mut error: UnknownValue| {
            error.value = clip(&error.value, 60);
            RowError::BadValue {
                column: self.plan.column_name(field),
                error,
            }
        })
    }

    fn cfpb_title(
        &self,
        issue: usize,
        sub_issue: Option<usize>,
    ) -> Result<Option<String>, RowError> {
        let issue = self.text_at(issue)?;
        let sub_issue = match sub_issue {
            Some(c) => self.text_at(c)?,
            None => None,
        };
        Ok(match (issue, sub_issue) {
            (Some(issue), Some(sub)) => Some(format!("{issue}: {sub}")),
            (issue, sub) => issue.or(sub),
        })
    }

    /// The cell in column `c`, checked: not longer than the limit, no NUL character.
    fn cell(&self, c: usize) -> Result<&Cell, RowError> {
        let cell = self.cells.get(c).unwrap_or(&Cell::Missing);
        let column = || self.plan.columns[c].clone();
        let texts: &[String] = match cell {
            Cell::Text(text) => std::slice::from_ref(text),
            Cell::List(items) => items,
            Cell::Missing | Cell::Other(_) => &[],
        };
        let max = self.plan.max_chars;
        // Text of no more bytes than the limit has no more characters: only longer text is
        // counted.
        if texts.iter().map(String::len).sum::<usize>() > max {
            let chars = texts.iter().map(|t| t.chars().count()).sum();
            if chars > max {
                return Err(RowError::TooLong {
                    column: column(),
                    chars,
                    max,
                });
            }
        }
        if texts.iter().any(|t| t.contains('\0')) {
            return Err(RowError::Nul { column: column() });
        }
        Ok(cell)
    }

    /// The text in column `c`, trimmed; `None` when empty.
    fn text_at(&self, c: usize) -> Result<Option<String>, RowError> {
        Ok(self.str_at(c)?.map(str::to_string))
    }

    /// [`RowReader::text_at`], borrowed.
    fn str_at(&self, c: usize) -> Result<Option<&str>, RowError> {
        match self.cell(c)? {
            Cell::Missing => Ok(None),
            Cell::Text(text) => {
                let text = text.trim();
                Ok((!text.is_empty()).then_some(text))
            }
            Cell::List(_) => Err(RowError::NotText {
                column: self.plan.columns[c].clone(),
                found: "an array",
            }),
            Cell::Other(found) => Err(RowError::NotText {
                column: self.plan.columns[c].clone(),
                found,
            }),
        }
    }
}

fn split_list(text: String) -> Vec<String> {
    text.split([',', ';', '|']).map(str::to_string).collect()
}

/// `items` without repeats, judged by `identity`, first spelling kept.
fn distinct(items: Vec<String>, identity: impl Fn(&str) -> String) -> Vec<String> {
    let mut seen = Vec::new();
    items
        .into_iter()
        .filter(|item| {
            let id = identity(item);
            let new = !seen.contains(&id);
            seen.push(id);
            new
        })
        .collect()
}

/// `2023-08-25`, `8/25/2023` or `08/25/2023`, an RFC 3339 time (the date where it was said, not
/// in UTC), or `2023-08-25 14:30[:00]`.
pub(super) fn parse_date(value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    let b = value.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        return NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(time.date_naive());
    }
    for form in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(value, form) {
            return Some(time.date());
        }
    }
    let us: Vec<&str> = value.split('/').collect();
    if let [month, day, year] = us.as_slice()
        && (1..=2).contains(&month.len())
        && (1..=2).contains(&day.len())
        && year.len() == 4
    {
        return NaiveDate::parse_from_str(value, "%m/%d/%Y").ok();
    }
    None
}

/// A whole number from 1 to 5 (`4`, or `4.0` as spreadsheets write numbers).
fn parse_severity(value: &str) -> Option<Severity> {
    let value = value.trim();
    if let Ok(n) = value.parse::<u8>() {
        return Severity::new(n);
    }
    let f: f64 = value.parse().ok()?;
    (f.fract() == 0.0 && (1.0..=5.0).contains(&f))
        .then(|| Severity::new(f as u8))
        .flatten()
}

/// An absolute http(s) URL without spaces or control characters.
fn is_link(value: &str) -> bool {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &value[8..]
    } else if lower.starts_with("http://") {
        &value[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A source_ref for a row that has none: the same row always gets the same one, so re-importing
/// a file without ids updates instead of duplicating. It hashes the text with personal data
/// redacted, so the reference cannot be used to test guesses of what redaction removed.
fn derived_ref(source: &str, title: &str, body: &str, observed_on: NaiveDate) -> String {
    let redactor = Redactor::all();
    let hash = fnv128(&[
        source,
        &redactor.redact(title).text,
        &redactor.redact(body).text,
        &observed_on.to_string(),
    ]);
    format!("auto-{hash:032x}")
}

/// FNV-1a, 128 bits, over `parts` each followed by a unit separator (which keeps `ab`+`c` and
/// `a`+`bc` apart): stable across builds and platforms, unlike the standard hasher.
fn fnv128(parts: &[&str]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain([0x1f]) {
            hash ^= u128::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn dates_in_every_accepted_form() {
        assert_eq!(parse_date("2023-08-25"), Some(date(2023, 8, 25)));
        assert_eq!(parse_date(" 08/25/2023 "), Some(date(2023, 8, 25)));
        assert_eq!(parse_date("8/5/2023"), Some(date(2023, 8, 5)));
        assert_eq!(parse_date("2023-08-25T23:30:00Z"), Some(date(2023, 8, 25)));
        // The customer's own date, not the UTC one.
        assert_eq!(
            parse_date("2023-08-25T23:30:00-05:00"),
            Some(date(2023, 8, 25))
        );
        assert_eq!(parse_date("2023-08-25 14:30"), Some(date(2023, 8, 25)));
        assert_eq!(
            parse_date("2023-08-25T14:30:00.123"),
            Some(date(2023, 8, 25))
        );
    }

    #[test]
    fn things_that_are_not_dates() {
        for value in [
            "",
            "2023-13-01",
            "2023-02-30",
            "25/08/2023",
            "08/25/23",
            "XX/XX/2023",
            "yesterday",
            "2023-8-25x",
            "+12023-08-25",
            "1692921600",
        ] {
            assert_eq!(parse_date(value), None, "value {value:?}");
        }
    }

    #[test]
    fn severities_are_whole_numbers_from_one_to_five() {
        assert_eq!(parse_severity("4").map(Severity::get), Some(4));
        assert_eq!(parse_severity(" 5.0 ").map(Severity::get), Some(5));
        for value in ["0", "6", "2.5", "high", "-1", "NaN", "inf", "255", "256"] {
            assert_eq!(parse_severity(value), None, "value {value:?}");
        }
    }

    #[test]
    fn links_are_http_urls() {
        assert!(is_link("https://example.com/t/1"));
        assert!(is_link("HTTP://example.com"));
        for value in [
            "javascript:alert(1)",
            "example.com",
            "https://",
            "https://exa mple.com",
            "ftp://example.com",
            "é",
        ] {
            assert!(!is_link(value), "value {value:?}");
        }
    }

    #[test]
    fn derived_refs_are_stable_and_ignore_redacted_data() {
        let day = date(2023, 8, 25);
        let a = derived_ref("import", "Slow export", "call 555-123-4567", day);
        assert_eq!(
            a,
            derived_ref("import", "Slow export", "call 555-123-4567", day)
        );
        assert_eq!(
            a,
            derived_ref("import", "Slow export", "call 555-987-6543", day)
        );
        assert!(a.starts_with("auto-") && a.len() == 37);
        assert_ne!(
            a,
            derived_ref("import", "Slow exportcall", " 555-123-4567", day)
        );
        assert_ne!(
            a,
            derived_ref("zendesk", "Slow export", "call 555-123-4567", day)
        );
        assert_ne!(
            a,
            derived_ref(
                "import",
                "Slow export",
                "call 555-123-4567",
                date(2023, 8, 26)
            )
        );
        // Pinned (checked against an independent FNV-1a): stored references must never change
        // between releases, or re-importing would duplicate every row without an id.
        assert_eq!(
            derived_ref("import", "", "", date(2000, 1, 1)),
            "auto-ff0c9806ff41cedccb53e52452642d2e"
        );
    }
}
