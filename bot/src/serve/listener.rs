//! The service's HTTP listener: HTTP/1.1 connections with time limits, a cap on how many are
//! open, and a bounded drain when the service stops.
//!
//! - A connection must send a whole request header within the idle timeout, whether it just
//!   opened or sits idle between keep-alive requests; a request body must arrive within the same
//!   time, counted from its header. Slow or silent clients are closed.
//! - At most `max_connections` are open. One more closes the longest-idle connection to make
//!   room, so idle or half-open clients can never lock out `/healthz` or a platform's request;
//!   when every open connection is busy, the new one is answered 503 and closed.
//! - When the service stops, no new connection is accepted; busy connections finish their
//!   request and close, idle ones close at once, and whatever is left after the drain time is
//!   cut off (and counted in the log).

use std::collections::HashMap;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// What the listener allows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// How long a connection may take to send a request header (idle keep-alive included),
    /// and a request its body.
    pub idle_timeout: Duration,
}

/// What a new connection is told when every open one is busy.
const FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 41\r\n\r\nToo many open connections; try again soon\n";

/// One open connection, as the accept loop sees it.
#[derive(Debug)]
struct Open {
    /// Requests being handled on it now.
    busy: AtomicUsize,
    /// When it last finished a request (or opened), in milliseconds since the listener started.
    idle_since: AtomicU64,
    /// Told when the connection must make room for a new one.
    evict: Notify,
}

/// The open connections.
#[derive(Debug, Default)]
struct Registry {
    open: Mutex<HashMap<u64, Arc<Open>>>,
}

impl Registry {
    /// Registers a connection, making room first when `max` are open: the longest-idle one is
    /// told to close. `None` when every open connection is busy.
    fn admit(&self, id: u64, now: u64, max: usize) -> Option<Arc<Open>> {
        let mut open = self.open.lock().expect("the registry is never poisoned");
        if open.len() >= max {
            let victim = open
                .iter()
                .filter(|(_, c)| c.busy.load(Ordering::SeqCst) == 0)
                .min_by_key(|(_, c)| c.idle_since.load(Ordering::SeqCst))
                .map(|(id, _)| *id)?;
            if let Some(victim) = open.remove(&victim) {
                victim.evict.notify_one();
            }
        }
        let connection = Arc::new(Open {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            evict: Notify::new(),
        });
        open.insert(id, connection.clone());
        metrics::gauge!(crate::telemetry::CONNECTIONS_OPEN).set(open.len() as f64);
        Some(connection)
    }

    fn remove(&self, id: u64) {
        let mut open = self.open.lock().expect("the registry is never poisoned");
        open.remove(&id);
        metrics::gauge!(crate::telemetry::CONNECTIONS_OPEN).set(open.len() as f64);
    }

    fn len(&self) -> usize {
        self.open
            .lock()
            .expect("the registry is never poisoned")
            .len()
    }
}

/// Serves `router` on `listener` until `stop` turns true, then drains open connections for at
/// most `drain`. Returns how many connections were cut off at the end of the drain.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
) -> usize {
    let started = Instant::now();
    let registry = Arc::new(Registry::default());
    let mut connections = JoinSet::new();
    let mut next_id = 0_u64;
    let max = limits.max_connections.max(1);
    let for_connections = stop.clone();
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, most likely: give connections time to close.
                        tracing::warn!("accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                next_id += 1;
                let now = millis_since(started);
                let Some(open) = registry.admit(next_id, now, max) else {
                    tracing::warn!(open = max, "every connection is busy; refusing a new one");
                    refuse(stream);
                    continue;
                };
                connections.spawn(connection(
                    stream,
                    router.clone(),
                    limits.idle_timeout,
                    (next_id, open, registry.clone(), started),
                    for_connections.clone(),
                ));
            }
        }
    }
    drop(listener);
    let open = registry.len();
    if open > 0 {
        tracing::info!(open, "draining open connections");
    }
    let drained = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    match drained {
        Ok(()) => 0,
        Err(_) => {
            let cut = connections.len();
            tracing::warn!(
                cut,
                "connections still open after the drain time were closed"
            );
            connections.abort_all();
            cut
        }
    }
}

/// File descriptors kept for everything but client connections: the store, the search index,
/// outbound calls to the platforms.
const RESERVED_FILES: u64 = 128;

/// `wanted` connections, or fewer when the process may not open that many files: the soft
/// open-file limit is first raised to the hard one, then connections are capped to leave
/// `RESERVED_FILES` for the rest, so a flood of connections never leaves the service unable
/// to open its store or accept `/healthz`.
pub fn within_open_file_limit(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        let soft = unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return wanted;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit.rlim_cur = limit.rlim_max;
                }
            }
            limit.rlim_cur
        };
        let room = soft.saturating_sub(RESERVED_FILES).max(8);
        let capped = usize::try_from(room).unwrap_or(usize::MAX).min(wanted);
        if capped < wanted {
            tracing::warn!(
                open_file_limit = soft,
                "at most {capped} connections, not {wanted}: the open-file limit allows no more"
            );
        }
        capped
    }
    #[cfg(not(unix))]
    {
        wanted
    }
}

/// Completes once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

fn millis_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Tells a connection there is no room, without waiting on it.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(FULL);
}

/// One connection: served until it ends, is told to make room, or the service stops (then it
/// finishes the request in hand and closes).
async fn connection(
    stream: TcpStream,
    router: Router,
    idle_timeout: Duration,
    (id, open, registry, started): (u64, Arc<Open>, Arc<Registry>, Instant),
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let tracked = open.clone();
    let service = tower::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        let busy = Busy::start(tracked.clone(), started);
        let request = request.map(|body| Body::new(Deadline::new(body, idle_timeout)));
        async move {
            let response = router.oneshot(request).await;
            drop(busy);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(idle_timeout)
        .keep_alive(true);
    let served = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(served);
    let mut stopping = *stop.borrow();
    if stopping {
        served.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection {id} ended: {e}");
                }
                break;
            }
            _ = open.evict.notified() => {
                if open.busy.load(Ordering::SeqCst) == 0 {
                    tracing::debug!("connection {id} closed to make room");
                    break;
                }
                served.as_mut().graceful_shutdown();
            }
            () = stopped(&mut stop), if !stopping => {
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    registry.remove(id);
}

/// Marks a connection busy for as long as one of its requests is being handled.
struct Busy {
    open: Arc<Open>,
    started: Instant,
}

impl Busy {
    fn start(open: Arc<Open>, started: Instant) -> Busy {
        open.busy.fetch_add(1, Ordering::SeqCst);
        Busy { open, started }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.open
            .idle_since
            .store(millis_since(self.started), Ordering::SeqCst);
        self.open.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request body that must arrive whole before a deadline, however slowly it trickles.
struct Deadline {
    body: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Deadline {
    fn new(body: Incoming, within: Duration) -> Deadline {
        Deadline {
            body,
            deadline: Box::pin(tokio::time::sleep(within)),
        }
    }
}

/// The error of a body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct TooSlow;

impl http_body::Body for Deadline {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(TooSlow)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_registry_makes_room_by_closing_the_longest_idle_connection() {
        let registry = Registry::default();
        let first = registry.admit(1, 10, 2).unwrap();
        let second = registry.admit(2, 5, 2).unwrap();
        first.busy.store(0, Ordering::SeqCst);
        second.busy.store(0, Ordering::SeqCst);
        assert!(registry.admit(3, 20, 2).is_some());
        let open = registry.open.lock().unwrap();
        assert!(open.contains_key(&1) && open.contains_key(&3), "{open:?}");
        assert!(!open.contains_key(&2), "the longest idle made room");
    }

    #[test]
    fn a_registry_whose_connections_are_all_busy_refuses() {
        let registry = Registry::default();
        let first = registry.admit(1, 10, 1).unwrap();
        first.busy.store(1, Ordering::SeqCst);
        assert!(registry.admit(2, 20, 1).is_none());
        assert_eq!(registry.len(), 1);
        first.busy.store(0, Ordering::SeqCst);
        assert!(registry.admit(2, 20, 1).is_some());
        assert_eq!(registry.len(), 1);
    }
}
