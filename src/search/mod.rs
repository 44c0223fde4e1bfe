//! Ranking: fusing keyword and vector hits and grouping them per paper; `page.rs` chooses each
//! paper's page and cuts its snippet.
//!
//! Passages are ranked, papers are shown: each side ranks a paper by its best passage, the two
//! paper lists are fused, and a paper's best passage and other matching pages follow. Fusion is
//! a convex combination of min-max normalised scores by default (semantic weight 0.5, chosen on
//! training queries), or reciprocal rank fusion (k = 60).
//!
//! A paper's page is then chosen among its best passages by their fused score plus the share of
//! the query's weight that their best window of sentences holds, and that window is the
//! snippet (`page.rs`, measured on the page-level sets in docs/EVALUATION.md).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::catalog::{ChunkId, ChunkRow, DocumentId};

pub mod answer;
mod coverage;
mod filter;
mod page;
mod snippet;
mod window;

use coverage::Coverage;
pub use filter::{parse_years, FacetValue, Facets, PaperFilter, Sort, FACET_POOL};
use page::choose_pages;
pub use page::{PageWeights, TermWeights};
pub use snippet::snippet;

/// Which evidence ranks passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Keywords and meaning, fused.
    #[default]
    Hybrid,
    /// Keywords only (BM25).
    Lexical,
    /// Meaning only (nearest vectors).
    Semantic,
}

impl Mode {
    /// The mode's name as the CLI and JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Hybrid => "hybrid",
            Mode::Lexical => "lexical",
            Mode::Semantic => "semantic",
        }
    }
}

/// How the two ranked lists become one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion: each list adds `1 / (k + rank)`.
    Rrf {
        /// The damping constant; 60 in the original paper.
        k: f32,
    },
    /// `w * semantic + (1 - w) * lexical` over scores min-max normalised per list.
    Weighted {
        /// The weight of the semantic side, in [0, 1].
        semantic_weight: f32,
    },
}

/// The semantic weight of the default fusion, chosen on SciFact's training queries
/// (docs/EVALUATION.md): 0.5 gave nDCG@10 0.725 there, against 0.710 for RRF.
pub const DEFAULT_SEMANTIC_WEIGHT: f32 = 0.5;

/// The semantic side's weight when a paper's passages are weighed against each other to choose
/// its page. The same as between papers for now: a lower weight chose more
/// right pages on the page-level development set but lost a question of the earlier set, so the
/// evidence does not carry it yet (docs/EVALUATION.md, page level).
pub const DEFAULT_PAGE_SEMANTIC_WEIGHT: f32 = DEFAULT_SEMANTIC_WEIGHT;

/// The default of [`SearchOptions::window_weight`].
pub const DEFAULT_WINDOW_WEIGHT: f32 = 0.25;

/// The default of [`SearchOptions::page_weight`]: hybrid page hit 0.656 to 0.731 on the
/// development page set and 0.738 to 0.786 on the validation set (docs/EVALUATION.md, page
/// level).
pub const DEFAULT_PAGE_WEIGHT: f32 = 1.0;

/// The default of [`SearchOptions::answer_weight`] (docs/EVALUATION.md, "The kind of answer
/// asked"): 0.1 gained development and validation questions in hybrid mode and lost none on
/// any page set; 0.15 lost one.
pub const DEFAULT_ANSWER_WEIGHT: f32 = 0.1;

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Weighted {
            semantic_weight: DEFAULT_SEMANTIC_WEIGHT,
        }
    }
}

/// What a search asks for.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Which evidence ranks passages.
    pub mode: Mode,
    /// How many papers to return.
    pub limit: usize,
    /// How the lists are fused in hybrid mode.
    pub fusion: Fusion,
    /// How many passages each side contributes before fusion.
    pub candidates: usize,
    /// How a paper's passages are fused to choose the page it opens at (and the other pages it
    /// lists), in hybrid mode: apart from [`SearchOptions::fusion`], which ranks the papers,
    /// because the two choices want different weights (docs/EVALUATION.md, page level).
    pub page_fusion: Fusion,
    /// How much the best short window of a passage (its sentences that hold the most of the
    /// query's weight) adds to the passage's fused score when the page is chosen, in hybrid and
    /// semantic mode (keyword mode's scores already weigh the words: there the window only
    /// chooses the highlight). 0 chooses the page and shows the snippet as before windows, by
    /// the fused score alone. See [`TermWeights`].
    pub window_weight: f32,
    /// How much the share of the query's weight that a passage's whole page holds beyond the
    /// passage's own adds when the page is chosen (a passage lacks words its page has around
    /// it: the heading, the table title). In hybrid mode, where windows are on
    /// ([`SearchOptions::window_weight`] above 0); 0 weighs the passage alone.
    pub page_weight: f32,
    /// What a passage gains when its best window holds the kind of answer the question asks
    /// for ("how long": a span of time; "dose": an amount; "can I give": a recommendation;
    /// [`answer::Asked`]) when the page is chosen, where windows are on; 0 ignores the kind.
    pub answer_weight: f32,
    /// Which papers may answer (a year range, an author, a venue).
    pub filter: PaperFilter,
    /// The results' order.
    pub sort: Sort,
    /// Whether to count the question's best papers by year, venue and author.
    pub facets: bool,
    /// Abbreviations: whether to expand the query's, and the user's choices among senses.
    pub expand: crate::clinical::abbrev::ExpandOptions,
    /// Whether, in hybrid mode, the meaning side embeds the query with its expansions too
    /// (semantic mode always does; hybrid embeds it as typed by default).
    pub expand_meaning: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: Mode::Hybrid,
            limit: 10,
            fusion: Fusion::default(),
            candidates: 100,
            page_fusion: Fusion::Weighted {
                semantic_weight: DEFAULT_PAGE_SEMANTIC_WEIGHT,
            },
            window_weight: DEFAULT_WINDOW_WEIGHT,
            page_weight: DEFAULT_PAGE_WEIGHT,
            answer_weight: DEFAULT_ANSWER_WEIGHT,
            filter: PaperFilter::default(),
            sort: Sort::Relevance,
            facets: false,
            expand: crate::clinical::abbrev::ExpandOptions::default(),
            expand_meaning: false,
        }
    }
}

/// A search's answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchResponse {
    /// The query as asked.
    pub query: String,
    /// The mode that actually ranked the results (hybrid falls back to lexical without a model).
    pub mode: Mode,
    /// Papers, best first.
    pub results: Vec<SearchResult>,
    /// Something the person should know about these results (no model, say), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Counts by year, venue and author over the question's best papers, where asked
    /// ([`SearchOptions::facets`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<Facets>,
    /// The query's abbreviations expanded (and spelled-out terms abbreviated), each with its
    /// sense, where it came from and the other senses the library holds; empty where none.
    pub expanded: Vec<crate::clinical::abbrev::Expansion>,
}

/// One paper in the results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchResult {
    /// 1-based rank.
    pub rank: usize,
    /// The paper's file (the first of its paths).
    #[serde(serialize_with = "crate::paths::lossy")]
    pub path: PathBuf,
    /// Its title, where known.
    pub title: Option<String>,
    /// The year it was published, where its first page says (see
    /// [`crate::extract::publication_year`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    /// The page of the best passage.
    pub page: u32,
    /// The best passage's fused score.
    pub score: f32,
    /// The sentences of the best passage that hold the most of the query's rarer words (its
    /// best window, about two sentences; the whole passage, trimmed, where the window weight
    /// is 0), with the query's terms in `<mark>` tags (HTML-escaped text): what the viewer
    /// highlights on the page.
    pub snippet: String,
    /// Byte offsets of the best passage in its page's text, for highlighting it in place.
    pub start: usize,
    /// End offset, exclusive.
    pub end: usize,
    /// The best passages of the paper's other matching pages, best first.
    pub passages: Vec<PassageHit>,
    /// In hybrid mode: none of the query's words occur in the paper (it came by meaning
    /// alone). Where every result is so, nothing in the library really matched the words
    /// asked, and the page says so. Absent when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub meaning_only: bool,
    /// What is known of the paper (authors, venue, DOI...), with where each field came from.
    pub meta: crate::metadata::Record,
    /// Its study design with its confidence, reasons and source; `null` where none was read
    /// (a paper indexed before designs were).
    pub design: Option<crate::clinical::Design>,
    /// Where the best passage's words come from, where they are the user's own (`note`,
    /// `annotation`, from Zotero); absent for the PDF's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where the paper sits in Zotero, for a paper imported from there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zotero: Option<crate::zotero::Membership>,
    /// The best passage's page was read by OCR (a scan): its words may hold misreadings, and
    /// the viewer highlights them on the page image. Absent when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ocr: bool,
    /// Other files of the same article (a preprint and its published version, a second
    /// download: the same DOI, or the same title and first author), shown as this one result;
    /// absent where there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Version>,
    /// The trials the paper is registered under that other papers of the library report too
    /// (a protocol, the results, secondary analyses), each with those papers; absent where
    /// there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trials: Vec<TrialGroup>,
}

/// Another file of a result's article.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    /// Its file (the first of its paths).
    #[serde(serialize_with = "crate::paths::lossy")]
    pub path: PathBuf,
    /// Its title, where known.
    pub title: Option<String>,
    /// Its year, where known.
    pub year: Option<u16>,
    /// Its venue (a journal, a preprint server), where known.
    pub venue: Option<String>,
    /// Its DOI, where known.
    pub doi: Option<String>,
}

/// A trial registration shared by papers of the library.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialGroup {
    /// The registration id (`NCT01234567`, `ISRCTN12345678`, `CRD42019123456`...).
    pub id: String,
    /// The other papers registered under it (the result itself not among them).
    pub papers: Vec<TrialPaper>,
}

/// Another paper on the same trial.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialPaper {
    /// Its file (the first of its paths).
    #[serde(serialize_with = "crate::paths::lossy")]
    pub path: PathBuf,
    /// Its title, where known.
    pub title: Option<String>,
    /// Its year, where known.
    pub year: Option<u16>,
    /// Its design, where read.
    pub design: Option<crate::clinical::DesignLabel>,
}

/// A further matching page of a paper.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PassageHit {
    /// Its page.
    pub page: u32,
    /// The passage, marked as [`SearchResult::snippet`] is.
    pub snippet: String,
    /// Its fused score.
    pub score: f32,
    /// Byte offsets in the page text.
    pub start: usize,
    /// End offset, exclusive.
    pub end: usize,
    /// As [`SearchResult::source`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// As [`SearchResult::ocr`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ocr: bool,
}

/// What a result shows of its paper.
#[derive(Debug, Clone)]
pub struct PaperMeta {
    /// Its first path.
    pub path: PathBuf,
    /// Its title, where known.
    pub title: Option<String>,
    /// Its year, where known.
    pub year: Option<u16>,
    /// Its record.
    pub record: crate::metadata::Record,
    /// See [`SearchResult::meaning_only`].
    pub meaning_only: bool,
    /// See [`SearchResult::zotero`].
    pub zotero: Option<crate::zotero::Membership>,
    /// See [`SearchResult::versions`].
    pub versions: Vec<Version>,
}

/// Fuses two ranked lists (best first) into one, best first.
pub fn fuse(
    lexical: &[(ChunkId, f32)],
    semantic: &[(ChunkId, f32)],
    fusion: Fusion,
) -> Vec<(ChunkId, f32)> {
    let mut scores: HashMap<ChunkId, f32> = HashMap::new();
    match fusion {
        Fusion::Rrf { k } => {
            for list in [lexical, semantic] {
                for (rank, &(id, _)) in list.iter().enumerate() {
                    *scores.entry(id).or_default() += 1.0 / (k + rank as f32 + 1.0);
                }
            }
        }
        Fusion::Weighted { semantic_weight } => {
            let w = semantic_weight.clamp(0.0, 1.0);
            for (list, weight) in [(lexical, 1.0 - w), (semantic, w)] {
                let max = list.iter().map(|x| x.1).fold(f32::MIN, f32::max);
                let min = list.iter().map(|x| x.1).fold(f32::MAX, f32::min);
                let span = max - min;
                for &(id, s) in list {
                    // A list of one (or of equal scores) carries full weight for its members.
                    let norm = if span > 0.0 { (s - min) / span } else { 1.0 };
                    *scores.entry(id).or_default() += weight * norm;
                }
            }
        }
    }
    let mut out: Vec<(ChunkId, f32)> = scores.into_iter().collect();
    // Ties break on id so that results are stable from run to run.
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Ranks papers by their best passage in a ranked list of passages (best first): the first
/// passage of each paper gives the paper's place and score.
pub fn best_per_document(
    ranked: &[(ChunkId, f32)],
    document_of: &HashMap<ChunkId, DocumentId>,
) -> Vec<(DocumentId, f32)> {
    let mut seen = HashSet::new();
    ranked
        .iter()
        .filter_map(|&(id, score)| {
            let doc = *document_of.get(&id)?;
            seen.insert(doc).then_some((doc, score))
        })
        .collect()
}

/// How many further pages a paper lists under its best passage.
const MAX_PASSAGES: usize = 4;

/// Builds the results: papers in the order (and with the scores) of `documents`, each with its
/// best passage in `ranked` and the best passages of its other pages. `rows` holds the catalog
/// rows of the ranked ids (any order); `paper` gives a document's path and title; `page_text`
/// a passage's page text, read where `choice` weighs pages.
#[allow(clippy::too_many_arguments)]
pub fn group(
    weights: &TermWeights,
    choice: Option<PageWeights>,
    mut page_text: impl FnMut(&ChunkRow) -> Option<String>,
    documents: &[(DocumentId, f32)],
    ranked: &[(ChunkId, f32)],
    rows: &[ChunkRow],
    limit: usize,
    mut paper: impl FnMut(DocumentId) -> Option<PaperMeta>,
) -> Vec<SearchResult> {
    let by_id: HashMap<ChunkId, &ChunkRow> = rows.iter().map(|r| (r.id, r)).collect();
    let terms: HashSet<String> = weights.terms().map(str::to_string).collect();
    let mut hits: HashMap<DocumentId, Vec<(&ChunkRow, f32)>> = HashMap::new();
    for &(id, score) in ranked {
        let Some(row) = by_id.get(&id) else { continue };
        hits.entry(row.document).or_default().push((row, score));
    }
    let mut results = Vec::new();
    let mut coverage = Coverage::new(weights);
    for &(doc, score) in documents {
        if results.len() == limit {
            break;
        }
        // A passage of a paper removed since the search began has no path: skip it.
        let Some(list) = hits.get(&doc) else { continue };
        let Some(PaperMeta {
            path,
            title,
            year,
            mut record,
            meaning_only,
            zotero,
            versions,
        }) = paper(doc)
        else {
            continue;
        };
        let list = choose_pages(list, weights, choice, &mut coverage, &mut page_text);
        let best = &list[0];
        // One passage per page, and apart from it the user's own words on that page (a note
        // or an annotation is shown as such, not hidden behind the page's text).
        let mut pages_seen = HashSet::from([(best.row.page, best.row.source.clone())]);
        let passages = list[1..]
            .iter()
            .filter(|c| pages_seen.insert((c.row.page, c.row.source.clone())))
            .take(MAX_PASSAGES)
            .map(|c| PassageHit {
                page: c.row.page,
                snippet: c.snippet(&terms),
                score: c.score,
                start: c.row.start,
                end: c.row.end,
                source: c.row.source.clone(),
                ocr: c.row.ocr,
            })
            .collect();
        results.push(SearchResult {
            rank: results.len() + 1,
            path,
            title,
            year,
            page: best.row.page,
            score,
            snippet: best.snippet(&terms),
            start: best.row.start,
            end: best.row.end,
            passages,
            meaning_only,
            design: record.design.take(),
            meta: record,
            source: best.row.source.clone(),
            ocr: best.row.ocr,
            zotero,
            versions,
            trials: Vec::new(),
        });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rrf_rewards_agreement() {
        let lex = [(1, 9.0), (2, 5.0), (3, 1.0)];
        let sem = [(4, 0.9), (2, 0.8), (3, 0.1)];
        // RRF itself (the default is the weighted sum, tested below): the paper second on
        // both sides beats the papers first on one side only.
        let fused = fuse(&lex, &sem, Fusion::Rrf { k: 60.0 });
        assert_eq!(fused[0].0, 2);
        assert_eq!(fused.len(), 4);
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-6, "{fused:?}");
    }

    #[test]
    fn weighted_fusion_follows_the_weight() {
        let lex = [(1, 9.0), (2, 1.0)];
        let sem = [(2, 0.9), (1, 0.1)];
        assert_eq!(
            fuse(
                &lex,
                &sem,
                Fusion::Weighted {
                    semantic_weight: 0.9
                }
            )[0]
            .0,
            2
        );
        assert_eq!(
            fuse(
                &lex,
                &sem,
                Fusion::Weighted {
                    semantic_weight: 0.1
                }
            )[0]
            .0,
            1
        );
    }

    /// The obvious reference: sum 1/(k+rank) per list, sort.
    fn rrf_reference(lists: &[Vec<ChunkId>], k: f32) -> HashMap<ChunkId, f32> {
        let mut m = HashMap::new();
        for list in lists {
            for (i, id) in list.iter().enumerate() {
                *m.entry(*id).or_insert(0.0) += 1.0 / (k + (i + 1) as f32);
            }
        }
        m
    }

    proptest! {

        #[test]
        fn rrf_matches_the_reference(
            a in proptest::collection::hash_set(0i64..50, 0..20),
            b in proptest::collection::hash_set(0i64..50, 0..20),
        ) {
            let a: Vec<ChunkId> = a.into_iter().collect();
            let b: Vec<ChunkId> = b.into_iter().collect();
            let lex: Vec<(ChunkId, f32)> = a.iter().map(|&i| (i, 1.0)).collect();
            let sem: Vec<(ChunkId, f32)> = b.iter().map(|&i| (i, 1.0)).collect();
            let fused = fuse(&lex, &sem, Fusion::Rrf { k: 60.0 });
            let reference = rrf_reference(&[a, b], 60.0);
            prop_assert_eq!(fused.len(), reference.len());
            for w in fused.windows(2) {
                prop_assert!(w[0].1 >= w[1].1);
            }
            for (id, s) in fused {
                prop_assert!((reference[&id] - s).abs() < 1e-6);
            }
        }
    }
}
