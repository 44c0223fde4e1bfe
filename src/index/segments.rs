//! The keyword index's segments. Each commit writes a segment and tantivy merges some in the
//! background; a search looks at every segment apart, each with its own best-so-far, and
//! searches them side by side on the machine's cores. An index run ends by merging what it
//! left into as many segments of about equal size as there are cores to search them (at most
//! [`MOST_SEGMENTS`]).

use super::lexical::LexicalIndex;
use crate::error::Result;

/// The most segments an index run leaves the keyword index in ([`LexicalIndex::consolidate`]),
/// and the most threads a search uses.
pub const MOST_SEGMENTS: usize = 4;

/// How many segments a search looks at side by side: the machine's cores, at most
/// [`MOST_SEGMENTS`]. One thread each; a search never waits for another's segments.
pub fn search_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MOST_SEGMENTS)
}

/// Splits segments of the given sizes into at most `ways` groups of about equal total size:
/// each segment, largest first, joins the smallest group so far. Returns the groups as
/// indexes into `sizes`; groups are never empty.
pub fn balanced_groups(sizes: &[u64], ways: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut groups: Vec<(u64, Vec<usize>)> =
        vec![(0, Vec::new()); ways.clamp(1, sizes.len().max(1))];
    for i in order {
        let smallest = groups
            .iter_mut()
            .min_by_key(|g| g.0)
            .expect("at least one group");
        smallest.0 += sizes[i];
        smallest.1.push(i);
    }
    groups
        .into_iter()
        .map(|(_, g)| g)
        .filter(|g| !g.is_empty())
        .collect()
}

impl LexicalIndex {
    /// Merges the index's segments into [`search_threads`] segments of about equal size where
    /// there are more than [`MOST_SEGMENTS`]. A search looks at every segment apart, each with
    /// its own best-so-far (so less is pruned in each), and a bulk index run leaves several: a
    /// million passages came to nine segments. Merged into one and searched on one thread,
    /// p95 fell from 61-69 ms to 49-52 ms; merged into two halves searched side by side on
    /// two cores, keyword mode's p95 is 0.73x one segment's (docs/PERFORMANCE.md). Merging
    /// rewrites the index (12 s at a million passages, under a second at 75,000), so it is
    /// done at the end of a run, not after each commit. Returns whether it merged.
    pub fn consolidate(&mut self) -> Result<bool> {
        self.consolidate_into(search_threads())
    }

    /// What [`LexicalIndex::consolidate`] would merge: the searchable segments and the
    /// passages in them, where there are more than [`MOST_SEGMENTS`]; `None` where it would
    /// leave them as they are. For progress: the merge rewrites the whole index.
    pub fn to_consolidate(&self) -> Result<Option<(usize, u64)>> {
        let metas = self.index.searchable_segment_metas()?;
        if metas.len() <= MOST_SEGMENTS {
            return Ok(None);
        }
        let passages = metas.iter().map(|m| u64::from(m.num_docs())).sum();
        Ok(Some((metas.len(), passages)))
    }

    /// [`LexicalIndex::consolidate`] into at most `ways` segments.
    pub(super) fn consolidate_into(&mut self, ways: usize) -> Result<bool> {
        if self.index.searchable_segment_ids()?.len() <= MOST_SEGMENTS {
            return Ok(false);
        }
        let index = self.index.clone();
        let writer = self.writer()?;
        // Committed segments only: each merge swaps its segments for the new one in a commit
        // of its own, so a crash leaves either the old segments or the merged one.
        writer.commit()?;
        let mut merged = false;
        // tantivy's own merges run in the background: one may have taken some of these
        // segments since they were listed, and then a merge is refused. The segments are
        // listed again and the merges asked again, a few times at most.
        for _ in 0..3 {
            let metas = index.searchable_segment_metas()?;
            if metas.len() <= ways {
                break;
            }
            let sizes: Vec<u64> = metas.iter().map(|m| u64::from(m.num_docs())).collect();
            let mut refused = false;
            for group in balanced_groups(&sizes, ways) {
                if group.len() < 2 {
                    continue;
                }
                let ids: Vec<_> = group.iter().map(|&i| metas[i].id()).collect();
                match writer.merge(&ids).wait() {
                    Ok(_) => merged = true,
                    Err(_) => refused = true,
                }
            }
            if !refused {
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
    fn segments_are_grouped_into_halves_of_about_equal_size() {
        let sizes = [525, 10, 200, 90, 60, 80, 35];
        let groups = balanced_groups(&sizes, 2);
        assert_eq!(groups.len(), 2);
        let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..sizes.len()).collect::<Vec<_>>());
        let totals: Vec<u64> = groups
            .iter()
            .map(|g| g.iter().map(|&i| sizes[i]).sum())
            .collect();
        // 1,000 in all: the largest segment alone, the rest together.
        assert_eq!(totals, vec![525, 475]);
        // Never more groups than segments, never an empty one.
        assert_eq!(balanced_groups(&[5, 7], 4).len(), 2);
        assert_eq!(balanced_groups(&[5, 7, 9], 1), vec![vec![2, 1, 0]]);
        assert!(balanced_groups(&[], 3).is_empty());
    }

    #[test]
    fn consolidating_merges_many_segments_into_as_many_as_cores_and_keeps_every_passage() {
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
        assert!(index.consolidate_into(2).unwrap());
        assert_eq!(segments(&index), 2);
        assert_eq!(found(&index), before);
        // Many segments again, merged into one.
        for id in 50..(50 + MOST_SEGMENTS as i64) {
            index.add(id, id, "warfarin", None).unwrap();
            index.commit().unwrap();
        }
        assert!(index.consolidate_into(1).unwrap());
        assert_eq!(segments(&index), 1);
        // Few segments are left as they are.
        index.add(100, 100, "heparin", None).unwrap();
        index.commit().unwrap();
        assert!(!index.consolidate().unwrap());
        assert_eq!(segments(&index), 2);
        // The merge is durable: the index opens again with every passage.
        drop(index);
        let reopened = LexicalIndex::open(dir.path()).unwrap();
        assert_eq!(reopened.len().unwrap(), 2 * MOST_SEGMENTS as u64 + 3);
    }
}
