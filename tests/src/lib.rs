//! End-to-end tests for Flywheel and the emulated chat platforms they run against.
//!
//! [`discord`] is an emulated Discord (REST and gateway), [`slack`] an emulated Slack Web API: the real Slack adapter is pointed at it and must
//! cope with what Slack does (rate limits, payload limits, errors, dropped connections). The
//! integration tests live in `tests/`, one binary per platform; start reading at
//! `tests/slack.rs`.
//!
//! [`charts`] reads back the PNG charts the platforms received and checks what they show.
//!
//! [`bench`](mod@bench) is the benchmark (`cargo run --release -p flywheel-tests --bin bench`) and
//! [`relevance`] the search relevance evaluation it runs, also held to a floor by a unit test.

pub mod bench;
pub mod charts;
pub mod discord;
pub mod relevance;
pub mod slack;
