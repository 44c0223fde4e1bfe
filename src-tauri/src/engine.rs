//! The engine thread: it owns the library for writing and works through a queue of jobs
//! (index, remove, switch model), sending progress to the page as `ingest` events.
//!
//! Searches never wait for it: they go through a [`Searcher`] that sees each paper as soon as
//! the paper is committed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, RwLock};

use medshelf::catalog::Catalog;
use medshelf::embed::fetch::{fetch_model, FetchProgress, FetchRequest};
use medshelf::embed::import_model;
use medshelf::extract::WorkerExtractor;
use medshelf::library::{model_for, recorded_model, Switch};
use medshelf::library::{IndexOptions, Searcher};
use medshelf::{BertEmbedder, Embedder, FileOutcome, IndexEvent, IndexSummary, Library, Sink};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

/// The first argument that makes the app's binary a PDF-reading worker.
pub const WORKER_ARG: &str = "extract-worker";

/// The event that carries indexing progress to the page.
pub const INGEST_EVENT: &str = "ingest";

/// What the engine thread is asked to do.
pub enum Job {
    /// Index these files and folders.
    Index {
        /// Its number, for the page to match events to the drop that caused them.
        id: u64,
        /// Files and folders.
        paths: Vec<PathBuf>,
        /// Read again files that failed before.
        retry_failed: bool,
        /// The cancel epoch when it was queued: a cancel since then drops it unrun.
        epoch: u64,
        /// Report only what changed (new, failed, removed files): a catch-up or watcher run
        /// over folders already indexed, where "unchanged" for every paper would be noise.
        quiet: bool,
    },
    /// Forget files that are gone from disk (the watcher saw them go).
    Forget {
        /// The files (or folders).
        paths: Vec<PathBuf>,
    },
    /// Take these files (or folders) out of the library.
    Remove {
        /// Files or folders.
        paths: Vec<PathBuf>,
        /// Where to send the outcome.
        reply: Sender<Result<Vec<PathBuf>, String>>,
    },
    /// Download the default model from the hub and search with it from now on.
    FetchModel {
        /// Where to send the outcome.
        reply: Sender<Result<medshelf::ModelInfo, String>>,
    },
    /// Switch the library to an installed model, re-embedding every passage in the background.
    UseModel {
        /// The installed model's name.
        name: String,
        /// Where to send the outcome once the switch is queued or refused.
        reply: Sender<Result<(), String>>,
    },
    /// Install a model folder and search with it from now on.
    ImportModel {
        /// The folder the person picked.
        dir: PathBuf,
        /// Where to send the outcome.
        reply: Sender<Result<medshelf::ModelInfo, String>>,
    },
}

/// Progress as the page receives it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ingest {
    /// Files were dropped or picked and wait their turn.
    Queued {
        /// The job.
        job: u64,
        /// Every PDF found under what was dropped.
        #[serde(serialize_with = "medshelf::paths::lossy_all")]
        files: Vec<PathBuf>,
    },
    /// A job started.
    Started {
        /// The job.
        job: u64,
        /// Files it looks at.
        files: usize,
    },
    /// One file moved on.
    File {
        /// The job.
        job: u64,
        /// The file.
        #[serde(serialize_with = "medshelf::paths::lossy")]
        path: PathBuf,
        /// `extracting`, `embedding`, `indexed`, `unchanged`, `failed` or `removed`.
        state: &'static str,
        /// Its pages, once known.
        #[serde(skip_serializing_if = "Option::is_none")]
        pages: Option<usize>,
        /// Its passages, once known.
        #[serde(skip_serializing_if = "Option::is_none")]
        chunks: Option<usize>,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Passages indexed before the model came are being embedded.
    Backfill {
        /// The job.
        job: u64,
        /// Passages embedded so far.
        done: u64,
        /// Passages to embed in all.
        total: u64,
    },
    /// A model download moved on.
    Download {
        /// The file being downloaded.
        file: String,
        /// Bytes of it so far.
        done: u64,
        /// Its size.
        size: u64,
    },
    /// A job ended (completely, or cancelled part-way).
    Finished {
        /// The job.
        job: u64,
        /// What it did.
        summary: IndexSummary,
    },
    /// A job could not run at all (the library is locked by another MedShelf, the disk is full).
    Error {
        /// The job.
        job: u64,
        /// Why, in words a person can act on.
        error: String,
    },
    /// The library changed in a way the page should reload (a model was switched).
    Reloaded,
}

/// State shared by the commands and the engine thread.
pub struct Engine {
    dir: PathBuf,
    searcher: RwLock<Option<Arc<Searcher>>>,
    /// Why the library could not be opened, where it could not.
    open_error: RwLock<Option<String>>,
    /// Why the model could not be used, where one was found but failed.
    model_error: RwLock<Option<String>>,
    jobs: Mutex<Sender<Job>>,
    next_job: AtomicU64,
    /// Bumped by each cancel: queued jobs from before it are dropped unrun.
    epoch: AtomicU64,
    /// Stops the running index job after its current file.
    cancel: AtomicBool,
    /// Whether a job is running.
    busy: AtomicBool,
    /// Follows the library's folders; see [`crate::watch`].
    watcher: Mutex<Option<medshelf::watch::FolderWatcher>>,
    /// Every `ingest` event of the current batch, for a page that subscribes late.
    feed: Mutex<Feed>,
}

/// The `ingest` events sent since the last batch began, numbered, so that a page that starts
/// listening after a job began (the papers given at launch start before the page loads)
/// replays them and then skips the ones it has already seen.
#[derive(Default)]
struct Feed {
    /// The last event's number.
    seq: u64,
    /// Jobs queued or running, as the page counts them.
    open: std::collections::HashSet<u64>,
    /// The events since the last batch began.
    log: Vec<serde_json::Value>,
}

/// The most events kept for a replay; past it, only a batch's newest are (a page then shows
/// the batch's later files, never a wrong count: totals come from `queued`).
const FEED_LIMIT: usize = 100_000;

impl Engine {
    /// Opens the library in `dir` and starts the engine thread.
    pub fn start(app: AppHandle, dir: PathBuf) -> Arc<Engine> {
        let (tx, rx) = std::sync::mpsc::channel();
        let engine = Arc::new(Engine {
            dir: dir.clone(),
            searcher: RwLock::new(None),
            open_error: RwLock::new(None),
            model_error: RwLock::new(None),
            jobs: Mutex::new(tx),
            next_job: AtomicU64::new(1),
            epoch: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            watcher: Mutex::new(None),
            feed: Mutex::new(Feed::default()),
        });
        let library = engine.open(&dir, bundled_model(&app));
        let thread_engine = engine.clone();
        std::thread::Builder::new()
            .name("medshelf-engine".into())
            .spawn(move || {
                if let Some(library) = library {
                    thread_engine.run(app, rx, library);
                }
            })
            .expect("spawning the engine thread");
        engine
    }

    /// Opens the library, with the model where one loads and without where none does (saying
    /// why), and publishes its searcher.
    fn open(&self, dir: &Path, bundled: Option<PathBuf>) -> Option<Library> {
        let embedder: Option<Arc<dyn Embedder>> = match model_for(dir, None).or(bundled) {
            Some(path) => match BertEmbedder::load(&path) {
                Ok(e) => Some(Arc::new(e)),
                Err(e) => {
                    self.set_model_error(Some(format!(
                        "The model in {} could not be loaded ({e}). Searching by keywords only.",
                        path.display()
                    )));
                    None
                }
            },
            None => None,
        };
        let opened = match Library::open_with(dir, embedder.clone()) {
            Ok(library) => Ok(library),
            // A model that does not match the library's vectors: keep the library, drop the model.
            Err(e) if embedder.is_some() => {
                self.set_model_error(Some(format!("{e}. Searching by keywords only.")));
                Library::open_with(dir, None)
            }
            Err(e) => Err(e),
        };
        match opened {
            Ok(mut library) => {
                install_worker(&mut library);
                self.publish(&library);
                Some(library)
            }
            Err(e) => {
                *write(&self.open_error) = Some(format!(
                    "The library in {} could not be opened: {e}",
                    dir.display()
                ));
                None
            }
        }
    }

    fn publish(&self, library: &Library) {
        match library.searcher() {
            Ok(s) => *write(&self.searcher) = Some(Arc::new(s)),
            Err(e) => *write(&self.open_error) = Some(format!("cannot search the library: {e}")),
        }
    }

    fn set_model_error(&self, error: Option<String>) {
        *write(&self.model_error) = error;
    }

    /// The searcher, or why there is none.
    pub fn searcher(&self) -> Result<Arc<Searcher>, String> {
        if let Some(s) = read(&self.searcher).as_ref() {
            return Ok(s.clone());
        }
        Err(read(&self.open_error)
            .clone()
            .unwrap_or_else(|| "the library is still opening".into()))
    }

    /// Why the model is not in use, where one was found but could not be used.
    pub fn model_error(&self) -> Option<String> {
        read(&self.model_error).clone()
    }

    /// The folders followed for changes now.
    pub fn watching(&self) -> Vec<PathBuf> {
        self.watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or_else(Vec::new, |w| w.followed())
    }

    /// Whether a job is running.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }

    /// Sends an `ingest` event to the page, numbered and stamped with the time (ms since the
    /// epoch, so that rates stay right when the page replays it later), and keeps it for a
    /// replay. A batch begins where files are queued while no job is open: the page clears its
    /// panel there, and the log starts again.
    pub fn emit(&self, app: &AppHandle, event: Ingest) {
        let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        feed.seq += 1;
        let Ok(mut value) = serde_json::to_value(&event) else {
            return;
        };
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        value["seq"] = feed.seq.into();
        value["at"] = at.into();
        match &event {
            Ingest::Queued { job, .. } => {
                if feed.open.is_empty() {
                    feed.log.clear();
                }
                feed.open.insert(*job);
            }
            Ingest::Started { job, .. } | Ingest::Backfill { job, .. } => {
                feed.open.insert(*job);
            }
            Ingest::Finished { job, .. } | Ingest::Error { job, .. } => {
                feed.open.remove(job);
            }
            _ => {}
        }
        // A download's progress is the model screen's, and only its latest state matters.
        if !matches!(event, Ingest::Download { .. }) {
            if feed.log.len() >= FEED_LIMIT {
                feed.log.drain(..FEED_LIMIT / 2);
            }
            feed.log.push(value.clone());
        }
        let _ = app.emit(INGEST_EVENT, value);
    }

    /// The current batch's events, oldest first; see [`Engine::emit`].
    pub fn ingest_log(&self) -> Vec<serde_json::Value> {
        self.feed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .log
            .clone()
    }

    /// Finds every PDF under `paths`, announces them (`queued`, so that the page knows the
    /// total before the bar moves) and queues the job. Returns the job and the files.
    pub fn queue_found(
        &self,
        app: &AppHandle,
        paths: Vec<PathBuf>,
        retry_failed: bool,
    ) -> Result<(u64, Vec<PathBuf>), String> {
        let mut files = Vec::new();
        for found in medshelf::extract::find_pdfs(&paths) {
            files.push(found.map_err(|e| e.to_string())?);
        }
        self.searcher()?;
        let id = self.next_job.fetch_add(1, Ordering::SeqCst);
        // Announced before it is queued: the engine thread's first event for it comes after.
        self.emit(
            app,
            Ingest::Queued {
                job: id,
                files: files.clone(),
            },
        );
        let epoch = self.epoch.load(Ordering::SeqCst);
        if let Err(e) = self.send(Job::Index {
            id,
            paths,
            retry_failed,
            epoch,
            quiet: false,
        }) {
            self.emit(
                app,
                Ingest::Error {
                    job: id,
                    error: e.clone(),
                },
            );
            return Err(e);
        }
        Ok((id, files))
    }

    /// Queues an index job that reports only what changed (a catch-up, the watcher's): its
    /// files are not announced, and where nothing changed the page hears nothing.
    pub fn queue_quiet(&self, paths: Vec<PathBuf>) -> Result<u64, String> {
        let id = self.next_job.fetch_add(1, Ordering::SeqCst);
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.send(Job::Index {
            id,
            paths,
            retry_failed: false,
            epoch,
            quiet: true,
        })?;
        Ok(id)
    }

    /// Sends a job to the engine thread.
    pub fn send(&self, job: Job) -> Result<(), String> {
        self.searcher()?;
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| "the indexing thread has stopped; restart MedShelf".to_string())
    }

    /// Stops the running index job after its current file and drops the queued ones.
    pub fn cancel(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn run(self: &Arc<Self>, app: AppHandle, jobs: Receiver<Job>, mut library: Library) {
        let library_dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        match crate::watch::start(Arc::downgrade(self), library_dir) {
            Ok(w) => *self.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(w),
            Err(e) => eprintln!("medshelf-app: folders will not be followed: {e}"),
        }
        // Catch up with what changed in the folders while the app was closed; this also
        // starts following them.
        match library.folders() {
            Ok(folders) if !folders.is_empty() => {
                let _ = self.queue_quiet(folders);
            }
            _ => {}
        }
        while let Ok(job) = jobs.recv() {
            self.busy.store(true, Ordering::SeqCst);
            match job {
                Job::Index {
                    id,
                    paths,
                    retry_failed,
                    epoch,
                    quiet,
                } => {
                    self.index(&app, &mut library, id, &paths, retry_failed, epoch, quiet);
                    self.watch_folders(&library);
                }
                Job::Remove { paths, reply } => {
                    let _ = reply.send(library.remove(&paths).map_err(|e| e.to_string()));
                }
                Job::Forget { paths } => self.forget(&app, &mut library, &paths),
                Job::UseModel { name, reply } => self.use_model(&app, &mut library, &name, reply),
                Job::FetchModel { reply } => {
                    let result = self.fetch_model(&app, &mut library);
                    let fetched = result.is_ok();
                    let _ = reply.send(result);
                    self.emit(&app, Ingest::Reloaded);
                    if fetched {
                        self.backfill(&app, &mut library);
                    }
                }
                Job::ImportModel { dir, reply } => {
                    let result = self.import_model(&mut library, &dir);
                    let imported = result.is_ok();
                    let _ = reply.send(result);
                    self.emit(&app, Ingest::Reloaded);
                    if imported {
                        self.backfill(&app, &mut library);
                    }
                }
            }
            // Idle, the library is free for another MedShelf (the CLI, a second window).
            library.release_writer();
            self.busy.store(false, Ordering::SeqCst);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn index(
        &self,
        app: &AppHandle,
        library: &mut Library,
        id: u64,
        paths: &[PathBuf],
        retry_failed: bool,
        epoch: u64,
        quiet: bool,
    ) {
        let sink = Events {
            engine: self,
            app,
            job: id,
            quiet,
        };
        let cancelled = || epoch != self.epoch.load(Ordering::SeqCst);
        if !cancelled() {
            self.cancel.store(false, Ordering::SeqCst);
        }
        if cancelled() {
            let summary = IndexSummary {
                cancelled: true,
                ..Default::default()
            };
            self.emit(app, Ingest::Finished { job: id, summary });
            return;
        }
        let options = IndexOptions { retry_failed };
        let event = match library.index_with(paths, options, &sink, &self.cancel) {
            // A quiet run (a catch-up, the watcher) that changed nothing has nothing to say:
            // the page would refresh its results for nothing.
            Ok(summary)
                if quiet
                    && summary.indexed + summary.failed + summary.removed == 0
                    && !summary.cancelled =>
            {
                return;
            }
            Ok(summary) => Ingest::Finished { job: id, summary },
            Err(e) => Ingest::Error {
                job: id,
                error: e.to_string(),
            },
        };
        self.emit(app, event);
    }

    /// Forgets files the watcher saw go. Where the library knew none of them, the page hears
    /// nothing: it would only refresh for nothing.
    fn forget(&self, app: &AppHandle, library: &mut Library, paths: &[PathBuf]) {
        let id = self.next_job.fetch_add(1, Ordering::SeqCst);
        let event = match library.remove(paths) {
            Ok(removed) if removed.is_empty() => return,
            Ok(removed) => {
                let sink = Events {
                    engine: self,
                    app,
                    job: id,
                    quiet: true,
                };
                for path in &removed {
                    sink.event(&IndexEvent::Removed { path });
                }
                let summary = IndexSummary {
                    removed: removed.len(),
                    ..Default::default()
                };
                Ingest::Finished { job: id, summary }
            }
            Err(e) => Ingest::Error {
                job: id,
                error: e.to_string(),
            },
        };
        self.emit(app, event);
    }

    /// Follows every folder the library holds (new ones after an index run).
    fn watch_folders(&self, library: &Library) {
        let Ok(folders) = library.folders() else {
            return;
        };
        if let Some(w) = self
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            for folder in &folders {
                if let Err(e) = w.follow(folder) {
                    eprintln!("medshelf-app: {e}");
                }
            }
        }
    }

    /// Switches to the installed model `name`: the new vectors are made apart while searches
    /// keep the old model, then swapped in; the page hears `backfill` progress and `reloaded`.
    fn use_model(
        &self,
        app: &AppHandle,
        library: &mut Library,
        name: &str,
        reply: Sender<Result<(), String>>,
    ) {
        let path = self.dir.join("models").join(name);
        let next: Arc<dyn Embedder> = match BertEmbedder::load(&path) {
            Ok(e) => Arc::new(e),
            Err(e) => {
                let _ = reply.send(Err(format!("cannot use {name}: {e}")));
                return;
            }
        };
        let _ = reply.send(Ok(()));
        let sink = self.new_job(app);
        let id = sink.job;
        let event = match library.switch_model(next, &sink, &self.cancel) {
            Ok(outcome) => {
                if outcome == Switch::Done {
                    self.set_model_error(None);
                    self.publish(library);
                }
                Ingest::Finished {
                    job: id,
                    summary: IndexSummary {
                        cancelled: outcome == Switch::Interrupted,
                        ..Default::default()
                    },
                }
            }
            Err(e) => Ingest::Error {
                job: id,
                error: e.to_string(),
            },
        };
        self.emit(app, event);
        self.emit(app, Ingest::Reloaded);
    }

    /// A job the engine starts itself (a backfill, a switch): a number, a fresh cancel flag,
    /// and its progress going to the page.
    fn new_job<'a>(&'a self, app: &'a AppHandle) -> Events<'a> {
        self.cancel.store(false, Ordering::SeqCst);
        Events {
            engine: self,
            app,
            job: self.next_job.fetch_add(1, Ordering::SeqCst),
            quiet: false,
        }
    }

    /// Embeds the passages indexed before the model came, with progress; searches use each
    /// batch as soon as it is stored.
    fn backfill(&self, app: &AppHandle, library: &mut Library) {
        let sink = self.new_job(app);
        let id = sink.job;
        let event = match library.embed_missing(&sink, &self.cancel) {
            Ok(done) => Ingest::Finished {
                job: id,
                summary: IndexSummary {
                    chunks: done as usize,
                    cancelled: self.cancel.load(Ordering::SeqCst),
                    ..Default::default()
                },
            },
            Err(e) => Ingest::Error {
                job: id,
                error: e.to_string(),
            },
        };
        self.emit(app, event);
    }

    /// Installs a model folder into the library's `models/` folder and reopens the library
    /// with it. Where the library's vectors came from another model, the library stays as it
    /// was and the error says so.
    fn import_model(
        &self,
        library: &mut Library,
        dir: &Path,
    ) -> Result<medshelf::ModelInfo, String> {
        let installed = import_model(dir, &self.dir.join("models")).map_err(|e| format!("{e}"))?;
        self.use_unless_other(library, installed, false)
    }

    /// Searches with a newly installed model, unless the library's vectors came from another
    /// one: then the model stays installed for a switch (Library, Models), which re-embeds.
    fn use_unless_other(
        &self,
        library: &mut Library,
        installed: medshelf::embed::InstalledModel,
        downloaded: bool,
    ) -> Result<medshelf::ModelInfo, String> {
        match recorded_model(&self.dir) {
            Some(name) if name != installed.name => installed
                .info
                .ok_or_else(|| format!("{} does not load", installed.name)),
            _ => self.use_installed(library, &installed.path, downloaded),
        }
    }

    /// Downloads the default model (`HF_ENDPOINT` or the public hub), verified, and searches
    /// with it; see `medshelf::embed::fetch`.
    fn fetch_model(
        &self,
        app: &AppHandle,
        library: &mut Library,
    ) -> Result<medshelf::ModelInfo, String> {
        let req = FetchRequest::new(None, None);
        let catalog = Catalog::open(&self.dir.join("catalog.sqlite")).map_err(|e| e.to_string())?;
        let progress = Download::new(self, app);
        let installed = fetch_model(&req, &self.dir.join("models"), Some(&catalog), &progress)
            .map_err(|e| e.to_string())?;
        self.use_unless_other(library, installed, true)
    }

    /// Reopens the library with the model installed in `path`. Where the library's vectors came
    /// from another model, the library stays as it was and the error says so.
    fn use_installed(
        &self,
        library: &mut Library,
        path: &Path,
        downloaded: bool,
    ) -> Result<medshelf::ModelInfo, String> {
        let embedder: Arc<dyn Embedder> =
            Arc::new(BertEmbedder::load(path).map_err(|e| e.to_string())?);
        let info = embedder.info().clone();
        let mut reopened = Library::open_with(&self.dir, Some(embedder)).map_err(|e| {
            if discard_after(&e, downloaded) {
                // Never usable with this library: take the copy back out so that the next
                // start does not try it again (the folder it was imported from stays).
                let _ = std::fs::remove_dir_all(path);
            }
            e.to_string()
        })?;
        install_worker(&mut reopened);
        *library = reopened;
        self.set_model_error(None);
        self.publish(library);
        Ok(info)
    }
}

/// Whether a model copy just installed is taken back out after the library refused to open
/// with it: only where its vectors could never sit beside the library's. A busy database or a
/// full disk says nothing about the model, and a verified download (130 MB fetched on purpose)
/// is kept whatever happens.
fn discard_after(error: &medshelf::Error, downloaded: bool) -> bool {
    !downloaded && matches!(error, medshelf::Error::ModelMismatch(_))
}

/// Sends a model download's progress to the page, at most five times a second.
struct Download<'a> {
    engine: &'a Engine,
    app: &'a AppHandle,
    /// The file, its bytes so far, its size, and when the page last heard.
    state: Mutex<(String, u64, u64, std::time::Instant)>,
}

impl<'a> Download<'a> {
    fn new(engine: &'a Engine, app: &'a AppHandle) -> Self {
        Download {
            engine,
            app,
            state: Mutex::new((String::new(), 0, 0, std::time::Instant::now())),
        }
    }

    fn send(&self, file: String, done: u64, size: u64) {
        self.engine
            .emit(self.app, Ingest::Download { file, done, size });
    }
}

impl FetchProgress for Download<'_> {
    fn file(&self, name: &str, size: u64, from: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = (name.to_string(), from, size, std::time::Instant::now());
        self.send(s.0.clone(), from, size);
    }

    fn bytes(&self, n: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.1 += n;
        if s.3.elapsed() >= std::time::Duration::from_millis(200) || s.1 == s.2 {
            s.3 = std::time::Instant::now();
            self.send(s.0.clone(), s.1, s.2);
        }
    }
}

/// The model an installer carries (`scripts/package` bundles one as a resource): used where
/// neither `MEDSHELF_MODEL` nor the library names one, so that an installed app searches by
/// meaning offline from its first launch.
fn bundled_model(app: &AppHandle) -> Option<PathBuf> {
    let models = app.path().resource_dir().ok()?.join("models");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&models)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.json").is_file() && p.join("model.safetensors").is_file())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Reads PDFs in a child process: the app's own binary as a worker.
fn install_worker(library: &mut Library) {
    if let Ok(exe) = std::env::current_exe() {
        library.set_extractor(Box::new(WorkerExtractor::new(exe, &[WORKER_ARG])));
    }
}

/// Sends an index run's progress to the page.
struct Events<'a> {
    engine: &'a Engine,
    app: &'a AppHandle,
    job: u64,
    /// Leave out the events of papers that turn out unchanged.
    quiet: bool,
}

impl Sink for Events<'_> {
    fn event(&self, event: &IndexEvent<'_>) {
        if self.quiet
            && matches!(
                event,
                IndexEvent::Started { .. }
                    | IndexEvent::FileStarted { .. }
                    | IndexEvent::FileDone {
                        outcome: FileOutcome::Unchanged,
                        ..
                    }
            )
        {
            return;
        }
        let file = |path: &Path, state: &'static str| Ingest::File {
            job: self.job,
            path: path.to_path_buf(),
            state,
            pages: None,
            chunks: None,
            error: None,
        };
        let counted =
            |path: &Path, state: &'static str, pages: usize, chunks: usize| Ingest::File {
                job: self.job,
                path: path.to_path_buf(),
                state,
                pages: Some(pages),
                chunks: Some(chunks),
                error: None,
            };
        let payload = match event {
            IndexEvent::Started { files } => Ingest::Started {
                job: self.job,
                files: *files,
            },
            IndexEvent::FileStarted { path } => file(path, "extracting"),
            IndexEvent::Embedding {
                path,
                pages,
                chunks,
            } => counted(path, "embedding", *pages, *chunks),
            IndexEvent::Removed { path } => file(path, "removed"),
            IndexEvent::Watching { .. } => return,
            IndexEvent::Backfill { done, total } => Ingest::Backfill {
                job: self.job,
                done: *done,
                total: *total,
            },
            IndexEvent::FileDone { path, outcome } => match outcome {
                FileOutcome::Indexed { pages, chunks } => counted(path, "indexed", *pages, *chunks),
                FileOutcome::Unchanged => file(path, "unchanged"),
                FileOutcome::Failed { error, .. } => Ingest::File {
                    job: self.job,
                    path: path.to_path_buf(),
                    state: "failed",
                    pages: None,
                    chunks: None,
                    error: Some(error.clone()),
                },
            },
        };
        self.engine.emit(self.app, payload);
    }
}

/// A poisoned lock only means another thread panicked while holding it; the value is intact.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::discard_after;
    use medshelf::Error;

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
