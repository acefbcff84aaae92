use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;
use crate::address::Platform;
use crate::model::Vocabulary;

fn ok(input: &str) -> Command {
    match parse(input) {
        Ok(command) => command,
        Err(e) => panic!("{input:?} failed: {e}"),
    }
}

fn error(input: &str) -> CommandError {
    match parse(input) {
        Ok(command) => panic!("{input:?} parsed as {command:?}"),
        Err(e) => e,
    }
}

fn ask(query: &str, share: bool) -> Command {
    Command::Ask {
        query: query.to_string(),
        share,
    }
}

#[test]
fn chart_takes_a_question_and_no_options() {
    assert_eq!(
        ok("/insights chart refund OR chargeback theme:billing"),
        Command::Chart {
            query: "refund OR chargeback theme:billing".into()
        }
    );
    assert_eq!(
        ok("/INSIGHTS Chart  refund").to_command_line(),
        "/insights chart refund"
    );
    let e = error("/insights chart");
    assert_eq!(e.usage, USAGE_CHART);
    assert!(e.to_string().contains("a question"), "{e}");
    let e = error("/insights chart --share refund");
    assert!(
        matches!(e.kind, CommandErrorKind::UnknownOption { .. }),
        "{e:?}"
    );
    assert_eq!(e.usage, USAGE_CHART);
    assert_eq!(
        ok("/insights help chart"),
        Command::Help {
            topic: Some(Topic::Chart)
        }
    );
    assert_eq!(
        error("/insights chrat refund").suggestion.as_deref(),
        Some("chart")
    );
    let listed = crate::command::help(None).to_plain();
    assert!(listed.contains("/insights chart refund"), "{listed}");
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn draft(title: &str, evidence: &[InsightId]) -> DecisionDraft {
    DecisionDraft {
        title: title.to_string(),
        evidence: evidence.to_vec(),
        review: None,
        owner: None,
        rationale: None,
    }
}

// Happy paths.

#[test]
fn ask_keeps_the_question_as_typed() {
    assert_eq!(
        ok("/insights ask what do enterprise customers say about onboarding?"),
        ask("what do enterprise customers say about onboarding?", false)
    );
    assert_eq!(
        ok("insights ask  refund   OR \"charged twice\" theme:billing"),
        ask("refund OR \"charged twice\" theme:billing", false)
    );
    assert_eq!(ok("/INSIGHTS Ask Refunds"), ask("Refunds", false));
}

#[test]
fn ask_can_be_shared() {
    for input in [
        "/insights ask --share refunds",
        "/insights ask refunds --share",
        "/insights ask --SHARE refunds --share",
        "/insights share refunds",
        "/insights ask —share refunds",
    ] {
        assert_eq!(ok(input), ask("refunds", true), "{input}");
    }
    // In the middle it is part of the question, for the query language to read.
    assert_eq!(
        ok("/insights ask refunds --share fees"),
        ask("refunds --share fees", false)
    );
    assert_eq!(
        ok("/insights ask share of wallet"),
        ask("share of wallet", false)
    );
}

#[test]
fn show_useful_and_decision_show_take_an_id() {
    assert_eq!(ok("/insights show 12"), Command::Show { id: 12 });
    assert_eq!(ok("/insights show #12"), Command::Show { id: 12 });
    assert_eq!(ok("insights show #007"), Command::Show { id: 7 });
    assert_eq!(ok("/insights useful 3"), Command::Useful { id: 3 });
    assert_eq!(ok("/decision show #4"), Command::DecisionShow { id: 4 });
    assert_eq!(
        ok(&format!("/insights show {}", i64::MAX)),
        Command::Show { id: i64::MAX }
    );
}

#[test]
fn add_takes_fields_out_of_the_text() {
    assert_eq!(
        ok("/insights add Charged twice for one order theme:billing kind:pain severity:4"),
        Command::Add(NewInsightText {
            text: "Charged twice for one order".into(),
            themes: vec!["billing".into()],
            kind: Some(Kind::Pain),
            severity: Severity::new(4),
            ..NewInsightText::default()
        })
    );
    assert_eq!(
        ok(
            "/insights add stage:Onboarding Wants SSO tags:security,SSO theme:sso account:\"Acme,  Inc.\" before renewal Segment:enterprise kind:JTBD"
        ),
        Command::Add(NewInsightText {
            text: "Wants SSO before renewal".into(),
            themes: vec!["security".into(), "SSO".into()],
            segment: Some("enterprise".into()),
            kind: Some(Kind::JobToBeDone),
            stage: Some(Stage::Onboarding),
            severity: None,
            account: Some("Acme, Inc.".into()),
        })
    );
}

#[test]
fn add_keeps_other_colons_and_quotes_as_text() {
    let Command::Add(new) =
        ok("/insights add re: the \"Cancel\" button https://x.test/a time:5pm don't")
    else {
        panic!()
    };
    assert_eq!(
        new.text,
        "re: the \"Cancel\" button https://x.test/a time:5pm don't"
    );
    assert_eq!(new.themes, Vec::<String>::new());
}

#[test]
fn flag_takes_an_optional_note() {
    assert_eq!(
        ok("/insights flag 12"),
        Command::Flag { id: 12, note: None }
    );
    assert_eq!(
        ok("/insights flag #12: keeps   coming up"),
        Command::Flag {
            id: 12,
            note: Some("keeps coming up".into())
        }
    );
    assert_eq!(
        ok("/insights flag 12 \" quoted note \""),
        Command::Flag {
            id: 12,
            note: Some("quoted note".into())
        }
    );
    assert_eq!(
        ok("/insights flag 12 \"Cancel\" is hidden"),
        Command::Flag {
            id: 12,
            note: Some("\"Cancel\" is hidden".into())
        }
    );
    assert_eq!(
        ok("/insights flag 12 \"\""),
        Command::Flag { id: 12, note: None }
    );
}

#[test]
fn watch_takes_a_question_and_how_often() {
    let watch = |query: &str, every| Command::Watch {
        query: query.into(),
        every,
    };
    assert_eq!(
        ok("/insights watch refund -\"gift card\""),
        watch("refund -\"gift card\"", Cadence::Now)
    );
    assert_eq!(
        ok("/insights watch theme:onboarding every:DAILY severity:>=4"),
        watch("theme:onboarding severity:>=4", Cadence::Daily)
    );
    assert_eq!(
        ok("/insights watch refunds every:hourly"),
        watch("refunds", Cadence::Hourly)
    );
    assert_eq!(ok("/insights watches"), Command::Watches);
    assert_eq!(ok("/insights unwatch #4"), Command::Unwatch { id: 4 });
    assert_eq!(
        ok("/insights watch refunds every:hourly").to_command_line(),
        "/insights watch refunds every:hourly"
    );

    let e = error("/insights watch refunds every:weekly");
    assert_eq!(
        e.to_string(),
        format!(
            "`weekly` is not how often: say every:now, every:hourly or every:daily. Usage: {USAGE_WATCH}"
        )
    );
    let e = error("/insights watch refunds every:hourli");
    assert_eq!(e.suggestion.as_deref(), Some("every:hourly"));
    let e = error("/insights watch every:daily");
    assert!(e.to_string().contains("a question"), "{e}");
    assert!(error("/insights watches 3").to_string().contains("`3`"));
    assert!(error("/insights unwatch").to_string().contains("watch"));
    let long = format!("/insights watch {}", "refund ".repeat(100));
    assert!(error(&long).to_string().contains("the limit is 500"));
    assert_eq!(
        ok("/insights help watch"),
        Command::Help {
            topic: Some(Topic::Watch)
        }
    );
}

#[test]
fn digest_and_help() {
    assert_eq!(ok("/insights digest"), Command::Digest { preview: false });
    assert_eq!(
        ok("/insights digest PREVIEW"),
        Command::Digest { preview: true }
    );
    assert_eq!(
        ok("/insights digest --preview"),
        Command::Digest { preview: true }
    );
    let help = |topic| Command::Help { topic };
    assert_eq!(ok("/insights"), help(None));
    assert_eq!(ok("insights help"), help(None));
    assert_eq!(ok("/insights help flag"), help(Some(Topic::Flag)));
    assert_eq!(ok("/insights help share"), help(Some(Topic::Ask)));
    assert_eq!(ok("/insights help /decision"), help(Some(Topic::Decision)));
    assert_eq!(
        ok("/insights help decision log"),
        help(Some(Topic::DecisionLog))
    );
    assert_eq!(
        ok("/insights help review"),
        help(Some(Topic::DecisionReview))
    );
    assert_eq!(ok("/insights help show"), help(Some(Topic::Show)));
    assert_eq!(ok("/decision"), help(Some(Topic::Decision)));
    assert_eq!(ok("/decision help"), help(Some(Topic::Decision)));
    assert_eq!(ok("/decision help show"), help(Some(Topic::DecisionShow)));
    assert_eq!(ok("/decision help ask"), help(Some(Topic::Ask)));
    assert_eq!(ok("/decision help insights"), help(None));
}

#[test]
fn decision_log_with_every_field() {
    assert_eq!(
        ok(
            "/decision log \"Refund duplicate charges automatically\" evidence:12,#15 review:30d owner:@maria rationale:\"top complaint in billing\""
        ),
        Command::DecisionLog(DecisionDraft {
            review: Some(ReviewWhen::InDays(30)),
            owner: Some(OwnerRef::Mention("maria".into())),
            rationale: Some("top complaint in billing".into()),
            ..draft("Refund duplicate charges automatically", &[12, 15])
        })
    );
}

#[test]
fn decision_log_titles_may_be_unquoted_and_fields_come_in_any_order() {
    assert_eq!(
        ok("/decision log Drop the setup fee evidence:7"),
        Command::DecisionLog(draft("Drop the setup fee", &[7]))
    );
    assert_eq!(
        ok(
            "/decision log Pricing: drop “Pro” tier rationale: nobody buys it owner:slack:U0123ABCD evidence:3, 4,#5 review:2026-03-01"
        ),
        Command::DecisionLog(DecisionDraft {
            review: Some(ReviewWhen::On(day(2026, 3, 1))),
            owner: Some(OwnerRef::User(UserAddress {
                platform: Platform::Slack,
                id: "U0123ABCD".into()
            })),
            rationale: Some("nobody buys it".into()),
            ..draft("Pricing: drop “Pro” tier", &[3, 4, 5])
        })
    );
    assert_eq!(
        ok("/decision log “Curly quotes” evidence:\"1, 2,1\""),
        Command::DecisionLog(draft("Curly quotes", &[1, 2]))
    );
}

#[test]
fn decision_log_review_times_and_owners() {
    let review = |value: &str| match ok(&format!("/decision log x evidence:1 review:{value}")) {
        Command::DecisionLog(d) => d.review.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(review("30d"), ReviewWhen::InDays(30));
    assert_eq!(review("2w"), ReviewWhen::InDays(14));
    assert_eq!(review("2weeks"), ReviewWhen::InDays(14));
    assert_eq!(review("6M"), ReviewWhen::InMonths(6));
    assert_eq!(review("1y"), ReviewWhen::InMonths(12));
    assert_eq!(review("10y"), ReviewWhen::InMonths(MAX_REVIEW_MONTHS));
    assert_eq!(review("3660d"), ReviewWhen::InDays(MAX_REVIEW_DAYS));
    assert_eq!(review("2024-02-29"), ReviewWhen::On(day(2024, 2, 29)));

    let owner = |value: &str| match ok(&format!("/decision log x evidence:1 owner:{value}")) {
        Command::DecisionLog(d) => d.owner.unwrap(),
        other => panic!("{other:?}"),
    };
    let user = |text: &str| OwnerRef::User(UserAddress::parse(text).unwrap());
    assert_eq!(owner("me"), OwnerRef::Me);
    assert_eq!(owner("ME"), OwnerRef::Me);
    assert_eq!(owner("@maria"), OwnerRef::Mention("maria".into()));
    assert_eq!(
        owner("\"@Maria Diaz\""),
        OwnerRef::Mention("Maria Diaz".into())
    );
    assert_eq!(owner("slack:U0123ABCD"), user("slack:U0123ABCD"));
    assert_eq!(owner("discord:1234"), user("discord:1234"));
    assert_eq!(owner("<@U0123ABCD|maria>"), user("slack:U0123ABCD"));
    assert_eq!(owner("<@!1234>"), user("discord:1234"));
    assert_eq!(owner("<@1234>"), user("discord:1234"));
}

#[test]
fn decision_list_review_queue_stats() {
    assert_eq!(
        ok("/decision list"),
        Command::DecisionList {
            filter: ListFilter::Open,
            query: None
        }
    );
    assert_eq!(
        ok("/decision list DUE"),
        Command::DecisionList {
            filter: ListFilter::Due,
            query: None
        }
    );
    assert_eq!(
        ok("/decision list all  refunds  theme:billing"),
        Command::DecisionList {
            filter: ListFilter::All,
            query: Some("refunds theme:billing".into())
        }
    );
    assert_eq!(
        ok("/decision list refunds mine"),
        Command::DecisionList {
            filter: ListFilter::Open,
            query: Some("refunds mine".into())
        }
    );
    assert_eq!(
        ok("/decision review 4 kept \"duplicate-charge tickets halved\""),
        Command::DecisionReview {
            id: 4,
            outcome: Outcome::Kept,
            note: "duplicate-charge tickets halved".into()
        }
    );
    assert_eq!(
        ok("/decision review #4 Reverted: customers hated it"),
        Command::DecisionReview {
            id: 4,
            outcome: Outcome::Reversed,
            note: "customers hated it".into()
        }
    );
    assert_eq!(
        ok("/decision review 4 change \"price\" went up"),
        Command::DecisionReview {
            id: 4,
            outcome: Outcome::Changed,
            note: "\"price\" went up".into()
        }
    );
    assert_eq!(ok("/decision queue"), Command::DecisionQueue);
    assert_eq!(ok("decision STATS"), Command::DecisionStats);
}

#[test]
fn slash_command_parts_read_like_one_line() {
    assert_eq!(
        parse_parts("/insights", "ask refunds"),
        Ok(ask("refunds", false))
    );
    assert_eq!(
        parse_parts("/decision", ""),
        Ok(Command::Help {
            topic: Some(Topic::Decision)
        })
    );
    let e = parse_parts("/insights", "flg 12").unwrap_err();
    assert_eq!(e.position, 10, "counted in \"/insights flg 12\"");
}

// Errors, one test per kind, with the message people see.

#[test]
fn empty_input() {
    for input in ["", "   ", "\t\n", "\u{0}\u{202E}\u{200F}"] {
        let e = error(input);
        assert_eq!(
            (e.kind, e.position),
            (CommandErrorKind::Empty, 0),
            "{input:?}"
        );
    }
    assert_eq!(
        error("").to_string(),
        "empty command. Usage: /insights ask|chart|show|add|flag|useful|digest|watch|watches|unwatch|help …"
    );
}

#[test]
fn oversized_input() {
    let e = error(&format!("/insights ask {}", "x".repeat(MAX_INPUT_CHARS)));
    assert_eq!(e.position, MAX_INPUT_CHARS);
    assert_eq!(
        e.to_string(),
        "the command is 8,014 characters long; the limit is 8,000. Usage: /insights ask|chart|show|add|flag|useful|digest|watch|watches|unwatch|help …"
    );
    // Characters, not bytes.
    let just_fits = format!("/insights ask {}", "é".repeat(MAX_INPUT_CHARS - 14));
    assert!(parse(&just_fits).is_ok());
    let huge = "x".repeat(5_000_000);
    assert!(matches!(
        error(&huge).kind,
        CommandErrorKind::TooLong { chars: 5_000_000 }
    ));
}

#[test]
fn unknown_family() {
    let e = error("/insight ask refunds");
    assert_eq!(e.position, 0);
    assert_eq!(
        e.to_string(),
        "unknown command `/insight` — did you mean `/insights`? Usage: /insights ask|chart|show|add|flag|useful|digest|watch|watches|unwatch|help …"
    );
    assert_eq!(
        error("/desicion list").suggestion.as_deref(),
        Some("/decision")
    );
    let e = error("ask  refunds fee");
    assert_eq!(e.suggestion.as_deref(), Some("/insights ask refunds fee"));
    assert_eq!(e.usage, USAGE_ASK);
    assert_eq!(
        error("/log x").suggestion.as_deref(),
        Some("/decision log x")
    );
    assert_eq!(
        error("hello there").to_string(),
        "unknown command `hello` (commands start with /insights or /decision). Usage: /insights ask|chart|show|add|flag|useful|digest|watch|watches|unwatch|help …"
    );
}

#[test]
fn unknown_subcommand_suggests_the_nearest_with_its_usage() {
    let e = error("/insights flg 12");
    assert_eq!(e.position, 10);
    assert_eq!(e.suggestion.as_deref(), Some("flag"));
    assert_eq!(
        e.to_string(),
        "unknown command `flg` — did you mean `flag`? Usage: /insights flag ID [note]"
    );
    assert_eq!(
        error("/decision reveiw 4").suggestion.as_deref(),
        Some("review")
    );
    assert_eq!(
        error("/insights log x").suggestion.as_deref(),
        Some("/decision log")
    );
    // A question typed without `ask` is not run as one, but the answer says how.
    let e = error("/insights what about refunds?");
    assert_eq!(
        e.to_string(),
        "unknown command `what` — did you mean `/insights ask what about refunds?`? Usage: /insights ask [--share] QUESTION"
    );
    let e = error("/decision zzz");
    assert_eq!(e.suggestion, None);
    assert_eq!(
        e.to_string(),
        "unknown command `zzz`. Usage: /decision log|list|show|review|queue|stats|help …"
    );
}

#[test]
fn missing_arguments() {
    for (input, message) in [
        (
            "/insights ask",
            "`/insights ask` needs a question. Usage: /insights ask [--share] QUESTION",
        ),
        (
            "/insights ask --share",
            "`/insights ask` needs a question. Usage: /insights ask [--share] QUESTION",
        ),
        (
            "/insights show",
            "`/insights show` needs an insight id. Usage: /insights show ID",
        ),
        (
            "/insights flag",
            "`/insights flag` needs an insight id. Usage: /insights flag ID [note]",
        ),
        (
            "/decision show ",
            "`/decision show` needs a decision id. Usage: /decision show ID",
        ),
        (
            "/insights add theme:billing kind:pain",
            "`/insights add` needs the insight text. Usage: /insights add TEXT [theme:NAME] [segment:NAME] [kind:KIND] [stage:STAGE] [severity:1-5] [account:NAME]",
        ),
        (
            "/decision log",
            "`/decision log` needs a title in quotes. Usage: /decision log \"TITLE\" evidence:ID,ID [review:30d|review:YYYY-MM-DD] [owner:@name|owner:me] [rationale:\"WHY\"]",
        ),
        (
            "/decision log \"Drop the fee\" review:30d",
            "`/decision log` needs evidence: the insights behind it, as evidence:12,15. Usage: /decision log \"TITLE\" evidence:ID,ID [review:30d|review:YYYY-MM-DD] [owner:@name|owner:me] [rationale:\"WHY\"]",
        ),
        (
            "/decision review 4",
            "`/decision review` needs an outcome: kept, changed or reversed. Usage: /decision review ID kept|changed|reversed \"WHAT HAPPENED\"",
        ),
        (
            "/decision review 4 kept",
            "`/decision review` needs a note saying what happened, in quotes. Usage: /decision review ID kept|changed|reversed \"WHAT HAPPENED\"",
        ),
    ] {
        let e = error(input);
        assert!(
            matches!(e.kind, CommandErrorKind::MissingArgument { .. }),
            "{input}: {e:?}"
        );
        assert_eq!(e.position, input.chars().count(), "{input}");
        assert_eq!(e.to_string(), message, "{input}");
    }
    // A title that is only a field, or empty quotes, is missing where the title belongs.
    let e = error("/decision log evidence:1");
    assert_eq!((e.position, e.usage), (14, USAGE_DECISION_LOG));
    assert!(matches!(e.kind, CommandErrorKind::MissingArgument { .. }));
    assert_eq!(error("/decision log \" \" evidence:1").position, 14);
}

#[test]
fn extra_arguments() {
    let e = error("/insights show 12 13");
    assert_eq!(e.position, 18);
    assert_eq!(e.to_string(), "unexpected `13`. Usage: /insights show ID");
    assert_eq!(error("/decision queue now").position, 16);
    assert_eq!(error("/decision stats x").usage, USAGE_DECISION_STATS);
    assert_eq!(error("/insights digest preview now").position, 25);
    assert_eq!(error("/insights help ask more").position, 19);
    let e = error("/decision log \"Drop the fee\" because evidence:1");
    assert_eq!(e.position, 29);
    assert_eq!(
        e.kind,
        CommandErrorKind::ExtraArgument {
            word: "because".into()
        }
    );
}

#[test]
fn invalid_ids() {
    for (input, position, problem, message) in [
        (
            "/insights show abc",
            15,
            IdProblem::NotANumber,
            "`abc` is not an insight id: ids are numbers, like 12 or #12. Usage: /insights show ID",
        ),
        (
            "/insights show 0",
            15,
            IdProblem::Zero,
            "there is no insight 0: ids start at 1. Usage: /insights show ID",
        ),
        (
            "/insights show #-3",
            15,
            IdProblem::Negative,
            "`#-3` is not an insight id: ids are positive numbers. Usage: /insights show ID",
        ),
        (
            "/decision show 99999999999999999999",
            15,
            IdProblem::TooLarge,
            "`99999999999999999999` is too large to be a decision id. Usage: /decision show ID",
        ),
    ] {
        let e = error(input);
        assert_eq!(e.position, position, "{input}");
        assert!(
            matches!(e.kind, CommandErrorKind::InvalidId { problem: p, .. } if p == problem),
            "{input}: {e:?}"
        );
        assert_eq!(e.to_string(), message, "{input}");
    }
    for bad in [
        "-3", "#", "##1", "+1", "1.5", "12abc", "١٢", "１２", "0x1f", "1e3", "#0",
    ] {
        assert!(
            matches!(
                error(&format!("/insights show {bad}")).kind,
                CommandErrorKind::InvalidId { .. }
            ),
            "{bad}"
        );
    }
}

#[test]
fn quotes_that_never_close_or_close_early() {
    let e = error("/decision log \"Drop the fee evidence:1");
    assert_eq!(
        (e.kind.clone(), e.position),
        (CommandErrorKind::UnterminatedQuote, 14)
    );
    assert_eq!(
        e.to_string(),
        format!("a quote is never closed. Usage: {USAGE_DECISION_LOG}")
    );
    let e = error("/insights add x account:\"Acme");
    assert_eq!(
        (e.kind, e.position),
        (CommandErrorKind::UnterminatedQuote, 24)
    );
    let e = error("/decision log x evidence:1 rationale:\"because");
    assert_eq!(e.kind, CommandErrorKind::UnterminatedQuote);
    // Quotes inside quotes end the text early; that is refused, not guessed at.
    let e = error("/decision log \"Drop \"the\" fee\" evidence:1");
    assert_eq!(
        (e.kind.clone(), e.position),
        (CommandErrorKind::QuoteInsideQuote, 20)
    );
    assert_eq!(
        e.to_string(),
        format!(
            "a quote inside quoted text ends it early; use single quotes (') inside. Usage: {USAGE_DECISION_LOG}"
        )
    );
    assert_eq!(
        error("/insights add x account:\"A\"B").kind,
        CommandErrorKind::QuoteInsideQuote
    );
}

#[test]
fn unknown_fields_suggest_the_nearest() {
    let e = error("/decision log \"Drop the fee\" evidense:12");
    assert_eq!(e.position, 29);
    assert_eq!(
        e.to_string(),
        format!(
            "unknown field `evidense:` — did you mean `evidence:`? Usage: {USAGE_DECISION_LOG}"
        )
    );
    assert_eq!(
        error("/decision log x evidence:1 Owner:me revew:30d")
            .suggestion
            .as_deref(),
        Some("review:")
    );
    assert_eq!(
        error("/decision log x evidence:1 rational:why")
            .suggestion
            .as_deref(),
        Some("rationale:")
    );
    // After the title, any `name:` must be a field.
    let e = error("/decision log \"x\" evidence:1 color:red");
    assert_eq!(e.suggestion, None);
    assert_eq!(
        e.to_string(),
        format!(
            "unknown field `color:` (fields are evidence, review, owner, rationale). Usage: {USAGE_DECISION_LOG}"
        )
    );
    // In insight text, only near misses of a field are refused.
    let e = error("/insights add Refunds are slow thme:billing");
    assert_eq!((e.position, e.suggestion.as_deref()), (31, Some("theme:")));
    assert_eq!(
        error("/insights add x severty:4").suggestion.as_deref(),
        Some("severity:")
    );
}

#[test]
fn duplicate_fields() {
    let e = error("/decision log x evidence:1 evidence:2");
    assert_eq!(e.position, 27);
    assert_eq!(
        e.to_string(),
        format!("`evidence:` is given twice. Usage: {USAGE_DECISION_LOG}")
    );
    for input in [
        "/decision log x evidence:1 review:1d review:2d",
        "/decision log x evidence:1 owner:me owner:me",
        "/decision log x evidence:1 rationale:a rationale:b",
        "/insights add x kind:pain kind:praise",
        "/insights add x stage:usage stage:support",
        "/insights add x severity:1 severity:2",
        "/insights add x segment:a segment:b",
        "/insights add x account:a account:b",
    ] {
        assert!(
            matches!(error(input).kind, CommandErrorKind::DuplicateField { .. }),
            "{input}"
        );
    }
    // Themes add up.
    let Command::Add(new) = ok("/insights add x theme:a theme:b,A tag:c") else {
        panic!()
    };
    assert_eq!(new.themes, ["a", "b", "c"]);
}

#[test]
fn empty_values_and_list_items() {
    let e = error("/decision log x evidence:");
    assert_eq!(e.position, 16);
    assert_eq!(
        e.to_string(),
        format!(
            "`evidence:` needs a value right after the colon, as in evidence:12,15. Usage: {USAGE_DECISION_LOG}"
        )
    );
    for input in [
        "/decision log x evidence:1 review: 30d",
        "/decision log x evidence:1 owner:",
        "/decision log x evidence:1 owner:@",
        "/decision log x evidence:1 rationale:",
        "/decision log x evidence:1 rationale:\"\"",
        "/insights add x severity: 4",
        "/insights add x theme:\"\"",
    ] {
        assert!(
            matches!(error(input).kind, CommandErrorKind::EmptyValue { .. }),
            "{input}: {:?}",
            error(input)
        );
    }
    let e = error("/decision log x evidence:1,,2");
    assert_eq!(e.position, 27);
    assert_eq!(
        e.to_string(),
        format!("`evidence:` has an empty item between commas. Usage: {USAGE_DECISION_LOG}")
    );
    for input in [
        "/decision log x evidence:,1",
        "/decision log x evidence:1,",
        "/decision log x evidence:\"1, ,2\"",
        "/insights add x theme:a,,b",
    ] {
        assert!(
            matches!(error(input).kind, CommandErrorKind::EmptyListItem { .. }),
            "{input}"
        );
    }
    let e = error("/decision log x evidence:1,#-3");
    assert_eq!(e.position, 27);
    assert!(matches!(
        e.kind,
        CommandErrorKind::InvalidId {
            problem: IdProblem::Negative,
            ..
        }
    ));
}

#[test]
fn invalid_values() {
    let e = error("/insights add Slow setup stage:onbording");
    assert_eq!(e.position, 31);
    assert_eq!(
        e.to_string(),
        format!("`onbording` is not a stage — did you mean `onboarding`? Usage: {USAGE_ADD}")
    );
    let e = error("/insights add x kind:xyzzy");
    assert_eq!(
        e.to_string(),
        format!(
            "`xyzzy` is not a kind of insight (one of: pain, request, praise, job-to-be-done, competitor, churn-signal). Usage: {USAGE_ADD}"
        )
    );
    assert_eq!(
        error("/insights add x kind:complain").suggestion.as_deref(),
        Some("complaint")
    );
    for value in ["0", "6", "high", "4.5", "-1", "44", "４"] {
        let e = error(&format!("/insights add x severity:{value}"));
        assert_eq!(
            e.to_string(),
            format!(
                "`{value}` is not a severity: use a whole number from 1 (mild) to 5 (severe). Usage: {USAGE_ADD}"
            )
        );
    }
    assert!(
        error("/insights add x theme:!!!")
            .to_string()
            .starts_with("`!!!` is not a theme name: it needs a letter or a digit.")
    );
    let e = error("/decision log x evidence:1 owner:maria");
    assert_eq!(e.suggestion.as_deref(), Some("@maria"));
    assert_eq!(
        e.to_string(),
        format!(
            "`maria` is not a person: write owner:@name, owner:me or owner:slack:U0123ABCD — did you mean `@maria`? Usage: {USAGE_DECISION_LOG}"
        )
    );
    assert_eq!(
        error("/decision log x evidence:1 owner:U0123ABCD")
            .suggestion
            .as_deref(),
        Some("slack:U0123ABCD")
    );
    assert!(
        error("/decision log x evidence:1 owner:slack:#general")
            .to_string()
            .contains("not its name")
    );
    assert!(
        error("/decision log x evidence:1 owner:<@C0123>")
            .to_string()
            .contains("start with U or W")
    );
    let many: Vec<String> = (1..=MAX_EVIDENCE as i64 + 1)
        .map(|i| i.to_string())
        .collect();
    let e = error(&format!("/decision log x evidence:{}", many.join(",")));
    assert!(
        e.to_string()
            .starts_with("evidence lists 51 insights; the limit is 50.")
    );
}

#[test]
fn bad_review_times() {
    let e = error("/decision log x evidence:1 review:soon");
    assert_eq!(e.position, 34);
    assert_eq!(
        e.to_string(),
        format!(
            "`review:soon` is not a review time: use days, weeks or months from now (30d, 2w, 6m) or a date (2026-03-01). Usage: {USAGE_DECISION_LOG}"
        )
    );
    let e = error("/decision log x evidence:1 review:30");
    assert_eq!(e.suggestion.as_deref(), Some("review:30d"));
    assert_eq!(
        e.to_string(),
        format!(
            "`review:30` needs a unit: d, w or m — did you mean `review:30d`? Usage: {USAGE_DECISION_LOG}"
        )
    );
    for (value, reason) in [
        ("0d", "is now: a review must be at least a day away"),
        ("3661d", "is more than ten years away"),
        ("11y", "is more than ten years away"),
        ("99999999999d", "is more than ten years away"),
        ("999999999w", "is more than ten years away"),
        ("2026-02-30", "is not a day on the calendar"),
        (
            "-30d",
            "is not a review time: use days, weeks or months from now (30d, 2w, 6m) or a date (2026-03-01)",
        ),
        (
            "2026-1-1",
            "is not a review time: use days, weeks or months from now (30d, 2w, 6m) or a date (2026-03-01)",
        ),
        (
            "３0d",
            "is not a review time: use days, weeks or months from now (30d, 2w, 6m) or a date (2026-03-01)",
        ),
        (
            "30x",
            "is not a review time: use days, weeks or months from now (30d, 2w, 6m) or a date (2026-03-01)",
        ),
    ] {
        let e = error(&format!("/decision log x evidence:1 review:{value}"));
        assert_eq!(
            e.kind,
            CommandErrorKind::BadReview {
                value: value.to_string(),
                reason
            },
            "{value}"
        );
    }
}

#[test]
fn bad_outcomes() {
    let e = error("/decision review 4 kep \"fine\"");
    assert_eq!(e.position, 19);
    assert_eq!(
        e.to_string(),
        format!(
            "`kep` is not an outcome: say kept, changed or reversed — did you mean `kept`? Usage: {USAGE_DECISION_REVIEW}"
        )
    );
    assert_eq!(
        error("/decision review 4 revresed x").suggestion.as_deref(),
        Some("reversed")
    );
    assert_eq!(error("/decision review 4 maybe x").suggestion, None);
}

#[test]
fn unknown_options_and_topics() {
    let e = error("/insights ask --shar refunds");
    assert_eq!(e.position, 14);
    assert_eq!(
        e.to_string(),
        format!("unknown option `--shar` — did you mean `--share`? Usage: {USAGE_ASK}")
    );
    let e = error("/insights ask refunds --public");
    assert_eq!((e.position, e.suggestion), (22, None));
    let e = error("/insights digest prevew");
    assert_eq!(
        e.to_string(),
        format!("unknown option `prevew` — did you mean `preview`? Usage: {USAGE_DIGEST}")
    );
    let e = error("/insights help flgg");
    assert_eq!(
        e.to_string(),
        format!("there is no help on `flgg` — did you mean `flag`? Usage: {USAGE_HELP}")
    );
    assert_eq!(error("/decision help lgo").usage, USAGE_DECISION_HELP);
}

#[test]
fn text_too_long() {
    let text = "word ".repeat(900);
    let e = error(&format!("/insights add {text}"));
    assert_eq!(e.position, 14);
    assert_eq!(
        e.to_string(),
        format!(
            "the insight text is 4,499 characters long; the limit is 4,000. Usage: {USAGE_ADD}"
        )
    );
    assert!(
        parse(&format!(
            "/insights add {}",
            "x".repeat(MAX_INSIGHT_TEXT_CHARS)
        ))
        .is_ok()
    );
    assert!(matches!(
        error(&format!("/decision log \"{}\" evidence:1", "t".repeat(201))).kind,
        CommandErrorKind::TextTooLong {
            limit: MAX_TITLE_CHARS,
            ..
        }
    ));
    assert!(matches!(
        error(&format!("/insights flag 1 {}", "n".repeat(2001))).kind,
        CommandErrorKind::TextTooLong {
            limit: MAX_NOTE_CHARS,
            ..
        }
    ));
    assert!(matches!(
        error(&format!("/insights add x theme:{}", "n".repeat(101))).kind,
        CommandErrorKind::TextTooLong {
            limit: MAX_NAME_CHARS,
            ..
        }
    ));
}

// Hostile input.

#[test]
fn invisible_and_control_characters_are_dropped_but_counted() {
    assert_eq!(
        ok("/insights show \u{200F}12\u{202E}"),
        Command::Show { id: 12 }
    );
    assert_eq!(
        ok("\u{FEFF}/insights\u{0} ask\tref\u{7}und\r\nfee"),
        ask("refund fee", false)
    );
    let Command::Add(new) = ok("/insights add \u{200F}שלום עולם\u{200F} theme:\u{202E}billing")
    else {
        panic!()
    };
    assert_eq!(new.text, "שלום עולם");
    assert_eq!(new.themes, ["billing"]);
    // Positions count the dropped characters, so they point into the input as typed.
    let e = error("\u{202E}\u{202E}/insights flg 1");
    assert_eq!(e.position, 12);
    let shown = e.display_with_input("\u{202E}\u{202E}/insights flg 1");
    assert!(
        shown.starts_with("  /insights flg 1\n            ^\n"),
        "{shown}"
    );
}

#[test]
fn unicode_text_is_kept() {
    assert_eq!(
        ok("/insights ask 退款 «frais» café 𝕀"),
        ask("退款 «frais» café 𝕀", false)
    );
    assert_eq!(
        ok("/decision log \"Rembourser vite 👩‍💻\" evidence:1"),
        Command::DecisionLog(draft("Rembourser vite 👩‍💻", &[1]))
    );
    // Non-breaking and other Unicode spaces separate words like spaces.
    assert_eq!(
        ok("/insights\u{A0}show\u{3000}12"),
        Command::Show { id: 12 }
    );
}

#[test]
fn words_in_messages_are_short_and_cannot_break_formatting() {
    let e = error(&format!("/insights `{}`", "x".repeat(100)));
    let CommandErrorKind::UnknownSubcommand { word, .. } = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(word.chars().count(), 41);
    assert!(!word.contains('`'));
    assert!(e.to_string().len() < 400);
}

#[test]
fn injection_attempts_are_just_text() {
    assert_eq!(
        ok("/insights ask '; DROP TABLE insights; -- <!channel> @everyone"),
        ask("'; DROP TABLE insights; -- <!channel> @everyone", false)
    );
    let Command::Add(new) = ok("/insights add <!here> ${jndi:x} {{7*7}} kind:pain") else {
        panic!()
    };
    assert_eq!(new.text, "<!here> ${jndi:x} {{7*7}}");
}

// Help.

#[test]
fn every_example_in_help_parses_to_its_topic() {
    for topic in Topic::ALL {
        let message = help(Some(topic));
        let plain = message.to_plain();
        assert!(plain.contains(topic.usage()), "{topic:?}");
        for block in &message.blocks {
            let crate::message::Block::Section(section) = block else {
                continue;
            };
            for span in &section.text.spans {
                if let crate::message::Span::Code(code) = span
                    && !Topic::ALL.iter().any(|t| t.usage() == code)
                {
                    let command = ok(code);
                    if topic != Topic::Help && topic != Topic::Decision {
                        assert_eq!(command.topic(), topic, "{code}");
                    }
                }
            }
        }
    }
}

#[test]
fn help_lists_every_command_with_an_example() {
    let plain = help(None).to_plain();
    for topic in Topic::ALL {
        if matches!(topic, Topic::Help | Topic::Decision) {
            continue;
        }
        assert!(plain.contains(&topic.to_string()), "{topic:?}\n{plain}");
    }
    assert!(plain.contains("--share"));
    assert!(help(Some(Topic::Add)).to_plain().contains("job-to-be-done"));
    let decision = help(Some(Topic::Decision)).to_plain();
    assert!(decision.contains(USAGE_DECISION_REVIEW));
}

#[test]
fn help_and_usage_agree_with_each_command() {
    for topic in Topic::ALL {
        assert_eq!(
            ok(&Command::Help { topic: Some(topic) }.to_command_line()),
            Command::Help { topic: Some(topic) }
        );
        assert!(topic.usage().starts_with(&topic.to_string()), "{topic:?}");
    }
}

// Canonical command lines.

#[test]
fn canonical_lines() {
    for (input, canonical) in [
        (
            "insights ASK refunds  --share",
            "/insights ask --share refunds",
        ),
        ("/insights share x", "/insights ask --share x"),
        ("/insights show #012", "/insights show 12"),
        (
            "/insights add kind:Complaint  Charged twice theme:\"late fees\" account:Acme",
            "/insights add Charged twice theme:\"late fees\" kind:pain account:Acme",
        ),
        ("/insights flag 3 why not", "/insights flag 3 \"why not\""),
        (
            "/insights flag 3 \"Cancel\" hidden",
            "/insights flag 3 \"Cancel\" hidden",
        ),
        ("/insights", "/insights help"),
        ("/decision", "/decision help"),
        ("/insights help decision log", "/decision help log"),
        (
            "/decision log Drop fee evidence:#1, 2 review:2w owner:<@U0123|x> rationale: nobody pays",
            "/decision log \"Drop fee\" evidence:1,2 review:14d owner:slack:U0123 rationale:\"nobody pays\"",
        ),
        (
            "/decision log x evidence:1 owner:\"@Maria Diaz\" review:1y",
            "/decision log \"x\" evidence:1 review:12m owner:\"@Maria Diaz\"",
        ),
        ("/decision list", "/decision list open"),
        (
            "/decision review 2 REVERSE gone",
            "/decision review 2 reversed \"gone\"",
        ),
    ] {
        assert_eq!(ok(input).to_command_line(), canonical, "{input}");
        assert_eq!(ok(canonical), ok(input), "{canonical}");
    }
}

// Properties.

/// Pieces of the grammar, glued at random, reach far more of the parser than random text.
fn grammar_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "/insights ",
        "/decision ",
        "insights",
        "ask ",
        "share ",
        "show ",
        "add ",
        "flag ",
        "useful ",
        "digest ",
        "preview",
        "help ",
        "log ",
        "list ",
        "review ",
        "queue",
        "stats",
        "kept ",
        "changed",
        "open ",
        "due ",
        "--share",
        "—",
        "12",
        "#",
        "-",
        "0",
        ",",
        ":",
        "\"",
        "“",
        "”",
        "evidence:",
        "review:",
        "owner:",
        "rationale:",
        "theme:",
        "kind:",
        "stage:",
        "severity:",
        "account:",
        "segment:",
        "evidense:",
        "30d",
        "2026-03-01",
        "@",
        "me",
        "slack:U1",
        "<@",
        ">",
        "|",
        "pain",
        "refund",
        " ",
        " ",
        "\t",
        "\u{202E}",
        "\u{0}",
        "é",
        "𝕀",
        "'",
        "x",
    ]);
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

fn check(input: &str) -> Result<(), TestCaseError> {
    let first = parse(input);
    prop_assert_eq!(&first, &parse(input), "deterministic");
    match first {
        Err(e) => {
            prop_assert!(
                e.position <= input.chars().count(),
                "{:?} in {:?}",
                e,
                input
            );
            let message = e.to_string();
            prop_assert!(message.ends_with(e.usage), "{}", message);
            prop_assert!(e.display_with_input(input).contains('^'));
        }
        Ok(command) => {
            let line = command.to_command_line();
            prop_assert_eq!(
                parse(&line),
                Ok(command.clone()),
                "{:?} printed as {:?}",
                input,
                line
            );
        }
    }
    Ok(())
}

/// Words that survive parsing unchanged: no spaces, no quotes, no field names.
fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9éß退款'!?.,-]{1,8}".prop_filter("not an option or a field", |w| {
        !w.starts_with("--") && !w.contains(':')
    })
}

fn words(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..max).prop_map(|w| w.join(" "))
}

/// A segment or account name: something with letters in it.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9é]{1,6}( [a-zA-Z0-9é,.&]{1,6}){0,2}"
}

fn id() -> impl Strategy<Value = i64> {
    prop_oneof![1..100i64, 1..=i64::MAX]
}

fn command() -> impl Strategy<Value = Command> {
    let review = prop_oneof![
        (1..=MAX_REVIEW_DAYS).prop_map(ReviewWhen::InDays),
        (1..=MAX_REVIEW_MONTHS).prop_map(ReviewWhen::InMonths),
        (2000i32..2100, 1u32..=12, 1u32..=28)
            .prop_map(|(y, m, d)| ReviewWhen::On(NaiveDate::from_ymd_opt(y, m, d).unwrap())),
    ];
    let owner = prop_oneof![
        Just(OwnerRef::Me),
        "[a-zA-Z]{1,5}( [a-zA-Z.]{1,5})?".prop_map(OwnerRef::Mention),
        "U[0-9A-Z]{1,10}"
            .prop_map(|id| OwnerRef::User(UserAddress::parse(&format!("slack:{id}")).unwrap())),
        (1u64..)
            .prop_map(|id| OwnerRef::User(UserAddress::parse(&format!("discord:{id}")).unwrap())),
    ];
    let add = (
        words(12),
        prop::collection::vec("[a-z]{1,6}", 0..3),
        prop::option::of(name()),
        prop::option::of(prop::sample::select(Kind::ALL.to_vec())),
        prop::option::of(prop::sample::select(Stage::ALL.to_vec())),
        prop::option::of((1u8..=5).prop_map(|n| Severity::new(n).unwrap())),
        prop::option::of(name()),
    )
        .prop_map(
            |(text, mut themes, segment, kind, stage, severity, account)| {
                themes.dedup();
                themes.sort();
                themes.dedup();
                Command::Add(NewInsightText {
                    text,
                    themes,
                    segment,
                    kind,
                    stage,
                    severity,
                    account,
                })
            },
        );
    let log = (
        words(8),
        prop::collection::vec(id(), 1..5),
        prop::option::of(review),
        prop::option::of(owner),
        prop::option::of(words(10)),
    )
        .prop_map(|(title, mut evidence, review, owner, rationale)| {
            let mut seen = Vec::new();
            evidence.retain(|id| {
                let new = !seen.contains(id);
                seen.push(*id);
                new
            });
            Command::DecisionLog(DecisionDraft {
                title,
                evidence,
                review,
                owner: owner.filter(|o| !matches!(o, OwnerRef::Mention(n) if n.is_empty())),
                rationale,
            })
        });
    prop_oneof![
        (words(10), any::<bool>()).prop_map(|(query, share)| Command::Ask { query, share }),
        words(10).prop_map(|query| Command::Chart { query }),
        id().prop_map(|id| Command::Show { id }),
        add,
        (id(), prop::option::of(words(10))).prop_map(|(id, note)| Command::Flag { id, note }),
        id().prop_map(|id| Command::Useful { id }),
        any::<bool>().prop_map(|preview| Command::Digest { preview }),
        (words(10), prop::sample::select(Cadence::ALL.to_vec()))
            .prop_map(|(query, every)| Command::Watch { query, every }),
        Just(Command::Watches),
        id().prop_map(|id| Command::Unwatch { id }),
        prop::option::of(prop::sample::select(Topic::ALL.to_vec()))
            .prop_map(|topic| Command::Help { topic }),
        log,
        (
            prop::sample::select(ListFilter::ALL.to_vec()),
            prop::option::of(words(5))
        )
            .prop_map(|(filter, query)| Command::DecisionList { filter, query }),
        id().prop_map(|id| Command::DecisionShow { id }),
        (id(), prop::sample::select(Outcome::ALL.to_vec()), words(10))
            .prop_map(|(id, outcome, note)| Command::DecisionReview { id, outcome, note }),
        Just(Command::DecisionQueue),
        Just(Command::DecisionStats),
    ]
}

proptest! {
    #[test]
    fn parse_never_panics_and_points_inside_the_input(input in any::<String>()) {
        check(&input)?;
    }

    #[test]
    fn parse_handles_grammar_soup(input in grammar_soup()) {
        check(&input)?;
    }

    #[test]
    fn parse_handles_long_and_control_heavy_input(input in "[\\x00-\\x20a-z:,#\"“-]{7900,8100}") {
        check(&input)?;
    }

    #[test]
    fn every_command_reads_back_from_its_command_line(command in command()) {
        let line = command.to_command_line();
        prop_assert_eq!(parse(&line), Ok(command), "{}", line);
    }
}

#[test]
fn every_kept_text_of_a_command_is_redacted_and_questions_are_not() {
    let redactor = crate::redact::Redactor::all();
    let personal = "ana@example.com +44 20 7946 0958 4111.1111.1111.1111";
    let cases = [
        format!("/insights flag 12 call {personal}"),
        format!("/decision log \"Refund {personal}\" evidence:#1 rationale:\"told {personal}\""),
        format!("/decision review 3 kept \"wrote back to {personal}\""),
        format!(
            "/insights add Refund for {personal} account:ana@example.com segment:+442079460958"
        ),
    ];
    for input in &cases {
        let mut command = ok(input);
        let counts = command.redact(&redactor);
        let line = command.to_string();
        assert!(counts.total() >= 3, "{input}: {counts:?}");
        for leaked in ["ana@example.com", "7946", "4111"] {
            assert!(!line.contains(leaked), "{input} kept {leaked}: {line}");
        }
    }
    let mut question = ok(&format!("/insights ask {personal}"));
    assert_eq!(question.redact(&redactor).total(), 0);
    assert!(question.to_string().contains("ana@example.com"));
}
