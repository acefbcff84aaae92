//! From a file's bytes to a table of cells: decoding, telling the formats apart, and reading
//! CSV, JSON and NDJSON into one shape, so recognising columns and building insights is written
//! once for all three.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{FileError, Format, RowError};

/// What a file calls its columns, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Noun {
    /// CSV headers.
    Column,
    /// JSON object keys.
    Key,
}

impl Noun {
    pub(super) fn one(self) -> &'static str {
        match self {
            Noun::Column => "column",
            Noun::Key => "key",
        }
    }
}

/// One value of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cell {
    /// No value (an absent key, `null`, `[]`).
    Missing,
    /// A string, number or boolean, as text.
    Text(String),
    /// A JSON array of strings, numbers or booleans.
    List(Vec<String>),
    /// A value no field can hold, described (`an object`).
    Other(&'static str),
}

/// One record of the file, before it means anything.
#[derive(Debug)]
pub(super) struct Record {
    /// The row number people are told about.
    pub number: usize,
    /// Its cells, indexed like the table's columns (possibly fewer: the rest are missing), or why
    /// it could not be read.
    pub cells: Result<Vec<Cell>, RowError>,
}

/// A file read into columns and records.
#[derive(Debug)]
pub(super) struct Table {
    /// What the columns are called.
    pub noun: Noun,
    /// Column headers or JSON keys, in the order first seen.
    pub columns: Vec<String>,
    /// Every record, in file order.
    pub records: Vec<Record>,
}

/// The file as text: a UTF-8 byte order mark is dropped; empty, binary and non-UTF-8 files are
/// refused.
pub(super) fn decode(bytes: &[u8]) -> Result<&str, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::Empty);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(FileError::Utf16);
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(FileError::Binary {
            line: line_at(bytes, at),
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        FileError::NotUtf8 {
            line: line_at(bytes, at),
            byte: bytes[at],
        }
    })
}

/// The 1-based line holding byte `at`.
fn line_at(bytes: &[u8], at: usize) -> usize {
    bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The format the text looks like: a JSON array or wrapper object, one object per line, or CSV.
pub(super) fn sniff(text: &str) -> Format {
    let text = text.trim_start();
    match text.as_bytes().first() {
        Some(b'[') => Format::Json,
        Some(b'{') => {
            let first_line = text.lines().next().unwrap_or_default();
            match serde_json::from_str::<Node>(first_line) {
                Ok(Node::Object(pairs)) if !is_wrapper(&pairs) => Format::Ndjson,
                _ => Format::Json,
            }
        }
        _ => Format::Csv,
    }
}

/// `{"insights": [...]}`, the one object accepted in place of an array.
fn is_wrapper(pairs: &[(String, Node)]) -> bool {
    pairs
        .iter()
        .any(|(k, v)| k == "insights" && matches!(v, Node::Array(_)))
}

/// Reads `text` as `format`, refusing a file that is plainly another format.
pub(super) fn read_table(text: &str, format: Format) -> Result<Table, FileError> {
    let looks_like = sniff(text);
    let wrong = |found| FileError::WrongFormat {
        claimed: format,
        found,
    };
    match (format, looks_like) {
        (Format::Csv, Format::Json | Format::Ndjson) => Err(wrong(looks_like)),
        // JSON that is neither an array nor an object (`"text"`, `42`) is still JSON: let the
        // reader say what it expected instead.
        (Format::Json, Format::Csv) if serde_json::from_str::<IgnoredAny>(text).is_err() => {
            Err(wrong(Format::Csv))
        }
        (Format::Ndjson, Format::Csv) if !first_line_is_json(text) => Err(wrong(Format::Csv)),
        // A JSON document whose first line is not an object on its own (an array, a pretty
        // printed object) would otherwise be read line by line into nonsense.
        (Format::Ndjson, Format::Json)
            if text.trim_start().starts_with('[')
                || serde_json::from_str::<IgnoredAny>(text).is_ok() =>
        {
            Err(wrong(Format::Json))
        }
        (Format::Csv, Format::Csv) => read_csv(text),
        (Format::Json, _) => read_json(text, looks_like),
        (Format::Ndjson, _) => read_ndjson(text),
    }
}

fn first_line_is_json(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| serde_json::from_str::<IgnoredAny>(l).is_ok())
}

/// The field separator, guessed from the header line: the most frequent of `,` `;` and tab
/// outside quotes (spreadsheets in many locales write `;`), `,` when in doubt.
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(slot) = counts.iter_mut().find(|(d, _)| *d == b) {
                    slot.1 += 1;
                }
            }
            _ => {}
        }
    }
    // `max_by_key` keeps the last of equals: reversed, ties go to the comma.
    counts
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

fn read_csv(text: &str) -> Result<Table, FileError> {
    let delimiter = sniff_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut raw = Vec::new();
    for record in reader.records() {
        raw.push(record.map_err(|e| FileError::Csv {
            line: e.position().map_or(0, |p| p.line() as usize),
            message: e.to_string(),
        })?);
    }
    // The reader never complains about a quote left open: it quietly swallows the rest of the
    // file into one field, so look for it before rows silently disappear.
    if let Some(last) = raw.last()
        && let Some(pos) = last.position()
    {
        let start = usize::try_from(pos.byte())
            .unwrap_or(text.len())
            .min(text.len());
        if let Some(offset) = unclosed_quote(&text.as_bytes()[start..], delimiter) {
            return Err(FileError::UnclosedQuote {
                line: line_at(text.as_bytes(), start + offset),
            });
        }
    }
    let mut raw = raw.into_iter();
    let Some(header) = raw.next() else {
        return Err(FileError::Empty);
    };
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, name)| match name.trim() {
            "" => format!("column {}", i + 1),
            name => name.to_string(),
        })
        .collect();
    let width = columns.len();
    let mut records = Vec::new();
    let mut mismatched = 0;
    for (index, record) in raw.enumerate() {
        // Spreadsheets pad exports with rows of bare separators: nothing there to import.
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let cells = if record.len() == width {
            Ok(record.iter().map(|f| Cell::Text(f.to_string())).collect())
        } else {
            mismatched += 1;
            Err(RowError::FieldCount {
                found: record.len(),
                expected: width,
            })
        };
        records.push(Record {
            number: index + 1,
            cells,
        });
    }
    if mismatched > 0 && mismatched * 2 > records.len() {
        return Err(FileError::InconsistentColumns {
            expected: width,
            mismatched,
            rows: records.len(),
        });
    }
    Ok(Table {
        noun: Noun::Column,
        columns,
        records,
    })
}

/// Where a quoted field that never closes starts in the last record, read the way the CSV reader
/// reads it: a quote opens a field only at its start, `""` inside is an escaped quote.
fn unclosed_quote(record: &[u8], delimiter: u8) -> Option<usize> {
    let mut i = 0;
    while i < record.len() && matches!(record[i], b'\r' | b'\n') {
        i += 1;
    }
    let mut field_start = true;
    let mut opened = None;
    while i < record.len() {
        let b = record[i];
        if opened.is_some() {
            if b == b'"' {
                if record.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                opened = None;
            }
        } else if b == b'"' && field_start {
            opened = Some(i);
            field_start = false;
        } else if b == delimiter {
            field_start = true;
        } else if b == b'\n' || b == b'\r' {
            return None;
        } else {
            field_start = false;
        }
        i += 1;
    }
    opened
}

/// A JSON value keeping its object keys in file order (and every repeat of a key), so columns are
/// listed as the file lists them and a key given twice is noticed.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Null,
    Bool(bool),
    Number(String),
    Text(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// What it is, for messages.
    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "true or false",
            Node::Number(_) => "a number",
            Node::Text(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }

    fn kinds(&self) -> &'static str {
        match self {
            Node::Null => "nulls",
            Node::Bool(_) => "booleans",
            Node::Number(_) => "numbers",
            Node::Text(_) => "strings",
            Node::Array(_) => "arrays",
            Node::Object(_) => "objects",
        }
    }

    fn scalar_text(self) -> Option<String> {
        match self {
            Node::Bool(b) => Some(b.to_string()),
            Node::Number(n) | Node::Text(n) => Some(n),
            Node::Null | Node::Array(_) | Node::Object(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(Node::Object(pairs))
    }
}

/// serde_json's message without the position it appends, since the position is reported apart.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

/// The keys seen so far, each with its column index.
#[derive(Default)]
struct Keys {
    index: HashMap<String, usize>,
    names: Vec<String>,
}

impl Keys {
    fn index_of(&mut self, key: &str) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        self.names.push(key.to_string());
        self.index.insert(key.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }

    /// The cells of one object; every key becomes a column even when the row is refused.
    fn cells(&mut self, pairs: Vec<(String, Node)>) -> Result<Vec<Cell>, RowError> {
        let indexes: Vec<usize> = pairs.iter().map(|(k, _)| self.index_of(k)).collect();
        let mut seen = HashSet::new();
        if let Some((key, _)) = pairs.iter().find(|(k, _)| !seen.insert(k.as_str())) {
            return Err(RowError::DuplicateKey { key: key.clone() });
        }
        let mut cells = Vec::new();
        for (i, (_, node)) in indexes.into_iter().zip(pairs) {
            if cells.len() <= i {
                cells.resize(i + 1, Cell::Missing);
            }
            cells[i] = cell(node);
        }
        Ok(cells)
    }
}

fn cell(node: Node) -> Cell {
    match node {
        Node::Null => Cell::Missing,
        Node::Array(items) => {
            if items
                .iter()
                .any(|i| matches!(i, Node::Array(_) | Node::Object(_)))
            {
                return Cell::Other("an array of arrays or objects");
            }
            let items: Vec<String> = items.into_iter().filter_map(Node::scalar_text).collect();
            if items.is_empty() {
                Cell::Missing
            } else {
                Cell::List(items)
            }
        }
        Node::Object(_) => Cell::Other("an object"),
        scalar => scalar.scalar_text().map_or(Cell::Missing, Cell::Text),
    }
}

fn read_json(text: &str, looks_like: Format) -> Result<Table, FileError> {
    let node: Node = serde_json::from_str(text).map_err(|e| {
        if looks_like == Format::Ndjson {
            FileError::WrongFormat {
                claimed: Format::Json,
                found: Format::Ndjson,
            }
        } else {
            FileError::Json {
                line: e.line(),
                column: e.column(),
                message: json_message(&e),
            }
        }
    })?;
    let elements = match node {
        Node::Array(elements) => elements,
        Node::Object(pairs) => match pairs.into_iter().find(|(k, _)| k == "insights") {
            Some((_, Node::Array(elements))) => elements,
            Some((_, other)) => {
                return Err(FileError::NotArray {
                    found: format!("an object whose \"insights\" is {}", other.kind()),
                });
            }
            None => {
                return Err(FileError::NotArray {
                    found: "an object without an \"insights\" array".into(),
                });
            }
        },
        other => {
            return Err(FileError::NotArray {
                found: other.kind().into(),
            });
        }
    };
    if let Some(first) = elements.first()
        && !elements.iter().any(|e| matches!(e, Node::Object(_)))
    {
        return Err(FileError::NotArray {
            found: format!("an array of {}", first.kinds()),
        });
    }
    let mut keys = Keys::default();
    let records = elements
        .into_iter()
        .enumerate()
        .map(|(i, element)| Record {
            number: i + 1,
            cells: match element {
                Node::Object(pairs) => keys.cells(pairs),
                other => Err(RowError::NotAnObject {
                    found: other.kind(),
                }),
            },
        })
        .collect();
    Ok(Table {
        noun: Noun::Key,
        columns: keys.names,
        records,
    })
}

fn read_ndjson(text: &str) -> Result<Table, FileError> {
    let mut keys = Keys::default();
    let mut records = Vec::new();
    let mut objects = 0;
    let mut first_error = None;
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = i + 1;
        let cells = match serde_json::from_str::<Node>(line) {
            Ok(Node::Object(pairs)) => {
                objects += 1;
                keys.cells(pairs)
            }
            Ok(other) => Err(RowError::NotAnObject {
                found: other.kind(),
            }),
            Err(e) => {
                first_error.get_or_insert_with(|| FileError::Json {
                    line: number,
                    column: e.column(),
                    message: json_message(&e),
                });
                Err(RowError::Json {
                    column: e.column(),
                    message: json_message(&e),
                })
            }
        };
        records.push(Record { number, cells });
    }
    if objects == 0 {
        // A pretty-printed JSON document has no line that is an object on its own.
        if serde_json::from_str::<IgnoredAny>(text).is_ok() {
            return Err(FileError::WrongFormat {
                claimed: Format::Ndjson,
                found: Format::Json,
            });
        }
        return Err(first_error.unwrap_or(FileError::NotObjects));
    }
    Ok(Table {
        noun: Noun::Key,
        columns: keys.names,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sniffed_from_the_header() {
        assert_eq!(sniff_delimiter("a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(sniff_delimiter("a;b;c\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter("\"x;y;z\",b\n"), b',');
        assert_eq!(sniff_delimiter("single"), b',');
        assert_eq!(sniff_delimiter("a,b;c\n"), b',');
    }

    #[test]
    fn an_unclosed_quote_is_found_where_it_opens() {
        assert_eq!(unclosed_quote(b"1,\"x\n2,3\n", b','), Some(2));
        assert_eq!(unclosed_quote(b"\n\n1,\"x\"\"y", b','), Some(4));
        assert_eq!(unclosed_quote(b"1,\"x\"\"y\"\n", b','), None);
        assert_eq!(unclosed_quote(b"5\" screen,2\n", b','), None);
        assert_eq!(unclosed_quote(b"1,2", b','), None);
    }

    #[test]
    fn json_keeps_key_order_and_repeats() {
        let node: Node =
            serde_json::from_str(r#"{"z": 1, "a": [true, null], "z": 2.5}"#).expect("valid JSON");
        assert_eq!(
            node,
            Node::Object(vec![
                ("z".into(), Node::Number("1".into())),
                ("a".into(), Node::Array(vec![Node::Bool(true), Node::Null])),
                ("z".into(), Node::Number("2.5".into())),
            ])
        );
    }
}
