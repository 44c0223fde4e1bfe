//! `medshelf cite` and `medshelf export`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use medshelf::cite::{Format, Style};
use medshelf::metadata::Record;
use medshelf::{Library, SearchOptions};

#[derive(Args)]
pub struct CiteArgs {
    /// The papers (PDFs the library holds), cited in this order.
    #[arg(required = true, value_name = "PATH", num_args = 1..)]
    paths: Vec<PathBuf>,
    /// ama (AMA 11th edition), vancouver (NLM, Citing Medicine) or apa (APA 7th edition).
    #[arg(long, value_enum, default_value_t = Style::Vancouver)]
    style: Style,
    /// Print JSON: one object per paper, {"path", "citation"}.
    #[arg(long)]
    json: bool,
}

pub fn cite(library: Library, args: CiteArgs) -> anyhow::Result<()> {
    let (paths, records, missing) = records_of(&library, &args.paths)?;
    let citations = medshelf::cite::cite(&records, args.style)?;
    if args.json {
        let rows: Vec<_> = paths
            .iter()
            .zip(&citations)
            // Lossy: a file name need not be UTF-8, JSON must be.
            .map(|(path, citation)| {
                serde_json::json!({ "path": path.to_string_lossy(), "citation": citation })
            })
            .collect();
        super::print_json(&rows)?;
        return missing_error(missing);
    }
    // Vancouver is a numbered style: the papers are numbered in the order given.
    for (n, citation) in citations.iter().enumerate() {
        match args.style {
            Style::Vancouver => println!("{}. {citation}", n + 1),
            Style::Ama | Style::Apa => println!("{citation}"),
        }
    }
    missing_error(missing)
}

#[derive(Args)]
pub struct ExportArgs {
    /// The papers to export (PDFs the library holds); with neither these nor --query, the
    /// whole library.
    #[arg(value_name = "PATH", conflicts_with = "query")]
    paths: Vec<PathBuf>,
    /// Export the papers a search finds, in its order.
    #[arg(long, value_name = "QUERY")]
    query: Option<String>,
    /// How many papers the search may return (with --query).
    #[arg(long, default_value_t = 20, requires = "query")]
    limit: usize,
    #[command(flatten)]
    filter: super::search::FilterArgs,
    /// bibtex, ris or csljson.
    #[arg(long, value_enum, default_value_t = Format::Bibtex)]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn export(library: Library, args: ExportArgs) -> anyhow::Result<()> {
    let filter = args.filter.filter()?;
    let mut missing = 0;
    let records: Vec<Record> = if let Some(query) = &args.query {
        let opts = SearchOptions {
            limit: args.limit,
            filter,
            ..SearchOptions::default()
        };
        let response = library.search(query, &opts)?;
        if let Some(notice) = &response.notice {
            eprintln!("{notice}");
        }
        response.results.into_iter().map(|r| r.meta).collect()
    } else {
        anyhow::ensure!(
            filter.is_empty(),
            "--year, --author and --venue filter a search: use them with --query"
        );
        if args.paths.is_empty() {
            library
                .documents()?
                .into_iter()
                .filter(|d| d.status == medshelf::catalog::Status::Indexed)
                .filter_map(|d| d.meta)
                .collect()
        } else {
            let (_, records, not_held) = records_of(&library, &args.paths)?;
            missing = not_held;
            records
        }
    };
    let text = medshelf::cite::export(&records, args.format);
    match &args.output {
        Some(file) => {
            std::fs::write(file, text)
                .with_context(|| format!("cannot write {}", file.display()))?;
            eprintln!("{} papers written to {}", records.len(), file.display());
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    missing_error(missing)
}

/// The records of the papers at `paths` the library holds, each path made absolute as the
/// library holds it. A path it does not hold is reported on standard error, naming the file,
/// and the others go on; the command then ends with an error, after its output.
fn records_of(
    library: &Library,
    paths: &[PathBuf],
) -> anyhow::Result<(Vec<PathBuf>, Vec<Record>, usize)> {
    let mut absolute = Vec::with_capacity(paths.len());
    let mut records = Vec::with_capacity(paths.len());
    let mut missing = 0;
    for path in paths {
        let path = std::path::absolute(path)?;
        match library.record(&path) {
            Ok(record) => {
                records.push(record);
                absolute.push(path);
            }
            Err(e @ medshelf::Error::NotInLibrary(_)) => {
                eprintln!("medshelf: {e}");
                missing += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((absolute, records, missing))
}

/// The error that ends a command some of whose papers the library does not hold.
fn missing_error(missing: usize) -> anyhow::Result<()> {
    match missing {
        0 => Ok(()),
        1 => anyhow::bail!("1 paper is not in the library (above)"),
        n => anyhow::bail!("{n} papers are not in the library (above)"),
    }
}
