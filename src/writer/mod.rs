//! The single writer: one thread owns the library for writing and works through a queue of
//! jobs (index, forget, remove, install, download or switch a model), one at a time, in the
//! order they came. Both faces submit to it: the app's commands and the CLI's `watch`, and the
//! folder watcher of either, so that a change seen on disk never races a run the person
//! started. Searches never wait for it: they go through a [`crate::library::Searcher`], which
//! sees each paper as soon as it is committed.
//!
//! A cancel stops the running index job after its current file and drops every index job
//! queued before it (an epoch: jobs carry the epoch they were queued in); model jobs the person
//! asked for still run. Between jobs the writer gives the
//! library's write lock back, so that `medshelf index` can run beside a long-lived app.
//!
//! Index jobs store papers without vectors (the first phase of issue 18's two-phase ingest:
//! searchable by keywords within seconds), then embed what waits for vectors within the same
//! job (the second phase), stopping between batches as soon as another job is queued: a paper
//! dropped while a thousand are being embedded is searchable by keywords as soon as it is
//! read, not after the thousand, and the next index job (or, when the queue is empty, a job of
//! the writer's own) embeds the rest. A cancel holds the second phase back until the person's
//! next job.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, Weak};

use crate::error::{Error, Result};
use crate::library::{Embedding, IndexOptions, Offered, Switch};
use crate::watch::{Changes, FolderWatcher};
use crate::{BertEmbedder, Embedder, IndexEvent, IndexSummary, Library};

mod backfill;
mod jobs;

use jobs::{outcome, Progress};
pub use jobs::{Job, JobId, Outcome, Report};

/// A job in the queue.
struct Queued {
    id: JobId,
    /// The cancel epoch it was queued in.
    epoch: u64,
    job: Job,
}

/// What the queue's handles and the writer share.
struct Shared {
    next: AtomicU64,
    /// Bumped by each cancel: jobs queued before it are dropped unrun.
    epoch: AtomicU64,
    /// Stops the running job after its current file.
    cancel: AtomicBool,
    busy: AtomicBool,
    /// Jobs queued and not yet taken: a backfill stops for them.
    waiting: AtomicU64,
    /// The folders followed for changes now.
    watching: Mutex<Vec<PathBuf>>,
}

/// The handle jobs are submitted through; shared by every thread that submits. When the last
/// one is dropped, the writer finishes its queue and returns.
pub struct Queue {
    jobs: Mutex<Sender<Queued>>,
    shared: Arc<Shared>,
}

impl Queue {
    /// A number for a job announced before it is submitted ([`Queue::submit_as`]): a face
    /// that tells the person what was queued before the writer starts on it.
    pub fn reserve(&self) -> JobId {
        self.shared.next.fetch_add(1, Ordering::SeqCst)
    }

    /// Queues a job; returns its number.
    pub fn submit(&self, job: Job) -> Result<JobId> {
        let id = self.reserve();
        self.submit_as(id, job)?;
        Ok(id)
    }

    /// Queues a job under a number from [`Queue::reserve`].
    pub fn submit_as(&self, id: JobId, job: Job) -> Result<()> {
        let epoch = self.shared.epoch.load(Ordering::SeqCst);
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Queued { id, epoch, job });
        if sent.is_err() {
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        sent.map_err(|_| Error::WriterStopped)
    }

    /// Stops the running job after its current file and drops every index job queued before.
    pub fn cancel(&self) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.cancel.store(true, Ordering::SeqCst);
    }

    /// Reads the Zotero folder `dir` again and queues a quiet import of it (Zotero wrote its
    /// database): only what changed is told.
    pub fn reimport_zotero(&self, dir: &Path, prefs: &crate::zotero::Prefs) -> Result<JobId> {
        let snapshot = crate::zotero::read(dir, prefs)?;
        // Nobody waits for the answer: the job's report tells what changed.
        let (reply, _) = std::sync::mpsc::channel();
        self.submit(Job::ImportZotero {
            snapshot: Box::new(snapshot),
            reply,
            quiet: true,
        })
    }

    /// Whether a job is running.
    pub fn busy(&self) -> bool {
        self.shared.busy.load(Ordering::SeqCst)
    }

    /// The folders followed for changes now, sorted.
    pub fn watching(&self) -> Vec<PathBuf> {
        self.shared
            .watching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Turns a settled batch of file-system changes into jobs: gone paths forgotten, present
    /// ones indexed, lost events healed by a catch-up over every followed folder.
    fn changed(&self, changes: Changes) {
        if !changes.gone.is_empty() {
            let _ = self.submit(Job::Forget {
                paths: changes.gone,
            });
        }
        let paths = match changes.overflowed {
            true => self.watching(),
            false => changes.present,
        };
        if !paths.is_empty() {
            let _ = self.submit(Job::Index {
                paths,
                retry_failed: false,
                quiet: true,
            });
        }
    }
}

/// What a writer follows for changes.
#[derive(Debug, Clone)]
pub struct Following {
    /// The folders to catch up with and follow from the start.
    pub folders: Vec<PathBuf>,
    /// Also follow every folder the library holds after each index run (the app, which
    /// follows the library); without, only `folders` (`medshelf watch FOLDER`).
    pub library_folders: bool,
    /// Fail [`Writer::run`] where the folders cannot be followed at all (a command that exists
    /// to follow them); without, say so and work on (the app, whose search does not need it).
    pub strict: bool,
}

/// The writer: runs the queue's jobs on the thread that calls [`Writer::run`].
pub struct Writer {
    library: Library,
    jobs: Receiver<Queued>,
    shared: Arc<Shared>,
    /// Keep the library's write lock between jobs (see [`Writer::holding_the_lock`]).
    hold: bool,
    /// The second phase waits for the person's next job: they cancelled it (or the job it
    /// followed), or it failed.
    paused: bool,
}

/// A queue and the writer that works through it, over `library`.
pub fn writer(library: Library) -> (Arc<Queue>, Writer) {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        next: AtomicU64::new(1),
        epoch: AtomicU64::new(0),
        cancel: AtomicBool::new(false),
        busy: AtomicBool::new(false),
        waiting: AtomicU64::new(0),
        watching: Mutex::new(Vec::new()),
    });
    let queue = Arc::new(Queue {
        jobs: Mutex::new(tx),
        shared: shared.clone(),
    });
    let writer = Writer {
        library,
        jobs: rx,
        shared,
        hold: false,
        paused: false,
    };
    (queue, writer)
}

impl Writer {
    /// Keeps the library's write lock for as long as the writer runs, instead of giving it back
    /// between jobs: `medshelf watch`, a process that exists to keep the library in step, is the
    /// library's writer, and another `medshelf index` is told so. The app gives the lock back
    /// when idle, so that the command line can index beside it.
    pub fn holding_the_lock(mut self) -> Self {
        self.hold = true;
        self
    }

    /// Works through the queue until every [`Queue`] is dropped. With `follow`, its folders
    /// are followed for changes (the watcher's batches become quiet jobs on this queue) and
    /// caught up with first: what changed while nobody watched. Following starts before the
    /// catch-up, so that nothing that happens during it is missed. After the catch-up,
    /// `report` hears [`IndexEvent::Watching`]. Returns an error only where `follow` is strict
    /// and the folders cannot be followed at all.
    pub fn run(
        mut self,
        queue: Weak<Queue>,
        follow: Option<Following>,
        report: &dyn Report,
    ) -> Result<()> {
        let mut watcher = None;
        let mut catch_up = None;
        let mut library_folders = false;
        if let Some(following) = follow {
            library_folders = following.library_folders;
            match self.watch(queue.clone(), &following.folders) {
                Ok(w) => watcher = Some(w),
                Err(e) if following.strict => return Err(e),
                Err(e) => report.finished(0, Outcome::Failed(e)),
            }
            let q = queue.upgrade().filter(|_| !following.folders.is_empty());
            if let Some(q) = q {
                let index = Job::Index {
                    paths: following.folders.clone(),
                    retry_failed: false,
                    quiet: true,
                };
                catch_up = q.submit(index).ok().map(|id| (id, following.folders));
            }
        }
        drop(queue);
        // Folders that could not be followed: said once (job 0, which a face logs), not after
        // every job.
        let mut unfollowable = HashSet::new();
        loop {
            let next = match self.jobs.try_recv() {
                Ok(queued) => queued,
                Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {
                    // Passages left waiting (a backfill that stopped for a job that was not an
                    // index run, an earlier session's): embedded as a job of their own.
                    if !self.paused && self.backfill_due() {
                        self.shared.busy.store(true, Ordering::SeqCst);
                        let id = self.shared.next.fetch_add(1, Ordering::SeqCst);
                        self.backfill_job(id, report);
                        if !self.hold {
                            self.library.release_writer();
                        }
                        self.shared.busy.store(false, Ordering::SeqCst);
                        continue;
                    }
                    match self.jobs.recv() {
                        Ok(queued) => queued,
                        Err(_) => break,
                    }
                }
            };
            let Queued { id, epoch, job } = next;
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
            self.shared.busy.store(true, Ordering::SeqCst);
            self.paused &= !job.resumes_backfill();
            let indexed = matches!(job, Job::Index { .. });
            self.job(id, epoch, job, report);
            // A cancel (during the job, or since) holds the second phase back too.
            self.paused |= self.shared.cancel.load(Ordering::SeqCst);
            if let (true, true, Some(w)) = (indexed, library_folders, watcher.as_mut()) {
                self.follow(w, &mut unfollowable, report);
            }
            if let Some((_, folders)) = catch_up.take_if(|(c, _)| *c == id) {
                report.event(id, &IndexEvent::Watching { folders: &folders });
            }
            // Idle, the library is free for another MedShelf (the CLI, a second window).
            if !self.hold {
                self.library.release_writer();
            }
            self.shared.busy.store(false, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Starts the folder watcher (ignoring the library's own folder, which may sit inside a
    /// followed one) and follows `folders`.
    fn watch(&self, queue: Weak<Queue>, folders: &[PathBuf]) -> Result<FolderWatcher> {
        let ignore = vec![std::path::absolute(self.library.dir())
            .unwrap_or_else(|_| self.library.dir().to_path_buf())];
        let mut watcher = FolderWatcher::start(ignore, move |changes| {
            if let Some(q) = queue.upgrade() {
                q.changed(changes);
            }
        })?;
        for folder in folders {
            watcher.follow(folder)?;
        }
        self.set_watching(&watcher);
        Ok(watcher)
    }

    /// Follows every folder the library holds (new ones after an index run); one that cannot
    /// be followed is said once.
    fn follow(
        &self,
        watcher: &mut FolderWatcher,
        unfollowable: &mut HashSet<PathBuf>,
        report: &dyn Report,
    ) {
        let Ok(folders) = self.library.folders() else {
            return;
        };
        for folder in &folders {
            if unfollowable.contains(folder) {
                continue;
            }
            if let Err(e) = watcher.follow(folder) {
                unfollowable.insert(folder.clone());
                report.finished(0, Outcome::Failed(e));
            }
        }
        self.set_watching(watcher);
    }

    fn set_watching(&self, watcher: &FolderWatcher) {
        *self
            .shared
            .watching
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = watcher.followed();
    }

    /// Runs one job, unless it indexes and a cancel since it was queued drops it. A cancel
    /// stops indexing: a model job the person asked for meanwhile runs, with a fresh flag.
    fn job(&mut self, id: JobId, epoch: u64, job: Job, report: &dyn Report) {
        let cancelled = epoch != self.shared.epoch.load(Ordering::SeqCst);
        if !cancelled || !matches!(job, Job::Index { .. }) {
            self.shared.cancel.store(false, Ordering::SeqCst);
        }
        match job {
            Job::Index { quiet, .. } if cancelled => {
                let summary = IndexSummary {
                    cancelled: true,
                    ..Default::default()
                };
                report.finished(
                    id,
                    if quiet {
                        Outcome::Nothing
                    } else {
                        Outcome::Done(summary)
                    },
                );
            }
            Job::Index {
                paths,
                retry_failed,
                quiet,
            } => {
                let sink = Progress {
                    report,
                    job: id,
                    quiet,
                };
                // The papers are stored first, then embedded within the same job (so that the
                // face sees one job through both phases), by a backfill that stops for the
                // next job queued and resumes after it.
                let options = IndexOptions {
                    retry_failed,
                    embedding: Embedding::Later,
                    ..Default::default()
                };
                let mut ran = self
                    .library
                    .index_with(&paths, options, &sink, &self.shared.cancel);
                let mut embedded = 0;
                if let Ok(summary) = ran.as_mut() {
                    if !summary.cancelled
                        && !self.paused
                        && self.shared.waiting.load(Ordering::SeqCst) == 0
                        && self.backfill_due()
                    {
                        let t = std::time::Instant::now();
                        match self.backfill(&sink) {
                            Ok(done) => embedded = done,
                            // The papers are in; their vectors wait, and the failure is told
                            // apart from the index run, which succeeded.
                            Err(e) => {
                                let own = self.shared.next.fetch_add(1, Ordering::SeqCst);
                                report.finished(own, Outcome::Failed(e));
                            }
                        }
                        summary.stages.embed += t.elapsed().as_secs_f64();
                        summary.cancelled =
                            self.paused && self.shared.cancel.load(Ordering::SeqCst);
                        summary.vectors_waiting = self.library.waiting_for_vectors().unwrap_or(0);
                    }
                }
                let outcome = match outcome(ran, quiet) {
                    // A quiet run that read nothing new but embedded what waited has something
                    // to tell: the face saw its progress.
                    Outcome::Nothing if embedded > 0 => Outcome::Done(IndexSummary {
                        chunks: embedded as usize,
                        ..Default::default()
                    }),
                    other => other,
                };
                report.finished(id, outcome);
            }
            Job::Forget { paths } => self.forget(id, &paths, report),
            Job::ImportZotero {
                snapshot,
                reply,
                quiet,
            } => {
                let sink = Progress {
                    report,
                    job: id,
                    quiet,
                };
                match self
                    .library
                    .import_zotero(&snapshot, &sink, &self.shared.cancel)
                {
                    Ok(summary) => {
                        let i = &summary.index;
                        let changed =
                            summary.imported + summary.removed + i.indexed + i.failed + i.removed;
                        let outcome = if quiet && changed == 0 {
                            Outcome::Nothing
                        } else {
                            Outcome::Done(summary.index.clone())
                        };
                        report.finished(id, outcome);
                        let _ = reply.send(Ok(summary));
                    }
                    Err(e) => {
                        let problem = crate::Problem::from(&e);
                        report.finished(id, Outcome::Failed(e));
                        let _ = reply.send(Err(problem));
                    }
                }
            }
            Job::Remove { paths, reply } => {
                let _ = reply.send(self.library.remove(&paths));
            }
            Job::Correct {
                path,
                set,
                reset,
                reply,
            } => {
                let _ = reply.send(self.library.correct(&path, &set, &reset));
            }
            Job::UseModel { name, reply } => self.switch(id, &name, reply, report),
            Job::ImportModel { dir, reply } => {
                // The lock first, so that a library another process writes is said before the
                // model is copied in (and not left installed but unused).
                let offered = self
                    .library
                    .open_for_writing()
                    .and_then(|()| self.library.install_model(&dir))
                    .and_then(|m| self.library.offer_model(&m, false));
                self.offered(offered, reply, report);
            }
            Job::FetchModel {
                request,
                progress,
                reply,
            } => {
                let offered = match self.library.fetch_model(&request, progress.as_ref()) {
                    // Fetched before (a download that completed, then could not be taken into
                    // use): the verified copy is offered again rather than refused.
                    Err(Error::ModelInstalled { name, .. }) => self
                        .library
                        .installed_models()
                        .into_iter()
                        .find(|m| m.name == name && m.info.is_some())
                        .ok_or_else(|| Error::Model {
                            path: self.library.models_dir().join(&name),
                            message: "it is installed but does not load".into(),
                        }),
                    other => other,
                }
                .and_then(|m| self.library.offer_model(&m, true));
                self.offered(offered, reply, report);
            }
        }
    }

    /// Forgets paths the watcher saw go. Where the library knew none of them, nothing is told.
    fn forget(&mut self, id: JobId, paths: &[PathBuf], report: &dyn Report) {
        let outcome = match self.library.remove(paths) {
            Ok(removed) if removed.is_empty() => Outcome::Nothing,
            Ok(removed) => {
                for path in &removed {
                    report.event(id, &IndexEvent::Removed { path });
                }
                Outcome::Done(IndexSummary {
                    removed: removed.len(),
                    ..Default::default()
                })
            }
            Err(e) => Outcome::Failed(e),
        };
        report.finished(id, outcome);
    }

    /// Answers a model install or download, and embeds the passages that wait for vectors
    /// where the library now searches with the model (a job of its own, with progress).
    fn offered(
        &mut self,
        offered: Result<Offered>,
        reply: Sender<Result<Offered>>,
        report: &dyn Report,
    ) {
        let in_use = matches!(offered, Ok(Offered::InUse(_)));
        let _ = reply.send(offered);
        report.reopened(&self.library);
        if !in_use {
            return;
        }
        // Stops for a job queued meanwhile, like every backfill; the loop resumes it.
        let id = self.own_job();
        self.backfill_job(id, report);
    }

    /// Switches to the installed model `name`: the new vectors are made apart while searches
    /// keep the old model, then swapped in.
    fn switch(&mut self, id: JobId, name: &str, reply: Sender<Result<()>>, report: &dyn Report) {
        let path = self.library.models_dir().join(name);
        let next: Arc<dyn Embedder> = match BertEmbedder::load(&path) {
            Ok(e) => Arc::new(e),
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let _ = reply.send(Ok(()));
        let sink = Progress {
            report,
            job: id,
            quiet: false,
        };
        let outcome = match self.library.switch_model(next, &sink, &self.shared.cancel) {
            Ok(switch) => Outcome::Done(IndexSummary {
                cancelled: switch == Switch::Interrupted,
                ..Default::default()
            }),
            Err(e) => Outcome::Failed(e),
        };
        report.finished(id, outcome);
        report.reopened(&self.library);
    }

    /// A job the writer starts itself (the backfill after a model came): a number and a fresh
    /// cancel flag.
    fn own_job(&self) -> JobId {
        self.shared.cancel.store(false, Ordering::SeqCst);
        self.shared.next.fetch_add(1, Ordering::SeqCst)
    }

    /// The library the writer owns (for a face that checks it before the first job).
    pub fn library(&self) -> &Library {
        &self.library
    }
}
