//! The HTTP ingestion API of a real `flywheel serve`: tokens, limits, formats, idempotent
//! writes, strict mode, hostile input, redaction, team limits, and the answers found afterwards
//! by `GET` and by `flywheel ask`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use super::serve::Service;
use super::{Scratch, json as run_json};

/// The tokens every service here is started with: one for everything, one limited to support.
const ZENDESK: &str = "zendesk-0123456789abcdef";
const SUPPORT: &str = "support-0123456789abcdef";

/// Two teams, so a team-limited token has something not to see.
const CONFIG: &str = "\
[[teams]]
name = \"support\"
channels = [\"console:support\"]

[[teams]]
name = \"growth\"
channels = [\"console:growth\"]

[api]
max_body_bytes = 65536
max_items = 20
";

/// An answer: status, headers (names lowercase) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.status, self.headers, self.body)
    }
}

struct Api {
    service: Service,
    scratch: Scratch,
}

impl Api {
    fn start() -> Api {
        Api::start_with(
            CONFIG,
            &format!("zendesk:{ZENDESK},support:{SUPPORT}:support"),
        )
    }

    fn start_with(config: &str, tokens: &str) -> Api {
        let scratch = Scratch::sqlite();
        let service = Service::start_limited(
            scratch.dir.path(),
            &scratch.store_url,
            config,
            None,
            &[("FLYWHEEL_API_TOKENS", tokens)],
        );
        Api { service, scratch }
    }

    /// One request on a new connection; `headers` as `Name: value` lines.
    fn request(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Answer {
        let mut stream = TcpStream::connect(self.service.address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: flywheel\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        // A refusal may come before the whole body is sent.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("not HTTP: {text:?}\n{}", self.service.log()));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not HTTP: {text:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Answer {
            status,
            headers,
            body: body.to_string(),
        }
    }

    fn post_as(&self, token: &str, path: &str, content_type: &str, body: &[u8]) -> Answer {
        self.request(
            "POST",
            path,
            &[
                &format!("Authorization: Bearer {token}"),
                &format!("Content-Type: {content_type}"),
            ],
            body,
        )
    }

    fn post(&self, body: &Value) -> Answer {
        self.post_as(
            ZENDESK,
            "/api/v1/insights",
            "application/json",
            body.to_string().as_bytes(),
        )
    }

    fn get_as(&self, token: &str, query: &str) -> Answer {
        self.request(
            "GET",
            &format!("/api/v1/insights?{query}"),
            &[&format!("Authorization: Bearer {token}")],
            b"",
        )
    }

    /// `flywheel ARGS` on the service's store and data directory.
    fn run(&self, args: &[&str]) -> super::Run {
        self.scratch.run(args)
    }
}

fn statuses(answer: &Answer) -> Vec<String> {
    answer.json()["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {answer:?}"))
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

fn found_refs(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{answer:?}");
    let mut refs: Vec<String> = answer.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source_ref"].as_str().unwrap().to_string())
        .collect();
    refs.sort();
    refs
}

#[test]
fn posted_insights_are_found_at_once_by_get_and_by_ask_and_audited_by_token_name() {
    let api = Api::start();
    let one = api.post(&json!({
        "source_ref": "z-1",
        "title": "Refund took six weeks",
        "body": "The refund for my cancelled order took six weeks to arrive",
        "date": "2026-01-05"
    }));
    assert_eq!(one.status, 200, "{one:?}");
    assert_eq!(one.json()["created"], 1, "{one:?}");
    assert_eq!(one.json()["results"][0]["index"], 0, "{one:?}");
    assert!(one.json()["results"][0]["id"].as_i64().is_some(), "{one:?}");

    let array = api.post(&json!([
        {"id": "z-2", "subject": "Invoice wrong", "feedback": "Charged twice on the invoice"},
        {"id": "z-3", "subject": "Login loop", "feedback": "Cannot log in after a password reset"}
    ]));
    assert_eq!(array.status, 200, "{array:?}");
    assert_eq!(statuses(&array), ["created", "created"], "{array:?}");

    let ndjson = "{\"source_ref\": \"z-4\", \"body\": \"Refund denied without a reason\"}\n\n\
                  {\"source_ref\": \"z-5\", \"body\": \"Export to CSV times out\"}\n";
    let lines = api.post_as(
        ZENDESK,
        "/api/v1/insights",
        "application/x-ndjson",
        ndjson.as_bytes(),
    );
    assert_eq!(lines.status, 200, "{lines:?}");
    assert_eq!(statuses(&lines), ["created", "created"], "{lines:?}");
    assert_eq!(lines.json()["results"][1]["row"], 3, "{lines:?}");

    let got = api.get_as(ZENDESK, "q=refund&limit=10");
    assert_eq!(found_refs(&got), ["z-1", "z-4"], "{got:?}");
    assert_eq!(got.json()["total"], 2, "{got:?}");
    assert_eq!(got.json()["results"][0]["source"], "zendesk", "{got:?}");

    let asked = api.run(&["ask", "refund", "--json", "--limit", "10"]);
    assert_eq!(asked.code, 0, "{asked:?}");
    let answer = run_json(&asked);
    assert_eq!(answer["total"], 2, "{asked:?}");
    // GET answers exactly as `flywheel ask --json` does.
    let from_cli: Vec<&Value> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    let got = got.json();
    let from_api: Vec<&Value> = got["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(from_cli, from_api);
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&answer), keys(&got));

    let limit = api.get_as(ZENDESK, "q=refund&limit=1");
    assert_eq!(limit.json()["results"].as_array().unwrap().len(), 1);
    let capped = api.get_as(ZENDESK, "q=refund&limit=100000");
    assert_eq!(capped.status, 200, "{capped:?}");
    let bad = api.get_as(ZENDESK, "q=severity%3A%3E%3D9");
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(
        bad.json()["error"].as_str().unwrap().contains("severity"),
        "{bad:?}"
    );
    let empty = api.get_as(ZENDESK, "q=");
    assert_eq!(empty.status, 400, "{empty:?}");
    let zero = api.get_as(ZENDESK, "q=refund&limit=0");
    assert_eq!(zero.status, 400, "{zero:?}");

    let audit = api.run(&["audit", "export"]);
    assert_eq!(audit.code, 0, "{audit:?}");
    let events = run_json(&audit);
    let imported: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "insights.imported")
        .collect();
    assert_eq!(imported.len(), 3, "{audit:?}");
    assert!(
        imported.iter().all(|e| e["actor"] == "api:zendesk"),
        "{audit:?}"
    );

    let metrics = api.service.get("/metrics").1;
    assert!(
        metrics.contains("flywheel_imported_rows_total{outcome=\"inserted\"} 5"),
        "{metrics}"
    );
    let log = api.service.log();
    for token in [ZENDESK, SUPPORT] {
        assert!(!log.contains(token), "a token was logged:\n{log}");
    }
}

#[test]
fn posting_again_changes_nothing_and_a_changed_item_is_updated() {
    let api = Api::start();
    let items = json!([
        {"source_ref": "d-1", "body": "Refund took six weeks"},
        {"source_ref": "d-2", "body": "Invoice charged twice"}
    ]);
    let first = api.post(&items);
    assert_eq!(statuses(&first), ["created", "created"], "{first:?}");
    let again = api.post(&items);
    assert_eq!(statuses(&again), ["unchanged", "unchanged"], "{again:?}");
    assert_eq!(
        first.json()["results"][0]["id"],
        again.json()["results"][0]["id"]
    );
    let changed = api.post(&json!([
        {"source_ref": "d-1", "body": "Refund took seven weeks"},
        {"source_ref": "d-2", "body": "Invoice charged twice"}
    ]));
    assert_eq!(statuses(&changed), ["updated", "unchanged"], "{changed:?}");
    let got = api.get_as(ZENDESK, "q=seven");
    assert_eq!(found_refs(&got), ["d-1"], "{got:?}");
    let got = api.get_as(ZENDESK, "q=six");
    assert_eq!(got.json()["total"], 0, "{got:?}");

    // The same item twice in one request: the first is kept, the second rejected.
    let twice = api.post(&json!([
        {"source_ref": "d-3", "body": "Search is slow"},
        {"source_ref": "d-3", "body": "Search is slow again"}
    ]));
    assert_eq!(statuses(&twice), ["created", "rejected"], "{twice:?}");
}

#[test]
fn malformed_bodies_are_refused_with_where_they_break() {
    let api = Api::start();
    let post = |content_type: &str, body: &[u8]| {
        api.post_as(ZENDESK, "/api/v1/insights", content_type, body)
    };

    let broken = post(
        "application/json",
        b"[\n  {\"body\": \"fine\"},\n  {\"body\": oops}\n]",
    );
    assert_eq!(broken.status, 400, "{broken:?}");
    assert_eq!(broken.json()["line"], 3, "{broken:?}");
    assert_eq!(broken.json()["column"], 12, "{broken:?}");
    assert!(
        broken.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("JSON syntax error on line 3, column 12"),
        "{broken:?}"
    );

    let one = post("application/json", b"{\"body\": }");
    assert_eq!(one.status, 400, "{one:?}");
    assert_eq!(
        (one.json()["line"].clone(), one.json()["column"].clone()),
        (json!(1), json!(10))
    );

    let lines = post(
        "application/x-ndjson",
        b"{\"body\": \"fine\"}\n{\"body\": \"also fine\"}\n{\"body\": \n",
    );
    assert_eq!(lines.status, 400, "{lines:?}");
    assert_eq!(lines.json()["line"], 3, "{lines:?}");

    let not_utf8 = post("application/json", b"[{\"body\": \"caf\xe9\"}]");
    assert_eq!(not_utf8.status, 400, "{not_utf8:?}");
    assert!(
        not_utf8.json()["error"]
            .as_str()
            .unwrap()
            .contains("not UTF-8"),
        "{not_utf8:?}"
    );

    let depth = 10_000;
    let nested = format!(
        "[{{\"body\": \"deep\", \"extra\": {}{}}}]",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let deep = post("application/json", nested.as_bytes());
    assert_eq!(deep.status, 400, "{deep:?}");
    assert!(
        deep.json()["error"]
            .as_str()
            .unwrap()
            .contains("recursion limit"),
        "{deep:?}"
    );
    let deep_line = format!(
        "{{\"body\": {}{}}}\n",
        "{\"a\":".repeat(5_000),
        "}".repeat(5_000)
    );
    let deep = post("application/x-ndjson", deep_line.as_bytes());
    assert_eq!(deep.status, 400, "{deep:?}");

    for (content_type, body) in [
        ("application/json", &b""[..]),
        ("application/json", b"\"just a string\""),
        ("application/json", b"[{\"colour\": \"blue\"}]"),
        ("application/x-ndjson", b"[{\"body\": \"an array\"}]"),
    ] {
        let answer = post(content_type, body);
        assert_eq!(answer.status, 400, "{answer:?}");
        assert!(answer.json()["error"].as_str().is_some(), "{answer:?}");
    }
    // Nothing of any of it was stored, and the service is still answering.
    let got = api.get_as(ZENDESK, "q=fine");
    assert_eq!(got.json()["total"], 0, "{got:?}");
}

#[test]
fn limits_tokens_and_content_types_are_enforced_with_json_errors() {
    let api = Api::start();
    let item = |n: usize| json!({"source_ref": format!("l-{n}"), "body": format!("Item {n}")});

    let large = json!([{"body": "x".repeat(70_000)}]);
    let answer = api.post(&large);
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("65536 bytes"),
        "{answer:?}"
    );

    let many: Vec<Value> = (0..21).map(item).collect();
    let answer = api.post(&Value::from(many));
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("the request holds 21 insights; the limit is 20"),
        "{answer:?}"
    );
    let enough: Vec<Value> = (0..20).map(item).collect();
    assert_eq!(api.post(&Value::from(enough)).json()["created"], 20);

    let body = item(99).to_string();
    let none = api.request(
        "POST",
        "/api/v1/insights",
        &["Content-Type: application/json"],
        body.as_bytes(),
    );
    assert_eq!(none.status, 401, "{none:?}");
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer"),
        "{none:?}"
    );
    let wrong = api.post_as(
        "zendesk-0123456789abcdeX",
        "/api/v1/insights",
        "application/json",
        body.as_bytes(),
    );
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token"),
        "{wrong:?}"
    );
    let basic = api.request(
        "GET",
        "/api/v1/insights?q=item",
        &[&format!("Authorization: Basic {ZENDESK}")],
        b"",
    );
    assert_eq!(basic.status, 401, "{basic:?}");
    assert!(wrong.json()["error"].as_str().is_some());

    let csv = api.post_as(ZENDESK, "/api/v1/insights", "text/csv", b"body\nhello\n");
    assert_eq!(csv.status, 415, "{csv:?}");
    assert!(
        csv.json()["error"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    let untyped = api.request(
        "POST",
        "/api/v1/insights",
        &[&format!("Authorization: Bearer {ZENDESK}")],
        body.as_bytes(),
    );
    assert_eq!(untyped.status, 415, "{untyped:?}");
    let charset = api.post_as(
        ZENDESK,
        "/api/v1/insights",
        "application/json; charset=utf-8",
        body.as_bytes(),
    );
    assert_eq!(charset.status, 200, "{charset:?}");

    let log = api.service.log();
    assert!(
        !log.contains("0123456789abcde"),
        "a token was logged:\n{log}"
    );

    let off = Api::start_with("", "");
    let answer = off.post(&item(1));
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("FLYWHEEL_API_TOKENS"),
        "{answer:?}"
    );
}

#[test]
fn strict_writes_nothing_when_an_item_is_bad_and_lenient_writes_the_good_ones() {
    let api = Api::start();
    let items = json!([
        {"source_ref": "s-1", "body": "Refund took six weeks"},
        {"source_ref": "s-2", "title": "", "body": ""},
        {"source_ref": "s-3", "body": "Invoice charged twice", "severity": 9},
        {"source_ref": "s-4", "body": "Login loop after reset"}
    ]);
    let strict = api.post_as(
        ZENDESK,
        "/api/v1/insights?strict=true",
        "application/json",
        items.to_string().as_bytes(),
    );
    assert_eq!(strict.status, 422, "{strict:?}");
    assert_eq!(
        statuses(&strict),
        ["not_written", "rejected", "rejected", "not_written"],
        "{strict:?}"
    );
    assert!(
        strict.json()["error"]
            .as_str()
            .unwrap()
            .contains("nothing was written")
    );
    let got = api.get_as(ZENDESK, "q=refund OR login".replace(' ', "%20").as_str());
    assert_eq!(got.json()["total"], 0, "{got:?}");

    let lenient = api.post(&items);
    assert_eq!(lenient.status, 200, "{lenient:?}");
    assert_eq!(
        statuses(&lenient),
        ["created", "rejected", "rejected", "created"],
        "{lenient:?}"
    );
    let results = &lenient.json()["results"];
    assert_eq!(results[1]["index"], 1);
    assert!(
        results[1]["reason"].as_str().unwrap().contains("no text"),
        "{lenient:?}"
    );
    assert_eq!(results[2]["index"], 2);
    assert!(
        results[2]["reason"].as_str().unwrap().contains("severity"),
        "{lenient:?}"
    );
    let got = api.get_as(ZENDESK, "q=refund%20OR%20login&limit=10");
    assert_eq!(found_refs(&got), ["s-1", "s-4"], "{got:?}");

    let bad_flag = api.post_as(
        ZENDESK,
        "/api/v1/insights?strict=maybe",
        "application/json",
        items.to_string().as_bytes(),
    );
    assert_eq!(bad_flag.status, 400, "{bad_flag:?}");
}

#[test]
fn hostile_text_is_stored_verbatim_or_refused_with_a_reason() {
    let api = Api::start();
    let sql = "Robert'); DROP TABLE insights;-- refund \" OR 1=1 --";
    let answer = api.post(&json!([
        {"source_ref": "h-1", "title": sql, "body": "<script>alert(1)</script> refund"},
        {"source_ref": "h-2", "body": "refund ".repeat(4_000)},
        {"source_ref": "h-3", "body": "nul \u{0} byte"},
        {"source_ref": "h-4", "body": "refund", "url": "javascript:alert(1)"}
    ]));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        statuses(&answer),
        ["created", "rejected", "rejected", "rejected"],
        "{answer:?}"
    );
    let reasons = answer.json()["results"].clone();
    assert!(
        reasons[1]["reason"]
            .as_str()
            .unwrap()
            .contains("28,000 characters long; the limit is 20,000"),
        "{answer:?}"
    );
    assert!(
        reasons[2]["reason"].as_str().unwrap().contains("NUL"),
        "{answer:?}"
    );
    assert!(
        reasons[3]["reason"]
            .as_str()
            .unwrap()
            .contains("not a link"),
        "{answer:?}"
    );

    let got = api.get_as(ZENDESK, "q=refund");
    assert_eq!(got.status, 200, "{got:?}");
    let found = got.json();
    assert_eq!(found["total"], 1, "{got:?}");
    assert_eq!(found["results"][0]["title"], sql, "{got:?}");
    // The store is whole: the query did not run as SQL.
    let answer = api.post(&json!({"source_ref": "h-5", "body": "still working"}));
    assert_eq!(answer.json()["created"], 1, "{answer:?}");
}

#[test]
fn personal_data_is_redacted_before_it_is_stored() {
    let api = Api::start();
    let answer = api.post(&json!({
        "source_ref": "p-1",
        "title": "Refund for ana@example.com",
        "body": "Call me on +1 415 555 0100 about the refund, or write to ana@example.com",
        "account": "ana@example.com"
    }));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer.json()["redacted"].as_u64().unwrap() >= 4,
        "{answer:?}"
    );
    let got = api.get_as(ZENDESK, "q=refund");
    assert_eq!(got.json()["total"], 1, "{got:?}");
    let text = got.body.clone();
    for personal in ["ana@example.com", "555 0100", "5550100"] {
        assert!(!text.contains(personal), "{personal} was kept: {text}");
    }
    let result = &got.json()["results"][0];
    assert_eq!(result["title"], "Refund for [email]", "{result}");
    assert!(
        result["body"]
            .as_str()
            .unwrap_or_default()
            .contains("[phone]")
            || text.contains("[phone]"),
        "{result}"
    );
    assert_eq!(result["account"], "[email]", "{result}");
}

#[test]
fn a_team_limited_token_sees_and_writes_only_for_its_team() {
    let api = Api::start();
    let answer = api.post(&json!([
        {"source_ref": "t-1", "body": "Refund for everyone"},
        {"source_ref": "t-2", "body": "Refund for growth only", "teams": "growth"}
    ]));
    assert_eq!(statuses(&answer), ["created", "created"], "{answer:?}");
    let support = |body: &Value| {
        api.post_as(
            SUPPORT,
            "/api/v1/insights",
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    let written = support(&json!([
        {"source_ref": "t-3", "body": "Refund by support"},
        {"source_ref": "t-4", "body": "Refund sneaked to growth", "teams": "growth"}
    ]));
    assert_eq!(statuses(&written), ["created", "rejected"], "{written:?}");
    assert!(
        written.json()["results"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("only write for support"),
        "{written:?}"
    );

    let seen = api.get_as(SUPPORT, "q=refund&limit=10");
    assert_eq!(found_refs(&seen), ["t-1", "t-3"], "{seen:?}");
    let all = api.get_as(ZENDESK, "q=refund&limit=10");
    assert_eq!(found_refs(&all), ["t-1", "t-2", "t-3"], "{all:?}");
    let growth = api.get_as(ZENDESK, "q=refund&limit=10&team=growth");
    assert_eq!(found_refs(&growth), ["t-1", "t-2"], "{growth:?}");
    let as_growth = api.get_as(SUPPORT, "q=refund&team=growth");
    assert_eq!(as_growth.status, 403, "{as_growth:?}");
    let unknown = api.get_as(ZENDESK, "q=refund&team=nobody");
    assert_eq!(unknown.status, 400, "{unknown:?}");

    let audit = run_json(&api.run(&["audit", "export"]));
    let actors: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "insights.imported")
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["api:zendesk", "api:support"]);
}

#[test]
fn requests_beyond_max_requests_are_answered_busy_not_queued() {
    let api = Api::start_with("[api]\nmax_requests = 1\n", &format!("zendesk:{ZENDESK}"));
    // A request whose body is still arriving holds the only turn.
    let body =
        json!({"source_ref": "b-1", "body": "Slow upload of a refund complaint"}).to_string();
    let (first, rest) = body.split_at(10);
    let open_slow = || {
        let mut slow = TcpStream::connect(api.service.address).expect("connects");
        write!(
            slow,
            "POST /api/v1/insights HTTP/1.1\r\nHost: flywheel\r\nConnection: close\r\n\
             Authorization: Bearer {ZENDESK}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{first}",
            body.len()
        )
        .unwrap();
        slow
    };
    let mut slow = open_slow();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let busy = loop {
        let answer = api.get_as(ZENDESK, "q=refund");
        if answer.status == 503 {
            break answer;
        }
        assert_eq!(answer.status, 200, "{answer:?}");
        // The question took the turn first and the slow request was turned away: again.
        slow.set_nonblocking(true).unwrap();
        if slow.peek(&mut [0; 1]).is_ok_and(|n| n > 0) {
            slow = open_slow();
        } else {
            slow.set_nonblocking(false).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slow request never held its turn:\n{}",
            api.service.log()
        );
    };
    assert_eq!(busy.header("retry-after"), Some("1"), "{busy:?}");
    assert!(
        busy.json()["error"]
            .as_str()
            .unwrap()
            .contains("max_requests"),
        "{busy:?}"
    );

    slow.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let found = api.get_as(ZENDESK, "q=refund");
    assert_eq!(found_refs(&found), ["b-1"], "{found:?}");
}
