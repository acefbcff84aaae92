//! The storage contract: what every backend must do, run against each of them.
//!
//! Every test in `contract_tests!` runs twice: `sqlite::<name>` on a fresh temporary file, and
//! `postgres::<name>` in a fresh schema of the database named by `FLYWHEEL_TEST_POSTGRES_URL`
//! (for example `postgres://postgres@127.0.0.1:5432/test`). Without that variable the PostgreSQL
//! runs pass after a notice; with it, an unreachable server fails them.
//!
//! Test data is written directly as `PreparedInsight` values whose body is a handful of words,
//! and queries directly as `Query` values whose words are stemmed as the parser would, so the
//! contract does not depend on the parser; the search index reads text through the domain's
//! tokenizer and stemmer, as it does in production.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use flywheel_insights::index::PreparedInsight;
use flywheel_insights::model::{
    self, Insight, InsightData, Kind, Sentiment, Severity, Stage, Visibility,
};
use flywheel_insights::query::{Atom, Clause, Comparison, DateBound, Filter, Query, Term, Test};
use flywheel_insights::search::{Count, DateRange, Scope, SearchOptions, SearchResult, ThemeDays};
use flywheel_insights::text::{IndexedText, stem};
use flywheel_storage::{
    AlertCreated, AlertKind, AppliedMigration, Backend, Cadence, ClaimedDelivery, DecisionError,
    DecisionEvent, DecisionEventKind, DecisionFilter, DecisionId, DecisionListing, DecisionStats,
    DecisionStatus, DecisionSummary, DeliveryRecord, DeliveryStatus, DigestCreated, DigestRecord,
    DigestStatus, EngagementRow, Evidence, FlagOutcome, NewAlert, NewAuditEvent, NewComment,
    NewDecision, NewDigest, NewWatch, OpenFlagRow, Outbound, Review, ReviewOutcome,
    SentimentCounts, SpikeStateRecord, Store, StoreError, StoreOptions, ThemeActivity,
    UpsertOutcome, WatchSettled,
};
use sqlx::Connection;

// ---------------------------------------------------------------------------------------------
// Harness

const POSTGRES_URL_VAR: &str = "FLYWHEEL_TEST_POSTGRES_URL";

/// A fresh, empty, not yet migrated database, removed when dropped.
struct TestDb {
    /// Connected, not migrated.
    store: Store,
    /// The URL that reaches this database, for a second store (a second importer or replica).
    url: String,
    backend: Backend,
    _cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Cleanup::Schema { admin_url, schema } = self else {
            return;
        };
        let (admin_url, schema) = (admin_url.clone(), schema.clone());
        // Best effort, on a thread of its own: Drop cannot await, and may run inside a runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&mut admin)
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

impl TestDb {
    /// The store, migrated, with its search index (in memory).
    async fn open(&self) -> Store {
        Store::open(&self.url, &options())
            .await
            .expect("the store opens")
    }

    /// Another connection pool and search index on the same database, as a second process
    /// would have.
    async fn second_store(&self) -> Store {
        Store::open(&self.url, &options())
            .await
            .expect("a second store opens")
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 4,
        connect_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    }
}

async fn fresh_sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("flywheel.db").display());
    let store = Store::connect(&url, &options())
        .await
        .expect("SQLite connects");
    TestDb {
        store,
        url,
        backend: Backend::Sqlite,
        _cleanup: Cleanup::Dir(dir),
    }
}

/// A fresh schema in the test database, or `None` (after a notice) when none is configured.
async fn fresh_postgres() -> Option<TestDb> {
    static NOTICE: Once = Once::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        NOTICE.call_once(|| {
            // Written straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "skipping PostgreSQL contract tests: {POSTGRES_URL_VAR} is not set"
            );
        });
        return None;
    };
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {e}"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!(
        "flywheel_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let create = format!("CREATE SCHEMA \"{schema}\"");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&mut admin)
        .await
        .expect("the test schema is created");
    admin.close().await.ok();
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
    let cleanup = Cleanup::Schema {
        admin_url: admin_url.clone(),
        schema,
    };
    let store = Store::connect(&url, &options())
        .await
        .expect("PostgreSQL connects");
    Some(TestDb {
        store,
        url,
        backend: Backend::Postgres,
        _cleanup: cleanup,
    })
}

/// Declares each listed `async fn name(db: TestDb)` as `sqlite::name` and `postgres::name`.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::fresh_sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = super::fresh_postgres().await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

contract_tests!(
    migrating_twice_is_a_no_op,
    stores_opening_a_new_database_at_once_all_succeed,
    upsert_tells_inserted_updated_and_unchanged_apart,
    a_batch_is_written_in_order_and_atomically,
    batched_upserts_agree_with_one_at_a_time,
    sources_are_case_insensitive_identities,
    concurrent_importers_of_the_same_rows_agree,
    terms_conjunction_disjunction_and_negation,
    phrases_need_adjacent_words_in_order,
    field_filters,
    keys_match_whole_leading_words,
    dates_are_inclusive_and_relative_to_today,
    visibility_scopes,
    the_best_matches_come_first_with_exact_totals,
    relevance_ranks_every_match,
    related_words_find_insights_that_say_it_otherwise,
    severity_reach_and_coverage_order_the_rest,
    breakdowns_days_and_accounts,
    theme_days_count_each_theme_day_by_day,
    hostile_text_round_trips_byte_for_byte,
    invalid_insights_are_refused_before_writing,
    digests_are_created_once_per_team_and_period,
    a_digest_and_its_outbox_are_written_together_or_not_at_all,
    claims_lease_due_deliveries_and_expired_leases_come_back_in_doubt,
    retries_wait_until_due_and_failures_are_final,
    concurrent_workers_send_each_delivery_exactly_once,
    flags_are_raised_once_per_person_and_resolved_together,
    votes_count_once_per_person,
    comments_are_deduplicated_by_platform_ref_and_threads_find_their_insight,
    platform_events_are_handled_once,
    seen_events_older_than_a_cutoff_are_pruned,
    engagement_counts_recent_activity_within_the_scope,
    the_audit_log_keeps_append_order_and_cannot_be_changed,
    hostile_text_round_trips_in_digests_chat_and_audit,
    decisions_cite_visible_evidence_and_refusals_write_nothing,
    a_decision_resolves_its_teams_flags_on_its_evidence,
    decision_lists_filter_by_status_owner_and_text,
    reviews_are_final_and_due_lists_keep_overdue_decisions,
    a_review_reminder_is_queued_exactly_once,
    insights_on_evidence_themes_are_counted_before_and_since,
    decision_stats_count_a_known_history,
    figures_tell_how_fast_themes_are_noticed_and_spikes_decided,
    review_punctuality_is_judged_in_the_decisions_timezone,
    hostile_text_round_trips_in_decisions,
    reindexing_gives_the_same_answers_as_the_incremental_index,
    batches_written_while_the_last_is_indexed_are_all_searchable_in_order,
    a_deleted_or_corrupt_index_is_rebuilt_from_the_store,
    an_index_behind_the_store_catches_up,
    two_processes_share_one_index_directory,
    replicas_see_each_others_writes_through_their_own_indexes,
    watches_are_kept_per_channel_and_ended_once,
    a_watch_sees_only_insights_added_after_its_mark,
    racing_replicas_settle_a_watch_once,
    alerts_are_written_once_with_deliveries_due_when_asked,
    spike_states_round_trip_and_their_alerts_are_once_per_key,
);

// ---------------------------------------------------------------------------------------------
// Building data and queries

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
}

/// An instant with millisecond precision, as the store keeps them.
fn at(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).expect("a test instant")
}

const T1: i64 = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z
const T2: i64 = T1 + 86_400_000;
const T3: i64 = T2 + 86_400_000;

fn today() -> NaiveDate {
    day("2026-03-31")
}

/// A plain insight whose title is its source ref and whose body is `words`; tests adjust the
/// fields they care about, then call [`indexed`] if they changed title, body or themes.
fn insight(source_ref: &str, observed_on: &str, words: &str) -> PreparedInsight {
    indexed(PreparedInsight {
        data: InsightData {
            source: "test".into(),
            source_ref: source_ref.into(),
            title: source_ref.into(),
            body: words.into(),
            observed_on: day(observed_on),
            tags: Vec::new(),
            segment: None,
            stage: None,
            kind: None,
            sentiment: Sentiment::Neutral,
            severity: Severity::DEFAULT,
            account: None,
            url: None,
            visibility: Visibility::All,
        },
        themes: Vec::new(),
        text: IndexedText::default(),
        fingerprint: format!("{source_ref}-v1"),
    })
}

/// The insight with its indexed words recomputed from its title, body and themes.
fn indexed(mut prepared: PreparedInsight) -> PreparedInsight {
    prepared.text = IndexedText::of(&prepared.data.title, &prepared.data.body, &prepared.themes);
    prepared
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A query word, stemmed as the parser stems it.
fn word(typed: &str) -> Term {
    Term {
        word: typed.to_uppercase(),
        stem: stem(typed),
    }
}

fn term(stem: &str) -> Test {
    Test::Term(word(stem))
}

fn phrase(stems: &[&str]) -> Test {
    Test::Phrase(stems.iter().map(|s| word(s)).collect())
}

fn filter(f: Filter) -> Test {
    Test::Filter(f)
}

fn yes(test: Test) -> Atom {
    Atom {
        negated: false,
        test,
    }
}

fn not(test: Test) -> Atom {
    Atom {
        negated: true,
        test,
    }
}

/// A query from clauses, each a list of alternatives.
fn query(clauses: Vec<Vec<Atom>>) -> Query {
    Query {
        clauses: clauses
            .into_iter()
            .map(|alternatives| Clause { alternatives })
            .collect(),
        natural_language: false,
    }
}

/// A query of one positive atom.
fn just(test: Test) -> Query {
    query(vec![vec![yes(test)]])
}

/// Search options for `scope` returning every match of the small test corpora.
fn in_scope(scope: Scope) -> SearchOptions {
    let mut options = SearchOptions::new(scope, today());
    options.limit = 1000;
    options
}

fn everything() -> SearchOptions {
    in_scope(Scope::Everything)
}

async fn search(store: &Store, q: &Query, options: &SearchOptions) -> SearchResult {
    store
        .search(q, options)
        .await
        .unwrap_or_else(|e| panic!("search {q:?} failed: {e}"))
}

/// The source refs a query matches, sorted, after checking that the best matches and the
/// total agree when nothing is capped.
async fn refs_in(store: &Store, q: &Query, options: &SearchOptions) -> Vec<String> {
    let result = search(store, q, options).await;
    assert_eq!(result.total, result.hits.len() as u64, "{q:?}");
    let mut refs: Vec<String> = result
        .hits
        .into_iter()
        .map(|h| h.insight.data.source_ref)
        .collect();
    refs.sort();
    refs
}

async fn refs(store: &Store, q: &Query) -> Vec<String> {
    refs_in(store, q, &everything()).await
}

/// Upserts the batch, each insight's indexed words recomputed from what it says.
async fn upsert(store: &Store, batch: &[PreparedInsight], now: i64) -> Vec<UpsertOutcome> {
    let batch: Vec<PreparedInsight> = batch.iter().cloned().map(indexed).collect();
    store
        .upsert(&batch, at(now))
        .await
        .unwrap_or_else(|e| panic!("upsert failed: {e}"))
}

fn count(name: &str, count: u64) -> Count {
    Count {
        name: name.into(),
        count,
    }
}

/// A small corpus that every search test reads; ids follow the order of the list.
///
/// | ref | observed   | terms                          | segment        | account        | themes                  |
/// |-----|------------|--------------------------------|----------------|----------------|-------------------------|
/// | a1  | 2026-03-30 | credit report wrong late fee   | Enterprise     | EQUIFAX, INC.  | Billing, Credit reporting |
/// | a2  | 2026-03-15 | report of credit late          | Older American | Equifax        | Billing                 |
/// | a3  | 2026-03-01 | refund request fee             | —              | Equinix        | Refunds (Payments only) |
/// | a4  | 2026-02-01 | chargeback refund credit card  | enterprise     | —              | billing (Growth only)   |
/// | a5  | 2026-01-15 | onboard slow setup             | SMB            | Acme Corp      | Onboarding              |
/// | a6  | 2025-12-01 | credit score report            | —              | —              | —                       |
/// | a7  | 2026-03-30 | credit limit                   | Enterprise     | Equifax Inc    | Billing                 |
async fn corpus(store: &Store) -> Vec<UpsertOutcome> {
    let mut a1 = insight("a1", "2026-03-30", "credit report wrong late fee");
    a1.data.source = "cfpb".into();
    a1.data.segment = Some("Enterprise".into());
    a1.data.account = Some("EQUIFAX, INC.".into());
    a1.data.stage = Some(Stage::Onboarding);
    a1.data.kind = Some(Kind::Pain);
    a1.data.sentiment = Sentiment::Negative;
    a1.data.severity = Severity::new(5).unwrap();
    a1.themes = strings(&["Billing", "Credit reporting"]);

    let mut a2 = insight("a2", "2026-03-15", "report of credit late");
    a2.data.source = "CFPB".into();
    a2.data.segment = Some("Older American".into());
    a2.data.account = Some("Equifax".into());
    a2.data.stage = Some(Stage::Support);
    a2.data.kind = Some(Kind::Request);
    a2.themes = strings(&["Billing"]);

    let mut a3 = insight("a3", "2026-03-01", "refund request fee");
    a3.data.source = "zendesk".into();
    a3.data.account = Some("Equinix".into());
    a3.data.sentiment = Sentiment::Positive;
    a3.data.severity = Severity::new(1).unwrap();
    a3.data.visibility = Visibility::Teams(strings(&["Payments"]));
    a3.themes = strings(&["Refunds"]);

    let mut a4 = insight("a4", "2026-02-01", "chargeback refund credit card");
    a4.data.source = "zendesk".into();
    a4.data.segment = Some("enterprise".into());
    a4.data.stage = Some(Stage::Renewal);
    a4.data.kind = Some(Kind::ChurnSignal);
    a4.data.sentiment = Sentiment::Negative;
    a4.data.severity = Severity::new(4).unwrap();
    a4.data.visibility = Visibility::Teams(strings(&["Growth"]));
    a4.themes = strings(&["billing"]);

    let mut a5 = insight("a5", "2026-01-15", "onboard slow setup");
    a5.data.source = "slack".into();
    a5.data.segment = Some("SMB".into());
    a5.data.account = Some("Acme Corp".into());
    a5.data.stage = Some(Stage::Onboarding);
    a5.data.kind = Some(Kind::Pain);
    a5.data.sentiment = Sentiment::Negative;
    a5.data.severity = Severity::new(2).unwrap();
    a5.themes = strings(&["Onboarding"]);

    let mut a6 = insight("a6", "2025-12-01", "credit score report");
    a6.data.source = "cfpb".into();

    let mut a7 = insight("a7", "2026-03-30", "credit limit");
    a7.data.source = "cfpb".into();
    a7.data.segment = Some("Enterprise".into());
    a7.data.account = Some("Equifax Inc".into());
    a7.themes = strings(&["Billing"]);

    upsert(store, &[a1, a2, a3, a4, a5, a6, a7], T1).await
}

// ---------------------------------------------------------------------------------------------
// Migrations and writes

async fn migrating_twice_is_a_no_op(db: TestDb) {
    let first = db.store.migrate().await.expect("first migration");
    assert_eq!(
        first,
        vec![
            AppliedMigration {
                version: 1,
                description: "insights".into()
            },
            AppliedMigration {
                version: 2,
                description: "digests".into()
            },
            AppliedMigration {
                version: 3,
                description: "decisions".into()
            },
            AppliedMigration {
                version: 4,
                description: "search index".into()
            },
            AppliedMigration {
                version: 5,
                description: "reminder retries".into()
            },
            AppliedMigration {
                version: 6,
                description: "watches alerts".into()
            },
            AppliedMigration {
                version: 7,
                description: "unused insight indexes".into()
            }
        ]
    );
    assert_eq!(db.store.migrate().await.expect("second migration"), vec![]);
    assert_eq!(db.store.backend(), db.backend);
    // Opening an up-to-date database (as every replica does on start) changes nothing either.
    let again = Store::open(&db.url, &options()).await.expect("reopen");
    assert_eq!(again.migrate().await.expect("third migration"), vec![]);
    assert_eq!(again.count(&Scope::Everything).await.unwrap(), 0);
    again.close().await;
}

async fn stores_opening_a_new_database_at_once_all_succeed(db: TestDb) {
    // Replicas, or a CLI command next to the service, starting together on a new database.
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move {
                let store = Store::connect(&url, &options()).await?;
                let applied = store.migrate().await;
                store.close().await;
                applied
            })
        })
        .collect();
    let mut applied: Vec<i64> = Vec::new();
    for start in starts {
        let migrations = start
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("a concurrent first start fails: {e}"));
        applied.extend(migrations.iter().map(|m| m.version));
    }
    // Each migration was applied exactly once, by whichever start got there first.
    applied.sort_unstable();
    assert_eq!(applied, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(db.store.migrate().await.expect("migrated already"), vec![]);
    assert_eq!(db.store.count(&Scope::Everything).await.unwrap(), 0);
}

async fn upsert_tells_inserted_updated_and_unchanged_apart(db: TestDb) {
    let store = db.open().await;
    let mut x1 = insight("x1", "2026-03-01", "alpha beta");
    x1.themes = strings(&["Old theme", "Shared"]);
    x1.data.tags = strings(&["Old theme"]);
    let x2 = insight("x2", "2026-03-02", "gamma");

    let first = upsert(&store, &[x1.clone(), x2.clone()], T1).await;
    let [UpsertOutcome::Inserted(id1), UpsertOutcome::Inserted(id2)] = first[..] else {
        panic!("expected two inserts, got {first:?}");
    };
    assert_ne!(id1, id2);

    // The same fingerprints: nothing is written, not even the timestamp.
    let second = upsert(&store, &[x1.clone(), x2.clone()], T2).await;
    assert_eq!(
        second,
        vec![UpsertOutcome::Unchanged(id1), UpsertOutcome::Unchanged(id2)]
    );
    let stored = store
        .insight(id1, &Scope::Everything)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.updated_at, at(T1));
    assert_eq!(stored.added_at, at(T1));

    // The fingerprint, not the content, decides: same fingerprint, other title, nothing written.
    let mut same_print = x1.clone();
    same_print.data.title = "A title that must not be stored".into();
    assert_eq!(
        upsert(&store, &[same_print], T2).await,
        vec![UpsertOutcome::Unchanged(id1)]
    );
    let stored = store
        .insight(id1, &Scope::Everything)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.data.title, "x1");

    // A new fingerprint rewrites every field, the themes, the terms and the visibility.
    let mut changed = x1.clone();
    changed.fingerprint = "x1-v2".into();
    changed.data.title = "New title".into();
    changed.data.observed_on = day("2026-03-05");
    changed.data.segment = Some("Enterprise".into());
    changed.data.stage = Some(Stage::Usage);
    changed.data.kind = Some(Kind::Praise);
    changed.data.sentiment = Sentiment::Positive;
    changed.data.severity = Severity::new(1).unwrap();
    changed.data.account = Some("Acme".into());
    changed.data.url = Some("https://example.com/x1".into());
    changed.data.visibility = Visibility::Teams(strings(&["Payments"]));
    changed.data.tags = strings(&["New theme"]);
    changed.themes = strings(&["New theme", "Shared"]);
    changed.data.body = "delta epsilon".into();
    let changed = indexed(changed);
    assert_eq!(
        upsert(&store, std::slice::from_ref(&changed), T3).await,
        vec![UpsertOutcome::Updated(id1)]
    );
    let stored = store
        .insight(id1, &Scope::Everything)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored,
        Insight {
            id: id1,
            data: changed.data.clone(),
            themes: changed.themes.clone(),
            added_at: at(T1),
            updated_at: at(T3),
        }
    );
    assert_eq!(
        store.theme_counts(&Scope::Everything).await.unwrap(),
        vec![count("New theme", 1), count("Shared", 1)]
    );
    assert_eq!(refs(&store, &just(term("delta"))).await, strings(&["x1"]));
    assert!(refs(&store, &just(term("alpha"))).await.is_empty());
    assert_eq!(store.insight(id1, &Scope::Public).await.unwrap(), None);
    assert_eq!(store.count(&Scope::Everything).await.unwrap(), 2);
}

async fn a_batch_is_written_in_order_and_atomically(db: TestDb) {
    let store = db.open().await;
    let v1 = insight("dup", "2026-03-01", "first");
    let mut v2 = insight("dup", "2026-03-01", "second");
    v2.fingerprint = "dup-v2".into();
    v2.data.title = "Second version".into();
    let outcomes = upsert(&store, &[v1.clone(), v2.clone(), v1.clone()], T1).await;
    let id = outcomes[0].id();
    assert_eq!(
        outcomes,
        vec![
            UpsertOutcome::Inserted(id),
            UpsertOutcome::Updated(id),
            UpsertOutcome::Updated(id)
        ]
    );
    let stored = store
        .insight(id, &Scope::Everything)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.data.title, "dup");
    assert_eq!(store.count(&Scope::Everything).await.unwrap(), 1);

    // A refused batch writes nothing, not even its valid rows.
    let mut bad = insight("bad", "2026-03-01", "bad");
    bad.data.body = "nul \0 inside".into();
    let err = store
        .upsert(&[insight("good", "2026-03-01", "good"), bad], at(T2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInsight { .. }), "{err}");
    assert_eq!(store.count(&Scope::Everything).await.unwrap(), 1);
}

/// Rows for [`batched_upserts_agree_with_one_at_a_time`]: every third changes in version 2;
/// some have teams (repeated in other cases) and themes (repeated by key).
fn mixed_rows(source: &str, version: u8) -> Vec<PreparedInsight> {
    (0..40)
        .map(|i| {
            let changed = version == 2 && i % 3 == 0;
            let words = format!(
                "word{} common{}",
                i % 7,
                if changed { " changed" } else { "" }
            );
            let mut p = insight(&format!("r{i}"), "2026-03-01", &words);
            p.data.source = source.into();
            if i % 4 == 0 {
                p.data.visibility = Visibility::Teams(strings(&["Payments", "payments", "Growth"]));
            }
            if i % 5 == 0 {
                p.themes = strings(&["Billing", "billing", "Refunds"]);
            }
            p.fingerprint = format!("r{i}-v{}", if changed { 2 } else { 1 });
            indexed(p)
        })
        .collect()
}

async fn batched_upserts_agree_with_one_at_a_time(db: TestDb) {
    let store = db.open().await;
    let kinds = |outcomes: &[UpsertOutcome]| -> Vec<&'static str> {
        outcomes
            .iter()
            .map(|o| match o {
                UpsertOutcome::Inserted(_) => "inserted",
                UpsertOutcome::Updated(_) => "updated",
                UpsertOutcome::Unchanged(_) => "unchanged",
            })
            .collect()
    };
    // The same rows under two sources: one upsert per row, and one batch per version. Version
    // 2 ends with a row already in it, changed once more, and a row new to the store.
    let mut singles = Vec::new();
    let mut batches = Vec::new();
    for version in [1, 1, 2] {
        let mut one = mixed_rows("single", version);
        let mut all = mixed_rows("batch", version);
        if version == 2 {
            for (rows, source) in [(&mut one, "single"), (&mut all, "batch")] {
                let mut again = rows[1].clone();
                again.fingerprint = "r1-v3".into();
                again.data.body = "word1 common again".into();
                rows.push(indexed(again));
                let mut fresh = insight("fresh", "2026-03-02", "common fresh");
                fresh.data.source = source.into();
                rows.push(fresh);
            }
        }
        for row in &one {
            singles.extend(upsert(&store, std::slice::from_ref(row), T1).await);
        }
        batches.extend(upsert(&store, &all, T1).await);
    }
    assert_eq!(kinds(&batches), kinds(&singles));
    let updated = kinds(&batches).iter().filter(|k| **k == "updated").count();
    assert_eq!(updated, 15, "14 rows changed by version 2, then r1");

    let from = |source: &str, test: Test| {
        query(vec![
            vec![yes(test)],
            vec![yes(filter(Filter::Source(source.into())))],
        ])
    };
    for test in [
        term("common"),
        term("changed"),
        term("again"),
        term("word3"),
        filter(Filter::Theme("billing".into())),
        filter(Filter::Theme("refunds".into())),
    ] {
        for scope in [
            Scope::Everything,
            Scope::Team("payments".into()),
            Scope::Team("growth".into()),
            Scope::Public,
        ] {
            let single = refs_in(
                &store,
                &from("single", test.clone()),
                &in_scope(scope.clone()),
            )
            .await;
            let batch = refs_in(
                &store,
                &from("batch", test.clone()),
                &in_scope(scope.clone()),
            )
            .await;
            assert_eq!(single, batch, "{test:?} in {scope:?}");
        }
    }
    assert_eq!(
        refs(&store, &from("batch", term("again"))).await,
        strings(&["r1"])
    );
    for theme in store.theme_counts(&Scope::Everything).await.unwrap() {
        assert_eq!(
            theme.count % 2,
            0,
            "{theme:?} is counted for both sources alike"
        );
    }

    // A batch larger than one statement holds, written and then found unchanged.
    let many: Vec<PreparedInsight> = (0..2_500)
        .map(|i| {
            let mut p = insight(&format!("m{i}"), "2026-03-03", "plenty");
            p.themes = strings(&["Bulk"]);
            indexed(p)
        })
        .collect();
    let first = upsert(&store, &many, T2).await;
    assert!(
        first
            .iter()
            .all(|o| matches!(o, UpsertOutcome::Inserted(_)))
    );
    let ids: BTreeSet<_> = first.iter().map(|o| o.id()).collect();
    assert_eq!(ids.len(), 2_500);
    let again = upsert(&store, &many, T3).await;
    assert_eq!(
        again.iter().map(|o| o.id()).collect::<Vec<_>>(),
        first.iter().map(|o| o.id()).collect::<Vec<_>>()
    );
    assert!(
        again
            .iter()
            .all(|o| matches!(o, UpsertOutcome::Unchanged(_)))
    );
    assert_eq!(
        search(&store, &just(term("plenty")), &everything())
            .await
            .total,
        2_500
    );
    assert!(
        store
            .theme_counts(&Scope::Everything)
            .await
            .unwrap()
            .contains(&count("Bulk", 2_500))
    );
}

async fn sources_are_case_insensitive_identities(db: TestDb) {
    let store = db.open().await;
    let mut upper = insight("r1", "2026-03-01", "word");
    upper.data.source = "CFPB".into();
    let mut lower = upper.clone();
    lower.data.source = "cfpb".into();
    let first = upsert(&store, &[upper], T1).await;
    let second = upsert(&store, &[lower], T2).await;
    assert_eq!(second, vec![UpsertOutcome::Unchanged(first[0].id())]);
    let stored = store
        .insight(first[0].id(), &Scope::Everything)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.data.source, "cfpb");
}

async fn concurrent_importers_of_the_same_rows_agree(db: TestDb) {
    let store = db.open().await;
    let other = db.second_store().await;
    let batch: Vec<PreparedInsight> = (0..40)
        .map(|n| insight(&format!("race-{n:02}"), "2026-03-01", "race"))
        .collect();
    let reversed: Vec<PreparedInsight> = batch.iter().rev().cloned().collect();

    // Round one inserts, round two rewrites with a new fingerprint; one importer goes forward,
    // the other backward, so on PostgreSQL they can also deadlock and must recover.
    for (round, now) in [(1, T1), (2, T2)] {
        let (forward, backward) = if round == 1 {
            (batch.clone(), reversed.clone())
        } else {
            let bump = |p: &PreparedInsight| {
                let mut p = p.clone();
                p.fingerprint = format!("{}-v2", p.data.source_ref);
                p
            };
            (
                batch.iter().map(bump).collect::<Vec<_>>(),
                reversed.iter().map(bump).collect::<Vec<_>>(),
            )
        };
        let a = tokio::spawn({
            let store = store.clone();
            async move { store.upsert(&forward, at(now)).await }
        });
        let b = tokio::spawn({
            let other = other.clone();
            async move { other.upsert(&backward, at(now)).await }
        });
        let a = a.await.unwrap().expect("the first importer succeeds");
        let mut b = b.await.unwrap().expect("the second importer succeeds");
        b.reverse();
        for (n, (a, b)) in a.iter().zip(&b).enumerate() {
            assert_eq!(a.id(), b.id(), "row {n}");
            let expected_change = if round == 1 {
                UpsertOutcome::Inserted(a.id())
            } else {
                UpsertOutcome::Updated(a.id())
            };
            let mut pair = [*a, *b];
            pair.sort_by_key(|o| matches!(o, UpsertOutcome::Unchanged(_)));
            assert_eq!(
                pair,
                [expected_change, UpsertOutcome::Unchanged(a.id())],
                "round {round}, row {n}: exactly one importer writes"
            );
        }
        assert_eq!(store.count(&Scope::Everything).await.unwrap(), 40);
    }
    other.close().await;
}

// ---------------------------------------------------------------------------------------------
// Search semantics

async fn terms_conjunction_disjunction_and_negation(db: TestDb) {
    let store = db.open().await;
    corpus(&store).await;
    assert_eq!(
        refs(&store, &just(term("credit"))).await,
        strings(&["a1", "a2", "a4", "a6", "a7"])
    );
    // Every clause must hold.
    let credit_report = query(vec![vec![yes(term("credit"))], vec![yes(term("report"))]]);
    assert_eq!(
        refs(&store, &credit_report).await,
        strings(&["a1", "a2", "a6"])
    );
    // One alternative of a clause is enough.
    let refund_or_onboard = query(vec![vec![yes(term("refund")), yes(term("onboard"))]]);
    assert_eq!(
        refs(&store, &refund_or_onboard).await,
        strings(&["a3", "a4", "a5"])
    );
    // Negation applies per atom.
    let credit_not_report = query(vec![vec![yes(term("credit"))], vec![not(term("report"))]]);
    assert_eq!(
        refs(&store, &credit_not_report).await,
        strings(&["a4", "a7"])
    );
    let not_credit_or_fee = query(vec![vec![not(term("credit")), yes(term("fee"))]]);
    assert_eq!(
        refs(&store, &not_credit_or_fee).await,
        strings(&["a1", "a3", "a5"])
    );
    // Only negated atoms.
    let only_negated = query(vec![vec![not(term("credit"))], vec![not(term("setup"))]]);
    assert_eq!(refs(&store, &only_negated).await, strings(&["a3"]));
    // No clause matches everything; an empty clause matches nothing.
    assert_eq!(refs(&store, &Query::everything()).await.len(), 7);
    assert!(refs(&store, &query(vec![vec![]])).await.is_empty());
    // A word nobody used.
    assert!(refs(&store, &just(term("zebra"))).await.is_empty());
    // Stems match whole tokens only.
    assert!(refs(&store, &just(term("cred"))).await.is_empty());
}

async fn phrases_need_adjacent_words_in_order(db: TestDb) {
    let store = db.open().await;
    corpus(&store).await;
    // a1 has "credit report" side by side; a2 ("report of credit") and a6 ("credit score
    // report") have both words, apart or reversed.
    assert_eq!(
        refs(&store, &just(phrase(&["credit", "report"]))).await,
        strings(&["a1"])
    );
    assert!(
        refs(&store, &just(phrase(&["report", "credit"])))
            .await
            .is_empty()
    );
    assert_eq!(
        refs(&store, &just(phrase(&["credit", "late"]))).await,
        strings(&["a2"])
    );
    assert_eq!(
        refs(&store, &just(phrase(&["report", "wrong", "late", "fee"]))).await,
        strings(&["a1"])
    );
    assert_eq!(
        refs(&store, &just(phrase(&["limit"]))).await,
        strings(&["a7"])
    );
    // Negated phrase.
    let credit_not_phrase = query(vec![
        vec![yes(term("credit"))],
        vec![not(phrase(&["credit", "report"]))],
    ]);
    assert_eq!(
        refs(&store, &credit_not_phrase).await,
        strings(&["a2", "a4", "a6", "a7"])
    );
    // A phrase of no words matches nothing.
    assert!(refs(&store, &just(Test::Phrase(vec![]))).await.is_empty());
}

async fn field_filters(db: TestDb) {
    let store = db.open().await;
    corpus(&store).await;
    let f = |x: Filter| just(filter(x));
    let cases: Vec<(Query, &[&str])> = vec![
        (
            f(Filter::Theme("billing".into())),
            &["a1", "a2", "a4", "a7"],
        ),
        (f(Filter::Theme("refunds".into())), &["a3"]),
        (f(Filter::Segment("enterprise".into())), &["a1", "a4", "a7"]),
        (f(Filter::Segment("smb".into())), &["a5"]),
        (f(Filter::Account("acme-corp".into())), &["a5"]),
        (f(Filter::Source("cfpb".into())), &["a1", "a2", "a6", "a7"]),
        (f(Filter::Source("CFPB".into())), &["a1", "a2", "a6", "a7"]),
        (f(Filter::Source("zendesk".into())), &["a3", "a4"]),
        (f(Filter::Stage(Stage::Onboarding)), &["a1", "a5"]),
        (f(Filter::Stage(Stage::Purchase)), &[]),
        (f(Filter::Kind(Kind::Pain)), &["a1", "a5"]),
        (f(Filter::Kind(Kind::ChurnSignal)), &["a4"]),
        (
            f(Filter::Sentiment(Sentiment::Negative)),
            &["a1", "a4", "a5"],
        ),
        (f(Filter::Sentiment(Sentiment::Positive)), &["a3"]),
        (f(Filter::Severity(Comparison::Eq, 5)), &["a1"]),
        (f(Filter::Severity(Comparison::Ge, 4)), &["a1", "a4"]),
        (f(Filter::Severity(Comparison::Gt, 3)), &["a1", "a4"]),
        (f(Filter::Severity(Comparison::Lt, 2)), &["a3"]),
        (f(Filter::Severity(Comparison::Le, 2)), &["a3", "a5"]),
        // A negated filter keeps the insights that lack the field.
        (
            query(vec![vec![not(filter(Filter::Segment(
                "enterprise".into(),
            )))]]),
            &["a2", "a3", "a5", "a6"],
        ),
        (
            query(vec![vec![not(filter(Filter::Stage(Stage::Onboarding)))]]),
            &["a2", "a3", "a4", "a6", "a7"],
        ),
        (
            query(vec![vec![not(filter(Filter::Theme("billing".into())))]]),
            &["a3", "a5", "a6"],
        ),
        (
            query(vec![vec![not(filter(Filter::Account("equifax".into())))]]),
            &["a3", "a4", "a5", "a6"],
        ),
        // Filters combine with each other and with text.
        (
            query(vec![vec![
                yes(filter(Filter::Theme("refunds".into()))),
                yes(filter(Filter::Severity(Comparison::Eq, 5))),
            ]]),
            &["a1", "a3"],
        ),
        (
            query(vec![
                vec![yes(term("credit"))],
                vec![yes(filter(Filter::Sentiment(Sentiment::Negative)))],
            ]),
            &["a1", "a4"],
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(refs(&store, &q).await, strings(expected), "{q:?}");
    }
}

async fn keys_match_whole_leading_words(db: TestDb) {
    let store = db.open().await;
    corpus(&store).await;
    let f = |x: Filter| just(filter(x));
    let cases: Vec<(Query, &[&str])> = vec![
        // "EQUIFAX, INC." and "Equifax Inc" are keyed equifax-inc, "Equifax" equifax.
        (f(Filter::Account("equifax".into())), &["a1", "a2", "a7"]),
        (f(Filter::Account("equifax-inc".into())), &["a1", "a7"]),
        (f(Filter::Account("equi".into())), &[]),
        (f(Filter::Account("equinix".into())), &["a3"]),
        (f(Filter::Account("equifax-in".into())), &[]),
        (f(Filter::Theme("credit".into())), &["a1"]),
        (f(Filter::Theme("credit-reporting".into())), &["a1"]),
        (f(Filter::Theme("cred".into())), &[]),
        (f(Filter::Theme("credit-".into())), &[]),
        (f(Filter::Segment("older".into())), &["a2"]),
        (f(Filter::Segment("old".into())), &[]),
        (f(Filter::Segment("older-american".into())), &["a2"]),
        (f(Filter::Segment("older-americans".into())), &[]),
        (f(Filter::Segment(String::new())), &[]),
    ];
    for (q, expected) in cases {
        assert_eq!(refs(&store, &q).await, strings(expected), "{q:?}");
    }
}

async fn dates_are_inclusive_and_relative_to_today(db: TestDb) {
    let store = db.open().await;
    corpus(&store).await;
    let f = |x: Filter| just(filter(x));
    let on = |text: &str| DateBound::On(day(text));
    let cases: Vec<(Query, &[&str])> = vec![
        (
            f(Filter::Since(on("2026-03-01"))),
            &["a1", "a2", "a3", "a7"],
        ),
        (
            f(Filter::Until(on("2026-03-01"))),
            &["a3", "a4", "a5", "a6"],
        ),
        // Today is 2026-03-31: 30 days ago is 2026-03-01, a month ago 2026-02-28.
        (
            f(Filter::Since(DateBound::DaysAgo(30))),
            &["a1", "a2", "a3", "a7"],
        ),
        (
            f(Filter::Since(DateBound::MonthsAgo(1))),
            &["a1", "a2", "a3", "a7"],
        ),
        (f(Filter::Since(DateBound::DaysAgo(14))), &["a1", "a7"]),
        (
            f(Filter::Until(DateBound::DaysAgo(16))),
            &["a2", "a3", "a4", "a5", "a6"],
        ),
        (f(Filter::Since(DateBound::DaysAgo(0))), &[]),
        // Far past the calendar's start: everything is since, nothing is until.
        (
            f(Filter::Since(DateBound::MonthsAgo(u32::MAX))),
            &["a1", "a2", "a3", "a4", "a5", "a6", "a7"],
        ),
        (f(Filter::Until(DateBound::DaysAgo(u32::MAX))), &[]),
        (
            query(vec![
                vec![yes(filter(Filter::Since(on("2026-01-15"))))],
                vec![yes(filter(Filter::Until(on("2026-02-01"))))],
            ]),
            &["a4", "a5"],
        ),
        (
            query(vec![vec![not(filter(Filter::Since(
                DateBound::MonthsAgo(3),
            )))]]),
            &["a6"],
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(refs(&store, &q).await, strings(expected), "{q:?}");
    }
    // The observed range: `from` inclusive, `until` exclusive, on top of the query.
    let mut options = everything();
    options.observed = Some(DateRange {
        from: day("2026-02-01"),
        until: day("2026-03-15"),
    });
    assert_eq!(
        refs_in(&store, &Query::everything(), &options).await,
        strings(&["a3", "a4"])
    );
    assert_eq!(
        refs_in(&store, &just(term("refund")), &options).await,
        strings(&["a3", "a4"])
    );
    assert_eq!(
        refs_in(&store, &just(term("credit")), &options).await,
        strings(&["a4"])
    );
}

async fn visibility_scopes(db: TestDb) {
    let store = db.open().await;
    let ids = corpus(&store).await;
    let a3 = ids[2].id();
    let a4 = ids[3].id();
    let all = strings(&["a1", "a2", "a3", "a4", "a5", "a6", "a7"]);

    assert_eq!(
        refs_in(&store, &Query::everything(), &in_scope(Scope::Everything)).await,
        all
    );
    for team in ["Payments", "payments", "PAYMENTS"] {
        assert_eq!(
            refs_in(
                &store,
                &Query::everything(),
                &in_scope(Scope::Team(team.into()))
            )
            .await,
            strings(&["a1", "a2", "a3", "a5", "a6", "a7"]),
            "{team}"
        );
    }
    assert_eq!(
        refs_in(
            &store,
            &Query::everything(),
            &in_scope(Scope::Team("growth".into()))
        )
        .await,
        strings(&["a1", "a2", "a4", "a5", "a6", "a7"])
    );
    let public = strings(&["a1", "a2", "a5", "a6", "a7"]);
    assert_eq!(
        refs_in(&store, &Query::everything(), &in_scope(Scope::Public)).await,
        public
    );
    assert_eq!(
        refs_in(
            &store,
            &Query::everything(),
            &in_scope(Scope::Team("nobody".into()))
        )
        .await,
        public
    );
    // Visibility holds for text searches and for the breakdowns too.
    let refund = search(&store, &just(term("refund")), &in_scope(Scope::Public)).await;
    assert_eq!(refund.total, 0);
    assert!(refund.themes.is_empty() && refund.by_day.is_empty());

    assert!(
        store
            .insight(a3, &Scope::Everything)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .insight(a3, &Scope::Team("Payments".into()))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .insight(a3, &Scope::Team("Growth".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.insight(a3, &Scope::Public).await.unwrap(), None);
    assert_eq!(
        store.insight(a4 + 1000, &Scope::Everything).await.unwrap(),
        None
    );

    assert_eq!(store.count(&Scope::Everything).await.unwrap(), 7);
    assert_eq!(
        store.count(&Scope::Team("payments".into())).await.unwrap(),
        6
    );
    assert_eq!(store.count(&Scope::Public).await.unwrap(), 5);

    assert_eq!(
        store.theme_counts(&Scope::Everything).await.unwrap(),
        vec![
            count("Billing", 4),
            count("Credit reporting", 1),
            count("Onboarding", 1),
            count("Refunds", 1),
        ]
    );
    assert_eq!(
        store.theme_counts(&Scope::Public).await.unwrap(),
        vec![
            count("Billing", 3),
            count("Credit reporting", 1),
            count("Onboarding", 1),
        ]
    );
}

async fn the_best_matches_come_first_with_exact_totals(db: TestDb) {
    let store = db.open().await;
    // 30 insights saying the same words over 10 days, three per day, so ties on the score
    // and the day are common.
    let batch: Vec<PreparedInsight> = (0..30)
        .map(|n| {
            let observed = format!("2026-03-{:02}", 10 + (n * 7) % 10);
            insight(&format!("c{n:02}"), &observed, "common word")
        })
        .collect();
    let outcomes = upsert(&store, &batch, T1).await;
    let mut expected: Vec<(NaiveDate, i64)> = batch
        .iter()
        .zip(&outcomes)
        .map(|(p, o)| (p.data.observed_on, o.id()))
        .collect();
    // Equal relevance: the newer first, then the higher id.
    expected.sort_by(|a, b| b.cmp(a));

    let mut options = everything();
    options.limit = 5;
    let result = search(&store, &just(term("common")), &options).await;
    assert_eq!(result.total, 30);
    let got: Vec<(NaiveDate, i64)> = result
        .hits
        .iter()
        .map(|h| (h.insight.data.observed_on, h.insight.id))
        .collect();
    assert_eq!(got, expected[..5].to_vec());
    assert_eq!(result.by_day.len(), 10);
    assert!(result.by_day.iter().all(|(_, n)| *n == 3));

    // Every match when the limit is large, in the same order, scores never rising.
    options.limit = 1000;
    let result = search(&store, &just(term("common")), &options).await;
    let got: Vec<(NaiveDate, i64)> = result
        .hits
        .iter()
        .map(|h| (h.insight.data.observed_on, h.insight.id))
        .collect();
    assert_eq!(got, expected);
    assert!(result.hits.windows(2).all(|w| w[0].score >= w[1].score));

    // No matches asked for still counts.
    options.limit = 0;
    let result = search(&store, &just(term("common")), &options).await;
    assert!(result.hits.is_empty());
    assert_eq!(result.total, 30);
}

/// The refs of the best matches, best first.
async fn ranked(store: &Store, q: &Query, options: &SearchOptions) -> Vec<String> {
    search(store, q, options)
        .await
        .hits
        .into_iter()
        .map(|h| h.insight.data.source_ref)
        .collect()
}

async fn relevance_ranks_every_match(db: TestDb) {
    let store = db.open().await;
    let mut batch = vec![
        // Where a word is found: the title counts more than a theme, a theme more than the body.
        insight("body", "2026-03-31", "waited weeks my refund never arrived"),
        {
            let mut p = insight("title", "2026-03-31", "waited weeks never arrived");
            p.data.title = "Refund".into();
            p
        },
        {
            let mut p = insight("theme", "2026-03-31", "waited weeks never arrived");
            p.themes = strings(&["Refunds"]);
            p
        },
    ];
    // Filler so that "refund" is a rare word and "account" a common one.
    for n in 0..12 {
        batch.push(insight(
            &format!("filler{n:02}"),
            "2026-01-01",
            "my account was updated",
        ));
    }
    batch.push(insight("both", "2026-01-01", "account chargeback filed"));
    batch.push(insight("rare", "2026-01-01", "chargeback on my card"));
    // A strong match from long ago against a passing mention from today.
    batch.push(insight(
        "old-strong",
        "2021-01-01",
        "outage outage outage the outage again",
    ));
    batch.push(insight(
        "new-passing",
        "2026-03-31",
        "shipping was slow and the parcel arrived late after a long wait for a small          outage somewhere in the warehouse according to the courier who called twice",
    ));
    upsert(&store, &batch, T1).await;
    let options = everything();

    assert_eq!(
        ranked(&store, &just(term("refund")), &options).await,
        strings(&["title", "theme", "body"])
    );
    let chargeback = ranked(&store, &just(term("chargeback")), &options).await;
    assert_eq!(chargeback.len(), 2);
    let account_or_chargeback = query(vec![vec![yes(term("account")), yes(term("chargeback"))]]);
    let order = ranked(&store, &account_or_chargeback, &options).await;
    assert_eq!(order.len(), 14);
    assert_eq!(order[0], "both", "{order:?}");
    assert_eq!(order[1], "rare", "the rarer word weighs more: {order:?}");
    assert_eq!(
        ranked(&store, &just(term("outage")), &options).await,
        strings(&["old-strong", "new-passing"])
    );
}

async fn severity_reach_and_coverage_order_the_rest(db: TestDb) {
    let store = db.open().await;
    let mut mild = insight("mild", "2026-03-01", "login loop");
    mild.data.severity = Severity::new(1).unwrap();
    let mut severe = insight("severe", "2026-03-01", "login loop");
    severe.data.severity = Severity::new(5).unwrap();
    // Three accounts share the Billing theme (Acme and ACME are one), one is alone.
    let shared = |r: &str, account: &str| {
        let mut p = insight(r, "2026-03-01", "problem");
        p.themes = strings(&["Billing"]);
        p.data.account = Some(account.into());
        p
    };
    let mut alone = insight("alone", "2026-03-01", "problem");
    alone.themes = strings(&["Onboarding"]);
    alone.data.account = Some("Initech".into());
    // Only Growth may see this one: it must not count towards anyone's reach.
    let mut private = shared("private", "Umbrella");
    private.data.visibility = Visibility::Teams(strings(&["Growth"]));
    let batch = vec![
        mild,
        severe,
        alone,
        shared("b1", "Acme"),
        shared("b2", "ACME"),
        shared("b3", "Globex"),
        shared("b4", "Hooli"),
        private,
    ];
    upsert(&store, &batch, T1).await;
    let options = everything();
    assert_eq!(
        ranked(&store, &just(term("login")), &options).await,
        strings(&["severe", "mild"])
    );
    let problems = search(&store, &just(term("problem")), &options).await;
    let order: Vec<&str> = problems
        .hits
        .iter()
        .map(|h| h.insight.data.source_ref.as_str())
        .collect();
    assert_eq!(*order.last().unwrap(), "alone", "{order:?}");
    let reach_of = |r: &str| {
        problems
            .hits
            .iter()
            .find(|h| h.insight.data.source_ref == r)
            .and_then(|h| h.reach)
    };
    assert_eq!(reach_of("b1"), Some(3), "acme, globex, hooli");
    assert_eq!(reach_of("alone"), Some(1));

    // Coordination: an insight holding more of the question ranks above one repeating a word,
    // and a rare word held counts for more than a common one (by BM25).
    let mut all = insight("all", "2020-01-01", "identity theft credit");
    all.data.severity = Severity::new(1).unwrap();
    let mut repeats = insight("repeats", "2026-03-31", "theft theft theft theft theft");
    repeats.data.severity = Severity::new(5).unwrap();
    let rare = insight("rare", "2026-03-31", "identity caller");
    let common = insight("common", "2026-03-31", "credit limit");
    let mut batch = vec![all, repeats, rare, common];
    batch.extend((0..6).map(|n| insight(&format!("credit{n}"), "2026-03-01", "credit line")));
    upsert(&store, &batch, T2).await;
    let words = query(vec![vec![
        yes(term("identity")),
        yes(term("theft")),
        yes(term("credit")),
    ]]);
    let mut options = everything();
    options.ranking.coordination = true;
    let order = ranked(&store, &words, &options).await;
    assert_eq!(order.first().map(String::as_str), Some("all"), "{order:?}");
    let at = |title: &str| order.iter().position(|t| t == title);
    assert!(at("rare") < at("common"), "{order:?}");
    options.ranking.coordination = false;
    let plain = ranked(&store, &words, &options).await;
    assert_eq!(
        plain.first().map(String::as_str),
        Some("repeats"),
        "{plain:?}"
    );
}

async fn breakdowns_days_and_accounts(db: TestDb) {
    let store = db.open().await;
    let ids = corpus(&store).await;
    let result = search(&store, &just(term("credit")), &everything()).await;
    assert_eq!(result.total, 5);
    assert_eq!(result.accounts, 2, "equifax-inc and equifax");
    assert_eq!(
        result.themes,
        vec![count("Billing", 4), count("Credit reporting", 1)]
    );
    assert_eq!(
        result.segments,
        vec![count("Enterprise", 3), count("Older American", 1)]
    );
    assert_eq!(
        result.by_day,
        vec![
            (day("2025-12-01"), 1),
            (day("2026-02-01"), 1),
            (day("2026-03-15"), 1),
            (day("2026-03-30"), 2),
        ]
    );
    // Every match is ranked, best first.
    let mut found: Vec<i64> = result.hits.iter().map(|h| h.insight.id).collect();
    found.sort();
    let mut expected: Vec<i64> = [0, 1, 3, 5, 6].iter().map(|&i| ids[i].id()).collect();
    expected.sort();
    assert_eq!(found, expected);
    assert!(result.hits.windows(2).all(|w| w[0].score >= w[1].score));

    // Ties in a breakdown are ordered by name, by code point ("Refunds" before "billing").
    let refund = search(&store, &just(term("refund")), &everything()).await;
    assert_eq!(
        refund.themes,
        vec![count("Refunds", 1), count("billing", 1)]
    );
    assert_eq!(refund.segments, vec![count("enterprise", 1)]);
    assert_eq!(refund.accounts, 1);

    // The breakdown limit keeps the largest.
    let mut options = everything();
    options.breakdown = 1;
    let limited = search(&store, &just(term("credit")), &options).await;
    assert_eq!(limited.themes, vec![count("Billing", 4)]);
    assert_eq!(limited.segments, vec![count("Enterprise", 3)]);
    assert_eq!(limited.total, 5);

    // Breakdowns over a filter-only query and over nothing.
    let everything_result = search(&store, &Query::everything(), &everything()).await;
    assert_eq!(everything_result.total, 7);
    assert_eq!(everything_result.accounts, 4);
    assert_eq!(
        everything_result.segments,
        vec![
            count("Enterprise", 3),
            count("Older American", 1),
            count("SMB", 1)
        ]
    );
    let nothing = search(&store, &just(term("zebra")), &everything()).await;
    assert_eq!(
        (nothing.total, nothing.accounts, nothing.themes.len()),
        (0, 0, 0)
    );
    assert!(nothing.by_day.is_empty() && nothing.segments.is_empty());
}

async fn theme_days_count_each_theme_day_by_day(db: TestDb) {
    let store = db.open().await;
    corpus(&store).await;
    let days = |name: &str, by_day: &[(&str, u64)]| ThemeDays {
        name: name.into(),
        by_day: by_day.iter().map(|(d, n)| (day(d), *n)).collect(),
    };
    let themes = strings(&["billing", "Refunds", "Nothing here", "BILLING", ""]);
    let counted = store
        .theme_days(&Query::everything(), &everything(), &themes)
        .await
        .unwrap();
    // Each theme once, in the order asked, named as the breakdown names it; a theme without
    // matches has no days.
    assert_eq!(
        counted,
        vec![
            days(
                "Billing",
                &[("2026-02-01", 1), ("2026-03-15", 1), ("2026-03-30", 2)]
            ),
            days("Refunds", &[("2026-03-01", 1)]),
            days("Nothing here", &[]),
        ]
    );
    // Visibility, the query and the observed dates all narrow what is counted.
    let payments = store
        .theme_days(
            &Query::everything(),
            &in_scope(Scope::Team("Payments".into())),
            &themes[..2],
        )
        .await
        .unwrap();
    assert_eq!(
        payments,
        vec![
            days("Billing", &[("2026-03-15", 1), ("2026-03-30", 2)]),
            days("Refunds", &[("2026-03-01", 1)]),
        ]
    );
    let public = store
        .theme_days(
            &Query::everything(),
            &in_scope(Scope::Public),
            &strings(&["Refunds"]),
        )
        .await
        .unwrap();
    assert_eq!(public, vec![days("Refunds", &[])]);
    let mut march = everything();
    march.observed = Some(DateRange {
        from: day("2026-03-01"),
        until: day("2026-03-30"),
    });
    let credit = store
        .theme_days(&just(term("credit")), &march, &strings(&["Billing"]))
        .await
        .unwrap();
    assert_eq!(credit, vec![days("Billing", &[("2026-03-15", 1)])]);
    assert!(
        store
            .theme_days(&Query::everything(), &everything(), &[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn hostile_text_round_trips_byte_for_byte(db: TestDb) {
    let store = db.open().await;
    let mut hostile = insight("ref'); DROP TABLE insights; --", "2026-03-01", "");
    hostile.data.source = "src\"quoted'".into();
    hostile.data.title = "Robert'); DROP TABLE insights; -- \"quoted\" `tick`".into();
    hostile.data.body = "50% off_ \\backslash\\ $1 ? :name @x ' '' \" \n\t\r naïve café — \
                         日本語 עברית Ελληνικά 🎉👩‍👩‍👧 \u{200b}zero-width \u{feff}bom"
        .into();
    hostile.data.segment = Some("Ent'er\"prise 🏢".into());
    hostile.data.account = Some("O'Brien & Sons; DROP".into());
    hostile.data.url = Some("https://example.com/?q='x'&r=\"y\"#%00".into());
    hostile.data.tags = strings(&["it's", "\"quoted\"", "emoji 🎉"]);
    hostile.data.visibility = Visibility::Teams(strings(&["Team 'A'", "ÉQUIPE"]));
    hostile.themes = strings(&["it's", "\"quoted\"", "emoji 🎉"]);
    // The body is what is searched; the title and everything else must survive too.
    hostile.data.body = format!(
        "{} robert drop table insights naïve café 日本語 \"quoted\" it's a\\b NEAR(x y) * \
         - OR AND NOT : ^ ' ''",
        hostile.data.body
    );
    hostile.fingerprint = "fp'\"; --".into();
    let outcome = upsert(&store, &[hostile.clone()], T1).await;
    let id = outcome[0].id();

    let mut expected_data = hostile.data.clone();
    expected_data.source = "src\"quoted'".to_lowercase();
    let stored = store
        .insight(id, &Scope::Everything)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        stored,
        Insight {
            id,
            data: expected_data,
            themes: hostile.themes.clone(),
            added_at: at(T1),
            updated_at: at(T1),
        }
    );
    // Re-importing the same hostile row is recognised as the same row.
    assert_eq!(
        upsert(&store, &[hostile.clone()], T2).await,
        vec![UpsertOutcome::Unchanged(id)]
    );

    // Ordinary stems, Unicode included, are found.
    for stem in ["robert", "naïve", "café", "日本語"] {
        assert_eq!(refs(&store, &just(term(stem))).await.len(), 1, "{stem}");
    }
    assert_eq!(
        refs(&store, &just(phrase(&["drop", "table", "insights"])))
            .await
            .len(),
        1
    );
    // Hostile stems, filters and team names are values, never syntax: no error, no match.
    let hostile_stems = [
        "\"",
        "'",
        "''",
        "*",
        "a\\b",
        "robert\" OR \"x",
        "x' | 'y",
        "NEAR(x y)",
        "') ; DROP TABLE insights; --",
        "-",
        "",
    ];
    for stem in hostile_stems {
        assert!(
            refs(&store, &just(term(stem))).await.is_empty(),
            "term {stem:?}"
        );
        assert!(
            refs(&store, &just(phrase(&["robert", stem])))
                .await
                .is_empty(),
            "phrase {stem:?}"
        );
        let negated = query(vec![vec![not(term(stem))]]);
        assert_eq!(refs(&store, &negated).await.len(), 1, "negated {stem:?}");
    }
    for value in ["it's", "'; DROP TABLE insights; --", "%", "_", "\\"] {
        for f in [
            Filter::Theme(value.into()),
            Filter::Segment(value.into()),
            Filter::Account(value.into()),
            Filter::Source(value.into()),
        ] {
            assert!(
                refs(&store, &just(filter(f.clone()))).await.is_empty(),
                "{f:?}"
            );
        }
        let scoped = SearchOptions::new(Scope::Team(value.into()), today());
        assert!(
            refs_in(&store, &Query::everything(), &scoped)
                .await
                .is_empty()
        );
    }
    // Keys of hostile names still match.
    assert_eq!(
        refs(&store, &just(filter(Filter::Theme("it-s".into()))))
            .await
            .len(),
        1
    );
    assert_eq!(
        refs(&store, &just(filter(Filter::Account("o-brien".into()))))
            .await
            .len(),
        1
    );
    let scoped = SearchOptions::new(Scope::Team("team 'a'".into()), today());
    assert_eq!(
        refs_in(&store, &Query::everything(), &scoped).await.len(),
        1
    );
    assert_eq!(store.count(&Scope::Everything).await.unwrap(), 1);
}

async fn invalid_insights_are_refused_before_writing(db: TestDb) {
    let store = db.open().await;
    let mut far = insight("far", "2026-03-01", "far");
    far.data.observed_on = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
    let mut nul_theme = insight("nul", "2026-03-01", "nul");
    nul_theme.themes = strings(&["bad\0theme"]);
    for bad in [far, nul_theme] {
        let err = store
            .upsert(std::slice::from_ref(&bad), at(T1))
            .await
            .expect_err("refused");
        match &err {
            StoreError::InvalidInsight { source_ref, .. } => {
                assert_eq!(source_ref, &bad.data.source_ref)
            }
            other => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(store.count(&Scope::Everything).await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Digests and the delivery outbox

const WEEK: i64 = 7 * 86_400_000;
const LEASE: Duration = Duration::from_secs(60);

/// A composed digest of `team` for the week starting `week` weeks after T1, written at that
/// week's end.
fn new_digest(team: &str, week: i64, channels: &[&str]) -> NewDigest {
    let start = T1 + week * WEEK;
    NewDigest {
        team: team.into(),
        period_start: at(start),
        period_end: at(start + WEEK),
        message: serde_json::json!({"title": format!("Digest of {team}, week {week}"), "items": [1, 2]}),
        summary: serde_json::json!({"insights": [1, 2], "week": week}),
        channels: strings(channels),
        now: at(start + WEEK),
    }
}

async fn create(store: &Store, digest: &NewDigest) -> DigestCreated {
    store
        .create_digest(digest)
        .await
        .unwrap_or_else(|e| panic!("creating a digest failed: {e}"))
}

async fn claim(store: &Store, owner: &str, now: i64, limit: usize) -> Vec<ClaimedDelivery> {
    store
        .claim_deliveries(owner, at(now), LEASE, limit)
        .await
        .unwrap_or_else(|e| panic!("claiming failed: {e}"))
}

async fn delivery(store: &Store, digest_id: i64, id: i64) -> DeliveryRecord {
    store
        .deliveries(digest_id)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.id == id)
        .expect("the delivery exists")
}

async fn digests_are_created_once_per_team_and_period(db: TestDb) {
    let store = db.open().await;
    let others = [db.second_store().await, db.second_store().await];
    let digest = new_digest(
        "payments",
        0,
        &["slack:C1", "discord:9", "slack:C1", "slack:C2"],
    );

    // Six schedulers on three replicas race for the same period.
    let racers: Vec<_> = (0..6)
        .map(|n| {
            let store = if n % 3 == 0 {
                store.clone()
            } else {
                others[n % 3 - 1].clone()
            };
            let digest = digest.clone();
            tokio::spawn(async move { store.create_digest(&digest).await })
        })
        .collect();
    let mut created = Vec::new();
    let mut existing = Vec::new();
    for racer in racers {
        match racer.await.unwrap().expect("no racer fails") {
            DigestCreated::Created {
                digest_id,
                deliveries,
            } => created.push((digest_id, deliveries)),
            DigestCreated::AlreadyExists { digest_id, status } => {
                assert_eq!(status, DigestStatus::Composed);
                existing.push(digest_id);
            }
        }
    }
    assert_eq!(created.len(), 1, "exactly one racer creates the digest");
    let (digest_id, deliveries) = created.pop().unwrap();
    assert_eq!(existing, vec![digest_id; 5]);
    assert_eq!(deliveries.len(), 3, "a repeated channel is queued once");

    let stored = store.deliveries(digest_id).await.unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|d| d.channel.as_str())
            .collect::<Vec<_>>(),
        ["discord:9", "slack:C1", "slack:C2"]
    );
    for d in &stored {
        assert!(deliveries.contains(&d.id));
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!((d.attempts, d.in_doubt), (0, false));
        assert_eq!(d.next_attempt_at, digest.now);
        assert_eq!(
            (d.team.as_str(), d.outbound),
            (
                "payments",
                Outbound::Digest {
                    id: digest_id,
                    period_start: digest.period_start
                }
            )
        );
    }
    assert_eq!(store.pending_deliveries().await.unwrap(), 3);

    let record = store.digest(digest_id).await.unwrap().expect("the digest");
    assert_eq!(
        record,
        DigestRecord {
            id: digest_id,
            team: "payments".into(),
            period_start: digest.period_start,
            period_end: digest.period_end,
            status: DigestStatus::Composed,
            message: Some(digest.message.clone()),
            summary: digest.summary.clone(),
            skip_reason: None,
            created_at: digest.now,
        }
    );
    assert_eq!(
        store
            .digest_for("payments", digest.period_start)
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store
            .digest_for("growth", digest.period_start)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.digest(digest_id + 1000).await.unwrap(), None);

    // A period with a digest cannot be skipped; another team's same period is its own.
    assert!(
        !store
            .skip_period(
                "payments",
                digest.period_start,
                digest.period_end,
                "late",
                at(T2)
            )
            .await
            .unwrap()
    );
    let growth = create(&store, &new_digest("growth", 0, &["slack:G"])).await;
    assert!(matches!(growth, DigestCreated::Created { .. }));

    // A skipped period stays skipped: composing it later is refused politely.
    let next = new_digest("payments", 1, &["slack:C1"]);
    assert!(
        store
            .skip_period(
                "payments",
                next.period_start,
                next.period_end,
                "service was down",
                next.now
            )
            .await
            .unwrap()
    );
    assert_eq!(
        create(&store, &next).await,
        DigestCreated::AlreadyExists {
            digest_id: store
                .digest_for("payments", next.period_start)
                .await
                .unwrap()
                .unwrap()
                .id,
            status: DigestStatus::Skipped
        }
    );
    let latest = store.latest_digest("payments").await.unwrap().unwrap();
    assert_eq!(latest.period_start, next.period_start);
    assert_eq!(latest.status, DigestStatus::Skipped);
    assert_eq!(
        (latest.message, latest.summary),
        (None, serde_json::Value::Null)
    );
    assert_eq!(latest.skip_reason.as_deref(), Some("service was down"));
    assert_eq!(store.latest_digest("nobody").await.unwrap(), None);
    assert_eq!(store.pending_deliveries().await.unwrap(), 4);

    // Asked for explicitly, a skipped period is composed after all, once.
    let mut late = next.clone();
    late.channels = vec!["slack:C1".into(), "slack:C2".into(), "slack:C1".into()];
    let composed = store.compose_skipped(&late).await.unwrap();
    let DigestCreated::Created {
        digest_id: late_id,
        deliveries,
    } = composed
    else {
        panic!("the skip is composed: {composed:?}");
    };
    assert_eq!(late_id, latest.id, "the skip became the digest");
    assert_eq!(deliveries.len(), 2);
    let record = store.digest(late_id).await.unwrap().unwrap();
    assert_eq!(record.status, DigestStatus::Composed);
    assert_eq!(record.skip_reason, None);
    assert_eq!(record.message, Some(late.message.clone()));
    assert_eq!(
        store.compose_skipped(&late).await.unwrap(),
        DigestCreated::AlreadyExists {
            digest_id: late_id,
            status: DigestStatus::Composed
        }
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 6);
    for other in others {
        other.close().await;
    }
}

async fn a_digest_and_its_outbox_are_written_together_or_not_at_all(db: TestDb) {
    let store = db.open().await;
    // The second channel breaks a rule of the schema after the digest row is written.
    let bad = new_digest("payments", 0, &["slack:C1", ""]);
    let err = store.create_digest(&bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err}");
    assert_eq!(
        store
            .digest_for("payments", bad.period_start)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);

    // A period that does not end after it starts is refused too.
    let mut backwards = new_digest("payments", 0, &["slack:C1"]);
    backwards.period_end = backwards.period_start;
    let err = store.create_digest(&backwards).await.unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err}");
    assert!(
        store
            .skip_period("payments", bad.period_end, bad.period_start, "x", at(T1))
            .await
            .is_err()
    );

    // The period is still free.
    let good = create(&store, &new_digest("payments", 0, &["slack:C1"])).await;
    let DigestCreated::Created { deliveries, .. } = good else {
        panic!("expected a new digest, got {good:?}");
    };
    assert_eq!(deliveries.len(), 1);
    assert_eq!(store.pending_deliveries().await.unwrap(), 1);

    // A digest without channels is still the period's digest.
    let quiet = create(&store, &new_digest("quiet", 0, &[])).await;
    assert!(
        matches!(quiet, DigestCreated::Created { ref deliveries, .. } if deliveries.is_empty())
    );
}

async fn claims_lease_due_deliveries_and_expired_leases_come_back_in_doubt(db: TestDb) {
    let store = db.open().await;
    let digest = new_digest("payments", 0, &["slack:C1", "slack:C2"]);
    let now = millis_of(digest.now);
    let digest_id = create(&store, &digest).await.digest_id();

    assert!(
        claim(&store, "w1", now - 1, 10).await.is_empty(),
        "not due yet"
    );
    assert!(
        store
            .claim_deliveries("w1", at(now), LEASE, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let first = claim(&store, "w1", now, 10).await;
    assert_eq!(first.len(), 2);
    for (c, channel) in first.iter().zip(["slack:C1", "slack:C2"]) {
        assert_eq!(c.channel, channel);
        assert_eq!(
            (c.outbound, c.team.as_str()),
            (
                Outbound::Digest {
                    id: digest_id,
                    period_start: digest.period_start
                },
                "payments"
            )
        );
        assert_eq!(c.message, digest.message);
        assert_eq!((c.attempts, c.in_doubt), (1, false));
    }
    let leased = delivery(&store, digest_id, first[0].id).await;
    assert_eq!(leased.status, DeliveryStatus::Sending);
    assert_eq!(leased.lease_owner.as_deref(), Some("w1"));
    assert_eq!(leased.lease_until, Some(at(now + 60_000)));

    // Leased rows are nobody else's until the lease runs out.
    assert!(claim(&store, "w2", now + 59_999, 10).await.is_empty());
    assert_eq!(store.pending_deliveries().await.unwrap(), 2);

    // w1 died: its rows come back in doubt, one claim at a time here.
    let taken = claim(&store, "w2", now + 60_000, 1).await;
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, first[0].id);
    assert_eq!((taken[0].attempts, taken[0].in_doubt), (2, true));
    let rest = claim(&store, "w2", now + 60_000, 10).await;
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), [first[1].id]);
    assert!(rest[0].in_doubt);

    // w1 comes back to life: every lease it held is lost.
    let id = first[0].id;
    assert!(
        !store
            .delivery_sent(id, "w1", "ts-1", at(now + 60_001))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delivery_retry(id, "w1", at(now), "late")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delivery_failed(id, "w1", "late", at(now))
            .await
            .unwrap()
    );
    assert_eq!(
        delivery(&store, digest_id, id).await.status,
        DeliveryStatus::Sending
    );

    // The new holder settles; settling twice is refused.
    assert!(
        store
            .delivery_sent(id, "w2", "ts-1", at(now + 61_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delivery_sent(id, "w2", "ts-2", at(now + 62_000))
            .await
            .unwrap()
    );
    let sent = delivery(&store, digest_id, id).await;
    assert_eq!(sent.status, DeliveryStatus::Sent);
    assert_eq!(sent.platform_message_ref.as_deref(), Some("ts-1"));
    assert_eq!(sent.sent_at, Some(at(now + 61_000)));
    assert_eq!(
        (sent.lease_until, sent.attempts, sent.in_doubt),
        (None, 2, true)
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 1);

    // A lease that ran out but was not taken over still records the send.
    assert!(
        store
            .delivery_sent(first[1].id, "w2", "ts-3", at(now + 500_000))
            .await
            .unwrap()
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    assert!(claim(&store, "w3", now + 10 * WEEK, 10).await.is_empty());

    let summary = store.delivery_summary(10).await.unwrap();
    assert_eq!(summary.len(), 2);
    assert!(summary.iter().all(|d| d.status == DeliveryStatus::Sent));
}

async fn retries_wait_until_due_and_failures_are_final(db: TestDb) {
    let store = db.open().await;
    let digest = new_digest("payments", 0, &["slack:C1"]);
    let now = millis_of(digest.now);
    let digest_id = create(&store, &digest).await.digest_id();
    let id = claim(&store, "w1", now, 10).await[0].id;

    assert!(
        store
            .delivery_retry(id, "w1", at(now + 30_000), "429: retry after 30 s")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delivery_retry(id, "w1", at(now), "again")
            .await
            .unwrap()
    );
    let waiting = delivery(&store, digest_id, id).await;
    assert_eq!(waiting.status, DeliveryStatus::Pending);
    assert_eq!(waiting.next_attempt_at, at(now + 30_000));
    assert_eq!(waiting.last_error.as_deref(), Some("429: retry after 30 s"));
    assert_eq!(waiting.lease_until, None);
    assert_eq!(store.pending_deliveries().await.unwrap(), 1);

    assert!(claim(&store, "w2", now + 29_999, 10).await.is_empty());
    let again = claim(&store, "w2", now + 30_000, 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].attempts, again[0].in_doubt),
        (id, 2, false)
    );

    assert!(
        !store
            .delivery_failed(id, "w1", "not mine", at(now))
            .await
            .unwrap()
    );
    assert!(
        store
            .delivery_failed(id, "w2", "channel_not_found", at(now + 31_000))
            .await
            .unwrap()
    );
    let failed = delivery(&store, digest_id, id).await;
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("channel_not_found"));
    assert_eq!(failed.failed_at, Some(at(now + 31_000)));
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);

    // Failed is final: never claimed again, never settled again.
    assert!(claim(&store, "w3", now + 10 * WEEK, 10).await.is_empty());
    assert!(!store.delivery_sent(id, "w2", "ts", at(now)).await.unwrap());
    assert!(!store.delivery_retry(id, "w2", at(now), "x").await.unwrap());
}

async fn concurrent_workers_send_each_delivery_exactly_once(db: TestDb) {
    let store = db.open().await;
    let channels: Vec<String> = (0..20).map(|n| format!("slack:C{n:02}")).collect();
    let channels: Vec<&str> = channels.iter().map(String::as_str).collect();
    let mut digest_ids = Vec::new();
    for team in 0..10 {
        let digest = new_digest(&format!("team-{team}"), 0, &channels);
        digest_ids.push(create(&store, &digest).await.digest_id());
    }
    assert_eq!(store.pending_deliveries().await.unwrap(), 200);
    let now = T1 + 2 * WEEK;

    // Three replicas, each with its own pool, claim and send until nothing is left.
    let mut workers = Vec::new();
    for n in 0..3 {
        let store = if n == 0 {
            store.clone()
        } else {
            db.second_store().await
        };
        workers.push(tokio::spawn(async move {
            let owner = format!("worker-{n}");
            let mut claimed = Vec::new();
            loop {
                let batch = store
                    .claim_deliveries(&owner, at(now), Duration::from_secs(600), 7)
                    .await
                    .expect("claiming succeeds");
                if batch.is_empty() {
                    break;
                }
                for c in batch {
                    assert!(!c.in_doubt);
                    let sent = store
                        .delivery_sent(c.id, &owner, &format!("ts-{}", c.id), at(now))
                        .await
                        .expect("recording succeeds");
                    assert!(sent, "{owner} lost the lease of delivery {}", c.id);
                    claimed.push((c.id, owner.clone()));
                }
            }
            if n != 0 {
                store.close().await;
            }
            claimed
        }));
    }
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    let distinct: BTreeSet<i64> = claimed.iter().map(|(id, _)| *id).collect();
    assert_eq!(claimed.len(), 200, "every delivery is claimed exactly once");
    assert_eq!(distinct.len(), 200);
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    for digest_id in digest_ids {
        for d in store.deliveries(digest_id).await.unwrap() {
            assert_eq!(d.status, DeliveryStatus::Sent);
            assert_eq!(d.attempts, 1, "delivery {} was claimed twice", d.id);
            let owner = &claimed.iter().find(|(id, _)| *id == d.id).unwrap().1;
            assert_eq!(d.lease_owner.as_ref(), Some(owner));
            assert_eq!(d.platform_message_ref, Some(format!("ts-{}", d.id)));
        }
    }
}

fn millis_of(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

// ---------------------------------------------------------------------------------------------
// Engagement and audit

/// Three plain insights; the third is visible to the payments team only.
async fn three_insights(store: &Store) -> [i64; 3] {
    let mut private = insight("e3", "2026-03-03", "three");
    private.data.visibility = Visibility::Teams(strings(&["payments"]));
    let ids = upsert(
        store,
        &[
            insight("e1", "2026-03-01", "one"),
            insight("e2", "2026-03-02", "two"),
            private,
        ],
        T1,
    )
    .await;
    [ids[0].id(), ids[1].id(), ids[2].id()]
}

fn comment(insight_id: i64, channel: &str, platform_ref: &str, text: &str, now: i64) -> NewComment {
    NewComment {
        insight_id,
        author: "U1".into(),
        channel: channel.into(),
        thread_ref: Some("1700000000.000100".into()),
        platform_ref: platform_ref.into(),
        text: text.into(),
        now: at(now),
    }
}

async fn flags_are_raised_once_per_person_and_resolved_together(db: TestDb) {
    let store = db.open().await;
    let [i1, i2, _] = three_insights(&store).await;
    let flag = |insight: i64,
                team: &'static str,
                who: &'static str,
                note: Option<&'static str>,
                now: i64| {
        let store = store.clone();
        async move {
            store
                .flag(insight, team, who, note, at(now))
                .await
                .unwrap_or_else(|e| panic!("flagging failed: {e}"))
        }
    };

    let first = flag(i1, "payments", "U1", Some("pricing"), T1).await;
    assert!(first.new);
    let again = flag(i1, "payments", "U1", Some("pricing page"), T1 + 10).await;
    assert_eq!(
        again,
        FlagOutcome {
            flag_id: first.flag_id,
            new: false
        }
    );
    // No note keeps the one written before.
    assert!(!flag(i1, "payments", "U1", None, T1 + 20).await.new);
    assert!(flag(i1, "payments", "U2", None, T2).await.new);
    assert!(flag(i2, "payments", "U1", Some("later"), T2 + 5).await.new);
    assert!(flag(i1, "growth", "U1", None, T1).await.new);

    let open = store.open_flags("payments").await.unwrap();
    assert_eq!(
        open,
        vec![
            OpenFlagRow {
                insight_id: i1,
                title: "e1".into(),
                flags: 2,
                latest_note: Some("pricing page".into()),
                first_flagged_at: at(T1),
                last_flagged_at: at(T2),
            },
            OpenFlagRow {
                insight_id: i2,
                title: "e2".into(),
                flags: 1,
                latest_note: Some("later".into()),
                first_flagged_at: at(T2 + 5),
                last_flagged_at: at(T2 + 5),
            },
        ]
    );
    assert!(store.open_flags("nobody").await.unwrap().is_empty());

    // Resolving closes the team's flags on those insights only.
    assert_eq!(
        store
            .resolve_flags("payments", &[], Some(7), at(T3))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .resolve_flags("payments", &[i1, 9999], Some(7), at(T3))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .resolve_flags("payments", &[i1], None, at(T3))
            .await
            .unwrap(),
        0
    );
    let open = store.open_flags("payments").await.unwrap();
    assert_eq!(open.iter().map(|f| f.insight_id).collect::<Vec<_>>(), [i2]);
    assert_eq!(store.open_flags("growth").await.unwrap().len(), 1);
    assert_eq!(
        store
            .resolve_flags("growth", &[i1], None, at(T3))
            .await
            .unwrap(),
        1
    );

    // After a decision, flagging again raises a new flag.
    let reopened = flag(i1, "payments", "U1", None, T3).await;
    assert!(reopened.new && reopened.flag_id != first.flag_id);
    assert_eq!(
        store.open_flags("payments").await.unwrap()[0].latest_note,
        Some("later".into())
    );

    // Racing double clicks from two replicas raise one flag.
    let other = db.second_store().await;
    let racers: Vec<_> = (0..4)
        .map(|n| {
            let store = if n % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move { store.flag(i2, "growth", "U9", None, at(T3)).await })
        })
        .collect();
    let mut new = 0;
    for racer in racers {
        new += usize::from(racer.await.unwrap().expect("no racer fails").new);
    }
    assert_eq!(new, 1);
    other.close().await;

    let err = store
        .flag(424242, "payments", "U1", None, at(T1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err}");
}

async fn votes_count_once_per_person(db: TestDb) {
    let store = db.open().await;
    let [i1, i2, _] = three_insights(&store).await;
    assert!(store.vote_useful(i1, "U1", at(T1)).await.unwrap());
    assert!(!store.vote_useful(i1, "U1", at(T2)).await.unwrap());
    assert!(store.vote_useful(i1, "U2", at(T2)).await.unwrap());
    assert!(store.vote_useful(i2, "U1", at(T2)).await.unwrap());
    let engagement = store
        .engagement_since(&Scope::Everything, at(T1), 10)
        .await
        .unwrap();
    assert_eq!(
        engagement,
        vec![
            EngagementRow {
                insight_id: i1,
                title: "e1".into(),
                comments: 0,
                useful: 2
            },
            EngagementRow {
                insight_id: i2,
                title: "e2".into(),
                comments: 0,
                useful: 1
            },
        ]
    );
    let err = store.vote_useful(424242, "U1", at(T1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err}");
}

async fn comments_are_deduplicated_by_platform_ref_and_threads_find_their_insight(db: TestDb) {
    let store = db.open().await;
    let [i1, i2, _] = three_insights(&store).await;
    let first = comment(i1, "slack:C1", "1700000000.000200", "We saw this too", T2);
    assert!(store.add_comment(&first).await.unwrap());
    // The platform delivers the same message again, even with other text: ignored.
    let redelivered = comment(i1, "slack:C1", "1700000000.000200", "edited", T3);
    assert!(!store.add_comment(&redelivered).await.unwrap());
    // The same `ts` in another channel is another message.
    let mut elsewhere = comment(i1, "slack:C2", "1700000000.000200", "Elsewhere", T1);
    elsewhere.thread_ref = None;
    assert!(store.add_comment(&elsewhere).await.unwrap());

    let stored = store.comments(i1).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        (
            stored[0].text.as_str(),
            stored[0].channel.as_str(),
            stored[0].thread_ref.as_deref()
        ),
        ("Elsewhere", "slack:C2", None)
    );
    assert_eq!(
        (
            stored[1].text.as_str(),
            stored[1].created_at,
            stored[1].author.as_str()
        ),
        ("We saw this too", at(T2), "U1")
    );
    assert_eq!(stored[1].thread_ref.as_deref(), Some("1700000000.000100"));
    assert_eq!(stored[1].platform_ref, "1700000000.000200");
    assert!(store.comments(i2).await.unwrap().is_empty());
    let err = store
        .add_comment(&comment(424242, "slack:C1", "x", "x", T1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err}");

    // Threads.
    assert_eq!(store.thread_insight("slack:C1", "t1").await.unwrap(), None);
    store.link_thread("slack:C1", "t1", i1, None).await.unwrap();
    assert_eq!(
        store.thread_insight("slack:C1", "t1").await.unwrap(),
        Some(i1)
    );
    assert_eq!(store.thread_insight("slack:C2", "t1").await.unwrap(), None);
    let digest_id = create(&store, &new_digest("payments", 0, &["slack:C1"]))
        .await
        .digest_id();
    store
        .link_thread("slack:C1", "t1", i2, Some(digest_id))
        .await
        .unwrap();
    assert_eq!(
        store.thread_insight("slack:C1", "t1").await.unwrap(),
        Some(i2)
    );
}

async fn platform_events_are_handled_once(db: TestDb) {
    let store = db.open().await;
    assert!(store.first_delivery_of("slack:Ev1", at(T1)).await.unwrap());
    assert!(
        !store
            .first_delivery_of("slack:Ev1", at(T1 + 1))
            .await
            .unwrap()
    );
    assert!(store.first_delivery_of("slack:Ev2", at(T2)).await.unwrap());

    // A retried event reaching several replicas at once is handled by one.
    let other = db.second_store().await;
    let racers: Vec<_> = (0..6)
        .map(|n| {
            let store = if n % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move { store.first_delivery_of("slack:Ev3", at(T2)).await })
        })
        .collect();
    let mut first = 0;
    for racer in racers {
        first += usize::from(racer.await.unwrap().expect("no racer fails"));
    }
    assert_eq!(first, 1);
    other.close().await;

    assert_eq!(store.prune_seen(at(T2)).await.unwrap(), 1);
    assert!(store.first_delivery_of("slack:Ev1", at(T3)).await.unwrap());
    assert!(!store.first_delivery_of("slack:Ev2", at(T3)).await.unwrap());

    // A handler that failed gives its event back: the next delivery is handled.
    assert!(store.forget_event("slack:Ev2").await.unwrap());
    assert!(!store.forget_event("slack:Ev2").await.unwrap());
    assert!(store.first_delivery_of("slack:Ev2", at(T3)).await.unwrap());
    assert!(!store.first_delivery_of("slack:Ev3", at(T3)).await.unwrap());
}

async fn seen_events_older_than_a_cutoff_are_pruned(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.prune_seen(at(T3)).await.unwrap(), 0);
    for (key, seen) in [
        ("slack:Ev1", T1),
        ("slack:Ev2", T1 + 1),
        ("slack:Ev3", T2),
        ("slack:Ev4", T3),
    ] {
        assert!(store.first_delivery_of(key, at(seen)).await.unwrap());
    }
    // Strictly older than the cutoff: the event seen at the cutoff itself is kept.
    assert_eq!(store.prune_seen(at(T2)).await.unwrap(), 2);
    assert_eq!(store.prune_seen(at(T2)).await.unwrap(), 0);
    assert!(!store.first_delivery_of("slack:Ev3", at(T3)).await.unwrap());
    assert!(!store.first_delivery_of("slack:Ev4", at(T3)).await.unwrap());
    // A pruned event is new again if a platform ever sent it again.
    assert!(store.first_delivery_of("slack:Ev1", at(T3)).await.unwrap());

    // Another replica pruning at the same time removes each row once.
    let other = db.second_store().await;
    let (mine, theirs) = tokio::join!(store.prune_seen(at(T3 + 1)), other.prune_seen(at(T3 + 1)));
    assert_eq!(mine.unwrap() + theirs.unwrap(), 3);
    other.close().await;
    assert!(
        store
            .first_delivery_of("slack:Ev4", at(T3 + 2))
            .await
            .unwrap()
    );
}

async fn engagement_counts_recent_activity_within_the_scope(db: TestDb) {
    let store = db.open().await;
    let [i1, i2, i3] = three_insights(&store).await;
    // Before the window: not counted.
    assert!(
        store
            .add_comment(&comment(i2, "slack:C1", "old", "old", T1))
            .await
            .unwrap()
    );
    for (n, (insight, now)) in [(i1, T2), (i1, T3), (i3, T2), (i3, T2), (i3, T3)]
        .into_iter()
        .enumerate()
    {
        let c = comment(insight, "slack:C1", &format!("ts-{n}"), "text", now);
        assert!(store.add_comment(&c).await.unwrap());
    }
    assert!(store.vote_useful(i1, "U1", at(T2)).await.unwrap());
    assert!(store.vote_useful(i2, "U1", at(T3)).await.unwrap());
    assert!(store.vote_useful(i2, "U2", at(T1)).await.unwrap());

    let row = |insight_id: i64, comments: u64, useful: u64| EngagementRow {
        insight_id,
        title: format!(
            "e{}",
            [i1, i2, i3].iter().position(|i| *i == insight_id).unwrap() + 1
        ),
        comments,
        useful,
    };
    // i1 and i3 tie on activity; more comments first.
    assert_eq!(
        store
            .engagement_since(&Scope::Everything, at(T2), 10)
            .await
            .unwrap(),
        vec![row(i3, 3, 0), row(i1, 2, 1), row(i2, 0, 1)]
    );
    assert_eq!(
        store
            .engagement_since(&Scope::Team("growth".into()), at(T2), 10)
            .await
            .unwrap(),
        vec![row(i1, 2, 1), row(i2, 0, 1)]
    );
    assert_eq!(
        store
            .engagement_since(&Scope::Team("payments".into()), at(T2), 1)
            .await
            .unwrap(),
        vec![row(i3, 3, 0)]
    );
    assert_eq!(
        store
            .engagement_since(&Scope::Everything, at(T1), 10)
            .await
            .unwrap(),
        vec![row(i3, 3, 0), row(i1, 2, 1), row(i2, 1, 2)]
    );
    assert!(
        store
            .engagement_since(&Scope::Everything, at(T3 + 1), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

fn audit_event(at_ms: i64, action: &str, details: serde_json::Value) -> NewAuditEvent {
    NewAuditEvent {
        at: at(at_ms),
        actor: "U1".into(),
        channel: Some("slack:C1".into()),
        action: action.into(),
        subject: Some("insight:1".into()),
        details,
    }
}

async fn the_audit_log_keeps_append_order_and_cannot_be_changed(db: TestDb) {
    let store = db.open().await;
    // Clocks of several replicas disagree: append order, not time, is the log's order.
    let events = [
        audit_event(T3, "insight.added", serde_json::json!({"source": "chat"})),
        audit_event(
            T1,
            "insight.flagged",
            serde_json::json!({"team": "payments"}),
        ),
        NewAuditEvent {
            channel: None,
            subject: None,
            ..audit_event(T2, "permission.refused", serde_json::json!(null))
        },
    ];
    let mut ids = Vec::new();
    for event in &events {
        ids.push(store.audit(event).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let all = store.audit_events(None, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    for (stored, event) in all.iter().zip(&events) {
        assert_eq!(
            (
                &stored.at,
                &stored.actor,
                &stored.channel,
                &stored.action,
                &stored.subject,
                &stored.details
            ),
            (
                &event.at,
                &event.actor,
                &event.channel,
                &event.action,
                &event.subject,
                &event.details
            )
        );
    }
    let since = store.audit_events(Some(at(T2)), 100).await.unwrap();
    assert_eq!(
        since.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );
    let latest = store.audit_events(None, 2).await.unwrap();
    assert_eq!(
        latest.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[1], ids[2]]
    );

    // Paging from the start, as an export does: every event once, in order.
    let first = store.audit_page(None, 0, 2).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[0], ids[1]]
    );
    assert_eq!(first, all[..2]);
    let rest = store.audit_page(None, ids[1], 2).await.unwrap();
    assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[2]]);
    assert!(store.audit_page(None, ids[2], 2).await.unwrap().is_empty());
    let since = store.audit_page(Some(at(T2)), 0, 10).await.unwrap();
    assert_eq!(
        since.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );

    // The table refuses changes, whoever connects to it.
    let refused = match db.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            [
                sqlx::query("UPDATE audit_events SET actor = 'someone else'")
                    .execute(&mut conn)
                    .await
                    .is_err(),
                sqlx::query("DELETE FROM audit_events")
                    .execute(&mut conn)
                    .await
                    .is_err(),
            ]
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            [
                sqlx::query("UPDATE audit_events SET actor = 'someone else'")
                    .execute(&mut conn)
                    .await
                    .is_err(),
                sqlx::query("DELETE FROM audit_events")
                    .execute(&mut conn)
                    .await
                    .is_err(),
            ]
        }
    };
    assert_eq!(refused, [true, true]);
    assert_eq!(store.audit_events(None, 100).await.unwrap(), all);
}

async fn hostile_text_round_trips_in_digests_chat_and_audit(db: TestDb) {
    let store = db.open().await;
    let [i1, _, _] = three_insights(&store).await;
    let hostile = "Robert'); DROP TABLE digests; -- \"quoted\" `tick` 50% off_ \\backslash\\ $1 ? \
                   :name @x ' '' \n\t\r naïve café — 日本語 עברית 🎉👩‍👩‍👧 \u{200b}zw \u{feff}bom";
    let with_nul = serde_json::json!({"text": format!("{hostile} \u{0} nul inside JSON"), "n": [1.5, -0, null]});

    // Digests and deliveries.
    let mut digest = new_digest(hostile, 0, &[hostile, "slack:C1"]);
    digest.message = with_nul.clone();
    digest.summary = serde_json::json!({hostile: hostile});
    let digest_id = create(&store, &digest).await.digest_id();
    let stored = store
        .digest_for(hostile, digest.period_start)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.team.as_str(), &stored.message, &stored.summary),
        (hostile, &Some(with_nul.clone()), &digest.summary)
    );
    let claimed = claim(&store, hostile, millis_of(digest.now), 10).await;
    assert_eq!(claimed.len(), 2);
    let mine = claimed
        .iter()
        .find(|c| c.channel == hostile)
        .expect("the hostile channel");
    assert_eq!((mine.team.as_str(), &mine.message), (hostile, &with_nul));
    assert!(
        store
            .delivery_retry(mine.id, hostile, digest.now, hostile)
            .await
            .unwrap()
    );
    let record = delivery(&store, digest_id, mine.id).await;
    assert_eq!(
        (record.lease_owner.as_deref(), record.last_error.as_deref()),
        (Some(hostile), Some(hostile))
    );
    let again = claim(&store, hostile, millis_of(digest.now), 10).await;
    assert!(
        store
            .delivery_sent(again[0].id, hostile, hostile, digest.now)
            .await
            .unwrap()
    );
    assert_eq!(
        delivery(&store, digest_id, mine.id)
            .await
            .platform_message_ref
            .as_deref(),
        Some(hostile)
    );
    assert!(
        store
            .skip_period(hostile, at(T3 + WEEK), at(T3 + 2 * WEEK), hostile, at(T3))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .latest_digest(hostile)
            .await
            .unwrap()
            .unwrap()
            .skip_reason
            .as_deref(),
        Some(hostile)
    );

    // Chat.
    assert!(
        store
            .flag(i1, hostile, hostile, Some(hostile), at(T1))
            .await
            .unwrap()
            .new
    );
    let open = store.open_flags(hostile).await.unwrap();
    assert_eq!(open[0].latest_note.as_deref(), Some(hostile));
    assert!(store.vote_useful(i1, hostile, at(T1)).await.unwrap());
    let mut c = comment(i1, hostile, hostile, hostile, T1);
    c.author = hostile.into();
    c.thread_ref = Some(hostile.into());
    assert!(store.add_comment(&c).await.unwrap());
    let stored = &store.comments(i1).await.unwrap()[0];
    assert_eq!(
        [
            &stored.author,
            &stored.channel,
            &stored.platform_ref,
            &stored.text
        ],
        [hostile; 4]
    );
    assert_eq!(stored.thread_ref.as_deref(), Some(hostile));
    store
        .link_thread(hostile, hostile, i1, Some(digest_id))
        .await
        .unwrap();
    assert_eq!(
        store.thread_insight(hostile, hostile).await.unwrap(),
        Some(i1)
    );
    assert!(store.first_delivery_of(hostile, at(T1)).await.unwrap());
    assert!(!store.first_delivery_of(hostile, at(T1)).await.unwrap());

    // Audit.
    let event = NewAuditEvent {
        actor: hostile.into(),
        channel: Some(hostile.into()),
        action: hostile.into(),
        subject: Some(hostile.into()),
        ..audit_event(T1, "x", with_nul.clone())
    };
    store.audit(&event).await.unwrap();
    let stored = &store.audit_events(None, 10).await.unwrap()[0];
    assert_eq!(
        (&stored.actor, &stored.action, &stored.details),
        (&event.actor, &event.action, &with_nul)
    );
    assert_eq!(
        (stored.channel.as_deref(), stored.subject.as_deref()),
        (Some(hostile), Some(hostile))
    );

    // NUL outside JSON cannot be stored by PostgreSQL: refused on both, nothing written.
    let nul = "nul \0 inside";
    let refusals = [
        store
            .create_digest(&new_digest(nul, 5, &["slack:C1"]))
            .await
            .err(),
        store
            .create_digest(&new_digest("payments", 5, &[nul]))
            .await
            .err(),
        store
            .skip_period("payments", at(T1), at(T2), nul, at(T1))
            .await
            .err(),
        store.claim_deliveries(nul, at(T1), LEASE, 1).await.err(),
        store.delivery_failed(1, "w", nul, at(T1)).await.err(),
        store
            .flag(i1, "payments", "U1", Some(nul), at(T1))
            .await
            .err(),
        store.vote_useful(i1, nul, at(T1)).await.err(),
        store
            .add_comment(&comment(i1, "slack:C1", "nul", nul, T1))
            .await
            .err(),
        store.link_thread("slack:C1", nul, i1, None).await.err(),
        store.first_delivery_of(nul, at(T1)).await.err(),
        store
            .audit(&NewAuditEvent {
                actor: nul.into(),
                ..audit_event(T1, "x", serde_json::json!({}))
            })
            .await
            .err(),
    ];
    for (n, refusal) in refusals.into_iter().enumerate() {
        let err = refusal.unwrap_or_else(|| panic!("write {n} with NUL was accepted"));
        assert!(
            matches!(err, StoreError::Constraint { .. }),
            "write {n}: {err}"
        );
        assert!(err.to_string().contains("NUL"), "write {n}: {err}");
    }
    assert_eq!(
        store
            .digest_for("payments", at(T1 + 5 * WEEK))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.audit_events(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.open_flags("payments").await.unwrap(), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// 2026-01-01T00:00:00Z, a whole day, for figures counted in days.
const D0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

fn new_decision(team: &str, title: &str, evidence: &[i64], now: i64) -> NewDecision {
    NewDecision {
        team: team.into(),
        title: title.into(),
        rationale: None,
        owner: None,
        decided_by: "slack:U1".into(),
        channel: "slack:C1".into(),
        thread_ref: Some("1700000000.000100".into()),
        review_on: None,
        timezone: "Europe/Paris".into(),
        evidence: evidence.to_vec(),
        now: at(now),
    }
}

async fn log(store: &Store, decision: &NewDecision) -> DecisionId {
    store
        .log_decision(decision)
        .await
        .unwrap_or_else(|e| panic!("logging {:?} failed: {e}", decision.title))
}

fn listing(team: Option<&str>, status: DecisionListing, text: Option<&str>) -> DecisionFilter {
    DecisionFilter {
        team: team.map(str::to_string),
        status,
        text: text.map(str::to_string),
        limit: 50,
    }
}

async fn listed(store: &Store, filter: &DecisionFilter) -> Vec<DecisionId> {
    store
        .decisions(filter)
        .await
        .unwrap_or_else(|e| panic!("listing {filter:?} failed: {e}"))
        .into_iter()
        .map(|d| d.id)
        .collect()
}

fn ids_of(decisions: &[DecisionSummary]) -> Vec<DecisionId> {
    decisions.iter().map(|d| d.id).collect()
}

async fn decisions_cite_visible_evidence_and_refusals_write_nothing(db: TestDb) {
    let store = db.open().await;
    let [i1, i2, private] = three_insights(&store).await;

    // Evidence the team cannot see is as unknown as evidence that does not exist.
    let err = store
        .log_decision(&new_decision("growth", "x", &[i1, 9999, private, 9999], T2))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DecisionError::UnknownEvidence(ids) if ids == &vec![9999, private]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("unknown evidence #9999, #{private}")
    );
    let err = store
        .log_decision(&new_decision("growth", "x", &[], T2))
        .await
        .unwrap_err();
    assert!(matches!(err, DecisionError::NoEvidence), "{err:?}");
    let mut far = new_decision("growth", "x", &[i1], T2);
    far.review_on = NaiveDate::from_ymd_opt(10_000, 1, 1);
    let err = store.log_decision(&far).await.unwrap_err();
    assert!(
        matches!(err, DecisionError::Store(StoreError::Constraint { .. })),
        "{err:?}"
    );
    let all = listing(None, DecisionListing::All, None);
    assert!(listed(&store, &all).await.is_empty());
    assert!(
        store
            .decisions_citing(i1, &Scope::Everything)
            .await
            .unwrap()
            .is_empty()
    );

    // Repeated evidence counts once, in the order first given.
    let mut decision = new_decision(
        "payments",
        "Refund twice-charged cards",
        &[private, i1, private],
        T2,
    );
    decision.rationale = Some("Three complaints this month".into());
    decision.owner = Some("slack:U2".into());
    decision.review_on = Some(day("2026-02-01"));
    let id = log(&store, &decision).await;
    let stored = store
        .decision(id, &Scope::Team("payments".into()))
        .await
        .unwrap()
        .expect("the team sees its decision");
    assert_eq!(
        stored.summary,
        DecisionSummary {
            id,
            team: "payments".into(),
            title: "Refund twice-charged cards".into(),
            owner: Some("slack:U2".into()),
            decided_by: "slack:U1".into(),
            channel: "slack:C1".into(),
            thread_ref: Some("1700000000.000100".into()),
            status: DecisionStatus::Open,
            review_on: Some(day("2026-02-01")),
            timezone: "Europe/Paris".into(),
            created_at: at(T2),
            evidence_count: 2,
            outcome: None,
        }
    );
    assert_eq!(
        stored.rationale.as_deref(),
        Some("Three complaints this month")
    );
    assert_eq!(
        stored.evidence,
        vec![
            Evidence {
                insight_id: private,
                title: Some("e3".into())
            },
            Evidence {
                insight_id: i1,
                title: Some("e1".into())
            },
        ]
    );
    assert_eq!(
        stored.history,
        vec![DecisionEvent {
            at: at(T2),
            actor: "slack:U1".into(),
            kind: DecisionEventKind::Logged,
            details: Some(format!("evidence #{private}, #{i1}")),
        }]
    );
    assert_eq!((stored.review, stored.reminded_at), (None, None));

    // A decision is its team's: other teams and channels of no team do not see it.
    assert!(
        store
            .decision(id, &Scope::Team("growth".into()))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.decision(id, &Scope::Public).await.unwrap().is_none());
    assert!(
        store
            .decision(id, &Scope::Everything)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .decision(id + 1, &Scope::Everything)
            .await
            .unwrap()
            .is_none()
    );

    // Evidence the team can no longer see keeps its id but not its title.
    let mut moved = insight("e3", "2026-03-03", "three");
    moved.data.visibility = Visibility::Teams(strings(&["growth"]));
    moved.fingerprint = "e3-v2".into();
    upsert(&store, &[moved], T3).await;
    let stored = store
        .decision(id, &Scope::Team("payments".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.evidence[0],
        Evidence {
            insight_id: private,
            title: None
        }
    );
    assert_eq!(stored.evidence[1].title.as_deref(), Some("e1"));
    let _ = i2;
}

async fn a_decision_resolves_its_teams_flags_on_its_evidence(db: TestDb) {
    let store = db.open().await;
    let [i1, i2, _] = three_insights(&store).await;
    for (insight, team, who) in [
        (i1, "payments", "U1"),
        (i1, "payments", "U2"),
        (i2, "payments", "U1"),
        (i1, "growth", "U1"),
    ] {
        store.flag(insight, team, who, None, at(T1)).await.unwrap();
    }

    // A refused decision closes nothing.
    let err = store
        .log_decision(&new_decision("payments", "x", &[i2, 9999], T2))
        .await
        .unwrap_err();
    assert!(matches!(err, DecisionError::UnknownEvidence(_)), "{err:?}");
    assert_eq!(store.open_flags("payments").await.unwrap().len(), 2);

    log(&store, &new_decision("payments", "Fix it", &[i1], T2)).await;
    let open = store.open_flags("payments").await.unwrap();
    assert_eq!(open.iter().map(|f| f.insight_id).collect::<Vec<_>>(), [i2]);
    // Another team's flag on the same insight waits for that team's decision.
    assert_eq!(store.open_flags("growth").await.unwrap().len(), 1);
    assert!(
        store
            .flag(i1, "payments", "U1", None, at(T3))
            .await
            .unwrap()
            .new
    );
}

async fn decision_lists_filter_by_status_owner_and_text(db: TestDb) {
    let store = db.open().await;
    let [i1, i2, private] = three_insights(&store).await;

    let mut refund = new_decision("payments", "Refund duplicate charges", &[i1], T1);
    refund.review_on = Some(day("2026-03-01"));
    let refund = log(&store, &refund).await;
    let mut pricing = new_decision("payments", "New pricing page", &[i2], T1 + 1);
    pricing.rationale = Some("Customers asked for REFUNDS to be explained".into());
    pricing.owner = Some("slack:U2".into());
    pricing.review_on = Some(day("2026-04-01"));
    let pricing = log(&store, &pricing).await;
    let mut fees = new_decision("payments", "Drop the late fee", &[private, i1], T2);
    fees.decided_by = "slack:U2".into();
    fees.review_on = Some(day("2026-03-31"));
    let fees = log(&store, &fees).await;
    let mut growth = new_decision("growth", "Refund trials", &[i1], T3);
    growth.owner = Some("slack:U1".into());
    let growth = log(&store, &growth).await;
    store
        .review_decision(
            refund,
            &Scope::Team("payments".into()),
            ReviewOutcome::Kept,
            "Worked",
            "slack:U1",
            at(T3),
        )
        .await
        .unwrap();

    let team = Some("payments");
    assert_eq!(
        listed(&store, &listing(team, DecisionListing::All, None)).await,
        [fees, pricing, refund]
    );
    assert_eq!(
        listed(&store, &listing(team, DecisionListing::Open, None)).await,
        [fees, pricing]
    );
    let due = DecisionListing::Due { today: today() };
    assert_eq!(listed(&store, &listing(team, due, None)).await, [fees]);
    // Mine: named owner, or logged without one.
    let mine = |user: &str| DecisionListing::Mine { user: user.into() };
    assert_eq!(
        listed(&store, &listing(team, mine("slack:U1"), None)).await,
        [refund]
    );
    assert_eq!(
        listed(&store, &listing(team, mine("slack:U2"), None)).await,
        [fees, pricing]
    );
    assert_eq!(
        listed(&store, &listing(None, mine("slack:U1"), None)).await,
        [growth, refund]
    );
    // Text: title or rationale, ignoring case; blank text filters nothing.
    assert_eq!(
        listed(&store, &listing(team, DecisionListing::All, Some("rEfUnD"))).await,
        [pricing, refund]
    );
    assert_eq!(
        listed(
            &store,
            &listing(None, DecisionListing::Open, Some("refund"))
        )
        .await,
        [growth, pricing]
    );
    assert_eq!(
        listed(&store, &listing(team, DecisionListing::All, Some("%"))).await,
        Vec::<DecisionId>::new()
    );
    assert_eq!(
        listed(&store, &listing(team, DecisionListing::Open, Some("  "))).await,
        [fees, pricing]
    );
    let mut limited = listing(None, DecisionListing::All, None);
    limited.limit = 2;
    assert_eq!(listed(&store, &limited).await, [growth, fees]);
    assert!(
        listed(&store, &listing(Some("nobody"), DecisionListing::All, None))
            .await
            .is_empty()
    );

    // An insight shows the decisions citing it, within the scope.
    let citing = |scope: Scope| {
        let store = store.clone();
        async move { ids_of(&store.decisions_citing(i1, &scope).await.unwrap()) }
    };
    assert_eq!(citing(Scope::Everything).await, [growth, fees, refund]);
    assert_eq!(citing(Scope::Team("payments".into())).await, [fees, refund]);
    assert_eq!(citing(Scope::Public).await, Vec::<DecisionId>::new());
    let summary = &store
        .decisions_citing(private, &Scope::Everything)
        .await
        .unwrap()[0];
    assert_eq!((summary.id, summary.evidence_count), (fees, 2));
}

async fn reviews_are_final_and_due_lists_keep_overdue_decisions(db: TestDb) {
    let store = db.open().await;
    let [i1, _, _] = three_insights(&store).await;
    let mut ids = Vec::new();
    for (n, review_on) in [
        Some("2026-03-01"),
        Some("2026-03-31"),
        Some("2026-04-01"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let mut decision = new_decision("payments", &format!("d{n}"), &[i1], T1 + n as i64);
        decision.review_on = review_on.map(day);
        ids.push(log(&store, &decision).await);
    }
    let mut other = new_decision("growth", "other", &[i1], T1);
    other.review_on = Some(day("2026-01-01"));
    let other = log(&store, &other).await;
    let due = |team: &'static str, today: &'static str| {
        let store = store.clone();
        async move { ids_of(&store.due_reviews(team, day(today)).await.unwrap()) }
    };
    // Due on the day, overdue after it, until reviewed.
    assert_eq!(
        due("payments", "2026-02-28").await,
        Vec::<DecisionId>::new()
    );
    assert_eq!(due("payments", "2026-03-31").await, [ids[0], ids[1]]);
    assert_eq!(
        due("payments", "2027-01-01").await,
        [ids[0], ids[1], ids[2]]
    );
    assert_eq!(due("growth", "2026-03-31").await, [other]);

    let payments = Scope::Team("payments".into());
    let review = |id: DecisionId, scope: Scope| {
        let store = store.clone();
        async move {
            store
                .review_decision(
                    id,
                    &scope,
                    ReviewOutcome::Changed,
                    "Cap at 2",
                    "slack:U3",
                    at(T3),
                )
                .await
        }
    };
    let err = review(ids[0], Scope::Team("growth".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DecisionError::NotFound(id) if id == ids[0]),
        "{err:?}"
    );
    let err = review(ids[0], Scope::Public).await.unwrap_err();
    assert!(matches!(err, DecisionError::NotFound(_)), "{err:?}");
    let err = review(424242, Scope::Everything).await.unwrap_err();
    assert!(matches!(err, DecisionError::NotFound(424242)), "{err:?}");
    review(ids[0], payments.clone()).await.unwrap();
    let err = review(ids[0], payments.clone()).await.unwrap_err();
    assert!(
        matches!(err, DecisionError::AlreadyReviewed(id) if id == ids[0]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("decision #{} was reviewed already", ids[0])
    );

    let stored = store.decision(ids[0], &payments).await.unwrap().unwrap();
    assert_eq!(stored.summary.status, DecisionStatus::Reviewed);
    assert_eq!(stored.summary.outcome, Some(ReviewOutcome::Changed));
    assert_eq!(
        stored.review,
        Some(Review {
            outcome: ReviewOutcome::Changed,
            note: "Cap at 2".into(),
            reviewed_at: at(T3),
            reviewed_by: "slack:U3".into(),
        })
    );
    assert_eq!(
        stored
            .history
            .iter()
            .map(|e| (e.kind, e.actor.as_str()))
            .collect::<Vec<_>>(),
        [
            (DecisionEventKind::Logged, "slack:U1"),
            (DecisionEventKind::Reviewed, "slack:U3")
        ]
    );
    assert_eq!(
        stored.history[1].details.as_deref(),
        Some("changed: Cap at 2")
    );
    assert_eq!(due("payments", "2027-01-01").await, [ids[1], ids[2]]);

    // Two people reviewing at once, through two replicas: one review counts.
    let second = db.second_store().await;
    let racers: Vec<_> = [store.clone(), second.clone()]
        .into_iter()
        .map(|store| {
            let id = ids[1];
            tokio::spawn(async move {
                store
                    .review_decision(
                        id,
                        &Scope::Everything,
                        ReviewOutcome::Reversed,
                        "No",
                        "slack:U4",
                        at(T3),
                    )
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(DecisionError::AlreadyReviewed(_)))),
        "{outcomes:?}"
    );
    second.close().await;
    let history = store
        .decision(ids[1], &payments)
        .await
        .unwrap()
        .unwrap()
        .history;
    assert_eq!(history.len(), 2);
}

async fn a_review_reminder_is_queued_exactly_once(db: TestDb) {
    let store = db.open().await;
    let [i1, _, _] = three_insights(&store).await;
    let mut expected = BTreeSet::new();
    let mut waiting = 0;
    for n in 0..6_i64 {
        let team = if n % 2 == 0 { "payments" } else { "growth" };
        let mut decision = new_decision(team, &format!("d{n}"), &[i1], T1 + n);
        decision.review_on = Some(day(if n < 4 { "2026-01-05" } else { "2026-01-08" }));
        if team == "growth" {
            decision.timezone = "America/Los_Angeles".into();
        }
        let id = log(&store, &decision).await;
        // At 00:30 UTC on the 8th it is the 8th in Paris (payments) but still the 7th in Los
        // Angeles (growth): d5 (growth, due on the 8th) waits.
        if n == 5 {
            waiting = id;
        } else {
            expected.insert(id);
        }
    }
    let mut reviewed = new_decision("payments", "reviewed", &[i1], T1);
    reviewed.review_on = Some(day("2026-01-01"));
    let reviewed = log(&store, &reviewed).await;
    store
        .review_decision(
            reviewed,
            &Scope::Everything,
            ReviewOutcome::Kept,
            "ok",
            "slack:U1",
            at(T1),
        )
        .await
        .unwrap();
    let now = at(D0 + 7 * DAY + 1_800_000);
    let to_remind = store.reviews_to_remind(now).await.unwrap();
    assert_eq!(
        ids_of(&to_remind).into_iter().collect::<BTreeSet<_>>(),
        expected
    );
    assert!(
        to_remind
            .windows(2)
            .all(|w| w[0].review_on <= w[1].review_on)
    );

    // Three replicas remind at once: each reminder is queued by exactly one of them, with one
    // delivery in the outbox, replying in the decision's thread.
    let mut replicas = Vec::new();
    for n in 0..3 {
        let store = if n == 0 {
            store.clone()
        } else {
            db.second_store().await
        };
        replicas.push(tokio::spawn(async move {
            let mut queued = Vec::new();
            for decision in store
                .reviews_to_remind(now)
                .await
                .expect("listing succeeds")
            {
                let mut alert = new_alert(
                    &format!("reminder:{}", decision.id),
                    &[decision.channel.as_str()],
                    millis_of(now),
                    millis_of(now),
                );
                alert.kind = AlertKind::Reminder;
                alert.subject = format!("decision:{}", decision.id);
                alert.thread = Some("1700000000.000100".into());
                if let Some(alert_id) = store
                    .queue_reminder(decision.id, &alert)
                    .await
                    .expect("queueing succeeds")
                {
                    queued.push((decision.id, alert_id));
                }
            }
            if n != 0 {
                store.close().await;
            }
            queued
        }));
    }
    let mut queued = Vec::new();
    for replica in replicas {
        queued.extend(replica.await.unwrap());
    }
    queued.sort();
    assert_eq!(
        queued.iter().map(|q| q.0).collect::<Vec<_>>(),
        expected.iter().copied().collect::<Vec<_>>()
    );
    assert_eq!(
        store.pending_deliveries().await.unwrap(),
        expected.len() as u64
    );
    let claimed = claim(&store, "w1", millis_of(now), 10).await;
    assert_eq!(claimed.len(), expected.len());
    for c in &claimed {
        assert!(
            queued
                .iter()
                .any(|q| c.outbound == Outbound::Alert { id: q.1 })
        );
        assert_eq!(c.thread.as_deref(), Some("1700000000.000100"));
    }
    // Queued: never due again, nor queued again; a reviewed or unknown decision never is.
    let first = *expected.first().unwrap();
    assert!(store.reviews_to_remind(now).await.unwrap().is_empty());
    let again = new_alert(
        "reminder:again",
        &["slack:C1"],
        millis_of(now),
        millis_of(now),
    );
    for id in [first, reviewed, 424242] {
        assert_eq!(store.queue_reminder(id, &again).await.unwrap(), None);
    }
    assert!(
        store
            .alert(queued[0].1)
            .await
            .unwrap()
            .unwrap()
            .thread
            .is_some()
    );

    let stored = store
        .decision(first, &Scope::Everything)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.reminded_at, Some(now));
    let reminded: Vec<_> = stored
        .history
        .iter()
        .filter(|e| e.kind == DecisionEventKind::Reminded)
        .collect();
    assert_eq!(reminded.len(), 1);
    assert_eq!(reminded[0].at, now);
    // A reminded decision stays due in the digest until it is reviewed.
    assert!(
        ids_of(
            &store
                .due_reviews("payments", day("2026-01-08"))
                .await
                .unwrap()
        )
        .contains(&first)
    );

    // A day ahead of UTC: due on the 9th at Kiritimati's midnight, 10:00 UTC on the 8th,
    // when d5 has come due in Los Angeles too.
    let mut ahead = new_decision("payments", "ahead", &[i1], T1);
    ahead.timezone = "Pacific/Kiritimati".into();
    ahead.review_on = Some(day("2026-01-09"));
    let ahead = log(&store, &ahead).await;
    assert!(
        store
            .reviews_to_remind(now + chrono::Duration::seconds(61))
            .await
            .unwrap()
            .is_empty()
    );
    let kiritimati_midnight = at(D0 + 7 * DAY + 10 * 3_600_000);
    assert_eq!(
        ids_of(&store.reviews_to_remind(kiritimati_midnight).await.unwrap()),
        [waiting, ahead]
    );
}

async fn insights_on_evidence_themes_are_counted_before_and_since(db: TestDb) {
    let store = db.open().await;
    let themed = |source_ref: &str, themes: &[&str], sentiment: Sentiment| {
        let mut i = insight(source_ref, "2026-01-01", "x");
        i.themes = strings(themes);
        i.data.sentiment = sentiment;
        i
    };
    upsert(
        &store,
        &[
            themed("b1", &["Refunds"], Sentiment::Negative),
            themed("b2", &["Refunds", "Billing"], Sentiment::Negative),
            themed("b3", &["Onboarding"], Sentiment::Negative),
        ],
        T1,
    )
    .await;
    let mut private = themed("n4", &["billing"], Sentiment::Negative);
    private.data.visibility = Visibility::Teams(strings(&["payments"]));
    upsert(
        &store,
        &[
            themed("n1", &["refunds"], Sentiment::Positive),
            themed("n2", &["Billing"], Sentiment::Neutral),
            themed("n3", &["Onboarding"], Sentiment::Negative),
            private,
        ],
        T3,
    )
    .await;
    let themes = strings(&["REFUNDS", "billing", "refunds"]);
    let activity = store
        .new_insights_since(&Scope::Team("growth".into()), &themes, at(T2))
        .await
        .unwrap();
    assert_eq!(
        activity,
        ThemeActivity {
            since: SentimentCounts {
                negative: 0,
                neutral: 1,
                positive: 1
            },
            before: SentimentCounts {
                negative: 2,
                neutral: 0,
                positive: 0
            },
        }
    );
    let payments = store
        .new_insights_since(&Scope::Team("payments".into()), &themes, at(T2))
        .await
        .unwrap();
    assert_eq!((payments.since.negative, payments.since.total()), (1, 3));
    assert_eq!(
        store
            .new_insights_since(&Scope::Everything, &[], at(T2))
            .await
            .unwrap(),
        ThemeActivity::default()
    );
    let since_start = store
        .new_insights_since(&Scope::Public, &themes, at(T1))
        .await
        .unwrap();
    // What was added at the very instant came before it.
    assert_eq!(
        (since_start.since.total(), since_start.before.total()),
        (2, 2)
    );
}

/// | decision | team     | logged  | earliest evidence | review on  | reviewed         |
/// |----------|----------|---------|-------------------|------------|------------------|
/// | a        | payments | D0 + 4d | D0 (observed)     | 2026-01-10 | 01-10 22:00 UTC  |
/// | b        | payments | D0 + 2d | D0 - 10d (obs.)   | 2026-01-05 | open (overdue)   |
/// | c        | payments | D0 + 7d | D0 (added)        | 2026-01-09 | 01-12 (late)     |
/// | g        | growth   | D0 + 1d | D0 (observed)     | 2026-02-01 | open             |
async fn decision_stats_count_a_known_history(db: TestDb) {
    let store = db.open().await;
    let x1 = upsert(&store, &[insight("x1", "2026-01-01", "x")], T1).await[0].id();
    let x2 = upsert(&store, &[insight("x2", "2025-12-22", "x")], T1).await[0].id();
    let x3 = upsert(&store, &[insight("x3", "2026-03-01", "x")], D0).await[0].id();
    store
        .flag(x1, "payments", "U1", None, at(D0))
        .await
        .unwrap();
    store
        .flag(x2, "payments", "U1", None, at(D0 + 5 * DAY))
        .await
        .unwrap();
    store
        .flag(x1, "growth", "U1", None, at(D0 + 5 * DAY))
        .await
        .unwrap();

    let logged = |team: &'static str, evidence: Vec<i64>, days: i64, review_on: &'static str| {
        let store = store.clone();
        async move {
            let mut decision = new_decision(team, "d", &evidence, D0 + days * DAY);
            decision.review_on = Some(day(review_on));
            log(&store, &decision).await
        }
    };
    let a = logged("payments", vec![x1], 4, "2026-01-10").await;
    logged("payments", vec![x2, x1], 2, "2026-01-05").await;
    let c = logged("payments", vec![x3], 7, "2026-01-09").await;
    logged("growth", vec![x1], 1, "2026-02-01").await;
    // 22:00 UTC is 23:00 in Paris, the decisions' timezone: still the review date.
    for (id, reviewed_at) in [(a, D0 + 9 * DAY + 22 * 3_600_000), (c, D0 + 11 * DAY)] {
        store
            .review_decision(
                id,
                &Scope::Everything,
                ReviewOutcome::Kept,
                "ok",
                "slack:U1",
                at(reviewed_at),
            )
            .await
            .unwrap();
    }
    let today = day("2026-01-20");
    let stats = |team: Option<&'static str>, since: Option<i64>| {
        let store = store.clone();
        async move {
            store
                .decision_stats(team, since.map(at), today)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        stats(Some("payments"), None).await,
        DecisionStats {
            flags_raised: 2,
            decisions_logged: 3,
            median_days_evidence_to_decision: Some(7.0),
            reviews_done: 2,
            reviews_on_time: 1,
            reviews_late: 1,
            reviews_overdue: 1,
            ..DecisionStats::default()
        }
    );
    assert_eq!(
        stats(Some("payments"), Some(D0 + 3 * DAY)).await,
        DecisionStats {
            flags_raised: 1,
            decisions_logged: 2,
            median_days_evidence_to_decision: Some(5.5),
            reviews_done: 2,
            reviews_on_time: 1,
            reviews_late: 1,
            reviews_overdue: 1,
            ..DecisionStats::default()
        }
    );
    assert_eq!(
        stats(None, None).await,
        DecisionStats {
            flags_raised: 3,
            decisions_logged: 4,
            median_days_evidence_to_decision: Some(5.5),
            reviews_done: 2,
            reviews_on_time: 1,
            reviews_late: 1,
            reviews_overdue: 1,
            ..DecisionStats::default()
        }
    );
    assert_eq!(stats(Some("nobody"), None).await, DecisionStats::default());
}

/// A review is on time when it is done on or before the review date in the decision's own
/// timezone, whatever the UTC date: the evening in Los Angeles is on time, the early morning
/// after in Auckland is late.
async fn review_punctuality_is_judged_in_the_decisions_timezone(db: TestDb) {
    let store = db.open().await;
    let x = upsert(&store, &[insight("x", "2026-01-01", "x")], T1).await[0].id();
    let hour = 3_600_000;
    // 2026-01-11 05:00 UTC is 21:00 on the 10th in Los Angeles.
    // 2026-01-10 12:00 UTC is 01:00 on the 11th in Auckland.
    // 2026-01-10 23:30 UTC is 23:30 on the 10th in UTC, the fallback for an unknown zone.
    for (zone, reviewed_at, team) in [
        ("America/Los_Angeles", D0 + 10 * DAY + 5 * hour, "on-time"),
        ("Pacific/Auckland", D0 + 9 * DAY + 12 * hour, "late"),
        (
            "Mars/Olympus_Mons",
            D0 + 9 * DAY + 23 * hour + hour / 2,
            "on-time",
        ),
    ] {
        let mut decision = new_decision(team, zone, &[x], D0);
        decision.timezone = zone.into();
        decision.review_on = Some(day("2026-01-10"));
        let id = log(&store, &decision).await;
        store
            .review_decision(
                id,
                &Scope::Everything,
                ReviewOutcome::Kept,
                "ok",
                "slack:U1",
                at(reviewed_at),
            )
            .await
            .unwrap();
    }
    let today = day("2026-01-20");
    let on_time = store
        .decision_stats(Some("on-time"), None, today)
        .await
        .unwrap();
    assert_eq!((on_time.reviews_on_time, on_time.reviews_late), (2, 0));
    let late = store
        .decision_stats(Some("late"), None, today)
        .await
        .unwrap();
    assert_eq!((late.reviews_on_time, late.reviews_late), (0, 1));
}

async fn hostile_text_round_trips_in_decisions(db: TestDb) {
    let store = db.open().await;
    let hostile = "Robert'); DROP TABLE decisions; -- \"quoted\" `tick` 50% off_ \\backslash\\ $1 ? \
                   :name @x ' '' \n\t\r naïve CAFÉ — 日本語 עברית 🎉👩‍👩‍👧 \u{200b}zw \u{feff}bom";
    let mut visible = insight("h1", "2026-03-01", "h");
    visible.data.title = hostile.into();
    visible.data.visibility = Visibility::Teams(strings(&[hostile]));
    let i1 = upsert(&store, &[visible], T1).await[0].id();
    let decision = NewDecision {
        team: hostile.into(),
        title: hostile.into(),
        rationale: Some(hostile.into()),
        owner: Some(hostile.into()),
        decided_by: hostile.into(),
        channel: hostile.into(),
        thread_ref: Some(hostile.into()),
        review_on: Some(day("2026-03-01")),
        timezone: hostile.into(),
        evidence: vec![i1],
        now: at(T2),
    };
    let id = log(&store, &decision).await;
    let scope = Scope::Team(hostile.into());
    store
        .review_decision(
            id,
            &scope,
            ReviewOutcome::Reversed,
            hostile,
            hostile,
            at(T3),
        )
        .await
        .unwrap();
    let stored = store.decision(id, &scope).await.unwrap().unwrap();
    let s = &stored.summary;
    assert_eq!(
        [&s.team, &s.title, &s.decided_by, &s.channel, &s.timezone],
        [hostile; 5]
    );
    assert_eq!(
        [
            s.owner.as_deref(),
            s.thread_ref.as_deref(),
            stored.rationale.as_deref()
        ],
        [Some(hostile); 3]
    );
    assert_eq!(stored.evidence[0].title.as_deref(), Some(hostile));
    let review = stored.review.unwrap();
    assert_eq!(
        [review.note.as_str(), review.reviewed_by.as_str()],
        [hostile; 2]
    );
    assert_eq!(stored.history[0].actor, hostile);
    // Searching for the text itself, wildcards and all, finds it; its wildcards match nothing else.
    let mut other = decision.clone();
    other.title = "50 percent off".into();
    other.rationale = None;
    log(&store, &other).await;
    for needle in [hostile, "50% off_", "café", "\\backslash\\", "日本語"] {
        assert_eq!(
            listed(
                &store,
                &listing(Some(hostile), DecisionListing::All, Some(needle))
            )
            .await,
            [id],
            "{needle:?}"
        );
    }
    assert_eq!(
        listed(
            &store,
            &listing(
                Some(hostile),
                DecisionListing::Mine {
                    user: hostile.into()
                },
                None
            )
        )
        .await
        .len(),
        2
    );

    // NUL cannot be stored by PostgreSQL: refused on both, nothing written.
    let nul = "nul \0 inside";
    let mut with_nul = decision.clone();
    with_nul.rationale = Some(nul.into());
    let err = store.log_decision(&with_nul).await.unwrap_err();
    assert!(
        matches!(&err, DecisionError::Store(StoreError::Constraint { .. }))
            && err.to_string().contains("NUL"),
        "{err}"
    );
    let err = store
        .review_decision(
            id + 1,
            &Scope::Everything,
            ReviewOutcome::Kept,
            nul,
            "slack:U1",
            at(T3),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DecisionError::Store(StoreError::Constraint { .. })),
        "{err}"
    );
    assert_eq!(
        listed(&store, &listing(None, DecisionListing::All, None))
            .await
            .len(),
        2
    );
    assert_eq!(
        store
            .decision(id + 1, &Scope::Everything)
            .await
            .unwrap()
            .unwrap()
            .summary
            .status,
        DecisionStatus::Open
    );
}

// ---------------------------------------------------------------------------------------------
// Connecting: these need no database of their own.

#[tokio::test]
async fn an_unsupported_url_scheme_names_the_accepted_forms() {
    for url in [
        "mysql://root:hunter2@localhost/flywheel",
        "flywheel.db",
        "sqlite:flywheel.db",
    ] {
        let err = Store::connect(url, &options()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UnsupportedUrl { .. }),
            "{url}: {err}"
        );
        let message = err.to_string();
        assert!(message.contains("sqlite://"), "{message}");
        assert!(message.contains("postgres://"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_clearly() {
    // A port that was free a moment ago is, in all likelihood, still closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://flywheel:hunter2@127.0.0.1:{port}/nowhere");
    let started = std::time::Instant::now();
    let err = Store::connect(&url, &options()).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            StoreError::Connect {
                backend: Backend::Postgres,
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("PostgreSQL"), "{message}");
    assert!(
        message.contains(&format!("127.0.0.1:{port}/nowhere")),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    // The cause is reported at once rather than after the connect timeout.
    assert!(started.elapsed() < options().connect_timeout, "{message}");
}

#[tokio::test]
async fn sqlite_creates_missing_directories_and_reports_unusable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/flywheel.db");
    let store = Store::open(&format!("sqlite://{}", path.display()), &options())
        .await
        .expect("opens");
    assert!(path.exists());
    assert_eq!(store.backend(), Backend::Sqlite);
    store.close().await;

    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let bad = blocker.join("flywheel.db");
    let err = Store::connect(&format!("sqlite://{}", bad.display()), &options())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            StoreError::Connect {
                backend: Backend::Sqlite,
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("SQLite"), "{message}");
    assert!(message.contains(&bad.display().to_string()), "{message}");
}

// ---------------------------------------------------------------------------------------------
// The search index agrees with the domain

/// A small generator of random corpora and queries from one seed (SplitMix64), so a failing
/// case is reported by its seed and replays exactly.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    fn words(&mut self, most: usize) -> String {
        let n = self.below(most + 1);
        (0..n)
            .map(|_| self.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

const WORDS: &[&str] = &[
    "refund", "refunds", "charged", "card", "late", "fee", "credit", "report", "identity", "theft",
    "account", "the", "of", "call", "called",
];
const THEME_NAMES: &[&str] = &[
    "Billing",
    "billing",
    "Credit reporting",
    "Refunds",
    "Late fees",
];
const SEGMENT_NAMES: &[&str] = &["Enterprise", "enterprise", "SMB", "Older American"];
const ACCOUNT_NAMES: &[&str] = &["Equifax", "EQUIFAX, INC.", "Acme Corp", "Equinix"];
const SOURCES: &[&str] = &["cfpb", "Zendesk", "slack"];
const TEAMS: &[&str] = &["growth", "Payments"];

use flywheel_insights::model::Vocabulary;

fn random_insight(r: &mut Random, n: usize) -> PreparedInsight {
    let mut p = insight(&format!("p{n:03}"), "2026-01-01", "");
    p.data.title = r.words(3);
    p.data.body = r.words(8);
    p.data.observed_on = day("2026-01-01") + chrono::Days::new(r.below(90) as u64);
    p.data.source = r.pick(SOURCES).to_lowercase();
    p.data.segment = r.chance(60).then(|| r.pick(SEGMENT_NAMES).to_string());
    p.data.account = r.chance(60).then(|| r.pick(ACCOUNT_NAMES).to_string());
    p.data.stage = r
        .chance(50)
        .then(|| *r.pick(&Stage::ALL.iter().collect::<Vec<_>>()));
    p.data.kind = r
        .chance(50)
        .then(|| *r.pick(&Kind::ALL.iter().collect::<Vec<_>>()));
    p.data.sentiment = *r.pick(&Sentiment::ALL.iter().collect::<Vec<_>>());
    p.data.severity = Severity::new(1 + r.below(5) as u8).unwrap();
    p.data.visibility = if r.chance(60) {
        Visibility::All
    } else {
        Visibility::Teams(
            TEAMS
                .iter()
                .filter(|_| r.chance(50))
                .map(|t| t.to_string())
                .collect(),
        )
    };
    let mut themes: Vec<String> = Vec::new();
    for _ in 0..r.below(3) {
        let name = r.pick(THEME_NAMES).to_string();
        if !themes
            .iter()
            .any(|t| flywheel_insights::model::key(t) == flywheel_insights::model::key(&name))
        {
            themes.push(name);
        }
    }
    p.themes = themes;
    indexed(p)
}

fn random_test(r: &mut Random) -> Test {
    match r.below(20) {
        0..=8 => term(r.pick(WORDS)),
        9..=10 => phrase(&[r.pick(WORDS), r.pick(WORDS)]),
        11 => filter(Filter::Theme(
            r.pick(&[
                "billing",
                "credit",
                "credit-reporting",
                "late",
                "refunds",
                "cred",
            ])
            .into(),
        )),
        12 => filter(Filter::Segment(
            r.pick(&["enterprise", "older", "older-american", "smb", "old"])
                .into(),
        )),
        13 => filter(Filter::Account(
            r.pick(&["equifax", "equifax-inc", "acme", "acme-corp", "equi"])
                .into(),
        )),
        14 => filter(Filter::Source(
            r.pick(&["cfpb", "ZENDESK", "slack", "other"]).into(),
        )),
        15 => filter(Filter::Stage(
            *r.pick(&Stage::ALL.iter().collect::<Vec<_>>()),
        )),
        16 => filter(Filter::Kind(*r.pick(&Kind::ALL.iter().collect::<Vec<_>>()))),
        17 => filter(Filter::Sentiment(
            *r.pick(&Sentiment::ALL.iter().collect::<Vec<_>>()),
        )),
        18 => {
            let comparison = *r.pick(&[
                &Comparison::Eq,
                &Comparison::Lt,
                &Comparison::Le,
                &Comparison::Gt,
                &Comparison::Ge,
            ]);
            filter(Filter::Severity(comparison, 1 + r.below(5) as u8))
        }
        _ => {
            let bound = if r.chance(50) {
                DateBound::On(day("2026-01-01") + chrono::Days::new(r.below(90) as u64))
            } else {
                DateBound::DaysAgo(r.below(100) as u32)
            };
            filter(if r.chance(50) {
                Filter::Since(bound)
            } else {
                Filter::Until(bound)
            })
        }
    }
}

fn random_query(r: &mut Random) -> Query {
    let clauses = (0..1 + r.below(3))
        .map(|_| {
            (0..1 + r.below(3))
                .map(|_| Atom {
                    negated: r.chance(25),
                    test: random_test(r),
                })
                .collect()
        })
        .collect();
    query(clauses)
}

fn random_scope(r: &mut Random) -> Scope {
    match r.below(4) {
        0 => Scope::Everything,
        1 => Scope::Public,
        2 => Scope::Team("GROWTH".into()),
        _ => Scope::Team("payments".into()),
    }
}

/// Random corpora and queries through the search index and through the in-memory matcher
/// (with visibility, the observed range, and coordination or not) give the same insights.
async fn the_index_and_the_matcher_agree(db: TestDb, seed: u64) {
    use flywheel_insights::query::Document;
    let store = db.open().await;
    let mut r = Random(seed);
    let corpus: Vec<PreparedInsight> = (0..40).map(|n| random_insight(&mut r, n)).collect();
    let outcomes = upsert(&store, &corpus, T1).await;
    // Some insights are updated, so the index holds replaced documents too.
    let chosen: Vec<&PreparedInsight> = corpus.iter().filter(|_| r.chance(20)).collect();
    let updates: Vec<PreparedInsight> = chosen
        .into_iter()
        .map(|p| {
            let mut changed = random_insight(&mut r, 0);
            changed.data.source = p.data.source.clone();
            changed.data.source_ref = p.data.source_ref.clone();
            changed.fingerprint = format!("{}-v2", p.data.source_ref);
            changed
        })
        .collect();
    upsert(&store, &updates, T2).await;
    let mut stored = Vec::new();
    for outcome in &outcomes {
        stored.push(
            store
                .insight(outcome.id(), &Scope::Everything)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    for _ in 0..60 {
        let q = random_query(&mut r);
        let mut options = in_scope(random_scope(&mut r));
        // Coordination changes how clauses of words score, never what matches.
        options.ranking.coordination = r.chance(50);
        if r.chance(30) {
            let from = day("2026-01-01") + chrono::Days::new(r.below(90) as u64);
            options.observed = Some(DateRange {
                from,
                until: from + chrono::Days::new(r.below(40) as u64),
            });
        }
        options.breakdown = usize::MAX;
        let matching: Vec<&Insight> = stored
            .iter()
            .filter(|i| options.scope.allows(&i.data.visibility))
            .filter(|i| {
                options
                    .observed
                    .is_none_or(|range| range.contains(i.data.observed_on))
            })
            .filter(|i| q.matches(&Document::from_insight(i), options.today))
            .collect();
        let mut expected: Vec<i64> = matching.iter().map(|i| i.id).collect();
        expected.sort();
        let result = search(&store, &q, &options).await;
        let mut found: Vec<i64> = result.hits.iter().map(|h| h.insight.id).collect();
        found.sort();
        assert_eq!(found, expected, "seed {seed}: {q:?} in {:?}", options.scope);
        assert_eq!(result.total, expected.len() as u64, "seed {seed}: {q:?}");
        // The figures, counted over the index's segments, agree with the matching insights.
        let accounts: HashSet<String> = matching
            .iter()
            .filter_map(|i| i.data.account.as_deref().map(model::key))
            .filter(|k| !k.is_empty())
            .collect();
        assert_eq!(result.accounts, accounts.len() as u64, "seed {seed}: {q:?}");
        let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut themes: BTreeMap<String, u64> = BTreeMap::new();
        for insight in &matching {
            *days.entry(insight.data.observed_on).or_default() += 1;
            let keys: HashSet<String> = insight
                .themes
                .iter()
                .map(|t| model::key(t))
                .filter(|k| !k.is_empty())
                .collect();
            for key in keys {
                *themes.entry(key).or_default() += 1;
            }
        }
        assert_eq!(
            result.by_day,
            days.into_iter().collect::<Vec<_>>(),
            "seed {seed}: {q:?}"
        );
        let mut found_themes: Vec<(String, u64)> = result
            .themes
            .iter()
            .map(|c| (model::key(&c.name), c.count))
            .collect();
        found_themes.sort();
        assert_eq!(
            found_themes,
            themes.into_iter().collect::<Vec<_>>(),
            "seed {seed}: {q:?}"
        );
    }
}

mod agreement {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn on_sqlite(seed in any::<u64>()) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async {
                super::the_index_and_the_matcher_agree(super::fresh_sqlite().await, seed).await;
            });
        }

        #[test]
        fn on_postgres(seed in any::<u64>()) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async {
                if let Some(db) = super::fresh_postgres().await {
                    super::the_index_and_the_matcher_agree(db, seed).await;
                }
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The search index is derived: rebuilt, caught up, shared

async fn open_with_index(db: &TestDb, dir: &std::path::Path) -> Store {
    let options = StoreOptions {
        search_index: flywheel_storage::IndexPlace::Directory(dir.to_path_buf()),
        ..options()
    };
    Store::open(&db.url, &options)
        .await
        .expect("the store opens with its index")
}

/// What a search answers, order aside: ids, total and every figure.
async fn answers(store: &Store) -> Vec<(Vec<i64>, u64, Vec<Count>, Vec<Count>, u64)> {
    let queries = [
        Query::everything(),
        just(term("credit")),
        just(term("refund")),
        query(vec![vec![yes(term("credit"))], vec![not(term("report"))]]),
        just(filter(Filter::Theme("billing".into()))),
    ];
    let mut out = Vec::new();
    for q in &queries {
        let result = search(store, q, &everything()).await;
        let mut ids: Vec<i64> = result.hits.iter().map(|h| h.insight.id).collect();
        ids.sort();
        out.push((
            ids,
            result.total,
            result.themes,
            result.segments,
            result.accounts,
        ));
    }
    out
}

async fn reindexing_gives_the_same_answers_as_the_incremental_index(db: TestDb) {
    let store = db.open().await;
    corpus(&store).await;
    // Updates replace documents in the incremental index.
    let mut a2 = insight("a2", "2026-03-15", "refund of credit late");
    a2.data.source = "CFPB".into();
    a2.fingerprint = "a2-v2".into();
    a2.themes = strings(&["Refunds"]);
    upsert(&store, &[a2], T2).await;
    let incremental = answers(&store).await;
    let progress = std::sync::Mutex::new(Vec::new());
    let indexed = store
        .reindex(&|done, total| progress.lock().unwrap().push((done, total)))
        .await
        .expect("reindex");
    assert_eq!(indexed, 7);
    assert_eq!(progress.lock().unwrap().last(), Some(&(7, 7)));
    assert_eq!(answers(&store).await, incremental);
    let status = store.search_status().await.unwrap();
    assert_eq!(status.documents, 7);
    assert_eq!(status.indexed_change, status.store_change);
}

async fn batches_written_while_the_last_is_indexed_are_all_searchable_in_order(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_index(&db, &dir.path().join("index")).await;
    // As a bulk writer does: each batch is written while the one before it is indexed, and
    // that indexing finishes before the next starts.
    let batches: Vec<Vec<PreparedInsight>> = (0..4)
        .map(|b| {
            (0..50)
                .map(|n| {
                    indexed(insight(
                        &format!("r{b}-{n}"),
                        "2026-03-01",
                        if b == 2 {
                            "refund owed"
                        } else {
                            "credit report"
                        },
                    ))
                })
                .collect()
        })
        .collect();
    let mut pending: Option<flywheel_storage::Indexing> = None;
    for batch in &batches {
        let (outcomes, indexing) = store
            .upsert_indexing_after(batch.clone(), at(T1))
            .await
            .expect("written");
        assert_eq!(outcomes.len(), 50);
        if let Some(last) = pending.replace(indexing) {
            last.finish().await.expect("indexed");
        }
    }
    pending.unwrap().finish().await.expect("indexed");
    // A bulk writer's rows wait uncommitted until there are enough of them, or until it is done.
    let status = store.search_status().await.unwrap();
    assert!(status.indexed_change < status.store_change, "{status:?}");
    // A search meanwhile commits them rather than indexing them again.
    assert_eq!(store.sync_search(&|_, _| {}).await.expect("synced"), 0);
    let status = store.search_status().await.unwrap();
    assert_eq!(status.indexed_change, status.store_change);
    store.commit_indexing().await.expect("committed");
    let status = store.search_status().await.unwrap();
    assert_eq!(status.documents, 200);
    assert_eq!(status.indexed_change, status.store_change);
    assert_eq!(
        search(&store, &just(term("refund")), &everything())
            .await
            .total,
        50
    );
    assert_eq!(
        search(&store, &just(term("credit")), &everything())
            .await
            .total,
        150
    );
    // Rewriting a batch unchanged indexes nothing and finishes at once.
    let (outcomes, indexing) = store
        .upsert_indexing_after(batches[0].clone(), at(T2))
        .await
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, UpsertOutcome::Unchanged(_)))
    );
    indexing.finish().await.unwrap();
    assert_eq!(store.search_status().await.unwrap().documents, 200);
    // Rewriting a batch with new words replaces its documents.
    let rewritten: Vec<PreparedInsight> = (0..50)
        .map(|n| {
            let mut p = insight(&format!("r0-{n}"), "2026-03-01", "chargeback dispute");
            p.fingerprint = format!("r0-{n}-v2");
            p
        })
        .collect();
    let (outcomes, indexing) = store
        .upsert_indexing_after(rewritten, at(T2))
        .await
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, UpsertOutcome::Updated(_)))
    );
    indexing.finish().await.unwrap();
    store.commit_indexing().await.unwrap();
    assert_eq!(store.search_status().await.unwrap().documents, 200);
    let total = |word| {
        let store = &store;
        async move { search(store, &just(term(word)), &everything()).await.total }
    };
    assert_eq!(total("chargeback").await, 50);
    assert_eq!(total("credit").await, 100);
}

async fn related_words_find_insights_that_say_it_otherwise(db: TestDb) {
    let store = db.open().await;
    let mut batch = vec![
        insight(
            "d1",
            "2026-03-20",
            "dispute outcome investigation never notified",
        ),
        insight(
            "d2",
            "2026-03-21",
            "dispute outcome investigation results notified late",
        ),
        // Says the same without the question's words.
        insight("r1", "2026-03-22", "investigation results never notified"),
        // The same, for the ops team only.
        insight("r2", "2026-03-22", "investigation results notified"),
        // Holds a question word, and nothing telling beside it.
        insight("p1", "2026-03-23", "dispute about a mortgage payment"),
    ];
    batch[3].data.visibility = Visibility::Teams(strings(&["ops"]));
    for (n, body) in [
        "mortgage payment late fee",
        "card fee charged twice",
        "loan payment missed",
        "account closed without warning",
        "bank fee refund owed",
        "mortgage escrow shortage",
        "card declined at store",
        "loan application delayed",
    ]
    .into_iter()
    .enumerate()
    {
        batch.push(insight(&format!("f{n}"), "2026-03-01", body));
    }
    store.upsert(&batch, at(T1)).await.unwrap();
    let question = query(vec![vec![yes(term("dispute"))], vec![yes(term("outcome"))]]);
    let mut options = in_scope(Scope::Team("sales".into()));
    options.limit = 4;
    let first = search(&store, &question, &options).await;
    let refs = |hits: &[flywheel_insights::search::Hit]| -> Vec<String> {
        hits.iter()
            .map(|h| h.insight.data.source_ref.clone())
            .collect()
    };
    let sorted = |mut refs: Vec<String>| {
        refs.sort();
        refs
    };
    assert_eq!(sorted(refs(&first.hits)), ["d1", "d2"], "every word");

    let (related, hits) = store
        .search_related(&question, &options, &first.hits)
        .await
        .unwrap();
    // The best answers' telling words, never the question's own or a common one.
    assert!(related.contains(&stem("investigation")), "{related:?}");
    assert!(related.contains(&stem("notified")), "{related:?}");
    assert!(!related.contains(&stem("dispute")), "{related:?}");
    let found = refs(&hits);
    assert_eq!(
        sorted(found[..2].to_vec()),
        ["d1", "d2"],
        "the full answers stay first: {found:?}"
    );
    // r1 joins them; r2 is not the team's to see; p1 holds a question word but less.
    assert_eq!(found[2], "r1", "{found:?}");
    assert!(!found.contains(&"r2".to_string()), "{found:?}");
    assert!(found.iter().all(|r| !r.starts_with('f')), "{found:?}");

    // Seen by every team, r2 is found too; filters still hold.
    let (_, everyone) = store
        .search_related(&question, &everything(), &first.hits)
        .await
        .unwrap();
    assert!(refs(&everyone).contains(&"r2".to_string()));
    let before_r = query(vec![
        vec![yes(term("dispute"))],
        vec![yes(term("outcome"))],
        vec![yes(filter(Filter::Until(DateBound::On(day("2026-03-21")))))],
    ]);
    let (_, filtered) = store
        .search_related(&before_r, &everything(), &first.hits)
        .await
        .unwrap();
    let filtered = refs(&filtered);
    assert_eq!(sorted(filtered[..2].to_vec()), ["d1", "d2"], "{filtered:?}");
    assert!(
        ["r1", "r2", "p1"]
            .iter()
            .all(|late| !filtered.contains(&late.to_string())),
        "{filtered:?}"
    );

    // Without first answers, or without plain words, nothing changes.
    let (none, same) = store
        .search_related(&question, &options, &[])
        .await
        .unwrap();
    assert!(none.is_empty() && same.is_empty());
    let phrase_only = just(phrase(&["dispute", "outcome"]));
    let (none, same) = store
        .search_related(&phrase_only, &options, &first.hits)
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(refs(&same), refs(&first.hits));
}

async fn a_deleted_or_corrupt_index_is_rebuilt_from_the_store(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let store = open_with_index(&db, &index).await;
    corpus(&store).await;
    let expected = answers(&store).await;
    store.close().await;

    // Reopened as it was: nothing to rebuild.
    let store = open_with_index(&db, &index).await;
    assert_eq!(store.search_status().await.unwrap().rebuilt, None);
    assert_eq!(answers(&store).await, expected);
    store.close().await;

    // Deleted.
    std::fs::remove_dir_all(&index).unwrap();
    let store = open_with_index(&db, &index).await;
    assert!(store.search_status().await.unwrap().rebuilt.is_some());
    assert_eq!(answers(&store).await, expected);
    store.close().await;

    // Corrupt: every file truncated.
    for entry in std::fs::read_dir(&index).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let store = open_with_index(&db, &index).await;
    assert!(store.search_status().await.unwrap().rebuilt.is_some());
    assert_eq!(answers(&store).await, expected);
    store.close().await;

    // Built from another store: the other store's index is not trusted.
    let other = fresh_sqlite().await;
    let elsewhere = open_with_index(&other, &index).await;
    let status = elsewhere.search_status().await.unwrap();
    assert!(status.rebuilt.is_some());
    assert_eq!(
        search(&elsewhere, &Query::everything(), &everything())
            .await
            .total,
        0
    );
    elsewhere.close().await;
}

async fn an_index_behind_the_store_catches_up(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let store = open_with_index(&db, &index).await;
    corpus(&store).await;
    store.close().await;
    // Another process writes while this one is stopped (as if it crashed between the store's
    // commit and the index's).
    let writer = db.second_store().await;
    upsert(
        &writer,
        &[insight("late", "2026-03-31", "credit arrived late")],
        T2,
    )
    .await;
    let store = open_with_index(&db, &index).await;
    let status = store.search_status().await.unwrap();
    assert!(status.indexed_change < status.store_change);
    let progress = std::sync::Mutex::new(Vec::new());
    let indexed = store
        .sync_search(&|done, total| progress.lock().unwrap().push((done, total)))
        .await
        .unwrap();
    assert_eq!(indexed, 1);
    assert_eq!(*progress.lock().unwrap(), [(1, 1)]);
    assert!(refs(&store, &just(term("arrived"))).await == strings(&["late"]));
    // Searching catches up by itself too.
    upsert(
        &writer,
        &[insight("later", "2026-03-31", "credit arrived later")],
        T3,
    )
    .await;
    assert_eq!(
        refs(&store, &just(term("arrived"))).await,
        strings(&["late", "later"])
    );
}

async fn two_processes_share_one_index_directory(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let holder = open_with_index(&db, &index).await;
    // The second opens the same directory while the first holds its writer: it searches what
    // the holder commits.
    let reader = open_with_index(&db, &index).await;
    assert!(holder.search_status().await.unwrap().writer);
    assert!(!reader.search_status().await.unwrap().writer);
    corpus(&holder).await;
    assert_eq!(refs(&reader, &just(term("credit"))).await.len(), 5);
    // What the reader writes reaches the store; the holder indexes it on its next search.
    upsert(
        &reader,
        &[insight("r1", "2026-03-31", "credit written elsewhere")],
        T2,
    )
    .await;
    assert_eq!(
        refs(&holder, &just(term("elsewhere"))).await,
        strings(&["r1"])
    );
    assert_eq!(
        refs(&reader, &just(term("elsewhere"))).await,
        strings(&["r1"])
    );
    // When the holder stops, the other takes the writer over on its next catch-up.
    holder.close().await;
    upsert(
        &reader,
        &[insight("r2", "2026-03-31", "credit taken over")],
        T3,
    )
    .await;
    assert_eq!(refs(&reader, &just(term("taken"))).await, strings(&["r2"]));
    assert!(reader.search_status().await.unwrap().writer);
}

async fn replicas_see_each_others_writes_through_their_own_indexes(db: TestDb) {
    let first = db.open().await;
    let second = db.second_store().await;
    corpus(&first).await;
    assert_eq!(refs(&second, &just(term("credit"))).await.len(), 5);
    let mut changed = insight("a6", "2026-03-31", "score moved");
    changed.data.source = "cfpb".into();
    changed.fingerprint = "a6-v2".into();
    upsert(&second, &[changed], T2).await;
    assert_eq!(refs(&first, &just(term("moved"))).await, strings(&["a6"]));
    assert_eq!(refs(&first, &just(term("credit"))).await.len(), 4);
    assert_eq!(answers(&first).await, answers(&second).await);
}

// ---------------------------------------------------------------------------------------------
// Watches and alerts

fn new_watch(channel: &str, query: &str, team: Option<&str>) -> NewWatch {
    NewWatch {
        team: team.map(str::to_string),
        channel: channel.into(),
        query: query.into(),
        cadence: Cadence::Now,
        created_by: "slack:U1".into(),
        config_key: None,
    }
}

fn new_alert(key: &str, channels: &[&str], now: i64, due: i64) -> NewAlert {
    NewAlert {
        key: key.into(),
        team: Some("payments".into()),
        kind: AlertKind::Watch,
        subject: "watch:1".into(),
        thread: None,
        message: serde_json::json!({"blocks": [{"Header": "3 new insights match refund"}]}),
        summary: serde_json::json!({"matches": 3}),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        now: at(now),
        due: at(due),
    }
}

async fn watches_are_kept_per_channel_and_ended_once(db: TestDb) {
    let store = db.open().await;
    let a = store
        .create_watch(&new_watch("slack:C1", "refund", Some("payments")), at(T1))
        .await
        .unwrap();
    let b = store
        .create_watch(&new_watch("slack:C1", "\"gift card\"", None), at(T1))
        .await
        .unwrap();
    let c = store
        .create_watch(&new_watch("slack:C2", "refund", Some("payments")), at(T1))
        .await
        .unwrap();
    assert_eq!(
        (a.cadence, a.next_check_at, a.ended_at),
        (Cadence::Now, at(T1), None)
    );
    let ids = |ws: Vec<flywheel_storage::Watch>| ws.iter().map(|w| w.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.channel_watches("slack:C1").await.unwrap()),
        [a.id, b.id]
    );
    assert_eq!(
        ids(store.active_watches().await.unwrap()),
        [a.id, b.id, c.id]
    );
    assert_eq!(
        ids(store.due_watches(at(T1 - 1), 10).await.unwrap()),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(store.due_watches(at(T1), 2).await.unwrap()),
        [a.id, b.id]
    );

    // Only from its own channel, and only once.
    assert!(
        store
            .end_watch(a.id, Some("slack:C2"), "slack:U2", at(T1))
            .await
            .unwrap()
            .is_none()
    );
    let ended = store
        .end_watch(a.id, Some("slack:C1"), "slack:U2", at(T1 + 5))
        .await
        .unwrap();
    assert_eq!(ended.unwrap().ended_at, Some(at(T1 + 5)));
    assert!(
        store
            .end_watch(a.id, None, "slack:U2", at(T1 + 6))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ids(store.channel_watches("slack:C1").await.unwrap()),
        [b.id]
    );

    // A declared watch is brought in step by its key, and ended when the file drops it.
    let mut declared = new_watch("slack:C3", "refund", Some("payments"));
    declared.config_key = Some("payments/0".into());
    declared.created_by = "config".into();
    let first = store.create_watch(&declared, at(T1)).await.unwrap();
    declared.query = "refund -voucher".into();
    declared.cadence = Cadence::Daily;
    let again = store.create_watch(&declared, at(T1 + 10)).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(
        (again.query.as_str(), again.cadence),
        ("refund -voucher", Cadence::Daily)
    );
    assert_eq!(
        store
            .end_undeclared_watches(&["payments/0".into()], at(T1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.end_undeclared_watches(&[], at(T1)).await.unwrap(), 1);
    assert!(
        store
            .watch(first.id)
            .await
            .unwrap()
            .unwrap()
            .ended_at
            .is_some()
    );

    // Refused: NUL, an empty channel or question.
    for bad in [
        new_watch("slack:C1", "refu\0nd", None),
        new_watch("", "refund", None),
        new_watch("slack:C1", "  ", None),
    ] {
        assert!(matches!(
            store.create_watch(&bad, at(T1)).await,
            Err(StoreError::Constraint { .. })
        ));
    }
}

async fn a_watch_sees_only_insights_added_after_its_mark(db: TestDb) {
    let store = db.open().await;
    upsert(&store, &[insight("old", "2026-03-01", "refund late")], T1).await;
    let watch = store
        .create_watch(&new_watch("slack:C1", "refund", None), at(T1))
        .await
        .unwrap();
    assert_eq!(watch.seen_seq, store.latest_change().await.unwrap());
    // An update to an old insight is not news; new ones are, in the order they were added.
    upsert(
        &store,
        &[insight("old", "2026-03-01", "refund very late")],
        T1 + 1,
    )
    .await;
    upsert(
        &store,
        &[insight("new1", "2026-03-02", "refund please")],
        T1 + 2,
    )
    .await;
    let mut hidden = insight("new2", "2026-03-02", "refund hidden");
    hidden.data.visibility = Visibility::Teams(vec!["growth".into()]);
    upsert(
        &store,
        &[hidden, insight("new3", "2026-03-03", "card declined")],
        T1 + 3,
    )
    .await;
    let through = store.latest_change().await.unwrap();
    let refs = |rows: &[(i64, Insight)]| {
        rows.iter()
            .map(|(_, i)| i.data.source_ref.clone())
            .collect::<Vec<_>>()
    };
    let all = store
        .insights_added(watch.seen_seq, through, None, &Scope::Everything, 10)
        .await
        .unwrap();
    assert_eq!(refs(&all), ["new1", "new2", "new3"]);
    assert!(all.windows(2).all(|w| w[0].0 <= w[1].0));
    let public = store
        .insights_added(watch.seen_seq, through, None, &Scope::Public, 10)
        .await
        .unwrap();
    assert_eq!(refs(&public), ["new1", "new3"]);
    // Paged from a position.
    let first = store
        .insights_added(watch.seen_seq, through, None, &Scope::Everything, 1)
        .await
        .unwrap();
    let rest = store
        .insights_added(
            watch.seen_seq,
            through,
            Some((first[0].0, first[0].1.id)),
            &Scope::Everything,
            10,
        )
        .await
        .unwrap();
    assert_eq!(refs(&rest), ["new2", "new3"]);
    // Nothing past `through`.
    assert!(
        store
            .insights_added(through, through, None, &Scope::Everything, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn racing_replicas_settle_a_watch_once(db: TestDb) {
    let store = db.open().await;
    let watch = store
        .create_watch(&new_watch("slack:C1", "refund", Some("payments")), at(T1))
        .await
        .unwrap();
    let mut racers = Vec::new();
    for n in 0..4 {
        let store = if n == 0 {
            store.clone()
        } else {
            db.second_store().await
        };
        let seen = watch.seen_seq;
        let id = watch.id;
        racers.push(tokio::spawn(async move {
            let alert = new_alert(&format!("watch:{id}:{}", seen + 5), &["slack:C1"], T1, T1);
            store
                .settle_watch(id, seen, seen + 5, at(T1 + 60_000), Some(&alert))
                .await
                .unwrap()
        }));
    }
    let mut settled = 0;
    for racer in racers {
        match racer.await.unwrap() {
            WatchSettled::Settled { alert_id } => {
                settled += 1;
                assert!(alert_id.is_some());
            }
            WatchSettled::Lost => {}
        }
    }
    assert_eq!(settled, 1, "exactly one replica settles the watch");
    let after = store.watch(watch.id).await.unwrap().unwrap();
    assert_eq!(
        (after.seen_seq, after.next_check_at),
        (watch.seen_seq + 5, at(T1 + 60_000))
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 1);
    // Settling from a stale mark, or an ended watch, writes nothing.
    assert_eq!(
        store
            .settle_watch(watch.id, watch.seen_seq, watch.seen_seq + 9, at(T1), None)
            .await
            .unwrap(),
        WatchSettled::Lost
    );
    store
        .end_watch(watch.id, None, "slack:U1", at(T1))
        .await
        .unwrap();
    let seen = watch.seen_seq + 5;
    assert_eq!(
        store
            .settle_watch(watch.id, seen, seen + 1, at(T1), None)
            .await
            .unwrap(),
        WatchSettled::Lost
    );
}

async fn alerts_are_written_once_with_deliveries_due_when_asked(db: TestDb) {
    let store = db.open().await;
    let now = T1;
    let morning = T1 + 8 * 3_600_000;
    let alert = new_alert(
        "spike:payments:refunds:2026-03-02",
        &["slack:C1", "slack:C1", "discord:9"],
        now,
        morning,
    );
    let AlertCreated::Created {
        alert_id,
        deliveries,
    } = store.create_alert(&alert).await.unwrap()
    else {
        panic!("the first alert is created");
    };
    assert_eq!(deliveries.len(), 2, "a repeated channel is sent once");
    assert_eq!(
        store.create_alert(&alert).await.unwrap(),
        AlertCreated::AlreadyExists { alert_id }
    );
    let record = store.alert(alert_id).await.unwrap().unwrap();
    assert_eq!(
        (record.kind, record.team.as_deref()),
        (AlertKind::Watch, Some("payments"))
    );
    assert_eq!(
        (record.message.clone(), record.created_at),
        (alert.message.clone(), at(now))
    );
    assert_eq!(
        store
            .alerts_since(AlertKind::Watch, at(now))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .alerts_since(AlertKind::Spike, at(now))
            .await
            .unwrap()
            .is_empty()
    );

    // Held until due (the end of quiet hours), then claimed like a digest's.
    assert!(claim(&store, "w1", morning - 1, 10).await.is_empty());
    let claimed = claim(&store, "w1", morning, 10).await;
    assert_eq!(claimed.len(), 2);
    for c in &claimed {
        assert_eq!(c.outbound, Outbound::Alert { id: alert_id });
        assert_eq!((c.team.as_str(), &c.message), ("payments", &alert.message));
    }
    assert!(
        store
            .delivery_sent(claimed[0].id, "w1", "ts-1", at(morning))
            .await
            .unwrap()
    );

    // An alert for a channel of no team, and refusals.
    let mut teamless = new_alert("watch:2:7", &["console:general"], now, now);
    teamless.team = None;
    assert!(matches!(
        store.create_alert(&teamless).await.unwrap(),
        AlertCreated::Created { .. }
    ));
    let c = claim(&store, "w2", now + 1, 10).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].team, "");
    for bad in [
        new_alert("k\0", &["slack:C1"], now, now),
        new_alert("k2", &[""], now, now),
    ] {
        assert!(matches!(
            store.create_alert(&bad).await,
            Err(StoreError::Constraint { .. })
        ));
    }
}

async fn spike_states_round_trip_and_their_alerts_are_once_per_key(db: TestDb) {
    let store = db.open().await;
    assert_eq!(
        store.spike_state("payments", "refunds").await.unwrap(),
        None
    );
    let raised = SpikeStateRecord {
        alerted_on: Some(day("2026-03-02")),
        through: day("2026-03-01"),
    };
    let mut alert = new_alert("spike:payments:refunds:2026-03-02", &["slack:C1"], T1, T1);
    alert.kind = AlertKind::Spike;
    alert.subject = "refunds".into();
    let first = store
        .record_spike_state("payments", "refunds", raised, Some(&alert))
        .await
        .unwrap();
    assert!(matches!(first, Some(AlertCreated::Created { .. })));
    let second = store
        .record_spike_state("payments", "refunds", raised, Some(&alert))
        .await
        .unwrap();
    assert!(matches!(second, Some(AlertCreated::AlreadyExists { .. })));
    assert_eq!(
        store.spike_state("payments", "refunds").await.unwrap(),
        Some(raised)
    );
    let quiet = SpikeStateRecord {
        alerted_on: None,
        through: day("2026-03-05"),
    };
    store
        .record_spike_state("payments", "refunds", quiet, None)
        .await
        .unwrap();
    assert_eq!(
        store.spike_state("payments", "refunds").await.unwrap(),
        Some(quiet)
    );
    assert_eq!(store.spike_state("growth", "refunds").await.unwrap(), None);
    assert_eq!(
        store
            .alerts_since(AlertKind::Spike, at(0))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A theme's first insight on D0 (observed D0 - 2d), first watched on D0 + 1d and flagged on
/// D0 + 3d: noticed 3 days after its first evidence. A spike on D0 + 4d, decided on D0 + 6d.
async fn figures_tell_how_fast_themes_are_noticed_and_spikes_decided(db: TestDb) {
    let store = db.open().await;
    let mut refund = insight("r1", "2025-12-30", "refund late");
    refund.themes = vec!["refunds".into()];
    let mut later = insight("r2", "2026-01-03", "refund again");
    later.themes = vec!["refunds".into()];
    let mut other = insight("o1", "2026-01-01", "login");
    other.themes = vec!["login".into()];
    let ids: Vec<i64> = upsert(
        &store,
        &[indexed(refund), indexed(later), indexed(other)],
        D0,
    )
    .await
    .iter()
    .map(|o| o.id())
    .collect();
    let mut watch = new_watch("slack:C1", "theme:refunds -voucher", Some("payments"));
    store.create_watch(&watch, at(D0 + DAY)).await.unwrap();
    watch.query = "theme:login".into();
    watch.team = Some("growth".into());
    store.create_watch(&watch, at(D0 + DAY)).await.unwrap();
    store
        .flag(ids[1], "payments", "U1", None, at(D0 + 3 * DAY))
        .await
        .unwrap();
    let mut spike = new_alert(
        "spike:payments:refunds:2026-01-05",
        &["slack:C1"],
        D0 + 4 * DAY,
        D0 + 4 * DAY,
    );
    spike.kind = AlertKind::Spike;
    spike.subject = "refunds".into();
    store.create_alert(&spike).await.unwrap();
    let mut unanswered = new_alert(
        "spike:payments:login:2026-01-05",
        &["slack:C1"],
        D0 + 4 * DAY,
        D0 + 4 * DAY,
    );
    unanswered.kind = AlertKind::Spike;
    unanswered.subject = "login".into();
    store.create_alert(&unanswered).await.unwrap();
    // Before the spike, a decision on the theme does not answer it.
    log(
        &store,
        &new_decision("payments", "early", &[ids[0]], D0 + 2 * DAY),
    )
    .await;
    log(
        &store,
        &new_decision("payments", "refund faster", &[ids[1]], D0 + 6 * DAY),
    )
    .await;

    let stats = store
        .decision_stats(Some("payments"), None, day("2026-01-20"))
        .await
        .unwrap();
    // First evidence: observed 30 Dec 2025 = D0 - 2d; first watched D0 + 1d: 3 days.
    assert_eq!(
        (stats.themes_noticed, stats.median_days_to_notice),
        (1, Some(3.0))
    );
    assert_eq!((stats.spikes, stats.spikes_decided), (2, 1));
    assert_eq!(stats.median_days_spike_to_decision, Some(2.0));
    // The window counts what happened in it.
    let late = store
        .decision_stats(Some("payments"), Some(at(D0 + 5 * DAY)), day("2026-01-20"))
        .await
        .unwrap();
    assert_eq!((late.themes_noticed, late.spikes), (0, 0));
    let growth = store
        .decision_stats(Some("growth"), None, day("2026-01-20"))
        .await
        .unwrap();
    assert_eq!(
        (growth.themes_noticed, growth.median_days_to_notice),
        (1, Some(1.0))
    );
}
