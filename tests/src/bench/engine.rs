//! The raw engine, for comparison: the store's Tantivy index directory opened directly with
//! Tantivy, and the query a question turns into run as a plain `BooleanQuery` with
//! `TopDocs(5)` and `Count` — no ranking factors, breakdowns, trend or reading from the store.
//! What Flywheel spends beyond this is what its answer adds.

use std::ops::Bound;
use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use flywheel_insights::query::{Atom, Filter, Query, Test};
use flywheel_insights::search::{THEMES_WEIGHT, TITLE_WEIGHT};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Index, IndexReader, Term};

type Boxed = Box<dyn tantivy::query::Query>;

/// An index directory opened for reading.
pub struct RawIndex {
    reader: IndexReader,
    title: Field,
    body: Field,
    themes: Field,
    theme_key: Field,
    account_key: Field,
    day: Field,
}

impl RawIndex {
    /// Opens the index in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<RawIndex> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("cannot open the index at {}", dir.display()))?;
        let schema = index.schema();
        let field = |name: &str| {
            schema
                .get_field(name)
                .with_context(|| format!("the index has no field {name:?}"))
        };
        Ok(RawIndex {
            title: field("title")?,
            body: field("body")?,
            themes: field("themes")?,
            theme_key: field("theme_key")?,
            account_key: field("account_key")?,
            day: field("day")?,
            reader: index.reader()?,
        })
    }

    /// Runs `query` as `flywheel ask` would find its `limit` best matches (a question, or
    /// plain words, that fewer than `limit` insights match in full is relaxed to any of its
    /// words), returning the count.
    pub fn search(&self, query: &Query, today: NaiveDate, limit: usize) -> anyhow::Result<usize> {
        let searcher = self.reader.searcher();
        let engine = self.translate(query, today)?;
        let (_top, count) = searcher.search(
            &*engine,
            &(TopDocs::with_limit(limit).order_by_score(), Count),
        )?;
        if count < limit
            && (query.natural_language || query.is_plain_words())
            && let Some(looser) = query.relaxed()
        {
            let engine = self.translate(&looser, today)?;
            let (_top, count) = searcher.search(
                &*engine,
                &(TopDocs::with_limit(limit).order_by_score(), Count),
            )?;
            return Ok(count);
        }
        Ok(count)
    }

    /// Every clause required, the atoms of a clause as alternatives; a word is looked for in
    /// the title, body and themes with the same weights as Flywheel's.
    fn translate(&self, query: &Query, today: NaiveDate) -> anyhow::Result<Boxed> {
        let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
        for clause in &query.clauses {
            let atoms = clause
                .alternatives
                .iter()
                .map(|atom| self.atom(atom, today))
                .collect::<anyhow::Result<Vec<Boxed>>>()?;
            let one: Boxed = if atoms.len() == 1 {
                atoms.into_iter().next().context("one atom")?
            } else {
                Box::new(BooleanQuery::union(atoms))
            };
            clauses.push((Occur::Must, one));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    fn atom(&self, atom: &Atom, today: NaiveDate) -> anyhow::Result<Boxed> {
        if atom.negated {
            bail!("the raw comparison does not run exclusions");
        }
        let exact = |field: Field, text: &str| -> Boxed {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            ))
        };
        Ok(match &atom.test {
            Test::Term(term) => {
                let word = |field: Field, weight: f32| -> Boxed {
                    let q = TermQuery::new(
                        Term::from_field_text(field, &term.stem),
                        IndexRecordOption::WithFreqs,
                    );
                    Box::new(BoostQuery::new(Box::new(q), weight))
                };
                Box::new(BooleanQuery::union(vec![
                    word(self.title, TITLE_WEIGHT),
                    word(self.body, 1.0),
                    word(self.themes, THEMES_WEIGHT),
                ]))
            }
            Test::Filter(Filter::Theme(key)) => exact(self.theme_key, key),
            Test::Filter(Filter::Account(key)) => exact(self.account_key, key),
            Test::Filter(Filter::Since(bound)) => {
                let day = i64::from(chrono::Datelike::num_days_from_ce(&bound.resolve(today)));
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_i64(self.day, day)),
                    Bound::Unbounded,
                ))
            }
            other => bail!("the raw comparison does not run {other:?}"),
        })
    }
}
