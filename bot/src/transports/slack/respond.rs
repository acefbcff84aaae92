//! Answers on Slack: the JSON body that answers a command, a button or a shortcut, and the
//! command's or interaction's `response_url`, through which an answer follows (usable five
//! times within thirty minutes, which is all an answer needs).
//!
//! A slash command is acknowledged with its answer when it is ready in time, else with
//! "Working on it…", the answer following. Slack shows the answer to a button or a shortcut
//! only when it is posted to the `response_url`, so there every answer follows; the
//! acknowledgement carries it too when it is ready in time.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::render;
use crate::conversation::{Acknowledgement, Audience, Reply, Responder};

/// How long posting an answer to a `response_url` may take.
const RESPONSE_URL_TIMEOUT: Duration = Duration::from_secs(10);

/// Who sees an answer on Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the person who asked.
    Ephemeral,
    /// The whole channel.
    InChannel,
}

/// The JSON Slack takes as an answer, in a response or on a `response_url`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseBody {
    /// Who sees it.
    pub response_type: ResponseType,
    /// The notification fallback.
    pub text: String,
    /// The Block Kit blocks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Value>,
    /// `false` for an answer to a button: it goes under the message, which stays as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace_original: Option<bool>,
}

impl ResponseBody {
    /// The body of `reply`.
    pub fn of(reply: &Reply) -> ResponseBody {
        let rendered = render::render(&reply.message);
        ResponseBody {
            response_type: match reply.audience {
                Audience::Asker => ResponseType::Ephemeral,
                Audience::Channel => ResponseType::InChannel,
            },
            text: rendered.text,
            blocks: rendered.blocks,
            replace_original: None,
        }
    }
}

/// What Slack answers through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// A slash command.
    Command,
    /// A button or a shortcut.
    Interaction,
}

/// How Slack hears back about one command or interaction.
#[derive(Debug, Clone)]
pub struct SlackResponder {
    response_url: Option<String>,
    surface: Surface,
}

impl SlackResponder {
    /// For a slash command answered, when late, through `response_url`.
    pub fn command(response_url: Option<String>) -> SlackResponder {
        SlackResponder {
            response_url,
            surface: Surface::Command,
        }
    }

    /// For a button or a shortcut, answered through `response_url`.
    pub fn interaction(response_url: Option<String>) -> SlackResponder {
        SlackResponder {
            response_url,
            surface: Surface::Interaction,
        }
    }

    fn body(&self, reply: &Reply) -> ResponseBody {
        let mut body = ResponseBody::of(reply);
        if self.surface == Surface::Interaction {
            body.replace_original = Some(false);
        }
        body
    }
}

impl Responder for SlackResponder {
    /// The response body; `None`: an empty 200.
    type Ack = Option<ResponseBody>;

    fn acknowledge(&self, acknowledgement: Acknowledgement<'_>) -> Option<ResponseBody> {
        match acknowledgement {
            Acknowledgement::Answer(reply) | Acknowledgement::Working(reply) => {
                Some(self.body(reply))
            }
            Acknowledgement::Quiet => None,
        }
    }

    async fn follow_up(&self, reply: &Reply) {
        match &self.response_url {
            Some(url) => post_response(url, &self.body(reply)).await,
            None => tracing::warn!("a Slack answer that follows has no response_url to go to"),
        }
    }

    fn shows_only_follow_ups(&self) -> bool {
        self.surface == Surface::Interaction
    }
}

/// Posts an answer to a `response_url`; failures are logged.
async fn post_response(url: &str, body: &ResponseBody) {
    let client = match reqwest::Client::builder()
        .timeout(RESPONSE_URL_TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("cannot build an HTTP client: {e}");
            return;
        }
    };
    match client.post(url).json(body).send().await {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => {
            tracing::warn!(status = %response.status(), "Slack refused an answer sent to its response_url");
        }
        // The URL is left out: it carries a token.
        Err(e) => tracing::warn!(
            "cannot post an answer to Slack's response_url: {}",
            e.without_url()
        ),
    }
}
