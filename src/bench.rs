//! Speed measurements that ship with MedShelf: `medshelf bench`.
//!
//! `embed` mirrors `../shared/baselines/embed_baseline.py` so the two can be compared on the
//! same texts in one command: the texts in batches in file order (tokenisation included), after
//! one warm-up batch; then a fixed short query embedded alone, 10 warm-up and 100 timed runs,
//! whose median is the single-query latency.

use std::path::Path;
use std::time::Instant;

use crate::embed::Embedder;
use crate::error::{Error, Result};

/// The query the baseline script times.
pub const QUERY: &str = "first-line treatment for type 2 diabetes with kidney disease";

/// What `medshelf bench embed --json` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmbedBench {
    /// The model's name.
    pub model: String,
    /// Texts embedded.
    pub chunks: usize,
    /// Word pieces in them after truncation, special tokens included.
    pub tokens: usize,
    /// Texts per batch.
    pub batch: usize,
    /// Throughput in texts per second.
    pub chunks_per_s: f64,
    /// Throughput in word pieces per second.
    pub tokens_per_s: f64,
    /// Median latency of one short query, in milliseconds.
    pub query_ms_p50: f64,
}

/// Reads `{"text": ...}` lines.
pub fn read_texts(path: &Path) -> Result<Vec<String>> {
    let data = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
                .ok_or_else(|| Error::BadInput {
                    path: path.to_path_buf(),
                    message: format!("line {}: not a {{\"text\": ...}} object", i + 1),
                })
        })
        .collect()
}

/// Measures an embedder on `texts` in batches of `batch`.
pub fn embed(embedder: &dyn Embedder, texts: &[String], batch: usize) -> Result<EmbedBench> {
    let batch = batch.max(1);
    let max = embedder.info().max_tokens;
    let tokens: usize = texts
        .iter()
        .map(|t| (embedder.token_spans(t).len() + 2).min(max))
        .sum();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder.embed(&refs[..batch.min(refs.len())])?;
    let started = Instant::now();
    for group in refs.chunks(batch) {
        embedder.embed(group)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    for _ in 0..10 {
        embedder.embed(&[QUERY])?;
    }
    let mut latencies: Vec<f64> = (0..100)
        .map(|_| {
            let t = Instant::now();
            embedder
                .embed(&[QUERY])
                .map(|_| t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_>>()?;
    latencies.sort_by(f64::total_cmp);
    Ok(EmbedBench {
        model: embedder.info().name.clone(),
        chunks: texts.len(),
        tokens,
        batch,
        chunks_per_s: texts.len() as f64 / seconds,
        tokens_per_s: tokens as f64 / seconds,
        query_ms_p50: latencies[50],
    })
}

/// What `medshelf bench ingest` measures: a folder indexed into a fresh library, then the same
/// passages embedded alone, in one process.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestBench {
    /// The model.
    pub model: String,
    /// PDFs found.
    pub files: usize,
    /// Papers indexed.
    pub indexed: usize,
    /// Pages read.
    pub pages: usize,
    /// Passages made.
    pub chunks: usize,
    /// Wall time of the index run, in seconds.
    pub seconds: f64,
    /// Seconds until every paper was searchable by keywords (the first of the run's two
    /// phases; the rest went to embedding).
    pub keywords_seconds: f64,
    /// Pages per second over the whole run.
    pub pages_per_s: f64,
    /// Seconds per stage within the run.
    pub stages: crate::library::StageTimes,
    /// Distinct passage texts the ingest embedded (reference lists and repeats are not).
    pub embedded: usize,
    /// Seconds to embed those texts alone, all at once (the floor an ingest can reach).
    pub embed_alone_s: f64,
    /// `seconds / embed_alone_s`: how close the ingest comes to its embedding alone.
    pub ratio_to_embed_alone: f64,
    /// Seconds to embed every passage, repeats and reference lists included (what an ingest
    /// without that saving would embed), where asked for.
    pub embed_all_s: Option<f64>,
    /// `seconds / embed_all_s`.
    pub ratio_to_embed_all: Option<f64>,
    /// Where asked for, the same folders indexed as index runs did before issue 18: each
    /// paper embedded before it is stored (`index --embed-inline`), files read one at a time:
    /// its wall time, which is also when its papers were all searchable by keywords.
    pub inline_seconds: Option<f64>,
    /// `keywords_seconds / inline_seconds`: how much sooner every paper is searchable by
    /// keywords in two phases.
    pub keywords_ratio_to_inline: Option<f64>,
    /// `seconds / inline_seconds`: what the two phases cost in all.
    pub ratio_to_inline: Option<f64>,
}

/// What [`ingest`] measures besides the ingest itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestCompare {
    /// Embed every passage alone too (repeats and reference lists included).
    pub all: bool,
    /// Index the folders again with embedding inline (the one-phase baseline).
    pub inline: bool,
}

/// Indexes `folders` into a fresh library in `scratch` (removed after), then embeds the stored
/// passages again on their own, and reports both; `extractor` makes each run's PDF reader
/// (`true`: the one-phase baseline's, a single worker as index runs had before).
pub fn ingest(
    scratch: &Path,
    folders: &[std::path::PathBuf],
    embedder: std::sync::Arc<dyn Embedder>,
    extractor: &dyn Fn(bool) -> Option<Box<dyn crate::extract::Extractor>>,
    compare: IngestCompare,
) -> Result<IngestBench> {
    let run = |embedding: crate::library::Embedding| -> Result<crate::IndexSummary> {
        let _ = std::fs::remove_dir_all(scratch);
        let mut library = crate::Library::open_with(scratch, Some(embedder.clone()))?;
        // The baseline is the ingest as it was: one phase, one reader.
        if let Some(x) = extractor(embedding == crate::library::Embedding::Inline) {
            library.set_extractor(x);
        }
        library.index_with(
            folders,
            crate::library::IndexOptions {
                embedding,
                ..Default::default()
            },
            &crate::library::NoSink,
            &std::sync::atomic::AtomicBool::new(false),
        )
    };
    // The baseline first, so that the scratch library left for the embedding-alone pass is
    // the two-phase one.
    let inline_seconds = match compare.inline {
        true => Some(run(crate::library::Embedding::Inline)?.seconds),
        false => None,
    };
    let summary = run(crate::library::Embedding::After)?;
    let compare_all = compare.all;
    let catalog = crate::catalog::Catalog::open(&scratch.join("catalog.sqlite"))?;
    // What the ingest embedded: each distinct text of the passages searched by meaning.
    let mut embedded = catalog.texts(true)?;
    embedded.sort_unstable();
    embedded.dedup();
    let all = if compare_all {
        Some(catalog.texts(false)?)
    } else {
        None
    };
    drop(catalog);
    let time = |texts: &[String]| -> Result<f64> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let started = Instant::now();
        embedder.embed(&refs)?;
        Ok(started.elapsed().as_secs_f64())
    };
    let embed_alone_s = time(&embedded)?;
    let embed_all_s = all.as_deref().map(time).transpose()?;
    let _ = std::fs::remove_dir_all(scratch);
    Ok(IngestBench {
        model: embedder.info().name.clone(),
        files: summary.indexed + summary.unchanged + summary.failed,
        indexed: summary.indexed,
        pages: summary.pages,
        chunks: summary.chunks,
        seconds: summary.seconds,
        keywords_seconds: summary.keywords_seconds,
        pages_per_s: summary.pages as f64 / summary.seconds.max(1e-9),
        stages: summary.stages,
        embedded: embedded.len(),
        embed_alone_s,
        ratio_to_embed_alone: summary.seconds / embed_alone_s.max(1e-9),
        embed_all_s,
        ratio_to_embed_all: embed_all_s.map(|s| summary.seconds / s.max(1e-9)),
        inline_seconds,
        keywords_ratio_to_inline: inline_seconds.map(|s| summary.keywords_seconds / s.max(1e-9)),
        ratio_to_inline: inline_seconds.map(|s| summary.seconds / s.max(1e-9)),
    })
}

/// What `medshelf bench search` measures on a synthetic library of a given size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchBench {
    /// The model (queries are embedded with it).
    pub model: String,
    /// How the vector index stores vectors (`f32`, `bf16`, `f16`, `i8`).
    pub vectors: String,
    /// Passages in the library.
    pub chunks: usize,
    /// Papers they belong to.
    pub documents: usize,
    /// Seconds to build the library, where this run built it (else it came from the cache).
    pub build_s: Option<f64>,
    /// Seconds to open the library (model already loaded; repair check included).
    pub open_s: f64,
    /// Seconds to load the model.
    pub model_load_s: f64,
    /// Resident memory after opening, in MB.
    pub rss_mb_open: f64,
    /// Resident memory after the queries, in MB.
    pub rss_mb_after: f64,
    /// Of which anonymous memory (the heap: what the process holds by itself; the rest is
    /// pages of mapped files, which the kernel can drop and read again), in MB.
    pub rss_anon_mb_after: f64,
    /// Bytes on disk, all stores.
    pub disk_bytes: u64,
    /// Bytes on disk per passage.
    pub bytes_per_chunk: f64,
    /// Queries run (hybrid, query embedding included).
    pub queries: usize,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The same queries' median without the page's sentence windows
    /// ([`crate::SearchOptions::window_weight`] 0), timed alternately with the default in the
    /// same run: the cost of choosing the page by windows is `p50_ms / p50_ms_no_windows`.
    pub p50_ms_no_windows: f64,
    /// The same queries' median with each page weighed by its passage alone
    /// ([`crate::SearchOptions::page_weight`] 0), timed in turn with the others: reading and
    /// weighing the candidates' pages costs `p50_ms / p50_ms_no_page`.
    pub p50_ms_no_page: f64,
    /// The same queries' median without abbreviation expansion, timed in turn with the
    /// others in the same run: expansion costs `p50_ms - p50_ms_no_expand`.
    pub p50_ms_no_expand: f64,
    /// The same queries in keyword mode alone, timed in turn with the others: the keyword
    /// side's own median and 95th percentile (in hybrid mode it runs beside the query's
    /// embedding, then the vector search follows).
    pub p50_ms_keywords: f64,
    /// 95th percentile of keyword mode alone.
    pub p95_ms_keywords: f64,
    /// The same queries in meaning mode alone (query embedding and vector search), in turn
    /// with the others.
    pub p50_ms_meaning: f64,
    /// 95th percentile of meaning mode alone.
    pub p95_ms_meaning: f64,
    /// The slowest hybrid queries, slowest first, each with its times in the other modes:
    /// what the tail is made of (which side, which words).
    pub slowest: Vec<SlowQuery>,
}

/// One of the slowest queries of a [`SearchBench`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct SlowQuery {
    /// The query.
    pub query: String,
    /// Its hybrid time (the default options), in milliseconds.
    pub hybrid_ms: f64,
    /// Its time in keyword mode alone.
    pub keywords_ms: f64,
    /// Its time in meaning mode alone.
    pub meaning_ms: f64,
}

/// How many of the slowest queries a [`SearchBench`] lists.
const SLOWEST: usize = 10;

/// Passages per synthetic paper, unless the caller says otherwise: ten, as the figures in
/// docs/PERFORMANCE.md before 2026-12-04 were measured. A real paper has about 75.
pub const CHUNKS_PER_DOC: usize = 10;

/// Builds (or reuses, from `dir`) a library of `chunks` passages whose text comes from `corpus`
/// (real abstracts, recombined so that copies differ) and whose vectors are real embeddings of
/// a sample of them, perturbed (search cost does not depend on the values, and embedding a
/// million passages here would take a day); then opens it afresh and times hybrid searches for
/// `queries`, query embedding included.
pub fn search_at_scale(
    dir: &Path,
    model: &Path,
    corpus: &[String],
    queries: &[String],
    chunks: usize,
    per_paper: usize,
    progress: &dyn Fn(usize),
) -> Result<SearchBench> {
    use std::sync::Arc;
    if corpus.is_empty() || queries.is_empty() {
        return Err(Error::BadInput {
            path: dir.to_path_buf(),
            message: "needs corpus texts and queries to build a library from".into(),
        });
    }
    let per_paper = per_paper.max(1);
    // The marker says what the cached library holds: its passages, after a slash its
    // passages a paper (absent in caches written before that was a choice: ten), and that its
    // papers have records (caches written before 2026-12-05 have none, and are built again).
    let marker = dir.join("bench-chunks");
    let wanted = match per_paper {
        CHUNKS_PER_DOC => format!("{chunks} records"),
        n => format!("{chunks}/{n} records"),
    };
    let cached = std::fs::read_to_string(&marker).ok();
    let mut build_s = None;
    if cached.as_deref().map(str::trim) != Some(wanted.as_str()) {
        let started = Instant::now();
        let _ = std::fs::remove_dir_all(dir);
        let embedder: Arc<dyn Embedder> = Arc::new(crate::BertEmbedder::load(model)?);
        let sample: Vec<&str> = corpus.iter().take(256).map(String::as_str).collect();
        let seeds = embedder.embed(&sample)?;
        let mut library = crate::Library::open_with(dir, Some(embedder))?;
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let docs = chunks.div_ceil(per_paper);
        for d in 0..docs {
            let n = per_paper.min(chunks - d * per_paper);
            let mut pages = Vec::with_capacity(n);
            let mut passages = Vec::with_capacity(n);
            let mut vectors = Vec::with_capacity(n);
            for p in 0..n {
                let i = d * per_paper + p;
                let a = &corpus[i % corpus.len()];
                let b = &corpus[(i / corpus.len() * 7919 + i) % corpus.len()];
                let tail: String = b.split(". ").next().unwrap_or("").to_string();
                let text = format!("{a} {tail}.");
                passages.push(crate::chunk::Passage {
                    page: p as u32 + 1,
                    start: 0,
                    end: text.len(),
                    tokens: 0,
                });
                pages.push(text);
                let seed = &seeds[(next() as usize) % seeds.len()];
                let mut v: Vec<f32> = seed
                    .iter()
                    .map(|x| x + ((next() % 2001) as f32 / 1000.0 - 1.0) * 0.02)
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|x| *x /= norm);
                vectors.push(v);
            }
            // A record, as an index run stores one for every paper it reads: without one, a
            // search would look for each candidate's year on its first page.
            let title = format!("Synthetic paper {d}");
            let record = crate::metadata::Record {
                title: Some(title.clone()),
                year: Some(1990 + (d % 36) as u16),
                ..Default::default()
            };
            let extracted = crate::Extracted {
                title: Some(title),
                pages,
                hash: None,
                running_heads: Vec::new(),
                metadata: Some(Box::new(record)),
                ocr: Vec::new(),
            };
            let path = Path::new("/synthetic").join(format!("{d:07}.pdf"));
            library.insert_prepared(&path, &extracted, &passages, &vectors)?;
            if (d + 1) * per_paper / 10_000 != d * per_paper / 10_000 {
                progress((d + 1) * per_paper);
            }
        }
        library.flush()?;
        drop(library);
        std::fs::write(&marker, &wanted).map_err(|e| Error::io(&marker, e))?;
        build_s = Some(started.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let embedder: Arc<dyn Embedder> = Arc::new(crate::BertEmbedder::load(model)?);
    let model_load_s = t.elapsed().as_secs_f64();
    let model_name = embedder.info().name.clone();
    let t = Instant::now();
    let library = crate::Library::open_with(dir, Some(embedder))?;
    let open_s = t.elapsed().as_secs_f64();
    let rss_mb_open = rss_mb();
    let searcher = library.searcher()?;
    let opts = crate::SearchOptions::default();
    let plain = crate::SearchOptions {
        window_weight: 0.0,
        ..opts.clone()
    };
    let literal = crate::SearchOptions {
        expand: crate::clinical::abbrev::ExpandOptions {
            enabled: false,
            ..Default::default()
        },
        ..opts.clone()
    };
    let passage_alone = crate::SearchOptions {
        page_weight: 0.0,
        ..opts.clone()
    };
    let keywords = crate::SearchOptions {
        mode: crate::Mode::Lexical,
        ..opts.clone()
    };
    let meaning = crate::SearchOptions {
        mode: crate::Mode::Semantic,
        ..opts.clone()
    };
    let variants = [&opts, &plain, &literal, &passage_alone, &keywords, &meaning];
    // One query first, untimed: the first search pays for lazily mapped index files.
    searcher.search(&queries[0], &opts)?;
    let mut times: [Vec<f64>; 6] = Default::default();
    for (i, q) in queries.iter().enumerate() {
        // Each variant first in turn, so that none gains from the others' warm caches.
        for k in 0..variants.len() {
            let v = (i + k) % variants.len();
            let t = Instant::now();
            searcher.search(q, variants[v])?;
            times[v].push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut slowest: Vec<SlowQuery> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| SlowQuery {
            query: q.clone(),
            hybrid_ms: times[0][i],
            keywords_ms: times[4][i],
            meaning_ms: times[5][i],
        })
        .collect();
    slowest.sort_by(|a, b| b.hybrid_ms.total_cmp(&a.hybrid_ms));
    slowest.truncate(SLOWEST);
    for list in &mut times {
        list.sort_by(f64::total_cmp);
    }
    let at = |list: &[f64], p: f64| list[((list.len() - 1) as f64 * p).round() as usize];
    let pct = |p: f64| at(&times[0], p);
    let p50_ms_no_windows = at(&times[1], 0.5);
    let p50_ms_no_expand = at(&times[2], 0.5);
    let p50_ms_no_page = at(&times[3], 0.5);
    let disk_bytes: u64 = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum();
    let status = library.status()?;
    Ok(SearchBench {
        model: model_name,
        vectors: library
            .vector_storage()
            .map_or("none", |s| s.as_str())
            .to_string(),
        chunks: status.chunks as usize,
        documents: status.documents as usize,
        build_s,
        open_s,
        model_load_s,
        rss_mb_open,
        rss_mb_after: rss_mb(),
        rss_anon_mb_after: rss_field_mb("RssAnon:"),
        disk_bytes,
        bytes_per_chunk: disk_bytes as f64 / status.chunks.max(1) as f64,
        queries: times[0].len(),
        p50_ms: pct(0.5),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        p50_ms_no_windows,
        p50_ms_no_page,
        p50_ms_no_expand,
        p50_ms_keywords: at(&times[4], 0.5),
        p95_ms_keywords: at(&times[4], 0.95),
        p50_ms_meaning: at(&times[5], 0.5),
        p95_ms_meaning: at(&times[5], 0.95),
        slowest,
    })
}

/// This process's resident memory in MB (Linux; 0 elsewhere).
fn rss_mb() -> f64 {
    rss_field_mb("VmRSS:")
}

/// A field of this process's memory figures in MB (Linux; 0 elsewhere).
fn rss_field_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
