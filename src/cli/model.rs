//! `medshelf model import` and `medshelf model list`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use medshelf::embed::{find_model, import_model, list_models};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Check a model folder (config, tokenizer, weights, pooling, dimensions) and install it
    /// into the library's models/ folder, where searches find it without --model.
    Import(ImportArgs),
    /// The installed models, and which one the library uses.
    List(ListArgs),
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
            let installed = import_model(&args.dir, &models)?;
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
        ModelCommand::List(args) => {
            let in_use = find_model(explicit, library);
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
