//! Reading what people type into a [`Query`]: words, `OR`, "quoted phrases", `-exclusions` and
//! `name:value` filters, with errors that point at the column that is wrong.
//!
//! ```text
//! refund OR chargeback fee -"gift card" theme:billing severity:>=4 since:30d
//! ```
//!
//! is three clauses of text (`refund OR chargeback`, `fee`, not the phrase `gift card`) and three
//! filters; `NOT fee` is another way to write `-fee`. Unquoted function words are dropped; a
//! question in natural language ("what are customers saying about refunds?") also loses its
//! framing words.

use chrono::NaiveDate;

use super::ast::{Atom, Clause, Comparison, DateBound, Filter, Query, Term, Test};
use crate::model::{self, Kind, Sentiment, Stage, UnknownValue};
use crate::text;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Why a query could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {}: {kind}", .position + 1)]
pub struct QueryError {
    /// 0-based offset into the input, in characters (not bytes). Always inside the input.
    pub position: usize,
    /// What is wrong.
    pub kind: QueryErrorKind,
}

/// What is wrong with a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryErrorKind {
    /// `stge:onboarding`: a filter name that is a likely typo of a real one.
    #[error("unknown filter \"{name}\" — did you mean \"{suggestion}:\"?")]
    UnknownFilter {
        /// The name as typed.
        name: String,
        /// The filter name it is probably meant to be.
        suggestion: String,
    },
    /// `stage:onbording`: a value outside a closed vocabulary.
    #[error("{0}")]
    UnknownValue(UnknownValue),
    /// `severity:high`: not a severity condition.
    #[error("severity \"{0}\" is not 1 to 5 with an optional =, <, <=, > or >= (severity:>=4)")]
    BadSeverity(String),
    /// `severity:>5`: a condition no insight can meet.
    #[error("severity:{0} can never hold: severities run from 1 to 5")]
    ImpossibleSeverity(String),
    /// `since:yesterday`, `until:2026-02-30`: not a date or a duration.
    #[error("{filter}:{value} is not a date: use YYYY-MM-DD or a duration such as 30d, 2w, 6m, 1y")]
    BadDate {
        /// `since` or `until`.
        filter: &'static str,
        /// The value as typed.
        value: String,
    },
    /// `since:99999999999d`: a duration too large to count.
    #[error("{filter}:{value} reaches back too far")]
    DurationTooLong {
        /// `since` or `until`.
        filter: &'static str,
        /// The value as typed.
        value: String,
    },
    /// `theme:` with nothing (or only punctuation) after it.
    #[error("filter \"{filter}:\" needs a value, as in {example}")]
    EmptyValue {
        /// The filter's name.
        filter: &'static str,
        /// A filter of that name that works.
        example: &'static str,
    },
    /// A quote that is opened and never closed.
    #[error("quote is never closed")]
    UnterminatedQuote,
    /// `""`: a phrase without words.
    #[error("empty phrase: put words between the quotes")]
    EmptyPhrase,
    /// `OR fee`: nothing on the left of `OR`.
    #[error("OR needs a word before it")]
    OrWithoutLeft,
    /// `refund OR`: nothing on the right of `OR`.
    #[error("OR needs a word after it")]
    OrWithoutRight,
    /// A `-` with nothing after it.
    #[error("\"-\" needs a word right after it, as in -fee")]
    LoneMinus,
    /// `refund NOT`: nothing for `NOT` to exclude.
    #[error("NOT needs a word after it, as in NOT fee")]
    NotWithoutWord,
    /// `since:2026-03-01 until:2026-01-01`: a range no day falls in.
    #[error("since:{since} is later than until:{until}, so nothing can match")]
    SinceAfterUntil {
        /// The `since` value as typed.
        since: String,
        /// The `until` value as typed.
        until: String,
    },
    /// More than [`MAX_QUERY_CHARS`] characters.
    #[error("query is {chars} characters long; the limit is 1,000")]
    TooLong {
        /// The input's length in characters.
        chars: usize,
    },
}

impl QueryError {
    fn at(position: usize, kind: QueryErrorKind) -> QueryError {
        QueryError { position, kind }
    }

    /// The 1-based column of the error, as people count.
    pub fn column(&self) -> usize {
        self.position + 1
    }

    /// What the user probably meant, when there is a likely candidate (`stage:`, `onboarding`).
    pub fn suggestion(&self) -> Option<String> {
        match &self.kind {
            QueryErrorKind::UnknownFilter { suggestion, .. } => Some(format!("{suggestion}:")),
            QueryErrorKind::UnknownValue(unknown) => unknown.suggestion.clone(),
            _ => None,
        }
    }

    /// The input, a caret under the error's position and the message, for a terminal or a
    /// code block in chat. Long input is shown as a window around the position.
    ///
    /// ```text
    /// refund stge:onboarding
    ///        ^
    /// column 8: unknown filter "stge" — did you mean "stage:"?
    /// ```
    pub fn display_with_input(&self, input: &str) -> String {
        const CONTEXT: usize = 40;
        // One character in, one character out, so the caret's offset stays a character count.
        let chars: Vec<char> = input
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!(
            "{}\n{self}",
            crate::text::point_at(&chars, self.position, CONTEXT)
        )
    }
}

/// Parses the query language. An empty query, or one made only of question framing ("what are
/// customers saying?"), is [`Query::everything`]: the caller decides what to answer.
pub fn parse(input: &str) -> Result<Query, QueryError> {
    let length = input.chars().count();
    if length > MAX_QUERY_CHARS {
        return Err(QueryError::at(
            MAX_QUERY_CHARS,
            QueryErrorKind::TooLong { chars: length },
        ));
    }
    let chars: Vec<char> = input.chars().collect();
    let items = apply_not(Lexer { chars: &chars }.items()?)?;
    let natural_language = reads_as_question(input, &items);
    let groups = group_alternatives(items)?;
    let clauses = drop_function_words(groups, natural_language);
    check_date_range(&clauses)?;

    let mut query = Query::everything();
    for clause in clauses {
        let clause = Clause {
            alternatives: clause.into_iter().map(|p| p.atom).collect(),
        };
        // A repeated condition changes nothing but the cost of the search.
        if !query.clauses.contains(&clause) {
            query.clauses.push(clause);
        }
    }
    if !query.clauses.is_empty() {
        query.natural_language = natural_language;
    }
    Ok(query)
}

/// An atom as read, with what later steps need to know about how it was typed.
#[derive(Debug)]
struct Parsed {
    atom: Atom,
    /// Where it starts, for errors.
    at: usize,
    /// The token, when the atom is one unquoted, non-negated word: only such words are
    /// dropped as function words or question framing.
    plain: Option<String>,
    /// For `since`/`until`, the value as typed, for errors.
    typed: String,
}

#[derive(Debug)]
enum Item {
    Atom(Parsed),
    Or(usize),
    /// Uppercase `NOT`, the same as `-` on what follows. Without it a `NOT` would be dropped
    /// as a function word and the search would ask for the very word it meant to exclude.
    Not(usize),
}

/// Applies each `NOT` to the atom right after it.
fn apply_not(items: Vec<Item>) -> Result<Vec<Item>, QueryError> {
    let mut out = Vec::with_capacity(items.len());
    let mut pending: Option<usize> = None;
    for item in items {
        match (item, pending.take()) {
            (Item::Atom(mut parsed), Some(_)) => {
                parsed.atom.negated = true;
                parsed.plain = None;
                out.push(Item::Atom(parsed));
            }
            (_, Some(at)) => return Err(QueryError::at(at, QueryErrorKind::NotWithoutWord)),
            (Item::Not(at), None) => pending = Some(at),
            (item, None) => out.push(item),
        }
    }
    match pending {
        Some(at) => Err(QueryError::at(at, QueryErrorKind::NotWithoutWord)),
        None => Ok(out),
    }
}

const QUOTES: [char; 4] = ['"', '\u{201C}', '\u{201D}', '\u{201E}'];

fn is_quote(c: char) -> bool {
    QUOTES.contains(&c)
}

/// The filter names people type, with the filter each stands for.
const FILTER_NAMES: &[(&str, FilterName)] = &[
    ("theme", FilterName::Theme),
    ("themes", FilterName::Theme),
    ("tag", FilterName::Theme),
    ("tags", FilterName::Theme),
    ("segment", FilterName::Segment),
    ("account", FilterName::Account),
    ("source", FilterName::Source),
    ("stage", FilterName::Stage),
    ("kind", FilterName::Kind),
    ("sentiment", FilterName::Sentiment),
    ("severity", FilterName::Severity),
    ("since", FilterName::Since),
    ("until", FilterName::Until),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterName {
    Theme,
    Segment,
    Account,
    Source,
    Stage,
    Kind,
    Sentiment,
    Severity,
    Since,
    Until,
}

impl FilterName {
    fn lookup(name: &str) -> Option<FilterName> {
        FILTER_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// A likely intended filter for an unknown `name:`. Only alphabetic names of three or more
    /// letters within one edit (two for longer names) qualify: `re:` or `https:` stay text.
    fn suggest(name: &str) -> Option<&'static str> {
        let length = name.chars().count();
        if length < 3 || !name.chars().all(char::is_alphabetic) {
            return None;
        }
        let allowed = if length <= 4 { 1 } else { 2 };
        FILTER_NAMES
            .iter()
            .map(|(n, _)| {
                (
                    strsim::damerau_levenshtein(name, n),
                    !n.starts_with(name),
                    *n,
                )
            })
            .filter(|(d, _, _)| *d <= allowed)
            // On a tie, the filter the input begins (`stag` → `stage`) beats a mere look-alike.
            .min_by_key(|(d, incomplete, _)| (*d, *incomplete))
            .map(|(_, _, n)| n)
    }

    fn name(self) -> &'static str {
        match self {
            FilterName::Theme => "theme",
            FilterName::Segment => "segment",
            FilterName::Account => "account",
            FilterName::Source => "source",
            FilterName::Stage => "stage",
            FilterName::Kind => "kind",
            FilterName::Sentiment => "sentiment",
            FilterName::Severity => "severity",
            FilterName::Since => "since",
            FilterName::Until => "until",
        }
    }

    fn example(self) -> &'static str {
        match self {
            FilterName::Theme => "theme:billing",
            FilterName::Segment => "segment:enterprise",
            FilterName::Account => "account:\"EQUIFAX, INC.\"",
            FilterName::Source => "source:cfpb",
            FilterName::Stage => "stage:onboarding",
            FilterName::Kind => "kind:pain",
            FilterName::Sentiment => "sentiment:neg",
            FilterName::Severity => "severity:>=4",
            FilterName::Since => "since:30d",
            FilterName::Until => "until:2026-03-31",
        }
    }

    /// The filter for a value; `at` is where the value starts, for errors.
    fn filter(self, value: &str, at: usize) -> Result<Filter, QueryError> {
        let empty = || {
            QueryError::at(
                at,
                QueryErrorKind::EmptyValue {
                    filter: self.name(),
                    example: self.example(),
                },
            )
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(empty());
        }
        let keyed = |make: fn(String) -> Filter| {
            let key = model::key(value);
            if key.is_empty() {
                Err(empty())
            } else {
                Ok(make(key))
            }
        };
        let unknown = |e: UnknownValue| QueryError::at(at, QueryErrorKind::UnknownValue(e));
        match self {
            FilterName::Theme => keyed(Filter::Theme),
            FilterName::Segment => keyed(Filter::Segment),
            FilterName::Account => keyed(Filter::Account),
            FilterName::Source => Ok(Filter::Source(value.to_lowercase())),
            FilterName::Stage => value.parse::<Stage>().map(Filter::Stage).map_err(unknown),
            FilterName::Kind => value.parse::<Kind>().map(Filter::Kind).map_err(unknown),
            FilterName::Sentiment => value
                .parse::<Sentiment>()
                .map(Filter::Sentiment)
                .map_err(unknown),
            FilterName::Severity => parse_severity(value)
                .map(|(op, n)| Filter::Severity(op, n))
                .map_err(|kind| QueryError::at(at, kind)),
            FilterName::Since => parse_date_bound("since", value)
                .map(Filter::Since)
                .map_err(|kind| QueryError::at(at, kind)),
            FilterName::Until => parse_date_bound("until", value)
                .map(Filter::Until)
                .map_err(|kind| QueryError::at(at, kind)),
        }
    }
}

fn parse_severity(value: &str) -> Result<(Comparison, u8), QueryErrorKind> {
    let (op, number) = [
        (">=", Comparison::Ge),
        ("<=", Comparison::Le),
        (">", Comparison::Gt),
        ("<", Comparison::Lt),
        ("=", Comparison::Eq),
    ]
    .into_iter()
    .find_map(|(prefix, op)| value.strip_prefix(prefix).map(|rest| (op, rest)))
    .unwrap_or((Comparison::Eq, value));
    let bound = match number.trim() {
        digit @ ("1" | "2" | "3" | "4" | "5") => digit.as_bytes()[0] - b'0',
        _ => return Err(QueryErrorKind::BadSeverity(value.to_string())),
    };
    if matches!((op, bound), (Comparison::Gt, 5) | (Comparison::Lt, 1)) {
        return Err(QueryErrorKind::ImpossibleSeverity(value.to_string()));
    }
    Ok((op, bound))
}

fn parse_date_bound(filter: &'static str, value: &str) -> Result<DateBound, QueryErrorKind> {
    let bad = || QueryErrorKind::BadDate {
        filter,
        value: value.to_string(),
    };
    let too_long = || QueryErrorKind::DurationTooLong {
        filter,
        value: value.to_string(),
    };
    let bytes = value.as_bytes();
    let all_digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    // Strictly YYYY-MM-DD: chrono's parser would also take `2026-1-1` or `+2026-01-01`.
    if bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && all_digits(&bytes[..4])
        && all_digits(&bytes[5..7])
        && all_digits(&bytes[8..])
    {
        let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().ok();
        let date = match (number(0..4), number(5..7), number(8..10)) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d),
            _ => None,
        };
        return date.map(DateBound::On).ok_or_else(bad);
    }
    let Some(unit) = value.chars().last() else {
        return Err(bad());
    };
    let digits = &value[..value.len() - unit.len_utf8()];
    if !all_digits(digits.as_bytes()) {
        return Err(bad());
    }
    let count: u32 = digits.parse().map_err(|_| too_long())?;
    let scaled = |factor: u32| count.checked_mul(factor).ok_or_else(too_long);
    match unit.to_ascii_lowercase() {
        'd' => Ok(DateBound::DaysAgo(count)),
        'w' => scaled(7).map(DateBound::DaysAgo),
        'm' => Ok(DateBound::MonthsAgo(count)),
        'y' => scaled(12).map(DateBound::MonthsAgo),
        _ => Err(bad()),
    }
}

struct Lexer<'a> {
    chars: &'a [char],
}

impl Lexer<'_> {
    fn items(&self) -> Result<Vec<Item>, QueryError> {
        let chars = self.chars;
        let mut items = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            let negated = chars[i] == '-';
            if negated {
                i += 1;
                if chars.get(i).is_none_or(|c| c.is_whitespace()) {
                    return Err(QueryError::at(start, QueryErrorKind::LoneMinus));
                }
            }
            if is_quote(chars[i]) {
                let (content, next) = self.quoted(i)?;
                let terms = terms_of(&content);
                if terms.is_empty() {
                    return Err(QueryError::at(i, QueryErrorKind::EmptyPhrase));
                }
                items.push(Item::Atom(Parsed {
                    atom: Atom {
                        negated,
                        test: Test::Phrase(terms),
                    },
                    at: start,
                    plain: None,
                    typed: content,
                }));
                i = next;
                continue;
            }
            if let Some((parsed, next)) = self.filter(start, i, negated)? {
                items.push(Item::Atom(parsed));
                i = next;
                continue;
            }
            let end = (i..chars.len())
                .find(|&j| chars[j].is_whitespace() || is_quote(chars[j]))
                .unwrap_or(chars.len());
            let chunk: String = chars[i..end].iter().collect();
            i = end;
            if !negated && chunk == "OR" {
                items.push(Item::Or(start));
                continue;
            }
            if !negated && chunk == "NOT" {
                items.push(Item::Not(start));
                continue;
            }
            let mut terms = terms_of(&chunk);
            // Punctuation alone (`&`, `--`, `…`) says nothing to search for.
            let test = match terms.len() {
                0 => continue,
                1 => Test::Term(terms.remove(0)),
                // `e-mail` or `U.S.` is indexed as adjacent words, so it is searched as a phrase.
                _ => Test::Phrase(terms),
            };
            let plain = match &test {
                Test::Term(term) if !negated => Some(term.word.clone()),
                _ => None,
            };
            items.push(Item::Atom(Parsed {
                atom: Atom { negated, test },
                at: start,
                plain,
                typed: chunk,
            }));
        }
        Ok(items)
    }

    /// The text between the quote at `open` and the next quote, and the index after it.
    fn quoted(&self, open: usize) -> Result<(String, usize), QueryError> {
        let close = (open + 1..self.chars.len())
            .find(|&j| is_quote(self.chars[j]))
            .ok_or_else(|| QueryError::at(open, QueryErrorKind::UnterminatedQuote))?;
        Ok((self.chars[open + 1..close].iter().collect(), close + 1))
    }

    /// A `name:value` filter starting at `i` (after any `-`), or `None` when the text there is
    /// not one and reads as words.
    fn filter(
        &self,
        start: usize,
        i: usize,
        negated: bool,
    ) -> Result<Option<(Parsed, usize)>, QueryError> {
        let chars = self.chars;
        let colon = (i..chars.len())
            .find(|&j| !chars[j].is_alphabetic())
            .unwrap_or(chars.len());
        if colon == i || chars.get(colon) != Some(&':') {
            return Ok(None);
        }
        let name: String = chars[i..colon]
            .iter()
            .flat_map(|c| c.to_lowercase())
            .collect();
        let Some(filter) = FilterName::lookup(&name) else {
            return match FilterName::suggest(&name) {
                Some(suggestion) => Err(QueryError::at(
                    i,
                    QueryErrorKind::UnknownFilter {
                        name: chars[i..colon].iter().collect(),
                        suggestion: suggestion.to_string(),
                    },
                )),
                None => Ok(None),
            };
        };
        let value_at = colon + 1;
        let (value, next, value_pos) = match chars.get(value_at) {
            Some(&c) if is_quote(c) => {
                let (content, next) = self.quoted(value_at)?;
                (content, next, value_at)
            }
            _ => {
                let end = (value_at..chars.len())
                    .find(|&j| chars[j].is_whitespace())
                    .unwrap_or(chars.len());
                (chars[value_at..end].iter().collect(), end, value_at)
            }
        };
        // Point at the value when there is one, else at the filter's name: an empty value at
        // the end of the input has no column of its own.
        let error_at = if value.trim().is_empty() {
            i
        } else {
            value_pos
        };
        let parsed = filter.filter(&value, error_at)?;
        Ok(Some((
            Parsed {
                atom: Atom {
                    negated,
                    test: Test::Filter(parsed),
                },
                at: start,
                plain: None,
                typed: value,
            },
            next,
        )))
    }
}

/// The query terms of a piece of text: its tokens with their stems.
fn terms_of(text: &str) -> Vec<Term> {
    text::tokens(text)
        .map(|t| Term {
            stem: text::stem(&t.text),
            word: t.text,
        })
        .collect()
}

/// A question opener first, a question mark last, or two function words: the query was
/// written as a sentence, not as keywords.
fn reads_as_question(input: &str, items: &[Item]) -> bool {
    let opens_with_question = match items.first() {
        Some(Item::Atom(Parsed {
            plain: Some(word), ..
        })) => text::is_question_opener(word),
        _ => false,
    };
    let stopwords = items
        .iter()
        .filter(|item| {
            matches!(item, Item::Atom(Parsed { plain: Some(word), .. }) if text::is_stopword(word))
        })
        .count();
    opens_with_question || input.trim_end().ends_with('?') || stopwords >= 2
}

/// Joins atoms separated by `OR` into one clause each.
fn group_alternatives(items: Vec<Item>) -> Result<Vec<Vec<Parsed>>, QueryError> {
    let mut groups: Vec<Vec<Parsed>> = Vec::new();
    let mut pending_or: Option<usize> = None;
    for item in items {
        match item {
            Item::Or(at) => {
                if groups.is_empty() || pending_or.is_some() {
                    return Err(QueryError::at(at, QueryErrorKind::OrWithoutLeft));
                }
                pending_or = Some(at);
            }
            Item::Atom(parsed) => match (pending_or.take(), groups.last_mut()) {
                (Some(_), Some(group)) => group.push(parsed),
                _ => groups.push(vec![parsed]),
            },
            // Already applied by `apply_not`.
            Item::Not(_) => {}
        }
    }
    match pending_or {
        Some(at) => Err(QueryError::at(at, QueryErrorKind::OrWithoutRight)),
        None => Ok(groups),
    }
}

/// Drops standalone unquoted function words, and question framing when the query reads as a
/// question. If only function words were typed ("the who"), they are the search and stay;
/// if framing was dropped too ("what are customers saying?"), nothing is left to search for.
fn drop_function_words(groups: Vec<Vec<Parsed>>, natural_language: bool) -> Vec<Vec<Parsed>> {
    let single_plain = |group: &Vec<Parsed>| match group.as_slice() {
        [only] => only.plain.clone(),
        _ => None,
    };
    let mut dropped_filler = false;
    let mut kept = Vec::new();
    let mut dropped_stopwords = Vec::new();
    for group in groups {
        match single_plain(&group) {
            Some(word) if text::is_stopword(&word) => dropped_stopwords.push(group),
            Some(word) if natural_language && text::is_question_filler(&word) => {
                dropped_filler = true;
            }
            _ => kept.push(group),
        }
    }
    if kept.is_empty() && !dropped_filler {
        dropped_stopwords
    } else {
        kept
    }
}

/// Rejects `since` later than `until` when that holds whatever today is: both fixed dates, or
/// both counted in the same unit. Mixed bounds (`since:2026-01-01 until:30d`) depend on the day.
fn check_date_range(clauses: &[Vec<Parsed>]) -> Result<(), QueryError> {
    let required = |parsed: &&Parsed| !parsed.atom.negated;
    let singles = || {
        clauses
            .iter()
            .filter(|c| c.len() == 1)
            .map(|c| &c[0])
            .filter(required)
    };
    for since in singles() {
        let Test::Filter(Filter::Since(from)) = since.atom.test else {
            continue;
        };
        for until in singles() {
            let Test::Filter(Filter::Until(to)) = until.atom.test else {
                continue;
            };
            let empty = match (from, to) {
                (DateBound::On(a), DateBound::On(b)) => a > b,
                (DateBound::DaysAgo(a), DateBound::DaysAgo(b))
                | (DateBound::MonthsAgo(a), DateBound::MonthsAgo(b)) => a < b,
                _ => false,
            };
            if empty {
                return Err(QueryError::at(
                    since.at,
                    QueryErrorKind::SinceAfterUntil {
                        since: since.typed.clone(),
                        until: until.typed.clone(),
                    },
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn term(word: &str) -> Term {
        Term {
            word: word.to_string(),
            stem: text::stem(word),
        }
    }

    fn atom(negated: bool, test: Test) -> Atom {
        Atom { negated, test }
    }

    fn words(query: &Query) -> Vec<Vec<String>> {
        query
            .clauses
            .iter()
            .map(|c| {
                c.alternatives
                    .iter()
                    .map(|a| {
                        let sign = if a.negated { "-" } else { "" };
                        match &a.test {
                            Test::Term(t) => format!("{sign}{}", t.word),
                            Test::Phrase(ts) => {
                                let ws: Vec<&str> = ts.iter().map(|t| t.word.as_str()).collect();
                                format!("{sign}\"{}\"", ws.join(" "))
                            }
                            Test::Filter(f) => format!("{sign}{f:?}"),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn filters(input: &str) -> Vec<Filter> {
        parse(input)
            .unwrap()
            .atoms()
            .filter_map(|a| match &a.test {
                Test::Filter(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    fn error(input: &str) -> QueryError {
        match parse(input) {
            Err(e) => e,
            Ok(q) => panic!("{input:?} parsed to {q:?}"),
        }
    }

    #[test]
    fn free_words_are_separate_clauses_with_stems() {
        let q = parse("refunds chargeback").unwrap();
        assert_eq!(
            q.clauses,
            vec![
                Clause {
                    alternatives: vec![atom(false, Test::Term(term("refunds")))]
                },
                Clause {
                    alternatives: vec![atom(false, Test::Term(term("chargeback")))]
                },
            ]
        );
        assert_eq!(q.positive_terms()[0].stem, "refund");
        assert!(!q.natural_language);
    }

    #[test]
    fn or_joins_its_neighbours_into_one_clause() {
        let q = parse("refund OR chargeback fee").unwrap();
        assert_eq!(words(&q), [vec!["refund", "chargeback"], vec!["fee"]]);
        let q = parse("a1 OR b2 OR c3").unwrap();
        assert_eq!(words(&q), [vec!["a1", "b2", "c3"]]);
        // Lowercase "or" is a function word, not an operator.
        let q = parse("refund or chargeback").unwrap();
        assert_eq!(words(&q), [vec!["refund"], vec!["chargeback"]]);
        let q = parse("theme:billing OR -fee").unwrap();
        assert_eq!(q.clauses.len(), 1);
        assert_eq!(q.clauses[0].alternatives.len(), 2);
        assert!(q.clauses[0].alternatives[1].negated);
    }

    #[test]
    fn quoted_phrases_keep_every_word() {
        let q = parse("\"charged twice\" “on time” \"the\"").unwrap();
        assert_eq!(
            words(&q),
            [
                vec!["\"charged twice\""],
                vec!["\"on time\""],
                vec!["\"the\""]
            ]
        );
        let Test::Phrase(ts) = &q.clauses[0].alternatives[0].test else {
            panic!()
        };
        assert_eq!(ts[0].stem, "charg");
        // Hyphenated and dotted words are indexed as adjacent tokens, so they search as phrases.
        assert_eq!(words(&parse("e-mail").unwrap()), [vec!["\"e mail\""]]);
    }

    #[test]
    fn exclusions_negate_words_phrases_and_filters() {
        let q = parse("refund -fee -\"gift card\" -theme:billing").unwrap();
        assert_eq!(
            words(&q),
            [
                vec!["refund".to_string()],
                vec!["-fee".to_string()],
                vec!["-\"gift card\"".to_string()],
                vec![format!("-{:?}", Filter::Theme("billing".into()))],
            ]
        );
        // An excluded function word was typed on purpose: keep it.
        assert_eq!(
            words(&parse("refund -the").unwrap()),
            [vec!["refund"], vec!["-the"]]
        );
    }

    #[test]
    fn uppercase_not_excludes_like_a_minus() {
        assert_eq!(parse("refund NOT fee"), parse("refund -fee"));
        assert_eq!(
            parse("NOT \"gift card\" NOT theme:billing"),
            parse("-\"gift card\" -theme:billing")
        );
        assert_eq!(parse("fee OR NOT refund"), parse("fee OR -refund"));
        // Lowercase "not" is a function word.
        assert_eq!(parse("refund not fee"), parse("refund fee"));
        for (input, position) in [("refund NOT", 7), ("NOT OR fee", 0), ("NOT NOT fee", 0)] {
            let e = error(input);
            assert_eq!(
                (e.position, e.kind),
                (position, QueryErrorKind::NotWithoutWord),
                "{input}"
            );
        }
    }

    #[test]
    fn filters_read_their_values() {
        assert_eq!(
            filters(
                "theme:Billing tag:\"Late fees\" segment:Enterprise account:\"EQUIFAX, INC.\" source:CFPB"
            ),
            [
                Filter::Theme("billing".into()),
                Filter::Theme("late-fees".into()),
                Filter::Segment("enterprise".into()),
                Filter::Account("equifax-inc".into()),
                Filter::Source("cfpb".into()),
            ]
        );
        assert_eq!(
            filters("stage:onboarding kind:jtbd sentiment:negative Sentiment:POS"),
            [
                Filter::Stage(Stage::Onboarding),
                Filter::Kind(Kind::JobToBeDone),
                Filter::Sentiment(Sentiment::Negative),
                Filter::Sentiment(Sentiment::Positive),
            ]
        );
        assert_eq!(
            filters("account:“Experian Information”"),
            [Filter::Account("experian-information".into())]
        );
    }

    #[test]
    fn severity_conditions() {
        let cases = [
            ("4", Comparison::Eq, 4),
            ("=4", Comparison::Eq, 4),
            (">=4", Comparison::Ge, 4),
            (">4", Comparison::Gt, 4),
            ("<=2", Comparison::Le, 2),
            ("<2", Comparison::Lt, 2),
            ("<5", Comparison::Lt, 5),
        ];
        for (value, op, n) in cases {
            assert_eq!(
                filters(&format!("severity:{value}")),
                [Filter::Severity(op, n)],
                "{value}"
            );
        }
    }

    #[test]
    fn dates_and_durations() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            filters("since:30d until:2026-03-31"),
            [
                Filter::Since(DateBound::DaysAgo(30)),
                Filter::Until(DateBound::On(day(2026, 3, 31)))
            ]
        );
        assert_eq!(filters("since:2w"), [Filter::Since(DateBound::DaysAgo(14))]);
        assert_eq!(
            filters("since:6m"),
            [Filter::Since(DateBound::MonthsAgo(6))]
        );
        assert_eq!(
            filters("since:1y"),
            [Filter::Since(DateBound::MonthsAgo(12))]
        );
        assert_eq!(filters("since:0d"), [Filter::Since(DateBound::DaysAgo(0))]);
        assert_eq!(
            filters("since:2024-02-29"),
            [Filter::Since(DateBound::On(day(2024, 2, 29)))]
        );
        // The same range in the right order, and bounds whose order depends on today, pass.
        assert!(parse("since:60d until:30d").is_ok());
        assert!(parse("since:2026-01-01 until:2026-01-01").is_ok());
        assert!(parse("since:1y until:30d").is_ok());
        assert!(parse("since:2026-03-01 OR until:2026-01-01").is_ok());
        assert!(parse("-since:2026-03-01 until:2026-01-01").is_ok());
    }

    #[test]
    fn unknown_name_colon_word_is_text_unless_it_looks_like_a_typo() {
        assert_eq!(
            words(&parse("https://example.com/refund").unwrap()),
            [vec!["\"https example com refund\""]]
        );
        assert_eq!(
            words(&parse("re: refund").unwrap()),
            [vec!["re"], vec!["refund"]]
        );
        assert_eq!(
            words(&parse("time:5pm").unwrap()),
            [vec!["\"time 5pm\""]],
            "two edits from theme is not a typo of a four-letter word"
        );
    }

    #[test]
    fn function_words_are_dropped_unless_nothing_else_is_left() {
        assert_eq!(
            words(&parse("refund for the fee").unwrap()),
            [vec!["refund"], vec!["fee"]]
        );
        assert_eq!(
            words(&parse("the who").unwrap()),
            [vec!["the"], vec!["who"]]
        );
        assert_eq!(
            words(&parse("to be or not to be").unwrap()),
            [vec!["to"], vec!["be"], vec!["or"], vec!["not"]]
        );
        // Framing is searched for in keyword queries, dropped from questions.
        assert_eq!(
            words(&parse("customers refund").unwrap()),
            [vec!["customers"], vec!["refund"]]
        );
    }

    #[test]
    fn questions_in_natural_language_keep_only_what_they_are_about() {
        let q = parse("what are customers saying about identity theft on their credit report?")
            .unwrap();
        assert!(q.natural_language);
        assert_eq!(
            words(&q),
            [
                vec!["identity"],
                vec!["theft"],
                vec!["credit"],
                vec!["report"]
            ]
        );
        let q = parse("tell me about refunds").unwrap();
        assert!(q.natural_language);
        assert_eq!(words(&q), [vec!["refunds"]]);
        let q = parse("refunds?").unwrap();
        assert!(q.natural_language);
        let q = parse("complaints about the refund").unwrap();
        assert!(q.natural_language, "two function words");
        assert_eq!(words(&q), [vec!["refund"]]);
        let q = parse("what do people say about \"customer service\" theme:billing").unwrap();
        assert_eq!(words(&q)[0], ["\"customer service\""]);
        assert_eq!(q.clauses.len(), 2);
    }

    #[test]
    fn empty_and_all_framing_queries_match_everything() {
        for input in [
            "",
            "   ",
            "\t\n",
            "what are customers saying?",
            "!!! &&",
            "?",
        ] {
            assert_eq!(parse(input), Ok(Query::everything()), "{input:?}");
        }
    }

    #[test]
    fn repeated_conditions_are_kept_once() {
        let q = parse("refund refund Refunds theme:billing theme:Billing").unwrap();
        assert_eq!(
            q.clauses.len(),
            3,
            "refunds is another word with the same stem"
        );
    }

    #[test]
    fn unknown_filters_close_to_a_real_one_are_errors_with_a_suggestion() {
        let e = error("stge:onboarding");
        assert_eq!(e.position, 0);
        assert_eq!(e.suggestion().as_deref(), Some("stage:"));
        assert_eq!(
            e.to_string(),
            "column 1: unknown filter \"stge\" — did you mean \"stage:\"?"
        );
        let e = error("refund -sevrity:5");
        assert_eq!(e.position, 8);
        assert_eq!(e.suggestion().as_deref(), Some("severity:"));
        assert_eq!(
            error("Themee:billing").suggestion().as_deref(),
            Some("theme:")
        );
    }

    #[test]
    fn bad_vocabulary_values_suggest_the_nearest() {
        let e = error("stage:onbording");
        assert_eq!(e.position, 6);
        assert_eq!(e.suggestion().as_deref(), Some("onboarding"));
        assert_eq!(
            e.to_string(),
            "column 7: \"onbording\" is not a stage (did you mean \"onboarding\"?)"
        );
        assert!(matches!(
            error("kind:xyzzy").kind,
            QueryErrorKind::UnknownValue(_)
        ));
        assert!(error("sentiment:angry").to_string().contains("one of: neg"));
    }

    #[test]
    fn bad_severities() {
        for value in [
            "0",
            "6",
            "high",
            ">=",
            "=>4",
            "4.5",
            "44",
            "-1",
            "\"4 or 5\"",
        ] {
            let e = error(&format!("severity:{value}"));
            assert_eq!(e.position, 9, "{value}");
            assert!(
                matches!(e.kind, QueryErrorKind::BadSeverity(_)),
                "{value}: {e}"
            );
        }
        assert!(matches!(
            error("severity:>5").kind,
            QueryErrorKind::ImpossibleSeverity(_)
        ));
        assert!(matches!(
            error("severity:<1").kind,
            QueryErrorKind::ImpossibleSeverity(_)
        ));
    }

    #[test]
    fn bad_dates_and_durations() {
        for value in [
            "yesterday",
            "2026-02-30",
            "2026-1-1",
            "26-01-01",
            "+2026-01-01",
            "30",
            "d",
            "30x",
            "-30d",
            "3０d",
            "２0２6-01-01",
        ] {
            let e = error(&format!("since:{value}"));
            assert_eq!(e.position, 6, "{value}");
            assert!(
                matches!(e.kind, QueryErrorKind::BadDate { .. }),
                "{value}: {e}"
            );
        }
        for value in ["99999999999d", "700000000w", "400000000y"] {
            let e = error(&format!("until:{value}"));
            assert!(
                matches!(e.kind, QueryErrorKind::DurationTooLong { .. }),
                "{value}: {e}"
            );
        }
    }

    #[test]
    fn empty_filter_values() {
        for (input, position) in [
            ("theme:", 0),
            ("theme: refund", 0),
            ("account:\"\"", 0),
            ("source:\" \"", 0),
            ("segment:!!!", 8),
            ("tag:\"-\"", 4),
        ] {
            let e = error(input);
            assert_eq!(e.position, position, "{input}");
            assert!(
                matches!(e.kind, QueryErrorKind::EmptyValue { .. }),
                "{input}"
            );
        }
        assert_eq!(
            error("refund since:").to_string(),
            "column 8: filter \"since:\" needs a value, as in since:30d"
        );
    }

    #[test]
    fn quote_errors() {
        let e = error("refund \"charged twice");
        assert_eq!((e.position, e.kind), (7, QueryErrorKind::UnterminatedQuote));
        let e = error("account:\"EQUIFAX");
        assert_eq!((e.position, e.kind), (8, QueryErrorKind::UnterminatedQuote));
        let e = error("refund \"\"");
        assert_eq!((e.position, e.kind), (7, QueryErrorKind::EmptyPhrase));
        let e = error("refund -\" !! \"");
        assert_eq!((e.position, e.kind), (8, QueryErrorKind::EmptyPhrase));
    }

    #[test]
    fn or_errors() {
        for (input, position, kind) in [
            ("OR refund", 0, QueryErrorKind::OrWithoutLeft),
            ("refund OR", 7, QueryErrorKind::OrWithoutRight),
            ("refund OR OR fee", 10, QueryErrorKind::OrWithoutLeft),
            ("refund OR !!!", 7, QueryErrorKind::OrWithoutRight),
            ("OR", 0, QueryErrorKind::OrWithoutLeft),
        ] {
            let e = error(input);
            assert_eq!((e.position, e.kind), (position, kind), "{input}");
        }
    }

    #[test]
    fn lone_minus() {
        for (input, position) in [("-", 0), ("refund - fee", 7), ("refund -", 7)] {
            let e = error(input);
            assert_eq!(
                (e.position, e.kind),
                (position, QueryErrorKind::LoneMinus),
                "{input}"
            );
        }
        // Dashes glued to punctuation are punctuation.
        assert_eq!(
            words(&parse("refund -- fee").unwrap()),
            [vec!["refund"], vec!["fee"]]
        );
    }

    #[test]
    fn since_later_than_until() {
        let e = error("refund since:2026-03-01 until:2026-01-01");
        assert_eq!(e.position, 7);
        assert_eq!(
            e.to_string(),
            "column 8: since:2026-03-01 is later than until:2026-01-01, so nothing can match"
        );
        assert_eq!(error("until:30d since:7d").position, 10);
        assert!(matches!(
            error("since:1m until:2m").kind,
            QueryErrorKind::SinceAfterUntil { .. }
        ));
    }

    #[test]
    fn overlong_queries_are_refused_at_the_limit() {
        let input = "refund ".repeat(200);
        let e = error(&input);
        assert_eq!(e.position, MAX_QUERY_CHARS);
        assert_eq!(e.kind, QueryErrorKind::TooLong { chars: 1400 });
        // The limit counts characters, not bytes.
        let just_fits = "é".repeat(MAX_QUERY_CHARS);
        assert!(parse(&just_fits).is_ok());
        let huge = "x".repeat(5_000_000);
        assert!(matches!(error(&huge).kind, QueryErrorKind::TooLong { .. }));
    }

    #[test]
    fn hostile_input_is_just_text() {
        let q = parse("'; DROP TABLE insights; -- \u{0} \u{202E}evil").unwrap();
        assert_eq!(
            words(&q),
            [vec!["drop"], vec!["table"], vec!["insights"], vec!["evil"]]
        );
        // Stems never carry FTS or tsquery syntax.
        let q = parse("NEAR(refund) fee* ^title:x a&b|c!").unwrap();
        for term in q.positive_terms() {
            assert!(term.stem.chars().all(char::is_alphanumeric), "{term:?}");
        }
    }

    #[test]
    fn errors_show_a_caret_under_the_position() {
        let input = "refund stge:onboarding";
        let shown = error(input).display_with_input(input);
        assert_eq!(
            shown,
            "refund stge:onboarding\n       ^\ncolumn 8: unknown filter \"stge\" — did you mean \"stage:\"?"
        );
        // Tabs and newlines become spaces so the caret stays aligned.
        let input = "a\tb\nstge:x";
        let shown = error(input).display_with_input(input);
        assert!(shown.starts_with("a b stge:x\n    ^\n"), "{shown}");
        // Long input shows a window around the error.
        let input = format!("{} stge:x {}", "word ".repeat(90), "tail ".repeat(90));
        let shown = error(&input).display_with_input(&input);
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines[0].starts_with('…') && lines[0].ends_with('…'));
        let caret = lines[1].chars().count() - 1;
        assert_eq!(
            lines[0].chars().skip(caret).take(5).collect::<String>(),
            "stge:"
        );
    }

    /// Pieces of the grammar, glued at random, reach far more of the parser than random text.
    fn grammar_soup() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "refund",
            "OR",
            "NOT",
            "or",
            "-",
            "\"",
            "“",
            "”",
            "„",
            "theme:",
            "stge:",
            "stage:",
            "severity:",
            ">=",
            "5",
            "since:",
            "until:",
            "30d",
            "2026-01-01",
            "what",
            "the",
            "customers",
            "?",
            " ",
            " ",
            "\t",
            "é",
            "𝕀",
            "İ",
            "'s",
            "’",
            ":",
            "\u{0}",
            "e-mail",
            "account:\"",
            "x",
        ]);
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    fn check(input: &str) -> Result<(), TestCaseError> {
        let first = parse(input);
        prop_assert_eq!(&first, &parse(input), "deterministic");
        match first {
            Err(e) => {
                prop_assert!(e.position < input.chars().count(), "{e:?} in {input:?}");
                let shown = e.display_with_input(input);
                prop_assert!(shown.contains('^'));
            }
            Ok(q) => {
                for clause in &q.clauses {
                    prop_assert!(!clause.alternatives.is_empty());
                }
                for atom in q.atoms() {
                    if let Test::Phrase(ts) = &atom.test {
                        prop_assert!(!ts.is_empty());
                    }
                }
                for term in q.positive_terms() {
                    prop_assert!(!term.stem.is_empty());
                    prop_assert!(term.stem.chars().all(char::is_alphanumeric));
                }
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_points_inside_the_input(input in any::<String>()) {
            check(&input)?;
        }

        #[test]
        fn parse_handles_grammar_soup(input in grammar_soup()) {
            check(&input)?;
        }

        #[test]
        fn parse_handles_long_and_control_heavy_input(input in "[\\x00-\\x20a-z\"“-]{900,1200}") {
            check(&input)?;
        }
    }
}
