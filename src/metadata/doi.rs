//! A paper's own DOI in its text, only where certain.
//!
//! A first page prints the paper's DOI beside its citation line ("doi:10.1186/...",
//! "https://doi.org/10.1038/..."), and its reference list prints dozens of other papers'. The
//! paper's own is taken from the first two pages only, before any reference list, and only
//! where it carries a DOI cue; elsewhere a DOI is taken only where the running heads (lines
//! repeated in many pages' margins) print one, or a "cite this article as" line names it.
//! Anything else gives no DOI: a wrong one is worse than none.

use std::sync::LazyLock;

use regex::Regex;

/// A DOI with the cue before it: `doi:`, `DOI `, `doi.org/`, `dx.doi.org/`.
static CUED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:doi\s*:?\s*|doi\.org/\s*)(10\.\d{4,9}/[^\s\x22<>]+)")
        .expect("a valid pattern")
});

/// Words that name another article right before its DOI.
static OTHER_ARTICLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)editorial comment|commentary|refers to|see also|see page|related article|linked article|erratum|correction to|corrigendum|retraction",
    )
    .expect("a valid pattern")
});

/// Any DOI.
static ANY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(10\.\d{4,9}/[^\s\x22<>]+)").expect("a valid pattern"));

/// The line that gives the paper's own citation at its end (BMC, Springer).
static CITE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)cite this article").expect("a valid pattern"));

/// Where a reference list begins.
static REFERENCES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*(?:\d+\.?\s*)?(?:references|bibliography|literature cited|works cited)\s*$",
    )
    .expect("a valid pattern")
});

/// A DOI as stored: lower-case (DOIs are case-insensitive), without a resolver prefix or the
/// punctuation a sentence puts after it; `None` where it is not well-formed.
pub fn normalize_doi(raw: &str) -> Option<String> {
    let mut d = raw.trim();
    for prefix in [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
        "DOI:",
    ] {
        if let Some(rest) = d.strip_prefix(prefix) {
            d = rest.trim();
        }
    }
    // Typographic hyphens (a non-breaking hyphen in "0366‑6999") stand for the ASCII one.
    let mut d = d
        .replace(
            ['\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2212}'],
            "-",
        )
        .to_lowercase();
    // Closing punctuation that belongs to the sentence, and a bracket the DOI did not open.
    while let Some(last) = d.chars().last() {
        let unbalanced = |open: char, close: char| {
            last == close && d.matches(open).count() < d.matches(close).count()
        };
        if ".,;:'".contains(last) || unbalanced('(', ')') || unbalanced('[', ']') {
            d.pop();
        } else {
            break;
        }
    }
    let (prefix, suffix) = d.split_once('/')?;
    let registrant = prefix.strip_prefix("10.")?;
    let ok = (4..=9).contains(&registrant.len())
        && registrant.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !suffix.is_empty()
        && suffix.len() <= 200
        && !suffix.chars().any(char::is_whitespace);
    ok.then_some(d)
}

/// The first DOI in a string (an Info `Subject` field, say), cue or not.
pub(crate) fn first_doi(text: &str) -> Option<String> {
    ANY.captures(text)
        .and_then(|c| normalize_doi(c.get(1)?.as_str()))
}

/// The DOIs a cue introduces in `text`, in order, leaving out any cut by a line break (a DOI
/// that ends in `.`, `-`, `/` or `_` right before a line break or an invisible character goes on
/// in a way no pattern can tell: "pnas." then "2322520121/-/DCSupplemental" on the next line
/// is a supplement's address, not the paper's DOI).
fn cued(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut last_end = 0;
    CUED.captures_iter(text).filter_map(move |c| {
        let m = c.get(1)?;
        // Another article's DOI, named on the first page: "See page 482 for the editorial
        // comment on this article (doi:...)", "This article refers to ...", in the words
        // since the DOI before.
        let start = c.get(0)?.start();
        let mut from = start.saturating_sub(120).max(last_end);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        last_end = m.end();
        if OTHER_ARTICLE.is_match(&text[from..start]) {
            return None;
        }
        let raw = unglue(m.as_str());
        let rest = &text[m.end()..];
        let next = rest.chars().next();
        let after_space = rest.trim_start_matches([' ', '\t']).chars().next();
        let glued = raw.len() < m.as_str().len();
        // A DOI broken over two lines: its end, then a line break (or an invisible character,
        // or, in text whose lines are joined, a space and a digit or a lower-case letter).
        let cut = !glued
            && (raw.ends_with(['-', '/', '_'])
                && next.is_some_and(|n| n.is_whitespace() || is_invisible(n))
                || raw.ends_with('.')
                    && (next.is_some_and(|n| n == '\n' || n == '\r' || is_invisible(n))
                        || next == Some(' ')
                            && after_space
                                .is_some_and(|a| a.is_ascii_digit() || a.is_lowercase())))
            // A web address after it is a line of its own: "DOI:
            // 10.1002/14651858.CD013765.pub2." over "www.cochranelibrary.com".
            && !rest.trim_start().starts_with("www.");
        if cut {
            return None;
        }
        normalize_doi(raw)
    })
}

/// A match cut before a second cue glued to it by a text layer that read out of order
/// ("10.1101/2021.05.12.443709doi: bioRxiv"): a DOI's suffix never holds one.
fn unglue(raw: &str) -> &str {
    let lower = raw.to_ascii_lowercase();
    let at = ["doi:", "doi.org", "http:", "https:"]
        .iter()
        .filter_map(|cue| lower.get(1..)?.find(cue).map(|i| i + 1))
        .min();
    // The cut is at an ASCII cue found in the ASCII-lowered copy: a boundary of `raw` too.
    at.map_or(raw, |at| &raw[..at])
}

/// Zero-width spaces and joiners, which some publishers put inside long links.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
    )
}

/// The paper's own DOI, where its text makes it certain (see the module's notes): `pages` are
/// the page texts, `running_heads` the lines taken out of their margins as running heads.
pub fn doi_in_pages(pages: &[String], running_heads: &[String]) -> Option<String> {
    let body = |page: &str| -> usize { REFERENCES.find(page).map_or(page.len(), |m| m.start()) };
    // 1. A cued DOI on the first two pages, before any reference list.
    for page in pages.iter().take(2) {
        if let Some(d) = cued(&page[..body(page)]).next() {
            return Some(d);
        }
    }
    // 2. A DOI in the running heads: printed on many pages, it is the paper's own, unless two
    //    differ.
    let mut in_heads: Vec<String> = running_heads
        .iter()
        .flat_map(|l| {
            ANY.captures_iter(l)
                .filter_map(|c| normalize_doi(unglue(c.get(1)?.as_str())))
                .collect::<Vec<_>>()
        })
        .collect();
    in_heads.sort();
    in_heads.dedup();
    if in_heads.len() == 1 {
        return in_heads.pop();
    }
    // 3. "Cite this article as" with a DOI within the next few lines, on any page.
    for page in pages {
        // A case-blind pattern gives the cue's place in the text itself (lower-casing a copy
        // can change byte lengths), in one pass.
        if let Some(at) = CITE.find(page).map(|m| m.start()) {
            // The DOI stands right before the line (BMC, Springer) or in it.
            let before = page[..at]
                .char_indices()
                .rev()
                .nth(80)
                .map_or(0, |(i, _)| i);
            let lead = &page[before..at];
            if let Some(d) = cued(lead).last().filter(|_| {
                // Nothing but white space and punctuation after it: the line right before.
                CUED.find_iter(lead).last().is_some_and(|m| {
                    lead[m.end()..]
                        .chars()
                        .all(|c| c.is_whitespace() || c == '.')
                })
            }) {
                return Some(d);
            }
            let window: String = page[at..].chars().take(600).collect();
            let found = cued(&window).next();
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_articles_doi_and_typographic_hyphens() {
        let page = "See page 482 for the editorial comment on this article \
                    (doi:10.1093/eurheartj/eht504) European Heart Journal (2014) 35, 501–507 \
                    doi:10.1093/eurheartj/eht457";
        assert_eq!(
            doi_in_pages(&[page.to_string()], &[]).as_deref(),
            Some("10.1093/eurheartj/eht457")
        );
        assert_eq!(
            normalize_doi("10.4103/0366\u{2011}6999.209897").as_deref(),
            Some("10.4103/0366-6999.209897")
        );
    }

    #[test]
    fn dois_are_normalised_and_checked() {
        assert_eq!(
            normalize_doi("https://doi.org/10.1186/1472-6963-14-1."),
            Some("10.1186/1472-6963-14-1".into())
        );
        assert_eq!(
            normalize_doi("10.1042/CS20130403"),
            Some("10.1042/cs20130403".into())
        );
        assert_eq!(
            normalize_doi("10.1016/S0140-6736(20)30183-5)"),
            Some("10.1016/s0140-6736(20)30183-5".into())
        );
        assert_eq!(normalize_doi("10.12/x"), None);
        assert_eq!(normalize_doi("11.1234/x"), None);
        assert_eq!(normalize_doi("10.1234/"), None);
    }

    #[test]
    fn a_doi_at_a_sentences_end_before_a_web_address() {
        for cover in [
            "Art. No.: CD013765. DOI: 10.1002/14651858.CD013765.pub2. www.cochranelibrary.com Oral",
            "Art. No.: CD013765.\nDOI: 10.1002/14651858.CD013765.pub2.\nwww.cochranelibrary.com",
        ] {
            assert_eq!(
                doi_in_pages(&[cover.to_string()], &[]).as_deref(),
                Some("10.1002/14651858.cd013765.pub2")
            );
        }
        // Lower-case words after it still read as the DOI's next line.
        let cut = "doi: 10.1073/pnas. 2322520121/-/DCSupplemental".to_string();
        assert_eq!(doi_in_pages(&[cut], &[]), None);
    }

    #[test]
    fn the_papers_own_doi_not_a_cited_one() {
        let page1 = "Heart failure in 2020\nJ Card 2020;3:1-9. doi: 10.1000/jc.2020.1\nAbstract"
            .to_string();
        assert_eq!(
            doi_in_pages(&[page1], &[]),
            Some("10.1000/jc.2020.1".into())
        );
        // A DOI only in the reference list is another paper's.
        let cited = "Body text.\nReferences\n1. Smith J. doi:10.1000/other.7".to_string();
        assert_eq!(doi_in_pages(&[cited], &[]), None);
        // An uncued DOI on page 1 (a data set, a figure credit) is not taken either.
        let data = "Data are at 10.5281/zenodo.123 and were analysed.".to_string();
        assert_eq!(doi_in_pages(&[data], &[]), None);
        // A running foot is the paper's own; two different ones are not certain.
        let heads = ["J Card 2020;3:1-9. 10.1000/jc.2020.1".to_string()];
        assert_eq!(
            doi_in_pages(&["Title page".into()], &heads),
            Some("10.1000/jc.2020.1".into())
        );
        let two = [heads[0].clone(), "See 10.1000/other.2".to_string()];
        assert_eq!(doi_in_pages(&["Title page".into()], &two), None);
        // A DOI cut by a line break is not guessed at; a whole one further on is taken.
        let cut = "Supplement: doi:10.1073/pnas.\n2322520121/-/DCSupplemental\n\
                   https://doi.org/10.1073/pnas.2322520121"
            .to_string();
        assert_eq!(
            doi_in_pages(&[cut], &[]),
            Some("10.1073/pnas.2322520121".into())
        );
        // "Cite this article as" on the last page, the DOI in it or right before it.
        let before = "Refs. 31. Cooper LA. J Gen Intern Med 2002.\ndoi:10.1186/1472-6963-14-1\n\
                      Cite this article as: Doe et al.: A study."
            .to_string();
        assert_eq!(
            doi_in_pages(&["Title".into(), before], &[]),
            Some("10.1186/1472-6963-14-1".into())
        );
        // Glued out of order by the text layer.
        let glued =
            "bioRxiv preprint https://doi.org/10.1101/2021.05.12.443709doi: bioRxiv".to_string();
        assert_eq!(
            doi_in_pages(&[glued], &[]),
            Some("10.1101/2021.05.12.443709".into())
        );
        let last =
            "Cite this article as: Doe J. A study. BMC 2014, 14:1. doi:10.1186/1472-6963-14-1"
                .to_string();
        assert_eq!(
            doi_in_pages(&["Title".into(), "Body".into(), "More".into(), last], &[]),
            Some("10.1186/1472-6963-14-1".into())
        );
    }
}
