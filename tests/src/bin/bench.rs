//! `cargo run --release -p flywheel-tests --bin bench`: import and ask timings at 10k, 100k
//! and 1M insights, and the relevance evaluation, printed as markdown. See BENCHMARKS.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use flywheel_tests::bench::process::{Flywheel, RUN_AS_FLYWHEEL};
use flywheel_tests::bench::{self, Options, parse_size};

/// Benchmarks Flywheel's import and search, and evaluates search relevance.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// Insights per run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10k,100k,1M", value_parser = parse_size)]
    sizes: Vec<usize>,
    /// A short run: 10k only, 30 timed runs per question, 3 `flywheel ask` processes.
    #[arg(long)]
    quick: bool,
    /// Run only one part.
    #[arg(long, value_enum)]
    only: Option<Part>,
    /// Timed runs of each question inside the service, after warm-up.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Runs of `flywheel ask` as a process per question.
    #[arg(long, default_value_t = 10)]
    process_runs: usize,
    /// Also import into this PostgreSQL server (a database is created and dropped per size).
    #[arg(long, env = "FLYWHEEL_TEST_POSTGRES_URL", value_name = "URL")]
    postgres: Option<String>,
    /// Run this `flywheel` binary for imports and process asks (default: this binary, which
    /// contains the same command-line code).
    #[arg(long, value_name = "PATH")]
    flywheel: Option<PathBuf>,
    /// Keep working files here instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Import and ask timings.
    Scale,
    /// The relevance evaluation.
    Relevance,
}

fn main() -> ExitCode {
    if std::env::var_os(RUN_AS_FLYWHEEL).is_some() {
        return flywheel::cli::main();
    }
    let args = Args::parse();
    let quick = args.quick;
    let options = Options {
        sizes: if quick { vec![10_000] } else { args.sizes },
        runs: if quick { 30 } else { args.runs.max(1) },
        process_runs: if quick { 3 } else { args.process_runs.max(1) },
        postgres: args.postgres.filter(|u| !u.is_empty()),
        scale: args.only != Some(Part::Relevance),
        relevance: args.only != Some(Part::Scale),
        flywheel: args.flywheel.map_or(Flywheel::ThisBinary, Flywheel::Binary),
        work_dir: args.work_dir,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench::run(&options)) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
