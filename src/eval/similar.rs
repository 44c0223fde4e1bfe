//! "More like this" measured: `medshelf eval-similar`.
//!
//! A benchmark's graded judgements say which documents answer the same question. Documents
//! judged highly relevant (grade 2, the top grade) to one query are taken as related: in
//! NFCorpus these are the papers one NutritionFacts article cites directly, a topic a
//! clinician would call "like this one". Each such document asks for its similar papers; the
//! figures are the share of related papers among the first ten (precision@10), the reciprocal
//! rank of the first, and the share of its related papers found in the first ten (recall@10),
//! beside what a random order would give.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::{doc_id, doc_path, Benchmark};
use crate::error::Result;
use crate::library::SimilarOptions;

/// The grade from which two documents judged for one query are related.
const RELATED_GRADE: i32 = 2;

/// One mode's figures.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SimilarScores {
    /// Mean share of related documents among the first ten.
    pub precision_10: f64,
    /// Mean reciprocal rank of the first related document within ten (0 where none).
    pub mrr_10: f64,
    /// Mean share of a source's related documents found among its first ten.
    pub recall_10: f64,
}

/// What `medshelf eval-similar --json` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimilarReport {
    /// The benchmark's name.
    pub dataset: String,
    /// The split whose judgements relate documents.
    pub split: String,
    /// How many documents asked for their similar papers.
    pub sources: usize,
    /// The mean number of related documents per source.
    pub related_mean: f64,
    /// What a random order of the corpus scores, for scale: the expected precision@10.
    pub random_precision_10: f64,
    /// Figures per mode.
    pub modes: BTreeMap<String, SimilarScores>,
}

/// Each document with a top-grade judgement and the other documents judged so for the same
/// queries, in id order.
pub fn related(bench: &Benchmark) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for judged in bench.qrels.values() {
        let top: Vec<&String> = judged
            .iter()
            .filter(|(_, &g)| g >= RELATED_GRADE)
            .map(|(d, _)| d)
            .collect();
        for a in &top {
            for b in &top {
                if a != b {
                    out.entry((*a).clone()).or_default().insert((*b).clone());
                }
            }
        }
    }
    out
}

/// Asks for the papers like each of at most `max_sources` related documents (spread evenly
/// over the id order, so that a sample is the same from run to run), in each of `modes`, in a
/// library that holds the benchmark's corpus ([`super::index_corpus`]).
pub fn evaluate_similar(
    library: &crate::Library,
    bench: &Benchmark,
    modes: &[crate::Mode],
    max_sources: usize,
) -> Result<SimilarReport> {
    let related = related(bench);
    let step = related.len().div_ceil(max_sources.max(1)).max(1);
    let sources: Vec<(&String, &BTreeSet<String>)> = related.iter().step_by(step).collect();
    let n = sources.len().max(1) as f64;
    let related_mean = sources.iter().map(|s| s.1.len()).sum::<usize>() as f64 / n;
    let others = bench.corpus.len().saturating_sub(1).max(1) as f64;
    let mut report = SimilarReport {
        dataset: bench.name.clone(),
        split: bench.split.clone(),
        sources: sources.len(),
        related_mean,
        random_precision_10: related_mean / others,
        modes: BTreeMap::new(),
    };
    for &mode in modes {
        let opts = SimilarOptions {
            limit: 10,
            mode,
            ..SimilarOptions::default()
        };
        let mut total = SimilarScores::default();
        for (id, rel) in &sources {
            let answer = library.similar(&doc_path(&bench.name, id), &opts)?;
            let ranking: Vec<String> = answer
                .results
                .iter()
                .filter_map(|r| doc_id(&r.path))
                .collect();
            let hits: HashSet<&String> = ranking.iter().filter(|d| rel.contains(*d)).collect();
            total.precision_10 += hits.len() as f64 / 10.0;
            total.recall_10 += hits.len() as f64 / rel.len() as f64;
            if let Some(first) = ranking.iter().position(|d| rel.contains(d)) {
                total.mrr_10 += 1.0 / (first + 1) as f64;
            }
        }
        report.modes.insert(
            mode.as_str().to_string(),
            SimilarScores {
                precision_10: total.precision_10 / n,
                mrr_10: total.mrr_10 / n,
                recall_10: total.recall_10 / n,
            },
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_judged_top_for_one_query_are_related() {
        let mut qrels = super::super::Qrels::new();
        qrels.insert(
            "q1".into(),
            [("a", 2), ("b", 2), ("c", 1)]
                .into_iter()
                .map(|(d, g)| (d.to_string(), g))
                .collect(),
        );
        qrels.insert(
            "q2".into(),
            [("b", 2), ("d", 2)]
                .into_iter()
                .map(|(d, g)| (d.to_string(), g))
                .collect(),
        );
        let bench = Benchmark {
            name: "t".into(),
            split: "test".into(),
            corpus: Vec::new(),
            queries: BTreeMap::new(),
            qrels,
        };
        let related = related(&bench);
        assert_eq!(
            related["b"],
            BTreeSet::from(["a".to_string(), "d".to_string()])
        );
        assert_eq!(related["a"], BTreeSet::from(["b".to_string()]));
        assert!(!related.contains_key("c"), "a lower grade relates nothing");
    }
}
