//! `medshelf bench`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use medshelf::BertEmbedder;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Chunks/s, tokens/s (tokenisation included) and single-query latency on a JSONL of texts.
    Embed(EmbedArgs),
}

#[derive(Args)]
pub struct EmbedArgs {
    /// One {"text": ...} a line; texts are truncated at the model's 256 word pieces.
    #[arg(long, value_name = "FILE")]
    texts: PathBuf,
    /// Texts per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Print JSON: {"model", "chunks", "chunks_per_s", "tokens_per_s", "query_ms_p50", ...}.
    #[arg(long)]
    json: bool,
}

pub fn bench(model: Option<&Path>, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Embed(args) => {
            let dir = model
                .map(Path::to_path_buf)
                .or_else(|| std::env::var_os("MEDSHELF_MODEL").map(PathBuf::from))
                .context("bench embed needs a model: pass --model DIR or set MEDSHELF_MODEL")?;
            let embedder = BertEmbedder::load(&dir)?.with_batch_size(args.batch);
            let texts = medshelf::bench::read_texts(&args.texts)?;
            let r = medshelf::bench::embed(&embedder, &texts, args.batch)?;
            if args.json {
                return super::print_json(&r);
            }
            println!(
                "{}: {} texts ({} tokens), batch {}: {:.1} chunks/s, {:.0} tokens/s, query p50 {:.2} ms",
                r.model, r.chunks, r.tokens, r.batch, r.chunks_per_s, r.tokens_per_s, r.query_ms_p50
            );
            Ok(())
        }
    }
}
