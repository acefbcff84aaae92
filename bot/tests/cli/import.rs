//! `flywheel import` on files too large to hold, files without end and files that are wrong
//! somewhere past their start: memory stays flat, failures come fast and name the place, and
//! `--strict` writes nothing.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{Run, Scratch, flywheel, json, summary_count};

/// Runs `flywheel ARGS` against the scratch store to its end: what it printed and its peak
/// resident memory in bytes, the program's own (not counting this test process).
fn run_measured(scratch: &Scratch, args: &[&str]) -> (Run, u64) {
    let out = scratch.path("measured.out");
    let err = scratch.path("measured.err");
    let peak_file = scratch.path("measured.peak");
    // The kernel counts a spawned process's peak from before it replaced itself with the
    // program, when it still shared this (large, multi-threaded) test process's memory. GNU
    // time, a small process, starts the program and reports the program's own peak.
    let time = Path::new("/usr/bin/time");
    let mut command = if time.exists() {
        let mut command = Command::new(time);
        command
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&peak_file)
            .arg(env!("CARGO_BIN_EXE_flywheel"));
        for (name, _) in std::env::vars() {
            if name.starts_with("FLYWHEEL_") {
                command.env_remove(name);
            }
        }
        command
    } else {
        flywheel()
    };
    let child = command
        .args(args)
        .env("FLYWHEEL_STORE_URL", &scratch.store_url)
        .env("FLYWHEEL_DATA_DIR", scratch.dir.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("an output file"))
        .stderr(std::fs::File::create(&err).expect("an error file"))
        .spawn()
        .expect("flywheel starts");
    let pid = i32::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; `pid` is our own child, reaped here
    // once (the `Child` is never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "the child is reaped");
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    let kilobytes = if time.exists() {
        // GNU time exits with the program's code, and notes a failing one before the figure.
        let report = read(&peak_file);
        let kb = report
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u64>().ok());
        kb.unwrap_or_else(|| panic!("GNU time reported {report:?}"))
    } else {
        u64::try_from(usage.ru_maxrss).unwrap_or(0)
    };
    let run = Run {
        code,
        stdout: read(&out),
        stderr: read(&err),
    };
    // Kilobytes on Linux.
    (run, kilobytes * 1024)
}

const MB: u64 = 1024 * 1024;

/// Writes a CSV file of `rows` feedback rows, each with a body of about `body_chars`
/// characters and notes (a column no field reads) of `notes_chars`, streamed to disk.
fn write_feedback(path: &Path, rows: usize, body_chars: usize, notes_chars: usize) {
    let words = [
        "refund",
        "invoice",
        "export",
        "login",
        "slow",
        "crash",
        "billing",
        "onboarding",
        "support",
        "mobile",
        "report",
        "timeout",
        "upgrade",
        "pricing",
        "search",
    ];
    let text = |seed: usize, chars: usize| {
        let mut text = String::with_capacity(chars + 16);
        let mut n = seed;
        while text.len() < chars {
            text.push_str(words[n % words.len()]);
            text.push(' ');
            n = n.wrapping_mul(31).wrapping_add(7) % 1_000_003;
        }
        text
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("a file"));
    writeln!(out, "id,title,body,date,notes").unwrap();
    for row in 0..rows {
        writeln!(
            out,
            "t{row},Ticket {row} about {},{},2026-01-{:02},{}",
            words[row % words.len()],
            text(row, body_chars),
            row % 28 + 1,
            text(row + 1, notes_chars),
        )
        .unwrap();
    }
    out.flush().unwrap();
}

#[test]
fn a_file_larger_than_the_memory_budget_streams_within_it() {
    let scratch = Scratch::sqlite();
    let file = scratch.path("large.csv");
    // Over 60 MB: 4,200 rows of 15,000 characters, most of them in a column no field reads,
    // so that the test measures reading and batching rather than waiting on stemming.
    write_feedback(&file, 4_200, 1_500, 13_500);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 60 * MB, "{size} bytes");
    let (run, peak) = run_measured(&scratch, &["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(summary_count(&run.stdout, "inserted"), 4_200, "{run:?}");
    // The budget, whatever the file's size: fixed costs (the runtime, SQLite's cache, the
    // search index writer's arena) and a few batches in flight, never the file.
    eprintln!(
        "peak resident memory {} MB for a {} MB file",
        peak / MB,
        size / MB
    );
    assert!(
        peak < 300 * MB,
        "peak resident memory {} MB for a {} MB file",
        peak / MB,
        size / MB
    );
    let asked = scratch.run(&["ask", "refund", "--json"]);
    assert_eq!(json(&asked)["total"], 4_200, "{asked:?}");
}

#[test]
fn a_file_without_end_fails_fast_with_a_clear_message() {
    let scratch = Scratch::sqlite();
    let (run, peak) = run_measured(&scratch, &["import", "--format", "csv", "/dev/zero"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("/dev/zero: the file holds a NUL byte (line 1)"),
        "{run:?}"
    );
    assert!(peak < 100 * MB, "peak resident memory {} MB", peak / MB);

    // Text without a line break: one row longer than any feedback.
    let long = scratch.path("long.csv");
    let mut text = String::from("id,body\n1,");
    text.push_str(&"a".repeat(3 * MB as usize));
    std::fs::write(&long, text).unwrap();
    let (run, _) = run_measured(&scratch, &["import", long.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("row 1 is longer than 1,048,576 bytes"),
        "{run:?}"
    );
    let asked = scratch.run(&["ask", "a", "--json"]);
    assert_eq!(json(&asked)["total"], 0, "{asked:?}");
}

#[test]
fn malformed_json_far_into_a_file_is_placed_and_writes_nothing() {
    let scratch = Scratch::sqlite();
    let file = scratch.path("broken.json");
    let mut text = String::from("[\n");
    for row in 0..3_000 {
        text.push_str(&format!(
            "  {{\"id\": \"j{row}\", \"title\": \"Refund {row}\", \"body\": \"late refund\"}},\n"
        ));
    }
    text.push_str("  {\"id\": \"bad\", \"title\": \"x\" \"body\": \"y\"}\n]\n");
    std::fs::write(&file, text).unwrap();
    let run = scratch.run(&["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("JSON syntax error on line 3002, column 30: expected `,` or `}`"),
        "{run:?}"
    );
    let asked = scratch.run(&["ask", "refund", "--json"]);
    assert_eq!(json(&asked)["total"], 0, "{asked:?}");
}

#[test]
fn strict_writes_nothing_when_the_last_row_of_many_batches_is_bad() {
    let scratch = Scratch::sqlite();
    let file = scratch.path("mostly-good.csv");
    write_feedback(&file, 4_500, 50, 0);
    let mut tail = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    writeln!(
        tail,
        "t-bad,Bad date,refund refused,the day after tomorrow,"
    )
    .unwrap();
    drop(tail);
    let path = file.to_str().unwrap();

    let strict = scratch.run(&["import", path, "--strict"]);
    assert_eq!(strict.code, 1, "{strict:?}");
    assert!(
        strict.stderr.contains("rejected row 4501: date:"),
        "{strict:?}"
    );
    assert!(
        strict
            .stderr
            .contains("1 of 4501 rows rejected; --strict: nothing was written"),
        "{strict:?}"
    );
    let asked = scratch.run(&["ask", "refund", "--json"]);
    assert_eq!(json(&asked)["total"], 0, "{asked:?}");

    let lenient = scratch.run(&["import", path]);
    assert_eq!(lenient.code, 0, "{lenient:?}");
    assert_eq!(
        summary_count(&lenient.stdout, "inserted"),
        4_500,
        "{lenient:?}"
    );
    assert_eq!(summary_count(&lenient.stdout, "rejected"), 1, "{lenient:?}");
}
