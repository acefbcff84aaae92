//! The characters of a command line, cleaned once, with a cursor that reads words and quoted
//! text from them while remembering where each character was in the input as typed.

/// Characters the parser drops: control characters other than whitespace, and the invisible
/// marks that reorder or hide text when it is shown (bidirectional embeddings, overrides,
/// isolates and marks, zero-width spaces, byte order marks). Kept, they would make a title or
/// a note display differently from what is stored, or make `12` typed after a mark not a
/// number. Joiners (U+200C, U+200D) stay: emoji and several scripts need them.
pub(super) fn is_dropped(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// The quotation marks that open and close quoted text; any of them closes any other, since
/// phones and chat clients turn `"` into curly quotes on their own.
const QUOTES: [char; 4] = ['"', '\u{201C}', '\u{201D}', '\u{201E}'];

/// Whether `c` opens or closes quoted text.
pub(super) fn is_quote(c: char) -> bool {
    QUOTES.contains(&c)
}

/// A range of [`Line`] characters, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
}

/// Why quoted text could not be read; each carries the index of the quote at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum QuoteError {
    /// The quote at this index is never closed.
    Unterminated(usize),
    /// The quote at this index closes the text but more text follows it directly.
    TextAfterClose(usize),
}

/// The input with dropped characters removed and every whitespace character turned into a
/// space, plus where each remaining character stood in the input.
#[derive(Debug)]
pub(super) struct Line {
    chars: Vec<char>,
    /// `origin[i]` is the input offset of `chars[i]`; one more entry for the end of input.
    origin: Vec<usize>,
}

impl Line {
    pub fn new(input: &str) -> Line {
        let mut chars = Vec::new();
        let mut origin = Vec::new();
        let mut count = 0;
        for (i, c) in input.chars().enumerate() {
            count = i + 1;
            if is_dropped(c) {
                continue;
            }
            chars.push(if c.is_whitespace() { ' ' } else { c });
            origin.push(i);
        }
        origin.push(count);
        Line { chars, origin }
    }

    /// Number of characters kept.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// The character at `at`, if any.
    pub fn get(&self, at: usize) -> Option<char> {
        self.chars.get(at).copied()
    }

    /// Where the character at `at` (or the end, past the last one) stood in the input.
    pub fn origin(&self, at: usize) -> usize {
        self.origin[at.min(self.chars.len())]
    }

    /// The characters of `span`.
    pub fn text(&self, span: Span) -> String {
        self.chars[span.start..span.end].iter().collect()
    }

    /// The characters of `span`, trimmed, each run of spaces made one.
    pub fn collapsed(&self, span: Span) -> String {
        self.text(span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The first index in `from..to` holding `c`.
    pub fn find(&self, from: usize, to: usize, c: impl Fn(char) -> bool) -> Option<usize> {
        (from..to.min(self.len())).find(|&i| c(self.chars[i]))
    }

    /// The text inside the quote at `open`, and the index after the closing quote. The
    /// closing quote must end a word: `"a"b` is refused rather than read two ways.
    pub fn quoted(&self, open: usize) -> Result<(Span, usize), QuoteError> {
        let close = self
            .find(open + 1, self.len(), is_quote)
            .ok_or(QuoteError::Unterminated(open))?;
        if self.get(close + 1).is_some_and(|c| c != ' ') {
            return Err(QuoteError::TextAfterClose(close));
        }
        Ok((
            Span {
                start: open + 1,
                end: close,
            },
            close + 1,
        ))
    }
}

/// Reads a [`Line`] from left to right.
#[derive(Debug, Clone)]
pub(super) struct Cursor<'a> {
    pub line: &'a Line,
    /// Index of the next character to read.
    pub at: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(line: &'a Line) -> Cursor<'a> {
        Cursor { line, at: 0 }
    }

    /// Moves past spaces.
    pub fn skip_spaces(&mut self) {
        while self.line.get(self.at) == Some(' ') {
            self.at += 1;
        }
    }

    /// Whether only spaces are left.
    pub fn at_end(&mut self) -> bool {
        self.skip_spaces();
        self.at >= self.line.len()
    }

    /// The next run of non-space characters.
    pub fn word(&mut self) -> Option<Span> {
        if self.at_end() {
            return None;
        }
        let start = self.at;
        let end = self
            .line
            .find(start, self.line.len(), |c| c == ' ')
            .unwrap_or(self.line.len());
        self.at = end;
        Some(Span { start, end })
    }

    /// The next word without moving past it.
    pub fn peek_word(&self) -> Option<Span> {
        self.clone().word()
    }

    /// Everything left, without the spaces around it; `None` when nothing is.
    pub fn rest(&mut self) -> Option<Span> {
        if self.at_end() {
            return None;
        }
        let start = self.at;
        let mut end = self.line.len();
        while end > start && self.line.get(end - 1) == Some(' ') {
            end -= 1;
        }
        self.at = self.line.len();
        Some(Span { start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_characters_keep_their_input_offsets() {
        let line = Line::new("a\u{202E}b\u{0}\tc");
        assert_eq!(line.text(Span { start: 0, end: 4 }), "ab c");
        assert_eq!(
            (0..=4).map(|i| line.origin(i)).collect::<Vec<_>>(),
            [0, 2, 4, 5, 6]
        );
    }

    #[test]
    fn cursor_reads_words_and_the_rest() {
        let line = Line::new("  ask   refund  fee  ");
        let mut cursor = Cursor::new(&line);
        let word = cursor.word().unwrap();
        assert_eq!(line.text(word), "ask");
        assert_eq!(line.text(cursor.peek_word().unwrap()), "refund");
        let rest = cursor.rest().unwrap();
        assert_eq!(line.text(rest), "refund  fee");
        assert_eq!(line.collapsed(rest), "refund fee");
        assert!(cursor.at_end());
        assert_eq!(cursor.word(), None);
    }

    #[test]
    fn quoted_text_ends_at_any_closing_quote() {
        let line = Line::new("“a b\" c");
        let (inner, next) = line.quoted(0).unwrap();
        assert_eq!((line.text(inner).as_str(), next), ("a b", 5));
        assert_eq!(
            Line::new("\"a b").quoted(0),
            Err(QuoteError::Unterminated(0))
        );
        assert_eq!(
            Line::new("\"a\"b").quoted(0),
            Err(QuoteError::TextAfterClose(2))
        );
    }
}
