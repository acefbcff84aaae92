//! Recall and precision of the redactor over a labelled set of texts (`labelled.tsv`): true
//! positives of every kind in the contexts people write them, and hard negatives (order ids,
//! dates, amounts, versions, times, masks, postal codes, failing checksums) that must come out
//! unchanged.
//!
//! A case counts as right only when the whole output is what the label says. A wrong output
//! counts every placeholder it should have had as missed and every placeholder it has as false,
//! so a match of the right kind in the wrong place is both.

use super::Redactor;

const CASES: &str = include_str!("labelled.tsv");

const KINDS: [&str; 5] = ["[email]", "[phone]", "[card]", "[iban]", "[number]"];

/// Each case's text and expected output.
fn cases() -> Vec<(&'static str, &'static str)> {
    CASES
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| line.split_once(" => ").unwrap_or((line, line)))
        .collect()
}

fn placeholders(text: &str, kind: &str) -> usize {
    text.matches(kind).count()
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    right: usize,
    missed: usize,
    wrong: usize,
}

impl Tally {
    fn recall(&self) -> f64 {
        ratio(self.right, self.right + self.missed)
    }

    fn precision(&self) -> f64 {
        ratio(self.right, self.right + self.wrong)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

#[test]
fn the_set_is_large_and_covers_every_kind_and_hard_negatives() {
    let cases = cases();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    for kind in KINDS {
        let positives = cases
            .iter()
            .filter(|(_, expected)| expected.contains(kind))
            .count();
        assert!(positives >= 5, "only {positives} cases of {kind}");
    }
    let negatives = cases
        .iter()
        .filter(|(text, expected)| text == expected)
        .count();
    assert!(negatives >= 60, "only {negatives} hard negatives");
    // A label that does not parse would silently become a negative.
    for (text, expected) in &cases {
        assert!(!text.contains("=>") && !expected.contains("=>"), "{text:?}");
        assert!(!KINDS.iter().any(|k| text.contains(k)), "{text:?}");
    }
}

#[test]
fn recall_and_precision_over_the_labelled_set() {
    let redactor = Redactor::all();
    let mut by_kind = [Tally::default(); KINDS.len()];
    let mut wrong_cases = Vec::new();
    let cases = cases();
    for (text, expected) in &cases {
        let got = redactor.redact(text).text;
        let right = got == *expected;
        if !right {
            wrong_cases.push(format!(
                "  {text:?}\n    expected {expected:?}\n    got      {got:?}"
            ));
        }
        for (tally, kind) in by_kind.iter_mut().zip(KINDS) {
            let (want, have) = (placeholders(expected, kind), placeholders(&got, kind));
            if right {
                tally.right += want;
            } else {
                tally.missed += want;
                tally.wrong += have;
            }
        }
    }
    let mut total = Tally::default();
    println!("redaction over {} labelled cases:", cases.len());
    for (tally, kind) in by_kind.iter().zip(KINDS) {
        println!(
            "  {kind:<9} recall {:6.2}%  precision {:6.2}%  ({} right, {} missed, {} wrong)",
            100.0 * tally.recall(),
            100.0 * tally.precision(),
            tally.right,
            tally.missed,
            tally.wrong
        );
        total.right += tally.right;
        total.missed += tally.missed;
        total.wrong += tally.wrong;
    }
    println!(
        "  all       recall {:6.2}%  precision {:6.2}%",
        100.0 * total.recall(),
        100.0 * total.precision()
    );
    if !wrong_cases.is_empty() {
        println!(
            "cases redacted otherwise than labelled:\n{}",
            wrong_cases.join("\n")
        );
    }
    assert!(total.recall() >= 0.99, "recall {:.4}", total.recall());
    assert!(
        total.precision() >= 0.95,
        "precision {:.4}",
        total.precision()
    );
}
