//! Which papers a search may answer with (a year range, an author, a venue) and the order of
//! its results: filters narrow the candidates before ranking, so the best matching papers come
//! back however far down the whole library's ranking they are.

use crate::metadata::eval::normalize;
use crate::metadata::Record;

/// The papers a search may answer with. Empty: every paper.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaperFilter {
    /// Published in this range of years, both ends included (an open end: no bound). A paper
    /// whose year is unknown is left out.
    pub years: Option<(Option<u16>, Option<u16>)>,
    /// An author's name, or part of it ("Smith", "Jane Smith"), case and accents aside.
    pub author: Option<String>,
    /// Part of the venue's name ("Lancet" finds "The Lancet"), case and punctuation aside.
    pub venue: Option<String>,
}

impl PaperFilter {
    /// Whether it lets every paper through.
    pub fn is_empty(&self) -> bool {
        self.years.is_none() && self.author.is_none() && self.venue.is_none()
    }

    /// Whether a paper with this record passes.
    pub fn matches(&self, record: &Record) -> bool {
        if let Some((from, to)) = self.years {
            let Some(year) = record.year else {
                return false;
            };
            if from.is_some_and(|f| year < f) || to.is_some_and(|t| year > t) {
                return false;
            }
        }
        if let Some(author) = &self.author {
            let wanted = normalize(author);
            let found = record.authors.iter().any(|a| {
                let full = normalize(&format!("{} {}", a.given, a.family));
                normalize(&a.family) == wanted || contains_words(&full, &wanted)
            });
            if !found {
                return false;
            }
        }
        if let Some(venue) = &self.venue {
            let wanted = normalize(venue);
            if !record
                .venue
                .as_deref()
                .is_some_and(|v| contains_words(&normalize(v), &wanted))
            {
                return false;
            }
        }
        true
    }
}

/// Whether `words` occur in `text` as whole words, in order (normalised text: words separated
/// by single spaces).
fn contains_words(text: &str, words: &str) -> bool {
    !words.is_empty() && format!(" {text} ").contains(&format!(" {words} "))
}

/// A year range as typed: `2019..2024`, `2019..`, `..2024` or `2019`.
pub fn parse_years(range: &str) -> Result<(Option<u16>, Option<u16>), String> {
    let year = |s: &str| -> Result<Option<u16>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<u16>()
            .ok()
            .filter(|y| (1000..=9999).contains(y))
            .map(Some)
            .ok_or_else(|| format!("'{s}' is not a year"))
    };
    let (from, to) = match range.split_once("..") {
        Some((from, to)) => (year(from)?, year(to.trim_start_matches('='))?),
        None => {
            let y = year(range)?;
            (y, y)
        }
    };
    if from.is_none() && to.is_none() {
        return Err(format!("'{range}' names no year (e.g. 2019..2024)"));
    }
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(format!("'{range}' ends before it starts"));
        }
    }
    Ok((from, to))
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first.
    #[default]
    Relevance,
    /// The most recent first (among the best matches; papers without a year last), ties by
    /// relevance.
    Date,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Author;

    fn record(year: Option<u16>, family: &str, venue: Option<&str>) -> Record {
        Record {
            year,
            authors: vec![Author {
                family: family.into(),
                given: "Jane".into(),
            }],
            venue: venue.map(str::to_string),
            ..Record::default()
        }
    }

    #[test]
    fn years_authors_and_venues_filter() {
        let r = record(Some(2021), "Smith", Some("The Lancet"));
        let f = |years, author: Option<&str>, venue: Option<&str>| PaperFilter {
            years,
            author: author.map(str::to_string),
            venue: venue.map(str::to_string),
        };
        assert!(PaperFilter::default().matches(&r));
        assert!(f(Some((Some(2019), Some(2024))), None, None).matches(&r));
        assert!(!f(Some((Some(2022), None)), None, None).matches(&r));
        assert!(!f(Some((None, Some(2020))), None, None).matches(&r));
        assert!(!f(Some((None, Some(2030))), None, None).matches(&record(None, "Smith", None)));
        assert!(f(None, Some("smith"), None).matches(&r));
        assert!(f(None, Some("Jane Smith"), None).matches(&r));
        assert!(!f(None, Some("Smithson"), None).matches(&r));
        assert!(f(None, None, Some("lancet")).matches(&r));
        assert!(!f(None, None, Some("Lancet Oncology")).matches(&r));
        assert!(!f(None, None, Some("Lan")).matches(&r));
    }

    #[test]
    fn year_ranges_read_as_typed() {
        assert_eq!(parse_years("2019..2024"), Ok((Some(2019), Some(2024))));
        assert_eq!(parse_years("2019.."), Ok((Some(2019), None)));
        assert_eq!(parse_years("..2024"), Ok((None, Some(2024))));
        assert_eq!(parse_years("2021"), Ok((Some(2021), Some(2021))));
        assert!(parse_years("2024..2019").is_err());
        assert!(parse_years("..").is_err());
        assert!(parse_years("last year").is_err());
    }
}
