//! MedShelf's integration tests: one binary, a module per feature, sharing `support`.
//!
//! Tests that need `../shared` (real papers, reference embeddings) or the stand-in model
//! (`scripts/fetch-model`) print why they skip where those are absent.

mod chunking;
mod citations;
mod cli;
mod clinical;
mod compat;
mod duplicates;
mod eval;
mod extract;
mod faults;
mod golden;
mod hub;
mod library;
mod metadata;
mod models;
mod ocr;
mod pages;
mod papers;
mod queries;
mod reader;
mod robustness;
mod scans;
mod similar;
mod support;
mod text_quality;
mod tidying;
mod watch;
mod writer;
mod zotero;
mod zotero_cli;
mod zotero_support;
