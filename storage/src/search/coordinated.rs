//! The words of a relaxed question, any of which may match, scored so that holding more of the
//! question counts: a match's score is the BM25 of the words it holds times the share of the
//! question's words it holds, raised to [`COORDINATION`].
//!
//! This is the coordination factor of classic information retrieval. Against ranking by the
//! number of words matched first, it lets a strong match of telling words beat a passing
//! mention of every common word; against plain BM25 it keeps an insight that repeats one word
//! from outranking one that answers the whole question.

use tantivy::query::{EnableScoring, Explanation, Query as EngineQuery, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

/// The power the share of the question's words is raised to.
pub(crate) const COORDINATION: f32 = 1.0;

/// Any of `words`, scored by coordination (or by the plain sum of their scores).
#[derive(Debug)]
pub(crate) struct Coordinated {
    words: Vec<Box<dyn EngineQuery>>,
    coordinate: bool,
}

impl Coordinated {
    /// Any of `words`.
    pub(crate) fn new(words: Vec<Box<dyn EngineQuery>>) -> Coordinated {
        Coordinated {
            words,
            coordinate: true,
        }
    }

    /// Any of `queries`, scored by the sum of the scores of those that match. Unlike the
    /// engine's own union, which reads ahead through every match in a window, it seeks each
    /// query to the document asked for: the union to use when few documents are visited.
    pub(crate) fn summed(queries: Vec<Box<dyn EngineQuery>>) -> Coordinated {
        Coordinated {
            words: queries,
            coordinate: false,
        }
    }
}

impl Clone for Coordinated {
    fn clone(&self) -> Coordinated {
        Coordinated {
            words: self.words.iter().map(|query| query.box_clone()).collect(),
            coordinate: self.coordinate,
        }
    }
}

impl EngineQuery for Coordinated {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let words = self
            .words
            .iter()
            .map(|query| query.weight(scoring))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(CoordinatedWeight {
            words,
            coordinate: self.coordinate,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        for query in &self.words {
            query.query_terms(visitor);
        }
    }
}

struct CoordinatedWeight {
    words: Vec<Box<dyn Weight>>,
    coordinate: bool,
}

/// The factor for holding `held` of `total` words (1 when not coordinating).
fn coordination(coordinate: bool, held: usize, total: usize) -> f32 {
    if !coordinate {
        return 1.0;
    }
    (held as f32 / total.max(1) as f32).powf(COORDINATION)
}

impl Weight for CoordinatedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let words = self
            .words
            .iter()
            .map(|weight| weight.scorer(reader, boost))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let doc = words.iter().map(|s| s.doc()).min().unwrap_or(TERMINATED);
        Ok(Box::new(CoordinatedScorer {
            words,
            doc,
            coordinate: self.coordinate,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut sum = 0.0;
        let mut details = Vec::new();
        for weight in &self.words {
            if let Ok(explanation) = weight.explain(reader, doc) {
                sum += explanation.value();
                details.push(explanation);
            }
        }
        if details.is_empty() {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        let factor = coordination(self.coordinate, details.len(), self.words.len());
        let mut explanation = Explanation::new("coordinated words", sum * factor);
        explanation.add_const("coordination", factor);
        for detail in details {
            explanation.add_detail(detail);
        }
        Ok(explanation)
    }
}

/// A union of the words' scorers, visiting each matching document once.
struct CoordinatedScorer {
    words: Vec<Box<dyn Scorer>>,
    doc: DocId,
    coordinate: bool,
}

impl CoordinatedScorer {
    fn settle(&mut self) -> DocId {
        self.doc = self
            .words
            .iter()
            .map(|s| s.doc())
            .min()
            .unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for CoordinatedScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        let current = self.doc;
        for scorer in &mut self.words {
            if scorer.doc() == current {
                scorer.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for scorer in &mut self.words {
            if scorer.doc() < target {
                scorer.seek(target);
            }
        }
        self.settle()
    }

    // `seek_danger` is left to the trait's default, which seeks properly.

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.words.iter().map(|s| s.size_hint()).max().unwrap_or(0)
    }

    fn cost(&self) -> u64 {
        self.words.iter().map(|s| s.cost()).sum()
    }
}

impl Scorer for CoordinatedScorer {
    fn score(&mut self) -> Score {
        let (mut held, mut sum) = (0, 0.0);
        for scorer in &mut self.words {
            if scorer.doc() == self.doc {
                held += 1;
                sum += scorer.score();
            }
        }
        sum * coordination(self.coordinate, held, self.words.len())
    }
}
