//! "More like this": the papers nearest a paper, or one of its pages, by meaning (the mean of
//! its passages' vectors, searched as a query would be) and by the rare words they share
//! (`index/rare_terms.rs`), fused as a search fuses its two sides. The paper itself, its other
//! files and its duplicates (the same article downloaded twice, a preprint and its published
//! version) are never among the answers: they are listed apart.

use std::collections::HashSet;

use super::searcher::{link_trials, paper_meta};
use super::*;
use crate::catalog::ChunkRow;
use crate::index::rare_terms::MAX_SHARED_TERMS;
use crate::search::{Fusion, TermWeights, DEFAULT_WINDOW_WEIGHT};

/// What a "more like this" asks for.
#[derive(Debug, Clone)]
pub struct SimilarOptions {
    /// Only this page of the paper (1-based), where given: "more like this passage".
    pub page: Option<u32>,
    /// How many papers to return.
    pub limit: usize,
    /// Which evidence ranks: meaning and shared words (hybrid), either alone.
    pub mode: Mode,
}

impl Default for SimilarOptions {
    fn default() -> Self {
        SimilarOptions {
            page: None,
            limit: 10,
            mode: Mode::Hybrid,
        }
    }
}

/// The paper (or page) a "more like this" started from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimilarSource {
    /// Its file (the first of its paths).
    #[serde(serialize_with = "crate::paths::lossy")]
    pub path: PathBuf,
    /// Its title, where known.
    pub title: Option<String>,
    /// The page asked about, where one was.
    pub page: Option<u32>,
}

/// The papers most like a paper, best first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimilarResponse {
    /// What they are like.
    pub source: SimilarSource,
    /// The evidence that ranked them (hybrid falls back to shared words without a model, or
    /// where the paper's passages are not embedded yet).
    pub mode: Mode,
    /// The rare words the source shares with the library, weightiest first, as the source
    /// writes them: what the keyword side searched, and what the snippets mark.
    pub terms: Vec<String>,
    /// The papers, best first, as search results (page, snippet, record, design, trials).
    pub results: Vec<crate::SearchResult>,
    /// Files of the same article left out of the results (the same DOI, or the same title and
    /// first author, or the same text).
    #[serde(serialize_with = "crate::paths::lossy_all")]
    pub duplicates: Vec<PathBuf>,
    /// Something the person should know about these results, else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Passages each side brings before papers are ranked.
const CANDIDATES: usize = 200;

/// The share of the shorter paper's passages found word for word in the other from which two
/// papers are one text (a download with a cover page added, a copy renamed and edited).
const SAME_TEXT_SHARE: f64 = 0.8;

impl Library {
    /// The papers most like the paper at `path` (or its page `opts.page`).
    pub fn similar(&self, path: &Path, opts: &SimilarOptions) -> Result<SimilarResponse> {
        run_similar(
            &self.catalog,
            &self.lexical.reader(),
            self.semantic.as_ref(),
            path,
            opts,
        )
    }
}

impl Searcher {
    /// [`Library::similar`], from any thread.
    pub fn similar(&self, path: &Path, opts: &SimilarOptions) -> Result<SimilarResponse> {
        let catalog = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        run_similar(&catalog, &self.lexical, self.semantic.as_ref(), path, opts)
    }
}

fn run_similar(
    catalog: &Catalog,
    lexical: &LexicalReader,
    semantic: Option<&Semantic>,
    path: &Path,
    opts: &SimilarOptions,
) -> Result<SimilarResponse> {
    lexical.reload()?;
    let doc = catalog
        .file(path)?
        .filter(|f| f.status == Status::Indexed)
        .ok_or_else(|| Error::NotInLibrary(path.to_path_buf()))?
        .document;
    let source_rows = source_passages(catalog, doc, path, opts.page)?;
    let mut mode = match (opts.mode, semantic) {
        (Mode::Semantic, None) => return Err(Error::NeedsModel),
        (Mode::Hybrid, None) => Mode::Lexical,
        (mode, _) => mode,
    };
    let mut notice = notice(opts.mode == Mode::Hybrid && semantic.is_none(), None);
    // The paper's other files are one document already; a Zotero item's other attachments
    // (a supplement) are the same paper too.
    let items = catalog.zotero_item_of_documents()?;
    let mut excluded: Vec<DocumentId> = vec![doc];
    if let Some(item) = items.get(&doc) {
        excluded.extend(items.iter().filter(|(_, i)| *i == item).map(|(d, _)| *d));
    }
    excluded.sort_unstable();
    excluded.dedup();

    let texts: Vec<&str> = source_rows.iter().map(|r| r.text.as_str()).collect();
    let terms = lexical.shared_rare_terms(&texts, MAX_SHARED_TERMS)?;
    let by_words = match mode {
        Mode::Semantic => Vec::new(),
        _ => lexical.search_terms(&terms, CANDIDATES, &excluded)?,
    };
    let mut by_meaning = Vec::new();
    if let (Some(s), Mode::Hybrid | Mode::Semantic) = (semantic, mode) {
        let ids: Vec<ChunkId> = source_rows.iter().map(|r| r.id).collect();
        match centroid(catalog.vectors_of(&ids, s.info().dim)?) {
            Some(vector) => {
                let skip = catalog.passages_of_documents(&excluded)?;
                by_meaning = s
                    .read()
                    .search(&vector, CANDIDATES + skip.len())?
                    .into_iter()
                    .filter(|(id, _)| !skip.contains(id))
                    .collect();
            }
            None => {
                mode = Mode::Lexical;
                notice = Some(format!(
                    "The passages of {} are not embedded yet: these papers share its words; \
                     papers alike in meaning follow once its vectors are made.",
                    path.display()
                ));
            }
        }
    }

    let mut ids: Vec<ChunkId> = by_words.iter().chain(&by_meaning).map(|r| r.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = catalog.chunks(&ids)?;
    let document_of: HashMap<ChunkId, DocumentId> =
        rows.iter().map(|r| (r.id, r.document)).collect();
    let fusion = Fusion::default();
    let documents = match mode {
        Mode::Lexical => best_per_document(&by_words, &document_of),
        Mode::Semantic => best_per_document(&by_meaning, &document_of),
        Mode::Hybrid => fuse(
            &best_per_document(&by_words, &document_of),
            &best_per_document(&by_meaning, &document_of),
            fusion,
        ),
    };
    // Duplicates are told apart only among the papers that would be shown: the source's
    // record and text are compared with each of those.
    let source = paper_meta(catalog, doc, false).ok_or_else(|| Error::NotInLibrary(path.into()))?;
    let source_text: HashSet<String> = catalog
        .chunks(&Vec::from_iter(catalog.passages_of_documents(&[doc])?))?
        .iter()
        .map(|r| normalised(&r.text))
        .collect();
    let mut shown = Vec::new();
    let mut duplicates = Vec::new();
    for &(other, score) in &documents {
        if shown.len() == opts.limit {
            break;
        }
        let Some(paper) = paper_meta(catalog, other, false) else {
            continue;
        };
        if crate::metadata::same_work(&source.record, &paper.record)
            || same_text(catalog, &source_text, other)?
        {
            duplicates.push(paper.path);
        } else {
            shown.push((other, score));
        }
    }
    // The papers the shared words found: the others came by meaning alone.
    let worded: HashSet<DocumentId> = by_words
        .iter()
        .filter_map(|(id, _)| document_of.get(id).copied())
        .collect();
    let ranked = match mode {
        Mode::Lexical => by_words,
        Mode::Semantic => by_meaning,
        Mode::Hybrid => fuse(&by_words, &by_meaning, fusion),
    };
    let window_weight = match mode {
        Mode::Lexical => 0.0,
        _ => DEFAULT_WINDOW_WEIGHT,
    };
    let mut results = group(
        &TermWeights::new(terms.iter().map(|t| (t.term.clone(), t.weight)).collect()),
        Some(window_weight),
        &shown,
        &ranked,
        &rows,
        opts.limit,
        |d| paper_meta(catalog, d, mode == Mode::Hybrid && !worded.contains(&d)),
    );
    let _ = link_trials(catalog, &mut results);
    Ok(SimilarResponse {
        source: SimilarSource {
            path: source.path,
            title: source.title,
            page: opts.page,
        },
        mode,
        terms: terms.into_iter().map(|t| t.word).collect(),
        results,
        duplicates,
        notice,
    })
}

/// The source's passages: the paper's (or the page's) without its reference lists, which
/// share authors and journals with every other reference list rather than a subject. A page
/// of references alone is taken as it is.
fn source_passages(
    catalog: &Catalog,
    doc: DocumentId,
    path: &Path,
    page: Option<u32>,
) -> Result<Vec<ChunkRow>> {
    let ids: Vec<ChunkId> = catalog.passages_of_documents(&[doc])?.into_iter().collect();
    let mut rows = catalog.chunks(&ids)?;
    rows.sort_by_key(|r| (r.page, r.start));
    if let Some(page) = page {
        let last = rows.iter().map(|r| r.page).max().unwrap_or(0);
        rows.retain(|r| r.page == page);
        if rows.is_empty() {
            return Err(Error::NoSuchPage {
                path: path.to_path_buf(),
                page,
                last,
            });
        }
    }
    let body: Vec<ChunkRow> = rows
        .iter()
        .filter(|r| !crate::chunk::is_reference_list(r.page, &r.text))
        .cloned()
        .collect();
    Ok(if body.is_empty() { rows } else { body })
}

/// The mean of unit vectors, made unit again: the paper's place among the passages. `None`
/// where there is none to average (or they cancel out).
fn centroid(vectors: Vec<(ChunkId, Vec<f32>)>) -> Option<Vec<f32>> {
    let dim = vectors.first()?.1.len();
    let mut sum = vec![0.0f32; dim];
    for (_, v) in &vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm.is_finite() && norm > 0.0).then(|| sum.iter().map(|x| x / norm).collect())
}

/// A passage's words, case and spacing aside: how two copies of one text are compared.
fn normalised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether `other` is the source's text: most passages of the shorter of the two are word for
/// word in the longer.
fn same_text(catalog: &Catalog, source: &HashSet<String>, other: DocumentId) -> Result<bool> {
    let ids: Vec<ChunkId> = catalog
        .passages_of_documents(&[other])?
        .into_iter()
        .collect();
    let theirs: HashSet<String> = catalog
        .chunks(&ids)?
        .iter()
        .map(|r| normalised(&r.text))
        .collect();
    let shorter = source.len().min(theirs.len());
    if shorter == 0 {
        return Ok(false);
    }
    let shared = theirs.intersection(source).count();
    Ok(shared as f64 >= SAME_TEXT_SHARE * shorter as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centroid_is_a_unit_vector_between_its_parts() {
        let c = centroid(vec![(1, vec![1.0, 0.0]), (2, vec![0.0, 1.0])]).unwrap();
        assert!((c[0] - c[1]).abs() < 1e-6 && (c[0] * c[0] + c[1] * c[1] - 1.0).abs() < 1e-5);
        assert!(centroid(Vec::new()).is_none());
        assert!(centroid(vec![(1, vec![1.0, 0.0]), (2, vec![-1.0, 0.0])]).is_none());
    }

    #[test]
    fn copies_compare_by_words_not_spacing() {
        assert_eq!(
            normalised(" Deep  vein\nThrombosis "),
            "deep vein thrombosis"
        );
    }
}
