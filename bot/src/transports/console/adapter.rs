//! The console's adapter: messages as plain text on the terminal or appended to a file.
//!
//! With `[console] dir` set, channel `console:NAME` appends to `<dir>/NAME.log`: each message is
//! one entry opened by a line `=== <marker or "message"> <time> ===`, written with a single
//! append so entries never interleave, and synced before the send counts as done. A delivery
//! marker in the file is how a restarted service knows a digest already went out. Without a
//! directory, messages go to standard output, where nothing can be looked up again.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flywheel_insights::address::{ChannelAddress, Platform};
use flywheel_insights::message::Message;
use futures::future::BoxFuture;

use super::render;
use crate::services::channels::{Adapter, Marker, SendError, Sent};

/// The console adapter.
#[derive(Debug)]
pub struct ConsoleAdapter {
    dir: Option<PathBuf>,
    /// Serializes writers within this process; `O_APPEND` does it across processes.
    lock: Mutex<()>,
}

impl ConsoleAdapter {
    /// Writes to `<dir>/<NAME>.log` when `dir` is set, else to standard output.
    pub fn new(dir: Option<PathBuf>) -> ConsoleAdapter {
        ConsoleAdapter {
            dir,
            lock: Mutex::new(()),
        }
    }

    /// The file channel `name` writes to, if any.
    pub fn log_path(&self, name: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(format!("{name}.log")))
    }

    fn write(
        &self,
        channel: &ChannelAddress,
        heading: &str,
        message: &Message,
    ) -> Result<Sent, SendError> {
        if channel.platform != Platform::Console {
            return Err(SendError::permanent(format!(
                "{channel} is not a console channel"
            )));
        }
        let entry = format!(
            "=== {heading} {} ===\n{}\n",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            render(message)
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
                    let reason = format!("cannot append to {}: {e}", path.display());
                    if e.kind() == std::io::ErrorKind::PermissionDenied {
                        SendError::permanent(reason)
                    } else {
                        SendError::transient(reason)
                    }
                })?;
                Ok(Sent {
                    message_ref: format!("{}:{heading}", path.display()),
                })
            }
        }
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
        Box::pin(async move { self.write(channel, &heading, message) })
    }

    fn reply<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move { self.write(channel, &format!("reply to {thread}"), message) })
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
}
