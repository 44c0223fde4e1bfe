//! Which model a library's vectors came from: the record kept in the catalog, the check that
//! refuses a model whose vectors could not sit beside them, and the choice of model folder.

use std::path::{Path, PathBuf};

use super::*;

/// Refuses a model whose vectors would not be comparable with the ones the library holds. The
/// model is recorded only when its first vector is written ([`Library::record_model`]), so that
/// opening a new library with one model does not bind it to that model.
pub(super) fn check_model(catalog: &Catalog, info: &ModelInfo) -> Result<()> {
    let Some(stored) = catalog.model(ModelSlot::InUse)? else {
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
    let record = Catalog::open(&path).ok()?.model(ModelSlot::InUse).ok()??;
    Some(record.name)
}

impl Library {
    /// Records the model in use as the one the library's vectors come from, where it is not
    /// recorded yet (or recorded without its weights' hash): called before vectors are written.
    pub(super) fn record_model(&mut self) -> Result<()> {
        let Some(info) = self.semantic.as_ref().map(|s| s.info().clone()) else {
            return Ok(());
        };
        let stored = self.catalog.model(ModelSlot::InUse)?;
        if stored
            .as_ref()
            .is_none_or(|r| r.weights.is_none() && info.weights.is_some())
        {
            self.catalog
                .set_model(ModelSlot::InUse, &ModelRecord::of(&info))?;
        }
        Ok(())
    }
}
