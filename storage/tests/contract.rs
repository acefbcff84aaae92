//! The storage contract: what every backend must do, run against each of them.
//!
//! Every test in `contract_tests!` runs twice: `sqlite::<name>` on a fresh temporary file, and
//! `postgres::<name>` in a fresh schema of the database named by `FLYWHEEL_TEST_POSTGRES_URL`
//! (for example `postgres://postgres@127.0.0.1:5432/test`). Without that variable the PostgreSQL
//! runs pass after a notice; with it, an unreachable server fails them.
//!
//! Test data is written directly as `PreparedInsight` values with hand-written terms, and queries
//! directly as `Query` values, so the contract does not depend on the parser or the stemmer.
//!
//! The `bench` module holds an ignored benchmark:
//! `cargo test --release -p flywheel-storage --test contract bench -- --ignored --nocapture`.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use flywheel_insights::index::PreparedInsight;
use flywheel_insights::model::{
    Insight, InsightData, Kind, Sentiment, Severity, Stage, Visibility,
};
use flywheel_insights::query::{Atom, Clause, Comparison, DateBound, Filter, Query, Term, Test};
use flywheel_insights::search::{Count, DateRange, Scope, SearchOptions, SearchResult};
use flywheel_storage::{AppliedMigration, Backend, Store, StoreError, StoreOptions, UpsertOutcome};
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
    /// The store, migrated.
    async fn open(&self) -> Store {
        self.store.migrate().await.expect("migrations apply");
        self.store.clone()
    }

    /// Another connection pool on the same database, as a second process would have.
    async fn second_store(&self) -> Store {
        Store::connect(&self.url, &options())
            .await
            .expect("a second store connects")
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 4,
        connect_timeout: Duration::from_secs(30),
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
    upsert_tells_inserted_updated_and_unchanged_apart,
    a_batch_is_written_in_order_and_atomically,
    sources_are_case_insensitive_identities,
    concurrent_importers_of_the_same_rows_agree,
    terms_conjunction_disjunction_and_negation,
    phrases_need_adjacent_words_in_order,
    field_filters,
    keys_match_whole_leading_words,
    dates_are_inclusive_and_relative_to_today,
    visibility_scopes,
    candidates_are_capped_with_exact_totals,
    breakdowns_days_and_accounts,
    hostile_text_round_trips_byte_for_byte,
    invalid_insights_are_refused_before_writing,
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

/// A plain insight; tests adjust the fields they care about.
fn insight(source_ref: &str, observed_on: &str, terms: &str) -> PreparedInsight {
    PreparedInsight {
        data: InsightData {
            source: "test".into(),
            source_ref: source_ref.into(),
            title: format!("Title of {source_ref}"),
            body: format!("Body of {source_ref}"),
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
        terms: terms.into(),
        fingerprint: format!("{source_ref}-v1"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn word(stem: &str) -> Term {
    Term {
        word: stem.to_uppercase(),
        stem: stem.into(),
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

fn everything() -> SearchOptions {
    SearchOptions::new(Scope::Everything, today())
}

async fn search(store: &Store, q: &Query, options: &SearchOptions) -> SearchResult {
    store
        .search(q, options)
        .await
        .unwrap_or_else(|e| panic!("search {q:?} failed: {e}"))
}

/// The source refs a query matches, sorted, after checking that the candidates and the total
/// agree when nothing is capped.
async fn refs_in(store: &Store, q: &Query, options: &SearchOptions) -> Vec<String> {
    let result = search(store, q, options).await;
    assert_eq!(result.total, result.candidates.len() as u64, "{q:?}");
    let mut refs: Vec<String> = result
        .candidates
        .into_iter()
        .map(|i| i.data.source_ref)
        .collect();
    refs.sort();
    refs
}

async fn refs(store: &Store, q: &Query) -> Vec<String> {
    refs_in(store, q, &everything()).await
}

async fn upsert(store: &Store, batch: &[PreparedInsight], now: i64) -> Vec<UpsertOutcome> {
    store
        .upsert(batch, at(now))
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
        vec![AppliedMigration {
            version: 1,
            description: "insights".into()
        }]
    );
    assert_eq!(db.store.migrate().await.expect("second migration"), vec![]);
    assert_eq!(db.store.backend(), db.backend);
    // Opening an up-to-date database (as every replica does on start) changes nothing either.
    let again = Store::open(&db.url, &options()).await.expect("reopen");
    assert_eq!(again.migrate().await.expect("third migration"), vec![]);
    assert_eq!(again.count(&Scope::Everything).await.unwrap(), 0);
    again.close().await;
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
    assert_eq!(stored.data.title, "Title of x1");

    // A new fingerprint rewrites every field, the themes, the terms and the visibility.
    let mut changed = x1.clone();
    changed.fingerprint = "x1-v2".into();
    changed.data.title = "New title".into();
    changed.data.body = "New body".into();
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
    changed.terms = "delta epsilon".into();
    assert_eq!(
        upsert(&store, &[changed.clone()], T3).await,
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
    assert_eq!(stored.data.title, "Title of dup");
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
    let in_scope = |scope: Scope| SearchOptions::new(scope, today());

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

async fn candidates_are_capped_with_exact_totals(db: TestDb) {
    let store = db.open().await;
    // 30 insights sharing a word over 10 days, three per day, so ties on the day are common.
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
    expected.sort_by(|a, b| b.cmp(a));

    let mut options = everything();
    options.candidates = 5;
    let result = search(&store, &just(term("common")), &options).await;
    assert_eq!(result.total, 30);
    let got: Vec<(NaiveDate, i64)> = result
        .candidates
        .iter()
        .map(|i| (i.data.observed_on, i.id))
        .collect();
    assert_eq!(got, expected[..5].to_vec());
    assert_eq!(result.by_day.len(), 10);
    assert!(result.by_day.iter().all(|(_, n)| *n == 3));

    // Every candidate when the cap is large, in the same order.
    options.candidates = 1000;
    let result = search(&store, &just(term("common")), &options).await;
    let got: Vec<(NaiveDate, i64)> = result
        .candidates
        .iter()
        .map(|i| (i.data.observed_on, i.id))
        .collect();
    assert_eq!(got, expected);

    // No candidates at all still counts.
    options.candidates = 0;
    let result = search(&store, &just(term("common")), &options).await;
    assert!(result.candidates.is_empty());
    assert_eq!(result.total, 30);
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
    // Most recently observed first; a7 and a1 share a day, the higher id first.
    let order: Vec<i64> = result.candidates.iter().map(|i| i.id).collect();
    assert_eq!(
        order,
        vec![
            ids[6].id(),
            ids[0].id(),
            ids[1].id(),
            ids[3].id(),
            ids[5].id()
        ]
    );

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
    // The domain only produces alphanumeric stems, but the store must survive anything.
    hostile.terms =
        "robert drop table insights naïve café 日本語 \"quoted\" it's a\\b NEAR(x y) * \
                     - OR AND NOT : ^ ' ''"
            .into();
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
// A benchmark to run by hand (see the top of the file).

mod bench {
    use super::*;
    use std::time::Instant;

    const INSIGHTS: usize = 50_000;
    const BATCH: usize = 1_000;

    /// A deterministic pseudo-random sequence, so every run measures the same data.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    fn synthetic(n: usize, rng: &mut Lcg) -> PreparedInsight {
        const WORDS: [&str; 24] = [
            "credit",
            "report",
            "refund",
            "fee",
            "late",
            "account",
            "card",
            "charge",
            "dispute",
            "identity",
            "theft",
            "loan",
            "mortgage",
            "payment",
            "score",
            "error",
            "fraud",
            "collection",
            "debt",
            "bank",
            "transfer",
            "onboard",
            "support",
            "cancel",
        ];
        const THEMES: [&str; 12] = [
            "Billing",
            "Credit reporting",
            "Refunds",
            "Onboarding",
            "Fraud",
            "Mortgages",
            "Debt collection",
            "Payments",
            "Cards",
            "Identity theft",
            "Support",
            "Cancellation",
        ];
        const SEGMENTS: [&str; 5] = [
            "Enterprise",
            "SMB",
            "Older American",
            "Servicemember",
            "Student",
        ];
        let mut terms = String::from("the customer said the");
        for _ in 0..(8 + rng.below(30)) {
            terms.push(' ');
            terms.push_str(WORDS[rng.below(WORDS.len())]);
        }
        let start = day("2024-04-01");
        let observed = start + chrono::Days::new(rng.below(730) as u64);
        let mut p = insight(&format!("bench-{n:06}"), "2024-04-01", &terms);
        p.data.observed_on = observed;
        p.data.body = terms.clone();
        p.data.segment = Some(SEGMENTS[rng.below(SEGMENTS.len())].into());
        p.data.account = Some(format!("Account {}", rng.below(500)));
        p.themes = (0..1 + rng.below(3))
            .map(|_| THEMES[rng.below(THEMES.len())].to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        p
    }

    async fn run(db: TestDb) {
        let store = db.open().await;
        let mut rng = Lcg(42);
        let started = Instant::now();
        let all: Vec<PreparedInsight> = (0..INSIGHTS).map(|n| synthetic(n, &mut rng)).collect();
        for chunk in all.chunks(BATCH) {
            upsert(&store, chunk, T1).await;
        }
        let insert = started.elapsed();
        let queries = [
            ("very common term 'the'", just(term("the"))),
            ("common term 'credit'", just(term("credit"))),
            (
                "phrase 'identity theft'",
                just(phrase(&["identity", "theft"])),
            ),
            (
                "'credit' in segment enterprise since 90d",
                query(vec![
                    vec![yes(term("credit"))],
                    vec![yes(filter(Filter::Segment("enterprise".into())))],
                    vec![yes(filter(Filter::Since(DateBound::DaysAgo(90))))],
                ]),
            ),
        ];
        let mut report = format!(
            "\n{:?}: inserted {INSIGHTS} insights in {:.1?} ({:.0} per second)\n",
            db.backend,
            insert,
            INSIGHTS as f64 / insert.as_secs_f64()
        );
        let options = SearchOptions::new(Scope::Everything, day("2026-03-31"));
        for (label, q) in &queries {
            let mut times = Vec::new();
            let mut total = 0;
            for _ in 0..5 {
                let started = Instant::now();
                let result = search(&store, q, &options).await;
                times.push(started.elapsed());
                total = result.total;
                assert!(result.candidates.len() <= options.candidates);
            }
            times.sort();
            report.push_str(&format!(
                "  {label}: {total} matches, 1000 candidates + breakdowns, median {:.1?} (min {:.1?}, max {:.1?})\n",
                times[2], times[0], times[4]
            ));
        }
        let _ = std::io::stderr().write_all(report.as_bytes());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: run by hand with --ignored --nocapture"]
    async fn common_term_search_sqlite() {
        run(fresh_sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: run by hand with --ignored --nocapture"]
    async fn common_term_search_postgres() {
        if let Some(db) = fresh_postgres().await {
            run(db).await;
        }
    }
}
