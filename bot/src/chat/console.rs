//! `flywheel chat`: the conversation through the console adapter, one command per line from
//! standard input, so it can be typed or scripted.

use std::io::BufRead as _;

use anyhow::Context as _;
use flywheel_insights::address::{ChannelAddress, Platform, UserAddress};

use super::{Audience, Incoming, handle};
use crate::app::App;
use crate::transports::console::render;

/// Talks as `user` in `channel` (default: the first console channel of a team) until end of
/// input.
pub async fn converse(
    app: &App,
    user: UserAddress,
    channel: Option<ChannelAddress>,
) -> anyhow::Result<()> {
    let channel = channel.unwrap_or_else(|| default_channel(app));
    let team = app
        .config
        .teams_for_channel(&channel)
        .first()
        .map(|t| t.name.clone());
    eprintln!(
        "chatting as {user} in {channel}{} — /insights help lists the commands; Ctrl-D ends",
        team.map(|t| format!(" (team {t})")).unwrap_or_default()
    );
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.context("cannot read standard input")?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let reply = handle(
            app,
            &Incoming {
                user: user.clone(),
                channel: channel.clone(),
                text: text.to_string(),
            },
        )
        .await;
        let audience = match reply.audience {
            Audience::Asker => "only you can see this",
            Audience::Channel => "posted to the channel",
        };
        println!("> {text}\n{}({audience})\n", render(&reply.message));
    }
    Ok(())
}

/// The first console channel of any team, else `console:chat`.
fn default_channel(app: &App) -> ChannelAddress {
    app.config
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
