//! The Flywheel service, in layers that only point down:
//!
//! ```text
//! entry points   cli/ (clap types, printing, exit codes) · serve (composition root) · demo
//! transports     transports/slack (HTTP endpoints, Socket Mode) · transports/discord ·
//!                transports/console · transports/api (the HTTP ingestion API)
//! conversation   conversation/: typed events, dispatch, answer-or-defer, handle-once;
//!                chat commands and buttons
//! services       services/: ask · import · intake · ingest · digests · delivery · channels ·
//!                reviews · audit · scheduler
//! base           app (configuration, store, clock) · clock
//! ```
//!
//! - [`services`] do the work, whoever asks: they take their own plain arguments and post
//!   through the [`Adapter`](services::channels::Adapter) trait, never through a transport.
//! - [`conversation`] is the one inbound path: a transport hands it an
//!   [`Event`](conversation::Event) with addresses already built, and it answers with a neutral
//!   [`Reply`](conversation::Reply). It names no platform.
//! - [`transports`] translate each platform's typed payloads to and from those events and
//!   implement the adapters; `flywheel serve` starts them as a list of
//!   [`Transport`](transports::Transport)s. They never depend on `serve` or `cli`.
//! - [`cli`] parses arguments, calls services and prints; [`serve`] wires everything into the
//!   running service; [`demo`] shows it at work.
//!
//! Where to start reading: [`conversation`] for what happens when someone types
//! `/insights ask refunds` (then [`transports::slack::translate`] for how a Slack request
//! becomes that event), [`services::digests`] and [`services::delivery`] for the weekly digest,
//! [`serve::run`] for how the service is put together.

pub mod app;
pub mod cli;
pub mod clock;
pub mod conversation;
pub mod demo;
pub mod serve;
pub mod services;
pub mod telemetry;
pub mod transports;
