//! Extraction from PDFs the tests write themselves.

use medshelf::extract::{extract_file, ExtractError};

use crate::support::write_papers;

#[test]
fn pages_titles_and_ligatures() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let sepsis = extract_file(&papers.sepsis).unwrap();
    assert_eq!(sepsis.pages.len(), 3);
    assert_eq!(
        sepsis.title.as_deref(),
        Some("Early antibiotics in septic shock")
    );
    assert!(
        sepsis.pages[1].contains("ferritin above 4000"),
        "{}",
        sepsis.pages[1]
    );
    for page in &sepsis.pages {
        // The running header is printed on every page and dropped from every page.
        assert!(!page.contains("Journal of Generated Medicine"), "{page}");
    }

    let asthma = extract_file(&papers.asthma).unwrap();
    assert!(
        asthma.pages[0].contains("inflammation and fibrosis"),
        "{}",
        asthma.pages[0]
    );
    // No Info title: the first line that reads like a title is taken.
    assert_eq!(
        asthma.title.as_deref(),
        Some("Inhaled corticosteroids in childhood asthma")
    );
}

#[test]
fn regression_two_column_page_order() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let diabetes = extract_file(&papers.diabetes).unwrap();
    let page = &diabetes.pages[0];
    let left = page.find("Left column on metformin").expect(page);
    let left_end = page.find("dosing in older adults").expect(page);
    let right = page.find("Right column on renal").expect(page);
    // A column reads top to bottom before the next begins: lines are not interleaved.
    assert!(left < left_end && left_end < right, "{page}");
}

#[test]
fn unreadable_files_get_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let not_pdf = tmp.path().join("notes.pdf");
    std::fs::write(&not_pdf, "just text").unwrap();
    assert!(matches!(extract_file(&not_pdf), Err(ExtractError::NotPdf)));

    let truncated = tmp.path().join("truncated.pdf");
    std::fs::write(&truncated, b"%PDF-1.4\n1 0 obj << /Type /Catalog").unwrap();
    let err = extract_file(&truncated).unwrap_err();
    assert!(matches!(err, ExtractError::Damaged(_)), "{err:?}");
    assert!(err.to_string().starts_with("damaged"), "{err}");
}
