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

impl Library {
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

    /// Reads the record of an unchanged paper again, where an older reader (or none) read it:
    /// the file is extracted again in the worker, its passages left as they are. A file that
    /// fails now keeps the record it had (or the fallback), and is not tried again until the
    /// reader changes.
    pub(super) fn reread_record(&mut self, path: &Path, doc: DocumentId) -> Result<()> {
        let Some(stored) = self.catalog.record(doc)? else {
            return Ok(());
        };
        let json = match self.extractor.extract(path) {
            Ok(extracted) if extracted.hash.as_deref().is_none_or(|h| h == stored.hash) => {
                extracted
                    .metadata
                    .as_ref()
                    .and_then(|m| serde_json::to_string(m).ok())
            }
            // Changed meanwhile: the next run reads the new content whole.
            Ok(_) => return Ok(()),
            Err(_) => None,
        };
        let json = json.or(stored.metadata);
        self.catalog
            .set_metadata(doc, json.as_deref(), crate::metadata::READER)
    }
}
