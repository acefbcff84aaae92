//! Where messages are rendered and delivered: one adapter per platform.

pub mod console;
