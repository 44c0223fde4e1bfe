//! The abstract, as the first pages print it, and the PubMed ids a paper prints of itself.
//!
//! An abstract starts at its heading ("Abstract", "ABSTRACT", "Summary", IEEE's "Abstract—")
//! or, where a journal prints none, at a structured abstract's first label ("Background:",
//! "Objective:", "Importance:") near the top of the first page. It ends where the paper goes on:
//! keywords, the introduction, a copyright or correspondence footnote, a received date. What
//! is found is kept only where it reads as an abstract (forty words at least); a cut abstract
//! is better than a page of body text, so it is also bounded.

use std::sync::LazyLock;

use regex::Regex;

use crate::extract::head_bytes;

/// The longest abstract kept, in characters: a long structured abstract is about 3,000.
const MAX_CHARS: usize = 5_000;
/// The fewest words an abstract has.
const MIN_WORDS: usize = 40;
/// How far into a page an abstract's start is looked for, in bytes: past the title block, not
/// into the body.
const START_WITHIN: usize = 8_000;

/// The heading: "Abstract" (letter-spaced too, "A B S T R A C T") at the start of a line,
/// alone or followed by the text ("Abstract—In this paper", "ABSTRACT Background:"), or
/// "Summary" alone or with a colon (not "Summary statistics were ...").
static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?mi)^[ \t]*(?:(?:abstract|a b s t r a c t)\b[ \t]*[.:—–-]?|summary[ \t]*(?::|$))[ \t]*",
    )
    .expect("a valid pattern")
});

/// A structured abstract's first label, where no heading precedes it.
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)^[ \t]*(?:Background|BACKGROUND|Objectives?|OBJECTIVES?|Purpose|PURPOSE|Context|CONTEXT|Importance|IMPORTANCE|Aims?|AIMS?|Introduction|INTRODUCTION)[ \t]*[:.]",
    )
    .expect("a valid pattern")
});

/// Where the abstract is over: a line that opens the paper's next part.
static END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?mi)^[ \t]*(?:key ?words?\b|index terms\b|(?:1|i)\.?[ \t]+introduction\b|introduction[ \t]*$|main text\b|©|copyright\b|\(c\)[ \t]*(?:19|20)\d\d|received\b|accepted\b|correspond|\*[ \t]*correspond|citation:|abbreviations\b|article history\b|article info\b|open access\b|this article is\b|this is an open\b|e-?mail\b|doi:|https?://|address for correspondence|graphical abstract\b|(?:biorxiv|medrxiv) preprint\b|the copyright holder\b|(?:was )?not certified by peer review)",
    )
    .expect("a valid pattern")
});

/// The abstract of a paper: looked for in its first page's lines as they were set, then in
/// the second page's text (after a cover page). Headings are found at the start of a line, so
/// the stored text, whose lines are joined into prose, serves only where it kept its breaks.
pub(super) fn abstract_of(first_lines: &str, pages: &[String]) -> Option<String> {
    std::iter::once(first_lines)
        .chain(pages.iter().skip(1).take(1).map(String::as_str))
        .find_map(in_page)
}

fn in_page(page: &str) -> Option<String> {
    let head = head_bytes(page, START_WITHIN);
    let start = match HEADING.find(head) {
        Some(m) => m.end(),
        None => LABEL.find(head)?.start(),
    };
    let rest = &page[start..];
    // The end is looked for past the first label, so that "Background:" opening a structured
    // abstract does not end it.
    let skip = rest
        .find('\n')
        .map_or(rest.len(), |i| i + 1)
        .min(rest.len());
    let end = END
        .find(&rest[skip..])
        .map_or(rest.len(), |m| skip + m.start());
    let text = join_lines(&rest[..end]);
    let text = bounded(&text);
    (text.split_whitespace().count() >= MIN_WORDS).then_some(text)
}

/// Lines joined as prose: a word broken at a line's end ("statisti-" "cal") is joined again,
/// a hyphen before a capital or a digit kept ("COVID-" "19").
fn join_lines(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let broken = out.ends_with('-')
            && line.chars().next().is_some_and(char::is_lowercase)
            && out[..out.len() - 1]
                .chars()
                .next_back()
                .is_some_and(char::is_alphabetic);
        if broken {
            out.pop();
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push(' ');
        }
        out.push_str(line);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most [`MAX_CHARS`], cut after the last full sentence that fits.
fn bounded(text: &str) -> String {
    if text.chars().count() <= MAX_CHARS {
        return text.to_string();
    }
    let cut = head_bytes(text, MAX_CHARS);
    match cut.rfind(". ") {
        Some(i) if i > MAX_CHARS / 2 => cut[..=i].to_string(),
        _ => cut.to_string(),
    }
}

/// "PMID: 12345678" as a paper prints its own (a citation line, a PubMed Central header).
static PMID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bPMID:?[ \t]*(\d{1,8})\b").expect("a valid pattern"));
/// "PMCID: PMC1234567", or "PMC1234567" on its own.
static PMCID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(PMC\d{4,9})\b").expect("a valid pattern"));

/// The paper's own PubMed id and PubMed Central id: printed on the first page or in the
/// running heads, before any reference list, and one of each (two different ids on a first
/// page are cited papers', and neither is given).
pub(super) fn pubmed_ids(pages: &[String], heads: &[String]) -> (Option<String>, Option<String>) {
    let first = pages.first().map(String::as_str).unwrap_or_default();
    let first = before_references(first);
    let heads = heads.join("\n");
    let one = |re: &Regex| {
        let mut ids: Vec<String> = re
            .captures_iter(first)
            .chain(re.captures_iter(&heads))
            .filter_map(|c| Some(c.get(1)?.as_str().to_string()))
            .collect();
        ids.sort();
        ids.dedup();
        (ids.len() == 1).then(|| ids.remove(0))
    };
    (one(&PMID), one(&PMCID))
}

/// A page up to its reference list's heading, where it has one.
fn before_references(page: &str) -> &str {
    static REFERENCES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?mi)^[ \t]*(?:references|bibliography|literature cited)[ \t]*$")
            .expect("a valid pattern")
    });
    REFERENCES.find(page).map_or(page, |m| &page[..m.start()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(words: usize) -> String {
        (0..words)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn from_its_heading_to_the_keywords() {
        let page = format!(
            "A trial of something\nJane Doe, John Roe\nAbstract\nBackground: {}\nsta-\ntistical \
             methods were used.\nKeywords: sepsis; fluids\n1. Introduction\nBody text.",
            body(50)
        );
        let a = abstract_of(&page, &[]).unwrap();
        assert!(a.starts_with("Background: word0"), "{a}");
        assert!(a.ends_with("statistical methods were used."), "{a}");
    }

    #[test]
    fn ieee_dash_and_a_structured_abstract_without_a_heading() {
        let page = format!(
            "Title\nAbstract—In this paper we {}.\nIndex Terms—video.\nI. INTRODUCTION\n",
            body(45)
        );
        let a = abstract_of(&page, &[]).unwrap();
        assert!(a.starts_with("In this paper we word0"), "{a}");
        assert!(!a.contains("Index Terms"), "{a}");
        let page = format!(
            "Title\nNames\nBackground: {}\nMethods: {}\n© 2020 The Authors\nIntroduction\n",
            body(30),
            body(30)
        );
        let a = abstract_of(&page, &[]).unwrap();
        assert!(
            a.starts_with("Background: word0") && a.contains("Methods:"),
            "{a}"
        );
        assert!(!a.contains('©'), "{a}");
    }

    #[test]
    fn nothing_where_no_abstract_is_printed() {
        assert_eq!(abstract_of(&format!("Title\n{}", body(300)), &[]), None);
        // A heading with too little under it is not an abstract.
        assert_eq!(
            abstract_of("Abstract\nSee the paper.\nIntroduction\n", &[]),
            None
        );
    }

    #[test]
    fn pubmed_ids_of_the_paper_not_of_its_references() {
        let heads = vec!["Author manuscript; PMCID: PMC3930872".to_string()];
        let pages = vec!["Title\nPMID: 24135832\nReferences\n1. Doe J. PMID: 111".to_string()];
        assert_eq!(
            pubmed_ids(&pages, &heads),
            (Some("24135832".into()), Some("PMC3930872".into()))
        );
        let two = vec!["cf. PMID: 111 and PMID: 222".to_string()];
        assert_eq!(pubmed_ids(&two, &[]), (None, None));
    }
}
