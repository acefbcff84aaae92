//! The Flywheel service: the command line, the application that wires configuration, store and
//! clock together, and the ways insights come in and answers go out.

pub mod app;
pub mod cli;
pub mod clock;
pub mod conversation;
pub mod demo;
pub mod serve;
pub mod services;
pub mod transports;
