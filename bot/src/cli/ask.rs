//! `flywheel ask`: a question from the command line, answered as text or JSON.

use anyhow::Context as _;
use clap::Args;

use super::Failure;
use crate::app::App;
use crate::services::ask::{AskError, ask_as};
use crate::services::charts;
use crate::transports::console::render;

pub(super) const EXAMPLES: &str = "\
Examples:
  flywheel ask \"what are customers saying about identity theft on their credit report?\"
  flywheel ask 'refund OR chargeback -\"credit card\" since:90d'
  flywheel ask 'theme:billing severity:>=4' --limit 10
  flywheel ask 'account:equifax' --json | jq '.results[].id'
  flywheel ask 'theme:refunds' --chart refunds.png

Filters: theme: segment: stage: kind: source: account: severity:>=4 since:30d until:2026-01-31
sentiment:neg|neu|pos. Words are matched by stem; \"quoted phrases\" exactly; -word excludes.";

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
    /// Also draw the weekly trend of the matches as a PNG chart into this file.
    #[arg(long, value_name = "FILE.png")]
    pub chart: Option<std::path::PathBuf>,
}

/// Runs `flywheel ask`.
pub async fn run(app: &App, args: &AskArgs) -> Result<(), Failure> {
    let asked = match ask_as(app, &args.query, args.team.as_deref(), args.limit.into()).await {
        Ok(asked) => asked,
        Err(AskError::Store(e)) => return Err(Failure::Other(e)),
        Err(e) => return Err(Failure::Usage(e.to_string())),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&asked).context("cannot encode the answer")?;
        println!("{json}");
    } else {
        let message = flywheel_insights::present::answer(&asked.answer, &asked.notes);
        print!("{}", render(&message));
    }
    if let Some(path) = &args.chart {
        let chart = charts::draw(&charts::answer_chart(&asked.answer))
            .await
            .context("cannot draw the chart")?;
        std::fs::write(path, chart.png)
            .with_context(|| format!("cannot write the chart to {}", path.display()))?;
        eprintln!("chart written to {}", path.display());
    }
    Ok(())
}
