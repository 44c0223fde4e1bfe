//! Where a paper opens: its first page with text, past blank pages and a cover OCR read
//! before a born-digital paper. The metadata reader reads the title and byline there.

use super::EMPTY_PAGE;

/// Whether a page has no usable text (fewer than [`EMPTY_PAGE`] letters and digits).
pub(crate) fn blank(page: &str) -> bool {
    page.chars().filter(|c| c.is_alphanumeric()).count() < EMPTY_PAGE
}

/// The pages from the first that is not [`blank`]: where the paper's first page is (its title,
/// its byline), behind any blank pages before it.
pub(crate) fn opening(pages: &[String]) -> &[String] {
    let start = pages.iter().position(|p| !blank(p)).unwrap_or(pages.len());
    &pages[start..]
}

/// The most pages before a born-digital paper's first page that can be a cover.
const COVER_PAGES: usize = 2;

/// The pages from the paper's first page, `at` being the page the first page's layout was read
/// from (the first with a text layer of its own): the pages before it are blank in that layer,
/// and where OCR read them they are a cover (a congress's title page scanned before a
/// poster, a publisher's cover image), not the paper's first page. Without a layout, or past
/// [`COVER_PAGES`], [`opening`].
pub(crate) fn opening_at(pages: &[String], at: Option<usize>) -> &[String] {
    match at {
        Some(at) if at <= COVER_PAGES && at < pages.len() => &pages[at..],
        _ => opening(pages),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_opens_at_its_first_page_with_text() {
        let pages = ["", " 2 ", "Ability of different obturation techniques"].map(String::from);
        assert_eq!(opening(&pages), &pages[2..]);
        assert!(opening(&[String::new()]).is_empty());
        // A cover OCR read before the page with a text layer of its own.
        let covered = [
            "Endodontics: Where biology and technology merge",
            "Ability of",
        ]
        .map(String::from);
        assert_eq!(opening_at(&covered, Some(1)), &covered[1..]);
        assert_eq!(opening_at(&covered, None), &covered[..]);
        // A text layer only from page 5 on: no cover is that long.
        let late: Vec<String> = (0..6)
            .map(|i| format!("page {i} of a paper whose text layer is long enough"))
            .collect();
        assert_eq!(opening_at(&late, Some(4)), &late[..]);
    }
}
