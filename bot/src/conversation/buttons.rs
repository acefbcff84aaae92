//! Buttons on Flywheel's messages (digest items, answers): flag, useful, show, discuss, show
//! more. A button Flywheel no longer knows (from a message an older version posted) is answered,
//! not failed.

use flywheel_insights::message::{Action, Message, MoreRef};

use super::Inbound;
use super::commands::{digest, flag, show, useful};
use super::context::Context;
use super::discuss;
use super::event::ButtonPressed;
use super::reply::{Reply, finish};

/// Handles a button press.
pub(super) async fn press(inbound: &Inbound, pressed: &ButtonPressed) -> Reply {
    let Some(action) = Action::decode(&pressed.button) else {
        tracing::warn!(button = pressed.button, "an unknown button was pressed");
        return Reply::private(Message::text(
            "That button is no longer supported; try `/insights help`.",
        ));
    };
    let context =
        Context::new(&inbound.app, &pressed.user, &pressed.channel).holding(&pressed.roles);
    if let (Action::Discuss(id), Some(message)) = (&action, &pressed.message) {
        // Only an insight the person may see is discussed in the channel.
        return match show(&context, *id).await {
            Ok(details) => discuss::open(inbound, &pressed.channel, message, *id, details).await,
            Err(refusal) => finish(Err(refusal)),
        };
    }
    handle_action(&context, &action).await
}

/// Handles a button press on a digest item or an answer.
async fn handle_action(context: &Context<'_>, action: &Action) -> Reply {
    let result = match action {
        Action::Flag(id) => flag(context, *id, None).await,
        Action::Useful(id) => useful(context, *id).await,
        Action::Discuss(id) => show(context, *id).await,
        Action::ShowMore {
            what: MoreRef::Insight(id),
        } => show(context, *id).await,
        Action::ShowMore {
            what: MoreRef::Digest(_),
        } => digest(context, true).await,
    };
    finish(result)
}
