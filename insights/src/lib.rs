//! Flywheel's domain, free of I/O: what an insight is ([`model`]), the query language
//! ([`query`]) and how answers are ranked and explained ([`rank`], [`answer`]), importing and
//! redacting customer text ([`import`], [`redact`]), team schedules ([`schedule`]) and the
//! addresses of chat channels and people ([`address`]).
//!
//! Nothing here touches a database, the network or a clock: the store lives in
//! `flywheel-storage`, chat and scheduling loops in `flywheel`, and "now" is always passed in.
//! Start with [`model::InsightData`], then [`query::Query`].

pub mod address;
pub mod answer;
pub mod command;
pub mod digest;
pub mod import;
pub mod index;
pub mod message;
pub mod model;
pub mod present;
pub mod query;
pub mod rank;
pub mod redact;
pub mod schedule;
pub mod search;
pub mod spike;
pub mod text;
pub mod watch;
