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
use crate::embed::{find_model, word_spans, BertEmbedder, Embedder, ModelInfo};
use crate::error::{Error, Result};
use crate::extract::{find_pdfs, Extracted, Extractor, InProcessExtractor};
use crate::index::lexical::{LexicalReader, SeenFile};
use crate::index::vector::{Seal, Storage, DEFAULT_STORAGE};
use crate::index::{LexicalIndex, VectorIndex};
use crate::search::{best_per_document, fuse, group, Mode, SearchOptions, SearchResponse};

mod events;
mod models;
mod repair;
mod searcher;

pub use events::{
    FailedFile, FileOutcome, IndexEvent, IndexOptions, IndexSummary, NoSink, Sink, StageTimes,
};
use models::{check_model, model_json, ModelRecord};
pub use models::{model_for, recorded_model, Switch};
use searcher::run_search;
pub use searcher::Searcher;

/// What every output says when no model is loaded.
pub const NO_MODEL_NOTICE: &str = "No embedding model found: MedShelf is searching by keywords only. \
     Add a model folder (MedEmbed-small-v0.1) with --model, MEDSHELF_MODEL or the library's models/ \
     folder to also search by meaning.";

/// How many passages an index run gathers, across papers, before embedding them in one call:
/// a paper's last batch is otherwise short, and lengths are sorted within one paper only.
const BATCH_PASSAGES: usize = 128;

/// What looking at one file led to.
enum Step {
    /// Settled: unchanged, failed, or linked to known content.
    Done(FileOutcome),
    /// Read and cut into passages, waiting for vectors.
    Pending(Box<Pending>),
}

/// A paper read and cut, waiting to be embedded with others and stored.
struct Pending {
    path: PathBuf,
    hash: String,
    size: u64,
    mtime_ns: i64,
    /// The document the path held before, if any.
    old: Option<DocumentId>,
    doc: Extracted,
    passages: Vec<crate::chunk::Passage>,
    /// When the run started on it.
    started: Instant,
}

/// Counts a finished file in the summary and reports it; returns 1 if it was indexed.
fn finish(
    path: &Path,
    outcome: FileOutcome,
    started: Instant,
    summary: &mut IndexSummary,
    sink: &dyn Sink,
) -> usize {
    let mut indexed = 0;
    match &outcome {
        FileOutcome::Indexed { pages, chunks } => {
            summary.indexed += 1;
            summary.pages += pages;
            summary.chunks += chunks;
            indexed = 1;
        }
        FileOutcome::Unchanged => summary.unchanged += 1,
        FileOutcome::Failed { error, .. } => {
            summary.failed += 1;
            summary.failures.push(FailedFile {
                path: path.to_path_buf(),
                error: error.clone(),
            });
        }
    }
    let took = started.elapsed().as_secs_f64();
    if summary.slowest.as_ref().is_none_or(|s| took > s.1) {
        summary.slowest = Some((path.to_path_buf(), took));
    }
    sink.event(&IndexEvent::FileDone {
        path,
        outcome: &outcome,
    });
    indexed
}

/// Whether an error fails only the file it happened on (the file's fault, the machine's, or a
/// bug caught at the file's boundary), so that the run goes on with the next one.
fn fails_the_file_only(e: &Error) -> bool {
    matches!(e.fault(), crate::Fault::Machine | crate::Fault::User)
        || matches!(e, Error::Bug { .. })
}

/// How often (in papers) an index run makes its work durable.
const COMMIT_EVERY: usize = 16;

/// The state of a library.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LibraryStatus {
    /// The library folder.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub library: PathBuf,
    /// Indexed papers.
    pub documents: u64,
    /// Passages.
    pub chunks: u64,
    /// Passages with a vector.
    pub vectors: u64,
    /// Passages kept for keyword search only, never embedded: reference lists
    /// ([`crate::chunk::is_reference_list`]). `vectors + reference_passages` equals `chunks`
    /// once every passage that should have a vector has one.
    pub reference_passages: u64,
    /// Passages in the keyword index: equals `chunks` when the stores agree.
    pub lexical_entries: u64,
    /// Vectors in the vector index: equals `vectors` when the stores agree (0 without a model).
    pub vector_entries: u64,
    /// Papers that could not be read, with the reason.
    pub failed: Vec<FailedFile>,
    /// The model in use, or `None` when searching by keywords only.
    pub model: Option<ModelInfo>,
    /// Something the person should know (no model, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Why the indexes could not be repaired at open (a full disk, a read-only folder), where
    /// they could not: answers come from the indexes as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair_pending: Option<String>,
}

/// A library folder, open.
pub struct Library {
    dir: PathBuf,
    catalog: Catalog,
    lexical: LexicalIndex,
    /// Shared with [`Searcher`]s: written here, read there.
    vectors: Option<Arc<RwLock<VectorIndex>>>,
    embedder: Option<Arc<dyn Embedder>>,
    extractor: Box<dyn Extractor>,
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
}

impl Library {
    /// Opens the library in `dir` for searching, creating it where absent. `model` names a model
    /// folder; without one, `MEDSHELF_MODEL` and then the library's `models/` folder are tried,
    /// and without any the library works by keywords only.
    pub fn open(dir: &Path, model: Option<&Path>) -> Result<Self> {
        let embedder: Option<Arc<dyn Embedder>> = match model_for(dir, model) {
            Some(path) => Some(Arc::new(BertEmbedder::load(&path)?)),
            None => None,
        };
        Self::open_with(dir, embedder)
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
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let dir = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
        let catalog = Catalog::open(&dir.join("catalog.sqlite"))?;
        if let Some(e) = &embedder {
            check_model(&catalog, e.info())?;
        }
        let state: IndexState = catalog
            .meta("index_state")?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
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
        let vectors = match &embedder {
            Some(e) => {
                let index = VectorIndex::open(
                    &dir.join("vectors.usearch"),
                    e.info().dim,
                    vector_storage(),
                    state.vector_seal.as_ref(),
                )?;
                Some(Arc::new(RwLock::new(index)))
            }
            None => None,
        };
        let mut library = Library {
            dir,
            catalog,
            lexical,
            vectors,
            embedder,
            extractor: Box::new(InProcessExtractor),
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
        let whole = self.verify_lexical()?;
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
            self.rebuild_lexical()
        };
        drop(lock);
        // Whatever stopped the repair (most often a full disk or a read-only folder), a search
        // still answers from the indexes as they are, and says so; the next writer repairs.
        if let Err(e) = repaired {
            self.repair_pending = Some(e.to_string());
        }
        Ok(())
    }

    /// Checks the keyword index's files against their checksums (those not known whole
    /// already). Returns whether the index is whole.
    fn verify_lexical(&mut self) -> Result<bool> {
        let known: HashSet<SeenFile> = self.state.lexical_files.iter().cloned().collect();
        Ok(match self.lexical.verify(&known)? {
            Ok(files) => {
                self.state.lexical_files = files;
                true
            }
            Err(_) => false,
        })
    }

    /// Sets a damaged keyword index aside and builds a new one from the catalog's stored text
    /// (no PDF is read, nothing is embedded). The caller holds the write lock.
    fn rebuild_lexical(&mut self) -> Result<()> {
        let dir = self.dir.join("lexical");
        // The damaged index's files are closed before its folder moves.
        self.lexical = LexicalIndex::open_in_ram()?;
        LexicalIndex::set_aside(&dir)?;
        self.lexical = LexicalIndex::open(&dir)?;
        self.state.lexical_files.clear();
        self.repair_with(true)
    }

    /// How the vector index stores vectors, where there is one.
    pub fn vector_storage(&self) -> Option<Storage> {
        self.vectors.as_deref().map(|v| read(v).storage())
    }

    /// Replaces the PDF reader (an isolated worker, say).
    pub fn set_extractor(&mut self, extractor: Box<dyn Extractor>) {
        self.extractor = extractor;
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
        if !self.verify_lexical()? {
            self.rebuild_lexical()?;
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

    /// Records the model in use as the one the library's vectors come from, where it is not
    /// recorded yet (or recorded without its weights' hash): called before vectors are written.
    fn record_model(&mut self) -> Result<()> {
        let Some(info) = self.embedder.as_ref().map(|e| e.info().clone()) else {
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

    /// The library folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The model in use, if any.
    pub fn model(&self) -> Option<&ModelInfo> {
        self.embedder.as_ref().map(|e| e.info())
    }

    /// Indexes files and folders (recursively): new and changed PDFs are read, unchanged ones
    /// skipped, unreadable ones recorded with the reason. One bad file never stops the run.
    pub fn index(
        &mut self,
        paths: &[PathBuf],
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<IndexSummary> {
        self.index_with(paths, IndexOptions::default(), sink, cancel)
    }

    /// [`Library::index`] with options.
    pub fn index_with(
        &mut self,
        paths: &[PathBuf],
        options: IndexOptions,
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<IndexSummary> {
        self.open_for_writing()?;
        let started = Instant::now();
        let mut summary = IndexSummary::default();
        let mut seen = HashSet::new();
        // A file named and also inside a named folder (a watcher passes both) is looked at once.
        let found: Vec<Result<PathBuf>> = find_pdfs(paths)
            .into_iter()
            .filter(|f| f.as_ref().map_or(true, |p| seen.insert(p.clone())))
            .collect();
        self.remember_folders(paths)?;
        summary.removed = self.forget_vanished(paths, &found)?;
        sink.event(&IndexEvent::Started { files: found.len() });
        let mut since_commit = 0;
        // Papers read and cut, waiting to be embedded together (see BATCH_PASSAGES).
        let mut pending: Vec<Pending> = Vec::new();
        let mut pending_chunks = 0;
        for item in found {
            if cancel.load(Ordering::Relaxed) {
                summary.cancelled = true;
                break;
            }
            let path = match item {
                Ok(p) => p,
                Err(e) => {
                    // A path given on the command line that does not exist.
                    let (path, error) = match &e {
                        Error::Io { path, error } => (path.clone(), error.to_string()),
                        other => (PathBuf::new(), other.to_string()),
                    };
                    let outcome = FileOutcome::Failed {
                        error: error.clone(),
                        code: "not_found".into(),
                    };
                    sink.event(&IndexEvent::FileDone {
                        path: &path,
                        outcome: &outcome,
                    });
                    summary.failed += 1;
                    summary.failures.push(FailedFile { path, error });
                    continue;
                }
            };
            sink.event(&IndexEvent::FileStarted { path: &path });
            let file_started = Instant::now();
            let stages = &mut summary.stages;
            let step = Error::guard("looking at it", || {
                self.index_file(&path, options, stages, sink)
            });
            let read = file_started.elapsed().as_secs_f64();
            if summary.slowest_read.as_ref().is_none_or(|s| read > s.1) {
                summary.slowest_read = Some((path.clone(), read));
            }
            let outcome = match step {
                Ok(Step::Done(o)) => o,
                Ok(Step::Pending(p)) => {
                    pending_chunks += p.passages.len();
                    pending.push(Pending {
                        started: file_started,
                        ..*p
                    });
                    if pending_chunks >= BATCH_PASSAGES {
                        since_commit += self.flush_pending(&mut pending, &mut summary, sink)?;
                        pending_chunks = 0;
                    }
                    if since_commit >= COMMIT_EVERY {
                        let t = Instant::now();
                        self.commit()?;
                        summary.stages.write += t.elapsed().as_secs_f64();
                        since_commit = 0;
                    }
                    continue;
                }
                Err(e) if fails_the_file_only(&e) => FileOutcome::Failed {
                    error: e.to_string(),
                    code: e.code().into(),
                },
                // Our own stores failing is not this file's fault: stop rather than go on writing.
                Err(e) => return Err(e),
            };
            since_commit += finish(&path, outcome, file_started, &mut summary, sink);
            if since_commit >= COMMIT_EVERY {
                let t = Instant::now();
                self.commit()?;
                summary.stages.write += t.elapsed().as_secs_f64();
                since_commit = 0;
            }
        }
        // Papers read but not yet embedded: finished, unless cancelled (then the next run
        // reads them again; nothing of them was written).
        if !summary.cancelled {
            self.flush_pending(&mut pending, &mut summary, sink)?;
        }
        // Passages stored while no model was present get their vectors now that one is.
        if !summary.cancelled {
            let t = Instant::now();
            self.embed_missing(sink, cancel)?;
            summary.stages.embed += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        self.commit()?;
        if std::mem::take(&mut self.store_interrupted) {
            // A bug stopped a paper half-stored: compare every id, whatever the counts say.
            self.repair_with(true)?;
        }
        summary.stages.write += t.elapsed().as_secs_f64();
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Switches the library to the model `next`: every passage is embedded again from its
    /// stored text (no PDF is read again), in batches committed as they go, into a table apart
    /// from the vectors in use, which searches keep using until every passage has a new vector.
    /// Then one transaction swaps the new vectors in and records `next` as the library's model,
    /// and this library searches with it. A cancel or a crash keeps what was done; calling again
    /// resumes. [`Searcher`]s made before the swap keep the old model and its vectors (stale, but
    /// never mixed); make new ones after.
    pub fn switch_model(
        &mut self,
        next: Arc<dyn Embedder>,
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<Switch> {
        const BATCH: usize = 64;
        self.open_for_writing()?;
        let info = next.info().clone();
        let next_json = model_json(&info);
        let same = |record: Option<ModelRecord>| record.is_some_and(|r| r.matches(&info));
        if same(ModelRecord::read(&self.catalog, "model")?) && self.embedder.is_some() {
            return Ok(Switch::Done);
        }
        // Nothing to keep: no vectors yet, so the new model is taken at once.
        if self.catalog.vector_count()? == 0 {
            self.catalog.clear_next_vectors()?;
            self.catalog.delete_meta("model_next")?;
            self.catalog.set_meta("model", &next_json)?;
            self.adopt(next)?;
            self.embed_missing(sink, cancel)?;
            return Ok(if cancel.load(Ordering::Relaxed) {
                Switch::Interrupted
            } else {
                Switch::Done
            });
        }
        // A switch to another model was under way: its vectors are of no use to this one.
        if !same(ModelRecord::read(&self.catalog, "model_next")?) {
            self.catalog.clear_next_vectors()?;
            self.catalog.set_meta("model_next", &next_json)?;
        }
        let total = self.catalog.semantic_count()?;
        let mut done = self.catalog.next_vector_count()?;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Ok(Switch::Interrupted);
            }
            let batch = self.catalog.chunks_without_next_vector(BATCH)?;
            if batch.is_empty() {
                break;
            }
            let pairs = embed_rows(next.as_ref(), &batch)?;
            self.catalog.set_next_vectors(&pairs)?;
            done += batch.len() as u64;
            sink.event(&IndexEvent::Backfill { done, total });
        }
        self.catalog.swap_next_vectors(&next_json)?;
        self.adopt(next)?;
        Ok(Switch::Done)
    }

    /// Searches with `embedder` from now on: a new vector index is built from the catalog's
    /// vectors (a new one, so that searchers holding the old keep a consistent pair).
    fn adopt(&mut self, embedder: Arc<dyn Embedder>) -> Result<()> {
        let mut index = VectorIndex::open(
            &self.dir.join("vectors.usearch"),
            embedder.info().dim,
            vector_storage(),
            None,
        )?;
        self.fill_vectors(&mut index)?;
        self.vectors = Some(Arc::new(RwLock::new(index)));
        self.embedder = Some(embedder);
        self.mark_indexed()?;
        self.repaired_at = Some(self.catalog.data_version()?);
        Ok(())
    }

    /// Embeds the passages stored without a vector (indexed while no model was present), in
    /// batches committed as they go: a cancel or a crash keeps what is done, and the next call
    /// resumes. Returns how many passages were embedded; without a model, none.
    pub fn embed_missing(&mut self, sink: &dyn Sink, cancel: &AtomicBool) -> Result<u64> {
        const BATCH: usize = 64;
        let Some(embedder) = self.embedder.clone() else {
            return Ok(0);
        };
        self.open_for_writing()?;
        let total = self.catalog.missing_vector_count()?;
        let mut done = 0;
        while !cancel.load(Ordering::Relaxed) {
            let batch = self.catalog.chunks_without_vector(BATCH)?;
            if batch.is_empty() {
                break;
            }
            let pairs = embed_rows(embedder.as_ref(), &batch)?;
            self.record_model()?;
            self.catalog.set_vectors(&pairs)?;
            if let Some(mut index) = self.vectors_mut() {
                for (id, v) in &pairs {
                    index.add(*id, v)?;
                }
            }
            done += batch.len() as u64;
            sink.event(&IndexEvent::Backfill { done, total });
        }
        self.commit()?;
        Ok(done)
    }

    /// The folders this library was asked to index, for watching them later.
    pub fn folders(&self) -> Result<Vec<PathBuf>> {
        folders_of(&self.catalog)
    }

    fn remember_folders(&mut self, paths: &[PathBuf]) -> Result<()> {
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
    fn forget_vanished(&mut self, paths: &[PathBuf], found: &[Result<PathBuf>]) -> Result<usize> {
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

    fn forget_path(&mut self, path: &Path) -> Result<()> {
        if let Some(orphan) = self.catalog.unlink_file(path)? {
            self.drop_document(orphan)?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.lexical.commit()?;
        if let Some(mut v) = self.vectors_mut() {
            v.save()?;
        }
        self.mark_indexed()
    }

    /// Looks at one file: unchanged (size and time, then content), linked to known content,
    /// failed with a reason, or read and cut into passages that wait to be embedded.
    fn index_file(
        &mut self,
        path: &Path,
        options: IndexOptions,
        times: &mut StageTimes,
        sink: &dyn Sink,
    ) -> Result<Step> {
        /// How often a file that changes while it is read is read again before it is left for
        /// the next run.
        const READS: usize = 3;
        let settled = |status: Status| {
            status == Status::Indexed || (status == Status::Failed && !options.retry_failed)
        };
        let (mut size, mut mtime_ns) = crate::paths::stat(path)?;
        let known = self.catalog.file(path)?;
        if let Some(row) = &known {
            if row.size == size && row.mtime_ns == mtime_ns && settled(row.status) {
                return Ok(Step::Done(FileOutcome::Unchanged));
            }
        }
        let old = known.as_ref().map(|k| k.document);
        if size > crate::extract::MAX_PDF_BYTES {
            // Refused before it is hashed: hashing 20 GB takes half a minute for nothing. The
            // failure is keyed by what was seen of the file, which changes when the file does.
            let key = format!("too-large:{size}:{mtime_ns}:{}", path.display());
            let error = Error::from(crate::ExtractError::TooLarge(size));
            let (doc, outcome) = self.record_failure(&key, size, &error)?;
            self.relink(path, old, doc, size, mtime_ns)?;
            return Ok(Step::Done(outcome));
        }
        for _ in 0..READS {
            let t = Instant::now();
            let hash = crate::paths::content_hash(path)?;
            times.hash += t.elapsed().as_secs_f64();
            if let Some((doc, status)) = self.catalog.document_by_hash(&hash)? {
                if settled(status) {
                    // Known content under a new or touched path (a copy, a move, a `touch`).
                    self.relink(path, old, doc, size, mtime_ns)?;
                    return Ok(Step::Done(FileOutcome::Unchanged));
                }
            }
            let t = Instant::now();
            let extracted = self.extractor.extract(path);
            times.extract += t.elapsed().as_secs_f64();
            let extracted = match extracted {
                Ok(extracted) => extracted,
                Err(e) => {
                    let (doc, outcome) = self.record_failure(&hash, size, &e.into())?;
                    self.relink(path, old, doc, size, mtime_ns)?;
                    return Ok(Step::Done(outcome));
                }
            };
            // The text must belong to the content that is recorded: the bytes parsed are the
            // bytes hashed, and the file did not change since it was looked at.
            let now = crate::paths::stat(path)?;
            if extracted.hash.as_ref().is_some_and(|h| *h != hash) || now != (size, mtime_ns) {
                (size, mtime_ns) = now;
                continue;
            }
            let t = Instant::now();
            let passages =
                Error::guard("cutting it into passages", || Ok(self.passages(&extracted)));
            times.chunk += t.elapsed().as_secs_f64();
            let passages = match passages {
                Ok(passages) => passages,
                Err(e) => {
                    let (doc, outcome) = self.record_failure(&hash, size, &e)?;
                    self.relink(path, old, doc, size, mtime_ns)?;
                    return Ok(Step::Done(outcome));
                }
            };
            sink.event(&IndexEvent::Embedding {
                path,
                pages: extracted.pages.len(),
                chunks: passages.len(),
            });
            return Ok(Step::Pending(Box::new(Pending {
                path: path.to_path_buf(),
                hash,
                size,
                mtime_ns,
                old,
                doc: extracted,
                passages,
                started: Instant::now(),
            })));
        }
        // Nothing is recorded: the next run (or the watcher, when the writes stop) reads it.
        let error = Error::from(crate::ExtractError::Changing);
        Ok(Step::Done(FileOutcome::Failed {
            error: error.to_string(),
            code: error.code().into(),
        }))
    }

    /// Embeds the waiting papers' passages in one call (so that batches are full and sorted by
    /// length across papers), then stores each paper and reports it done. Returns how many
    /// papers were indexed.
    fn flush_pending(
        &mut self,
        pending: &mut Vec<Pending>,
        summary: &mut IndexSummary,
        sink: &dyn Sink,
    ) -> Result<usize> {
        if pending.is_empty() {
            return Ok(0);
        }
        let t = Instant::now();
        let vectors = self.embed_pending(pending)?;
        summary.stages.embed += t.elapsed().as_secs_f64();
        let mut indexed = 0;
        // Two copies of one paper in a batch: the second is linked to the first, as it would
        // have been had the first been stored before it was read (its passages were embedded
        // once anyway: identical texts are).
        let mut stored: HashMap<String, DocumentId> = HashMap::new();
        for (p, v) in pending.drain(..).zip(vectors) {
            let t = Instant::now();
            let v = match v {
                Ok(v) => v,
                Err(e) => {
                    let (doc, outcome) = self.record_failure(&p.hash, p.size, &e)?;
                    self.relink(&p.path, p.old, doc, p.size, p.mtime_ns)?;
                    summary.stages.write += t.elapsed().as_secs_f64();
                    finish(&p.path, outcome, p.started, summary, sink);
                    continue;
                }
            };
            let v = v.as_deref();
            if let Some(&doc) = stored.get(&p.hash) {
                // Its path may point at a document this flush replaced: link it afresh.
                let now = self.catalog.file(&p.path)?.map(|f| f.document);
                self.relink(&p.path, now, doc, p.size, p.mtime_ns)?;
                summary.stages.write += t.elapsed().as_secs_f64();
                finish(&p.path, FileOutcome::Unchanged, p.started, summary, sink);
                continue;
            }
            let written = Error::guard("storing it", || {
                self.write(&p.hash, p.size, &p.doc, &p.passages, v)
            });
            let (doc, pages, chunks) = match written {
                Ok(w) => w,
                Err(e @ Error::Bug { .. }) => {
                    self.store_interrupted = true;
                    let (doc, outcome) = self.record_failure(&p.hash, p.size, &e)?;
                    self.relink(&p.path, p.old, doc, p.size, p.mtime_ns)?;
                    summary.stages.write += t.elapsed().as_secs_f64();
                    finish(&p.path, outcome, p.started, summary, sink);
                    continue;
                }
                Err(e) => return Err(e),
            };
            stored.insert(p.hash.clone(), doc);
            self.relink(&p.path, p.old, doc, p.size, p.mtime_ns)?;
            summary.stages.write += t.elapsed().as_secs_f64();
            indexed += finish(
                &p.path,
                FileOutcome::Indexed { pages, chunks },
                p.started,
                summary,
                sink,
            );
        }
        Ok(indexed)
    }

    /// Each waiting paper's vectors (`None` without a model), embedded in one call; where that
    /// call fails, paper by paper, so that a paper the model cannot take fails alone. When every
    /// paper fails on its own too, the trouble is not in the papers: the error stops the run.
    #[allow(clippy::type_complexity)]
    fn embed_pending(&self, pending: &[Pending]) -> Result<Vec<Result<Option<Vec<Vec<f32>>>>>> {
        let docs: Vec<(&Extracted, &Vec<crate::chunk::Passage>)> =
            pending.iter().map(|p| (&p.doc, &p.passages)).collect();
        let embed = |docs: &[(&Extracted, &Vec<crate::chunk::Passage>)]| {
            Error::guard("embedding it", || self.embed_passages(docs))
        };
        match embed(&docs) {
            Ok(None) => Ok(pending.iter().map(|_| Ok(None)).collect()),
            Ok(Some(mut all)) => {
                let mut out = Vec::with_capacity(pending.len());
                for p in pending {
                    let rest = all.split_off(p.passages.len());
                    out.push(Ok(Some(std::mem::replace(&mut all, rest))));
                }
                Ok(out)
            }
            Err(e) if docs.len() == 1 => Ok(vec![Err(e)]),
            Err(e) => {
                let each: Vec<_> = docs
                    .iter()
                    .map(|d| embed(std::slice::from_ref(d)))
                    .collect();
                if each.iter().all(Result::is_err) {
                    return Err(e);
                }
                Ok(each)
            }
        }
    }

    /// Records that the content `hash` could not be indexed, and why: it holds no text and no
    /// index entries from then on, and is not read again until it changes (or a retry is
    /// asked for).
    fn record_failure(
        &mut self,
        hash: &str,
        size: u64,
        error: &Error,
    ) -> Result<(DocumentId, FileOutcome)> {
        if let Some((doc, _)) = self.catalog.document_by_hash(hash)? {
            self.unindex_document(doc)?;
        }
        let message = error.to_string();
        let doc = self
            .catalog
            .insert_failed(hash, size, &message, error.code())?;
        let outcome = FileOutcome::Failed {
            error: message,
            code: error.code().into(),
        };
        Ok((doc, outcome))
    }

    /// Points `path` at `doc`; the document it pointed at before goes where no path holds it.
    fn relink(
        &mut self,
        path: &Path,
        old: Option<DocumentId>,
        doc: DocumentId,
        size: u64,
        mtime_ns: i64,
    ) -> Result<()> {
        if old.is_some_and(|o| o != doc) {
            if let Some(orphan) = self.catalog.unlink_file(path)? {
                self.drop_document(orphan)?;
            }
        }
        self.catalog.link_file(path, doc, size, mtime_ns)
    }

    /// Cuts a paper's pages into passages on the model's word pieces (or words, without one).
    fn passages(&self, doc: &Extracted) -> Vec<crate::chunk::Passage> {
        let opts = ChunkOptions::for_model(
            self.embedder
                .as_ref()
                .map_or(crate::embed::DEFAULT_MAX_TOKENS, |e| e.info().max_tokens),
        );
        let mut passages = Vec::new();
        for (i, text) in doc.pages.iter().enumerate() {
            let spans = match &self.embedder {
                Some(e) => e.token_spans(text),
                None => word_spans(text),
            };
            passages.extend(chunk_page(i as u32 + 1, text, &spans, opts));
        }
        passages
    }

    /// Embeds the passages of several papers in one call, so that short papers fill batches.
    /// Returns the vectors in order, or `None` without a model.
    fn embed_passages(
        &self,
        docs: &[(&Extracted, &Vec<crate::chunk::Passage>)],
    ) -> Result<Option<Vec<Vec<f32>>>> {
        let Some(e) = &self.embedder else {
            return Ok(None);
        };
        // Reference lists are not embedded: they get an empty vector, which `write` stores as
        // none.
        let texts: Vec<(&str, bool)> = docs
            .iter()
            .flat_map(|(doc, passages)| {
                passages.iter().map(|p| {
                    let text = &doc.pages[p.page as usize - 1][p.start..p.end];
                    (text, !crate::chunk::is_reference_list(p.page, text))
                })
            })
            .collect();
        let semantic: Vec<&str> = texts.iter().filter(|t| t.1).map(|t| t.0).collect();
        let mut vectors = embed_unique(e.as_ref(), &semantic)?.into_iter();
        Ok(Some(
            texts
                .iter()
                .map(|&(_, embed)| {
                    if embed {
                        vectors.next().unwrap_or_default()
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
        ))
    }

    /// Stores a chunked (and embedded) paper in the catalog, then the indexes.
    fn write(
        &mut self,
        hash: &str,
        size: u64,
        doc: &Extracted,
        passages: &[crate::chunk::Passage],
        vectors: Option<&[Vec<f32>]>,
    ) -> Result<(DocumentId, usize, usize)> {
        let new: Vec<NewChunk<'_>> = passages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let text = &doc.pages[p.page as usize - 1][p.start..p.end];
                NewChunk {
                    page: p.page,
                    start: p.start,
                    end: p.end,
                    text,
                    vector: vectors.map(|v| v[i].as_slice()).filter(|v| !v.is_empty()),
                    semantic: !crate::chunk::is_reference_list(p.page, text),
                }
            })
            .collect();
        if new.iter().any(|c| c.vector.is_some()) {
            self.record_model()?;
        }
        let (id, ids) =
            self.catalog
                .insert_indexed(hash, size, doc.title.as_deref(), &doc.pages, &new)?;
        // A re-read of known content (a retry) replaces whatever the indexes held for it.
        self.lexical.delete_document(id)?;
        for (&chunk, c) in ids.iter().zip(&new) {
            self.lexical.add(chunk, id, c.text, doc.title.as_deref())?;
            if let (Some(mut index), Some(v)) = (self.vectors_mut(), c.vector) {
                index.add(chunk, v)?;
            }
        }
        Ok((id, doc.pages.len(), ids.len()))
    }

    /// Stores a paper whose passages and vectors are already made, without chunking, embedding
    /// or committing: for building synthetic libraries of a given size (`medshelf bench search`).
    /// Call [`Library::flush`] at the end.
    pub fn insert_prepared(
        &mut self,
        path: &Path,
        doc: &Extracted,
        passages: &[crate::chunk::Passage],
        vectors: &[Vec<f32>],
    ) -> Result<()> {
        self.open_for_writing()?;
        let hash = blake3::hash(path.to_string_lossy().as_bytes())
            .to_hex()
            .to_string();
        let (id, _, _) = self.write(&hash, 0, doc, passages, Some(vectors))?;
        self.catalog.link_file(path, id, 0, 0)
    }

    /// Makes everything written so far durable: the keyword index committed, the vector index
    /// saved.
    pub fn flush(&mut self) -> Result<()> {
        self.commit()
    }

    /// Indexes documents that are already text (a benchmark corpus, say) through the same
    /// chunking, embedding and stores as PDFs, each filed under its own path. Paths already in
    /// the library are skipped, so an interrupted run resumes.
    pub fn index_extracted(
        &mut self,
        docs: &[(PathBuf, Extracted)],
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<IndexSummary> {
        self.open_for_writing()?;
        let started = Instant::now();
        let mut summary = IndexSummary::default();
        sink.event(&IndexEvent::Started { files: docs.len() });
        // Groups big enough to fill the model's batches, small enough to commit often.
        for group in docs.chunks(64) {
            if cancel.load(Ordering::Relaxed) {
                summary.cancelled = true;
                break;
            }
            let mut todo = Vec::new();
            for (path, doc) in group {
                if self.catalog.file(path)?.is_some() {
                    summary.unchanged += 1;
                    sink.event(&IndexEvent::FileDone {
                        path,
                        outcome: &FileOutcome::Unchanged,
                    });
                } else {
                    todo.push((path, doc));
                }
            }
            let t = Instant::now();
            let passages: Vec<_> = todo.iter().map(|(_, doc)| self.passages(doc)).collect();
            summary.stages.chunk += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let pairs: Vec<_> = todo
                .iter()
                .zip(&passages)
                .map(|((_, d), p)| (*d, p))
                .collect();
            let vectors = self.embed_passages(&pairs)?;
            summary.stages.embed += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut offset = 0;
            for ((path, doc), passages) in todo.iter().zip(&passages) {
                let mut hasher = blake3::Hasher::new();
                hasher.update(path.to_string_lossy().as_bytes());
                for page in &doc.pages {
                    hasher.update(page.as_bytes());
                }
                let hash = hasher.finalize().to_hex().to_string();
                let size: usize = doc.pages.iter().map(String::len).sum();
                let own = vectors
                    .as_ref()
                    .map(|v| &v[offset..offset + passages.len()]);
                offset += passages.len();
                let (id, pages, chunks) = self.write(&hash, size as u64, doc, passages, own)?;
                self.catalog.link_file(path, id, size as u64, 0)?;
                summary.indexed += 1;
                summary.pages += pages;
                summary.chunks += chunks;
                let outcome = FileOutcome::Indexed { pages, chunks };
                sink.event(&IndexEvent::FileDone {
                    path,
                    outcome: &outcome,
                });
            }
            self.commit()?;
            summary.stages.write += t.elapsed().as_secs_f64();
        }
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Removes a document from all three stores.
    fn drop_document(&mut self, doc: DocumentId) -> Result<()> {
        self.unindex_document(doc)?;
        self.catalog.delete_document(doc)
    }

    /// Takes a document's passages out of both indexes (the catalog keeps them).
    fn unindex_document(&mut self, doc: DocumentId) -> Result<()> {
        let ids = self.catalog.chunk_ids_of(doc)?;
        self.lexical.delete_document(doc)?;
        if let Some(mut v) = self.vectors_mut() {
            for id in &ids {
                v.remove(*id)?;
            }
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

    /// Answers a query.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResponse> {
        run_search(
            &self.catalog,
            &self.lexical.reader(),
            self.vectors.as_deref(),
            self.embedder.as_deref(),
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
            vectors: self.vectors.clone(),
            embedder: self.embedder.clone(),
            repair_pending: self.repair_pending.clone(),
        })
    }

    fn vectors_mut(&self) -> Option<RwLockWriteGuard<'_, VectorIndex>> {
        self.vectors
            .as_ref()
            .map(|v| v.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every document with its state.
    pub fn documents(&self) -> Result<Vec<crate::catalog::DocumentRow>> {
        self.catalog.documents()
    }

    /// Counts, the model, and failures.
    pub fn status(&self) -> Result<LibraryStatus> {
        status_of(
            &self.dir,
            &self.catalog,
            self.lexical.len()?,
            self.vectors.as_deref(),
            self.embedder.as_deref(),
            self.repair_pending.as_deref(),
        )
    }
}

/// Counts, the model, and failures of a library, for [`Library::status`] and
/// [`Searcher::status`].
fn status_of(
    dir: &Path,
    catalog: &Catalog,
    lexical_entries: u64,
    vectors: Option<&RwLock<VectorIndex>>,
    embedder: Option<&dyn Embedder>,
    repair_pending: Option<&str>,
) -> Result<LibraryStatus> {
    let (documents, _) = catalog.counts()?;
    let (chunks, with_vectors) = catalog.exact_counts()?;
    Ok(LibraryStatus {
        library: dir.to_path_buf(),
        documents,
        chunks,
        vectors: with_vectors,
        reference_passages: chunks - catalog.semantic_count()?.min(chunks),
        lexical_entries,
        vector_entries: vectors.map_or(0, |v| read(v).len() as u64),
        failed: failed_files(catalog)?,
        model: embedder.map(|e| e.info().clone()),
        notice: notice(embedder.is_none(), repair_pending),
        repair_pending: repair_pending.map(str::to_string),
    })
}

/// What every answer says about the library's state, where there is something to say: no model
/// (keywords only), a repair that could not run.
fn notice(no_model: bool, repair_pending: Option<&str>) -> Option<String> {
    let notes: Vec<String> = [
        no_model.then(|| NO_MODEL_NOTICE.to_string()),
        repair_pending.map(|why| {
            format!(
                "The indexes could not be brought up to date with the catalog ({why}): answers \
                 come from what is there, and the repair runs when MedShelf can write again."
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!notes.is_empty()).then(|| notes.join(" "))
}

/// Embeds stored passages, (id, text), and pairs each id with its vector.
fn embed_rows(
    embedder: &dyn Embedder,
    rows: &[(ChunkId, String)],
) -> Result<Vec<(ChunkId, Vec<f32>)>> {
    let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
    let vectors = embed_unique(embedder, &texts)?;
    Ok(rows.iter().map(|(id, _)| *id).zip(vectors).collect())
}

/// Embeds each distinct text once (running heads, licence footers and repeated boilerplate
/// recur across pages and papers) and hands every text its vector, in order.
fn embed_unique(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(texts.len());
    let mut unique = Vec::new();
    let slots: Vec<usize> = texts
        .iter()
        .map(|t| {
            *first.entry(t).or_insert_with(|| {
                unique.push(*t);
                unique.len() - 1
            })
        })
        .collect();
    if unique.len() == texts.len() {
        return checked(embedder, texts.len(), embedder.embed(texts)?);
    }
    let vectors = checked(embedder, unique.len(), embedder.embed(&unique)?)?;
    Ok(slots.into_iter().map(|i| vectors[i].clone()).collect())
}

/// A model's answer, checked: one vector per text asked, each of the model's dimensions with
/// every component finite. Anything else would store passages without vectors, or rank by NaN,
/// without a word; it fails the batch instead.
fn checked(embedder: &dyn Embedder, asked: usize, vectors: Vec<Vec<f32>>) -> Result<Vec<Vec<f32>>> {
    let info = embedder.info();
    let problem = if vectors.len() != asked {
        Some(format!(
            "returned {} vectors for {asked} passages",
            vectors.len()
        ))
    } else {
        vectors
            .iter()
            .find(|v| v.len() != info.dim || v.iter().any(|x| !x.is_finite()))
            .map(|v| match v.len() == info.dim {
                true => "returned a vector that is not a number (NaN or infinite)".to_string(),
                false => format!(
                    "returned a vector of {} dimensions, not {}",
                    v.len(),
                    info.dim
                ),
            })
    };
    match problem {
        Some(message) => Err(Error::Model {
            path: PathBuf::from(&info.name),
            message: format!("the model {message}"),
        }),
        None => Ok(vectors),
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

/// How a new vector index stores its vectors: `MEDSHELF_VECTOR_STORAGE` (`f32`, `bf16`, `f16`
/// or `i8`, for measuring them against each other), else [`DEFAULT_STORAGE`]. An existing index
/// keeps the storage it was written with.
pub fn vector_storage() -> Storage {
    use clap::ValueEnum;
    std::env::var("MEDSHELF_VECTOR_STORAGE")
        .ok()
        .and_then(|v| Storage::from_str(v.trim(), true).ok())
        .unwrap_or(DEFAULT_STORAGE)
}

/// The folders recorded in a catalog.
fn folders_of(catalog: &Catalog) -> Result<Vec<PathBuf>> {
    catalog.folders()
}

/// The library folder used when none is named: `MEDSHELF_LIBRARY`, else `medshelf` in the
/// platform's data folder (`~/.local/share/medshelf` on Linux).
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os("MEDSHELF_LIBRARY") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::data_dir().map(|d| d.join("medshelf")),
    }
}

/// The papers that could not be read, with the reason.
fn failed_files(catalog: &Catalog) -> Result<Vec<FailedFile>> {
    Ok(catalog
        .documents_with(Status::Failed)?
        .into_iter()
        .map(|d| FailedFile {
            path: d.path,
            error: d.error.unwrap_or_default(),
        })
        .collect())
}

/// A poisoned lock only means another thread panicked mid-search; the index itself is intact.
fn read(v: &RwLock<VectorIndex>) -> std::sync::RwLockReadGuard<'_, VectorIndex> {
    v.read().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod embed_unique_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts the texts it is asked to embed; a text's vector is its length.
    struct Counting(AtomicUsize, ModelInfo);

    impl Embedder for Counting {
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
        fn info(&self) -> &ModelInfo {
            &self.1
        }
        fn token_spans(&self, _: &str) -> Vec<(usize, usize)> {
            Vec::new()
        }
    }

    #[test]
    fn each_distinct_text_is_embedded_once_and_every_text_gets_its_vector() {
        let e = Counting(
            AtomicUsize::new(0),
            ModelInfo {
                name: "count".into(),
                dim: 1,
                pooling: crate::Pooling::Mean,
                normalize: false,
                max_tokens: 256,
                device: "cpu".into(),
                precision: crate::embed::Precision::F32,
                weights: None,
            },
        );
        let texts = ["footer", "a", "footer", "bb", "a", "footer"];
        let v = embed_unique(&e, &texts).unwrap();
        assert_eq!(e.0.load(Ordering::SeqCst), 3);
        let lens: Vec<f32> = v.iter().map(|x| x[0]).collect();
        assert_eq!(lens, vec![6.0, 1.0, 6.0, 2.0, 1.0, 6.0]);
    }
}
