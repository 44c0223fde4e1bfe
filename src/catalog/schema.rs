//! The catalog's schema: every change since the first as one migration in a list, applied in
//! order, each in its own transaction with the version it brings the file to.
//!
//! A migration, once released, is history: it is never edited, only followed by another. That
//! is what lets the tests below build a catalog at every earlier version from this very list
//! and open it with today's code.

use super::*;

/// One step of the schema: the version it brings a catalog to, and its SQL.
struct Migration {
    version: i64,
    sql: &'static str,
}

/// Every migration, oldest first. The last one's version is [`SCHEMA_VERSION`].
const MIGRATIONS: &[Migration] = &[
    Migration {
        // documents by content, the files that hold them, page text, passages and vectors
        version: 1,
        sql: "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
              CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);",
    },
    Migration {
        // vectors from the model a library is switching to, kept apart from the vectors in use
        // until every passage has one (`Library::switch_model`)
        version: 2,
        sql: "CREATE TABLE IF NOT EXISTS next_vectors (
                  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
                  vector BLOB NOT NULL
              );",
    },
    Migration {
        // any change to the passages marks the indexes as behind the catalog, in the same
        // transaction; the library marks them in step once both are saved, so that a library
        // closed in step opens without comparing every id
        version: 3,
        sql: "INSERT OR IGNORE INTO meta (key, value) VALUES ('indexes_dirty', '1');
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
              END;",
    },
    Migration {
        // passages not embedded on purpose (reference lists) told from passages still waiting
        // for a vector; older passages were all meant to be
        version: 4,
        sql: "ALTER TABLE chunks ADD COLUMN semantic INTEGER NOT NULL DEFAULT 1;",
    },
    Migration {
        // exact passage and vector counts kept by triggers, so that opening compares each
        // index's size with the catalog's in constant time; paths stored as their bytes, so
        // that a file name that is not UTF-8 is kept exactly as it is on disk; the followed
        // folders in a table of their own
        version: 5,
        sql: "CREATE TABLE IF NOT EXISTS counts (
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
              DELETE FROM meta WHERE key = 'folders';",
    },
    Migration {
        // each paper's record (title, authors, year, venue, DOI...) as read from the PDF, with
        // the version of the reader that read it (0: never read, so the next index run reads
        // it); the user's corrections apart, keyed by content, so that no reading overwrites
        // them and a paper taken out and added again keeps them
        version: 6,
        sql: "ALTER TABLE documents ADD COLUMN metadata TEXT;
              ALTER TABLE documents ADD COLUMN metadata_reader INTEGER NOT NULL DEFAULT 0;
              CREATE TABLE IF NOT EXISTS metadata_edits (
                  hash TEXT NOT NULL,
                  field TEXT NOT NULL,
                  value TEXT NOT NULL,
                  PRIMARY KEY (hash, field)
              );",
    },
    Migration {
        // a Zotero library brought along: its items (Zotero's record of each, where it sits,
        // its notes, as JSON, with Zotero's version and a fingerprint of all of it, so that a
        // second import touches only what changed) and the files each item holds (a path may
        // be attached to two items); passages that are the user's own words (a note, an
        // annotation) name where they came from, and which note or annotation they are
        version: 7,
        sql: "CREATE TABLE IF NOT EXISTS zotero_items (
                  library INTEGER NOT NULL,
                  key TEXT NOT NULL,
                  version INTEGER NOT NULL,
                  modified TEXT NOT NULL,
                  fingerprint TEXT NOT NULL,
                  item TEXT NOT NULL,
                  PRIMARY KEY (library, key)
              );
              CREATE TABLE IF NOT EXISTS zotero_files (
                  path BLOB NOT NULL,
                  library INTEGER NOT NULL,
                  item_key TEXT NOT NULL,
                  attachment_key TEXT NOT NULL,
                  position INTEGER NOT NULL,
                  PRIMARY KEY (path, library, item_key),
                  FOREIGN KEY (library, item_key) REFERENCES zotero_items (library, key)
                      ON DELETE CASCADE
              );
              CREATE INDEX IF NOT EXISTS zotero_files_item ON zotero_files (library, item_key);
              ALTER TABLE chunks ADD COLUMN source TEXT;
              ALTER TABLE chunks ADD COLUMN source_key TEXT;",
    },
    Migration {
        // the abbreviations each paper defines ("deep vein thrombosis (DVT)"), looked up by
        // their short form case aside and by their long form; papers indexed before are
        // mined when their record is read again (the metadata reader's version went up)
        version: 8,
        sql: "CREATE TABLE IF NOT EXISTS definitions (
                  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                  short TEXT NOT NULL,
                  long TEXT NOT NULL,
                  count INTEGER NOT NULL,
                  PRIMARY KEY (document_id, short, long)
              );
              CREATE INDEX IF NOT EXISTS definitions_short ON definitions (short COLLATE NOCASE);
              CREATE INDEX IF NOT EXISTS definitions_long ON definitions (long);",
    },
    Migration {
        // the passages that wait for vectors (the second phase of an index run), found and
        // counted without reading every passage's text and vector: the backfill asks after
        // each batch, and a library of 75,000 passages is hundreds of megabytes of rows
        version: 9,
        sql: "CREATE INDEX IF NOT EXISTS chunks_waiting ON chunks (document_id)
                  WHERE vector IS NULL AND semantic = 1;",
    },
    Migration {
        // pages read by OCR (a scan): their words with confidence and box on the page, as
        // JSON (`extract::OcrPage`), for the "(OCR)" mark and the highlight on the image;
        // NULL for a page with a text layer of its own
        version: 10,
        sql: "ALTER TABLE pages ADD COLUMN ocr TEXT;
              CREATE INDEX IF NOT EXISTS pages_ocr ON pages (document_id) WHERE ocr IS NOT NULL;",
    },
    Migration {
        // reference-list passages (not searched by meaning), counted without reading every
        // passage: `status` and the backfill count the others, and a scan of the rows took a
        // tenth of a second at 75,000 passages, on every start of the app
        version: 11,
        sql: "CREATE INDEX IF NOT EXISTS chunks_reference ON chunks (document_id)
                  WHERE semantic = 0;",
    },
    Migration {
        // how many indexed papers define each abbreviation so, kept by triggers as
        // definitions and papers come and go: a query's expansion looks up every run of its
        // words, and counting the papers through `definitions` read hundreds of rows a
        // lookup at a million passages (a tenth of a search's time). A paper's definitions
        // count while it is indexed; a document's row is gone before its definitions are
        // deleted with it, so the document's own trigger takes them off first. Every statement
        // reaches the counts by their key, through the document's own definitions: a removal
        // never scans the whole table.
        version: 12,
        sql: "CREATE TABLE IF NOT EXISTS definition_counts (
                  long TEXT NOT NULL,
                  short TEXT NOT NULL,
                  papers INTEGER NOT NULL,
                  PRIMARY KEY (long, short)
              ) WITHOUT ROWID;
              CREATE INDEX IF NOT EXISTS definition_counts_short
                  ON definition_counts (short COLLATE NOCASE);
              INSERT INTO definition_counts (long, short, papers)
                  SELECT d.long, d.short, COUNT(DISTINCT d.document_id) FROM definitions d
                    JOIN documents doc ON doc.id = d.document_id AND doc.status = 'indexed'
                   GROUP BY d.long, d.short;
              CREATE TRIGGER IF NOT EXISTS definition_counted AFTER INSERT ON definitions
                  WHEN (SELECT status FROM documents WHERE id = NEW.document_id) = 'indexed'
              BEGIN
                  INSERT INTO definition_counts (long, short, papers) VALUES (NEW.long, NEW.short, 1)
                      ON CONFLICT (long, short) DO UPDATE SET papers = papers + 1;
              END;
              CREATE TRIGGER IF NOT EXISTS definition_uncounted AFTER DELETE ON definitions
                  WHEN (SELECT status FROM documents WHERE id = OLD.document_id) = 'indexed'
              BEGIN
                  UPDATE definition_counts SET papers = papers - 1
                      WHERE long = OLD.long AND short = OLD.short;
                  DELETE FROM definition_counts
                      WHERE long = OLD.long AND short = OLD.short AND papers <= 0;
              END;
              CREATE TRIGGER IF NOT EXISTS definitions_uncounted_with_document
                  BEFORE DELETE ON documents WHEN OLD.status = 'indexed'
              BEGIN
                  UPDATE definition_counts SET papers = papers - 1
                      WHERE (long, short) IN
                          (SELECT long, short FROM definitions WHERE document_id = OLD.id);
                  DELETE FROM definition_counts WHERE papers <= 0 AND (long, short) IN
                      (SELECT long, short FROM definitions WHERE document_id = OLD.id);
              END;
              CREATE TRIGGER IF NOT EXISTS definitions_counted_by_status
                  AFTER UPDATE OF status ON documents
                  WHEN (OLD.status = 'indexed') <> (NEW.status = 'indexed')
              BEGIN
                  INSERT INTO definition_counts (long, short, papers)
                      SELECT long, short, 1 FROM definitions
                       WHERE document_id = NEW.id AND NEW.status = 'indexed'
                      ON CONFLICT (long, short) DO UPDATE SET papers = papers + 1;
                  UPDATE definition_counts SET papers = papers - 1
                      WHERE OLD.status = 'indexed' AND (long, short) IN
                          (SELECT long, short FROM definitions WHERE document_id = NEW.id);
                  DELETE FROM definition_counts
                      WHERE OLD.status = 'indexed' AND papers <= 0 AND (long, short) IN
                          (SELECT long, short FROM definitions WHERE document_id = NEW.id);
              END;",
    },
    Migration {
        // whether a passage's page was read by OCR, answered from the index alone: a search
        // asks it of each of its candidates, and the pages table's own key led to the page's
        // row (a few kilobytes of text) for a column that is NULL on almost every page
        version: 13,
        sql: "DROP INDEX IF EXISTS pages_ocr;
              CREATE INDEX IF NOT EXISTS pages_ocr ON pages (document_id, page)
                  WHERE ocr IS NOT NULL;",
    },
    Migration {
        // no table changes: the keyword index's terms did (`index::analysis::ANALYZER_VERSION`
        // 1 and 2: a range of numbers is no longer a term whole, Unicode's hyphens join a
        // compound as ASCII's does), and the library rebuilds that
        // index from the catalog's text when it next opens for writing. A version of its own
        // so that the opening that rebuilds says why it takes longer (`pending_upgrade`)
        version: 14,
        sql: "UPDATE meta SET value = '1' WHERE key = 'indexes_dirty';",
    },
];

/// The on-disk schema version this MedShelf reads and writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The versions a catalog at `path` will be brought from and to when it is next opened for
/// writing, where it is an existing catalog of an older schema: the migrations read whole
/// tables (15 s at a million passages), so a caller says so before it opens. `None` for a
/// catalog that is current, newer, new or unreadable (opening then says why).
pub fn pending_upgrade(path: &Path) -> Option<(i64, i64)> {
    use rusqlite::OpenFlags;
    if !path.is_file() {
        return None;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ok()?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .ok()?;
    (version > 0 && version < SCHEMA_VERSION).then_some((version, SCHEMA_VERSION))
}

impl Catalog {
    /// The schema version the file says it is at.
    pub(super) fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Sets the connection up and brings the file to [`SCHEMA_VERSION`], one migration per
    /// transaction: a crash between two leaves a file at an earlier version, which the next
    /// open takes further. A file written by a newer MedShelf is refused, never downgraded.
    pub(super) fn init(&self) -> Result<()> {
        // WAL lets searches read while an index run writes, from this or another process.
        // A cache of 32 MiB (SQLite's default is 2) keeps the B-trees' inner pages of a large
        // catalog between searches, which read a few hundred rows each: at a million passages
        // p50 21.5-23.9 -> 18.3-18.4 ms and p95 51-64 -> 44-46 ms, for 20-50 MB more heap
        // (docs/PERFORMANCE.md). It fills only as far as a library's reads go.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 10000;
                 PRAGMA cache_size = -32768;",
            )
            .map_err(|e| self.err(e))?;
        self.migrate_to(SCHEMA_VERSION)
    }

    /// Applies the migrations after the file's version up to `target`.
    fn migrate_to(&self, target: i64) -> Result<()> {
        let version = self.schema_version()?;
        if version > SCHEMA_VERSION {
            return Err(Error::NewerLibrary {
                path: self.path.clone(),
                version,
            });
        }
        for m in MIGRATIONS
            .iter()
            .filter(|m| m.version > version && m.version <= target)
        {
            // `user_version` takes no bound parameter; the number is ours, not input.
            let sql = format!(
                "BEGIN;\n{}\nPRAGMA user_version = {};\nCOMMIT;",
                m.sql, m.version
            );
            if let Err(e) = self.conn.execute_batch(&sql) {
                let _ = self.conn.execute_batch("ROLLBACK;");
                return Err(self.err(e));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_in_order_with_no_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
    }

    /// A catalog as MedShelf wrote it at `version`: the migrations up to it, then one paper
    /// stored with the SQL of that version (paths as text before 5, vectors without a checksum,
    /// folders in `meta` before 5).
    fn written_at(path: &Path, version: i64) {
        let conn = Connection::open(path).unwrap();
        for m in MIGRATIONS.iter().take_while(|m| m.version <= version) {
            conn.execute_batch(&format!(
                "BEGIN;\n{}\nPRAGMA user_version = {};\nCOMMIT;",
                m.sql, m.version
            ))
            .unwrap();
        }
        let vector: Vec<u8> = [0.6f32, 0.8].iter().flat_map(|x| x.to_le_bytes()).collect();
        conn.execute_batch(
            "INSERT INTO documents (id, hash, title, pages, size, status)
                 VALUES (1, 'h1', 'Old paper', 1, 10, 'indexed');
             INSERT INTO documents (id, hash, size, status, error, error_code)
                 VALUES (2, 'h2', 5, 'failed', 'it is encrypted', 'encrypted');
             INSERT INTO files (path, document_id, size, mtime_ns) VALUES ('/papers/old.pdf', 1, 10, 7);
             INSERT INTO files (path, document_id, size, mtime_ns) VALUES ('/papers/locked.pdf', 2, 5, 8);
             INSERT INTO pages (document_id, page, text) VALUES (1, 1, 'Published 2019. Aspirin text');",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO chunks (id, document_id, page, start, end, text, vector)
                 VALUES (1, 1, 1, 0, 15, 'Published 2019.', ?1)",
            [vector],
        )
        .unwrap();
        if version >= 8 {
            // Since 8, the abbreviations a paper defines; a failed document's never count.
            conn.execute_batch(
                "INSERT INTO definitions (document_id, short, long, count)
                     VALUES (1, 'DVT', 'deep vein thrombosis', 2), (2, 'DVT', 'deep vein thrombosis', 1);",
            )
            .unwrap();
        }
        if version >= 5 {
            // Since 5, paths are stored as their bytes.
            conn.execute("UPDATE files SET path = CAST(path AS BLOB)", [])
                .unwrap();
        }
        if version < 5 {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('folders', '[\"/papers\"]')",
                [],
            )
            .unwrap();
        } else {
            conn.execute(
                "INSERT INTO folders (path) VALUES (CAST('/papers' AS BLOB))",
                [],
            )
            .unwrap();
        }
    }

    #[test]
    fn a_library_written_at_every_earlier_version_opens_with_everything_in_it() {
        for version in 1..SCHEMA_VERSION {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("catalog.sqlite");
            written_at(&path, version);
            let cat = Catalog::open(&path).unwrap_or_else(|e| panic!("schema {version}: {e}"));
            assert_eq!(
                cat.schema_version().unwrap(),
                SCHEMA_VERSION,
                "schema {version}"
            );
            let docs = cat.documents().unwrap();
            assert_eq!(docs.len(), 2, "schema {version}");
            let old = docs.iter().find(|d| d.id == 1).unwrap();
            assert_eq!(old.path, Path::new("/papers/old.pdf"), "schema {version}");
            assert_eq!(old.title.as_deref(), Some("Old paper"));
            assert_eq!(old.chunks, 1);
            assert_eq!(
                cat.first_page(1).unwrap().as_deref(),
                Some("Published 2019. Aspirin text")
            );
            let failed = docs.iter().find(|d| d.id == 2).unwrap();
            assert_eq!(failed.status, Status::Failed);
            assert_eq!(failed.error_code.as_deref(), Some("encrypted"));
            // Paths are found by their bytes, whatever type older versions stored them as.
            let file = cat.file(Path::new("/papers/old.pdf")).unwrap().unwrap();
            assert_eq!((file.document, file.size, file.mtime_ns), (1, 10, 7));
            assert_eq!(cat.folders().unwrap(), vec![PathBuf::from("/papers")]);
            assert_eq!(cat.exact_counts().unwrap(), (1, 1), "schema {version}");
            if version >= 8 {
                assert_eq!(
                    cat.defined("dvt").unwrap(),
                    vec![("deep vein thrombosis".to_string(), 1)],
                    "schema {version}"
                );
            }
            assert_eq!(cat.semantic_count().unwrap(), 1);
            // A vector written before checksums is still read.
            let mut seen = Vec::new();
            cat.for_each_vector(2, |id, v| seen.push((id, v.map(<[f32]>::to_vec))))
                .unwrap();
            assert_eq!(seen, vec![(1, Some(vec![0.6, 0.8]))]);
            // The indexes are compared with this catalog at the next open: nothing said they
            // were saved in step with it.
            assert!(cat.indexes_dirty().unwrap(), "schema {version}");
        }
    }

    #[test]
    fn a_library_from_a_newer_medshelf_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        written_at(&path, SCHEMA_VERSION);
        let newer = SCHEMA_VERSION + 1;
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version = {newer};"))
            .unwrap();
        let err = Catalog::open(&path)
            .err()
            .expect("a newer schema is refused");
        assert_eq!(err.code(), "newer_library");
        assert!(err.to_string().contains("newer MedShelf"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, newer);
    }
}
