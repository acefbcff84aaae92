//! `cargo run --release -p flywheel-tests --bin bench`: how fast Flywheel imports and answers
//! at 10k, 100k and 1M insights, and how relevant its answers are.
//!
//! For each size, [`data`] writes a CFPB export recombined from the bundled sample; `flywheel
//! import` stores it as a child process ([`process`]), into SQLite and, when a PostgreSQL URL
//! is given, PostgreSQL, so its time and peak memory are its own. Then the same questions are
//! asked inside the service (the function every `ask` goes through: parse, search, breakdowns,
//! trend, explanations), beside the raw engine on the same index directory ([`engine`]), and
//! `flywheel ask` is run as a process. Last, the [`relevance`](mod@crate::relevance) evaluation.
//! Everything is printed as markdown.

pub mod data;
pub mod engine;
pub mod process;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{Days, NaiveTime};
use flywheel::app::App;
use flywheel::clock::ManualClock;
use flywheel::services::ask::ask;
use flywheel_config::{Config, Environment};
use flywheel_insights::search::Scope;

use self::process::Flywheel;
use crate::relevance;

/// The best matches an answer shows, as `flywheel ask` does by default.
const ASK_LIMIT: usize = 5;

/// The questions timed at every size: what each shows, and the question.
pub const QUERIES: &[(&str, &str)] = &[
    ("selective word", "foreclosure"),
    ("common word", "credit"),
    (
        "natural question",
        "what are customers saying about identity theft on their credit report?",
    ),
    (
        "filtered",
        "dispute theme:incorrect-information account:equifax since:2025-07-01",
    ),
];

/// Import targets: rows per second on SQLite and PostgreSQL, and peak memory.
pub const TARGET_SQLITE_ROWS_PER_S: f64 = 50_000.0;
/// See [`TARGET_SQLITE_ROWS_PER_S`].
pub const TARGET_POSTGRES_ROWS_PER_S: f64 = 25_000.0;
/// See [`TARGET_SQLITE_ROWS_PER_S`].
pub const TARGET_PEAK_RSS: u64 = 300 * 1024 * 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Insights per run.
    pub sizes: Vec<usize>,
    /// Timed runs of each question inside the service (after warm-up).
    pub runs: usize,
    /// Runs of `flywheel ask` as a process per question.
    pub process_runs: usize,
    /// Also import into PostgreSQL (a server URL; a database is created per size).
    pub postgres: Option<String>,
    /// Scale (import and ask).
    pub scale: bool,
    /// The relevance evaluation.
    pub relevance: bool,
    /// How `flywheel` is started.
    pub flywheel: Flywheel,
    /// Where files go (default: a temporary directory, removed afterwards).
    pub work_dir: Option<PathBuf>,
}

/// `10k`, `100k`, `1M`, `2500`.
pub fn parse_size(text: &str) -> anyhow::Result<usize> {
    let text = text.trim();
    let (digits, factor) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 1_000),
        Some((at, 'm' | 'M')) => (&text[..at], 1_000_000),
        _ => (text, 1),
    };
    let n: usize = digits
        .replace('_', "")
        .parse()
        .with_context(|| format!("{text:?} is not a size such as 10k or 1M"))?;
    if n == 0 {
        bail!("a size must be above zero");
    }
    Ok(n * factor)
}

/// `10k`, `1M`, `2500`.
pub fn size_name(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

/// One import.
#[derive(Debug, Clone)]
struct Import {
    size: usize,
    backend: &'static str,
    csv_bytes: u64,
    elapsed: Duration,
    peak_rss: u64,
    index_bytes: u64,
    store_bytes: Option<u64>,
}

/// One question at one size.
#[derive(Debug, Clone)]
struct Timing {
    size: usize,
    label: &'static str,
    matches: u64,
    ask: Percentiles,
    engine: Percentiles,
    process_p50: Duration,
}

/// p50 and p99 of some runs.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// Median.
    pub p50: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
}

impl Percentiles {
    /// Of `runs` (any order; at least one).
    pub fn of(mut runs: Vec<Duration>) -> Percentiles {
        runs.sort();
        let at = |q: f64| {
            let rank = ((q * runs.len() as f64).ceil() as usize).clamp(1, runs.len());
            runs[rank - 1]
        };
        Percentiles {
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Runs the benchmark and returns the report as markdown; progress goes to standard error.
pub async fn run(options: &Options) -> anyhow::Result<String> {
    let temp;
    let work = match &options.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut out = format!("Machine: {}\n\n", process::machine());
    if options.scale {
        let mut imports = Vec::new();
        let mut timings = Vec::new();
        for &size in &options.sizes {
            let dir = work.join(size_name(size));
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            std::fs::create_dir_all(&dir)?;
            scale(options, size, &dir, &mut imports, &mut timings).await?;
            std::fs::remove_dir_all(&dir).ok();
        }
        out.push_str(&import_table(&imports));
        out.push('\n');
        out.push_str(&ask_table(&timings, options));
        out.push('\n');
    }
    if options.relevance {
        eprintln!("relevance: importing the sample and asking every question");
        let dir = work.join("relevance");
        std::fs::create_dir_all(&dir)?;
        let report = relevance::run(&dir).await?;
        out.push_str("Relevance on the bundled sample (2,067 CFPB complaints):\n\n");
        out.push_str(&report.table());
        let failures = report.failures();
        if !failures.is_empty() {
            out.push_str("\nEvaluation questions below P@5 = 1 (Flywheel's first five):\n\n```\n");
            out.push_str(&failures);
            out.push_str("```\n");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(out)
}

/// Generates, imports and asks at one size.
async fn scale(
    options: &Options,
    size: usize,
    dir: &Path,
    imports: &mut Vec<Import>,
    timings: &mut Vec<Timing>,
) -> anyhow::Result<()> {
    let name = size_name(size);
    let csv = dir.join(format!("complaints-{name}.csv"));
    let started = Instant::now();
    let file = {
        let csv = csv.clone();
        tokio::task::spawn_blocking(move || data::generate(size, &csv)).await??
    };
    eprintln!(
        "{name}: wrote {} ({}) in {:.1} s",
        csv.display(),
        mb(file.bytes),
        started.elapsed().as_secs_f64()
    );
    let env = vec![
        ("FLYWHEEL_DATA_DIR", dir.display().to_string()),
        ("FLYWHEEL_LOG", "error".to_string()),
    ];

    // SQLite.
    let sqlite_dir = dir.join("sqlite");
    std::fs::create_dir_all(&sqlite_dir)?;
    let db = sqlite_dir.join("flywheel.db");
    let sqlite_url = format!("sqlite://{}", db.display());
    let sqlite_config = write_config(&sqlite_dir, &sqlite_url)?;
    let import = import_once(options, &sqlite_config, &csv, &env, &name, "SQLite").await?;
    let index_dir = db.with_extension("index");
    imports.push(Import {
        size,
        backend: "SQLite",
        csv_bytes: file.bytes,
        elapsed: import.elapsed,
        peak_rss: import.peak_rss,
        index_bytes: process::size_of(&index_dir),
        store_bytes: Some(
            ["flywheel.db", "flywheel.db-wal", "flywheel.db-shm"]
                .iter()
                .map(|f| process::size_of(&sqlite_dir.join(f)))
                .sum(),
        ),
    });

    // PostgreSQL.
    if let Some(server) = &options.postgres {
        let database = format!("flywheel_bench_{}", name.to_lowercase());
        let url = postgres::fresh_database(server, &database).await?;
        let pg_dir = dir.join("postgres");
        std::fs::create_dir_all(&pg_dir)?;
        let config = write_config(&pg_dir, &url)?;
        let pg_env = vec![
            ("FLYWHEEL_DATA_DIR", pg_dir.display().to_string()),
            ("FLYWHEEL_LOG", "error".to_string()),
        ];
        let result = import_once(options, &config, &csv, &pg_env, &name, "PostgreSQL").await;
        let index_bytes = process::size_of(&pg_dir.join("index"));
        postgres::drop_database(server, &database).await?;
        let import = result?;
        imports.push(Import {
            size,
            backend: "PostgreSQL",
            csv_bytes: file.bytes,
            elapsed: import.elapsed,
            peak_rss: import.peak_rss,
            index_bytes,
            store_bytes: None,
        });
    }

    // Asking, inside the service and beside the raw engine.
    let config = Config::load(
        Some(&sqlite_config),
        &Environment::empty().with("FLYWHEEL_DATA_DIR", dir.display().to_string()),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let today = data::LAST_DAY
        .checked_add_days(Days::new(1))
        .context("dates")?;
    let clock = ManualClock::new(today.and_time(NaiveTime::MIN).and_utc());
    let app = App::open(config, Arc::new(clock))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let raw = Arc::new(engine::RawIndex::open(&index_dir)?);
    let warm_up = (options.runs / 10).clamp(1, 20);
    let mut measured = Vec::new();
    for &(label, question) in QUERIES {
        let mut matches = 0;
        let mut runs = Vec::with_capacity(options.runs);
        for n in 0..warm_up + options.runs {
            let started = Instant::now();
            let asked = ask(&app, question, Scope::Everything, None, ASK_LIMIT)
                .await
                .map_err(|e| anyhow::anyhow!("{question}: {e}"))?;
            let elapsed = started.elapsed();
            matches = asked.answer.total;
            if n >= warm_up {
                runs.push(elapsed);
            }
        }
        let ask_times = Percentiles::of(runs);
        let query = flywheel_insights::query::parse(question)
            .map_err(|e| anyhow::anyhow!("{question}: {e:?}"))?;
        let raw = raw.clone();
        let total_runs = options.runs;
        let (engine_times, engine_matches) = tokio::task::spawn_blocking(move || {
            let mut runs = Vec::with_capacity(total_runs);
            let mut matches = 0;
            for n in 0..warm_up + total_runs {
                let started = Instant::now();
                matches = raw.search(&query, today, ASK_LIMIT)?;
                if n >= warm_up {
                    runs.push(started.elapsed());
                }
            }
            anyhow::Ok((Percentiles::of(runs), matches))
        })
        .await??;
        if engine_matches as u64 != matches {
            eprintln!(
                "{name}: {question:?}: the raw engine counts {engine_matches}, Flywheel {matches}"
            );
        }
        eprintln!(
            "{name}: {label}: {matches} matches, ask p50 {} p99 {}, engine p50 {} p99 {}",
            ms(ask_times.p50),
            ms(ask_times.p99),
            ms(engine_times.p50),
            ms(engine_times.p99)
        );
        measured.push((label, question, matches, ask_times, engine_times));
    }
    drop(app);

    // `flywheel ask` as a process (the store and index opened each time).
    for (label, question, matches, ask_times, engine_times) in measured {
        let mut runs = Vec::new();
        for n in 0..=options.process_runs {
            let flywheel = options.flywheel.clone();
            let config = sqlite_config.clone();
            let env = env.clone();
            let run = tokio::task::spawn_blocking(move || {
                process::run(&flywheel, &config, &["ask", question], &env)
            })
            .await??;
            if n > 0 {
                runs.push(run.elapsed);
            }
        }
        let process_p50 = Percentiles::of(runs).p50;
        eprintln!("{name}: {label}: flywheel ask p50 {}", ms(process_p50));
        timings.push(Timing {
            size,
            label,
            matches,
            ask: ask_times,
            engine: engine_times,
            process_p50,
        });
    }
    Ok(())
}

struct Imported {
    elapsed: Duration,
    peak_rss: u64,
}

async fn import_once(
    options: &Options,
    config: &Path,
    csv: &Path,
    env: &[(&'static str, String)],
    name: &str,
    backend: &str,
) -> anyhow::Result<Imported> {
    let (flywheel, config, csv, env) = (
        options.flywheel.clone(),
        config.to_path_buf(),
        csv.display().to_string(),
        env.to_vec(),
    );
    let run = tokio::task::spawn_blocking(move || {
        process::run(&flywheel, &config, &["import", &csv], &env)
    })
    .await??;
    let inserted = run
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("inserted"))
        .map(str::trim)
        .unwrap_or("?")
        .to_string();
    eprintln!(
        "{name}: imported into {backend} in {:.1} s ({inserted} inserted), peak RSS {}",
        run.elapsed.as_secs_f64(),
        mb(run.peak_rss)
    );
    Ok(Imported {
        elapsed: run.elapsed,
        peak_rss: run.peak_rss,
    })
}

fn write_config(dir: &Path, url: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join("flywheel.toml");
    std::fs::write(&path, format!("[store]\nurl = {url:?}\n"))?;
    Ok(path)
}

fn import_table(imports: &[Import]) -> String {
    let mut out = String::from(
        "| insights | store | CSV | import | rows/s | peak RSS | index | index ÷ CSV | store size | target |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for i in imports {
        let rate = i.size as f64 / i.elapsed.as_secs_f64();
        let target = if i.backend == "SQLite" {
            TARGET_SQLITE_ROWS_PER_S
        } else {
            TARGET_POSTGRES_ROWS_PER_S
        };
        let verdict = match (rate >= target, i.peak_rss < TARGET_PEAK_RSS) {
            (true, true) => "met".to_string(),
            (false, true) => format!("rows/s below {}k", target / 1000.0),
            (true, false) => "RSS over 300 MB".to_string(),
            (false, false) => format!("rows/s below {}k, RSS over 300 MB", target / 1000.0),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} s | {:.0} | {} | {} | {:.2} | {} | {verdict} |\n",
            size_name(i.size),
            i.backend,
            mb(i.csv_bytes),
            i.elapsed.as_secs_f64(),
            rate,
            mb(i.peak_rss),
            mb(i.index_bytes),
            i.index_bytes as f64 / i.csv_bytes as f64,
            i.store_bytes.map_or("—".to_string(), mb),
        ));
    }
    out
}

fn ask_table(timings: &[Timing], options: &Options) -> String {
    let mut out = format!(
        "Asking: p50/p99 of {} runs inside the service (`ask`: search, breakdowns, trend, \
         explanations) and of the raw engine (Tantivy `BooleanQuery`, `TopDocs(5)` + `Count`, \
         same index); `flywheel ask` as a process: p50 of {} runs.\n\n\
         | insights | question | matches | ask p50 | ask p99 | engine p50 | engine p99 | ask ÷ engine (p50) | `flywheel ask` p50 |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
        options.runs, options.process_runs
    );
    for t in timings {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1}× | {} |\n",
            size_name(t.size),
            t.label,
            t.matches,
            ms(t.ask.p50),
            ms(t.ask.p99),
            ms(t.engine.p50),
            ms(t.engine.p99),
            t.ask.p50.as_secs_f64() / t.engine.p50.as_secs_f64().max(1e-9),
            ms(t.process_p50),
        ));
    }
    out.push_str("\nQuestions: ");
    let listed: Vec<String> = QUERIES
        .iter()
        .map(|(label, q)| format!("{label} `{q}`"))
        .collect();
    out.push_str(&listed.join("; "));
    out.push('\n');
    out
}

mod postgres {
    use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

    /// `url` with its database replaced by `database`.
    pub(super) fn with_database(url: &str, database: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let after_scheme = base.find("://").map_or(0, |at| at + 3);
        let host_end = base[after_scheme..]
            .find('/')
            .map_or(base.len(), |at| after_scheme + at);
        let mut out = format!("{}/{database}", &base[..host_end]);
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        out
    }

    /// Creates `database` afresh on the server `url` names, returning its URL.
    pub(super) async fn fresh_database(url: &str, database: &str) -> anyhow::Result<String> {
        drop_database(url, database).await?;
        let mut conn = PgConnection::connect(url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut conn)
            .await?;
        Ok(with_database(url, database))
    }

    /// Drops `database` if it exists.
    pub(super) async fn drop_database(url: &str, database: &str) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_print() {
        assert_eq!(parse_size("10k").unwrap(), 10_000);
        assert_eq!(parse_size("1M").unwrap(), 1_000_000);
        assert_eq!(parse_size("2500").unwrap(), 2_500);
        assert!(parse_size("0").is_err() && parse_size("ten").is_err() && parse_size("").is_err());
        assert_eq!(size_name(100_000), "100k");
        assert_eq!(size_name(1_000_000), "1M");
        assert_eq!(size_name(2_500), "2500");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let runs: Vec<Duration> = (1..=200).rev().map(Duration::from_millis).collect();
        let p = Percentiles::of(runs);
        assert_eq!(p.p50, Duration::from_millis(100));
        assert_eq!(p.p99, Duration::from_millis(198));
        let one = Percentiles::of(vec![Duration::from_millis(7)]);
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_millis(7), Duration::from_millis(7))
        );
    }

    #[test]
    fn a_postgres_url_with_another_database() {
        assert_eq!(
            postgres::with_database("postgres://postgres@127.0.0.1:5432/test", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            postgres::with_database("postgres://u@h/test?sslmode=disable", "b"),
            "postgres://u@h/b?sslmode=disable"
        );
        assert_eq!(
            postgres::with_database("postgres://u@h", "b"),
            "postgres://u@h/b"
        );
    }
}
