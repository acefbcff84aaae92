//! What the bot answers, and how a failure becomes an answer: a mistake the person can fix is
//! shown as it is, with the right usage; anything else is logged with an id and answered with
//! an apology quoting that id, never an internal error text.

use flywheel_insights::message::Message;

/// Who sees a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Only the person who asked (an ephemeral message, where the platform has them).
    Asker,
    /// Everyone in the channel.
    Channel,
}

/// What the bot answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The answer.
    pub message: Message,
    /// Who sees it.
    pub audience: Audience,
}

impl Reply {
    /// An answer only the person who asked sees.
    pub fn private(message: Message) -> Reply {
        Reply {
            message,
            audience: Audience::Asker,
        }
    }

    /// An answer everyone in the channel sees.
    pub fn public(message: Message) -> Reply {
        Reply {
            message,
            audience: Audience::Channel,
        }
    }
}

/// A mistake the person can fix, or a refusal: shown to them as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError(pub String);

/// Why a command was not applied.
#[derive(Debug)]
pub enum HandlerError {
    /// Shown to the person.
    User(UserError),
    /// Logged; the person gets an apology with an id.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for HandlerError {
    fn from(e: anyhow::Error) -> HandlerError {
        HandlerError::Internal(e)
    }
}

impl From<flywheel_storage::StoreError> for HandlerError {
    fn from(e: flywheel_storage::StoreError) -> HandlerError {
        HandlerError::Internal(e.into())
    }
}

/// Refuses with `message`, shown to the person.
pub(super) fn refuse<T>(message: impl Into<String>) -> Result<T, HandlerError> {
    Err(HandlerError::User(UserError(message.into())))
}

/// Turns a handler's result into what the person sees.
pub fn finish(result: Result<Reply, HandlerError>) -> Reply {
    match result {
        Ok(reply) => reply,
        Err(HandlerError::User(UserError(message))) => Reply::private(Message::text(message)),
        Err(HandlerError::Internal(e)) => {
            let id = format!("{:08x}", fastrand::u32(..));
            tracing::error!(error_id = id, "command failed: {e:#}");
            Reply::private(Message::text(format!(
                "Sorry, something went wrong on our side (error {id}). It has been logged; \
                 please try again in a moment."
            )))
        }
    }
}
