//! International bank account numbers (ISO 13616): a country code, two check digits and the
//! national account number, as one run (`DE89370400440532013000`) or in groups
//! (`GB82 WEST 1234 5698 7654 32`). A candidate must have its country's exact length and pass
//! the mod-97 check, so words and codes that merely start with two letters and two digits
//! (`ISO 9001`, `SW1A 1AA`, `EN 1090-2`) are left alone.

/// Each IBAN country's code and the length of its IBANs, from the SWIFT IBAN registry, sorted by
/// code.
const LENGTHS: [(&[u8; 2], usize); 89] = [
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The longest IBAN of any country.
const MAX_LEN: usize = 34;

/// The length of an IBAN of `country` (upper case), if it has IBANs.
fn length_of(country: [u8; 2]) -> Option<usize> {
    LENGTHS
        .binary_search_by(|(code, _)| code.as_slice().cmp(country.as_slice()))
        .ok()
        .map(|n| LENGTHS[n].1)
}

/// An IBAN starting at the letter `s[i]`, which is not glued to a word before it, as the end of
/// it. Letters may be of either case. The characters come in groups of letters and digits
/// separated by one kind of separator, a single space or hyphen (`GB82 WEST 1234 5698 7654 32`,
/// `DE89 37040044 0532013000`), and must end on a group's end exactly at the country's length.
pub(super) fn iban_at(s: &[u8], i: usize) -> Option<usize> {
    let head = s.get(i..i + 4)?;
    if !(head[0].is_ascii_alphabetic()
        && head[1].is_ascii_alphabetic()
        && head[2].is_ascii_digit()
        && head[3].is_ascii_digit())
    {
        return None;
    }
    let length = length_of([head[0].to_ascii_uppercase(), head[1].to_ascii_uppercase()])?;
    let mut chars = [0u8; MAX_LEN];
    let mut count = 0;
    let mut separator = None;
    let mut j = i;
    loop {
        while j < s.len() && s[j].is_ascii_alphanumeric() {
            if count == length {
                // The run goes on past the country's length: a longer code, not an IBAN.
                return None;
            }
            chars[count] = s[j].to_ascii_uppercase();
            count += 1;
            j += 1;
        }
        if count == length {
            break;
        }
        let next = s.get(j).copied();
        let separated = matches!(next, Some(b' ' | b'-'))
            && separator.is_none_or(|sep| next == Some(sep))
            && s.get(j + 1).is_some_and(u8::is_ascii_alphanumeric);
        if !separated {
            return None;
        }
        separator = next;
        j += 1;
    }
    mod97(&chars[..count]).then_some(j)
}

/// ISO 7064 MOD 97-10 as IBANs use it: the first four characters moved to the end, letters
/// read as 10 to 35, and the whole read as a number must leave 1 when divided by 97.
fn mod97(iban: &[u8]) -> bool {
    let (head, rest) = iban.split_at(4);
    let mut remainder = 0u32;
    for &c in rest.iter().chain(head) {
        remainder = if c.is_ascii_digit() {
            (remainder * 10 + u32::from(c - b'0')) % 97
        } else {
            (remainder * 100 + u32::from(c - b'A') + 10) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_country_table_is_sorted_and_within_bounds() {
        assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(LENGTHS.iter().all(|(_, n)| (15..=MAX_LEN).contains(n)));
        assert_eq!(length_of(*b"GB"), Some(22));
        assert_eq!(length_of(*b"NO"), Some(15));
        assert_eq!(length_of(*b"US"), None);
    }

    #[test]
    fn the_checksum_accepts_registry_examples_and_refuses_typos() {
        assert!(mod97(b"GB82WEST12345698765432"));
        assert!(mod97(b"DE89370400440532013000"));
        assert!(!mod97(b"GB82WEST12345698765433"));
        assert!(!mod97(b"GB28WEST12345698765432"));
    }

    #[test]
    fn groups_end_exactly_at_the_countrys_length() {
        let at = |text: &str| iban_at(text.as_bytes(), 0);
        assert_eq!(at("GB82 WEST 1234 5698 7654 32 paid"), Some(27));
        assert_eq!(at("DE89370400440532013000."), Some(22));
        assert_eq!(at("DE89 37040044 0532013000"), Some(24));
        assert_eq!(at("de89-3704-0044-0532-0130-00"), Some(27));
        // Glued to more characters, or separated two ways: not an IBAN.
        assert_eq!(at("DE89370400440532013000X"), None);
        assert_eq!(at("DE89 3704-0044 0532 0130 00"), None);
        assert_eq!(at("DE89 3704 0044 0532 0130"), None);
        assert_eq!(at("GB82"), None);
    }
}
