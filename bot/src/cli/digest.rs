//! `flywheel digest preview|send`: a team's digest on the terminal, or sent now.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use flywheel_config::Team;
use flywheel_storage::deliveries::DeliveryStatus;

use super::Failure;
use crate::app::App;
use crate::services::digests::{self, Created, DigestError};
use crate::transports::console::render;

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

impl From<DigestError> for Failure {
    fn from(e: DigestError) -> Failure {
        match e {
            DigestError::Store(e) => Failure::Other(e),
            e => Failure::Usage(e.to_string()),
        }
    }
}

/// Reads `--at`: an RFC 3339 instant, or a date meaning the end of that day in the team's
/// timezone.
fn parse_at(team: &Team, at: &str) -> Result<DateTime<Utc>, Failure> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(at.trim()) {
        return Ok(instant.with_timezone(&Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(at.trim(), "%Y-%m-%d").map_err(|_| {
        Failure::Usage(format!(
            "--at {at:?} is neither a date (2026-03-02) nor an instant (2026-03-02T09:00:00Z)"
        ))
    })?;
    let end = day
        .succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .and_then(|midnight| midnight.and_local_timezone(team.timezone).earliest())
        .ok_or_else(|| Failure::Usage(format!("--at {at:?} is out of range")))?;
    Ok(end.with_timezone(&Utc) - chrono::Duration::seconds(1))
}

/// Runs `flywheel digest preview`.
pub async fn run_preview(app: &App, args: &DigestArgs) -> Result<(), Failure> {
    let team = app.team(&args.team).map_err(Failure::usage)?;
    let at = match &args.at {
        Some(at) => parse_at(team, at)?,
        None => app.clock.now(),
    };
    let (period, composed) = digests::preview(app, team, at).await?;
    print!("{}", render(&composed.message));
    eprintln!(
        "preview of {}'s digest for {} (scheduled {}); nothing was sent",
        team.name,
        period.label(),
        period
            .end
            .with_timezone(&team.timezone)
            .format("%Y-%m-%d %H:%M %Z")
    );
    Ok(())
}

/// Runs `flywheel digest send`.
pub async fn run_send(app: &App, args: &DigestArgs) -> Result<(), Failure> {
    let team = app.team(&args.team).map_err(Failure::usage)?;
    if args.at.is_some() {
        return Err(Failure::Usage(
            "--at is for previews: `digest send` sends the current period's digest".into(),
        ));
    }
    let adapters = crate::transports::adapters(&app.config);
    let worker = format!("cli-{}", std::process::id());
    let sent = digests::send_now(app, team, adapters, &worker).await?;
    match sent.created {
        Created::Queued { deliveries, .. } => println!(
            "composed {}'s digest for {} and queued it to {deliveries} channel(s)",
            team.name,
            sent.period.label()
        ),
        Created::AlreadyExists { digest_id } => println!(
            "{}'s digest for {} already exists (digest {digest_id})",
            team.name,
            sent.period.label()
        ),
    }
    let mut failed = 0;
    let mut waiting = 0;
    for delivery in &sent.deliveries {
        let detail = match &delivery.last_error {
            Some(error) if delivery.status != DeliveryStatus::Sent => format!(": {error}"),
            _ => String::new(),
        };
        match delivery.status {
            DeliveryStatus::Failed => failed += 1,
            DeliveryStatus::Sent => {}
            _ => waiting += 1,
        }
        println!(
            "  {:<32} {}{detail}",
            delivery.channel,
            delivery.status.name()
        );
    }
    if failed > 0 || waiting > 0 {
        let mut why = Vec::new();
        if failed > 0 {
            why.push(format!("{failed} delivery(ies) failed"));
        }
        if waiting > 0 {
            why.push(format!(
                "{waiting} could not be sent yet and will be retried by `flywheel serve` (or \
                 the next `digest send`)"
            ));
        }
        return Err(Failure::Other(anyhow::anyhow!("{}", why.join("; "))));
    }
    Ok(())
}
