//! Preparing an insight for the store: its themes (tags plus every configured theme whose query
//! matches), the search terms both backends index, and a fingerprint that tells an unchanged
//! re-import from an update.

use serde::{Deserialize, Serialize};

use crate::model::InsightData;
use crate::query::Query;

/// A theme declared in configuration as a saved query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeDef {
    /// The theme's display name.
    pub name: String,
    /// The insights it covers.
    pub query: Query,
}

/// An insight ready to be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedInsight {
    /// What was imported (already redacted).
    pub data: InsightData,
    /// Tags plus matching configured themes, deduplicated by key, in that order.
    pub themes: Vec<String>,
    /// Space-separated stems of title, body and themes, in order, as indexed by full-text search.
    pub terms: String,
    /// Changes whenever anything stored about the insight changes.
    pub fingerprint: String,
}
