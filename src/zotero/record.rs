//! Zotero's fields as a MedShelf record, every value's source `zotero`.

use std::collections::HashMap;

use super::*;
use crate::metadata::{Author, Source};

/// The 1-based page of an annotation from its position (`{"pageIndex": 0, ...}`).
pub(super) fn page_of(position: &str) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_str(position).ok()?;
    let index = value.get("pageIndex")?.as_u64()?;
    u32::try_from(index).ok()?.checked_add(1)
}

/// Zotero's fields as a record (every value's source `zotero`), and the URL.
pub(super) fn record_of(
    item_type: &str,
    fields: Option<&HashMap<String, String>>,
    creators: Option<&Vec<Creator>>,
) -> (Record, Option<String>) {
    let empty = HashMap::new();
    let fields = fields.unwrap_or(&empty);
    let get = |name: &str| {
        fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut record = Record::default();
    let set = |record: &mut Record, field: &str| {
        record.provenance.insert(field.to_string(), Source::Zotero);
    };
    if let Some(title) = get("title") {
        record.title = Some(title);
        set(&mut record, "title");
    }
    // The primary creators: authors, else (an edited book) editors, else whoever is listed.
    let creators = creators.map(Vec::as_slice).unwrap_or_default();
    let primary: Vec<&Creator> = ["author", "editor"]
        .iter()
        .map(|role| {
            creators
                .iter()
                .filter(|c| c.role == *role)
                .collect::<Vec<_>>()
        })
        .find(|c| !c.is_empty())
        .unwrap_or_else(|| creators.iter().collect());
    record.authors = primary
        .iter()
        .filter(|c| !c.family.trim().is_empty() || !c.given.trim().is_empty())
        .map(|c| Author {
            family: c.family.trim().to_string(),
            given: c.given.trim().to_string(),
        })
        .collect();
    if !record.authors.is_empty() {
        set(&mut record, "authors");
    }
    // `2025-01-15 January 15, 2025`: the first part is the date as SQL writes it, 00 unknown.
    if let Some(year) = get("date")
        .and_then(|d| d.get(..4).and_then(|y| y.parse::<u16>().ok()))
        .filter(|y| *y > 0)
    {
        record.year = Some(year);
        set(&mut record, "year");
    }
    let venue = get("publicationTitle")
        .or_else(|| {
            (item_type == "preprint")
                .then(|| get("repository"))
                .flatten()
        })
        .or_else(|| get("conferenceName"));
    if let Some(venue) = venue {
        record.venue = Some(venue);
        set(&mut record, "venue");
    }
    let extra = get("extra").unwrap_or_default();
    let line = |label: &str| {
        extra.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case(label)
                .then(|| value.trim().to_string())
        })
    };
    if let Some(doi) = get("DOI")
        .or_else(|| line("DOI"))
        .and_then(|d| crate::metadata::normalize_doi(&d))
    {
        record.doi = Some(doi);
        set(&mut record, "doi");
    }
    if let Some(pmid) =
        line("PMID").filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        record.pmid = Some(pmid);
        set(&mut record, "pmid");
    }
    if let Some(pmcid) = line("PMCID").map(|p| p.to_ascii_uppercase()).filter(|p| {
        p.strip_prefix("PMC")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    }) {
        record.pmcid = Some(pmcid);
        set(&mut record, "pmcid");
    }
    if let Some(abstract_text) = get("abstractNote") {
        record.abstract_text = Some(abstract_text);
        set(&mut record, "abstract");
    }
    (record, get("url"))
}
