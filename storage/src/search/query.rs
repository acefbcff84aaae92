//! A [`Query`] as the search engine runs it, with exactly the meaning the in-memory matcher
//! gives it (`flywheel_insights::query::matcher`):
//!
//! - clauses are all required, the atoms of a clause are alternatives;
//! - a word matches the title, the body or a theme; a phrase matches inside one of them;
//! - a negated atom matches every insight the atom does not, including those that lack the
//!   field (`-segment:enterprise` keeps insights without a segment);
//! - filters compare keys, names and numbers the way the domain does.
//!
//! Only words score: each word or phrase adds its BM25 in the title (weighted
//! [`TITLE_WEIGHT`]), the body and the themes (weighted [`THEMES_WEIGHT`]); filters and
//! visibility restrict without scoring. With coordination, a clause of alternative words is
//! scored by [`Coordinated`]: the more of the question's weight a match holds, the higher.

use std::ops::Bound;

use chrono::NaiveDate;
use flywheel_insights::model::Vocabulary;
use flywheel_insights::query::{Atom, Clause, Comparison, Filter, Query, Term, Test};
use flywheel_insights::search::{DateRange, Scope, SearchOptions, THEMES_WEIGHT, TITLE_WEIGHT};
use tantivy::Term as IndexTerm;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, EnableScoring, Explanation,
    Occur, PhraseQuery, Query as EngineQuery, RangeQuery, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader};

use super::coordinated::Coordinated;
use super::schema::{EVERY_TEAM, Fields, day_number, team_term};

type Boxed = Box<dyn EngineQuery>;

/// A query whose scorer never takes tantivy's `seek_danger` shortcut. In this version a union
/// keeps a child that the shortcut left in an invalid state, and a phrase scorer asserts what
/// the shortcut does not promise, so unions and exclusions over them returned wrong documents
/// (the property test comparing the index with the in-memory matcher found both). Every
/// alternative of a union and every exclusion goes through this wrapper: its scorer is always
/// in a valid state, at the cost of the shortcut.
#[derive(Debug)]
struct Careful(Boxed);

impl Clone for Careful {
    fn clone(&self) -> Careful {
        Careful(self.0.box_clone())
    }
}

struct CarefulWeight(Box<dyn Weight>);

struct CarefulScorer(Box<dyn Scorer>);

impl EngineQuery for Careful {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(CarefulWeight(self.0.weight(scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a IndexTerm, bool)) {
        self.0.query_terms(visitor);
    }
}

impl Weight for CarefulWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(CarefulScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

impl DocSet for CarefulScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.0.seek(target)
    }

    // `seek_danger` is left to the trait's default, which seeks properly.

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }

    fn cost(&self) -> u64 {
        self.0.cost()
    }
}

impl Scorer for CarefulScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

fn careful(query: Boxed) -> Boxed {
    Box::new(Careful(query))
}

/// Any of the queries.
fn union(queries: Vec<Boxed>) -> Boxed {
    Box::new(BooleanQuery::union(
        queries.into_iter().map(careful).collect(),
    ))
}

/// The engine query for `query` under `options` (scope, observed range, relative dates).
pub(crate) fn build(fields: &Fields, query: &Query, options: &SearchOptions) -> Boxed {
    build_related(fields, query, options, &[])
}

/// [`build`], with `related` words (stems and their weight against one of the query's words)
/// joining the query's first clause of plain words as alternatives, scored with coordination
/// when `options` asks for it.
pub(crate) fn build_related(
    fields: &Fields,
    query: &Query,
    options: &SearchOptions,
    related: &[(String, f32)],
) -> Boxed {
    let mut related = Some(related).filter(|r| !r.is_empty());
    let mut must: Vec<Boxed> = Vec::new();
    if let Some(scope) = scope_filter(fields, &options.scope) {
        must.push(unscored(scope));
    }
    if let Some(range) = options.observed {
        must.push(unscored(observed(fields, range)));
    }
    let mut must_not: Vec<Boxed> = Vec::new();
    for clause in &query.clauses {
        match clause.alternatives.as_slice() {
            [] => return Box::new(EmptyQuery),
            [atom] if atom.negated => must_not.push(careful(positive(fields, atom, options.today))),
            atoms
                if options.ranking.coordination
                    && (is_word_alternatives(clause)
                        || (related.is_some() && is_plain_word(clause))) =>
            {
                let related = related.take().unwrap_or_default();
                let mut words: Vec<Boxed> = atoms
                    .iter()
                    .map(|atom| match &atom.test {
                        // Ranking a few candidates: each word seeks them in its fields.
                        Test::Term(term) if !related.is_empty() => {
                            seeking_word(fields, &term.stem, 1.0)
                        }
                        _ => positive(fields, atom, options.today),
                    })
                    .collect();
                for (stem, weight) in related {
                    words.push(seeking_word(fields, stem, *weight));
                }
                must.push(Box::new(Coordinated::new(words)))
            }
            _ => must.push(alternatives(fields, clause, options.today)),
        }
    }
    if must.is_empty() {
        must.push(unscored(Box::new(AllQuery)));
    }
    if must.len() == 1 && must_not.is_empty() {
        return must.pop().expect("one clause");
    }
    let subqueries = must
        .into_iter()
        .map(|q| (Occur::Must, q))
        .chain(must_not.into_iter().map(|q| (Occur::MustNot, q)))
        .collect();
    Box::new(BooleanQuery::new(subqueries))
}

/// `query`, limited to `candidates` and the insights `ids`, unscored beside it.
pub(crate) fn within(query: Boxed, candidates: Boxed, fields: &Fields, ids: &[i64]) -> Boxed {
    let mut pool = vec![candidates];
    pool.extend(ids.iter().map(|&id| {
        Box::new(TermQuery::new(
            IndexTerm::from_field_u64(fields.id, id as u64),
            IndexRecordOption::Basic,
        )) as Boxed
    }));
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, unscored(union(pool))),
        (Occur::Must, query),
    ]))
}

/// The positive words and phrases of a query whose BM25 counts, as index terms of every text
/// field: for rarity figures.
pub(crate) fn text_terms(fields: &Fields, stem: &str) -> [IndexTerm; 3] {
    [fields.title, fields.body, fields.themes].map(|f| IndexTerm::from_field_text(f, stem))
}

fn unscored(query: Boxed) -> Boxed {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// The stems of the plain words of `query`'s clauses of plain words (those related words join).
pub(crate) fn plain_words(query: &Query) -> impl Iterator<Item = &str> {
    query
        .clauses
        .iter()
        .filter(|c| is_plain_word(c) || is_word_alternatives(c))
        .flat_map(|c| &c.alternatives)
        .filter_map(|atom| match &atom.test {
            Test::Term(term) => Some(term.stem.as_str()),
            _ => None,
        })
}

/// A clause of one plain word.
fn is_plain_word(clause: &Clause) -> bool {
    matches!(clause.alternatives.as_slice(), [atom] if !atom.negated && matches!(atom.test, Test::Term(_)))
}

/// A clause of two or more plain words, as a relaxed question has.
fn is_word_alternatives(clause: &Clause) -> bool {
    clause.alternatives.len() >= 2
        && clause
            .alternatives
            .iter()
            .all(|a| !a.negated && matches!(a.test, Test::Term(_)))
}

fn alternatives(fields: &Fields, clause: &Clause, today: NaiveDate) -> Boxed {
    let mut options: Vec<Boxed> = clause
        .alternatives
        .iter()
        .map(|atom| {
            let query = positive(fields, atom, today);
            if atom.negated {
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, unscored(Box::new(AllQuery))),
                    (Occur::MustNot, careful(query)),
                ])) as Boxed
            } else {
                query
            }
        })
        .collect();
    if options.len() == 1 {
        options.pop().expect("one alternative")
    } else {
        union(options)
    }
}

/// The atom without its negation.
fn positive(fields: &Fields, atom: &Atom, today: NaiveDate) -> Boxed {
    match &atom.test {
        Test::Term(term) => words(fields, std::slice::from_ref(term)),
        Test::Phrase(terms) => words(fields, terms),
        Test::Filter(filter) => unscored(self::filter(fields, filter, today)),
    }
}

/// A word or a phrase in the title, the body or a theme, scored by BM25 in each.
fn words(fields: &Fields, terms: &[Term]) -> Boxed {
    if terms.is_empty() {
        return Box::new(EmptyQuery);
    }
    let in_field = |field: Field, weight: f32| -> Boxed {
        let query: Boxed = match terms {
            [one] => Box::new(TermQuery::new(
                IndexTerm::from_field_text(field, &one.stem),
                IndexRecordOption::WithFreqs,
            )),
            many => Box::new(PhraseQuery::new(
                many.iter()
                    .map(|t| IndexTerm::from_field_text(field, &t.stem))
                    .collect(),
            )),
        };
        if weight == 1.0 {
            query
        } else {
            Box::new(BoostQuery::new(query, weight))
        }
    };
    union(vec![
        in_field(fields.title, TITLE_WEIGHT),
        in_field(fields.body, 1.0),
        in_field(fields.themes, THEMES_WEIGHT),
    ])
}

/// A word in the title, the body or a theme, as [`words`] scores it (times `weight`), for
/// visiting a few documents: the fields are joined by [`Coordinated::summed`], which seeks
/// each of them.
fn seeking_word(fields: &Fields, stem: &str, weight: f32) -> Boxed {
    Box::new(Coordinated::summed(
        weighted_terms(fields, stem, weight).into(),
    ))
}

/// A word's term in the title, the body and the themes, each boosted by its field's weight
/// times `weight`.
pub(crate) fn weighted_terms(fields: &Fields, stem: &str, weight: f32) -> [Boxed; 3] {
    [
        (fields.title, TITLE_WEIGHT),
        (fields.body, 1.0),
        (fields.themes, THEMES_WEIGHT),
    ]
    .map(|(field, field_weight)| {
        Box::new(BoostQuery::new(
            Box::new(TermQuery::new(
                IndexTerm::from_field_text(field, stem),
                IndexRecordOption::WithFreqs,
            )),
            weight * field_weight,
        )) as Boxed
    })
}

fn term(field: Field, text: &str) -> Boxed {
    Box::new(TermQuery::new(
        IndexTerm::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn filter(fields: &Fields, filter: &Filter, today: NaiveDate) -> Boxed {
    match filter {
        Filter::Theme(key) => term(fields.theme_key, key),
        Filter::Segment(key) => term(fields.segment_key, key),
        Filter::Account(key) => term(fields.account_key, key),
        Filter::Source(source) => term(fields.source, &source.to_lowercase()),
        Filter::Stage(stage) => term(fields.stage, stage.name()),
        Filter::Kind(kind) => term(fields.kind, kind.name()),
        Filter::Sentiment(sentiment) => term(fields.sentiment, sentiment.name()),
        Filter::Severity(comparison, bound) => {
            let at = |v: u8| IndexTerm::from_field_u64(fields.severity, u64::from(v));
            let bound = *bound;
            let (low, high) = match comparison {
                Comparison::Eq => (Bound::Included(at(bound)), Bound::Included(at(bound))),
                Comparison::Lt => (Bound::Unbounded, Bound::Excluded(at(bound))),
                Comparison::Le => (Bound::Unbounded, Bound::Included(at(bound))),
                Comparison::Gt => (Bound::Excluded(at(bound)), Bound::Unbounded),
                Comparison::Ge => (Bound::Included(at(bound)), Bound::Unbounded),
            };
            Box::new(RangeQuery::new(low, high))
        }
        Filter::Since(bound) => days(
            fields,
            Bound::Included(bound.resolve(today)),
            Bound::Unbounded,
        ),
        Filter::Until(bound) => days(
            fields,
            Bound::Unbounded,
            Bound::Included(bound.resolve(today)),
        ),
    }
}

fn days(fields: &Fields, from: Bound<NaiveDate>, to: Bound<NaiveDate>) -> Boxed {
    let at = |d: NaiveDate| IndexTerm::from_field_i64(fields.day, day_number(d));
    Box::new(RangeQuery::new(from.map(at), to.map(at)))
}

fn observed(fields: &Fields, range: DateRange) -> Boxed {
    days(
        fields,
        Bound::Included(range.from),
        Bound::Excluded(range.until),
    )
}

fn scope_filter(fields: &Fields, scope: &Scope) -> Option<Boxed> {
    match scope {
        Scope::Everything => None,
        Scope::Public => Some(term(fields.visible_to, EVERY_TEAM)),
        Scope::Team(team) => Some(union(vec![
            term(fields.visible_to, EVERY_TEAM),
            term(fields.visible_to, &team_term(team)),
        ])),
    }
}
