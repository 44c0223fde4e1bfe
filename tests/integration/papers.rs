//! Real papers from `../shared/data/pdfs` with the stand-in model: questions phrased in other
//! words than the paper's find the right paper and page, and a scan fails with its reason.
//! A subset keeps CI quick; `scripts/run` indexes the whole folder.

use std::sync::atomic::AtomicBool;

use medshelf::library::NoSink;
use medshelf::{Library, Mode, SearchOptions, Status};

use crate::support::{shared, skip, standin_model};

const PAPERS: [&str; 7] = [
    "unstructured__failure-after-repair.pdf", // a 76-page patient booklet on breast cancer
    "cermine__test1.pdf",                     // DVT prophylaxis in trauma
    "cermine__test2.pdf",                     // heart failure and exercise
    "paper-qa__10.3390_cancers14194849.pdf",  // gut microbiota and doxorubicin in TNBC
    "paper-qa__10.1038_s41467-022-30570-7.pdf", // opioid receptors in engineered yeast
    "paper-qa__10.1093_g3journal_jkad293.pdf", // ale yeast proteomics
    "docling__ocr_test.pdf",                  // an image-only scan
];

/// (question, paper, pages that answer it): the questions share few words with the passages.
const QUESTIONS: [(&str, &str, &[u32]); 4] = [
    (
        "does exercise help with fatigue when you have cancer",
        "unstructured__failure-after-repair.pdf",
        &[60],
    ),
    (
        "how long do surgical drains stay in after breast surgery",
        "unstructured__failure-after-repair.pdf",
        &[36],
    ),
    (
        "yeast engineered to produce human opioid receptors",
        "paper-qa__10.1038_s41467-022-30570-7.pdf",
        &[1],
    ),
    // The abstract (page 1) and the introduction (page 3) both describe the transplant.
    (
        "fecal microbiota transplant changes chemotherapy response in mice with breast tumours",
        "paper-qa__10.3390_cancers14194849.pdf",
        &[1, 3],
    ),
];

#[test]
fn questions_find_the_right_paper_and_page() {
    let Some(model) =
        standin_model().or_else(|| skip("papers", "no stand-in model: run scripts/fetch-model"))
    else {
        return;
    };
    let Some(shared) = shared().or_else(|| skip("papers", "../shared is absent")) else {
        return;
    };
    let pdfs = shared.join("data/pdfs");
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(&tmp.path().join("library"), Some(&model)).unwrap();
    let files: Vec<_> = PAPERS.iter().map(|p| pdfs.join(p)).collect();
    let run = lib.index(&files, &NoSink, &AtomicBool::new(false)).unwrap();
    eprintln!(
        "papers: {} pages, {} passages in {:.1} s (extract {:.1} s, chunk {:.1} s, embed {:.1} s, write {:.1} s)",
        run.pages, run.chunks, run.seconds, run.stages.extract, run.stages.chunk, run.stages.embed, run.stages.write
    );
    let docs = lib.documents().unwrap();
    let scan = docs
        .iter()
        .find(|d| d.path.ends_with("docling__ocr_test.pdf"))
        .unwrap();
    // The scan has no text layer: OCR reads it where Tesseract is installed (issue 17), and
    // it is "no text found" where it is not.
    match medshelf::extract::ocr::status().available {
        true => {
            assert_eq!((run.indexed, run.failed), (7, 0));
            assert_eq!(scan.status, Status::Indexed);
        }
        false => {
            assert_eq!((run.indexed, run.failed), (6, 1));
            assert_eq!(scan.status, Status::Failed);
            assert!(scan.error.as_deref().unwrap().contains("no text found"));
        }
    }
    let booklet = docs.iter().find(|d| d.path.ends_with(PAPERS[0])).unwrap();
    assert_eq!(booklet.pages, 76);

    for (question, paper, pages) in QUESTIONS {
        let answer = lib
            .search(
                question,
                &SearchOptions {
                    mode: Mode::Hybrid,
                    ..SearchOptions::default()
                },
            )
            .unwrap();
        let top = &answer.results[0];
        assert!(
            top.path.ends_with(paper),
            "{question:?} found {} first",
            top.path.display()
        );
        assert!(
            pages.contains(&top.page),
            "{question:?}: page {}: {}",
            top.page,
            top.snippet
        );
    }
}
