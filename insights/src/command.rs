//! The chat command grammar.
