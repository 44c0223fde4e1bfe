//! Writes the three papers the desktop app's end-to-end test drops into an empty library, and
//! prints (as JSON) the question it asks and where the answer is: the expectation lives beside
//! the text that makes it true.
//!
//! `cargo run --example e2e_fixtures -- DIR [ZOTERO_DATA_FOLDER]` (a real Zotero folder, whose
//! database's schema the Zotero library of the same papers is built on).

use std::path::PathBuf;

use medshelf::fixtures::{write_pdf, write_scanned_pdf, FixturePage, ScanStyle};

/// Lines of plausible filler for a paper's other pages, varied by page so no two pages match.
fn filler(topic: &str, page: usize, lines: usize) -> Vec<String> {
    // Each at most 80 characters, so that a line fits the page at 11 pt.
    let stems = [
        "Participants were enrolled at {n} centres after written informed consent.",
        "Baseline characteristics were balanced, with a median age of {n} years.",
        "The protocol was approved by each review board before enrolment began.",
        "Data were collected on standard forms and checked against source records.",
        "Missing values ({n} per cent) were handled by multiple imputation.",
        "Secondary outcomes were length of stay and adverse events by day {n}.",
        "Sensitivity analyses excluding protocol deviations gave similar results.",
        "The steering committee met every {n} months to review safety ({topic}).",
        "Randomisation used permuted blocks, stratified by centre and severity.",
        "Analyses used R version 4 with a two-sided alpha of 0.05 ({topic}).",
    ];
    (0..lines)
        .map(|i| {
            let stem = stems[(i + page * 3) % stems.len()];
            let n = 3 + (i * 7 + page * 11) % 60;
            stem.replace("{n}", &n.to_string())
                .replace("{topic}", topic)
        })
        .collect()
}

/// A paper of `pages` pages whose page `special` carries `lines` instead of filler, and whose
/// first page says when it was published.
fn paper(topic: &str, year: u16, pages: usize, special: usize, lines: &[&str]) -> Vec<FixturePage> {
    (1..=pages)
        .map(|p| {
            let mut text: Vec<String> = if p == 1 {
                vec![format!("Published online 14 March {year}. Open access.")]
            } else {
                Vec::new()
            };
            if p == special {
                text.extend(lines.iter().map(|s| s.to_string()));
            }
            text.extend(filler(topic, p, 34 - text.len().min(30)));
            FixturePage {
                columns: vec![text],
                header: Some(format!("{topic} - page {p}")),
            }
        })
        .collect()
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args_os().nth(1).expect("usage: e2e_fixtures DIR"));
    std::fs::create_dir_all(&dir)?;
    let metformin = dir.join("metformin-kidney.pdf");
    let sepsis = dir.join("procalcitonin-sepsis.pdf");
    let vitamin = dir.join("vitamin-d-fractures.pdf");
    write_pdf(
        &metformin,
        Some("Metformin and lactic acidosis in chronic kidney disease"),
        &paper(
            "metformin cohort",
            2017,
            8,
            2,
            &[
                "Metformin use in stage 3 chronic kidney disease was not associated with",
                "lactic acidosis when the estimated glomerular filtration rate stayed above 30.",
            ],
        ),
    )?;
    write_pdf(
        &sepsis,
        Some("Procalcitonin-guided antibiotic duration in sepsis"),
        &paper(
            "sepsis trial",
            2021,
            8,
            5,
            &[
                "Procalcitonin-guided discontinuation shortened antibiotic therapy",
                "by a median of 2.1 days in adults with sepsis in the intensive care unit,",
                "without any increase in 28-day mortality or in recurrent infection.",
            ],
        ),
    )?;
    write_pdf(
        &vitamin,
        Some("Vitamin D supplementation and fracture risk in older adults"),
        &paper(
            "vitamin D trial",
            2019,
            8,
            3,
            &[
                "Daily vitamin D3 did not reduce hip fractures in community-dwelling",
                "adults over 70 years who were not deficient at baseline.",
            ],
        ),
    )?;
    // A file that claims to be a PDF and is not: it must fail with a reason, alone.
    let broken = dir.join("truncated-download.pdf");
    std::fs::write(&broken, b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")?;
    // A faxed guideline: pages that are pictures only, which OCR reads (issue 17). Kept
    // beside the papers' folder, so that it is dropped on its own.
    let outside = dir
        .parent()
        .map_or_else(|| dir.clone(), |p| p.to_path_buf());
    let scans = outside.join("scans");
    std::fs::create_dir_all(&scans)?;
    let source = outside.join("scan-source.pdf");
    write_pdf(
        &source,
        None,
        &[
            FixturePage::text(&[
                "Perioperative anticoagulation: a faxed local guideline",
                "Ask the patient which anticoagulant they take and why.",
            ]),
            FixturePage::text(&[
                "Stop warfarin five days before elective surgery.",
                "Bridge with enoxaparin only after a mechanical mitral valve.",
            ]),
        ],
    )?;
    let scan = scans.join("faxed-anticoagulation-guideline.pdf");
    write_scanned_pdf(&source, &scan, ScanStyle::clean(200))?;
    // A second model, for switching: tiny, random, quick to re-embed with.
    let tiny = dir.join("tiny-bert");
    medshelf::fixtures::write_tiny_model(&tiny, medshelf::Pooling::Mean)?;
    // A Zotero library of the same papers, where the real Zotero database (its schema) is
    // given: nested collections to scope a search, and an annotation of the user's own words.
    let zotero = match std::env::args_os().nth(2).map(PathBuf::from) {
        Some(real) if real.join("zotero.sqlite").is_file() => {
            let mut z = medshelf::fixtures::zotero::ZoteroFolder::new(&real, &dir.join("Zotero"));
            let item = z.paper(
                "Metformin and lactic acidosis in chronic kidney disease",
                &[
                    ("date", "2017-00-00 2017"),
                    ("publicationTitle", "Kidney International"),
                ],
                &[("Okafor", "Chidi")],
            );
            z.stored(
                Some(item),
                Some(&metformin),
                "metformin-kidney.pdf",
                "application/pdf",
            );
            let nephrology = z.collection("Nephrology", None);
            z.file_in(nephrology, item);
            let item = z.paper(
                "Procalcitonin-guided antibiotic duration in sepsis",
                &[
                    ("date", "2021-00-00 2021"),
                    ("publicationTitle", "Critical Care"),
                ],
                &[("Ng", "Ada")],
            );
            let (pdf, _) = z.stored(
                Some(item),
                Some(&sepsis),
                "procalcitonin-sepsis.pdf",
                "application/pdf",
            );
            z.annotation(
                pdf,
                "Procalcitonin-guided discontinuation shortened antibiotic therapy",
                "kookaburra: our stewardship target",
                4,
            );
            z.tag(item, "to-read");
            let infection = z.collection("Infection", None);
            let sepsis_collection = z.collection("Sepsis", Some(infection));
            z.file_in(sepsis_collection, item);
            let item = z.paper(
                "Vitamin D supplementation and fracture risk in older adults",
                &[],
                &[],
            );
            z.stored(
                Some(item),
                Some(&vitamin),
                "vitamin-d-fractures.pdf",
                "application/pdf",
            );
            Some(z.dir.clone())
        }
        _ => None,
    };
    let expected = serde_json::json!({
        "zotero_dir": zotero,
        "zotero_word": "kookaburra",
        "tiny_model": tiny,
        "files": [metformin, sepsis, vitamin],
        "broken": broken,
        "scan": scan,
        "scan_question": "when to stop warfarin before elective surgery",
        "scan_page": 2,
        "question": "does procalcitonin guidance shorten antibiotic therapy in sepsis",
        "expected_file": sepsis,
        "expected_page": 5,
        "expected_year": 2021,
        "expected_phrase": "Procalcitonin-guided discontinuation shortened antibiotic therapy",
    });
    println!("{expected}");
    Ok(())
}
