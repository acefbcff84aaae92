//! The one dispatch: every [`Event`], from every transport, to the code that handles it.

use super::event::Event;
use super::reply::Reply;
use super::{Inbound, buttons, commands, comments, save};

impl Inbound {
    /// Handles one event: the answer to show for it, if it has one. A command's failure is
    /// answered (a refusal, or an apology quoting a logged error id), so the only error is a
    /// thread reply that could not be stored: the event was not handled and may be handed
    /// again.
    pub async fn dispatch(&self, event: Event) -> anyhow::Result<Option<Reply>> {
        Ok(match event {
            Event::Command(typed) => Some(commands::handle(self, &typed).await),
            Event::Button(pressed) => Some(buttons::press(self, &pressed).await),
            Event::Save(save) => Some(save::save_message(self, &save).await),
            Event::ThreadReply(reply) => {
                if comments::thread_reply(&self.app, &reply).await? {
                    comments::acknowledge(&self.adapters, &reply).await;
                }
                None
            }
        })
    }
}
