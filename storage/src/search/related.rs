//! Pseudo-relevance feedback for questions ([`crate::Store::search_related`]): the words that
//! set a question's first answers apart, and the candidates they are ranked among.
//!
//! The related words are weighted as RM3 weighs them: by their share of each first answer's
//! words, times how well that answer ranked, times their rarity in the index. Ranking every
//! insight that holds any of them would visit most of a large index, since some are common, so
//! the candidates are the best few hundred by BM25 alone, found with block-max WAND (which
//! skips whole blocks of postings that cannot enter the top), plus the question's first
//! answers; the full ranking (filters, visibility, coordination, recency, severity) then runs
//! over those candidates only.

use std::collections::{HashMap, HashSet};

use flywheel_insights::model::Insight;
use flywheel_insights::search::{THEMES_WEIGHT, TITLE_WEIGHT};
use flywheel_insights::text::{IndexedText, Stems};
use tantivy::index::SegmentId;
use tantivy::query::{
    BooleanQuery, ConstScorer, EnableScoring, Explanation, Query as EngineQuery, Scorer, Weight,
};
use tantivy::{DocAddress, DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError};

use super::query;
use super::schema::Fields;

/// How many first answers the related words are drawn from.
pub(crate) const FEEDBACK_INSIGHTS: usize = 10;
/// How many related words join a question.
pub(crate) const FEEDBACK_WORDS: usize = 5;
/// The share of the weight that stays with the question's own words; the related words share
/// the rest.
pub(crate) const QUESTION_SHARE: f64 = 0.7;
/// How many insights BM25 alone picks as candidates for the full ranking.
pub(crate) const CANDIDATES: usize = 200;
/// A word held by more than one in this many insights, and by more than [`COMMON_AT_LEAST`],
/// picks no candidates.
const COMMON_FROM: u64 = 4;
const COMMON_AT_LEAST: u64 = 10_000;

/// Whether a word held by `frequency` of `documents` insights is too common to pick candidates:
/// visiting its matches would cost much and find little that the first answers do not.
pub(crate) fn too_common(frequency: u64, documents: u64) -> bool {
    frequency > COMMON_AT_LEAST && frequency > documents / COMMON_FROM
}

/// The words of an insight that carry meaning, field by field, for drawing related words from.
pub(crate) fn content_text(insight: &Insight) -> IndexedText {
    IndexedText {
        title: Stems::of_content(&insight.data.title),
        body: Stems::of_content(&insight.data.body),
        themes: insight
            .themes
            .iter()
            .map(|t| Stems::of_content(t))
            .collect(),
    }
}

/// The related words of `feedback` (each first answer's score and content stems), most telling
/// first, with their weight against one of the question's words: the question's words (`own`,
/// one each) keep [`QUESTION_SHARE`] of the weight, the related words share the rest.
/// `frequency` gives a stem's document frequency in the index, `documents` the index's size.
pub(crate) fn related_words(
    feedback: &[(f64, IndexedText)],
    own: &HashSet<&str>,
    documents: u64,
    mut frequency: impl FnMut(&str) -> Result<u64, TantivyError>,
) -> Result<Vec<(String, f32)>, TantivyError> {
    let top = feedback.iter().map(|(score, _)| *score).fold(0.0, f64::max);
    if top <= 0.0 || own.is_empty() {
        return Ok(Vec::new());
    }
    let mut weights: HashMap<&str, f64> = HashMap::new();
    for (score, text) in feedback {
        let mut counts: HashMap<&str, f64> = HashMap::new();
        let mut length = 0.0;
        let fields = [(&text.title, f64::from(TITLE_WEIGHT)), (&text.body, 1.0)]
            .into_iter()
            .chain(text.themes.iter().map(|t| (t, f64::from(THEMES_WEIGHT))));
        for (stems, weight) in fields {
            for stem in stems.iter() {
                *counts.entry(stem).or_default() += weight;
                length += weight;
            }
        }
        for (stem, count) in counts {
            *weights.entry(stem).or_default() += count / length * (score.max(0.0) / top);
        }
    }
    let documents = documents as f64;
    let mut telling: Vec<(&str, f64)> = Vec::with_capacity(weights.len());
    for (stem, weight) in weights {
        if own.contains(stem) || !telling_word(stem) {
            continue;
        }
        let frequency = frequency(stem)? as f64;
        let rarity = (1.0 + (documents - frequency + 0.5) / (frequency + 0.5)).ln();
        telling.push((stem, weight * rarity));
    }
    telling.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    telling.truncate(FEEDBACK_WORDS);
    let sum: f64 = telling.iter().map(|(_, w)| w).sum();
    if sum <= 0.0 {
        return Ok(Vec::new());
    }
    let share = own.len() as f64 / sum * (1.0 - QUESTION_SHARE) / QUESTION_SHARE;
    Ok(telling
        .into_iter()
        .map(|(stem, weight)| (stem.to_string(), (weight * share) as f32))
        .collect())
}

/// Whether a stem can tell insights apart: not a number, not one letter repeated (`xxxx`, as
/// redacted exports mask names and dates), at least three characters.
fn telling_word(stem: &str) -> bool {
    let mut chars = stem.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    stem.chars().count() >= 3
        && !stem.chars().all(|c| c.is_ascii_digit())
        && !chars.all(|c| c == first)
}

/// Any of `words` (stems and weights) in the title, body or themes, scored by BM25 alone with
/// the fields' weights: a plain union of term queries, which the engine searches with
/// block-max WAND for the best few.
pub(crate) fn candidates_query(fields: &Fields, words: &[(&str, f32)]) -> BooleanQuery {
    BooleanQuery::union(
        words
            .iter()
            .flat_map(|&(stem, weight)| query::weighted_terms(fields, stem, weight))
            .collect(),
    )
}

/// The documents at `addresses` (of the searcher whose segments `segments` lists, in order),
/// unscored.
#[derive(Debug, Clone)]
pub(crate) struct Among {
    docs: HashMap<SegmentId, Vec<DocId>>,
}

impl Among {
    pub(crate) fn new(addresses: &[DocAddress], segments: &[SegmentId]) -> Among {
        let mut docs: HashMap<SegmentId, Vec<DocId>> = HashMap::new();
        for address in addresses {
            if let Some(segment) = segments.get(address.segment_ord as usize) {
                docs.entry(*segment).or_default().push(address.doc_id);
            }
        }
        for ids in docs.values_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
        Among { docs }
    }
}

impl EngineQuery for Among {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for Among {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self
            .docs
            .get(&reader.segment_id())
            .cloned()
            .unwrap_or_default();
        Ok(Box::new(ConstScorer::new(Listed { docs, at: 0 }, 0.0)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let held = self
            .docs
            .get(&reader.segment_id())
            .is_some_and(|docs| docs.binary_search(&doc).is_ok());
        if held {
            Ok(Explanation::new("among the candidates", 0.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} is not among the candidates"
            )))
        }
    }
}

/// Documents from a sorted list.
struct Listed {
    docs: Vec<DocId>,
    at: usize,
}

impl DocSet for Listed {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.at += self.docs[self.at..].partition_point(|&doc| doc < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        (self.docs.len() - self.at) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(title: &[&str], body: &[&str]) -> IndexedText {
        IndexedText {
            title: title.iter().collect(),
            body: body.iter().collect(),
            themes: Vec::new(),
        }
    }

    #[test]
    fn related_words_are_frequent_in_the_best_answers_and_rare_in_the_index() {
        let feedback = vec![
            (
                2.0,
                text(
                    &["dispute"],
                    &["investig", "notifi", "common", "xxxx", "2024"],
                ),
            ),
            (1.0, text(&["dispute"], &["investig", "common", "result"])),
        ];
        let own: HashSet<&str> = ["dispute"].into_iter().collect();
        let frequency = |stem: &str| -> Result<u64, TantivyError> {
            Ok(match stem {
                "common" => 900,
                "xxxx" => 10,
                _ => 20,
            })
        };
        let words = related_words(&feedback, &own, 1_000, frequency).unwrap();
        let stems: Vec<&str> = words.iter().map(|(s, _)| s.as_str()).collect();
        // The question's own word, numbers and masks are never related words.
        assert_eq!(stems, ["investig", "notifi", "result", "common"]);
        // Together they weigh what the question's one word leaves them.
        let sum: f32 = words.iter().map(|(_, w)| w).sum();
        let left = ((1.0 - QUESTION_SHARE) / QUESTION_SHARE) as f32;
        assert!((sum - left).abs() < 1e-5, "{sum}");
        // Held by both answers outweighs held by one; the common word weighs least.
        assert!(words[0].1 > words[1].1 && words[3].1 < words[2].1);
    }

    #[test]
    fn only_words_many_insights_hold_are_too_common_to_pick_candidates() {
        // In a small index every word picks candidates.
        assert!(!too_common(900, 1_000));
        // In a large one, a word held by more than a quarter of it does not.
        assert!(too_common(300_000, 1_000_000));
        assert!(!too_common(200_000, 1_000_000));
    }

    #[test]
    fn a_listed_docset_advances_and_seeks_in_order() {
        let mut docs = Listed {
            docs: vec![2, 5, 9],
            at: 0,
        };
        assert_eq!(docs.doc(), 2);
        assert_eq!(docs.seek(3), 5);
        assert_eq!(docs.seek(5), 5);
        assert_eq!(docs.advance(), 9);
        assert_eq!(docs.advance(), TERMINATED);
        assert_eq!(docs.advance(), TERMINATED);
        let mut empty = Listed {
            docs: Vec::new(),
            at: 0,
        };
        assert_eq!(empty.doc(), TERMINATED);
        assert_eq!(empty.seek(4), TERMINATED);
    }

    #[test]
    fn no_related_words_without_a_question_word_or_a_scored_answer() {
        let feedback = vec![(1.0, text(&["dispute"], &["investig"]))];
        let none = |_: &str| -> Result<u64, TantivyError> { Ok(1) };
        assert!(
            related_words(&feedback, &HashSet::new(), 10, none)
                .unwrap()
                .is_empty()
        );
        let unscored = vec![(0.0, text(&["dispute"], &["investig"]))];
        let own: HashSet<&str> = ["dispute"].into_iter().collect();
        assert!(related_words(&unscored, &own, 10, none).unwrap().is_empty());
    }
}
