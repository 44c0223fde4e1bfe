//! `medshelf zotero import` and `medshelf zotero status`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand};
use medshelf::library::NO_MODEL_NOTICE;
use medshelf::zotero::{self, Prefs};
use medshelf::Library;

use super::index::{progress_bar, Bar, ReaderArgs};

#[derive(Subcommand)]
pub enum ZoteroCommand {
    /// Import a Zotero library (read-only: Zotero's files are never written): its PDFs, with
    /// Zotero's metadata, collections, tags, notes and annotations. Run again, it brings over
    /// only what changed and takes out what Zotero no longer holds.
    Import(ImportArgs),
    /// The Zotero folder this library was imported from, when, and what it holds.
    Status(super::info::JsonArg),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The Zotero data folder (the one with zotero.sqlite and storage/); default: the one
    /// Zotero's settings name, else ~/Zotero.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The base folder of linked files stored relative to it (default: Zotero's setting).
    #[arg(long, value_name = "DIR")]
    base_dir: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    reader: ReaderArgs,
}

pub fn zotero(library: Library, cmd: ZoteroCommand) -> anyhow::Result<()> {
    match cmd {
        ZoteroCommand::Import(args) => import(library, args),
        ZoteroCommand::Status(args) => status(library, args),
    }
}

fn import(mut library: Library, args: ImportArgs) -> anyhow::Result<()> {
    let home = dirs::home_dir().unwrap_or_default();
    let mut prefs = Prefs::load(&home);
    if let Some(base) = args.base_dir {
        prefs.base_attachment_path = Some(std::path::absolute(&base)?);
    }
    let dir = match args.dir {
        Some(dir) => dir,
        None => prefs
            .data_dir
            .clone()
            .unwrap_or_else(|| zotero::default_dir(&home)),
    };
    // Absolute, so that the library holds paths that mean the same from anywhere.
    let dir = std::path::absolute(&dir)?;
    if library.model().is_none() {
        eprintln!("{NO_MODEL_NOTICE}");
    }
    let snapshot = zotero::read(&dir, &prefs)?;
    args.reader.install(&mut library)?;
    let bar = progress_bar("files");
    let cancel = AtomicBool::new(false);
    let summary = library.import_zotero(&snapshot, &Bar(bar.clone(), false), &cancel)?;
    // The papers and their records are in; their passages' vectors now (the second phase).
    library.embed_missing(&Bar(bar.clone(), false), &cancel)?;
    bar.finish_and_clear();
    if args.json {
        return super::print_json(&summary);
    }
    for s in &summary.skipped {
        let what = s.title.as_deref().unwrap_or(&s.key);
        match &s.path {
            Some(path) => eprintln!(
                "skipped: {what}: {} ({})",
                s.reason.describe(),
                path.display()
            ),
            None => eprintln!("skipped: {what}: {}", s.reason.describe()),
        }
    }
    let i = &summary.index;
    println!(
        "Zotero {}: {} items ({} in the trash, skipped); imported {}, unchanged {}, removed {}; \
         {} PDFs (indexed {}, unchanged {}, failed {}); your notes and annotations: {}; {} skipped; {:.1} s",
        summary.dir.display(),
        summary.found,
        summary.trashed,
        summary.imported,
        summary.unchanged,
        summary.removed,
        summary.files,
        i.indexed,
        i.unchanged,
        i.failed,
        summary.notes,
        summary.skipped.len(),
        summary.seconds
    );
    for failure in &i.failures {
        eprintln!("failed: {}: {}", failure.path.display(), failure.error);
    }
    Ok(())
}

fn status(library: Library, args: super::info::JsonArg) -> anyhow::Result<()> {
    let source = library.zotero_source()?;
    let papers = library
        .documents()?
        .into_iter()
        .filter(|d| d.zotero.is_some())
        .count();
    if args.json {
        return super::print_json(&serde_json::json!({
            "source": source.as_ref().map(|s| serde_json::json!({
                "dir": s.dir.to_string_lossy(),
                "imported_at": s.imported_at,
                "schema": s.schema,
                "items": s.items,
                "skipped": s.skipped,
                "changed_since": changed_since(s),
            })),
            "papers": papers,
        }));
    }
    match source {
        None => println!("no Zotero library imported (medshelf zotero import [DIR])"),
        Some(s) => {
            println!("Zotero folder: {}", s.dir.display());
            println!(
                "last import: {} items, {} skipped, {} papers in this library (schema {})",
                s.items, s.skipped, papers, s.schema
            );
            if changed_since(&s) {
                println!("Zotero's database changed since: run `medshelf zotero import` again");
            }
        }
    }
    Ok(())
}

/// Whether Zotero's database changed since the last import.
fn changed_since(source: &medshelf::library::ZoteroSource) -> bool {
    medshelf::paths::stat(&source.dir.join("zotero.sqlite"))
        .map_or(true, |(_, mtime)| mtime != source.db_mtime_ns)
}
