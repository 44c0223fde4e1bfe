//! The vector index: nearest passages by cosine similarity, in usearch.
//!
//! It is saved atomically (written beside, synced, renamed over), so a crash mid-save leaves the
//! previous index whole. Below [`EXACT_BELOW`] vectors the search is exact: at that size a
//! brute-force scan is as fast as walking the graph and never misses a neighbour.
//!
//! An opened file is memory-mapped and searched in place (usearch's view), not read into
//! memory: at a million passages reading the 0.9 GB file was most of opening a library, and a
//! search touches only the few thousand vectors it compares. The first change (a new paper, a
//! removal) copies the mapped bytes into memory, where usearch can change them.

use std::path::{Path, PathBuf};

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::catalog::ChunkId;
use crate::error::{Error, Result};

/// Libraries with fewer vectors than this are searched exhaustively.
pub const EXACT_BELOW: usize = 20_000;

/// How the index stores each vector's components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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

/// The storage of a new index: 8-bit integers, a quarter of f32's memory and half of bf16's.
/// A unit vector's components cut to whole 127ths (usearch truncates) rank as bf16's do on
/// SciFact (meaning-only nDCG@10 0.65183 against 0.65184) and on the page sets. At a million
/// passages the vector file is most of what the process maps, and this keeps it under 1.2 GB
/// (docs/PERFORMANCE.md, "Vectors in eight bits by default").
pub const DEFAULT_STORAGE: Storage = Storage::I8;

impl std::str::FromStr for Storage {
    type Err = String;

    /// `f32`, `bf16`, `f16` or `i8`, in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(Storage::F32),
            "bf16" => Ok(Storage::Bf16),
            "f16" => Ok(Storage::F16),
            "i8" => Ok(Storage::I8),
            other => Err(format!(
                "no vector storage named {other:?} (f32, bf16, f16 or i8)"
            )),
        }
    }
}

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

/// What a saved index file was: its size, modification time and BLAKE3 hash. The library
/// records it in the catalog at each save and checks it at open: a file whose size or time
/// moved is hashed, and one whose bytes differ is rebuilt from the catalog's vectors rather
/// than searched (a flipped byte in a vector changes rankings silently).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seal {
    /// Size in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// BLAKE3 of the content, hex.
    pub hash: String,
}

impl Seal {
    /// The seal of the file at `path` as it is now.
    pub fn of(path: &Path) -> Result<Seal> {
        let (len, mtime_ns) = crate::paths::stat(path)?;
        Ok(Seal {
            len,
            mtime_ns,
            hash: crate::paths::content_hash(path)?,
        })
    }

    /// Whether the file at `path` still is what this seal says: the same size and time, or,
    /// where those moved (a copy, a restore), the same bytes. Returns the file's seal as it is
    /// now where it matches.
    fn check(&self, path: &Path) -> Result<Option<Seal>> {
        let (len, mtime_ns) = crate::paths::stat(path)?;
        if (len, mtime_ns) == (self.len, self.mtime_ns) {
            return Ok(Some(self.clone()));
        }
        let now = Seal::of(path)?;
        Ok((now.hash == self.hash).then_some(now))
    }
}

/// The vector index of a library.
pub struct VectorIndex {
    /// The graph and vectors; a view of `mapped` where that is set. Declared before `mapped`:
    /// fields are dropped in order, so a view never outlives the bytes it points into.
    index: Index,
    /// The file's bytes, where `index` searches them in place. Saving writes another file and
    /// renames it over this one, so the mapped bytes never change under the view.
    mapped: Option<memmap2::Mmap>,
    /// The options the index was made with (its storage is the file's), for the copy into
    /// memory.
    options: IndexOptions,
    path: PathBuf,
    dim: usize,
    dirty: bool,
    /// The file as last loaded or saved, where it was.
    seal: Option<Seal>,
    /// Why the file on disk was not loaded, where it was not: it is rebuilt from the catalog.
    damaged: Option<String>,
}

impl VectorIndex {
    /// Opens the index at `path` for vectors of `dim` dimensions, creating an empty one (stored
    /// as `storage` says) where the file is absent. An existing file keeps the storage it was
    /// written with. A file with other dimensions (another model) is set aside, not mixed in; a
    /// file that is not what `seal` (recorded at its last save) says, or that does not load,
    /// comes up empty and [`VectorIndex::damaged`] says why: the catalog's vectors rebuild it.
    pub fn open(path: &Path, dim: usize, storage: Storage, seal: Option<&Seal>) -> Result<Self> {
        let err = |message: String| Error::Vector {
            path: path.to_path_buf(),
            message,
        };
        let options = |storage: Storage| IndexOptions {
            dimensions: dim,
            metric: MetricKind::Cos,
            quantization: storage.scalar(),
            connectivity: 0,
            expansion_add: 0,
            expansion_search: 0,
            multi: false,
        };
        let empty =
            |storage: Storage| Index::new(&options(storage)).map_err(|e| err(e.to_string()));
        let mut index = VectorIndex {
            index: empty(storage)?,
            mapped: None,
            options: options(storage),
            path: path.to_path_buf(),
            dim,
            dirty: false,
            seal: None,
            damaged: None,
        };
        if !path.is_file() {
            return Ok(index);
        }
        // A file saved before seals were recorded is loaded as it is (its seal is recorded at
        // the next save).
        let now = match seal.map(|seal| seal.check(path)).transpose()? {
            Some(None) => {
                index.damaged = Some("its content is not what was saved (damaged on disk?)".into());
                index.dirty = true;
                return Ok(index);
            }
            Some(now) => now,
            None => None,
        };
        match map(path).and_then(|mapped| {
            let meta = Index::metadata_from_buffer(&mapped).map_err(|e| e.to_string())?;
            if meta.dimensions as usize != dim {
                return Ok(None);
            }
            let Some(kind) = Storage::of(meta.quantization) else {
                return Err(format!("an unknown storage ({:?})", meta.quantization));
            };
            let loaded = Index::new(&options(kind)).map_err(|e| e.to_string())?;
            // SAFETY: the view points into `mapped`, which the index's struct keeps and drops
            // after it (field order), and whose file is only ever replaced by a rename, never
            // written in place.
            unsafe { loaded.view_from_buffer(&mapped) }.map_err(|e| e.to_string())?;
            Ok(Some((loaded, mapped, kind)))
        }) {
            Ok(Some((loaded, mapped, kind))) => {
                index.index = loaded;
                index.mapped = Some(mapped);
                index.options = options(kind);
                index.seal = now;
                // Windows cannot rename over a mapped file, as every save does: there the
                // index is read into memory at once, as before.
                if cfg!(not(unix)) {
                    index.writable()?;
                }
            }
            // Another model's vectors: replaced at the next save, never mixed in.
            Ok(None) => index.dirty = true,
            Err(why) => {
                index.damaged = Some(format!("it does not load: {why}"));
                index.dirty = true;
            }
        }
        Ok(index)
    }

    /// Makes the index changeable: a view of the mapped file is copied into memory (the same
    /// bytes, so the same graph and vectors), and the mapping let go.
    fn writable(&mut self) -> Result<()> {
        let Some(mapped) = &self.mapped else {
            return Ok(());
        };
        let owned = Index::new(&self.options).map_err(|e| self.err(e))?;
        owned.load_from_buffer(mapped).map_err(|e| self.err(e))?;
        // The view goes first, then the bytes it pointed into.
        self.index = owned;
        self.mapped = None;
        Ok(())
    }

    /// Whether it searches the file in place (nothing changed since it was opened).
    pub fn is_mapped(&self) -> bool {
        self.mapped.is_some()
    }

    /// The dimensions of its vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the file on disk could not be used, where it could not (it is rebuilt).
    pub fn damaged(&self) -> Option<&str> {
        self.damaged.as_deref()
    }

    /// The file as last loaded or saved, for the catalog to record.
    pub fn seal(&self) -> Option<&Seal> {
        self.seal.as_ref()
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
        self.writable()?;
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
        if !self.contains(chunk) {
            return Ok(());
        }
        self.writable()?;
        let removed = self.index.remove(chunk as u64).map_err(|e| self.err(e))?;
        self.dirty |= removed > 0;
        Ok(())
    }

    /// Removes every vector.
    pub fn clear(&mut self) -> Result<()> {
        // Nothing of the file is kept: a new, empty index rather than a copy of it.
        if self.mapped.is_some() {
            self.index = Index::new(&self.options).map_err(|e| self.err(e))?;
            self.mapped = None;
        }
        self.index.reset().map_err(|e| self.err(e))?;
        self.dirty = true;
        Ok(())
    }

    /// The `limit` passages nearest to `query`, nearest first, with cosine similarity. A
    /// passage whose similarity is not a number (a damaged vector) is never ranked.
    pub fn search(&self, query: &[f32], limit: usize) -> Result<Vec<(ChunkId, f32)>> {
        // usearch sizes its answer by the limit: never more than the index holds.
        let limit = limit.min(self.index.size());
        if limit == 0 {
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
            .filter(|(_, score)| score.is_finite())
            .collect())
    }

    /// [`VectorIndex::search`] among the passages `allowed` only (a filtered search): the
    /// nearest `limit` of them, however far down the whole ranking they are.
    pub fn search_within(
        &self,
        query: &[f32],
        limit: usize,
        allowed: &std::collections::HashSet<ChunkId>,
    ) -> Result<Vec<(ChunkId, f32)>> {
        let limit = limit.min(allowed.len()).min(self.index.size());
        if limit == 0 {
            return Ok(Vec::new());
        }
        let matches = if self.index.size() < EXACT_BELOW {
            // Exact search takes no filter: rank everything (a small index), keep the allowed.
            self.index.exact_search(query, self.index.size())
        } else {
            self.index
                .filtered_search(query, limit, |key| allowed.contains(&(key as ChunkId)))
        }
        .map_err(|e| self.err(e))?;
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .map(|(&k, &d)| (k as ChunkId, 1.0 - d))
            .filter(|(id, score)| score.is_finite() && allowed.contains(id))
            .take(limit)
            .collect())
    }

    /// Writes the index to disk where it changed: to a temporary file first, synced, then renamed
    /// over the old one, so a crash leaves either the old index or the new one. The new file's
    /// [`Seal`] is then what [`VectorIndex::seal`] gives.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let tmp = self.path.with_extension("usearch.tmp");
        usearch_file(&tmp, |name| {
            self.index.save(name).map_err(|e| e.to_string())
        })
        .map_err(|e| self.err(e))?;
        let file = std::fs::File::open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        let seal = Seal::of(&tmp)?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        if let Some(dir) = self.path.parent() {
            // The rename itself must reach the disk too.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.seal = Some(seal);
        self.damaged = None;
        self.dirty = false;
        Ok(())
    }
}

/// The file at `path`, memory-mapped for reading.
fn map(path: &Path) -> std::result::Result<memmap2::Mmap, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: the library replaces its vector file only by renaming another over it, so these
    // bytes are not changed while mapped (another program truncating it would be a fault, as
    // for tantivy's own mapped files).
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| e.to_string())
}

/// Runs a usearch file operation, which takes the path as UTF-8 text. A path that is not UTF-8
/// (a library in a folder named in Latin-1) is reached through the process's own descriptor of
/// the file, `/proc/self/fd/N` (or `/dev/fd/N`), whose name is plain ASCII.
fn usearch_file<T>(
    path: &Path,
    f: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    if let Some(name) = path.to_str() {
        return f(name);
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| e.to_string())?;
        let dir = if cfg!(target_os = "linux") {
            "/proc/self/fd"
        } else {
            "/dev/fd"
        };
        let result = f(&format!("{dir}/{}", file.as_raw_fd()));
        drop(file);
        result
    }
    #[cfg(not(unix))]
    Err(format!("{} is not a UTF-8 path", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_search_save_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let mut index = VectorIndex::open(&path, 3, Storage::F32, None).unwrap();
        index.add(7, &[1.0, 0.0, 0.0]).unwrap();
        index.add(8, &[0.0, 1.0, 0.0]).unwrap();
        index.add(8, &[0.0, 0.9, 0.1]).unwrap();
        assert_eq!(index.len(), 2);
        let hits = index.search(&[0.9, 0.1, 0.0], 2).unwrap();
        assert_eq!(hits[0].0, 7);
        assert!(hits[0].1 > 0.9);
        index.save().unwrap();
        let seal = index.seal().cloned().unwrap();
        let reopened = VectorIndex::open(&path, 3, Storage::I8, Some(&seal)).unwrap();
        assert_eq!(reopened.storage(), Storage::F32, "a file keeps its storage");
        assert_eq!(reopened.len(), 2);
        assert!(reopened.contains(8));
        // Another model's dimensions never mix with these vectors.
        let other = VectorIndex::open(&path, 4, Storage::F32, Some(&seal)).unwrap();
        assert!(other.is_empty());
        // A flipped byte is caught by the seal: the index comes up empty, to be rebuilt.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let flipped = VectorIndex::open(&path, 3, Storage::F32, Some(&seal)).unwrap();
        assert!(flipped.is_empty());
        assert!(flipped.damaged().is_some());
    }

    #[test]
    fn an_opened_file_is_searched_in_place_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let mut index = VectorIndex::open(&path, 3, Storage::Bf16, None).unwrap();
        for (id, v) in [
            (1, [1.0, 0.0, 0.0]),
            (2, [0.0, 1.0, 0.0]),
            (3, [0.0, 0.0, 1.0]),
        ] {
            index.add(id, &v).unwrap();
        }
        assert!(!index.is_mapped(), "a new index is in memory");
        index.save().unwrap();
        let seal = index.seal().cloned().unwrap();

        let mut viewed = VectorIndex::open(&path, 3, Storage::F32, Some(&seal)).unwrap();
        assert!(viewed.is_mapped());
        assert_eq!(viewed.storage(), Storage::Bf16);
        assert_eq!(viewed.len(), 3);
        assert_eq!(viewed.search(&[0.1, 0.9, 0.0], 1).unwrap()[0].0, 2);

        // Another writer replaces the file (as a save does: beside, then renamed over): the
        // view goes on searching what it mapped.
        index.add(4, &[0.7, 0.7, 0.0]).unwrap();
        index.save().unwrap();
        assert_eq!(viewed.len(), 3);
        assert_eq!(viewed.search(&[0.0, 0.0, 1.0], 1).unwrap()[0].0, 3);

        // Removing what is absent changes nothing and keeps the view.
        viewed.remove(99).unwrap();
        assert!(viewed.is_mapped());
        // A change copies the mapped index into memory, every vector kept.
        viewed.add(5, &[0.0, 0.6, 0.8]).unwrap();
        assert!(!viewed.is_mapped());
        assert_eq!(viewed.len(), 4);
        assert_eq!(viewed.search(&[1.0, 0.0, 0.0], 1).unwrap()[0].0, 1);
        viewed.remove(1).unwrap();
        assert_eq!(viewed.len(), 3);
        viewed.save().unwrap();
        let seal = viewed.seal().cloned().unwrap();
        let again = VectorIndex::open(&path, 3, Storage::F32, Some(&seal)).unwrap();
        assert!(again.is_mapped());
        let mut ids: Vec<ChunkId> = again
            .search(&[0.5, 0.5, 0.5], 10)
            .unwrap()
            .iter()
            .map(|h| h.0)
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![2, 3, 5]);

        // Clearing a view needs no copy of it.
        let mut cleared = VectorIndex::open(&path, 3, Storage::F32, Some(&seal)).unwrap();
        cleared.clear().unwrap();
        assert!(cleared.is_empty() && !cleared.is_mapped());
    }
}
