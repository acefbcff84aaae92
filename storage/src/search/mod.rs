//! [`Store::search`]: every question and digest runs on a Tantivy index derived from the store.
//!
//! The SQL store is the one source of truth; the index can be deleted at any time and is
//! rebuilt from it. Every write that changes what search sees takes the next number of the
//! store's change sequence (`search_state.change_seq`) and stamps it on the insights it wrote;
//! the index records the last change it holds in its commit payload. A process that writes
//! indexes its own change at once; anything else (a crash between the two commits, another
//! process or replica writing) is caught up by reading the insights stamped after the index's
//! change, before every search. On PostgreSQL each replica keeps its own index and follows the
//! others' writes the same way.
//!
//! One process at a time holds an index directory's writer. Another process on the same
//! directory (a CLI command while `flywheel serve` runs) searches what the holder has
//! committed, and takes the writer over when the holder stops.
//!
//! A search is one pass over every match (`query` translates the query, `collect` gathers
//! the best few by the ranking and every figure of the answer beside them, reading each
//! segment's values from arrays `columns` decodes once per segment); the best matches are then
//! read from the store by id. A question may then be ranked again with the words that set its
//! first answers apart, among a few candidates (`related`). Searching, indexing and committing
//! run on blocking threads, never on the async runtime's.

mod collect;
mod columns;
mod coordinated;
mod query;
mod related;
mod schema;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flywheel_insights::index::PreparedInsight;
use flywheel_insights::model::{Insight, InsightId};
use flywheel_insights::query::Query;
use flywheel_insights::search::{Count, Hit, SearchOptions, SearchResult, ThemeDays, ThemeFactors};
use flywheel_insights::text::IndexedText;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::error::LockError;
use tantivy::query::{Bm25StatisticsProvider, EnableScoring, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{
    Executor, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError,
};

use self::collect::{AllFigures, Figures, Scorer, ThemeDayCounts};
use self::schema::{EVERY_TEAM, Fields, LAYOUT, day_of};
use crate::db::{Sql, SqlBuilder};
use crate::error::{QueryResultExt, StoreError};
use crate::insights::{INSIGHT_COLUMNS, InsightRow, UpsertOutcome};
use crate::store::Store;
use crate::visibility::push_scope;

/// The rows an upsert was given and what it did with each, to be indexed: their documents are
/// made on the indexing side, off the writer's thread.
struct Written {
    rows: Vec<PreparedInsight>,
    outcomes: Vec<UpsertOutcome>,
}

impl Written {
    /// The documents of the rows inserted or updated, and the ids of those updated.
    fn documents(
        &self,
        fields: &Fields,
    ) -> (Vec<(InsightId, TantivyDocument)>, HashSet<InsightId>) {
        let mut documents = Vec::with_capacity(self.rows.len());
        let mut updated = HashSet::new();
        for (outcome, p) in self.outcomes.iter().zip(&self.rows) {
            let id = match *outcome {
                UpsertOutcome::Inserted(id) => id,
                UpsertOutcome::Updated(id) => {
                    updated.insert(id);
                    id
                }
                UpsertOutcome::Unchanged(_) => continue,
            };
            documents.push((id, fields.document(id, &p.data, &p.themes, &p.text)));
        }
        (documents, updated)
    }
}

/// Indexing of an upsert's rows, under way on a task of its own (see
/// [`Store::upsert_indexing_after`]). Dropped unfinished, it still runs to its end.
#[derive(Debug)]
#[must_use = "the rows are searchable once the indexing finishes"]
pub struct Indexing(Option<tokio::task::JoinHandle<Result<(), StoreError>>>);

impl Indexing {
    /// Nothing to index.
    pub(crate) fn done() -> Indexing {
        Indexing(None)
    }

    /// Waits until the rows are searchable.
    pub async fn finish(self) -> Result<(), StoreError> {
        match self.0 {
            None => Ok(()),
            Some(task) => task.await.map_err(|e| StoreError::Search {
                detail: format!("indexing stopped unexpectedly: {e}"),
            })?,
        }
    }
}

/// Where a store keeps its search index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IndexPlace {
    /// In memory: rebuilt from the store each time the store is opened (tests, small stores).
    #[default]
    Memory,
    /// In this directory, created when missing. One directory per store: a directory holding
    /// another store's index, or an index of another layout, is rebuilt.
    Directory(PathBuf),
}

impl std::fmt::Display for IndexPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexPlace::Memory => f.write_str("memory"),
            IndexPlace::Directory(path) => write!(f, "{}", path.display()),
        }
    }
}

/// How the search index stands against the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexStatus {
    /// Where it is.
    pub place: String,
    /// The last store change the index holds.
    pub indexed_change: i64,
    /// The store's latest change.
    pub store_change: i64,
    /// Insights in the index.
    pub documents: u64,
    /// Whether this process holds the index's writer (otherwise another process does, and
    /// this one searches what that one commits).
    pub writer: bool,
    /// Why the index was started afresh when the store was opened, if it was.
    pub rebuilt: Option<String>,
}

/// What an index commit records about the store it was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    layout: u32,
    store: String,
    change: i64,
}

/// Insights read from the store per step of a catch-up.
const CATCH_UP_PAGE: i64 = 2_000;
/// A search whose words occur in fewer insights than this, all together, visits the segments on
/// one thread.
const PARALLEL_FROM_MATCHES: u64 = 20_000;
/// Indexing memory of the writer.
const WRITER_HEAP: usize = 48_000_000;
/// A bulk writer's rows are committed to the index once this many wait uncommitted (and when it
/// ends, [`Store::commit_indexing`]): each commit writes a segment, to be merged again later,
/// and an import committing each 2,000-row batch on its own spent about a sixth of the
/// index's work on finishing and merging small segments.
const BULK_COMMIT_DOCUMENTS: usize = 6_000;
/// How long a process without the writer waits for the holder to index changes it made.
const WAIT_FOR_HOLDER: Duration = Duration::from_secs(5);
/// An index this large refreshes its reach table at most this often.
const REACH_REFRESH: Duration = Duration::from_secs(30);
/// Below this many documents the reach table is recounted whenever the index changed.
const REACH_ALWAYS_BELOW: u64 = 200_000;

/// The reach table: distinct accounts per main theme among insights every team may see.
struct Reach {
    generation: u64,
    counted_at: Instant,
    table: Arc<HashMap<String, u64>>,
}

/// A store's search index.
pub(crate) struct SearchIndex {
    fields: Fields,
    index: Index,
    reader: IndexReader,
    place: IndexPlace,
    store_id: String,
    writer: Mutex<Option<IndexWriter>>,
    /// The last store change committed to the index.
    indexed: AtomicI64,
    /// The last store change added to the writer, committed or not (at least `indexed`), and
    /// how many documents wait uncommitted.
    written: AtomicI64,
    uncommitted: AtomicUsize,
    /// One catch-up or write at a time.
    syncing: tokio::sync::Mutex<()>,
    reach: Mutex<Option<Reach>>,
    /// Per text field, by searcher generation: how much to scale its token count so that its
    /// average length is taken over the insights that have any words in it.
    lengths: Mutex<Option<(u64, FieldScales)>>,
    /// The values of the segments searched lately.
    columns: Arc<columns::ColumnCache>,
    rebuilt: Option<String>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("place", &self.place)
            .field("indexed", &self.indexed.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

fn index_error(place: &IndexPlace, action: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Search {
        detail: format!("{action} the search index at {place}: {error}"),
    }
}

/// Runs blocking index work off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Search {
            detail: format!("search work stopped unexpectedly: {e}"),
        })?
}

impl SearchIndex {
    /// Opens (or creates, or rebuilds) the index at `place` for the store `store_id`.
    fn open(place: IndexPlace, store_id: String) -> Result<SearchIndex, StoreError> {
        let (schema, fields) = Fields::schema();
        let mut rebuilt = None;
        let mut index = match &place {
            IndexPlace::Memory => Index::create_in_ram(schema.clone()),
            IndexPlace::Directory(path) => {
                std::fs::create_dir_all(path)
                    .map_err(|e| index_error(&place, "cannot create", e))?;
                match open_existing(path, &schema, &store_id) {
                    Ok(Some(index)) => index,
                    Ok(None) => {
                        rebuilt = Some("no index was there".to_string());
                        create_fresh(path, &schema)
                            .map_err(|e| index_error(&place, "cannot create", e))?
                    }
                    Err(why) => {
                        tracing::warn!(place = %place, reason = %why, "rebuilding the search index");
                        rebuilt = Some(why);
                        create_fresh(path, &schema)
                            .map_err(|e| index_error(&place, "cannot create", e))?
                    }
                }
            }
        };
        if let IndexPlace::Directory(_) = place {
            let threads = std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(4);
            index
                .set_multithread_executor(threads)
                .map_err(|e| index_error(&place, "cannot open", e))?;
        }
        let writer = try_writer(&index, &place)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| index_error(&place, "cannot read", e))?;
        let indexed = read_payload(&index)
            .filter(|p| p.store == store_id && p.layout == LAYOUT)
            .map_or(0, |p| p.change);
        Ok(SearchIndex {
            fields,
            index,
            reader,
            place,
            store_id,
            writer: Mutex::new(writer),
            indexed: AtomicI64::new(indexed),
            written: AtomicI64::new(indexed),
            uncommitted: AtomicUsize::new(0),
            syncing: tokio::sync::Mutex::new(()),
            reach: Mutex::new(None),
            lengths: Mutex::new(None),
            columns: Arc::default(),
            rebuilt,
        })
    }

    fn has_writer(&self) -> bool {
        self.writer.lock().map(|w| w.is_some()).unwrap_or(false)
    }

    /// Takes the writer if its holder let go.
    fn try_take_writer(&self) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().map_err(|_| poisoned())?;
        if writer.is_none() {
            *writer = try_writer(&self.index, &self.place)?;
            if writer.is_some() {
                // The previous holder may have indexed more than this process knew.
                self.reload()?;
                let change = read_payload(&self.index)
                    .filter(|p| p.store == self.store_id && p.layout == LAYOUT)
                    .map_or(0, |p| p.change);
                self.committed(change);
            }
        }
        Ok(writer.is_some())
    }

    fn reload(&self) -> Result<(), StoreError> {
        self.reader
            .reload()
            .map_err(|e| index_error(&self.place, "cannot reload", e))
    }

    /// Adds documents, replacing the index's document of the same insight where `replace`
    /// says it may hold one, and commits the index at `commit_at`.
    fn write(
        &self,
        documents: Vec<(InsightId, TantivyDocument)>,
        replace: impl Fn(InsightId) -> bool,
        commit_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut guard = self.writer.lock().map_err(|_| poisoned())?;
        let Some(writer) = guard.as_mut() else {
            return Err(StoreError::Search {
                detail: format!(
                    "the search index at {} is held by another process",
                    self.place
                ),
            });
        };
        let failed = |e: TantivyError| index_error(&self.place, "cannot write", e);
        self.uncommitted
            .fetch_add(documents.len(), Ordering::SeqCst);
        for (id, document) in documents {
            if replace(id) {
                writer.delete_term(tantivy::Term::from_field_u64(self.fields.id, id as u64));
            }
            writer.add_document(document).map_err(failed)?;
        }
        if let Some(change) = commit_at {
            let payload = serde_json::to_string(&Payload {
                layout: LAYOUT,
                store: self.store_id.clone(),
                change,
            })
            .expect("a payload serializes");
            let mut commit = writer.prepare_commit().map_err(failed)?;
            commit.set_payload(&payload);
            if let Err(e) = commit.commit() {
                // What was added since the last commit is lost with the failed one; the next
                // catch-up adds it again from the store.
                let _ = writer.rollback();
                self.committed(self.indexed.load(Ordering::SeqCst));
                return Err(failed(e));
            }
            drop(guard);
            self.reload()?;
            self.committed(change);
        }
        Ok(())
    }

    /// Records that the index holds every change up to `change`, committed, and nothing more.
    fn committed(&self, change: i64) {
        self.indexed.store(change, Ordering::SeqCst);
        self.written.store(change, Ordering::SeqCst);
        self.uncommitted.store(0, Ordering::SeqCst);
    }

    /// Adds the documents of the upsert at `change`, which follows every change the writer
    /// holds, committing them unless `bulk` and fewer than [`BULK_COMMIT_DOCUMENTS`] wait.
    /// Inserted insights have new ids, which no document of the index holds (ids are never
    /// reused), so only updated ones replace a document.
    fn add_change(&self, written: Written, change: i64, bulk: bool) -> Result<(), StoreError> {
        let (documents, updated) = written.documents(&self.fields);
        let commit = !bulk
            || self.uncommitted.load(Ordering::SeqCst) + documents.len() >= BULK_COMMIT_DOCUMENTS;
        self.write(
            documents,
            |id| updated.contains(&id),
            commit.then_some(change),
        )?;
        if !commit {
            self.written.store(change, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Distinct accounts per main theme among insights every team may see, recounted when the
    /// index changed (at most every [`REACH_REFRESH`] for a large index).
    fn reach(&self, searcher: &tantivy::Searcher) -> Result<Arc<HashMap<String, u64>>, StoreError> {
        let generation = searcher.generation().generation_id();
        let mut cached = self.reach.lock().map_err(|_| poisoned())?;
        if let Some(reach) = cached.as_ref()
            && (reach.generation == generation
                || (searcher.num_docs() >= REACH_ALWAYS_BELOW
                    && reach.counted_at.elapsed() < REACH_REFRESH))
        {
            return Ok(reach.table.clone());
        }
        let everyone = TermQuery::new(
            tantivy::Term::from_field_text(self.fields.visible_to, EVERY_TEAM),
            IndexRecordOption::Basic,
        );
        let figures = searcher
            .search(
                &everyone,
                &Figures {
                    theme_accounts: true,
                    columns: self.columns.clone(),
                },
            )
            .map_err(|e| index_error(&self.place, "cannot search", e))?;
        let table = Arc::new(
            figures
                .theme_accounts
                .into_iter()
                .collect::<HashMap<_, _>>(),
        );
        *cached = Some(Reach {
            generation,
            counted_at: Instant::now(),
            table: table.clone(),
        });
        Ok(table)
    }

    /// The BM25 statistics of `searcher`, each text field's average length taken over the
    /// insights that have words in it: most insights of some sources have no body (or no
    /// theme), and counting them would make every real body look long.
    fn statistics<'a>(
        &self,
        searcher: &'a tantivy::Searcher,
    ) -> Result<FieldStatistics<'a>, StoreError> {
        let generation = searcher.generation().generation_id();
        let mut cached = self.lengths.lock().map_err(|_| poisoned())?;
        if let Some((at, scales)) = cached.as_ref()
            && *at == generation
        {
            return Ok(FieldStatistics {
                searcher,
                scales: scales.clone(),
            });
        }
        let failed = |e: TantivyError| index_error(&self.place, "cannot read", e);
        let mut scales = Vec::new();
        for field in [self.fields.title, self.fields.body, self.fields.themes] {
            let (mut docs, mut with_words) = (0_u64, 0_u64);
            for segment in searcher.segment_readers() {
                let norms = segment.get_fieldnorms_reader(field).map_err(failed)?;
                docs += u64::from(segment.max_doc());
                with_words += (0..segment.max_doc())
                    .filter(|doc| norms.fieldnorm_id(*doc) > 0)
                    .count() as u64;
            }
            scales.push((field, docs as f64 / with_words.max(1) as f64));
        }
        *cached = Some((generation, scales.clone()));
        Ok(FieldStatistics { searcher, scales })
    }

    /// Runs a search: the best `options.limit` matches (ids, scores) and the figures.
    fn run(&self, query: &Query, options: &SearchOptions) -> Result<Found, StoreError> {
        if !self.has_writer() {
            self.reload()?;
        }
        let searcher = self.reader.searcher();
        let failed = |e: TantivyError| index_error(&self.place, "cannot search", e);
        self.columns.keep_only(&searcher).map_err(failed)?;
        let positive = query.positive_terms();
        let mut rarity = BTreeMap::new();
        for term in &positive {
            let mut most = 0;
            for field_term in query::text_terms(&self.fields, &term.stem) {
                most = most.max(searcher.doc_freq(&field_term).map_err(failed)?);
            }
            rarity.insert(term.stem.clone(), most);
        }
        let engine_query = query::build(&self.fields, query, options);
        let reach = match options.ranking.main_theme {
            ThemeFactors::Reach => self.reach(&searcher)?,
            ThemeFactors::Given { .. } => Arc::new(HashMap::new()),
        };
        let figures = Figures {
            theme_accounts: options.theme_accounts,
            columns: self.columns.clone(),
        };
        let (best, figures) = if options.limit > 0 {
            let scorer = Scorer::new(
                &options.ranking,
                !positive.is_empty(),
                &reach,
                self.columns.clone(),
                &searcher,
            )
            .map_err(failed)?;
            let top = TopDocs::with_limit(options.limit).order_by(scorer);
            let statistics = self.statistics(&searcher)?;
            // Spreading segments over threads pays off when there is much to visit; waking the
            // threads costs more than a few thousand matches take on one.
            let single = Executor::single_thread();
            let executor =
                if !positive.is_empty() && rarity.values().sum::<u64>() < PARALLEL_FROM_MATCHES {
                    &single
                } else {
                    self.index.search_executor()
                };
            let scoring = EnableScoring::enabled_from_statistics_provider(&statistics, &searcher);
            let (best, figures) = searcher
                .search_with_executor(&*engine_query, &(top, figures), executor, scoring)
                .map_err(failed)?;
            let best = best
                .into_iter()
                .map(|((score, _, id), _)| (id as InsightId, score))
                .collect();
            (best, figures)
        } else {
            (
                Vec::new(),
                searcher.search(&*engine_query, &figures).map_err(failed)?,
            )
        };
        let reach = match options.ranking.main_theme {
            ThemeFactors::Reach => Some(reach),
            ThemeFactors::Given { .. } => None,
        };
        Ok(Found {
            best,
            figures,
            rarity,
            reach,
        })
    }
}

impl SearchIndex {
    /// [`Store::search_related`]'s ranking: the related words of `feedback` (the first
    /// answers' scores and content stems), then the best matches of the question with them,
    /// among the candidates BM25 alone picks and the first answers (`first`). `None` when the
    /// question has no plain words or the answers no related words.
    #[allow(clippy::type_complexity)]
    fn run_related(
        &self,
        query: &Query,
        options: &SearchOptions,
        feedback: &[(f64, IndexedText)],
        first: &[InsightId],
    ) -> Result<
        Option<(
            Vec<String>,
            Vec<(InsightId, f64)>,
            Option<Arc<HashMap<String, u64>>>,
        )>,
        StoreError,
    > {
        let looser = query.relaxed().unwrap_or_else(|| query.clone());
        let own: HashSet<&str> = query::plain_words(&looser).collect();
        if own.is_empty() {
            return Ok(None);
        }
        if !self.has_writer() {
            self.reload()?;
        }
        let searcher = self.reader.searcher();
        let failed = |e: TantivyError| index_error(&self.place, "cannot search", e);
        self.columns.keep_only(&searcher).map_err(failed)?;
        let frequency = |stem: &str| -> Result<u64, TantivyError> {
            let mut most = 0;
            for term in query::text_terms(&self.fields, stem) {
                most = most.max(searcher.doc_freq(&term)?);
            }
            Ok(most)
        };
        let documents = searcher.num_docs();
        let related =
            related::related_words(feedback, &own, documents, frequency).map_err(failed)?;
        if related.is_empty() {
            return Ok(None);
        }
        let statistics = self.statistics(&searcher)?;
        let scoring = || EnableScoring::enabled_from_statistics_provider(&statistics, &searcher);
        // A word many insights hold adds little to BM25 and would make the engine visit much
        // of the index; the first answers stand in for the insights it alone would bring.
        let mut words: Vec<(&str, f32)> = Vec::new();
        for (stem, weight) in own
            .iter()
            .map(|stem| (*stem, 1.0))
            .chain(related.iter().map(|(stem, w)| (stem.as_str(), *w)))
        {
            if !related::too_common(frequency(stem).map_err(failed)?, documents) {
                words.push((stem, weight));
            }
        }
        let candidates = searcher
            .search_with_executor(
                &related::candidates_query(&self.fields, &words),
                &TopDocs::with_limit(related::CANDIDATES).order_by_score(),
                self.index.search_executor(),
                scoring(),
            )
            .map_err(failed)?;
        let segments: Vec<tantivy::index::SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        let addresses: Vec<tantivy::DocAddress> = candidates.into_iter().map(|(_, a)| a).collect();
        let among = related::Among::new(&addresses, &segments);

        let mut options = options.clone();
        options.ranking.coordination = true;
        let engine_query = query::within(
            query::build_related(&self.fields, &looser, &options, &related),
            Box::new(among),
            &self.fields,
            first,
        );
        let reach = match options.ranking.main_theme {
            ThemeFactors::Reach => self.reach(&searcher)?,
            ThemeFactors::Given { .. } => Arc::new(HashMap::new()),
        };
        let scorer = Scorer::new(
            &options.ranking,
            true,
            &reach,
            self.columns.clone(),
            &searcher,
        )
        .map_err(failed)?;
        let top = TopDocs::with_limit(options.limit.max(1)).order_by(scorer);
        let best = searcher
            .search_with_executor(&*engine_query, &top, &Executor::single_thread(), scoring())
            .map_err(failed)?
            .into_iter()
            .map(|((score, _, id), _)| (id as InsightId, score))
            .collect();
        let reach = match options.ranking.main_theme {
            ThemeFactors::Reach => Some(reach),
            ThemeFactors::Given { .. } => None,
        };
        Ok(Some((
            related.into_iter().map(|(s, _)| s).collect(),
            best,
            reach,
        )))
    }

    /// Counts the matches of `query` per day for each theme key in `keys`.
    fn count_theme_days(
        &self,
        query: &Query,
        options: &SearchOptions,
        keys: HashSet<String>,
    ) -> Result<ThemeDayCounts, StoreError> {
        if !self.has_writer() {
            self.reload()?;
        }
        let searcher = self.reader.searcher();
        self.columns
            .keep_only(&searcher)
            .map_err(|e| index_error(&self.place, "cannot search", e))?;
        let engine_query = query::build(&self.fields, query, options);
        searcher
            .search(
                &*engine_query,
                &collect::ThemeDays {
                    keys: Arc::new(keys),
                    columns: self.columns.clone(),
                },
            )
            .map_err(|e| index_error(&self.place, "cannot search", e))
    }
}

fn poisoned() -> StoreError {
    StoreError::Search {
        detail: "the search index's writer was poisoned by a panic".to_string(),
    }
}

/// The writer, or `None` when another process holds it. It indexes on one thread: writes come
/// in batches that are each committed, and each indexing thread would make a segment of its own
/// at every commit, to be merged again later. Measured on a 100k-row import, one thread was
/// faster than two and held less memory: the other core reads, prepares and writes SQL meanwhile.
fn try_writer(index: &Index, place: &IndexPlace) -> Result<Option<IndexWriter>, StoreError> {
    match index.writer_with_num_threads(1, WRITER_HEAP) {
        Ok(writer) => Ok(Some(writer)),
        Err(TantivyError::LockFailure(LockError::LockBusy, _)) => Ok(None),
        Err(e) => Err(index_error(place, "cannot write to", e)),
    }
}

/// Commits what this process's writer holds uncommitted (a bulk writer's last rows). The caller
/// holds `index.syncing`.
async fn commit_written(index: &Arc<SearchIndex>) -> Result<(), StoreError> {
    let written = index.written.load(Ordering::SeqCst);
    if written > index.indexed.load(Ordering::SeqCst) && index.has_writer() {
        let index = index.clone();
        blocking(move || index.write(Vec::new(), |_| false, Some(written))).await?;
    }
    Ok(())
}

fn read_payload(index: &Index) -> Option<Payload> {
    index
        .load_metas()
        .ok()?
        .payload
        .and_then(|p| serde_json::from_str(&p).ok())
}

/// The index in `path`, if there is one this build can use for this store; `Ok(None)` when
/// there is none; `Err(why)` when there is one to rebuild.
fn open_existing(
    path: &Path,
    schema: &tantivy::schema::Schema,
    store_id: &str,
) -> Result<Option<Index>, String> {
    let directory = tantivy::directory::MmapDirectory::open(path).map_err(|e| e.to_string())?;
    if !Index::exists(&directory).map_err(|e| format!("unreadable: {e}"))? {
        return Ok(None);
    }
    let index = Index::open(directory).map_err(|e| format!("unreadable: {e}"))?;
    let payload = read_payload(&index);
    match payload {
        _ if index.schema() != *schema => Err("it was built by another version".to_string()),
        Some(p) if p.layout != LAYOUT => Err(format!("it has layout {} (now {LAYOUT})", p.layout)),
        Some(p) if p.store != store_id => Err("it was built from another store".to_string()),
        _ => {
            // Opening every segment finds missing or truncated files now, not mid-search.
            index.reader().map_err(|e| format!("unreadable: {e}"))?;
            Ok(Some(index))
        }
    }
}

/// An empty index in `path`, whatever was there before.
fn create_fresh(path: &Path, schema: &tantivy::schema::Schema) -> Result<Index, String> {
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
    Index::create_in_dir(path, schema.clone()).map_err(|e| e.to_string())
}

/// By how much each text field's token count is scaled.
type FieldScales = Vec<(Field, f64)>;

/// A searcher's BM25 statistics with each text field's token count scaled (see
/// [`SearchIndex::statistics`]).
struct FieldStatistics<'a> {
    searcher: &'a tantivy::Searcher,
    scales: FieldScales,
}

impl Bm25StatisticsProvider for FieldStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let tokens = self.searcher.total_num_tokens(field)?;
        let scale = self
            .scales
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(1.0, |(_, scale)| *scale);
        Ok((tokens as f64 * scale).round() as u64)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searcher.total_num_docs()
    }

    fn doc_freq(&self, term: &tantivy::Term) -> tantivy::Result<u64> {
        self.searcher.doc_freq(term)
    }
}

/// What the engine found, before the insights are read from the store.
struct Found {
    best: Vec<(InsightId, f64)>,
    figures: AllFigures,
    rarity: BTreeMap<String, u64>,
    reach: Option<Arc<HashMap<String, u64>>>,
}

/// The largest counts first, ties by name, at most `limit`.
fn top_counts(counts: impl Iterator<Item = Count>, limit: usize) -> Vec<Count> {
    let mut counts: Vec<Count> = counts.collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    counts.truncate(limit);
    counts
}

impl Store {
    /// Opens the search index at `place` for this store and remembers it. Called by
    /// [`Store::open`] after migrating.
    pub(crate) async fn attach_search(&mut self, place: IndexPlace) -> Result<(), StoreError> {
        let (store_id, _) = self.change_head().await?;
        let index = blocking(move || SearchIndex::open(place, store_id)).await?;
        self.search = Some(Arc::new(index));
        Ok(())
    }

    /// Commits to the search index what a bulk writer ([`Store::upsert_indexing_after`]) left
    /// uncommitted: from then on, searches see it without catching up.
    pub async fn commit_indexing(&self) -> Result<(), StoreError> {
        let Some(index) = self.search.clone() else {
            return Ok(());
        };
        let _turn = index.syncing.lock().await;
        commit_written(&index).await
    }

    /// The search index, caught up with every change the store holds.
    async fn current_index(&self) -> Result<Arc<SearchIndex>, StoreError> {
        let index = self.search_index()?;
        let _turn = index.syncing.lock().await;
        self.catch_up(&index, None).await?;
        Ok(index.clone())
    }

    fn search_index(&self) -> Result<Arc<SearchIndex>, StoreError> {
        self.search.clone().ok_or_else(|| StoreError::Search {
            detail: "the store was connected without its search index (open it instead)"
                .to_string(),
        })
    }

    /// Whether any insight, whoever may see it, carries a theme filed under `key` (as the
    /// `theme:` filter matches keys): a lookup in the index's dictionary, without visiting
    /// insights.
    pub async fn theme_key_known(&self, key: &str) -> Result<bool, StoreError> {
        let index = self.current_index().await?;
        let key = key.to_string();
        blocking(move || {
            let searcher = index.reader.searcher();
            let term = tantivy::Term::from_field_text(index.fields.theme_key, &key);
            searcher
                .doc_freq(&term)
                .map(|n| n > 0)
                .map_err(|e| index_error(&index.place, "cannot search", e))
        })
        .await
    }

    /// The store's identity and its latest change.
    async fn change_head(&self) -> Result<(String, i64), StoreError> {
        const CONTEXT: &str = "reading the change sequence";
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        conn.db()
            .fetch_one::<(String, i64)>(Sql::new(
                "SELECT store_id, change_seq FROM search_state WHERE id = 1",
            ))
            .await
            .context(backend, CONTEXT)
    }

    /// How the search index stands against the store.
    pub async fn search_status(&self) -> Result<IndexStatus, StoreError> {
        let index = self.search_index()?;
        let (_, store_change) = self.change_head().await?;
        if !index.has_writer() {
            index.reload()?;
        }
        Ok(IndexStatus {
            place: index.place.to_string(),
            indexed_change: index.indexed.load(Ordering::SeqCst),
            store_change,
            documents: index.reader.searcher().num_docs(),
            writer: index.has_writer(),
            rebuilt: index.rebuilt.clone(),
        })
    }

    /// Brings the search index up to the store's latest change, calling `progress` with
    /// (insights indexed, insights to index) as it goes. Searching does this by itself; call it
    /// to do it up front (at start, with a progress bar). Returns how many insights were
    /// indexed.
    pub async fn sync_search(
        &self,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<u64, StoreError> {
        let index = self.search_index()?;
        let _turn = index.syncing.lock().await;
        self.catch_up(&index, Some(progress)).await
    }

    /// Throws the search index away and builds it again from the store.
    pub async fn reindex(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<u64, StoreError> {
        let index = self.search_index()?;
        let _turn = index.syncing.lock().await;
        if !blocking({
            let index = index.clone();
            move || index.try_take_writer()
        })
        .await?
        {
            return Err(StoreError::Search {
                detail: format!(
                    "the search index at {} is in use by another Flywheel process; stop it first",
                    index.place
                ),
            });
        }
        blocking({
            let index = index.clone();
            move || {
                let mut guard = index.writer.lock().map_err(|_| poisoned())?;
                let writer = guard.as_mut().expect("held");
                let failed = |e: TantivyError| index_error(&index.place, "cannot clear", e);
                writer.delete_all_documents().map_err(failed)?;
                writer.commit().map_err(failed)?;
                Ok(())
            }
        })
        .await?;
        index.committed(0);
        self.catch_up(&index, Some(progress)).await
    }

    /// Indexes every insight stamped after the index's change, up to the store's latest.
    /// The caller holds `index.syncing`.
    async fn catch_up(
        &self,
        index: &Arc<SearchIndex>,
        progress: Option<&(dyn Fn(u64, u64) + Sync)>,
    ) -> Result<u64, StoreError> {
        const CONTEXT: &str = "reading insights to index";
        let backend = self.backend();
        let (_, head) = self.change_head().await?;
        if head <= index.indexed.load(Ordering::SeqCst) {
            return Ok(0);
        }
        let holder = blocking({
            let index = index.clone();
            move || index.try_take_writer()
        })
        .await?;
        if !holder {
            // Another process holds the writer and indexes what the store gets; wait a little
            // for it to reach this change, then search what it has.
            let started = Instant::now();
            loop {
                index.reload()?;
                let change = read_payload(&index.index).map_or(0, |p| p.change);
                index.committed(change);
                if change >= head || started.elapsed() > WAIT_FOR_HOLDER {
                    if change < head {
                        tracing::warn!(place = %index.place, indexed = change, head, "searching an index another process has not brought up to date yet");
                    }
                    return Ok(0);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        // A bulk writer's rows wait in the writer uncommitted: committing them is all they
        // need, rather than reading them from the store and indexing them again.
        commit_written(index).await?;
        let from = index.indexed.load(Ordering::SeqCst);
        let fresh = from == 0 && index.reader.searcher().num_docs() == 0;
        let total = if progress.is_some() {
            let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
            let (n,): (i64,) = conn
                .db()
                .fetch_one(
                    Sql::new(
                        "SELECT COUNT(*) FROM insights WHERE change_seq > $1 AND change_seq <= $2",
                    )
                    .bind(from)
                    .bind(head),
                )
                .await
                .context(backend, CONTEXT)?;
            n.max(0) as u64
        } else {
            0
        };
        // Strictly after `from`: every insight of that change is in the index already.
        let (mut after_change, mut after_id) = (from, i64::MAX);
        let mut done = 0_u64;
        loop {
            let mut b = SqlBuilder::new();
            b.push("SELECT ")
                .push(INSIGHT_COLUMNS)
                .push(", i.change_seq FROM insights i WHERE (i.change_seq > ")
                .push_bind(after_change)
                .push(" OR (i.change_seq = ")
                .push_bind(after_change)
                .push(" AND i.id > ")
                .push_bind(after_id)
                .push(")) AND i.change_seq <= ")
                .push_bind(head)
                .push(" ORDER BY i.change_seq, i.id LIMIT ")
                .push_bind(CATCH_UP_PAGE);
            let rows: Vec<ChangedRow> = {
                let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
                conn.db()
                    .fetch_all(b.build())
                    .await
                    .context(backend, CONTEXT)?
            };
            let Some(last) = rows.last() else { break };
            (after_change, after_id) = (last.change_seq, last.row.id());
            let count = rows.len() as u64;
            blocking({
                let index = index.clone();
                move || {
                    let mut documents = Vec::with_capacity(rows.len());
                    for changed in rows {
                        let insight = changed.row.into_insight()?;
                        documents.push((insight.id, index.fields.document_of(&insight)));
                    }
                    index.write(documents, |_| !fresh, None)
                }
            })
            .await?;
            done += count;
            if let Some(progress) = progress {
                progress(done, total.max(done));
            }
        }
        blocking({
            let index = index.clone();
            move || index.write(Vec::new(), |_| false, Some(head))
        })
        .await?;
        tracing::debug!(place = %index.place, indexed = done, change = head, "search index caught up");
        Ok(done)
    }

    /// Starts indexing what an upsert at `change` wrote (`rows`, with what it did with each),
    /// or catching up when the index missed changes, on a task of its own.
    pub(crate) fn start_indexing(
        &self,
        change: i64,
        rows: Vec<PreparedInsight>,
        outcomes: &[UpsertOutcome],
        bulk: bool,
    ) -> Indexing {
        let Some(index) = self.search.clone() else {
            return Indexing::done();
        };
        let written = Written {
            rows,
            outcomes: outcomes.to_vec(),
        };
        let store = self.clone();
        Indexing(Some(tokio::spawn(async move {
            let _turn = index.syncing.lock().await;
            let added = blocking({
                let index = index.clone();
                move || {
                    // The first write of a process takes the writer, learning what the index
                    // holds. Without the writer, or with changes missing before this one, the
                    // catch-up below reads them from the store.
                    if !index.has_writer() && !index.try_take_writer()? {
                        return Ok(false);
                    }
                    if index.written.load(Ordering::SeqCst) != change - 1 {
                        return Ok(false);
                    }
                    index.add_change(written, change, bulk)?;
                    Ok(true)
                }
            })
            .await?;
            if added {
                return Ok(());
            }
            store.catch_up(&index, None).await.map(|_| ())
        })))
    }

    /// Finds the insights matching `query` that `options.scope` may see, observed within
    /// `options.observed` if given, with relative dates resolved against `options.today`.
    ///
    /// Every match is ranked by `options.ranking` and counted: the result has the exact total,
    /// the best `options.limit` matches, theme and segment breakdowns over every match (largest
    /// first, ties by name, at most `options.breakdown` each), matches per day and distinct
    /// accounts, all from one pass over the matches. The query's `natural_language` flag is the
    /// caller's business: relaxing a query ([`Query::relaxed`]) is another search.
    #[tracing::instrument(skip(self, query, options), fields(backend = %self.backend(), clauses = query.clauses.len()))]
    pub async fn search(
        &self,
        query: &Query,
        options: &SearchOptions,
    ) -> Result<SearchResult, StoreError> {
        let index = self.current_index().await?;
        let found = blocking({
            let index = index.clone();
            let query = query.clone();
            let options = options.clone();
            move || index.run(&query, &options)
        })
        .await?;
        let hits = self
            .hits(found.best, found.reach.as_deref(), &options.scope)
            .await?;
        let figures = found.figures;
        let names: HashMap<&str, &str> = figures
            .themes
            .iter()
            .map(|(key, (name, _))| (key.as_str(), name.as_str()))
            .collect();
        let theme_accounts = top_counts(
            figures.theme_accounts.iter().map(|(key, n)| Count {
                name: names.get(key.as_str()).unwrap_or(&key.as_str()).to_string(),
                count: *n,
            }),
            usize::MAX,
        );
        let mut by_day = Vec::with_capacity(figures.days.len());
        for (day, n) in &figures.days {
            let date = day_of(*day).ok_or_else(|| StoreError::Corrupt {
                detail: format!("the search index holds day number {day}, which is no date"),
            })?;
            by_day.push((date, *n));
        }
        Ok(SearchResult {
            total: figures.total,
            hits,
            themes: top_counts(
                figures
                    .themes
                    .into_values()
                    .map(|(name, count)| Count { name, count }),
                options.breakdown,
            ),
            segments: top_counts(
                figures
                    .segments
                    .into_values()
                    .map(|(name, count)| Count { name, count }),
                options.breakdown,
            ),
            by_day,
            accounts: figures.accounts,
            theme_accounts,
            rarity: found.rarity,
            related: Vec::new(),
        })
    }

    /// The insights of `best` that `scope` may see, in order, with their reach when `reach`
    /// was counted.
    async fn hits(
        &self,
        best: Vec<(InsightId, f64)>,
        reach: Option<&HashMap<String, u64>>,
        scope: &flywheel_insights::search::Scope,
    ) -> Result<Vec<Hit>, StoreError> {
        let ids: Vec<InsightId> = best.iter().map(|(id, _)| *id).collect();
        let mut by_id: HashMap<InsightId, Insight> = self
            .insights_by_id(&ids, scope)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        Ok(best
            .into_iter()
            .filter_map(|(id, score)| {
                let insight = by_id.remove(&id)?;
                let reach = reach.map(|table| {
                    insight
                        .themes
                        .iter()
                        .map(|t| flywheel_insights::model::key(t))
                        .find(|k| !k.is_empty())
                        .and_then(|k| table.get(&k).copied())
                        .unwrap_or(0)
                });
                Some(Hit {
                    insight,
                    score,
                    reach,
                })
            })
            .collect())
    }

    /// The best `options.limit` insights for a question, ranked again with the words that set
    /// `best` (its first answers, best first) apart from the rest of the store: pseudo-relevance
    /// feedback (RM3). The words weigh by how often they occur in each of `best`, how well that
    /// one ranked and how rare they are in the index; the most telling few join the question's
    /// plain words as alternatives, scored with coordination, the question's words keeping most
    /// of the weight. Insights that speak of the same thing in other words than the question's
    /// rank beside those that use its words; filters and visibility hold as in
    /// [`Store::search`].
    ///
    /// Returns the related words (stems, most telling first) and the hits. Nothing changes
    /// when `query` has no plain words or `best` is empty.
    #[tracing::instrument(skip_all, fields(backend = %self.backend(), feedback = best.len()))]
    pub async fn search_related(
        &self,
        query: &Query,
        options: &SearchOptions,
        best: &[Hit],
    ) -> Result<(Vec<String>, Vec<Hit>), StoreError> {
        if best.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let answers: Vec<(f64, Insight)> = best
            .iter()
            .take(related::FEEDBACK_INSIGHTS)
            .map(|hit| (hit.score, hit.insight.clone()))
            .collect();
        let first: Vec<InsightId> = best.iter().map(|hit| hit.insight.id).collect();
        let index = self.current_index().await?;
        let related = blocking({
            let index = index.clone();
            let query = query.clone();
            let options = options.clone();
            move || {
                let feedback: Vec<(f64, IndexedText)> = answers
                    .iter()
                    .map(|(score, insight)| (*score, related::content_text(insight)))
                    .collect();
                index.run_related(&query, &options, &feedback, &first)
            }
        })
        .await?;
        let Some((words, ranked, reach)) = related else {
            return Ok((Vec::new(), best.to_vec()));
        };
        let hits = self.hits(ranked, reach.as_deref(), &options.scope).await?;
        Ok((words, hits))
    }

    /// For each of `themes` (names, matched by [`flywheel_insights::model::key`], each key
    /// once, in the order given): how many insights matching `query` that `options.scope` may
    /// see, observed within `options.observed` if given, carry it on each day. An insight
    /// counts for every theme it carries, as in [`Store::search`]'s theme breakdown; a theme
    /// without matches gets no days. Counted in one pass over the matches, for the weekly lines
    /// of a chart. `options.limit`, `breakdown` and `ranking` do not matter here.
    #[tracing::instrument(skip(self, query, options, themes), fields(backend = %self.backend(), themes = themes.len()))]
    pub async fn theme_days(
        &self,
        query: &Query,
        options: &SearchOptions,
        themes: &[String],
    ) -> Result<Vec<ThemeDays>, StoreError> {
        let mut wanted: Vec<(String, String)> = Vec::new();
        for name in themes {
            let key = flywheel_insights::model::key(name);
            if !key.is_empty() && !wanted.iter().any(|(k, _)| *k == key) {
                wanted.push((key, name.clone()));
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let index = self.current_index().await?;
        let mut counted = blocking({
            let query = query.clone();
            let options = options.clone();
            let keys = wanted.iter().map(|(key, _)| key.clone()).collect();
            move || index.count_theme_days(&query, &options, keys)
        })
        .await?;
        let mut out = Vec::with_capacity(wanted.len());
        for (key, given) in wanted {
            let (name, days) = counted.remove(&key).unwrap_or((given, BTreeMap::new()));
            let mut by_day = Vec::with_capacity(days.len());
            for (day, n) in days {
                let date = day_of(day).ok_or_else(|| StoreError::Corrupt {
                    detail: format!("the search index holds day number {day}, which is no date"),
                })?;
                by_day.push((date, n));
            }
            out.push(ThemeDays { name, by_day });
        }
        Ok(out)
    }

    /// The insights with these ids that `scope` may see, in no particular order.
    async fn insights_by_id(
        &self,
        ids: &[InsightId],
        scope: &flywheel_insights::search::Scope,
    ) -> Result<Vec<Insight>, StoreError> {
        const CONTEXT: &str = "reading the best matches";
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.backend();
        let mut rows: Vec<InsightRow> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut b = SqlBuilder::new();
            b.push("SELECT ")
                .push(INSIGHT_COLUMNS)
                .push(" FROM insights i WHERE i.id IN (");
            for (n, id) in chunk.iter().enumerate() {
                if n > 0 {
                    b.push(", ");
                }
                b.push_bind(*id);
            }
            b.push(")");
            push_scope(&mut b, scope);
            let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
            rows.extend(
                conn.db()
                    .fetch_all::<InsightRow>(b.build())
                    .await
                    .context(backend, CONTEXT)?,
            );
        }
        rows.into_iter().map(InsightRow::into_insight).collect()
    }

    /// Lets go of the search index's writer, so another process can take it.
    pub(crate) fn release_search(&self) {
        if let Some(index) = &self.search
            && let Ok(mut writer) = index.writer.lock()
            && let Some(writer) = writer.take()
        {
            let _ = writer.wait_merging_threads();
        }
    }
}

/// An insight row with the change that last wrote it.
#[derive(sqlx::FromRow)]
struct ChangedRow {
    #[sqlx(flatten)]
    row: InsightRow,
    change_seq: i64,
}
