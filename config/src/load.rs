//! From text and environment to [`RawFile`]: TOML syntax, unknown keys and types, and
//! environment overrides, each reported with its key path (or variable) and never stopping at
//! the first.
//!
//! Overrides are applied to the TOML tree before anything is interpreted, so a value from the
//! environment goes through exactly the checks a value from the file does; [`Problems`]
//! remembers which paths came from which variable so messages can name the variable instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use flywheel_insights::model::nearest;

use crate::environment::Environment;
use crate::raw::RawFile;
use crate::schema::{self, EnvNameError, EnvTarget, Kind, SECTIONS, Section};

/// Problems collected so far, with where each value came from.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    found: Vec<(Order, String, crate::Problem)>,
    /// Key path → the variable that set it.
    pub(crate) overrides: BTreeMap<String, String>,
}

/// Sort key: (group, section, item, key). Groups: 0 variables, 1 syntax and unknown sections,
/// 2 sections.
type Order = (u8, usize, usize, usize);

impl Problems {
    /// Records a problem with the value at `path` (`teams[1].channels[0]`), shown at the variable
    /// that set it when it came from the environment.
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        let at = self.at(path);
        self.found.push((
            order(path),
            path.to_string(),
            crate::Problem {
                at,
                message: message.into(),
            },
        ));
    }

    /// Records a problem with a variable's name.
    pub(crate) fn push_variable(&mut self, name: &str, message: impl Into<String>) {
        self.push_raw((0, 0, 0, 0), name.to_string(), message.into());
    }

    fn push_raw(&mut self, order: Order, at: String, message: String) {
        self.found
            .push((order, at.clone(), crate::Problem { at, message }));
    }

    /// Whether a problem was already recorded for `path` or inside it (so a key dropped for its
    /// type is not reported again as missing).
    pub(crate) fn has(&self, path: &str) -> bool {
        self.found.iter().any(|(_, p, _)| {
            p == path
                || p.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    }

    /// Where to say a problem with `path` is.
    fn at(&self, path: &str) -> String {
        if let Some(var) = self.overrides.get(path) {
            return var.clone();
        }
        // An item of a list that was set as a whole: `FLYWHEEL_TEAMS_0_CHANNELS[1]`.
        if let Some((parent, item)) = path.rsplit_once('[')
            && let Some(var) = self.overrides.get(parent)
        {
            return format!("{var}[{item}");
        }
        path.to_string()
    }

    /// Whether anything was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The problems in their documented order.
    pub(crate) fn into_error(mut self) -> crate::ConfigError {
        self.found.sort_by_key(|(order, _, _)| *order);
        crate::ConfigError {
            problems: self.found.into_iter().map(|(_, _, p)| p).collect(),
        }
    }
}

/// Orders a key path: by section as listed in the schema, then item, then key as listed.
fn order(path: &str) -> Order {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    let Some(position) = SECTIONS.iter().position(|s| s.name == &path[..end]) else {
        return (1, 0, 0, 0);
    };
    let section = &SECTIONS[position];
    let mut rest = &path[end..];
    let mut item = 0;
    if let Some(inner) = rest.strip_prefix('[') {
        let digits: String = inner.chars().take_while(char::is_ascii_digit).collect();
        item = digits.parse().unwrap_or(0);
        rest = inner[digits.len()..].trim_start_matches(']');
    }
    let key_name = rest.trim_start_matches('.');
    let key_name = &key_name[..key_name.find(['.', '[']).unwrap_or(key_name.len())];
    let key = section
        .keys
        .iter()
        .position(|k| k.name == key_name)
        .map_or(0, |p| p + 1);
    (2, position, item, key)
}

/// Reads `text` as TOML, applies the environment's overrides, checks every key and type, and
/// deserializes what is sound. Returns `None` only when the text is not TOML at all.
pub(crate) fn read(
    text: &str,
    file: Option<&Path>,
    env: &Environment,
    problems: &mut Problems,
) -> Option<RawFile> {
    let overrides = scan_environment(env, problems);
    let mut root: toml::Table = match text.parse() {
        Ok(table) => table,
        Err(error) => {
            syntax_problem(text, file, &error, problems);
            return None;
        }
    };
    check_sections(&mut root, problems);
    apply_overrides(&mut root, overrides, problems);
    for section in SECTIONS {
        match root.get_mut(section.name) {
            Some(toml::Value::Table(table)) => check_keys(section, section.name, table, problems),
            Some(toml::Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let toml::Value::Table(table) = item {
                        let path = format!("{}[{i}]", section.name);
                        check_keys(section, &path, table, problems);
                    }
                }
            }
            _ => {}
        }
    }
    match toml::Value::Table(root).try_into::<RawFile>() {
        Ok(raw) => Some(raw),
        Err(error) => {
            // Every key and type was checked against the schema above; reaching this means the
            // schema and the raw types disagree.
            problems.push("config", format!("could not be read: {}", error.message()));
            None
        }
    }
}

/// Every `FLYWHEEL_*` variable that is a setting, with its target; problems for the rest.
fn scan_environment<'e>(
    env: &'e Environment,
    problems: &mut Problems,
) -> Vec<(&'e str, EnvTarget, &'e str)> {
    let mut found = Vec::new();
    for (name, value) in env.iter() {
        match schema::resolve_env(name) {
            // Container tooling often passes unset variables as empty ones.
            Ok(Some(_)) if value.is_empty() => {}
            Ok(Some(target)) => found.push((name, target, value)),
            Ok(None) => {}
            Err(EnvNameError::Unknown(suggestion)) => problems.push_variable(
                name,
                match suggestion {
                    Some(s) => format!("unknown setting — did you mean {s}?"),
                    None => "unknown setting (settings are FLYWHEEL_<SECTION>_<KEY>, e.g. \
                             FLYWHEEL_STORE_URL; see the example configuration)"
                        .to_string(),
                },
            ),
            Err(EnvNameError::Secret {
                section,
                name: secret,
                default_env,
            }) => {
                let prefix = format!(
                    "FLYWHEEL_{}_{}",
                    section.to_uppercase(),
                    secret.to_uppercase()
                );
                problems.push_variable(
                    name,
                    format!(
                        "unknown setting — the {section} {} is read from {default_env}, or from \
                         the variable named by {prefix}_ENV or the file named by {prefix}_FILE",
                        secret.replace('_', " ")
                    ),
                );
            }
        }
    }
    found
}

/// Where a TOML syntax error is: `path:line:column`, or `line L, column C` without a file.
fn syntax_problem(
    text: &str,
    file: Option<&Path>,
    error: &toml::de::Error,
    problems: &mut Problems,
) {
    let start = error.span().map_or(0, |s| s.start).min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    let at = match file {
        Some(path) => format!("{}:{line}:{column}", path.display()),
        None => format!("line {line}, column {column}"),
    };
    // Only the parser's message: its full display quotes the offending line, which may hold a
    // token someone pasted by mistake.
    let message = error
        .message()
        .trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    problems.push_raw((1, 0, 0, 0), at, format!("not valid TOML: {message}"));
}

/// Top level: only known sections, each of the right shape. Wrong ones are reported and dropped.
fn check_sections(root: &mut toml::Table, problems: &mut Problems) {
    let names: Vec<&str> = SECTIONS.iter().map(|s| s.name).collect();
    let mut drop = Vec::new();
    for (key, value) in root.iter() {
        let Some(section) = schema::section(key) else {
            let hint = if schema::looks_secret(key) {
                secret_hint()
            } else {
                match nearest(key, names.iter().copied()) {
                    Some(s) => format!(" (did you mean [{s}]?)"),
                    None => format!("; the sections are {}", names.join(", ")),
                }
            };
            problems.push(key, format!("unknown key{hint}"));
            drop.push(key.clone());
            continue;
        };
        let shape_ok = if section.repeated {
            matches!(value, toml::Value::Array(items) if items.iter().all(toml::Value::is_table))
        } else {
            value.is_table()
        };
        if !shape_ok {
            let wanted = if section.repeated {
                format!("an array of tables, written [[{key}]]")
            } else {
                format!("a table, written [{key}]")
            };
            problems.push(key, format!("expected {wanted}, found {}", describe(value)));
            drop.push(key.clone());
        }
    }
    for key in drop {
        root.remove(&key);
    }
}

fn secret_hint() -> String {
    "; secrets are never read from the config file: use an environment variable or a file \
     (see the *_env and *_file keys)"
        .to_string()
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::Array(items) if items.iter().any(|i| !i.is_table()) && !items.is_empty() => {
            "an array of plain values".to_string()
        }
        other => format!("a {}", other.type_str()),
    }
}

/// Writes each variable's value into the tree at its key, typed by the schema.
fn apply_overrides(
    root: &mut toml::Table,
    overrides: Vec<(&str, EnvTarget, &str)>,
    problems: &mut Problems,
) {
    for (name, target, value) in overrides {
        let value = match from_env(target.key.kind, value) {
            Ok(v) => v,
            Err(message) => {
                problems.push_variable(name, message);
                continue;
            }
        };
        let table = match target.index {
            None => root
                .entry(target.section.name)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut(),
            Some(index) => {
                let items = root
                    .get_mut(target.section.name)
                    .and_then(|v| v.as_array_mut());
                let count = items.as_ref().map_or(0, |i| i.len());
                match items.and_then(|items| items.get_mut(index)) {
                    Some(item) => item.as_table_mut(),
                    None => {
                        problems.push_variable(
                            name,
                            format!(
                                "the config file has no {}[{index}] to override (it has {count} [[{}]])",
                                target.section.name, target.section.name
                            ),
                        );
                        continue;
                    }
                }
            }
        };
        if let Some(table) = table {
            table.insert(target.key.name.to_string(), value);
            problems.overrides.insert(target.path(), name.to_string());
        }
    }
}

/// A variable's text as the TOML value its key holds.
fn from_env(kind: Kind, text: &str) -> Result<toml::Value, String> {
    Ok(match kind {
        Kind::Text | Kind::Id => toml::Value::String(text.to_string()),
        Kind::Integer => toml::Value::Integer(
            text.trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a whole number"))?,
        ),
        Kind::Bool => toml::Value::Boolean(match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(format!("{text:?} is not true or false")),
        }),
        Kind::List => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        ),
    })
}

/// Checks the keys of one table against its section; unknown or mistyped keys are reported and
/// dropped so that the rest can still be checked.
fn check_keys(section: &Section, path: &str, table: &mut toml::Table, problems: &mut Problems) {
    let mut drop = BTreeSet::new();
    for (name, value) in table.iter_mut() {
        let key_path = format!("{path}.{name}");
        let Some(key) = section.key(name) else {
            problems.push(&key_path, unknown_key(section, name));
            drop.insert(name.clone());
            continue;
        };
        let ok = match (key.kind, &*value) {
            (Kind::Text, toml::Value::String(_))
            | (Kind::Integer, toml::Value::Integer(_))
            | (Kind::Bool, toml::Value::Boolean(_))
            | (Kind::Id, toml::Value::String(_)) => true,
            (Kind::Id, toml::Value::Integer(n)) => {
                // Discord ids are snowflakes: kept as text, checked later like a quoted one.
                *value = toml::Value::String(n.to_string());
                true
            }
            (Kind::List, toml::Value::Array(items)) => {
                let mut all_text = true;
                for (i, item) in items.iter().enumerate() {
                    if !item.is_str() {
                        problems.push(
                            &format!("{key_path}[{i}]"),
                            format!("expected a string, found a {}", item.type_str()),
                        );
                        all_text = false;
                    }
                }
                if !all_text {
                    drop.insert(name.clone());
                }
                continue;
            }
            _ => false,
        };
        if !ok {
            problems.push(
                &key_path,
                format!(
                    "expected {}, found a {}",
                    key.kind.expected(),
                    value.type_str()
                ),
            );
            drop.insert(name.clone());
        }
    }
    for name in drop {
        table.remove(&name);
    }
}

fn unknown_key(section: &Section, name: &str) -> String {
    if let Some(secret) = section.secrets.iter().find(|s| s.name == name) {
        return format!(
            "secrets are not read from the config file: set {} in the environment, or point to \
             it with {name}_env = \"VARIABLE\" or {name}_file = \"/path/to/file\"",
            secret.default_env
        );
    }
    if schema::looks_secret(name) {
        return format!("unknown key{}", secret_hint());
    }
    let names = section.keys.iter().map(|k| k.name);
    match nearest(name, names.clone()) {
        Some(s) => format!("unknown key (did you mean {s:?}?)"),
        None => format!(
            "unknown key; [{}] takes {}",
            section.name,
            names.collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_order_by_section_item_and_key() {
        assert!(order("store.url") < order("store.max_connections"));
        assert!(order("store.max_connections") < order("teams[0].name"));
        assert!(order("teams[0].managers") < order("teams[1].name"));
        assert!(order("teams[2].name") < order("teams[10].name"));
        assert!(order("teams[1].channels[3]") < order("teams[1].schedule"));
        assert!(order("teams[1].bogus") < order("teams[1].name"));
        assert!(order("bogus") < order("store.url"));
        assert!(order("themes[0].match") < order("slack.api_url"));
    }

    #[test]
    fn environment_values_take_the_key_type() {
        assert_eq!(from_env(Kind::Integer, " 7 "), Ok(toml::Value::Integer(7)));
        assert!(
            from_env(Kind::Integer, "seven")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert_eq!(from_env(Kind::Bool, "OFF"), Ok(toml::Value::Boolean(false)));
        assert!(
            from_env(Kind::Bool, "nope")
                .unwrap_err()
                .contains("not true or false")
        );
        assert_eq!(
            from_env(Kind::List, "slack:C1, discord:2,,"),
            Ok(toml::Value::Array(vec![
                "slack:C1".into(),
                "discord:2".into()
            ]))
        );
    }
}
