//! A correction to a paper's record as the user types it (`meta --set FIELD=VALUE`, the app's
//! Details form), checked and normalised before it is stored: a DOI pasted as a link, a PMC id
//! without its prefix, a list of authors cut with ';'.

use super::record::Record;
use super::record::FIELDS;
use super::{Author, Source};

/// Why a correction was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// No such field.
    #[error("there is no field '{0}': the fields are {fields}", fields = FIELDS.join(", "))]
    UnknownField(String),
    /// `--set` without `=`.
    #[error("'{0}' is not FIELD=VALUE (e.g. year=2021)")]
    NotAnAssignment(String),
    /// The value does not fit the field.
    #[error("{field}: {reason}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// What is wrong with the value, in words.
        reason: String,
    },
}

/// The longest text a correction keeps, in characters, per field: a title or a venue longer
/// than this is a paste gone wrong.
const MAX_EDIT_CHARS: usize = 1_000;
/// The longest abstract kept, in characters.
const MAX_ABSTRACT_CHARS: usize = 20_000;
/// The most authors a correction lists.
const MAX_EDIT_AUTHORS: usize = 1_000;

/// One correction, checked: a field and its new value (`None`: the user says the paper has
/// none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The field, one of [`FIELDS`].
    pub field: &'static str,
    /// The value as stored (normalised: a DOI lower-cased, names split), `None` for "none".
    pub(super) value: Option<String>,
}

impl Edit {
    /// A `FIELD=VALUE` argument, checked.
    pub fn parse_assignment(arg: &str) -> Result<Edit, EditError> {
        let (field, value) = arg
            .split_once('=')
            .ok_or_else(|| EditError::NotAnAssignment(arg.to_string()))?;
        Edit::parse(field.trim(), value)
    }

    /// A field and the value typed for it, checked and normalised. An empty value records that
    /// the paper has none (a wrong venue the reader keeps finding, say).
    pub fn parse(field: &str, value: &str) -> Result<Edit, EditError> {
        let field = FIELDS
            .iter()
            .copied()
            .find(|f| f.eq_ignore_ascii_case(field))
            .ok_or_else(|| EditError::UnknownField(field.to_string()))?;
        let bad = |reason: String| EditError::BadValue { field, reason };
        // Direction overrides make text read otherwise than it is stored: never in a record.
        let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if value
            .chars()
            .any(|c| (c.is_control() && !c.is_whitespace()) || bidi(c))
        {
            return Err(bad("control characters are not text".into()));
        }
        if field == "design" {
            return match crate::clinical::DesignLabel::parse(value) {
                Some(label) => Ok(Edit {
                    field,
                    value: Some(label.as_str().to_string()),
                }),
                None => Err(bad(format!(
                    "'{}' is not a design: one of {} (--reset design goes back to MedShelf's reading)",
                    value.trim(),
                    crate::clinical::DesignLabel::ALL.map(|l| l.as_str()).join(", ")
                ))),
            };
        }
        let value = if field == "abstract" {
            // An abstract keeps its paragraphs (a structured abstract's parts).
            value
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            value.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        if value.is_empty() {
            return Ok(Edit { field, value: None });
        }
        // Authors are limited name by name (a trial's list is long), the rest as a whole.
        let max = match field {
            "abstract" => MAX_ABSTRACT_CHARS,
            "authors" => MAX_EDIT_AUTHORS * 100,
            _ => MAX_EDIT_CHARS,
        };
        if value.chars().count() > max {
            return Err(bad(format!("longer than {max} characters")));
        }
        let value = match field {
            "year" => {
                let this_year = current_year();
                match value.parse::<u16>() {
                    Ok(y) if (1500..=this_year + 1).contains(&y) => y.to_string(),
                    _ => {
                        return Err(bad(format!(
                            "'{value}' is not a year between 1500 and {}",
                            this_year + 1
                        )))
                    }
                }
            }
            "doi" => {
                // As people paste it: a resolver link or a "doi:" cue, in any case.
                let lower = value.to_lowercase();
                let mut at = 0;
                for prefix in [
                    "https://", "http://", "www.", "dx.", "doi.org/", "doi:", "doi ",
                ] {
                    if lower[at..].starts_with(prefix) {
                        at += prefix.len();
                        at += lower[at..].len() - lower[at..].trim_start().len();
                    }
                }
                super::normalize_doi(&value[at..])
                    .filter(|d| !d.contains('%'))
                    .ok_or_else(|| {
                        bad(format!(
                            "'{value}' is not a DOI (10.NNNN/..., e.g. 10.1056/NEJMoa2034577)"
                        ))
                    })?
            }
            "pmid" => {
                let lower = value.to_ascii_lowercase();
                let digits = lower
                    .strip_prefix("pmid")
                    .map(|r| r.trim_start().trim_start_matches(':'))
                    .unwrap_or(&lower)
                    .trim()
                    .trim_start_matches('0');
                if digits.is_empty()
                    || digits.len() > 9
                    || !digits.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(bad(format!("'{value}' is not a PubMed id (digits only)")));
                }
                digits.to_string()
            }
            "pmcid" => {
                let upper = value.to_ascii_uppercase();
                let digits = upper.trim_start_matches("PMC");
                if digits.is_empty()
                    || digits.len() > 10
                    || !digits.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(bad(format!("'{value}' is not a PMC id (PMC and digits)")));
                }
                format!("PMC{digits}")
            }
            "trial_ids" => {
                let ids = split_list(&value);
                if let Some(id) = ids.iter().find(|id| {
                    // NCT01234567, ISRCTN12345678, 2004-000123-45, CTRI/2020/05/025123.
                    id.len() > 40
                        || !id.chars().any(|c| c.is_ascii_digit())
                        || !id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
                }) {
                    return Err(bad(format!(
                        "'{id}' is not a registration id (letters, digits, dashes and slashes, e.g. NCT01234567)"
                    )));
                }
                // As registries write them: upper case, ChiCTR's own spelling.
                ids.iter()
                    .map(|id| {
                        let id = id.to_ascii_uppercase();
                        match id.strip_prefix("CHICTR") {
                            Some(rest) => format!("ChiCTR{rest}"),
                            None => id,
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            "authors" => {
                let names = split_list(&value);
                if names.len() > MAX_EDIT_AUTHORS {
                    return Err(bad(format!("more than {MAX_EDIT_AUTHORS} names")));
                }
                if let Some(n) = names
                    .iter()
                    .find(|n| Author::parse(n).is_none() || n.chars().count() > 100)
                {
                    return Err(bad(format!("'{n}' is not a name")));
                }
                // "Smith J, Jones K" or "John Smith, Jane Doe" typed as one name would read as
                // a surname and given names: the list must be cut with ';'.
                if let Some(n) = names.iter().find(|n| several_names(n)) {
                    return Err(bad(format!(
                        "'{n}' looks like several names: separate authors with ';' \
                         (\"Smith, John; Doe, Jane\")"
                    )));
                }
                names.join("; ")
            }
            _ => value,
        };
        Ok(Edit {
            field,
            value: Some(value),
        })
    }

    /// The value as stored in the catalog ("" for none).
    pub fn stored_value(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    pub(super) fn apply(&self, r: &mut Record) {
        let v = self.value.clone();
        match self.field {
            "title" => r.title = v,
            "authors" => {
                r.authors = v
                    .map(|v| {
                        split_list(&v)
                            .iter()
                            .filter_map(|n| Author::parse(n))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            "year" => r.year = v.and_then(|v| v.parse().ok()),
            "venue" => r.venue = v,
            "doi" => r.doi = v,
            "pmid" => r.pmid = v,
            "pmcid" => r.pmcid = v,
            "trial_ids" => r.trial_ids = v.map(|v| split_list(&v)).unwrap_or_default(),
            "abstract" => r.abstract_text = v,
            "design" => {
                // The design carries its source itself.
                r.design = v
                    .as_deref()
                    .and_then(crate::clinical::DesignLabel::parse)
                    .map(crate::clinical::Design::user);
                return;
            }
            _ => return,
        }
        r.provenance.insert(self.field.to_string(), Source::User);
    }
}

/// Whether one typed "name" is a list: two commas, or a comma between two full names ("John
/// Smith, Jane Doe").
fn several_names(name: &str) -> bool {
    const PARTICLES: [&str; 11] = [
        "Van", "Von", "De", "Del", "Della", "Da", "Di", "Du", "La", "Le", "El",
    ];
    // Full names on both sides of the comma: "Rodriguez Montoya, Ivan" and "Van Orden, J. W."
    // are one name each.
    let full = |part: &str| {
        let words: Vec<&str> = part.split_whitespace().collect();
        words.len() >= 2
            && words
                .iter()
                .all(|w| w.chars().next().is_some_and(char::is_uppercase))
            && words
                .last()
                .is_some_and(|w| w.chars().count() > 2 && !w.ends_with('.'))
            && !PARTICLES.contains(&words[0])
    };
    // PubMed's "Smith J, Jones K".
    let initials = |part: &str| {
        let words: Vec<&str> = part.split_whitespace().collect();
        words.len() >= 2
            && words.last().is_some_and(|w| {
                (1..=3).contains(&w.chars().count()) && w.chars().all(|c| c.is_uppercase())
            })
    };
    name.matches(',').count() > 1
        || name.split_once(',').is_some_and(|(family, given)| {
            (full(family) && full(given)) || (initials(family) && initials(given))
        })
}

/// A list as a person types it: names or ids separated by `;` (a name holds a comma of its
/// own: "Smith, John; Doe, Jane").
fn split_list(value: &str) -> Vec<String> {
    value
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// This year, from the system clock (UTC is close enough to bound a year).
fn current_year() -> u16 {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    // Civil year from days since 1970 (Howard Hinnant's days-to-date, year part only).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    year.clamp(2000, 9999) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_are_checked_and_normalised() {
        let e = Edit::parse_assignment("DOI=https://doi.org/10.1056/NEJMoa2034577").unwrap();
        assert_eq!(e.stored_value(), "10.1056/nejmoa2034577");
        assert_eq!(
            Edit::parse("pmcid", "pmc123").unwrap().stored_value(),
            "PMC123"
        );
        assert_eq!(
            Edit::parse("year", " 2021 ").unwrap().stored_value(),
            "2021"
        );
        assert!(Edit::parse("year", "").unwrap().value.is_none());
        for doi in [
            "Doi: 10.1056/X1",
            "DOI 10.1056/x1",
            "HTTPS://DOI.ORG/10.1056/x1",
            "https://www.doi.org/10.1056/x1",
            "doi.org/10.1056/x1",
        ] {
            let e = Edit::parse("doi", doi).unwrap();
            assert_eq!(e.stored_value(), "10.1056/x1", "{doi}");
        }
        assert_eq!(
            Edit::parse("pmid", "PMID 0123").unwrap().stored_value(),
            "123"
        );
        assert_eq!(
            Edit::parse("pmid", "pmid: 123").unwrap().stored_value(),
            "123"
        );
        let trials = Edit::parse("trial_ids", "NCT01234567; CTRI/2020/05/025123").unwrap();
        assert_eq!(trials.stored_value(), "NCT01234567; CTRI/2020/05/025123");
        let names = "Van Orden, J. W.; van der Berg, Anna; Jane Doe; Rodriguez Montoya, Ivan";
        assert_eq!(Edit::parse("authors", names).unwrap().stored_value(), names);
        let many: Vec<String> = (0..80).map(|i| format!("Surname{i}, Given")).collect();
        assert!(Edit::parse("authors", &many.join("; ")).is_ok());
        let abstract_text = Edit::parse("abstract", "Background: a.\n\n  Methods:   b.").unwrap();
        assert_eq!(abstract_text.stored_value(), "Background: a.\nMethods: b.");
        for (field, value) in [
            ("year", "3021"),
            ("year", "20x1"),
            ("year", "99"),
            ("doi", "not a doi"),
            ("pmid", "12ab"),
            ("trial_ids", "NCT0123 4567; x/y"),
            ("title", "a\u{7}b"),
            ("title", "a\u{202e}b"),
            ("pmid", "000"),
            ("pmid", "PMID:"),
            ("doi", "10.1056%2Fnejm1"),
            ("trial_ids", "hello"),
            ("authors", "Smith J, Jones K"),
            ("authors", "John Smith, Jane Doe"),
        ] {
            let err = Edit::parse(field, value).unwrap_err();
            assert!(matches!(err, EditError::BadValue { .. }), "{field}={value}");
        }
        let err = Edit::parse_assignment("colour=red").unwrap_err();
        assert!(err.to_string().contains("title, authors, year"), "{err}");
        assert!(matches!(
            Edit::parse_assignment("year 2021"),
            Err(EditError::NotAnAssignment(_))
        ));
    }

    #[test]
    fn the_year_is_this_century() {
        let y = current_year();
        assert!((2024..2200).contains(&y), "{y}");
    }
}
