//! `flywheel serve`: the long-running service, and the composition root that wires the layers
//! together. The scheduler loop queues due digests, delivery workers send them, the
//! transports of the configuration (Slack's HTTP endpoints, Slack's Socket Mode) hand what
//! arrives to the conversation layer, and an HTTP listener answers `GET /healthz` and the
//! transports' routes. Everything stops cleanly when the shutdown future completes (SIGINT or
//! SIGTERM in the binary; a channel in tests), which every loop and transport is told.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::app::App;
use crate::conversation::Inbound;
use crate::services::channels::Adapters;
use crate::services::delivery::Worker;
use crate::transports::{self, Transport};

/// How often the scheduler looks at the teams' schedules.
const SCHEDULER_EVERY: Duration = Duration::from_secs(30);
/// How long an idle delivery worker waits before looking again (it is woken sooner when the
/// scheduler queues something).
const WORKER_IDLE: Duration = Duration::from_secs(5);
/// Delivery workers per process.
const WORKERS: usize = 2;
/// How often the search index looks for changes another process or replica made (searching
/// catches up by itself too; this keeps the first search after a large import elsewhere fast).
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// The HTTP routes of the service: `GET /healthz` and every transport's routes.
pub fn router(app: &App, transports: &[Box<dyn Transport>]) -> Router {
    transports.iter().fold(
        Router::new()
            .route("/healthz", get(healthz))
            .with_state(app.clone()),
        |router, transport| router.merge(transport.routes()),
    )
}

async fn healthz(State(app): State<App>) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    match app.store.pending_deliveries().await {
        Ok(pending) => (
            axum::http::StatusCode::OK,
            Json(serde_json::json!({
                "status": "ok",
                "store": app.store.backend().to_string(),
                "pending_deliveries": pending,
            })),
        ),
        Err(e) => {
            tracing::error!("health check: the store does not answer: {e}");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({"status": "unavailable", "reason": "the store does not answer"}),
                ),
            )
        }
    }
}

/// Runs the service on `listener` until `shutdown` completes: the scheduler, the delivery
/// workers, and the transports of the configuration ([`transports::for_config`]), each given
/// the shutdown signal. Fails at once when a transport cannot start (Socket Mode without its
/// app-level token).
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

    tasks.spawn(scheduler_loop(
        app.clone(),
        adapters.clone(),
        wake.clone(),
        stop_rx.clone(),
    ));
    for n in 0..WORKERS {
        let owner = format!("{}-{}-{n}", std::process::id(), fastrand::u32(..));
        let worker = Worker::new(app.clone(), adapters.clone(), owner);
        tasks.spawn(worker_loop(worker, wake.clone(), stop_rx.clone()));
    }
    tasks.spawn(follow_loop(app.clone(), stop_rx.clone()));
    let router = router(&app, &transports);
    for transport in transports {
        tracing::info!("starting {}", transport.name());
        tasks.spawn(transport.run(stop_rx.clone()));
    }

    let address = listener
        .local_addr()
        .context("the listener has no address")?;
    tracing::info!("listening on http://{address}");
    let mut http_stop = stop_rx.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = http_stop.wait_for(|stop| *stop).await;
    });
    let server = tokio::spawn(async move { server.await });

    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    server
        .await
        .context("the HTTP server panicked")?
        .context("the HTTP server failed")?;
    while let Some(result) = tasks.join_next().await {
        result.context("a background task panicked")?;
    }
    Ok(())
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

async fn scheduler_loop(
    app: App,
    adapters: Adapters,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(SCHEDULER_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
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
        match crate::services::reviews::remind(&app, &adapters).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("{n} review reminder(s) posted"),
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
