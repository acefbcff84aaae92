//! Services: what Flywheel does, whoever asks — the command line, a chat platform, the
//! scheduler. Each takes plain domain arguments (its own structs, never a command-line type) and
//! returns typed outcomes; none depends on a transport: messages go out through the
//! [`channels::Adapter`] trait that transports implement.

pub mod alerts;
pub mod ask;
pub mod audit;
pub mod channels;
pub mod charts;
pub mod delivery;
pub mod digests;
pub mod housekeeping;
pub mod import;
pub mod ingest;
pub mod intake;
pub mod reviews;
pub mod scheduler;
