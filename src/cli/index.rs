//! `medshelf index` and `medshelf remove`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::{HumanCount, ProgressBar, ProgressStyle};
use medshelf::extract::WorkerExtractor;
use medshelf::library::NO_MODEL_NOTICE;
use medshelf::library::{Embedding, IndexOptions};
use medshelf::writer::{Following, JobId, Outcome, Report};
use medshelf::{FileOutcome, IndexEvent, Library, Sink, Tidying};

#[derive(Args)]
pub struct IndexArgs {
    /// PDF files and folders to index.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Read again the files that failed before, though they did not change.
    #[arg(long)]
    retry_failed: bool,
    /// Embed papers before storing them, as index runs did before the two phases (each paper
    /// searchable by keywords and meaning at once, all of them later): for measuring.
    #[arg(long)]
    embed_inline: bool,
    /// Leave scanned pages unread: no OCR in this run (a scan without a text layer fails as
    /// "no text found"; `--retry-failed` reads it later).
    #[arg(long)]
    no_ocr: bool,
    #[command(flatten)]
    reader: ReaderArgs,
}

/// How PDFs are read.
#[derive(Args)]
pub struct ReaderArgs {
    /// Seconds allowed to read one PDF before it is skipped as timed out.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
}

impl ReaderArgs {
    /// Reads PDFs in a worker process (this binary), so a hostile file cannot stall or crash
    /// the run.
    pub fn install(&self, library: &mut Library) -> anyhow::Result<()> {
        let exe = std::env::current_exe()?;
        let worker = WorkerExtractor::new(exe, &["extract-worker"])
            .with_workers(medshelf::extract::default_workers())
            .with_timeout(Duration::from_secs(self.timeout.max(1)));
        library.set_extractor(Box::new(worker));
        Ok(())
    }
}

#[derive(Args)]
pub struct WatchArgs {
    /// Folders to follow (default: every folder indexed before).
    #[arg(value_name = "FOLDER")]
    folders: Vec<PathBuf>,
    #[command(flatten)]
    reader: ReaderArgs,
}

#[derive(Args)]
pub struct RemoveArgs {
    /// Files or folders to take out of the library.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Draws a progress bar (on a terminal only) and prints each failure above it; when watching,
/// also each file indexed.
pub struct Bar(pub ProgressBar, pub bool);

impl Sink for Bar {
    fn event(&self, event: &IndexEvent<'_>) {
        // A tidying step lasts until the next event: the bar's clock keeps moving through it,
        // so that seconds of merging do not look like a hang.
        if !matches!(event, IndexEvent::Tidying(_)) {
            self.0.disable_steady_tick();
        }
        match event {
            IndexEvent::Tidying(step) => {
                self.0.set_message(tidying_words(step));
                self.0.enable_steady_tick(Duration::from_millis(500));
            }
            IndexEvent::Started { files } => self.0.set_length(*files as u64),
            IndexEvent::FileStarted { path } => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                self.0.set_message(name.into_owned());
            }
            IndexEvent::Embedding { .. } => {}
            IndexEvent::Ocr { path, progress } => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                self.0.set_message(format!(
                    "{name}: OCR page {} of {}",
                    progress.done + 1,
                    progress.pages
                ));
            }
            // The second phase: the bar counts passages now, and says how many papers are
            // searchable by meaning (all are by keywords already).
            IndexEvent::Backfill {
                done,
                total,
                papers_done,
                papers,
            } => {
                if self.0.length() != Some(*total) {
                    self.0.set_style(bar_style("passages"));
                    self.0.reset();
                    self.0.set_length(*total);
                }
                self.0.set_position(*done);
                self.0.set_message(format!(
                    "embedding for meaning search: {papers_done} of {papers} papers done"
                ));
            }
            IndexEvent::Removed { path } => {
                self.0.suspend(|| println!("removed {}", path.display()));
            }
            IndexEvent::Watching { folders } => {
                let list: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
                self.0.suspend(|| println!("watching {}", list.join(", ")));
            }
            IndexEvent::FileDone { path, outcome } => {
                if let (FileOutcome::Indexed { .. }, true) = (outcome, self.1) {
                    self.0.suspend(|| println!("indexed {}", path.display()));
                }
                if let FileOutcome::Failed { error, .. } = outcome {
                    self.0
                        .suspend(|| eprintln!("failed: {}: {error}", path.display()));
                }
                self.0.inc(1);
            }
        }
    }
}

/// A tidying step in words, for the bar's message.
pub fn tidying_words(step: &Tidying) -> String {
    match step {
        Tidying::Remining { papers } => format!(
            "finding the abbreviations of {} papers again in their stored pages (once, for this version)",
            HumanCount(*papers)
        ),
        Tidying::Merging { passages, .. } => {
            format!(
                "merging the keyword index ({} passages) for quicker searches",
                HumanCount(*passages)
            )
        }
    }
}

pub fn index(mut library: Library, args: IndexArgs) -> anyhow::Result<()> {
    if library.model().is_none() {
        eprintln!("{NO_MODEL_NOTICE}");
    }
    let bar = progress_bar("files");
    args.reader.install(&mut library)?;
    let cancel = AtomicBool::new(false);
    let options = IndexOptions {
        retry_failed: args.retry_failed,
        embedding: if args.embed_inline {
            Embedding::Inline
        } else {
            Embedding::After
        },
        no_ocr: args.no_ocr,
    };
    let summary = library.index_with(&args.paths, options, &Bar(bar.clone(), false), &cancel)?;
    bar.finish_and_clear();
    if args.json {
        return super::print_json(&summary);
    }
    let s = &summary.stages;
    if summary.removed > 0 {
        println!("forgot {} files no longer on disk", summary.removed);
    }
    if summary.indexed > 0 && library.model().is_some() {
        println!(
            "searchable by keywords after {:.1} s, by meaning after {:.1} s",
            summary.keywords_seconds, summary.seconds
        );
    }
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

pub fn watch(mut library: Library, args: WatchArgs) -> anyhow::Result<()> {
    let folders = if args.folders.is_empty() {
        library.folders()?
    } else {
        args.folders
            .iter()
            .map(std::path::absolute)
            .collect::<Result<Vec<_>, _>>()?
    };
    let zotero = library.zotero_source()?;
    anyhow::ensure!(
        !folders.is_empty() || zotero.is_some(),
        "no folders to watch: name them, or index a folder (or import from Zotero) first"
    );
    args.reader.install(&mut library)?;
    // Refused at once where another process writes, rather than on the first job.
    library.open_for_writing()?;
    // The watcher's batches and the catch-up are jobs on the engine's one writer queue, as in
    // the app. The progress bar would flicker on every event: watching prints one line per
    // change.
    let report = WatchReport(Bar(ProgressBar::hidden(), true));
    let (queue, writer) = medshelf::writer::writer(library);
    // A library imported from Zotero follows it too: Zotero writing its database brings a
    // quiet re-import on the same queue.
    let _zotero_watch = match &zotero {
        Some(source) => {
            let (queue, dir) = (Arc::downgrade(&queue), source.dir.clone());
            let reimport = Arc::new(move || {
                let home = dirs::home_dir().unwrap_or_default();
                let prefs = medshelf::zotero::Prefs::load(&home);
                if let Some(q) = queue.upgrade() {
                    if let Err(e) = q.reimport_zotero(&dir, &prefs) {
                        eprintln!("Zotero changed but could not be read: {e}");
                    }
                }
            });
            let on_change = reimport.clone();
            let watch = medshelf::watch::ZoteroWatcher::start(
                &source.dir,
                medshelf::watch::ZOTERO_SETTLE,
                move || on_change(),
            )?;
            println!("watching Zotero {}", source.dir.display());
            // What Zotero changed while no one watched comes over first.
            let changed = medshelf::paths::stat(&source.dir.join("zotero.sqlite"))
                .is_ok_and(|(_, mtime)| mtime != source.db_mtime_ns);
            if changed {
                reimport();
            }
            Some(watch)
        }
        None => None,
    };
    // Only the folders named (or the library's, where none is), and a watch that cannot start
    // ends the command with the reason.
    let following = Following {
        folders,
        library_folders: false,
        strict: true,
    };
    writer
        .holding_the_lock()
        .run(Arc::downgrade(&queue), Some(following), &report)?;
    Ok(())
}

/// What `medshelf watch` prints of the writer's jobs: each change, and each job that could
/// not run, with the reason.
struct WatchReport(Bar);

impl Report for WatchReport {
    fn event(&self, _job: JobId, event: &IndexEvent<'_>) {
        self.0.event(event);
    }

    fn finished(&self, _job: JobId, outcome: Outcome) {
        if let Outcome::Failed(e) = outcome {
            self.0 .0.suspend(|| eprintln!("error: {e}"));
        }
    }
}

/// A progress bar that draws only on a terminal.
pub fn progress_bar(unit: &str) -> ProgressBar {
    ProgressBar::new(0).with_style(bar_style(unit))
}

/// A bar's look, counting `unit`.
fn bar_style(unit: &str) -> ProgressStyle {
    let template = format!(
        "{{bar:30}} {{pos}}/{{len}} {unit}  {{elapsed_precise}} (left {{eta}})  {{wide_msg}}"
    );
    ProgressStyle::with_template(&template).expect("the template is valid")
}
