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
