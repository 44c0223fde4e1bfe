//! The catalog's records about the library itself, each behind a typed accessor: which model
//! its vectors came from (and the one it is switching to), what its indexes' files were when
//! last saved in step, and the hashes of a model download it verified. The `meta` table below
//! is a key/value store; no caller names a key.

use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::embed::ModelInfo;

/// Whether the indexes are saved in step with the catalog ("0") or may lag it; the catalog's
/// triggers set it on every change to the passages (schema 3).
const INDEXES_DIRTY: &str = "indexes_dirty";
/// What was known of the indexes' files when they were last saved in step.
const INDEX_STATE: &str = "index_state";

/// Which of the two model records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSlot {
    /// The model the library's vectors came from.
    InUse,
    /// The model a switch under way re-embeds for ([`crate::Library::switch_model`]).
    Next,
}

impl ModelSlot {
    pub(super) fn key(self) -> &'static str {
        match self {
            ModelSlot::InUse => "model",
            ModelSlot::Next => "model_next",
        }
    }
}

/// How a library records a model its vectors came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelRecord {
    /// The model's folder name when it was recorded.
    pub name: String,
    /// Its vectors' dimensions.
    pub dim: usize,
    /// How it pools token vectors.
    pub pooling: crate::Pooling,
    /// BLAKE3 of the weights; absent in records made before MedShelf hashed weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
}

impl ModelRecord {
    /// The record of a loaded model.
    pub fn of(info: &ModelInfo) -> Self {
        ModelRecord {
            name: info.name.clone(),
            dim: info.dim,
            pooling: info.pooling,
            weights: info.weights.clone(),
        }
    }

    /// Whether vectors from `info` can sit beside vectors from this model: the same weights
    /// (whatever either folder is called), or, where a record predates weight hashes, the same
    /// name and dimensions.
    pub fn matches(&self, info: &ModelInfo) -> bool {
        self.dim == info.dim
            && match (&self.weights, &info.weights) {
                (Some(a), Some(b)) => a == b,
                _ => self.name == info.name,
            }
    }

    fn json(&self) -> String {
        serde_json::to_string(self).expect("a model record serialises")
    }
}

impl Catalog {
    /// The model recorded in `slot`, where there is one. A record that does not parse is none:
    /// it was written by no MedShelf.
    pub fn model(&self, slot: ModelSlot) -> Result<Option<ModelRecord>> {
        self.json(slot.key())
    }

    /// Records `model` in `slot`.
    pub fn set_model(&self, slot: ModelSlot, model: &ModelRecord) -> Result<()> {
        self.set_meta(slot.key(), &model.json())
    }

    /// Forgets the record in `slot`.
    pub fn clear_model(&self, slot: ModelSlot) -> Result<()> {
        self.delete_meta(slot.key())
    }

    /// Whether the indexes may lag the catalog (anything but a mark that they were saved in
    /// step, and nothing changed since).
    pub fn indexes_dirty(&self) -> Result<bool> {
        Ok(self.meta(INDEXES_DIRTY)?.as_deref() != Some("0"))
    }

    /// What was recorded of the indexes' files when they were last saved in step; the default
    /// where nothing (or nothing readable) was.
    pub fn index_state<T: DeserializeOwned + Default>(&self) -> Result<T> {
        Ok(self.json(INDEX_STATE)?.unwrap_or_default())
    }

    /// Records that both indexes were saved holding `state` and are in step with the catalog
    /// as of now, in one transaction.
    pub fn mark_indexed<T: Serialize>(&mut self, state: &T) -> Result<()> {
        let state = serde_json::to_string(state).expect("the index state serialises");
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        for (key, value) in [(INDEX_STATE, state.as_str()), (INDEXES_DIRTY, "0")] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// What the library recorded of its first verified download from `repo`, if anything.
    pub fn download<T: DeserializeOwned>(&self, repo: &str) -> Result<Option<T>> {
        self.json(&download_key(repo))
    }

    /// Records a verified download from `repo`.
    pub fn set_download<T: Serialize>(&self, repo: &str, record: &T) -> Result<()> {
        let json = serde_json::to_string(record).expect("a download record serialises");
        self.set_meta(&download_key(repo), &json)
    }

    fn json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        Ok(self
            .meta(key)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Reads a record.
    pub(super) fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Removes a record.
    fn delete_meta(&self, key: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Stores a record.
    pub(super) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// Where a repository's first verified download is recorded.
fn download_key(repo: &str) -> String {
    format!("model_fetch:{repo}")
}
