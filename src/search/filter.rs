//! Which papers a search may answer with (a year range, an author, a venue) and the order of
//! its results: filters narrow the candidates before ranking, so the best matching papers come
//! back however far down the whole library's ranking they are.

use crate::metadata::eval::normalize;
use crate::metadata::Record;
use crate::zotero::Membership;

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
    /// A Zotero collection, as a path of nested names joined by `/`: the papers it holds.
    pub collection: Option<String>,
    /// With [`PaperFilter::collection`]: the papers of the collections inside it too.
    pub subcollections: bool,
    /// Zotero tags the paper carries, every one of them.
    pub tags: Vec<String>,
    /// Study designs: a paper of any of them (its design as shown, the user's correction
    /// included). Empty: any design.
    pub designs: Vec<crate::clinical::DesignLabel>,
}

impl PaperFilter {
    /// Whether it lets every paper through.
    pub fn is_empty(&self) -> bool {
        self.years.is_none()
            && self.author.is_none()
            && self.venue.is_none()
            && self.collection.is_none()
            && self.tags.is_empty()
            && self.designs.is_empty()
    }

    /// Whether a paper with this record and this place in Zotero (where it has one) passes.
    pub fn matches_paper(&self, record: &Record, zotero: Option<&Membership>) -> bool {
        if let Some(collection) = &self.collection {
            if !zotero.is_some_and(|z| z.in_collection(collection, self.subcollections)) {
                return false;
            }
        }
        if !self
            .tags
            .iter()
            .all(|t| zotero.is_some_and(|z| z.has_tag(t)))
        {
            return false;
        }
        self.matches(record)
    }

    /// Whether a paper with this record passes the filters on its record (years, author,
    /// venue, design).
    pub fn matches(&self, record: &Record) -> bool {
        if !self.designs.is_empty()
            && !record
                .design
                .as_ref()
                .is_some_and(|d| self.designs.contains(&d.label))
        {
            return false;
        }
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

/// How many of a question's best papers the facets count: more than a page of results, few
/// enough that a facet says something about this question, not about the library.
pub const FACET_POOL: usize = 50;

/// How many values a facet lists at most (the years: all of them).
const FACET_VALUES: usize = 10;

/// One value of a facet and how many of the counted papers have it. The value is what the
/// filter takes (a year, a venue's name, a surname), and the count is what that filter lets
/// through of the counted papers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FacetValue {
    /// The value, as the filter takes it.
    pub value: String,
    /// The papers counted that have it.
    pub count: usize,
}

/// Counts beside a search's results: by year, venue and author, over the question's best
/// papers ([`FACET_POOL`]), each value as a filter would narrow them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Facets {
    /// How many papers were counted.
    pub papers: usize,
    /// Years, newest first.
    pub years: Vec<FacetValue>,
    /// Venues, the most frequent first.
    pub venues: Vec<FacetValue>,
    /// Authors' surnames, the most frequent first.
    pub authors: Vec<FacetValue>,
    /// Study designs (`rct`, `cohort`...), the highest level of evidence first.
    pub designs: Vec<FacetValue>,
}

impl Facets {
    /// Counts the records' years, venues and authors. A venue or an author counts the
    /// papers its filter would let through, so that a facet's count is what choosing it shows
    /// (of these papers).
    pub fn count(records: &[Record]) -> Facets {
        use std::collections::BTreeMap;
        let mut years: BTreeMap<u16, usize> = BTreeMap::new();
        for year in records.iter().filter_map(|r| r.year) {
            *years.entry(year).or_default() += 1;
        }
        let mut designs: BTreeMap<crate::clinical::DesignLabel, usize> = BTreeMap::new();
        for design in records.iter().filter_map(|r| r.design.as_ref()) {
            *designs.entry(design.label).or_default() += 1;
        }
        // Candidates spelled as the records spell them, one per normalised name.
        let mut venues: BTreeMap<String, String> = BTreeMap::new();
        let mut authors: BTreeMap<String, String> = BTreeMap::new();
        for r in records {
            if let Some(v) = r.venue.as_deref().filter(|v| !v.trim().is_empty()) {
                venues
                    .entry(normalize(v))
                    .or_insert_with(|| v.trim().to_string());
            }
            for a in &r.authors {
                if !a.family.trim().is_empty() {
                    authors
                        .entry(normalize(&a.family))
                        .or_insert_with(|| a.family.trim().to_string());
                }
            }
        }
        let ranked = |values: BTreeMap<String, String>, filter: &dyn Fn(String) -> PaperFilter| {
            let mut counted: Vec<FacetValue> = values
                .into_values()
                .map(|value| {
                    let f = filter(value.clone());
                    let count = records.iter().filter(|r| f.matches(r)).count();
                    FacetValue { value, count }
                })
                .filter(|v| v.count > 0)
                .collect();
            counted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            counted.truncate(FACET_VALUES);
            counted
        };
        Facets {
            papers: records.len(),
            years: years
                .into_iter()
                .rev()
                .map(|(year, count)| FacetValue {
                    value: year.to_string(),
                    count,
                })
                .collect(),
            venues: ranked(venues, &|venue| PaperFilter {
                venue: Some(venue),
                ..PaperFilter::default()
            }),
            authors: ranked(authors, &|author| PaperFilter {
                author: Some(author),
                ..PaperFilter::default()
            }),
            designs: designs
                .into_iter()
                .map(|(label, count)| FacetValue {
                    value: label.as_str().to_string(),
                    count,
                })
                .collect(),
        }
    }
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first.
    #[default]
    Relevance,
    /// The most recent first (among the best matches; papers without a year last), ties by
    /// relevance.
    Date,
    /// The highest level of evidence first (among the best matches: meta-analyses, systematic
    /// reviews, guidelines, trials, ...; papers without a design last), ties by relevance.
    Evidence,
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
    fn facets_count_what_each_filter_would_show() {
        let records = [
            record(Some(2021), "Smith", Some("The Lancet")),
            record(Some(2021), "Jones", Some("Lancet")),
            record(Some(2019), "smith", Some("The Lancet Oncology")),
            record(None, "Doe", None),
        ];
        let f = Facets::count(&records);
        assert_eq!(f.papers, 4);
        let pairs = |v: &[FacetValue]| -> Vec<(String, usize)> {
            v.iter().map(|v| (v.value.clone(), v.count)).collect()
        };
        assert_eq!(pairs(&f.years), [("2021".into(), 2), ("2019".into(), 1)]);
        // "Lancet" lets all three through, as the venue filter would.
        assert_eq!(
            pairs(&f.venues),
            [
                ("Lancet".into(), 3),
                ("The Lancet".into(), 2),
                ("The Lancet Oncology".into(), 1)
            ]
        );
        // One surname, however it is cased.
        assert_eq!(
            pairs(&f.authors),
            [("Smith".into(), 2), ("Doe".into(), 1), ("Jones".into(), 1)]
        );
        assert_eq!(Facets::count(&[]), Facets::default());
    }

    #[test]
    fn years_authors_and_venues_filter() {
        let r = record(Some(2021), "Smith", Some("The Lancet"));
        let f = |years, author: Option<&str>, venue: Option<&str>| PaperFilter {
            years,
            author: author.map(str::to_string),
            venue: venue.map(str::to_string),
            ..PaperFilter::default()
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
