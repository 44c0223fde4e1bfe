//! `medshelf status` and `medshelf docs`.

use clap::Args;
use medshelf::Library;

#[derive(Args)]
pub struct JsonArg {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn status(library: Library, args: JsonArg) -> anyhow::Result<()> {
    let mut status = library.status()?;
    status.ocr = Some(medshelf::extract::ocr::status());
    if args.json {
        return super::print_json(&status);
    }
    println!("library   {}", status.library.display());
    println!("papers    {}", status.documents);
    println!(
        "passages  {} ({} with vectors, {} in reference lists or refused by the model: keyword search only)",
        status.chunks, status.vectors, status.reference_passages
    );
    if status.vectors_waiting > 0 {
        println!(
            "waiting   {} passages of {} papers still need vectors: searchable by keywords, \
             by meaning once `medshelf index` (or the app) finishes them",
            status.vectors_waiting, status.papers_waiting
        );
    }
    match &status.model {
        Some(m) => {
            println!(
                "model     {} ({} dimensions, {} pooling, {} on {})",
                m.name, m.dim, m.pooling, m.precision, m.device
            );
            if !m.precision_reason.is_empty() {
                println!("          {}: {}", m.precision, m.precision_reason);
            }
        }
        None => println!("model     none: keyword search only"),
    }
    match &status.ocr {
        Some(o) if o.available => println!(
            "ocr       Tesseract {} ({}); {} pages of {} papers read by OCR",
            o.version.as_deref().unwrap_or("?"),
            o.languages.join("+"),
            status.ocr_pages,
            status.ocr_papers
        ),
        Some(o) => println!(
            "ocr       off: {}",
            o.reason.as_deref().unwrap_or("not available")
        ),
        None => {}
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

#[derive(Args)]
pub struct MetaArgs {
    /// The paper (a PDF the library holds).
    path: std::path::PathBuf,
    /// Correct a field: FIELD=VALUE (title, authors, year, venue, doi, pmid, pmcid, trial_ids,
    /// abstract); authors and trial ids separated by ';' ("Smith, John; Doe, Jane"). An empty
    /// value says the paper has none. Corrections are kept and win over what is read from the
    /// PDF, also after re-indexing.
    #[arg(long, value_name = "FIELD=VALUE")]
    set: Vec<String>,
    /// Take back a correction, so that what was read from the PDF shows again.
    #[arg(long, value_name = "FIELD")]
    reset: Vec<String>,
    /// Print JSON (the `meta` object of `docs --json`).
    #[arg(long)]
    json: bool,
}

pub fn meta(mut library: Library, args: MetaArgs) -> anyhow::Result<()> {
    use medshelf::metadata::{Edit, FIELDS};
    let path = std::path::absolute(&args.path)?;
    // Every argument is checked before anything is written: all or nothing.
    let set = args
        .set
        .iter()
        .map(|a| Edit::parse_assignment(a))
        .collect::<Result<Vec<_>, _>>()?;
    let reset = args
        .reset
        .iter()
        .map(|f| {
            FIELDS
                .iter()
                .copied()
                .find(|known| known.eq_ignore_ascii_case(f))
                .ok_or_else(|| medshelf::metadata::EditError::UnknownField(f.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let record = if set.is_empty() && reset.is_empty() {
        library.record(&path)?
    } else {
        library.correct(&path, &set, &reset)?
    };
    if args.json {
        return super::print_json(&record);
    }
    let json = serde_json::to_value(&record)?;
    for field in FIELDS {
        if field == "design" {
            if let Some(d) = &record.design {
                let source = serde_json::to_value(d.source).unwrap_or_default();
                println!(
                    "{field:<9} {} ({}, {:.2}): {}",
                    d.label,
                    source.as_str().unwrap_or_default(),
                    d.confidence,
                    d.reasons.join("; ")
                );
            }
            continue;
        }
        let value = match &json[field] {
            serde_json::Value::Null => continue,
            serde_json::Value::Array(items) if items.is_empty() => continue,
            serde_json::Value::Array(_) if field == "authors" => record
                .authors
                .iter()
                .map(|a| {
                    format!("{}, {}", a.family, a.given)
                        .trim_end_matches(", ")
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join("; "),
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let source = record
            .provenance
            .get(field)
            .map(|s| {
                format!(
                    "  ({})",
                    serde_json::to_value(s)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("")
                )
            })
            .unwrap_or_default();
        println!("{field:<10}{value}{source}");
    }
    Ok(())
}
