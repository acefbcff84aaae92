//! The insight fields a column can feed, the names and aliases they are recognised by, and
//! `--map COLUMN=FIELD` mappings that override recognition.

use std::fmt;
use std::str::FromStr;

use crate::model::nearest;

/// An insight field an imported column can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// A short headline.
    Title,
    /// The customer's words.
    Body,
    /// The insight's id in its source.
    SourceRef,
    /// When the customer said it.
    ObservedOn,
    /// Themes and tags, a list split on `,`, `;` or `|`.
    Tags,
    /// The customer segment.
    Segment,
    /// The journey stage.
    Stage,
    /// The kind of insight.
    Kind,
    /// The sentiment.
    Sentiment,
    /// The severity, 1 to 5.
    Severity,
    /// The customer account.
    Account,
    /// A link back to the source.
    Url,
    /// The teams that may see it; empty means every team.
    Teams,
    /// Where it came from, overriding the file's source for that row.
    Source,
}

impl Field {
    /// Every field, in the order of [`crate::model::InsightData`].
    pub const ALL: [Field; 14] = [
        Field::Title,
        Field::Body,
        Field::SourceRef,
        Field::ObservedOn,
        Field::Tags,
        Field::Segment,
        Field::Stage,
        Field::Kind,
        Field::Sentiment,
        Field::Severity,
        Field::Account,
        Field::Url,
        Field::Teams,
        Field::Source,
    ];

    /// The canonical name, as written in `--map COLUMN=FIELD`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::SourceRef => "source_ref",
            Field::ObservedOn => "observed_on",
            Field::Tags => "tags",
            Field::Segment => "segment",
            Field::Stage => "stage",
            Field::Kind => "kind",
            Field::Sentiment => "sentiment",
            Field::Severity => "severity",
            Field::Account => "account",
            Field::Url => "url",
            Field::Teams => "teams",
            Field::Source => "source",
        }
    }

    /// Other column names that mean this field, most telling first.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Title => &["subject", "headline", "summary"],
            Field::Body => &[
                "text",
                "feedback",
                "comment",
                "description",
                "narrative",
                "content",
                "message",
            ],
            Field::SourceRef => &["id", "ref", "ticket", "ticket_id"],
            Field::ObservedOn => &["date", "observed", "created", "created_at", "timestamp"],
            Field::Tags => &["themes", "theme", "tag"],
            Field::Account => &["company", "customer", "organization", "org"],
            Field::Url => &["link", "permalink"],
            Field::Teams => &["visibility"],
            Field::Segment
            | Field::Stage
            | Field::Kind
            | Field::Sentiment
            | Field::Severity
            | Field::Source => &[],
        }
    }

    /// The field a column or key name means, ignoring case, spaces, underscores and hyphens
    /// (`Created At` and `created-at` are `observed_on`), with how strongly it means it:
    /// 0 for the canonical name, then the alias's rank.
    pub fn recognise(name: &str) -> Option<(Field, usize)> {
        let wanted = normalize(name);
        if wanted.is_empty() {
            return None;
        }
        Field::ALL.iter().find_map(|&field| {
            std::iter::once(field.name())
                .chain(field.aliases().iter().copied())
                .position(|spelling| normalize(spelling) == wanted)
                .map(|rank| (field, rank))
        })
    }

    /// Every accepted spelling, for suggestions.
    fn spellings() -> impl Iterator<Item = &'static str> {
        Field::ALL
            .iter()
            .flat_map(|f| std::iter::once(f.name()).chain(f.aliases().iter().copied()))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Field {
    type Err = MappingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::recognise(s)
            .map(|(field, _)| field)
            .ok_or_else(|| MappingError::UnknownField {
                field: s.trim().to_string(),
                suggestion: nearest(s.trim(), Field::spellings()),
            })
    }
}

/// A name folded for comparison: lowercase letters and digits only, so `Timely response?`,
/// `timely_response` and `TimelyResponse` meet.
pub(crate) fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `--map COLUMN=FIELD`: the column (or JSON key) that feeds a field, overriding recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The column header or JSON key, as written in the file.
    pub column: String,
    /// The field it feeds.
    pub field: Field,
}

/// A `--map` argument that cannot be a mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// No `=` between the column and the field.
    #[error("{spec:?} is not a mapping; write COLUMN=FIELD, e.g. \"Ticket text=body\"")]
    MissingEquals {
        /// The argument as given.
        spec: String,
    },
    /// Nothing before the `=`.
    #[error("{spec:?} names no column; write COLUMN=FIELD, e.g. \"Ticket text=body\"")]
    MissingColumn {
        /// The argument as given.
        spec: String,
    },
    /// The field after the `=` is not one Flywheel knows.
    #[error("{field:?} is not a field{}", match .suggestion {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => format!(" (one of: {})", Field::ALL.map(Field::name).join(", ")),
    })]
    UnknownField {
        /// The field as given.
        field: String,
        /// The closest field name or alias, if one is close enough to be a typo.
        suggestion: Option<&'static str>,
    },
}

/// Parses `Column Name=field`. The column is everything before the last `=` (a header may
/// itself hold one); the field is a field name or alias in any case (`Body`, `text`).
pub fn parse_mapping(spec: &str) -> Result<Mapping, MappingError> {
    let Some((column, field)) = spec.rsplit_once('=') else {
        return Err(MappingError::MissingEquals {
            spec: spec.to_string(),
        });
    };
    let column = column.trim();
    if column.is_empty() {
        return Err(MappingError::MissingColumn {
            spec: spec.to_string(),
        });
    }
    Ok(Mapping {
        column: column.to_string(),
        field: field.parse()?,
    })
}

impl FromStr for Mapping {
    type Err = MappingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_mapping(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_recognised_loosely() {
        assert_eq!(Field::recognise("title"), Some((Field::Title, 0)));
        assert_eq!(Field::recognise("Created At"), Some((Field::ObservedOn, 4)));
        assert_eq!(Field::recognise("created-at"), Some((Field::ObservedOn, 4)));
        assert_eq!(Field::recognise("SOURCE_REF"), Some((Field::SourceRef, 0)));
        assert_eq!(Field::recognise("Ticket ID"), Some((Field::SourceRef, 4)));
        assert_eq!(Field::recognise("Narrative"), Some((Field::Body, 5)));
        assert_eq!(Field::recognise("Organization"), Some((Field::Account, 3)));
        assert_eq!(Field::recognise("Visibility"), Some((Field::Teams, 1)));
        assert_eq!(Field::recognise("State"), None);
        assert_eq!(Field::recognise(""), None);
        assert_eq!(Field::recognise("???"), None);
    }

    #[test]
    fn every_spelling_is_unique() {
        let mut seen: Vec<String> = Field::spellings().map(normalize).collect();
        let all = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), all);
    }

    #[test]
    fn mappings_parse() {
        assert_eq!(
            parse_mapping("Ticket Text=body"),
            Ok(Mapping {
                column: "Ticket Text".into(),
                field: Field::Body
            })
        );
        assert_eq!(
            parse_mapping(" a=b = Observed On "),
            Ok(Mapping {
                column: "a=b".into(),
                field: Field::ObservedOn
            })
        );
        assert_eq!(
            "Notes=TEXT".parse::<Mapping>().map(|m| m.field),
            Ok(Field::Body)
        );
    }

    #[test]
    fn bad_mappings_say_why() {
        assert!(matches!(
            parse_mapping("body"),
            Err(MappingError::MissingEquals { .. })
        ));
        assert!(matches!(
            parse_mapping(" =body"),
            Err(MappingError::MissingColumn { .. })
        ));
        let err = parse_mapping("Notes=boddy").unwrap_err();
        assert_eq!(
            err,
            MappingError::UnknownField {
                field: "boddy".into(),
                suggestion: Some("body")
            }
        );
        assert_eq!(
            err.to_string(),
            "\"boddy\" is not a field (did you mean \"body\"?)"
        );
        let err = parse_mapping("Notes=zzzzzzzzzz").unwrap_err();
        assert!(err.to_string().contains("one of: title, body, source_ref"));
        assert!(matches!(
            parse_mapping("Notes="),
            Err(MappingError::UnknownField { .. })
        ));
    }
}
