//! Reading ahead: while an index run stores one paper, reader threads read the next ones, each
//! through its own PDF worker process, so that both cores read PDFs in the first phase (issue
//! 18: a thousand papers searchable by keywords in about a minute, not two). The run still
//! takes the readings in its own order and checks each against the file as it is then (its
//! hash, its size and time), so a reading ahead never stores stale text: a file that changed
//! meanwhile is read again by the run itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

use crate::extract::{ExtractError, Extracted, Extractor, OcrProgress, ReadOptions};

/// How many files the readers may be ahead of the run: the readings wait in memory (a 2,000-page
/// paper's text is a few megabytes), and a run that stops early wastes at most these.
const AHEAD: usize = 4;

type Reading = Result<Extracted, ExtractError>;

/// The files to read ahead, in the run's order, and the readings made.
pub(super) struct Prefetch {
    paths: Vec<PathBuf>,
    positions: HashMap<PathBuf, usize>,
    state: Mutex<State>,
    changed: Condvar,
    /// Whether the readers recognise scanned pages.
    ocr: bool,
}

#[derive(Default)]
struct State {
    /// The next file a reader takes.
    next: usize,
    /// The files before this one are behind the run: their readings are of no use now.
    passed: usize,
    /// Readings made and not yet taken, by position.
    done: HashMap<usize, Reading>,
    /// Positions a reader is reading now.
    reading: Vec<usize>,
    /// The latest OCR progress of a file being read, by position (told by the run while it
    /// waits for that file).
    ocr: HashMap<usize, OcrProgress>,
    /// Reader threads not yet returned.
    live: usize,
    stop: bool,
}

impl Prefetch {
    /// Reads ahead `paths` (the files the run will most likely read: new or changed ones) with
    /// `readers` threads, each of which must run [`Prefetch::read`].
    pub(super) fn new(paths: Vec<PathBuf>, readers: usize, ocr: bool) -> Self {
        let positions = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i))
            .collect();
        Prefetch {
            paths,
            positions,
            state: Mutex::new(State {
                live: readers,
                ..State::default()
            }),
            changed: Condvar::new(),
            ocr,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reader thread: takes the next file while it is at most [`AHEAD`] files ahead of the
    /// run, until every file is taken, the run stops, or the person cancels.
    pub(super) fn read(&self, extractor: &dyn Extractor, cancel: &AtomicBool) {
        self.read_files(extractor, cancel);
        self.lock().live -= 1;
        self.changed.notify_all();
    }

    fn read_files(&self, extractor: &dyn Extractor, cancel: &AtomicBool) {
        loop {
            let i = {
                let mut state = self.lock();
                while !state.stop
                    && state.next < self.paths.len()
                    && state.next >= state.passed + AHEAD
                {
                    state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                }
                if state.stop || state.next >= self.paths.len() || cancel.load(Ordering::Relaxed) {
                    return;
                }
                let i = state.next;
                state.next += 1;
                state.reading.push(i);
                i
            };
            let progress = |p: OcrProgress| {
                self.lock().ocr.insert(i, p);
                self.changed.notify_all();
            };
            let reading = extractor.extract_with(
                &self.paths[i],
                &ReadOptions {
                    ocr: self.ocr,
                    progress: &progress,
                    cancel,
                    stored: &[],
                },
            );
            let mut state = self.lock();
            state.reading.retain(|&r| r != i);
            state.ocr.remove(&i);
            if i >= state.passed {
                state.done.insert(i, reading);
            }
            self.changed.notify_all();
        }
    }

    /// The reading of `path`, waiting for a reader that has it; `None` where no reader will
    /// have it (a file not read ahead, or taken once already: the run reads it itself).
    /// While it waits, the reader's OCR progress on the file goes to `progress`.
    pub(super) fn take(&self, path: &Path, progress: &dyn Fn(OcrProgress)) -> Option<Reading> {
        let i = *self.positions.get(path)?;
        let mut state = self.lock();
        if i < state.passed {
            return None;
        }
        if i >= state.next {
            // No reader took it yet (the readers were on files the run then skipped): the next
            // free reader takes it, so that no more files are read at once than there are
            // readers.
            state.next = i;
            Self::pass(&mut state, i);
            self.changed.notify_all();
        }
        let mut told = None;
        loop {
            if let Some(&p) = state.ocr.get(&i) {
                if told != Some(p) {
                    told = Some(p);
                    // Told without the lock: the sink may take its time.
                    drop(state);
                    progress(p);
                    state = self.lock();
                    continue;
                }
            }
            if let Some(reading) = state.done.remove(&i) {
                Self::pass(&mut state, i + 1);
                self.changed.notify_all();
                return Some(reading);
            }
            let waiting = state.reading.contains(&i) || (i >= state.next && state.live > 0);
            if !waiting || state.stop {
                // No reader has it or will (they stopped): the run reads it itself.
                Self::pass(&mut state, i + 1);
                state.next = state.next.max(i + 1);
                self.changed.notify_all();
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The run is past `path` (unchanged, linked, failed before reading): the readers may go
    /// further ahead.
    pub(super) fn passed(&self, path: &Path) {
        if let Some(&i) = self.positions.get(path) {
            let mut state = self.lock();
            Self::pass(&mut state, i + 1);
            self.changed.notify_all();
        }
    }

    fn pass(state: &mut State, to: usize) {
        if to > state.passed {
            state.passed = to;
            state.done.retain(|&k, _| k >= to);
        }
    }

    /// Stops the readers after the files they are reading now.
    pub(super) fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Reads "files" by their names, counting reads, slowly enough that readers overlap.
    struct Named(AtomicUsize);

    impl Extractor for Named {
        fn extract(&self, path: &Path) -> Result<Extracted, ExtractError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            Ok(Extracted {
                pages: vec![path.display().to_string()],
                ..Default::default()
            })
        }
    }

    #[test]
    fn readings_come_in_the_runs_order_and_a_skipped_file_is_left_behind() {
        let paths: Vec<PathBuf> = (0..20).map(|i| PathBuf::from(format!("{i}.pdf"))).collect();
        let prefetch = Prefetch::new(paths.clone(), 2, false);
        let named = Named(AtomicUsize::new(0));
        let cancel = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| prefetch.read(&named, &cancel));
            }
            for (i, path) in paths.iter().enumerate() {
                if i % 5 == 3 {
                    // Found unchanged by the run: its reading is dropped.
                    prefetch.passed(path);
                    continue;
                }
                let reading = prefetch
                    .take(path, &|_| {})
                    .map(|r| r.unwrap().pages[0].clone());
                if let Some(text) = reading {
                    assert_eq!(text, path.display().to_string());
                }
                // Taken once: a second ask (a file that changed while read) reads it anew.
                assert!(prefetch.take(path, &|_| {}).is_none());
            }
            prefetch.stop();
        });
        let state = prefetch.lock();
        assert!(state.done.is_empty(), "no reading is left behind");
        assert!(named.0.load(Ordering::SeqCst) <= paths.len());
        // A path that was never read ahead is the run's to read.
        assert!(prefetch.take(Path::new("other.pdf"), &|_| {}).is_none());
    }

    #[test]
    fn readers_stop_when_asked_even_when_far_ahead() {
        let paths: Vec<PathBuf> = (0..50).map(|i| PathBuf::from(format!("{i}.pdf"))).collect();
        let prefetch = Prefetch::new(paths, 2, false);
        let named = Named(AtomicUsize::new(0));
        let cancel = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| prefetch.read(&named, &cancel));
            }
            // The run takes nothing: the readers wait AHEAD files ahead, then stop.
            std::thread::sleep(std::time::Duration::from_millis(100));
            prefetch.stop();
        });
        assert!(named.0.load(Ordering::SeqCst) <= AHEAD + 1);
    }
}
