//! "More like this": the papers nearest a paper, or one of its pages, by meaning (the mean of
//! its passages' vectors, searched as a query would be) and by the rare words they share
//! (`index/rare_terms.rs`), fused as a search fuses its two sides. The paper itself (with all
//! its files and a Zotero item's other attachments) is never among the answers, nor are its
//! duplicates (the same article downloaded twice, a preprint and its published version), which
//! are listed apart.

use std::collections::HashSet;

use super::searcher::link_trials;
use super::works::one_per_work;
use super::*;
use crate::catalog::ChunkRow;
use crate::index::rare_terms::MAX_SHARED_TERMS;
use crate::search::{Fusion, PageWeights, TermWeights, DEFAULT_WINDOW_WEIGHT};

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
    /// Other copies of the source left out of the results, each by its first file: the same
    /// DOI, or the same title and first author, or the same text.
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

/// Passages two papers must share word for word, at least, to be one text: one shared page
/// (a licence, a journal's boilerplate) never makes two short papers one.
const SAME_TEXT_MIN: usize = 2;

impl Library {
    /// The papers most like the paper at `path` (or its page `opts.page`).
    pub fn similar(&self, path: &Path, opts: &SimilarOptions) -> Result<SimilarResponse> {
        run_similar(
            &self.catalog,
            &self.lexical.reader(),
            self.semantic.as_ref(),
            self.repair_pending.as_deref(),
            path,
            opts,
        )
    }
}

impl Searcher {
    /// [`Library::similar`], from any thread.
    pub fn similar(&self, path: &Path, opts: &SimilarOptions) -> Result<SimilarResponse> {
        run_similar(
            &self.catalog(),
            &self.lexical,
            self.semantic.as_ref(),
            self.repair_pending.as_deref(),
            path,
            opts,
        )
    }
}

fn run_similar(
    catalog: &Catalog,
    lexical: &LexicalReader,
    semantic: Option<&Semantic>,
    repair_pending: Option<&str>,
    path: &Path,
    opts: &SimilarOptions,
) -> Result<SimilarResponse> {
    lexical.reload()?;
    let (doc, record) = super::records::record_at(catalog, path)?;
    let rows = catalog.chunks(&catalog.chunk_ids_of(doc)?)?;
    let source_rows = source_passages(&rows, path, opts.page)?;
    let mode = match (opts.mode, semantic) {
        (Mode::Semantic, None) => return Err(Error::NeedsModel),
        (Mode::Hybrid, None) => Mode::Lexical,
        (mode, _) => mode,
    };
    let notice = notice(
        opts.mode == Mode::Hybrid && semantic.is_none(),
        repair_pending,
    );
    // The paper's other files are one document already; a Zotero item's other attachments
    // (a supplement) are the same paper too.
    let items = catalog.zotero_item_of_documents()?;
    let mut excluded: Vec<DocumentId> = vec![doc];
    if let Some(item) = items.get(&doc) {
        excluded.extend(items.iter().filter(|(_, i)| *i == item).map(|(d, _)| *d));
    }
    let source = Source {
        record,
        rows: source_rows,
        text: rows
            .iter()
            .filter(|r| r.source.is_none())
            .map(|r| normalised(&r.text))
            .collect(),
    };
    let mut answer = rank(catalog, lexical, semantic, mode, &source, &excluded, opts)?;
    // A duplicate of the source shares every one of its words and the nearest passages: found
    // among the answers, it is left out of a second ranking, so that neither side is spent on
    // it.
    if !answer.duplicates.is_empty() {
        excluded.extend(answer.duplicates.iter().map(|d| d.0));
        let found = std::mem::take(&mut answer.duplicates);
        answer = rank(catalog, lexical, semantic, mode, &source, &excluded, opts)?;
        answer.duplicates.splice(0..0, found);
    }
    let (mode, own_notice) = answer.mode;
    Ok(SimilarResponse {
        source: SimilarSource {
            path: catalog
                .first_path(doc)?
                .unwrap_or_else(|| path.to_path_buf()),
            title: source.record.title.clone(),
            page: opts.page,
        },
        mode,
        terms: answer.terms,
        results: answer.results,
        duplicates: answer.duplicates.into_iter().map(|d| d.1).collect(),
        notice: own_notice.or(notice),
    })
}

/// What the papers are compared with.
struct Source {
    record: crate::metadata::Record,
    /// The passages that speak for it ([`source_passages`]).
    rows: Vec<ChunkRow>,
    /// Every passage of the paper's own text, normalised: what a copy holds too.
    text: HashSet<String>,
}

/// One ranking's answer.
struct Ranked {
    /// The mode that ranked, and why it is not the one asked for, where it is not.
    mode: (Mode, Option<String>),
    terms: Vec<String>,
    results: Vec<crate::SearchResult>,
    /// The source's duplicates met among the answers, with their first paths.
    duplicates: Vec<(DocumentId, PathBuf)>,
}

/// Ranks the papers outside `excluded` by their likeness to the source.
fn rank(
    catalog: &Catalog,
    lexical: &LexicalReader,
    semantic: Option<&Semantic>,
    mut mode: Mode,
    source: &Source,
    excluded: &[DocumentId],
    opts: &SimilarOptions,
) -> Result<Ranked> {
    let skip = catalog.passages_of_documents(excluded)?;
    // Words count as shared only where a passage outside every excluded paper holds them
    // (the source's reference list and other pages, a sibling, a copy all hold its words).
    let mut skip_ids: Vec<ChunkId> = skip.iter().copied().collect();
    skip_ids.sort_unstable();
    let skip_rows = catalog.chunks(&skip_ids)?;
    let texts: Vec<&str> = source.rows.iter().map(|r| r.text.as_str()).collect();
    let own: Vec<&str> = skip_rows.iter().map(|r| r.text.as_str()).collect();
    let terms = lexical.shared_rare_terms(&texts, &own, MAX_SHARED_TERMS)?;
    let mut why = None;
    let mut by_meaning = Vec::new();
    if let (Some(s), Mode::Hybrid | Mode::Semantic) = (semantic, mode) {
        let ids: Vec<ChunkId> = source.rows.iter().map(|r| r.id).collect();
        match centroid(catalog.vectors_of(&ids, s.info().dim)?) {
            Some(vector) => {
                by_meaning = s
                    .read()
                    .search(&vector, CANDIDATES + skip.len())?
                    .into_iter()
                    .filter(|(id, _)| !skip.contains(id))
                    .take(CANDIDATES)
                    .collect();
            }
            None => {
                mode = Mode::Lexical;
                let all_references = source
                    .rows
                    .iter()
                    .all(|r| crate::chunk::is_reference_list(r.page, &r.text));
                why = Some(if all_references {
                    "This is a reference list, which MedShelf does not compare by meaning: \
                     these papers share its words."
                        .to_string()
                } else {
                    "Its passages are not embedded yet: these papers share its words; papers \
                     alike in meaning follow once its vectors are made."
                        .to_string()
                });
            }
        }
    }
    let by_words = match mode {
        Mode::Semantic => Vec::new(),
        _ => lexical.search_terms(&terms, CANDIDATES, excluded)?,
    };
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
    // One answer per Zotero item and per article, as in a search; a few articles more than
    // shown, since the source's duplicates are taken out of them.
    let documents = super::searcher::one_per_item(catalog, documents)?;
    let works = one_per_work(catalog, documents, opts.limit.saturating_add(8));
    let mut shown = Vec::new();
    let mut duplicates = Vec::new();
    for &(other, score) in &works.documents {
        if shown.len() == opts.limit {
            break;
        }
        let Some(record) = works.record(catalog, other)? else {
            continue;
        };
        if crate::metadata::same_work(&source.record, &record)
            || same_text(catalog, &source.text, other)?
        {
            if let Some(path) = catalog.first_path(other)? {
                duplicates.push((other, path));
            }
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
        // Its page by the passage alone: a paper's hundred terms are on most pages.
        Some(PageWeights {
            window: window_weight,
            page: 0.0,
            // A paper is not a question: it asks for no kind of answer.
            answer: 0.0,
            asked: Default::default(),
        }),
        |_| None,
        &shown,
        &ranked,
        &rows,
        opts.limit,
        |d| works.paper(catalog, d, mode == Mode::Hybrid && !worded.contains(&d)),
    );
    let _ = link_trials(catalog, &mut results);
    Ok(Ranked {
        mode: (mode, why),
        terms: terms.into_iter().map(|t| t.word).collect(),
        results,
        duplicates,
    })
}

/// The source's passages among the paper's `rows`: the paper's (or the page's) own text,
/// without its reference lists, which share authors and journals with every other reference
/// list rather than a subject, and without the user's notes. A page of references alone is
/// taken as it is.
fn source_passages(rows: &[ChunkRow], path: &Path, page: Option<u32>) -> Result<Vec<ChunkRow>> {
    let mut rows: Vec<ChunkRow> = rows
        .iter()
        .filter(|r| r.source.is_none())
        .cloned()
        .collect();
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

/// Whether `other` is the source's text: most passages of the shorter of the two (and two at
/// least) are word for word in the longer. The user's notes are not the article's text.
fn same_text(catalog: &Catalog, source: &HashSet<String>, other: DocumentId) -> Result<bool> {
    let theirs: HashSet<String> = catalog
        .chunks(&catalog.chunk_ids_of(other)?)?
        .iter()
        .filter(|r| r.source.is_none())
        .map(|r| normalised(&r.text))
        .collect();
    let shorter = source.len().min(theirs.len());
    let shared = theirs.intersection(source).count();
    Ok(shared >= SAME_TEXT_MIN && shared as f64 >= SAME_TEXT_SHARE * shorter as f64)
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
