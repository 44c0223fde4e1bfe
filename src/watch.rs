//! Following the library's folders: PDFs added, changed, moved or deleted there are reflected
//! within seconds, without a rescan of everything.
//!
//! File-system events (notify) are debounced, reduced to the paths they touch, and each path is
//! handed to the same code as `index` and `remove`: a path that exists is indexed (unchanged
//! content costs a stat and, at most, a hash), a path that is gone is forgotten. A move is a
//! disappearance plus an appearance of the same content, which is linked without re-reading.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use notify::RecursiveMode;

use crate::error::{Error, Result};
use crate::library::{IndexEvent, Library, Sink};

/// How long events are gathered before they are acted on: a copy of a large PDF raises many.
pub const DEBOUNCE: Duration = Duration::from_millis(750);

/// Watches `folders` until `stop` is set: first catches up with what changed while nobody was
/// watching, then follows events. Progress and removals go to `sink`.
pub fn watch(
    library: &mut Library,
    folders: &[PathBuf],
    sink: &dyn Sink,
    stop: &AtomicBool,
) -> Result<()> {
    library.open_for_writing()?;
    let (tx, rx) = mpsc::channel();
    let mut debouncer = notify_debouncer_mini::new_debouncer(DEBOUNCE, tx)
        .map_err(|e| Error::Invalid(format!("cannot watch folders: {e}")))?;
    for folder in folders {
        debouncer
            .watcher()
            .watch(folder, RecursiveMode::Recursive)
            .map_err(|e| Error::Invalid(format!("cannot watch {}: {e}", folder.display())))?;
    }
    // Watching starts before the catch-up, so nothing that happens during it is missed.
    library.index(folders, sink, stop)?;
    sink.event(&IndexEvent::Watching { folders });
    while !stop.load(Ordering::Relaxed) {
        let events = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Ok(events)) => events,
            // A lost event (an overflowing kernel queue) is healed by a catch-up run.
            Ok(Err(_)) => {
                library.index(folders, sink, stop)?;
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let paths: BTreeSet<PathBuf> = events.into_iter().map(|e| e.path).collect();
        let (present, gone): (Vec<PathBuf>, Vec<PathBuf>) = paths
            .into_iter()
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .partition(|p| p.exists());
        let present: Vec<PathBuf> = present
            .into_iter()
            .filter(|p| p.is_dir() || crate::extract::is_pdf_name(p))
            .collect();
        if !gone.is_empty() {
            for path in library.remove(&gone)? {
                sink.event(&IndexEvent::Removed { path: &path });
            }
        }
        if !present.is_empty() {
            library.index(&present, sink, stop)?;
        }
    }
    Ok(())
}
