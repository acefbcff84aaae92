//! The query language used everywhere people search: free words, `OR`, "quoted phrases",
//! `-excluded`, and filters such as `theme:billing severity:>=4 since:30d`.

mod ast;
mod matcher;
mod parse;

pub use ast::*;
pub use matcher::Document;
pub use parse::{MAX_QUERY_CHARS, QueryError, QueryErrorKind, parse};
