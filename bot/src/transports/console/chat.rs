//! The console as a chat platform (`flywheel chat`): one command per line of input, each
//! handed to the same inbound path as every platform's and answered before the next line is
//! read, so a conversation can be typed or scripted.

use std::io::{BufRead, Write};

use anyhow::Context as _;
use flywheel_config::Config;
use flywheel_insights::address::{AddressError, ChannelAddress, Platform, UserAddress};

use super::render;
use crate::conversation::{
    Acknowledgement, Audience, CommandTyped, Event, Inbound, Reply, Responder,
};

/// Who is talking: a bare name such as `ana` is `console:ana`; a full address (`console:ana`,
/// `slack:U0123`) is taken as written.
pub fn user_address(text: &str) -> Result<UserAddress, AddressError> {
    if text.contains(':') {
        text.parse()
    } else {
        format!("console:{}", text.trim()).parse()
    }
}

/// The person at the terminal: `console:$USER`, with what an address cannot hold left out
/// (`console:operator` when nothing is left).
pub fn default_user() -> Result<UserAddress, AddressError> {
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
    user_address(&name)
}

/// The first console channel of any team, else `console:chat`.
pub fn default_channel(config: &Config) -> ChannelAddress {
    config
        .teams
        .iter()
        .flat_map(|t| t.channels.iter())
        .find(|c| c.platform == Platform::Console)
        .cloned()
        .unwrap_or_else(|| ChannelAddress {
            platform: Platform::Console,
            id: "chat".into(),
        })
}

/// Talks as `user` in `channel`, reading commands from `input` until it ends and writing each
/// answer to `output`. Lines starting with `#` and blank lines are skipped.
pub async fn converse(
    inbound: &Inbound,
    user: &UserAddress,
    channel: &ChannelAddress,
    input: impl BufRead,
    mut output: impl Write,
) -> anyhow::Result<()> {
    // Nothing times out on a terminal: every answer is waited for, so answers stay in order.
    let inbound = inbound.clone().answering_within(None);
    let team = inbound
        .app()
        .config
        .teams_for_channel(channel)
        .first()
        .map(|t| t.name.clone());
    eprintln!(
        "chatting as {user} in {channel}{} — /insights help lists the commands; Ctrl-D ends",
        team.map(|t| format!(" (team {t})")).unwrap_or_default()
    );
    for line in input.lines() {
        let line = line.context("cannot read standard input")?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let event = Event::Command(CommandTyped {
            user: user.clone(),
            channel: channel.clone(),
            text: text.to_string(),
            roles: Vec::new(),
        });
        if let Some(reply) = inbound.respond(event, Terminal).await {
            write!(output, "> {text}\n{}", shown(&reply))
                .and_then(|()| output.flush())
                .context("cannot write the answer")?;
        }
    }
    Ok(())
}

/// An answer as the terminal shows it, saying who would see it on a shared channel.
fn shown(reply: &Reply) -> String {
    let audience = match reply.audience {
        Audience::Asker => "only you can see this",
        Audience::Channel => "posted to the channel",
    };
    format!("{}({audience})\n\n", render(&reply.message))
}

/// The terminal as a [`Responder`]: the answer is handed back to be printed in turn.
struct Terminal;

impl Responder for Terminal {
    type Ack = Option<Reply>;

    fn acknowledge(&self, acknowledgement: Acknowledgement<'_>) -> Option<Reply> {
        match acknowledgement {
            Acknowledgement::Answer(reply) | Acknowledgement::Working(reply) => Some(reply.clone()),
            Acknowledgement::Quiet => None,
        }
    }

    async fn follow_up(&self, reply: &Reply) {
        // Only reached with a deadline, which the console does not set.
        print!("{}", shown(reply));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_a_console_user_and_a_full_address_is_kept() {
        assert_eq!(user_address("ana").unwrap().to_string(), "console:ana");
        assert_eq!(
            user_address("console:ana").unwrap().to_string(),
            "console:ana"
        );
        assert_eq!(
            user_address("slack:U0123ABCD").unwrap().to_string(),
            "slack:U0123ABCD"
        );
        assert!(user_address("ana smith").is_err());
        assert!(user_address("").is_err());
    }
}
