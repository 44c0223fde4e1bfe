//! What the writer is asked to do, what it tells the face, and how a job's progress reaches it.

use std::path::PathBuf;
use std::sync::mpsc::Sender;

use crate::error::{Error, Result};
use crate::library::Offered;
use crate::models::fetch::{FetchProgress, FetchRequest};
use crate::{FileOutcome, IndexEvent, IndexSummary, Library, Sink};

/// A job's number: the face matches progress to the request that caused it.
pub type JobId = u64;

/// What the writer is asked to do.
pub enum Job {
    /// Index these files and folders.
    Index {
        /// Files and folders.
        paths: Vec<PathBuf>,
        /// Read again files that failed before.
        retry_failed: bool,
        /// Report only what changed (new, failed, removed files): a catch-up or watcher run
        /// over folders already indexed, where "unchanged" for every paper would be noise,
        /// and where a run that changed nothing reports nothing at all.
        quiet: bool,
    },
    /// Forget paths that are gone from disk (the watcher saw them go); quiet like a watcher's
    /// index run.
    Forget {
        /// Files or folders.
        paths: Vec<PathBuf>,
    },
    /// Take files (or folders) out of the library; the files stay on disk.
    Remove {
        /// Files or folders.
        paths: Vec<PathBuf>,
        /// Where the paths removed go.
        reply: Sender<Result<Vec<PathBuf>>>,
    },
    /// Correct a paper's record ([`Library::correct`]): `set` replaces fields, `reset`
    /// takes corrections back.
    Correct {
        /// The paper.
        path: PathBuf,
        /// The fields set.
        set: Vec<crate::metadata::Edit>,
        /// The fields whose correction is taken back.
        reset: Vec<&'static str>,
        /// Where the record as now shown goes.
        reply: Sender<Result<crate::metadata::Record>>,
    },
    /// Import a Zotero library read beforehand ([`Library::import_zotero`]), with the
    /// progress of an index run; `reply` hears what the import did.
    ImportZotero {
        /// The library as read (files counted, so that the face can announce them first).
        snapshot: Box<crate::zotero::Snapshot>,
        /// Where the summary goes (or the problem, which the job's end reports too).
        reply: Sender<std::result::Result<crate::library::ZoteroSummary, crate::Problem>>,
        /// Report only what changed (a re-import after Zotero wrote its database); an import
        /// that changed nothing reports nothing.
        quiet: bool,
    },
    /// Install a model folder the person picked and offer it to the library
    /// ([`Library::offer_model`]); passages waiting for vectors get them after.
    ImportModel {
        /// The folder.
        dir: PathBuf,
        /// Where the outcome goes.
        reply: Sender<Result<Offered>>,
    },
    /// Download a model, verified, and offer it to the library.
    FetchModel {
        /// What to download.
        request: FetchRequest,
        /// Where the download's progress goes.
        progress: Box<dyn FetchProgress + Send>,
        /// Where the outcome goes.
        reply: Sender<Result<Offered>>,
    },
    /// Switch the library to the installed model `name`, re-embedding every passage as a job
    /// of its own; `reply` hears once the model loads (or why it does not).
    UseModel {
        /// The installed model's name.
        name: String,
        /// Where the outcome of loading it goes.
        reply: Sender<Result<()>>,
    },
}

impl Job {
    /// Whether the person asked for it (not the watcher or a Zotero re-import), so that a
    /// backfill they cancelled may start again after it.
    pub(super) fn resumes_backfill(&self) -> bool {
        match self {
            Job::Index { quiet, .. } | Job::ImportZotero { quiet, .. } => !quiet,
            Job::Forget { .. } | Job::Remove { .. } | Job::Correct { .. } => false,
            Job::ImportModel { .. } | Job::FetchModel { .. } | Job::UseModel { .. } => true,
        }
    }
}

/// What a job came to.
#[derive(Debug)]
pub enum Outcome {
    /// It ran (to the end, or cancelled part-way: the summary says).
    Done(IndexSummary),
    /// A quiet job that changed nothing: there is nothing to tell.
    Nothing,
    /// It could not run (the library is locked by another process, the disk is full).
    Failed(Error),
}

/// How the writer tells a face what happens; called on the writer's thread.
pub trait Report: Send + Sync {
    /// Progress of `job`.
    fn event(&self, job: JobId, event: &IndexEvent<'_>);
    /// `job` ended.
    fn finished(&self, job: JobId, outcome: Outcome);
    /// The library searches differently now (a model was taken into use or switched to):
    /// searchers made before keep the old model.
    fn reopened(&self, _library: &Library) {}
}

/// What an index run came to. A quiet run (a catch-up, the watcher's) that changed nothing has
/// nothing to tell: a face would refresh its results for nothing.
pub(super) fn outcome(ran: Result<IndexSummary>, quiet: bool) -> Outcome {
    match ran {
        Ok(s) if quiet && s.indexed + s.failed + s.removed == 0 && !s.cancelled => Outcome::Nothing,
        Ok(s) => Outcome::Done(s),
        Err(e) => Outcome::Failed(e),
    }
}

/// A job's progress on its way to the face; a quiet job's "started" and "unchanged" events
/// are left out.
pub(super) struct Progress<'a> {
    pub(super) report: &'a dyn Report,
    pub(super) job: JobId,
    pub(super) quiet: bool,
}

impl Sink for Progress<'_> {
    fn event(&self, event: &IndexEvent<'_>) {
        let noise = matches!(
            event,
            IndexEvent::Started { .. }
                | IndexEvent::FileStarted { .. }
                | IndexEvent::FileDone {
                    outcome: FileOutcome::Unchanged,
                    ..
                }
        );
        if !(self.quiet && noise) {
            self.report.event(self.job, event);
        }
    }
}
