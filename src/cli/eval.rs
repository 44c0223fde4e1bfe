//! `medshelf eval`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use medshelf::embed::Encoder;
use medshelf::eval::{cache_dir, evaluate, load_beir};
use medshelf::{BertEmbedder, Embedder, Library, Mode, SearchOptions};

use super::index::{progress_bar, Bar};

#[derive(Clone, Copy, ValueEnum)]
enum EvalMode {
    Hybrid,
    Lexical,
    Semantic,
    All,
}

impl EvalMode {
    /// The rankings to measure; without a model, keywords only, and the notice says so.
    fn modes(self, model: bool) -> Vec<Mode> {
        if !model {
            eprintln!("{}", medshelf::library::NO_MODEL_NOTICE);
        }
        match (self, model) {
            (EvalMode::All, true) => vec![Mode::Lexical, Mode::Semantic, Mode::Hybrid],
            (EvalMode::All, false) => vec![Mode::Lexical],
            (EvalMode::Hybrid, _) => vec![Mode::Hybrid],
            (EvalMode::Lexical, _) => vec![Mode::Lexical],
            (EvalMode::Semantic, _) => vec![Mode::Semantic],
        }
    }
}

#[derive(Args)]
pub struct EvalArgs {
    /// A benchmark folder in BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Which judgements to score.
    #[arg(long, default_value = "test")]
    split: String,
    /// Which ranking to measure.
    #[arg(long, value_enum, default_value_t = EvalMode::All)]
    mode: EvalMode,
    #[command(flatten)]
    fusion: super::search::FusionArgs,
    /// Passages each side contributes before fusion.
    #[arg(long, default_value_t = 100)]
    candidates: usize,
    /// Ask the queries as typed: no abbreviation expanded (what expansion costs or gains).
    #[arg(long)]
    no_expand: bool,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    /// Embed with 8-bit projections (`embed::int8`) instead of f32, to measure what they cost
    /// in quality (its index is cached apart from the f32 one).
    #[arg(long)]
    int8: bool,
}

/// A benchmark's cached library with `model_dir`'s model (8-bit projections where `int8`,
/// cached apart), its corpus indexed (with a progress bar) where an earlier run did not.
fn benchmark_library(
    model_dir: Option<PathBuf>,
    bench: &medshelf::eval::Benchmark,
    int8: bool,
) -> anyhow::Result<Library> {
    let embedder: Option<std::sync::Arc<dyn Embedder>> = match &model_dir {
        Some(dir) => Some(std::sync::Arc::new(BertEmbedder::load_with(
            dir,
            if int8 { Encoder::Int8 } else { Encoder::Own },
        )?)),
        None => None,
    };
    let model = embedder.as_ref().map(|e| {
        let name = &e.info().name;
        if int8 {
            format!("{name}-int8")
        } else {
            name.clone()
        }
    });
    let dir = cache_dir(bench, model.as_deref());
    let mut library = Library::open_with(&dir, embedder)?;
    let bar = progress_bar("documents");
    medshelf::eval::index_corpus(&mut library, bench, &Bar(bar.clone(), false))?;
    bar.finish_and_clear();
    Ok(library)
}

pub fn eval(model_dir: Option<PathBuf>, args: EvalArgs) -> anyhow::Result<()> {
    let bench = load_beir(&args.dir, &args.split)?;
    let library = benchmark_library(model_dir, &bench, args.int8)?;
    let modes = args.mode.modes(library.model().is_some());
    let base = SearchOptions {
        candidates: args.candidates,
        expand: medshelf::clinical::abbrev::ExpandOptions {
            enabled: !args.no_expand,
            ..Default::default()
        },
        ..args.fusion.options()?
    };
    let report = evaluate(&library, &bench, &modes, &base)?;
    if args.json {
        return super::print_json(&report);
    }
    println!(
        "{} ({} split, {} queries, {} documents; model {})",
        report.dataset,
        report.split,
        report.queries,
        bench.corpus.len(),
        report.model.as_deref().unwrap_or("none")
    );
    println!(
        "{:<10} {:>8} {:>11} {:>7}",
        "mode", "nDCG@10", "Recall@100", "MRR@10"
    );
    for (mode, s) in &report.modes {
        println!(
            "{mode:<10} {:>8.4} {:>11.4} {:>7.4}",
            s.ndcg_10, s.recall_100, s.mrr_10
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct EvalSimilarArgs {
    /// A benchmark folder in BEIR layout (NFCorpus: papers cited by one article are related).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Which judgements relate documents.
    #[arg(long, default_value = "test")]
    split: String,
    /// Which ranking to measure.
    #[arg(long, value_enum, default_value_t = EvalMode::All)]
    mode: EvalMode,
    /// At most this many documents ask for their similar papers (spread over the corpus).
    #[arg(long, default_value_t = 1000)]
    sources: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

/// `medshelf eval-similar`: indexes the corpus into the cached library `eval` uses, then asks
/// for the papers like each related document.
pub fn eval_similar(model_dir: Option<PathBuf>, args: EvalSimilarArgs) -> anyhow::Result<()> {
    let bench = load_beir(&args.dir, &args.split)?;
    let library = benchmark_library(model_dir, &bench, false)?;
    let modes = args.mode.modes(library.model().is_some());
    let report = medshelf::eval::similar::evaluate_similar(&library, &bench, &modes, args.sources)?;
    if args.json {
        return super::print_json(&report);
    }
    println!(
        "{} ({} split): {} papers asked for papers like them, {:.1} related each; a random order \
         scores P@10 {:.4}",
        report.dataset,
        report.split,
        report.sources,
        report.related_mean,
        report.random_precision_10
    );
    println!(
        "{:<10} {:>6} {:>7} {:>9}",
        "mode", "P@10", "MRR@10", "Recall@10"
    );
    for (mode, s) in &report.modes {
        println!(
            "{mode:<10} {:>6.4} {:>7.4} {:>9.4}",
            s.precision_10, s.mrr_10, s.recall_10
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct EvalPagesArgs {
    /// A page-level question set: TSV with id, file, pages, question, answer
    /// (tests/fixtures/pages/dev.tsv).
    #[arg(value_name = "SET")]
    set: PathBuf,
    /// The folder the set's files are named under (../shared/data for the development set).
    #[arg(long, value_name = "DIR")]
    root: PathBuf,
    /// Which ranking to measure.
    #[arg(long, value_enum, default_value_t = EvalMode::All)]
    mode: EvalMode,
    #[command(flatten)]
    fusion: super::search::FusionArgs,
    /// Passages each side contributes before fusion.
    #[arg(long, default_value_t = 100)]
    candidates: usize,
    /// Ask the questions as typed: no abbreviation expanded (the figures without expansion).
    #[arg(long)]
    no_expand: bool,
    /// In hybrid mode too, embed the question with its expansions for the meaning side
    /// (semantic mode always does; hybrid embeds it as typed).
    #[arg(long, conflicts_with = "no_expand")]
    expand_meaning: bool,
    /// Print the figures (and each question's outcome) as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    reader: super::index::ReaderArgs,
}

/// `medshelf eval-pages`: indexes the folders the set's papers are in (the other papers there
/// are the distractors) into a cached library, then asks every question in each mode.
pub fn eval_pages(model_dir: Option<PathBuf>, args: EvalPagesArgs) -> anyhow::Result<()> {
    use medshelf::eval::pages::{evaluate_pages, load_set};
    let set = load_set(&args.set)?;
    anyhow::ensure!(!set.is_empty(), "{} holds no questions", args.set.display());
    // Canonical, so that `../shared/data` and `/work/shared/data` share one cached library.
    let root = std::fs::canonicalize(&args.root)
        .with_context(|| format!("cannot read {}", args.root.display()))?;
    let mut folders: Vec<PathBuf> = set
        .iter()
        .filter_map(|q| root.join(&q.file).parent().map(PathBuf::from))
        .collect();
    folders.sort();
    folders.dedup();
    let embedder: Option<std::sync::Arc<dyn Embedder>> = match &model_dir {
        Some(dir) => Some(std::sync::Arc::new(BertEmbedder::load(dir)?)),
        None => None,
    };
    let modes = args.mode.modes(embedder.is_some());
    // One library per root and model: a second run only checks the files and searches.
    let key = blake3::hash(root.to_string_lossy().as_bytes()).to_hex();
    let model = embedder.as_ref().map(|e| e.info().name.clone());
    let dir = medshelf::eval::cache_base().join(format!(
        "pages-{}-{}",
        &key[..12],
        model.as_deref().unwrap_or("no-model")
    ));
    let mut library = Library::open_with(&dir, embedder)?;
    args.reader.install(&mut library)?;
    let bar = progress_bar("files");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    library.index(&folders, &Bar(bar.clone(), false), &cancel)?;
    bar.finish_and_clear();
    let base = SearchOptions {
        candidates: args.candidates,
        expand: medshelf::clinical::abbrev::ExpandOptions {
            enabled: !args.no_expand,
            ..Default::default()
        },
        expand_meaning: args.expand_meaning,
        ..args.fusion.options()?
    };
    let report = evaluate_pages(&library, &args.set, &set, &root, &modes, &base)?;
    if args.json {
        return super::print_json(&report);
    }
    println!(
        "{} ({} questions; model {}; library {})",
        args.set.display(),
        report.questions,
        report.model.as_deref().unwrap_or("none"),
        library.dir().display()
    );
    println!(
        "{:<10} {:<12} {:>9} {:>8} {:>6} {:>9} {:>8} {:>9} {:>9}",
        "mode",
        "papers",
        "questions",
        "page hit",
        "hit@1",
        "paper MRR",
        "page MRR",
        "in passage",
        "in snippet"
    );
    for (mode, s) in &report.modes {
        let rows = std::iter::once(("all", s)).chain(
            report.by_length[mode]
                .iter()
                .map(|(group, s)| (group.as_str(), s)),
        );
        for (group, s) in rows {
            println!(
                "{mode:<10} {group:<12} {:>9} {:>8.3} {:>6.3} {:>9.3} {:>8.3} {:>10.3} {:>10.3}",
                s.questions,
                s.page_hit,
                s.page_hit_at_1,
                s.paper_mrr,
                s.page_mrr,
                s.answer_in_passage,
                s.answer_in_snippet
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct EvalMetaArgs {
    /// A metadata table: TSV with file, title, authors, year, venue, doi (and more) columns
    /// (../shared/data/metadata/truth_dev.tsv).
    #[arg(value_name = "TABLE")]
    table: PathBuf,
    /// The folder the table's files are in (default: the table's own folder where they are
    /// there, else its sibling `pdfs`).
    #[arg(long, value_name = "DIR")]
    pdfs: Option<PathBuf>,
    /// Print the figures (and each file's record) as JSON.
    #[arg(long)]
    json: bool,
}

/// `medshelf eval-meta`: reads each PDF of the table as an ingest does and scores each field,
/// beside the Info dictionary taken as it is.
pub fn eval_meta(args: EvalMetaArgs) -> anyhow::Result<()> {
    let first = medshelf::metadata::eval::load_truth(&args.table)?
        .into_iter()
        .next()
        .map(|t| t.file);
    let pdfs = table_pdfs(&args.table, args.pdfs, first.as_deref())?;
    let report = medshelf::metadata::eval::evaluate(&args.table, &pdfs)?;
    if args.json {
        return super::print_json(&report);
    }
    print_table_header(&args.table, report.rows, report.missing.len(), &pdfs);
    println!(
        "{:<14} {:>6} {:>14} {:>14}",
        "field", "rows", "MedShelf", "Info only"
    );
    for (field, ours) in &report.ours.fields {
        let info = report
            .info_only
            .fields
            .get(field)
            .cloned()
            .unwrap_or_default();
        println!(
            "{field:<14} {:>6} {:>8.3} ({:>3}) {:>8.3} ({:>3})",
            ours.rows, ours.accuracy, ours.right, info.accuracy, info.right
        );
    }
    for (name, s) in [
        ("MedShelf", &report.ours.doi),
        ("Info only", &report.info_only.doi),
    ] {
        println!(
            "DOI, {name}: precision {:.3} ({} of {} given), recall {:.3} (of {} printed)",
            s.precision, s.right, s.given, s.recall, s.printed
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct EvalDesignArgs {
    /// A table with `file` and `design` columns (../shared/data/clinical/truth_dev.tsv,
    /// ../shared/data/metadata/truth_dev.tsv).
    #[arg(value_name = "TABLE")]
    table: PathBuf,
    /// The folder the table's files are in (default: the table's own folder where the first
    /// file is there, else its sibling `pdfs`).
    #[arg(long, value_name = "DIR")]
    pdfs: Option<PathBuf>,
    /// Print the figures (and each file's design with its reasons) as JSON.
    #[arg(long)]
    json: bool,
}

/// `medshelf eval-design`: reads each PDF of the table as an ingest does and scores its design.
pub fn eval_design(args: EvalDesignArgs) -> anyhow::Result<()> {
    use medshelf::clinical::eval;
    let first = eval::load_truth(&args.table)?
        .into_iter()
        .next()
        .map(|t| t.file);
    let pdfs = table_pdfs(&args.table, args.pdfs, first.as_deref())?;
    let report = eval::evaluate(&args.table, &pdfs)?;
    if args.json {
        return super::print_json(&report);
    }
    print_table_header(&args.table, report.rows, report.missing.len(), &pdfs);
    println!("accuracy {:.3}", report.accuracy);
    println!(
        "{:<22} {:>7} {:>9} {:>9} {:>7}",
        "design", "files", "labelled", "precision", "recall"
    );
    let row = |name: &str, c: &eval::ClassScore| {
        println!(
            "{name:<22} {:>7} {:>9} {:>9.3} {:>7.3}",
            c.support, c.predicted, c.precision, c.recall
        )
    };
    for (label, c) in &report.classes {
        row(label.as_str(), c);
    }
    row("rct (target)", &report.rct);
    row("reviews (sr + ma)", &report.synthesis);
    println!("confusion (true -> labelled):");
    for (truth, row) in &report.confusion {
        let cells: Vec<String> = row.iter().map(|(l, n)| format!("{l} {n}")).collect();
        println!("  {truth:<20} {}", cells.join(", "));
    }
    println!("labels without a reason: {}", report.without_reason);
    println!(
        "reading {:.2} s, of which the design rules {:.3} s ({:.1} %)",
        report.extract_seconds,
        report.classify_seconds,
        100.0 * report.classify_seconds / report.extract_seconds.max(1e-9)
    );
    for o in report.outcomes.iter().filter(|o| o.truth != o.ours.label) {
        println!(
            "  wrong: {} is {}, read as {} ({:.2}: {})",
            o.file,
            o.truth,
            o.ours.label,
            o.ours.confidence,
            o.ours.reasons.join("; ")
        );
    }
    Ok(())
}

/// The folder a labelled table's PDFs are in: the one given, else the table's own folder where
/// its first file is there, else the table's folder's sibling `pdfs` (../shared/data's layout).
fn table_pdfs(
    table: &Path,
    given: Option<PathBuf>,
    first: Option<&str>,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    let own = table.parent().map(Path::to_path_buf).unwrap_or_default();
    if first.is_some_and(|f| own.join(f).is_file()) {
        return Ok(own);
    }
    own.parent()
        .map(|p| p.join("pdfs"))
        .context("no folder of PDFs beside the table: pass --pdfs DIR")
}

/// The first line of a labelled table's figures: the table, its files, and how many of them
/// were not found.
fn print_table_header(table: &Path, rows: usize, missing: usize, pdfs: &Path) {
    let missing = if missing == 0 {
        String::new()
    } else {
        format!("; {missing} not found in {}", pdfs.display())
    };
    println!("{} ({rows} files{missing})", table.display());
}
