//! `medshelf model import`, `fetch` and `list`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use medshelf::models::fetch::{FetchProgress, FetchRequest};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use medshelf::library::{model_for, Switch};
use medshelf::models::list_models;
use medshelf::{BertEmbedder, IndexEvent, Library, Sink};

/// Draws a model switch's progress, in passages.
struct Passages(ProgressBar);

impl Sink for Passages {
    fn event(&self, event: &IndexEvent<'_>) {
        if let IndexEvent::Backfill { done, total, .. } = event {
            self.0.set_length(*total);
            self.0.set_position(*done);
        }
    }
}

/// Draws a download as a byte bar, one file at a time.
struct Bytes(ProgressBar);

impl FetchProgress for Bytes {
    fn file(&self, name: &str, size: u64, from: u64) {
        self.0.set_length(size);
        self.0.set_position(from);
        self.0.set_message(name.to_string());
    }
    fn bytes(&self, n: u64) {
        self.0.inc(n);
    }
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Check a model folder (config, tokenizer, weights, pooling, dimensions) and install it
    /// into the library's models/ folder, where searches find it without --model.
    Import(ImportArgs),
    /// The installed models, and which one the library uses.
    List(ListArgs),
    /// Download a model from the Hugging Face hub (HF_ENDPOINT, else huggingface.co) into the
    /// library's models/ folder: resumable, every file checked against the hub's hash, installed
    /// only when complete. The only command that uses the network.
    Fetch(FetchArgs),
    /// Switch the library to another installed model: every passage is embedded again from its
    /// stored text, while searches keep using the current model until the new vectors are
    /// complete. Interrupted, it resumes where it stopped when run again.
    Use(UseArgs),
}

#[derive(Args)]
pub struct UseArgs {
    /// The installed model's name (`medshelf model list`).
    #[arg(value_name = "NAME")]
    name: String,
}

#[derive(Args)]
pub struct FetchArgs {
    /// The repository, owner/name.
    #[arg(long, default_value = medshelf::models::fetch::DEFAULT_REPO)]
    repo: String,
    /// A branch, tag or commit.
    #[arg(long, default_value = medshelf::models::fetch::DEFAULT_REVISION)]
    revision: String,
}

#[derive(Args)]
pub struct ImportArgs {
    /// A model folder in the Hugging Face / sentence-transformers layout.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn model(library: &Path, explicit: Option<&Path>, cmd: ModelCommand) -> anyhow::Result<()> {
    let models = library.join("models");
    match cmd {
        ModelCommand::Import(args) => {
            let installed = Library::open_with(library, None)?.install_model(&args.dir)?;
            let info = installed.info.as_ref().expect("an imported model loaded");
            println!(
                "installed {} ({} dimensions, {} pooling) in {}",
                installed.name,
                info.dim,
                info.pooling,
                installed.path.display()
            );
            Ok(())
        }
        ModelCommand::Fetch(args) => {
            let req = FetchRequest {
                repo: args.repo,
                revision: args.revision,
                ..FetchRequest::new(None, None)
            };
            eprintln!(
                "fetching {} ({}) from {} into {}",
                req.repo,
                req.revision,
                req.endpoint,
                models.display()
            );
            let mut lib = Library::open_with(library, None)?;
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template(
                    "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            let installed = lib.fetch_model(&req, &Bytes(bar.clone()));
            bar.finish_and_clear();
            let installed = installed?;
            let info = installed.info.as_ref().expect("a fetched model loaded");
            println!(
                "installed {} ({} dimensions, {} pooling) in {}, every file checked against the hub's hashes",
                installed.name,
                info.dim,
                info.pooling,
                installed.path.display()
            );
            Ok(())
        }
        ModelCommand::Use(args) => {
            let path = models.join(&args.name);
            if !path.join("config.json").is_file() {
                let names: Vec<String> = list_models(&models).into_iter().map(|m| m.name).collect();
                anyhow::bail!(
                    "no model named {} is installed in {} (installed: {}); add one with `medshelf model import DIR` or `medshelf model fetch`",
                    args.name,
                    models.display(),
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                );
            }
            let next = Arc::new(BertEmbedder::load(&path)?);
            let mut lib = Library::open(library, explicit)?;
            let from = lib.model().map(|m| m.name.clone());
            if let Some(from) = &from {
                eprintln!(
                    "switching from {from} to {}: searches use {from} until every passage has a new vector",
                    args.name
                );
            }
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {pos}/{len} passages {per_sec} {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message("embedding");
            let outcome = lib.switch_model(next, &Passages(bar.clone()), &AtomicBool::new(false));
            bar.finish_and_clear();
            match outcome? {
                Switch::Done => println!("the library now uses {}", args.name),
                Switch::Interrupted => {
                    println!("interrupted: run the same command again to resume")
                }
            }
            Ok(())
        }
        ModelCommand::List(args) => {
            let in_use = model_for(library, explicit);
            let list = list_models(&models);
            if args.json {
                return super::print_json(&serde_json::json!({ "models": list, "in_use": in_use }));
            }
            if list.is_empty() {
                println!("no models installed in {}", models.display());
            }
            for m in &list {
                let mark = if in_use.as_deref() == Some(m.path.as_path()) {
                    "*"
                } else {
                    " "
                };
                match (&m.info, &m.problem) {
                    (Some(i), _) => println!(
                        "{mark} {}  {} dimensions, {} pooling",
                        m.name, i.dim, i.pooling
                    ),
                    (None, Some(p)) => println!("{mark} {}  unusable: {p}", m.name),
                    (None, None) => println!("{mark} {}", m.name),
                }
            }
            if let Some(p) = in_use.filter(|p| !p.starts_with(&models)) {
                println!("in use: {} (from --model or MEDSHELF_MODEL)", p.display());
            }
            Ok(())
        }
    }
}
