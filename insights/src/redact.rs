//! Personal data removed from customer text before anything is stored: email addresses, phone
//! numbers, payment card numbers and long digit runs (account, routing and social security
//! numbers). Everything else is left byte for byte as it was.
//!
//! The scanner is written by hand rather than with regular expressions: every candidate is
//! examined with a bounded look-ahead and the scan never steps back, so the work stays linear
//! whatever the text holds, and the context rules that keep dates, amounts, section numbers and
//! complaint ids intact are plain code that can be read.

use std::fmt;
use std::ops::{AddAssign, Range};

use crate::model::InsightData;

/// Which kinds of personal data to remove. Every kind is on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Redactor {
    /// Email addresses become `[email]`.
    pub emails: bool,
    /// North American and international (`+44 20 7946 0958`) phone numbers become `[phone]`.
    pub phones: bool,
    /// Card numbers (13 to 19 digits, grouped or not, that pass the Luhn check) become `[card]`.
    pub cards: bool,
    /// Runs of 9 or more digits and numbers shaped like `123-45-6789` become `[number]`.
    pub digit_runs: bool,
}

/// Redacted text and what was taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with each match replaced by its placeholder.
    pub text: String,
    /// How many matches of each kind were replaced.
    pub counts: RedactionCounts,
}

/// How many pieces of personal data of each kind were replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RedactionCounts {
    /// Email addresses.
    pub emails: usize,
    /// Phone numbers.
    pub phones: usize,
    /// Payment card numbers.
    pub cards: usize,
    /// Long digit runs and social security numbers.
    pub digit_runs: usize,
}

impl RedactionCounts {
    /// Every replacement, whatever its kind.
    pub fn total(&self) -> usize {
        self.emails + self.phones + self.cards + self.digit_runs
    }
}

impl AddAssign for RedactionCounts {
    fn add_assign(&mut self, other: Self) {
        self.emails += other.emails;
        self.phones += other.phones;
        self.cards += other.cards;
        self.digit_runs += other.digit_runs;
    }
}

/// `2 emails, 1 phone number`; `nothing` when no replacement was made.
impl fmt::Display for RedactionCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            (self.emails, "email", "emails"),
            (self.phones, "phone number", "phone numbers"),
            (self.cards, "card number", "card numbers"),
            (self.digit_runs, "long number", "long numbers"),
        ];
        let mut first = true;
        for (n, one, many) in parts {
            if n == 0 {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n} {}", if n == 1 { one } else { many })?;
        }
        if first {
            f.write_str("nothing")?;
        }
        Ok(())
    }
}

impl Default for Redactor {
    /// Everything on: forgetting to configure privacy must not leak personal data.
    fn default() -> Self {
        Redactor::all()
    }
}

/// What a match is, and so which placeholder replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Email,
    Phone,
    Card,
    Number,
}

impl Found {
    fn placeholder(self) -> &'static str {
        match self {
            Found::Email => "[email]",
            Found::Phone => "[phone]",
            Found::Card => "[card]",
            Found::Number => "[number]",
        }
    }
}

/// A match: a byte range of the text (always on ASCII boundaries) and its kind.
type Hit = (Range<usize>, Found);

impl Redactor {
    /// Removes every kind of personal data.
    pub const fn all() -> Self {
        Redactor {
            emails: true,
            phones: true,
            cards: true,
            digit_runs: true,
        }
    }

    /// Removes nothing.
    pub const fn none() -> Self {
        Redactor {
            emails: false,
            phones: false,
            cards: false,
            digit_runs: false,
        }
    }

    /// Replaces the personal data in `text` with placeholders and counts what it replaced.
    pub fn redact(&self, text: &str) -> Redacted {
        let bytes = text.as_bytes();
        let mut hits: Vec<Hit> = Vec::new();
        let emails = if self.emails {
            find_emails(bytes)
        } else {
            Vec::new()
        };
        // Numbers are looked for only between addresses, so the digits of `jo.555@x.com` are
        // part of one email and are not counted twice.
        let mut from = 0;
        for email in emails {
            self.find_numbers(bytes, from..email.start, &mut hits);
            from = email.end;
            hits.push((email, Found::Email));
        }
        self.find_numbers(bytes, from..bytes.len(), &mut hits);

        let mut counts = RedactionCounts::default();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (range, found) in hits {
            out.push_str(&text[copied..range.start]);
            out.push_str(found.placeholder());
            copied = range.end;
            match found {
                Found::Email => counts.emails += 1,
                Found::Phone => counts.phones += 1,
                Found::Card => counts.cards += 1,
                Found::Number => counts.digit_runs += 1,
            }
        }
        out.push_str(&text[copied..]);
        Redacted { text: out, counts }
    }

    /// Redacts the free text of an insight (its title and body) in place. Tags, segment and
    /// account name a theme or a company, not a person, and are left alone.
    pub fn redact_insight(&self, data: &mut InsightData) -> RedactionCounts {
        let title = self.redact(&data.title);
        let body = self.redact(&data.body);
        data.title = title.text;
        data.body = body.text;
        let mut counts = title.counts;
        counts += body.counts;
        counts
    }

    /// Finds phone numbers, cards and digit runs in `window` of `text`, appending them to `hits`
    /// in order. The window's edges count as the edges of the text.
    fn find_numbers(&self, text: &[u8], window: Range<usize>, hits: &mut Vec<Hit>) {
        if !(self.phones || self.cards || self.digit_runs) {
            return;
        }
        let offset = window.start;
        let s = &text[window];
        let mut i = 0;
        while i < s.len() {
            let b = s[i];
            if b.is_ascii_digit() {
                // `i` is always the first digit of a run: runs are skipped whole below.
                let run_end = digits_end(s, i);
                if let Some((end, found)) = self.number_at(s, i) {
                    hits.push((offset + i..offset + end, found));
                    i = end;
                    continue;
                }
                if self.digit_runs && run_end - i >= 9 {
                    hits.push((offset + i..offset + run_end, Found::Number));
                }
                i = run_end;
            } else if self.phones && (b == b'+' || b == b'(') && !after_word(s, i) {
                let end = if b == b'+' {
                    international_phone_at(s, i)
                } else {
                    north_american_rest_at(s, i)
                };
                match end {
                    Some(end) => {
                        hits.push((offset + i..offset + end, Found::Phone));
                        i = end;
                    }
                    None => i += 1,
                }
            } else {
                i += 1;
            }
        }
    }

    /// A card, phone number or social security number starting at the digit `s[i]`.
    fn number_at(&self, s: &[u8], i: usize) -> Option<(usize, Found)> {
        if !starts_clean(s, i) {
            return None;
        }
        if self.cards
            && let Some(end) = card_at(s, i)
        {
            return Some((end, Found::Card));
        }
        if self.phones
            && let Some(end) = north_american_at(s, i)
        {
            return Some((end, Found::Phone));
        }
        if self.digit_runs
            && let Some(end) = social_security_at(s, i)
        {
            return Some((end, Found::Number));
        }
        None
    }
}

/// Separators allowed between the digit groups of a phone number.
fn is_phone_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.')
}

/// The index just past the run of ASCII digits starting at `i`.
fn digits_end(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() && s[j].is_ascii_digit() {
        j += 1;
    }
    j
}

/// Whether exactly `n` digits start at `i` (no digit before `i + n` is missing, none follows).
fn exactly_digits(s: &[u8], i: usize, n: usize) -> bool {
    i + n <= s.len()
        && s[i..i + n].iter().all(u8::is_ascii_digit)
        && s.get(i + n).is_none_or(|b| !b.is_ascii_digit())
}

/// Whether `s[i]` is glued to a word before it (`x(555)`, `C++1`), so it cannot start a number.
fn after_word(s: &[u8], i: usize) -> bool {
    i > 0 && s[i - 1].is_ascii_alphanumeric()
}

/// Whether a phone, card or social security number may start at `i`: not inside a word, an
/// amount (`$555 123 4567`) or a longer number (`2023-555-...`, `1.2.3`).
fn starts_clean(s: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let before = s[i - 1];
    if before.is_ascii_alphanumeric() || before == b'$' || before == b'+' {
        return false;
    }
    !(matches!(before, b'-' | b'.' | b'/') && i >= 2 && s[i - 2].is_ascii_digit())
}

/// Whether a phone or social security number may end at `end`: not followed by more of a number.
fn ends_clean(s: &[u8], end: usize) -> bool {
    match s.get(end) {
        None => true,
        Some(b) if b.is_ascii_digit() => false,
        Some(b'-' | b'.' | b'/') => !s.get(end + 1).is_some_and(u8::is_ascii_digit),
        Some(_) => true,
    }
}

/// `123-45-6789` starting at `i`.
fn social_security_at(s: &[u8], i: usize) -> Option<usize> {
    let shaped = exactly_digits(s, i, 3)
        && s.get(i + 3) == Some(&b'-')
        && exactly_digits(s, i + 4, 2)
        && s.get(i + 6) == Some(&b'-')
        && exactly_digits(s, i + 7, 4);
    (shaped && ends_clean(s, i + 11)).then_some(i + 11)
}

/// A North American number starting with a digit at `i`: `555-123-4567`, `555.123.4567`,
/// `555 123 4567`, `1-800-555-0199`, `1 (800) 555-0199`.
fn north_american_at(s: &[u8], i: usize) -> Option<usize> {
    if s[i] == b'1'
        && s.get(i + 1).is_some_and(|&b| is_phone_separator(b))
        && let Some(end) = north_american_rest_at(s, i + 2)
    {
        return Some(end);
    }
    north_american_rest_at(s, i)
}

/// The ten digits of a North American number without its trunk prefix, starting at `j`: an
/// area code (`555` plus a separator, or `(555)` with an optional space or hyphen), then
/// `123-4567` with a space, hyphen or dot.
fn north_american_rest_at(s: &[u8], j: usize) -> Option<usize> {
    let mut k = j;
    if s.get(k) == Some(&b'(') {
        if !(exactly_digits(s, k + 1, 3) && s.get(k + 4) == Some(&b')')) {
            return None;
        }
        k += 5;
        if s.get(k).is_some_and(|&b| b == b' ' || b == b'-') {
            k += 1;
        }
    } else {
        if !(exactly_digits(s, k, 3) && s.get(k + 3).is_some_and(|&b| is_phone_separator(b))) {
            return None;
        }
        k += 4;
    }
    let shaped = exactly_digits(s, k, 3)
        && s.get(k + 3).is_some_and(|&b| is_phone_separator(b))
        && exactly_digits(s, k + 4, 4);
    (shaped && ends_clean(s, k + 8)).then_some(k + 8)
}

/// An international number starting with `+` at `i`: digit groups separated by single spaces,
/// hyphens or dots, possibly one in parentheses (`+44 (0)20 7946 0958`), 8 to 15 digits in
/// all (the E.164 limit). The longest such prefix is taken, ending on a whole group.
fn international_phone_at(s: &[u8], i: usize) -> Option<usize> {
    const MAX_DIGITS: usize = 15;
    let mut j = i + 1;
    if !s.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut digits = 0;
    let mut best = None;
    loop {
        let group = if s.get(j) == Some(&b'(') {
            let inner = digits_end(s, j + 1) - (j + 1);
            if !(1..=4).contains(&inner) || s.get(j + 1 + inner) != Some(&b')') {
                break;
            }
            j += inner + 2;
            inner
        } else {
            let end = digits_end(s, j);
            let group = end - j;
            if group == 0 || digits + group > MAX_DIGITS {
                break;
            }
            j = end;
            group
        };
        digits += group;
        if digits > MAX_DIGITS {
            break;
        }
        if digits >= 8 && s[j - 1] != b')' {
            best = Some(j);
        }
        let after_parens = s[j - 1] == b')';
        match s.get(j) {
            Some(&b) if is_phone_separator(b) => {
                if s.get(j + 1)
                    .is_some_and(|&c| c.is_ascii_digit() || c == b'(')
                {
                    j += 1;
                } else {
                    break;
                }
            }
            // `(0)20`: a bracketed trunk prefix runs straight into the next group.
            Some(b'(') => {}
            Some(b) if b.is_ascii_digit() && after_parens => {}
            _ => break,
        }
    }
    best
}

/// A payment card number starting at `i`: 13 to 19 digits that pass the Luhn check, either as
/// one run or grouped the way cards are printed (a first group of 4 digits, then groups of 3 to 6)
/// with one kind of separator throughout, a space or a hyphen. The longest valid prefix of whole
/// groups is taken, so a year written after a card does not hide it, and a phone number written
/// before one is not swallowed by it.
fn card_at(s: &[u8], i: usize) -> Option<usize> {
    const MAX_DIGITS: usize = 19;
    let mut digits = [0u8; MAX_DIGITS];
    let mut count = 0;
    let mut groups = 0;
    let mut separator = None;
    let mut best = None;
    let mut j = i;
    loop {
        let start = j;
        while j < s.len() && s[j].is_ascii_digit() {
            if count == MAX_DIGITS {
                return best;
            }
            digits[count] = s[j] - b'0';
            count += 1;
            j += 1;
        }
        groups += 1;
        let len = j - start;
        let grouped = if groups == 1 {
            len == 4
        } else {
            (3..=6).contains(&len)
        };
        if groups > 1 && !grouped {
            return best;
        }
        if (13..=MAX_DIGITS).contains(&count) && luhn(&digits[..count]) {
            best = Some(j);
        }
        let next = s.get(j).copied();
        let separated = matches!(next, Some(b' ' | b'-'))
            && separator.is_none_or(|sep| next == Some(sep))
            && s.get(j + 1).is_some_and(u8::is_ascii_digit);
        // A first run that is not four digits long can only be a card on its own.
        if !separated || !grouped {
            return best;
        }
        separator = next;
        j += 1;
    }
}

/// The Luhn checksum that every payment card number satisfies.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(n, &d)| {
            let d = u32::from(d);
            if n % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Characters of an address's local part as people really write them.
fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Every email address in `s`, in order, not overlapping.
fn find_emails(s: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    // The end of the last address: the next one's local part may not reach back into it.
    let mut floor = 0;
    for at in s
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| (b == b'@').then_some(i))
    {
        if at < floor {
            continue;
        }
        // Scanning stops at `@` both ways, so each byte is looked at a bounded number of times.
        let mut start = at;
        while start > floor && is_local(s[start - 1]) {
            start -= 1;
        }
        // A full stop before the address ends the previous sentence.
        while start < at && s[start] == b'.' {
            start += 1;
        }
        if start == at {
            continue;
        }
        let mut end = at + 1;
        while end < s.len() && is_domain(s[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(s[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if is_domain_name(&s[at + 1..end]) {
            found.push(start..end);
            floor = end;
        }
    }
    found
}

/// `example.co.uk`: two or more labels, none empty or edged with a hyphen, ending in a top-level
/// domain of two or more characters that starts with a letter.
fn is_domain_name(domain: &[u8]) -> bool {
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label.first() == Some(&b'-')
            || label.last() == Some(&b'-')
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last[0].is_ascii_alphabetic()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> String {
        Redactor::all().redact(text).text
    }

    fn only(redactor: Redactor, text: &str) -> Redacted {
        redactor.redact(text)
    }

    #[test]
    fn emails_with_realistic_local_parts_and_domains() {
        for (input, expected) in [
            ("jane.doe@example.com", "[email]"),
            (
                "write to jane.doe+billing@mail.example.co.uk.",
                "write to [email].",
            ),
            ("first_last-2@sub.domain.io, please", "[email], please"),
            ("(JOHN.SMITH@EXAMPLE.ORG)", "([email])"),
            ("mailto:ops%team@corp-mail.example.com", "mailto:[email]"),
            ("a@b.cd and c@d.ef", "[email] and [email]"),
            ("XXXX@XXXX.com", "[email]"),
            ("x@xn--bcher-kva.example", "[email]"),
            ("...lead@example.com", "...[email]"),
        ] {
            assert_eq!(all(input), expected, "input {input:?}");
        }
        let r = Redactor::all().redact("a@b.cd, c@d.ef");
        assert_eq!(r.counts.emails, 2);
        assert_eq!(r.counts.total(), 2);
    }

    #[test]
    fn things_with_an_at_sign_that_are_not_emails() {
        for input in [
            "@channel please look",
            "ping @jane.doe",
            "john@",
            "me@localhost",
            "a@b.c",
            "user@123.45.67.89",
            "two for 5 @ $3.00",
            "bad@-example.com",
            "bad@example-.com",
            "bad@exa..mple.com",
            "@@@@",
            "a@@b.com",
        ] {
            assert_eq!(all(input), input, "input {input:?}");
        }
    }

    #[test]
    fn north_american_phone_numbers() {
        for (input, expected) in [
            ("(555) 123-4567", "[phone]"),
            ("(555)123-4567", "[phone]"),
            ("call 555-123-4567 now", "call [phone] now"),
            ("555.123.4567", "[phone]"),
            ("555 123 4567", "[phone]"),
            ("+1 555 123 4567", "[phone]"),
            ("+1 (555) 123-4567", "[phone]"),
            ("+1-555-123-4567", "[phone]"),
            ("1-800-555-0199", "[phone]"),
            ("1 (800) 555-0199", "[phone]"),
            ("1.800.555.0199.", "[phone]."),
            ("555-123-4567x89", "[phone]x89"),
            ("Phone:555-123-4567;", "Phone:[phone];"),
            ("555-123-4567, 555-987-6543", "[phone], [phone]"),
        ] {
            assert_eq!(all(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn international_phone_numbers() {
        for (input, expected) in [
            ("+44 20 7946 0958", "[phone]"),
            ("+44 (0)20 7946 0958", "[phone]"),
            ("+49 30 123456", "[phone]"),
            ("ring +33 1 23 45 67 89.", "ring [phone]."),
            ("+442079460958", "[phone]"),
            ("+91-98765-43210 (mobile)", "[phone] (mobile)"),
        ] {
            assert_eq!(all(input), expected, "input {input:?}");
        }
        assert_eq!(Redactor::all().redact("+44 20 7946 0958").counts.phones, 1);
    }

    #[test]
    fn dates_amounts_times_and_ids_are_not_phone_numbers() {
        for input in [
            "2023-08-25",
            "08/25/2023",
            "XX/XX/2023",
            "XX/XX/23",
            "25.08.2023",
            "2023 08 25",
            "$1,234.56",
            "{$2000.00}",
            "$555 123 4567",
            "10:30",
            "12:30:45 on 2023-08-25",
            "in 2019 2020 and 2021",
            "ZIP 90210",
            "ZIP 90210-1234",
            "7 days, 30 days, 120+ days",
            "version 1.2.3",
            "build 10.0.19041.1234",
            "192.168.100.200",
            "4.625 %",
            "100%",
            "complaint 7523056",
            "15 U.S.C. 1681s-2(a)(1)(A)",
            "2 + 2 = 4",
            "+15%",
            "C++ 11",
            "score +3 -2",
            "555-1234",
            "12345678",
            "1-2-3-4",
            "2023-555-123-4567",
        ] {
            assert_eq!(all(input), input, "input {input:?}");
        }
    }

    #[test]
    fn card_numbers_that_pass_luhn() {
        for (input, expected) in [
            ("4111 1111 1111 1111", "[card]"),
            ("card 4111-1111-1111-1111 expired", "card [card] expired"),
            ("4111111111111111", "[card]"),
            ("amex 3782 822463 10005.", "amex [card]."),
            ("378282246310005", "[card]"),
            ("6304 0000 0000 0000 018", "[card]"),
            ("4111 1111 1111 1111 2023", "[card] 2023"),
            (
                "call 555-123-4567 4111 1111 1111 1111",
                "call [phone] [card]",
            ),
            ("6011-0009-9013-9424", "[card]"),
        ] {
            assert_eq!(all(input), expected, "input {input:?}");
        }
        assert_eq!(Redactor::all().redact("4111111111111111").counts.cards, 1);
    }

    #[test]
    fn numbers_that_fail_luhn_are_not_cards() {
        // Grouped: not a card, and no run reaches nine digits.
        assert_eq!(all("4111 1111 1111 1112"), "4111 1111 1111 1112");
        // Cards are printed with one kind of separator and a first group of four.
        assert_eq!(all("4111 1111-1111 1111"), "4111 1111-1111 1111");
        assert_eq!(all("41 1111 1111 1111 11"), "41 1111 1111 1111 11");
        // Ungrouped: not a card, but still a long number.
        let r = Redactor::all().redact("4111111111111112");
        assert_eq!(r.text, "[number]");
        assert_eq!((r.counts.cards, r.counts.digit_runs), (0, 1));
        // Too long to be a card, even when a prefix passes the check.
        assert_eq!(all("41111111111111111111111"), "[number]");
    }

    #[test]
    fn long_digit_runs_and_social_security_numbers() {
        for (input, expected) in [
            ("account 123456789", "account [number]"),
            (
                "routing 021000021, account 0012345678901",
                "routing [number], account [number]",
            ),
            ("ACCT000123456789", "ACCT[number]"),
            ("SSN 123-45-6789.", "SSN [number]."),
            ("ssn:123-45-6789", "ssn:[number]"),
            ("5551234567", "[number]"),
        ] {
            assert_eq!(all(input), expected, "input {input:?}");
        }
        for input in ["12345678", "123-45-67890", "1234-56-7890", "12-345-6789"] {
            assert_eq!(all(input), input, "input {input:?}");
        }
    }

    #[test]
    fn cfpb_narratives_keep_amounts_dates_masks_and_citations() {
        // Sentences from the CFPB sample: none holds personal data the CFPB did not mask.
        for sentence in [
            "On XX/XX/2023 I was alerted by my XXXX app that an open collections had been placed \
             on my credit report by Amsher XXXX Collections on behalf of XXXX for {$400.00}.",
            "Assessed value of the property was reduced from {$540000.00} in XXXX to \
             {$390000.00}.",
            "XXXX Credit Card with account # XXXX opened on XX/XX/XXXX and a balance of \
             {$2800.00}.",
            "In accordance with the Fair Credit Reporting Act 15 U.S.C. 1681s-2(a)(1)(A), \
             everything has to be 100 % accurate; claims of up to {$1000.00} per violation.",
            "XXXX XXXX XXXX XXXX, GA XXXX XX/XX/2015 XXXX XXXX Balance : {$0.00}",
            "I was shocked to discover that after 18 years, the account had earned approximately \
             4 % TOTAL - not 4 % annual yield.",
            "The check was for {$470.00} and was written on XX/XX/23 and per my statement cashed \
             XX/XX/23.",
            "The following inquiries appear on my account.\nXXXX XXXX XX/XX/XXXXXXXX XXXX",
            "my interest rate went from 4.625 to 5.35 within 7-10 days",
        ] {
            let r = Redactor::all().redact(sentence);
            assert_eq!(r.text, sentence);
            assert_eq!(r.counts, RedactionCounts::default());
        }
    }

    #[test]
    fn everything_else_is_left_byte_for_byte() {
        let text = "Café ☕ «naïve»\r\n\tXXXX — call 555-123-4567 ✓\u{0}end";
        assert_eq!(
            all(text),
            "Café ☕ «naïve»\r\n\tXXXX — call [phone] ✓\u{0}end"
        );
        assert_eq!(all(""), "");
        assert_eq!(all("日本語のテキスト"), "日本語のテキスト");
    }

    #[test]
    fn each_kind_can_be_switched_off() {
        let text = "jo@example.com 555-123-4567 4111 1111 1111 1111 123456789 123-45-6789";
        assert_eq!(only(Redactor::none(), text).text, text);
        assert_eq!(only(Redactor::none(), text).counts.total(), 0);

        let emails = Redactor {
            emails: true,
            ..Redactor::none()
        };
        assert_eq!(
            only(emails, text).text,
            "[email] 555-123-4567 4111 1111 1111 1111 123456789 123-45-6789"
        );
        let phones = Redactor {
            phones: true,
            ..Redactor::none()
        };
        assert_eq!(
            only(phones, text).text,
            "jo@example.com [phone] 4111 1111 1111 1111 123456789 123-45-6789"
        );
        let cards = Redactor {
            cards: true,
            ..Redactor::none()
        };
        assert_eq!(
            only(cards, text).text,
            "jo@example.com 555-123-4567 [card] 123456789 123-45-6789"
        );
        let runs = Redactor {
            digit_runs: true,
            ..Redactor::none()
        };
        let r = only(runs, text);
        assert_eq!(
            r.text,
            "jo@example.com 555-123-4567 4111 1111 1111 1111 [number] [number]"
        );
        assert_eq!(r.counts.digit_runs, 2);
        // A card's digits are still a long number when cards are not redacted as such.
        assert_eq!(only(runs, "4111111111111111").text, "[number]");
        let all = Redactor::all().redact(text);
        assert_eq!(all.text, "[email] [phone] [card] [number] [number]");
        assert_eq!(
            all.counts,
            RedactionCounts {
                emails: 1,
                phones: 1,
                cards: 1,
                digit_runs: 2
            }
        );
        assert_eq!(Redactor::default(), Redactor::all());
    }

    #[test]
    fn digits_inside_an_email_are_counted_once() {
        let r = Redactor::all().redact("jo.5551234567@example.com");
        assert_eq!(r.text, "[email]");
        assert_eq!(r.counts.total(), 1);
    }

    #[test]
    fn counts_add_up_and_read_well() {
        let mut total = RedactionCounts::default();
        assert_eq!(total.to_string(), "nothing");
        total += RedactionCounts {
            emails: 2,
            phones: 1,
            cards: 0,
            digit_runs: 0,
        };
        total += RedactionCounts {
            emails: 1,
            phones: 0,
            cards: 1,
            digit_runs: 3,
        };
        assert_eq!(total.total(), 8);
        assert_eq!(
            total.to_string(),
            "3 emails, 1 phone number, 1 card number, 3 long numbers"
        );
    }

    #[test]
    fn insight_title_and_body_are_redacted() {
        let mut data = InsightData {
            source: "support".into(),
            source_ref: "T-1".into(),
            title: "Call me on 555-123-4567".into(),
            body: "my email is jo@example.com and card 4111111111111111".into(),
            observed_on: chrono::NaiveDate::from_ymd_opt(2023, 8, 25).expect("valid date"),
            tags: vec!["billing".into()],
            segment: None,
            stage: None,
            kind: None,
            sentiment: crate::model::Sentiment::Neutral,
            severity: crate::model::Severity::DEFAULT,
            account: Some("jo@example.com".into()),
            url: None,
            visibility: crate::model::Visibility::All,
        };
        let counts = Redactor::all().redact_insight(&mut data);
        assert_eq!(data.title, "Call me on [phone]");
        assert_eq!(data.body, "my email is [email] and card [card]");
        assert_eq!(counts.total(), 3);
        assert_eq!(data.source_ref, "T-1");
    }

    #[test]
    fn hostile_input_is_handled_in_linear_time() {
        let n = 200_000;
        let digits = "7".repeat(n);
        let r = Redactor::all().redact(&digits);
        assert_eq!(r.text, "[number]");

        let ats = "@".repeat(n);
        assert_eq!(all(&ats), ats);

        let almost_emails = "a@b.".repeat(n / 4);
        assert_eq!(all(&almost_emails), almost_emails);

        let local_run = format!("{}@x", "a.".repeat(n));
        assert_eq!(all(&local_run), local_run);

        for unit in [
            "1 ", "12-", "+1 ", "(", "(555) ", "555-", "4111 ", "1-", "+(1)",
        ] {
            let text = unit.repeat(n / unit.len());
            let r = Redactor::all().redact(&text);
            assert!(r.text.len() <= text.len() + 8, "unit {unit:?}");
        }

        let many_phones = "555-123-4567 ".repeat(n / 13);
        let r = Redactor::all().redact(&many_phones);
        assert_eq!(r.counts.phones, n / 13);

        let many_emails = "jo@example.com ".repeat(n / 15);
        assert_eq!(Redactor::all().redact(&many_emails).counts.emails, n / 15);
    }

    #[test]
    fn a_large_realistic_text_keeps_its_length_but_for_replacements() {
        let paragraph = "On XX/XX/2023 I paid {$5300.00} with card 4111 1111 1111 1111; \
                         call me at (555) 123-4567 or write to jo@example.com.\n";
        let text = paragraph.repeat(20_000);
        let r = Redactor::all().redact(&text);
        assert_eq!(r.counts.cards, 20_000);
        assert_eq!(r.counts.phones, 20_000);
        assert_eq!(r.counts.emails, 20_000);
        assert_eq!(r.counts.digit_runs, 0);
        assert!(r.text.contains("{$5300.00}"));
        assert_eq!(r.text.matches("XX/XX/2023").count(), 20_000);
    }

    #[test]
    fn luhn_checks_known_numbers() {
        let d = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert!(luhn(&d("4111111111111111")));
        assert!(luhn(&d("378282246310005")));
        assert!(luhn(&d("79927398713")));
        assert!(!luhn(&d("79927398710")));
        assert!(!luhn(&d("4111111111111112")));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics_and_leaves_no_long_digit_run(
                text in "[0-9 ()+.@a-z\\-/$é\n]{0,200}"
            ) {
                let r = Redactor::all().redact(&text);
                let mut run = 0;
                for b in r.text.bytes() {
                    run = if b.is_ascii_digit() { run + 1 } else { 0 };
                    prop_assert!(run < 9, "{:?} -> {:?}", text, r.text);
                }
            }

            #[test]
            fn redacting_nothing_changes_nothing(text in any::<String>()) {
                let r = Redactor::none().redact(&text);
                prop_assert_eq!(r.text, text);
                prop_assert_eq!(r.counts.total(), 0);
            }

            #[test]
            fn only_placeholders_are_added(text in "[0-9 ()+.@a-zA-Z\\-\n]{0,120}") {
                let r = Redactor::all().redact(&text);
                let mut stripped = r.text.clone();
                for p in ["[email]", "[phone]", "[card]", "[number]"] {
                    stripped = stripped.replace(p, "");
                }
                // What is left is a subsequence of the input: nothing was invented.
                let mut input = text.chars();
                prop_assert!(stripped.chars().all(|c| input.any(|i| i == c)));
                prop_assert_eq!(
                    r.counts.total(),
                    r.text.matches('[').count() - text.matches('[').count()
                );
            }
        }
    }
}
