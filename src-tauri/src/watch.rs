//! Following the library's folders while the app runs: a PDF saved into one is indexed, a PDF
//! deleted from one is forgotten, within seconds. The engine's watcher ([`medshelf::watch`])
//! settles the file-system events into [`Changes`]; here they become jobs on the engine
//! thread's queue, so they never race an index run the person started.

use std::path::PathBuf;
use std::sync::Weak;

use medshelf::watch::{Changes, FolderWatcher};

use crate::engine::{Engine, Job};

/// Starts a watcher whose changes become jobs for `engine` (weak, so that the watcher never
/// keeps the engine alive on its own). Nothing under `library` (the library's own files, which
/// may sit inside a followed folder) is reported.
pub fn start(engine: Weak<Engine>, library: PathBuf) -> Result<FolderWatcher, String> {
    FolderWatcher::start(vec![library], move |changes: Changes| {
        let Some(engine) = engine.upgrade() else {
            return;
        };
        if changes.overflowed {
            // Events were lost: a catch-up over every followed folder sees what they said.
            let _ = engine.queue_quiet(engine.watching());
        }
        if !changes.gone.is_empty() {
            let _ = engine.send(Job::Forget {
                paths: changes.gone,
            });
        }
        if !changes.present.is_empty() && !changes.overflowed {
            let _ = engine.queue_quiet(changes.present);
        }
    })
    .map_err(|e| e.to_string())
}
