//! The command line: argument definitions, and the dispatch from a command to the code that
//! does it. Each command's work lives in its own module; this file only wires.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{App, Failure};

const EXAMPLES: &str = "\
Examples:
  flywheel demo
  flywheel import complaints.csv
  flywheel ask \"what are customers saying about refunds?\"
  flywheel ask 'theme:billing severity:>=4 since:30d' --json
  flywheel --config flywheel.toml config check
  flywheel digest preview --team growth
  flywheel audit export --since 2026-01-01 --format csv > audit.csv
  flywheel serve";

/// Flywheel: customer insight in the chat where teams decide.
#[derive(Debug, Parser)]
#[command(name = "flywheel", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The configuration file. Without one, Flywheel runs on defaults: an SQLite store in the
    /// local data directory and console output.
    #[arg(long, global = true, env = "FLYWHEEL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show Flywheel at work on real customer complaints, with nothing to set up.
    #[command(after_help = "Example:\n  cargo run --release -- demo")]
    Demo,
    /// Import insights from a CSV, JSON or NDJSON file.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Ask the store a question, in keywords or in your own words.
    #[command(after_help = ASK_EXAMPLES)]
    Ask(AskArgs),
    /// Apply the store's migrations (they are also applied on start).
    #[command(
        after_help = "Example:\n  FLYWHEEL_STORE_URL=postgres://flywheel@db/flywheel flywheel migrate"
    )]
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Preview or send a team's digest.
    #[command(subcommand)]
    Digest(DigestCommand),
    /// Talk to the bot through the console: one chat command per line from standard input.
    #[command(after_help = CHAT_EXAMPLES)]
    Chat(ChatArgs),
    /// Run the service: scheduler, delivery workers and the HTTP listener.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Read the audit log of every change: who did what, when and where.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `flywheel audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write the audit log to standard output, oldest first.
    #[command(after_help = AUDIT_EXAMPLES)]
    Export(AuditExportArgs),
}

const AUDIT_EXAMPLES: &str = "\
Examples:
  flywheel audit export > audit.json
  flywheel audit export --since 2026-03-01 --format csv > audit.csv
  flywheel audit export --since 2026-03-01T09:00:00Z | jq '.[] | select(.action == \"decision.logged\")'

Actions: insights.imported, insight.added, insight.updated, insight.flagged, insight.useful,
decision.logged, decision.reviewed, decision.reminded, digest.sent, digest.failed,
permission.refused.";

/// Arguments of `flywheel audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// Only events at or after this date (midnight UTC) or RFC 3339 instant.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// csv (a header row, then one row per event; details as JSON) or json (an array).
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,
}

/// The formats of `flywheel audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values.
    Csv,
    /// A JSON array of events.
    Json,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  flywheel --config flywheel.toml serve
  flywheel serve --listen 0.0.0.0:3000

Stops cleanly on Ctrl-C or SIGTERM. GET /healthz answers while it runs.";

const CHAT_EXAMPLES: &str = "\
Examples:
  flywheel chat
  printf '/insights ask refunds\\n/insights flag 12 pricing page\\n' | flywheel chat
  flywheel chat --user console:alice --channel console:growth

Every command works here as in Slack and Discord: /insights help lists them. Lines starting
with # and blank lines are ignored; the conversation ends at end of input (Ctrl-D).";

/// Arguments of `flywheel chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Who is talking, as platform:id (default: console:$USER). Managers are configured per
    /// team in the same form.
    #[arg(long, value_name = "PLATFORM:ID")]
    pub user: Option<String>,
    /// The channel the conversation happens in; it decides the team (default: the first
    /// console channel of a team).
    #[arg(long, value_name = "console:NAME")]
    pub channel: Option<String>,
}

/// Arguments of `flywheel serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (default: server.listen from the configuration, 127.0.0.1:3000).
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<std::net::SocketAddr>,
}

/// `flywheel digest ...`
#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Show the digest a team would get, sending nothing.
    #[command(
        after_help = "Examples:\n  flywheel digest preview --team growth\n  flywheel digest preview --team growth --at 2026-03-02T09:00:00Z"
    )]
    Preview(DigestArgs),
    /// Compose and deliver this period's digest now (once: a second call reports it was sent).
    #[command(after_help = "Example:\n  flywheel digest send --team growth")]
    Send(DigestArgs),
}

/// Arguments of `flywheel digest preview|send`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The team.
    #[arg(long, value_name = "NAME")]
    pub team: String,
    /// The moment to compose for (RFC 3339, e.g. 2026-03-02T09:00:00Z, or a date): the
    /// digest of the period whose scheduled time is the latest at or before it. Default: now.
    #[arg(long, value_name = "DATETIME")]
    pub at: Option<String>,
}

const IMPORT_EXAMPLES: &str = "\
Examples:
  flywheel import complaints.csv
  flywheel import tickets.ndjson --source zendesk
  flywheel import export.csv --map 'Ticket ID=source_ref' --map 'Customer words=body'
  flywheel import interviews.json --strict

Fields for --map: title, body, source_ref, observed_on, tags, segment, stage, kind, sentiment,
severity, account, url, teams, source. Re-importing a file updates changed rows and reports the
rest as unchanged.";

const ASK_EXAMPLES: &str = "\
Examples:
  flywheel ask \"what are customers saying about identity theft on their credit report?\"
  flywheel ask 'refund OR chargeback -\"credit card\" since:90d'
  flywheel ask 'theme:billing severity:>=4' --limit 10
  flywheel ask 'account:equifax' --json | jq '.results[].id'

Filters: theme: segment: stage: kind: source: account: severity:>=4 since:30d until:2026-01-31
sentiment:neg|neu|pos. Words are matched by stem; \"quoted phrases\" exactly; -word excludes.";

/// Arguments of `flywheel import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// The file's format; by default taken from its extension or content.
    #[arg(long, value_name = "csv|json|ndjson")]
    pub format: Option<String>,
    /// The source name stored with each insight (default: recognised from the file, else
    /// "import").
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Map a column or key to a field: --map 'Ticket ID=source_ref'. Repeatable.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub mappings: Vec<String>,
    /// Refuse the whole file, writing nothing, if any row is bad.
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `flywheel ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question: words, "phrases", OR, -excluded, and filters.
    pub query: String,
    /// How many results to show.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub limit: u16,
    /// Print one JSON object (total, themes, trend, results) for scripts.
    #[arg(long)]
    pub json: bool,
    /// Answer as this team sees it: only insights visible to the team, within its filter.
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,
}

/// `flywheel config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print it as it takes effect, secrets masked.
    #[command(after_help = "Example:\n  flywheel --config flywheel.toml config check")]
    Check,
}

/// Runs the command line and returns the process exit code: 0 on success, 1 on failure, 2 for
/// invalid configuration or usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::app::init_logging(match cli.command {
        Command::Demo => "error",
        Command::Serve(_) => "info,sqlx=warn",
        _ => "warn",
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Demo => crate::demo::run().await,
        Command::Config(ConfigCommand::Check) => {
            let config = crate::app::load_config(cli.config.as_deref())?;
            print!("{}", config.render_effective());
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Migrate => {
            let config = crate::app::load_config(cli.config.as_deref())?;
            let applied = crate::app::migrate(&config).await?;
            if applied.is_empty() {
                println!("store is up to date");
            } else {
                for m in applied {
                    println!("applied {m}");
                }
            }
            Ok(())
        }
        Command::Import(args) => {
            let app = App::start(cli.config.as_deref()).await?;
            crate::import::run(&app, &args).await
        }
        Command::Ask(args) => {
            let app = App::start(cli.config.as_deref()).await?;
            crate::ask::run(&app, &args).await
        }
        Command::Digest(DigestCommand::Preview(args)) => {
            let app = App::start(cli.config.as_deref()).await?;
            crate::digests::run_preview(&app, &args).await
        }
        Command::Digest(DigestCommand::Send(args)) => {
            let app = App::start(cli.config.as_deref()).await?;
            crate::digests::run_send(&app, &args).await
        }
        Command::Chat(args) => {
            let app = App::start(cli.config.as_deref()).await?;
            crate::chat::console::run(&app, &args).await
        }
        Command::Audit(AuditCommand::Export(args)) => {
            let app = App::start(cli.config.as_deref()).await?;
            crate::audit::run_export(&app, &args).await
        }
        Command::Serve(args) => {
            let app = App::start(cli.config.as_deref()).await?;
            let address = args.listen.unwrap_or(app.config.server.listen);
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
            let adapters = crate::adapters::for_config(&app.config);
            let bound = listener.local_addr().unwrap_or(address);
            eprintln!("flywheel serving on http://{bound} (Ctrl-C to stop)");
            crate::serve::run(app, adapters, listener, crate::serve::signal()).await?;
            Ok(())
        }
    }
}
