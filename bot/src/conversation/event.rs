//! What a person does on a chat platform, as the conversation layer sees it: every transport
//! turns its platform's payloads into one of these [`Event`]s, with the user and channel
//! addresses already built (`platform:id`), so nothing past this point depends on a
//! platform.

use flywheel_insights::address::{ChannelAddress, UserAddress};

/// Something a person did that Flywheel handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Typed a command.
    Command(CommandTyped),
    /// Pressed a button on one of Flywheel's messages.
    Button(ButtonPressed),
    /// Asked for a chat message to be kept as an insight.
    Save(SaveMessage),
    /// Replied in a thread.
    ThreadReply(ThreadReply),
}

/// A command typed, such as `/insights ask refunds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTyped {
    /// Who.
    pub user: UserAddress,
    /// Where.
    pub channel: ChannelAddress,
    /// The whole command, from its slash on.
    pub text: String,
    /// The roles the person holds there, as addresses a team's managers may name
    /// (`discord:role:ID`); none on platforms without roles.
    pub roles: Vec<UserAddress>,
}

/// A button pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonPressed {
    /// Who.
    pub user: UserAddress,
    /// Where.
    pub channel: ChannelAddress,
    /// The button's id as Flywheel rendered it
    /// ([`Action::encode`](flywheel_insights::message::Action::encode)); an id Flywheel no
    /// longer knows is answered, not failed.
    pub button: String,
    /// The platform's id of the message that carries the button, where it gives one: a
    /// discussion opens in its thread.
    pub message: Option<String>,
    /// The roles the person holds there, as for [`CommandTyped::roles`].
    pub roles: Vec<UserAddress>,
}

/// A chat message to keep as an insight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveMessage {
    /// Who asked.
    pub user: UserAddress,
    /// Where the message is.
    pub channel: ChannelAddress,
    /// The platform's id of the message: saving it again updates the insight.
    pub message: String,
    /// What the message says.
    pub text: String,
}

/// A reply in a thread, which becomes a comment when the thread discusses an insight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadReply {
    /// Who wrote it.
    pub user: UserAddress,
    /// Where.
    pub channel: ChannelAddress,
    /// The platform's id of the thread's first message.
    pub thread: String,
    /// The platform's id of the reply itself.
    pub message: String,
    /// What it says.
    pub text: String,
}
