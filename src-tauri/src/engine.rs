//! The app's side of the engine's writer ([`medshelf::writer`]): it opens the library, runs
//! the writer on a thread of its own, and translates what the writer reports into the `ingest`
//! events the page receives. Searches never wait for the writer: they go through a
//! [`Searcher`] that sees each paper as soon as the paper is committed.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use medshelf::library::Searcher;
use medshelf::models::fetch::FetchProgress;
use medshelf::writer::{Following, Job, JobId, Outcome, Queue, Report};
use medshelf::{Fault, FileOutcome, IndexEvent, Library, Problem};
use tauri::{AppHandle, Emitter, Manager};

use crate::ingest::{Feed, FileState, Ingest, INGEST_EVENT};

/// The first argument that makes the app's binary a PDF-reading worker.
pub const WORKER_ARG: &str = "extract-worker";

/// State shared by the commands and the writer thread.
pub struct Engine {
    searcher: RwLock<Option<Arc<Searcher>>>,
    /// Why the library could not be opened, where it could not.
    open_error: RwLock<Option<Problem>>,
    /// Why the model could not be used, where one was found but failed.
    model_error: RwLock<Option<String>>,
    /// The writer's queue, once the library is open.
    queue: RwLock<Option<Arc<Queue>>>,
    /// Every `ingest` event of the current batch, for a page that subscribes late.
    feed: Mutex<Feed>,
    /// Follows the Zotero folder the library was imported from: a write of Zotero's database
    /// brings a quiet re-import.
    zotero_watch: Mutex<Option<medshelf::watch::ZoteroWatcher>>,
    /// Whether the opening (on a thread of its own) has ended, opened or not; commands wait
    /// for it ([`Engine::searcher`]).
    opened: Mutex<bool>,
    opened_now: Condvar,
    /// The catalog versions the opening is upgrading from and to, while it does (the first
    /// opening after an upgrade of MedShelf may read whole tables).
    upgrading: RwLock<Option<(i64, i64)>>,
}

/// How long a command waits for the library to open before it answers that it is opening (a
/// repair at open can take longer on a large library; the page asks again).
const OPEN_PATIENCE: Duration = Duration::from_secs(30);

/// Marks the opening ended when dropped, whichever way it ends (a panic included), so that
/// no command waits for it in vain.
struct OpenedMark(Arc<Engine>);

impl Drop for OpenedMark {
    fn drop(&mut self) {
        *self.0.opened.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.0.opened_now.notify_all();
    }
}

impl Engine {
    /// Opens the library in `dir` on a thread of its own and returns at once: the window and
    /// its page load while the model and the indexes do (a fifth of a second for MedEmbed and
    /// a thousand papers), and commands wait for the opening ([`Engine::searcher`]). Then
    /// starts the writer on a thread of its own, following the library's folders (and catching
    /// up with what changed while the app was closed).
    pub fn start(app: AppHandle, dir: PathBuf) -> Arc<Engine> {
        let engine = Arc::new(Engine {
            searcher: RwLock::new(None),
            open_error: RwLock::new(None),
            model_error: RwLock::new(None),
            queue: RwLock::new(None),
            feed: Mutex::new(Feed::default()),
            zotero_watch: Mutex::new(None),
            opened: Mutex::new(false),
            opened_now: Condvar::new(),
            upgrading: RwLock::new(None),
        });
        let opening = engine.clone();
        let spawned = std::thread::Builder::new()
            .name("medshelf-open".into())
            .spawn(move || {
                let mark = OpenedMark(opening.clone());
                opening.open(app, dir);
                drop(mark);
            });
        if let Err(e) = spawned {
            *write(&engine.open_error) = Some(Problem::new(
                "opening",
                Fault::Machine,
                format!("The library could not be opened: no thread to open it in ({e})"),
            ));
            *engine.opened.lock().unwrap_or_else(|p| p.into_inner()) = true;
        }
        engine
    }

    /// Opens the library, publishes its searcher and starts its writer (see [`Engine::start`]).
    fn open(self: &Arc<Self>, app: AppHandle, dir: PathBuf) {
        let engine = self;
        let upgrade = Library::pending_upgrade(&dir);
        if let Some((from, to)) = upgrade {
            eprintln!("medshelf-app: upgrading the library's catalog from format {from} to {to}");
        }
        *write(&engine.upgrading) = upgrade;
        let opened = Library::open_or_keywords(&dir, bundled_model(&app));
        *write(&engine.upgrading) = None;
        let mut library = match opened {
            Ok((library, model_error)) => {
                *write(&engine.model_error) = model_error;
                library
            }
            Err(e) => {
                let mut problem = Problem::from(&e);
                problem.message =
                    format!("The library in {} could not be opened: {e}", dir.display());
                *write(&engine.open_error) = Some(problem);
                return;
            }
        };
        install_worker(&mut library);
        engine.publish(&library);
        let folders = library.folders().unwrap_or_default();
        let (queue, writer) = medshelf::writer::writer(library);
        let weak = Arc::downgrade(&queue);
        *write(&engine.queue) = Some(queue);
        let report = AppReport {
            engine: engine.clone(),
            app,
        };
        std::thread::Builder::new()
            .name("medshelf-writer".into())
            .spawn(move || {
                let following = Following {
                    folders,
                    library_folders: true,
                    strict: false,
                };
                let _ = writer.run(weak, Some(following), &report);
            })
            .expect("spawning the writer thread");
        // A library imported from Zotero follows it, and catches up with what Zotero changed
        // while the app was closed (off this thread). Not through `searcher()`, which waits
        // for this opening to end.
        let published = read(&engine.searcher).clone();
        let source = published.and_then(|s| s.zotero_source().ok().flatten());
        if let Some(source) = source {
            engine.follow_zotero(&source.dir);
            let changed = medshelf::paths::stat(&source.dir.join("zotero.sqlite"))
                .is_ok_and(|(_, mtime)| mtime != source.db_mtime_ns);
            if changed {
                let engine = engine.clone();
                std::thread::spawn(move || engine.reimport_zotero());
            }
        }
    }

    /// Follows the Zotero folder `dir` (in place of another followed before): once Zotero
    /// has written its database and been quiet for a few seconds, it is imported again,
    /// quietly.
    pub fn follow_zotero(self: &Arc<Self>, dir: &std::path::Path) {
        let mut watch = self.zotero_watch.lock().unwrap_or_else(|p| p.into_inner());
        if watch.as_ref().is_some_and(|w| w.dir() == dir) {
            return;
        }
        let engine = Arc::downgrade(self);
        let started =
            medshelf::watch::ZoteroWatcher::start(dir, medshelf::watch::ZOTERO_SETTLE, move || {
                if let Some(engine) = engine.upgrade() {
                    engine.reimport_zotero();
                }
            });
        match started {
            Ok(w) => *watch = Some(w),
            Err(e) => eprintln!("medshelf-app: cannot follow Zotero's folder: {e}"),
        }
    }

    /// Imports the library's Zotero folder again as a quiet job: only what changed is told.
    /// A database that cannot be read now (Zotero in the middle of something) is tried again
    /// at its next write.
    pub fn reimport_zotero(&self) {
        let Some(source) = self
            .searcher()
            .ok()
            .and_then(|s| s.zotero_source().ok().flatten())
        else {
            return;
        };
        let home = dirs::home_dir().unwrap_or_default();
        let prefs = medshelf::zotero::Prefs::load(&home);
        if let Ok(queue) = self.queue() {
            if let Err(e) = queue.reimport_zotero(&source.dir, &prefs) {
                eprintln!("medshelf-app: Zotero changed but could not be read: {e}");
            }
        }
    }

    fn publish(&self, library: &Library) {
        match library.searcher() {
            Ok(s) => *write(&self.searcher) = Some(Arc::new(s)),
            Err(e) => *write(&self.open_error) = Some(e.into()),
        }
    }

    /// The searcher, or why there is none; waits for the library's opening to end (at most
    /// [`OPEN_PATIENCE`]).
    pub fn searcher(&self) -> Result<Arc<Searcher>, Problem> {
        let opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        let (opened, _) = self
            .opened_now
            .wait_timeout_while(opened, OPEN_PATIENCE, |done| !*done)
            .unwrap_or_else(|p| p.into_inner());
        drop(opened);
        if let Some(s) = read(&self.searcher).as_ref() {
            return Ok(s.clone());
        }
        Err(read(&self.open_error).clone().unwrap_or_else(|| {
            let message = match *read(&self.upgrading) {
                Some(_) => {
                    "the library is being upgraded to this version's format (once; a minute or \
                     more on a large library)"
                }
                None => "the library is still opening",
            };
            Problem::new("opening", Fault::Machine, message)
        }))
    }

    /// The writer's queue, or why there is none.
    pub fn queue(&self) -> Result<Arc<Queue>, Problem> {
        self.searcher()?;
        read(&self.queue)
            .clone()
            .ok_or_else(|| medshelf::Error::WriterStopped.into())
    }

    /// Why the model is not in use, where one was found but could not be used.
    pub fn model_error(&self) -> Option<String> {
        read(&self.model_error).clone()
    }

    /// The folders followed for changes now.
    pub fn watching(&self) -> Vec<PathBuf> {
        self.queue().map(|q| q.watching()).unwrap_or_default()
    }

    /// Whether a job is running.
    pub fn busy(&self) -> bool {
        self.queue().is_ok_and(|q| q.busy())
    }

    /// Stops the running job after its current file and drops the queued ones.
    pub fn cancel(&self) {
        if let Ok(q) = self.queue() {
            q.cancel();
        }
    }

    /// Sends an `ingest` event to the page, numbered and kept for a replay ([`Feed::record`]).
    pub fn emit(&self, app: &AppHandle, event: Ingest) {
        // Sent under the feed's lock, so that the page receives events in their numbers' order
        // (it skips a number it has seen).
        let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = feed.record(&event) {
            let _ = app.emit(INGEST_EVENT, value);
        }
    }

    /// The current batch's events, oldest first; see [`Engine::emit`].
    pub fn ingest_log(&self) -> Vec<serde_json::Value> {
        let feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        feed.log().to_vec()
    }

    /// Finds every PDF under `paths`, announces them (`queued`, so that the page knows the
    /// total before the bar moves) and queues the job. Returns the job and the files.
    pub fn queue_found(
        &self,
        app: &AppHandle,
        paths: Vec<PathBuf>,
        retry_failed: bool,
    ) -> Result<(JobId, Vec<PathBuf>), Problem> {
        let mut files = Vec::new();
        for found in medshelf::extract::find_pdfs(&paths) {
            files.push(found?);
        }
        let queue = self.queue()?;
        let job = queue.reserve();
        // Announced before it is queued: the writer's first event for it comes after.
        let index = Job::Index {
            paths,
            retry_failed,
            quiet: false,
        };
        self.announce_and_submit(app, &queue, job, files.clone(), index)?;
        Ok((job, files))
    }

    /// Announces a job's files (`queued`, before the writer's first event for it), then queues
    /// it as `job`; a job the writer cannot take ends at once with the problem.
    fn announce_and_submit(
        &self,
        app: &AppHandle,
        queue: &Queue,
        job: JobId,
        files: Vec<PathBuf>,
        work: Job,
    ) -> Result<(), Problem> {
        self.emit(app, Ingest::Queued { job, files });
        queue.submit_as(job, work).map_err(|e| {
            let problem = Problem::from(&e);
            self.emit(
                app,
                Ingest::Error {
                    job,
                    error: e.to_string(),
                    problem: problem.clone(),
                },
            );
            problem
        })
    }

    /// Announces the PDFs of a Zotero library read beforehand (`queued`, as for a drop) and
    /// imports it; waits for the import and returns what it did.
    pub fn import_zotero(
        &self,
        app: &AppHandle,
        snapshot: medshelf::zotero::Snapshot,
    ) -> Result<medshelf::library::ZoteroSummary, Problem> {
        let files = snapshot.files();
        let queue = self.queue()?;
        let job = queue.reserve();
        let (reply, answer) = std::sync::mpsc::channel();
        let import = Job::ImportZotero {
            snapshot: Box::new(snapshot),
            reply,
            quiet: false,
        };
        self.announce_and_submit(app, &queue, job, files, import)?;
        answer
            .recv()
            .map_err(|_| Problem::from(medshelf::Error::WriterStopped))?
    }

    /// Sends the writer a job that answers, and waits for the answer.
    pub fn ask<T>(
        &self,
        job: impl FnOnce(std::sync::mpsc::Sender<medshelf::Result<T>>) -> Job,
    ) -> Result<T, Problem> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.queue()?.submit(job(tx))?;
        Ok(rx.recv().map_err(|_| medshelf::Error::WriterStopped)??)
    }

    /// A model download's progress, for [`Job::FetchModel`].
    pub fn download_progress(self: &Arc<Self>, app: &AppHandle) -> Box<dyn FetchProgress + Send> {
        Box::new(Download {
            engine: self.clone(),
            app: app.clone(),
            state: Mutex::new((String::new(), 0, 0, std::time::Instant::now())),
        })
    }
}

/// What the writer reports, as `ingest` events.
struct AppReport {
    engine: Arc<Engine>,
    app: AppHandle,
}

impl Report for AppReport {
    fn event(&self, job: JobId, event: &IndexEvent<'_>) {
        let file = |path: &std::path::Path, state| FileState::new(job, path, state);
        let payload = match event {
            IndexEvent::Started { files } => Ingest::Started { job, files: *files },
            IndexEvent::FileStarted { path } => file(path, "extracting").into(),
            IndexEvent::Embedding {
                path,
                pages,
                chunks,
            } => file(path, "embedding").counted(*pages, *chunks),
            IndexEvent::Ocr { path, progress } => {
                file(path, "ocr").ocr(progress.done as usize + 1, progress.pages as usize)
            }
            IndexEvent::Removed { path } => file(path, "removed").into(),
            IndexEvent::Watching { .. } => return,
            IndexEvent::Tidying(step) => Ingest::Tidying { job, step: *step },
            IndexEvent::Backfill {
                done,
                total,
                papers_done,
                papers,
            } => Ingest::Backfill {
                job,
                done: *done,
                total: *total,
                papers_done: *papers_done,
                papers: *papers,
            },
            IndexEvent::FileDone { path, outcome } => match outcome {
                FileOutcome::Indexed { pages, chunks } => {
                    file(path, "indexed").counted(*pages, *chunks)
                }
                FileOutcome::Unchanged => file(path, "unchanged").into(),
                FileOutcome::Failed { error, code } => file(path, "failed").failed(error, code),
            },
        };
        self.engine.emit(&self.app, payload);
    }

    fn finished(&self, job: JobId, outcome: Outcome) {
        let event = match outcome {
            Outcome::Nothing => return,
            Outcome::Done(summary) => Ingest::Finished { job, summary },
            // A watch that could not start is the status line's to tell, not a job's.
            Outcome::Failed(e) if job == 0 => return eprintln!("medshelf-app: {e}"),
            Outcome::Failed(e) => Ingest::Error {
                job,
                error: e.to_string(),
                problem: Problem::from(&e),
            },
        };
        self.engine.emit(&self.app, event);
    }

    fn reopened(&self, library: &Library) {
        if library.model().is_some() {
            *write(&self.engine.model_error) = None;
        }
        self.engine.publish(library);
        self.engine.emit(&self.app, Ingest::Reloaded);
    }
}

/// Sends a model download's progress to the page, at most five times a second.
struct Download {
    engine: Arc<Engine>,
    app: AppHandle,
    /// The file, its bytes so far, its size, and when the page last heard.
    state: Mutex<(String, u64, u64, std::time::Instant)>,
}

impl FetchProgress for Download {
    fn file(&self, name: &str, size: u64, from: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = (name.to_string(), from, size, std::time::Instant::now());
        let event = Ingest::Download {
            file: s.0.clone(),
            done: from,
            size,
        };
        self.engine.emit(&self.app, event);
    }

    fn bytes(&self, n: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.1 += n;
        if s.3.elapsed() >= std::time::Duration::from_millis(200) || s.1 == s.2 {
            s.3 = std::time::Instant::now();
            let event = Ingest::Download {
                file: s.0.clone(),
                done: s.1,
                size: s.2,
            };
            self.engine.emit(&self.app, event);
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
        let worker = medshelf::extract::WorkerExtractor::new(exe, &[WORKER_ARG])
            .with_workers(medshelf::extract::default_workers());
        library.set_extractor(Box::new(worker));
    }
}

/// A poisoned lock only means another thread panicked while holding it; the value is intact.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
