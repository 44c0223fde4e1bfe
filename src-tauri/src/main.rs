//! MedShelf, the desktop app: a window over the `medshelf` engine.
//!
//! The app adds no search logic of its own. Its commands ([`commands`]) are thin: they check
//! what the page asks for and hand the work to the engine, off the UI thread. Indexing runs on
//! one engine thread ([`engine`]) that owns the library for writing; searches run on Tauri's
//! blocking pool through a [`medshelf::library::Searcher`], so they keep answering while papers
//! are being indexed. Progress reaches the page as `ingest` events.

// A release build on Windows must not open a console window beside the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod engine;
mod ingest;
#[cfg(target_os = "linux")]
mod renderer;
mod search;

fn main() {
    // PDFs are read in a child process (the app's own binary in this mode), so a PDF that
    // crashes, hangs or balloons the reader never takes the window down.
    // The environment is read here, once; the engine gets the value (`medshelf::settings`).
    medshelf::settings::init(medshelf::settings::Settings::from_env());
    if std::env::args().nth(1).as_deref() == Some(engine::WORKER_ARG) {
        if let Err(e) = medshelf::extract::run_worker() {
            eprintln!("medshelf-app extract-worker: {e}");
            std::process::exit(2);
        }
        return;
    }
    medshelf::embed::keep_freed_memory();
    commands::run();
}
