//! The command line: argument definitions, parsing, printing and exit codes. Each command's
//! arguments and output live in its own module here; the work is done by the services, called
//! with plain domain arguments.

pub mod ask;
pub mod audit;
pub mod chat;
pub mod digest;
pub mod doctor;
pub mod import;
pub mod index;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{App, StartError};
use ask::AskArgs;
use audit::AuditCommand;
use chat::ChatArgs;
use digest::DigestCommand;
use import::ImportArgs;

const EXAMPLES: &str = "\
Examples:
  flywheel demo
  flywheel import complaints.csv
  flywheel ask \"what are customers saying about refunds?\"
  flywheel ask 'theme:billing severity:>=4 since:30d' --json
  flywheel --config flywheel.toml config check
  flywheel digest preview --team growth
  flywheel audit export --since 2026-01-01 --format csv > audit.csv
  flywheel reindex
  flywheel serve";

/// Flywheel: customer insight in the chat where teams decide.
#[derive(Debug, Parser)]
#[command(name = "flywheel", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The configuration file. Without one, Flywheel runs on defaults: an SQLite store in the
    /// local data directory and console output.
    #[arg(long, global = true, env = "FLYWHEEL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// How log lines are written to standard error: text for people, or one JSON object per
    /// line for log collectors (with the request id of each line logged while a request is
    /// handled).
    #[arg(
        long,
        global = true,
        env = "FLYWHEEL_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show Flywheel at work on real customer complaints, with nothing to set up.
    #[command(after_help = "Example:\n  cargo run --release -- demo")]
    Demo,
    /// Import insights from a CSV, JSON or NDJSON file.
    #[command(after_help = import::EXAMPLES)]
    Import(ImportArgs),
    /// Ask the store a question, in keywords or in your own words.
    #[command(after_help = ask::EXAMPLES)]
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
    #[command(after_help = chat::EXAMPLES)]
    Chat(ChatArgs),
    /// Run the service: scheduler, delivery workers and the HTTP listener.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Read the audit log of every change: who did what, when and where.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Rebuild the search index from the store.
    #[command(after_help = index::EXAMPLES)]
    Reindex,
    /// Check a deployment: configuration, store, each platform's credentials.
    #[command(after_help = doctor::EXAMPLES)]
    Doctor,
    /// Ask a running service whether it is alive (for container health checks).
    #[command(after_help = doctor::HEALTH_EXAMPLES)]
    Health(HealthArgs),
}

/// Arguments of `flywheel health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The health check to call.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:3000/healthz"
    )]
    pub url: String,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  flywheel --config flywheel.toml serve
  flywheel serve --listen 0.0.0.0:3000

Stops on Ctrl-C or SIGTERM, after the work in hand (at most [server] drain). GET /healthz says
whether it is alive, GET /readyz whether the store and the chat connections are up.";

/// Arguments of `flywheel serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (default: server.listen from the configuration, 127.0.0.1:3000).
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<std::net::SocketAddr>,
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
    init_logging(
        match cli.command {
            Command::Demo => "error",
            Command::Serve(_) => "info,sqlx=warn",
            _ => "warn",
        },
        cli.log_format,
    );
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
    let log_format = cli.log_format;
    match cli.command {
        Command::Demo => crate::demo::run().await,
        Command::Config(ConfigCommand::Check) => {
            let config = crate::app::load_config(cli.config.as_deref()).map_err(Failure::Config)?;
            print!("{}", config.render_effective());
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Migrate => {
            let config = crate::app::load_config(cli.config.as_deref()).map_err(Failure::Config)?;
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
            import::run(&app, &args).await
        }
        Command::Ask(args) => {
            let app = App::start(cli.config.as_deref()).await?;
            index::bring_up_to_date(&app).await?;
            ask::run(&app, &args).await
        }
        Command::Digest(DigestCommand::Preview(args)) => {
            let app = App::start(cli.config.as_deref()).await?;
            index::bring_up_to_date(&app).await?;
            digest::run_preview(&app, &args).await
        }
        Command::Digest(DigestCommand::Send(args)) => {
            let app = App::start(cli.config.as_deref()).await?;
            index::bring_up_to_date(&app).await?;
            digest::run_send(&app, &args).await
        }
        Command::Chat(args) => {
            let app = App::start(cli.config.as_deref()).await?;
            index::bring_up_to_date(&app).await?;
            chat::run(&app, &args).await
        }
        Command::Doctor => {
            let config = crate::app::load_config(cli.config.as_deref()).map_err(Failure::Config)?;
            doctor::run(config).await
        }
        Command::Health(args) => doctor::health(&args.url).await,
        Command::Reindex => {
            let app = App::start(cli.config.as_deref()).await?;
            index::run_reindex(&app).await
        }
        Command::Audit(AuditCommand::Export(args)) => {
            let app = App::start(cli.config.as_deref()).await?;
            audit::run_export(&app, &args).await
        }
        Command::Serve(args) => {
            let app = App::start(cli.config.as_deref()).await?;
            index::bring_up_to_date(&app).await?;
            let address = args.listen.unwrap_or(app.config.server.listen);
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
            let adapters = crate::transports::adapters(&app.config);
            let bound = listener.local_addr().unwrap_or(address);
            if log_format == LogFormat::Text {
                // Collectors reading JSON lines get the same from the log.
                eprintln!("flywheel serving on http://{bound} (Ctrl-C to stop)");
            }
            crate::serve::run(app, adapters, listener, crate::serve::signal()).await?;
            Ok(())
        }
    }
}

/// Sets up logging to stderr. `FLYWHEEL_LOG` takes `tracing` filter directives
/// (`info`, `flywheel=debug,sqlx=warn`); `default` applies when it is unset. Colours only when
/// stderr is a terminal: a log file or journal gets plain text.
pub fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLYWHEEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Why a command failed, and so which exit code it ends with.
#[derive(Debug)]
pub enum Failure {
    /// The configuration is invalid: every problem is listed. Exit code 2.
    Config(flywheel_config::ConfigError),
    /// The command was used wrongly (a bad query, an unknown team). Exit code 2.
    Usage(String),
    /// Anything else. Exit code 1.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Other(e)
    }
}

impl From<StartError> for Failure {
    fn from(e: StartError) -> Failure {
        match e {
            StartError::Config(errors) => Failure::Config(errors),
            StartError::Store(e) => Failure::Other(e),
        }
    }
}

impl Failure {
    /// A usage mistake, told as `error`'s message.
    pub fn usage(error: impl std::fmt::Display) -> Failure {
        Failure::Usage(error.to_string())
    }

    /// Prints the failure to stderr and returns the exit code.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Config(errors) => {
                eprintln!("error: invalid configuration\n{errors}");
                ExitCode::from(2)
            }
            Failure::Usage(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
            Failure::Other(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}
