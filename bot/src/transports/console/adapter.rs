//! The console's adapter: messages as plain text on the terminal or appended to a file.
//!
//! With `[console] dir` set, channel `console:NAME` appends to `<dir>/NAME.log`: each message is
//! one entry opened by a line `=== <marker or "message"> <time> ===`, written with a single
//! append so entries never interleave, and synced before the send counts as done. A delivery
//! marker in the file is how a restarted service knows a digest already went out. Without a
//! directory, messages go to standard output, where nothing can be looked up again.
//!
//! A chart in a message is drawn into a PNG file, in the directory when one is set and else in
//! `flywheel-charts` under the system's temporary directory, and the entry names the file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use flywheel_insights::address::{ChannelAddress, Platform};
use flywheel_insights::message::Message;
use futures::future::BoxFuture;

use super::render::render_with_charts;
use crate::services::channels::{Adapter, Marker, SendError, Sent};
use crate::services::charts;

/// The console adapter.
#[derive(Debug)]
pub struct ConsoleAdapter {
    dir: Option<PathBuf>,
    /// Serializes writers within this process; `O_APPEND` does it across processes.
    lock: Mutex<()>,
    /// Numbers the chart files of messages that are not deliveries.
    drawn: AtomicU64,
}

impl ConsoleAdapter {
    /// Writes to `<dir>/<NAME>.log` when `dir` is set, else to standard output.
    pub fn new(dir: Option<PathBuf>) -> ConsoleAdapter {
        ConsoleAdapter {
            dir,
            lock: Mutex::new(()),
            drawn: AtomicU64::new(0),
        }
    }

    /// Where charts are drawn: the log directory, else `flywheel-charts` in the system's
    /// temporary directory.
    pub fn chart_dir(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("flywheel-charts"))
    }

    /// Draws each chart of `message` into a PNG file named after the channel and `stamp`: the
    /// file of each, in order, or `None` for one that could not be drawn (it is described in
    /// words instead, and the failure logged).
    async fn draw_charts(
        &self,
        channel: &ChannelAddress,
        stamp: &str,
        message: &Message,
    ) -> Result<Vec<Option<PathBuf>>, SendError> {
        let mut files = Vec::new();
        let dir = self.chart_dir();
        let name: String = channel
            .id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        for (n, spec) in message.charts().enumerate() {
            let chart = match charts::draw(spec).await {
                Ok(chart) => chart,
                Err(e) => {
                    tracing::warn!(%channel, "cannot draw a chart, describing it instead: {e}");
                    files.push(None);
                    continue;
                }
            };
            let path = dir.join(format!("{name}-{stamp}-chart{}.png", n + 1));
            let written = match tokio::fs::create_dir_all(&dir).await {
                Ok(()) => tokio::fs::write(&path, &chart.png).await,
                Err(e) => Err(e),
            };
            written.map_err(|e| {
                io_failure(
                    format!("cannot write a chart to {}: {e}", path.display()),
                    &e,
                )
            })?;
            files.push(Some(path));
        }
        Ok(files)
    }

    /// What names a message's chart files: the delivery's marker, else the time and a number.
    fn stamp(&self, marker: Option<&Marker>) -> String {
        match marker {
            Some(marker) => marker.key(),
            None => format!(
                "{}-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%3f"),
                self.drawn.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    /// The file channel `name` writes to, if any.
    pub fn log_path(&self, name: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(format!("{name}.log")))
    }

    async fn write(
        &self,
        channel: &ChannelAddress,
        heading: &str,
        marker: Option<&Marker>,
        message: &Message,
    ) -> Result<Sent, SendError> {
        if channel.platform != Platform::Console {
            return Err(SendError::permanent(format!(
                "{channel} is not a console channel"
            )));
        }
        let files = if message.charts().next().is_some() {
            self.draw_charts(channel, &self.stamp(marker), message)
                .await?
        } else {
            Vec::new()
        };
        let entry = format!(
            "=== {heading} {} ===\n{}\n",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            render_with_charts(message, &files)
        );
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match self.log_path(&channel.id) {
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(entry.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| {
                        SendError::transient(format!("cannot write to standard output: {e}"))
                    })?;
                Ok(Sent {
                    message_ref: format!("stdout:{heading}"),
                })
            }
            Some(path) => {
                append(&path, entry.as_bytes()).map_err(|e| {
                    io_failure(format!("cannot append to {}: {e}", path.display()), &e)
                })?;
                Ok(Sent {
                    message_ref: format!("{}:{heading}", path.display()),
                })
            }
        }
    }
}

/// A file that cannot be written: for good when permission is denied, else worth retrying.
fn io_failure(reason: String, error: &std::io::Error) -> SendError {
    if error.kind() == std::io::ErrorKind::PermissionDenied {
        SendError::permanent(reason)
    } else {
        SendError::transient(reason)
    }
}

fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

impl Adapter for ConsoleAdapter {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    fn send<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        message: &'a Message,
        marker: Option<&'a Marker>,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        let heading = marker.map_or_else(|| "message".to_string(), Marker::key);
        Box::pin(async move { self.write(channel, &heading, marker, message).await })
    }

    fn reply<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            self.write(channel, &format!("reply to {thread}"), None, message)
                .await
        })
    }

    fn reply_marked<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        let heading = format!("{} reply to {thread}", marker.key());
        Box::pin(async move { self.write(channel, &heading, Some(marker), message).await })
    }

    /// A channel's replies are in its one file, headed by their marker as messages are.
    fn find_sent_in_thread<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        _thread: &'a str,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        self.find_sent(channel, marker)
    }

    fn find_sent<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        Box::pin(async move {
            let Some(path) = self.log_path(&channel.id) else {
                return Ok(None);
            };
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => {
                    return Err(SendError::transient(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )));
                }
            };
            let opening = format!("=== {} ", marker.key());
            Ok(text
                .lines()
                .any(|line| line.starts_with(&opening))
                .then(|| Sent {
                    message_ref: format!("{}:{}", path.display(), marker.key()),
                }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_marked_delivery_is_found_again_in_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let adapter = ConsoleAdapter::new(Some(dir.path().to_path_buf()));
        let channel: ChannelAddress = "console:growth".parse().unwrap();
        let marker = Marker { delivery_id: 42 };
        let other = Marker { delivery_id: 4 };
        assert_eq!(adapter.find_sent(&channel, &marker).await.unwrap(), None);
        adapter
            .send(&channel, &Message::text("hello"), Some(&marker))
            .await
            .unwrap();
        assert!(
            adapter
                .find_sent(&channel, &marker)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(adapter.find_sent(&channel, &other).await.unwrap(), None);
        let log = std::fs::read_to_string(dir.path().join("growth.log")).unwrap();
        assert!(log.starts_with("=== flywheel-delivery-42 "), "{log}");
        assert!(log.contains("hello"), "{log}");
        let slack: ChannelAddress = "slack:C0123".parse().unwrap();
        let refused = adapter.send(&slack, &Message::text("x"), None).await;
        assert!(
            matches!(refused, Err(SendError::Permanent { .. })),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_chart_is_drawn_into_a_png_file_the_entry_names() {
        let dir = tempfile::tempdir().unwrap();
        let adapter = ConsoleAdapter::new(Some(dir.path().to_path_buf()));
        let channel: ChannelAddress = "console:growth".parse().unwrap();
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let chart = flywheel_insights::message::ChartSpec {
            title: "Top themes".into(),
            weeks: vec![monday, monday + chrono::Days::new(7)],
            series: vec![flywheel_insights::message::ChartSeries {
                name: "Billing".into(),
                counts: vec![3, 9],
            }],
        };
        let message = Message::text("Digest").chart(chart);
        adapter
            .send(&channel, &message, Some(&Marker { delivery_id: 7 }))
            .await
            .unwrap();
        let png = dir.path().join("growth-flywheel-delivery-7-chart1.png");
        let bytes = std::fs::read(&png).unwrap();
        let decoder = png::Decoder::new(bytes.as_slice());
        let reader = decoder.read_info().expect("a PNG");
        let info = reader.info();
        assert_eq!((info.width, info.height), charts::SIZE);
        let log = std::fs::read_to_string(dir.path().join("growth.log")).unwrap();
        assert!(
            log.contains(&format!("drawn in {}", png.display())),
            "{log}"
        );
        // A message that is not a delivery gets files of its own.
        adapter.send(&channel, &message, None).await.unwrap();
        adapter.send(&channel, &message, None).await.unwrap();
        let pngs = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "png")
            })
            .count();
        assert_eq!(pngs, 3);
    }
}
