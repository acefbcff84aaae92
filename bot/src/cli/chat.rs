//! `flywheel chat`: the chat commands on the terminal, one per line from standard input.

use clap::Args;
use flywheel_insights::address::ChannelAddress;

use super::Failure;
use crate::app::App;
use crate::conversation::Inbound;
use crate::transports::console::chat;

pub(super) const EXAMPLES: &str = "\
Examples:
  flywheel chat
  printf '/insights ask refunds\\n/insights flag 12 pricing page\\n' | flywheel chat
  flywheel chat --user alice --channel console:growth

Every command works here as in Slack and Discord: /insights help lists them. Lines starting
with # and blank lines are ignored; the conversation ends at end of input (Ctrl-D).";

/// Arguments of `flywheel chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Who is talking: a console name (ana, meaning console:ana) or platform:id (default:
    /// console:$USER). Managers are configured per team as platform:id.
    #[arg(long, value_name = "NAME|PLATFORM:ID")]
    pub user: Option<String>,
    /// The channel the conversation happens in; it decides the team (default: the first
    /// console channel of a team).
    #[arg(long, value_name = "console:NAME")]
    pub channel: Option<String>,
}

/// Runs `flywheel chat` until end of input.
pub async fn run(app: &App, args: &ChatArgs) -> Result<(), Failure> {
    let user = match &args.user {
        Some(user) => {
            chat::user_address(user).map_err(|e| Failure::Usage(format!("--user {user:?}: {e}")))?
        }
        None => chat::default_user().map_err(|e| Failure::Usage(format!("$USER: {e}")))?,
    };
    let channel: ChannelAddress = match &args.channel {
        Some(channel) => channel
            .parse()
            .map_err(|e| Failure::Usage(format!("--channel {channel:?}: {e}")))?,
        None => chat::default_channel(&app.config),
    };
    let inbound = Inbound::new(app.clone(), crate::transports::adapters(&app.config));
    let stdin = std::io::stdin();
    chat::converse(&inbound, &user, &channel, stdin.lock(), std::io::stdout()).await?;
    Ok(())
}
