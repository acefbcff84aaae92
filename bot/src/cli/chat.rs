//! `flywheel chat`: the chat commands on the terminal, one per line from standard input.

use clap::Args;
use flywheel_insights::address::{ChannelAddress, UserAddress};

use super::Failure;
use crate::app::App;

pub(super) const EXAMPLES: &str = "\
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

/// Runs `flywheel chat` until end of input.
pub async fn run(app: &App, args: &ChatArgs) -> Result<(), Failure> {
    let user: UserAddress = match &args.user {
        Some(user) => user
            .parse()
            .map_err(|e| Failure::Usage(format!("--user {user:?}: {e}")))?,
        None => {
            let name: String = std::env::var("USER")
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .collect();
            let name = if name.is_empty() {
                "operator".into()
            } else {
                name
            };
            format!("console:{name}")
                .parse()
                .map_err(|e| Failure::Usage(format!("$USER: {e}")))?
        }
    };
    let channel: Option<ChannelAddress> = args
        .channel
        .as_ref()
        .map(|channel| {
            channel
                .parse()
                .map_err(|e| Failure::Usage(format!("--channel {channel:?}: {e}")))
        })
        .transpose()?;
    crate::chat::console::converse(app, user, channel).await?;
    Ok(())
}
