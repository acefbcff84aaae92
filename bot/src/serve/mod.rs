//! `flywheel serve`: the long-running service, and the composition root that wires the layers
//! together. The scheduler loop queues due digests, delivery workers send them, the
//! transports of the configuration (Slack's HTTP endpoints, Slack's Socket Mode, Discord) hand
//! what arrives to the conversation layer, and an HTTP listener answers `GET /healthz`,
//! `GET /readyz` and the transports' routes, within the time and connection limits of
//! [`listener`]. Everything stops within the drain time when the shutdown future completes
//! (SIGINT or SIGTERM in the binary; a channel in tests), which every loop and transport is
//! told.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::app::App;
use crate::conversation::Inbound;
use crate::services::channels::Adapters;
use crate::services::delivery::Worker;
use crate::transports::{self, Transport};

pub mod listener;

/// How often the scheduler looks at the teams' schedules.
const SCHEDULER_EVERY: Duration = Duration::from_secs(30);
/// How often the themes teams follow are checked for spikes.
const SPIKES_EVERY: Duration = Duration::from_secs(600);
/// How long an idle delivery worker waits before looking again (it is woken sooner when the
/// scheduler queues something).
const WORKER_IDLE: Duration = Duration::from_secs(5);
/// How often handled events are pruned.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);
/// Delivery workers per process.
const WORKERS: usize = 2;
/// How often the search index looks for changes another process or replica made (searching
/// catches up by itself too; this keeps the first search after a large import elsewhere fast).
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// How long `/readyz` waits for the store before calling it unreachable.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// The HTTP routes of the service: `GET /healthz`, `GET /readyz`, `GET /metrics` and every
/// transport's routes. Every request is counted by route and status, and logged within a span
/// carrying its own request id.
pub fn router(app: &App, transports: &[Box<dyn Transport>]) -> Router {
    crate::telemetry::install();
    transports
        .iter()
        .fold(
            Router::new()
                .route("/healthz", get(healthz))
                .route("/readyz", get(readyz))
                .route("/metrics", get(metrics))
                .with_state(app.clone()),
            |router, transport| router.merge(transport.routes()),
        )
        .layer(axum::middleware::from_fn(track))
}

/// Counts a request and runs it in a span with its request id, so every line logged while it
/// is handled (and while its answer follows) says which request it belongs to.
async fn track(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument as _;
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let id = format!("{:016x}", fastrand::u64(..));
    let span = tracing::info_span!("request", id = %id, route = %route);
    let response = next.run(request).instrument(span).await;
    metrics::counter!(
        crate::telemetry::HTTP_REQUESTS,
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    response
}

/// Prometheus's text format: everything recorded, and the outbox backlog as of now.
async fn metrics(State(app): State<App>) -> impl axum::response::IntoResponse {
    if let Ok(Ok(pending)) =
        tokio::time::timeout(READY_WITHIN, app.store.pending_deliveries()).await
    {
        metrics::gauge!(crate::telemetry::OUTBOX_BACKLOG).set(pending as f64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::telemetry::render(),
    )
}

/// The process is alive and serving HTTP: nothing else is asked, so a busy store never makes
/// an orchestrator restart a working service.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Whether the service can do its work: the store answers with every migration applied, and
/// each chat connection the configuration needs is up. 503 with what is wrong otherwise.
async fn readyz(State(app): State<App>) -> (StatusCode, Json<serde_json::Value>) {
    let mut problems = Vec::new();
    let store = match tokio::time::timeout(READY_WITHIN, app.store.missing_migrations()).await {
        Ok(Ok(missing)) if missing.is_empty() => "ok".to_string(),
        Ok(Ok(missing)) => {
            problems.push(format!(
                "the store lacks migrations {missing:?}: run `flywheel migrate`"
            ));
            "migrations missing".to_string()
        }
        Ok(Err(e)) => {
            tracing::warn!("readiness: the store does not answer: {e}");
            problems.push("the store does not answer".to_string());
            "unreachable".to_string()
        }
        Err(_) => {
            problems.push(format!(
                "the store did not answer within {} s",
                READY_WITHIN.as_secs()
            ));
            "unreachable".to_string()
        }
    };
    let mut connections = serde_json::Map::new();
    for (name, up) in app.readiness.parts() {
        if !up {
            problems.push(format!("{name} is not connected"));
        }
        connections.insert(
            name.to_string(),
            serde_json::Value::from(if up { "connected" } else { "disconnected" }),
        );
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({
            "status": if problems.is_empty() { "ready" } else { "not ready" },
            "store": store,
            "backend": app.store.backend().to_string(),
            "connections": connections,
            "problems": problems,
        })),
    )
}

/// Runs the service on `listener` until `shutdown` completes: the scheduler, the delivery
/// workers, and the transports of the configuration ([`transports::for_config`]), each given
/// the shutdown signal. Fails at once when a transport cannot start (Socket Mode without its
/// app-level token).
///
/// On shutdown it stops accepting connections and work, lets requests and commands already
/// accepted finish (their answers included) and delivery workers settle what they hold, for at
/// most `[server] drain`; what is left after that is logged by id.
pub async fn run(
    app: App,
    adapters: Adapters,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let inbound = Inbound::new(app.clone(), adapters.clone());
    let transports = transports::for_config(&inbound)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let mut tasks = tokio::task::JoinSet::new();

    tasks.spawn(scheduler_loop(app.clone(), wake.clone(), stop_rx.clone()));
    for n in 0..WORKERS {
        let owner = format!("{}-{}-{n}", std::process::id(), fastrand::u32(..));
        let worker = Worker::new(app.clone(), adapters.clone(), owner);
        tasks.spawn(worker_loop(worker, wake.clone(), stop_rx.clone()));
    }
    tasks.spawn(follow_loop(app.clone(), stop_rx.clone()));
    tasks.spawn(housekeeping_loop(app.clone(), stop_rx.clone()));
    let router = router(&app, &transports);
    for transport in transports {
        tracing::info!("starting {}", transport.name());
        tasks.spawn(transport.run(stop_rx.clone()));
    }

    let address = listener
        .local_addr()
        .context("the listener has no address")?;
    let server = &app.config.server;
    let limits = listener::Limits {
        max_connections: listener::within_open_file_limit(server.max_connections),
        idle_timeout: server.idle_timeout,
    };
    let drain = server.drain;
    tracing::info!(
        max_connections = limits.max_connections,
        max_commands = server.max_commands,
        "listening on http://{address}"
    );
    let http = tokio::spawn(listener::serve(
        listener,
        router,
        limits,
        stop_rx.clone(),
        drain,
    ));

    shutdown.await;
    let stopping = tokio::time::Instant::now();
    tracing::info!(
        in_hand = inbound.work().in_hand(),
        "shutting down: no new work is taken; draining for at most {} s",
        drain.as_secs()
    );
    let _ = stop_tx.send(true);
    let cut = http.await.context("the HTTP listener panicked")?;
    let left = drain.saturating_sub(stopping.elapsed());
    let unanswered = inbound.work().drain(left).await;
    let left = drain.saturating_sub(stopping.elapsed());
    let settled = tokio::time::timeout(left, async {
        while let Some(result) = tasks.join_next().await {
            if let Err(e) = result {
                tracing::error!("a background task failed: {e}");
            }
        }
    })
    .await;
    if settled.is_err() {
        tracing::warn!(
            tasks = tasks.len(),
            "background work still running after the drain time was stopped; deliveries it \
             held are retried once their lease runs out"
        );
        tasks.abort_all();
    }
    tracing::info!(
        connections_cut = cut,
        unanswered,
        "stopped in {} ms",
        stopping.elapsed().as_millis()
    );
    Ok(())
}

/// Prunes what the store only needs to remember for a while, every hour (and once at start).
async fn housekeeping_loop(app: App, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        if let Err(e) = crate::services::housekeeping::tidy(&app).await {
            tracing::warn!("housekeeping: {e:#}");
        }
    }
}

/// Keeps the search index up to the store's latest change.
async fn follow_loop(app: App, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(FOLLOW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        if let Err(e) = app.store.sync_search(&|_, _| {}).await {
            tracing::warn!("the search index could not follow the store: {e}");
        }
    }
}

async fn scheduler_loop(app: App, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(SCHEDULER_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    match crate::services::alerts::sync_declared_watches(&app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("{n} declared watch(es) in step with the configuration"),
        Err(e) => tracing::error!("declared watches: {e:#}"),
    }
    let mut spikes_checked: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        match crate::services::alerts::watch_step(&app).await {
            Ok(outcome) if outcome.alerted > 0 => {
                tracing::info!("{} watch alert(s) queued", outcome.alerted);
                wake.notify_waiters();
            }
            Ok(_) => {}
            Err(e) => tracing::error!("watches: {e:#}"),
        }
        if spikes_checked.is_none_or(|at| at.elapsed() >= SPIKES_EVERY) {
            spikes_checked = Some(tokio::time::Instant::now());
            match crate::services::alerts::spike_step(&app).await {
                Ok(outcome) if outcome.alerted > 0 => wake.notify_waiters(),
                Ok(_) => {}
                Err(e) => tracing::error!("spikes: {e:#}"),
            }
        }
        match crate::services::scheduler::tick(&app).await {
            Ok(outcomes) => {
                for (team, outcome) in outcomes {
                    if !matches!(
                        outcome,
                        crate::services::scheduler::TeamTick::NotYet
                            | crate::services::scheduler::TeamTick::Done { .. }
                    ) {
                        tracing::info!(team, "{outcome}");
                    }
                }
                wake.notify_waiters();
            }
            Err(e) => tracing::error!("scheduler: {e:#}"),
        }
        match crate::services::reviews::remind(&app).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!("{n} review reminder(s) queued");
                wake.notify_waiters();
            }
            Err(e) => tracing::error!("review reminders: {e:#}"),
        }
    }
}

async fn worker_loop(worker: Worker, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let busy = match worker.step().await {
            Ok(outcome) => outcome.claimed > 0,
            Err(e) => {
                tracing::error!("delivery: {e:#}");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(WORKER_IDLE) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(e) => {
                    tracing::error!("cannot listen for SIGTERM: {e}");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
