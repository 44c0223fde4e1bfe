//! The library: a folder holding the catalog and both indexes, and the one place that changes
//! them together.
//!
//! Writes follow one order: the catalog first (one transaction per paper), then the indexes. A
//! crash between the two leaves indexes that lag the catalog; [`Library::open_for_writing`]
//! compares them and re-adds what is missing from the catalog's stored text and vectors, without
//! reading a PDF or running the model again.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use crate::catalog::{Catalog, ChunkId, DocumentId, NewChunk, Status};
use crate::chunk::{chunk_page, ChunkOptions};
use crate::embed::{word_spans, BertEmbedder, Embedder, ModelInfo};
use crate::error::{Error, Result};
use crate::extract::{find_pdfs, Extracted, Extractor, InProcessExtractor};
use crate::index::analysis::ANALYZER_VERSION;
use crate::index::lexical::{LexicalReader, SeenFile};
use crate::index::vector::{Seal, Storage, DEFAULT_STORAGE};
use crate::index::{LexicalIndex, VectorIndex};
use crate::search::{best_per_document, fuse, group, Mode, SearchOptions, SearchResponse};

mod backfill;
mod events;
mod folders;
mod ingest;
mod models;
mod prefetch;
mod records;
mod repair;
mod searcher;
mod semantic;
mod similar;
mod status;
mod store;
mod works;
mod zotero;

use crate::catalog::{ModelRecord, ModelSlot};
pub use events::{
    Embedding, FailedFile, FileOutcome, IndexEvent, IndexOptions, IndexSummary, NoSink, Sink,
    StageTimes, Tidying,
};
use folders::folders_of;
use ingest::{finish, Pending};
use models::check_model;
pub use models::{model_for, recorded_model, Offered, Switch};
use searcher::run_search;
pub use searcher::Searcher;
pub use semantic::vector_storage;
use semantic::{embed_rows, Semantic};
pub use similar::{SimilarOptions, SimilarResponse, SimilarSource};
pub use status::LibraryStatus;
use status::{documents_of, notice, status_of, year_of};
pub use zotero::{ZoteroSource, ZoteroSummary};

/// What every output says when no model is loaded.
pub const NO_MODEL_NOTICE: &str = "No embedding model found: MedShelf is searching by keywords only. \
     Add a model folder (MedEmbed-small-v0.1) with --model, MEDSHELF_MODEL or the library's models/ \
     folder to also search by meaning.";

/// A library folder, open.
pub struct Library {
    dir: PathBuf,
    catalog: Catalog,
    lexical: LexicalIndex,
    /// The model and its vectors' index; `None` searches by keywords only.
    semantic: Option<Semantic>,
    extractor: Arc<dyn Extractor>,
    /// Held while this process may write; released on drop.
    lock: Option<File>,
    /// The catalog's data version when the indexes were last checked against it: while no other
    /// connection has committed since, there is nothing to repair.
    repaired_at: Option<i64>,
    /// A bug stopped a paper part-way through being stored in this run: the run ends with a
    /// full comparison of the indexes against the catalog.
    store_interrupted: bool,
    /// What was known of the indexes' files when they were last saved in step with the catalog.
    state: IndexState,
    /// Why the indexes could not be brought in step at open (a full disk, a read-only folder):
    /// searches answer from what is there, and say so.
    repair_pending: Option<String>,
}

/// What the catalog records of the indexes each time they are saved in step with it: the
/// keyword index's files, each known whole, and the vector index file's seal. Opening checks
/// the files against it, so that a damaged index is rebuilt instead of searched.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct IndexState {
    #[serde(default)]
    lexical_files: Vec<SeenFile>,
    #[serde(default)]
    vector_seal: Option<Seal>,
    /// The version of the analyzer that made the keyword index's terms
    /// ([`crate::index::analysis::ANALYZER_VERSION`]; 0 before versions were recorded).
    #[serde(default)]
    analyzer: u32,
}

/// The model a library opens with: none, one loaded, or the folder of one to load while the
/// indexes open.
enum ModelArg {
    None,
    Ready(Arc<dyn Embedder>),
    Load(PathBuf),
}

impl Library {
    /// The catalog versions the library in `dir` will be upgraded from and to when it is next
    /// opened (see [`crate::catalog::pending_upgrade`]), so that a caller can say why this
    /// opening takes longer; `None` where nothing is to be done.
    pub fn pending_upgrade(dir: &Path) -> Option<(i64, i64)> {
        crate::catalog::pending_upgrade(&dir.join("catalog.sqlite"))
    }

    /// Opens the library in `dir` for searching, creating it where absent. `model` names a model
    /// folder; without one, `MEDSHELF_MODEL` and then the library's `models/` folder are tried,
    /// and without any the library works by keywords only.
    pub fn open(dir: &Path, model: Option<&Path>) -> Result<Self> {
        let model = match model_for(dir, model) {
            Some(path) => ModelArg::Load(path),
            None => ModelArg::None,
        };
        Self::open_model(dir, model)
    }

    /// Opens the library with a given embedder (or none).
    ///
    /// Opening checks the indexes against the catalog (counts, the vector file's seal, the
    /// checksums of keyword index files not seen whole before) and, where no other process is
    /// writing, repairs them: a crash, a kill or a damaged file never leaves a library that
    /// does not open or that answers from a damaged index. A repair that cannot write (a full
    /// disk, a read-only folder) is left pending: searches answer from what is there, and
    /// [`LibraryStatus::notice`] says so.
    pub fn open_with(dir: &Path, embedder: Option<Arc<dyn Embedder>>) -> Result<Self> {
        Self::open_model(dir, embedder.map_or(ModelArg::None, ModelArg::Ready))
    }

    /// [`Library::open_with`] for a model loaded already or to load beside the indexes.
    fn open_model(dir: &Path, model: ModelArg) -> Result<Self> {
        Self::open_telling(dir, model, &mut false)
    }

    /// [`Library::open_model`], which sets `model_failed` where it is the model's loading
    /// that failed.
    fn open_telling(dir: &Path, model: ModelArg, model_failed: &mut bool) -> Result<Self> {
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let dir = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
        let catalog = Catalog::open(&dir.join("catalog.sqlite"))?;
        if let ModelArg::Ready(e) = &model {
            check_model(&catalog, e.info())?;
        }
        let state: IndexState = catalog.index_state()?;
        let lexical_dir = dir.join("lexical");
        // An index that does not even open is rebuilt now, under the write lock.
        let (lexical, rebuild_lock) = match LexicalIndex::open(&lexical_dir) {
            Ok(lexical) => (lexical, None),
            Err(damage) => {
                let Some(lock) = lock_dir(&dir, LOCK_PATIENCE)? else {
                    return Err(damage);
                };
                LexicalIndex::set_aside(&lexical_dir)?;
                (LexicalIndex::open(&lexical_dir)?, Some(lock))
            }
        };
        let seal = state.vector_seal.as_ref();
        let semantic = match model {
            ModelArg::None => None,
            ModelArg::Ready(e) => Some(Semantic::open(&dir, e, seal)?),
            ModelArg::Load(path) => {
                // The vector file is read on another thread while this one loads the model (a
                // tenth of a second each for MedEmbed and a thousand papers), where the catalog
                // says which dimension its vectors have; the model must be the one they came
                // from anyway. The model loads here, not the file: glibc serves a thread other
                // than the first from arenas of its own, where the model's many large
                // allocations took half as long again (measured: 150 ms against 100 ms).
                let stored = catalog.model(ModelSlot::InUse)?;
                let (loaded, early) = std::thread::scope(|scope| {
                    let (dir, dim) = (&dir, stored.map(|m| m.dim));
                    // Where no thread can be had, the file is read after the model instead.
                    let early = dim.and_then(|dim| {
                        std::thread::Builder::new()
                            .name("medshelf-open-vectors".into())
                            .spawn_scoped(scope, move || Semantic::open_index(dir, dim, seal))
                            .ok()
                    });
                    let loaded = BertEmbedder::load(&path);
                    let early = early.map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    });
                    (loaded, early)
                });
                let embedder: Arc<dyn Embedder> =
                    Arc::new(loaded.inspect_err(|_| *model_failed = true)?);
                check_model(&catalog, embedder.info())?;
                // The catalog was read before the model loaded: another process may have
                // switched the library to a model of another size since. That, or a file the
                // early read could not open, is opened again for the model (an error met again
                // there is the one told).
                match early {
                    Some(Ok(index)) if index.dim() == embedder.info().dim => {
                        Some(Semantic::with_index(embedder, index))
                    }
                    _ => Some(Semantic::open(&dir, embedder, seal)?),
                }
            }
        };
        let mut library = Library {
            dir,
            catalog,
            lexical,
            semantic,
            extractor: Arc::new(InProcessExtractor),
            lock: None,
            repaired_at: None,
            store_interrupted: false,
            state,
            repair_pending: None,
        };
        library.check_at_open(rebuild_lock)?;
        Ok(library)
    }

    /// Compares the indexes with the catalog and, where they disagree and no other process is
    /// writing, repairs them (holding `lock` where the caller took it already). A repair that
    /// fails (a full disk, a read-only folder) is left pending rather than failing the open.
    fn check_at_open(&mut self, lock: Option<File>) -> Result<()> {
        let rebuilt = lock.is_some();
        let intact = self.verify_lexical()?;
        let whole = intact && self.terms_current()?;
        if !rebuilt && whole && self.indexes_in_step()? {
            return Ok(());
        }
        let lock = match lock {
            Some(lock) => lock,
            None => match lock_dir(&self.dir, Duration::ZERO) {
                Ok(Some(lock)) => lock,
                // Another process writes: it repaired when it took the lock.
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.repair_pending = Some(e.to_string());
                    return Ok(());
                }
            },
        };
        let repaired = if whole {
            self.repair_with(rebuilt)
        } else {
            self.rebuild_lexical(intact)
        };
        drop(lock);
        // Whatever stopped the repair (most often a full disk or a read-only folder), a search
        // still answers from the indexes as they are, and says so; the next writer repairs.
        if let Err(e) = repaired {
            self.repair_pending = Some(e.to_string());
        }
        Ok(())
    }

    /// How the vector index stores vectors, where there is one.
    pub fn vector_storage(&self) -> Option<Storage> {
        self.semantic.as_ref().map(|s| s.read().storage())
    }

    /// Replaces the PDF reader (an isolated worker, say).
    pub fn set_extractor(&mut self, extractor: Box<dyn Extractor>) {
        self.extractor = Arc::from(extractor);
    }

    /// Takes the library's write lock and repairs the indexes from the catalog where a crash left
    /// them behind. Only one process at a time may write; one that only checks the library at
    /// open holds the lock for a moment, which a writer waits out.
    pub fn open_for_writing(&mut self) -> Result<()> {
        if self.lock.is_some() {
            return Ok(());
        }
        if !crate::paths::writable(&self.dir) {
            return Err(Error::ReadOnly(self.dir.clone()));
        }
        let lock =
            lock_dir(&self.dir, LOCK_PATIENCE)?.ok_or_else(|| Error::Locked(self.dir.clone()))?;
        self.lock = Some(lock);
        // Opening repaired already where no one was writing; repair again only if another
        // process has committed to the catalog since (and may have died before its indexes).
        if self.repair_pending.is_none()
            && self.repaired_at.is_some()
            && self.repaired_at == Some(self.catalog.data_version()?)
        {
            return Ok(());
        }
        let intact = self.verify_lexical()?;
        if !intact || !self.terms_current()? {
            self.rebuild_lexical(intact)?;
        } else {
            self.repair()?;
        }
        self.repair_pending = None;
        Ok(())
    }

    /// Gives the write lock back (the next write takes it again, and first checks what another
    /// process committed meanwhile): a long-lived process, such as the app, holds it only while
    /// it writes, so that `medshelf index` can run beside it.
    pub fn release_writer(&mut self) {
        self.lock = None;
    }

    /// The library folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many passages searched by meaning wait for their vectors (the second phase of an
    /// index run, or passages stored while no model was present).
    pub fn waiting_for_vectors(&self) -> Result<u64> {
        self.catalog.missing_vector_count()
    }

    /// The model in use, if any.
    pub fn model(&self) -> Option<&ModelInfo> {
        self.semantic.as_ref().map(Semantic::info)
    }

    /// Answers a query.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResponse> {
        run_search(
            &self.catalog,
            &self.lexical.reader(),
            self.semantic.as_ref(),
            self.repair_pending.as_deref(),
            query,
            opts,
        )
    }

    /// A handle that searches this library from another thread, also while this one indexes:
    /// it sees each paper once the paper's catalog transaction and index commit are done.
    pub fn searcher(&self) -> Result<Searcher> {
        Ok(Searcher {
            dir: self.dir.clone(),
            catalog: Mutex::new(Catalog::open(&self.dir.join("catalog.sqlite"))?),
            lexical: self.lexical.reader(),
            semantic: self.semantic.clone(),
            repair_pending: self.repair_pending.clone(),
        })
    }

    fn vectors_mut(&self) -> Option<RwLockWriteGuard<'_, VectorIndex>> {
        self.semantic.as_ref().map(Semantic::write)
    }

    /// The stored text of page `page` (1-based) of the paper at `path`, where the library holds
    /// it: what a result's passage offsets point into.
    pub fn page_text(&self, path: &Path, page: u32) -> Result<Option<String>> {
        match self.catalog.file(path)? {
            Some(file) => self.catalog.page_text(file.document, page),
            None => Ok(None),
        }
    }

    /// Every document with its state.
    pub fn documents(&self) -> Result<Vec<crate::catalog::DocumentRow>> {
        documents_of(&self.catalog)
    }

    /// Counts, the model, and failures.
    pub fn status(&self) -> Result<LibraryStatus> {
        status_of(
            &self.dir,
            &self.catalog,
            self.lexical.len()?,
            self.semantic.as_ref(),
            self.repair_pending.as_deref(),
        )
    }
}

/// How long a writer waits for the write lock before saying another process holds it: a
/// process that only opens the library to search may hold it for a moment while it repairs.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// Takes the library's write lock, waiting up to `patience` for it, or `None` where another
/// process holds it.
///
/// The lock is on the library folder itself, held through an open handle for as long as the
/// returned file lives. A lock *file* works only until someone deletes it as "stale": a second
/// writer then locks a new file beside the first, and both write. Nobody deletes the library
/// folder to clear a lock.
fn lock_dir(dir: &Path, patience: Duration) -> Result<Option<File>> {
    #[cfg(unix)]
    let file = File::open(dir).map_err(|e| Error::io(dir, e))?;
    #[cfg(not(unix))]
    let file = {
        let path = dir.join("write.lock");
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?
    };
    let deadline = Instant::now() + patience;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(dir, e)),
        }
    }
}
