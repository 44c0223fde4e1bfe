//! The writer's second phase of indexing: embedding what waits for vectors, within an index
//! job or as a job of the writer's own, stopping for the next job queued or a cancel.

use std::sync::atomic::Ordering;

use super::jobs::Progress;
use super::{JobId, Outcome, Report, Writer};
use crate::error::{Error, Result};
use crate::IndexSummary;

impl Writer {
    /// Whether passages wait for vectors that the library's model can give them.
    pub(super) fn backfill_due(&self) -> bool {
        self.library.model().is_some() && self.library.waiting_for_vectors().unwrap_or(0) > 0
    }

    /// Embeds the passages that wait for vectors, with progress on `sink`, until none waits,
    /// another job is queued (the loop resumes after that job) or the person cancels. A cancel
    /// or a failure pauses the second phase until the person's next job. Returns how many
    /// passages were embedded.
    pub(super) fn backfill(&mut self, sink: &dyn crate::Sink) -> Result<u64> {
        let shared = self.shared.clone();
        let stop =
            || shared.cancel.load(Ordering::SeqCst) || shared.waiting.load(Ordering::SeqCst) > 0;
        let ran = self.library.embed_missing_until(sink, &stop);
        if ran.is_err() || self.shared.cancel.load(Ordering::SeqCst) {
            self.paused = true;
        }
        ran
    }

    /// The second phase as a job of the writer's own (`id`), with progress, told to the face
    /// when it ends. A library another MedShelf (the CLI) writes leaves the passages waiting
    /// for the next job: nothing is wrong, nothing is told.
    pub(super) fn backfill_job(&mut self, id: JobId, report: &dyn Report) {
        let sink = Progress {
            report,
            job: id,
            quiet: false,
        };
        let outcome = match self.backfill(&sink) {
            Ok(done) => Outcome::Done(IndexSummary {
                chunks: done as usize,
                cancelled: self.shared.cancel.load(Ordering::SeqCst),
                ..Default::default()
            }),
            Err(Error::Locked(_)) => Outcome::Nothing,
            Err(e) => Outcome::Failed(e),
        };
        report.finished(id, outcome);
    }
}
