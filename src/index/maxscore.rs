//! The best passages for a sum of weighted terms, by MaxScore (Turtle and Flood, 1995), the
//! dynamic pruning Lucene moved its disjunctions to: a question of fifteen words was slow in
//! tantivy's block-max WAND, which re-sorts every term's cursor at each candidate it weighs
//! (a quarter of a million-passage search's time was that loop's own, docs/PERFORMANCE.md).
//!
//! The terms are ordered by the most they can add to a score. Once the best `k` so far are
//! known, the weakest terms whose bounds together cannot lift a passage past the `k`-th are
//! *non-essential*: no passage that holds only them can enter, so only the other terms'
//! postings are walked, and the non-essential ones are looked up (a seek) for the passages
//! met there, strongest first, while the passage could still enter. Exact: the passages and
//! scores are those of the union of the terms scored by BM25, as tantivy's own search gives
//! (a test holds the two equal).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::fastfield::AliveBitSet;
use tantivy::query::{EnableScoring, Query, Scorer};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED};

/// A scored document in the heap of the best so far, the worst on top.
#[derive(PartialEq)]
struct Hit(Score, DocId);

impl Eq for Hit {}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        // Lower score first out; at equal scores the later document goes first, so that the
        // earlier one stays (as tantivy's collector keeps it).
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The best `k` documents of `searcher` for the sum of `clauses`' scores, each clause a query
/// with the most it can add to a document's score, best first, as `(score, address)`. Each
/// segment is searched on the index's executor (the segments side by side, as tantivy's own
/// search does).
pub fn top_k(
    searcher: &Searcher,
    clauses: &[(Box<dyn Query>, Score)],
    k: usize,
) -> tantivy::Result<Vec<(Score, DocAddress)>> {
    if k == 0 || clauses.is_empty() {
        return Ok(Vec::new());
    }
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let mut weights = Vec::with_capacity(clauses.len());
    for (query, bound) in clauses {
        weights.push((query.weight(scoring)?, *bound));
    }
    let segments = searcher.segment_readers();
    let per_segment = searcher.index().search_executor().map(
        |(ord, reader): (usize, &SegmentReader)| -> tantivy::Result<Vec<(Score, DocAddress)>> {
            let mut cursors = Vec::with_capacity(weights.len());
            for (weight, bound) in &weights {
                let scorer = weight.scorer(reader, 1.0)?;
                if scorer.doc() != TERMINATED {
                    cursors.push((scorer, *bound));
                }
            }
            Ok(segment_top_k(cursors, reader.alive_bitset(), k)
                .into_iter()
                .map(|(score, doc)| (score, DocAddress::new(ord as u32, doc)))
                .collect())
        },
        segments.iter().enumerate(),
    )?;
    let mut all: Vec<(Score, DocAddress)> = Vec::with_capacity(k * segments.len());
    for found in per_segment {
        all.extend(found);
    }
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    all.truncate(k);
    Ok(all)
}

/// MaxScore over one segment's cursors, each with the most its term can add.
/// Deleted documents (a paper indexed again or removed, before a merge drops them) are
/// passed over.
fn segment_top_k(
    mut cursors: Vec<(Box<dyn Scorer>, Score)>,
    alive: Option<&AliveBitSet>,
    k: usize,
) -> Vec<(Score, DocId)> {
    // Weakest first; `bounds[i]` is what the terms before `i` can add together.
    cursors.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut below = Vec::with_capacity(cursors.len() + 1);
    let mut sum = 0.0f32;
    for (_, bound) in &cursors {
        below.push(sum);
        sum += bound;
    }
    below.push(sum);
    let mut heap: BinaryHeap<Hit> = BinaryHeap::with_capacity(k + 1);
    let mut threshold = f32::MIN;
    // Each cursor's document, kept beside it: asked of a boxed scorer at every step, it was
    // a fifth of the search's time.
    let mut docs: Vec<DocId> = cursors.iter().map(|(c, _)| c.doc()).collect();
    // Terms before `essential` cannot lift a document past the threshold alone.
    let mut essential = 0;
    loop {
        // The next document any essential term holds.
        let doc = docs[essential..]
            .iter()
            .copied()
            .min()
            .unwrap_or(TERMINATED);
        if doc == TERMINATED {
            break;
        }
        let deleted = alive.is_some_and(|a| a.is_deleted(doc));
        let mut score = 0.0f32;
        for (i, (cursor, _)) in cursors.iter_mut().enumerate().skip(essential) {
            if docs[i] == doc {
                if !deleted {
                    score += cursor.score();
                }
                docs[i] = cursor.advance();
            }
        }
        if deleted {
            continue;
        }
        // The non-essential terms, strongest first, while the document could still enter.
        for i in (0..essential).rev() {
            if score + below[i + 1] <= threshold {
                break;
            }
            if docs[i] < doc {
                docs[i] = cursors[i].0.seek(doc);
            }
            if docs[i] == doc {
                score += cursors[i].0.score();
            }
        }
        if score > threshold || heap.len() < k {
            heap.push(Hit(score, doc));
            if heap.len() > k {
                heap.pop();
            }
            if heap.len() == k {
                threshold = heap.peek().map_or(f32::MIN, |h| h.0);
                while essential < cursors.len() && below[essential + 1] <= threshold {
                    essential += 1;
                }
                if essential == cursors.len() {
                    // Not even every term together can beat the k-th: done.
                    break;
                }
            }
        }
    }
    let mut out: Vec<(Score, DocId)> = heap.into_iter().map(|h| (h.0, h.1)).collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::{
        Bm25Weight, BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, PhraseQuery, TermQuery,
    };
    use tantivy::schema::{IndexRecordOption, Schema, TEXT};
    use tantivy::Term;
    use tantivy::{doc, Index};

    const WORDS: [&str; 8] = [
        "sepsis", "dose", "renal", "child", "fever", "aspirin", "trial", "liver",
    ];

    /// A query's clause: a word, in the title (boosted twice) or the text, with maybe an
    /// alternative two-word phrase (an abbreviation's expansion), scored as their maximum. The
    /// phrase weighs three times, so that a document may match it alone above what the word
    /// could give: a bound that left the phrase out would then lose documents.
    type Clause = (usize, bool, Option<(usize, usize)>);

    /// A document found, with its score.
    type Found = (Score, DocAddress);

    /// An index of `docs` (text, title), two segments, with the documents holding "deleted"
    /// deleted; and MaxScore's answer for `query` beside tantivy's own.
    fn both(
        docs: &[(Vec<usize>, Vec<usize>)],
        query: &[Clause],
        k: usize,
    ) -> (Vec<Found>, Vec<Found>) {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT);
        let title = schema.add_text_field("title", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        for (i, (body, head)) in docs.iter().enumerate() {
            let words = |w: &[usize]| w.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ");
            let mut body = words(body);
            if i % 7 == 3 {
                body.push_str(" deleted");
            }
            writer
                .add_document(doc!(text => body, title => words(head)))
                .unwrap();
            if i == docs.len() / 2 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        writer.delete_term(Term::from_field_text(text, "deleted"));
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let bound = |terms: &[Term]| Bm25Weight::for_terms(&searcher, terms).unwrap().max_score();
        let clauses: Vec<(Box<dyn Query>, Score)> = query
            .iter()
            .map(|&(w, in_title, alternative)| {
                let field = if in_title { title } else { text };
                let boost = if in_title { 2.0 } else { 1.0 };
                let term = Term::from_field_text(field, WORDS[w]);
                let mut most = bound(std::slice::from_ref(&term));
                let mut either: Vec<Box<dyn Query>> =
                    vec![Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))];
                if let Some((a, b)) = alternative.filter(|(a, b)| a != b) {
                    let words = [a, b].map(|i| Term::from_field_text(field, WORDS[i]));
                    most = most.max(3.0 * bound(&words));
                    let phrase = PhraseQuery::new(words.to_vec());
                    either.push(Box::new(BoostQuery::new(Box::new(phrase), 3.0)));
                }
                let one: Box<dyn Query> = if either.len() == 1 {
                    either.remove(0)
                } else {
                    Box::new(DisjunctionMaxQuery::new(either))
                };
                (
                    Box::new(BoostQuery::new(one, boost)) as Box<dyn Query>,
                    boost * most,
                )
            })
            .collect();
        let should: Vec<(Occur, Box<dyn Query>)> = clauses
            .iter()
            .map(|(q, _)| (Occur::Should, q.box_clone()))
            .collect();
        let theirs = searcher
            .search(
                &BooleanQuery::new(should),
                &TopDocs::with_limit(k).order_by_score(),
            )
            .unwrap();
        (top_k(&searcher, &clauses, k).unwrap(), theirs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_best_are_tantivys_best(
            docs in prop::collection::vec(
                (prop::collection::vec(0..WORDS.len(), 1..12), prop::collection::vec(0..WORDS.len(), 0..3)),
                1..300,
            ),
            query in prop::collection::vec(
                (0..WORDS.len(), any::<bool>(), prop::option::of((0..WORDS.len(), 0..WORDS.len()))),
                1..8,
            ),
            k in 1usize..40,
        ) {
            let (ours, theirs) = both(&docs, &query, k);
            prop_assert_eq!(ours.len(), theirs.len());
            for (a, b) in ours.iter().zip(&theirs) {
                prop_assert!((a.0 - b.0).abs() <= 1e-4 * b.0.abs().max(1.0), "{:?} {:?}", ours, theirs);
            }
            // The same documents, but where scores tie at the cut (either may be kept).
            let cut = theirs.last().map_or(0.0, |t| t.0) + 1e-4;
            let above = |list: &[(Score, DocAddress)]| {
                let mut docs: Vec<DocAddress> =
                    list.iter().filter(|h| h.0 > cut).map(|h| h.1).collect();
                docs.sort();
                docs
            };
            prop_assert_eq!(above(&ours), above(&theirs));
        }
    }
}
