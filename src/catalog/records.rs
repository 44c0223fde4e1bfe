//! Each paper's record (title, authors, year...) as read from the PDF, stored as the reader's
//! JSON with the reader's version, and the user's corrections to it, keyed by content so that
//! they outlive any reading of the file. The catalog keeps both as given; the library lays the
//! corrections over the record.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};

use super::*;

/// What the catalog holds of a paper's record.
#[derive(Debug, Clone, Default)]
pub struct StoredRecord {
    /// The content hash the corrections are keyed by.
    pub hash: String,
    /// The title kept since the first schema (what papers indexed before records had).
    pub title: Option<String>,
    /// The record as the reader wrote it (JSON), where one was read.
    pub metadata: Option<String>,
    /// The user's corrections, field and value, by field name.
    pub edits: Vec<(String, String)>,
    /// The stored text of the first page (papers without a record read their year from it).
    pub first_page: Option<String>,
    /// The Zotero items that hold the paper (their stored JSON), the paper's own first.
    pub zotero: Vec<String>,
}

impl Catalog {
    /// Replaces a document's record as read from its file.
    pub fn set_metadata(&self, id: DocumentId, json: Option<&str>, reader: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE documents SET metadata = ?2, metadata_reader = ?3 WHERE id = ?1",
                params![id, json, reader],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// A document's record, corrections and fallbacks; `None` where there is no such document.
    pub fn record(&self, id: DocumentId) -> Result<Option<StoredRecord>> {
        let row = self
            .conn
            .prepare_cached("SELECT hash, title, metadata FROM documents WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row([id], |r| {
                    Ok(StoredRecord {
                        hash: r.get(0)?,
                        title: r.get(1)?,
                        metadata: r.get(2)?,
                        ..StoredRecord::default()
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        let Some(mut row) = row else {
            return Ok(None);
        };
        row.edits = self.edits(&row.hash)?;
        row.zotero = self.zotero_items_of(id)?;
        if row.metadata.is_none() {
            row.first_page = self.first_page(id)?;
        }
        Ok(Some(row))
    }

    /// The corrections made to the content `hash`, by field name.
    pub fn edits(&self, hash: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT field, value FROM metadata_edits WHERE hash = ?1 ORDER BY field",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Every correction, by content hash (for a listing of the whole library).
    pub fn all_edits(&self) -> Result<HashMap<String, Vec<(String, String)>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash, field, value FROM metadata_edits ORDER BY hash, field")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        let mut all: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for row in rows {
            let (hash, field, value) = row.map_err(|e| self.err(e))?;
            all.entry(hash).or_default().push((field, value));
        }
        Ok(all)
    }

    /// The passages of these documents (a filtered search's vector side).
    pub fn passages_of_documents(
        &self,
        documents: &[DocumentId],
    ) -> Result<std::collections::HashSet<ChunkId>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM chunks WHERE document_id = ?1")
            .map_err(|e| self.err(e))?;
        let mut ids = std::collections::HashSet::new();
        for &doc in documents {
            let rows = stmt
                .query_map([doc], |r| r.get::<_, ChunkId>(0))
                .map_err(|e| self.err(e))?;
            for id in rows {
                ids.insert(id.map_err(|e| self.err(e))?);
            }
        }
        Ok(ids)
    }

    /// The indexed documents registered under any of these trial ids, with the id, by their
    /// records as shown (a correction of `trial_ids` over the reading). A scan of the records,
    /// run only for results that name a trial.
    pub fn documents_on_trials(&self, ids: &[String]) -> Result<Vec<(String, DocumentId)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // A correction is stored as "A; B" of checked ids (letters, digits, '-' and '/'), so
        // it reads as a JSON list once its separators are quoted.
        let mut stmt = self
            .conn
            .prepare_cached(
                "WITH shown(id, trials) AS (
                     SELECT d.id, COALESCE(
                         (SELECT '[\"' || replace(e.value, '; ', '\",\"') || '\"]'
                            FROM metadata_edits e
                           WHERE e.hash = d.hash AND e.field = 'trial_ids' AND e.value != ''),
                         (SELECT '[]' FROM metadata_edits e
                           WHERE e.hash = d.hash AND e.field = 'trial_ids'),
                         CASE WHEN json_valid(d.metadata)
                              THEN json_extract(d.metadata, '$.trial_ids') END)
                     FROM documents d
                     WHERE d.status = 'indexed')
                 SELECT j.value, shown.id FROM shown, json_each(shown.trials) j
                 WHERE shown.trials IS NOT NULL AND json_valid(shown.trials)
                   AND j.value IN (SELECT value FROM json_each(?1))
                 ORDER BY shown.id",
            )
            .map_err(|e| self.err(e))?;
        let wanted = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let rows = stmt
            .query_map([wanted], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Records corrections to the content `hash` (`Some`: the field's new value; `None`: the
    /// correction taken back), all or none.
    pub fn set_edits(&mut self, hash: &str, edits: &[(&str, Option<&str>)]) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        for (field, value) in edits {
            match value {
                Some(value) => tx.execute(
                    "INSERT INTO metadata_edits (hash, field, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT(hash, field) DO UPDATE SET value = excluded.value",
                    params![hash, field, value],
                ),
                None => tx.execute(
                    "DELETE FROM metadata_edits WHERE hash = ?1 AND field = ?2",
                    params![hash, field],
                ),
            }
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_outlive_a_new_reading_of_the_same_content() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let (id, _) = cat
            .insert_indexed("h", 3, Some("T"), &["p".into()], Reading::default(), &[])
            .unwrap();
        cat.set_edits("h", &[("year", Some("2020")), ("title", Some("Mine"))])
            .unwrap();
        cat.set_metadata(id, Some(r#"{"title":"Read"}"#), 1)
            .unwrap();
        // The paper read again: its record is replaced, the corrections are not.
        let (again, _) = cat
            .insert_indexed(
                "h",
                3,
                Some("T"),
                &["p".into()],
                Reading {
                    metadata: Some((r#"{}"#, 1)),
                    definitions: &[],
                    ocr: &[],
                },
                &[],
            )
            .unwrap();
        assert_eq!(again, id);
        let rec = cat.record(id).unwrap().unwrap();
        assert_eq!(rec.metadata.as_deref(), Some("{}"));
        assert_eq!(
            rec.edits,
            [
                ("title".into(), "Mine".into()),
                ("year".into(), "2020".into())
            ]
        );
        cat.set_edits("h", &[("title", None)]).unwrap();
        assert_eq!(cat.edits("h").unwrap().len(), 1);
        assert_eq!(cat.all_edits().unwrap()["h"].len(), 1);
        assert!(cat.record(id + 100).unwrap().is_none());
    }
}
