//! How well search finds what a question is about, measured on the bundled CFPB sample.
//!
//! The questions live in `tests/data/relevance.toml`: plain-language questions a support lead
//! would ask, each with a judgment rule over the complaint's own labels (product, issue,
//! sub-issue). Flywheel answers each one through the real path: the sample is imported into a
//! SQLite store the way `flywheel import` does it, and asked the way `flywheel ask` does. Beside
//! it runs a plain BM25 baseline: a bare Tantivy index over the same titles and bodies with
//! Tantivy's default tokenizer, queried with the question's words as alternatives.
//!
//! Each question gets precision at 5 (relevant results among the first five, over five) and
//! nDCG at 10 (binary gains, the ideal ranking taken over every relevant complaint). The
//! `evaluation` set may be studied to improve ranking; the `held_out` set is judged the same
//! way and only its means are reported, so that it stays a fair check of what tuning did.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{Days, NaiveDate, NaiveTime};
use flywheel::app::App;
use flywheel::clock::ManualClock;
use flywheel::demo::{SAMPLE, SAMPLE_NAME};
use flywheel::services::ask::ask;
use flywheel::services::import::{ImportRequest, prepare, store};
use flywheel_config::{Config, Environment};
use flywheel_insights::import::{self, Format, ImportOptions};
use flywheel_insights::search::Scope;
use serde::Deserialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, STORED, STRING, Schema, TEXT, Value as _};
use tantivy::{Index, TantivyDocument, Term};

/// The questions and their judgments.
pub const QUESTIONS: &str = include_str!("../data/relevance.toml");

/// Results looked at for precision.
pub const PRECISION_AT: usize = 5;
/// Results looked at for nDCG.
pub const NDCG_AT: usize = 10;

/// The two sets of questions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questions {
    /// Questions that may be studied to improve ranking.
    pub evaluation: Vec<Question>,
    /// Questions never used for tuning.
    pub held_out: Vec<Question>,
}

/// A question and what counts as a relevant answer to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// As a person would ask it.
    pub question: String,
    /// A complaint is relevant when any of these holds.
    pub relevant: Vec<Rule>,
}

/// Labels a complaint must carry, all of them (an unset label is not looked at).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The complaint's product.
    pub product: Option<String>,
    /// Its issue.
    pub issue: Option<String>,
    /// Its sub-issue.
    pub sub_issue: Option<String>,
}

impl Rule {
    /// Whether a complaint with these labels satisfies the rule. A rule naming nothing holds
    /// for nothing.
    pub fn holds(&self, labels: &Labels) -> bool {
        let wanted = [
            (&self.product, &labels.product),
            (&self.issue, &labels.issue),
            (&self.sub_issue, &labels.sub_issue),
        ];
        wanted.iter().any(|(want, _)| want.is_some())
            && wanted
                .iter()
                .all(|(want, have)| want.as_ref().is_none_or(|w| w == *have))
    }
}

impl Question {
    /// Whether a complaint with these labels is relevant.
    pub fn is_relevant(&self, labels: &Labels) -> bool {
        self.relevant.iter().any(|rule| rule.holds(labels))
    }
}

/// Reads the questions.
pub fn questions() -> anyhow::Result<Questions> {
    toml::from_str(QUESTIONS).context("tests/data/relevance.toml does not parse")
}

/// A complaint's labels, as the CFPB filed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// `Product`.
    pub product: String,
    /// `Issue`.
    pub issue: String,
    /// `Sub-issue` (often empty).
    pub sub_issue: String,
}

impl std::fmt::Display for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.product, self.issue)?;
        if !self.sub_issue.is_empty() {
            write!(f, " / {}", self.sub_issue)?;
        }
        Ok(())
    }
}

/// The sample's labels by complaint id (the insight's `source_ref`).
pub fn sample_labels() -> anyhow::Result<HashMap<String, Labels>> {
    let mut reader = csv::Reader::from_reader(SAMPLE);
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("the sample has no {name:?} column"))
    };
    let (id, product, issue, sub_issue) = (
        column("Complaint ID")?,
        column("Product")?,
        column("Issue")?,
        column("Sub-issue")?,
    );
    let mut labels = HashMap::new();
    for record in reader.records() {
        let record = record?;
        let cell = |i: usize| record.get(i).unwrap_or_default().trim().to_string();
        labels.insert(
            cell(id),
            Labels {
                product: cell(product),
                issue: cell(issue),
                sub_issue: cell(sub_issue),
            },
        );
    }
    Ok(labels)
}

/// Precision and nDCG of one ranking.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Relevant results among the first [`PRECISION_AT`], over [`PRECISION_AT`].
    pub precision: f64,
    /// nDCG over the first [`NDCG_AT`] results.
    pub ndcg: f64,
}

/// Scores a ranking: `relevant[i]` says whether the i-th result is relevant, `all_relevant` is
/// how many relevant complaints there are in all.
pub fn score(relevant: &[bool], all_relevant: usize) -> Scores {
    let found = relevant.iter().take(PRECISION_AT).filter(|r| **r).count();
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = relevant
        .iter()
        .take(NDCG_AT)
        .enumerate()
        .filter(|(_, r)| **r)
        .map(|(rank, _)| gain(rank))
        .sum();
    let ideal: f64 = (0..all_relevant.min(NDCG_AT)).map(gain).sum();
    Scores {
        precision: found as f64 / PRECISION_AT as f64,
        ndcg: if ideal > 0.0 { dcg / ideal } else { 0.0 },
    }
}

/// Which set a question belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// May be studied.
    Evaluation,
    /// Never used for tuning.
    HeldOut,
}

/// One question's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its set.
    pub set: Set,
    /// The question.
    pub question: String,
    /// Relevant complaints in the sample.
    pub relevant: usize,
    /// Flywheel's scores.
    pub flywheel: Scores,
    /// The baseline's scores.
    pub baseline: Scores,
    /// Flywheel's first results: whether each is relevant, and its labels.
    pub flywheel_top: Vec<(bool, String)>,
}

/// Every question's outcome.
#[derive(Debug, Clone)]
pub struct Report {
    /// In file order, evaluation first.
    pub outcomes: Vec<Outcome>,
}

/// Mean scores of a set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Means {
    /// Questions in the set.
    pub questions: usize,
    /// Flywheel's means.
    pub flywheel: Scores,
    /// The baseline's means.
    pub baseline: Scores,
}

impl Report {
    /// The mean scores of `set`.
    pub fn means(&self, set: Set) -> Means {
        let of: Vec<&Outcome> = self.outcomes.iter().filter(|o| o.set == set).collect();
        let n = of.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Outcome) -> f64| of.iter().map(|o| f(o)).sum::<f64>() / n;
        Means {
            questions: of.len(),
            flywheel: Scores {
                precision: mean(&|o| o.flywheel.precision),
                ndcg: mean(&|o| o.flywheel.ndcg),
            },
            baseline: Scores {
                precision: mean(&|o| o.baseline.precision),
                ndcg: mean(&|o| o.baseline.ndcg),
            },
        }
    }

    /// The means side by side, as a markdown table.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| set | questions | Flywheel P@5 | baseline P@5 | Flywheel nDCG@10 | baseline nDCG@10 |\n\
             |---|---:|---:|---:|---:|---:|\n",
        );
        for (name, set) in [("evaluation", Set::Evaluation), ("held out", Set::HeldOut)] {
            let m = self.means(set);
            out.push_str(&format!(
                "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                m.questions,
                m.flywheel.precision,
                m.baseline.precision,
                m.flywheel.ndcg,
                m.baseline.ndcg
            ));
        }
        out
    }

    /// Every evaluation question Flywheel does not answer perfectly at 5, with its first
    /// results. Held-out questions are never listed: they are not for tuning.
    pub fn failures(&self) -> String {
        let mut out = String::new();
        for o in self
            .outcomes
            .iter()
            .filter(|o| o.set == Set::Evaluation && o.flywheel.precision < 1.0)
        {
            out.push_str(&format!(
                "P@5 {:.1} (baseline {:.1}), {} relevant: {}\n",
                o.flywheel.precision, o.baseline.precision, o.relevant, o.question
            ));
            for (relevant, labels) in &o.flywheel_top {
                out.push_str(&format!(
                    "    {} {labels}\n",
                    if *relevant { "+" } else { "-" }
                ));
            }
        }
        out
    }
}

/// The sample imported into a fresh SQLite store in `dir`, the way `flywheel import` stores
/// it, on a clock standing three days after the newest complaint (as in the demo).
pub async fn sample_app(dir: &Path) -> anyhow::Result<App> {
    let config = Config::parse(
        &format!(
            "[store]\nurl = \"sqlite://{}\"\n",
            dir.join("flywheel.db").display()
        ),
        &Environment::empty().with("FLYWHEEL_DATA_DIR", dir.display().to_string()),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let newest = sample_rows()?
        .iter()
        .map(|r| r.observed_on)
        .max()
        .context("the sample is empty")?;
    let today = newest.checked_add_days(Days::new(3)).unwrap_or(newest);
    let clock = ManualClock::new(today.and_time(NaiveTime::MIN).and_utc());
    let app = App::open(config, Arc::new(clock))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let request = ImportRequest {
        format: Some(Format::Csv),
        ..ImportRequest::default()
    };
    let prepared = prepare(&app, SAMPLE_NAME, SAMPLE.to_vec(), &request)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store(&app, prepared, "relevance", |_| {}).await?;
    Ok(app)
}

/// The sample's insights as the import reads them.
fn sample_rows() -> anyhow::Result<Vec<flywheel_insights::model::InsightData>> {
    let parsed = import::read(SAMPLE, &ImportOptions::new(Format::Csv, NaiveDate::MIN))
        .map_err(|e| anyhow::anyhow!("the sample does not parse: {e}"))?;
    Ok(parsed
        .rows
        .into_iter()
        .filter_map(|r| r.result.ok())
        .collect())
}

/// A plain BM25 index: the sample's titles and bodies, Tantivy's default tokenizer, no
/// weights, recency or stemming.
pub struct Baseline {
    index: Index,
    title: tantivy::schema::Field,
    body: tantivy::schema::Field,
    id: tantivy::schema::Field,
}

impl Baseline {
    /// Indexes the sample in memory.
    pub fn build() -> anyhow::Result<Baseline> {
        let mut schema = Schema::builder();
        let title = schema.add_text_field("title", TEXT);
        let body = schema.add_text_field("body", TEXT);
        let id = schema.add_text_field("id", STRING | STORED);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        for row in sample_rows()? {
            let mut doc = TantivyDocument::new();
            doc.add_text(title, &row.title);
            doc.add_text(body, &row.body);
            doc.add_text(id, &row.source_ref);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        Ok(Baseline {
            index,
            title,
            body,
            id,
        })
    }

    /// The complaint ids of the best `limit` matches of any of the question's words.
    pub fn search(&self, question: &str, limit: usize) -> anyhow::Result<Vec<String>> {
        let mut tokenizer = self.index.tokenizer_for_field(self.title)?;
        let mut stream = tokenizer.token_stream(question);
        let mut words: Vec<Box<dyn Query>> = Vec::new();
        while let Some(token) = stream.next() {
            for field in [self.title, self.body] {
                words.push(Box::new(TermQuery::new(
                    Term::from_field_text(field, &token.text),
                    IndexRecordOption::WithFreqs,
                )));
            }
        }
        let query = BooleanQuery::new(words.into_iter().map(|q| (Occur::Should, q)).collect());
        let searcher = self.index.reader()?.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        top.into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address)?;
                Ok(doc
                    .get_first(self.id)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string())
            })
            .collect()
    }
}

/// Asks every question of Flywheel (through `app`, over everything) and of the baseline.
pub async fn evaluate(app: &App, baseline: &Baseline) -> anyhow::Result<Report> {
    let questions = questions()?;
    let labels = sample_labels()?;
    let mut outcomes = Vec::new();
    let sets = [
        (Set::Evaluation, &questions.evaluation),
        (Set::HeldOut, &questions.held_out),
    ];
    for (set, list) in sets {
        for q in list {
            let relevant = labels.values().filter(|l| q.is_relevant(l)).count();
            let judge = |id: &str| labels.get(id).is_some_and(|l| q.is_relevant(l));
            let asked = ask(app, &q.question, Scope::Everything, None, NDCG_AT)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", q.question))?;
            let ours: Vec<&str> = asked
                .answer
                .results
                .iter()
                .map(|r| r.insight.data.source_ref.as_str())
                .collect();
            let theirs = baseline.search(&q.question, NDCG_AT)?;
            let ours_relevant: Vec<bool> = ours.iter().map(|id| judge(id)).collect();
            let theirs_relevant: Vec<bool> = theirs.iter().map(|id| judge(id)).collect();
            outcomes.push(Outcome {
                set,
                question: q.question.clone(),
                relevant,
                flywheel: score(&ours_relevant, relevant),
                baseline: score(&theirs_relevant, relevant),
                flywheel_top: ours
                    .iter()
                    .take(PRECISION_AT)
                    .map(|id| {
                        let l = labels
                            .get(*id)
                            .map_or_else(|| "?".into(), Labels::to_string);
                        (judge(id), l)
                    })
                    .collect(),
            });
        }
    }
    Ok(Report { outcomes })
}

/// Imports the sample into a store under `dir` and evaluates both engines.
pub async fn run(dir: &Path) -> anyhow::Result<Report> {
    let app = sample_app(dir).await?;
    let baseline = tokio::task::spawn_blocking(Baseline::build).await??;
    evaluate(&app, &baseline).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The floor below which Flywheel's mean precision at 5 on the evaluation set fails.
    const EVALUATION_PRECISION_FLOOR: f64 = 0.55;

    #[test]
    fn scores_by_hand() {
        let s = score(&[true, false, true, false, false], 2);
        assert!((s.precision - 0.4).abs() < 1e-9);
        let ideal = 1.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg - 1.5 / ideal).abs() < 1e-9, "{}", s.ndcg);
        assert_eq!(score(&[], 0), Scores::default());
        let perfect = score(&[true; 10], 40);
        assert!((perfect.precision - 1.0).abs() < 1e-9 && (perfect.ndcg - 1.0).abs() < 1e-9);
    }

    #[test]
    fn every_rule_names_labels_the_sample_has() {
        let questions = questions().expect("questions parse");
        assert!(questions.evaluation.len() >= 30, "at least 30 to evaluate");
        assert!(questions.held_out.len() >= 15, "at least 15 held out");
        let labels = sample_labels().expect("labels");
        for q in questions.evaluation.iter().chain(&questions.held_out) {
            for rule in &q.relevant {
                assert!(
                    labels.values().any(|l| rule.holds(l)),
                    "{:?}: {rule:?} matches no complaint",
                    q.question
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flywheel_answers_the_evaluation_questions_well() {
        let dir = tempfile::tempdir().expect("temp dir");
        let report = run(dir.path()).await.expect("evaluation runs");
        println!("{}\n{}", report.table(), report.failures());
        let means = report.means(Set::Evaluation);
        assert!(
            means.flywheel.precision >= EVALUATION_PRECISION_FLOOR,
            "P@5 {:.3} fell below {EVALUATION_PRECISION_FLOOR}\n{}",
            means.flywheel.precision,
            report.failures()
        );
        // Both sets: never worse than plain BM25 over the same text.
        for set in [Set::Evaluation, Set::HeldOut] {
            let m = report.means(set);
            assert!(
                m.flywheel.precision >= m.baseline.precision && m.flywheel.ndcg >= m.baseline.ndcg,
                "{set:?}: Flywheel ranks below plain BM25\n{}",
                report.table()
            );
        }
    }
}
