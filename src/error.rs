//! The engine's error type: one enum that says what failed, on which file, and whose fault it is.
//!
//! Each stage has its own typed error; they roll up into [`Error`]. The CLI prints them with their
//! sources; the desktop app gets a stable [`Error::code`] it can switch on without parsing text.

use std::path::PathBuf;

use crate::extract::ExtractError;

/// The result type of the engine's public API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who has to act on an error: the person (their file or their input), the machine, or us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The user's input or file: they can fix it (a damaged PDF, an unknown mode, a missing folder).
    User,
    /// The machine: disk full, permissions, a file that vanished.
    Machine,
    /// A bug in MedShelf or a library it uses.
    Internal,
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What the operating system said (in the message, not a `source`, so that a chain
        /// printed with `{:#}` does not repeat it).
        error: std::io::Error,
    },
    /// A PDF could not be turned into text.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// The SQLite catalog failed.
    // The cause is part of the message and not a `source`: printed as a chain, it would repeat
    // ("database or disk is full: database or disk is full").
    #[error("catalog {path}: {error}")]
    Catalog {
        /// The catalog file.
        path: PathBuf,
        /// What SQLite said.
        error: rusqlite::Error,
    },
    /// The catalog file is damaged (or is not a catalog at all): nothing MedShelf can repair,
    /// since it is the source of truth; the papers themselves are untouched.
    #[error(
        "the catalog {path} is damaged ({reason}); move it aside (rename catalog.sqlite) and index \
         your folders again: your PDFs are untouched"
    )]
    CatalogDamaged {
        /// The catalog file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// The tantivy (keyword) index failed.
    #[error("keyword index: {0}")]
    Lexical(String),
    /// The usearch (vector) index failed.
    #[error("vector index {path}: {message}")]
    Vector {
        /// The index file.
        path: PathBuf,
        /// What usearch said (its C++ exceptions carry only text).
        message: String,
    },
    /// The embedding model could not be loaded or run.
    #[error("model {path}: {message}")]
    Model {
        /// The model folder.
        path: PathBuf,
        /// What is wrong with it, in words a person can act on.
        message: String,
    },
    /// Running the model failed.
    #[error("embedding: {0}")]
    Candle(candle_core::Error),
    /// A search by meaning was asked of a library without a model.
    #[error(
        "semantic search needs an embedding model. {}",
        crate::library::NO_MODEL_NOTICE
    )]
    NeedsModel,
    /// A model of that name is installed already; installing it again would replace the
    /// weights a library's vectors may have come from.
    #[error("a model named {name} is installed already in {}; remove that folder first", models.display())]
    ModelInstalled {
        /// The model's name.
        name: String,
        /// The models folder.
        models: PathBuf,
    },
    /// The model hub refused or does not hold what was asked (no such model or revision, a
    /// file it gives no hash for, a repository that is not a sentence-transformers BERT).
    #[error("{0}")]
    Hub(String),
    /// A data file given to a command is not in the form it needs (a benchmark's corpus or
    /// queries).
    #[error("{} {message}", path.display())]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and where.
        message: String,
    },
    /// The model given is not the one the library's vectors were made with: its vectors could
    /// never be compared with them. The only error that says a model does not suit a library.
    #[error("{0}")]
    ModelMismatch(String),

    /// The library was written by a newer MedShelf (a later catalog schema): it is left as it
    /// is, never downgraded.
    #[error(
        "{path} was written by a newer MedShelf (schema {version}, this one reads up to \
         {schema}); update MedShelf to open it",
        schema = crate::catalog::SCHEMA_VERSION
    )]
    NewerLibrary {
        /// The catalog file.
        path: PathBuf,
        /// The schema version it was written at.
        version: i64,
    },
    /// A library written by an older MedShelf, on storage this process cannot write: it needs
    /// upgrading, which only a writable copy allows.
    #[error(
        "{path} is on read-only storage and was written by an older MedShelf (schema \
         {version}, this one reads {schema}); open it once where it can be written to upgrade it",
        schema = crate::catalog::SCHEMA_VERSION
    )]
    OlderLibraryReadOnly {
        /// The catalog file.
        path: PathBuf,
        /// The schema version it was written at.
        version: i64,
    },
    /// The folders could not be followed for changes (the system's limit on watches, say):
    /// the machine's doing, not the person's.
    #[error("cannot follow {path} for changes: {message}")]
    Watch {
        /// The folder, or empty where the watcher itself could not start.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The writer thread has stopped (it panicked, or the app is closing): nothing more can
    /// be queued.
    #[error("the indexing thread has stopped; restart MedShelf")]
    WriterStopped,
    /// A download could not reach its server or broke off.
    #[error("{0}")]
    Network(String),
    /// Another process is writing to this library.
    #[error("the library {0} is being updated by another MedShelf process; wait for it to finish")]
    Locked(PathBuf),
    /// A path named to a command that the library does not hold as an indexed paper.
    #[error("{} is not an indexed paper of this library (index it first, or check the path)", .0.display())]
    NotInLibrary(PathBuf),
    /// A page asked for that holds no text of the paper (past its end, or blank).
    #[error("{} has no text on page {page} (its text is on pages 1 to {last})", path.display())]
    NoSuchPage {
        /// The paper.
        path: PathBuf,
        /// The page asked for.
        page: u32,
        /// The last page with text.
        last: u32,
    },
    /// A correction to a paper's record was refused (an unknown field, an impossible year).
    #[error(transparent)]
    Edit(#[from] crate::metadata::EditError),
    /// A Zotero library could not be read (not there, newer than MedShelf knows, damaged).
    #[error(transparent)]
    Zotero(#[from] crate::zotero::ZoteroError),
    /// The library is on storage this process cannot write (a read-only share, a DVD).
    #[error("the library {0} is on read-only storage: it can be searched, not changed")]
    ReadOnly(PathBuf),
    /// MedShelf itself failed (a panic caught at a file's boundary): a bug of ours, reported
    /// with what was being done so that it can be reproduced.
    #[error("MedShelf failed while {stage} (a bug in MedShelf, not in your file; please report it): {message}")]
    Bug {
        /// What was being done: "cutting it into passages", "storing it".
        stage: &'static str,
        /// What the panic said.
        message: String,
    },
}

/// An error as a face hands it on to a person's screen: its stable code (what the page
/// switches on), whose fault it is, and the message. Every app command fails with one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// [`Error::code`], or a face's own code for a failure outside the engine.
    pub code: String,
    /// Who has to act.
    pub fault: Fault,
    /// What happened, in words a person can act on.
    pub message: String,
}

impl Problem {
    /// A face's own problem (a path the page may not open, say).
    pub fn new(code: &str, fault: Fault, message: impl Into<String>) -> Self {
        Problem {
            code: code.to_string(),
            fault,
            message: message.into(),
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem::from(&e)
    }
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        Problem {
            code: e.code().to_string(),
            fault: e.fault(),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error {
    /// A stable, machine-readable code for the front ends.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Extract(e) => e.code(),
            Error::Catalog { .. } => "catalog",
            Error::CatalogDamaged { .. } => "catalog_damaged",
            Error::Lexical(_) => "lexical_index",
            Error::Vector { .. } => "vector_index",
            Error::Model { .. } => "model",
            Error::Candle(_) => "embedding",
            Error::NeedsModel => "needs_model",
            Error::ModelInstalled { .. } => "model_installed",
            Error::Hub(_) => "hub",
            Error::BadInput { .. } => "bad_input",
            Error::ModelMismatch(_) => "model_mismatch",
            Error::NewerLibrary { .. } => "newer_library",
            Error::OlderLibraryReadOnly { .. } => "older_library_read_only",
            Error::Network(_) => "network",
            Error::Watch { .. } => "watch",
            Error::WriterStopped => "writer_stopped",
            Error::Locked(_) => "locked",
            Error::NotInLibrary(_) => "not_in_library",
            Error::NoSuchPage { .. } => "no_such_page",
            Error::Edit(_) => "bad_edit",
            Error::ReadOnly(_) => "read_only",
            Error::Bug { .. } => "internal",
            Error::Zotero(e) => e.code(),
        }
    }

    /// Whose fault the error is, so a front end can tell a person what to do.
    pub fn fault(&self) -> Fault {
        match self {
            Error::Io { .. }
            | Error::Locked(_)
            | Error::Network(_)
            | Error::ReadOnly(_)
            | Error::CatalogDamaged { .. }
            | Error::NewerLibrary { .. }
            | Error::Watch { .. }
            | Error::OlderLibraryReadOnly { .. } => Fault::Machine,
            Error::Extract(e) => e.fault(),
            Error::Model { .. }
            | Error::ModelMismatch(_)
            | Error::NeedsModel
            | Error::ModelInstalled { .. }
            | Error::Hub(_)
            | Error::NotInLibrary(_)
            | Error::NoSuchPage { .. }
            | Error::Edit(_)
            | Error::BadInput { .. } => Fault::User,
            Error::Zotero(crate::zotero::ZoteroError::Copy { .. }) => Fault::Machine,
            Error::Zotero(_) => Fault::User,
            Error::Catalog { error, .. } if machine_sqlite(error) => Fault::Machine,
            Error::Catalog { .. }
            | Error::Lexical(_)
            | Error::Vector { .. }
            | Error::Candle(_)
            | Error::Bug { .. }
            | Error::WriterStopped => Fault::Internal,
        }
    }

    /// Runs `f`, turning a panic into [`Error::Bug`]: one file that trips a bug of ours fails
    /// alone, with a reason, and the batch goes on.
    pub(crate) fn guard<T>(stage: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
            Err(Error::Bug {
                stage,
                message: panic_message(panic.as_ref()),
            })
        })
    }

    /// A catalog error: a damaged file is told apart, since its remedy differs.
    pub(crate) fn catalog(path: &std::path::Path, error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match &error {
            rusqlite::Error::SqliteFailure(e, _)
                if matches!(e.code, DatabaseCorrupt | NotADatabase) =>
            {
                Error::CatalogDamaged {
                    path: path.to_path_buf(),
                    reason: error.to_string(),
                }
            }
            _ => Error::Catalog {
                path: path.to_path_buf(),
                error,
            },
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}

/// Whether SQLite failed because of the machine (a full disk, a read-only or vanished file,
/// an I/O error) rather than because of us.
fn machine_sqlite(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, C::DiskFull | C::ReadOnly | C::CannotOpen | C::PermissionDenied
            | C::SystemIoFailure | C::DatabaseBusy | C::DatabaseLocked))
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Candle(e)
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Self {
        Error::Lexical(describe_tantivy(&e))
    }
}

/// tantivy's error in words: its own `Display` prints the inner structures' `Debug` form
/// (`Io { io_error: Os { code: 28, ... } }`), which tells a person nothing.
fn describe_tantivy(e: &tantivy::TantivyError) -> String {
    use tantivy::directory::error::{LockError, OpenDirectoryError, OpenReadError, OpenWriteError};
    use tantivy::TantivyError as T;
    match e {
        T::IoError(io) => io.to_string(),
        T::OpenReadError(OpenReadError::FileDoesNotExist(p)) => {
            format!("{} is missing", p.display())
        }
        T::OpenReadError(OpenReadError::IoError { io_error, filepath })
        | T::OpenWriteError(OpenWriteError::IoError { io_error, filepath }) => {
            format!("{}: {io_error}", filepath.display())
        }
        T::OpenWriteError(OpenWriteError::FileAlreadyExists(p)) => {
            format!("{} exists already", p.display())
        }
        T::OpenDirectoryError(OpenDirectoryError::DoesNotExist(p)) => {
            format!("{} does not exist", p.display())
        }
        T::OpenDirectoryError(OpenDirectoryError::NotADirectory(p)) => {
            format!("{} is not a folder", p.display())
        }
        T::OpenDirectoryError(OpenDirectoryError::IoError {
            io_error,
            directory_path,
        }) => format!("{}: {io_error}", directory_path.display()),
        T::LockFailure(LockError::LockBusy, _) => {
            "another process is writing to the keyword index".to_string()
        }
        T::LockFailure(LockError::IoError(io), _) => format!("cannot lock the keyword index: {io}"),
        T::DataCorruption(d) => format!("damaged: {d:?}"),
        other => other.to_string(),
    }
}

/// The text a panic carried, where it carried any.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tantivy's own messages print its inner structures (`Io { io_error: Os { code: 28 ...`);
    /// a person reads words, and each cause once.
    #[test]
    fn index_and_catalog_errors_read_as_words_and_say_each_cause_once() {
        use std::sync::Arc;
        use tantivy::directory::error::OpenReadError;
        let missing = Error::from(tantivy::TantivyError::OpenReadError(
            OpenReadError::FileDoesNotExist("abc.idx".into()),
        ));
        assert_eq!(missing.to_string(), "keyword index: abc.idx is missing");
        let full = Error::from(tantivy::TantivyError::IoError(Arc::new(
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        )));
        assert!(!full.to_string().contains("Os {"), "{full}");
        let sqlite = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let catalog = Error::catalog(std::path::Path::new("/lib/catalog.sqlite"), sqlite);
        let chain = format!("{:#}", anyhow::Error::from(catalog));
        assert_eq!(chain.matches("full").count(), 1, "{chain}");
        let io = Error::io(
            "/lib/x",
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        let chain = format!("{:#}", anyhow::Error::from(io));
        assert_eq!(chain, "/lib/x: no storage space");
    }

    /// A watch that cannot start is the machine's doing (the system's limit on watches), not
    /// the person's; a search by meaning without a model is theirs to fix. Every command's
    /// failure reaches the page as `{code, fault, message}`.
    #[test]
    fn typed_errors_carry_the_right_fault_and_serialise_for_the_page() {
        let watch = Error::Watch {
            path: "/papers".into(),
            message: "inotify watch limit reached".into(),
        };
        assert_eq!((watch.code(), watch.fault()), ("watch", Fault::Machine));
        assert_eq!(Error::NeedsModel.fault(), Fault::User);
        assert_eq!(Error::WriterStopped.fault(), Fault::Internal);
        let newer = Error::NewerLibrary {
            path: "/lib/catalog.sqlite".into(),
            version: 99,
        };
        assert_eq!(newer.fault(), Fault::Machine);
        let json = serde_json::to_value(Problem::from(&watch)).unwrap();
        assert_eq!(json["code"], "watch");
        assert_eq!(json["fault"], "machine");
        assert_eq!(
            json["message"],
            "cannot follow /papers for changes: inotify watch limit reached"
        );
    }
}
