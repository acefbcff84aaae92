//! Metrics in Prometheus's text format, for `GET /metrics`.
//!
//! Code anywhere records with the `metrics` crate's macros; the names are listed here so they
//! are documented in one place. Until [`install`] runs (a command-line run that serves nothing)
//! recording does nothing.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `flywheel_http_requests_total` | counter | `route`, `status` |
//! | `flywheel_command_seconds` | histogram | `platform`, `command` |
//! | `flywheel_commands_busy_total` | counter | |
//! | `flywheel_deliveries_total` | counter | `outcome` (sent, found, retried, failed, lost) |
//! | `flywheel_outbox_backlog` | gauge | |
//! | `flywheel_rate_limited_total` | counter | `platform` |
//! | `flywheel_digest_compose_seconds` | histogram | |
//! | `flywheel_search_seconds` | histogram | |
//! | `flywheel_imported_rows_total` | counter | `outcome` (inserted, updated, unchanged) |
//! | `flywheel_connections_open` | gauge | |
//! | `flywheel_alerts_total` | counter | `kind` (watch, spike) |

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "flywheel_http_requests_total";
pub const COMMAND_SECONDS: &str = "flywheel_command_seconds";
pub const COMMANDS_BUSY: &str = "flywheel_commands_busy_total";
pub const DELIVERIES: &str = "flywheel_deliveries_total";
pub const OUTBOX_BACKLOG: &str = "flywheel_outbox_backlog";
pub const RATE_LIMITED: &str = "flywheel_rate_limited_total";
pub const DIGEST_COMPOSE_SECONDS: &str = "flywheel_digest_compose_seconds";
pub const SEARCH_SECONDS: &str = "flywheel_search_seconds";
pub const IMPORTED_ROWS: &str = "flywheel_imported_rows_total";
pub const CONNECTIONS_OPEN: &str = "flywheel_connections_open";
pub const ALERTS: &str = "flywheel_alerts_total";

/// Bucket bounds for every histogram of seconds: from a millisecond to a minute.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's metrics recorder (once; later calls return the same handle). `None`
/// when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&SECONDS_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Everything recorded so far, in Prometheus's text format.
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route and status");
    describe_histogram!(
        COMMAND_SECONDS,
        metrics::Unit::Seconds,
        "Time to handle a chat command, by platform and command"
    );
    describe_counter!(
        COMMANDS_BUSY,
        "Chat commands answered busy (too many in hand)"
    );
    describe_counter!(DELIVERIES, "Deliveries settled by the workers, by outcome");
    describe_gauge!(OUTBOX_BACKLOG, "Deliveries waiting to be sent");
    describe_counter!(
        RATE_LIMITED,
        "429 answers from a chat platform, by platform"
    );
    describe_histogram!(
        DIGEST_COMPOSE_SECONDS,
        metrics::Unit::Seconds,
        "Time to compose a digest"
    );
    describe_histogram!(
        SEARCH_SECONDS,
        metrics::Unit::Seconds,
        "Time to search and rank, breakdowns included"
    );
    describe_counter!(
        IMPORTED_ROWS,
        "Rows written by import and ingestion, by outcome"
    );
    describe_gauge!(CONNECTIONS_OPEN, "Open HTTP connections");
}

/// The name of a command for its label: the family and subcommand (`insights ask`,
/// `decision log`), never what follows.
pub fn command_label(text: &str) -> String {
    let mut words = text.split_whitespace();
    let family = words
        .next()
        .unwrap_or("")
        .trim_start_matches('/')
        .to_ascii_lowercase();
    let family = match family.as_str() {
        "insights" | "decision" => family,
        _ => "other".to_string(),
    };
    let sub = words.next().unwrap_or("help").to_ascii_lowercase();
    const KNOWN: [&str; 14] = [
        "ask", "share", "show", "add", "flag", "useful", "digest", "help", "log", "list", "review",
        "queue", "stats", "show",
    ];
    let sub = if KNOWN.contains(&sub.as_str()) {
        sub
    } else {
        "other".to_string()
    };
    format!("{family} {sub}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_labels_name_the_command_and_nothing_typed() {
        assert_eq!(
            command_label("/insights ask refunds for bob"),
            "insights ask"
        );
        assert_eq!(
            command_label("/decision log \"x\" evidence:#1"),
            "decision log"
        );
        assert_eq!(command_label("/insights"), "insights help");
        assert_eq!(command_label("/insights DROP TABLE"), "insights other");
        assert_eq!(command_label("/whatever ask"), "other ask");
    }
}
