//! The model lifecycle: choosing the model a library searches with, installing a folder the
//! person picked, downloading one (the only network use, and only when asked: [`fetch`]),
//! listing what is installed, and checking each. Pinning a library to its model and switching
//! it are [`crate::Library`] methods (`library/models.rs`), which write the catalog's model
//! record under the library's write lock; the faces call those and never open the catalog.

use std::path::{Path, PathBuf};

use crate::embed::{
    model_file, BertEmbedder, Embedder, ModelFileError, ModelInfo, ModuleEntry, MAX_CONFIG_BYTES,
    MAX_WEIGHTS_BYTES, MODEL_FILES, REQUIRED_MODEL_FILES,
};
use crate::error::{Error, Result};

pub mod fetch;

/// A model installed in a library's `models/` folder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstalledModel {
    /// Its folder name, which is its name.
    pub name: String,
    /// Its folder.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub path: PathBuf,
    /// What it is, where it loads.
    pub info: Option<ModelInfo>,
    /// Why it does not load, where it does not.
    pub problem: Option<String>,
}

/// Checks a model folder by loading it as searches would and embedding a test sentence (a
/// folder that loads but cannot embed would fail every index run), and describes it.
pub fn inspect_model(dir: &Path) -> Result<ModelInfo> {
    let model = BertEmbedder::load(dir)?;
    let info = model.info().clone();
    let probe = "Serum ferritin predicts mortality in septic shock.";
    let vectors = model.embed(&[probe]).map_err(|e| Error::Model {
        path: dir.to_path_buf(),
        message: format!("it loads but cannot embed a sentence: {e}"),
    })?;
    if vectors.len() != 1
        || vectors[0].len() != info.dim
        || vectors[0].iter().any(|x| !x.is_finite())
    {
        return Err(Error::Model {
            path: dir.to_path_buf(),
            message: "it loads but gives no usable vector for a test sentence".into(),
        });
    }
    Ok(info)
}

/// Installs a model folder into `models` under its folder name: checked first (config,
/// tokenizer, weights, pooling, dimensions), copied beside, and renamed into place only when
/// complete, so a library never sees half a model.
pub fn import_model(src: &Path, models: &Path) -> Result<InstalledModel> {
    let info = inspect_model(src)?;
    let name = info.name.clone();
    let dest = models.join(&name);
    if dest.exists() {
        return Err(Error::ModelInstalled {
            name,
            models: models.to_path_buf(),
        });
    }
    std::fs::create_dir_all(models).map_err(|e| Error::io(models, e))?;
    let tmp = models.join(format!(".import-{name}-{}", std::process::id()));
    let copied = copy_dir(src, &tmp)
        .and_then(|()| std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e)));
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(InstalledModel {
        name,
        path: dest,
        info: Some(info),
        problem: None,
    })
}

/// Copies the files a model needs (and nothing else: no link is followed out of the folder into
/// a loop or a system file, no stray file comes along), each a regular file, then syncs.
fn copy_dir(src: &Path, dest: &Path) -> Result<()> {
    let mut files: Vec<String> = MODEL_FILES.iter().map(|f| f.to_string()).collect();
    files.push(format!("{}/config.json", pooling_folder(src)));
    for name in files {
        let from = match model_file(src, &name, MAX_WEIGHTS_BYTES) {
            Ok(from) => from,
            Err(ModelFileError::Missing(_)) => continue,
            Err(why) => {
                return Err(Error::Model {
                    path: src.to_path_buf(),
                    message: why.to_string(),
                })
            }
        };
        let to = dest.join(&name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
    }
    for dir in [dest.to_path_buf(), dest.join(pooling_folder(src))] {
        if let Ok(d) = std::fs::File::open(&dir) {
            d.sync_all().map_err(|e| Error::io(&dir, e))?;
        }
    }
    Ok(())
}

/// The pooling folder a model folder names in `modules.json` (`1_Pooling` by default); only
/// called on folders that passed [`BertEmbedder::load`], which refuses paths out of the folder.
fn pooling_folder(dir: &Path) -> String {
    model_file(dir, "modules.json", MAX_CONFIG_BYTES)
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| serde_json::from_str::<Vec<ModuleEntry>>(&s).ok())
        .and_then(|modules| {
            modules
                .into_iter()
                .find(|m| m.kind.ends_with("Pooling"))
                .map(|m| m.path)
        })
        .unwrap_or_else(|| "1_Pooling".to_string())
}

/// The models installed in `models`, by name, each loaded to check it.
pub fn list_models(models: &Path) -> Vec<InstalledModel> {
    let mut found: Vec<InstalledModel> = std::fs::read_dir(models)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match inspect_model(&path) {
                Ok(info) => InstalledModel {
                    name,
                    path,
                    info: Some(info),
                    problem: None,
                },
                Err(e) => InstalledModel {
                    name,
                    path,
                    info: None,
                    problem: Some(e.to_string()),
                },
            }
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// Where to look for a model when none is named: `MEDSHELF_MODEL`, then the library's `models/`
/// folder (a model folder itself, or the first model folder inside it, by name).
pub fn find_model(explicit: Option<&Path>, library: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = &crate::settings::get().model {
        return Some(p.clone());
    }
    let models = library.join("models");
    if is_model_dir(&models) {
        return Some(models);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&models)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_model_dir(p))
        .collect();
    dirs.sort();
    dirs.into_iter().next()
}

fn is_model_dir(dir: &Path) -> bool {
    REQUIRED_MODEL_FILES.iter().all(|f| dir.join(f).is_file())
}
