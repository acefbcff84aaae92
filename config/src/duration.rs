//! Durations as people write them in a config file: `24h`, `90m`, `2d`, `1h30m`.

use std::time::Duration;

/// Units, largest first (the order [`format`] uses).
const UNITS: [(&str, u64); 5] = [
    ("w", 7 * 86_400),
    ("d", 86_400),
    ("h", 3_600),
    ("m", 60),
    ("s", 1),
];

/// Parses one or more `<number><unit>` parts, units `w`, `d`, `h`, `m`, `s`.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let usage = "write a number and a unit: 90m, 24h, 2d (units w, d, h, m, s; combine as 1h30m)";
    if text.is_empty() {
        return Err(format!("it is empty; {usage}"));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("{text:?} is not a duration; {usage}"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?} is too long a duration"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        let Some((_, seconds)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(if unit.is_empty() {
                format!("{text:?} has no unit; {usage}")
            } else {
                format!("{text:?} has an unknown unit {unit:?}; {usage}")
            });
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(*seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    Ok(Duration::from_secs(total))
}

/// The shortest text that [`parse`] reads back as `duration` (whole seconds).
pub(crate) fn format(duration: Duration) -> String {
    let mut left = duration.as_secs();
    if left == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, seconds) in UNITS {
        if left >= seconds {
            out.push_str(&format!("{}{unit}", left / seconds));
            left %= seconds;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit_and_combination() {
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse("1h30m15s"), Ok(Duration::from_secs(5_415)));
        assert_eq!(parse(" 45s "), Ok(Duration::from_secs(45)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("24 h"), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("24").unwrap_err().contains("has no unit"));
        assert!(
            parse("24 hours")
                .unwrap_err()
                .contains("unknown unit \"hours\"")
        );
        assert!(
            parse("2days")
                .unwrap_err()
                .contains("unknown unit \"days\"")
        );
        assert!(parse("h").unwrap_err().contains("is not a duration"));
        assert!(parse("-1h").unwrap_err().contains("is not a duration"));
        assert!(
            parse("99999999999999999999h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse("9999999999999999w").unwrap_err().contains("too long"));
    }

    #[test]
    fn formatting_round_trips() {
        for secs in [0, 1, 59, 60, 5_400, 86_400, 90_061, 604_800, 1_000_000] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse(&format(d)), Ok(d), "{}", format(d));
        }
        assert_eq!(format(Duration::from_secs(5_400)), "1h30m");
        assert_eq!(format(Duration::from_secs(86_400)), "1d");
    }
}
