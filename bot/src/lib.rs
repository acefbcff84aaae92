//! The Flywheel service: the command line, the application that wires configuration, store and
//! clock together, and the ways insights come in and answers go out.

pub mod adapters;
pub mod app;
pub mod ask;
pub mod audit;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod delivery;
pub mod demo;
pub mod digests;
pub mod import;
pub mod ingest;
pub mod reviews;
pub mod scheduler;
pub mod serve;
