//! Personal data removed from customer text before anything is stored: email addresses, phone
//! numbers, payment card numbers, IBANs and long digit runs (account, routing and social security
//! numbers). Everything else is left byte for byte as it was.
//!
//! The scanner is written by hand rather than with regular expressions: every candidate is
//! examined with a look-ahead of a few dozen bytes at most and the scan never steps back, so the
//! work stays linear whatever the text holds, and the context rules that keep dates, amounts,
//! versions, section numbers and complaint ids intact are plain code that can be read. Each kind
//! has a module of its own (`email`, `phone`, `card`, `iban`); the scan that walks the text and
//! the long numbers are here. A labelled set of texts (`labelled.tsv`) measures recall and
//! precision.

mod card;
mod email;
mod iban;
#[cfg(test)]
mod labelled;
mod phone;

use std::fmt;
use std::ops::{AddAssign, Range};

use crate::model::InsightData;

/// Which kinds of personal data to remove. Every kind is on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Redactor {
    /// Email addresses become `[email]`.
    pub emails: bool,
    /// North American (`(415) 555-0132`), international (`+44 20 7946 0958`, `0044 20 7946
    /// 0958`) and national (`020 7946 0958`, `07700 900123`) phone numbers become `[phone]`.
    pub phones: bool,
    /// Card numbers (13 to 19 digits, grouped or not, that pass the Luhn check) become `[card]`.
    pub cards: bool,
    /// International bank account numbers (`GB82 WEST 1234 5698 7654 32`) with the length of
    /// their country and a valid mod-97 checksum become `[iban]`.
    pub ibans: bool,
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
    /// International bank account numbers.
    pub ibans: usize,
    /// Long digit runs and social security numbers.
    pub digit_runs: usize,
}

impl RedactionCounts {
    /// Every replacement, whatever its kind.
    pub fn total(&self) -> usize {
        self.emails + self.phones + self.cards + self.ibans + self.digit_runs
    }
}

impl AddAssign for RedactionCounts {
    fn add_assign(&mut self, other: Self) {
        self.emails += other.emails;
        self.phones += other.phones;
        self.cards += other.cards;
        self.ibans += other.ibans;
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
            (self.ibans, "IBAN", "IBANs"),
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
    Iban,
    Number,
}

impl Found {
    fn placeholder(self) -> &'static str {
        match self {
            Found::Email => "[email]",
            Found::Phone => "[phone]",
            Found::Card => "[card]",
            Found::Iban => "[iban]",
            Found::Number => "[number]",
        }
    }
}

/// A match: a byte range of the text (always on ASCII boundaries) and its kind.
type Hit = (Range<usize>, Found);

/// `text` with each hit replaced by its placeholder, and the hits counted.
fn replace_hits(text: &str, hits: Vec<Hit>) -> Redacted {
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
            Found::Iban => counts.ibans += 1,
            Found::Number => counts.digit_runs += 1,
        }
    }
    out.push_str(&text[copied..]);
    Redacted { text: out, counts }
}

impl Redactor {
    /// Removes every kind of personal data.
    pub const fn all() -> Self {
        Redactor {
            emails: true,
            phones: true,
            cards: true,
            ibans: true,
            digit_runs: true,
        }
    }

    /// Removes nothing.
    pub const fn none() -> Self {
        Redactor {
            emails: false,
            phones: false,
            cards: false,
            ibans: false,
            digit_runs: false,
        }
    }

    /// Replaces the personal data in `text` with placeholders and counts what it replaced.
    pub fn redact(&self, text: &str) -> Redacted {
        replace_hits(text, self.hits(text))
    }

    /// What [`Redactor::redact`] replaces in `text`, in order.
    fn hits(&self, text: &str) -> Vec<Hit> {
        let bytes = text.as_bytes();
        let mut hits: Vec<Hit> = Vec::new();
        let emails = if self.emails {
            email::find_emails(bytes)
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
        hits
    }

    /// Redacts every field of an insight a person wrote, in place: its title, body, account,
    /// tags and segment. A customer's email typed as the account, or a phone number pasted into
    /// a tag, is as personal as one in the body. The source, its reference and the link are
    /// identifiers of the record, not of a person, and must stay as they are for re-imports to
    /// find it again.
    pub fn redact_insight(&self, data: &mut InsightData) -> RedactionCounts {
        let mut counts = RedactionCounts::default();
        let mut redact = |text: &mut String| {
            // Most text holds nothing personal: left as it is, not copied.
            let hits = self.hits(text);
            if !hits.is_empty() {
                let redacted = replace_hits(text, hits);
                counts += redacted.counts;
                *text = redacted.text;
            }
        };
        redact(&mut data.title);
        redact(&mut data.body);
        if let Some(account) = data.account.as_mut() {
            redact(account);
        }
        if let Some(segment) = data.segment.as_mut() {
            redact(segment);
        }
        for tag in &mut data.tags {
            redact(tag);
        }
        counts
    }

    /// Finds phone numbers, cards, IBANs and digit runs in `window` of `text`, appending them to
    /// `hits` in order. The window's edges count as the edges of the text.
    fn find_numbers(&self, text: &[u8], window: Range<usize>, hits: &mut Vec<Hit>) {
        if !(self.phones || self.cards || self.ibans || self.digit_runs) {
            return;
        }
        let offset = window.start;
        let s = &text[window];
        // Every number looked for holds an ASCII digit (an IBAN its check digits).
        if !s.iter().any(u8::is_ascii_digit) {
            return;
        }
        let mut i = 0;
        while i < s.len() {
            let b = s[i];
            // A record's UUID is an identifier, not a person's: its digits are not a number.
            if b.is_ascii_hexdigit()
                && !after_word(s, i)
                && let Some(end) = uuid_at(s, i)
            {
                i = end;
                continue;
            }
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
            } else if self.ibans
                && b.is_ascii_alphabetic()
                && !after_word(s, i)
                && let Some(end) = iban::iban_at(s, i)
            {
                hits.push((offset + i..offset + end, Found::Iban));
                i = end;
            } else if self.phones && (b == b'+' || b == b'(') && !after_word(s, i) {
                let end = if b == b'+' {
                    phone::international_at(s, i + 1)
                } else {
                    phone::parenthesized_at(s, i)
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
            && let Some(end) = card::card_at(s, i)
        {
            return Some((end, Found::Card));
        }
        if self.phones
            && let Some(end) = phone::dialled_at(s, i)
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

/// The index just past the run of ASCII digits starting at `i`.
fn digits_end(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() && s[j].is_ascii_digit() {
        j += 1;
    }
    j
}

/// The length of the run of ASCII digits starting at `i`, counted up to `max + 1` at most: a
/// look-ahead never reads further than the longest group it could accept.
fn digits_upto(s: &[u8], i: usize, max: usize) -> usize {
    s.get(i..)
        .unwrap_or_default()
        .iter()
        .take(max + 1)
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// Whether exactly `n` digits start at `i` (no digit before `i + n` is missing, none follows).
fn exactly_digits(s: &[u8], i: usize, n: usize) -> bool {
    digits_upto(s, i, n) == n
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

/// A UUID (`123e4567-e89b-12d3-a456-426614174000`, either case) starting at `i` and not glued
/// to more of a word, as the end of it.
fn uuid_at(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    for (n, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if n > 0 {
            if s.get(j) != Some(&b'-') {
                return None;
            }
            j += 1;
        }
        let group = s.get(j..j + len)?;
        if !group.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        j += len;
    }
    (!s.get(j)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some(j)
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
        let iban = "pay DE89370400440532013000 now";
        let ibans = Redactor {
            ibans: true,
            ..Redactor::none()
        };
        assert_eq!(only(ibans, iban).text, "pay [iban] now");
        assert_eq!(only(ibans, text).text, text);
        // Without IBANs, the account number inside one is still a long number.
        let no_ibans = Redactor {
            ibans: false,
            ..Redactor::all()
        };
        assert_eq!(only(no_ibans, iban).text, "pay DE[number] now");
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
                ibans: 0,
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
            ibans: 0,
            digit_runs: 0,
        };
        total += RedactionCounts {
            emails: 1,
            phones: 0,
            cards: 1,
            ibans: 2,
            digit_runs: 3,
        };
        assert_eq!(total.total(), 10);
        assert_eq!(
            total.to_string(),
            "3 emails, 1 phone number, 1 card number, 2 IBANs, 3 long numbers"
        );
        let one = RedactionCounts {
            ibans: 1,
            ..RedactionCounts::default()
        };
        assert_eq!(one.to_string(), "1 IBAN");
    }

    fn insight(title: &str, body: &str) -> InsightData {
        InsightData {
            source: "support".into(),
            source_ref: "T-1".into(),
            title: title.into(),
            body: body.into(),
            observed_on: chrono::NaiveDate::from_ymd_opt(2023, 8, 25).expect("valid date"),
            tags: Vec::new(),
            segment: None,
            stage: None,
            kind: None,
            sentiment: crate::model::Sentiment::Neutral,
            severity: crate::model::Severity::DEFAULT,
            account: None,
            url: None,
            visibility: crate::model::Visibility::All,
        }
    }

    #[test]
    fn every_field_of_an_insight_a_person_wrote_is_redacted() {
        let mut data = insight(
            "Call me on 555-123-4567",
            "my email is jo@example.com and card 4111111111111111",
        );
        data.account = Some("jo@example.com".into());
        data.tags = vec![
            "billing".into(),
            "+44 20 7946 0958".into(),
            "refund to GB82 WEST 1234 5698 7654 32".into(),
        ];
        data.segment = Some("enterprise (ask 020 7946 0958)".into());
        data.url = Some("https://support.example.com/tickets/123456789".into());
        let counts = Redactor::all().redact_insight(&mut data);
        assert_eq!(data.title, "Call me on [phone]");
        assert_eq!(data.body, "my email is [email] and card [card]");
        assert_eq!(data.account.as_deref(), Some("[email]"));
        assert_eq!(data.tags, ["billing", "[phone]", "refund to [iban]"]);
        assert_eq!(data.segment.as_deref(), Some("enterprise (ask [phone])"));
        assert_eq!(
            counts,
            RedactionCounts {
                emails: 2,
                phones: 3,
                cards: 1,
                ibans: 1,
                digit_runs: 0
            }
        );
        // The record's identity and its link back to the source are not a person's words.
        assert_eq!(
            (data.source.as_str(), data.source_ref.as_str()),
            ("support", "T-1")
        );
        assert_eq!(
            data.url.as_deref(),
            Some("https://support.example.com/tickets/123456789")
        );
    }

    #[test]
    fn an_insight_without_personal_data_is_left_as_it_was() {
        let mut data = insight(
            "Refund took 14 days",
            "Order #A-10293 on 2026-03-01, $1,234.56",
        );
        data.account = Some("Acme Corp".into());
        data.tags = vec!["refunds".into(), "q1-2026".into()];
        data.segment = Some("enterprise".into());
        let before = data.clone();
        assert_eq!(Redactor::all().redact_insight(&mut data).total(), 0);
        assert_eq!(data, before);
        let mut none = insight("jo@example.com", "555-123-4567");
        none.account = Some("jo@example.com".into());
        let before = none.clone();
        assert_eq!(Redactor::none().redact_insight(&mut none).total(), 0);
        assert_eq!(none, before);
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

    /// Whether a run of 9 or more digits is left in `text`.
    fn has_long_digit_run(text: &str) -> bool {
        let mut run = 0;
        text.bytes().any(|b| {
            run = if b.is_ascii_digit() { run + 1 } else { 0 };
            run >= 9
        })
    }

    #[test]
    fn a_megabyte_of_digits_and_separators_is_scanned_in_one_pass() {
        // Every look-ahead reads a bounded number of bytes and the scan never steps back, so a
        // megabyte built to keep every rule guessing costs the same as any other megabyte.
        const SIZE: usize = 1 << 20;
        let alphabet = b"0123456789 -./()+GBDEX@";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let random: String = (0..SIZE)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(alphabet[(state % alphabet.len() as u64) as usize])
            })
            .collect();
        let r = Redactor::all().redact(&random);
        assert!(!has_long_digit_run(&r.text));
        assert!(r.counts.total() > 0);

        for unit in [
            "0",
            "00 ",
            "0044 ",
            "(0",
            "(020) ",
            "(+4",
            "+44 (0)",
            "+1 ",
            "4111 ",
            "4111.",
            "GB82 ",
            "DE89",
            "0 ",
            "01 ",
            "1-",
            "123e4567-",
            "555-",
        ] {
            let text = unit.repeat(SIZE / 8 / unit.len());
            let r = Redactor::all().redact(&text);
            assert!(!has_long_digit_run(&r.text), "unit {unit:?}");
            assert!(r.text.len() <= text.len() + 8, "unit {unit:?}");
        }
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
        assert!(card::luhn(&d("4111111111111111")));
        assert!(card::luhn(&d("378282246310005")));
        assert!(card::luhn(&d("79927398713")));
        assert!(!card::luhn(&d("79927398710")));
        assert!(!card::luhn(&d("4111111111111112")));
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
                for p in ["[email]", "[phone]", "[card]", "[iban]", "[number]"] {
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
