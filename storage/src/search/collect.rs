//! What one pass over the matches gathers: the ranking key of every match (kept for the best
//! few) and, beside it, the total, matches per day, distinct accounts, theme and segment
//! breakdowns and, when asked, distinct accounts per main theme. Both read fast (columnar)
//! fields segment by segment, using the segment's term ordinals and turning them into names
//! only once per segment.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use flywheel_insights::search::{Ranking, ThemeFactors};
use tantivy::collector::sort_key::{NaturalComparator, SegmentSortKeyComputer, SortKeyComputer};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{ColumnValues, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::schema::{day_of, split_named};
use flywheel_insights::rank::reach_factor;

/// How a match ranks: its score, then the newer observation and the higher id, compared in
/// that order.
pub(crate) type RankKey = (f64, i64, u64);

/// A day range wider than this is counted in a map instead of an array.
const DENSE_DAYS: i64 = 50_000;

/// Reads a string fast field (absent in segments where no document has a value).
fn str_column(reader: &SegmentReader, name: &str) -> tantivy::Result<Option<StrColumn>> {
    reader.fast_fields().str(name)
}

/// The names behind a string column's ordinals.
fn ord_names(column: &StrColumn) -> tantivy::Result<Vec<String>> {
    let mut names = Vec::with_capacity(column.num_terms());
    let mut name = String::new();
    for ord in 0..column.num_terms() as u64 {
        name.clear();
        column.ord_to_str(ord, &mut name)?;
        names.push(name.clone());
    }
    Ok(names)
}

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
}

/// What [`Figures`] found in one segment, already turned into names.
#[derive(Default)]
pub(crate) struct SegmentFigures {
    total: u64,
    days: Vec<(i64, u64)>,
    accounts: Vec<String>,
    themes: Vec<(String, u64)>,
    segments: Vec<(String, u64)>,
    theme_accounts: Vec<(String, String)>,
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
    total: u64,
    day: Arc<dyn ColumnValues<i64>>,
    days: DayCounts,
    account: Option<StrColumn>,
    seen_accounts: Vec<bool>,
    theme: Option<StrColumn>,
    theme_counts: Vec<u64>,
    segment: Option<StrColumn>,
    segment_counts: Vec<u64>,
    main_theme: Option<StrColumn>,
    theme_account_pairs: Option<HashSet<(u64, u64)>>,
}

impl Collector for Figures {
    type Fruit = AllFigures;
    type Child = FiguresInSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FiguresInSegment> {
        let day = reader.fast_fields().i64("day")?;
        let days = DayCounts::new(day.min_value(), day.max_value());
        let account = str_column(reader, "account")?;
        let theme = str_column(reader, "theme_name")?;
        let segment = str_column(reader, "segment_name")?;
        let main_theme = if self.theme_accounts {
            str_column(reader, "main_theme")?
        } else {
            None
        };
        Ok(FiguresInSegment {
            total: 0,
            day: day.first_or_default_col(0),
            days,
            seen_accounts: vec![false; account.as_ref().map_or(0, |c| c.num_terms())],
            account,
            theme_counts: vec![0; theme.as_ref().map_or(0, |c| c.num_terms())],
            theme,
            segment_counts: vec![0; segment.as_ref().map_or(0, |c| c.num_terms())],
            segment,
            theme_account_pairs: main_theme.as_ref().map(|_| HashSet::new()),
            main_theme,
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
        let mut accounts: HashSet<String> = HashSet::new();
        let mut theme_accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for fruit in fruits {
            let fruit = fruit?;
            all.total += fruit.total;
            for (day, n) in fruit.days {
                *all.days.entry(day).or_default() += n;
            }
            accounts.extend(fruit.accounts);
            for (map, counts) in [
                (&mut all.themes, fruit.themes),
                (&mut all.segments, fruit.segments),
            ] {
                for (value, n) in counts {
                    let (key, name) = split_named(&value);
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
            for (theme, account) in fruit.theme_accounts {
                theme_accounts.entry(theme).or_default().insert(account);
            }
        }
        all.accounts = accounts.len() as u64;
        all.theme_accounts = theme_accounts
            .into_iter()
            .map(|(theme, accounts)| (theme, accounts.len() as u64))
            .collect();
        Ok(all)
    }
}

// The segment fruit is wrapped in a Result so that a failure to read names back surfaces as an
// error instead of a panic.
impl SegmentCollector for FiguresInSegment {
    type Fruit = tantivy::Result<SegmentFigures>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.total += 1;
        self.days.add(self.day.get_val(doc));
        let account = self
            .account
            .as_ref()
            .and_then(|column| column.term_ords(doc).next());
        if let Some(ord) = account {
            self.seen_accounts[ord as usize] = true;
        }
        if let Some(column) = &self.theme {
            for ord in column.term_ords(doc) {
                self.theme_counts[ord as usize] += 1;
            }
        }
        if let Some(column) = &self.segment
            && let Some(ord) = column.term_ords(doc).next()
        {
            self.segment_counts[ord as usize] += 1;
        }
        if let (Some(pairs), Some(column), Some(account)) =
            (&mut self.theme_account_pairs, &self.main_theme, account)
            && let Some(theme) = column.term_ords(doc).next()
        {
            pairs.insert((theme, account));
        }
    }

    fn harvest(self) -> tantivy::Result<SegmentFigures> {
        let names = |column: &Option<StrColumn>| -> tantivy::Result<Vec<String>> {
            column.as_ref().map_or(Ok(Vec::new()), ord_names)
        };
        let account_names = names(&self.account)?;
        let theme_names = names(&self.theme)?;
        let segment_names = names(&self.segment)?;
        let counted = |names: &[String], counts: Vec<u64>| -> Vec<(String, u64)> {
            counts
                .into_iter()
                .enumerate()
                .filter(|(_, n)| *n > 0)
                .map(|(ord, n)| (names[ord].clone(), n))
                .collect()
        };
        let mut theme_accounts = Vec::new();
        if let Some(pairs) = self.theme_account_pairs {
            let main_names = names(&self.main_theme)?;
            theme_accounts = pairs
                .into_iter()
                .map(|(theme, account)| {
                    (
                        main_names[theme as usize].clone(),
                        account_names[account as usize].clone(),
                    )
                })
                .collect();
        }
        Ok(SegmentFigures {
            total: self.total,
            days: self.days.into_pairs(),
            accounts: self
                .seen_accounts
                .iter()
                .enumerate()
                .filter(|(_, seen)| **seen)
                .map(|(ord, _)| account_names[ord].clone())
                .collect(),
            themes: counted(&theme_names, self.theme_counts),
            segments: counted(&segment_names, self.segment_counts),
            theme_accounts,
        })
    }
}

/// Counts the matches per observed day of each wanted theme (by key): an insight counts once
/// for every wanted theme it carries, as in the theme breakdown.
pub(crate) struct ThemeDays {
    /// The wanted theme keys.
    pub keys: Arc<HashSet<String>>,
}

/// What [`ThemeDays`] found: by theme key, a display name and the matches per day number.
pub(crate) type ThemeDayCounts = BTreeMap<String, (String, BTreeMap<i64, u64>)>;

pub(crate) struct ThemeDaysInSegment {
    day: Arc<dyn ColumnValues<i64>>,
    theme: Option<StrColumn>,
    /// Per term ordinal of the theme column: the key and name when the theme is wanted.
    wanted: Vec<Option<(String, String)>>,
    counts: HashMap<(u64, i64), u64>,
}

impl Collector for ThemeDays {
    type Fruit = ThemeDayCounts;
    type Child = ThemeDaysInSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<ThemeDaysInSegment> {
        let day = reader.fast_fields().i64("day")?;
        let theme = str_column(reader, "theme_name")?;
        let wanted = match &theme {
            Some(column) => ord_names(column)?
                .iter()
                .map(|value| {
                    let (key, name) = split_named(value);
                    self.keys
                        .contains(key)
                        .then(|| (key.to_string(), name.to_string()))
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(ThemeDaysInSegment {
            day: day.first_or_default_col(0),
            theme,
            wanted,
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
        let Some(column) = &self.theme else {
            return;
        };
        let mut day = None;
        for ord in column.term_ords(doc) {
            if self.wanted.get(ord as usize).is_some_and(Option::is_some) {
                let day = *day.get_or_insert_with(|| self.day.get_val(doc));
                *self.counts.entry((ord, day)).or_default() += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.counts
            .into_iter()
            .filter_map(|((ord, day), n)| {
                let (key, name) = self.wanted.get(ord as usize)?.as_ref()?;
                Some((key.clone(), name.clone(), day, n))
            })
            .collect()
    }
}

/// Computes each match's [`RankKey`] from its BM25 score and fast fields. Factors that depend
/// on a value (a day, a severity, a main theme) are computed once per value in a segment, not
/// once per match.
pub(crate) struct Scorer {
    pub ranking: Ranking,
    /// Whether the query has words whose BM25 counts.
    pub words: bool,
    /// Distinct accounts per main theme key, for [`ThemeFactors::Reach`].
    pub reach: Arc<HashMap<String, u64>>,
}

impl Scorer {
    fn theme_factor(&self, key: Option<&str>) -> f64 {
        match &self.ranking.main_theme {
            ThemeFactors::Reach => {
                reach_factor(key.and_then(|k| self.reach.get(k)).copied().unwrap_or(1))
            }
            ThemeFactors::Given { factors, default } => key
                .and_then(|k| factors.get(k))
                .copied()
                .unwrap_or(*default),
        }
    }
}

/// [`Scorer`] for one segment.
pub(crate) struct ScorerInSegment {
    ids: Arc<dyn ColumnValues<u64>>,
    day: Arc<dyn ColumnValues<i64>>,
    severity: Arc<dyn ColumnValues<u64>>,
    main_theme: Option<StrColumn>,
    min_day: i64,
    /// Recency by day, from `min_day`; empty when the segment spans too many days.
    recency: Vec<f64>,
    recency_of: flywheel_insights::search::Recency,
    /// Index 0 unused; 1 to 5.
    severity_factors: [f64; 6],
    /// By main theme ordinal.
    theme_factors: Vec<f64>,
    no_theme: f64,
    words: bool,
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
        let fast = reader.fast_fields();
        let day = fast.i64("day")?.first_or_default_col(0);
        let (min_day, max_day) = (day.min_value(), day.max_value());
        let recency_of = self.ranking.recency;
        let recency = if max_day >= min_day && max_day - min_day < DENSE_DAYS {
            (min_day..=max_day)
                .map(|d| day_of(d).map_or(1.0, |date| recency_of.factor(date)))
                .collect()
        } else {
            Vec::new()
        };
        let main_theme = str_column(reader, "main_theme")?;
        let theme_factors = match &main_theme {
            Some(column) => ord_names(column)?
                .iter()
                .map(|key| self.theme_factor(Some(key)))
                .collect(),
            None => Vec::new(),
        };
        let severity = self.ranking.severity;
        Ok(ScorerInSegment {
            ids: fast.u64("id")?.first_or_default_col(0),
            day,
            severity: fast.u64("severity")?.first_or_default_col(3),
            main_theme,
            min_day,
            recency,
            recency_of,
            severity_factors: [
                1.0,
                severity[0],
                severity[1],
                severity[2],
                severity[3],
                severity[4],
            ],
            theme_factors,
            no_theme: self.theme_factor(None),
            words: self.words && self.ranking.relevance,
        })
    }
}

impl SegmentSortKeyComputer for ScorerInSegment {
    type SortKey = RankKey;
    type SegmentSortKey = RankKey;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> RankKey {
        let bm25 = f64::from(score);
        // A match of a filter alternative alone has no BM25: it ranks below every word match,
        // and among its like by the other factors.
        let relevance = if self.words { bm25.max(1e-3) } else { 1.0 };
        let day = self.day.get_val(doc);
        let recency = match self.recency.get((day - self.min_day) as usize) {
            Some(factor) => *factor,
            None => day_of(day).map_or(1.0, |date| self.recency_of.factor(date)),
        };
        let severity = self.severity_factors[self.severity.get_val(doc).clamp(1, 5) as usize];
        let theme = self
            .main_theme
            .as_ref()
            .and_then(|column| column.term_ords(doc).next())
            .map_or(self.no_theme, |ord| self.theme_factors[ord as usize]);
        (
            relevance * recency * severity * theme,
            day,
            self.ids.get_val(doc),
        )
    }

    fn convert_segment_sort_key(&self, key: RankKey) -> RankKey {
        key
    }
}
