//! Scanned papers (issue 17): pages without a text layer are read by OCR in the PDF worker,
//! marked as such, searchable, and left alone with `--no-ocr` until `--retry-failed`.

use std::path::{Path, PathBuf};
use std::process::Output;

use medshelf::fixtures::{write_pdf, write_scanned_pdf, FixturePage, ScanStyle, Tint};
use serde_json::Value;

use crate::support::{assert_ran, shared, skip};

pub(crate) fn medshelf(library: &Path, args: &[&str]) -> Output {
    crate::support::cli(library, None)
        .args(args)
        .output()
        .unwrap()
}

pub(crate) fn json(out: &Output) -> Value {
    assert_ran(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Tesseract and poppler are here, else why not (the test skips, or fails in CI).
pub(crate) fn ocr_ready(test: &str) -> Option<()> {
    let status = medshelf::extract::ocr::status();
    if status.available {
        return Some(());
    }
    skip(
        test,
        status.reason.as_deref().unwrap_or("OCR is not available"),
    )
}

/// OCR is ready and `../shared` is here: its path, else why not (the test skips, or fails in
/// CI).
pub(crate) fn ocr_and_shared(test: &str) -> Option<PathBuf> {
    ocr_ready(test)?;
    shared().or_else(|| skip(test, "../shared is absent"))
}

/// A text's words, lowercased, for recall against what OCR read.
fn words(t: &str) -> Vec<String> {
    t.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A two-page paper with a text layer, and its scan (300 dpi, no text layer).
fn scanned_paper(dir: &Path) -> (PathBuf, PathBuf) {
    let text = dir.join("source.pdf");
    write_pdf(
        &text,
        None,
        &[
            FixturePage::text(&[
                "Nocturnal enuresis in school children",
                "Desmopressin reduced wet nights in most of the children treated.",
                "Alarm therapy worked more slowly but relapses were fewer.",
            ]),
            FixturePage::text(&[
                "Hyponatraemia is the main hazard of desmopressin treatment.",
                "Fluid intake should be restricted in the evening before each dose.",
            ]),
        ],
    )
    .unwrap();
    let scans = dir.join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let scan = scans.join("enuresis-scan.pdf");
    write_scanned_pdf(&text, &scan, ScanStyle::clean(300)).unwrap();
    (text, scan)
}

#[test]
fn a_scan_is_read_by_ocr_marked_and_found_on_its_page() {
    let Some(()) = ocr_ready("a_scan_is_read_by_ocr_marked_and_found_on_its_page") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (_, scan) = scanned_paper(tmp.path());
    // The scan has no text layer: without OCR it is "no text found".
    assert!(matches!(
        medshelf::extract::extract_file_with(
            &scan,
            &medshelf::extract::ReadOptions {
                ocr: false,
                ..medshelf::extract::ReadOptions::plain()
            }
        ),
        Err(medshelf::ExtractError::NoText)
    ));
    let lib = tmp.path().join("lib");
    let scans = scan.parent().unwrap().to_str().unwrap();

    // --no-ocr leaves it failed, as before OCR existed.
    let v = json(&medshelf(&lib, &["index", scans, "--no-ocr", "--json"]));
    assert_eq!(
        (v["indexed"].as_u64(), v["failed"].as_u64()),
        (Some(0), Some(1)),
        "{v}"
    );
    // A plain run leaves a failed file alone; --retry-failed reads it, now with OCR.
    let v = json(&medshelf(&lib, &["index", scans, "--json"]));
    assert_eq!(v["indexed"].as_u64(), Some(0), "{v}");
    let v = json(&medshelf(
        &lib,
        &["index", scans, "--retry-failed", "--json"],
    ));
    assert_eq!(
        (v["indexed"].as_u64(), v["pages"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );

    // Found by words printed only as pixels, on the right page, marked as OCR.
    let v = json(&medshelf(
        &lib,
        &["search", "hyponatraemia desmopressin", "--json"],
    ));
    let top = &v["results"][0];
    assert_eq!(top["path"], scan.to_str().unwrap(), "{v}");
    assert_eq!(top["page"], 2, "{top}");
    assert_eq!(top["ocr"], true, "{top}");
    let snippet = top["snippet"].as_str().unwrap().to_lowercase();
    assert!(snippet.contains("fluid intake"), "{snippet}");
    let v = json(&medshelf(
        &lib,
        &["search", "alarm therapy relapses", "--json"],
    ));
    assert_eq!(v["results"][0]["page"], 1, "{v}");
    let out = medshelf(&lib, &["search", "alarm therapy relapses"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("page 1 (OCR)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // status counts the pages OCR read and says which Tesseract read them.
    let v = json(&medshelf(&lib, &["status", "--json"]));
    assert_eq!(
        (v["ocr_pages"].as_u64(), v["ocr_papers"].as_u64()),
        (Some(2), Some(1)),
        "{v}"
    );
    assert_eq!(v["ocr"]["available"], true, "{v}");
    assert!(
        v["ocr"]["languages"]
            .as_array()
            .unwrap()
            .contains(&"eng".into()),
        "{v}"
    );
}

#[test]
fn ocr_reads_the_words_of_a_clean_and_a_noisy_scan_with_their_boxes() {
    let Some(()) = ocr_ready("ocr_reads_the_words_of_a_clean_and_a_noisy_scan_with_their_boxes")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (text, clean) = scanned_paper(tmp.path());
    let noisy = tmp.path().join("noisy.pdf");
    // Noisy and askew: 2 % of the pixels speckled, the sheet turned by 1.5 degrees.
    let style = ScanStyle {
        noise: 0.02,
        skew: 1.5,
        ..ScanStyle::clean(300)
    };
    write_scanned_pdf(&text, &noisy, style).unwrap();
    let truth = medshelf::extract::extract_file(&text).unwrap();
    for (scan, floor) in [(&clean, 0.95), (&noisy, 0.90)] {
        let read = medshelf::extract::extract_file(scan).unwrap();
        assert_eq!(read.ocr.len(), 2, "both pages were OCR'd");
        for (page, ocr) in read.ocr.iter().enumerate() {
            assert_eq!(ocr.page as usize, page + 1);
            let expected = words(&truth.pages[page]);
            let got = words(&read.pages[page]);
            let found = expected.iter().filter(|w| got.contains(w)).count();
            let recall = found as f64 / expected.len() as f64;
            assert!(
                recall >= floor,
                "{}: page {}: recall {recall:.3}: {:?} vs {:?}",
                scan.display(),
                page + 1,
                got,
                expected
            );
            // Each word's box lies on the page, in reading order down the page.
            for w in &ocr.words {
                let [l, t, r, b] = w.bbox;
                assert!(
                    (0.0..=1.0).contains(&l) && l < r && r <= 1.0 && t < b && b <= 1.0,
                    "{w:?}"
                );
            }
            // The first line OCR believes is the page's first, near its top (the text starts
            // an inch down); noise specks come with confidence near 0 and stay out of the text.
            let first = ocr.words.iter().find(|w| w.believed()).unwrap();
            assert!(first.bbox[1] < 0.2 && first.confidence > 80, "{first:?}");
            assert!(!read.pages[page].contains(" . "), "{}", read.pages[page]);
        }
    }
}

#[test]
fn pale_type_and_type_on_a_tinted_panel_are_read() {
    let test = "pale_type_and_type_on_a_tinted_panel_are_read";
    let Some(()) = ocr_ready(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("booklet.pdf");
    write_pdf(
        &text,
        None,
        &[FixturePage::text(&[
            "Getting back on your feet after surgery",
            "Recovery time varies between people and procedures.",
            "Most people start to feel better within about two weeks.",
        ])],
    )
    .unwrap();
    let truth = medshelf::extract::extract_file(&text).unwrap();
    let expected = words(&truth.pages[0]);
    // The booklet's two cases, each a band of the page: its first two lines (whose type ends
    // 0.088 of the page down) in pale cyan (gray 200) over black type, which one threshold
    // for the page takes for paper; and all but the first line printed on a yellow panel
    // (gray 200) under white paper, which that threshold reads as one black block. Read
    // with that threshold alone, the pale page gives 0.46 of its words and the panel 0.29.
    let pale = Tint {
        from: 0.0,
        to: 0.089,
        ink: 200,
        paper: 255,
    };
    let panel = Tint {
        from: 0.072,
        to: 1.0,
        ink: 20,
        paper: 200,
    };
    // On the panel, tiles cut a few letters off their words ("etting", "ime").
    for (name, tint, floor) in [("pale", pale, 0.95), ("panel", panel, 0.85)] {
        let scan = tmp.path().join(format!("{name}.pdf"));
        let style = ScanStyle {
            tint: Some(tint),
            ..ScanStyle::clean(300)
        };
        write_scanned_pdf(&text, &scan, style).unwrap();
        let read = medshelf::extract::extract_file(&scan).unwrap();
        assert_eq!(read.ocr.len(), 1, "{name}: the page was OCR'd");
        let got = words(&read.pages[0]);
        let found = expected.iter().filter(|w| got.contains(w)).count();
        let recall = found as f64 / expected.len() as f64;
        assert!(recall >= floor, "{name}: recall {recall:.3}: {got:?}");
    }
}

#[test]
fn a_page_scanned_sideways_or_upside_down_is_read_turned_upright() {
    let test = "a_page_scanned_sideways_or_upside_down_is_read_turned_upright";
    let Some(()) = ocr_ready(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (text, _) = scanned_paper(tmp.path());
    let truth = medshelf::extract::extract_file(&text).unwrap();
    // A landscape table printed sideways reads, unturned, as letter soup under the page's
    // confidence floor: no text at all.
    for turn in [90, 180, 270] {
        let scan = tmp.path().join(format!("turned-{turn}.pdf"));
        let style = ScanStyle {
            turn,
            ..ScanStyle::clean(300)
        };
        write_scanned_pdf(&text, &scan, style).unwrap();
        let read = medshelf::extract::extract_file(&scan).unwrap();
        assert_eq!(read.ocr.len(), 2, "{turn}: both pages were OCR'd");
        for (page, ocr) in read.ocr.iter().enumerate() {
            let expected = words(&truth.pages[page]);
            let got = words(&read.pages[page]);
            let found = expected.iter().filter(|w| got.contains(w)).count();
            let recall = found as f64 / expected.len() as f64;
            assert!(recall >= 0.95, "{turn}: page {}: {got:?}", page + 1);
            // The boxes are on the page as it is shown (turned): the text's first line, an
            // inch below the top of the upright page, is at the right edge of a page turned
            // a quarter clockwise, at the bottom of one upside down, at the left of one
            // turned three quarters.
            let first = ocr.words.iter().find(|w| w.believed()).unwrap();
            let [l, t, r, b] = first.bbox;
            let at_the_edge = match turn {
                90 => l > 0.75,
                180 => t > 0.75,
                _ => r < 0.25,
            };
            assert!(at_the_edge && l < r && t < b, "{turn}: {first:?}");
        }
    }
}

#[test]
fn the_real_scans_become_searchable_by_the_words_on_their_pages() {
    let test = "the_real_scans_become_searchable_by_the_words_on_their_pages";
    let Some(shared) = ocr_and_shared(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let pdfs = shared.join("data/pdfs");
    let files = ["cermine__simple.pdf", "docling__ocr_test.pdf"].map(|f| pdfs.join(f));
    let mut args = vec!["index", "--json"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let v = json(&medshelf(&lib, &args));
    assert_eq!(v["indexed"].as_u64(), Some(2), "{v}");
    // Words seen on the page images (each scan's own, nowhere in the other).
    for (query, file) in [
        ("hydrogen incorporation expanding thermal plasma", &files[0]),
        ("bundles document conversion markdown", &files[1]),
    ] {
        let v = json(&medshelf(&lib, &["search", query, "--json"]));
        let top = &v["results"][0];
        assert_eq!(top["path"], file.to_str().unwrap(), "{query}: {v}");
        assert_eq!(top["ocr"], true, "{top}");
    }
}

/// A long scan shows its OCR page by page, through the worker, and a cancel stops it between
/// pages: nothing of the file is recorded, and the next run reads it whole.
#[test]
fn a_long_scan_tells_its_pages_and_a_cancel_stops_it_with_nothing_recorded() {
    use medshelf::extract::WorkerExtractor;
    use medshelf::{IndexEvent, Library, Sink};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    let test = "a_long_scan_tells_its_pages_and_a_cancel_stops_it_with_nothing_recorded";
    let Some(()) = ocr_ready(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("long.pdf");
    let pages: Vec<FixturePage> = (1..=6)
        .map(|i| {
            FixturePage::text(&[
                &format!("Chapter {i} of the renal dosing handbook"),
                "Reduce the dose of gentamicin when the creatinine clearance falls.",
            ])
        })
        .collect();
    write_pdf(&text, None, &pages).unwrap();
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let scan = scans.join("handbook-scan.pdf");
    write_scanned_pdf(&text, &scan, ScanStyle::clean(200)).unwrap();

    /// Keeps the OCR progress told, and cancels once OCR has started its second page.
    struct Watch<'a> {
        told: Mutex<Vec<(u32, u32)>>,
        cancel: &'a AtomicBool,
        stop_at: Option<u32>,
    }
    impl Sink for Watch<'_> {
        fn event(&self, event: &IndexEvent<'_>) {
            if let IndexEvent::Ocr { progress, .. } = event {
                self.told
                    .lock()
                    .unwrap()
                    .push((progress.done, progress.pages));
                if self.stop_at.is_some_and(|at| progress.done >= at) {
                    self.cancel.store(true, Ordering::SeqCst);
                }
            }
        }
    }
    let worker = || {
        Box::new(
            WorkerExtractor::new(env!("CARGO_BIN_EXE_medshelf"), &["extract-worker"])
                // Each OCR page extends the time; the file as a whole would overrun this.
                .with_timeout(std::time::Duration::from_secs(3)),
        )
    };
    let dir = tmp.path().join("library");
    let cancel = AtomicBool::new(false);
    let summary = {
        let mut lib = Library::open_with(&dir, None).unwrap();
        lib.set_extractor(worker());
        let watch = Watch {
            told: Mutex::new(Vec::new()),
            cancel: &cancel,
            stop_at: Some(1),
        };
        let summary = lib
            .index(std::slice::from_ref(&scans), &watch, &cancel)
            .unwrap();
        let told = watch.told.into_inner().unwrap();
        assert_eq!(told[..2], [(0, 6), (1, 6)], "{told:?}");
        assert!(told.len() < 6, "OCR went on after the cancel: {told:?}");
        summary
    };
    assert!(summary.cancelled, "{summary:?}");
    assert_eq!((summary.indexed, summary.failed), (0, 0), "{summary:?}");
    let lib = Library::open_with(&dir, None).unwrap();
    assert!(
        lib.documents().unwrap().is_empty(),
        "nothing of a cancelled file is recorded"
    );
    drop(lib);

    let mut lib = Library::open_with(&dir, None).unwrap();
    lib.set_extractor(worker());
    let again = AtomicBool::new(false);
    let watch = Watch {
        told: Mutex::new(Vec::new()),
        cancel: &again,
        stop_at: None,
    };
    let summary = lib.index(&[scans], &watch, &again).unwrap();
    assert_eq!((summary.indexed, summary.pages), (1, 6), "{summary:?}");
    let told = watch.told.into_inner().unwrap();
    assert_eq!(told.len(), 6, "every page told: {told:?}");
    let status = lib.status().unwrap();
    assert_eq!(status.ocr_pages, 6);
}

/// Scans in the encodings fax machines and scanners use (JBIG2 here) are decoded by the
/// renderer and read; one the hostile set holds says "It Doesn't Work" beside a drawn face.
#[test]
fn a_jbig2_scan_is_decoded_and_read() {
    let test = "a_jbig2_scan_is_decoded_and_read";
    let Some(shared) = ocr_and_shared(test) else {
        return;
    };
    let file = shared.join("data/bad_pdfs/pdfminersix__pdf-with-jbig2.pdf");
    let never = std::sync::atomic::AtomicBool::new(false);
    let pages = medshelf::extract::ocr::recognise(&file, &[1], &mut |_| {}, &never).unwrap();
    let words: Vec<&str> = pages[0].words.iter().map(|w| w.text.as_str()).collect();
    assert!(words.contains(&"Doesn't"), "{words:?}");
    // Two words are no paper: the file stays "no text found", with its reason.
    assert!(matches!(
        medshelf::extract::extract_file(&file),
        Err(medshelf::ExtractError::NoText)
    ));
}

/// A page holding an image of 20,000 by 20,000 pixels (400 MB decoded) is rendered at the
/// page's size within the worker's memory limit: the file ends with a verdict, not a crash.
#[test]
fn a_twenty_thousand_pixel_image_is_read_within_the_workers_limits() {
    use lopdf::dictionary;
    use std::io::Write;
    let test = "a_twenty_thousand_pixel_image_is_read_within_the_workers_limits";
    let Some(()) = ocr_ready(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let side = 20_000usize;
    // White, with a black band across the middle: ink, but no letters.
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let white = vec![255u8; side];
    let black = vec![0u8; side];
    for row in 0..side {
        let band = (9_000..9_400).contains(&row);
        encoder
            .write_all(if band { &black } else { &white })
            .unwrap();
    }
    let data = encoder.finish().unwrap();
    let mut doc = lopdf::Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let image = doc.add_object(lopdf::Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => side as i64,
            "Height" => side as i64, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            "Filter" => "FlateDecode",
        },
        data,
    ));
    let content = doc.add_object(lopdf::Stream::new(
        dictionary! {},
        b"q 612 0 0 792 0 0 cm /Im1 Do Q".to_vec(),
    ));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content,
        "Resources" => dictionary! { "XObject" => dictionary! { "Im1" => image } },
        "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
    });
    doc.objects.insert(
        pages_id,
        lopdf::Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let path = tmp.path().join("huge-image.pdf");
    doc.save(&path).unwrap();
    let worker = medshelf::extract::WorkerExtractor::new(
        env!("CARGO_BIN_EXE_medshelf"),
        &["extract-worker"],
    );
    let started = std::time::Instant::now();
    let read = medshelf::Extractor::extract(&worker, &path);
    assert!(
        matches!(read, Err(medshelf::ExtractError::NoText)),
        "{read:?} after {:?}",
        started.elapsed()
    );
}

/// Where Tesseract is missing, a scan fails with what to install, and the run goes on.
#[test]
fn a_scan_where_tesseract_is_missing_says_what_to_install() {
    let test = "a_scan_where_tesseract_is_missing_says_what_to_install";
    let Some(()) = ocr_ready(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (_, scan) = scanned_paper(tmp.path());
    let lib = tmp.path().join("lib");
    let out = crate::support::cli(&lib, None)
        .env(
            "MEDSHELF_TESSERACT",
            tmp.path().join("no-such-libtesseract.so"),
        )
        .args(["index", "--json", scan.to_str().unwrap()])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["failed"].as_u64(), Some(1), "{v}");
    let docs = json(
        &crate::support::cli(&lib, None)
            .args(["docs", "--json"])
            .output()
            .unwrap(),
    );
    let doc = &docs[0];
    assert_eq!(doc["error_code"], "scan_without_ocr", "{doc}");
    let error = doc["error"].as_str().unwrap();
    assert!(error.contains("install tesseract-ocr"), "{error}");
    let status = crate::support::cli(&lib, None)
        .env(
            "MEDSHELF_TESSERACT",
            tmp.path().join("no-such-libtesseract.so"),
        )
        .arg("status")
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("ocr       off: "), "{status}");
}
