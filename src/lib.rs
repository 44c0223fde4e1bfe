//! MedShelf's headless engine: PDFs in, hybrid (keyword + meaning) answers out, all offline.
//!
//! A PDF travels through the stages in order: [`extract`] (per-page text), [`chunk`] (passages cut
//! on the model's word pieces), [`embed`] (vectors from a local BERT), [`catalog`] (SQLite, the
//! source of truth) and [`index`] (tantivy BM25 and usearch vectors). [`library`] runs that
//! pipeline and keeps the three stores in step; [`search`] fuses and groups the answers. The CLI
//! and the desktop app are thin faces over [`Library`]. See `ARCHITECTURE.md`.
#![warn(missing_docs)]

pub mod bench;
pub mod catalog;
pub mod chunk;
pub mod cite;
pub mod clinical;
pub mod embed;
pub mod error;
pub mod eval;
pub mod extract;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod index;
pub mod library;
pub mod metadata;
pub mod models;
pub mod paths;
pub mod search;
pub mod settings;
pub mod watch;
pub mod writer;
pub mod zotero;

pub use catalog::{ChunkId, DocumentId, DocumentRow, Status};
pub use embed::{BertEmbedder, Embedder, ModelInfo, Pooling};
pub use error::{Error, Fault, Problem, Result};
pub use extract::{ExtractError, Extracted, Extractor};
pub use library::{FileOutcome, IndexEvent, IndexSummary, Library, LibraryStatus, Sink, Tidying};
pub use search::{Fusion, Mode, SearchOptions, SearchResponse, SearchResult};
