//! Email addresses: a local part as people really write it, `@`, and a domain name with a
//! top-level domain.

use std::ops::Range;

/// Characters of an address's local part as people really write them.
fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Every email address in `s`, in order, not overlapping.
pub(super) fn find_emails(s: &[u8]) -> Vec<Range<usize>> {
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
