//! Arguments and dispatch. Each command lives in its own module and is a few lines over
//! [`medshelf::Library`].

mod bench;
mod cite;
mod eval;
mod index;
mod info;
mod model;
pub mod search;
mod similar;
mod zotero;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use medshelf::models::find_model;
use medshelf::settings::Settings;
use medshelf::Library;

/// Search your medical papers offline: keywords and meaning, the right paper and page.
#[derive(Parser)]
#[command(name = "medshelf", version, about)]
pub struct Cli {
    /// The library folder (default: $MEDSHELF_LIBRARY, then the platform's data folder, e.g.
    /// ~/.local/share/medshelf).
    #[arg(long, global = true, value_name = "DIR")]
    library: Option<PathBuf>,
    /// The embedding model folder (default: $MEDSHELF_MODEL, then the library's models/ folder).
    #[arg(long, global = true, value_name = "DIR")]
    model: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add PDFs and folders of PDFs (recursively); unchanged files are skipped.
    Index(index::IndexArgs),
    /// Search the library.
    Search(search::SearchArgs),
    /// Counts, the model in use, and files that failed with the reason.
    Status(info::JsonArg),
    /// One row per document: path, title, pages, chunks, status, error.
    Docs(info::JsonArg),
    /// Show a paper's record (title, authors, year, venue, DOI...) with where each field came
    /// from, and correct it (--set FIELD=VALUE, --reset FIELD).
    Meta(info::MetaArgs),
    /// Papers like a paper (or one of its pages), by meaning and by the rare words they
    /// share; the paper itself and its duplicates left out.
    Similar(similar::SimilarArgs),
    /// Print papers as references: AMA, Vancouver (NLM) or APA.
    Cite(cite::CiteArgs),
    /// Write papers' records as BibTeX, RIS or CSL-JSON for a reference manager: the papers
    /// named, a search's results (--query), or the whole library.
    Export(cite::ExportArgs),
    /// Take files, or every file under a folder, out of the library.
    Remove(index::RemoveArgs),
    /// Follow folders (default: those indexed before): added, changed, moved and deleted PDFs
    /// are reflected within seconds. Runs until stopped.
    Watch(index::WatchArgs),
    /// Import a Zotero library (read-only) and keep it in step: `zotero import [DIR]`,
    /// `zotero status`.
    #[command(subcommand)]
    Zotero(zotero::ZoteroCommand),
    /// Install and list embedding models in the library's models/ folder.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Measure speed: embedding throughput and single-query latency.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Measure retrieval quality on a benchmark in BEIR layout (nDCG@10, Recall@100, MRR@10).
    Eval(eval::EvalArgs),
    /// Measure whether questions open the right paper at the right page, on a page-level set
    /// (page hit rate, paper MRR, the rank of the first right page), per mode and paper length.
    EvalPages(eval::EvalPagesArgs),
    /// Measure the metadata read from PDFs (title, authors, year, venue, DOI) against a
    /// hand-checked table, beside what the Info dictionary alone gives.
    EvalMeta(eval::EvalMetaArgs),
    /// Measure the study design read from PDFs (rct, cohort, systematic-review...) against a
    /// hand-labelled table: accuracy, each class's precision and recall, the confusion table
    EvalDesign(eval::EvalDesignArgs),
    /// Measure "more like this" on a BEIR benchmark: documents judged highly relevant to one
    /// query are related; precision, MRR and recall of the first ten per mode.
    EvalSimilar(eval::EvalSimilarArgs),
    /// Internal: read PDFs for an index run in an isolated process.
    #[command(hide = true)]
    ExtractWorker,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::ExtractWorker = cli.command {
        medshelf::settings::init(Settings::from_env());
        return Ok(medshelf::extract::run_worker()?);
    }
    // The environment is read here, once; the engine gets the value (`medshelf::settings`).
    let mut settings = Settings::from_env();
    if let Some(why) = &settings.precision_error {
        eprintln!("warning: {why}; the default (auto) holds");
    }
    if let Command::Bench(cmd) = &cli.command {
        bench::adjust(cmd, &mut settings);
    }
    let dir = match cli.library.clone().or_else(|| settings.library_dir()) {
        Some(dir) => dir,
        None => anyhow::bail!("no data folder on this system: pass --library DIR"),
    };
    medshelf::settings::init(settings);
    match cli.command {
        // These two work outside the library, but find the model the same way it does.
        Command::Eval(args) => return eval::eval(find_model(cli.model.as_deref(), &dir), args),
        Command::EvalPages(args) => {
            return eval::eval_pages(find_model(cli.model.as_deref(), &dir), args)
        }
        Command::EvalSimilar(args) => {
            return eval::eval_similar(find_model(cli.model.as_deref(), &dir), args)
        }
        Command::Bench(cmd) => {
            return bench::bench(find_model(cli.model.as_deref(), &dir), &dir, cmd)
        }
        Command::EvalMeta(args) => return eval::eval_meta(args),
        Command::EvalDesign(args) => return eval::eval_design(args),
        _ => {}
    }
    let open = || {
        // The first opening after an upgrade of MedShelf may migrate the catalog, reading
        // whole tables: say so rather than sit silent.
        if let Some((from, to)) = Library::pending_upgrade(&dir) {
            eprintln!(
                "Upgrading the library in {} to this version's format ({from} to {to}): once, \
                 and up to a minute on a large library…",
                dir.display()
            );
        }
        Library::open(&dir, cli.model.as_deref())
            .with_context(|| format!("cannot open the library {}", dir.display()))
    };
    match cli.command {
        Command::Index(args) => index::index(open()?, args),
        Command::Search(args) => search::search(open()?, args),
        Command::Status(args) => info::status(open()?, args),
        Command::Docs(args) => info::docs(open()?, args),
        Command::Meta(args) => info::meta(open()?, args),
        Command::Similar(args) => similar::similar(open()?, args),
        Command::Cite(args) => cite::cite(open()?, args),
        Command::Export(args) => cite::export(open()?, args),
        Command::Remove(args) => index::remove(open()?, args),
        Command::Watch(args) => index::watch(open()?, args),
        Command::Zotero(cmd) => zotero::zotero(open()?, cmd),
        Command::Model(cmd) => model::model(&dir, cli.model.as_deref(), cmd),
        Command::ExtractWorker
        | Command::Eval(_)
        | Command::EvalPages(_)
        | Command::EvalMeta(_)
        | Command::EvalDesign(_)
        | Command::EvalSimilar(_)
        | Command::Bench(_) => {
            unreachable!("handled above")
        }
    }
}

/// Prints a value as JSON on one line.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
