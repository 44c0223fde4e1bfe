//! The vector index: nearest passages by cosine similarity, in usearch.
//!
//! It is saved atomically (written beside, synced, renamed over), so a crash mid-save leaves the
//! previous index whole. Below [`EXACT_BELOW`] vectors the search is exact: at that size a
//! brute-force scan is as fast as walking the graph and never misses a neighbour.

use std::path::{Path, PathBuf};

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::catalog::ChunkId;
use crate::error::{Error, Result};

/// Libraries with fewer vectors than this are searched exhaustively.
pub const EXACT_BELOW: usize = 20_000;

/// How the index stores each vector's components.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// 32-bit floats: exact, 1.5 kB a 384-dimension vector.
    F32,
    /// 16-bit brain floats (8 bits of mantissa): half the memory, cosines within about 1e-3 of
    /// f32, and converted by a shift, which the compiler vectorises.
    Bf16,
    /// IEEE half floats: half the memory and closer to f32 than bf16, but converted in scalar
    /// code in this build of usearch (without its SIMD kernels).
    F16,
    /// 8-bit integers (components of unit vectors times 127): a quarter of the memory.
    I8,
}

/// The storage of a new index: half of f32's memory, ranking unchanged (docs/PERFORMANCE.md).
pub const DEFAULT_STORAGE: Storage = Storage::Bf16;

impl Storage {
    fn scalar(self) -> ScalarKind {
        match self {
            Storage::F32 => ScalarKind::F32,
            Storage::Bf16 => ScalarKind::BF16,
            Storage::F16 => ScalarKind::F16,
            Storage::I8 => ScalarKind::I8,
        }
    }

    fn of(kind: ScalarKind) -> Option<Storage> {
        match kind {
            ScalarKind::F32 => Some(Storage::F32),
            ScalarKind::BF16 => Some(Storage::Bf16),
            ScalarKind::F16 => Some(Storage::F16),
            ScalarKind::I8 => Some(Storage::I8),
            _ => None,
        }
    }

    /// Its name as the CLI and JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::Bf16 => "bf16",
            Storage::F16 => "f16",
            Storage::I8 => "i8",
        }
    }
}

/// The vector index of a library.
pub struct VectorIndex {
    index: Index,
    path: PathBuf,
    dim: usize,
    dirty: bool,
}

impl VectorIndex {
    /// Opens the index at `path` for vectors of `dim` dimensions, creating an empty one (stored
    /// as `storage` says) where the file is absent. An existing file keeps the storage it was
    /// written with. A file with other dimensions (another model) is set aside, not mixed in.
    pub fn open(path: &Path, dim: usize, storage: Storage) -> Result<Self> {
        let err = |message: String| Error::Vector {
            path: path.to_path_buf(),
            message,
        };
        let path_str = path.to_string_lossy();
        let existing = path
            .is_file()
            .then(|| Index::metadata(&path_str).ok())
            .flatten()
            .filter(|m| m.dimensions as usize == dim)
            .and_then(|m| Storage::of(m.quantization));
        let options = |storage: Storage| IndexOptions {
            dimensions: dim,
            metric: MetricKind::Cos,
            quantization: storage.scalar(),
            connectivity: 0,
            expansion_add: 0,
            expansion_search: 0,
            multi: false,
        };
        let mut dirty = false;
        let index = match existing {
            Some(kind) => {
                let index = Index::new(&options(kind)).map_err(|e| err(e.to_string()))?;
                if index.load(&path_str).is_ok() {
                    index
                } else {
                    // Unreadable: the catalog's vectors rebuild it.
                    dirty = true;
                    Index::new(&options(storage)).map_err(|e| err(e.to_string()))?
                }
            }
            None => {
                // Absent, unreadable, or another model's: the catalog's vectors rebuild it.
                dirty = path.is_file();
                Index::new(&options(storage)).map_err(|e| err(e.to_string()))?
            }
        };
        Ok(VectorIndex {
            index,
            path: path.to_path_buf(),
            dim,
            dirty,
        })
    }

    /// How it stores vectors.
    pub fn storage(&self) -> Storage {
        Storage::of(self.index.scalar_kind()).unwrap_or(Storage::F32)
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Vector {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// How many vectors it holds.
    pub fn len(&self) -> usize {
        self.index.size()
    }

    /// Whether it holds no vectors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it holds a vector for this passage.
    pub fn contains(&self, chunk: ChunkId) -> bool {
        self.index.contains(chunk as u64)
    }

    /// Adds (or replaces) a passage's vector.
    pub fn add(&mut self, chunk: ChunkId, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dim {
            return Err(self.err(format!(
                "a vector of {} dimensions does not fit an index of {}",
                vector.len(),
                self.dim
            )));
        }
        let key = chunk as u64;
        if self.index.contains(key) {
            self.index.remove(key).map_err(|e| self.err(e))?;
        }
        if self.index.size() + 1 > self.index.capacity() {
            let capacity = (self.index.capacity() * 2).max(1024);
            self.index.reserve(capacity).map_err(|e| self.err(e))?;
        }
        self.index.add(key, vector).map_err(|e| self.err(e))?;
        self.dirty = true;
        Ok(())
    }

    /// Removes a passage's vector, where present.
    pub fn remove(&mut self, chunk: ChunkId) -> Result<()> {
        let removed = self.index.remove(chunk as u64).map_err(|e| self.err(e))?;
        self.dirty |= removed > 0;
        Ok(())
    }

    /// Removes every vector.
    pub fn clear(&mut self) -> Result<()> {
        self.index.reset().map_err(|e| self.err(e))?;
        self.dirty = true;
        Ok(())
    }

    /// The `limit` passages nearest to `query`, nearest first, with cosine similarity.
    pub fn search(&self, query: &[f32], limit: usize) -> Result<Vec<(ChunkId, f32)>> {
        if self.index.size() == 0 || limit == 0 {
            return Ok(Vec::new());
        }
        let matches = if self.index.size() < EXACT_BELOW {
            self.index.exact_search(query, limit)
        } else {
            self.index.search(query, limit)
        }
        .map_err(|e| self.err(e))?;
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .map(|(&k, &d)| (k as ChunkId, 1.0 - d))
            .collect())
    }

    /// Writes the index to disk where it changed: to a temporary file first, synced, then renamed
    /// over the old one, so a crash leaves either the old index or the new one.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let tmp = self.path.with_extension("usearch.tmp");
        self.index
            .save(&tmp.to_string_lossy())
            .map_err(|e| self.err(e))?;
        let file = std::fs::File::open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        if let Some(dir) = self.path.parent() {
            // The rename itself must reach the disk too.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_search_save_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let mut index = VectorIndex::open(&path, 3, Storage::F32).unwrap();
        index.add(7, &[1.0, 0.0, 0.0]).unwrap();
        index.add(8, &[0.0, 1.0, 0.0]).unwrap();
        index.add(8, &[0.0, 0.9, 0.1]).unwrap();
        assert_eq!(index.len(), 2);
        let hits = index.search(&[0.9, 0.1, 0.0], 2).unwrap();
        assert_eq!(hits[0].0, 7);
        assert!(hits[0].1 > 0.9);
        index.save().unwrap();
        let reopened = VectorIndex::open(&path, 3, Storage::I8).unwrap();
        assert_eq!(reopened.storage(), Storage::F32, "a file keeps its storage");
        assert_eq!(reopened.len(), 2);
        assert!(reopened.contains(8));
        // Another model's dimensions never mix with these vectors.
        let other = VectorIndex::open(&path, 4, Storage::F32).unwrap();
        assert!(other.is_empty());
    }
}
