//! Slack: Block Kit rendering, posting through the Web API, and request verification.
//!
//! [`render`] turns the neutral message into blocks inside Slack's limits, with customer text
//! escaped so it can never mention or link anyone. [`SlackAdapter`] posts them with
//! slack-morphism's hyper client at the configured API URL (a local emulator works), paced per
//! channel and per workspace, marking each digest delivery with message metadata so
//! [`find_sent`](crate::services::channels::Adapter::find_sent) can find it again after a crash.
//! [`verify`] checks the signature Slack puts on the requests it sends us. What Slack sends
//! arrives over the HTTP endpoints of [`http`] or the Socket Mode connection of [`socket`], and
//! is translated alike by [`translate`] into the conversation layer's events; [`respond`] says
//! how Slack is answered.

mod client;
pub mod http;
mod limiter;
pub mod payloads;
pub mod render;
pub mod respond;
pub mod socket;
pub mod translate;
pub mod verify;

pub use client::{
    DELIVERY_EVENT_TYPE, DELIVERY_PAYLOAD_KEY, SlackAdapter, SlackIdentity, SlackOptions,
};
pub use limiter::Rate;
