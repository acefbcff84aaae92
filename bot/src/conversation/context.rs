//! Where a command comes from: the person, the channel, and the team the channel belongs to,
//! which decides what may be shown and who may decide.

use chrono::Utc;
use flywheel_config::Team;
use flywheel_insights::address::{ChannelAddress, UserAddress};
use flywheel_insights::search::Scope;
use flywheel_storage::audit::NewAuditEvent;

use super::reply::{HandlerError, UserError};
use crate::app::App;

/// Where a command comes from: the person, the channel and the team the channel belongs to.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The running app.
    pub app: &'a App,
    /// Who.
    pub user: &'a UserAddress,
    /// Where.
    pub channel: &'a ChannelAddress,
    /// The channel's team, if it belongs to one.
    pub team: Option<&'a Team>,
    /// The roles the person holds in the channel (`discord:role:ID`), which may make them a
    /// manager.
    pub roles: &'a [UserAddress],
}

impl<'a> Context<'a> {
    /// The context of a message from `user` in `channel`.
    pub fn new(app: &'a App, user: &'a UserAddress, channel: &'a ChannelAddress) -> Context<'a> {
        let team = app.config.teams_for_channel(channel).into_iter().next();
        Context {
            app,
            user,
            channel,
            team,
            roles: &[],
        }
    }

    /// The same context for someone holding `roles`.
    pub fn holding(mut self, roles: &'a [UserAddress]) -> Context<'a> {
        self.roles = roles;
        self
    }

    /// Whether the person manages the team called `team`, themselves or through a role.
    pub fn is_manager(&self, team: &str) -> bool {
        self.app
            .config
            .is_manager_holding(team, self.user, self.roles)
    }

    /// What may be shown here: the team's insights, or only public ones in a channel that
    /// belongs to no team.
    pub fn scope(&self) -> Scope {
        match self.team {
            Some(team) => Scope::Team(team.name.clone()),
            None => Scope::Public,
        }
    }

    /// The team, or a refusal naming what needs one.
    pub fn require_team(&self, what: &str) -> Result<&'a Team, HandlerError> {
        self.team.ok_or_else(|| {
            HandlerError::User(UserError(format!(
                "{} belongs to no team, so there is nowhere to {what}; use a team's channel",
                self.channel
            )))
        })
    }

    /// Today in the team's timezone (UTC without a team).
    pub fn team_today(&self) -> chrono::NaiveDate {
        let now = self.app.clock.now();
        match self.team {
            Some(team) => now.with_timezone(&team.timezone).date_naive(),
            None => now.with_timezone(&Utc).date_naive(),
        }
    }

    /// Appends an event to the audit log; a failure is logged, never shown.
    pub async fn audit(&self, action: &str, subject: Option<String>, details: serde_json::Value) {
        let event = NewAuditEvent {
            at: self.app.clock.now(),
            actor: self.user.to_string(),
            channel: Some(self.channel.to_string()),
            action: action.to_string(),
            subject,
            details,
        };
        if let Err(e) = self.app.store.audit(&event).await {
            tracing::error!(action, "cannot write the audit log: {e}");
        }
    }
}
