//! PDF to per-page text: the `extract` stage.
//!
//! pdf-extract does the parsing; this module owns what surrounds it: reading the file once, telling
//! a person why a file failed (encrypted, not a PDF, scanned, damaged), the document's title, and
//! normalising the text so that chunks, snippets and the keyword index see clean prose: ligatures
//! expanded, words hyphenated across line ends joined, running headers, footers and page numbers
//! dropped, whitespace collapsed. Page numbers are kept: page `i` of [`Extracted::pages`] is the
//! PDF's page `i + 1`, so a hit can always be shown in place.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::error::Fault;

mod files;
mod glue;
mod layout;
mod text;
mod title;
mod year;

pub(crate) use layout::{PageLayout, StyledLine};
use title::info_title;
pub(crate) use title::{first_page_title, info_string, plausible_title};
mod ink;
pub mod ocr;
mod ocr_layout;
mod ocr_misread;
mod ocr_order;
mod opening;
pub mod poppler;
mod tesseract;
mod text_layer;
pub(crate) mod turn;
pub mod worker;

pub use files::{find_pdfs, is_pdf_name};
pub use ocr::{OcrPage, OcrProgress, OcrStatus, OcrWord};
pub(crate) use opening::{blank, opening_at};

use text::collapse_whitespace;
pub(crate) use text::{head_bytes, normalize_chars};
pub use text::{normalize_pages, split_running_heads};
pub use worker::{default_workers, run_worker, WorkerExtractor};
pub use year::{arxiv_year, citation_year, copyright_year, head_citation_year, publication_year};

/// Files larger than this are refused before parsing: no paper is this big, and a hostile file
/// this big would exhaust memory during parsing.
pub const MAX_PDF_BYTES: u64 = 512 * 1024 * 1024;

/// Why a file yielded no text. Each variant reads as advice a clinician can act on.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ExtractError {
    /// The file does not start like a PDF.
    #[error("not a PDF (the file does not start with %PDF)")]
    NotPdf,
    /// The PDF is password-protected.
    #[error("encrypted: the PDF is password-protected; save an unprotected copy and add that")]
    Encrypted,
    /// The PDF parsed but holds no text layer, and OCR read none either (a blank or
    /// picture-only document, or a scan where OCR is off or not installed).
    #[error("no text found: the pages hold no readable text, and OCR read none (a blank or picture-only document; or OCR is off or not installed, which `medshelf status` tells)")]
    NoText,
    /// Too large to parse safely.
    #[error("too large: {0} bytes is more than MedShelf reads from one PDF")]
    TooLarge(u64),
    /// The PDF's structure is broken in a way the parser cannot get past.
    #[error("damaged: {0}")]
    Damaged(String),
    /// The parser took longer than the time allowed.
    #[error("timed out: the PDF took longer than {0} s to read, and was skipped")]
    TimedOut(u64),
    /// The parser itself failed (a bug in it, triggered by this file).
    #[error("the PDF reader failed on this file: {0}")]
    ReaderCrashed(String),
    /// The file could not be read.
    #[error("unreadable: {0}")]
    Unreadable(String),
    /// The file kept changing while it was read (it is being written or copied).
    #[error("changing: the file changed while it was being read; it is read again once it has stopped changing")]
    Changing,
    /// A scan (no page has a text layer) where OCR cannot run: what to install is in the
    /// reason; `index --retry-failed` reads it once OCR is there.
    #[error("a scan without text, and OCR is not available: {0}")]
    ScanWithoutOcr(String),
    /// The person cancelled while the file was being read (a long scan's OCR, say): nothing
    /// of it is recorded, and the next run reads it again.
    #[error("cancelled: reading stopped when the run was cancelled; the next run reads it again")]
    Cancelled,
}

impl ExtractError {
    /// A stable code for front ends and for counting failures by reason.
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::NotPdf => "not_pdf",
            ExtractError::Encrypted => "encrypted",
            ExtractError::NoText => "no_text",
            ExtractError::ScanWithoutOcr(_) => "scan_without_ocr",
            ExtractError::TooLarge(_) => "too_large",
            ExtractError::Damaged(_) => "damaged",
            ExtractError::TimedOut(_) => "timed_out",
            ExtractError::ReaderCrashed(_) => "reader_crashed",
            ExtractError::Unreadable(_) => "unreadable",
            ExtractError::Changing => "changing",
            ExtractError::Cancelled => "cancelled",
        }
    }

    /// Whose fault it is: a crashing reader is ours, an unreadable file the machine's, the rest the file's.
    pub fn fault(&self) -> Fault {
        match self {
            ExtractError::ReaderCrashed(_) => Fault::Internal,
            ExtractError::Unreadable(_)
            | ExtractError::Changing
            | ExtractError::Cancelled
            | ExtractError::ScanWithoutOcr(_) => Fault::Machine,
            _ => Fault::User,
        }
    }
}

/// The text of one PDF, ready to chunk.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Extracted {
    /// The title: the PDF's Info title where it looks like one, else a first-page heuristic.
    pub title: Option<String>,
    /// Normalised text of each page, in page order (index 0 is page 1).
    pub pages: Vec<String>,
    /// The BLAKE3 hash of the bytes that were parsed, where they came from a file: the text
    /// belongs to exactly this content, even if the file was rewritten while it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The running heads and feet taken out of the pages (each distinct line once, in the
    /// order first seen): a journal's name, the citation line and the DOI are often printed
    /// only there, which the metadata reader looks at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_heads: Vec<String>,
    /// The paper's record (title, authors, year, venue, DOI...) read from the PDF; `None`
    /// where the text did not come from a PDF (a benchmark corpus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Box<crate::metadata::Record>>,
    /// The pages whose text OCR read (a scan), with each word's confidence and box; pages
    /// with a text layer of their own are not here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ocr: Vec<OcrPage>,
}

/// How one file is read: whether scanned pages are recognised, where OCR's progress goes and
/// when to stop (a long scan's OCR stops between pages once `cancel` is set).
#[derive(Clone, Copy)]
pub struct ReadOptions<'a> {
    /// Recognise pages without a usable text layer (where OCR is installed).
    pub ocr: bool,
    /// Told before each page OCR reads.
    pub progress: &'a (dyn Fn(OcrProgress) + Sync),
    /// Set when the person cancels.
    pub cancel: &'a AtomicBool,
    /// Pages OCR read before in this very file (its record read again by a newer reader):
    /// taken as they are instead of being read again, which costs seconds a page.
    pub stored: &'a [OcrPage],
}

impl ReadOptions<'static> {
    /// OCR as the settings say, nobody told, never cancelled.
    pub fn plain() -> Self {
        static NEVER: AtomicBool = AtomicBool::new(false);
        ReadOptions {
            ocr: !crate::settings::get().ocr_off,
            progress: &|_| {},
            cancel: &NEVER,
            stored: &[],
        }
    }
}

/// Turns a file into [`Extracted`] text. A seam so that a PDF can be read in this process or in an
/// isolated worker.
pub trait Extractor: Send + Sync {
    /// Extracts one file.
    fn extract(&self, path: &Path) -> Result<Extracted, ExtractError>;

    /// Extracts one file as `options` say (OCR, progress, cancel); those that cannot OCR
    /// ignore them.
    fn extract_with(
        &self,
        path: &Path,
        options: &ReadOptions<'_>,
    ) -> Result<Extracted, ExtractError> {
        let _ = options;
        self.extract(path)
    }

    /// How many files it reads well at once (an index run reads ahead with as many threads
    /// where this is more than one).
    fn readers(&self) -> usize {
        1
    }
}

/// Reads PDFs in this process, catching the parser's panics.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessExtractor;

impl Extractor for InProcessExtractor {
    fn extract(&self, path: &Path) -> Result<Extracted, ExtractError> {
        extract_file(path)
    }

    fn extract_with(
        &self,
        path: &Path,
        options: &ReadOptions<'_>,
    ) -> Result<Extracted, ExtractError> {
        extract_file_with(path, options)
    }
}

/// Reads and extracts one PDF file (OCR as the settings say).
pub fn extract_file(path: &Path) -> Result<Extracted, ExtractError> {
    extract_file_with(path, &ReadOptions::plain())
}

/// Reads and extracts one PDF file as `options` say.
pub fn extract_file_with(
    path: &Path,
    options: &ReadOptions<'_>,
) -> Result<Extracted, ExtractError> {
    extract_file_with_metadata(path, options).map(|(extracted, _)| extracted)
}

/// [`extract_file_with`] with the paper's record as the metadata reader gives it, sources and
/// all: what `eval-meta` measures, read as an index run reads the file (the second reader
/// and OCR included, where they are installed).
pub(crate) fn extract_file_with_metadata(
    path: &Path,
    options: &ReadOptions<'_>,
) -> Result<(Extracted, crate::metadata::Metadata), ExtractError> {
    let size = std::fs::metadata(path)
        .map_err(|e| ExtractError::Unreadable(e.to_string()))?
        .len();
    if size > MAX_PDF_BYTES {
        return Err(ExtractError::TooLarge(size));
    }
    let bytes = std::fs::read(path).map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    let raw = with_second_reader(path, read_raw(&bytes));
    let raw = match options.ocr {
        true => ocr::with_ocr(path, raw, options)?,
        false => raw?,
    };
    let (mut extracted, metadata) = finish_with_metadata(raw)?;
    extracted.hash = Some(blake3::hash(&bytes).to_hex().to_string());
    Ok((extracted, metadata))
}

/// Extracts a PDF held in memory, with pdf-extract alone.
pub fn extract_bytes(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    finish(read_raw(bytes)?)
}

/// [`extract_bytes`] with the paper's record as the metadata reader gives it, sources and all
/// (pdf-extract alone, in this process: no second reader, no OCR).
pub(crate) fn extract_with_metadata(
    bytes: &[u8],
) -> Result<(Extracted, crate::metadata::Metadata), ExtractError> {
    finish_with_metadata(read_raw(bytes)?)
}

/// A page's text has fewer letters and digits than this: nothing usable on it.
const EMPTY_PAGE: usize = 20;

/// Pages read as symbol soup above this share of their words go to the second reader.
const GARBLED_PAGE: f64 = 0.15;
/// A document read as symbol soup above this share of its words goes there page by page.
const GARBLED_DOCUMENT: f64 = 0.08;

/// Asks the second reader for what pdf-extract could not read: the whole document when it
/// failed on it, else the pages it failed on, found empty, or decoded into symbol soup. A
/// page is replaced only where the second reader did better on it.
fn with_second_reader(
    path: &Path,
    first: Result<RawPdf, ExtractError>,
) -> Result<RawPdf, ExtractError> {
    let letters = |t: &str| t.chars().filter(|c| c.is_alphanumeric()).count();
    // The second reading as a whole document, where it has text.
    let whole = |pages: Vec<String>, info_title: Option<String>| RawPdf {
        info_title,
        failed: vec![false; pages.len()],
        pages,
        embedded: None,
        ocr: Vec::new(),
    };
    let mut raw = match first {
        Ok(raw) => raw,
        // Encrypted too: a file protected with an empty user password opens without asking,
        // and poppler opens more of those than pdf-extract does.
        Err(
            e @ (ExtractError::Damaged(_)
            | ExtractError::ReaderCrashed(_)
            | ExtractError::Encrypted),
        ) => {
            return match poppler::pages(path) {
                Some(pages) if has_text(&pages) => Ok(whole(pages, None)),
                _ => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    let soup = poppler::garbled(&raw.pages.join("\n")) > GARBLED_DOCUMENT;
    let wanted: Vec<usize> = (0..raw.pages.len())
        .filter(|&i| {
            let page = &raw.pages[i];
            raw.failed[i]
                || letters(page) < EMPTY_PAGE
                || soup
                || poppler::garbled(page) > GARBLED_PAGE
        })
        .collect();
    // No pages at all (a page tree the first reader could not follow) is no text either.
    if (wanted.is_empty() && !raw.pages.is_empty()) || !poppler::available() {
        return Ok(raw);
    }
    let Some(second) = poppler::pages(path) else {
        return Ok(raw);
    };
    if second.len() != raw.pages.len() {
        // The two readers disagree on the pages (a damaged cross-reference table): page by
        // page means nothing, but where the first found no text at all the second's is it.
        return Ok(if !has_text(&raw.pages) && has_text(&second) {
            RawPdf {
                embedded: raw.embedded,
                ..whole(second, raw.info_title)
            }
        } else {
            raw
        });
    }
    for i in wanted {
        let better = if raw.failed[i] || letters(&raw.pages[i]) < EMPTY_PAGE {
            letters(&second[i]) > letters(&raw.pages[i])
        } else {
            poppler::garbled(&second[i]) < poppler::garbled(&raw.pages[i]) / 2.0
        };
        if better {
            raw.pages[i] = second[i].clone();
            raw.failed[i] = false;
        }
    }
    Ok(raw)
}

/// Whether pages hold a usable text layer. A scanned page still yields a stray character or two
/// (page numbers stamped as text, OCR fragments); fewer than [`EMPTY_PAGE`] letters a page (over
/// the first five) means none.
fn has_text(pages: &[String]) -> bool {
    let letters: usize = pages
        .iter()
        .map(|p| p.chars().filter(|c| c.is_alphanumeric()).count())
        .sum();
    !pages.is_empty() && letters >= EMPTY_PAGE * pages.len().min(5)
}

/// pdf-extract's reading of a PDF, its panics caught.
fn read_raw(bytes: &[u8]) -> Result<RawPdf, ExtractError> {
    // Many real PDFs carry a few bytes of junk before the header; readers accept up to 1 KiB.
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(ExtractError::NotPdf);
    }
    catch_unwind(AssertUnwindSafe(|| raw_pages(bytes)))
        .map_err(|panic| ExtractError::ReaderCrashed(crate::error::panic_message(panic.as_ref())))?
}

/// Raw pages to [`Extracted`]: a document without text is a scan, the title is chosen, the text
/// normalised.
fn finish(raw: RawPdf) -> Result<Extracted, ExtractError> {
    finish_with_metadata(raw).map(|(extracted, _)| extracted)
}

fn finish_with_metadata(
    raw: RawPdf,
) -> Result<(Extracted, crate::metadata::Metadata), ExtractError> {
    if !has_text(&raw.pages) {
        return Err(ExtractError::NoText);
    }
    let title = raw.info_title.filter(|t| plausible_title(t)).or_else(|| {
        let at = raw.embedded.as_ref().and_then(|e| e.first_page_at);
        first_page_title(opening_at(&raw.pages, at).first()?)
    });
    let (pages, running_heads) = split_running_heads(&raw.pages);
    let mut extracted = Extracted {
        title,
        pages,
        hash: None,
        running_heads,
        metadata: None,
        ocr: raw.ocr,
    };
    // Read here, in the isolated worker and with the document parsed once: a hostile XMP
    // packet is the worker's risk, not the library's.
    let embedded = raw.embedded.unwrap_or_default();
    let metadata = catch_unwind(AssertUnwindSafe(|| {
        crate::metadata::read_with(embedded, &extracted)
    }))
    .unwrap_or_default();
    let mut record = crate::metadata::Record::from(&metadata);
    // The paper's design and its trial ids, read here with every page at hand (and a rule
    // that panics is the worker's loss, not the library's).
    let clinical = catch_unwind(AssertUnwindSafe(|| {
        let title = record.title.as_deref().or(extracted.title.as_deref());
        let design = crate::clinical::classify(
            title,
            record.venue.as_deref(),
            &extracted.running_heads,
            &extracted.pages,
        );
        let ids = crate::clinical::paper_trial_ids(&extracted.pages);
        let ids = crate::clinical::own_registrations(design.label, ids);
        (design, ids)
    }));
    if let Ok((design, trial_ids)) = clinical {
        record.design = Some(design);
        if !trial_ids.is_empty() {
            record.trial_ids = trial_ids;
            record
                .provenance
                .insert("trial_ids".to_string(), crate::metadata::Source::Pattern);
        }
    }
    extracted.metadata = Some(Box::new(record));
    Ok((extracted, metadata))
}

struct RawPdf {
    info_title: Option<String>,
    pages: Vec<String>,
    /// Pages the reader failed on (their text is empty).
    failed: Vec<bool>,
    /// The XMP packet and the Info dictionary, where the document opened.
    embedded: Option<crate::metadata::Embedded>,
    /// The pages OCR read.
    ocr: Vec<OcrPage>,
}

fn raw_pages(bytes: &[u8]) -> Result<RawPdf, ExtractError> {
    let mut doc = lopdf::Document::load_mem(bytes).map_err(|e| pdf_error(&e))?;
    if doc.is_encrypted() {
        // An empty user password opens most "protected" papers (print or copy restrictions only).
        doc.decrypt("").map_err(|_| ExtractError::Encrypted)?;
    }
    let info_title = info_title(&doc);
    let mut embedded = catch_unwind(AssertUnwindSafe(|| crate::metadata::Embedded::of(&doc))).ok();
    let pages = doc.get_pages();
    let mut texts = Vec::with_capacity(pages.len());
    let mut failed = Vec::with_capacity(pages.len());
    let mut first_error = None;
    // Whether the first page with text has been read: its lines keep their styles (the title
    // is its largest text). A blank page before it (a Word file that opens with a page break,
    // a scanned separator sheet) is not the paper's first page.
    let mut opened = false;
    for &number in pages.keys() {
        let first = !opened;
        let mut page = if first {
            layout::PageText::styled()
        } else {
            layout::PageText::new()
        };
        // One bad page (an error, or a panic inside the reader) must not cost the others.
        let result = catch_unwind(AssertUnwindSafe(|| {
            pdf_extract::output_doc_page(&doc, &mut page, number).map_err(|e| e.to_string())
        }))
        .unwrap_or_else(|panic| {
            Err(format!(
                "the PDF reader failed on page {number}: {}",
                crate::error::panic_message(panic.as_ref())
            ))
        });
        match result {
            Ok(()) => {
                let (text, layout) = page.into_parts();
                if first && !blank(&text) {
                    opened = true;
                    if let Some(e) = embedded.as_mut() {
                        e.first_page = layout;
                        e.first_page_at = Some(texts.len());
                    }
                }
                texts.push(text);
                failed.push(false);
            }
            Err(e) => {
                first_error.get_or_insert(e);
                texts.push(String::new());
                failed.push(true);
            }
        }
    }
    if !failed.is_empty() && failed.iter().all(|&f| f) {
        return Err(ExtractError::Damaged(first_error.unwrap_or_default()));
    }
    Ok(RawPdf {
        info_title,
        pages: texts,
        failed,
        embedded,
        ocr: Vec::new(),
    })
}

/// The first page's lines with their styles, blank pages before it skipped as an index run
/// skips them (for looking at the metadata reader's rules).
#[cfg(test)]
pub(crate) fn layout_of_first_page(doc: &lopdf::Document) -> PageLayout {
    for number in doc.get_pages().into_keys() {
        let mut page = layout::PageText::styled();
        let _ = pdf_extract::output_doc_page(doc, &mut page, number);
        let (text, layout) = page.into_parts();
        if !blank(&text) {
            return layout;
        }
    }
    PageLayout::default()
}

fn pdf_error(e: &lopdf::Error) -> ExtractError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("decrypt") || lower.contains("encrypt") || lower.contains("password") {
        ExtractError::Encrypted
    } else {
        ExtractError::Damaged(text)
    }
}

#[cfg(test)]
mod tests {
    use super::text::{is_page_number, join_lines};
    use super::*;

    #[test]
    fn ligatures_and_soft_hyphens_are_normalised() {
        assert_eq!(
            normalize_chars("e\u{FB03}cacy of \u{FB01}brin"),
            "efficacy of fibrin"
        );
        assert_eq!(normalize_chars("anti\u{00AD}body"), "antibody");
    }

    #[test]
    fn hyphenated_line_ends_are_joined_but_compounds_kept() {
        let text = join_lines(&["the thera-", "peutic effect of IL-", "6 blockade"]);
        assert_eq!(text, "the therapeutic effect of IL- 6 blockade");
    }

    #[test]
    fn running_headers_and_page_numbers_are_dropped() {
        let raw: Vec<String> = (1..=6)
            .map(|i| {
                format!("Journal of Tests 2024\nBody text of page {i} here.\nMore words.\n{i}")
            })
            .collect();
        let (pages, heads) = split_running_heads(&raw);
        assert_eq!(heads, ["Journal of Tests 2024"]);
        for (i, page) in pages.iter().enumerate() {
            assert!(!page.contains("Journal of Tests"), "{page}");
            assert!(
                page.starts_with(&format!("Body text of page {}", i + 1)),
                "{page}"
            );
            assert!(!page.ends_with(&format!(" {}", i + 1)), "{page}");
        }
    }

    #[test]
    fn page_numbers_are_recognised() {
        for yes in ["12", "Page 3", "3 of 10", "4 / 12"] {
            assert!(is_page_number(yes), "{yes}");
        }
        for no in ["12 patients", "Table 3", "IL-6"] {
            assert!(!is_page_number(no), "{no}");
        }
    }

    #[test]
    fn not_a_pdf_is_named() {
        assert!(matches!(extract_bytes(b"hello"), Err(ExtractError::NotPdf)));
    }
}
