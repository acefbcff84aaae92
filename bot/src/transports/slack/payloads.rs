//! What Slack sends, as typed serde structs that read only what Flywheel uses: slash commands,
//! interactions (buttons and the message shortcut), Events API callbacks and Socket Mode
//! frames.
//!
//! slack-morphism's own event models (`SlackCommandEvent`, `SlackInteractionEvent`,
//! `SlackPushEvent`) require fields Flywheel has no use for (`team`, `api_app_id`,
//! `trigger_id`, a typed `container`) and parse every block of a message, so a message with a
//! block kind the models do not know would be refused. These structs are strict where Flywheel
//! depends on a field (a missing user or message is a request Slack would never send: refused
//! with what is missing) and lenient where Slack varies (unknown interaction and event types are
//! acknowledged and left alone).

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A request Slack would never send, and what is wrong with it. Answered 400 over HTTP, and
/// acknowledged without an answer over Socket Mode. It never quotes the request's text, which
/// may be a customer's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// Reads `what` (e.g. "the interaction payload") from JSON text.
pub fn from_json<T: DeserializeOwned>(what: &str, json: &[u8]) -> Result<T, BadRequest> {
    serde_json::from_slice(json).map_err(|e| does_not_fit(what, &e))
}

/// Reads `what` from a JSON value already parsed (a Socket Mode envelope's payload, a form).
pub fn from_value<T: DeserializeOwned>(
    what: &str,
    value: serde_json::Value,
) -> Result<T, BadRequest> {
    serde_json::from_value(value).map_err(|e| does_not_fit(what, &e))
}

/// What is wrong, without any of the values the request carried.
fn does_not_fit(what: &str, error: &serde_json::Error) -> BadRequest {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof => BadRequest(format!("{what} is not JSON")),
        Category::Io | Category::Data => BadRequest(format!(
            "{what} does not fit: {}",
            without_values(&error.to_string())
        )),
    }
}

/// serde quotes a string of the wrong type (`invalid type: string "…", expected …`); the
/// string may be customer text, so only its kind is kept.
fn without_values(message: &str) -> String {
    match (message.find("string \""), message.rfind("\", expected")) {
        (Some(start), Some(end)) if end > start => {
            format!("{}a string{}", &message[..start], &message[end + 1..])
        }
        _ => message.to_string(),
    }
}

/// A slash command: the form of `POST /slack/commands`, or the payload of a Socket Mode
/// `slash_commands` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CommandPayload {
    /// Who typed it (`U…`).
    pub user_id: String,
    /// Where (`C…`, `G…`, `D…`).
    pub channel_id: String,
    /// `/insights` or `/decision`.
    #[serde(default = "default_command")]
    pub command: String,
    /// What follows the command.
    #[serde(default)]
    pub text: String,
    /// Where an answer that follows goes.
    #[serde(default)]
    pub response_url: Option<String>,
}

fn default_command() -> String {
    "/insights".to_string()
}

impl CommandPayload {
    /// The command in the fields of a form body, each read once (the first of a repeated
    /// field counts).
    pub fn from_form<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CommandPayload, BadRequest> {
        let mut object = serde_json::Map::new();
        for (name, value) in fields {
            object
                .entry(name)
                .or_insert_with(|| serde_json::Value::String(value.to_string()));
        }
        from_value("the command", serde_json::Value::Object(object))
    }
}

/// An interaction: the `payload` field of `POST /slack/interactions`, or the payload of a
/// Socket Mode `interactive` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InteractionPayload {
    /// A button on a message was pressed.
    BlockActions(BlockActions),
    /// A message shortcut was used.
    MessageAction(MessageAction),
    /// Modals, home tabs and other surfaces Flywheel does not use.
    #[serde(other)]
    Unused,
}

/// Who or where, as Slack nests it: `{"id": "U0123"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Id {
    /// The id.
    pub id: String,
}

/// A button pressed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockActions {
    /// Who pressed it.
    pub user: Id,
    /// The channel of the message, absent for buttons outside messages (modals, home tabs).
    #[serde(default)]
    pub channel: Option<Id>,
    /// The message that carries the button.
    #[serde(default)]
    pub message: Option<MessageRef>,
    /// The buttons pressed; Slack sends one.
    pub actions: Vec<ActionRef>,
    /// Where the answer goes.
    #[serde(default)]
    pub response_url: Option<String>,
}

/// The message a button is on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageRef {
    /// Its id.
    pub ts: String,
    /// The thread it is in, when it is a reply.
    #[serde(default)]
    pub thread_ts: Option<String>,
}

/// One button.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActionRef {
    /// The id Flywheel gave it when rendering.
    pub action_id: String,
}

/// A message shortcut used on a message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageAction {
    /// Which shortcut (`save_as_insight`).
    pub callback_id: String,
    /// Who used it.
    pub user: Id,
    /// Where the message is.
    pub channel: Id,
    /// The message.
    pub message: ShortcutMessage,
    /// Where the answer goes.
    #[serde(default)]
    pub response_url: Option<String>,
}

/// The message a shortcut was used on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShortcutMessage {
    /// Its id.
    pub ts: String,
    /// What it says; nothing for a message that is only files.
    #[serde(default)]
    pub text: Option<String>,
}

/// What `POST /slack/events` (or a Socket Mode `events_api` envelope) carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventsPayload {
    /// Slack checking the endpoint: the challenge is echoed.
    UrlVerification {
        /// What to echo.
        challenge: String,
    },
    /// An event.
    EventCallback(EventCallback),
    /// Rate-limit notices and anything newer.
    #[serde(other)]
    Unused,
}

/// One event, with the id that makes it unique (and so handled once).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventCallback {
    /// Unique per event, the same on every retry (`Ev…`).
    pub event_id: String,
    /// The event.
    pub event: InnerEvent,
}

/// The events Flywheel subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InnerEvent {
    /// A message in a channel. Its fields depend on its subtype (edits, joins, bot posts), so
    /// each is optional and only a person's plain message is used.
    Message(MessageEvent),
    /// Anything else.
    #[serde(other)]
    Unused,
}

/// A `message` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MessageEvent {
    /// Set for edits, deletions, joins and the like.
    #[serde(default)]
    pub subtype: Option<String>,
    /// Set when a bot (Flywheel included) wrote it.
    #[serde(default)]
    pub bot_id: Option<String>,
    /// Who wrote it.
    #[serde(default)]
    pub user: Option<String>,
    /// Where.
    #[serde(default)]
    pub channel: Option<String>,
    /// Its id.
    #[serde(default)]
    pub ts: Option<String>,
    /// The thread it is in.
    #[serde(default)]
    pub thread_ts: Option<String>,
    /// What it says.
    #[serde(default)]
    pub text: Option<String>,
}

/// One text frame of a Socket Mode connection: `hello`, `disconnect`, or an envelope. The
/// payload is read after the rest, by the envelope's type, so that an envelope whose payload
/// does not fit can still be acknowledged (and is not delivered again and again).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SocketFrame {
    /// `hello`, `disconnect`, `slash_commands`, `interactive`, `events_api`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Set on envelopes: what the acknowledgement names.
    #[serde(default)]
    pub envelope_id: Option<String>,
    /// An envelope's payload.
    #[serde(default)]
    pub payload: serde_json::Value,
    /// Whether Slack takes an answer in the acknowledgement (slash commands do).
    #[serde(default)]
    pub accepts_response_payload: Option<bool>,
    /// How many times Slack sent this envelope before.
    #[serde(default)]
    pub retry_attempt: Option<u64>,
    /// Why Slack disconnects (`refresh_requested`, `warning`, `link_disabled`).
    #[serde(default)]
    pub reason: Option<String>,
    /// How many connections the app has, in `hello`.
    #[serde(default)]
    pub num_connections: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_command_form_needs_who_and_where() {
        let command = CommandPayload::from_form([
            ("user_id", "U0ASKER"),
            ("channel_id", "C0TEAM"),
            ("text", "ask refunds"),
            ("text", "a repeated field is read once"),
        ])
        .unwrap();
        assert_eq!(command.command, "/insights");
        assert_eq!(command.text, "ask refunds");
        assert_eq!(command.response_url, None);
        let missing = CommandPayload::from_form([("command", "/insights")]).unwrap_err();
        assert_eq!(
            missing.0,
            "the command does not fit: missing field `user_id`"
        );
        assert!(CommandPayload::from_form([]).is_err());
    }

    #[test]
    fn interactions_are_read_by_type_and_unused_ones_left_alone() {
        let pressed: InteractionPayload = from_value(
            "the interaction payload",
            json!({"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"},
                   "message": {"ts": "1.2", "blocks": [{"type": "a_block_from_the_future"}]},
                   "actions": [{"action_id": "fw.useful.3", "type": "button"}],
                   "team": {"id": "T1"}}),
        )
        .unwrap();
        let InteractionPayload::BlockActions(pressed) = pressed else {
            panic!("{pressed:?}")
        };
        assert_eq!(pressed.actions[0].action_id, "fw.useful.3");
        assert_eq!(pressed.message.unwrap().ts, "1.2");
        let modal: InteractionPayload = from_value(
            "the payload",
            json!({"type": "view_submission", "view": {}}),
        )
        .unwrap();
        assert_eq!(modal, InteractionPayload::Unused);
    }

    #[test]
    fn payloads_that_do_not_fit_say_what_is_wrong_without_quoting_them() {
        let no_message = from_json::<InteractionPayload>(
            "the interaction payload",
            br#"{"type": "message_action", "callback_id": "save_as_insight",
                 "user": {"id": "U1"}, "channel": {"id": "C1"}}"#,
        )
        .unwrap_err();
        assert!(
            no_message.0.contains("missing field `message`"),
            "{no_message}"
        );
        let no_type = from_json::<InteractionPayload>("the payload", b"{}").unwrap_err();
        assert!(no_type.0.contains("missing field `type`"), "{no_type}");
        assert_eq!(
            from_json::<EventsPayload>("the event", b"").unwrap_err().0,
            "the event is not JSON"
        );
        assert_eq!(
            from_json::<EventsPayload>("the event", b"{\"type\": ")
                .unwrap_err()
                .0,
            "the event is not JSON"
        );
        let hostile = from_json::<InteractionPayload>(
            "the interaction payload",
            br#"{"type": "block_actions", "user": {"id": "U1"},
                 "actions": "my card is 4111 1111 1111 1111"}"#,
        )
        .unwrap_err();
        assert!(!hostile.0.contains("4111"), "{hostile}");
        assert!(hostile.0.contains("invalid type: a string"), "{hostile}");
    }

    #[test]
    fn events_keep_only_what_is_used() {
        let event: EventsPayload = from_value(
            "the event",
            json!({"type": "event_callback", "event_id": "Ev1", "event_time": 1,
                   "event": {"type": "message", "subtype": "message_changed",
                             "message": {"text": "edited"}}}),
        )
        .unwrap();
        let EventsPayload::EventCallback(callback) = event else {
            panic!("{event:?}")
        };
        assert_eq!(
            callback.event,
            InnerEvent::Message(MessageEvent {
                subtype: Some("message_changed".into()),
                ..MessageEvent::default()
            })
        );
        let reaction: EventsPayload = from_value(
            "the event",
            json!({"type": "event_callback", "event_id": "Ev2",
                   "event": {"type": "reaction_added", "reaction": "+1"}}),
        )
        .unwrap();
        assert!(matches!(
            reaction,
            EventsPayload::EventCallback(EventCallback {
                event: InnerEvent::Unused,
                ..
            })
        ));
        let limited: EventsPayload = from_value(
            "the event",
            json!({"type": "app_rate_limited", "minute_rate_limited": 1}),
        )
        .unwrap();
        assert_eq!(limited, EventsPayload::Unused);
    }
}
