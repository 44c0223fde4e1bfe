//! The reading side: a [`Searcher`] answers from any thread while the library indexes, and
//! [`run_search`] is the one search both it and [`super::Library::search`] run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::*;
use crate::search::{Facets, PageWeights};

/// Searches a library from any thread; see [`Library::searcher`].
pub struct Searcher {
    pub(super) dir: PathBuf,
    pub(super) catalog: Mutex<Catalog>,
    pub(super) lexical: LexicalReader,
    pub(super) semantic: Option<Semantic>,
    pub(super) repair_pending: Option<String>,
}

impl Searcher {
    /// Answers a query, as [`Library::search`] does.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResponse> {
        let catalog = self.catalog();
        run_search(
            &catalog,
            &self.lexical,
            self.semantic.as_ref(),
            self.repair_pending.as_deref(),
            query,
            opts,
        )
    }

    /// Every document with its state, as [`Library::documents`] gives it.
    pub fn documents(&self) -> Result<Vec<crate::catalog::DocumentRow>> {
        documents_of(&self.catalog())
    }

    /// The Zotero collections that hold the library's papers (as paths, nested names joined by
    /// `/`), each once, in order; the `zotero` of [`Searcher::documents`]' rows without the
    /// rest of their records, which take a fifth of a second to build for a thousand papers.
    pub fn zotero_collections(&self) -> Result<Vec<String>> {
        let items = self.catalog().zotero_by_document()?;
        let mut collections: Vec<String> = items
            .values()
            .filter_map(|items| super::zotero::membership_of(items))
            .flat_map(|m| m.collections)
            .collect();
        collections.sort();
        collections.dedup();
        Ok(collections)
    }

    /// Counts, the model, and failures, as [`Library::status`] gives them; from another thread
    /// while the library indexes.
    pub fn status(&self) -> Result<LibraryStatus> {
        status_of(
            &self.dir,
            &self.catalog(),
            self.lexical.len()?,
            self.semantic.as_ref(),
            self.repair_pending.as_deref(),
        )
    }

    /// The folders this library was asked to index, as [`Library::folders`] gives them.
    pub fn folders(&self) -> Result<Vec<PathBuf>> {
        folders_of(&self.catalog())
    }

    /// Whether the library holds this exact file (a point lookup by its bytes): what a face
    /// checks before it shows, opens or reveals a file the page names.
    pub fn holds(&self, path: &Path) -> Result<bool> {
        Ok(self.catalog().file(path)?.is_some())
    }

    /// The words OCR read on page `page` (1-based) of the file at `path`, with their
    /// confidence and boxes, for the viewer to highlight a passage on the page image; `None`
    /// where the file is not in the library or the page has a text layer of its own.
    pub fn ocr_page(&self, path: &Path, page: u32) -> Result<Option<crate::extract::OcrPage>> {
        let catalog = self.catalog();
        let Some(file) = catalog.file(path)? else {
            return Ok(None);
        };
        Ok(catalog
            .ocr_page(file.document, page)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// The Zotero folder the library was imported from, and what the last import found.
    pub fn zotero_source(&self) -> Result<Option<super::ZoteroSource>> {
        self.catalog().zotero_source()
    }

    /// The library folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn catalog(&self) -> std::sync::MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(super) fn run_search(
    catalog: &Catalog,
    lexical: &LexicalReader,
    semantic: Option<&Semantic>,
    repair_pending: Option<&str>,
    query: &str,
    opts: &SearchOptions,
) -> Result<SearchResponse> {
    catalog.snapshot(|| search_in(catalog, lexical, semantic, repair_pending, query, opts))
}

/// [`run_search`] inside its read transaction.
fn search_in(
    catalog: &Catalog,
    lexical: &LexicalReader,
    semantic: Option<&Semantic>,
    repair_pending: Option<&str>,
    query: &str,
    opts: &SearchOptions,
) -> Result<SearchResponse> {
    lexical.reload()?;
    let mode = match (opts.mode, semantic) {
        (Mode::Semantic, None) => return Err(Error::NeedsModel),
        (Mode::Hybrid, None) => Mode::Lexical,
        (mode, _) => mode,
    };
    // Hybrid without a model falls back to keywords, and says so.
    let notice = notice(
        opts.mode == Mode::Hybrid && semantic.is_none(),
        repair_pending,
    );
    // A blank query asks nothing: no paper is "nearest" to it.
    if query.trim().is_empty() {
        return Ok(SearchResponse {
            query: query.to_string(),
            mode,
            results: Vec::new(),
            notice,
            facets: opts.facets.then(Facets::default),
            expanded: Vec::new(),
        });
    }
    // Abbreviations both ways, by the library's own definitions first (clinical::abbrev).
    let expanded = crate::clinical::abbrev::expand(
        query,
        &Vocabulary {
            catalog,
            lexical,
            seen: Default::default(),
        },
        &opts.expand,
    );
    let phrases: Vec<String> = expanded.iter().map(added).collect();
    let alternatives: Vec<(String, String)> = expanded
        .iter()
        .map(|e| match e.direction {
            crate::clinical::abbrev::Direction::Expansion => {
                (e.abbreviation.clone(), e.expansion.clone())
            }
            crate::clinical::abbrev::Direction::Abbreviation => {
                (e.expansion.clone(), e.abbreviation.clone())
            }
        })
        .collect();
    // The words the page is chosen by and the snippet marks: the query's and what it gained.
    let widened = if phrases.is_empty() {
        query.to_string()
    } else {
        format!("{query} {}", phrases.join(" "))
    };
    // Papers are ranked, passages are fetched: a paper has several passages among the
    // candidates, so asking for many papers needs a wider pool. Neither is ever more than the
    // library holds: memory follows the limit.
    let (passages, _) = catalog.exact_counts()?;
    let limit = opts.limit.min(passages as usize);
    let candidates = opts
        .candidates
        .max(limit.saturating_mul(3))
        .min(passages as usize);
    // A filter narrows the candidates on both sides before ranking: the papers it lets
    // through, and their passages for the vector side.
    let within: Option<Vec<DocumentId>> = if opts.filter.is_empty() {
        None
    } else {
        Some(
            documents_of(catalog)?
                .into_iter()
                .filter(|d| d.status == Status::Indexed)
                .filter_map(|mut d| {
                    // The row shows the design beside the record; the filter reads it in it.
                    let mut record = d.meta.take()?;
                    record.design = d.design.take();
                    opts.filter
                        .matches_paper(&record, d.zotero.as_ref())
                        .then_some(d.id)
                })
                .collect(),
        )
    };
    let allowed: Option<HashSet<ChunkId>> = match (&within, mode) {
        (Some(docs), Mode::Hybrid | Mode::Semantic) if semantic.is_some() => {
            Some(catalog.passages_of_documents(docs)?)
        }
        _ => None,
    };
    // A paper's page is chosen where the query's rarer words come together (search/page.rs).
    let weights = lexical.term_weights(&widened)?;
    let keywords = || -> Result<Vec<(ChunkId, f32)>> {
        if mode == Mode::Semantic {
            Ok(Vec::new())
        } else {
            lexical.search_within(query, &alternatives, candidates, within.as_deref())
        }
    };
    // The meaning side: semantic mode embeds the expansions too (paper MRR 0.84 to 0.94 on
    // the shorthand set), hybrid the query as typed (its page hits are better so: the
    // keywords carry the expansion there); docs/EVALUATION.md.
    let meant = if opts.expand_meaning || mode == Mode::Semantic {
        widened.as_str()
    } else {
        query
    };
    let (lexical, by_meaning) = match (mode, semantic) {
        (Mode::Lexical, _) | (_, None) => (keywords()?, Vec::new()),
        (_, Some(s)) => {
            // The query's embedding and the keyword search are independent and each takes a
            // few milliseconds: on a second thread the embedding overlaps the keyword search
            // instead of following it. The index's read lock is taken only after the
            // embedding, which is the slow part.
            let (lexical, q) = std::thread::scope(|scope| {
                let embedding = scope.spawn(|| s.embedder.embed(&[meant]));
                let lexical = keywords();
                let q = embedding
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                (lexical, q)
            });
            let (lexical, q) = (lexical?, q?);
            // The vector index caps the pool at its own size, under its lock: capped at the
            // catalog's count read before, a search while papers are stored asked for fewer
            // vectors than the index held by then, and papers seen a moment before could drop
            // out (a search must only ever gain papers while an index run goes on).
            let pool = opts.candidates.max(limit.saturating_mul(3));
            let nearest = match &allowed {
                Some(allowed) => s.read().search_within(&q[0], pool, allowed)?,
                None => s.read().search(&q[0], pool)?,
            };
            (lexical, nearest)
        }
    };
    let mut ids: Vec<ChunkId> = lexical.iter().chain(&by_meaning).map(|r| r.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = catalog.chunks(&ids)?;
    let document_of: HashMap<ChunkId, DocumentId> =
        rows.iter().map(|r| (r.id, r.document)).collect();
    // Papers are fused as papers: each side ranks a paper by its best passage, so a paper cut
    // into many passages neither crowds out the others nor dilutes its own rank.
    let documents = match mode {
        Mode::Lexical => best_per_document(&lexical, &document_of),
        Mode::Semantic => best_per_document(&by_meaning, &document_of),
        Mode::Hybrid => fuse(
            &best_per_document(&lexical, &document_of),
            &best_per_document(&by_meaning, &document_of),
            opts.fusion,
        ),
    };
    // One result per Zotero item: an item's second PDF (a supplement, an appendix) is the same
    // paper, shown once, where its best file ranks.
    let documents = one_per_item(catalog, documents)?;
    // One result per article: a second download, a preprint beside its published version.
    let mut works = super::works::one_per_work(catalog, documents, limit);
    let documents = std::mem::take(&mut works.documents);
    // The papers the keyword side found: the others came by meaning alone.
    let by_words: HashSet<DocumentId> = lexical
        .iter()
        .filter_map(|(id, _)| document_of.get(id).copied())
        .collect();
    // Within a paper, its passages are ranked by the same fusion.
    let ranked = match mode {
        Mode::Lexical => lexical,
        Mode::Semantic => by_meaning,
        Mode::Hybrid => fuse(&lexical, &by_meaning, opts.page_fusion),
    };
    // Keyword mode's scores already weigh the words: there the window only picks the highlight.
    let choice = (opts.window_weight > 0.0).then_some(PageWeights {
        window: match mode {
            Mode::Lexical => 0.0,
            _ => opts.window_weight,
        },
        // Hybrid only: in keyword or meaning mode alone the page's words lost more pages than
        // they gained on the shorthand set, where the abstract answers and a dense methods
        // page holds more of the question's words (docs/EVALUATION.md, page level).
        page: match mode {
            Mode::Hybrid => opts.page_weight,
            _ => 0.0,
        },
        answer: opts.answer_weight,
        asked: crate::search::answer::Asked::of(query),
    });
    let mut results = group(
        &weights,
        choice,
        // A page whose text cannot be read is weighed by its passage alone.
        |row| catalog.page_text(row.document, row.page).ok().flatten(),
        &documents,
        &ranked,
        &rows,
        limit,
        |doc| {
            works.paper(
                catalog,
                doc,
                mode == Mode::Hybrid && !by_words.contains(&doc),
            )
        },
    );
    // A link to another paper is extra: failing to find one never fails the search.
    let _ = link_trials(catalog, &mut results);
    // The best matches in another order; a stable sort keeps relevance among equals.
    match opts.sort {
        crate::search::Sort::Relevance => {}
        crate::search::Sort::Date => {
            results.sort_by_key(|r| std::cmp::Reverse(r.year.unwrap_or(0)));
        }
        crate::search::Sort::Evidence => {
            // Papers without a design last.
            results.sort_by_key(|r| (r.design.is_none(), r.design.as_ref().map(|d| d.label)));
        }
    }
    for (i, r) in results.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    // The facets count the best papers of the ranking (more than the results shown), by
    // their records as shown.
    let facets = if opts.facets {
        let records = documents
            .iter()
            .take(crate::search::FACET_POOL.max(limit))
            .map(|(doc, _)| works.record(catalog, *doc))
            .collect::<Result<Vec<_>>>()?;
        Some(Facets::count(
            &records.into_iter().flatten().collect::<Vec<_>>(),
        ))
    } else {
        None
    };
    Ok(SearchResponse {
        query: query.to_string(),
        mode,
        results,
        notice,
        facets,
        expanded,
    })
}

/// What a result shows of a paper: its first path, its record as shown (`record` where it
/// was read already), its place in Zotero; `None` for a paper removed since the search began.
/// No versions: [`super::works::Works::paper`] adds them.
pub(super) fn paper_meta(
    catalog: &Catalog,
    doc: DocumentId,
    meaning_only: bool,
    record: Option<crate::metadata::Record>,
) -> Option<crate::search::PaperMeta> {
    let path = catalog.first_path(doc).ok().flatten()?;
    let record = record.unwrap_or_else(|| {
        super::records::record_in(catalog, doc)
            .ok()
            .flatten()
            .unwrap_or_default()
    });
    let zotero = catalog
        .zotero_items_of(doc)
        .ok()
        .and_then(|items| super::zotero::membership_of(&items));
    Some(crate::search::PaperMeta {
        path,
        zotero,
        title: record.title.clone(),
        year: record.year,
        record,
        meaning_only,
        versions: Vec::new(),
    })
}

/// What an expansion adds to the query: the long form of an abbreviation typed, the
/// abbreviation of a term spelled out.
fn added(e: &crate::clinical::abbrev::Expansion) -> String {
    match e.direction {
        crate::clinical::abbrev::Direction::Expansion => e.expansion.clone(),
        crate::clinical::abbrev::Direction::Abbreviation => e.abbreviation.clone(),
    }
}

/// The library as expansion sees it: the definitions its papers make, and whether its
/// passages use a phrase (asked once per phrase and query). A lookup that fails counts as
/// nothing found: expansion only ever adds.
struct Vocabulary<'a> {
    catalog: &'a Catalog,
    lexical: &'a LexicalReader,
    seen: std::cell::RefCell<HashMap<String, usize>>,
}

impl crate::clinical::abbrev::Vocabulary for Vocabulary<'_> {
    fn defined(&self, short: &str) -> Vec<(String, usize)> {
        self.catalog.defined(short).unwrap_or_default()
    }

    fn defined_as(&self, long: &str) -> Vec<(String, usize)> {
        self.catalog.defined_as(long).unwrap_or_default()
    }

    fn phrase_passages(&self, phrase: &str) -> usize {
        if let Some(n) = self.seen.borrow().get(phrase) {
            return *n;
        }
        let n = self.lexical.phrase_passages(phrase).unwrap_or(0);
        self.seen.borrow_mut().insert(phrase.to_string(), n);
        n
    }
}

/// Tells each result which other papers of the library report the same trial.
pub(super) fn link_trials(catalog: &Catalog, results: &mut [crate::SearchResult]) -> Result<()> {
    let mut ids: Vec<String> = results
        .iter()
        .flat_map(|r| r.meta.trial_ids.iter().cloned())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let mut on_trial: HashMap<String, Vec<DocumentId>> = HashMap::new();
    for (id, doc) in catalog.documents_on_trials(&ids)? {
        on_trial.entry(id).or_default().push(doc);
    }
    let mut papers: HashMap<DocumentId, Option<crate::search::TrialPaper>> = HashMap::new();
    for r in results.iter_mut() {
        let own = catalog.file(&r.path)?.map(|f| f.document);
        for id in &r.meta.trial_ids {
            let others: Vec<crate::search::TrialPaper> = on_trial
                .get(id)
                .into_iter()
                .flatten()
                .filter(|doc| Some(**doc) != own)
                .filter_map(|&doc| {
                    papers
                        .entry(doc)
                        .or_insert_with(|| {
                            let path = catalog.first_path(doc).ok().flatten()?;
                            let record = super::records::record_in(catalog, doc).ok().flatten()?;
                            Some(crate::search::TrialPaper {
                                path,
                                title: record.title,
                                year: record.year,
                                design: record.design.map(|d| d.label),
                            })
                        })
                        .clone()
                })
                .collect();
            if !others.is_empty() {
                r.trials.push(crate::search::TrialGroup {
                    id: id.clone(),
                    papers: others,
                });
            }
        }
    }
    Ok(())
}

/// Keeps the best-ranked document of each Zotero item (documents outside Zotero all stay).
pub(super) fn one_per_item(
    catalog: &Catalog,
    documents: Vec<(DocumentId, f32)>,
) -> Result<Vec<(DocumentId, f32)>> {
    let items = catalog.zotero_item_of_documents()?;
    if items.is_empty() {
        return Ok(documents);
    }
    let mut seen = HashSet::new();
    Ok(documents
        .into_iter()
        .filter(|(doc, _)| items.get(doc).is_none_or(|item| seen.insert(item.clone())))
        .collect())
}
