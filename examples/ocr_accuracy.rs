//! OCR accuracy and cost on scanned copies of real papers (issue 17; the figures in
//! docs/OCR.md): each paper's first pages are rendered to images by poppler, spoiled as a
//! scanner would (low resolution, speckle, a sheet fed askew, JPEG), wrapped back into
//! image-only PDFs, and read by MedShelf's OCR; the words read are compared with the paper's
//! own text layer.
//!
//! The reference text of a page is poppler's `pdftotext` reading of the original's text layer
//! (an independent reader: MedShelf's own reading would measure MedShelf twice), with ligatures
//! expanded and words hyphenated across lines joined, as MedShelf's normalisation does to OCR.
//!
//! `cargo run --release --example ocr_accuracy -- DIR [--papers N] [--pages N]` (DIR: PDFs with
//! a text layer, e.g. ../shared/data/pdfs; the first N papers by name, their first pages).
//!
//! With `--questions SET[,SET...] --root ROOT [--max-pages N] [--keep DIR]` it also asks
//! page-level question sets (`tests/fixtures/pages/*.tsv`) of the papers of at most N pages
//! they name, once over the originals and once over their 300 dpi scans (each in a library of
//! its own, with the model in `MEDSHELF_MODEL` where set), counts the questions that open the
//! same page in both and lists those that do not. `--replay NAME` (with `--keep`) builds the
//! scans' library again as `library-NAME` from the words OCR read into `library-scans`, without
//! recognising a page again: what a change to how OCR's words become text does, in a minute.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use medshelf::extract::{extract_file_with, ReadOptions};
use medshelf::fixtures::{write_scanned_pdf, ScanStyle};

/// Words as the comparison counts them: lowercase runs of letters and digits, ligatures
/// expanded, words hyphenated across a line end joined.
fn words(text: &str) -> HashMap<String, usize> {
    let text = text
        .replace('\u{FB00}', "ff")
        .replace('\u{FB01}', "fi")
        .replace('\u{FB02}', "fl")
        .replace('\u{FB03}', "ffi")
        .replace('\u{FB04}', "ffl")
        .replace("-\n", "");
    let mut out = HashMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *out.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    out
}

/// Words in common, counted with their multiplicity.
fn common(a: &HashMap<String, usize>, b: &HashMap<String, usize>) -> usize {
    a.iter()
        .map(|(w, n)| (*n).min(*b.get(w).unwrap_or(&0)))
        .sum()
}

/// Page `page`'s text layer as `pdftotext` reads it.
fn reference(pdf: &std::path::Path, page: usize) -> String {
    let page = page.to_string();
    std::process::Command::new("pdftotext")
        .args(["-q", "-enc", "UTF-8", "-f", &page, "-l", &page])
        .arg(pdf)
        .arg("-")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn max_rss_mib(who: i32) -> f64 {
    // SAFETY: getrusage fills the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

fn main() -> anyhow::Result<()> {
    // As the PDF worker runs it: one thread for Tesseract (its OpenMP build otherwise spins a
    // second one per page, for no gain on two cores). Set before Tesseract is loaded.
    std::env::set_var("OMP_THREAD_LIMIT", "1");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map_or("../shared/data/pdfs", |s| s.as_str()));
    let number = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (papers, pages) = (number("--papers", 6), number("--pages", 2));
    let status = medshelf::extract::ocr::status();
    anyhow::ensure!(
        status.available,
        "OCR is not available: {:?}",
        status.reason
    );
    let plain = ReadOptions::plain();
    let no_ocr = ReadOptions {
        ocr: false,
        ..plain
    };
    // Papers with a text layer of their own, the first `papers` by name.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    let tmp = tempfile::tempdir()?;
    let mut chosen = Vec::new();
    for file in files {
        if chosen.len() == papers {
            break;
        }
        let Ok(text) = extract_file_with(&file, &no_ocr) else {
            continue;
        };
        // Only the first `pages` pages: a copy of them, so that each scan is small.
        let keep = text.pages.len().min(pages);
        let copy = tmp.path().join(format!("source-{}.pdf", chosen.len()));
        let status = std::process::Command::new("pdfseparate")
            .args(["-f", "1", "-l", &keep.to_string()])
            .arg(&file)
            .arg(tmp.path().join(format!("part-{}-%d.pdf", chosen.len())))
            .status()?;
        anyhow::ensure!(status.success(), "pdfseparate failed on {}", file.display());
        let parts: Vec<PathBuf> = (1..=keep)
            .map(|p| tmp.path().join(format!("part-{}-{p}.pdf", chosen.len())))
            .collect();
        let status = std::process::Command::new("pdfunite")
            .args(&parts)
            .arg(&copy)
            .status()?;
        anyhow::ensure!(status.success(), "pdfunite failed on {}", file.display());
        let truth: Vec<_> = (1..=keep).map(|p| words(&reference(&file, p))).collect();
        chosen.push((file, copy, truth));
    }
    let styles = [
        ("300 dpi, clean", ScanStyle::clean(300)),
        ("150 dpi, clean", ScanStyle::clean(150)),
        (
            "300 dpi, 1 % speckle, 1.5 degrees askew",
            ScanStyle {
                noise: 0.01,
                skew: 1.5,
                ..ScanStyle::clean(300)
            },
        ),
        (
            "300 dpi, JPEG quality 30",
            ScanStyle {
                jpeg: Some(30),
                ..ScanStyle::clean(300)
            },
        ),
    ];
    println!(
        "{} papers, their first {} pages at most, from {}; Tesseract {} ({})",
        chosen.len(),
        pages,
        dir.display(),
        status.version.unwrap_or_default(),
        status.languages.join("+")
    );
    println!("| scan | pages | word recall | word precision | s per page |");
    println!("|---|---:|---:|---:|---:|");
    for (name, style) in styles {
        let (mut truth_words, mut read_words, mut both, mut pages_read) = (0, 0, 0, 0);
        let mut seconds = 0.0;
        for (i, (_, copy, truth)) in chosen.iter().enumerate() {
            let scan = tmp.path().join(format!("scan-{i}.pdf"));
            write_scanned_pdf(copy, &scan, style)?;
            let started = Instant::now();
            let read = extract_file_with(&scan, &plain);
            seconds += started.elapsed().as_secs_f64();
            let read_pages = read.map(|r| r.pages).unwrap_or_default();
            for (p, truth) in truth.iter().enumerate() {
                let got = words(read_pages.get(p).map_or("", |s| s.as_str()));
                truth_words += truth.values().sum::<usize>();
                read_words += got.values().sum::<usize>();
                both += common(truth, &got);
                pages_read += 1;
            }
        }
        println!(
            "| {name} | {pages_read} | {:.3} | {:.3} | {:.2} |",
            both as f64 / truth_words.max(1) as f64,
            both as f64 / read_words.max(1) as f64,
            seconds / pages_read.max(1) as f64
        );
    }
    if let Some(set) = args
        .iter()
        .position(|a| a == "--questions")
        .and_then(|i| args.get(i + 1))
    {
        let root = args
            .iter()
            .position(|a| a == "--root")
            .and_then(|i| args.get(i + 1))
            .map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from);
        let sets: Vec<PathBuf> = set.split(',').map(PathBuf::from).collect();
        // `--keep DIR` keeps the scans and both libraries there and reuses them: a second run
        // reads nothing again.
        let keep = args
            .iter()
            .position(|a| a == "--keep")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from);
        if let Some(dir) = &keep {
            std::fs::create_dir_all(dir)?;
        }
        // `--replay NAME` builds the scans' library again as `library-NAME`, from the words
        // OCR read into `library-scans` (no page is recognised again): what a change to how
        // words become a page's text does to the questions, in minutes instead of an hour.
        let replay = args
            .iter()
            .position(|a| a == "--replay")
            .and_then(|i| args.get(i + 1))
            .cloned();
        retrieval(
            &sets,
            &std::fs::canonicalize(root)?,
            number("--max-pages", 30),
            keep.as_deref().unwrap_or(tmp.path()),
            replay.as_deref(),
        )?;
    }
    println!(
        "peak memory: this process {:.0} MiB (PDF parsing and Tesseract in one), the largest \
         renderer (pdftoppm) {:.0} MiB",
        max_rss_mib(libc::RUSAGE_SELF),
        max_rss_mib(libc::RUSAGE_CHILDREN)
    );
    Ok(())
}

/// Asks the questions of the `sets` whose papers have at most `max_pages` pages, of the originals
/// and of their scans, and counts the questions whose answer opens the same page in both.
fn retrieval(
    sets: &[PathBuf],
    root: &std::path::Path,
    max_pages: usize,
    tmp: &std::path::Path,
    replay: Option<&str>,
) -> anyhow::Result<()> {
    use medshelf::eval::pages::{evaluate_pages, load_set};
    use medshelf::library::NoSink;
    use medshelf::{Library, Mode, SearchOptions};
    let mut chosen = Vec::new();
    let mut files = Vec::new();
    for set_path in sets {
        let mut asked = Vec::new();
        for q in load_set(set_path)? {
            let path = root.join(&q.file);
            let pages = medshelf::extract::poppler::page_sizes(&path).map_or(0, |s| s.len());
            if pages == 0 || pages > max_pages {
                continue;
            }
            if !files.contains(&q.file) {
                files.push(q.file.clone());
            }
            asked.push(q);
        }
        chosen.push((set_path.clone(), asked));
    }
    let scans = tmp.join("scanned");
    for file in &files {
        let scan = scans.join(file);
        std::fs::create_dir_all(scan.parent().expect("a file has a folder"))?;
        if !scan.is_file() {
            write_scanned_pdf(&root.join(file), &scan, ScanStyle::clean(300))?;
        }
    }
    let model = std::env::var_os("MEDSHELF_MODEL").map(PathBuf::from);
    // Per set: the outcomes over the originals, then over the scans.
    let mut outcomes: Vec<Vec<Vec<medshelf::eval::pages::PageOutcome>>> =
        vec![Vec::new(); chosen.len()];
    let mut mode_used = Mode::Lexical;
    for (name, base) in [("originals", root.to_path_buf()), ("scans", scans.clone())] {
        let folder = match (name, replay) {
            ("scans", Some(other)) => format!("library-{other}"),
            _ => format!("library-{name}"),
        };
        let mut library = Library::open(&tmp.join(folder), model.as_deref())?;
        if let (Some(_), "scans") = (replay, name) {
            library.set_extractor(Box::new(Replay::of(&tmp.join("library-scans"))?));
        }
        let paths: Vec<PathBuf> = files.iter().map(|f| base.join(f)).collect();
        let started = Instant::now();
        let run = library.index(&paths, &NoSink, &std::sync::atomic::AtomicBool::new(false))?;
        eprintln!(
            "{name}: {} papers, {} pages indexed in {:.0} s",
            run.indexed,
            run.pages,
            started.elapsed().as_secs_f64()
        );
        let mode = if library.model().is_some() {
            Mode::Hybrid
        } else {
            Mode::Lexical
        };
        mode_used = mode;
        for (i, (set_path, asked)) in chosen.iter().enumerate() {
            let pages = evaluate_pages(
                &library,
                set_path,
                asked,
                &base,
                &[mode],
                &SearchOptions::default(),
            )?;
            outcomes[i].push(pages.outcomes.values().next().cloned().unwrap_or_default());
        }
    }
    let hits = |o: &[medshelf::eval::pages::PageOutcome]| o.iter().filter(|x| x.page_hit()).count();
    let (mut all, mut all_same) = (0, 0);
    for ((set_path, asked), outcome) in chosen.iter().zip(&outcomes) {
        let (original, scanned) = (&outcome[0], &outcome[1]);
        let same = original
            .iter()
            .zip(scanned)
            .filter(|(a, b)| a.opened.is_some() && a.opened == b.opened)
            .count();
        all += asked.len();
        all_same += same;
        // The questions whose page differs, for a look at why.
        for (a, b) in original.iter().zip(scanned) {
            if a.opened != b.opened {
                println!(
                    "  {}: original opens {:?}{}, scan {:?}{}",
                    a.id,
                    a.opened,
                    if a.page_hit() { " (right)" } else { "" },
                    b.opened,
                    if b.page_hit() { " (right)" } else { "" }
                );
            }
        }
        println!(
            "{} questions of {} over papers of at most {} pages ({} mode): the same page opened \
             for {} of them ({:.2}); right page: originals {}, scans {}",
            asked.len(),
            set_path.display(),
            max_pages,
            mode_used.as_str(),
            same,
            same as f64 / asked.len().max(1) as f64,
            hits(original),
            hits(scanned)
        );
    }
    println!(
        "all {all} questions over {} papers: the same page opened for {all_same} ({:.2})",
        files.len(),
        all_same as f64 / all.max(1) as f64
    );
    Ok(())
}

/// Reads PDFs in this process, with the OCR of each scanned page taken from a library that
/// read it before (`--replay`).
struct Replay {
    read: HashMap<PathBuf, Vec<medshelf::extract::ocr::OcrPage>>,
}

impl Replay {
    /// The pages OCR read into the library in `dir`, by file.
    fn of(dir: &std::path::Path) -> anyhow::Result<Self> {
        let catalog = medshelf::catalog::Catalog::open(&dir.join("catalog.sqlite"))?;
        let mut read = HashMap::new();
        for document in catalog.documents()? {
            let pages = catalog
                .ocr_pages(document.id)?
                .iter()
                .filter_map(|json| serde_json::from_str(json).ok())
                .collect();
            read.insert(document.path, pages);
        }
        Ok(Self { read })
    }
}

impl medshelf::extract::Extractor for Replay {
    fn extract(
        &self,
        path: &std::path::Path,
    ) -> Result<medshelf::extract::Extracted, medshelf::ExtractError> {
        self.extract_with(path, &ReadOptions::plain())
    }

    fn extract_with(
        &self,
        path: &std::path::Path,
        options: &ReadOptions<'_>,
    ) -> Result<medshelf::extract::Extracted, medshelf::ExtractError> {
        let stored = self.read.get(path).map_or(&[][..], Vec::as_slice);
        extract_file_with(path, &ReadOptions { stored, ..*options })
    }
}
