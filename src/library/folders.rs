//! The folders a library watches, and files leaving it: deleted or moved away on disk, or
//! taken out by the person.

use super::*;

impl Library {
    /// The folders this library was asked to index, for watching them later.
    pub fn folders(&self) -> Result<Vec<PathBuf>> {
        folders_of(&self.catalog)
    }

    pub(super) fn remember_folders(&mut self, paths: &[PathBuf]) -> Result<()> {
        let mut folders = self.folders()?;
        let before = folders.clone();
        for p in paths.iter().filter(|p| p.is_dir()) {
            let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
            if !folders.iter().any(|f| abs.starts_with(f)) {
                folders.retain(|f| !f.starts_with(&abs));
                folders.push(abs);
            }
        }
        // A parent folder replaces the folders inside it: compare the lists, not their lengths.
        if folders != before {
            self.catalog.set_folders(&folders)?;
        }
        Ok(())
    }

    /// Forgets files the catalog holds under the given folders that are no longer on disk: a
    /// paper deleted or moved away since the last run. Returns how many paths were forgotten.
    pub(super) fn forget_vanished(
        &mut self,
        paths: &[PathBuf],
        found: &[Result<PathBuf>],
    ) -> Result<usize> {
        let present: HashSet<&Path> = found
            .iter()
            .filter_map(|f| f.as_ref().ok().map(PathBuf::as_path))
            .collect();
        let mut gone = Vec::new();
        for folder in paths.iter().filter(|p| p.is_dir()) {
            let abs = std::path::absolute(folder).map_err(|e| Error::io(folder, e))?;
            for path in self.catalog.paths_under(&abs)? {
                if !present.contains(path.as_path()) && !path.exists() {
                    gone.push(path);
                }
            }
        }
        for path in &gone {
            self.forget_path(path)?;
        }
        Ok(gone.len())
    }

    pub(super) fn forget_path(&mut self, path: &Path) -> Result<()> {
        if let Some(orphan) = self.catalog.unlink_file(path)? {
            self.drop_document(orphan)?;
        }
        Ok(())
    }

    /// Takes files (or every file under a folder) out of the library. Returns the paths removed.
    pub fn remove(&mut self, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
        self.open_for_writing()?;
        let mut removed = Vec::new();
        for p in paths {
            let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
            for path in self.catalog.paths_under(&abs)? {
                self.forget_path(&path)?;
                removed.push(path);
            }
        }
        // Nothing known under the paths (the watcher saw an unrelated file go): no commit, so
        // that a no-op writes nothing.
        if !removed.is_empty() {
            self.commit()?;
        }
        Ok(removed)
    }
}

/// The folders recorded in a catalog.
pub(super) fn folders_of(catalog: &Catalog) -> Result<Vec<PathBuf>> {
    catalog.folders()
}
