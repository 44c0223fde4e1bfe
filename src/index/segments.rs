//! The keyword index's segments. Each commit writes a segment and tantivy merges some in the
//! background; a search looks at every segment apart, each with its own best-so-far, so an
//! index run ends by merging what it left into one where it left many.

use super::lexical::LexicalIndex;
use crate::error::Result;

/// The most segments an index run leaves the keyword index in ([`LexicalIndex::consolidate`]).
pub const MOST_SEGMENTS: usize = 4;

impl LexicalIndex {
    /// Merges the index's segments into one where there are more than [`MOST_SEGMENTS`]. A
    /// search looks at every segment apart, each with its own best-so-far (so less is pruned
    /// in each), and a bulk index run leaves several: a million passages came to nine
    /// segments, searched at p50 25.6-26.7 ms, p95 61-69 ms, against 20.4-20.9 and 49-52 ms merged
    /// (docs/PERFORMANCE.md). Merging rewrites the index (12 s at a million passages, under a
    /// second at 75,000), so it is done at the end of a run, not after each commit. Returns
    /// whether it merged.
    pub fn consolidate(&mut self) -> Result<bool> {
        if self.index.searchable_segment_ids()?.len() <= MOST_SEGMENTS {
            return Ok(false);
        }
        let index = self.index.clone();
        let writer = self.writer()?;
        // Committed segments only: the merge swaps them for the new one in a commit of its
        // own, so a crash leaves either the old segments or the merged one.
        writer.commit()?;
        let mut merged = false;
        // tantivy's own merges run in the background: one may have taken some of these
        // segments since they were listed, and then this merge is refused. The segments are
        // listed again and the merge asked again, a few times at most.
        for _ in 0..3 {
            let segments = index.searchable_segment_ids()?;
            if segments.len() <= 1 {
                break;
            }
            if writer.merge(&segments).wait().is_ok() {
                merged = true;
                break;
            }
        }
        // The old segments' files go once no reader holds them.
        let _ = writer.garbage_collect_files().wait();
        self.reader.reload()?;
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consolidating_merges_many_segments_into_one_and_keeps_every_passage() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = LexicalIndex::open(dir.path()).unwrap();
        // Each commit of new passages writes a segment of its own.
        for id in 0..(MOST_SEGMENTS as i64 + 2) {
            let text = format!("warfarin dose {id} in renal impairment");
            index.add(id, id, &text, None).unwrap();
            index.commit().unwrap();
        }
        let segments = |index: &LexicalIndex| index.index.searchable_segment_ids().unwrap().len();
        assert!(
            segments(&index) > MOST_SEGMENTS,
            "{} segments",
            segments(&index)
        );
        // Equal scores come in the order of the segments: compared as sets.
        let found = |index: &LexicalIndex| {
            let mut hits = index.search("warfarin renal", 100).unwrap();
            hits.sort_by_key(|h| h.0);
            hits
        };
        let before = found(&index);
        assert_eq!(before.len(), MOST_SEGMENTS + 2);
        assert!(index.consolidate().unwrap());
        assert_eq!(segments(&index), 1);
        assert_eq!(found(&index), before);
        // Few segments are left as they are.
        index.add(100, 100, "heparin", None).unwrap();
        index.commit().unwrap();
        assert!(!index.consolidate().unwrap());
        assert_eq!(segments(&index), 2);
        // The merge is durable: the index opens again with every passage.
        drop(index);
        let reopened = LexicalIndex::open(dir.path()).unwrap();
        assert_eq!(reopened.len().unwrap(), MOST_SEGMENTS as u64 + 3);
    }
}
