//! `flywheel doctor`: checks a deployment and says what to fix; `flywheel health`: asks a
//! running service whether it is alive (for container health checks).

use std::fmt::Write as _;
use std::time::Duration;

use flywheel_config::Config;
use flywheel_storage::{Store, StoreOptions};

use super::Failure;

/// How long one check may take.
const CHECK_WITHIN: Duration = Duration::from_secs(10);

pub(super) const EXAMPLES: &str = "\
Examples:
  flywheel --config /etc/flywheel/flywheel.toml doctor
  FLYWHEEL_STORE_URL=postgres://flywheel@db/flywheel flywheel doctor

Checks the configuration, the store (it answers, every migration is applied), each chat
platform's credentials (Slack auth.test, Discord /users/@me) and that every team's channels are
on a platform that is set up. Exits 1 when something needs fixing.";

pub(super) const HEALTH_EXAMPLES: &str = "\
Examples:
  flywheel health
  flywheel health --url http://127.0.0.1:3000/healthz

Exits 0 when the service answers its health check, 1 otherwise.";

/// One line of the report.
struct Finding {
    ok: bool,
    what: &'static str,
    said: String,
}

/// Runs every check of a loaded configuration and prints the report.
pub(super) async fn run(config: Config) -> Result<(), Failure> {
    let findings = check(&config).await;
    let mut out = String::new();
    for finding in &findings {
        let mark = if finding.ok { "ok  " } else { "FIX " };
        let _ = writeln!(out, "{mark} {:<9} {}", finding.what, finding.said);
    }
    let problems = findings.iter().filter(|f| !f.ok).count();
    print!("{out}");
    if problems == 0 {
        println!("Everything Flywheel needs is in place.");
        Ok(())
    } else {
        Err(Failure::Other(anyhow::anyhow!(
            "{problems} problem(s) to fix; see the lines marked FIX"
        )))
    }
}

async fn check(config: &Config) -> Vec<Finding> {
    let mut findings = vec![Finding {
        ok: true,
        what: "config",
        said: match &config.file {
            Some(file) => format!("{} is valid", file.display()),
            None => "no file: running on defaults and the environment".to_string(),
        },
    }];
    findings.push(store(config).await);
    findings.extend(slack(config).await);
    findings.extend(discord(config).await);
    findings.extend(teams(config));
    findings
}

async fn store(config: &Config) -> Finding {
    let what = "store";
    let options = StoreOptions {
        max_connections: 1,
        ..StoreOptions::default()
    };
    let checked = tokio::time::timeout(CHECK_WITHIN, async {
        let store = Store::connect(&config.store.url, &options).await?;
        let missing = store.missing_migrations().await;
        store.close().await;
        Ok::<_, flywheel_storage::StoreError>((store.backend(), missing?))
    })
    .await;
    match checked {
        Ok(Ok((backend, missing))) if missing.is_empty() => Finding {
            ok: true,
            what,
            said: format!("{backend} answers; every migration is applied"),
        },
        Ok(Ok((backend, missing))) => Finding {
            ok: false,
            what,
            said: format!(
                "{backend} answers but lacks migrations {missing:?}: run `flywheel migrate` (or \
                 start the service, which applies them)"
            ),
        },
        Ok(Err(e)) => Finding {
            ok: false,
            what,
            said: format!(
                "cannot reach the store: {e}. Check [store] url or FLYWHEEL_STORE_URL, and that \
                 the database is running and accepts this user"
            ),
        },
        Err(_) => Finding {
            ok: false,
            what,
            said: format!(
                "the store did not answer within {} s: is the host reachable?",
                CHECK_WITHIN.as_secs()
            ),
        },
    }
}

async fn slack(config: &Config) -> Vec<Finding> {
    let what = "slack";
    let secrets = &config.secrets;
    let Some(token) = &secrets.slack_bot_token else {
        return if uses(config, "slack") {
            vec![Finding {
                ok: false,
                what,
                said: format!(
                    "a team posts to Slack but the bot token is not set (looked in {}): set it \
                     to the app's xoxb-… token",
                    secrets.sources.slack_bot_token
                ),
            }]
        } else {
            Vec::new()
        };
    };
    let adapter = crate::transports::slack::SlackAdapter::new(&config.slack, token.clone());
    let mut findings = vec![
        match tokio::time::timeout(CHECK_WITHIN, adapter.identify()).await {
            Ok(Ok(me)) => Finding {
                ok: true,
                what,
                said: format!(
                    "auth.test: the bot token belongs to {} ({})",
                    me.user, me.user_id
                ),
            },
            Ok(Err(e)) => Finding {
                ok: false,
                what,
                said: format!(
                    "auth.test failed: {e}. Check the bot token (looked in {})",
                    secrets.sources.slack_bot_token
                ),
            },
            Err(_) => Finding {
                ok: false,
                what,
                said: format!(
                    "{} did not answer within {} s",
                    config.slack.api_url,
                    CHECK_WITHIN.as_secs()
                ),
            },
        },
    ];
    let (needed, name, source) = match config.slack.transport {
        flywheel_config::SlackTransport::Http => (
            secrets.slack_signing_secret.is_some(),
            "signing secret",
            &secrets.sources.slack_signing_secret,
        ),
        flywheel_config::SlackTransport::Socket => (
            secrets.slack_app_token.is_some(),
            "app-level token",
            &secrets.sources.slack_app_token,
        ),
    };
    findings.push(Finding {
        ok: needed,
        what,
        said: if needed {
            format!("the {name} is set, so Slack can reach Flywheel")
        } else {
            format!(
                "the {name} is not set (looked in {source}): without it Slack's commands and \
                 buttons cannot reach Flywheel"
            )
        },
    });
    findings
}

async fn discord(config: &Config) -> Vec<Finding> {
    let what = "discord";
    let rest = match crate::transports::discord::rest_for(config) {
        Ok(Some(rest)) => rest,
        Ok(None) if uses(config, "discord") => {
            return vec![Finding {
                ok: false,
                what,
                said: format!(
                    "a team posts to Discord but the bot token is not set (looked in {})",
                    config.secrets.sources.discord_bot_token
                ),
            }];
        }
        Ok(None) => return Vec::new(),
        Err(e) => {
            return vec![Finding {
                ok: false,
                what,
                said: e.to_string(),
            }];
        }
    };
    let me = tokio::time::timeout(CHECK_WITHIN, rest.get("GET /users/@me", "/users/@me")).await;
    vec![match me {
        Ok(Ok(me)) => Finding {
            ok: true,
            what,
            said: format!(
                "/users/@me: the bot token belongs to {}",
                me["username"].as_str().unwrap_or("the bot")
            ),
        },
        Ok(Err(e)) if e.status == Some(401) => Finding {
            ok: false,
            what,
            said: format!(
                "Discord refused the bot token (HTTP 401): reset it in the Developer Portal (Bot \
                 → Reset Token) and set it again (looked in {})",
                config.secrets.sources.discord_bot_token
            ),
        },
        Ok(Err(e)) => Finding {
            ok: false,
            what,
            said: format!("/users/@me failed: {e}"),
        },
        Err(_) => Finding {
            ok: false,
            what,
            said: format!(
                "{} did not answer within {} s",
                config.discord.api_url,
                CHECK_WITHIN.as_secs()
            ),
        },
    }]
}

/// Whether any team posts to `platform`.
fn uses(config: &Config, platform: &str) -> bool {
    config
        .teams
        .iter()
        .flat_map(|t| &t.channels)
        .any(|c| c.to_string().starts_with(&format!("{platform}:")))
}

fn teams(config: &Config) -> Vec<Finding> {
    config
        .teams
        .iter()
        .map(|team| Finding {
            ok: true,
            what: "team",
            said: format!(
                "{}: {} channel(s), schedule {} ({})",
                team.name,
                team.channels.len(),
                team.schedule.as_str(),
                team.timezone
            ),
        })
        .collect()
}

/// `flywheel health`: whether the service at `url` answers its health check.
pub(super) async fn health(url: &str) -> Result<(), Failure> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| Failure::Other(anyhow::anyhow!("cannot build an HTTP client: {e}")))?;
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => {
            println!("healthy");
            Ok(())
        }
        Ok(response) => Err(Failure::Other(anyhow::anyhow!(
            "{url} answered {}",
            response.status()
        ))),
        Err(e) => Err(Failure::Other(anyhow::anyhow!("{url} did not answer: {e}"))),
    }
}
