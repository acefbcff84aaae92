//! The parts of a URL the configuration checks or shows: the password it may carry (in its
//! user information or a query parameter), its ports, and whether its host is this machine.
//!
//! These are read by hand rather than with a URL parser because the text may be wrong in ways a
//! parser refuses (an unencoded `/` or `@` in a password, a port out of range), and the password
//! must stay hidden in exactly those cases: the messages that report them quote the URL.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `scheme://[userinfo@]hosts[tail]`, split without decoding anything.
struct Parts<'u> {
    scheme: &'u str,
    userinfo: Option<&'u str>,
    /// One or more `host[:port]`, comma-separated (libpq lists fallback hosts so).
    hosts: &'u str,
    /// The path, query and fragment, each with its leading `/`, `?` or `#`.
    tail: &'u str,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    // The last `@` before the query ends the user information, so a password holding an
    // unencoded `/` or `@` is still taken whole.
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let (userinfo, after) = match rest[..query_at].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let hosts_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some(Parts {
        scheme,
        userinfo,
        hosts: &after[..hosts_end],
        tail: &after[hosts_end..],
    })
}

/// Whether a query parameter of this name carries a secret (`password`, `sslpassword`,
/// `passfile`, `pwd`, an access token).
fn is_secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token"]
        .iter()
        .any(|word| name.contains(word))
}

/// The URL with every password replaced by `***`: the one in `user:password@` and the value of
/// every password-like query parameter. A URL without `://` is returned as it is: callers that
/// quote a URL in a message use [`quotable`] instead.
pub(crate) fn redact(url: &str) -> String {
    let Some(parts) = parts(url) else {
        return url.to_string();
    };
    let mut out = format!("{}://", parts.scheme);
    if let Some(userinfo) = parts.userinfo {
        match userinfo.split_once(':') {
            Some((user, _)) => {
                out.push_str(user);
                out.push_str(":***");
            }
            None => out.push_str(userinfo),
        }
        out.push('@');
    }
    out.push_str(parts.hosts);
    let Some((path, query)) = parts.tail.split_once('?') else {
        out.push_str(parts.tail);
        return out;
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    out.push_str(path);
    out.push('?');
    for (n, parameter) in query.split('&').enumerate() {
        if n > 0 {
            out.push('&');
        }
        match parameter.split_once('=') {
            Some((name, _)) if is_secret_parameter(name) => {
                out.push_str(name);
                out.push_str("=***");
            }
            _ => out.push_str(parameter),
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The URL as a message may quote it: redacted, or nothing when it is too malformed to tell
/// where a password would be (`postgres:app:hunter2@db`).
pub(crate) fn quotable(url: &str) -> Option<String> {
    if url.contains("://") {
        Some(redact(url))
    } else if url.contains('@') {
        None
    } else {
        Some(url.to_string())
    }
}

/// Checks every port of the URL: each host's (`db:5432`, `[::1]:5432`, `a:5432,b:5433`) and a
/// `port=` query parameter. The message names the port, never the rest of the URL.
pub(crate) fn check_ports(url: &str) -> Result<(), String> {
    let Some(parts) = parts(url) else {
        return Ok(());
    };
    for host in parts.hosts.split(',') {
        let port = match host.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((_, rest)) => rest.strip_prefix(':').unwrap_or(rest),
                None => return Err("an IPv6 address is missing its closing ']'".to_string()),
            },
            None => host.split_once(':').map_or("", |(_, port)| port),
        };
        if !port.is_empty() {
            check_port(port)?;
        }
    }
    let query = parts.tail.split_once('?').map_or("", |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    for parameter in query.split('&') {
        if let Some(("port", port)) = parameter.split_once('=') {
            for port in port.split(',') {
                check_port(port)?;
            }
        }
    }
    Ok(())
}

fn check_port(port: &str) -> Result<(), String> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {port:?} is not a number from 1 to 65535"));
    }
    match port.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(()),
        _ => Err(format!("port {port} is out of range: use 1 to 65535")),
    }
}

/// Whether the URL's host is this machine: `localhost`, an address in `127.0.0.0/8`, or
/// `[::1]`. Names that merely start like one (`127.evil.example`, `localhost.example`) are not.
pub(crate) fn is_loopback(url: &str) -> bool {
    let Some(parts) = parts(url) else {
        return false;
    };
    let host = match parts.hosts.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((inside, _)) => {
                return inside.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
            }
            None => return false,
        },
        None => parts.hosts.split_once(':').map_or(parts.hosts, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a request to the URL carries its credentials unencrypted across a network: plain
/// `http://` to a host that is not this machine.
pub(crate) fn in_clear(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
        && !is_loopback(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_wherever_they_appear() {
        for (url, shown) in [
            ("postgres://fw:secret@host/db", "postgres://fw:***@host/db"),
            (
                "postgres://fw@host/db?password=secret",
                "postgres://fw@host/db?password=***",
            ),
            (
                "postgres://fw@host/db?sslmode=require&sslpassword=secret&application_name=fw",
                "postgres://fw@host/db?sslmode=require&sslpassword=***&application_name=fw",
            ),
            (
                "postgresql://h/db?PassWord=secret#x",
                "postgresql://h/db?PassWord=***#x",
            ),
            (
                "postgres://h/db?passfile=/secret",
                "postgres://h/db?passfile=***",
            ),
            (
                "postgres://fw:se/cr@et@host:5432/db",
                "postgres://fw:***@host:5432/db",
            ),
            ("postgres://:secret@host", "postgres://:***@host"),
            ("postgres://a:b:c@h", "postgres://a:***@h"),
            ("postgres://app@db/flywheel", "postgres://app@db/flywheel"),
            ("postgres://db/x?user=a@b", "postgres://db/x?user=a@b"),
            ("sqlite:///var/lib/f.db", "sqlite:///var/lib/f.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
        assert_eq!(quotable("postgres:fw:secret@host/db"), None);
        assert_eq!(quotable("flywheel.db").as_deref(), Some("flywheel.db"));
    }

    #[test]
    fn ports_must_be_numbers_from_1_to_65535() {
        for url in [
            "postgres://h/db",
            "postgres://h:5432/db",
            "postgres://u:p@h:65535/db",
            "postgres://[::1]:5432/db",
            "postgres://[::1]/db",
            "postgres://a:5432,b:5433/db",
            "postgres://h/db?port=6543",
            "postgres://h:/db",
            "sqlite:///tmp/f.db",
        ] {
            assert_eq!(check_ports(url), Ok(()), "{url}");
        }
        for (url, message) in [
            (
                "postgres://h:99999/db",
                "port 99999 is out of range: use 1 to 65535",
            ),
            (
                "postgres://h:0/db",
                "port 0 is out of range: use 1 to 65535",
            ),
            (
                "postgres://[::1]:70000/db",
                "port 70000 is out of range: use 1 to 65535",
            ),
            (
                "postgres://a:5432,b:99999/db",
                "port 99999 is out of range: use 1 to 65535",
            ),
            (
                "postgres://h/db?port=99999",
                "port 99999 is out of range: use 1 to 65535",
            ),
            (
                "postgres://h:123456789012345678901/db",
                "port 123456789012345678901 is out of range: use 1 to 65535",
            ),
            (
                "postgres://h:54x/db",
                "port \"54x\" is not a number from 1 to 65535",
            ),
            (
                "postgres://[::1/db",
                "an IPv6 address is missing its closing ']'",
            ),
        ] {
            assert_eq!(check_ports(url), Err(message.to_string()), "{url}");
        }
    }

    #[test]
    fn only_localhost_127_0_0_0_8_and_ipv6_loopback_are_this_machine() {
        for url in [
            "http://127.0.0.1:4000/api",
            "http://127.8.9.10/api",
            "http://localhost/api",
            "http://LOCALHOST:80",
            "http://[::1]:80/api",
            "http://user:pw@127.0.0.1/api",
        ] {
            assert!(is_loopback(url), "{url}");
            assert!(!in_clear(url), "{url}");
        }
        for url in [
            "http://127.evil.example/api",
            "http://127.0.0.1.nip.io/api",
            "http://localhost.evil.test/api",
            "http://evil.example/127.0.0.1",
            "http://evil.example?localhost",
            "http://[::2]/api",
            "http://0x7f000001/api",
            "http://128.0.0.1/api",
            "http://slack.example.com/api",
        ] {
            assert!(!is_loopback(url), "{url}");
            assert!(in_clear(url), "{url}");
        }
        assert!(!in_clear("https://slack.example.com/api"));
        assert!(!in_clear("HTTPS://127.evil.example/api"));
        assert!(in_clear("HTTP://127.evil.example/api"));
    }
}
