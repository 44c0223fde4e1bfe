//! The SQLite catalog: the library's source of truth.
//!
//! Documents are identified by content (a BLAKE3 hash), so the same paper under two paths, or
//! moved, is one document with several files. The catalog keeps each document's page text and
//! passages with their vectors: the keyword and vector indexes are derived from it and can be
//! rebuilt from it at any time without reading a PDF or running the model again.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::paths::{from_bytes as path_from_bytes, to_bytes as path_bytes};

mod definitions;
mod documents;
mod meta;
mod passages;
mod records;
mod schema;
mod vectors;
mod zotero;

pub use definitions::{Reading, StoredDefinition};
use vectors::vector_bytes;

pub use meta::{ModelRecord, ModelSlot};
pub use records::StoredRecord;
pub use schema::{pending_upgrade, SCHEMA_VERSION};
pub use zotero::{NewNote, StoredZoteroItem};

/// A document's row id. Never reused (AUTOINCREMENT), so a stale index entry can never point at
/// a later document.
pub type DocumentId = i64;

/// A passage's row id, also its key in the keyword and vector indexes. Never reused.
pub type ChunkId = i64;

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
    /// The year it was published, where its first page says (filled in by the library, which
    /// reads it from [`DocumentRow::first_page`] each time, so that a better reading needs no
    /// re-index).
    pub year: Option<u16>,
    /// The stored text of its first page where it has no record (indexed before records
    /// were kept): the library takes the year from it and lets it go.
    #[serde(skip)]
    pub first_page: Option<String>,
    /// Its content hash, which its corrections are keyed by.
    #[serde(skip)]
    pub hash: String,
    /// Its record as the reader stored it (JSON); the library turns it into `meta`.
    #[serde(skip)]
    pub metadata: Option<String>,
    /// What is known of the paper, corrections laid over what was read (filled in by the
    /// library).
    pub meta: Option<crate::metadata::Record>,
    /// Its study design, taken out of its record (filled in by the library); `null` where
    /// none was read.
    pub design: Option<crate::clinical::Design>,
    /// Where it sits in Zotero, for a paper imported from there (filled in by the library).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zotero: Option<crate::zotero::Membership>,
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
    /// The version of the metadata reader that read its document's record (0: none read).
    pub metadata_reader: i64,
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
    /// Where the words come from, where not the PDF's text: `note` or `annotation` (the
    /// user's own words, from Zotero).
    pub source: Option<String>,
    /// Whether its page's text was read by OCR (a scan).
    pub ocr: bool,
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
        let version = catalog.schema_version()?;
        if version > SCHEMA_VERSION {
            return Err(Error::NewerLibrary {
                path: path.to_path_buf(),
                version,
            });
        }
        if version < SCHEMA_VERSION {
            return Err(Error::OlderLibraryReadOnly {
                path: path.to_path_buf(),
                version,
            });
        }
        Ok(catalog)
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        sql(&self.path, e)
    }

    /// A number that changes whenever another connection (another process, say) commits to the
    /// catalog; this connection's own commits leave it unchanged.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Runs `f`, which only reads, in one read transaction: everything it reads comes from one
    /// state of the catalog, and its many small queries (a search reads a few hundred rows)
    /// share one lock and one check of the write-ahead log instead of one each. Inside a
    /// transaction already, `f` simply runs in it.
    pub fn snapshot<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return f();
        }
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| self.err(e))?;
        let out = f();
        // Nothing was written: ending the transaction only lets go of the snapshot.
        let ended = self.conn.execute_batch("COMMIT");
        let out = out?;
        ended.map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// The one number a `SELECT COUNT(*)` gives.
    fn count(&self, sql: &str) -> Result<u64> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
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
        source: r.get(6)?,
        ocr: false,
    })
}

impl Catalog {
    /// The paths a query without parameters selects (stored as their bytes), in its order.
    fn paths(&self, query: &str) -> Result<Vec<PathBuf>> {
        let mut stmt = self.conn.prepare(query).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map(path_from_bytes).map_err(|e| self.err(e)))
            .collect()
    }
}

fn sql(path: &Path, error: rusqlite::Error) -> Error {
    Error::catalog(path, error)
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
    fn a_snapshot_reads_one_state_of_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let reader = Catalog::open(&path).unwrap();
        let writer = Catalog::open(&path).unwrap();
        writer.set_meta("k", "before").unwrap();
        let seen = reader
            .snapshot(|| {
                let first = reader.meta("k")?;
                // Another connection commits between two reads of the same search.
                writer.set_meta("k", "after").unwrap();
                Ok((first, reader.meta("k")?))
            })
            .unwrap();
        assert_eq!(seen.0.as_deref(), Some("before"));
        assert_eq!(
            seen.1.as_deref(),
            Some("before"),
            "one state within the snapshot"
        );
        assert!(reader.conn.is_autocommit(), "the snapshot ended");
        assert_eq!(reader.meta("k").unwrap().as_deref(), Some("after"));
        // An error inside ends the snapshot too, and is returned.
        let failed: Result<()> = reader.snapshot(|| Err(Error::NeedsModel));
        assert!(matches!(failed, Err(Error::NeedsModel)));
        assert!(reader.conn.is_autocommit());
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
            .insert_indexed("h1", 10, Some("T"), &pages, Reading::default(), &chunks)
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
