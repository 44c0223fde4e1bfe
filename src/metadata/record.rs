//! A paper's record as the library stores and shows it, and the user's corrections to it.
//!
//! [`Record`] is the `meta` object of `docs --json` and `search --json`: each field's value
//! and, in `provenance`, where it came from. The record read from the PDF is stored as it is;
//! a user's corrections ([`Edit`]) are kept apart, keyed by the paper's content, and laid over
//! it each time it is shown ([`Record::with_edits`]), so that reading the PDF again (a better
//! reader, a re-index) never overwrites what the user said.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::edit::Edit;
use super::{Author, Metadata, Source};

/// The version of the metadata reader. Records read by an older one are read again by the
/// next index run, so a better reader reaches papers indexed before it. (A better miner of
/// abbreviations needs no reading of the PDF: see [`crate::clinical::abbrev::MINER`].)
/// 5: a scan's title and authors from the sizes OCR's word boxes give (its pages' stored OCR
/// is taken again, not read again).
/// 6: Info strings in UTF-8 without a mark read as UTF-8 ("Providência", not "ProvidÃªncia").
pub const READER: i64 = 6;

/// The fields a record has, by their names in JSON and in `meta --set`.
pub const FIELDS: [&str; 10] = [
    "title",
    "authors",
    "year",
    "venue",
    "doi",
    "pmid",
    "pmcid",
    "trial_ids",
    "abstract",
    "design",
];

/// What is known of a paper, field by field, with where each value came from.
// Not `Eq`: the design's confidence is a float.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its title.
    pub title: Option<String>,
    /// Its authors, in order.
    #[serde(default)]
    pub authors: Vec<Author>,
    /// The year it was published.
    pub year: Option<u16>,
    /// The journal, preprint server or conference.
    pub venue: Option<String>,
    /// Its DOI, lower-case, without a resolver prefix.
    pub doi: Option<String>,
    /// Its PubMed id.
    pub pmid: Option<String>,
    /// Its PubMed Central id (`PMC` and digits).
    pub pmcid: Option<String>,
    /// Trial registration ids (NCT01234567 and the like).
    #[serde(default)]
    pub trial_ids: Vec<String>,
    /// Its abstract.
    #[serde(rename = "abstract")]
    pub abstract_text: Option<String>,
    /// Its study design, with its own source and reasons (not in `provenance`). Results and
    /// rows show it beside the record (their `design`), so it is taken out of the `meta` they
    /// show; `meta --json` shows it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<crate::clinical::Design>,
    /// Where each field that has a value (or that the user emptied) came from, by field name.
    #[serde(default)]
    pub provenance: BTreeMap<String, Source>,
}

impl From<&Metadata> for Record {
    fn from(m: &Metadata) -> Self {
        let mut record = Record::default();
        let mut note = |field: &str, source: Source| {
            record.provenance.insert(field.to_string(), source);
        };
        if let Some(f) = &m.title {
            note("title", f.source);
        }
        if let Some(f) = &m.authors {
            note("authors", f.source);
        }
        if let Some(f) = &m.year {
            note("year", f.source);
        }
        if let Some(f) = &m.venue {
            note("venue", f.source);
        }
        if let Some(f) = &m.doi {
            note("doi", f.source);
        }
        if let Some(f) = &m.pmid {
            note("pmid", f.source);
        }
        if let Some(f) = &m.pmcid {
            note("pmcid", f.source);
        }
        if let Some(f) = &m.abstract_text {
            note("abstract", f.source);
        }
        record.title = m.title.as_ref().map(|f| f.value.clone());
        record.authors = m
            .authors
            .as_ref()
            .map(|f| f.value.clone())
            .unwrap_or_default();
        record.year = m.year.as_ref().map(|f| f.value);
        record.venue = m.venue.as_ref().map(|f| f.value.clone());
        record.doi = m.doi.as_ref().map(|f| f.value.clone());
        record.pmid = m.pmid.as_ref().map(|f| f.value.clone());
        record.pmcid = m.pmcid.as_ref().map(|f| f.value.clone());
        record.abstract_text = m.abstract_text.as_ref().map(|f| f.value.clone());
        record
    }
}

impl Record {
    /// The record with the user's corrections laid over it. A correction that no longer parses
    /// (written by a later MedShelf, say) is skipped rather than shown wrong.
    pub fn with_edits<'a>(mut self, edits: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        for (field, value) in edits {
            // Stored values were checked when they were made and are laid over as they are (a
            // year checked against a clock that was right then stays).
            if let Some(field) = FIELDS.iter().copied().find(|f| *f == field) {
                let value = (!value.is_empty()).then(|| value.to_string());
                Edit { field, value }.apply(&mut self);
            }
        }
        self
    }

    /// This record with every field `over` has a value for replaced by it, with its source:
    /// a Zotero item's record laid over what was read from the PDF (the user's corrections go
    /// over both, with [`Record::with_edits`]).
    pub fn overlay(mut self, over: &Record) -> Self {
        let mut take = |field: &str, present: bool| {
            if present {
                let source = over
                    .provenance
                    .get(field)
                    .copied()
                    .unwrap_or(Source::Zotero);
                self.provenance.insert(field.to_string(), source);
            }
            present
        };
        if take("title", over.title.is_some()) {
            self.title = over.title.clone();
        }
        if take("authors", !over.authors.is_empty()) {
            self.authors = over.authors.clone();
        }
        if take("year", over.year.is_some()) {
            self.year = over.year;
        }
        if take("venue", over.venue.is_some()) {
            self.venue = over.venue.clone();
        }
        if take("doi", over.doi.is_some()) {
            self.doi = over.doi.clone();
        }
        if take("pmid", over.pmid.is_some()) {
            self.pmid = over.pmid.clone();
        }
        if take("pmcid", over.pmcid.is_some()) {
            self.pmcid = over.pmcid.clone();
        }
        if take("trial_ids", !over.trial_ids.is_empty()) {
            self.trial_ids = over.trial_ids.clone();
        }
        if take("abstract", over.abstract_text.is_some()) {
            self.abstract_text = over.abstract_text.clone();
        }
        self
    }

    /// A record of a paper indexed before records were stored: the title the catalog kept and
    /// the year its first page prints. Where the title came from was not kept, so it is not
    /// claimed.
    pub fn fallback(title: Option<String>, year: Option<u16>) -> Self {
        let mut record = Record {
            title,
            year,
            ..Record::default()
        };
        if year.is_some() {
            record.provenance.insert("year".into(), Source::Pattern);
        }
        record
    }

    /// The first author's surname with "et al." where there are more: how a list names a paper.
    pub fn first_author_short(&self) -> Option<String> {
        let first = self.authors.first()?;
        Some(match self.authors.len() {
            1 => first.family.clone(),
            2 => format!("{} and {}", first.family, self.authors[1].family),
            _ => format!("{} et al.", first.family),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_win_and_say_so() {
        let read = Record {
            title: Some("Wrong title".into()),
            year: Some(2014),
            venue: Some("Some journal".into()),
            provenance: BTreeMap::from([
                ("title".to_string(), Source::Layout),
                ("year".to_string(), Source::Pattern),
                ("venue".to_string(), Source::Pattern),
            ]),
            ..Record::default()
        };
        let shown = read.with_edits([
            ("title", "Right title"),
            ("authors", "Smith, John; Jane Doe"),
            ("venue", ""),
        ]);
        assert_eq!(shown.title.as_deref(), Some("Right title"));
        assert_eq!(shown.year, Some(2014));
        assert_eq!(shown.venue, None);
        assert_eq!(shown.authors[1].family, "Doe");
        assert_eq!(shown.first_author_short().as_deref(), Some("Smith and Doe"));
        assert_eq!(shown.provenance["title"], Source::User);
        assert_eq!(shown.provenance["venue"], Source::User);
        assert_eq!(shown.provenance["year"], Source::Pattern);
    }

    #[test]
    fn the_json_names_the_contract_fields() {
        let json = serde_json::to_value(Record::default()).unwrap();
        // The design is shown beside the record, and only where one was read.
        for field in FIELDS.iter().filter(|f| **f != "design") {
            assert!(json.get(field).is_some(), "{field} missing");
        }
        assert!(json.get("provenance").is_some());
    }
}
