//! Estimates made from the text when a file does not say: the sentiment of a piece of feedback
//! and the severity of a CFPB complaint. Both are small word lists, deliberately simple so that
//! anyone can predict (and argue with) the result; when unsure they fall back to neutral and 3.

use std::borrow::Cow;

use crate::model::{Sentiment, Severity};

/// The sentiment of `text`, from a small lexicon of clearly positive and negative words.
///
/// A word counts the other way when one of the three words before it in the same clause is a
/// negation (`not good`, `never helpful`, `no problems`, `didn't work` where `work` carries no
/// weight). The text is positive when it has positive words and at least twice as many of them
/// as negative ones, negative the other way round, and neutral otherwise, including when it has
/// none: `great app but it crashes` is neutral.
pub fn estimate_sentiment(text: &str) -> Sentiment {
    let (mut positive, mut negative) = (0usize, 0usize);
    for clause in text.split(is_clause_break) {
        let mut negated_for = 0;
        for word in words(clause) {
            if is_negation(&word) {
                negated_for = 3;
                continue;
            }
            if let Some(mut polarity) = polarity(&word) {
                if negated_for > 0 {
                    polarity = !polarity;
                }
                if polarity {
                    positive += 1;
                } else {
                    negative += 1;
                }
            }
            negated_for = usize::saturating_sub(negated_for, 1);
        }
    }
    if positive > 0 && positive >= 2 * negative {
        Sentiment::Positive
    } else if negative > 0 && negative >= 2 * positive {
        Sentiment::Negative
    } else {
        Sentiment::Neutral
    }
}

/// The severity of a CFPB complaint, from its issue (with sub-issue), its narrative and whether
/// the company answered in time (`Timely response?`, `None` when unknown).
///
/// - **3** by default: every complaint to a regulator hurts someone.
/// - **4** when the issue or the narrative speaks of serious harm: fraud, scams, identity theft,
///   stolen or unauthorized money, foreclosure, eviction, threats or harassment (any word starting
///   `fraud`, `scam`, `stole`, `theft`, `thief`, `thieves`, `unauthori`, `foreclos`, `evict`,
///   `threat`, `harass`).
/// - **5** when such a complaint also got no timely response, or when the narrative tells of
///   losing a home, a car or all savings: `lose`/`lost`/`losing` followed within three words by
///   home, house, car or vehicle; a repossession; being made homeless; `all`/`entire`/`life`
///   within three words before `savings`.
///
/// Words are matched as written: "this was not fraud" still reads as fraud. An estimate to sort
/// complaints by, not a finding.
pub fn estimate_severity(issue: &str, narrative: &str, timely_response: Option<bool>) -> Severity {
    let told = read_narrative(narrative);
    let harm = speaks_of_harm(issue) || told.harm;
    let level = if told.loss || (harm && timely_response == Some(false)) {
        5
    } else if harm {
        4
    } else {
        3
    };
    Severity::new(level).unwrap_or_default()
}

fn is_clause_break(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | ':' | ',' | '\n' | '\r')
}

/// The lowercase words of `text`, with typographic apostrophes made plain.
fn words(text: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            // Most words are lowercase ASCII already: no copy.
            if w.is_ascii() {
                if w.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(w.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(w)
                }
            } else {
                Cow::Owned(w.to_lowercase().replace('\u{2019}', "'"))
            }
        })
}

fn is_negation(word: &str) -> bool {
    word.ends_with("n't")
        || matches!(
            word,
            "not"
                | "no"
                | "never"
                | "nothing"
                | "none"
                | "nobody"
                | "neither"
                | "nor"
                | "cannot"
                | "without"
                | "hardly"
                | "barely"
                | "dont"
                | "doesnt"
                | "didnt"
                | "isnt"
                | "wasnt"
                | "arent"
                | "werent"
                | "cant"
                | "wont"
                | "couldnt"
                | "wouldnt"
                | "shouldnt"
                | "havent"
                | "hasnt"
                | "hadnt"
        )
}

/// `Some(true)` for a clearly positive word, `Some(false)` for a clearly negative one. Words
/// whose meaning turns on context (`like`, `issue`, `fixed`, `better`) are left out on purpose.
fn polarity(word: &str) -> Option<bool> {
    match word {
        "good" | "great" | "excellent" | "love" | "loved" | "loves" | "lovely" | "amazing"
        | "awesome" | "fantastic" | "wonderful" | "perfect" | "helpful" | "happy" | "pleased"
        | "satisfied" | "easy" | "easier" | "intuitive" | "fast" | "faster" | "quick"
        | "smooth" | "seamless" | "reliable" | "recommend" | "recommended" | "appreciate"
        | "appreciated" | "nice" | "best" | "friendly" | "glad" | "delighted" | "enjoy"
        | "enjoyed" | "impressive" | "impressed" | "useful" | "valuable" | "brilliant"
        | "superb" | "resolved" | "simple" => Some(true),
        "bad" | "terrible" | "awful" | "horrible" | "worst" | "worse" | "poor" | "useless"
        | "unusable" | "unacceptable" | "ridiculous" | "hate" | "hated" | "hates" | "angry"
        | "upset" | "nightmare" | "impossible" | "frustrating" | "frustrated" | "frustration"
        | "annoying" | "annoyed" | "disappointed" | "disappointing" | "confusing" | "confused"
        | "broken" | "broke" | "bug" | "bugs" | "buggy" | "crash" | "crashes" | "crashed"
        | "crashing" | "slow" | "slower" | "laggy" | "error" | "errors" | "fail" | "fails"
        | "failed" | "failing" | "failure" | "wrong" | "problem" | "problems" | "expensive"
        | "overpriced" | "overcharged" | "rude" | "unhelpful" | "misleading" | "fraud"
        | "fraudulent" | "scam" | "scammed" | "stolen" | "unauthorized" | "inaccurate"
        | "incorrect" | "unfair" | "harassment" | "harassing" | "ignored" | "waste" | "wasted"
        | "stuck" | "painful" | "clunky" | "complicated" | "refused" | "denied" | "delayed" => {
            Some(false)
        }
        _ => None,
    }
}

/// Word stems that speak of harm.
const HARM: [&str; 11] = [
    "fraud",
    "scam",
    "stole",
    "theft",
    "thief",
    "thieves",
    "unauthori",
    "foreclos",
    "evict",
    "threat",
    "harass",
];

fn is_harm(word: &str) -> bool {
    HARM.iter().any(|stem| word.starts_with(stem))
}

fn speaks_of_harm(text: &str) -> bool {
    words(text).any(|w| is_harm(&w))
}

/// What a narrative tells, read in one pass over its words.
#[derive(Debug, Default, PartialEq, Eq)]
struct Told {
    /// A word that speaks of harm (not looked for after a loss).
    harm: bool,
    /// A loss: losing a home, house, car or vehicle (within three words), all, entire or life
    /// savings (within three words before), being homeless, a repossession.
    loss: bool,
}

fn read_narrative(narrative: &str) -> Told {
    const REACH: usize = 3;
    let mut told = Told::default();
    // Words after the last "lose" still within reach of it.
    let mut after_lose = 0;
    // How far back the last "all", "entire" or "life" is (1: the word before).
    let mut since_quantity: Option<usize> = None;
    for word in words(narrative) {
        let word = word.as_ref();
        told.harm = told.harm || is_harm(word);
        if after_lose > 0 {
            told.loss = told.loss || matches!(word, "home" | "house" | "car" | "vehicle");
            after_lose -= 1;
        }
        match word {
            "lose" | "loses" | "losing" | "lost" => after_lose = REACH,
            "savings" if since_quantity.is_some_and(|d| d <= REACH) => told.loss = true,
            "homeless" => told.loss = true,
            w if w.starts_with("repossess") => told.loss = true,
            _ => {}
        }
        since_quantity = if matches!(word, "all" | "entire" | "life") {
            Some(1)
        } else {
            since_quantity.map(|d| d + 1)
        };
        if told.loss {
            // The gravest level whatever else it tells.
            break;
        }
    }
    told
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Losses as first written: every word collected, each looked at with its neighbours.
    fn tells_of_loss(narrative: &str) -> bool {
        let words: Vec<Cow<'_, str>> = words(narrative).collect();
        words.iter().enumerate().any(|(i, w)| {
            let ahead = || words.iter().skip(i + 1).take(3);
            let behind = || words.iter().take(i).rev().take(3);
            match w.as_ref() {
                "lose" | "loses" | "losing" | "lost" => {
                    ahead().any(|a| matches!(a.as_ref(), "home" | "house" | "car" | "vehicle"))
                }
                "savings" => behind().any(|b| matches!(b.as_ref(), "all" | "entire" | "life")),
                "homeless" => true,
                w => w.starts_with("repossess"),
            }
        })
    }

    proptest! {
        #[test]
        fn one_pass_tells_what_looking_around_each_word_tells(
            picked in proptest::collection::vec(0_usize..16, 0..24),
        ) {
            const WORDS: [&str; 16] = [
                "lose", "Lost", "losing", "home", "car", "my", "the", "all", "entire",
                "life", "savings", "homeless", "repossessed", "fraud", "theft.", "x",
            ];
            let narrative = picked.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ");
            let told = read_narrative(&narrative);
            prop_assert_eq!(told.loss, tells_of_loss(&narrative), "{}", narrative);
            if !told.loss {
                prop_assert_eq!(told.harm, speaks_of_harm(&narrative), "{}", narrative);
            }
        }
    }

    #[test]
    fn clear_words_decide_the_sentiment() {
        assert_eq!(
            estimate_sentiment("Love the new dashboard, setup was easy"),
            Sentiment::Positive
        );
        assert_eq!(
            estimate_sentiment("Export is broken and support was rude."),
            Sentiment::Negative
        );
        assert_eq!(
            estimate_sentiment("We export the report every Monday."),
            Sentiment::Neutral
        );
        assert_eq!(estimate_sentiment(""), Sentiment::Neutral);
    }

    #[test]
    fn mixed_feelings_are_neutral() {
        assert_eq!(
            estimate_sentiment("Great app but it crashes"),
            Sentiment::Neutral
        );
        assert_eq!(
            estimate_sentiment("Great app, fast and reliable, but it crashed once"),
            Sentiment::Positive
        );
    }

    #[test]
    fn negation_turns_a_word_around() {
        assert_eq!(
            estimate_sentiment("The app is not good"),
            Sentiment::Negative
        );
        assert_eq!(
            estimate_sentiment("Support wasn\u{2019}t very helpful"),
            Sentiment::Negative
        );
        assert_eq!(
            estimate_sentiment("No problems at all since the upgrade"),
            Sentiment::Positive
        );
        assert_eq!(
            estimate_sentiment("The issue was never resolved"),
            Sentiment::Negative
        );
        // Negation does not cross a clause, nor reach far.
        assert_eq!(
            estimate_sentiment("Not what I expected. Great onboarding"),
            Sentiment::Positive
        );
        assert_eq!(
            estimate_sentiment("Not once in all these long years was it slow"),
            Sentiment::Negative
        );
    }

    #[test]
    fn complaints_are_three_unless_they_tell_of_harm() {
        let s = |issue, narrative, timely| estimate_severity(issue, narrative, timely).get();
        assert_eq!(s("Incorrect information on your report", "", Some(true)), 3);
        assert_eq!(s("Fraud or scam", "", Some(true)), 4);
        assert_eq!(
            s(
                "Managing an account",
                "Someone made unauthorized withdrawals",
                None
            ),
            4
        );
        assert_eq!(
            s(
                "Struggling to pay mortgage",
                "They started FORECLOSURE",
                None
            ),
            4
        );
        assert_eq!(
            s(
                "Communication tactics",
                "The collector threatened my family",
                Some(true)
            ),
            4
        );
        assert_eq!(s("Identity theft protection", "", None), 4);
        // "Problem with a purchase" mentions no harm however upset the consumer is.
        assert_eq!(
            s("Problem with a purchase", "I am so angry and upset", None),
            3
        );
    }

    #[test]
    fn harm_left_unanswered_or_a_lost_home_is_five() {
        let s = |issue, narrative, timely| estimate_severity(issue, narrative, timely).get();
        assert_eq!(s("Fraud or scam", "", Some(false)), 5);
        // Late but no harm: still the default.
        assert_eq!(s("Billing dispute", "", Some(false)), 3);
        assert_eq!(
            s(
                "Trouble during payment process",
                "We are about to lose our family home",
                None
            ),
            5
        );
        assert_eq!(
            s("Repossession", "They repossessed my car overnight", None),
            5
        );
        assert_eq!(s("Other", "I lost all of my savings", None), 5);
        assert_eq!(s("Other", "my life savings are gone", None), 5);
        // Savings mentioned without losing them all is not a lost livelihood.
        assert_eq!(s("Other", "I lost money from my savings account", None), 3);
        assert_eq!(s("Other", "I lost the paperwork for the car", None), 3);
    }
}
