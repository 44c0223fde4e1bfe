//! `medshelf similar`: more like this paper, or this page of it.

use clap::Args;
use medshelf::library::SimilarOptions;
use medshelf::{Library, Mode};

#[derive(Args)]
pub struct SimilarArgs {
    /// The paper (a PDF the library holds).
    path: std::path::PathBuf,
    /// Only this page of it (1-based): papers like what the page says.
    #[arg(long, value_name = "N")]
    page: Option<u32>,
    /// How many papers to show.
    #[arg(long, short = 'n', default_value_t = 10)]
    limit: usize,
    /// hybrid (meaning and shared rare words), lexical (shared words) or semantic (meaning).
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Print the results as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn similar(library: Library, args: SimilarArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.page != Some(0), "--page counts from 1");
    let path = std::path::absolute(&args.path)?;
    let opts = SimilarOptions {
        page: args.page,
        limit: args.limit,
        mode: args.mode,
    };
    let response = library.similar(&path, &opts)?;
    if args.json {
        return super::print_json(&response);
    }
    if let Some(notice) = &response.notice {
        eprintln!("{notice}");
    }
    let title = response.source.title.as_deref().unwrap_or("(untitled)");
    match response.source.page {
        Some(page) => println!("Papers like page {page} of \"{title}\""),
        None => println!("Papers like \"{title}\""),
    }
    if !response.terms.is_empty() {
        let shown: Vec<&str> = response.terms.iter().take(8).map(String::as_str).collect();
        println!("Shared words: {}", shown.join(", "));
    }
    for d in &response.duplicates {
        println!("Left out, the same article: {}", d.display());
    }
    println!();
    if response.results.is_empty() {
        println!("No other paper of the library is like it.");
    }
    super::search::print_results(&response.results);
    Ok(())
}
