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
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A PDF could not be turned into text.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// The SQLite catalog failed.
    #[error("catalog {path}: {source}")]
    Catalog {
        /// The catalog file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The tantivy (keyword) index failed.
    #[error("keyword index: {0}")]
    Lexical(#[from] tantivy::TantivyError),
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
    Candle(#[from] candle_core::Error),
    /// A request the engine cannot serve as asked (semantic search without a model, say).
    #[error("{0}")]
    Invalid(String),

    /// A download could not reach its server or broke off.
    #[error("{0}")]
    Network(String),
    /// Another process is writing to this library.
    #[error("the library {0} is being updated by another MedShelf process; wait for it to finish")]
    Locked(PathBuf),
}

impl Error {
    /// A stable, machine-readable code for the front ends.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Extract(e) => e.code(),
            Error::Catalog { .. } => "catalog",
            Error::Lexical(_) => "lexical_index",
            Error::Vector { .. } => "vector_index",
            Error::Model { .. } => "model",
            Error::Candle(_) => "embedding",
            Error::Invalid(_) => "invalid_request",
            Error::Network(_) => "network",
            Error::Locked(_) => "locked",
        }
    }

    /// Whose fault the error is, so a front end can tell a person what to do.
    pub fn fault(&self) -> Fault {
        match self {
            Error::Io { .. } | Error::Locked(_) | Error::Network(_) => Fault::Machine,
            Error::Extract(e) => e.fault(),
            Error::Model { .. } | Error::Invalid(_) => Fault::User,
            Error::Catalog { .. } | Error::Lexical(_) | Error::Vector { .. } | Error::Candle(_) => {
                Fault::Internal
            }
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
