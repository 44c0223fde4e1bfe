//! Scans of every kind OCR meets besides a plain one (issue 17): a scanner's own OCR layer
//! of poor quality under the page image (read again) or of good quality (kept), a
//! photograph of a person (no passages), the hostile set's fax, JPEG 2000 and broken JBIG2
//! images (a verdict, no crash), and real papers' pages scanned (a title and authors read
//! from the sizes OCR measures, a citation's superscript read as marks).

use std::path::{Path, PathBuf};

use medshelf::fixtures::{write_pdf, FixturePage, ScanStyle};

use crate::ocr::{json, medshelf, ocr_and_shared, ocr_ready};

/// Two pages of prose long enough for the dictionary to judge.
const LAYER_PAGES: [&[&str]; 2] = [
    &[
        "Warfarin before elective surgery in older patients",
        "Warfarin should be stopped five days before most elective operations.",
        "The international normalised ratio is checked on the day before surgery,",
        "and a small oral dose of vitamin K is given when it is still above 1.5.",
        "Bridging with low molecular weight heparin is kept for patients at high",
        "risk of thrombosis, such as those with a mechanical mitral valve or a",
        "stroke within the last three months. For most others the bleeding risk",
        "of bridging outweighs its benefit, and no bridging is advised.",
    ],
    &[
        "Restarting anticoagulation after the operation",
        "Warfarin is restarted on the evening of surgery or the next morning at",
        "the usual dose, provided that the wound shows no sign of bleeding.",
        "Where bridging was used, heparin is resumed one day after low bleeding",
        "risk surgery and two or three days after high bleeding risk surgery, and",
        "it is stopped once the ratio has been within the target range twice.",
        "Patients are told to watch for black stools, blood in the urine and",
        "large bruises, and to call the clinic when any of these appear.",
    ],
];

/// The words of a page as a text layer (one string a page), and a scan of those pages
/// carrying `layer` as its invisible text.
fn scan_with_layer(dir: &Path, layer: impl Fn(usize, &str) -> String) -> PathBuf {
    let text = dir.join("layer-source.pdf");
    let pages: Vec<FixturePage> = LAYER_PAGES.iter().map(|p| FixturePage::text(p)).collect();
    write_pdf(&text, None, &pages).unwrap();
    let layers: Vec<String> = LAYER_PAGES
        .iter()
        .enumerate()
        .map(|(i, p)| layer(i, &p.join(" ")))
        .collect();
    let scan = dir.join("layered-scan.pdf");
    medshelf::fixtures::write_scanned_pdf_with_layer(&text, &scan, ScanStyle::clean(300), &layers)
        .unwrap();
    scan
}

#[test]
fn a_scan_whose_invisible_text_is_garbage_is_read_again_and_a_good_layer_is_kept() {
    let Some(()) =
        ocr_ready("a_scan_whose_invisible_text_is_garbage_is_read_again_and_a_good_layer_is_kept")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let options = |ocr| medshelf::extract::ReadOptions {
        ocr,
        ..medshelf::extract::ReadOptions::plain()
    };
    let words = |pages: &[String]| {
        let text = pages.join(" ").to_lowercase();
        ["warfarin", "bridging", "thrombosis", "restarted", "bruises"]
            .iter()
            .filter(|w| text.contains(*w))
            .count()
    };

    // A poor scanner's OCR: half the words misread, drawn invisibly under the page images.
    let poor = scan_with_layer(tmp.path(), |i, t| {
        medshelf::fixtures::like_poor_ocr(t, 0.6, 11 + i as u64)
    });
    let kept = medshelf::extract::extract_file_with(&poor, &options(false)).unwrap();
    assert!(kept.ocr.is_empty());
    let share = medshelf::extract::ocr::dictionary_share(&kept.pages[0]).unwrap();
    assert!(share < 0.8, "the garbage layer reads too well: {share:.2}");
    let read = medshelf::extract::extract_file_with(&poor, &options(true)).unwrap();
    let pages: Vec<u32> = read.ocr.iter().map(|p| p.page).collect();
    assert_eq!(pages, [1, 2], "both pages are read again: {:?}", read.pages);
    assert_eq!(words(&read.pages), 5, "OCR's reading: {:?}", read.pages);
    assert!(medshelf::extract::ocr::dictionary_share(&read.pages[0]).unwrap() > 0.9);

    // A good layer (the page's own words) is the page's text: nothing is OCR'd.
    let good = scan_with_layer(tmp.path(), |_, t| t.to_string());
    let read = medshelf::extract::extract_file_with(&good, &options(true)).unwrap();
    assert!(read.ocr.is_empty(), "a good layer was OCR'd");
    assert_eq!(words(&read.pages), 5, "{:?}", read.pages);
}

#[test]
fn a_real_scan_with_a_poor_ocr_layer_of_its_own_is_read_again() {
    let test = "a_real_scan_with_a_poor_ocr_layer_of_its_own_is_read_again";
    let Some(shared) = ocr_and_shared(test) else {
        return;
    };
    // A typewritten letter of the 1950s whose scanner's OCR layer reads "A l e t t e r froas
    // Calif&rr-.la.": invisible text under the page image.
    let file = shared.join("data/pdfs/unstructured__pdf-with-ocr-text.pdf");
    let options = |ocr| medshelf::extract::ReadOptions {
        ocr,
        ..medshelf::extract::ReadOptions::plain()
    };
    let share = medshelf::extract::ocr::dictionary_share;
    let layer = medshelf::extract::extract_file_with(&file, &options(false)).unwrap();
    let read = medshelf::extract::extract_file_with(&file, &options(true)).unwrap();
    let (before, after) = (share(&layer.pages[0]), share(&read.pages[0]));
    let (before, after) = (before.unwrap(), after.unwrap());
    assert!(before < 0.8, "the layer reads too well: {before:.2}");
    assert_eq!(read.ocr.len(), 1, "the page is read again");
    assert!(after >= before + 0.1, "{before:.2} -> {after:.2}");
    // Words the layer misread, as the page shows them.
    for words in ["SUGAR RESEARCH FOUNDATION", "California and Hawaiian Sugar"] {
        assert!(!layer.pages[0].contains(words), "the layer had {words}");
        assert!(read.pages[0].contains(words), "{words}: {}", read.pages[0]);
    }
}

/// A page with a few words and no image is not OCR'd: there is nothing more on it to read
/// (30 such pages once took seven seconds of a batch). With an image it is.
#[test]
fn a_page_of_a_few_words_is_read_again_only_where_it_draws_an_image() {
    let test = "a_page_of_a_few_words_is_read_again_only_where_it_draws_an_image";
    let Some(()) = ocr_ready(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    // The pages OCR was asked to read, and what the document reads as.
    let read = |file: &Path| {
        let recognised = std::sync::Mutex::new(Vec::new());
        let progress =
            |p: medshelf::extract::ocr::OcrProgress| recognised.lock().unwrap().push(p.page);
        let never = std::sync::atomic::AtomicBool::new(false);
        let options = medshelf::extract::ReadOptions {
            ocr: true,
            progress: &progress,
            cancel: &never,
            stored: &[],
        };
        let out = medshelf::extract::extract_file_with(file, &options).unwrap();
        (out, recognised.into_inner().unwrap())
    };

    // A part's title page before a page of prose: both text, no image.
    let text = tmp.path().join("parts.pdf");
    let pages = [
        FixturePage::text(&["Part two"]),
        FixturePage::text(LAYER_PAGES[0]),
    ];
    write_pdf(&text, None, &pages).unwrap();
    let (out, recognised) = read(&text);
    assert!(recognised.is_empty(), "OCR read pages {recognised:?}");
    assert!(out.pages[0].contains("Part two"), "{:?}", out.pages);

    // A scan whose invisible layer holds two words of each page: the image holds the rest.
    let scan = scan_with_layer(tmp.path(), |_, _| "Warfarin surgery".to_string());
    let (out, recognised) = read(&scan);
    assert_eq!(recognised, [1, 2]);
    assert!(out.pages[0].contains("bridging"), "{:?}", out.pages);
}

#[test]
fn a_photograph_of_a_person_gives_no_passages() {
    let Some(()) = ocr_ready("a_photograph_of_a_person_gives_no_passages") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let photo = tmp.path().join("portrait.pdf");
    medshelf::fixtures::write_photo_pdf(&photo).unwrap();
    // OCR looks at it (it is a page without text) and believes nothing it reads there.
    let read = medshelf::extract::extract_file_with(
        &photo,
        &medshelf::extract::ReadOptions {
            ocr: true,
            ..medshelf::extract::ReadOptions::plain()
        },
    );
    assert!(
        matches!(read, Err(medshelf::ExtractError::NoText)),
        "a photograph read as text: {read:?}"
    );
    // Indexed, it fails with the reason and leaves nothing to find.
    let lib = tmp.path().join("lib");
    let v = json(&medshelf(
        &lib,
        &["index", "--json", photo.to_str().unwrap()],
    ));
    assert_eq!(v["indexed"].as_u64(), Some(0), "{v}");
    let status = json(&medshelf(&lib, &["status", "--json"]));
    assert_eq!(status["chunks"].as_u64(), Some(0), "{status}");
    let failed = status["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{status}");
    assert!(failed[0].to_string().contains("portrait.pdf"), "{status}");
}

/// The other encodings of the hostile set's images (CCITT fax, JPEG 2000, broken JBIG2), one
/// by one: each is rendered and read (what little they hold: an 81 by 26 pixel fax strip,
/// a 2 by 1 JPEG 2000 mask) and ends with a verdict in this process, no crash.
#[test]
fn fax_jpeg2000_and_broken_jbig2_images_end_with_a_verdict() {
    let test = "fax_jpeg2000_and_broken_jbig2_images_end_with_a_verdict";
    let Some(shared) = ocr_and_shared(test) else {
        return;
    };
    let never = std::sync::atomic::AtomicBool::new(false);
    for name in [
        "pdfjs__ccitt_EndOfBlock_false.pdf",
        "pypdf__imagemagick-CCITTFaxDecode.pdf",
        "pdfjs__jp2k-resetprob.pdf",
        "pdfjs__jpx_smaskindata.pdf",
        "pdfjs__jbig2_file_header.pdf",
        "pdfjs__jbig2_symbol_offset.pdf",
    ] {
        let file = shared.join("data/bad_pdfs").join(name);
        assert!(file.is_file(), "{name} is missing from ../shared");
        let started = std::time::Instant::now();
        let pages = medshelf::extract::poppler::page_sizes(&file).map_or(0, |s| s.len() as u32);
        let wanted: Vec<u32> = (1..=pages.min(3)).collect();
        let read = medshelf::extract::ocr::recognise(&file, &wanted, &mut |_| {}, &never);
        assert!(read.is_ok(), "{name}: {read:?}");
        let verdict = medshelf::extract::extract_file_with(
            &file,
            &medshelf::extract::ReadOptions {
                ocr: true,
                ..medshelf::extract::ReadOptions::plain()
            },
        );
        eprintln!(
            "{name}: {pages} pages, {:?}",
            verdict.as_ref().map(|e| e.pages.len())
        );
        assert!(
            started.elapsed().as_secs() < 60,
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

/// The first page of a real paper, alone, as a PDF of its own (`{name}-original.pdf` in
/// `dir`), and its scan at 300 dpi (`{name}-scan.pdf`).
fn scanned_first_page(paper: &Path, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    scanned_page(paper, dir, name, 1)
}

/// A real paper's page `page` alone, and its scan at 300 dpi (no text layer).
fn scanned_page(paper: &Path, dir: &Path, name: &str, page: u32) -> (PathBuf, PathBuf) {
    let original = dir.join(format!("{name}-original.pdf"));
    let scan = dir.join(format!("{name}-scan.pdf"));
    let mut doc = lopdf::Document::load(paper).unwrap();
    let others: Vec<u32> = doc
        .get_pages()
        .keys()
        .copied()
        .filter(|&n| n != page)
        .collect();
    doc.delete_pages(&others);
    doc.save(&original).unwrap();
    medshelf::fixtures::write_scanned_pdf(&original, &scan, ScanStyle::clean(300)).unwrap();
    (original, scan)
}

/// A scanned paper gets the record its text layer gives: the title told by its size over
/// the lines it is broken into (not the first of them, nor a journal's name set above it),
/// and the names under it. Each real paper's first page is scanned at 300 dpi, and both
/// copies are indexed.
#[test]
fn a_scanned_paper_gets_its_title_and_authors_from_the_sizes_ocr_measures() {
    let test = "a_scanned_paper_gets_its_title_and_authors_from_the_sizes_ocr_measures";
    let Some(shared) = ocr_and_shared(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    // A title over three lines under a journal's name; a title over three lines under a
    // masthead, with names whose marks OCR reads as quotes and question marks.
    let papers = [
        shared.join("data/clinical/openvirusdev__PMC7589781_fulltext.pdf"),
        shared.join("data/pdfs/cermine__test1.pdf"),
    ];
    let files: Vec<(PathBuf, PathBuf)> = papers
        .iter()
        .enumerate()
        .map(|(i, paper)| scanned_first_page(paper, tmp.path(), &i.to_string()))
        .collect();
    let mut args = vec!["index", "--json"];
    for (original, scan) in &files {
        args.push(original.to_str().unwrap());
        args.push(scan.to_str().unwrap());
    }
    let v = json(&medshelf(&lib, &args));
    assert_eq!(v["indexed"].as_u64(), Some(4), "{v}");
    let record = |path: &Path| json(&medshelf(&lib, &["meta", "--json", path.to_str().unwrap()]));
    let words = |v: &serde_json::Value| -> String {
        v.as_str()
            .unwrap_or_default()
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (original, scan) in &files {
        let (a, b) = (record(original), record(scan));
        assert!(words(&a["title"]).split(' ').count() >= 10, "{a}");
        assert_eq!(words(&b["title"]), words(&a["title"]), "{b}");
        assert_eq!(b["provenance"]["title"], "layout", "{b}");
    }
    // The names under each title: marks read as quotes, question marks and stray letters,
    // and a name whose marks OCR doubted.
    for ((_, scan), first) in files.iter().zip(["Biagi", "Datta"]) {
        let scanned = record(scan);
        let surnames: Vec<&str> = scanned["authors"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["family"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(surnames.first(), Some(&first), "{scanned}");
        assert!(surnames.len() >= 3, "{scanned}");
    }
}

/// A scan indexed by an older reader of records gets its record read again at the next index
/// run from the OCR stored with its pages, not by OCR again: the stored words (altered here,
/// so that a fresh reading would not give them) are what the title is read from.
#[test]
fn a_scans_record_is_read_again_from_its_stored_ocr_not_by_ocr_again() {
    let test = "a_scans_record_is_read_again_from_its_stored_ocr_not_by_ocr_again";
    let Some(shared) = ocr_and_shared(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let (_, scan) = scanned_first_page(
        &shared.join("data/clinical/openvirusdev__PMC7589781_fulltext.pdf"),
        tmp.path(),
        "rhinovirus",
    );
    let path = scan.to_str().unwrap();
    json(&medshelf(&lib, &["index", "--json", path]));
    // As a library an older reader wrote: another title, an older reader's number, and the
    // page's OCR as stored (its size not kept yet), with one word of the title altered.
    let conn = rusqlite::Connection::open(lib.join("catalog.sqlite")).unwrap();
    let ocr: String = conn
        .query_row("SELECT ocr FROM pages WHERE page = 1", [], |r| r.get(0))
        .unwrap();
    assert!(ocr.contains("\"Bronchiolitis\""), "{ocr}");
    let mut stored: serde_json::Value = serde_json::from_str(&ocr).unwrap();
    stored.as_object_mut().unwrap().remove("size");
    let altered = stored
        .to_string()
        .replace("\"Bronchiolitis\"", "\"Bronkiolitis\"");
    conn.execute("UPDATE pages SET ocr = ?1 WHERE page = 1", [&altered])
        .unwrap();
    conn.execute(
        "UPDATE documents SET metadata = json_set(metadata, '$.title', 'Rhinovirus Infection in Children with Acute'), metadata_reader = 4",
        [],
    )
    .unwrap();
    drop(conn);
    let v = json(&medshelf(&lib, &["index", "--json", path]));
    assert_eq!(v["unchanged"].as_u64(), Some(1), "{v}");
    let record = json(&medshelf(&lib, &["meta", "--json", path]));
    assert_eq!(
        record["title"],
        "Rhinovirus Infection in Children with Acute Bronkiolitis and Its Impact on Recurrent \
         Wheezing and Asthma Development",
        "{record}"
    );
    assert_eq!(record["provenance"]["title"], "layout", "{record}");
}

/// A citation's superscript glued to its word reads as marks ("benefits²²,²³." as
/// "benefits***.", which Tesseract doubts whole): the word and its full stop stay in the
/// page's text, so the sentence ends where the original's does. A real paper's page, scanned.
#[test]
fn a_word_with_a_superscript_read_as_marks_keeps_its_place_and_its_full_stop() {
    let test = "a_word_with_a_superscript_read_as_marks_keeps_its_place_and_its_full_stop";
    let Some(shared) = ocr_and_shared(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let (_, scan) = scanned_page(
        &shared.join("data/pdfs/paper-qa__10.1101_2021.05.12.443709.pdf"),
        tmp.path(),
        "hoxa9",
        6,
    );
    json(&medshelf(
        &lib,
        &["index", "--json", scan.to_str().unwrap()],
    ));
    let conn = rusqlite::Connection::open(lib.join("catalog.sqlite")).unwrap();
    let text: String = conn
        .query_row("SELECT text FROM pages WHERE page = 1", [], |r| r.get(0))
        .unwrap();
    // Tesseract reads "benefits***." here, at a confidence of 2: without the mend the word
    // and its full stop were left out ("offer these In the presence").
    assert!(
        text.contains("offer these benefits. In the presence of estrogen"),
        "{text}"
    );
    // No word of the page's text ends in two marks or more.
    let marked: Vec<&str> = text
        .split_whitespace()
        .filter(|w| {
            w.chars()
                .rev()
                .take_while(|c| "*'\"!?°^`’‘“”".contains(*c))
                .count()
                >= 2
        })
        .collect();
    assert!(marked.is_empty(), "{marked:?}");
}
