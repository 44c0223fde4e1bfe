//! Repair: bringing the keyword and vector indexes in line with the catalog, the source of
//! truth, after a crash between the two writes, another process's commit, or damage (an index
//! set aside and rebuilt from stored text and vectors, never from the PDFs or the model).

use super::*;

impl Library {
    /// Brings both indexes in line with the catalog.
    pub(super) fn repair(&mut self) -> Result<()> {
        self.repair_with(false)
    }

    /// [`Library::repair`]; `every_id` compares every passage id even where the indexes were
    /// saved in step.
    pub(super) fn repair_with(&mut self, every_id: bool) -> Result<()> {
        self.repaired_at = Some(self.catalog.data_version()?);
        if !every_id && self.indexes_in_step()? {
            return Ok(());
        }
        let catalog_ids: HashSet<ChunkId> = self.catalog.chunk_ids()?.into_iter().collect();
        let lexical_ids = self.lexical.chunk_ids()?;
        let missing: HashSet<ChunkId> = catalog_ids.difference(&lexical_ids).copied().collect();
        let extra: Vec<ChunkId> = lexical_ids.difference(&catalog_ids).copied().collect();
        if !missing.is_empty() || !extra.is_empty() {
            for id in extra {
                self.lexical.delete_chunk(id)?;
            }
            let mut rows = Vec::new();
            self.catalog.for_each_chunk(|row, title| {
                if missing.contains(&row.id) {
                    rows.push((
                        row.id,
                        row.document,
                        row.text.clone(),
                        title.map(str::to_string),
                    ));
                }
            })?;
            for (id, doc, text, title) in rows {
                self.lexical.add(id, doc, &text, title.as_deref())?;
            }
            self.lexical.commit()?;
            // A rebuild is a bulk run: it leaves segments as an index run does (a failed merge
            // leaves them as they are).
            let _ = self.lexical.consolidate();
        }
        if let Some(semantic) = self.semantic.clone() {
            let mut vectors = semantic.write();
            let ids = self.catalog.vector_ids()?;
            let consistent = vectors.damaged().is_none()
                && vectors.len() == ids.len()
                && ids.iter().all(|&id| vectors.contains(id));
            if !consistent {
                self.fill_vectors(&mut vectors)?;
            }
        }
        self.mark_indexed()?;
        self.repaired_at = Some(self.catalog.data_version()?);
        Ok(())
    }

    /// Fills a vector index from the catalog's stored vectors (never running the model) and
    /// saves it. A stored vector that fails its checksum is dropped from the catalog too, so
    /// that the next index run embeds that passage again instead of ranking by a damaged one.
    pub(super) fn fill_vectors(&mut self, index: &mut VectorIndex) -> Result<()> {
        index.clear()?;
        let mut result = Ok(());
        let mut damaged = Vec::new();
        self.catalog.for_each_vector(index.dim(), |id, v| match v {
            Some(v) if result.is_ok() => result = index.add(id, v),
            Some(_) => {}
            None => damaged.push(id),
        })?;
        result?;
        if !damaged.is_empty() {
            self.catalog.clear_vectors(&damaged)?;
        }
        index.save()
    }

    /// Whether the indexes were saved in step with the catalog and still are: no passage
    /// changed since (the catalog's triggers say), each index holds as many entries as the
    /// catalog counts (a second writer, a replaced or emptied index does not), and the vector
    /// file is the one that was saved.
    pub(super) fn indexes_in_step(&self) -> Result<bool> {
        if self.catalog.indexes_dirty()? {
            return Ok(false);
        }
        let (chunks, vectors) = self.catalog.exact_counts()?;
        if self.lexical.len()? != chunks {
            return Ok(false);
        }
        Ok(match &self.semantic {
            Some(s) => {
                let v = s.read();
                v.damaged().is_none() && v.len() as u64 == vectors
            }
            None => true,
        })
    }

    /// Records that both indexes are saved and in step with the catalog, with what their files
    /// are now.
    pub(super) fn mark_indexed(&mut self) -> Result<()> {
        self.verify_lexical()?;
        if let Some(s) = &self.semantic {
            let v = s.read();
            self.state.vector_seal = match v.seal() {
                Some(seal) => Some(seal.clone()),
                // Saved before seals were recorded: sealed as it is now.
                None if v.path().is_file() => Some(Seal::of(v.path())?),
                None => None,
            };
        }
        self.catalog.mark_indexed(&self.state)
    }

    /// Checks the keyword index's files against their checksums (those not known whole
    /// already). Returns whether the index is whole.
    pub(super) fn verify_lexical(&mut self) -> Result<bool> {
        let known: HashSet<SeenFile> = self.state.lexical_files.iter().cloned().collect();
        Ok(match self.lexical.verify(&known)? {
            Ok(files) => {
                self.state.lexical_files = files;
                true
            }
            Err(_) => false,
        })
    }

    /// Whether the keyword index's terms are the ones this build's analyzer makes. An index
    /// built by an older analyzer still answers (every word is a term in both), but its terms
    /// differ where the analyzer changed, so a writer rebuilds it. An empty index is current:
    /// what it will hold is analysed now.
    pub(super) fn terms_current(&mut self) -> Result<bool> {
        if self.state.analyzer == ANALYZER_VERSION {
            return Ok(true);
        }
        if self.lexical.len()? == 0 && self.catalog.exact_counts()?.0 == 0 {
            self.state.analyzer = ANALYZER_VERSION;
            return Ok(true);
        }
        Ok(false)
    }

    /// Sets a damaged keyword index aside and builds a new one from the catalog's stored text
    /// (no PDF is read, nothing is embedded). An `intact` index (one whose terms an older
    /// analyzer made) is not kept once the new one is built. The caller holds the write lock.
    pub(super) fn rebuild_lexical(&mut self, intact: bool) -> Result<()> {
        let dir = self.dir.join("lexical");
        // The damaged index's files are closed before its folder moves.
        self.lexical = LexicalIndex::open_in_ram()?;
        LexicalIndex::set_aside(&dir)?;
        self.lexical = LexicalIndex::open(&dir)?;
        self.state.lexical_files.clear();
        self.state.analyzer = ANALYZER_VERSION;
        self.repair_with(true)?;
        if intact {
            let aside = dir.with_extension("damaged");
            std::fs::remove_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
        }
        Ok(())
    }
}
