//! Retrieval quality on public benchmarks in BEIR layout: `medshelf eval`.
//!
//! The corpus is indexed through the same path as a PDF after extraction (each document is a
//! one-page paper: its title, then title and text as the page), every judged query is searched,
//! and the ranked papers are scored with trec_eval's definitions: nDCG@10 with graded gains and a
//! log2(rank + 1) discount, Recall@100 over documents judged relevant (grade at least 1), and
//! MRR@10 (the reciprocal rank of the first relevant document in the top ten). A query with no
//! results scores zero; every judged query counts.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub mod pages;
pub mod similar;

/// One document of a benchmark corpus.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CorpusDoc {
    /// Its id in the qrels.
    #[serde(rename = "_id")]
    pub id: String,
    /// Its title (may be empty).
    #[serde(default)]
    pub title: String,
    /// Its text.
    #[serde(default)]
    pub text: String,
}

#[derive(serde::Deserialize)]
struct Query {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// Graded judgements: query id to document id to grade.
pub type Qrels = BTreeMap<String, HashMap<String, i32>>;

/// A benchmark in BEIR layout, loaded.
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// The folder's name (`scifact`).
    pub name: String,
    /// The split judged (`test`).
    pub split: String,
    /// The corpus.
    pub corpus: Vec<CorpusDoc>,
    /// The judged queries' text, by id, in id order.
    pub queries: BTreeMap<String, String>,
    /// The judgements of the split.
    pub qrels: Qrels,
}

/// Reads `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv` from `dir`.
pub fn load_beir(dir: &Path, split: &str) -> Result<Benchmark> {
    let bad = |file: &Path, why: String| Error::BadInput {
        path: file.to_path_buf(),
        message: format!("is not a BEIR benchmark file: {why}"),
    };
    let corpus_path = dir.join("corpus.jsonl");
    let mut corpus = Vec::new();
    for (i, line) in read_lines(&corpus_path)?.into_iter().enumerate() {
        let doc: CorpusDoc = serde_json::from_str(&line)
            .map_err(|e| bad(&corpus_path, format!("line {}: {e}", i + 1)))?;
        corpus.push(doc);
    }
    let qrels_path = dir.join("qrels").join(format!("{split}.tsv"));
    let mut qrels = Qrels::new();
    for (i, line) in read_lines(&qrels_path)?.into_iter().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 3 {
            return Err(bad(
                &qrels_path,
                format!("line {} has no three columns", i + 1),
            ));
        }
        let Ok(grade) = fields[2].trim().parse::<i32>() else {
            if i == 0 {
                continue; // The header.
            }
            return Err(bad(
                &qrels_path,
                format!("line {}: grade {:?}", i + 1, fields[2]),
            ));
        };
        qrels
            .entry(fields[0].to_string())
            .or_default()
            .insert(fields[1].to_string(), grade);
    }
    let queries_path = dir.join("queries.jsonl");
    let mut queries = BTreeMap::new();
    for (i, line) in read_lines(&queries_path)?.into_iter().enumerate() {
        let q: Query = serde_json::from_str(&line)
            .map_err(|e| bad(&queries_path, format!("line {}: {e}", i + 1)))?;
        if qrels.contains_key(&q.id) {
            queries.insert(q.id, q.text);
        }
    }
    // Judgements for queries that have no text cannot be run.
    qrels.retain(|q, _| queries.contains_key(q));
    let name = std::path::absolute(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "benchmark".into());
    Ok(Benchmark {
        name,
        split: split.to_string(),
        corpus,
        queries,
        qrels,
    })
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    std::io::BufReader::new(file)
        .lines()
        .filter(|l| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))
}

/// nDCG@k of a ranking (document ids, best first) against graded judgements.
pub fn ndcg_at(ranking: &[String], rels: &HashMap<String, i32>, k: usize) -> f64 {
    let dcg: f64 = ranking
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| rels.get(d).copied().unwrap_or(0).max(0) as f64 / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<i32> = rels.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| g as f64 / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Recall@k: the share of relevant documents (grade at least 1) in the top `k`.
pub fn recall_at(ranking: &[String], rels: &HashMap<String, i32>, k: usize) -> f64 {
    let relevant = rels.values().filter(|&&g| g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranking
        .iter()
        .take(k)
        .filter(|d| rels.get(*d).is_some_and(|&g| g > 0))
        .count();
    found as f64 / relevant as f64
}

/// The reciprocal rank of the first relevant document within the top `k`, else 0.
pub fn mrr_at(ranking: &[String], rels: &HashMap<String, i32>, k: usize) -> f64 {
    ranking
        .iter()
        .take(k)
        .position(|d| rels.get(d).is_some_and(|&g| g > 0))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// The figures of one mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Mean nDCG@10.
    #[serde(rename = "ndcg@10")]
    pub ndcg_10: f64,
    /// Mean Recall@100.
    #[serde(rename = "recall@100")]
    pub recall_100: f64,
    /// Mean MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr_10: f64,
}

/// Scores rankings (query id to document ids, best first) against judgements: the mean over
/// every judged query, a query without a ranking counting zero.
pub fn score(runs: &HashMap<String, Vec<String>>, qrels: &Qrels) -> Scores {
    let empty = Vec::new();
    let n = qrels.len().max(1) as f64;
    let mut s = Scores::default();
    for (q, rels) in qrels {
        let ranking = runs.get(q).unwrap_or(&empty);
        s.ndcg_10 += ndcg_at(ranking, rels, 10) / n;
        s.recall_100 += recall_at(ranking, rels, 100) / n;
        s.mrr_10 += mrr_at(ranking, rels, 10) / n;
    }
    s
}

/// What `medshelf eval --json` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The benchmark's name.
    pub dataset: String,
    /// The split judged.
    pub split: String,
    /// How many judged queries were run.
    pub queries: usize,
    /// Figures per mode (`lexical`, `semantic`, `hybrid`).
    pub modes: BTreeMap<String, Scores>,
    /// The model that made the vectors, if any.
    pub model: Option<String>,
    /// The library the corpus was indexed into (kept, so a second run only searches).
    pub library: PathBuf,
}

/// The path a corpus document is filed under in the evaluation library; results map back by it.
pub fn doc_path(dataset: &str, id: &str) -> PathBuf {
    PathBuf::from(format!("/beir/{dataset}/{id}"))
}

/// The corpus id of a result path made by [`doc_path`].
pub fn doc_id(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Runs every judged query in each of `modes` in a library that holds the benchmark's corpus
/// ([`index_corpus`]), and scores the rankings.
pub fn evaluate(
    library: &crate::Library,
    bench: &Benchmark,
    modes: &[crate::Mode],
    base: &crate::SearchOptions,
) -> Result<Report> {
    let mut report = Report {
        dataset: bench.name.clone(),
        split: bench.split.clone(),
        queries: bench.qrels.len(),
        modes: BTreeMap::new(),
        model: library.model().map(|m| m.name.clone()),
        library: library.dir().to_path_buf(),
    };
    for &mode in modes {
        let opts = crate::SearchOptions {
            mode,
            limit: 100,
            ..base.clone()
        };
        let mut runs = HashMap::new();
        for (id, text) in &bench.queries {
            let answer = library.search(text, &opts)?;
            let ranking: Vec<String> = answer
                .results
                .iter()
                .filter_map(|r| doc_id(&r.path))
                .collect();
            runs.insert(id.clone(), ranking);
        }
        report
            .modes
            .insert(mode.as_str().to_string(), score(&runs, &bench.qrels));
    }
    Ok(report)
}

/// Indexes a benchmark's corpus into `library`, each document a one-page paper filed under
/// [`doc_path`] (what an earlier run indexed is skipped).
pub fn index_corpus(
    library: &mut crate::Library,
    bench: &Benchmark,
    sink: &dyn crate::Sink,
) -> Result<()> {
    let docs: Vec<(PathBuf, crate::Extracted)> = bench
        .corpus
        .iter()
        .map(|d| {
            // As a paper's first page starts with its title, the page is the title and the text.
            let page = format!("{} {}", d.title, d.text).trim().to_string();
            let title = (!d.title.trim().is_empty()).then(|| d.title.trim().to_string());
            let extracted = crate::Extracted {
                title,
                pages: vec![page],
                hash: None,
                running_heads: Vec::new(),
                metadata: None,
                ocr: Vec::new(),
            };
            (doc_path(&bench.name, &d.id), extracted)
        })
        .collect();
    library.index_extracted(&docs, sink, &std::sync::atomic::AtomicBool::new(false))?;
    Ok(())
}

/// Where a benchmark's index is cached: per dataset, corpus and model, so a second run only
/// searches. `MEDSHELF_EVAL_CACHE` overrides the base folder.
pub fn cache_dir(bench: &Benchmark, model: Option<&str>) -> PathBuf {
    let base = cache_base();
    let mut hasher = blake3::Hasher::new();
    for d in &bench.corpus {
        hasher.update(d.id.as_bytes());
        hasher.update(&(d.title.len() + d.text.len()).to_le_bytes());
    }
    let fingerprint = &hasher.finalize().to_hex()[..12];
    base.join(format!(
        "{}-{}-{fingerprint}",
        bench.name,
        model.unwrap_or("no-model")
    ))
}

/// Where evaluation libraries are cached: the settings' folder (`MEDSHELF_EVAL_CACHE`), else
/// the platform's cache folder.
pub fn cache_base() -> PathBuf {
    crate::settings::get()
        .eval_cache
        .clone()
        .or_else(|| dirs::cache_dir().map(|c| c.join("medshelf/eval")))
        .unwrap_or_else(|| std::env::temp_dir().join("medshelf-eval"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rels(pairs: &[(&str, i32)]) -> HashMap<String, i32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    fn ranking(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn perfect_and_empty_rankings() {
        let r = rels(&[("a", 2), ("b", 1)]);
        assert!((ndcg_at(&ranking(&["a", "b"]), &r, 10) - 1.0).abs() < 1e-12);
        assert_eq!(ndcg_at(&[], &r, 10), 0.0);
        assert_eq!(mrr_at(&ranking(&["x", "b"]), &r, 10), 0.5);
        assert_eq!(recall_at(&ranking(&["x", "b"]), &r, 100), 0.5);
        // Swapping grades lowers nDCG.
        assert!(ndcg_at(&ranking(&["b", "a"]), &r, 10) < 1.0);
    }
}
