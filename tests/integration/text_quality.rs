//! MedShelf's text against poppler's `pdftotext` on the real papers in `../shared`: words are
//! not glued together, and no file poppler reads is unreadable to MedShelf. `pdftotext` is the
//! reference here (Debian's poppler-utils; `scripts/setup` installs it), and MedShelf's second
//! reader where pdf-extract fails (`extract::poppler`); the figures are in docs/EXTRACTION.md.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use medshelf::extract::{Extracted, Extractor, WorkerExtractor};

use crate::support::{shared, skip};

/// Words as the keyword index sees them: runs of letters and digits. Spaces around punctuation
/// ("Chen , D." against "Chen,D.") change nothing; a glued "preventionofDVT" counts one, not
/// three.
fn words(text: &str) -> usize {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count()
}

/// Each page's text as `pdftotext` reads it, or `None` where it fails; bounded in time (two of
/// the hostile PDFs make it loop), as MedShelf's own use of it is.
fn poppler(path: &Path) -> Option<Vec<String>> {
    medshelf::extract::poppler::pages(path)
}

fn pdfs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    files.sort();
    files
}

/// MedShelf's text of a file, read as an index run reads it: in the isolated worker (the bad
/// PDFs include decompression bombs), with its time limit.
fn medshelf(worker: &WorkerExtractor, path: &Path) -> Option<Extracted> {
    worker.extract(path).ok()
}

fn worker() -> WorkerExtractor {
    WorkerExtractor::new(env!("CARGO_BIN_EXE_medshelf"), &["extract-worker"])
        .with_timeout(std::time::Duration::from_secs(30))
}

/// `../shared` and `pdftotext`, or why the test cannot run.
fn inputs(test: &str) -> Option<PathBuf> {
    let shared = shared().or_else(|| skip(test, "../shared is absent"))?;
    if !medshelf::extract::poppler::available() {
        return skip(
            test,
            "pdftotext is absent: install poppler-utils (scripts/setup does)",
        );
    }
    Some(shared)
}

/// Whether `word` is two or more of the page's words (as poppler reads them) run together
/// ("preventionofdvt"): a glued word, where the reader lost the spaces. A word poppler reads
/// whole anywhere in the document is no glue (poppler splits some words where a line is
/// justified letter by letter); pieces of one letter do not count; words with digits do not
/// either (a formula's subscripts, `OCH2Ph`, poppler reads apart).
fn glued(word: &str, page: &HashSet<String>, document: &HashSet<String>) -> bool {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 5 || !chars.iter().all(|c| c.is_alphabetic()) || document.contains(word) {
        return false;
    }
    let vocabulary = page;
    // pieces[i]: the fewest vocabulary words that make up the first i characters.
    let mut pieces = vec![usize::MAX; chars.len() + 1];
    pieces[0] = 0;
    for end in 2..=chars.len() {
        for start in 0..=end - 2 {
            if pieces[start] == usize::MAX {
                continue;
            }
            let piece: String = chars[start..end].iter().collect();
            if vocabulary.contains(&piece) {
                pieces[end] = pieces[end].min(pieces[start] + 1);
            }
        }
    }
    pieces[chars.len()] != usize::MAX && pieces[chars.len()] >= 2
}

fn lower_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

#[test]
fn words_are_not_glued_together() {
    let Some(shared) = inputs("glued words") else {
        return;
    };
    let files = pdfs(&[shared.join("data/pdfs"), shared.join("data/clinical")]);
    let reader = worker();
    let (mut pages, mut differ, mut glued_pages) = (0usize, 0usize, Vec::new());
    for path in &files {
        let (Some(ours), Some(theirs)) = (medshelf(&reader, path), poppler(path)) else {
            continue;
        };
        // The same clean-up on both sides (running heads and page numbers go, hyphenated line
        // ends are joined), so that only the reading differs.
        let theirs = medshelf::extract::normalize_pages(&theirs);
        if ours.pages.len() != theirs.len() {
            continue;
        }
        let document: HashSet<String> = theirs.iter().flat_map(|p| lower_words(p)).collect();
        for (i, (a, b)) in ours.pages.iter().zip(&theirs).enumerate() {
            let (n, m) = (words(a), words(b));
            // Pages with almost no text (a figure, a blank back page) say nothing about glue.
            if n.max(m) < 50 {
                continue;
            }
            pages += 1;
            // The first measure: word counts more than 5 % apart. Glue lowers ours; so
            // do other things (a margin note placed elsewhere and not taken for a running head).
            if n.abs_diff(m) * 20 > n.max(m) {
                differ += 1;
            }
            let vocabulary: HashSet<String> = lower_words(b).collect();
            let run_together: Vec<String> = lower_words(a)
                .filter(|w| glued(w, &vocabulary, &document))
                .collect();
            // A page is glued where at least 1 % of its words (and two or more) are.
            if run_together.len() >= 2 && run_together.len() * 100 >= n {
                glued_pages.push(format!(
                    "{} p{}: {run_together:?}",
                    path.file_name().unwrap().to_string_lossy(),
                    i + 1
                ));
            }
        }
    }
    let share = glued_pages.len() as f64 / pages.max(1) as f64;
    eprintln!(
        "text against pdftotext over {pages} pages: {} ({:.2} %) with glued words, {differ} \
         ({:.2} %) with word counts more than 5 % apart\n  {}",
        glued_pages.len(),
        share * 100.0,
        differ as f64 * 100.0 / pages.max(1) as f64,
        glued_pages.join("\n  ")
    );
    assert!(pages > 1500, "only {pages} pages compared");
    assert!(
        share < 0.01,
        "{:.2} % of pages have glued words",
        share * 100.0
    );
}

#[test]
fn every_file_poppler_reads_medshelf_reads() {
    let Some(shared) = inputs("unreadable files") else {
        return;
    };
    let files = pdfs(&[
        shared.join("data/pdfs"),
        shared.join("data/clinical"),
        shared.join("data/bad_pdfs"),
    ]);
    let reader = worker();
    let mut missed = Vec::new();
    for path in &files {
        let theirs: usize = poppler(path).map_or(0, |p| p.iter().map(|t| words(t)).sum());
        if theirs < 20 {
            continue;
        }
        let ours: usize =
            medshelf(&reader, path).map_or(0, |e| e.pages.iter().map(|t| words(t)).sum());
        if ours == 0 {
            missed.push(format!(
                "{} (pdftotext: {theirs} words)",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    eprintln!(
        "{} files where pdftotext finds text and MedShelf none: {missed:?}",
        missed.len()
    );
    assert!(missed.is_empty(), "{missed:?}");
}

#[test]
fn regression_a_european_heart_journal_trial_is_read() {
    let Some(shared) = inputs("EHJ trial") else {
        return;
    };
    let path = shared.join("data/clinical/rct-extractor-v2__rct_trial__36036746__PMC9622301.pdf");
    let text = medshelf(&worker(), &path).expect("the trial is read");
    assert_eq!(text.pages.len(), 12);
    let all = text.pages.join(" ");
    assert!(words(&all) > 6000, "{} words", words(&all));
    assert!(all.contains("empagliflozin"), "the trial's drug is found");
}
