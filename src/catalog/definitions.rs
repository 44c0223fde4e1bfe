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
        // An upsert, not a replace: a replace's delete would not reach the counts' trigger.
        "INSERT INTO definitions (document_id, short, long, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (document_id, short, long) DO UPDATE SET count = excluded.count",
    )?;
    for (short, long, count) in definitions {
        stmt.execute(params![id, short, long, count])?;
    }
    Ok(())
}

/// The catalog's record of which miner of abbreviations mined its papers' definitions.
const MINER_KEY: &str = "definitions_miner";

impl Catalog {
    /// The version of the miner that mined the indexed papers' definitions (1, the first, in
    /// a library that never recorded one).
    pub fn definitions_miner(&self) -> Result<i64> {
        Ok(self
            .meta(MINER_KEY)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(1))
    }

    /// The indexed documents with their stored pages' text, in page order, one document at a
    /// time to `each` (what their definitions are mined from again).
    pub fn for_each_indexed_text(
        &self,
        each: &mut dyn FnMut(DocumentId, Vec<String>),
    ) -> Result<()> {
        let ids: Vec<DocumentId> = self
            .conn
            .prepare("SELECT id FROM documents WHERE status = 'indexed' ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        let mut pages = self
            .conn
            .prepare_cached("SELECT text FROM pages WHERE document_id = ?1 ORDER BY page")
            .map_err(|e| self.err(e))?;
        for id in ids {
            let texts: Vec<String> = pages
                .query_map([id], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?;
            each(id, texts);
        }
        Ok(())
    }

    /// Replaces the definitions of every document given, in one transaction, and records
    /// `miner` as the version that mined them.
    pub fn replace_definitions(
        &mut self,
        mined: &[(DocumentId, Vec<StoredDefinition<'_>>)],
        miner: i64,
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        for (id, definitions) in mined {
            write_definitions(&tx, *id, definitions).map_err(e)?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![MINER_KEY, miner.to_string()],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

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
    /// do, most first. (A paper that defines two spellings of one short form the same way,
    /// "DVT" and "Dvt", counts twice.)
    pub fn defined(&self, short: &str) -> Result<Vec<(String, usize)>> {
        self.definitions_by(
            "SELECT long, SUM(papers) AS n FROM definition_counts
              WHERE short = ?1 COLLATE NOCASE
              GROUP BY long ORDER BY n DESC, long LIMIT 20",
            short,
        )
    }

    /// The short forms the indexed papers define `long` by, with how many papers do, most
    /// first.
    pub fn defined_as(&self, long: &str) -> Result<Vec<(String, usize)>> {
        self.definitions_by(
            "SELECT short, papers FROM definition_counts WHERE long = ?1
              ORDER BY papers DESC, short LIMIT 20",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the counts table must say: the indexed papers that define each pair, counted
    /// from the definitions themselves.
    fn counted(catalog: &Catalog) -> Vec<(String, String, i64)> {
        let mut stmt = catalog
            .conn
            .prepare(
                "SELECT d.long, d.short, COUNT(DISTINCT d.document_id) FROM definitions d
                   JOIN documents doc ON doc.id = d.document_id AND doc.status = 'indexed'
                  GROUP BY d.long, d.short ORDER BY d.long, d.short",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn kept(catalog: &Catalog) -> Vec<(String, String, i64)> {
        let mut stmt = catalog
            .conn
            .prepare("SELECT long, short, papers FROM definition_counts ORDER BY long, short")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn insert(
        catalog: &mut Catalog,
        hash: &str,
        definitions: &[StoredDefinition<'_>],
    ) -> DocumentId {
        let reading = Reading {
            definitions,
            ..Default::default()
        };
        let pages = vec!["text".to_string()];
        catalog
            .insert_indexed(hash, 1, None, &pages, reading, &[])
            .unwrap()
            .0
    }

    #[test]
    fn the_counts_follow_papers_as_they_come_change_fail_and_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();
        let dvt = ("DVT", "deep vein thrombosis", 2);
        let mi = ("MI", "myocardial infarction", 1);
        let mi_mitral = ("MI", "mitral insufficiency", 1);
        let a = insert(&mut catalog, "a", &[dvt, mi]);
        let b = insert(&mut catalog, "b", &[dvt, mi_mitral]);
        let c = insert(
            &mut catalog,
            "c",
            &[dvt, ("Dvt", "deep vein thrombosis", 1)],
        );
        let check = |catalog: &Catalog, step: &str| {
            assert_eq!(kept(catalog), counted(catalog), "after {step}");
        };
        check(&catalog, "three papers");
        assert_eq!(
            catalog.defined("dvt").unwrap(),
            vec![("deep vein thrombosis".to_string(), 4)]
        );
        assert_eq!(
            catalog.defined("MI").unwrap(),
            vec![
                ("mitral insufficiency".to_string(), 1),
                ("myocardial infarction".to_string(), 1)
            ]
        );
        assert_eq!(
            catalog.defined_as("deep vein thrombosis").unwrap(),
            vec![("DVT".to_string(), 3), ("Dvt".to_string(), 1)]
        );
        // Read again: its definitions replaced.
        catalog.set_definitions(a, &[mi, mi]).unwrap();
        check(&catalog, "definitions replaced (one twice)");
        // The same content read again, with other definitions.
        insert(&mut catalog, "b", &[mi]);
        check(&catalog, "a paper indexed again");
        // A paper that fails on a retry no longer counts; indexed again, it does.
        catalog.insert_failed("c", 1, "broken", "damaged").unwrap();
        check(&catalog, "a paper failed");
        assert_eq!(catalog.defined_as("deep vein thrombosis").unwrap(), vec![]);
        insert(&mut catalog, "c", &[dvt]);
        check(&catalog, "indexed again after failing");
        catalog.delete_document(b).unwrap();
        check(&catalog, "a paper removed");
        catalog.delete_document(c).unwrap();
        catalog.delete_document(a).unwrap();
        check(&catalog, "every paper removed");
        assert!(kept(&catalog).is_empty());
    }
}
