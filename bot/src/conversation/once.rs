//! Handling a platform's event once. Platforms deliver some events more than once (a callback
//! not acknowledged in time is sent again), so each is recorded in
//! the store's seen events before it is handled; one that fails is given back (forgotten), so
//! that the platform's next delivery of it is handled rather than ignored.

use super::Inbound;
use super::event::Event;

/// What [`Inbound::handle_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    /// The event was handled now.
    Handled,
    /// The event had been handled before: this delivery was ignored.
    Repeated,
}

impl Inbound {
    /// Handles `event` unless the event `key` was handled before. `key` names the event
    /// uniquely across platforms (`platform:event-id`); the transport builds it. Any answer is
    /// dropped: this is for events that the platform only acknowledges. An error means the
    /// event was not handled and is not remembered, so the platform's retry will be.
    pub async fn handle_once(&self, key: &str, event: Event) -> anyhow::Result<Once> {
        if !self
            .app
            .store
            .first_delivery_of(key, self.app.clock.now())
            .await?
        {
            return Ok(Once::Repeated);
        }
        if let Err(e) = self.dispatch(event).await {
            if let Err(forget) = self.app.store.forget_event(key).await {
                tracing::error!(key, "cannot give a failed event back: {forget}");
            }
            return Err(e);
        }
        Ok(Once::Handled)
    }
}
