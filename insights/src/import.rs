//! Reading insight files (CSV, JSON, NDJSON) into rows of [`InsightData`], bytes in and rows
//! out: the binary opens the file, redacts and stores. A file is read as a stream, never whole:
//! [`Reader::open`] goes through it once to refuse it early (a [`FileError`] means nothing at
//! all is imported) and learn its columns, then [`Reader::rows`] goes through it again handing
//! over one row at a time, each an insight or a [`RowError`] that skips it and names why. No row
//! may be longer than [`MAX_ROW_BYTES`], so memory stays flat whatever the file holds.
//!
//! Columns are recognised by name (see [`Field::recognise`]), the CFPB complaint export by its
//! own columns, and `--map COLUMN=FIELD` ([`parse_mapping`]) overrides both. Where a file does not
//! say, [`signals`] estimates sentiment and, for complaints, severity.
//!
//! Layout: `fields` names the fields ([`Field`]) and mappings, `stream` checks and meters the
//! bytes, `table` turns them into columns and cells the same way for all three formats, `plan`
//! decides which cell feeds which field and builds each row, and the public [`Reader`] (or
//! [`read`], for a file already in memory) ties them together.

mod fields;
mod plan;
pub mod signals;
mod stream;
mod table;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;

pub use fields::{Field, Mapping, MappingError, parse_mapping};

use crate::model::{InsightData, UnknownValue};

/// The longest a single field may be, in characters, unless the options say otherwise. The
/// longest CFPB narratives are a few thousand characters; anything far beyond is not feedback.
pub const DEFAULT_MAX_FIELD_CHARS: usize = 20_000;

/// The longest a row may be in the file, in bytes: a CSV record, an NDJSON line, an element of a
/// JSON array. A longer one refuses the whole file ([`FileError::RowTooLong`]): it is not
/// feedback, and reading on would take memory without bound (`/dev/zero`, a file without line
/// breaks).
pub const MAX_ROW_BYTES: usize = 1024 * 1024;

/// Where a file's bytes come from. It is opened once per pass over the file.
pub trait Source {
    /// The file from its first byte.
    fn open(&self) -> io::Result<Box<dyn Read + '_>>;
}

/// A file already in memory.
impl Source for &[u8] {
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(*self))
    }
}

/// A file on disk.
impl Source for PathBuf {
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(std::fs::File::open(self)?))
    }
}

/// The format of an insight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header row (`;` and tab separators are recognised too).
    Csv,
    /// An array of objects, or `{"insights": [...]}`.
    Json,
    /// One object per line (also called JSON Lines).
    Ndjson,
}

impl Format {
    /// The format of a file: by its extension (`.csv`, `.tsv`, `.json`, `.ndjson`, `.jsonl`)
    /// when `path` has one of those, otherwise by its content (a JSON array or wrapper object,
    /// an object on the first line, or else CSV). `bytes` may be the whole file or its start
    /// ([`Format::detect_source`] reads the start of a file).
    pub fn detect(path: Option<&str>, bytes: &[u8]) -> Result<Format, FileError> {
        if let Some(format) = path.and_then(Format::from_extension) {
            return Ok(format);
        }
        Ok(table::sniff(table::decode(bytes)?))
    }

    /// [`Format::detect`] on the start of `source`.
    pub fn detect_source(path: Option<&str>, source: &dyn Source) -> Result<Format, FileError> {
        if let Some(format) = path.and_then(Format::from_extension) {
            return Ok(format);
        }
        let trouble = std::rc::Rc::new(stream::Trouble::default());
        let opened = stream::Opened::open(source, trouble)?;
        Ok(table::sniff(opened.head_text()))
    }

    fn from_extension(path: &str) -> Option<Format> {
        let ext = std::path::Path::new(path)
            .extension()?
            .to_str()?
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// The name as written in prose.
    pub fn label(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Json => "JSON",
            Format::Ndjson => "NDJSON",
        }
    }
}

/// The name accepted by `--format`: `csv`, `json`, `ndjson`.
impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        })
    }
}

/// Parses `csv`, `json`, `ndjson` or `jsonl`, ignoring case.
impl FromStr for Format {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            _ => Err(UnknownValue::new(
                "format",
                s,
                &["csv", "json", "ndjson", "jsonl"],
            )),
        }
    }
}

/// How to read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The file's format (see [`Format::detect`]).
    pub format: Format,
    /// The source every row gets unless it names its own; otherwise the recognised export's own
    /// (`cfpb`), otherwise `import`.
    pub source: Option<String>,
    /// Columns mapped to fields by hand, overriding recognition.
    pub mappings: Vec<Mapping>,
    /// The longest a field may be, in characters ([`DEFAULT_MAX_FIELD_CHARS`]).
    pub max_field_chars: usize,
    /// The observed date of rows that give none.
    pub today: NaiveDate,
}

impl ImportOptions {
    /// Options for `format` with no source, no mappings and the default field limit.
    pub fn new(format: Format, today: NaiveDate) -> Self {
        ImportOptions {
            format,
            source: None,
            mappings: Vec::new(),
            max_field_chars: DEFAULT_MAX_FIELD_CHARS,
            today,
        }
    }
}

/// Which layout of columns a file was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recognised {
    /// The CFPB Consumer Complaint Database export (CSV columns or JSON keys).
    Cfpb,
    /// Columns recognised one by one from their names (and `--map`).
    Generic,
}

impl fmt::Display for Recognised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Recognised::Cfpb => "CFPB complaints",
            Recognised::Generic => "generic columns",
        })
    }
}

/// A file read into rows, none of them stored yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// Every row, in file order, each an insight or the reason it was skipped.
    pub rows: Vec<Row>,
    /// Columns (or keys) that fed no field, in file order.
    pub ignored_columns: Vec<String>,
    /// How the columns were recognised.
    pub recognised: Recognised,
}

/// One row of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Where to find it: the 1-based data row of a CSV file (the header not counted), the line
    /// of an NDJSON file, the position in a JSON array (from 1).
    pub number: usize,
    /// The insight, or why the row was skipped.
    pub result: Result<InsightData, RowError>,
}

/// A whole file refused: nothing in it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file cannot be read.
    #[error("cannot read the file: {message}")]
    Io {
        /// What the system said.
        message: String,
    },
    /// A row longer than [`MAX_ROW_BYTES`]: not feedback, and not to be held in memory.
    #[error("{} is longer than {} bytes", row_name(*.row), thousands(*.max))]
    RowTooLong {
        /// The row as [`Row::number`] counts it (0: a CSV header).
        row: usize,
        /// The limit.
        max: usize,
    },
    /// No bytes, or only whitespace.
    #[error("the file is empty")]
    Empty,
    /// Text in UTF-16, as some spreadsheet programs save it.
    #[error("the file is UTF-16 text; save it as UTF-8")]
    Utf16,
    /// A NUL byte: a binary file (a spreadsheet, an archive) or UTF-16 without its marker.
    #[error(
        "the file holds a NUL byte (line {line}): it looks binary; export it as UTF-8 CSV or JSON"
    )]
    Binary {
        /// The line holding the first NUL byte.
        line: usize,
    },
    /// Bytes that are not UTF-8, often a Latin-1 or Windows-1252 export.
    #[error("the file is not UTF-8 text (byte 0x{byte:02X} on line {line}); save it as UTF-8")]
    NotUtf8 {
        /// The line holding the first invalid byte.
        line: usize,
        /// That byte.
        byte: u8,
    },
    /// The file is plainly another format than the one asked for.
    #[error(
        "the file looks like {}, not {}; import it with --format {found}",
        .found.label(),
        .claimed.label()
    )]
    WrongFormat {
        /// The format asked for.
        claimed: Format,
        /// The format it looks like.
        found: Format,
    },
    /// The CSV reader failed.
    #[error("CSV error on line {line}: {message}")]
    Csv {
        /// The line it failed on.
        line: usize,
        /// The reader's message.
        message: String,
    },
    /// A quoted CSV field that never closes, which would swallow the rest of the file.
    #[error("a quoted field opened on line {line} is never closed")]
    UnclosedQuote {
        /// The line where the quote opens.
        line: usize,
    },
    /// Most rows do not have as many fields as the header: not a CSV file, or the wrong
    /// separator.
    #[error(
        "{mismatched} of {rows} rows do not have the header's {expected} fields; \
         is this a CSV file with one header row?"
    )]
    InconsistentColumns {
        /// Fields in the header.
        expected: usize,
        /// Rows with another number of fields.
        mismatched: usize,
        /// Rows in all.
        rows: usize,
    },
    /// JSON that does not parse.
    #[error("JSON syntax error on line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// JSON that is not an array of objects.
    #[error("expected a JSON array of objects (or {{\"insights\": [...]}}), found {found}")]
    NotArray {
        /// What was found instead (`a string`, `an object without an "insights" array`).
        found: String,
    },
    /// NDJSON whose lines are JSON but none an object.
    #[error("expected one JSON object per line, found none")]
    NotObjects,
    /// Nothing can become an insight's title or body.
    #[error(
        "no {noun} holds the insight text; {noun}s are: {} — map one with --map {}=body",
        list_names(.columns),
        .noun.to_uppercase()
    )]
    NoTextColumn {
        /// `column` or `key`.
        noun: &'static str,
        /// The file's columns or keys.
        columns: Vec<String>,
    },
    /// A `--map` names a column the file does not have.
    #[error(
        "--map names {noun} {column:?}, which the file does not have{}; {noun}s are: {}",
        .suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default(),
        list_names(.columns)
    )]
    UnknownColumn {
        /// `column` or `key`.
        noun: &'static str,
        /// The column as given.
        column: String,
        /// The closest column, if close enough to be a typo.
        suggestion: Option<String>,
        /// The file's columns or keys.
        columns: Vec<String>,
    },
    /// Two `--map` entries feed the same field.
    #[error("{field} is mapped twice, from {first:?} and from {second:?}")]
    MappedTwice {
        /// The field.
        field: Field,
        /// The first column mapped to it.
        first: String,
        /// The second.
        second: String,
    },
}

/// One row skipped; the rest of the file goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// Neither a title nor a body.
    #[error("no text: the title and the body are both empty")]
    MissingText,
    /// An observed date in no accepted form.
    #[error(
        "{column}: {value:?} is not a date; write YYYY-MM-DD, MM/DD/YYYY \
         or an RFC 3339 time such as 2023-08-25T14:30:00Z"
    )]
    BadDate {
        /// The column it came from.
        column: String,
        /// The value (shortened when long).
        value: String,
    },
    /// A severity outside 1 to 5.
    #[error("{column}: severity must be a whole number from 1 to 5, not {value:?}")]
    BadSeverity {
        /// The column it came from.
        column: String,
        /// The value (shortened when long).
        value: String,
    },
    /// A stage, kind or sentiment that is not in its vocabulary.
    #[error("{column}: {error}")]
    BadValue {
        /// The column it came from.
        column: String,
        /// The value, with the nearest valid spelling.
        error: UnknownValue,
    },
    /// A link that is not an http(s) URL, which chat would render unsafely or not at all.
    #[error("{column}: {value:?} is not a link; write an http:// or https:// URL")]
    BadUrl {
        /// The column it came from.
        column: String,
        /// The value (shortened when long).
        value: String,
    },
    /// A field longer than the limit.
    #[error("{column} is {} characters long; the limit is {}", thousands(*.chars), thousands(*.max))]
    TooLong {
        /// The column.
        column: String,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A JSON value no field can hold, such as an object.
    #[error("{column} holds {found}, not text")]
    NotText {
        /// The key.
        column: String,
        /// What it holds.
        found: &'static str,
    },
    /// A NUL character (written `\u0000` in JSON), which no store keeps faithfully.
    #[error("{column} holds a NUL character")]
    Nul {
        /// The column or key.
        column: String,
    },
    /// A source_ref already used by an earlier row of the same source; the first row is kept.
    #[error("same source_ref {source_ref:?} as row {first_row}")]
    DuplicateRef {
        /// The repeated reference (shortened when long).
        source_ref: String,
        /// The row that has it first.
        first_row: usize,
    },
    /// A row without a source_ref identical to an earlier one; the first row is kept.
    #[error("same source, title, body and date as row {first_row}, and no source_ref")]
    DuplicateRow {
        /// The row that was first.
        first_row: usize,
    },
    /// A CSV row whose field count differs from the header's.
    #[error("has {found} fields; the header has {expected}")]
    FieldCount {
        /// Fields in this row.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// An NDJSON line that does not parse.
    #[error("JSON syntax error at column {column}: {message}")]
    Json {
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A JSON element or line that is not an object.
    #[error("is {found}, not an object")]
    NotAnObject {
        /// What it is.
        found: &'static str,
    },
    /// A key given twice in one object, so its value is ambiguous.
    #[error("key {key:?} appears twice")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

/// Reads a whole file in memory into rows: a [`FileError`] refuses the file, a [`RowError`]
/// skips a row.
pub fn read(bytes: &[u8], options: &ImportOptions) -> Result<Parsed, FileError> {
    let reader = Reader::open(&bytes, options)?;
    let mut rows = Vec::with_capacity(reader.total_rows());
    reader.rows(|row| {
        rows.push(row);
        ControlFlow::Continue(())
    })?;
    Ok(Parsed {
        rows,
        ignored_columns: reader.ignored_columns(),
        recognised: reader.recognised(),
    })
}

/// A file read as a stream: opened once to check it and learn its columns, then read again row
/// by row as often as wanted (to validate everything before writing anything, then to write).
pub struct Reader<'s> {
    source: &'s dyn Source,
    shape: table::Shape,
    plan: plan::Plan,
}

impl fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("columns", &self.shape.columns)
            .field("rows", &self.shape.records)
            .finish_non_exhaustive()
    }
}

impl<'s> Reader<'s> {
    /// Reads through `source` once, holding no row: refuses a file that is not what
    /// `options.format` says, does not parse, has a row over [`MAX_ROW_BYTES`] or no column for
    /// the insight text; otherwise decides which column feeds which field.
    pub fn open(source: &'s dyn Source, options: &ImportOptions) -> Result<Self, FileError> {
        let shape = table::scan(source, options.format)?;
        let plan = plan::Plan::new(&shape, options)?;
        Ok(Reader {
            source,
            shape,
            plan,
        })
    }

    /// Rows in the file, good and bad.
    pub fn total_rows(&self) -> usize {
        self.shape.records
    }

    /// How the columns were recognised.
    pub fn recognised(&self) -> Recognised {
        self.plan.recognised()
    }

    /// Columns (or keys) that feed no field, in file order.
    pub fn ignored_columns(&self) -> Vec<String> {
        self.plan.ignored_columns()
    }

    /// Reads the file again from the start, handing each row to `each` in file order until it
    /// returns [`ControlFlow::Break`]. Returns false when `each` stopped it. A [`FileError`] here
    /// means the file changed since it was opened (or cannot be read any more).
    pub fn rows(&self, mut each: impl FnMut(Row) -> ControlFlow<()>) -> Result<bool, FileError> {
        let mut builder = plan::Builder::new(&self.plan);
        table::records(self.source, &self.shape, &mut |record| {
            each(builder.row(record))
        })
    }
}

/// `row 3`, or `the header row` for row 0.
fn row_name(row: usize) -> String {
    if row == 0 {
        "the header row".to_string()
    } else {
        format!("row {row}")
    }
}

/// Names for a message: each shortened, at most 30 of them.
fn list_names(names: &[String]) -> String {
    const SHOWN: usize = 30;
    if names.is_empty() {
        return "(none)".into();
    }
    let mut out = names
        .iter()
        .take(SHOWN)
        .map(|n| clip(n, 40))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" … and {} more", names.len() - SHOWN));
    }
    out
}

/// `value` cut to `max` characters, with an ellipsis when cut, so hostile values cannot flood a
/// message.
fn clip(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

/// `25000` as `25,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
