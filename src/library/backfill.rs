//! Vectors after the fact: passages stored while no model was present get theirs, and a switch
//! to another model re-embeds every passage from its stored text beside the vectors in use.

use super::*;

impl Library {
    /// Embeds the passages stored without a vector (the second phase of an index run, or
    /// passages indexed while no model was present), paper by paper in the order they were
    /// stored, so that papers become searchable by meaning one after another. Batches are
    /// committed as they go: a cancel or a crash keeps what is done, and the next call resumes.
    /// Returns how many passages were embedded; without a model, none.
    pub fn embed_missing(&mut self, sink: &dyn Sink, cancel: &AtomicBool) -> Result<u64> {
        self.embed_missing_until(sink, &|| cancel.load(Ordering::Relaxed))
    }

    /// [`Library::embed_missing`] until `stop` says so (asked between batches of a few seconds
    /// each): the app's writer stops its backfill when a new job comes, and resumes it after.
    pub fn embed_missing_until(&mut self, sink: &dyn Sink, stop: &dyn Fn() -> bool) -> Result<u64> {
        // As many as an index run embeds at once (`BATCH_PASSAGES`): lengths sort and identical
        // texts meet within one call. About five seconds of int8 work for MedEmbed's shape on
        // two cores, which bounds how long a new job waits for a backfill to stop.
        const BATCH: usize = super::ingest::BATCH_PASSAGES;
        // Vectors reach other processes' searches (the CLI beside the app) at a commit; each
        // saves the vector index, so not after every batch.
        const COMMIT_EVERY: Duration = Duration::from_secs(20);
        let Some(embedder) = self.semantic.as_ref().map(|s| s.embedder.clone()) else {
            return Ok(0);
        };
        self.open_for_writing()?;
        let total = self.catalog.missing_vector_count()?;
        if total == 0 {
            return Ok(0);
        }
        let papers = self.catalog.papers_missing_vectors()?;
        let mut done = 0;
        let mut committed = Instant::now();
        sink.event(&IndexEvent::Backfill {
            done,
            total,
            papers_done: 0,
            papers,
        });
        while !stop() {
            let batch = self.catalog.chunks_without_vector(BATCH)?;
            if batch.is_empty() {
                break;
            }
            let pairs = self.embed_batch_or_each(embedder.as_ref(), &batch)?;
            self.record_model()?;
            self.catalog.set_vectors(&pairs)?;
            if let Some(mut index) = self.vectors_mut() {
                for (id, v) in &pairs {
                    index.add(*id, v)?;
                }
            }
            done += batch.len() as u64;
            if committed.elapsed() >= COMMIT_EVERY {
                self.commit()?;
                committed = Instant::now();
            }
            let waiting = self.catalog.papers_missing_vectors()?;
            sink.event(&IndexEvent::Backfill {
                done: done.min(total),
                total,
                papers_done: papers.saturating_sub(waiting),
                papers,
            });
        }
        self.commit()?;
        Ok(done)
    }

    /// A backfill batch's vectors, in one call; where that call fails (a panic in the model is
    /// caught), passage by passage, and a passage that fails alone is kept for keyword search
    /// only, so that one text the model cannot take never stops the others (its paper stays
    /// searchable, by keywords there). When no passage goes through alone and a plain sentence
    /// does not either, the trouble is the model, not the texts: the error stops the backfill,
    /// and the passages wait.
    fn embed_batch_or_each(
        &mut self,
        embedder: &dyn Embedder,
        batch: &[(ChunkId, String)],
    ) -> Result<Vec<(ChunkId, Vec<f32>)>> {
        let embed = |rows: &[(ChunkId, String)]| {
            Error::guard("embedding its passages", || embed_rows(embedder, rows))
        };
        let whole = match embed(batch) {
            Ok(pairs) => return Ok(pairs),
            Err(e) => e,
        };
        let mut pairs = Vec::with_capacity(batch.len());
        let mut refused = Vec::new();
        for row in batch {
            match embed(std::slice::from_ref(row)) {
                Ok(mut one) => pairs.append(&mut one),
                Err(_) => refused.push(row.0),
            }
        }
        // None went through alone: the texts, or the model? A sentence any model embeds tells.
        if pairs.is_empty() {
            let probe = [(
                0,
                "Serum ferritin predicts mortality in septic shock.".to_string(),
            )];
            if embed(&probe).is_err() {
                return Err(whole);
            }
        }
        self.catalog.set_keyword_only(&refused)?;
        Ok(pairs)
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
            sink.event(&IndexEvent::Backfill {
                done,
                total,
                papers_done: 0,
                papers: 0,
            });
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
