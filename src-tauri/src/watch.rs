//! Following the library's folders while the app runs: a PDF saved into one is indexed, a PDF
//! deleted from one is forgotten, within seconds. Events are debounced and turned into jobs on
//! the engine thread's queue, so they never race an index run the person started.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Weak;

use medshelf::watch::DEBOUNCE;
use notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use crate::engine::{Engine, Job};

/// The watcher and the folders it follows.
pub struct FolderWatcher {
    debouncer: Debouncer<notify::RecommendedWatcher>,
    followed: HashSet<PathBuf>,
}

impl FolderWatcher {
    /// Starts a watcher whose events become jobs for `engine` (weak, so that the watcher never
    /// keeps the engine alive on its own).
    pub fn start(engine: Weak<Engine>) -> Result<Self, String> {
        let debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
            let Some(engine) = engine.upgrade() else {
                return;
            };
            let events = match result {
                Ok(events) => events,
                // Lost events (an overflowing kernel queue): the next start catches up.
                Err(e) => {
                    eprintln!("medshelf-app: watching folders: {e}");
                    return;
                }
            };
            let paths: BTreeSet<PathBuf> = events
                .into_iter()
                .map(|e| e.path)
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            let (present, gone): (Vec<PathBuf>, Vec<PathBuf>) =
                paths.into_iter().partition(|p| p.exists());
            // Only folders and PDFs: the library's own files may live under a followed folder,
            // and their writes must not start index runs of their own.
            let present: Vec<PathBuf> = present
                .into_iter()
                .filter(|p| p.is_dir() || medshelf::extract::is_pdf_name(p))
                .collect();
            let gone: Vec<PathBuf> = gone
                .into_iter()
                .filter(|p| p.extension().is_none() || medshelf::extract::is_pdf_name(p))
                .collect();
            if !gone.is_empty() {
                let _ = engine.send(Job::Forget { paths: gone });
            }
            if !present.is_empty() {
                let _ = engine.queue_quiet(present);
            }
        })
        .map_err(|e| e.to_string())?;
        Ok(FolderWatcher {
            debouncer,
            followed: HashSet::new(),
        })
    }

    /// Follows each of `folders` not followed yet.
    pub fn follow(&mut self, folders: &[PathBuf]) {
        for folder in folders {
            if self.followed.contains(folder) {
                continue;
            }
            match self
                .debouncer
                .watcher()
                .watch(folder, RecursiveMode::Recursive)
            {
                Ok(()) => {
                    self.followed.insert(folder.clone());
                }
                Err(e) => eprintln!("medshelf-app: cannot follow {}: {e}", folder.display()),
            }
        }
    }

    /// The folders followed.
    pub fn followed(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.followed.iter().cloned().collect();
        v.sort();
        v
    }
}
