//! Payment card numbers: 13 to 19 digits that pass the Luhn check, as one run or grouped the way
//! cards are printed and typed (`4111 1111 1111 1111`, `4111-1111-1111-1111`,
//! `4111.1111.1111.1111`, `3782 822463 10005`).

/// A payment card number starting at `i`: 13 to 19 digits that pass the Luhn check, either as
/// one run or grouped the way cards are printed (a first group of 4 digits, then groups of 3 to 6)
/// with one kind of separator throughout, a space, a hyphen or a dot. The longest valid prefix of
/// whole groups is taken, so a year written after a card does not hide it, and a phone number
/// written before one is not swallowed by it.
pub(super) fn card_at(s: &[u8], i: usize) -> Option<usize> {
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
        let separated = matches!(next, Some(b' ' | b'-' | b'.'))
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
pub(super) fn luhn(digits: &[u8]) -> bool {
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
