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
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "{} line {}: not a {{\"text\": ...}} object",
                        path.display(),
                        i + 1
                    ))
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
    /// Pages per second over the whole run.
    pub pages_per_s: f64,
    /// Seconds per stage within the run.
    pub stages: crate::library::StageTimes,
    /// Seconds to embed the same passages alone, all at once (the floor an ingest can reach).
    pub embed_alone_s: f64,
    /// `seconds / embed_alone_s`: how close the ingest comes to its embedding alone.
    pub ratio_to_embed_alone: f64,
}

/// Indexes `folder` into a fresh library in `scratch` (removed after), then embeds the stored
/// passages again on their own, and reports both.
pub fn ingest(
    scratch: &Path,
    folder: &Path,
    embedder: std::sync::Arc<dyn Embedder>,
    extractor: Option<Box<dyn crate::extract::Extractor>>,
) -> Result<IngestBench> {
    let _ = std::fs::remove_dir_all(scratch);
    let mut library = crate::Library::open_with(scratch, Some(embedder.clone()))?;
    if let Some(x) = extractor {
        library.set_extractor(x);
    }
    let summary = library.index(
        &[folder.to_path_buf()],
        &crate::library::NoSink,
        &std::sync::atomic::AtomicBool::new(false),
    )?;
    let catalog = crate::catalog::Catalog::open(&scratch.join("catalog.sqlite"))?;
    let mut texts = Vec::new();
    catalog.for_each_chunk(|row, _| texts.push(row.text.clone()))?;
    drop((library, catalog));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    embedder.embed(&refs)?;
    let embed_alone_s = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(scratch);
    Ok(IngestBench {
        model: embedder.info().name.clone(),
        files: summary.indexed + summary.unchanged + summary.failed,
        indexed: summary.indexed,
        pages: summary.pages,
        chunks: summary.chunks,
        seconds: summary.seconds,
        pages_per_s: summary.pages as f64 / summary.seconds.max(1e-9),
        stages: summary.stages,
        embed_alone_s,
        ratio_to_embed_alone: summary.seconds / embed_alone_s.max(1e-9),
    })
}
