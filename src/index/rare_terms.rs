//! The words a paper (or one of its pages) shares with the rest of the library that set it
//! apart: what "more like this" searches by on the keyword side, and what it shows the user
//! as the reason two papers are alike.
//!
//! Terms are scored as Lucene's MoreLikeThis scores them (frequency in the paper times rarity
//! in the library). tantivy's `MoreLikeThisQuery` does the same, but keeps the terms it chose to
//! itself and counts the paper's own passages as sharing a term: a word only the paper uses
//! (a drug code, an author's name on every page) would head the list and find nothing else.

use std::collections::{HashMap, HashSet};

use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use super::lexical::{analyze, LexicalReader, TITLE_BOOST};
use crate::catalog::{ChunkId, DocumentId};
use crate::error::Result;

/// Most terms a "more like this" query holds (Lucene's default).
pub const MAX_SHARED_TERMS: usize = 25;

/// Below this many passages a term used once in the source still counts (a page, a short
/// paper); from it on, a term must occur twice, or every stray word of a long paper competes.
const ONCE_IS_ENOUGH_BELOW: usize = 5;

/// A word the source shares with other papers.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedTerm {
    /// The indexed term (stemmed: "echinococcosi").
    pub term: String,
    /// The word as the source writes it most often, lower-cased ("echinococcosis"): what a
    /// person is shown.
    pub word: String,
    /// Its weight: frequency in the source times rarity in the library.
    pub weight: f32,
}

impl LexicalReader {
    /// The terms of `passages` (a paper's, or a page's) that passages of the index outside
    /// `excluded` use too (`excluded`: the texts of every passage of the papers left out, the
    /// source's own among them), best first, with their weights: `(1 + ln tf) * idf`, where `tf`
    /// counts the term in `passages` and `idf` is BM25's over the passages outside `excluded`.
    /// At most `max`. Numbers and words of fewer than three letters are left out (they are
    /// shared by chance), and so are the parts of a compound ("covid" of "covid-19"), which
    /// would name one word twice.
    pub fn shared_rare_terms(
        &self,
        passages: &[&str],
        excluded: &[&str],
        max: usize,
    ) -> Result<Vec<SharedTerm>> {
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut words: HashMap<String, HashMap<String, u32>> = HashMap::new();
        for text in passages {
            // The analyzer gives a compound, then its parts within its span.
            let mut compound_end = 0;
            for (term, from, to) in analyze(text) {
                let part = to <= compound_end;
                compound_end = compound_end.max(to);
                if part || term.chars().filter(|c| c.is_alphabetic()).count() < 3 {
                    continue;
                }
                *tf.entry(term.clone()).or_default() += 1;
                if let Some(word) = text.get(from..to) {
                    *words
                        .entry(term.clone())
                        .or_default()
                        .entry(word.to_lowercase())
                        .or_default() += 1;
                }
            }
        }
        // How many of the excluded passages hold each candidate term: those are not "others".
        let mut own: HashMap<&str, u64> = HashMap::new();
        for text in excluded {
            let mut seen = HashSet::new();
            for (term, _, _) in analyze(text) {
                if let Some((key, _)) = tf.get_key_value(term.as_str()) {
                    if seen.insert(key.as_str()) {
                        *own.entry(key.as_str()).or_default() += 1;
                    }
                }
            }
        }
        let min_tf = if passages.len() < ONCE_IS_ENOUGH_BELOW {
            1
        } else {
            2
        };
        let searcher = self.reader.searcher();
        let n = (searcher.num_docs() as f32 - excluded.len() as f32).max(1.0);
        let mut scored = Vec::new();
        for (term, &count) in &tf {
            if count < min_tf {
                continue;
            }
            let df = searcher.doc_freq(&Term::from_field_text(self.text, term))?;
            // The excluded papers' passages are in the index too: only the others share it.
            let others = df.saturating_sub(own.get(term.as_str()).copied().unwrap_or(0)) as f32;
            if others == 0.0 {
                continue;
            }
            let idf = (1.0 + (n - others + 0.5) / (others + 0.5)).ln();
            // The spelling used most (the shortest among equals: "cyst" over "cysts").
            let word = words
                .get(term)
                .and_then(|w| {
                    w.iter().max_by(|a, b| {
                        a.1.cmp(b.1)
                            .then_with(|| b.0.len().cmp(&a.0.len()))
                            .then_with(|| b.0.cmp(a.0))
                    })
                })
                .map_or_else(|| term.clone(), |(w, _)| w.clone());
            let weight = (1.0 + (count as f32).ln()) * idf;
            scored.push(SharedTerm {
                term: term.clone(),
                word,
                weight,
            });
        }
        // Ties break on the term, so that the same paper always asks the same query.
        scored.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.term.cmp(&b.term))
        });
        scored.truncate(max);
        Ok(scored)
    }

    /// The best `limit` passages by `terms` (each weighted relative to the heaviest, BM25 within
    /// each term), in text and titles, outside the papers `exclude`, best first.
    pub fn search_terms(
        &self,
        terms: &[SharedTerm],
        limit: usize,
        exclude: &[DocumentId],
    ) -> Result<Vec<(ChunkId, f32)>> {
        let heaviest = terms.iter().map(|t| t.weight).fold(0.0f32, f32::max);
        if heaviest <= 0.0 || limit == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in [(self.text, 1.0), (self.title, TITLE_BOOST)] {
            for t in terms {
                let query = TermQuery::new(
                    Term::from_field_text(field, &t.term),
                    IndexRecordOption::WithFreqs,
                );
                let weight = boost * t.weight / heaviest;
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), weight)),
                ));
            }
        }
        if !exclude.is_empty() {
            let excluded = exclude
                .iter()
                .map(|&d| Term::from_field_u64(self.doc_id, d as u64));
            clauses.push((Occur::MustNot, Box::new(TermSetQuery::new(excluded))));
        }
        self.top_passages(&BooleanQuery::new(clauses), limit)
    }
}

#[cfg(test)]
mod tests {
    use crate::index::LexicalIndex;

    /// Three papers: the source on echinococcosis, one that shares its rare words, one that
    /// shares only common ones.
    fn index() -> (tempfile::TempDir, LexicalIndex) {
        let dir = tempfile::tempdir().unwrap();
        let mut index = LexicalIndex::open(dir.path()).unwrap();
        let passages = [
            (
                1,
                1,
                "Cystic echinococcosis cysts treated with albendazole in patients, ZX9 code.",
            ),
            (
                2,
                1,
                "Albendazole before surgery for echinococcosis; the patients did well.",
            ),
            (
                3,
                2,
                "Hepatic echinococcosis: albendazole given to patients with cysts.",
            ),
            (
                4,
                3,
                "Patients with hypertension were given treatment in this study.",
            ),
            (
                5,
                3,
                "The patients in the study were treated for blood pressure.",
            ),
        ];
        for (chunk, doc, text) in passages {
            index.add(chunk, doc, text, None).unwrap();
        }
        index.commit().unwrap();
        (dir, index)
    }

    #[test]
    fn shared_rare_terms_leave_out_what_only_the_source_uses() {
        let (_dir, index) = index();
        let reader = index.reader();
        let source = [
            "Cystic echinococcosis cysts treated with albendazole in patients, ZX9 code.",
            "Albendazole before surgery for echinococcosis; the patients did well.",
        ];
        let terms = reader.shared_rare_terms(&source, &source, 25).unwrap();
        let names: Vec<&str> = terms.iter().map(|t| t.term.as_str()).collect();
        // Shared and rare first; "surgery" and "zx9" are the source's own, "did" a stop word.
        assert!(names[..2].contains(&"albendazol"), "{names:?}");
        assert!(names.contains(&"echinococcosi"), "{names:?}");
        assert!(
            !names.contains(&"surgeri") && !names.contains(&"zx9"),
            "{names:?}"
        );
        // The common word shared by every paper weighs less than the rare ones.
        let weight = |t: &str| terms.iter().find(|x| x.term == t).map(|x| x.weight);
        assert!(weight("patient") < weight("albendazol"), "{terms:?}");
        // Shown as written.
        let echino = terms.iter().find(|x| x.term == "echinococcosi").unwrap();
        assert_eq!(echino.word, "echinococcosis");
        let hits = reader.search_terms(&terms, 10, &[1]).unwrap();
        assert_eq!(hits[0].0, 3, "{hits:?}");
        assert!(
            hits.iter().all(|h| h.0 > 2),
            "the source itself is excluded: {hits:?}"
        );
    }

    #[test]
    fn no_terms_find_nothing() {
        let (_dir, index) = index();
        let reader = index.reader();
        assert!(reader.search_terms(&[], 10, &[]).unwrap().is_empty());
        assert!(reader.shared_rare_terms(&[], &[], 25).unwrap().is_empty());
        let blank = ["", "12 3.4 %"];
        assert!(reader
            .shared_rare_terms(&blank, &blank, 25)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn words_the_excluded_papers_hold_are_not_shared_and_compounds_count_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = LexicalIndex::open(dir.path()).unwrap();
        let passages = [
            (1, 1, "Brunetti treated COVID-19 cysts with albendazole."),
            // The source's reference list: Brunetti again, excluded with the source.
            (2, 1, "Brunetti E. Echinococcosis. Lancet 2019."),
            (3, 2, "Albendazole for COVID-19 cysts."),
        ];
        for (chunk, doc, text) in passages {
            index.add(chunk, doc, text, None).unwrap();
        }
        index.commit().unwrap();
        let reader = index.reader();
        let source = [passages[0].2];
        let excluded = [passages[0].2, passages[1].2];
        let terms = reader.shared_rare_terms(&source, &excluded, 25).unwrap();
        let words: Vec<&str> = terms.iter().map(|t| t.word.as_str()).collect();
        assert!(!words.contains(&"brunetti"), "{words:?}");
        assert!(
            words.contains(&"covid-19") && !words.contains(&"covid"),
            "{words:?}"
        );
        assert!(words.contains(&"albendazole"), "{words:?}");
    }
}
