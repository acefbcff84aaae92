//! Whether a request really comes from Slack: the `X-Slack-Signature` header is `v0=` and the
//! hex HMAC-SHA256, keyed with the app's signing secret, of `v0:{timestamp}:{body}`, where the
//! timestamp is the `X-Slack-Request-Timestamp` header. A request whose timestamp is more than
//! five minutes from now is refused even when its signature is right, so a captured request
//! cannot be replayed later.
//!
//! `now` is passed in (from a [`Clock`](crate::clock::Clock)), so the window is tested without
//! waiting.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use flywheel_config::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The header that carries the request's timestamp (seconds since the Unix epoch).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// How far the request's timestamp may be from now, either way, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 5 * 60;

const VERSION_PREFIX: &str = "v0=";
/// A SHA-256 digest in hex.
const SIGNATURE_HEX_LEN: usize = 64;

/// Why a request was refused. Every variant answers 401 to Slack; the variants differ only in
/// what the log says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required header is absent.
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// A header is present but not in Slack's format.
    #[error("the {header} header is malformed: {reason}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The timestamp is more than five minutes away from now: a replay or a badly set clock.
    #[error(
        "the request timestamp {timestamp} is {skew_secs} s away from now (at most {MAX_CLOCK_SKEW_SECS} s allowed)"
    )]
    StaleTimestamp {
        /// The timestamp the request carried.
        timestamp: i64,
        /// How far it is from now, in seconds.
        skew_secs: i64,
    },
    /// The signature does not match the body: a wrong signing secret, or a forged or altered request.
    #[error("the request signature does not match")]
    BadSignature,
}

/// Checks Slack request signatures with one signing secret.
#[derive(Debug, Clone)]
pub struct SlackVerifier {
    signing_secret: Secret,
}

impl SlackVerifier {
    /// A verifier for the app whose signing secret is `signing_secret`.
    pub fn new(signing_secret: Secret) -> SlackVerifier {
        SlackVerifier { signing_secret }
    }

    /// Checks a request from its headers and its raw body (exactly the bytes received).
    pub fn verify_headers(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), VerifyError> {
        let header = |name: &'static str| -> Result<Option<&str>, VerifyError> {
            match headers.get(name) {
                None => Ok(None),
                Some(value) => value
                    .to_str()
                    .map(Some)
                    .map_err(|_| VerifyError::Malformed {
                        header: name,
                        reason: "it is not visible ASCII",
                    }),
            }
        };
        self.verify(
            header(TIMESTAMP_HEADER)?,
            header(SIGNATURE_HEADER)?,
            body,
            now,
        )
    }

    /// Checks a request from the values of its timestamp and signature headers and its raw body.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), VerifyError> {
        let timestamp = timestamp.ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))?;
        let signature = signature.ok_or(VerifyError::MissingHeader(SIGNATURE_HEADER))?;

        let ts = timestamp.trim();
        if ts.is_empty() || ts.len() > 12 || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VerifyError::Malformed {
                header: TIMESTAMP_HEADER,
                reason: "it is not a number of seconds",
            });
        }
        let seconds: i64 = ts.parse().map_err(|_| VerifyError::Malformed {
            header: TIMESTAMP_HEADER,
            reason: "it is not a number of seconds",
        })?;

        let hex_part =
            signature
                .trim()
                .strip_prefix(VERSION_PREFIX)
                .ok_or(VerifyError::Malformed {
                    header: SIGNATURE_HEADER,
                    reason: "it does not start with v0=",
                })?;
        if hex_part.len() != SIGNATURE_HEX_LEN {
            return Err(VerifyError::Malformed {
                header: SIGNATURE_HEADER,
                reason: "it is not 64 hex digits after v0=",
            });
        }
        let given = hex::decode(hex_part).map_err(|_| VerifyError::Malformed {
            header: SIGNATURE_HEADER,
            reason: "it is not 64 hex digits after v0=",
        })?;

        // The window is checked before the signature so a replayed request is reported as
        // stale, and after parsing so a garbled header is reported as malformed.
        let skew_secs = (now.timestamp() - seconds).abs();
        if skew_secs > MAX_CLOCK_SKEW_SECS {
            return Err(VerifyError::StaleTimestamp {
                timestamp: seconds,
                skew_secs,
            });
        }

        // `verify_slice` compares in constant time.
        self.mac(ts, body)
            .verify_slice(&given)
            .map_err(|_| VerifyError::BadSignature)
    }

    /// The `X-Slack-Signature` value Slack would send for `body` at `timestamp`: for tests and
    /// emulators that sign requests the way Slack does.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(&timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("{VERSION_PREFIX}{}", hex::encode(tag))
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.signing_secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use chrono::TimeZone;

    // Slack's own worked example ("Verifying requests from Slack").
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: i64 = 1531420618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn verifier() -> SlackVerifier {
        SlackVerifier::new(Secret::new(SECRET))
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    fn check(ts: Option<&str>, sig: Option<&str>, body: &str, now: i64) -> Result<(), VerifyError> {
        verifier().verify(ts, sig, body.as_bytes(), at(now))
    }

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(verifier().sign(TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        let ts = TIMESTAMP.to_string();
        assert_eq!(check(Some(&ts), Some(SIGNATURE), BODY, TIMESTAMP), Ok(()));
        assert_eq!(
            check(
                Some(&ts),
                Some(SIGNATURE),
                BODY,
                TIMESTAMP + MAX_CLOCK_SKEW_SECS
            ),
            Ok(())
        );
        assert_eq!(
            check(
                Some(&ts),
                Some(SIGNATURE),
                BODY,
                TIMESTAMP - MAX_CLOCK_SKEW_SECS
            ),
            Ok(())
        );
    }

    #[test]
    fn headers_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "X-Slack-Request-Timestamp",
            HeaderValue::from_str(&TIMESTAMP.to_string()).unwrap(),
        );
        headers.insert("X-Slack-Signature", HeaderValue::from_static(SIGNATURE));
        assert_eq!(
            verifier().verify_headers(&headers, BODY.as_bytes(), at(TIMESTAMP + 10)),
            Ok(())
        );
        headers.insert(
            "X-Slack-Signature",
            HeaderValue::from_bytes(b"v0=\xff").unwrap(),
        );
        assert!(matches!(
            verifier().verify_headers(&headers, BODY.as_bytes(), at(TIMESTAMP)),
            Err(VerifyError::Malformed {
                header: SIGNATURE_HEADER,
                ..
            })
        ));
    }

    #[test]
    fn tampering_is_a_bad_signature() {
        let ts = TIMESTAMP.to_string();
        // One byte of the body changed.
        let altered = BODY.replace("roadrunner", "roadrunnes");
        assert_eq!(
            check(Some(&ts), Some(SIGNATURE), &altered, TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
        // Body appended to.
        assert_eq!(
            check(
                Some(&ts),
                Some(SIGNATURE),
                &format!("{BODY}&x=1"),
                TIMESTAMP
            ),
            Err(VerifyError::BadSignature)
        );
        // A different (still fresh) timestamp with the original signature.
        let other_ts = (TIMESTAMP + 1).to_string();
        assert_eq!(
            check(Some(&other_ts), Some(SIGNATURE), BODY, TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
        // The signature itself altered in its last digit.
        let mut sig = SIGNATURE.to_string();
        sig.pop();
        sig.push('4');
        assert_eq!(
            check(Some(&ts), Some(&sig), BODY, TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
        // Upper-case hex decodes to the same bytes and is accepted.
        let upper = format!("v0={}", SIGNATURE[3..].to_ascii_uppercase());
        assert_eq!(check(Some(&ts), Some(&upper), BODY, TIMESTAMP), Ok(()));
        // A different signing secret.
        let other = SlackVerifier::new(Secret::new("not-the-secret"));
        assert_eq!(
            other.verify(Some(&ts), Some(SIGNATURE), BODY.as_bytes(), at(TIMESTAMP)),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn stale_timestamps_are_refused_even_with_a_good_signature() {
        let ts = TIMESTAMP.to_string();
        assert_eq!(
            check(
                Some(&ts),
                Some(SIGNATURE),
                BODY,
                TIMESTAMP + MAX_CLOCK_SKEW_SECS + 1
            ),
            Err(VerifyError::StaleTimestamp {
                timestamp: TIMESTAMP,
                skew_secs: MAX_CLOCK_SKEW_SECS + 1
            })
        );
        assert!(matches!(
            check(Some(&ts), Some(SIGNATURE), BODY, TIMESTAMP - 3600),
            Err(VerifyError::StaleTimestamp { .. })
        ));
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let ts = TIMESTAMP.to_string();
        assert_eq!(
            check(None, Some(SIGNATURE), BODY, TIMESTAMP),
            Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            check(Some(&ts), None, BODY, TIMESTAMP),
            Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
        );
        for bad_ts in [
            "",
            "-1531420618",
            "1531420618.5",
            "abc",
            "99999999999999999999",
        ] {
            assert!(
                matches!(
                    check(Some(bad_ts), Some(SIGNATURE), BODY, TIMESTAMP),
                    Err(VerifyError::Malformed {
                        header: TIMESTAMP_HEADER,
                        ..
                    })
                ),
                "{bad_ts:?}"
            );
        }
        for bad_sig in [
            "",
            "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v0=",
            "v0=a2114d57",
            "v0=zz114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50300",
        ] {
            assert!(
                matches!(
                    check(Some(&ts), Some(bad_sig), BODY, TIMESTAMP),
                    Err(VerifyError::Malformed {
                        header: SIGNATURE_HEADER,
                        ..
                    })
                ),
                "{bad_sig:?}"
            );
        }
    }

    #[test]
    fn an_empty_body_can_be_signed_and_verified() {
        let sig = verifier().sign(TIMESTAMP, b"");
        assert_eq!(
            verifier().verify(Some(&TIMESTAMP.to_string()), Some(&sig), b"", at(TIMESTAMP)),
            Ok(())
        );
        assert_eq!(
            verifier().verify(
                Some(&TIMESTAMP.to_string()),
                Some(&sig),
                b" ",
                at(TIMESTAMP)
            ),
            Err(VerifyError::BadSignature)
        );
    }
}
