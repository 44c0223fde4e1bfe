//! What a paper or a report prints of its own publication besides a journal's heads: its
//! citation of itself ("How to cite this article: ... Chin Med J 2017;130:1683-8.", or the
//! citation that ends in its own DOI on a Cochrane review's cover), and a report's publisher
//! with its ISBN on the imprint page.

use std::sync::LazyLock;

use regex::Regex;

use super::{clean, title_case};

/// An ISBN as printed: 13 digits (or 10, the last may be X) in groups.
static ISBN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bISBN(?:-1[03])?:?\s*((?:\d[- ]?){9}[\dX](?:[- ]?\d){0,3})\b")
        .expect("a valid pattern")
});

/// A copyright line that names its holder: "© World Health Organization 2025".
static HOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"©\s*(?:Copyright\s+)?(\p{Lu}[\p{L}.&'’ -]{2,80}?)\s*,?\s*(?:19|20)\d{2}\b")
        .expect("a valid pattern")
});

/// Whether the digits of an ISBN (13, or 10 with X for ten) add up to its check digit.
pub(super) fn isbn_checks(isbn: &str) -> bool {
    let digits: Vec<u32> = isbn
        .chars()
        .filter_map(|c| if c == 'X' { Some(10) } else { c.to_digit(10) })
        .collect();
    match digits.len() {
        13 => {
            let sum: u32 = digits
                .iter()
                .enumerate()
                .map(|(i, d)| if i % 2 == 0 { *d } else { 3 * d })
                .sum();
            sum.is_multiple_of(10) && digits[..12].iter().all(|&d| d < 10)
        }
        10 => {
            let sum: u32 = digits.iter().zip((1..=10).rev()).map(|(d, w)| d * w).sum();
            sum.is_multiple_of(11) && digits[..9].iter().all(|&d| d < 10)
        }
        _ => false,
    }
}

/// A report or a book, not a journal's article: its publisher, the holder of the copyright on
/// its imprint page, and its first ISBN with a right check digit ("World Health Organization
/// (ISBN 978-92-4-011047-2)"), where one of its first pages prints both.
pub(super) fn publisher(pages: &[String]) -> Option<String> {
    for page in pages.iter().take(4) {
        let Some(isbn) = ISBN
            .captures_iter(page)
            .filter_map(|c| c.get(1))
            .map(|m| m.as_str().trim())
            .find(|isbn| isbn_checks(isbn))
        else {
            continue;
        };
        if let Some(holder) = HOLDER
            .captures_iter(page)
            .filter_map(|c| clean(c.get(1)?.as_str()))
            .find(|h| h.split_whitespace().count() >= 2 && title_case(h))
        {
            return Some(format!("{holder} (ISBN {isbn})"));
        }
    }
    None
}

/// Where the first pages say how to cite the paper.
static CITE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:how to cite(?: this article)?|cite this article(?: as)?|please cite(?: this article)?(?: as)?|citation(?: style for this article)?)\s*:")
        .expect("a valid pattern")
});

/// A citation's year and what follows it: "2017;130:1683", "2023, Issue 3", "2020; 25(3)".
static CITED_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s(?:19|20)\d{2}\s*[;,]\s*(?:(?:Issue|Vol(?:ume)?\.?|No\.)\s*)?\d")
        .expect("a valid pattern")
});

/// The journal of the paper's citation of itself on its first pages: after a cue ("How to cite
/// this article: Sun B, ... Etiologies. Chin Med J 2017;130:1683-8.") or ending in the paper's
/// own DOI ("... fibrillation. Cochrane Database of Systematic Reviews 2023, Issue 3. Art.
/// No.: CD013765. DOI: 10.1002/14651858.CD013765.pub2").
pub(super) fn self_citation(pages: &[String], doi: Option<&str>) -> Option<String> {
    for page in pages.iter().take(2) {
        // After a cue: the first citation's year.
        for cue in CITE_CUE.find_iter(page) {
            let window = window(page, cue.end(), 600);
            if let Some(name) = CITED_YEAR
                .find(window)
                .and_then(|y| cited_name(&window[..y.start()]))
            {
                return Some(name);
            }
        }
        // Before the paper's own DOI: the last citation's year.
        let Some(doi) = doi else { continue };
        // ASCII lowering keeps every byte where it was.
        if let Some(at) = page.to_ascii_lowercase().find(doi) {
            let mut from = at.saturating_sub(300);
            while !page.is_char_boundary(from) {
                from -= 1;
            }
            let before = &page[from..at];
            if let Some(name) = CITED_YEAR
                .find_iter(before)
                .last()
                .and_then(|y| cited_name(&before[..y.start()]))
            {
                return Some(name);
            }
        }
    }
    None
}

/// Up to `len` bytes of `text` from `start`, cut at a character's boundary.
fn window(text: &str, start: usize, len: usize) -> &str {
    let mut end = (start + len).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[start..end]
}

/// The journal's name at the end of a citation's text before its year: what follows the last
/// full stop after a word of six or more letters (the title's end; "Med." and "Assoc." are a
/// name's abbreviations).
fn cited_name(before: &str) -> Option<String> {
    let mut start = 0;
    for (i, _) in before.match_indices(". ") {
        let word = before[..i]
            .rsplit(|c: char| !c.is_alphabetic())
            .next()
            .unwrap_or("");
        if word.chars().count() >= 6 && before[i + 2..].trim().len() >= 3 {
            start = i + 2;
        }
    }
    let name = before[start..].trim().trim_end_matches('.');
    (start > 0 && name.split_whitespace().count() <= 8)
        .then(|| clean(name))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::super::venue;
    use super::*;

    #[test]
    fn the_papers_citation_of_itself() {
        let doi = "10.1002/14651858.cd013765.pub2";
        let cover = "Bray JJH, Warraich M. Oral Class I and III antiarrhythmic drugs for maintaining \
            sinus rhythm after catheter ablation of atrial fibrillation. Cochrane Database of \
            Systematic Reviews 2023, Issue 3. Art. No.: CD013765. DOI: 10.1002/14651858.CD013765.pub2.";
        let pages = [cover.to_string()];
        assert_eq!(
            venue("", "", &[], &pages, Some(doi)).as_deref(),
            Some("Cochrane Database of Systematic Reviews")
        );
        // Another paper's DOI, cited with its journal, is not the paper's own.
        assert_eq!(venue("", "", &[], &pages, Some("10.1000/other")), None);
        let cued = [
            "Address: x. How to cite this article: Sun B, Liu LZ. Clinical Characteristics \
            of Various Etiologies. Chin Med J 2017;130:1683-8."
                .to_string(),
        ];
        assert_eq!(
            venue("", "", &[], &cued, None).as_deref(),
            Some("Chin Med J")
        );
        let euro = [
            "Citation style for this article: Kwong JC, Chung H. The impact of repeated \
            vaccination. Euro Surveill. 2020;25(3):pii=1900245. www.eurosurveillance.org"
                .to_string(),
        ];
        assert_eq!(
            venue("", "", &[], &euro, None).as_deref(),
            Some("Eurosurveillance")
        );
        let plos = [
            "Citation: Smith J, Doe A. Heart failure in adults. PLoS Med 2008;5:e1. \
            www.plosmedicine.org"
                .to_string(),
        ];
        assert_eq!(venue("", "", &[], &plos, None).as_deref(), Some("PLoS Med"));
    }

    #[test]
    fn a_reports_publisher_and_isbn() {
        let imprint = "WHO guidelines for the treatment of patients with cystic echinococcosis\n\
            ISBN 978-92-4-011047-2 (electronic version)\nISBN 978-92-4-011048-9 (print version)\n\
            © World Health Organization 2025\nSome rights reserved.";
        assert_eq!(
            venue("", "", &[], &[imprint.to_string()], None).as_deref(),
            Some("World Health Organization (ISBN 978-92-4-011047-2)")
        );
        // A wrong check digit is no ISBN; an author's copyright names no publisher.
        for page in [
            "ISBN 978-92-4-011047-3\n© World Health Organization 2025",
            "ISBN 978-92-4-011047-2\n© The Author(s) 2025",
        ] {
            assert_eq!(
                venue("", "", &[], &[page.to_string()], None),
                None,
                "{page}"
            );
        }
        assert!(isbn_checks("0-306-40615-2"));
    }
}
