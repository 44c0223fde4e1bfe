//! Documents (one per content hash) and the file paths that hold them, and the folders a
//! library follows.

use rusqlite::{params, OptionalExtension};

use super::*;

impl Catalog {
    /// The folders the library was asked to index, by name.
    pub fn folders(&self) -> Result<Vec<PathBuf>> {
        self.paths("SELECT path FROM folders ORDER BY path")
    }

    /// Replaces the folders the library follows, in one transaction.
    pub fn set_folders(&mut self, folders: &[PathBuf]) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute("DELETE FROM folders", []).map_err(e)?;
        for folder in folders {
            tx.execute(
                "INSERT OR IGNORE INTO folders (path) VALUES (?1)",
                [path_bytes(folder)],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// What the catalog knows of a path.
    pub fn file(&self, path: &Path) -> Result<Option<FileRow>> {
        self.conn
            .query_row(
                "SELECT f.document_id, f.size, f.mtime_ns, d.status, d.metadata_reader FROM files f
                 JOIN documents d ON d.id = f.document_id WHERE f.path = ?1",
                [path_bytes(path)],
                |r| {
                    Ok(FileRow {
                        document: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        status: Status::parse(&r.get::<_, String>(3)?),
                        metadata_reader: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The document with this content hash, and its status.
    pub fn document_by_hash(&self, hash: &str) -> Result<Option<(DocumentId, Status)>> {
        self.conn
            .query_row(
                "SELECT id, status FROM documents WHERE hash = ?1",
                [hash],
                |r| Ok((r.get(0)?, Status::parse(&r.get::<_, String>(1)?))),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Points `path` at `document`, recording the size and time it was seen with.
    pub fn link_file(
        &self,
        path: &Path,
        document: DocumentId,
        size: u64,
        mtime_ns: i64,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO files (path, document_id, size, mtime_ns) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(path) DO UPDATE SET document_id = excluded.document_id,
                     size = excluded.size, mtime_ns = excluded.mtime_ns",
                params![path_bytes(path), document, size as i64, mtime_ns],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Forgets a path. Returns the document it held where no other path holds it any longer
    /// (the caller then removes that document from the indexes).
    pub fn unlink_file(&self, path: &Path) -> Result<Option<DocumentId>> {
        let Some(row) = self.file(path)? else {
            return Ok(None);
        };
        self.conn
            .execute("DELETE FROM files WHERE path = ?1", [path_bytes(path)])
            .map_err(|e| self.err(e))?;
        let others: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM files WHERE document_id = ?1",
                [row.document],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok((others == 0).then_some(row.document))
    }

    /// Paths recorded under a folder (or the path itself), for `remove` of a folder.
    pub fn paths_under(&self, prefix: &Path) -> Result<Vec<PathBuf>> {
        let exact = path_bytes(prefix);
        let mut folder = exact.clone();
        if folder.last() != Some(&std::path::MAIN_SEPARATOR_STR.as_bytes()[0]) {
            folder.extend_from_slice(std::path::MAIN_SEPARATOR_STR.as_bytes());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM files WHERE path = ?1 OR substr(path, 1, length(?2)) = ?2 ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![exact, folder], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map(path_from_bytes).map_err(|e| self.err(e)))
            .collect()
    }

    /// Stores a document that was read, with its pages and passages, in one transaction: either
    /// all of it is in the catalog or none of it is.
    pub fn insert_indexed(
        &mut self,
        hash: &str,
        size: u64,
        title: Option<&str>,
        pages: &[String],
        reading: Reading<'_>,
        chunks: &[NewChunk<'_>],
    ) -> Result<(DocumentId, Vec<ChunkId>)> {
        let Reading {
            metadata,
            definitions,
            ocr,
        } = reading;
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        let (record, reader) = metadata.unzip();
        tx.execute(
            "INSERT INTO documents (hash, title, pages, size, status, metadata, metadata_reader)
                 VALUES (?1, ?2, ?3, ?4, 'indexed', ?5, ?6)
             ON CONFLICT(hash) DO UPDATE SET title = excluded.title, pages = excluded.pages,
                 size = excluded.size, status = 'indexed', error = NULL, error_code = NULL,
                 metadata = excluded.metadata, metadata_reader = excluded.metadata_reader",
            params![
                hash,
                title,
                pages.len() as i64,
                size as i64,
                record,
                reader.unwrap_or(0)
            ],
        )
        .map_err(e)?;
        let id: DocumentId = tx
            .query_row("SELECT id FROM documents WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .map_err(e)?;
        tx.execute("DELETE FROM pages WHERE document_id = ?1", [id])
            .map_err(e)?;
        tx.execute("DELETE FROM chunks WHERE document_id = ?1", [id])
            .map_err(e)?;
        super::definitions::write_definitions(&tx, id, definitions).map_err(e)?;
        let mut ids = Vec::with_capacity(chunks.len());
        {
            let mut page_stmt = tx
                .prepare("INSERT INTO pages (document_id, page, text) VALUES (?1, ?2, ?3)")
                .map_err(e)?;
            for (i, text) in pages.iter().enumerate() {
                page_stmt
                    .execute(params![id, i as i64 + 1, text])
                    .map_err(e)?;
            }
            let mut ocr_stmt = tx
                .prepare("UPDATE pages SET ocr = ?3 WHERE document_id = ?1 AND page = ?2")
                .map_err(e)?;
            for (page, words) in ocr {
                ocr_stmt.execute(params![id, page, words]).map_err(e)?;
            }
            let mut chunk_stmt = tx
                .prepare(
                    "INSERT INTO chunks (document_id, page, start, end, text, vector, semantic)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(e)?;
            for c in chunks {
                chunk_stmt
                    .execute(params![
                        id,
                        c.page,
                        c.start as i64,
                        c.end as i64,
                        c.text,
                        c.vector.map(vector_bytes),
                        c.semantic
                    ])
                    .map_err(e)?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit().map_err(e)?;
        Ok((id, ids))
    }

    /// Records a file that could not be read, so it is not retried until it changes.
    pub fn insert_failed(
        &self,
        hash: &str,
        size: u64,
        error: &str,
        code: &str,
    ) -> Result<DocumentId> {
        self.conn
            .execute(
                "INSERT INTO documents (hash, size, status, error, error_code) VALUES (?1, ?2, 'failed', ?3, ?4)
                 ON CONFLICT(hash) DO UPDATE SET status = 'failed', error = excluded.error,
                     error_code = excluded.error_code",
                params![hash, size as i64, error, code],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .query_row("SELECT id FROM documents WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// Deletes a document with its pages and passages.
    pub fn delete_document(&self, id: DocumentId) -> Result<()> {
        self.conn
            .execute("DELETE FROM documents WHERE id = ?1", [id])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every document, with its paths and passage counts, ordered by first path.
    pub fn documents(&self) -> Result<Vec<DocumentRow>> {
        self.documents_where(None)
    }

    /// The documents with one status (the failed ones, for `status`), as [`Catalog::documents`].
    pub fn documents_with(&self, status: Status) -> Result<Vec<DocumentRow>> {
        self.documents_where(Some(status))
    }

    pub(super) fn documents_where(&self, status: Option<Status>) -> Result<Vec<DocumentRow>> {
        // Paths are rows, never joined text: any byte may be in a file name, a newline too.
        let mut paths: std::collections::HashMap<DocumentId, Vec<PathBuf>> =
            std::collections::HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT document_id, path FROM files ORDER BY path")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, DocumentId>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (doc, path) = row.map_err(|e| self.err(e))?;
                paths.entry(doc).or_default().push(path_from_bytes(path));
            }
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT d.id, d.title, d.pages, d.status, d.error, d.error_code,
                        (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id),
                        CASE WHEN d.metadata IS NULL THEN
                            (SELECT text FROM pages p WHERE p.document_id = d.id AND p.page = 1)
                        END,
                        d.hash, d.metadata
                 FROM documents d WHERE ?1 IS NULL OR d.status = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([status.map(Status::as_str)], |r| {
                let paths = paths
                    .remove(&r.get::<_, DocumentId>(0)?)
                    .unwrap_or_default();
                Ok(DocumentRow {
                    id: r.get(0)?,
                    path: paths.first().cloned().unwrap_or_default(),
                    paths,
                    title: r.get(1)?,
                    pages: r.get::<_, i64>(2)? as u32,
                    status: Status::parse(&r.get::<_, String>(3)?),
                    error: r.get(4)?,
                    error_code: r.get(5)?,
                    chunks: r.get::<_, i64>(6)? as u64,
                    year: None,
                    first_page: r.get(7)?,
                    hash: r.get(8)?,
                    metadata: r.get(9)?,
                    meta: None,
                    design: None,
                    zotero: None,
                })
            })
            .map_err(|e| self.err(e))?;
        let mut docs: Vec<DocumentRow> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        // A document whose every path was removed is gone; one without paths is mid-update.
        docs.retain(|d| !d.paths.is_empty());
        docs.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(docs)
    }

    /// Counts of indexed documents and of passages.
    pub fn counts(&self) -> Result<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM documents WHERE status = 'indexed'),
                        (SELECT chunks FROM counts WHERE id = 1)",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?.max(0) as u64,
                        r.get::<_, i64>(1)?.max(0) as u64,
                    ))
                },
            )
            .map_err(|e| self.err(e))
    }

    /// The title of a document.
    pub fn title(&self, id: DocumentId) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT title FROM documents WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// The stored text of a document's first page, where it has one: what the library reads
    /// a paper's year from.
    pub fn first_page(&self, id: DocumentId) -> Result<Option<String>> {
        self.page_text(id, 1)
    }

    /// The stored text of one page (1-based) of a document.
    pub fn page_text(&self, id: DocumentId, page: u32) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT text FROM pages WHERE document_id = ?1 AND page = ?2")
            .and_then(|mut s| s.query_row(params![id, page], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))
    }

    /// The first path of a document, by name.
    pub fn first_path(&self, id: DocumentId) -> Result<Option<PathBuf>> {
        self.conn
            .query_row(
                "SELECT path FROM files WHERE document_id = ?1 ORDER BY path LIMIT 1",
                [id],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map(|p| p.map(path_from_bytes))
            .map_err(|e| self.err(e))
    }
}
