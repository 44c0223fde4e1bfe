//! One result per article: files that are the same article (two downloads, a preprint and its
//! published version: the same DOI, or the same title and first author) are one result with
//! several versions, never two results.

use super::*;
use crate::metadata::{work_keys, Record};
use crate::search::{PaperMeta, Version};

/// A ranking with each article once, the other files of each, and the records read on the way.
pub(super) struct Works {
    /// The ranking, a version of an article ranked above taken out.
    pub(super) documents: Vec<(DocumentId, f32)>,
    versions: HashMap<DocumentId, Vec<DocumentId>>,
    records: HashMap<DocumentId, Record>,
}

/// The articles among `documents` (best first): a document that is another file of an article
/// ranked above it (by the records as shown, corrections included) becomes one of its versions.
/// Records are read in rank order until `limit` articles are found; the rest of the ranking is
/// kept as it is (it is never shown). A record that cannot be read merges nothing.
pub(super) fn one_per_work(
    catalog: &Catalog,
    documents: Vec<(DocumentId, f32)>,
    limit: usize,
) -> Works {
    let mut first_of: HashMap<String, DocumentId> = HashMap::new();
    let mut works = Works {
        documents: Vec::with_capacity(documents.len()),
        versions: HashMap::new(),
        records: HashMap::new(),
    };
    let mut articles = 0;
    for (doc, score) in documents {
        if articles >= limit {
            works.documents.push((doc, score));
            continue;
        }
        let record = super::records::record_in(catalog, doc)
            .ok()
            .flatten()
            .unwrap_or_default();
        let keys = work_keys(&record);
        let earlier = keys.iter().flatten().find_map(|k| first_of.get(k).copied());
        let first = earlier.unwrap_or(doc);
        // A version's keys lead to its article too: a third file with the version's DOI but
        // the article's title misspelt is the same article.
        for key in keys.into_iter().flatten() {
            first_of.entry(key).or_insert(first);
        }
        match earlier {
            Some(first) => works.versions.entry(first).or_default().push(doc),
            None => {
                works.documents.push((doc, score));
                articles += 1;
            }
        }
        works.records.insert(doc, record);
    }
    works
}

impl Works {
    /// What a result shows of `doc`, its versions included; `None` for a paper removed since
    /// the search began.
    pub(super) fn paper(
        &self,
        catalog: &Catalog,
        doc: DocumentId,
        meaning_only: bool,
    ) -> Option<PaperMeta> {
        let mut paper = super::searcher::paper_meta(
            catalog,
            doc,
            meaning_only,
            self.records.get(&doc).cloned(),
        )?;
        paper.versions = self
            .versions
            .get(&doc)
            .into_iter()
            .flatten()
            .filter_map(|&v| {
                let record = self.records.get(&v)?;
                Some(Version {
                    path: catalog.first_path(v).ok().flatten()?,
                    title: record.title.clone(),
                    year: record.year,
                    venue: record.venue.clone(),
                    doi: record.doi.clone(),
                })
            })
            .collect();
        Some(paper)
    }

    /// The record of `doc` as shown, read again where this ranking did not read it.
    pub(super) fn record(&self, catalog: &Catalog, doc: DocumentId) -> Result<Option<Record>> {
        match self.records.get(&doc) {
            Some(record) => Ok(Some(record.clone())),
            None => super::records::record_in(catalog, doc),
        }
    }
}
