//! What a library holds and what its answers say about it: counts, the model, failures, and
//! the notice (keywords only, a repair pending) every output carries.

use super::*;

/// The state of a library.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LibraryStatus {
    /// The library folder.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub library: PathBuf,
    /// Indexed papers.
    pub documents: u64,
    /// Passages.
    pub chunks: u64,
    /// Passages with a vector.
    pub vectors: u64,
    /// Passages kept for keyword search only, never embedded: reference lists
    /// ([`crate::chunk::is_reference_list`]), and the rare passage the model failed on.
    /// `vectors + reference_passages + vectors_waiting` equals `chunks`.
    pub reference_passages: u64,
    /// Passages that should have a vector and have none yet, where there is a model: the
    /// second phase of indexing is under way, or was interrupted (the next index run, or the
    /// app, finishes it). Keyword search covers them already. 0 without a model.
    pub vectors_waiting: u64,
    /// The papers those passages belong to: searchable by keywords, not yet wholly by meaning.
    pub papers_waiting: u64,
    /// Passages in the keyword index: equals `chunks` when the stores agree.
    pub lexical_entries: u64,
    /// Vectors in the vector index: equals `vectors` when the stores agree (0 without a model).
    pub vector_entries: u64,
    /// Pages whose text OCR read (scans), and the papers they belong to.
    pub ocr_pages: u64,
    /// Papers with at least one page read by OCR.
    pub ocr_papers: u64,
    /// Whether scanned pages are read on this machine, and with what; filled by a face that
    /// asks (it loads Tesseract), absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr: Option<crate::extract::OcrStatus>,
    /// Papers that could not be read, with the reason.
    pub failed: Vec<FailedFile>,
    /// The model in use, or `None` when searching by keywords only.
    pub model: Option<ModelInfo>,
    /// Something the person should know (no model, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Why the indexes could not be repaired at open (a full disk, a read-only folder), where
    /// they could not: answers come from the indexes as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair_pending: Option<String>,
}

/// Counts, the model, and failures of a library, for [`Library::status`] and
/// [`Searcher::status`].
pub(super) fn status_of(
    dir: &Path,
    catalog: &Catalog,
    lexical_entries: u64,
    semantic: Option<&Semantic>,
    repair_pending: Option<&str>,
) -> Result<LibraryStatus> {
    let (documents, _) = catalog.counts()?;
    let (chunks, with_vectors) = catalog.exact_counts()?;
    Ok(LibraryStatus {
        library: dir.to_path_buf(),
        documents,
        chunks,
        vectors: with_vectors,
        reference_passages: chunks - catalog.semantic_count()?.min(chunks),
        vectors_waiting: match semantic {
            Some(_) => catalog.missing_vector_count()?,
            None => 0,
        },
        papers_waiting: match semantic {
            Some(_) => catalog.papers_missing_vectors()?,
            None => 0,
        },
        lexical_entries,
        vector_entries: semantic.map_or(0, |s| s.read().len() as u64),
        ocr_pages: catalog.ocr_counts()?.0,
        ocr_papers: catalog.ocr_counts()?.1,
        ocr: None,
        failed: failed_files(catalog)?,
        model: semantic.map(|s| s.info().clone()),
        notice: notice(semantic.is_none(), repair_pending),
        repair_pending: repair_pending.map(str::to_string),
    })
}

/// What every answer says about the library's state, where there is something to say: no model
/// (keywords only), a repair that could not run.
pub(super) fn notice(no_model: bool, repair_pending: Option<&str>) -> Option<String> {
    let notes: Vec<String> = [
        no_model.then(|| NO_MODEL_NOTICE.to_string()),
        repair_pending.map(|why| {
            format!(
                "The indexes could not be brought up to date with the catalog ({why}): answers \
                 come from what is there, and the repair runs when MedShelf can write again."
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!notes.is_empty()).then(|| notes.join(" "))
}

/// The papers that could not be read, with the reason.
pub(super) fn failed_files(catalog: &Catalog) -> Result<Vec<FailedFile>> {
    Ok(catalog
        .documents_with(Status::Failed)?
        .into_iter()
        .map(|d| FailedFile {
            path: d.path,
            error: d.error.unwrap_or_default(),
        })
        .collect())
}

/// Every document with its state and its record (corrections laid over the reading); its
/// title and year are the record's.
pub(super) fn documents_of(catalog: &Catalog) -> Result<Vec<crate::catalog::DocumentRow>> {
    let mut docs = catalog.documents()?;
    let mut edits = catalog.all_edits()?;
    let mut zotero = catalog.zotero_by_document()?;
    for d in &mut docs {
        let items = zotero.remove(&d.id).unwrap_or_default();
        d.zotero = super::zotero::membership_of(&items);
        if d.status != Status::Indexed {
            // Every row carries the object: a paper that could not be read has an empty one.
            d.meta = Some(crate::metadata::Record::default());
            continue;
        }
        let mut record = super::records::record_of(crate::catalog::StoredRecord {
            hash: String::new(),
            title: d.title.take(),
            metadata: d.metadata.take(),
            edits: edits.remove(&d.hash).unwrap_or_default(),
            first_page: d.first_page.take(),
            zotero: items,
        });
        d.title = record.title.clone();
        d.year = record.year;
        d.design = record.design.take();
        d.meta = Some(record);
    }
    Ok(docs)
}

/// The year a paper was published, where its first page says: read from the stored text each
/// time, so that a better reading needs no re-index.
pub(super) fn year_of(first_page: Option<String>) -> Option<u16> {
    first_page
        .as_deref()
        .and_then(crate::extract::publication_year)
}
