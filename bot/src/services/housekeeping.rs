//! Housekeeping: what the service prunes on a schedule so its tables do not grow forever.
//!
//! The store remembers every platform event and signed request it handled (so retries and
//! replays have no second effect). Platforms stop retrying within an hour and signatures go
//! stale after five minutes, so a day's memory is kept and older entries are forgotten.

use chrono::Duration;

use crate::app::App;

/// How long handled events and requests are remembered.
pub const REMEMBER_EVENTS_FOR: Duration = Duration::days(1);

/// One round of housekeeping at the app's "now": how many remembered events were forgotten.
pub async fn tidy(app: &App) -> anyhow::Result<u64> {
    let forgotten = app
        .store
        .prune_seen(app.clock.now() - REMEMBER_EVENTS_FOR)
        .await?;
    if forgotten > 0 {
        tracing::info!(forgotten, "forgot handled events older than a day");
    }
    Ok(forgotten)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::conversation::scratch_inbound;

    #[tokio::test]
    async fn events_older_than_a_day_are_forgotten_and_newer_ones_kept() {
        let (inbound, _dir) = scratch_inbound().await;
        let start = chrono::Utc::now();
        let clock = ManualClock::new(start);
        let app = App {
            clock: Arc::new(clock.clone()),
            ..inbound.app().clone()
        };
        assert!(
            app.store
                .first_delivery_of("slack:Ev1", start)
                .await
                .unwrap()
        );
        clock.advance(Duration::hours(20));
        assert!(
            app.store
                .first_delivery_of("slack:Ev2", crate::clock::Clock::now(&clock))
                .await
                .unwrap()
        );
        assert_eq!(tidy(&app).await.unwrap(), 0, "nothing is a day old yet");
        clock.advance(Duration::hours(5));
        assert_eq!(tidy(&app).await.unwrap(), 1);
        // The first may be delivered again; the second is still remembered.
        assert!(
            app.store
                .first_delivery_of("slack:Ev1", crate::clock::Clock::now(&clock))
                .await
                .unwrap()
        );
        assert!(
            !app.store
                .first_delivery_of("slack:Ev2", crate::clock::Clock::now(&clock))
                .await
                .unwrap()
        );
    }
}
