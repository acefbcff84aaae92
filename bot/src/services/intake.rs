//! Insights sent in one request (the HTTP API's `POST /api/v1/insights`): read with the file
//! import's own reader, so fields are recognised and checked exactly as for a JSON or NDJSON
//! file, then stored through [`ingest`](super::ingest) (redacted, themed, indexed) with an
//! outcome for every item. A bad item is rejected with its reason and the others are stored,
//! unless the submission is strict: then nothing is stored when any item is bad.

use std::ops::ControlFlow;

use flywheel_insights::import::{self, FileError, Format, ImportOptions, Reader, RowError};
use flywheel_insights::model::{InsightData, InsightId, Visibility};
use flywheel_storage::UpsertOutcome;

use crate::app::App;
use crate::services::import::audit_import;
use crate::services::ingest::ingest;

/// How to read and store one request's insights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// JSON (one object or an array of them) or NDJSON.
    pub format: Format,
    /// The source of items that name none.
    pub source: String,
    /// The teams the sender is limited to; empty means none. Items without `teams` become
    /// visible to these teams; items naming another team are rejected.
    pub teams: Vec<String>,
    /// Store nothing when any item is bad.
    pub strict: bool,
    /// The most items one submission may hold.
    pub max_items: usize,
    /// Who sent it, for the audit log.
    pub actor: String,
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new insight.
    Created(InsightId),
    /// An insight with the same `(source, source_ref)` whose content changed.
    Updated(InsightId),
    /// An insight already stored exactly so.
    Unchanged(InsightId),
    /// Not stored, and why.
    Rejected(String),
    /// Good, but not stored: a strict submission with a bad item elsewhere.
    NotWritten,
}

/// One item of a submission and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its position among the items, from 0.
    pub index: usize,
    /// Where the file import would say it is: its position from 1 in a JSON array, its line
    /// in NDJSON.
    pub row: usize,
    /// What happened to it.
    pub outcome: Outcome,
}

/// A submission read and, unless refused, stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Every item, in order.
    pub items: Vec<Item>,
    /// Keys that fed no field.
    pub ignored_keys: Vec<String>,
    /// Personal data items redacted.
    pub redacted: usize,
}

impl Submitted {
    /// How many items ended with an outcome like `wanted`.
    pub fn count(&self, wanted: fn(&Outcome) -> bool) -> usize {
        self.items.iter().filter(|i| wanted(&i.outcome)).count()
    }
}

/// Why a submission was refused as a whole: nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The body is not JSON or NDJSON of the kind expected.
    #[error("{message}")]
    Malformed {
        /// What is wrong, for the sender.
        message: String,
        /// The line it is on, when known.
        line: Option<usize>,
        /// The column, when known.
        column: Option<usize>,
    },
    /// More items than one submission may hold.
    #[error(
        "the request holds {items} insights; the limit is {max} per request: send them in several requests"
    )]
    TooMany {
        /// Items sent.
        items: usize,
        /// The limit.
        max: usize,
    },
    /// Strict, and some items are bad.
    #[error("{} of {} items rejected; strict: nothing was written", .rejected, .submitted.items.len())]
    Refused {
        /// How many are bad.
        rejected: usize,
        /// Every item: the bad ones rejected, the others not written.
        submitted: Submitted,
    },
    /// Storing failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Reads `body` as `submission` says and stores its good items (all or none when strict),
/// audited as done by the submission's actor. Reading runs off the async runtime's threads;
/// the insights are searchable when this returns.
pub async fn submit(
    app: &App,
    body: Vec<u8>,
    submission: &Submission,
) -> Result<Submitted, SubmitError> {
    let options = ImportOptions {
        format: submission.format,
        source: Some(submission.source.clone()),
        mappings: Vec::new(),
        max_field_chars: import::DEFAULT_MAX_FIELD_CHARS,
        today: app.today(),
    };
    let max_items = submission.max_items;
    let (rows, ignored_keys) = tokio::task::spawn_blocking(move || read(body, &options, max_items))
        .await
        .map_err(|e| anyhow::anyhow!("reading the request stopped: {e}"))??;

    let mut items = Vec::with_capacity(rows.len());
    let mut good = Vec::with_capacity(rows.len());
    for (index, row) in rows.into_iter().enumerate() {
        let outcome = match row.result {
            Ok(data) => match limit_to_teams(data, &submission.teams) {
                Ok(data) => {
                    good.push(data);
                    Outcome::NotWritten
                }
                Err(why) => Outcome::Rejected(why),
            },
            Err(e) => Outcome::Rejected(e.to_string()),
        };
        items.push(Item {
            index,
            row: row.number,
            outcome,
        });
    }
    let mut submitted = Submitted {
        items,
        ignored_keys,
        redacted: 0,
    };
    let rejected = submitted.count(|o| matches!(o, Outcome::Rejected(_)));
    if submission.strict && rejected > 0 {
        return Err(SubmitError::Refused {
            rejected,
            submitted,
        });
    }
    if good.is_empty() {
        return Ok(submitted);
    }
    let report = ingest(app, good, |_| {}).await?;
    submitted.redacted = report.redactions.total();
    let mut written = report.outcomes.iter();
    for item in &mut submitted.items {
        if item.outcome == Outcome::NotWritten
            && let Some(outcome) = written.next()
        {
            item.outcome = match *outcome {
                UpsertOutcome::Inserted(id) => Outcome::Created(id),
                UpsertOutcome::Updated(id) => Outcome::Updated(id),
                UpsertOutcome::Unchanged(id) => Outcome::Unchanged(id),
            };
        }
    }
    audit_import(app, &report, "api", rejected, &submission.actor).await;
    Ok(submitted)
}

/// The rows of `body` and the keys that fed no field, on a blocking thread.
fn read(
    body: Vec<u8>,
    options: &ImportOptions,
    max_items: usize,
) -> Result<(Vec<import::Row>, Vec<String>), SubmitError> {
    let format = options.format;
    // One object is an array of one; the offset is taken back out of positions on line 1.
    let single = format == Format::Json && starts_with_object(&body);
    let body = if single {
        let mut wrapped = Vec::with_capacity(body.len() + 2);
        wrapped.push(b'[');
        wrapped.extend_from_slice(&body);
        wrapped.push(b']');
        wrapped
    } else {
        body
    };
    let source: &[u8] = &body;
    let reader = Reader::open(&source, options).map_err(|e| malformed(e, format, single))?;
    if reader.total_rows() > max_items {
        return Err(SubmitError::TooMany {
            items: reader.total_rows(),
            max: max_items,
        });
    }
    let mut rows = Vec::with_capacity(reader.total_rows());
    let mut syntax = None;
    reader
        .rows(|row| {
            if let Err(RowError::Json { column, message }) = &row.result {
                // A line that is not JSON is a malformed body, not a bad item.
                syntax = Some(SubmitError::Malformed {
                    message: format!(
                        "JSON syntax error on line {}, column {column}: {message}",
                        row.number
                    ),
                    line: Some(row.number),
                    column: Some(*column),
                });
                return ControlFlow::Break(());
            }
            rows.push(row);
            ControlFlow::Continue(())
        })
        .map_err(|e| malformed(e, format, single))?;
    if let Some(error) = syntax {
        return Err(error);
    }
    Ok((rows, reader.ignored_columns()))
}

/// Whether the first character that is not white space opens an object.
fn starts_with_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A file error as the sender of a request should read it.
fn malformed(error: FileError, format: Format, single: bool) -> SubmitError {
    let (message, line, column) = match error {
        FileError::Json {
            line,
            column,
            message,
        } => {
            let column = if single && line == 1 {
                column.saturating_sub(1).max(1)
            } else {
                column
            };
            (
                format!("JSON syntax error on line {line}, column {column}: {message}"),
                Some(line),
                Some(column),
            )
        }
        FileError::WrongFormat { found, .. } => (
            format!(
                "the body is not {} but looks like {}: send it with Content-Type {}",
                format.label(),
                found.label(),
                content_type(found)
            ),
            None,
            None,
        ),
        FileError::NoTextColumn { columns, .. } => (
            format!(
                "no key holds the insight text: send \"title\" or \"body\" (keys sent: {})",
                columns.join(", ")
            ),
            None,
            None,
        ),
        FileError::Empty => ("the body is empty".to_string(), None, None),
        other => (
            other
                .to_string()
                .replace("the file", "the body")
                .replace("The file", "The body"),
            None,
            None,
        ),
    };
    SubmitError::Malformed {
        message,
        line,
        column,
    }
}

/// The content type a body of `format` is sent with.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv",
        Format::Json => "application/json",
        Format::Ndjson => "application/x-ndjson",
    }
}

/// `data` as a sender limited to `teams` may store it: visible to those teams when it names
/// none, refused when it names another.
fn limit_to_teams(mut data: InsightData, teams: &[String]) -> Result<InsightData, String> {
    if teams.is_empty() {
        return Ok(data);
    }
    match &data.visibility {
        Visibility::All => {
            data.visibility = Visibility::Teams(teams.to_vec());
            Ok(data)
        }
        Visibility::Teams(named) => {
            let foreign: Vec<&String> = named
                .iter()
                .filter(|n| !teams.iter().any(|t| t.eq_ignore_ascii_case(n)))
                .collect();
            if foreign.is_empty() {
                Ok(data)
            } else {
                Err(format!(
                    "teams: this token may only write for {}, not for {}",
                    teams.join(", "),
                    foreign
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(format: Format) -> ImportOptions {
        ImportOptions {
            source: Some("api".into()),
            ..ImportOptions::new(format, chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap())
        }
    }

    fn message(result: Result<(Vec<import::Row>, Vec<String>), SubmitError>) -> String {
        match result {
            Err(e) => e.to_string(),
            Ok((rows, _)) => panic!("read {} rows", rows.len()),
        }
    }

    #[test]
    fn one_object_is_one_item_and_positions_stay_true() {
        let (rows, _) = read(
            br#"{"title": "Refund late", "body": "Six weeks"}"#.to_vec(),
            &options(Format::Json),
            10,
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].number, 1);
        let err = message(read(
            br#"{"title": "x",}"#.to_vec(),
            &options(Format::Json),
            10,
        ));
        let same = message(read(
            br#"[{"title": "x",}]"#.to_vec(),
            &options(Format::Json),
            10,
        ));
        assert!(
            err.starts_with("JSON syntax error on line 1, column 15"),
            "{err}"
        );
        assert!(
            same.starts_with("JSON syntax error on line 1, column 16"),
            "{same}"
        );
    }

    #[test]
    fn items_beyond_the_limit_refuse_the_request() {
        let err = message(read(
            b"[{\"body\": \"a\"}, {\"body\": \"b\"}, {\"body\": \"c\"}]".to_vec(),
            &options(Format::Json),
            2,
        ));
        assert!(
            err.starts_with("the request holds 3 insights; the limit is 2"),
            "{err}"
        );
    }

    #[test]
    fn teams_of_a_limited_sender_are_given_or_checked() {
        let (rows, _) = read(
            br#"{"body": "Six weeks for a refund"}"#.to_vec(),
            &options(Format::Json),
            10,
        )
        .unwrap();
        let data = rows.into_iter().next().unwrap().result.unwrap();
        assert_eq!(data.visibility, Visibility::All);
        let teams = vec!["support".to_string()];
        let given = limit_to_teams(data.clone(), &teams).unwrap();
        assert_eq!(given.visibility, Visibility::Teams(teams.clone()));
        let foreign = InsightData {
            visibility: Visibility::Teams(vec!["growth".into()]),
            ..data
        };
        let err = limit_to_teams(foreign, &teams).unwrap_err();
        assert_eq!(
            err,
            "teams: this token may only write for support, not for growth"
        );
    }
}
