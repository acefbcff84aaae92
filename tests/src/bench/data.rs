//! Benchmark data: the bundled CFPB sample recombined into as many complaints as wanted.
//!
//! Every generated complaint copies the labels, company, state and tags of a sample complaint
//! picked at random, so products, issues and companies keep the sample's proportions. A
//! complaint whose model has a narrative gets a new one, made of as many sentences as a random
//! narrative of the same issue has, each drawn from that issue's narratives: the vocabulary,
//! term frequencies and sentence lengths stay those of real complaints, and the words still go
//! with their issue. Dates are spread evenly over two years ending [`LAST_DAY`]; complaint ids
//! are distinct. The same seed gives the same file, byte for byte.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use chrono::{Days, NaiveDate};
use flywheel::demo::SAMPLE;

/// The seed of every benchmark file.
pub const SEED: u64 = 0x00f1_7ee1;
/// The newest date in a generated file.
pub const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(2025, 12, 31).expect("a date");
/// Days covered, ending [`LAST_DAY`].
pub const SPAN_DAYS: u64 = 730;
/// Generated complaint ids start here, above any real one in the sample.
const FIRST_ID: u64 = 90_000_000;

/// What was written.
#[derive(Debug, Clone, Copy)]
pub struct Generated {
    /// Complaints written.
    pub rows: usize,
    /// Size of the file.
    pub bytes: u64,
}

/// The sample, read once: its header, its rows and, per issue, its narratives cut into sentences.
struct Sample {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    columns: Columns,
    /// Per issue: each narrative as a list of sentences.
    narratives: HashMap<String, Vec<Vec<String>>>,
}

struct Columns {
    date: usize,
    issue: usize,
    narrative: usize,
    sent: usize,
    id: usize,
}

impl Sample {
    fn read() -> anyhow::Result<Sample> {
        let mut reader = csv::Reader::from_reader(SAMPLE);
        let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .with_context(|| format!("the sample has no {name:?} column"))
        };
        let columns = Columns {
            date: column("Date received")?,
            issue: column("Issue")?,
            narrative: column("Consumer complaint narrative")?,
            sent: column("Date sent to company")?,
            id: column("Complaint ID")?,
        };
        let mut rows = Vec::new();
        let mut narratives: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for record in reader.records() {
            let row: Vec<String> = record?.iter().map(str::to_string).collect();
            let sentences = sentences(&row[columns.narrative]);
            if !sentences.is_empty() {
                narratives
                    .entry(row[columns.issue].clone())
                    .or_default()
                    .push(sentences);
            }
            rows.push(row);
        }
        Ok(Sample {
            header,
            rows,
            columns,
            narratives,
        })
    }

    /// A new narrative for a complaint about `issue`.
    fn narrative(&self, issue: &str, rng: &mut fastrand::Rng) -> String {
        let pool = match self.narratives.get(issue) {
            Some(pool) => pool,
            // Every issue with a narrative in the sample has a pool; this one had a narrative.
            None => return String::new(),
        };
        let length = pool[rng.usize(..pool.len())].len();
        let mut text = String::new();
        for _ in 0..length {
            let narrative = &pool[rng.usize(..pool.len())];
            let sentence = &narrative[rng.usize(..narrative.len())];
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(sentence);
        }
        text
    }
}

/// A narrative's sentences: cut after `.`, `!` or `?` followed by white space, and at line
/// breaks; white space inside a sentence is collapsed.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let ends = matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace());
        if c == '\n' || c == '\r' {
            push_sentence(&mut out, &mut current);
            continue;
        }
        if c.is_whitespace() {
            if !current.is_empty() && !current.ends_with(' ') {
                current.push(' ');
            }
        } else {
            current.push(c);
        }
        if ends {
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let sentence = current.trim();
    if sentence.split_whitespace().count() >= 3 {
        out.push(sentence.to_string());
    }
    current.clear();
}

/// Writes `rows` generated complaints to `path` as a CFPB export.
pub fn generate(rows: usize, path: &Path) -> anyhow::Result<Generated> {
    let sample = Sample::read()?;
    let mut rng = fastrand::Rng::with_seed(SEED);
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
    writer.write_record(&sample.header)?;
    let c = &sample.columns;
    let first_day = LAST_DAY
        .checked_sub_days(Days::new(SPAN_DAYS - 1))
        .context("dates")?;
    for n in 0..rows {
        let model = &sample.rows[rng.usize(..sample.rows.len())];
        let mut row = model.clone();
        let day = first_day
            .checked_add_days(Days::new(rng.u64(..SPAN_DAYS)))
            .context("dates")?
            .to_string();
        row[c.date] = day.clone();
        row[c.sent] = day;
        row[c.id] = (FIRST_ID + n as u64).to_string();
        if !model[c.narrative].is_empty() {
            row[c.narrative] = sample.narrative(&model[c.issue], &mut rng);
        }
        writer.write_record(&row)?;
    }
    let mut inner = writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    inner.flush()?;
    let bytes = std::fs::metadata(path)?.len();
    Ok(Generated { rows, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_cut_at_stops_and_line_breaks() {
        assert_eq!(
            sentences("I paid in full. They still  report it late!\nWhy is that so? ok."),
            [
                "I paid in full.",
                "They still report it late!",
                "Why is that so?"
            ]
        );
        assert_eq!(
            sentences("Balance was $1.50 on XX/XX/XXXX."),
            ["Balance was $1.50 on XX/XX/XXXX."]
        );
    }

    #[test]
    fn the_same_seed_writes_the_same_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        generate(300, &a).expect("generates");
        generate(300, &b).expect("generates");
        let (a, b) = (std::fs::read(a).expect("a"), std::fs::read(b).expect("b"));
        assert_eq!(a, b);
        let mut reader = csv::Reader::from_reader(&a[..]);
        let ids: std::collections::HashSet<String> = reader
            .records()
            .map(|r| r.expect("a record")[17].to_string())
            .collect();
        assert_eq!(ids.len(), 300, "distinct complaint ids");
    }
}
