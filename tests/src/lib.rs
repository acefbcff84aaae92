//! End-to-end tests for Flywheel and the emulated chat platforms they run against.
//!
//! [`discord`] is an emulated Discord (REST and gateway), [`slack`] an emulated Slack Web API: the real Slack adapter is pointed at it and must
//! cope with what Slack does (rate limits, payload limits, errors, dropped connections). The
//! integration tests live in `tests/`, one binary per platform; start reading at
//! `tests/slack.rs`.

pub mod discord;
pub mod slack;
