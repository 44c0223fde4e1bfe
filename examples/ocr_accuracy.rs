//! OCR accuracy and cost on scanned copies of real papers (issue 17; the figures in
//! docs/OCR.md): each paper's first pages are rendered to images by poppler, spoiled as a
//! scanner would (low resolution, speckle, a sheet fed askew, JPEG), wrapped back into
//! image-only PDFs, and read by MedShelf's OCR; the words read are compared with the paper's
//! own text layer.
//!
//! `cargo run --release --example ocr_accuracy -- DIR [--papers N] [--pages N]` (DIR: PDFs with
//! a text layer, e.g. ../shared/data/pdfs; the first N papers by name, their first pages).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use medshelf::extract::{extract_file_with, ReadOptions};
use medshelf::fixtures::{write_scanned_pdf, ScanStyle};

/// Words as the comparison counts them: lowercase runs of letters and digits.
fn words(text: &str) -> HashMap<String, usize> {
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
        let truth: Vec<_> = text.pages[..keep].iter().map(|p| words(p)).collect();
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
    println!(
        "peak memory: this process {:.0} MiB (PDF parsing and Tesseract in one), the largest \
         renderer (pdftoppm) {:.0} MiB",
        max_rss_mib(libc::RUSAGE_SELF),
        max_rss_mib(libc::RUSAGE_CHILDREN)
    );
    Ok(())
}
