//! How much of each page's text Tesseract's dictionary knows, over every page of the PDFs
//! under the given folders (OCR off): the distribution the garbage-layer threshold is set by.
//!
//! `cargo run --release --example text_layer_quality -- ../shared/data/pdfs ../shared/data/clinical`
//!
//! With `--poor-ocr SHARE` first, each page is measured as a poor scan's OCR would read it
//! (`fixtures::like_poor_ocr` misreads about SHARE of its words).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use medshelf::extract::{extract_file_with, find_pdfs, ocr::dictionary_share, ReadOptions};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut poor = None;
    if args.first().is_some_and(|a| a == "--poor-ocr") {
        poor = Some(args[1].parse::<f64>().expect("--poor-ocr SHARE"));
        args.drain(..2);
    }
    let roots: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let never = AtomicBool::new(false);
    let options = ReadOptions {
        ocr: false,
        progress: &|_| {},
        cancel: &never,
        stored: &[],
    };
    let mut shares = Vec::new();
    let mut unjudged = 0;
    let (mut reading, mut judging) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for path in find_pdfs(&roots).into_iter().flatten() {
        let started = std::time::Instant::now();
        let doc = extract_file_with(&path, &options);
        reading += started.elapsed();
        let Ok(doc) = doc else {
            continue;
        };
        for (i, page) in doc.pages.iter().enumerate() {
            let page = match poor {
                Some(share) => medshelf::fixtures::like_poor_ocr(page, share, i as u64 + 7),
                None => page.clone(),
            };
            let started = std::time::Instant::now();
            let share = dictionary_share(&page);
            judging += started.elapsed();
            match share {
                Some(share) => shares.push((share, path.display().to_string(), i + 1)),
                None => unjudged += 1,
            }
        }
    }
    shares.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!("pages judged {}, too short {unjudged}", shares.len());
    println!(
        "reading {:.2} s, judging {:.3} s ({:.2} ms a page, Tesseract's start included)",
        reading.as_secs_f64(),
        judging.as_secs_f64(),
        judging.as_secs_f64() * 1000.0 / (shares.len() + unjudged).max(1) as f64
    );
    for q in [0.0, 0.001, 0.01, 0.05, 0.1, 0.5, 0.9, 0.99, 0.999] {
        let i = ((shares.len() as f64 * q) as usize).min(shares.len() - 1);
        println!("quantile {q}: {:.3}", shares[i].0);
    }
    for (share, path, page) in shares.iter().take(25) {
        println!("{share:.3} {path} page {page}");
    }
}
