//! A Zotero library brought along: the folder it was imported from, each item as Zotero's
//! record of it (JSON, kept as given: the library reads it), the files each item holds, and the
//! passages that are the user's own words (notes, annotations), which live among the PDF's
//! passages and name where they came from.

use std::collections::HashMap;

use rusqlite::params;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;

/// Where the library's Zotero folder and the last import are recorded.
const ZOTERO_SOURCE: &str = "zotero_source";

/// An item as the catalog holds it.
#[derive(Debug, Clone)]
pub struct StoredZoteroItem {
    /// Zotero's library id.
    pub library: i64,
    /// Zotero's item key.
    pub key: String,
    /// Zotero's version of the item.
    pub version: i64,
    /// What the item held when imported (its record, place, notes), hashed.
    pub fingerprint: String,
    /// The item as the library stored it (JSON).
    pub item: String,
}

/// A stored passage of the user's own words: (id, source, key, page, text).
pub type StoredNote = (ChunkId, String, String, u32, String);

/// A passage of the user's own words to store.
#[derive(Debug, Clone)]
pub struct NewNote<'a> {
    /// The page it belongs to (an annotation's page; a note's is the paper's first).
    pub page: u32,
    /// `note` or `annotation`.
    pub source: &'a str,
    /// Zotero's key of the note or annotation.
    pub key: &'a str,
    /// Its text.
    pub text: &'a str,
    /// Its vector, where a model is present.
    pub vector: Option<&'a [f32]>,
}

impl Catalog {
    /// What the library recorded of its Zotero folder, if it has one.
    pub fn zotero_source<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        Ok(self
            .meta(ZOTERO_SOURCE)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Records the library's Zotero folder and its last import.
    pub fn set_zotero_source<T: Serialize>(&self, source: &T) -> Result<()> {
        let json = serde_json::to_string(source).expect("a Zotero source serialises");
        self.set_meta(ZOTERO_SOURCE, &json)
    }

    /// Every Zotero item the library holds.
    pub fn zotero_items(&self) -> Result<Vec<StoredZoteroItem>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT library, key, version, fingerprint, item FROM zotero_items
                 ORDER BY library, key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredZoteroItem {
                    library: r.get(0)?,
                    key: r.get(1)?,
                    version: r.get(2)?,
                    fingerprint: r.get(3)?,
                    item: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Stores (or replaces) an item with the files it holds, in one transaction.
    pub fn put_zotero_item(
        &mut self,
        item: &StoredZoteroItem,
        modified: &str,
        files: &[(PathBuf, String)],
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute(
            "INSERT INTO zotero_items (library, key, version, modified, fingerprint, item)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(library, key) DO UPDATE SET version = excluded.version,
                 modified = excluded.modified, fingerprint = excluded.fingerprint,
                 item = excluded.item",
            params![
                item.library,
                item.key,
                item.version,
                modified,
                item.fingerprint,
                item.item
            ],
        )
        .map_err(e)?;
        tx.execute(
            "DELETE FROM zotero_files WHERE library = ?1 AND item_key = ?2",
            params![item.library, item.key],
        )
        .map_err(e)?;
        for (position, (file, attachment)) in files.iter().enumerate() {
            tx.execute(
                "INSERT OR IGNORE INTO zotero_files (path, library, item_key, attachment_key, position)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    path_bytes(file),
                    item.library,
                    item.key,
                    attachment,
                    position as i64
                ],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// Forgets an item (its files' rows go with it).
    pub fn delete_zotero_item(&self, library: i64, key: &str) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM zotero_items WHERE library = ?1 AND key = ?2",
                params![library, key],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every path a Zotero item holds.
    pub fn zotero_paths(&self) -> Result<Vec<PathBuf>> {
        self.paths("SELECT DISTINCT path FROM zotero_files ORDER BY path")
    }

    /// The items (their stored JSON) each document is held by, in Zotero's order: the item
    /// whose first file it is comes first.
    pub fn zotero_by_document(&self) -> Result<HashMap<DocumentId, Vec<String>>> {
        self.zotero_items_where("", [])
    }

    /// The items (their stored JSON) that hold the document `doc`.
    pub fn zotero_items_of(&self, doc: DocumentId) -> Result<Vec<String>> {
        Ok(self
            .zotero_items_where("WHERE f.document_id = ?1", [doc])?
            .remove(&doc)
            .unwrap_or_default())
    }

    fn zotero_items_where<P: rusqlite::Params>(
        &self,
        filter: &str,
        params: P,
    ) -> Result<HashMap<DocumentId, Vec<String>>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT f.document_id, z.item, MIN(zf.position) AS first
                 FROM files f
                 JOIN zotero_files zf ON zf.path = f.path
                 JOIN zotero_items z ON z.library = zf.library AND z.key = zf.item_key
                 {filter}
                 GROUP BY f.document_id, z.library, z.key
                 ORDER BY f.document_id, first, z.library, z.key"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, |r| {
                Ok((r.get::<_, DocumentId>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut all: HashMap<DocumentId, Vec<String>> = HashMap::new();
        for row in rows {
            let (doc, item) = row.map_err(|e| self.err(e))?;
            all.entry(doc).or_default().push(item);
        }
        Ok(all)
    }

    /// The documents that hold passages of the user's own words.
    pub fn documents_with_notes(&self) -> Result<std::collections::HashSet<DocumentId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT document_id FROM chunks WHERE source IS NOT NULL")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// How many pages a document has.
    pub fn page_count(&self, doc: DocumentId) -> Result<u32> {
        self.conn
            .query_row("SELECT pages FROM documents WHERE id = ?1", [doc], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u32)
            .map_err(|e| self.err(e))
    }

    /// The Zotero item each document belongs to, where it belongs to one: the item whose
    /// earliest file it is (the order [`Catalog::zotero_items_of`] gives), as (library, key).
    pub fn zotero_item_of_documents(&self) -> Result<HashMap<DocumentId, (i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.document_id, zf.library, zf.item_key, MIN(zf.position) AS first
                 FROM files f JOIN zotero_files zf ON zf.path = f.path
                 GROUP BY f.document_id, zf.library, zf.item_key
                 ORDER BY f.document_id, first, zf.library, zf.item_key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, DocumentId>(0)?, (r.get(1)?, r.get(2)?)))
            })
            .map_err(|e| self.err(e))?;
        let mut first = HashMap::new();
        for row in rows {
            let (doc, item) = row.map_err(|e| self.err(e))?;
            first.entry(doc).or_insert(item);
        }
        Ok(first)
    }

    /// The passages of the user's own words a document holds: (id, source, key, page, text).
    pub fn notes_of(&self, doc: DocumentId) -> Result<Vec<StoredNote>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, source, source_key, page, text FROM chunks
                 WHERE document_id = ?1 AND source IS NOT NULL ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([doc], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    r.get::<_, i64>(3)?.max(0) as u32,
                    r.get(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Stores passages of the user's own words in a document and takes others out, in one
    /// transaction. Returns the new passages' ids, in order.
    pub fn replace_notes(
        &mut self,
        doc: DocumentId,
        remove: &[ChunkId],
        add: &[NewNote<'_>],
    ) -> Result<Vec<ChunkId>> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        for id in remove {
            tx.execute(
                "DELETE FROM chunks WHERE id = ?1 AND source IS NOT NULL",
                [id],
            )
            .map_err(e)?;
        }
        let mut ids = Vec::with_capacity(add.len());
        for note in add {
            tx.execute(
                "INSERT INTO chunks (document_id, page, start, end, text, vector, semantic, source, source_key)
                 VALUES (?1, ?2, 0, ?3, ?4, ?5, 1, ?6, ?7)",
                params![
                    doc,
                    note.page,
                    note.text.len() as i64,
                    note.text,
                    note.vector.map(vector_bytes),
                    note.source,
                    note.key
                ],
            )
            .map_err(e)?;
            ids.push(tx.last_insert_rowid());
        }
        tx.commit().map_err(e)?;
        Ok(ids)
    }
}
