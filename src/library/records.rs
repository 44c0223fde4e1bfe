//! Papers' records: what was read from each PDF with the user's corrections laid over it,
//! corrections made, and records read again where an older reader read them.

use super::*;
use crate::catalog::StoredRecord;
use crate::metadata::{Edit, Record};

/// A paper's record as shown: the stored reading (or, for a paper indexed before readings
/// were kept, its title and the year its first page prints), corrections over it.
pub(super) fn record_of(stored: StoredRecord) -> Record {
    let read = stored
        .metadata
        .as_deref()
        .and_then(|json| serde_json::from_str::<Record>(json).ok())
        .unwrap_or_else(|| Record::fallback(stored.title, year_of(stored.first_page)));
    // Zotero's curated record wins over the reading; the user's corrections over both.
    let read = match super::zotero::zotero_record(&stored.zotero) {
        Some(zotero) => read.overlay(&zotero),
        None => read,
    };
    read.with_edits(stored.edits.iter().map(|(f, v)| (f.as_str(), v.as_str())))
}

/// The record of a document, where the catalog holds it.
pub(super) fn record_in(catalog: &Catalog, doc: DocumentId) -> Result<Option<Record>> {
    Ok(catalog.record(doc)?.map(record_of))
}

/// The record of the paper at `path` (as the library holds the path), or the error that
/// says it is not in the library.
pub(super) fn record_at(catalog: &Catalog, path: &Path) -> Result<(DocumentId, Record)> {
    let doc = catalog
        .file(path)?
        .filter(|f| f.status == Status::Indexed)
        .ok_or_else(|| Error::NotInLibrary(path.to_path_buf()))?
        .document;
    let record = record_in(catalog, doc)?.ok_or_else(|| Error::NotInLibrary(path.to_path_buf()))?;
    Ok((doc, record))
}

/// The record as read from the PDF, without corrections (`None` where none was stored).
fn reading_of(stored: &StoredRecord) -> Option<Record> {
    serde_json::from_str(stored.metadata.as_deref()?).ok()
}

impl Library {
    /// Carries the user's corrections from a file's former content to its new content (a
    /// PDF saved again with highlights, a fresh download of the same article), where the new
    /// reading is the same paper (the same DOI, or the same title) and holds no corrections of
    /// its own. Where another paper replaced the file, they stay with the former content (and
    /// come back with it).
    pub(super) fn carry_corrections(&mut self, old: DocumentId, new: DocumentId) -> Result<()> {
        let (Some(before), Some(after)) = (self.catalog.record(old)?, self.catalog.record(new)?)
        else {
            return Ok(());
        };
        if before.edits.is_empty() || !after.edits.is_empty() || before.hash == after.hash {
            return Ok(());
        }
        let (Some(was), Some(now)) = (reading_of(&before), reading_of(&after)) else {
            return Ok(());
        };
        let same_doi = was.doi.is_some() && was.doi == now.doi;
        let same_title = match (&was.title, &now.title) {
            (Some(a), Some(b)) => crate::metadata::titles_agree(a, b),
            _ => false,
        };
        if !(same_doi || same_title) {
            return Ok(());
        }
        let edits: Vec<(&str, Option<&str>)> = before
            .edits
            .iter()
            .map(|(f, v)| (f.as_str(), Some(v.as_str())))
            .collect();
        self.catalog.set_edits(&after.hash, &edits)
    }

    /// The record of the paper at `path`.
    pub fn record(&self, path: &Path) -> Result<Record> {
        record_at(&self.catalog, path).map(|(_, r)| r)
    }

    /// Corrects the record of the paper at `path`: `set` replaces fields (an empty value says
    /// the paper has none), `reset` takes the user's correction of a field back, so the
    /// reading shows again. All or nothing; the corrections are kept by the paper's content,
    /// so that no reading of the file overwrites them. Returns the record as now shown.
    pub fn correct(&mut self, path: &Path, set: &[Edit], reset: &[&str]) -> Result<Record> {
        self.open_for_writing()?;
        let (doc, _) = record_at(&self.catalog, path)?;
        let hash = self
            .catalog
            .record(doc)?
            .ok_or_else(|| Error::NotInLibrary(path.to_path_buf()))?
            .hash;
        let mut changes: Vec<(&str, Option<&str>)> =
            reset.iter().map(|field| (*field, None)).collect();
        changes.extend(set.iter().map(|e| (e.field, Some(e.stored_value()))));
        self.catalog.set_edits(&hash, &changes)?;
        record_at(&self.catalog, path).map(|(_, r)| r)
    }

    /// Mines the indexed papers' abbreviations again from their stored pages where an older
    /// miner mined them ([`crate::clinical::abbrev::MINER`]); nothing where the current one
    /// did. One transaction: a crash leaves the old definitions and the old version, and the
    /// next run does it again. `sink` hears it start ([`super::Tidying::Remining`]). Returns
    /// how many papers were mined again.
    pub(super) fn remine_definitions(&mut self, sink: &dyn super::Sink) -> Result<usize> {
        use crate::clinical::abbrev::{definitions, MINER};
        if self.catalog.definitions_miner()? >= MINER {
            return Ok(0);
        }
        let (papers, _) = self.catalog.counts()?;
        if papers > 0 {
            sink.event(&super::IndexEvent::Tidying(super::Tidying::Remining {
                papers,
            }));
        }
        let mut mined: Vec<(DocumentId, Vec<crate::clinical::abbrev::Definition>)> = Vec::new();
        self.catalog
            .for_each_indexed_text(&mut |id, pages| mined.push((id, definitions(&pages))))?;
        let stored: Vec<(DocumentId, Vec<crate::catalog::StoredDefinition<'_>>)> = mined
            .iter()
            .map(|(id, d)| (*id, super::store::stored_definitions(d)))
            .collect();
        self.catalog.replace_definitions(&stored, MINER)?;
        Ok(mined.len())
    }

    /// Reads the record of an unchanged paper again, where an older reader (or none) read it:
    /// the file is extracted again in the worker, its passages left as they are. Returns
    /// whether the file still holds the paper's content; where it does not (it changed
    /// keeping its size and time), the caller reads it as a changed file.
    ///
    /// A file that fails for a reason of its own keeps the record it had (or the fallback) and
    /// is not tried again until the reader changes; one that fails for a passing reason (a
    /// time limit, a worker that could not start, a share that hiccuped) is tried again at the
    /// next run.
    pub(super) fn reread_record(&mut self, path: &Path, doc: DocumentId) -> Result<bool> {
        use crate::ExtractError as E;
        let Some(stored) = self.catalog.record(doc)? else {
            return Ok(true);
        };
        // The pages OCR read in this file are read from the catalog, not again: a newer
        // reader of records must not cost a scan's OCR (seconds a page) once more.
        let read_before: Vec<crate::extract::ocr::OcrPage> = self
            .catalog
            .ocr_pages(doc)?
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect();
        let options = crate::extract::ReadOptions {
            stored: &read_before,
            ..crate::extract::ReadOptions::plain()
        };
        let json = match self.extractor.extract_with(path, &options) {
            Ok(extracted) if extracted.hash.as_deref().is_none_or(|h| h == stored.hash) => {
                // The abbreviations it defines, mined first: the reader's version, set
                // last, says the whole reading is done.
                let mined = crate::clinical::abbrev::definitions(&extracted.pages);
                self.catalog
                    .set_definitions(doc, &super::store::stored_definitions(&mined))?;
                extracted
                    .metadata
                    .as_ref()
                    .and_then(|m| serde_json::to_string(m).ok())
            }
            Ok(_) => return Ok(false),
            Err(E::NotPdf | E::Encrypted | E::NoText | E::TooLarge(_) | E::Damaged(_)) => None,
            Err(_) => return Ok(true),
        };
        let json = json.or(stored.metadata);
        self.catalog
            .set_metadata(doc, json.as_deref(), crate::metadata::READER)?;
        Ok(true)
    }
}
