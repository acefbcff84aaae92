//! Each segment's fast fields, read once into plain arrays and kept while the segment lives.
//!
//! A search reads five or six values of every match (id, day, severity, account, segment,
//! themes). Read from Tantivy's columns, each value costs a trip through the column's codec and,
//! for optional and multi-valued columns, a rank lookup in its index; a common word visits most
//! of the store, so those lookups were most of a search's time. Segments never change once
//! written, so their values are decoded once, when a search first meets the segment, into
//! arrays indexed by document. Text values (accounts, themes, segments) become numbers shared by
//! every segment, so that counts from all segments add up by number and become names once per
//! search, not once per segment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use tantivy::columnar::StrColumn;
use tantivy::index::SegmentId;
use tantivy::{DocId, SegmentReader};

/// No value.
pub(crate) const NONE: u32 = u32::MAX;

/// Distinct text values and their numbers, in the order first met.
#[derive(Debug, Default)]
pub(crate) struct Names {
    numbers: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn number(&mut self, name: &str) -> u32 {
        if let Some(n) = self.numbers.get(name) {
            return *n;
        }
        let n = self.names.len() as u32;
        self.names.push(name.to_string());
        self.numbers.insert(name.to_string(), n);
        n
    }

    /// The value numbered `n`.
    pub(crate) fn name(&self, n: u32) -> &str {
        &self.names[n as usize]
    }

    /// How many values there are (numbers run from 0 to this).
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The values, by number.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(n, name)| (n as u32, name.as_str()))
    }
}

/// The numbering of each text column's values.
#[derive(Debug, Default)]
pub(crate) struct Dictionaries {
    /// Account keys.
    pub accounts: Names,
    /// `key␟Name` of themes.
    pub themes: Names,
    /// `key␟Name` of segments.
    pub segments: Names,
    /// Main theme keys.
    pub main_themes: Names,
}

/// One segment's values, by document.
#[derive(Debug)]
pub(crate) struct SegmentColumns {
    pub ids: Vec<u64>,
    pub days: Vec<i32>,
    pub min_day: i64,
    pub max_day: i64,
    /// 1 to 5.
    pub severity: Vec<u8>,
    /// Numbers in [`Dictionaries`], or [`NONE`].
    pub account: Vec<u32>,
    pub segment: Vec<u32>,
    pub main_theme: Vec<u32>,
    /// The themes of document `d` are `themes[theme_starts[d]..theme_starts[d + 1]]`.
    theme_starts: Vec<u32>,
    themes: Vec<u32>,
}

impl SegmentColumns {
    /// The theme numbers of a document.
    pub(crate) fn themes(&self, doc: DocId) -> &[u32] {
        let doc = doc as usize;
        &self.themes[self.theme_starts[doc] as usize..self.theme_starts[doc + 1] as usize]
    }

    /// The observed day number of a document.
    pub(crate) fn day(&self, doc: DocId) -> i64 {
        i64::from(self.days[doc as usize])
    }
}

/// The columns of the segments searched lately, and the numbering of their text values.
#[derive(Debug, Default)]
pub(crate) struct ColumnCache {
    names: RwLock<Dictionaries>,
    segments: Mutex<HashMap<SegmentId, Arc<SegmentColumns>>>,
}

fn poisoned() -> tantivy::TantivyError {
    tantivy::TantivyError::InternalError("the column cache was poisoned by a panic".to_string())
}

/// Number of each of a column's term ordinals.
fn numbering(column: &Option<StrColumn>, names: &mut Names) -> tantivy::Result<Vec<u32>> {
    let Some(column) = column else {
        return Ok(Vec::new());
    };
    let mut numbers = Vec::with_capacity(column.num_terms());
    let mut name = String::new();
    for ord in 0..column.num_terms() as u64 {
        name.clear();
        column.ord_to_str(ord, &mut name)?;
        numbers.push(names.number(&name));
    }
    Ok(numbers)
}

/// Each document's first value of a single-valued text column, as a number.
fn first_numbers(column: &Option<StrColumn>, numbers: &[u32], max_doc: DocId) -> Vec<u32> {
    match column {
        Some(column) => (0..max_doc)
            .map(|doc| {
                column
                    .term_ords(doc)
                    .next()
                    .map_or(NONE, |ord| numbers[ord as usize])
            })
            .collect(),
        None => vec![NONE; max_doc as usize],
    }
}

impl ColumnCache {
    /// The numbering of text values. Numbers only ever grow: every number a segment's columns
    /// hold is below the lengths read after the segment was loaded.
    pub(crate) fn names(&self) -> tantivy::Result<RwLockReadGuard<'_, Dictionaries>> {
        self.names.read().map_err(|_| poisoned())
    }

    /// The columns of a segment, read now if not yet kept.
    pub(crate) fn segment(&self, reader: &SegmentReader) -> tantivy::Result<Arc<SegmentColumns>> {
        let id = reader.segment_id();
        if let Some(columns) = self.segments.lock().map_err(|_| poisoned())?.get(&id) {
            return Ok(columns.clone());
        }
        let columns = Arc::new(self.read(reader)?);
        let mut segments = self.segments.lock().map_err(|_| poisoned())?;
        Ok(segments.entry(id).or_insert(columns).clone())
    }

    /// Forgets the segments no longer in `searcher`.
    pub(crate) fn keep_only(&self, searcher: &tantivy::Searcher) -> tantivy::Result<()> {
        let live = searcher.segment_readers();
        self.segments
            .lock()
            .map_err(|_| poisoned())?
            .retain(|id, _| live.iter().any(|r| r.segment_id() == *id));
        Ok(())
    }

    fn read(&self, reader: &SegmentReader) -> tantivy::Result<SegmentColumns> {
        let fast = reader.fast_fields();
        let max_doc = reader.max_doc();
        let ids = fast.u64("id")?.first_or_default_col(0);
        let day_column = fast.i64("day")?;
        let (min_day, max_day) = (day_column.min_value(), day_column.max_value());
        let day = day_column.first_or_default_col(0);
        let severity = fast.u64("severity")?.first_or_default_col(3);
        let account = fast.str("account")?;
        let segment = fast.str("segment_name")?;
        let main_theme = fast.str("main_theme")?;
        let theme = fast.str("theme_name")?;

        let mut names = self.names.write().map_err(|_| poisoned())?;
        let account_numbers = numbering(&account, &mut names.accounts)?;
        let segment_numbers = numbering(&segment, &mut names.segments)?;
        let main_numbers = numbering(&main_theme, &mut names.main_themes)?;
        let theme_numbers = numbering(&theme, &mut names.themes)?;
        drop(names);

        let mut theme_starts = Vec::with_capacity(max_doc as usize + 1);
        let mut themes = Vec::new();
        theme_starts.push(0);
        for doc in 0..max_doc {
            if let Some(column) = &theme {
                themes.extend(column.term_ords(doc).map(|ord| theme_numbers[ord as usize]));
            }
            theme_starts.push(themes.len() as u32);
        }
        Ok(SegmentColumns {
            ids: (0..max_doc).map(|doc| ids.get_val(doc)).collect(),
            days: (0..max_doc)
                .map(|doc| {
                    i32::try_from(day.get_val(doc)).map_err(|_| {
                        tantivy::TantivyError::InternalError(format!(
                            "day number {} is out of range",
                            day.get_val(doc)
                        ))
                    })
                })
                .collect::<tantivy::Result<_>>()?,
            min_day,
            max_day,
            severity: (0..max_doc)
                .map(|doc| severity.get_val(doc).clamp(1, 5) as u8)
                .collect(),
            account: first_numbers(&account, &account_numbers, max_doc),
            segment: first_numbers(&segment, &segment_numbers, max_doc),
            main_theme: first_numbers(&main_theme, &main_numbers, max_doc),
            theme_starts,
            themes,
        })
    }
}

/// A set of numbers below a bound, as bits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    pub(crate) fn with_len(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }

    pub(crate) fn insert(&mut self, n: u32) {
        let (word, bit) = (n as usize / 64, n % 64);
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << bit;
    }

    pub(crate) fn union(&mut self, other: &Bits) {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine |= theirs;
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_count_each_number_once_across_unions() {
        let mut a = Bits::with_len(10);
        a.insert(3);
        a.insert(3);
        a.insert(200);
        let mut b = Bits::with_len(0);
        b.insert(3);
        b.insert(64);
        a.union(&b);
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn names_are_numbered_once_in_the_order_met() {
        let mut names = Names::default();
        assert_eq!(names.number("acme"), 0);
        assert_eq!(names.number("globex"), 1);
        assert_eq!(names.number("acme"), 0);
        assert_eq!(names.len(), 2);
        assert_eq!(names.name(1), "globex");
    }
}
