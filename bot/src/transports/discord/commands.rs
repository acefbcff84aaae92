//! Flywheel's application commands on Discord: `/insights` and `/decision` with typed
//! subcommands and options, and the message command *Save as insight*.
//!
//! [`definitions`] is what is registered (per server or globally); [`command_line`] turns what
//! Discord sends back into the command line the conversation layer parses, so a command means
//! the same on Discord as typed on Slack or the console, and a mistake gets the same answer.
//! [`suggest`] answers autocomplete for insight ids, evidence lists and themes.

use flywheel_insights::command::{ListFilter, Outcome};
use flywheel_insights::model::{Kind, Stage, Vocabulary};
use flywheel_insights::watch::Cadence;
use serde_json::{Value, json};
use serenity::all::{CommandDataOption, CommandDataOptionValue};

use crate::conversation::Context;

/// The name of the message command that keeps a message as an insight.
pub const SAVE_AS_INSIGHT: &str = "Save as insight";
/// Suggestions Discord shows at most.
const MAX_CHOICES: usize = 25;
/// The longest choice name.
const MAX_CHOICE_NAME: usize = 100;

const STRING: u8 = 3;
const INTEGER: u8 = 4;
const BOOLEAN: u8 = 5;
const USER: u8 = 6;
const SUB_COMMAND: u8 = 1;

fn option(kind: u8, name: &str, description: &str, required: bool) -> Value {
    json!({"type": kind, "name": name, "description": description, "required": required})
}

fn id_option(description: &str) -> Value {
    let mut o = option(INTEGER, "id", description, true);
    o["min_value"] = json!(1);
    o["autocomplete"] = json!(true);
    o
}

fn choices(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"name": n, "value": n}))
            .collect(),
    )
}

fn sub(name: &str, description: &str, options: Vec<Value>) -> Value {
    json!({"type": SUB_COMMAND, "name": name, "description": description, "options": options})
}

/// The commands to register, as `PUT /applications/{id}/commands` takes them.
pub fn definitions() -> Value {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
    let filters: Vec<&str> = ListFilter::ALL.iter().map(|f| f.name()).collect();
    let outcomes: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
    let mut theme = option(STRING, "theme", "A theme to file it under", false);
    theme["autocomplete"] = json!(true);
    let mut kind = option(STRING, "kind", "What kind of insight", false);
    kind["choices"] = choices(&kinds);
    let mut stage = option(STRING, "stage", "The customer's stage", false);
    stage["choices"] = choices(&stages);
    let mut severity = option(INTEGER, "severity", "1 (mild) to 5 (severe)", false);
    severity["min_value"] = json!(1);
    severity["max_value"] = json!(5);
    let mut evidence = option(
        STRING,
        "evidence",
        "The insights behind it, by id: 12,15",
        true,
    );
    evidence["autocomplete"] = json!(true);
    let mut filter = option(STRING, "filter", "Which decisions", false);
    filter["choices"] = choices(&filters);
    let mut outcome = option(STRING, "outcome", "What became of it", true);
    outcome["choices"] = choices(&outcomes);
    let mut every = option(
        STRING,
        "every",
        "How often: as they arrive (now), hourly or daily",
        false,
    );
    every["choices"] = choices(&Cadence::ALL.map(Cadence::name));
    let mut watch_id = option(
        INTEGER,
        "id",
        "The watch's number, from /insights watches",
        true,
    );
    watch_id["min_value"] = json!(1);
    let question = option(
        STRING,
        "question",
        "What to look for; filters such as theme:billing work",
        true,
    );
    let mut decision_id = option(INTEGER, "id", "The decision's number", true);
    decision_id["min_value"] = json!(1);
    json!([
        {
            "name": "insights",
            "type": 1,
            "description": "Ask, add and discuss customer insights",
            "options": [
                sub("ask", "Search the insights", vec![
                    question.clone(),
                    option(BOOLEAN, "share", "Post the answer in the channel", false),
                ]),
                sub("chart", "Post the weekly trend of a question as a chart", vec![question]),
                sub("show", "One insight in full", vec![id_option("The insight")]),
                sub("add", "Add an insight in your own words", vec![
                    option(STRING, "text", "What the customer said or needs", true),
                    theme, kind, stage, severity,
                    option(STRING, "segment", "The customer's segment", false),
                    option(STRING, "account", "The customer's account", false),
                ]),
                sub("flag", "Ask for a decision on an insight", vec![
                    id_option("The insight"),
                    option(STRING, "note", "Why it needs a decision", false),
                ]),
                sub("useful", "Mark an insight as useful", vec![id_option("The insight")]),
                sub("digest", "Your team's digest, now", vec![
                    option(BOOLEAN, "preview", "Show it only to you", false),
                ]),
                sub("watch", "Hear in this channel about new insights on a question", vec![
                    option(STRING, "question", "What to watch; filters such as theme:billing work", true),
                    every,
                ]),
                sub("watches", "This channel's watches", vec![]),
                sub("unwatch", "Stop watching a question", vec![watch_id]),
                sub("help", "The commands, or one in detail", vec![
                    option(STRING, "command", "A command, such as add or decision log", false),
                ]),
            ],
        },
        {
            "name": "decision",
            "type": 1,
            "description": "Decisions and the insights behind them",
            "options": [
                sub("log", "Log a decision and its evidence (managers)", vec![
                    option(STRING, "title", "What was decided", true),
                    evidence,
                    option(STRING, "review", "When to review it: 30d, 6m or 2026-03-01", false),
                    option(USER, "owner", "Who answers for it (default: you)", false),
                    option(STRING, "rationale", "Why", false),
                ]),
                sub("list", "List decisions", vec![
                    filter,
                    option(STRING, "query", "Words to look for", false),
                ]),
                sub("show", "One decision with its evidence", vec![decision_id.clone()]),
                sub("review", "Record how a decision turned out (managers)", vec![
                    decision_id,
                    outcome,
                    option(STRING, "note", "What happened", true),
                ]),
                sub("queue", "Flagged insights waiting for a decision (managers)", vec![]),
                sub("stats", "How decisions have fared", vec![]),
            ],
        },
        {"name": SAVE_AS_INSIGHT, "type": 3},
    ])
}

/// Why a command's options could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);

/// One option's value as text, ready to stand in a command line.
fn text_of(value: &CommandDataOptionValue) -> Option<String> {
    Some(match value {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(n) => n.to_string(),
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::User(id) => format!("discord:{id}"),
        CommandDataOptionValue::Autocomplete { value, .. } => value.clone(),
        _ => return None,
    })
}

/// A value as one argument: quoted when it holds a space.
fn argument(text: &str) -> String {
    if text.contains(char::is_whitespace) && !text.contains('"') {
        format!("\"{text}\"")
    } else {
        text.split_whitespace().collect::<Vec<_>>().join("-")
    }
}

/// Free text (a title, note or rationale): quoted unless it holds quotes itself, in which case
/// it reads back unquoted.
fn free(text: &str) -> String {
    if text.contains(['"', '\u{201C}', '\u{201D}', '\u{201E}']) {
        text.to_string()
    } else {
        format!("\"{text}\"")
    }
}

/// The command line of `/{command} {subcommand} …` with these options, as typed on Slack or the
/// console.
pub fn command_line(command: &str, options: &[CommandDataOption]) -> Result<String, OptionError> {
    let Some(first) = options.first() else {
        return Ok(format!("/{command}"));
    };
    let CommandDataOptionValue::SubCommand(inner) = &first.value else {
        return Err(OptionError(format!(
            "/{command} expects a subcommand, such as /{command} help"
        )));
    };
    let get = |name: &str| -> Option<String> {
        inner
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| text_of(&o.value))
            .filter(|v| !v.trim().is_empty())
    };
    let need = |name: &str| -> Result<String, OptionError> {
        get(name).ok_or_else(|| {
            OptionError(format!("/{command} {} needs its {name} option", first.name))
        })
    };
    let sub = first.name.as_str();
    let mut line = format!("/{command} {sub}");
    let mut push = |s: String| {
        line.push(' ');
        line.push_str(&s);
    };
    match (command, sub) {
        ("insights", "ask") => {
            if get("share").as_deref() == Some("true") {
                push("--share".into());
            }
            push(need("question")?);
        }
        ("insights", "chart") => push(need("question")?),
        ("insights", "show" | "useful") | ("decision", "show") => push(need("id")?),
        ("insights", "add") => {
            push(need("text")?);
            for key in ["theme", "segment", "account"] {
                if let Some(value) = get(key) {
                    push(format!("{key}:{}", argument(&value)));
                }
            }
            for key in ["kind", "stage", "severity"] {
                if let Some(value) = get(key) {
                    push(format!("{key}:{value}"));
                }
            }
        }
        ("insights", "flag") => {
            push(need("id")?);
            if let Some(note) = get("note") {
                push(free(&note));
            }
        }
        ("insights", "digest") => {
            if get("preview").as_deref() == Some("true") {
                push("preview".into());
            }
        }
        ("insights", "watch") => {
            push(need("question")?);
            if let Some(every) = get("every") {
                push(format!("every:{every}"));
            }
        }
        ("insights", "watches") => {}
        ("insights", "unwatch") => push(need("id")?),
        ("insights", "help") => {
            if let Some(topic) = get("command") {
                push(topic);
            }
        }
        ("decision", "log") => {
            push(free(&need("title")?));
            push(format!("evidence:{}", need("evidence")?.replace(' ', "")));
            if let Some(review) = get("review") {
                push(format!("review:{}", argument(&review)));
            }
            if let Some(owner) = get("owner") {
                push(format!("owner:{owner}"));
            }
            if let Some(rationale) = get("rationale") {
                push(format!("rationale:{}", free(&rationale)));
            }
        }
        ("decision", "list") => {
            push(get("filter").unwrap_or_else(|| "open".into()));
            if let Some(query) = get("query") {
                push(query);
            }
        }
        ("decision", "review") => {
            push(need("id")?);
            push(need("outcome")?);
            push(free(&need("note")?));
        }
        ("decision", "queue" | "stats") => {}
        _ => {
            return Err(OptionError(format!(
                "/{command} {sub} is not a Flywheel command; try /insights help"
            )));
        }
    }
    Ok(line)
}

/// The option being typed in an autocomplete request: its name and what is typed so far.
pub fn focused(options: &[CommandDataOption]) -> Option<(String, String)> {
    for o in options {
        match &o.value {
            CommandDataOptionValue::SubCommand(inner)
            | CommandDataOptionValue::SubCommandGroup(inner) => {
                if let Some(found) = focused(inner) {
                    return Some(found);
                }
            }
            CommandDataOptionValue::Autocomplete { value, .. } => {
                return Some((o.name.clone(), value.clone()));
            }
            _ => {}
        }
    }
    None
}

/// Suggestions for the option `name` with `typed` so far, as autocomplete choices: insight
/// ids visible in the channel (by number or by words), evidence lists, theme names.
pub async fn suggest(context: &Context<'_>, name: &str, typed: &str) -> Vec<Value> {
    let choice = |label: String, value: Value| {
        let mut label: String = label.chars().take(MAX_CHOICE_NAME).collect();
        if label.is_empty() {
            label = value.to_string();
        }
        json!({"name": label, "value": value})
    };
    match name {
        "theme" => {
            let typed = typed.trim().to_lowercase();
            context
                .app
                .config
                .themes
                .iter()
                .filter(|t| t.name.to_lowercase().contains(&typed))
                .take(MAX_CHOICES)
                .map(|t| choice(t.name.clone(), json!(t.name)))
                .collect()
        }
        "id" | "evidence" => {
            // For a list, the last id is the one being typed.
            let (before, last) = match typed.rsplit_once(',') {
                Some((before, last)) if name == "evidence" => (format!("{before},"), last),
                _ => (String::new(), typed),
            };
            let insights = matching(context, last.trim().trim_start_matches('#')).await;
            insights
                .into_iter()
                .map(|(id, title)| {
                    let value = if name == "id" {
                        json!(id)
                    } else {
                        json!(format!("{before}{id}"))
                    };
                    choice(format!("#{id} {title}"), value)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The insights visible in the channel that `typed` names: by number, else by words.
async fn matching(context: &Context<'_>, typed: &str) -> Vec<(i64, String)> {
    if typed.is_empty() {
        return Vec::new();
    }
    if let Ok(id) = typed.parse::<i64>() {
        return match context.app.store.insight(id, &context.scope()).await {
            Ok(Some(insight)) => vec![(id, insight.data.title)],
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!("autocomplete: {e}");
                Vec::new()
            }
        };
    }
    let filter = context.team.map(|t| &t.filter);
    match crate::services::ask::ask(context.app, typed, context.scope(), filter, MAX_CHOICES).await
    {
        Ok(asked) => asked
            .answer
            .results
            .iter()
            .map(|r| (r.insight.id, r.insight.data.title.clone()))
            .collect(),
        // Half-typed words are often no query yet: no suggestions, no error.
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: Value) -> Vec<CommandDataOption> {
        serde_json::from_value(json).expect("options")
    }

    #[test]
    fn typed_options_become_the_command_line_every_platform_parses() {
        let cases = [
            (
                "insights",
                json!([{"name": "ask", "type": 1, "options": [
                    {"name": "question", "type": 3, "value": "refunds theme:billing"},
                    {"name": "share", "type": 5, "value": true}]}]),
                "/insights ask --share refunds theme:billing",
            ),
            (
                "insights",
                json!([{"name": "chart", "type": 1, "options": [
                    {"name": "question", "type": 3, "value": "refund theme:billing"}]}]),
                "/insights chart refund theme:billing",
            ),
            (
                "insights",
                json!([{"name": "add", "type": 1, "options": [
                    {"name": "text", "type": 3, "value": "Export drops accents"},
                    {"name": "theme", "type": 3, "value": "data export"},
                    {"name": "severity", "type": 4, "value": 4}]}]),
                "/insights add Export drops accents theme:\"data export\" severity:4",
            ),
            (
                "decision",
                json!([{"name": "log", "type": 1, "options": [
                    {"name": "title", "type": 3, "value": "Refund within a week"},
                    {"name": "evidence", "type": 3, "value": "12, 15"},
                    {"name": "owner", "type": 6, "value": "42"},
                    {"name": "review", "type": 3, "value": "7d"}]}]),
                "/decision log \"Refund within a week\" evidence:12,15 review:7d owner:discord:42",
            ),
            (
                "decision",
                json!([{"name": "review", "type": 1, "options": [
                    {"name": "id", "type": 4, "value": 3},
                    {"name": "outcome", "type": 3, "value": "kept"},
                    {"name": "note", "type": 3, "value": "refunds now take \"days\""}]}]),
                "/decision review 3 kept refunds now take \"days\"",
            ),
            (
                "decision",
                json!([{"name": "queue", "type": 1, "options": []}]),
                "/decision queue",
            ),
            (
                "insights",
                json!([{"name": "watch", "type": 1, "options": [
                    {"name": "question", "type": 3, "value": "refund -\"gift card\""},
                    {"name": "every", "type": 3, "value": "hourly"}]}]),
                "/insights watch refund -\"gift card\" every:hourly",
            ),
            (
                "insights",
                json!([{"name": "unwatch", "type": 1, "options": [
                    {"name": "id", "type": 4, "value": 7}]}]),
                "/insights unwatch 7",
            ),
        ];
        for (command, json, expected) in cases {
            let line = command_line(command, &options(json)).unwrap();
            assert_eq!(line, expected);
            if !expected.contains("\"days\"") {
                flywheel_insights::command::parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
        }
        let missing = command_line(
            "insights",
            &options(json!([{"name": "show", "type": 1, "options": []}])),
        )
        .unwrap_err();
        assert_eq!(missing.0, "/insights show needs its id option");
    }

    #[test]
    fn the_definitions_cover_every_subcommand_within_discords_limits() {
        let defs = definitions();
        let names: Vec<&str> = defs
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["insights", "decision", SAVE_AS_INSIGHT]);
        for command in defs.as_array().unwrap() {
            for sub in command["options"].as_array().into_iter().flatten() {
                let name = sub["name"].as_str().unwrap();
                let line = format!("/{} {name}", command["name"].as_str().unwrap());
                assert!(sub["description"].as_str().unwrap().len() <= 100, "{line}");
                // Every subcommand is one the grammar knows.
                let help = format!("/{} help {name}", command["name"].as_str().unwrap());
                flywheel_insights::command::parse(&help).unwrap_or_else(|e| panic!("{help}: {e}"));
            }
        }
    }
}
