//! Which model a library's vectors came from: the record kept in the catalog, the check that
//! refuses a model whose vectors could not sit beside them, and the choice of model folder.

use std::path::{Path, PathBuf};

use super::*;
use crate::models::fetch::{FetchProgress, FetchRequest, Provenance};
use crate::models::InstalledModel;

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

/// The model folder a library uses: `explicit`, else the settings' model (`MEDSHELF_MODEL`),
/// else the installed model its vectors came from (so that installing a second model changes
/// nothing until `model use`), else the first installed model by name.
pub fn model_for(dir: &Path, explicit: Option<&Path>) -> Option<PathBuf> {
    let named = explicit.or(crate::settings::get().model.as_deref());
    if named.is_none() {
        if let Some(name) = recorded_model(dir) {
            let path = dir.join("models").join(name);
            if path.join("config.json").is_file() {
                return Some(path);
            }
        }
    }
    crate::models::find_model(named, dir)
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

/// What became of a model just installed, offered to a library ([`Library::offer_model`]).
#[derive(Debug, Clone)]
pub enum Offered {
    /// The library searches with it from now on.
    InUse(ModelInfo),
    /// The library's vectors came from another model: it stays installed, for a switch
    /// ([`Library::switch_model`], which re-embeds every passage).
    Installed(ModelInfo),
}

impl Library {
    /// Opens the library in `dir` with the model it would choose ([`model_for`], else
    /// `fallback`: a model an installer bundles), and without a model where that one does not
    /// load or does not suit the library's vectors: keywords still work. Returns why the model
    /// is not in use, where one was found but could not be.
    pub fn open_or_keywords(
        dir: &Path,
        fallback: Option<PathBuf>,
    ) -> Result<(Library, Option<String>)> {
        let Some(path) = model_for(dir, None).or(fallback) else {
            return Ok((Library::open_with(dir, None)?, None));
        };
        // The model loads beside the opening of the indexes ([`Library::open_model`]); where
        // it fails, the library opens again without it.
        let loading = super::ModelArg::Load(path.clone());
        let mut model_failed = false;
        match Library::open_telling(dir, loading, &mut model_failed) {
            Ok(library) => Ok((library, None)),
            Err(e) if model_failed => {
                let why = format!(
                    "The model in {} could not be loaded ({e}). Searching by keywords only.",
                    path.display()
                );
                Ok((Library::open_with(dir, None)?, Some(why)))
            }
            // Whatever else stopped the library opening with the model (its vectors came from
            // another, its index cannot be read), keywords still work: keep the library, drop
            // the model, and say why.
            Err(e) => {
                let why = format!("{e}. Searching by keywords only.");
                Ok((Library::open_with(dir, None)?, Some(why)))
            }
        }
    }

    /// The library's `models/` folder, where installed models live.
    pub fn models_dir(&self) -> PathBuf {
        self.dir.join("models")
    }

    /// The models installed in this library, each loaded to check it.
    pub fn installed_models(&self) -> Vec<InstalledModel> {
        crate::models::list_models(&self.models_dir())
    }

    /// The name of the model this library's vectors came from, where it has any.
    pub fn recorded_model(&self) -> Result<Option<String>> {
        Ok(self.catalog.model(ModelSlot::InUse)?.map(|r| r.name))
    }

    /// Installs a model folder the person picked into this library's `models/` folder (checked
    /// first, copied whole or not at all).
    pub fn install_model(&self, src: &Path) -> Result<InstalledModel> {
        crate::models::import_model(src, &self.models_dir())
    }

    /// Downloads the model `req` names into this library's `models/` folder, verified; the first
    /// verified download of a repository is recorded in the catalog (under the write lock), and
    /// a later one whose files differ from it is refused.
    pub fn fetch_model(
        &mut self,
        req: &FetchRequest,
        progress: &dyn FetchProgress,
    ) -> Result<InstalledModel> {
        // The lock first: a library another process is writing is said before 130 MB are
        // fetched, not after (the record of the download is written under it).
        self.open_for_writing()?;
        let recorded: Option<Provenance> = self.catalog.download(&req.repo)?;
        let (installed, provenance) = crate::models::fetch::fetch_model(
            req,
            &self.models_dir(),
            recorded.as_ref(),
            progress,
        )?;
        if recorded.is_none() {
            self.catalog.set_download(&req.repo, &provenance)?;
        }
        Ok(installed)
    }

    /// What this library recorded of its first verified download from `repo`, if anything.
    pub fn recorded_download(&self, repo: &str) -> Result<Option<Provenance>> {
        self.catalog.download(repo)
    }

    /// Offers a model just installed (imported or downloaded): the library searches with it
    /// unless its vectors came from another model, in which case it stays installed for a
    /// switch. Where the model is refused outright (its vectors could never sit beside the
    /// library's), an imported copy is taken back out so that the next start does not try it
    /// again; a verified download is never deleted, and no other failure (a busy database, a
    /// full disk) says anything about the model.
    pub fn offer_model(&mut self, installed: &InstalledModel, downloaded: bool) -> Result<Offered> {
        if let Some(name) = self.recorded_model()? {
            if name != installed.name {
                let info = match &installed.info {
                    Some(info) => info.clone(),
                    None => crate::models::inspect_model(&installed.path)?,
                };
                return Ok(Offered::Installed(info));
            }
        }
        let embedder: Arc<dyn Embedder> = Arc::new(BertEmbedder::load(&installed.path)?);
        let info = embedder.info().clone();
        match self.use_model(embedder) {
            Ok(()) => Ok(Offered::InUse(info)),
            Err(e) => {
                if discard_after(&e, downloaded) {
                    let _ = std::fs::remove_dir_all(&installed.path);
                }
                Err(e)
            }
        }
    }

    /// Searches with `embedder` from now on, where the library's vectors came from it (or it
    /// has none yet): the vector index is rebuilt from the catalog's vectors, nothing is
    /// embedded. A model whose vectors could not sit beside the library's is refused
    /// ([`Error::ModelMismatch`]) and the library stays as it was.
    pub fn use_model(&mut self, embedder: Arc<dyn Embedder>) -> Result<()> {
        check_model(&self.catalog, embedder.info())?;
        self.open_for_writing()?;
        self.adopt(embedder)
    }
}

/// Whether a model copy just installed is taken back out after the library refused it: only
/// where its vectors could never sit beside the library's. A busy database or a full disk says
/// nothing about the model, and a verified download (130 MB fetched on purpose) is kept
/// whatever happens.
pub(super) fn discard_after(error: &Error, downloaded: bool) -> bool {
    !downloaded && matches!(error, Error::ModelMismatch(_))
}

#[cfg(test)]
mod tests {
    use super::discard_after;
    use crate::Error;

    /// A model folder was deleted whenever the library failed to open with it, a busy
    /// database included; only a real mismatch may refuse it, and never a download.
    #[test]
    fn only_a_mismatch_discards_an_imported_model() {
        let mismatch = Error::ModelMismatch("other weights".into());
        let locked = Error::Locked("/lib".into());
        let full = Error::Io {
            path: "/lib/catalog.sqlite".into(),
            error: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        assert!(discard_after(&mismatch, false));
        assert!(
            !discard_after(&mismatch, true),
            "a verified download is kept"
        );
        assert!(!discard_after(&locked, false));
        assert!(!discard_after(&full, false));
    }
}
