//! The page's side of indexing: the `ingest` events it receives (a contract the page's
//! renderers are tested against), and the feed that numbers them and keeps the current
//! batch's for a page that starts listening late.

use std::path::PathBuf;

use medshelf::writer::JobId;
use medshelf::{IndexSummary, Problem, Tidying};
use serde::Serialize;

/// The event that carries indexing progress to the page.
pub const INGEST_EVENT: &str = "ingest";

/// Progress as the page receives it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ingest {
    /// Files were dropped or picked and wait their turn.
    Queued {
        job: JobId,
        /// Every PDF found under what was dropped.
        #[serde(serialize_with = "medshelf::paths::lossy_all")]
        files: Vec<PathBuf>,
    },
    /// A job started, looking at `files` files.
    Started { job: JobId, files: usize },
    /// One file moved on.
    File {
        job: JobId,
        #[serde(serialize_with = "medshelf::paths::lossy")]
        path: PathBuf,
        /// `extracting`, `ocr`, `embedding`, `indexed`, `unchanged`, `failed` or `removed`.
        state: &'static str,
        /// Its pages, once known (while in `ocr`: the pages that need OCR).
        #[serde(skip_serializing_if = "Option::is_none")]
        pages: Option<usize>,
        /// While in `ocr`: the page OCR reads now, counted among `pages` (1 to `pages`).
        #[serde(skip_serializing_if = "Option::is_none")]
        ocr_page: Option<usize>,
        /// Its passages, once known.
        #[serde(skip_serializing_if = "Option::is_none")]
        chunks: Option<usize>,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The failure's stable code (`encrypted`, `no_text`, ...), which the page words by.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// Passages waiting for vectors are being embedded: `done` of `total`; `papers_done` of
    /// `papers` are searchable by meaning now (the second phase of an index run).
    Backfill {
        job: JobId,
        done: u64,
        total: u64,
        papers_done: u64,
        papers: u64,
    },
    /// The job starts a step that belongs to no file (abbreviations mined again, the keyword
    /// index merged): `step` names it, with its figures; it lasts until the job's next event.
    Tidying {
        job: JobId,
        #[serde(flatten)]
        step: Tidying,
    },
    /// A model download moved on: `done` bytes of `size` of `file`.
    Download { file: String, done: u64, size: u64 },
    /// A job ended (completely, or cancelled part-way).
    Finished { job: JobId, summary: IndexSummary },
    /// A job could not run at all (the library is locked by another MedShelf, the disk is full).
    Error {
        job: JobId,
        /// Why, in words a person can act on.
        error: String,
        /// The same as a typed problem: the page words and styles it by code and fault.
        problem: Problem,
    },
    /// The library changed in a way the page should reload (a model was switched).
    Reloaded,
}

/// The `ingest` events sent since the last batch began, numbered, so that a page that starts
/// listening after a job began (the papers given at launch start before the page loads)
/// replays them and then skips the ones it has already seen.
#[derive(Default)]
pub struct Feed {
    /// The last event's number.
    seq: u64,
    /// Jobs queued or running, as the page counts them.
    open: std::collections::HashSet<JobId>,
    /// The events since the last batch began.
    log: Vec<serde_json::Value>,
}

/// The most events kept for a replay; past it, only a batch's newest are (a page then shows
/// the batch's later files, never a wrong count: totals come from `queued`).
const FEED_LIMIT: usize = 100_000;

impl Feed {
    /// Numbers `event` and stamps it with the time (ms since the epoch, so that rates stay
    /// right when the page replays it later), and keeps it for a replay. A batch begins where
    /// files are queued while no job is open: the page clears its panel there, and the log
    /// starts again. Returns what the page receives.
    pub fn record(&mut self, event: &Ingest) -> Option<serde_json::Value> {
        self.seq += 1;
        let mut value = serde_json::to_value(event).ok()?;
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        value["seq"] = self.seq.into();
        value["at"] = at.into();
        match event {
            Ingest::Queued { job, .. } => {
                if self.open.is_empty() {
                    self.log.clear();
                }
                self.open.insert(*job);
            }
            Ingest::Started { job, .. } | Ingest::Backfill { job, .. } => {
                self.open.insert(*job);
            }
            Ingest::Finished { job, .. } | Ingest::Error { job, .. } => {
                self.open.remove(job);
            }
            _ => {}
        }
        // A download's progress is the model screen's, and only its latest state matters.
        if !matches!(event, Ingest::Download { .. }) {
            if self.log.len() >= FEED_LIMIT {
                self.log.drain(..FEED_LIMIT / 2);
            }
            self.log.push(value.clone());
        }
        Some(value)
    }

    /// The current batch's events, oldest first.
    pub fn log(&self) -> &[serde_json::Value] {
        &self.log
    }
}

/// One file's move, on its way to an [`Ingest::File`].
pub struct FileState {
    job: JobId,
    path: PathBuf,
    state: &'static str,
}

impl FileState {
    pub fn new(job: JobId, path: &std::path::Path, state: &'static str) -> Self {
        FileState {
            job,
            path: path.to_path_buf(),
            state,
        }
    }

    fn event(self, counts: Option<(usize, usize)>, failure: Option<(&str, &str)>) -> Ingest {
        Ingest::File {
            job: self.job,
            path: self.path,
            state: self.state,
            pages: counts.map(|c| c.0),
            ocr_page: None,
            chunks: counts.map(|c| c.1),
            error: failure.map(|f| f.0.to_string()),
            code: failure.map(|f| f.1.to_string()),
        }
    }

    pub fn counted(self, pages: usize, chunks: usize) -> Ingest {
        self.event(Some((pages, chunks)), None)
    }

    /// OCR reads the `page`th of `pages` pages that need it.
    pub fn ocr(self, page: usize, pages: usize) -> Ingest {
        match self.event(None, None) {
            Ingest::File {
                job, path, state, ..
            } => Ingest::File {
                job,
                path,
                state,
                pages: Some(pages),
                ocr_page: Some(page),
                chunks: None,
                error: None,
                code: None,
            },
            other => other,
        }
    }

    pub fn failed(self, error: &str, code: &str) -> Ingest {
        self.event(None, Some((error, code)))
    }
}

impl From<FileState> for Ingest {
    fn from(f: FileState) -> Ingest {
        f.event(None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed file reaches the page with its code, and every event is numbered in order;
    /// a new batch (files queued while no job is open) starts the replay log again.
    #[test]
    fn failed_files_keep_their_code_and_the_feed_numbers_every_event() {
        let mut feed = Feed::default();
        let queued = Ingest::Queued {
            job: 1,
            files: vec!["/p/a.pdf".into()],
        };
        let failed = FileState::new(1, "/p/a.pdf".as_ref(), "failed")
            .failed("the PDF is encrypted", "encrypted");
        let first = feed.record(&queued).unwrap();
        let second = feed.record(&failed).unwrap();
        assert_eq!(
            (first["seq"].as_u64(), second["seq"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(second["kind"], "file");
        assert_eq!(second["state"], "failed");
        assert_eq!(second["code"], "encrypted");
        assert_eq!(second["error"], "the PDF is encrypted");
        let error = medshelf::Error::Locked("/lib".into());
        let problem = Problem::from(&error);
        let stopped = Ingest::Error {
            job: 1,
            error: error.to_string(),
            problem,
        };
        let third = feed.record(&stopped).unwrap();
        assert_eq!(third["problem"]["code"], "locked");
        assert_eq!(third["problem"]["fault"], "machine");
        assert_eq!(feed.log().len(), 3);
        let next = Ingest::Queued {
            job: 2,
            files: vec![],
        };
        feed.record(&next).unwrap();
        assert_eq!(feed.log().len(), 1, "a new batch starts the log again");
    }
}
