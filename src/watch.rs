//! Following the library's folders: PDFs added, changed, moved or deleted there are reflected
//! within seconds, without a rescan of everything.
//!
//! One watcher serves both faces (the CLI's `watch` and the app), through the writer
//! ([`crate::writer`]), whose queue its batches join as jobs. It listens to the file
//! system (notify), keeps only the events that can change what the library holds (a file
//! created, written, renamed or removed; never a file opened or read, which MedShelf itself
//! does all the time: reacting to those made the app re-index and re-search about once a
//! second), gathers them until the folder has been quiet for [`DEBOUNCE`], and hands the paths
//! they touch over as [`Changes`]. A path that exists is indexed (unchanged content costs a
//! stat and, at most, a hash); a path that is gone is forgotten. A move is a disappearance
//! plus an appearance of the same content, which is linked without re-reading.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::error::{Error, Result};

/// How long a folder must be quiet before its changes are acted on: a copy of a large PDF
/// raises many events.
pub const DEBOUNCE: Duration = Duration::from_millis(750);

/// The longest changes wait while events keep coming (a folder being filled for minutes):
/// what has settled by then is indexed, the rest follows.
const MOST_WAIT: Duration = Duration::from_secs(5);

/// What a burst of file-system events amounts to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Folders and PDFs that exist and may be new or changed.
    pub present: Vec<PathBuf>,
    /// Paths that are gone (files or whole folders).
    pub gone: Vec<PathBuf>,
    /// Events were lost (the kernel's queue overflowed): only a catch-up over every followed
    /// folder is sure to see everything.
    pub overflowed: bool,
}

impl Changes {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.present.is_empty() && self.gone.is_empty() && !self.overflowed
    }
}

/// Whether an event of this kind can change what the library holds. Opening, reading and
/// closing a file after reading it cannot; neither can a change of its access time or
/// permissions. Closing a file after writing it can (the end of a save or a copy).
pub fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    }
}

/// Sorts the paths events touched into what is there and what is gone. Hidden names (an
/// editor's or a browser's temporary file) and everything under `ignore` (the library's own
/// folder, which may sit inside a followed one) are left out; only folders and PDFs count as
/// present. A gone path is kept whatever its name: the library forgets what it knew under it,
/// and a folder's name may hold a dot ("Dr. Smith's papers").
pub fn classify(paths: impl IntoIterator<Item = PathBuf>, ignore: &[PathBuf]) -> Changes {
    let paths: BTreeSet<PathBuf> = paths
        .into_iter()
        .filter(|p| !ignore.iter().any(|dir| p.starts_with(dir)))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    let mut changes = Changes::default();
    for path in paths {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() || crate::extract::is_pdf_name(&path) => {
                changes.present.push(path)
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => changes.gone.push(path),
            // There but not readable now: the next event or catch-up will tell.
            Err(_) => {}
        }
    }
    changes
}

/// A running watcher: follows folders and calls its handler with each settled batch of
/// [`Changes`] on a thread of its own. Dropping it stops both.
pub struct FolderWatcher {
    watcher: RecommendedWatcher,
    followed: HashSet<PathBuf>,
}

impl FolderWatcher {
    /// Starts a watcher that calls `handler` with each batch of changes; paths under `ignore`
    /// are never reported.
    pub fn start(
        ignore: Vec<PathBuf>,
        handler: impl Fn(Changes) + Send + 'static,
    ) -> Result<FolderWatcher> {
        let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
        let watcher = notify::recommended_watcher(tx).map_err(|e| Error::Watch {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        std::thread::Builder::new()
            .name("medshelf-watch".into())
            .spawn(move || settle(rx, &ignore, handler))
            .map_err(|e| Error::io("the watcher thread", e))?;
        Ok(FolderWatcher {
            watcher,
            followed: HashSet::new(),
        })
    }

    /// Follows `folder` and everything under it, unless it is followed already.
    pub fn follow(&mut self, folder: &Path) -> Result<()> {
        if self.followed.contains(folder) {
            return Ok(());
        }
        self.watcher
            .watch(folder, RecursiveMode::Recursive)
            .map_err(|e| Error::Watch {
                path: folder.to_path_buf(),
                message: e.to_string(),
            })?;
        self.followed.insert(folder.to_path_buf());
        Ok(())
    }

    /// The folders followed, sorted.
    pub fn followed(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.followed.iter().cloned().collect();
        v.sort();
        v
    }
}

/// How long Zotero's database must be quiet before it is imported again: Zotero writes in
/// bursts (a sync, an edit saved field by field), and each import reads the whole database.
pub const ZOTERO_SETTLE: Duration = Duration::from_secs(5);

/// Follows a Zotero data folder's database (`zotero.sqlite` and its `-wal`/`-journal`, nothing
/// else: not `storage/`, whose files change only with the database) and calls its handler once
/// the database has been written and then quiet for `settle`. MedShelf's own reads of the
/// database are not writes. Dropping it stops it.
pub struct ZoteroWatcher {
    _watcher: RecommendedWatcher,
    dir: PathBuf,
}

impl ZoteroWatcher {
    /// Starts following the Zotero folder `dir`.
    pub fn start(
        dir: &Path,
        settle: Duration,
        handler: impl Fn() + Send + 'static,
    ) -> Result<ZoteroWatcher> {
        let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
        let err = |e: notify::Error| Error::Watch {
            path: dir.to_path_buf(),
            message: e.to_string(),
        };
        let mut watcher = notify::recommended_watcher(tx).map_err(err)?;
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(err)?;
        std::thread::Builder::new()
            .name("medshelf-zotero-watch".into())
            .spawn(move || {
                let database = |p: &PathBuf| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("zotero.sqlite"))
                };
                let mut last: Option<Instant> = None;
                loop {
                    let event = match last {
                        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                        Some(at) => {
                            rx.recv_timeout((at + settle).saturating_duration_since(Instant::now()))
                        }
                    };
                    match event {
                        Ok(Ok(e)) if changes_content(&e.kind) && e.paths.iter().any(database) => {
                            last = Some(Instant::now());
                        }
                        // Lost events may have been writes.
                        Ok(Err(_)) => last = Some(Instant::now()),
                        Ok(Ok(_)) => {}
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            last = None;
                            handler();
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map_err(|e| Error::Watch {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(ZoteroWatcher {
            _watcher: watcher,
            dir: dir.to_path_buf(),
        })
    }

    /// The Zotero folder followed.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The watcher's thread: gathers the paths of content-changing events until the folders have
/// been quiet for [`DEBOUNCE`] (or changes have waited [`MOST_WAIT`]), then hands them over.
/// Events that change nothing neither start nor prolong a wait. Ends when the watcher is
/// dropped.
fn settle(
    rx: mpsc::Receiver<notify::Result<notify::Event>>,
    ignore: &[PathBuf],
    handler: impl Fn(Changes),
) {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut overflowed = false;
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    loop {
        let event = match first {
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some(started) => {
                let quiet_at = last + DEBOUNCE;
                let deadline = quiet_at.min(started + MOST_WAIT);
                rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
        };
        match event {
            Ok(Ok(event)) if changes_content(&event.kind) => {
                paths.extend(event.paths);
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) => {
                overflowed = true;
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let mut changes = classify(std::mem::take(&mut paths), ignore);
                changes.overflowed = std::mem::take(&mut overflowed);
                first = None;
                if !changes.is_empty() {
                    handler(changes);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind};

    #[test]
    fn reading_a_file_is_not_a_change() {
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Open(AccessMode::Read)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Other,
        ] {
            assert!(!changes_content(&kind), "{kind:?}");
        }
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(notify::event::RenameMode::Both)),
            EventKind::Remove(RemoveKind::Folder),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Any,
        ] {
            assert!(changes_content(&kind), "{kind:?}");
        }
    }

    #[test]
    fn zotero_writing_its_database_is_followed_and_reading_it_or_its_storage_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("zotero.sqlite");
        std::fs::write(&db, b"v1").unwrap();
        std::fs::create_dir(dir.path().join("storage")).unwrap();
        let (tx, rx) = mpsc::channel();
        let watcher = ZoteroWatcher::start(dir.path(), Duration::from_millis(300), move || {
            let _ = tx.send(());
        })
        .unwrap();
        assert_eq!(watcher.dir(), dir.path());
        // Reads and files beside it are not changes of the database.
        let _ = std::fs::read(&db).unwrap();
        std::fs::write(dir.path().join("storage/x.pdf"), b"%PDF").unwrap();
        std::fs::write(dir.path().join("prefs.txt"), b"x").unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(1200)).is_err());
        // Writes, in a burst, are one change once settled.
        for i in 0..5 {
            std::fs::write(dir.path().join("zotero.sqlite-wal"), format!("{i}")).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the change is told");
        assert!(
            rx.recv_timeout(Duration::from_millis(800)).is_err(),
            "told once"
        );
    }

    #[test]
    fn gone_folders_with_a_dot_are_forgotten_and_the_library_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("library");
        std::fs::create_dir(&library).unwrap();
        let pdf = dir.path().join("a.pdf");
        std::fs::write(&pdf, b"%PDF-1.4").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let changes = classify(
            [
                pdf.clone(),
                dir.path().join("notes.txt"),
                dir.path().join("Dr. Smith papers"),
                dir.path().join(".a.pdf.part"),
                library.join("catalog.sqlite-journal"),
            ],
            std::slice::from_ref(&library),
        );
        assert_eq!(changes.present, vec![pdf]);
        assert_eq!(changes.gone, vec![dir.path().join("Dr. Smith papers")]);
    }
}
