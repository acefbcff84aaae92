//! The console: the embedded default platform. Its [`adapter`] prints messages or appends them
//! to a log file per channel, [`render()`] turns a message into plain text (also what
//! `flywheel ask`, digest previews and the demo print), and [`chat`] makes the terminal a chat
//! platform for `flywheel chat`.

pub mod adapter;
pub mod chat;
pub mod render;

pub use adapter::ConsoleAdapter;
pub use render::{render, render_with_charts};
