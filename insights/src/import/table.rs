//! From a file's bytes to a table of cells: decoding, telling the formats apart, and reading
//! CSV, JSON and NDJSON into one shape, so recognising columns and building insights is written
//! once for all three.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, Read};
use std::ops::ControlFlow;
use std::rc::Rc;

use serde::Deserialize;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::stream::{Meter, Metered, Opened, Trouble};
use super::{FileError, Format, MAX_ROW_BYTES, RowError, Source};

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

/// The start of a file as text, to tell its format by: a UTF-8 byte order mark is dropped;
/// empty, binary and non-UTF-8 files are refused.
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
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text),
        // The start of a file may end in the middle of a character.
        Err(e) if e.error_len().is_none() => {
            Ok(std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default())
        }
        Err(e) => {
            let at = e.valid_up_to();
            Err(FileError::NotUtf8 {
                line: line_at(bytes, at),
                byte: bytes[at],
            })
        }
    }
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
#[derive(Debug, Clone, Default)]
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

/// What a first pass over a file found: enough to decide which cell feeds which field before
/// any row is built.
#[derive(Debug)]
pub(super) struct Shape {
    /// What the columns are called.
    pub noun: Noun,
    /// Column headers or JSON keys, in the order first seen.
    pub columns: Vec<String>,
    /// Records in the file (each becomes a row, good or bad).
    pub records: usize,
    layout: Layout,
    /// Every JSON key with its column.
    keys: Keys,
}

#[derive(Debug, Clone, Copy)]
enum Layout {
    Csv { delimiter: u8, width: usize },
    Json { looks_like: Format },
    Ndjson,
}

/// The CSV reader's buffer: it reads this far past the record it is on.
const CSV_BUFFER: usize = 64 * 1024;

/// Reads the file once, without keeping its rows: refuses it if it is plainly another format,
/// does not parse, or is not a table; otherwise says what its columns are and how many records
/// it has.
pub(super) fn scan(source: &dyn Source, format: Format) -> Result<Shape, FileError> {
    let trouble = Rc::new(Trouble::default());
    let opened = Opened::open(source, trouble.clone())?;
    let head = opened.head_text();
    let looks_like = sniff(head);
    let first_line_json = first_line_is_json(head);
    let starts_array = head.trim_start().starts_with('[');
    let delimiter = sniff_delimiter(head);
    let wrong = |found| FileError::WrongFormat {
        claimed: format,
        found,
    };
    match (format, looks_like) {
        (Format::Csv, Format::Json | Format::Ndjson) => Err(wrong(looks_like)),
        (Format::Ndjson, Format::Csv) if !first_line_json => Err(wrong(Format::Csv)),
        // A JSON document whose first line is not an object on its own (an array, a pretty
        // printed object) would otherwise be read line by line into nonsense.
        (Format::Ndjson, Format::Json) if starts_array || is_one_json_value(source) => {
            Err(wrong(Format::Json))
        }
        (Format::Csv, Format::Csv) => scan_csv(opened, trouble, delimiter),
        (Format::Json, _) => scan_json(opened, trouble, looks_like),
        (Format::Ndjson, _) => {
            drop(opened);
            scan_ndjson(source, trouble)
        }
    }
}

/// Reads every record of a file [`scan`] accepted, in file order, handing each to `each` until
/// it breaks. False when `each` stopped the pass.
pub(super) fn records(
    source: &dyn Source,
    shape: &Shape,
    each: &mut dyn FnMut(Record) -> ControlFlow<()>,
) -> Result<bool, FileError> {
    let trouble = Rc::new(Trouble::default());
    match shape.layout {
        Layout::Csv { delimiter, width } => {
            let opened = Opened::open(source, trouble.clone())?;
            let mut csv = CsvRecords::new(opened, trouble, delimiter);
            if !csv.next()? {
                return Ok(true);
            }
            while csv.next()? {
                let Some(number) = csv.data_number() else {
                    continue;
                };
                let record = &csv.record;
                let cells = if record.len() == width {
                    Ok(record.iter().map(|f| Cell::Text(f.to_string())).collect())
                } else {
                    Err(RowError::FieldCount {
                        found: record.len(),
                        expected: width,
                    })
                };
                if each(Record { number, cells }).is_break() {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Layout::Json { looks_like } => {
            let opened = Opened::open(source, trouble.clone())?;
            let mut keys = shape.keys.clone();
            json_elements(opened, &trouble, looks_like, &mut |number, node| {
                each(Record {
                    number,
                    cells: match node {
                        Node::Object(pairs) => keys.cells(pairs),
                        other => Err(RowError::NotAnObject {
                            found: other.kind(),
                        }),
                    },
                })
            })?;
            Ok(!trouble.stopped())
        }
        Layout::Ndjson => {
            let mut keys = shape.keys.clone();
            let mut stopped = false;
            ndjson_lines(source, &trouble, &mut |number, parsed| {
                let cells = match parsed {
                    Ok(Node::Object(pairs)) => keys.cells(pairs),
                    Ok(other) => Err(RowError::NotAnObject {
                        found: other.kind(),
                    }),
                    Err(e) => Err(RowError::Json {
                        column: e.column(),
                        message: json_message(&e),
                    }),
                };
                let flow = each(Record { number, cells });
                stopped = flow.is_break();
                flow
            })?;
            Ok(!stopped)
        }
    }
}

fn io_error(e: &std::io::Error) -> FileError {
    FileError::Io {
        message: e.to_string(),
    }
}

/// Records of a CSV file one at a time, none longer than [`MAX_ROW_BYTES`].
struct CsvRecords<'a> {
    reader: csv::Reader<Metered<Box<dyn Read + 'a>>>,
    meter: Rc<Meter>,
    trouble: Rc<Trouble>,
    delimiter: u8,
    record: csv::StringRecord,
    /// Where the record last read starts.
    start: u64,
    /// Records read, the header included.
    read: usize,
}

impl<'a> CsvRecords<'a> {
    fn new(opened: Opened<'a>, trouble: Rc<Trouble>, delimiter: u8) -> Self {
        let meter = Meter::new(true);
        let inner: Box<dyn Read + 'a> = Box::new(opened.into_reader());
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(Metered::new(inner, meter.clone(), trouble.clone()));
        CsvRecords {
            reader,
            meter,
            trouble,
            delimiter,
            record: csv::StringRecord::new(),
            start: 0,
            read: 0,
        }
    }

    /// The data row number of the record just read (the header is not counted), or `None` for
    /// the header and for rows of bare separators, which spreadsheets pad exports with.
    fn data_number(&self) -> Option<usize> {
        (self.read > 1 && !self.record.iter().all(|f| f.trim().is_empty())).then_some(self.read - 1)
    }

    /// Reads the next record into `self.record`; false at the end of the file.
    fn next(&mut self) -> Result<bool, FileError> {
        let start = self.reader.position().byte();
        self.meter.keep_from(self.start);
        self.meter.allow_from(start, MAX_ROW_BYTES + CSV_BUFFER);
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {
                self.start = start;
                self.read += 1;
                Ok(true)
            }
            Ok(false) => {
                // The reader never complains about a quote left open: it quietly swallows the
                // rest of the file into one field, so look for it before rows silently
                // disappear.
                if self.read > 0 {
                    let (last, line) = self.meter.tail_from(self.start);
                    if let Some(offset) = unclosed_quote(&last, self.delimiter) {
                        return Err(FileError::UnclosedQuote {
                            line: line + line_at(&last, offset) - 1,
                        });
                    }
                }
                Ok(false)
            }
            Err(e) => {
                let row = self.read;
                // A quote left open swallows the rest of the file too, but it cannot be told
                // from a long quoted field until the end: the row is only said to be too long.
                let explained = self.trouble.explain(|| FileError::RowTooLong {
                    row,
                    max: MAX_ROW_BYTES,
                });
                Err(explained.unwrap_or_else(|| match e.kind() {
                    csv::ErrorKind::Io(io) => io_error(io),
                    _ => FileError::Csv {
                        line: e.position().map_or(0, |p| p.line() as usize),
                        message: e.to_string(),
                    },
                }))
            }
        }
    }
}

fn scan_csv(opened: Opened<'_>, trouble: Rc<Trouble>, delimiter: u8) -> Result<Shape, FileError> {
    let mut csv = CsvRecords::new(opened, trouble, delimiter);
    if !csv.next()? {
        return Err(FileError::Empty);
    }
    let columns: Vec<String> = csv
        .record
        .iter()
        .enumerate()
        .map(|(i, name)| match name.trim() {
            "" => format!("column {}", i + 1),
            name => name.to_string(),
        })
        .collect();
    let width = columns.len();
    let (mut records, mut mismatched) = (0, 0);
    while csv.next()? {
        if csv.data_number().is_some() {
            records += 1;
            if csv.record.len() != width {
                mismatched += 1;
            }
        }
    }
    if mismatched > 0 && mismatched * 2 > records {
        return Err(FileError::InconsistentColumns {
            expected: width,
            mismatched,
            rows: records,
        });
    }
    Ok(Shape {
        noun: Noun::Column,
        columns,
        records,
        layout: Layout::Csv { delimiter, width },
        keys: Keys::default(),
    })
}

/// Whether the whole file is one JSON value (a pretty-printed object spans many lines).
fn is_one_json_value(source: &dyn Source) -> bool {
    let trouble = Rc::new(Trouble::default());
    let Ok(opened) = Opened::open(source, trouble) else {
        return false;
    };
    let reader = std::io::BufReader::new(opened.into_reader());
    let mut de = serde_json::Deserializer::from_reader(reader);
    IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

fn scan_json(
    opened: Opened<'_>,
    trouble: Rc<Trouble>,
    looks_like: Format,
) -> Result<Shape, FileError> {
    let mut keys = Keys::default();
    let (mut records, mut objects) = (0, 0);
    let mut first_kinds = None;
    json_elements(opened, &trouble, looks_like, &mut |_, node| {
        records += 1;
        first_kinds.get_or_insert(node.kinds());
        if let Node::Object(pairs) = &node {
            objects += 1;
            for (key, _) in pairs {
                keys.index_of(key);
            }
        }
        ControlFlow::Continue(())
    })?;
    if let Some(kinds) = first_kinds
        && objects == 0
    {
        return Err(FileError::NotArray {
            found: format!("an array of {kinds}"),
        });
    }
    Ok(Shape {
        noun: Noun::Key,
        columns: keys.names.clone(),
        records,
        layout: Layout::Json { looks_like },
        keys,
    })
}

/// Hands each element of the file's array (or of its `"insights"` array) to `each`, one at a
/// time: the array itself is never held.
fn json_elements(
    opened: Opened<'_>,
    trouble: &Rc<Trouble>,
    looks_like: Format,
    each: &mut dyn FnMut(usize, Node) -> ControlFlow<()>,
) -> Result<(), FileError> {
    let meter = Meter::new(false);
    let reader = Metered::new(
        std::io::BufReader::with_capacity(64 * 1024, opened.into_reader()),
        meter.clone(),
        trouble.clone(),
    );
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut sink = Sink {
        each,
        meter: &meter,
        trouble,
        number: 0,
    };
    let result = de
        .deserialize_any(TopVisitor { sink: &mut sink })
        .and_then(|shape| {
            de.end()?;
            Ok(shape)
        });
    let number = sink.number;
    match result {
        Ok(shape) => shape,
        Err(_) if trouble.stopped() => Ok(()),
        Err(e) => Err(trouble
            .explain(|| FileError::RowTooLong {
                row: number,
                max: MAX_ROW_BYTES,
            })
            .unwrap_or_else(|| {
                if e.is_io() {
                    FileError::Io {
                        message: e.to_string(),
                    }
                } else if looks_like != Format::Json {
                    FileError::WrongFormat {
                        claimed: Format::Json,
                        found: looks_like,
                    }
                } else {
                    FileError::Json {
                        line: e.line(),
                        column: e.column(),
                        message: json_message(&e),
                    }
                }
            })),
    }
}

/// Where [`TopVisitor`] sends the elements.
struct Sink<'a, 'f> {
    each: &'f mut dyn FnMut(usize, Node) -> ControlFlow<()>,
    meter: &'a Meter,
    trouble: &'a Trouble,
    /// The element being read.
    number: usize,
}

impl Sink<'_, '_> {
    fn elements<'de, A: SeqAccess<'de>>(&mut self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.number += 1;
            self.meter.allow(MAX_ROW_BYTES);
            let Some(node) = seq.next_element::<Node>()? else {
                break;
            };
            if (self.each)(self.number, node).is_break() {
                self.trouble.stop();
                return Err(de::Error::custom("stopped"));
            }
        }
        self.number -= 1;
        self.meter.unlimited();
        Ok(())
    }
}

/// The top of a JSON file: an array, or an object with an `"insights"` array. Anything else is
/// refused once the value is read.
struct TopVisitor<'s, 'a, 'f> {
    sink: &'s mut Sink<'a, 'f>,
}

fn not_array(found: impl Into<String>) -> Result<(), FileError> {
    Err(FileError::NotArray {
        found: found.into(),
    })
}

impl<'de> Visitor<'de> for TopVisitor<'_, '_, '_> {
    type Value = Result<(), FileError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(not_array(Node::Bool(true).kind()))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(not_array("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(not_array("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(not_array("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(not_array("a string"))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(not_array("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.sink.elements(seq).map(Ok)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "insights" && found.is_none() {
                found = Some(map.next_value_seed(InsightsSeed {
                    sink: &mut *self.sink,
                })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found.unwrap_or_else(|| not_array("an object without an \"insights\" array")))
    }
}

/// The value of `"insights"`: streamed when it is an array.
struct InsightsSeed<'s, 'a, 'f> {
    sink: &'s mut Sink<'a, 'f>,
}

impl<'de> de::DeserializeSeed<'de> for InsightsSeed<'_, '_, '_> {
    type Value = Result<(), FileError>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InsightsSeed<'_, '_, '_> {
    type Value = Result<(), FileError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.sink.elements(seq).map(Ok)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(whose("an object"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(whose("true or false"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(whose("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(whose("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(whose("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(whose("a string"))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(whose("null"))
    }
}

fn whose(kind: &str) -> Result<(), FileError> {
    not_array(format!("an object whose \"insights\" is {kind}"))
}

fn scan_ndjson(source: &dyn Source, trouble: Rc<Trouble>) -> Result<Shape, FileError> {
    let mut keys = Keys::default();
    let (mut records, mut objects) = (0, 0);
    let mut first_error = None;
    ndjson_lines(source, &trouble, &mut |number, parsed| {
        records += 1;
        match parsed {
            Ok(Node::Object(pairs)) => {
                objects += 1;
                for (key, _) in &pairs {
                    keys.index_of(key);
                }
            }
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert_with(|| FileError::Json {
                    line: number,
                    column: e.column(),
                    message: json_message(&e),
                });
            }
        }
        ControlFlow::Continue(())
    })?;
    if objects == 0 {
        // A pretty-printed JSON document has no line that is an object on its own.
        if is_one_json_value(source) {
            return Err(FileError::WrongFormat {
                claimed: Format::Ndjson,
                found: Format::Json,
            });
        }
        return Err(first_error.unwrap_or(FileError::NotObjects));
    }
    Ok(Shape {
        noun: Noun::Key,
        columns: keys.names.clone(),
        records,
        layout: Layout::Ndjson,
        keys,
    })
}

/// Parses each line that is not blank, handing it with its 1-based line number to `each`.
fn ndjson_lines(
    source: &dyn Source,
    trouble: &Rc<Trouble>,
    each: &mut dyn FnMut(usize, Result<Node, serde_json::Error>) -> ControlFlow<()>,
) -> Result<(), FileError> {
    let opened = Opened::open(source, trouble.clone())?;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, opened.into_reader());
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        number += 1;
        line.clear();
        let more = read_line(&mut reader, &mut line).map_err(|e| {
            trouble
                .explain(|| too_long(number))
                .unwrap_or_else(|| io_error(&e))
        })?;
        match more {
            Line::End => return Ok(()),
            Line::TooLong => {
                return Err(too_long(number));
            }
            Line::Read => {}
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if each(number, serde_json::from_slice::<Node>(&line)).is_break() {
            return Ok(());
        }
    }
}

fn too_long(row: usize) -> FileError {
    FileError::RowTooLong {
        row,
        max: MAX_ROW_BYTES,
    }
}

enum Line {
    Read,
    End,
    TooLong,
}

/// Reads one line (without its `\n`) into `line`, refusing to buffer more than
/// [`MAX_ROW_BYTES`].
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Line> {
    let mut any = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(if any { Line::Read } else { Line::End });
        }
        any = true;
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (buf.len(), false),
        };
        if line.len() + take > MAX_ROW_BYTES {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take + usize::from(done));
        if done {
            return Ok(Line::Read);
        }
    }
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
