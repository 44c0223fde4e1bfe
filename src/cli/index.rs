//! `medshelf index` and `medshelf remove`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use medshelf::library::NO_MODEL_NOTICE;
use medshelf::{FileOutcome, IndexEvent, Library, Sink};

#[derive(Args)]
pub struct IndexArgs {
    /// PDF files and folders to index.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RemoveArgs {
    /// Files or folders to take out of the library.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Draws a progress bar (on a terminal only) and prints each failure above it.
struct Bar(ProgressBar);

impl Sink for Bar {
    fn event(&self, event: &IndexEvent<'_>) {
        match event {
            IndexEvent::Started { files } => self.0.set_length(*files as u64),
            IndexEvent::FileStarted { path } => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                self.0.set_message(name.into_owned());
            }
            IndexEvent::FileDone { path, outcome } => {
                if let FileOutcome::Failed { error, .. } = outcome {
                    self.0
                        .suspend(|| eprintln!("failed: {}: {error}", path.display()));
                }
                self.0.inc(1);
            }
        }
    }
}

pub fn index(mut library: Library, args: IndexArgs) -> anyhow::Result<()> {
    if library.model().is_none() {
        eprintln!("{NO_MODEL_NOTICE}");
    }
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} files  {elapsed_precise} (left {eta})  {wide_msg}",
        )
        .expect("the template is valid"),
    );
    let cancel = AtomicBool::new(false);
    let summary = library.index(&args.paths, &Bar(bar.clone()), &cancel)?;
    bar.finish_and_clear();
    if args.json {
        return super::print_json(&summary);
    }
    let s = &summary.stages;
    println!(
        "indexed {}, unchanged {}, failed {} ({} pages, {} passages in {:.1} s: hash {:.1} s, extract {:.1} s, chunk {:.1} s, embed {:.1} s, write {:.1} s)",
        summary.indexed, summary.unchanged, summary.failed, summary.pages, summary.chunks,
        summary.seconds, s.hash, s.extract, s.chunk, s.embed, s.write
    );
    Ok(())
}

pub fn remove(mut library: Library, args: RemoveArgs) -> anyhow::Result<()> {
    let removed = library.remove(&args.paths)?;
    for path in &removed {
        println!("removed {}", path.display());
    }
    if removed.is_empty() {
        eprintln!("nothing in the library matched those paths");
    }
    Ok(())
}
