//! Whole files read end to end: the real CFPB sample, generic CSV, JSON and NDJSON, and every
//! way a file or a row can be refused.

use std::ops::ControlFlow;

use chrono::NaiveDate;

use super::*;
use crate::model::{Kind, Sentiment, Severity, Stage, Visibility};
use crate::redact::Redactor;

const CFPB: &[u8] = include_bytes!("../../../bot/data/cfpb-complaints-sample.csv");

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 15).expect("valid date")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn options(format: Format) -> ImportOptions {
    ImportOptions::new(format, today())
}

fn read_as(text: impl AsRef<[u8]>, format: Format) -> Result<Parsed, FileError> {
    read(text.as_ref(), &options(format))
}

fn mapped(format: Format, maps: &[&str]) -> ImportOptions {
    ImportOptions {
        mappings: maps
            .iter()
            .map(|m| parse_mapping(m).expect("valid mapping"))
            .collect(),
        ..options(format)
    }
}

fn parsed(text: impl AsRef<[u8]>, format: Format) -> Parsed {
    read_as(text, format).expect("the file is read")
}

fn insights(parsed: &Parsed) -> Vec<&InsightData> {
    parsed
        .rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .collect()
}

fn row_errors(parsed: &Parsed) -> Vec<(usize, RowError)> {
    parsed
        .rows
        .iter()
        .filter_map(|r| r.result.clone().err().map(|e| (r.number, e)))
        .collect()
}

fn only_error(text: &str, format: Format) -> RowError {
    let errors = row_errors(&parsed(text, format));
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors
        .into_iter()
        .next()
        .map(|(_, e)| e)
        .expect("one error")
}

fn complaint<'a>(parsed: &'a Parsed, id: &str) -> &'a InsightData {
    insights(parsed)
        .into_iter()
        .find(|i| i.source_ref == id)
        .unwrap_or_else(|| panic!("complaint {id} is imported"))
}

// ---------------------------------------------------------------- the CFPB sample

#[test]
fn the_cfpb_sample_reads_every_row() {
    let p = parsed(CFPB, Format::Csv);
    assert_eq!(p.recognised, Recognised::Cfpb);
    assert_eq!(p.rows.len(), 2_067);
    assert_eq!(row_errors(&p), vec![]);
    let all = insights(&p);
    assert!(all.iter().all(|i| i.source == "cfpb"
        && i.kind == Some(Kind::Pain)
        && i.sentiment == Sentiment::Negative
        && i.visibility == Visibility::All
        && !i.title.is_empty()));
    assert_eq!(all.iter().filter(|i| !i.body.is_empty()).count(), 389);
    assert_eq!(all.iter().filter(|i| i.segment.is_some()).count(), 138);
    // Row numbers count data rows, whatever the narratives' line breaks.
    assert_eq!(p.rows.last().map(|r| r.number), Some(2_067));
    assert_eq!(
        p.ignored_columns,
        [
            "Sub-product",
            "Company public response",
            "State",
            "ZIP code",
            "Consumer consent provided?",
            "Submitted via",
            "Date sent to company",
            "Company response to consumer",
            "Consumer disputed?",
        ]
    );
}

#[test]
fn a_known_complaint_without_narrative() {
    let p = parsed(CFPB, Format::Csv);
    assert_eq!(
        complaint(&p, "7523056"),
        &InsightData {
            source: "cfpb".into(),
            source_ref: "7523056".into(),
            title: "Incorrect information on your report: Information belongs to someone else"
                .into(),
            body: String::new(),
            observed_on: date(2023, 8, 25),
            tags: vec![
                "Incorrect information on your report".into(),
                "Credit reporting or other personal consumer reports".into(),
            ],
            segment: None,
            stage: None,
            kind: Some(Kind::Pain),
            sentiment: Sentiment::Negative,
            severity: Severity::DEFAULT,
            account: Some("EQUIFAX, INC.".into()),
            url: Some(
                "https://www.consumerfinance.gov/data-research/consumer-complaints/search/detail/7523056"
                    .into()
            ),
            visibility: Visibility::All,
        }
    );
}

#[test]
fn a_narrative_with_line_breaks_survives_intact() {
    let p = parsed(CFPB, Format::Csv);
    let c = complaint(&p, "7286060");
    assert_eq!(c.body.chars().count(), 450);
    assert_eq!(c.body.matches('\n').count(), 4);
    assert!(c.body.starts_with(
        "I have registered a complaint few weeks back and still my issue is not resolved."
    ));
    assert!(c.body.ends_with(
        "ted few of the transactions but not all, still {$1300.00} is yet to be resolved."
    ));
    assert_eq!(c.segment.as_deref(), Some("Older American, Servicemember"));
    assert_eq!(c.account.as_deref(), Some("CITIBANK, N.A."));
    assert_eq!(c.observed_on, date(2023, 7, 21));
    assert_eq!(
        c.tags,
        [
            "Problem with a purchase shown on your statement",
            "Credit card or prepaid card"
        ]
    );

    let other = complaint(&p, "7175500");
    assert_eq!(other.body.chars().count(), 614);
    assert_eq!(other.body.matches('\n').count(), 2);
    assert_eq!(
        other.title,
        "Improper use of your report: Credit inquiries on your report that you don't recognize"
    );
}

#[test]
fn cfpb_segment_title_and_severity() {
    let p = parsed(CFPB, Format::Csv);
    let mortgage = complaint(&p, "7399329");
    // No sub-issue: the issue alone is the title.
    assert_eq!(mortgage.title, "Struggling to pay mortgage");
    assert_eq!(mortgage.segment.as_deref(), Some("Older American"));
    assert_eq!(mortgage.tags, ["Struggling to pay mortgage", "Mortgage"]);

    // Harassing calls and the one complaint without a timely response.
    assert_eq!(complaint(&p, "7266471").severity.get(), 5);
    // A repossessed vehicle; an eviction and a lost car.
    assert_eq!(complaint(&p, "7263426").severity.get(), 5);
    assert_eq!(complaint(&p, "7275721").severity.get(), 5);
    let severities: Vec<u8> = insights(&p).iter().map(|i| i.severity.get()).collect();
    let fives = severities.iter().filter(|&&s| s == 5).count();
    assert!((3..20).contains(&fives), "{fives} complaints at 5");
    let fours = severities.iter().filter(|&&s| s == 4).count();
    assert!((100..400).contains(&fours), "{fours} complaints at 4");
    assert!(severities.iter().all(|s| (3..=5).contains(s)));
}

#[test]
fn cfpb_narratives_need_no_redaction() {
    // The CFPB masks personal data itself; the redactor must not eat amounts, dates or masks.
    let p = parsed(CFPB, Format::Csv);
    for insight in insights(&p) {
        let r = Redactor::all().redact(&insight.body);
        assert_eq!(r.counts.total(), 0, "complaint {}", insight.source_ref);
    }
}

#[test]
fn cfpb_with_a_byte_order_mark_source_and_mappings() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(CFPB);
    let options = ImportOptions {
        source: Some("  complaints ".into()),
        ..mapped(Format::Csv, &["State=segment"])
    };
    let p = read(&bytes, &options).expect("the file is read");
    assert_eq!(p.recognised, Recognised::Cfpb);
    assert_eq!(p.rows.len(), 2_067);
    let c = complaint(&p, "7523056");
    assert_eq!(c.source, "complaints");
    assert_eq!(c.segment.as_deref(), Some("FL"));
    assert!(p.ignored_columns.contains(&"Tags".to_string()));
    assert!(!p.ignored_columns.contains(&"State".to_string()));
}

#[test]
fn a_cfpb_file_given_twice_keeps_the_first_of_each() {
    let text = std::str::from_utf8(CFPB).expect("UTF-8");
    let (_, data) = text.split_once('\n').expect("a header");
    let doubled = format!("{text}{data}");
    let p = parsed(doubled, Format::Csv);
    assert_eq!(p.rows.len(), 4_134);
    let errors = row_errors(&p);
    assert_eq!(errors.len(), 2_067);
    assert_eq!(
        errors[0],
        (
            2_068,
            RowError::DuplicateRef {
                source_ref: "7523056".into(),
                first_row: 1
            }
        )
    );
    assert_eq!(
        errors[0].1.to_string(),
        "same source_ref \"7523056\" as row 1"
    );
}

#[test]
fn cfpb_json_export_keys_are_recognised() {
    let json = r#"[{"date_received": "2023-07-19T12:00:00-05:00", "product": "Debt collection",
        "issue": "False statements or representation", "sub_issue": null,
        "complaint_what_happened": "They kept making harassing phone calls.",
        "company": "JTM Capital Management, LLC", "tags": "Servicemember",
        "timely": "No", "complaint_id": 7266471, "state": "NC"}]"#;
    let p = parsed(json, Format::Json);
    assert_eq!(p.recognised, Recognised::Cfpb);
    assert_eq!(p.ignored_columns, ["state"]);
    let c = insights(&p)[0];
    assert_eq!(c.source_ref, "7266471");
    assert_eq!(c.title, "False statements or representation");
    assert_eq!(c.observed_on, date(2023, 7, 19));
    assert_eq!(c.segment.as_deref(), Some("Servicemember"));
    assert_eq!(c.severity.get(), 5);
}

// ---------------------------------------------------------------- generic files

const TICKETS: &str = "\
ID,Date,Title,Feedback,Themes,Segment,Stage,Kind,Sentiment,Severity,Company,Link,Visibility,Source,Agent
T-1,2023-08-25,Export is slow,\"Exports take minutes,
and time out\",\"billing; export|Export\",enterprise,usage,pain,neg,4,Acme,https://help.example.com/t/1,\"Payments, growth\",zendesk,Sam
T-2,08/26/2023,,Love the new dashboard,,,,praise,,,,,,,Kim
";

#[test]
fn generic_csv_columns_are_recognised_by_name_and_alias() {
    let p = parsed(TICKETS, Format::Csv);
    assert_eq!(p.recognised, Recognised::Generic);
    assert_eq!(p.ignored_columns, ["Agent"]);
    assert_eq!(row_errors(&p), vec![]);
    let rows = insights(&p);
    assert_eq!(
        rows[0],
        &InsightData {
            source: "zendesk".into(),
            source_ref: "T-1".into(),
            title: "Export is slow".into(),
            body: "Exports take minutes,\nand time out".into(),
            observed_on: date(2023, 8, 25),
            tags: vec!["billing".into(), "export".into()],
            segment: Some("enterprise".into()),
            stage: Some(Stage::Usage),
            kind: Some(Kind::Pain),
            sentiment: Sentiment::Negative,
            severity: Severity::new(4).expect("in range"),
            account: Some("Acme".into()),
            url: Some("https://help.example.com/t/1".into()),
            visibility: Visibility::Teams(vec!["Payments".into(), "growth".into()]),
        }
    );
    let second = rows[1];
    assert_eq!(second.source, "import");
    assert_eq!(second.title, "");
    assert_eq!(second.observed_on, date(2023, 8, 26));
    // No sentiment column value: estimated from the text.
    assert_eq!(second.sentiment, Sentiment::Positive);
    assert_eq!(second.severity, Severity::DEFAULT);
    assert_eq!(second.kind, Some(Kind::Praise));
    assert_eq!(second.visibility, Visibility::All);
}

#[test]
fn canonical_names_beat_aliases_and_first_columns_win() {
    let p = parsed(
        "comment,Body,text,date,created_at\nc,b,t,2023-01-02,2023-01-03\n",
        Format::Csv,
    );
    let row = insights(&p)[0];
    assert_eq!(row.body, "b");
    assert_eq!(row.observed_on, date(2023, 1, 2));
    assert_eq!(p.ignored_columns, ["comment", "text", "created_at"]);
}

#[test]
fn missing_dates_and_ids_get_defaults_that_are_stable() {
    let csv = "feedback\nExport is slow\nSearch is great\n";
    let first = parsed(csv, Format::Csv);
    let again = parsed(csv, Format::Csv);
    let refs: Vec<&str> = insights(&first)
        .iter()
        .map(|i| i.source_ref.as_str())
        .collect();
    assert_eq!(
        refs,
        insights(&again)
            .iter()
            .map(|i| i.source_ref.as_str())
            .collect::<Vec<_>>()
    );
    assert_ne!(refs[0], refs[1]);
    assert!(refs.iter().all(|r| r.starts_with("auto-")));
    assert!(insights(&first).iter().all(|i| i.observed_on == today()));
    // Other options, other ids: the source is part of the identity.
    let other = read(
        csv.as_bytes(),
        &ImportOptions {
            source: Some("survey".into()),
            ..options(Format::Csv)
        },
    )
    .expect("read");
    assert_ne!(insights(&other)[0].source_ref, refs[0]);
}

#[test]
fn identical_rows_without_ids_are_one_insight() {
    let p = parsed(
        "feedback\nExport is slow\nSearch\nExport is slow\n",
        Format::Csv,
    );
    assert_eq!(
        row_errors(&p),
        vec![(3, RowError::DuplicateRow { first_row: 1 })]
    );
}

#[test]
fn repeated_source_refs_keep_the_first_row() {
    let p = parsed(
        "id,title,source\nA,first,\nB,other,\nA,second,\nA,elsewhere,jira\n",
        Format::Csv,
    );
    let errors = row_errors(&p);
    assert_eq!(
        errors,
        vec![(
            3,
            RowError::DuplicateRef {
                source_ref: "A".into(),
                first_row: 1
            }
        )]
    );
    let kept: Vec<&str> = insights(&p).iter().map(|i| i.title.as_str()).collect();
    assert_eq!(kept, ["first", "other", "elsewhere"]);
}

#[test]
fn a_failed_row_does_not_claim_its_source_ref() {
    let p = parsed(
        "id,title,date\nA,first,not a date\nA,second,2023-01-01\n",
        Format::Csv,
    );
    assert_eq!(insights(&p)[0].title, "second");
    assert_eq!(row_errors(&p).len(), 1);
}

#[test]
fn semicolons_tabs_and_crlf() {
    let p = parsed("title;body\r\nA;x\r\nB;y\r\n", Format::Csv);
    assert_eq!(insights(&p).len(), 2);
    assert_eq!(insights(&p)[1].body, "y");
    let p = parsed("title\tbody\nA\tx, y; z\n", Format::Csv);
    assert_eq!(insights(&p)[0].body, "x, y; z");
}

#[test]
fn a_header_alone_and_padding_rows() {
    assert_eq!(parsed("title,body\n", Format::Csv).rows, vec![]);
    let p = parsed("title,body\n,\nA,x\n ,  \n", Format::Csv);
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.rows[0].number, 2);
}

#[test]
fn mappings_override_recognition() {
    let csv = "Ticket,Notes,Comment,When\n9,the notes,the comment,2023-05-06\n";
    let options = mapped(
        Format::Csv,
        &["notes=body", "when=observed_on", "Ticket=title"],
    );
    let p = read(csv.as_bytes(), &options).expect("read");
    let row = insights(&p)[0];
    assert_eq!(row.body, "the notes");
    assert_eq!(row.title, "9");
    assert_eq!(row.observed_on, date(2023, 5, 6));
    // Ticket was recognised as source_ref, but is mapped elsewhere now.
    assert!(row.source_ref.starts_with("auto-"));
    assert_eq!(p.ignored_columns, ["Comment"]);
}

// ---------------------------------------------------------------- JSON and NDJSON

#[test]
fn json_arrays_with_typed_values() {
    let json = r#"[
        {"id": 17, "title": "Slow export", "body": "It takes minutes", "tags": ["export", "Export", "speed"],
         "severity": 5, "teams": ["payments"], "created_at": "2023-08-25T09:00:00Z", "stage": null,
         "extra": {"nested": true}},
        {"id": "18", "body": "Checkout is broken", "severity": 2.0, "tags": "billing|checkout", "teams": []}
    ]"#;
    let p = parsed(json, Format::Json);
    assert_eq!(row_errors(&p), vec![]);
    assert_eq!(p.ignored_columns, ["extra"]);
    let rows = insights(&p);
    assert_eq!(rows[0].source_ref, "17");
    assert_eq!(rows[0].tags, ["export", "speed"]);
    assert_eq!(rows[0].severity.get(), 5);
    assert_eq!(
        rows[0].visibility,
        Visibility::Teams(vec!["payments".into()])
    );
    assert_eq!(rows[0].observed_on, date(2023, 8, 25));
    assert_eq!(rows[0].stage, None);
    assert_eq!(rows[1].body, "Checkout is broken");
    assert_eq!(rows[1].severity.get(), 2);
    assert_eq!(rows[1].tags, ["billing", "checkout"]);
    assert_eq!(rows[1].visibility, Visibility::All);
    assert_eq!(rows[1].sentiment, Sentiment::Negative);
    assert_eq!(p.rows[1].number, 2);
}

#[test]
fn json_wrapped_in_an_insights_object() {
    let json = r#"{"exported_at": "2024-01-01", "insights": [{"title": "A"}, {"title": "B"}]}"#;
    let p = parsed(json, Format::Json);
    assert_eq!(insights(&p).len(), 2);
    assert_eq!(Format::detect(None, json.as_bytes()), Ok(Format::Json));
}

#[test]
fn an_empty_json_array_is_an_empty_import() {
    let p = parsed("[]", Format::Json);
    assert_eq!(p.rows, vec![]);
    assert_eq!(p.ignored_columns, Vec::<String>::new());
}

#[test]
fn ndjson_rows_are_numbered_by_line() {
    let ndjson = "{\"title\": \"A\", \"msg\": \"first\"}\r\n\n{\"title\": \"B\"}\n  \n{oops\n[1]\n";
    let options = mapped(Format::Ndjson, &["msg=body"]);
    let p = read(ndjson.as_bytes(), &options).expect("read");
    let numbers: Vec<usize> = p.rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 3, 5, 6]);
    assert_eq!(insights(&p)[0].body, "first");
    let errors = row_errors(&p);
    assert!(matches!(errors[0], (5, RowError::Json { column: 2, .. })));
    assert_eq!(errors[1], (6, RowError::NotAnObject { found: "an array" }));
    assert!(
        errors[0]
            .1
            .to_string()
            .starts_with("JSON syntax error at column 2: ")
    );
}

#[test]
fn json_rows_that_cannot_be_read() {
    let json = r#"[{"title": "ok"}, "text", {"title": {"a": 1}}, {"title": ["a", {"b": 1}]},
        {"title": "a", "title": "b"}, {"body": "a\u0000b"}, {"title": ["a", "b"]}]"#;
    let errors = row_errors(&parsed(json, Format::Json));
    assert_eq!(
        errors,
        vec![
            (2, RowError::NotAnObject { found: "a string" }),
            (
                3,
                RowError::NotText {
                    column: "title".into(),
                    found: "an object"
                }
            ),
            (
                4,
                RowError::NotText {
                    column: "title".into(),
                    found: "an array of arrays or objects"
                }
            ),
            (
                5,
                RowError::DuplicateKey {
                    key: "title".into()
                }
            ),
            (
                6,
                RowError::Nul {
                    column: "body".into()
                }
            ),
            (
                7,
                RowError::NotText {
                    column: "title".into(),
                    found: "an array"
                }
            ),
        ]
    );
}

// ---------------------------------------------------------------- row errors

#[test]
fn a_row_without_text() {
    assert_eq!(
        only_error("title,body,segment\n,,enterprise\nA,,\n", Format::Csv),
        RowError::MissingText
    );
}

#[test]
fn an_unparsable_date_names_value_and_forms() {
    let e = only_error("title,date\nA,25/08/2023\n", Format::Csv);
    assert_eq!(
        e,
        RowError::BadDate {
            column: "date".into(),
            value: "25/08/2023".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "date: \"25/08/2023\" is not a date; write YYYY-MM-DD, MM/DD/YYYY or an RFC 3339 time \
         such as 2023-08-25T14:30:00Z"
    );
}

#[test]
fn a_severity_outside_one_to_five() {
    let e = only_error("title,severity\nA,7\nB,5\n", Format::Csv);
    assert_eq!(
        e.to_string(),
        "severity: severity must be a whole number from 1 to 5, not \"7\""
    );
}

#[test]
fn vocabulary_values_suggest_the_nearest() {
    let e = only_error("title,stage\nA,onbording\n", Format::Csv);
    assert_eq!(
        e.to_string(),
        "stage: \"onbording\" is not a stage (did you mean \"onboarding\"?)"
    );
    let e = only_error("title,kind\nA,complaint\nB,praize\n", Format::Csv);
    assert!(
        matches!(&e, RowError::BadValue { error, .. } if error.suggestion.as_deref() == Some("praise"))
    );
    let e = only_error("title,sentiment\nA,whatever\n", Format::Csv);
    assert!(e.to_string().contains("one of: neg, negative"), "{e}");
}

#[test]
fn a_link_must_be_http() {
    let e = only_error(
        "title,url\nA,javascript:alert(1)\nB,https://x.example/1\n",
        Format::Csv,
    );
    assert_eq!(
        e,
        RowError::BadUrl {
            column: "url".into(),
            value: "javascript:alert(1)".into()
        }
    );
}

#[test]
fn a_field_over_the_limit_says_which_and_how_long() {
    let csv = format!("title,body\nA,{}\nB,short\n", "x".repeat(25_000));
    let e = only_error(&csv, Format::Csv);
    assert_eq!(
        e.to_string(),
        "body is 25,000 characters long; the limit is 20,000"
    );
    // Characters, not bytes.
    let csv = format!("title\n{}\n", "é".repeat(20_000));
    assert_eq!(row_errors(&parsed(csv, Format::Csv)), vec![]);
    // A tighter limit from the options.
    let options = ImportOptions {
        max_field_chars: 3,
        ..options(Format::Csv)
    };
    let p = read(b"title\nabcd\n", &options).expect("read");
    assert_eq!(
        row_errors(&p),
        vec![(
            1,
            RowError::TooLong {
                column: "title".into(),
                chars: 4,
                max: 3
            }
        )]
    );
}

#[test]
fn a_row_with_the_wrong_number_of_fields() {
    let p = parsed("title,body\nA,x\nB,y,z\nC,w\n", Format::Csv);
    assert_eq!(
        row_errors(&p),
        vec![(
            2,
            RowError::FieldCount {
                found: 3,
                expected: 2
            }
        )]
    );
    assert_eq!(insights(&p).len(), 2);
}

#[test]
fn long_values_are_shortened_in_messages() {
    let csv = format!("title,date\nA,{}\n", "9".repeat(5_000));
    let e = only_error(&csv, Format::Csv);
    assert!(e.to_string().len() < 300, "{e}");
}

// ---------------------------------------------------------------- file errors

#[test]
fn empty_files() {
    for bytes in [&b""[..], b"  \n\r\n\t", b"\xEF\xBB\xBF", b"\xEF\xBB\xBF\n"] {
        for format in [Format::Csv, Format::Json, Format::Ndjson] {
            assert_eq!(read_as(bytes, format), Err(FileError::Empty));
        }
        assert_eq!(Format::detect(None, bytes), Err(FileError::Empty));
    }
}

#[test]
fn binary_and_non_utf8_files() {
    assert_eq!(
        read_as(b"PK\x03\x04\x14\x00\x06\x00", Format::Csv),
        Err(FileError::Binary { line: 1 })
    );
    assert_eq!(
        read_as(b"title\nok\nA\x00B\n", Format::Csv),
        Err(FileError::Binary { line: 3 })
    );
    let e = read_as(b"title\ncaf\xE9\n", Format::Csv).unwrap_err();
    assert_eq!(
        e,
        FileError::NotUtf8 {
            line: 2,
            byte: 0xE9
        }
    );
    assert_eq!(
        e.to_string(),
        "the file is not UTF-8 text (byte 0xE9 on line 2); save it as UTF-8"
    );
    assert_eq!(
        read_as(b"\xFF\xFEt\x00i\x00", Format::Csv),
        Err(FileError::Utf16)
    );
    assert!(Format::detect(Some("x.txt"), b"\x00\x01").is_err());
}

#[test]
fn files_that_are_not_the_format_asked_for() {
    let wrong = |claimed, found| Err(FileError::WrongFormat { claimed, found });
    assert_eq!(
        read_as(r#"[{"title": "A"}]"#, Format::Csv),
        wrong(Format::Csv, Format::Json)
    );
    assert_eq!(
        read_as("{\"title\": \"A\"}\n{\"title\": \"B\"}\n", Format::Csv),
        wrong(Format::Csv, Format::Ndjson)
    );
    assert_eq!(
        read_as("title,body\nA,b\n", Format::Json),
        wrong(Format::Json, Format::Csv)
    );
    assert_eq!(
        read_as("title,body\nA,b\n", Format::Ndjson),
        wrong(Format::Ndjson, Format::Csv)
    );
    assert_eq!(
        read_as("{\"title\": \"A\"}\n{\"title\": \"B\"}\n", Format::Json),
        wrong(Format::Json, Format::Ndjson)
    );
    assert_eq!(
        read_as("[{\"title\": \"A\"}]", Format::Ndjson),
        wrong(Format::Ndjson, Format::Json)
    );
    assert_eq!(
        read_as(
            "{\n  \"insights\": [\n    {\"title\": \"A\"}\n  ]\n}\n",
            Format::Ndjson
        ),
        wrong(Format::Ndjson, Format::Json)
    );
    assert_eq!(
        read_as("title\nA\n", Format::Json).unwrap_err().to_string(),
        "the file looks like CSV, not JSON; import it with --format csv"
    );
}

#[test]
fn a_csv_with_inconsistent_rows_everywhere() {
    let e = read_as(
        "title,body,date\nA\nB,x\nC,y,z,w\nD,x,2023-01-01\n",
        Format::Csv,
    )
    .unwrap_err();
    assert_eq!(
        e,
        FileError::InconsistentColumns {
            expected: 3,
            mismatched: 3,
            rows: 4
        }
    );
    // A prose file read as CSV: commas in every line, none where the header has them.
    let prose =
        "Dear team, I write because\nthe export, which I use daily, is slow, very slow.\nThanks\n";
    assert!(matches!(
        read_as(prose, Format::Csv),
        Err(FileError::InconsistentColumns { .. })
    ));
}

#[test]
fn an_unclosed_quote() {
    let e = read_as("title,body\nA,x\nB,\"never closed\nC,z\nD,w\n", Format::Csv).unwrap_err();
    assert_eq!(e, FileError::UnclosedQuote { line: 3 });
    // A quote inside an unquoted field is only a character.
    assert_eq!(
        insights(&parsed("title\n5\" screen\n", Format::Csv))[0].title,
        "5\" screen"
    );
}

#[test]
fn json_syntax_errors_have_a_position() {
    let e = read_as("[\n  {\"title\": \"A\",}\n]", Format::Json).unwrap_err();
    assert!(
        matches!(&e, FileError::Json { line: 2, column, .. } if *column > 10),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("JSON syntax error on line 2, column ")
    );
    // Every NDJSON line broken: the file is refused with the first line's error.
    assert!(matches!(
        read_as("{oops\n{also oops\n", Format::Ndjson),
        Err(FileError::Json { line: 1, .. })
    ));
}

#[test]
fn json_that_is_not_an_array_of_objects() {
    let not_array = |json: &str| match read_as(json, Format::Json) {
        Err(FileError::NotArray { found }) => found,
        other => panic!("{json}: {other:?}"),
    };
    assert_eq!(not_array("\"just text\""), "a string");
    assert_eq!(not_array("42"), "a number");
    assert_eq!(not_array("[\"a\", \"b\"]"), "an array of strings");
    assert_eq!(not_array("[[1], [2]]"), "an array of arrays");
    assert_eq!(
        not_array("{\"data\": []}"),
        "an object without an \"insights\" array"
    );
    assert_eq!(
        not_array("{\"insights\": 3}"),
        "an object whose \"insights\" is a number"
    );
    assert_eq!(
        read_as("1\n2\n", Format::Ndjson),
        Err(FileError::NotObjects)
    );
}

#[test]
fn no_column_holds_the_text() {
    let e = read_as("A,B,C\n1,2,3\n", Format::Csv).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no column holds the insight text; columns are: A, B, C — map one with --map COLUMN=body"
    );
    let e = read_as("[{\"score\": 1}]", Format::Json).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no key holds the insight text; keys are: score — map one with --map KEY=body"
    );
    // Mapping one fixes it.
    let p = read(b"A,B,C\n1,2,3\n", &mapped(Format::Csv, &["B=body"])).expect("read");
    assert_eq!(insights(&p)[0].body, "2");
}

#[test]
fn mappings_that_do_not_fit_the_file() {
    let csv = b"Feedback,Date\nx,2023-01-01\n";
    let e = read(csv, &mapped(Format::Csv, &["Feedbak=body"])).unwrap_err();
    assert_eq!(
        e,
        FileError::UnknownColumn {
            noun: "column",
            column: "Feedbak".into(),
            suggestion: Some("Feedback".into()),
            columns: vec!["Feedback".into(), "Date".into()],
        }
    );
    assert_eq!(
        e.to_string(),
        "--map names column \"Feedbak\", which the file does not have (did you mean \
         \"Feedback\"?); columns are: Feedback, Date"
    );
    let e = read(csv, &mapped(Format::Csv, &["Feedback=body", "Date=body"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "body is mapped twice, from \"Feedback\" and from \"Date\""
    );
    // The same mapping twice is harmless; names match loosely.
    let p = read(
        csv,
        &mapped(Format::Csv, &["feedback=text", "FEEDBACK=body"]),
    )
    .expect("read");
    assert_eq!(insights(&p)[0].body, "x");
}

// ---------------------------------------------------------------- hostile input

#[test]
fn ten_megabytes_on_one_line() {
    let huge = "a".repeat(10 * 1024 * 1024);
    let too_long = |row| {
        Err(FileError::RowTooLong {
            row,
            max: MAX_ROW_BYTES,
        })
    };
    // A row past MAX_ROW_BYTES refuses the file, whatever the format.
    assert_eq!(read_as(format!("body\n{huge}\n"), Format::Csv), too_long(1));
    assert_eq!(
        read_as(format!("body\nshort\n\"{huge}\"\n"), Format::Csv),
        too_long(2)
    );
    assert_eq!(
        read_as(
            format!("{{\"body\": \"x\"}}\n{{\"body\": \"{huge}\"}}"),
            Format::Ndjson
        ),
        too_long(2)
    );
    assert_eq!(
        read_as(
            format!("[{{\"body\": \"x\"}}, {{\"body\": \"{huge}\"}}]"),
            Format::Json
        ),
        too_long(2)
    );
    // As the header itself.
    let e = read_as(&huge, Format::Csv).unwrap_err();
    assert_eq!(
        e,
        FileError::RowTooLong {
            row: 0,
            max: MAX_ROW_BYTES
        }
    );
    assert_eq!(
        e.to_string(),
        "the header row is longer than 1,048,576 bytes"
    );
    // Under the row limit but over the field limit: only that row is refused.
    let long = "a".repeat(100_000);
    let e = only_error(&format!("body\n{long}\nok\n"), Format::Csv);
    assert!(matches!(e, RowError::TooLong { chars, .. } if chars == long.len()));
    let e = only_error(&format!("{{\"body\": \"{long}\"}}"), Format::Ndjson);
    assert!(matches!(e, RowError::TooLong { .. }));
}

/// Bytes without end: `byte` forever.
struct Endless(u8);

impl Source for Endless {
    fn open(&self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
        Ok(Box::new(std::io::repeat(self.0)))
    }
}

#[test]
fn a_file_without_end_is_refused_after_one_row() {
    for format in [Format::Csv, Format::Ndjson, Format::Json] {
        let e = Reader::open(&Endless(b'a'), &options(format)).unwrap_err();
        match format {
            Format::Csv => assert_eq!(
                e.to_string(),
                "the header row is longer than 1,048,576 bytes"
            ),
            // Not JSON at all: said so as soon as the start is seen.
            _ => assert!(matches!(e, FileError::WrongFormat { .. }), "{e:?}"),
        }
    }
    let e = Reader::open(&Endless(b' '), &options(Format::Csv)).unwrap_err();
    assert_eq!(
        e,
        FileError::RowTooLong {
            row: 0,
            max: MAX_ROW_BYTES
        }
    );
    let e = Reader::open(&Endless(0), &options(Format::Csv)).unwrap_err();
    assert_eq!(e, FileError::Binary { line: 1 });
    // An array whose first element never ends.
    struct Array;
    impl Source for Array {
        fn open(&self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
            Ok(Box::new(std::io::Read::chain(
                &b"[{\"body\": \""[..],
                std::io::repeat(b'a'),
            )))
        }
    }
    let e = Reader::open(&Array, &options(Format::Json)).unwrap_err();
    assert_eq!(e.to_string(), "row 1 is longer than 1,048,576 bytes");
}

#[test]
fn rows_stream_one_at_a_time_and_can_be_stopped() {
    let csv = "id,title\n1,A\n2,B\n1,C\n3,D\n";
    let source: &[u8] = csv.as_bytes();
    let reader = Reader::open(&source, &options(Format::Csv)).expect("opens");
    assert_eq!(reader.total_rows(), 4);
    let mut seen = Vec::new();
    let finished = reader
        .rows(|row| {
            seen.push((row.number, row.result.is_ok()));
            if seen.len() == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .expect("reads");
    assert!(!finished);
    // The repeated id is refused on every pass, not only the first.
    assert_eq!(seen, vec![(1, true), (2, true), (3, false)]);
    let mut again = 0;
    assert!(
        reader
            .rows(|_| {
                again += 1;
                ControlFlow::Continue(())
            })
            .expect("reads")
    );
    assert_eq!(again, 4);
}

#[test]
fn a_file_read_in_small_pieces_reads_the_same() {
    /// Hands out at most three bytes per read, cutting characters and rows anywhere.
    struct Trickle<'a>(&'a [u8]);
    impl Source for Trickle<'_> {
        fn open(&self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
            struct Pieces<'a>(&'a [u8]);
            impl std::io::Read for Pieces<'_> {
                fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                    let n = buf.len().min(3).min(self.0.len());
                    buf[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            Ok(Box::new(Pieces(self.0)))
        }
    }
    let whole = read(CFPB, &options(Format::Csv)).expect("reads");
    let trickle = Trickle(CFPB);
    let reader = Reader::open(&trickle, &options(Format::Csv)).expect("opens");
    let mut rows = Vec::new();
    reader
        .rows(|row| {
            rows.push(row);
            ControlFlow::Continue(())
        })
        .expect("reads");
    assert_eq!(rows, whole.rows);
    let json = "[{\"title\": \"Café crème\"}, {\"title\": \"Über\"}]";
    let trickle = Trickle(json.as_bytes());
    let reader = Reader::open(&trickle, &options(Format::Json)).expect("opens");
    assert_eq!(reader.total_rows(), 2);
}

#[test]
fn deeply_nested_json_is_refused_without_overflowing() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        read_as(&deep, Format::Json),
        Err(FileError::Json { .. })
    ));
    let deep = format!("{{\"a\":{}}}", "[".repeat(100_000));
    assert!(read_as(&deep, Format::Ndjson).is_err());
}

#[test]
fn a_byte_order_mark_is_accepted_everywhere() {
    let with_bom = |s: &str| [&b"\xEF\xBB\xBF"[..], s.as_bytes()].concat();
    let p = parsed(with_bom("title,body\nA,x\n"), Format::Csv);
    assert_eq!(insights(&p)[0].title, "A");
    assert_eq!(p.ignored_columns, Vec::<String>::new());
    assert_eq!(
        insights(&parsed(with_bom("[{\"title\": \"A\"}]"), Format::Json)).len(),
        1
    );
    assert_eq!(
        insights(&parsed(with_bom("{\"title\": \"A\"}"), Format::Ndjson)).len(),
        1
    );
    assert_eq!(
        Format::detect(None, &with_bom("{\"title\": \"A\"}\n")),
        Ok(Format::Ndjson)
    );
}

#[test]
fn many_columns_and_many_rows() {
    let header: Vec<String> = (0..1_000).map(|i| format!("c{i}")).collect();
    let mut csv = format!("title,{}\n", header.join(","));
    for row in 0..1_000 {
        csv.push_str(&format!("row {row}{}\n", ",".repeat(1_000)));
    }
    let p = parsed(csv, Format::Csv);
    assert_eq!(insights(&p).len(), 1_000);
    assert_eq!(p.ignored_columns.len(), 1_000);
}

// ---------------------------------------------------------------- formats

#[test]
fn formats_by_name_extension_and_content() {
    assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
    assert_eq!(" jsonl ".parse::<Format>(), Ok(Format::Ndjson));
    assert_eq!("ndjson".parse::<Format>(), Ok(Format::Ndjson));
    let e = "jsno".parse::<Format>().unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("json"));
    assert!("xml".parse::<Format>().is_err());
    for format in [Format::Csv, Format::Json, Format::Ndjson] {
        assert_eq!(format.to_string().parse::<Format>(), Ok(format));
    }

    assert_eq!(
        Format::detect(Some("in/feedback.CSV"), b""),
        Ok(Format::Csv)
    );
    assert_eq!(Format::detect(Some("x.tsv"), b"[]"), Ok(Format::Csv));
    assert_eq!(Format::detect(Some("x.json"), b"a,b"), Ok(Format::Json));
    assert_eq!(Format::detect(Some("x.JSONL"), b"a,b"), Ok(Format::Ndjson));
    assert_eq!(Format::detect(Some("x.ndjson"), b"a,b"), Ok(Format::Ndjson));
    assert_eq!(
        Format::detect(Some("export.txt"), b"title\nA\n"),
        Ok(Format::Csv)
    );
    assert_eq!(Format::detect(None, CFPB), Ok(Format::Csv));
    assert_eq!(Format::detect(None, b"  [{\"a\": 1}]"), Ok(Format::Json));
    assert_eq!(
        Format::detect(None, b"{\"a\": 1}\n{\"a\": 2}\n"),
        Ok(Format::Ndjson)
    );
    assert_eq!(
        Format::detect(None, b"{\n  \"insights\": []\n}"),
        Ok(Format::Json)
    );
    assert_eq!(
        Format::detect(None, b"{\"insights\": []}"),
        Ok(Format::Json)
    );
}

#[test]
fn options_have_sensible_defaults() {
    let o = options(Format::Json);
    assert_eq!(o.max_field_chars, DEFAULT_MAX_FIELD_CHARS);
    assert_eq!(o.source, None);
    assert!(o.mappings.is_empty());
    assert_eq!(Recognised::Cfpb.to_string(), "CFPB complaints");
}
