//! Storing: a paper written to the catalog first (one transaction), then to both indexes; a
//! failure recorded with its reason; paths linked to content; documents taken out again.

use super::*;

impl Library {
    /// Embeds the waiting papers' passages in one call (so that batches are full and sorted by
    /// length across papers), then stores each paper and reports it done. Returns how many
    /// papers were indexed.
    pub(super) fn flush_pending(
        &mut self,
        pending: &mut Vec<Pending>,
        summary: &mut IndexSummary,
        sink: &dyn Sink,
        embed: bool,
    ) -> Result<usize> {
        if pending.is_empty() {
            return Ok(0);
        }
        let t = Instant::now();
        // Without `embed`, the passages are stored without vectors, for a backfill to give them.
        let vectors = match embed {
            true => self.embed_pending(pending)?,
            false => pending.iter().map(|_| Ok(None)).collect(),
        };
        summary.stages.embed += t.elapsed().as_secs_f64();
        let mut indexed = 0;
        // Two copies of one paper in a batch: the second is linked to the first, as it would
        // have been had the first been stored before it was read (its passages were embedded
        // once anyway: identical texts are).
        let mut stored: HashMap<String, DocumentId> = HashMap::new();
        for (p, v) in pending.drain(..).zip(vectors) {
            let t = Instant::now();
            let v = match v {
                Ok(v) => v,
                Err(e) => {
                    let (doc, outcome) = self.record_failure(&p.hash, p.size, &e)?;
                    self.relink(&p.path, p.old, doc, p.size, p.mtime_ns)?;
                    summary.stages.write += t.elapsed().as_secs_f64();
                    finish(&p.path, outcome, p.started, summary, sink);
                    continue;
                }
            };
            let v = v.as_deref();
            if let Some(&doc) = stored.get(&p.hash) {
                // Its path may point at a document this flush replaced: link it afresh.
                let now = self.catalog.file(&p.path)?.map(|f| f.document);
                self.relink(&p.path, now, doc, p.size, p.mtime_ns)?;
                summary.stages.write += t.elapsed().as_secs_f64();
                finish(&p.path, FileOutcome::Unchanged, p.started, summary, sink);
                continue;
            }
            let written = Error::guard("storing it", || {
                self.write(&p.hash, p.size, &p.doc, &p.passages, v)
            });
            let (doc, pages, chunks) = match written {
                Ok(w) => w,
                Err(e @ Error::Bug { .. }) => {
                    self.store_interrupted = true;
                    let (doc, outcome) = self.record_failure(&p.hash, p.size, &e)?;
                    self.relink(&p.path, p.old, doc, p.size, p.mtime_ns)?;
                    summary.stages.write += t.elapsed().as_secs_f64();
                    finish(&p.path, outcome, p.started, summary, sink);
                    continue;
                }
                Err(e) => return Err(e),
            };
            stored.insert(p.hash.clone(), doc);
            if let Some(old) = p.old.filter(|&o| o != doc) {
                // Before the relink, which takes the former content out once no path holds it.
                self.carry_corrections(old, doc)?;
            }
            self.relink(&p.path, p.old, doc, p.size, p.mtime_ns)?;
            summary.stages.write += t.elapsed().as_secs_f64();
            indexed += finish(
                &p.path,
                FileOutcome::Indexed { pages, chunks },
                p.started,
                summary,
                sink,
            );
        }
        Ok(indexed)
    }

    /// Each waiting paper's vectors (`None` without a model), embedded in one call; where that
    /// call fails, paper by paper, so that a paper the model cannot take fails alone. When every
    /// paper fails on its own too, the trouble is not in the papers: the error stops the run.
    #[allow(clippy::type_complexity)]
    pub(super) fn embed_pending(
        &self,
        pending: &[Pending],
    ) -> Result<Vec<Result<Option<Vec<Vec<f32>>>>>> {
        let docs: Vec<(&Extracted, &Vec<crate::chunk::Passage>)> =
            pending.iter().map(|p| (&p.doc, &p.passages)).collect();
        let embed = |docs: &[(&Extracted, &Vec<crate::chunk::Passage>)]| {
            Error::guard("embedding it", || self.embed_passages(docs))
        };
        match embed(&docs) {
            Ok(None) => Ok(pending.iter().map(|_| Ok(None)).collect()),
            Ok(Some(mut all)) => {
                let mut out = Vec::with_capacity(pending.len());
                for p in pending {
                    let rest = all.split_off(p.passages.len());
                    out.push(Ok(Some(std::mem::replace(&mut all, rest))));
                }
                Ok(out)
            }
            Err(e) if docs.len() == 1 => Ok(vec![Err(e)]),
            Err(e) => {
                let each: Vec<_> = docs
                    .iter()
                    .map(|d| embed(std::slice::from_ref(d)))
                    .collect();
                if each.iter().all(Result::is_err) {
                    return Err(e);
                }
                Ok(each)
            }
        }
    }

    /// Stores a chunked (and embedded) paper in the catalog, then the indexes.
    pub(super) fn write(
        &mut self,
        hash: &str,
        size: u64,
        doc: &Extracted,
        passages: &[crate::chunk::Passage],
        vectors: Option<&[Vec<f32>]>,
    ) -> Result<(DocumentId, usize, usize)> {
        let new: Vec<NewChunk<'_>> = passages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let text = &doc.pages[p.page as usize - 1][p.start..p.end];
                NewChunk {
                    page: p.page,
                    start: p.start,
                    end: p.end,
                    text,
                    vector: vectors.map(|v| v[i].as_slice()).filter(|v| !v.is_empty()),
                    semantic: !crate::chunk::is_reference_list(p.page, text),
                }
            })
            .collect();
        if new.iter().any(|c| c.vector.is_some()) {
            self.record_model()?;
        }
        let record = doc
            .metadata
            .as_ref()
            .and_then(|m| serde_json::to_string(m).ok());
        // The abbreviations the paper defines, stored with it (what queries expand by).
        let mined = crate::clinical::abbrev::definitions(&doc.pages);
        let definitions = stored_definitions(&mined);
        let ocr: Vec<(u32, String)> = doc
            .ocr
            .iter()
            .filter_map(|p| Some((p.page, serde_json::to_string(p).ok()?)))
            .collect();
        let (id, ids) = self.catalog.insert_indexed(
            hash,
            size,
            doc.title.as_deref(),
            &doc.pages,
            crate::catalog::Reading {
                metadata: record.as_deref().map(|r| (r, crate::metadata::READER)),
                definitions: &definitions,
                ocr: &ocr,
            },
            &new,
        )?;
        // A re-read of known content (a retry) replaces whatever the indexes held for it.
        self.lexical.delete_document(id)?;
        for (&chunk, c) in ids.iter().zip(&new) {
            self.lexical.add(chunk, id, c.text, doc.title.as_deref())?;
            if let (Some(mut index), Some(v)) = (self.vectors_mut(), c.vector) {
                index.add(chunk, v)?;
            }
        }
        Ok((id, doc.pages.len(), ids.len()))
    }

    /// Records that the content `hash` could not be indexed, and why: it holds no text and no
    /// index entries from then on, and is not read again until it changes (or a retry is
    /// asked for).
    pub(super) fn record_failure(
        &mut self,
        hash: &str,
        size: u64,
        error: &Error,
    ) -> Result<(DocumentId, FileOutcome)> {
        if let Some((doc, _)) = self.catalog.document_by_hash(hash)? {
            self.unindex_document(doc)?;
        }
        let message = error.to_string();
        let doc = self
            .catalog
            .insert_failed(hash, size, &message, error.code())?;
        let outcome = FileOutcome::Failed {
            error: message,
            code: error.code().into(),
        };
        Ok((doc, outcome))
    }

    /// Points `path` at `doc`; the document it pointed at before goes where no path holds it.
    pub(super) fn relink(
        &mut self,
        path: &Path,
        old: Option<DocumentId>,
        doc: DocumentId,
        size: u64,
        mtime_ns: i64,
    ) -> Result<()> {
        if old.is_some_and(|o| o != doc) {
            if let Some(orphan) = self.catalog.unlink_file(path)? {
                self.drop_document(orphan)?;
            }
        }
        self.catalog.link_file(path, doc, size, mtime_ns)
    }

    /// Removes a document from all three stores.
    pub(super) fn drop_document(&mut self, doc: DocumentId) -> Result<()> {
        self.unindex_document(doc)?;
        self.catalog.delete_document(doc)
    }

    /// Takes a document's passages out of both indexes (the catalog keeps them).
    pub(super) fn unindex_document(&mut self, doc: DocumentId) -> Result<()> {
        let ids = self.catalog.chunk_ids_of(doc)?;
        self.lexical.delete_document(doc)?;
        if let Some(mut v) = self.vectors_mut() {
            for id in &ids {
                v.remove(*id)?;
            }
        }
        Ok(())
    }

    pub(super) fn commit(&mut self) -> Result<()> {
        self.lexical.commit()?;
        if let Some(mut v) = self.vectors_mut() {
            v.save()?;
        }
        self.mark_indexed()
    }

    /// Stores a paper whose passages and vectors are already made, without chunking, embedding
    /// or committing: for building synthetic libraries of a given size (`medshelf bench search`).
    /// Call [`Library::flush`] at the end.
    pub fn insert_prepared(
        &mut self,
        path: &Path,
        doc: &Extracted,
        passages: &[crate::chunk::Passage],
        vectors: &[Vec<f32>],
    ) -> Result<()> {
        self.open_for_writing()?;
        let hash = blake3::hash(path.to_string_lossy().as_bytes())
            .to_hex()
            .to_string();
        let (id, _, _) = self.write(&hash, 0, doc, passages, Some(vectors))?;
        self.catalog.link_file(path, id, 0, 0)
    }

    /// Makes everything written so far durable: the keyword index committed (and its segments
    /// merged, as an index run leaves them), the vector index saved.
    pub fn flush(&mut self) -> Result<()> {
        self.commit()?;
        if self.lexical.consolidate().unwrap_or(false) {
            self.mark_indexed()?;
        }
        Ok(())
    }
}

/// Mined definitions as the catalog stores them.
pub(super) fn stored_definitions(
    mined: &[crate::clinical::abbrev::Definition],
) -> Vec<crate::catalog::StoredDefinition<'_>> {
    mined
        .iter()
        .map(|d| (d.short.as_str(), d.long.as_str(), d.count))
        .collect()
}
