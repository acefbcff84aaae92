//! Words as Flywheel sees them: tokenizing, stemming and the word lists that tell content from
//! function words. The store indexes what [`index_terms`] returns and the query parser stems
//! with [`stem`], so a word typed in a search meets the same token the index holds, whichever
//! backend runs the search.

use std::cell::RefCell;
use std::ops::Range;

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;

/// Tokens longer than this (in characters) are dropped, in the index and in queries alike:
/// they are hashes, encoded blobs or runaway strings, never words anyone searches for.
pub const MAX_TOKEN_CHARS: usize = 64;

/// One word of a text: its normalized form and where it sits in the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Lowercase, apostrophes and a trailing possessive removed, only alphanumeric characters.
    pub text: String,
    /// Byte range of the word in the text it came from, possessive included.
    pub span: Range<usize>,
}

/// The words of `text`, in order: maximal runs of alphanumeric characters, lowercased.
/// An apostrophe between two alphanumeric characters belongs to the word and is then dropped
/// (`don't` → `dont`); a trailing possessive `'s` is removed (`company's` → `company`).
/// Words longer than [`MAX_TOKEN_CHARS`] are skipped.
pub fn tokens(text: &str) -> Tokens<'_> {
    Tokens { text, at: 0 }
}

/// Iterator over the [`Token`]s of a text; see [`tokens`].
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    text: &'a str,
    at: usize,
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let mut text = String::new();
        let span = next_token(self.text, &mut self.at, &mut text)?;
        Some(Token { text, span })
    }
}

/// Finds the next token of `text` from `*at`, writes its normalized form into `out` (replacing
/// what was there) and returns its span; `*at` moves past it. `None` when no token is left.
fn next_token(text: &str, at: &mut usize, out: &mut String) -> Option<Range<usize>> {
    loop {
        let start = word_start(text, *at)?;
        let end = word_end(text, start);
        *at = end;
        if normalize_into(&text[start..end], out) {
            return Some(start..end);
        }
    }
}

/// Where the next word starts at or after `from`.
fn word_start(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    // Most text is ASCII: step over spaces and punctuation byte by byte.
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_alphanumeric() {
            return Some(i);
        }
        if !b.is_ascii() {
            return text[i..].find(is_word_char).map(|offset| i + offset);
        }
        i += 1;
    }
    None
}

fn is_apostrophe(c: char) -> bool {
    // U+02BC is a letter to Unicode, but people type it as an apostrophe.
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_apostrophe(c)
}

/// Where the word starting at `start` ends: alphanumerics, with apostrophes only between two.
fn word_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start;
    // ASCII letters and digits, and `'` before one of them, byte by byte; anything else
    // non-ASCII is looked at as characters.
    loop {
        match bytes.get(i) {
            Some(b) if b.is_ascii_alphanumeric() => i += 1,
            Some(b'\'') => match bytes.get(i + 1) {
                Some(b) if b.is_ascii_alphanumeric() => i += 2,
                Some(b) if !b.is_ascii() => return word_end_by_chars(text, start),
                _ => return i,
            },
            Some(b) if !b.is_ascii() => return word_end_by_chars(text, start),
            _ => return i,
        }
    }
}

fn word_end_by_chars(text: &str, start: usize) -> usize {
    let mut chars = text[start..].char_indices().peekable();
    let mut end = start;
    while let Some((i, c)) = chars.next() {
        let inside_apostrophe =
            is_apostrophe(c) && chars.peek().is_some_and(|&(_, next)| is_word_char(next));
        if is_word_char(c) || inside_apostrophe {
            end = start + i + c.len_utf8();
        } else {
            break;
        }
    }
    end
}

/// Writes the token form of a raw word into `out` (replacing what was there); false when it is
/// too long to be one, or nothing of it is left.
fn normalize_into(raw: &str, out: &mut String) -> bool {
    out.clear();
    // Most words are plain ASCII letters and digits: lowercased as they are.
    if raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        if raw.len() > MAX_TOKEN_CHARS {
            return false;
        }
        out.push_str(raw);
        out.make_ascii_lowercase();
        return true;
    }
    let mut chars: Vec<char> = raw.chars().collect();
    if let [.., a, s] = chars[..]
        && chars.len() > 2
        && is_apostrophe(a)
        && (s == 's' || s == 'S')
    {
        chars.truncate(chars.len() - 2);
    }
    // Lowercasing can add combining marks (`İ` → `i̇`); keep only what is alphanumeric so the
    // store can put tokens into FTS5 and tsquery strings unquoted.
    out.extend(
        chars
            .into_iter()
            .filter(|c| !is_apostrophe(*c))
            .flat_map(char::to_lowercase)
            .filter(|c| c.is_alphanumeric()),
    );
    let len = out.chars().count();
    (1..=MAX_TOKEN_CHARS).contains(&len)
}

/// The English (Snowball) stem of one word: `refunds` → `refund`, `charged` → `charg`.
/// The word is lowercased first; the stem holds only alphanumeric characters and is never
/// empty for a non-empty word.
pub fn stem(word: &str) -> String {
    let mut out = String::new();
    stem_onto(word, &mut out);
    out
}

/// [`stem`], appended to `out`.
fn stem_onto(word: &str, out: &mut String) {
    // A language has far fewer distinct words than a large import has tokens: each thread
    // remembers the stems it computed, and forgets them all when the table grows too big.
    thread_local! {
        static STEMS: RefCell<FxHashMap<Box<str>, Box<str>>> = RefCell::default();
    }
    const REMEMBERED: usize = 100_000;
    STEMS.with(|stems| {
        if let Some(known) = stems.borrow().get(word) {
            out.push_str(known);
            return;
        }
        let stemmed = stem_uncached(word);
        out.push_str(&stemmed);
        let mut stems = stems.borrow_mut();
        if stems.len() >= REMEMBERED {
            stems.clear();
        }
        stems.insert(word.into(), stemmed.into_boxed_str());
    })
}

fn stem_uncached(word: &str) -> String {
    let lower: String = word
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect();
    let stemmed = Stemmer::create(Algorithm::English)
        .stem(&lower)
        .into_owned();
    let clean: String = stemmed
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect();
    if clean.is_empty() { lower } else { clean }
}

/// The stems of one field, in order, held as one string with a single space between two stems
/// (a stem never holds a space): one allocation for a field rather than one per word, and the
/// very form the search index takes a field in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stems(String);

impl Stems {
    /// The stems of every token of `text`, in order.
    pub fn of(text: &str) -> Stems {
        Stems::of_tokens(text, |_| true)
    }

    /// The stems of the words of `text` that carry meaning: stopwords and question filler are
    /// left out.
    pub fn of_content(text: &str) -> Stems {
        Stems::of_tokens(text, |word| !is_stopword(word) && !is_question_filler(word))
    }

    /// The stems of the tokens of `text` that `keep` accepts, in order.
    fn of_tokens(text: &str, keep: impl Fn(&str) -> bool) -> Stems {
        let mut spaced = String::with_capacity(text.len());
        let (mut at, mut word) = (0, String::new());
        while next_token(text, &mut at, &mut word).is_some() {
            if !keep(&word) {
                continue;
            }
            if !spaced.is_empty() {
                spaced.push(' ');
            }
            stem_onto(&word, &mut spaced);
        }
        Stems(spaced)
    }

    /// The stems in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        self.0.split(' ').filter(|stem| !stem.is_empty())
    }

    /// The stems separated by single spaces.
    pub fn as_spaced(&self) -> &str {
        &self.0
    }

    /// Whether there is no stem.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a stem at the end; an empty one, or one holding a space, is not a stem and is
    /// ignored.
    pub fn push(&mut self, stem: &str) {
        if stem.is_empty() || stem.contains(' ') {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(stem);
    }

    /// Whether `stem` is one of the stems.
    pub fn contains(&self, stem: &str) -> bool {
        self.iter().any(|s| s == stem)
    }

    /// Whether `phrase` is here, its stems next to each other and in order. An empty phrase
    /// matches nothing.
    pub fn contains_phrase(&self, phrase: &[&str]) -> bool {
        let Some((first, rest)) = phrase.split_first() else {
            return false;
        };
        let mut stems = self.iter();
        while let Some(stem) = stems.next() {
            if stem == *first && stems.clone().take(rest.len()).eq(rest.iter().copied()) {
                return true;
            }
        }
        false
    }
}

impl<S: AsRef<str>> FromIterator<S> for Stems {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Stems {
        let mut stems = Stems::default();
        for stem in iter {
            stems.push(stem.as_ref());
        }
        stems
    }
}

impl serde::Serialize for Stems {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for Stems {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Stems, D::Error> {
        Ok(Vec::<String>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// An insight's words as the search index holds them: the stems of every token of the title,
/// of the body and of each theme, field by field and in order. Stopwords are kept so that
/// phrases ("charged twice", "on time") match adjacent words exactly. A phrase matches inside
/// one field (the title, the body, or one theme), never across the seam between two: the index
/// and the in-memory matcher both read this, so they agree on that too.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexedText {
    /// Stems of the title.
    pub title: Stems,
    /// Stems of the body.
    pub body: Stems,
    /// Stems of each theme, one list per theme.
    pub themes: Vec<Stems>,
}

impl IndexedText {
    /// The indexed words of an insight with this title, body and themes.
    pub fn of(title: &str, body: &str, themes: &[String]) -> IndexedText {
        IndexedText {
            title: Stems::of(title),
            body: Stems::of(body),
            themes: themes.iter().map(|t| Stems::of(t)).collect(),
        }
    }

    /// Every field's stems, title first, then body, then each theme.
    pub fn fields(&self) -> impl Iterator<Item = &Stems> {
        [&self.title, &self.body].into_iter().chain(&self.themes)
    }

    /// Whether any field holds `stem`.
    pub fn contains(&self, stem: &str) -> bool {
        self.fields().any(|field| field.contains(stem))
    }

    /// Whether one field holds `phrase`, its stems next to each other and in order. An empty
    /// phrase matches nothing.
    pub fn contains_phrase(&self, phrase: &[&str]) -> bool {
        self.fields().any(|field| field.contains_phrase(phrase))
    }

    /// Every stem, fields in order, separated by single spaces (what [`index_terms`] returns).
    pub fn terms(&self) -> String {
        let mut out = String::new();
        for field in self.fields().filter(|field| !field.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(field.as_spaced());
        }
        out
    }
}

/// The stems of title, body and each theme, in that order, separated by single spaces: the
/// fingerprint of an insight covers them, so a change in tokenizing shows as a change.
pub fn index_terms(title: &str, body: &str, themes: &[String]) -> String {
    IndexedText::of(title, body, themes).terms()
}

/// English function words, dropped from searches (never from the index). Sorted, for
/// binary search; apostrophes already removed as the tokenizer removes them.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "arent",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "cant",
    "could",
    "couldnt",
    "did",
    "didnt",
    "do",
    "does",
    "doesnt",
    "doing",
    "dont",
    "down",
    "during",
    "each",
    "either",
    "else",
    "ever",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadnt",
    "has",
    "hasnt",
    "have",
    "havent",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "id",
    "if",
    "im",
    "in",
    "into",
    "is",
    "isnt",
    "it",
    "its",
    "itself",
    "ive",
    "just",
    "me",
    "more",
    "most",
    "much",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "regarding",
    "same",
    "she",
    "should",
    "shouldnt",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "theyre",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "was",
    "wasnt",
    "we",
    "were",
    "werent",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "wont",
    "would",
    "wouldnt",
    "you",
    "your",
    "youre",
    "yours",
    "yourself",
    "yourselves",
];

/// Words that only frame a question about customers ("what are customers saying about ..."):
/// dropped from questions in natural language, kept in plain keyword searches. Sorted.
const QUESTION_FILLER: &[&str] = &[
    "anybody",
    "anyone",
    "anything",
    "ask",
    "asked",
    "asking",
    "client",
    "clients",
    "comment",
    "comments",
    "complain",
    "complained",
    "complaining",
    "complains",
    "complaint",
    "complaints",
    "customer",
    "customers",
    "feedback",
    "feel",
    "feeling",
    "feels",
    "felt",
    "find",
    "give",
    "hear",
    "heard",
    "hearing",
    "know",
    "lately",
    "list",
    "mention",
    "mentioned",
    "mentioning",
    "mentions",
    "people",
    "recently",
    "said",
    "say",
    "saying",
    "says",
    "show",
    "something",
    "talk",
    "talked",
    "talking",
    "talks",
    "tell",
    "telling",
    "tells",
    "think",
    "thinking",
    "thinks",
    "thought",
    "told",
    "user",
    "users",
    "wrote",
];

/// Words that open a question: a query starting with one reads as natural language. Sorted.
const QUESTION_OPENERS: &[&str] = &[
    "any", "are", "can", "could", "did", "do", "does", "has", "have", "how", "is", "show", "tell",
    "was", "were", "what", "whats", "when", "where", "which", "who", "why", "would",
];

/// Whether `word` (a token: lowercase, no apostrophes) is an English function word.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// Whether `word` (a token) only frames a question about customers ("saying", "customers").
pub fn is_question_filler(word: &str) -> bool {
    QUESTION_FILLER.binary_search(&word).is_ok()
}

/// Whether `word` (a token) opens a question ("what", "how", "does", "tell", ...).
pub fn is_question_opener(word: &str) -> bool {
    QUESTION_OPENERS.binary_search(&word).is_ok()
}

/// Up to `context` characters either side of `position` in `chars`, with `…` where cut, and a
/// caret line under `position`: how a parse error points at the word it is about.
pub fn point_at(chars: &[char], position: usize, context: usize) -> String {
    let position = position.min(chars.len());
    let start = position.saturating_sub(context);
    let end = (position + context + 1).min(chars.len());
    let mut line = String::new();
    let mut caret = position - start;
    if start > 0 {
        line.push('…');
        caret += 1;
    }
    line.extend(&chars[start..end]);
    if end < chars.len() {
        line.push('…');
    }
    format!("{}\n{}^", line.trim_end(), " ".repeat(caret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(text: &str) -> Vec<String> {
        tokens(text).map(|t| t.text).collect()
    }

    #[test]
    fn stems_of_a_field_read_back_as_its_words_stemmed() {
        let stems = Stems::of("Charged twice; the bank's refunds never came.");
        assert_eq!(
            stems.iter().collect::<Vec<_>>(),
            ["charg", "twice", "the", "bank", "refund", "never", "came"]
        );
        assert_eq!(stems.as_spaced(), "charg twice the bank refund never came");
        assert!(stems.contains("refund"));
        assert!(!stems.contains("refunds"));
        assert!(!stems.contains("charg twice"));
        assert!(Stems::of("…").iter().next().is_none());
        assert!(Stems::of("").is_empty());
        assert_eq!(
            Stems::of_content("What are customers saying about the refunds?").as_spaced(),
            "refund"
        );
    }

    #[test]
    fn phrases_match_adjacent_stems_in_order() {
        let stems: Stems = ["a", "b", "c", "b", "d"].into_iter().collect();
        assert!(stems.contains_phrase(&["b", "c"]));
        assert!(stems.contains_phrase(&["b", "d"]));
        assert!(stems.contains_phrase(&["a", "b", "c", "b", "d"]));
        assert!(!stems.contains_phrase(&["c", "b", "d", "e"]));
        assert!(!stems.contains_phrase(&["a", "c"]));
        assert!(!stems.contains_phrase(&[]));
        assert!(!Stems::default().contains_phrase(&["a"]));
    }

    #[test]
    fn only_stems_are_pushed() {
        let mut stems = Stems::default();
        for stem in ["", "a b", "refund", "", "charg"] {
            stems.push(stem);
        }
        assert_eq!(stems.as_spaced(), "refund charg");
    }

    #[test]
    fn stems_serialize_as_a_list() {
        let stems = Stems::of("refunds charged");
        let json = serde_json::to_string(&stems).unwrap();
        assert_eq!(json, r#"["refund","charg"]"#);
        assert_eq!(serde_json::from_str::<Stems>(&json).unwrap(), stems);
    }

    #[test]
    fn tokens_are_lowercase_alphanumeric_runs() {
        assert_eq!(
            words("Charged TWICE for the same order #4521!"),
            ["charged", "twice", "for", "the", "same", "order", "4521"]
        );
        assert_eq!(words("e-mail/login"), ["e", "mail", "login"]);
        assert_eq!(words("Crédit Agricole"), ["crédit", "agricole"]);
        assert!(words("").is_empty());
        assert!(words(" \t\n…—!?").is_empty());
    }

    #[test]
    fn apostrophes_inside_words_are_dropped_and_possessives_removed() {
        assert_eq!(words("don't"), ["dont"]);
        assert_eq!(words("don’t"), ["dont"]);
        assert_eq!(words("the company's fee"), ["the", "company", "fee"]);
        assert_eq!(words("EQUIFAX’S report"), ["equifax", "report"]);
        // An apostrophe at either end is punctuation, not part of the word.
        assert_eq!(words("customers' 'quoted'"), ["customers", "quoted"]);
        // A lone "'s" is not a possessive of anything: keep the letter.
        assert_eq!(words("'s"), ["s"]);
        assert_eq!(words("rock'n'roll"), ["rocknroll"]);
    }

    #[test]
    fn spans_point_at_the_original_words() {
        let text = "Où est   l'argent's?";
        let spans: Vec<&str> = tokens(text).map(|t| &text[t.span]).collect();
        assert_eq!(spans, ["Où", "est", "l'argent's"]);
    }

    #[test]
    fn overlong_tokens_are_dropped_not_split() {
        let long = "x".repeat(MAX_TOKEN_CHARS + 1);
        let exact = "y".repeat(MAX_TOKEN_CHARS);
        assert_eq!(
            words(&format!("a {long} b {exact}")),
            ["a", "b", exact.as_str()]
        );
        assert_eq!(index_terms(&long, "", &[]), "");
    }

    #[test]
    fn lowercasing_never_leaks_combining_marks() {
        // `İ` lowercases to `i` + U+0307, which is not alphanumeric.
        assert_eq!(words("İstanbul"), ["istanbul"]);
    }

    #[test]
    fn stems_follow_snowball_english() {
        assert_eq!(stem("refunds"), "refund");
        assert_eq!(stem("Refunded"), "refund");
        assert_eq!(stem("charged"), "charg");
        assert_eq!(stem("charges"), "charg");
        assert_eq!(stem("reporting"), "report");
        assert_eq!(stem("identity"), "ident");
        assert_eq!(stem("the"), "the");
        assert_eq!(stem("2023"), "2023");
        assert_eq!(stem(""), "");
    }

    #[test]
    fn index_terms_keep_order_and_stopwords() {
        let themes = vec!["Billing disputes".to_string(), "on-time".to_string()];
        assert_eq!(
            index_terms("Charged twice", "They charged me on the card.", &themes),
            "charg twice they charg me on the card bill disput on time"
        );
        assert_eq!(index_terms("", "", &[]), "");
    }

    #[test]
    fn word_lists_are_sorted_and_distinct() {
        for list in [STOPWORDS, QUESTION_FILLER, QUESTION_OPENERS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{:?}", list);
            // Every entry must be a token as the tokenizer produces it, or it could never match.
            for word in list {
                assert_eq!(words(word), [*word]);
            }
        }
    }

    #[test]
    fn word_lists_answer_membership() {
        for w in [
            "the", "a", "of", "on", "their", "about", "what", "how", "is", "are",
        ] {
            assert!(is_stopword(w), "{w}");
        }
        for w in ["identity", "theft", "refund", "customers", ""] {
            assert!(!is_stopword(w), "{w}");
        }
        for w in [
            "customers",
            "saying",
            "complaints",
            "mention",
            "talking",
            "feel",
        ] {
            assert!(is_question_filler(w), "{w}");
        }
        assert!(!is_question_filler("credit"));
        assert!(!is_question_filler("Customers"), "membership is on tokens");
        assert!(is_question_opener("what") && is_question_opener("does"));
        assert!(!is_question_opener("refund"));
    }

    proptest! {
        #[test]
        fn tokens_and_stems_are_clean_for_any_text(text in "\\PC{0,200}|[a-zA-Z'’ ]{0,80}") {
            for token in tokens(&text) {
                prop_assert!(!token.text.is_empty());
                prop_assert!(token.text.chars().count() <= MAX_TOKEN_CHARS);
                prop_assert!(token.text.chars().all(char::is_alphanumeric));
                prop_assert!(text.is_char_boundary(token.span.start));
                prop_assert!(text.is_char_boundary(token.span.end));
                let stemmed = stem(&token.text);
                prop_assert!(!stemmed.is_empty());
                prop_assert!(stemmed.chars().all(char::is_alphanumeric));
                prop_assert_eq!(stemmed.to_lowercase(), stemmed.clone());
            }
            let terms = index_terms(&text, &text, &[]);
            prop_assert!(!terms.contains("  ") && !terms.starts_with(' ') && !terms.ends_with(' '));
        }

        #[test]
        fn words_start_and_end_byte_by_byte_as_by_characters(text in "[a-zA-Z0-9'’é .]{1,40}") {
            for start in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
                prop_assert_eq!(
                    word_start(&text, start),
                    text[start..].find(is_word_char).map(|offset| start + offset)
                );
                if text[start..].starts_with(is_word_char) {
                    prop_assert_eq!(word_end(&text, start), word_end_by_chars(&text, start));
                }
            }
        }

        #[test]
        fn stems_are_the_stems_of_the_tokens(text in "\\PC{0,120}|[a-zA-Z'’ .,]{0,80}") {
            let one_by_one: Vec<String> = tokens(&text).map(|t| stem(&t.text)).collect();
            let stems = Stems::of(&text);
            prop_assert_eq!(stems.iter().collect::<Vec<_>>(), one_by_one);
        }

        #[test]
        fn stemming_any_string_never_panics(word in any::<String>()) {
            let stemmed = stem(&word);
            prop_assert!(stemmed.chars().all(char::is_alphanumeric));
        }
    }
}
