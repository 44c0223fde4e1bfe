//! MedShelf's integration tests: one binary, a module per feature, sharing `support`.
//!
//! Tests that need `../shared` (real papers, reference embeddings) or the stand-in model
//! (`scripts/fetch-model`) print why they skip where those are absent.

mod cli;
mod eval;
mod extract;
mod golden;
mod hub;
mod library;
mod papers;
mod robustness;
mod support;
mod watch;
