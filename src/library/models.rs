//! Which model a library's vectors came from: the record kept in the catalog, the check that
//! refuses a model whose vectors could not sit beside them, and the choice of model folder.

use std::path::{Path, PathBuf};

use super::*;

/// How a library records the model its vectors came from (catalog meta `model`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct ModelRecord {
    /// The model's folder name when it was recorded.
    pub(super) name: String,
    /// Its vectors' dimensions.
    pub(super) dim: usize,
    /// How it pools token vectors.
    pub(super) pooling: crate::Pooling,
    /// BLAKE3 of the weights; absent in records made before MedShelf hashed weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) weights: Option<String>,
}

impl ModelRecord {
    pub(super) fn of(info: &ModelInfo) -> Self {
        ModelRecord {
            name: info.name.clone(),
            dim: info.dim,
            pooling: info.pooling,
            weights: info.weights.clone(),
        }
    }

    pub(super) fn read(catalog: &Catalog, key: &str) -> Result<Option<ModelRecord>> {
        Ok(catalog
            .meta(key)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Whether vectors from `info` can sit beside vectors from this model: the same weights
    /// (whatever either folder is called), or, where a record predates weight hashes, the same
    /// name and dimensions.
    pub(super) fn matches(&self, info: &ModelInfo) -> bool {
        self.dim == info.dim
            && match (&self.weights, &info.weights) {
                (Some(a), Some(b)) => a == b,
                _ => self.name == info.name,
            }
    }
}

/// Refuses a model whose vectors would not be comparable with the ones the library holds. The
/// model is recorded only when its first vector is written ([`Library::record_model`]), so that
/// opening a new library with one model does not bind it to that model.
pub(super) fn check_model(catalog: &Catalog, info: &ModelInfo) -> Result<()> {
    let Some(stored) = ModelRecord::read(catalog, "model")? else {
        return Ok(());
    };
    if stored.matches(info) {
        return Ok(());
    }
    let (name, dim) = (&stored.name, stored.dim);
    let what = if stored.name == info.name && stored.dim == info.dim {
        format!("by a model named {name} with other weights than the {name} given")
    } else {
        format!(
            "by the model {name} ({dim} dimensions), not by {} ({} dimensions)",
            info.name, info.dim
        )
    };
    Err(Error::ModelMismatch(format!(
        "this library's vectors were made {what}; point --model at the model it was indexed \
         with, or switch the library with `medshelf model use {}` (it re-embeds every \
         passage), or use another library folder",
        info.name
    )))
}

/// How a library records a model.
pub(super) fn model_json(info: &ModelInfo) -> String {
    serde_json::to_string(&ModelRecord::of(info)).expect("a model record serialises")
}

/// How [`Library::switch_model`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Switch {
    /// The library searches with the new model.
    Done,
    /// Cancelled part-way: the old model is still in use; calling again resumes.
    Interrupted,
}

/// The model folder a library uses: `explicit`, else `MEDSHELF_MODEL`, else the installed model
/// its vectors came from (so that installing a second model changes nothing until `model use`),
/// else the first installed model by name.
pub fn model_for(dir: &Path, explicit: Option<&Path>) -> Option<PathBuf> {
    let env = std::env::var_os("MEDSHELF_MODEL").filter(|v| !v.is_empty());
    if explicit.is_none() && env.is_none() {
        if let Some(name) = recorded_model(dir) {
            let path = dir.join("models").join(name);
            if path.join("config.json").is_file() {
                return Some(path);
            }
        }
    }
    find_model(explicit, dir)
}

/// The name of the model a library's vectors came from, where it has any.
pub fn recorded_model(dir: &Path) -> Option<String> {
    let path = dir.join("catalog.sqlite");
    if !path.is_file() {
        return None;
    }
    let json = Catalog::open(&path).ok()?.meta("model").ok()??;
    let value: serde_json::Value = serde_json::from_str(&json).ok()?;
    value["name"].as_str().map(str::to_string)
}

impl Library {
    /// Records the model in use as the one the library's vectors come from, where it is not
    /// recorded yet (or recorded without its weights' hash): called before vectors are written.
    pub(super) fn record_model(&mut self) -> Result<()> {
        let Some(info) = self.semantic.as_ref().map(|s| s.info().clone()) else {
            return Ok(());
        };
        let stored = ModelRecord::read(&self.catalog, "model")?;
        if stored
            .as_ref()
            .is_none_or(|r| r.weights.is_none() && info.weights.is_some())
        {
            self.catalog.set_meta("model", &model_json(&info))?;
        }
        Ok(())
    }
}
