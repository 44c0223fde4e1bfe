//! `medshelf bench`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use medshelf::embed::Encoder;
use medshelf::BertEmbedder;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Chunks/s, tokens/s (tokenisation included) and single-query latency on a JSONL of texts.
    Embed(EmbedArgs),
    /// Index a folder of PDFs into a scratch library: pages/s and seconds per stage, then the
    /// same passages embedded alone, for the ratio of the whole to its embedding.
    Ingest(IngestArgs),
    /// Search at scale: build (once, cached) a synthetic library of N passages from a BEIR
    /// corpus, then time hybrid searches (query embedding included), memory, disk and opening.
    Search(SearchArgs),
    /// Cold start: `medshelf search QUERY --json` on the library (--library), from the
    /// process's start to its printed answer, run again and again; with --baseline, another
    /// build of medshelf timed in turn with this one, for the ratio.
    Start(StartArgs),
}

#[derive(Args)]
pub struct StartArgs {
    /// The question asked.
    #[arg(
        long,
        default_value = "does vitamin D reduce fracture risk in older adults"
    )]
    query: String,
    /// Runs of each build (after one untimed run each, which warms the page cache).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Another medshelf executable (e.g. the build before a change) timed in turn with this
    /// one on the same library and question.
    #[arg(long, value_name = "EXE")]
    baseline: Option<PathBuf>,
    /// The library the baseline searches (default: the same): an older build refuses a library
    /// a newer one has migrated, so it gets one of its own making with the same papers.
    #[arg(long, value_name = "DIR", requires = "baseline")]
    baseline_library: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Wall times of one build's runs of `search --json`, in milliseconds.
#[derive(serde::Serialize)]
struct StartTimes {
    exe: PathBuf,
    p50_ms: f64,
    min_ms: f64,
    max_ms: f64,
    runs_ms: Vec<f64>,
}

impl StartTimes {
    fn new(exe: PathBuf, mut runs_ms: Vec<f64>) -> Self {
        let timed = runs_ms.clone();
        runs_ms.sort_by(f64::total_cmp);
        let n = runs_ms.len();
        let p50_ms = match n % 2 {
            1 => runs_ms[n / 2],
            _ => (runs_ms[n / 2 - 1] + runs_ms[n / 2]) / 2.0,
        };
        StartTimes {
            exe,
            p50_ms,
            min_ms: runs_ms[0],
            max_ms: runs_ms[n - 1],
            runs_ms: timed,
        }
    }
}

/// Runs `exe ... search QUERY --json` once: milliseconds from spawning it to its exit, having
/// printed an answer.
fn time_search(
    exe: &std::path::Path,
    library: &std::path::Path,
    model: Option<&std::path::Path>,
    query: &str,
) -> anyhow::Result<f64> {
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--library").arg(library);
    if let Some(model) = model {
        cmd.arg("--model").arg(model);
    }
    cmd.args(["search", query, "--json"]);
    let started = std::time::Instant::now();
    let output = cmd
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        output.status.success(),
        "{} search failed: {}",
        exe.display(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{} search printed no JSON", exe.display()))?;
    anyhow::ensure!(
        answer["results"].as_array().is_some_and(|r| !r.is_empty()),
        "{} search found nothing for {query:?} in {}: time a library that answers it",
        exe.display(),
        library.display()
    );
    Ok(ms)
}

#[derive(Args)]
pub struct SearchArgs {
    /// Passages in the synthetic library.
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Passages a synthetic paper (a real paper has about 75: `--chunks 75000 --per-paper 75`
    /// is a library of 1,000 papers).
    #[arg(long, default_value_t = medshelf::bench::CHUNKS_PER_DOC)]
    per_paper: usize,
    /// A benchmark in BEIR layout whose corpus gives the text and whose queries are asked
    /// (default: ../shared/data/ir/scifact).
    #[arg(long, value_name = "DIR")]
    beir: Option<PathBuf>,
    /// Where the synthetic library is kept between runs (default: the system's temporary folder).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// How the vector index stores vectors (a cached library keeps its own).
    #[arg(long, value_enum, value_name = "KIND", default_value_t = medshelf::index::vector::DEFAULT_STORAGE)]
    vectors: medshelf::index::vector::Storage,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct IngestArgs {
    /// Folders of PDFs (one library of them all).
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// Also embed every passage alone (reference lists and repeats included), for the time
    /// saved by not embedding them.
    #[arg(long)]
    compare_all: bool,
    /// Also index the folders as index runs did before (each paper embedded before it is
    /// stored, as `index --embed-inline`, and one PDF worker), first, in the same process: how
    /// much sooner every paper is searchable by keywords now, and what it costs in all.
    #[arg(long)]
    compare_inline: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
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
    /// Also run candle-transformers' stock BERT on the same texts and print both, with the ratio.
    #[arg(long)]
    compare_stock: bool,
    /// Run the int8 encoder (`embed::int8`) instead of the f32 one. Without either flag the
    /// bench runs f32, so that its figures compare with earlier runs; a library runs int8 where
    /// the CPU and the calibration check allow (`medshelf status` says which).
    #[arg(long)]
    int8: bool,
}

/// What a bench's flags change in the engine's settings: `bench search --vectors` is the
/// storage of the library it builds.
pub fn adjust(cmd: &BenchCommand, settings: &mut medshelf::settings::Settings) {
    if let BenchCommand::Search(args) = cmd {
        settings.vector_storage = Some(args.vectors);
    }
}

pub fn bench(
    model: Option<PathBuf>,
    library: &std::path::Path,
    cmd: BenchCommand,
) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Start(args) => {
            anyhow::ensure!(
                library.join("catalog.sqlite").is_file(),
                "{} holds no library: pass --library DIR (`medshelf bench search --chunks 75000 \
                 --per-paper 75 --cache DIR` builds one of a thousand papers)",
                library.display()
            );
            anyhow::ensure!(args.runs > 0, "--runs must be 1 or more");
            let this = std::env::current_exe()?;
            let mut builds = vec![(this, library.to_path_buf())];
            if let Some(exe) = &args.baseline {
                let dir = args.baseline_library.as_deref().unwrap_or(library);
                builds.push((exe.clone(), dir.to_path_buf()));
            }
            let mut times: Vec<Vec<f64>> = vec![Vec::new(); builds.len()];
            for (exe, dir) in &builds {
                time_search(exe, dir, model.as_deref(), &args.query)?;
            }
            let bar = indicatif::ProgressBar::new((args.runs * builds.len()) as u64);
            for run in 0..args.runs {
                // In turn, each build first every other run, so that neither gains from the
                // other's warm caches or from the machine's drift.
                for k in 0..builds.len() {
                    let b = (run + k) % builds.len();
                    let (exe, dir) = &builds[b];
                    times[b].push(time_search(exe, dir, model.as_deref(), &args.query)?);
                    bar.inc(1);
                }
            }
            bar.finish_and_clear();
            let mut results = builds
                .into_iter()
                .zip(times)
                .map(|((exe, _), t)| StartTimes::new(exe, t));
            let this = results.next().expect("this build was timed");
            let baseline = results.next();
            let ratio = baseline.as_ref().map(|b| this.p50_ms / b.p50_ms);
            if args.json {
                return super::print_json(&serde_json::json!({
                    "library": library, "query": args.query, "runs": args.runs,
                    "medshelf": this, "baseline": baseline, "ratio": ratio,
                }));
            }
            let line = |name: &str, t: &StartTimes| {
                println!(
                    "{name} ({}): process start to printed JSON, p50 {:.0} ms (min {:.0}, max {:.0}) over {} runs",
                    t.exe.display(), t.p50_ms, t.min_ms, t.max_ms, t.runs_ms.len()
                )
            };
            line("medshelf", &this);
            if let (Some(b), Some(ratio)) = (&baseline, ratio) {
                line("baseline", b);
                println!("medshelf / baseline: {ratio:.2}x");
            }
            Ok(())
        }
        BenchCommand::Search(args) => {
            anyhow::ensure!(args.per_paper > 0, "--per-paper must be 1 or more");
            let dir = model
                .context("bench search needs a model: pass --model DIR or set MEDSHELF_MODEL")?;
            let beir = args
                .beir
                .unwrap_or_else(|| PathBuf::from("../shared/data/ir/scifact"));
            let bench = medshelf::eval::load_beir(&beir, "test")?;
            let corpus: Vec<String> = bench
                .corpus
                .iter()
                .map(|d| format!("{} {}", d.title, d.text).trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
            let queries: Vec<String> = bench.queries.values().cloned().collect();
            let model_name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let cache = args.cache.unwrap_or_else(|| {
                std::env::temp_dir().join(format!(
                    "medshelf-bench-search-{}-{}-{model_name}-{}",
                    args.chunks,
                    args.per_paper,
                    args.vectors.as_str()
                ))
            });
            let bar = indicatif::ProgressBar::new(args.chunks as u64);
            let r = medshelf::bench::search_at_scale(
                &cache,
                &dir,
                &corpus,
                &queries,
                args.chunks,
                args.per_paper,
                &|n| bar.set_position(n as u64),
            )?;
            bar.finish_and_clear();
            if args.json {
                return super::print_json(&r);
            }
            println!(
                "{} passages in {} papers ({}, {} vectors), {} hybrid queries with {}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
                r.chunks, r.documents,
                r.build_s.map_or("cached".to_string(), |s| format!("built in {s:.0} s")),
                r.vectors, r.queries, r.model, r.p50_ms, r.p95_ms, r.p99_ms
            );
            println!(
                "open {:.2} s (model load {:.2} s more), RSS {:.0} MB open, {:.0} MB after ({:.0} MB of it the heap, the rest mapped files); disk {:.0} MB, {:.0} bytes per passage",
                r.open_s, r.model_load_s, r.rss_mb_open, r.rss_mb_after, r.rss_anon_mb_after, r.disk_bytes as f64 / 1e6, r.bytes_per_chunk
            );
            println!(
                "page chosen by sentence windows: p50 {:.2} ms against {:.2} ms without, {:.2}x",
                r.p50_ms,
                r.p50_ms_no_windows,
                r.p50_ms / r.p50_ms_no_windows.max(1e-9)
            );
            println!(
                "pages weighed by what they hold beyond the passage: p50 {:.2} ms against {:.2} ms by the passage alone, {:.2}x",
                r.p50_ms,
                r.p50_ms_no_page,
                r.p50_ms / r.p50_ms_no_page.max(1e-9)
            );
            println!(
                "abbreviations expanded: p50 {:.2} ms against {:.2} ms as typed, {:+.2} ms",
                r.p50_ms,
                r.p50_ms_no_expand,
                r.p50_ms - r.p50_ms_no_expand
            );
            println!(
                "keyword mode alone: p50 {:.1} ms, p95 {:.1} ms; meaning mode alone: p50 {:.1} ms, p95 {:.1} ms",
                r.p50_ms_keywords, r.p95_ms_keywords, r.p50_ms_meaning, r.p95_ms_meaning
            );
            Ok(())
        }
        BenchCommand::Ingest(args) => {
            let dir = model
                .context("bench ingest needs a model: pass --model DIR or set MEDSHELF_MODEL")?;
            let embedder: std::sync::Arc<dyn medshelf::Embedder> =
                std::sync::Arc::new(BertEmbedder::load(&dir)?);
            let scratch =
                std::env::temp_dir().join(format!("medshelf-bench-ingest-{}", std::process::id()));
            let exe = std::env::current_exe()?;
            let worker = |baseline: bool| -> Option<Box<dyn medshelf::Extractor>> {
                let workers = match baseline {
                    true => 1,
                    false => medshelf::extract::default_workers(),
                };
                Some(Box::new(
                    medshelf::extract::WorkerExtractor::new(exe.clone(), &["extract-worker"])
                        .with_workers(workers),
                ))
            };
            let compare = medshelf::bench::IngestCompare {
                all: args.compare_all,
                inline: args.compare_inline,
            };
            let r = medshelf::bench::ingest(&scratch, &args.dirs, embedder, &worker, compare)?;
            if args.json {
                return super::print_json(&r);
            }
            let s = &r.stages;
            println!(
                "{}: {} files, {} indexed, {} pages, {} passages in {:.1} s ({:.1} pages/s): hash {:.1} s, extract {:.1} s, chunk {:.1} s, embed {:.1} s, write {:.1} s",
                r.model, r.files, r.indexed, r.pages, r.chunks, r.seconds, r.pages_per_s, s.hash, s.extract, s.chunk, s.embed, s.write
            );
            println!(
                "every paper searchable by keywords after {:.1} s, by meaning after {:.1} s",
                r.keywords_seconds, r.seconds
            );
            if let (Some(inline), Some(k), Some(all)) = (
                r.inline_seconds,
                r.keywords_ratio_to_inline,
                r.ratio_to_inline,
            ) {
                println!(
                    "as before (one phase, one reader): {inline:.1} s for both; now: keywords at {k:.2}x of that, everything at {all:.2}x"
                );
            }
            println!(
                "the {} distinct texts it embedded, embedded alone: {:.1} s; ingest / embedding alone: {:.2}x",
                r.embedded, r.embed_alone_s, r.ratio_to_embed_alone
            );
            if let (Some(all), Some(ratio)) = (r.embed_all_s, r.ratio_to_embed_all) {
                println!(
                    "all {} passages embedded alone (reference lists and repeats too): {all:.1} s; ingest / that: {ratio:.2}x",
                    r.chunks
                );
            }
            Ok(())
        }
        BenchCommand::Embed(args) => {
            let dir = model
                .context("bench embed needs a model: pass --model DIR or set MEDSHELF_MODEL")?;
            let texts = medshelf::bench::read_texts(&args.texts)?;
            let run = |encoder| -> anyhow::Result<medshelf::bench::EmbedBench> {
                let embedder = BertEmbedder::load_with(&dir, encoder)?.with_batch_size(args.batch);
                Ok(medshelf::bench::embed(&embedder, &texts, args.batch)?)
            };
            let r = run(if args.int8 {
                Encoder::Int8
            } else {
                Encoder::Own
            })?;
            let stock = if args.compare_stock {
                Some(run(Encoder::Stock)?)
            } else {
                None
            };
            if args.json {
                return match stock {
                    Some(s) => super::print_json(&serde_json::json!({
                        "medshelf": r, "candle_stock": s, "speedup": r.chunks_per_s / s.chunks_per_s,
                    })),
                    None => super::print_json(&r),
                };
            }
            let line = |name: &str, r: &medshelf::bench::EmbedBench| {
                println!(
                    "{name}: {} {} texts ({} tokens), batch {}: {:.1} chunks/s, {:.0} tokens/s, query p50 {:.2} ms",
                    r.model, r.chunks, r.tokens, r.batch, r.chunks_per_s, r.tokens_per_s, r.query_ms_p50
                )
            };
            line("medshelf", &r);
            if let Some(s) = stock {
                line("candle stock", &s);
                println!(
                    "medshelf / stock: {:.2}x throughput, {:.2}x query latency",
                    r.chunks_per_s / s.chunks_per_s,
                    r.query_ms_p50 / s.query_ms_p50
                );
            }
            Ok(())
        }
    }
}
