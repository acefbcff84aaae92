//! What one pass over the matches gathers: the ranking key of every match (kept for the best
//! few) and, beside it, the total, matches per day, distinct accounts, theme and segment
//! breakdowns and, when asked, distinct accounts per main theme. Both read each segment's values
//! from the [`ColumnCache`]; text values are counted by number and named once per search.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use flywheel_insights::search::{Ranking, ThemeFactors};
use tantivy::collector::sort_key::{NaturalComparator, SegmentSortKeyComputer, SortKeyComputer};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::columns::{Bits, ColumnCache, NONE, SegmentColumns};
use super::schema::{day_of, split_named};
use flywheel_insights::rank::reach_factor;

/// How a match ranks: its score, then the newer observation and the higher id, compared in
/// that order.
pub(crate) type RankKey = (f64, i64, u64);

/// A day range wider than this is counted in a map instead of an array.
const DENSE_DAYS: i64 = 50_000;

/// Counts per day, as an array over the segment's span of days or a map.
enum DayCounts {
    Dense { first: i64, counts: Vec<u64> },
    Sparse(HashMap<i64, u64>),
}

impl DayCounts {
    fn new(min: i64, max: i64) -> DayCounts {
        if max >= min && max - min < DENSE_DAYS {
            DayCounts::Dense {
                first: min,
                counts: vec![0; (max - min + 1) as usize],
            }
        } else {
            DayCounts::Sparse(HashMap::new())
        }
    }

    fn add(&mut self, day: i64) {
        match self {
            DayCounts::Dense { first, counts } => {
                if let Some(count) = counts.get_mut((day - *first) as usize) {
                    *count += 1;
                }
            }
            DayCounts::Sparse(map) => *map.entry(day).or_default() += 1,
        }
    }

    fn into_pairs(self) -> Vec<(i64, u64)> {
        match self {
            DayCounts::Dense { first, counts } => counts
                .into_iter()
                .enumerate()
                .filter(|(_, n)| *n > 0)
                .map(|(i, n)| (first + i as i64, n))
                .collect(),
            DayCounts::Sparse(map) => map.into_iter().collect(),
        }
    }
}

/// Gathers the figures of a search.
pub(crate) struct Figures {
    /// Also count distinct accounts per main theme.
    pub theme_accounts: bool,
    pub columns: Arc<ColumnCache>,
}

/// What [`Figures`] found in one segment, by value number.
#[derive(Default)]
pub(crate) struct SegmentFigures {
    total: u64,
    days: Vec<(i64, u64)>,
    accounts: Bits,
    themes: Vec<u64>,
    segments: Vec<u64>,
    /// (main theme, account) pairs.
    theme_accounts: HashSet<(u32, u32)>,
}

/// What [`Figures`] found in all segments.
#[derive(Debug, Default)]
pub(crate) struct AllFigures {
    pub total: u64,
    /// Matches per day number, in order.
    pub days: BTreeMap<i64, u64>,
    pub accounts: u64,
    /// By key: (display name, count).
    pub themes: BTreeMap<String, (String, u64)>,
    pub segments: BTreeMap<String, (String, u64)>,
    /// By main theme key: distinct account keys.
    pub theme_accounts: BTreeMap<String, u64>,
}

pub(crate) struct FiguresInSegment {
    columns: Arc<SegmentColumns>,
    total: u64,
    days: DayCounts,
    accounts: Bits,
    theme_counts: Vec<u64>,
    segment_counts: Vec<u64>,
    theme_account_pairs: Option<HashSet<(u32, u32)>>,
}

impl Collector for Figures {
    type Fruit = AllFigures;
    type Child = FiguresInSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FiguresInSegment> {
        let columns = self.columns.segment(reader)?;
        // Read after the segment's columns: every number they hold is below these lengths.
        let names = self.columns.names()?;
        Ok(FiguresInSegment {
            total: 0,
            days: DayCounts::new(columns.min_day, columns.max_day),
            accounts: Bits::with_len(names.accounts.len()),
            theme_counts: vec![0; names.themes.len()],
            segment_counts: vec![0; names.segments.len()],
            theme_account_pairs: self.theme_accounts.then(HashSet::new),
            columns,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<tantivy::Result<SegmentFigures>>,
    ) -> tantivy::Result<AllFigures> {
        let mut all = AllFigures::default();
        let mut accounts = Bits::default();
        let mut themes: Vec<u64> = Vec::new();
        let mut segments: Vec<u64> = Vec::new();
        let mut pairs: HashSet<(u32, u32)> = HashSet::new();
        for fruit in fruits {
            let fruit = fruit?;
            all.total += fruit.total;
            for (day, n) in fruit.days {
                *all.days.entry(day).or_default() += n;
            }
            accounts.union(&fruit.accounts);
            for (sum, counts) in [(&mut themes, fruit.themes), (&mut segments, fruit.segments)] {
                if sum.len() < counts.len() {
                    sum.resize(counts.len(), 0);
                }
                for (total, n) in sum.iter_mut().zip(counts) {
                    *total += n;
                }
            }
            if pairs.is_empty() {
                pairs = fruit.theme_accounts;
            } else {
                pairs.extend(fruit.theme_accounts);
            }
        }
        all.accounts = accounts.len();
        let names = self.columns.names()?;
        for (map, counts, names) in [
            (&mut all.themes, themes, &names.themes),
            (&mut all.segments, segments, &names.segments),
        ] {
            for (number, n) in counts.into_iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let (key, name) = split_named(names.name(number as u32));
                let entry = map
                    .entry(key.to_string())
                    .or_insert_with(|| (name.to_string(), 0));
                // One of the spellings sharing a key is shown: the smallest, as SQL's MIN.
                if name < entry.0.as_str() {
                    entry.0 = name.to_string();
                }
                entry.1 += n;
            }
        }
        let mut per_theme: HashMap<u32, u64> = HashMap::new();
        for (theme, _) in pairs {
            *per_theme.entry(theme).or_default() += 1;
        }
        all.theme_accounts = per_theme
            .into_iter()
            .map(|(theme, n)| (names.main_themes.name(theme).to_string(), n))
            .collect();
        Ok(all)
    }
}

// The segment fruit is wrapped in a Result so that the collector's type stays that of one
// that can fail while harvesting.
impl SegmentCollector for FiguresInSegment {
    type Fruit = tantivy::Result<SegmentFigures>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let columns = &*self.columns;
        let d = doc as usize;
        self.total += 1;
        self.days.add(columns.day(doc));
        let account = columns.account[d];
        if account != NONE {
            self.accounts.insert(account);
        }
        for &theme in columns.themes(doc) {
            self.theme_counts[theme as usize] += 1;
        }
        let segment = columns.segment[d];
        if segment != NONE {
            self.segment_counts[segment as usize] += 1;
        }
        if let Some(pairs) = &mut self.theme_account_pairs {
            let theme = columns.main_theme[d];
            if theme != NONE && account != NONE {
                pairs.insert((theme, account));
            }
        }
    }

    fn harvest(self) -> tantivy::Result<SegmentFigures> {
        Ok(SegmentFigures {
            total: self.total,
            days: self.days.into_pairs(),
            accounts: self.accounts,
            themes: self.theme_counts,
            segments: self.segment_counts,
            theme_accounts: self.theme_account_pairs.unwrap_or_default(),
        })
    }
}

/// Counts the matches per observed day of each wanted theme (by key): an insight counts once
/// for every wanted theme it carries, as in the theme breakdown.
pub(crate) struct ThemeDays {
    /// The wanted theme keys.
    pub keys: Arc<HashSet<String>>,
    pub columns: Arc<ColumnCache>,
}

/// What [`ThemeDays`] found: by theme key, a display name and the matches per day number.
pub(crate) type ThemeDayCounts = BTreeMap<String, (String, BTreeMap<i64, u64>)>;

pub(crate) struct ThemeDaysInSegment {
    columns: Arc<SegmentColumns>,
    /// Per theme number: the key and name when the theme is wanted.
    wanted: Arc<Vec<Option<(String, String)>>>,
    counts: HashMap<(u32, i64), u64>,
}

impl Collector for ThemeDays {
    type Fruit = ThemeDayCounts;
    type Child = ThemeDaysInSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<ThemeDaysInSegment> {
        let columns = self.columns.segment(reader)?;
        let names = self.columns.names()?;
        let wanted = names
            .themes
            .iter()
            .map(|(_, value)| {
                let (key, name) = split_named(value);
                self.keys
                    .contains(key)
                    .then(|| (key.to_string(), name.to_string()))
            })
            .collect();
        Ok(ThemeDaysInSegment {
            columns,
            wanted: Arc::new(wanted),
            counts: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<(String, String, i64, u64)>>,
    ) -> tantivy::Result<ThemeDayCounts> {
        let mut all = ThemeDayCounts::new();
        for (key, name, day, n) in fruits.into_iter().flatten() {
            let entry = all
                .entry(key)
                .or_insert_with(|| (name.clone(), BTreeMap::new()));
            // The smallest of the spellings sharing a key is shown, as in the breakdown.
            if name < entry.0 {
                entry.0 = name;
            }
            *entry.1.entry(day).or_default() += n;
        }
        Ok(all)
    }
}

impl SegmentCollector for ThemeDaysInSegment {
    type Fruit = Vec<(String, String, i64, u64)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        for &theme in self.columns.themes(doc) {
            if self.wanted.get(theme as usize).is_some_and(Option::is_some) {
                *self
                    .counts
                    .entry((theme, self.columns.day(doc)))
                    .or_default() += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.counts
            .into_iter()
            .filter_map(|((theme, day), n)| {
                let (key, name) = self.wanted.get(theme as usize)?.as_ref()?;
                Some((key.clone(), name.clone(), day, n))
            })
            .collect()
    }
}

/// Computes each match's [`RankKey`] from its BM25 score and fast fields. Factors that depend
/// on a value (a day, a severity, a main theme) are computed once per value and search, not
/// once per match.
pub(crate) struct Scorer {
    columns: Arc<ColumnCache>,
    factors: Arc<Factors>,
}

/// The factors of one search, shared by its segments.
struct Factors {
    /// Recency by day from `first_day`; empty when the index spans too many days.
    first_day: i64,
    recency: Vec<f64>,
    recency_of: flywheel_insights::search::Recency,
    /// Index 0 unused; 1 to 5.
    severity: [f64; 6],
    /// By main theme number.
    themes: Vec<f64>,
    no_theme: f64,
    /// Whether the query has words whose BM25 counts.
    words: bool,
}

impl Scorer {
    /// The scorer of a search of `searcher`: reads its segments' columns first, to know their
    /// days and main themes.
    pub(crate) fn new(
        ranking: &Ranking,
        words: bool,
        reach: &HashMap<String, u64>,
        columns: Arc<ColumnCache>,
        searcher: &tantivy::Searcher,
    ) -> tantivy::Result<Scorer> {
        let (mut min_day, mut max_day) = (i64::MAX, i64::MIN);
        for reader in searcher.segment_readers() {
            let segment = columns.segment(reader)?;
            if reader.max_doc() > 0 {
                min_day = min_day.min(segment.min_day);
                max_day = max_day.max(segment.max_day);
            }
        }
        let recency_of = ranking.recency;
        let recency = if max_day >= min_day && max_day - min_day < DENSE_DAYS {
            (min_day..=max_day)
                .map(|d| day_of(d).map_or(1.0, |date| recency_of.factor(date)))
                .collect()
        } else {
            Vec::new()
        };
        let theme_factor = |key: Option<&str>| match &ranking.main_theme {
            ThemeFactors::Reach => {
                reach_factor(key.and_then(|k| reach.get(k)).copied().unwrap_or(1))
            }
            ThemeFactors::Given { factors, default } => key
                .and_then(|k| factors.get(k))
                .copied()
                .unwrap_or(*default),
        };
        let themes = columns
            .names()?
            .main_themes
            .iter()
            .map(|(_, key)| theme_factor(Some(key)))
            .collect();
        let severity = ranking.severity;
        let factors = Factors {
            first_day: min_day,
            recency,
            recency_of,
            severity: [
                1.0,
                severity[0],
                severity[1],
                severity[2],
                severity[3],
                severity[4],
            ],
            themes,
            no_theme: theme_factor(None),
            words: words && ranking.relevance,
        };
        Ok(Scorer {
            columns,
            factors: Arc::new(factors),
        })
    }
}

/// [`Scorer`] for one segment.
pub(crate) struct ScorerInSegment {
    columns: Arc<SegmentColumns>,
    factors: Arc<Factors>,
}

impl SortKeyComputer for Scorer {
    type SortKey = RankKey;
    type Child = ScorerInSegment;
    type Comparator = NaturalComparator;

    fn requires_scoring(&self) -> bool {
        true
    }

    fn segment_sort_key_computer(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<ScorerInSegment> {
        Ok(ScorerInSegment {
            columns: self.columns.segment(reader)?,
            factors: self.factors.clone(),
        })
    }
}

impl SegmentSortKeyComputer for ScorerInSegment {
    type SortKey = RankKey;
    type SegmentSortKey = RankKey;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> RankKey {
        let (columns, factors) = (&*self.columns, &*self.factors);
        let d = doc as usize;
        let bm25 = f64::from(score);
        // A match of a filter alternative alone has no BM25: it ranks below every word match,
        // and among its like by the other factors.
        let relevance = if factors.words { bm25.max(1e-3) } else { 1.0 };
        let day = columns.day(doc);
        let recency = match factors.recency.get((day - factors.first_day) as usize) {
            Some(factor) => *factor,
            None => day_of(day).map_or(1.0, |date| factors.recency_of.factor(date)),
        };
        let severity = factors.severity[columns.severity[d] as usize];
        let theme = match columns.main_theme[d] {
            NONE => factors.no_theme,
            n => factors
                .themes
                .get(n as usize)
                .copied()
                .unwrap_or(factors.no_theme),
        };
        (relevance * recency * severity * theme, day, columns.ids[d])
    }

    fn convert_segment_sort_key(&self, key: RankKey) -> RankKey {
        key
    }
}
