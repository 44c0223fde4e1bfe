//! The SQLite catalog: the library's source of truth.
//!
//! Documents are identified by content (a BLAKE3 hash), so the same paper under two paths, or
//! moved, is one document with several files. The catalog keeps each document's page text and
//! passages with their vectors: the keyword and vector indexes are derived from it and can be
//! rebuilt from it at any time without reading a PDF or running the model again.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};

/// A document's row id. Never reused (AUTOINCREMENT), so a stale index entry can never point at
/// a later document.
pub type DocumentId = i64;
/// A passage's row id, also its key in the keyword and vector indexes. Never reused.
pub type ChunkId = i64;

/// The on-disk schema version; bump it with a migration.
pub const SCHEMA_VERSION: i64 = 5;

/// Where a document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Extracted, chunked, embedded where a model is present, and in the indexes.
    Indexed,
    /// Could not be read; `error` says why. Not retried until the file changes.
    Failed,
    /// Found but not yet processed.
    Pending,
}

impl Status {
    /// The status as the catalog and JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Indexed => "indexed",
            Status::Failed => "failed",
            Status::Pending => "pending",
        }
    }
    fn parse(s: &str) -> Status {
        match s {
            "indexed" => Status::Indexed,
            "failed" => Status::Failed,
            _ => Status::Pending,
        }
    }
}

/// A document as the catalog holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentRow {
    /// Its id.
    #[serde(skip)]
    pub id: DocumentId,
    /// The first of its paths, by name.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub path: PathBuf,
    /// Every path with this content.
    #[serde(serialize_with = "crate::paths::lossy_all")]
    pub paths: Vec<PathBuf>,
    /// Its title, where one was found.
    pub title: Option<String>,
    /// The year it was published, where its first page says.
    pub year: Option<u16>,
    /// Its page count.
    pub pages: u32,
    /// How many passages it was cut into.
    pub chunks: u64,
    /// Where it stands.
    pub status: Status,
    /// Why it failed, in words a person understands; `None` unless failed.
    pub error: Option<String>,
    /// The failure's stable code (`encrypted`, `no_text`, ...); `None` unless failed.
    pub error_code: Option<String>,
}

/// What the catalog knows of a file path.
#[derive(Debug, Clone)]
pub struct FileRow {
    /// The document it holds.
    pub document: DocumentId,
    /// Size in bytes when last seen.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch when last seen.
    pub mtime_ns: i64,
    /// That document's status.
    pub status: Status,
}

/// A passage as stored.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    /// Its id.
    pub id: ChunkId,
    /// Its document.
    pub document: DocumentId,
    /// Its 1-based page.
    pub page: u32,
    /// Byte offsets into the page text.
    pub start: usize,
    /// End offset, exclusive.
    pub end: usize,
    /// The passage text.
    pub text: String,
}

/// A new passage to store.
#[derive(Debug, Clone)]
pub struct NewChunk<'a> {
    /// Its 1-based page.
    pub page: u32,
    /// Byte offsets into the page text.
    pub start: usize,
    /// End offset, exclusive.
    pub end: usize,
    /// The passage text.
    pub text: &'a str,
    /// Its vector, where a model is present.
    pub vector: Option<&'a [f32]>,
    /// Whether it is searched by meaning (embedded); false for reference lists
    /// ([`crate::chunk::is_reference_list`]), which only the keyword index holds.
    pub semantic: bool,
}

/// The catalog: one SQLite file.
pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

impl Catalog {
    /// Opens (creating where absent) the catalog at `path`; in a folder this process cannot
    /// write (read-only storage), for reading only.
    pub fn open(path: &Path) -> Result<Self> {
        if path.is_file() && !path.parent().is_none_or(crate::paths::writable) {
            return Self::open_read_only(path);
        }
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let catalog = Catalog {
            conn,
            path: path.to_path_buf(),
        };
        catalog.init()?;
        Ok(catalog)
    }

    /// Opens a catalog on read-only storage: searches answer, nothing is written (not even the
    /// WAL's shared-memory file, which SQLite keeps in memory then).
    fn open_read_only(path: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        // `immutable`: no lock and no shared-memory file, which could not be created there. A
        // library is closed with its write-ahead log folded in, so the file itself is whole.
        let mut uri = b"file:".to_vec();
        for &b in crate::paths::to_bytes(path).iter() {
            if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
                uri.push(b);
            } else {
                uri.extend_from_slice(format!("%{b:02X}").as_bytes());
            }
        }
        uri.extend_from_slice(b"?immutable=1");
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(crate::paths::from_bytes(uri), flags)
            .map_err(|e| sql(path, e))?;
        let catalog = Catalog {
            conn,
            path: path.to_path_buf(),
        };
        let version: i64 = catalog
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| catalog.err(e))?;
        if version != SCHEMA_VERSION {
            return Err(Error::Invalid(format!(
                "{} is on read-only storage and was written by {} MedShelf (schema {version}, this \
                 one reads {SCHEMA_VERSION}); open it once where it can be written to upgrade it",
                path.display(),
                if version > SCHEMA_VERSION { "a newer" } else { "an older" }
            )));
        }
        Ok(catalog)
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        sql(&self.path, e)
    }

    fn init(&self) -> Result<()> {
        // WAL lets searches read while an index run writes, from this or another process.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 10000;",
            )
            .map_err(|e| self.err(e))?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(Error::Invalid(format!(
                "{} was written by a newer MedShelf (schema {version}); update MedShelf to open it",
                self.path.display()
            )));
        }
        if version == 0 {
            self.conn
                .execute_batch(
                    "BEGIN;
                     CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                     CREATE TABLE IF NOT EXISTS documents (
                         id INTEGER PRIMARY KEY AUTOINCREMENT,
                         hash TEXT NOT NULL UNIQUE,
                         title TEXT,
                         pages INTEGER NOT NULL DEFAULT 0,
                         size INTEGER NOT NULL DEFAULT 0,
                         status TEXT NOT NULL,
                         error TEXT,
                         error_code TEXT
                     );
                     CREATE TABLE IF NOT EXISTS files (
                         path TEXT PRIMARY KEY,
                         document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                         size INTEGER NOT NULL,
                         mtime_ns INTEGER NOT NULL
                     );
                     CREATE INDEX IF NOT EXISTS files_document ON files(document_id);
                     CREATE TABLE IF NOT EXISTS pages (
                         document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                         page INTEGER NOT NULL,
                         text TEXT NOT NULL,
                         PRIMARY KEY (document_id, page)
                     );
                     CREATE TABLE IF NOT EXISTS chunks (
                         id INTEGER PRIMARY KEY AUTOINCREMENT,
                         document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                         page INTEGER NOT NULL,
                         start INTEGER NOT NULL,
                         end INTEGER NOT NULL,
                         text TEXT NOT NULL,
                         vector BLOB
                     );
                     CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
                     PRAGMA user_version = 1;
                     COMMIT;",
                )
                .map_err(|e| self.err(e))?;
        }
        if version < 2 {
            // Version 2: vectors from the model a library is switching to, kept apart from the
            // vectors in use until every passage has one (`Library::switch_model`).
            self.conn
                .execute_batch(
                    "BEGIN;
                     CREATE TABLE IF NOT EXISTS next_vectors (
                         chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
                         vector BLOB NOT NULL
                     );
                     PRAGMA user_version = 2;
                     COMMIT;",
                )
                .map_err(|e| self.err(e))?;
        }
        if version < 3 {
            // Version 3: any change to the passages marks the indexes as behind the catalog,
            // in the same transaction; `Library::commit` marks them in step once both are
            // saved. A library closed in step opens without comparing every id.
            self.conn
                .execute_batch(
                    "BEGIN;
                     INSERT OR IGNORE INTO meta (key, value) VALUES ('indexes_dirty', '1');
                     CREATE TRIGGER IF NOT EXISTS chunks_inserted AFTER INSERT ON chunks BEGIN
                         UPDATE meta SET value = '1' WHERE key = 'indexes_dirty' AND value <> '1';
                     END;
                     CREATE TRIGGER IF NOT EXISTS chunks_deleted AFTER DELETE ON chunks BEGIN
                         UPDATE meta SET value = '1' WHERE key = 'indexes_dirty' AND value <> '1';
                     END;
                     CREATE TRIGGER IF NOT EXISTS chunk_vectors_changed AFTER UPDATE OF vector ON chunks BEGIN
                         UPDATE meta SET value = '1' WHERE key = 'indexes_dirty' AND value <> '1';
                     END;
                     CREATE TRIGGER IF NOT EXISTS documents_deleted AFTER DELETE ON documents BEGIN
                         UPDATE meta SET value = '1' WHERE key = 'indexes_dirty' AND value <> '1';
                     END;
                     PRAGMA user_version = 3;
                     COMMIT;",
                )
                .map_err(|e| self.err(e))?;
        }
        if version < 4 {
            // Version 4: passages that are not embedded on purpose (reference lists) are told
            // from passages still waiting for a vector. Older passages were all meant to be.
            self.conn
                .execute_batch(
                    "BEGIN;
                     ALTER TABLE chunks ADD COLUMN semantic INTEGER NOT NULL DEFAULT 1;
                     PRAGMA user_version = 4;
                     COMMIT;",
                )
                .map_err(|e| self.err(e))?;
        }
        if version < 5 {
            // Version 5: exact passage and vector counts kept by triggers, so that opening
            // compares each index's size with the catalog's in constant time (a second writer,
            // or any drift, shows there); paths stored as their bytes, so that a file name that
            // is not UTF-8 is kept exactly as it is on disk.
            self.conn
                .execute_batch(
                    "BEGIN;
                     CREATE TABLE IF NOT EXISTS counts (
                         id INTEGER PRIMARY KEY CHECK (id = 1),
                         chunks INTEGER NOT NULL,
                         vectors INTEGER NOT NULL
                     );
                     INSERT OR REPLACE INTO counts (id, chunks, vectors) VALUES (1,
                         (SELECT COUNT(*) FROM chunks),
                         (SELECT COUNT(*) FROM chunks WHERE vector IS NOT NULL));
                     CREATE TRIGGER IF NOT EXISTS chunks_counted_in AFTER INSERT ON chunks BEGIN
                         UPDATE counts SET chunks = chunks + 1,
                             vectors = vectors + (NEW.vector IS NOT NULL);
                     END;
                     CREATE TRIGGER IF NOT EXISTS chunks_counted_out AFTER DELETE ON chunks BEGIN
                         UPDATE counts SET chunks = chunks - 1,
                             vectors = vectors - (OLD.vector IS NOT NULL);
                     END;
                     CREATE TRIGGER IF NOT EXISTS chunk_vectors_counted AFTER UPDATE OF vector ON chunks BEGIN
                         UPDATE counts SET
                             vectors = vectors + (NEW.vector IS NOT NULL) - (OLD.vector IS NOT NULL);
                     END;
                     UPDATE files SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text';
                     CREATE TABLE IF NOT EXISTS folders (path BLOB PRIMARY KEY);
                     INSERT OR IGNORE INTO folders (path)
                         SELECT CAST(value AS BLOB) FROM json_each(
                             (SELECT value FROM meta WHERE key = 'folders' AND json_valid(value)));
                     DELETE FROM meta WHERE key = 'folders';
                     PRAGMA user_version = 5;
                     COMMIT;",
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

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

    /// The folders the library was asked to index, by name.
    pub fn folders(&self) -> Result<Vec<PathBuf>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM folders ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map(path_from_bytes).map_err(|e| self.err(e)))
            .collect()
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

    /// A number that changes whenever another connection (another process, say) commits to the
    /// catalog; this connection's own commits leave it unchanged.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Reads a setting.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Writes a setting.
    /// Records that both indexes were saved holding `state` (their entry counts) and are in step
    /// with the catalog as of now.
    pub fn mark_indexed(&mut self, state: &str) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        for (key, value) in [("index_state", state), ("indexes_dirty", "0")] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// Removes a setting.
    pub fn delete_meta(&self, key: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Stores a setting.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// What the catalog knows of a path.
    pub fn file(&self, path: &Path) -> Result<Option<FileRow>> {
        self.conn
            .query_row(
                "SELECT f.document_id, f.size, f.mtime_ns, d.status FROM files f
                 JOIN documents d ON d.id = f.document_id WHERE f.path = ?1",
                [path_bytes(path)],
                |r| {
                    Ok(FileRow {
                        document: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        status: Status::parse(&r.get::<_, String>(3)?),
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
        chunks: &[NewChunk<'_>],
    ) -> Result<(DocumentId, Vec<ChunkId>)> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute(
            "INSERT INTO documents (hash, title, pages, size, status) VALUES (?1, ?2, ?3, ?4, 'indexed')
             ON CONFLICT(hash) DO UPDATE SET title = excluded.title, pages = excluded.pages,
                 size = excluded.size, status = 'indexed', error = NULL, error_code = NULL",
            params![hash, title, pages.len() as i64, size as i64],
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

    fn documents_where(&self, status: Option<Status>) -> Result<Vec<DocumentRow>> {
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
                        (SELECT text FROM pages p WHERE p.document_id = d.id AND p.page = 1)
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
                    year: r
                        .get::<_, Option<String>>(7)?
                        .as_deref()
                        .and_then(crate::extract::publication_year),
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
                        (SELECT COUNT(*) FROM chunks)",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.err(e))
    }

    /// Looks up passages by id (missing ids are skipped: a search may race a removal).
    pub fn chunks(&self, ids: &[ChunkId]) -> Result<Vec<ChunkRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, document_id, page, start, end, text FROM chunks WHERE id = ?1",
            )
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(row) = stmt
                .query_row([id], chunk_row)
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
                "SELECT c.id, c.document_id, c.page, c.start, c.end, c.text, d.title
                 FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let row = chunk_row(r).map_err(|e| self.err(e))?;
            let title: Option<String> = r.get(6).map_err(|e| self.err(e))?;
            f(&row, title.as_deref());
        }
        Ok(())
    }

    /// Calls `f` with every stored vector of `dim` dimensions, for rebuilding the vector index
    /// without the model; `None` for one that fails its checksum (or has other dimensions).
    pub fn for_each_vector(
        &self,
        dim: usize,
        mut f: impl FnMut(ChunkId, Option<&[f32]>),
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id: ChunkId = r.get(0).map_err(|e| self.err(e))?;
            let blob: Vec<u8> = r.get(1).map_err(|e| self.err(e))?;
            f(id, vector_from_bytes(&blob, dim).as_deref());
        }
        Ok(())
    }

    /// Ids of the passages that carry a vector, without reading the vectors (a consistency check
    /// at open must stay cheap at a million passages).
    pub fn vector_ids(&self) -> Result<Vec<ChunkId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM chunks WHERE vector IS NOT NULL")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
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

    /// Up to `limit` passages stored without a vector (indexed while no model was present),
    /// lowest id first.
    pub fn chunks_without_vector(&self, limit: usize) -> Result<Vec<(ChunkId, String)>> {
        self.id_texts(
            "SELECT id, text FROM chunks WHERE vector IS NULL AND semantic = 1 ORDER BY id LIMIT ?1",
            limit,
        )
    }

    /// Rows of (id, text) from a query with a `LIMIT ?1`.
    fn id_texts(&self, sql: &str, limit: usize) -> Result<Vec<(ChunkId, String)>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Stores vectors for passages that have none, in one transaction.
    pub fn set_vectors(&mut self, vectors: &[(ChunkId, Vec<f32>)]) -> Result<()> {
        self.store_vectors(
            "UPDATE chunks SET vector = ?2 WHERE id = ?1 AND vector IS NULL",
            vectors,
        )
    }

    /// Runs `sql` with (id, vector) for each pair, in one transaction.
    fn store_vectors(&mut self, statement: &str, vectors: &[(ChunkId, Vec<f32>)]) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut stmt = tx.prepare(statement).map_err(e)?;
            for (id, v) in vectors {
                stmt.execute(params![id, vector_bytes(v)]).map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Forgets the stored vectors of these passages (damaged ones), in one transaction: the
    /// next index run embeds them again.
    pub fn clear_vectors(&mut self, ids: &[ChunkId]) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        for id in ids {
            tx.execute("UPDATE chunks SET vector = NULL WHERE id = ?1", [id])
                .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// Up to `limit` passages without a vector from the model being switched to, lowest id first.
    pub fn chunks_without_next_vector(&self, limit: usize) -> Result<Vec<(ChunkId, String)>> {
        self.id_texts(
            "SELECT c.id, c.text FROM chunks c LEFT JOIN next_vectors n ON n.chunk_id = c.id
             WHERE n.chunk_id IS NULL AND c.semantic = 1 ORDER BY c.id LIMIT ?1",
            limit,
        )
    }

    /// Stores vectors from the model being switched to, in one transaction.
    pub fn set_next_vectors(&mut self, vectors: &[(ChunkId, Vec<f32>)]) -> Result<()> {
        self.store_vectors(
            "INSERT OR REPLACE INTO next_vectors (chunk_id, vector) VALUES (?1, ?2)",
            vectors,
        )
    }

    /// How many passages have a vector from the model being switched to.
    pub fn next_vector_count(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM next_vectors")
    }

    /// The one number a `SELECT COUNT(*)` gives.
    fn count(&self, sql: &str) -> Result<u64> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Forgets the vectors of an abandoned switch.
    pub fn clear_next_vectors(&self) -> Result<()> {
        self.conn
            .execute("DELETE FROM next_vectors", [])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Completes a switch in one transaction: the new model's vectors replace the old ones
    /// (a passage without one is left without, for the next backfill), and `model` records the
    /// new model. Until this commits, every reader sees the old model and its vectors only.
    pub fn swap_next_vectors(&mut self, model: &str) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute_batch(
            "UPDATE chunks SET vector = (SELECT n.vector FROM next_vectors n WHERE n.chunk_id = chunks.id);
             DELETE FROM next_vectors;
             DELETE FROM meta WHERE key = 'model_next';",
        )
        .map_err(e)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('model', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [model],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    /// How many passages that should carry a vector carry none.
    pub fn missing_vector_count(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM chunks WHERE vector IS NULL AND semantic = 1")
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

    /// How many passages are searched by meaning (all but reference lists).
    pub fn semantic_count(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM chunks WHERE semantic = 1")
    }

    /// How many passages carry a vector.
    pub fn vector_count(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM chunks WHERE vector IS NOT NULL")
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

    /// The year a document was published, where its first page says (derived from the stored
    /// text each time, so that a better heuristic needs no re-index).
    pub fn year(&self, id: DocumentId) -> Result<Option<u16>> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT text FROM pages WHERE document_id = ?1 AND page = 1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        Ok(text.as_deref().and_then(crate::extract::publication_year))
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

fn chunk_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChunkRow> {
    Ok(ChunkRow {
        id: r.get(0)?,
        document: r.get(1)?,
        page: r.get::<_, i64>(2)? as u32,
        start: r.get::<_, i64>(3)? as usize,
        end: r.get::<_, i64>(4)? as usize,
        text: r.get(5)?,
    })
}

fn sql(path: &Path, error: rusqlite::Error) -> Error {
    Error::catalog(path, error)
}

use crate::paths::{from_bytes as path_from_bytes, to_bytes as path_bytes};

/// Vectors are stored as little-endian f32s followed by the CRC-32 of those bytes, so that a
/// vector damaged on disk is told from a good one before it is indexed.
fn vector_bytes(v: &[f32]) -> Vec<u8> {
    let mut bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// A stored vector of `dim` dimensions, or `None` where its checksum fails (or its size fits
/// no vector of `dim`). Vectors stored before checksums were (schema 4 and older) carry none.
fn vector_from_bytes(b: &[u8], dim: usize) -> Option<Vec<f32>> {
    let values = match b.len() {
        n if n == dim * 4 => b,
        n if n == dim * 4 + 4 => {
            let (values, crc) = b.split_at(dim * 4);
            if crc32fast::hash(values).to_le_bytes() != crc {
                return None;
            }
            values
        }
        _ => return None,
    };
    Some(
        values
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_version_moves_only_for_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let mine = Catalog::open(&path).unwrap();
        let other = Catalog::open(&path).unwrap();
        let before = mine.data_version().unwrap();
        mine.set_meta("k", "1").unwrap();
        assert_eq!(mine.data_version().unwrap(), before);
        other.set_meta("k", "2").unwrap();
        assert_ne!(mine.data_version().unwrap(), before);
    }

    #[test]
    fn same_content_under_two_paths_is_one_document() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();
        let pages = vec!["page one text".to_string()];
        let v = [0.5f32, -0.25];
        let chunks = [NewChunk {
            page: 1,
            start: 0,
            end: 8,
            text: "page one",
            vector: Some(&v),
            semantic: true,
        }];
        let (doc, ids) = cat
            .insert_indexed("h1", 10, Some("T"), &pages, &chunks)
            .unwrap();
        cat.link_file(Path::new("/a/x.pdf"), doc, 10, 1).unwrap();
        cat.link_file(Path::new("/b/x.pdf"), doc, 10, 1).unwrap();
        let docs = cat.documents().unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].paths.len(), 2);
        assert_eq!(docs[0].chunks, 1);
        let mut seen = Vec::new();
        cat.for_each_vector(2, |id, v| seen.push((id, v.unwrap().to_vec())))
            .unwrap();
        assert_eq!(seen, vec![(ids[0], v.to_vec())]);
        assert_eq!(cat.unlink_file(Path::new("/a/x.pdf")).unwrap(), None);
        assert_eq!(cat.unlink_file(Path::new("/b/x.pdf")).unwrap(), Some(doc));
        assert_eq!(cat.paths_under(Path::new("/b")).unwrap().len(), 0);
    }
}
