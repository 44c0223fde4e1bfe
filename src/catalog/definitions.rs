//! The abbreviations each paper defines ("deep vein thrombosis (DVT)"), mined at ingest and
//! stored with the paper: what a query's abbreviations are expanded by first, where the
//! library's own usage decides between senses.

use rusqlite::params;

use super::*;

/// What was read of a document besides its text, stored with it in one transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading<'a> {
    /// Its record (JSON) and the version of the reader that read it.
    pub metadata: Option<(&'a str, i64)>,
    /// The abbreviations it defines.
    pub definitions: &'a [StoredDefinition<'a>],
    /// Its pages read by OCR: the page (1-based) and its words as JSON.
    pub ocr: &'a [(u32, String)],
}

/// One definition as stored: the short form as printed, the long form lower-cased, and how
/// many times the paper defines it so.
pub type StoredDefinition<'a> = (&'a str, &'a str, u32);

/// Replaces a document's definitions inside a transaction (or on the connection).
pub(super) fn write_definitions(
    conn: &Connection,
    id: DocumentId,
    definitions: &[StoredDefinition<'_>],
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM definitions WHERE document_id = ?1", [id])?;
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO definitions (document_id, short, long, count) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (short, long, count) in definitions {
        stmt.execute(params![id, short, long, count])?;
    }
    Ok(())
}

impl Catalog {
    /// Replaces the abbreviations a document defines.
    pub fn set_definitions(
        &mut self,
        id: DocumentId,
        definitions: &[StoredDefinition<'_>],
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        write_definitions(&tx, id, definitions).map_err(e)?;
        tx.commit().map_err(e)
    }

    /// The long forms the indexed papers define `short` as (case aside), with how many papers
    /// do, most first.
    pub fn defined(&self, short: &str) -> Result<Vec<(String, usize)>> {
        self.definitions_by(
            "SELECT d.long, COUNT(DISTINCT d.document_id) AS n FROM definitions d
               JOIN documents doc ON doc.id = d.document_id AND doc.status = 'indexed'
              WHERE d.short = ?1 COLLATE NOCASE
              GROUP BY d.long ORDER BY n DESC, d.long LIMIT 20",
            short,
        )
    }

    /// The short forms the indexed papers define `long` by, with how many papers do, most
    /// first.
    pub fn defined_as(&self, long: &str) -> Result<Vec<(String, usize)>> {
        self.definitions_by(
            "SELECT d.short, COUNT(DISTINCT d.document_id) AS n FROM definitions d
               JOIN documents doc ON doc.id = d.document_id AND doc.status = 'indexed'
              WHERE d.long = ?1
              GROUP BY d.short ORDER BY n DESC, d.short LIMIT 20",
            long,
        )
    }

    fn definitions_by(&self, sql: &str, key: &str) -> Result<Vec<(String, usize)>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([key], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}
