//! `medshelf status` and `medshelf docs`.

use clap::Args;
use medshelf::Library;

#[derive(Args)]
pub struct JsonArg {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn status(library: Library, args: JsonArg) -> anyhow::Result<()> {
    let status = library.status()?;
    if args.json {
        return super::print_json(&status);
    }
    println!("library   {}", status.library.display());
    println!("papers    {}", status.documents);
    println!(
        "passages  {} ({} with vectors, {} in reference lists: keyword search only)",
        status.chunks, status.vectors, status.reference_passages
    );
    match &status.model {
        Some(m) => println!(
            "model     {} ({} dimensions, {} pooling, {} on {})",
            m.name, m.dim, m.pooling, m.precision, m.device
        ),
        None => println!("model     none: keyword search only"),
    }
    if !status.failed.is_empty() {
        println!("failed    {}", status.failed.len());
        for f in &status.failed {
            println!("  {}: {}", f.path.display(), f.error);
        }
    }
    if let Some(notice) = &status.notice {
        eprintln!("{notice}");
    }
    Ok(())
}

pub fn docs(library: Library, args: JsonArg) -> anyhow::Result<()> {
    let docs = library.documents()?;
    if args.json {
        return super::print_json(&docs);
    }
    for d in &docs {
        let state = match (&d.error, d.status) {
            (Some(e), _) => format!("failed: {e}"),
            (None, s) => s.as_str().to_string(),
        };
        println!(
            "{}\t{}\t{} pages\t{} passages\t{state}",
            d.path.display(),
            d.title.as_deref().unwrap_or("(untitled)"),
            d.pages,
            d.chunks
        );
    }
    Ok(())
}
