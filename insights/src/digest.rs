//! Digest composition.
