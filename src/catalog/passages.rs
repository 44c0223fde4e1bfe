//! Passages: the text each index entry comes from, with the exact counts kept by triggers.

use rusqlite::OptionalExtension;

use super::*;

impl Catalog {
    /// Passages and passages with a vector, as the catalog's triggers count them: exact, and
    /// read in constant time.
    pub fn exact_counts(&self) -> Result<(u64, u64)> {
        self.conn
            .query_row("SELECT chunks, vectors FROM counts WHERE id = 1", [], |r| {
                Ok((
                    r.get::<_, i64>(0)?.max(0) as u64,
                    r.get::<_, i64>(1)?.max(0) as u64,
                ))
            })
            .map_err(|e| self.err(e))
    }

    /// Pages read by OCR, and the papers they belong to (counted on their partial index).
    pub fn ocr_counts(&self) -> Result<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COUNT(DISTINCT document_id) FROM pages WHERE ocr IS NOT NULL",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.err(e))
    }

    /// Every page of a document OCR read, as stored (JSON), in page order.
    pub fn ocr_pages(&self, id: DocumentId) -> Result<Vec<String>> {
        self.conn
            .prepare_cached(
                "SELECT ocr FROM pages INDEXED BY pages_ocr
                  WHERE document_id = ?1 AND ocr IS NOT NULL ORDER BY page",
            )
            .and_then(|mut s| {
                s.query_map([id], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.err(e))
    }

    /// The words OCR read on a page (1-based) of a document, with their confidence and box;
    /// `None` where the page has a text layer of its own (or no such page).
    pub fn ocr_page(&self, id: DocumentId, page: u32) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT ocr FROM pages WHERE document_id = ?1 AND page = ?2")
            .and_then(|mut s| {
                s.query_row(rusqlite::params![id, page], |r| {
                    r.get::<_, Option<String>>(0)
                })
                .optional()
            })
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// Looks up passages by id (missing ids are skipped: a search may race a removal).
    /// Whether each one's page was read by OCR comes from the small index of OCR pages alone
    /// (the planner would take the pages' key, then read the page's row).
    pub fn chunks(&self, ids: &[ChunkId]) -> Result<Vec<ChunkRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, c.document_id, c.page, c.start, c.end, c.text, c.source,
                        EXISTS (SELECT 1 FROM pages p INDEXED BY pages_ocr
                                 WHERE p.document_id = c.document_id AND p.page = c.page
                                   AND p.ocr IS NOT NULL)
                 FROM chunks c
                 WHERE c.id = ?1",
            )
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(row) = stmt
                .query_row([id], |r| {
                    let mut row = chunk_row(r)?;
                    row.ocr = r.get::<_, Option<bool>>(7)?.unwrap_or(false);
                    Ok(row)
                })
                .optional()
                .map_err(|e| self.err(e))?
            {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Calls `f` with every passage and the title of its document, for rebuilding the keyword index.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&ChunkRow, Option<&str>)) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.document_id, c.page, c.start, c.end, c.text, c.source, d.title
                 FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let row = chunk_row(r).map_err(|e| self.err(e))?;
            let title: Option<String> = r.get(7).map_err(|e| self.err(e))?;
            f(&row, title.as_deref());
        }
        Ok(())
    }

    /// Ids of every passage.
    pub fn chunk_ids(&self) -> Result<Vec<ChunkId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM chunks ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Ids of one document's passages.
    pub fn chunk_ids_of(&self, document: DocumentId) -> Result<Vec<ChunkId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM chunks WHERE document_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([document], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Up to `limit` passages stored without a vector (the second phase of an index run, or
    /// indexed while no model was present), paper by paper in the order they were stored.
    pub fn chunks_without_vector(&self, limit: usize) -> Result<Vec<(ChunkId, String)>> {
        self.id_texts(
            // In the order of the `chunks_waiting` index (paper by paper, as they were stored),
            // which holds only the waiting passages: never a scan of the passages done.
            "SELECT id, text FROM chunks WHERE vector IS NULL AND semantic = 1 \
             ORDER BY document_id, id LIMIT ?1",
            limit,
        )
    }

    /// Rows of (id, text) from a query with a `LIMIT ?1`.
    pub(super) fn id_texts(&self, sql: &str, limit: usize) -> Result<Vec<(ChunkId, String)>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// The texts of every passage, or of those searched by meaning only, in id order.
    pub fn texts(&self, semantic_only: bool) -> Result<Vec<String>> {
        let sql = if semantic_only {
            "SELECT text FROM chunks WHERE semantic = 1 ORDER BY id"
        } else {
            "SELECT text FROM chunks ORDER BY id"
        };
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// How many passages are searched by meaning (all but reference lists): the kept count
    /// of passages less those of reference lists, which are few and have an index of their own.
    pub fn semantic_count(&self) -> Result<u64> {
        let (chunks, _) = self.exact_counts()?;
        let references = self.count("SELECT COUNT(*) FROM chunks WHERE semantic = 0")?;
        Ok(chunks.saturating_sub(references))
    }
}
