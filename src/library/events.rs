//! The progress contract of an index run: what happens to each file ([`IndexEvent`], to a
//! [`Sink`]) and what the run did in all ([`IndexSummary`]). Both faces render these: the CLI as a
//! progress bar and JSON, the app as the page's ingest events.

use std::path::{Path, PathBuf};

/// What happened to one file in an index run.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FileOutcome {
    /// Read and indexed.
    Indexed {
        /// Its pages.
        pages: usize,
        /// Passages it was cut into.
        chunks: usize,
    },
    /// Already indexed with this content (possibly under another path): nothing to do.
    Unchanged,
    /// Could not be read.
    Failed {
        /// Why, in words a person can act on.
        error: String,
        /// A stable code for the reason.
        code: String,
    },
}

/// Progress of an index run, as it happens.
#[derive(Debug)]
pub enum IndexEvent<'a> {
    /// The run found this many files.
    Started {
        /// Files to look at.
        files: usize,
    },
    /// A file is being looked at.
    FileStarted {
        /// The file.
        path: &'a Path,
    },
    /// A file the library held is gone from disk (or was removed) and was forgotten.
    Removed {
        /// The file.
        path: &'a Path,
    },
    /// The watcher caught up and now follows these folders.
    Watching {
        /// The folders.
        folders: &'a [PathBuf],
    },
    /// A file's text is read and cut into passages; embedding them starts now.
    Embedding {
        /// The file.
        path: &'a Path,
        /// Its pages.
        pages: usize,
        /// Its passages.
        chunks: usize,
    },
    /// Passages stored without vectors (the second phase of an index run, or passages
    /// indexed before a model was installed) are being embedded: `done` of `total` so far.
    Backfill {
        /// Passages embedded so far.
        done: u64,
        /// Passages that had no vector when the backfill started.
        total: u64,
        /// Papers whose every passage now has its vector (of those waiting at the start):
        /// searchable by meaning.
        papers_done: u64,
        /// Papers that waited for vectors when the backfill started.
        papers: u64,
    },
    /// OCR starts a page of a scanned file: `done` of `pages` pages that need it are read.
    Ocr {
        /// The file.
        path: &'a Path,
        /// Where its OCR stands.
        progress: crate::extract::OcrProgress,
    },
    /// A file is done.
    FileDone {
        /// The file.
        path: &'a Path,
        /// What happened.
        outcome: &'a FileOutcome,
    },
    /// The run starts a step of its own that belongs to no file and can take a while on a
    /// large library; it lasts until the next event.
    Tidying(Tidying),
}

/// A step of an index run that belongs to no file: each is silent work of seconds to a minute
/// on a library of a million passages, which a progress line should name rather than stand
/// still through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Tidying {
    /// The abbreviations of `papers` papers are mined again from their stored pages (a newer
    /// miner came with this version; once).
    Remining {
        /// Papers mined again.
        papers: u64,
    },
    /// The keyword index's `segments` segments are merged into at most `into`, for quicker
    /// searches (the end of a run that added many papers).
    Merging {
        /// Segments before the merge.
        segments: usize,
        /// Segments after it, at most.
        into: usize,
        /// Passages in the index.
        passages: u64,
    },
}

/// Receives progress: the CLI draws a bar from it, the app sends events to the page.
pub trait Sink: Sync {
    /// Called for each event, in order, from the indexing thread.
    fn event(&self, event: &IndexEvent<'_>);
}

/// A sink that ignores everything.
pub struct NoSink;

impl Sink for NoSink {
    fn event(&self, _: &IndexEvent<'_>) {}
}

/// Where an index run spent its time, in seconds.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StageTimes {
    /// Hashing files to see what changed.
    pub hash: f64,
    /// PDF to text.
    pub extract: f64,
    /// Text to passages (tokenising included).
    pub chunk: f64,
    /// Passages to vectors.
    pub embed: f64,
    /// Catalog and index writes, commits included.
    pub write: f64,
}

/// What an index run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IndexSummary {
    /// Files read and indexed.
    pub indexed: usize,
    /// Files already indexed with the same content.
    pub unchanged: usize,
    /// Files that could not be read.
    pub failed: usize,
    /// Files under the given folders that had vanished from disk and were forgotten.
    pub removed: usize,
    /// Each failure, with its reason.
    pub failures: Vec<FailedFile>,
    /// Pages read.
    pub pages: usize,
    /// Passages made.
    pub chunks: usize,
    /// Whether the run was cancelled before the end.
    pub cancelled: bool,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// Seconds from the run's start until every paper it read was stored and committed,
    /// searchable by keywords (the first phase; the rest of `seconds` went to embedding).
    pub keywords_seconds: f64,
    /// Passages of the whole library that still wait for their vectors when the run ends,
    /// where there is a model (an [`Embedding::Later`] run; the app's writer embeds them next,
    /// unless the person cancelled).
    pub vectors_waiting: u64,
    /// The file that took longest, and how long (seconds), where any file was looked at: from
    /// its start to its end, so with a model it includes waiting for its passages' batch.
    #[serde(serialize_with = "lossy_slowest")]
    pub slowest: Option<(PathBuf, f64)>,
    /// The file that took longest to read (hash, text, passages; not embedding), and how long
    /// (seconds): where a slow or hostile PDF shows.
    #[serde(serialize_with = "lossy_slowest")]
    pub slowest_read: Option<(PathBuf, f64)>,
    /// Time per stage.
    pub stages: StageTimes,
}

/// The slowest file as `[path, seconds]`, its path shown lossily where it is not UTF-8.
fn lossy_slowest<S: serde::Serializer>(
    v: &Option<(PathBuf, f64)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    v.as_ref()
        .map(|(path, secs)| (path.to_string_lossy(), secs))
        .serialize(s)
}

/// How an index run treats files.
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexOptions {
    /// Read again the files that failed before, though they did not change.
    pub retry_failed: bool,
    /// When the passages stored get their vectors.
    pub embedding: Embedding,
    /// Leave scanned pages unread (`index --no-ocr`); OCR runs where it is installed and
    /// `MEDSHELF_OCR` is not `off`.
    pub no_ocr: bool,
}

impl IndexOptions {
    /// Whether this run recognises scanned pages.
    pub fn ocr(&self) -> bool {
        !self.no_ocr && !crate::settings::get().ocr_off
    }
}

/// When an index run embeds the passages it stores (issue 18's two-phase ingest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Embedding {
    /// Each paper is stored as soon as it is read, searchable by keywords within seconds;
    /// once every paper of the run is stored, their passages are embedded, committed as they
    /// go, so that meaning search covers each paper as its vectors land (the default: the
    /// first phase is minutes for a thousand papers, the second the better part of an hour).
    #[default]
    After,
    /// Papers are embedded in groups before they are stored: searchable by keywords and
    /// meaning at once, later (what index runs did before; kept for measuring).
    Inline,
    /// Not in this run: the passages wait for vectors, which a backfill
    /// ([`Library::embed_missing`]) gives them, as the app's writer does between its jobs.
    Later,
}

/// A file that could not be indexed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedFile {
    /// The file.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub path: PathBuf,
    /// Why.
    pub error: String,
}
