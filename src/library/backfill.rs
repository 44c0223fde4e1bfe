//! Vectors after the fact: passages stored while no model was present get theirs, and a switch
//! to another model re-embeds every passage from its stored text beside the vectors in use.

use super::*;

impl Library {
    /// Embeds the passages stored without a vector (indexed while no model was present), in
    /// batches committed as they go: a cancel or a crash keeps what is done, and the next call
    /// resumes. Returns how many passages were embedded; without a model, none.
    pub fn embed_missing(&mut self, sink: &dyn Sink, cancel: &AtomicBool) -> Result<u64> {
        const BATCH: usize = 64;
        let Some(embedder) = self.semantic.as_ref().map(|s| s.embedder.clone()) else {
            return Ok(0);
        };
        self.open_for_writing()?;
        let total = self.catalog.missing_vector_count()?;
        let mut done = 0;
        while !cancel.load(Ordering::Relaxed) {
            let batch = self.catalog.chunks_without_vector(BATCH)?;
            if batch.is_empty() {
                break;
            }
            let pairs = embed_rows(embedder.as_ref(), &batch)?;
            self.record_model()?;
            self.catalog.set_vectors(&pairs)?;
            if let Some(mut index) = self.vectors_mut() {
                for (id, v) in &pairs {
                    index.add(*id, v)?;
                }
            }
            done += batch.len() as u64;
            sink.event(&IndexEvent::Backfill { done, total });
        }
        self.commit()?;
        Ok(done)
    }

    /// Switches the library to the model `next`: every passage is embedded again from its
    /// stored text (no PDF is read again), in batches committed as they go, into a table apart
    /// from the vectors in use, which searches keep using until every passage has a new vector.
    /// Then one transaction swaps the new vectors in and records `next` as the library's model,
    /// and this library searches with it. A cancel or a crash keeps what was done; calling again
    /// resumes. [`Searcher`]s made before the swap keep the old model and its vectors (stale, but
    /// never mixed); make new ones after.
    pub fn switch_model(
        &mut self,
        next: Arc<dyn Embedder>,
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<Switch> {
        const BATCH: usize = 64;
        self.open_for_writing()?;
        let info = next.info().clone();
        let next_record = ModelRecord::of(&info);
        let same = |record: Option<ModelRecord>| record.is_some_and(|r| r.matches(&info));
        if same(self.catalog.model(ModelSlot::InUse)?) && self.semantic.is_some() {
            return Ok(Switch::Done);
        }
        // Nothing to keep: no vectors yet, so the new model is taken at once.
        if self.catalog.vector_count()? == 0 {
            self.catalog.clear_next_vectors()?;
            self.catalog.clear_model(ModelSlot::Next)?;
            self.catalog.set_model(ModelSlot::InUse, &next_record)?;
            self.adopt(next)?;
            self.embed_missing(sink, cancel)?;
            return Ok(if cancel.load(Ordering::Relaxed) {
                Switch::Interrupted
            } else {
                Switch::Done
            });
        }
        // A switch to another model was under way: its vectors are of no use to this one.
        if !same(self.catalog.model(ModelSlot::Next)?) {
            self.catalog.clear_next_vectors()?;
            self.catalog.set_model(ModelSlot::Next, &next_record)?;
        }
        let total = self.catalog.semantic_count()?;
        let mut done = self.catalog.next_vector_count()?;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Ok(Switch::Interrupted);
            }
            let batch = self.catalog.chunks_without_next_vector(BATCH)?;
            if batch.is_empty() {
                break;
            }
            let pairs = embed_rows(next.as_ref(), &batch)?;
            self.catalog.set_next_vectors(&pairs)?;
            done += batch.len() as u64;
            sink.event(&IndexEvent::Backfill { done, total });
        }
        self.catalog.swap_next_vectors(&next_record)?;
        self.adopt(next)?;
        Ok(Switch::Done)
    }

    /// Searches with `embedder` from now on: a new vector index is built from the catalog's
    /// vectors (a new one, so that searchers holding the old keep a consistent pair).
    pub(super) fn adopt(&mut self, embedder: Arc<dyn Embedder>) -> Result<()> {
        let semantic = Semantic::open(&self.dir, embedder, None)?;
        self.fill_vectors(&mut semantic.write())?;
        self.semantic = Some(semantic);
        self.mark_indexed()?;
        self.repaired_at = Some(self.catalog.data_version()?);
        Ok(())
    }
}
