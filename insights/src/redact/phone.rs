//! Phone numbers as people write them: North American (`(415) 555-0132`, `1-800-555-0199`),
//! international (`+44 20 7946 0958`, `0044 20 7946 0958`, `+447700900123`) and national with
//! the trunk prefix 0 (`(020) 7946 0958`, `07700 900123`, `01 23 45 67 89`).
//!
//! Each shape is anchored on what numbers that are not phones lack (a `+`, a `00` followed by a
//! country code, a leading trunk `0`, an area code in parentheses, the 3-3-4 North American
//! grouping) and on a digit count a dialled number has, so dates, amounts, versions and
//! references keep their digits.

use super::{digits_upto, ends_clean, exactly_digits};

/// Separators allowed between the digit groups of a phone number.
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.')
}

/// A phone number starting at the digit `s[i]`, which starts cleanly (not inside a word, an
/// amount or a longer number): international after `00`, national after a trunk `0`, else North
/// American.
pub(super) fn dialled_at(s: &[u8], i: usize) -> Option<usize> {
    if s[i] != b'0' {
        return north_american_at(s, i);
    }
    // `3704 0044 0532 0130`: a group of a longer number written in groups, not a number dialled.
    if i >= 2 && s[i - 1] == b' ' && s[i - 2].is_ascii_digit() {
        return None;
    }
    if s.get(i + 1) == Some(&b'0') {
        // `0044 20 7946 0958`: a country code of 1 to 3 digits, never starting with 0, set apart
        // from the rest. Run together (`0012345678901`) it is an account number as much as a
        // phone number, and the long-number rule takes it.
        let code = digits_upto(s, i, 5);
        let international = matches!(s.get(i + 2), Some(b'1'..=b'9'))
            && (3..=5).contains(&code)
            && s.get(i + code).is_some_and(|&b| is_separator(b));
        return international.then(|| international_at(s, i + 2)).flatten();
    }
    national_at(s, i)
}

/// A phone number starting with the `(` at `s[i]`: a North American area code (`(415) 555-0132`),
/// a national one with its trunk prefix (`(020) 7946 0958`) or a country code (`(+44) 20 7946
/// 0958`).
pub(super) fn parenthesized_at(s: &[u8], i: usize) -> Option<usize> {
    north_american_rest_at(s, i)
        .or_else(|| national_at(s, i))
        .or_else(|| country_code_at(s, i))
}

/// `(+44) 20 7946 0958`: a country code of 1 to 3 digits in parentheses, a space or hyphen,
/// then the rest of an international number of 8 digits or more.
fn country_code_at(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i + 1) != Some(&b'+') {
        return None;
    }
    let code = digits_upto(s, i + 2, 3);
    let close = i + 2 + code;
    let shaped = (1..=3).contains(&code)
        && s.get(close) == Some(&b')')
        && matches!(s.get(close + 1), Some(b' ' | b'-'));
    if shaped {
        international_at(s, close + 2)
    } else {
        None
    }
}

/// A North American number starting with a digit at `i`: `555-123-4567`, `555.123.4567`,
/// `555 123 4567`, `1-800-555-0199`, `1 (800) 555-0199`.
fn north_american_at(s: &[u8], i: usize) -> Option<usize> {
    if s[i] == b'1'
        && s.get(i + 1).is_some_and(|&b| is_separator(b))
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
        if !(exactly_digits(s, k, 3) && s.get(k + 3).is_some_and(|&b| is_separator(b))) {
            return None;
        }
        k += 4;
    }
    let shaped = exactly_digits(s, k, 3)
        && s.get(k + 3).is_some_and(|&b| is_separator(b))
        && exactly_digits(s, k + 4, 4);
    (shaped && ends_clean(s, k + 8)).then_some(k + 8)
}

/// An international number whose country code starts at `first` (just after `+` or `00`):
/// digit groups separated by single spaces, hyphens or dots, possibly one in parentheses
/// (`+44 (0)20 7946 0958`), 8 to 15 digits in all (the E.164 limit). The longest such prefix
/// is taken, ending on a whole group.
pub(super) fn international_at(s: &[u8], first: usize) -> Option<usize> {
    const MAX_DIGITS: usize = 15;
    let mut j = first;
    if !s.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut digits = 0;
    let mut best = None;
    loop {
        let group = if s.get(j) == Some(&b'(') {
            let inner = digits_upto(s, j + 1, 4);
            if !(1..=4).contains(&inner) || s.get(j + 1 + inner) != Some(&b')') {
                break;
            }
            j += inner + 2;
            inner
        } else {
            // Never read past what could still fit: a huge run of digits ends the number.
            let group = digits_upto(s, j, MAX_DIGITS - digits);
            if group == 0 || digits + group > MAX_DIGITS {
                break;
            }
            j += group;
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
            Some(&b) if is_separator(b) => {
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

/// A national number dialled with its trunk prefix, starting at the `0` or at the `(` before
/// it: an area code of 2 to 5 digits (`020`, `0161`, `07700`, `(02)`), then groups of 3 to 8
/// digits with one kind of separator (`020 7946 0958`, `07700 900123`, `030 12345678`,
/// `06-12345678`, and `030/12345678` after the area code), or the French pairs
/// `01 23 45 67 89`; 10 or 11 digits in all. Dates
/// (`01 03 2026`), times (`0900-1730`) and decimals (`0.5`) have too few digits or the wrong
/// groups.
fn national_at(s: &[u8], i: usize) -> Option<usize> {
    const DIGITS: std::ops::RangeInclusive<usize> = 10..=11;
    let parenthesized = s[i] == b'(';
    let trunk = if parenthesized { i + 1 } else { i };
    if s.get(trunk) != Some(&b'0') || !matches!(s.get(trunk + 1), Some(b'1'..=b'9')) {
        return None;
    }
    let first = digits_upto(s, trunk, 5);
    if !(2..=5).contains(&first) {
        return None;
    }
    let mut j = trunk + first;
    // Right after `(020)` an optional space or hyphen, which does not set the separator.
    let mut need_separator = true;
    if parenthesized {
        if s.get(j) != Some(&b')') {
            return None;
        }
        j += 1;
        if matches!(s.get(j), Some(b' ' | b'-')) {
            j += 1;
        }
        need_separator = false;
    }
    let mut digits = first;
    let mut separator = None;
    let mut pairs = first == 2;
    let mut long_groups = true;
    let mut best = None;
    loop {
        if need_separator {
            let next = s.get(j).copied();
            // `030/12345678`: a slash may set the area code apart, and nothing else.
            if next == Some(b'/') && digits == first && !parenthesized {
                j += 1;
            } else if next.is_some_and(is_separator)
                && separator.is_none_or(|sep| next == Some(sep))
            {
                separator = next;
                j += 1;
            } else {
                break;
            }
        }
        need_separator = true;
        let group = digits_upto(s, j, 8);
        if !(2..=8).contains(&group) || digits + group > *DIGITS.end() {
            break;
        }
        digits += group;
        j += group;
        pairs &= group == 2;
        long_groups &= group >= 3;
        if DIGITS.contains(&digits) && (pairs || long_groups) && ends_clean(s, j) {
            best = Some(j);
        }
    }
    best
}
