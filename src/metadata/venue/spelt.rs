//! A journal's name spelt out: by its initials in the heads ("OFID" for Open Forum Infectious
//! Diseases), in full for an abbreviation ("J Am Heart Assoc."), by the code its DOIs carry
//! ("spectrum" in 10.1128/spectrum.02839-23), or by its web address ("Euro Surveill." and
//! www.eurosurveillance.org).

use std::sync::LazyLock;

use regex::Regex;

use super::{clean, title_case, FIELD_MARKS, HEAD_LINES};

/// Small words a journal's initials and abbreviations pass over.
const SMALL_WORDS: [&str; 8] = ["of", "the", "and", "in", "for", "on", "&", "de"];

/// The words of a name that its initials and abbreviations keep.
fn significant(name: &str) -> Vec<&str> {
    name.split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty() && !SMALL_WORDS.contains(&w.to_lowercase().as_str()))
        .collect()
}

/// Candidate names in full: the first page's lines and the heads' fields, in title case.
fn full_names<'a>(first_lines: &'a str, running_heads: &'a [String]) -> Vec<&'a str> {
    first_lines
        .lines()
        .chain(running_heads.iter().flat_map(|h| h.split(FIELD_MARKS)))
        .map(|l| l.trim().trim_end_matches(['.', ',', ';', ':']))
        .filter(|l| (2..=10).contains(&l.split_whitespace().count()) && title_case(l))
        .filter(|l| !l.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// The journal the heads name by its initials ("OFID"), spelt out at the top of the first page
/// ("Open Forum Infectious Diseases"): the initials of its words but the small ones.
pub(super) fn acronym(first_lines: &str, running_heads: &[String]) -> Option<String> {
    let tops = first_lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(HEAD_LINES)
        .collect::<Vec<_>>()
        .join("\n");
    // Each full name with its initials, once.
    let spelt: Vec<(&str, String)> = full_names(&tops, &[])
        .into_iter()
        .map(|line| {
            let initials = significant(line)
                .iter()
                .filter_map(|w| w.chars().next())
                .collect();
            (line, initials)
        })
        .collect();
    running_heads
        .iter()
        .flat_map(|h| h.split(FIELD_MARKS))
        .map(str::trim)
        .filter(|f| {
            (3..=8).contains(&f.chars().count()) && f.chars().all(|c| c.is_ascii_uppercase())
        })
        .find_map(|field| {
            spelt
                .iter()
                .find(|(_, initials)| initials == field)
                .and_then(|(line, _)| clean(line))
        })
}

/// The journal's code in a DOI ("spectrum" in 10.1128/spectrum.02839-23, "bmj" in
/// 10.1136/bmj.h2145): the suffix's first letters, before a dot. Codes that name no journal
/// ("journal.pone") are none.
fn journal_code(doi: &str) -> Option<String> {
    let suffix = doi.split_once('/')?.1;
    let code = suffix.split_once('.')?.0.to_lowercase();
    let fit = code.len() >= 3
        && code.chars().all(|c| c.is_ascii_alphabetic())
        && !["journal", "article", "doi"].contains(&code.as_str());
    fit.then_some(code)
}

/// A running head in title case that holds the DOI's journal code as a word: "Microbiology
/// Spectrum" over every page of 10.1128/spectrum.02839-23.
/// The head's label of the article's kind before it ("Research Article Microbiology Spectrum")
/// is not the journal's.
pub(super) fn named_by_doi(running_heads: &[String], doi: &str) -> Option<String> {
    let code = journal_code(doi)?;
    running_heads
        .iter()
        .map(|h| ARTICLE_KIND.replace(h.trim(), ""))
        .filter(|h| (1..=6).contains(&h.split_whitespace().count()) && title_case(h))
        .filter(|h| h.split_whitespace().any(|w| w.to_lowercase() == code))
        .find_map(|h| clean(&h))
}

/// A label of the article's kind at the start of a head: "Research Article", "Original
/// Article", "Brief Report", "Review".
static ARTICLE_KIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:original|research|review|brief|short|clinical|special)\s+)*(?:article|research|report|communication|review|paper)\s+")
        .expect("a valid pattern")
});

/// The name in full for an abbreviated one: a line of the first page or a head's field whose
/// words but the small ones begin with the abbreviation's words, in order ("Journal of the
/// American Heart Association" for "J Am Heart Assoc.").
pub(super) fn expanded(
    name: &str,
    first_lines: &str,
    running_heads: &[String],
    pages: &[String],
) -> Option<String> {
    let short: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '.')
        .filter(|w| !w.is_empty())
        .collect();
    if short.len() < 2 {
        return None;
    }
    let joined: String = short.concat().to_lowercase();
    full_names(first_lines, running_heads)
        .into_iter()
        .find(|line| {
            let long = significant(line);
            long.len() == short.len()
                && long
                    .iter()
                    .zip(&short)
                    .all(|(l, s)| l.to_lowercase().starts_with(&s.to_lowercase()))
                && long.iter().zip(&short).any(|(l, s)| l.len() > s.len())
        })
        .and_then(clean)
        .or_else(|| {
            // Or the journal's web address on its pages spells it as one word: "Euro
            // Surveill." and www.eurosurveillance.org. Not for a name with capitals inside a
            // word ("PLoS Med" and www.plosmedicine.org): a brand's address runs its words
            // together, and no case tells where they part.
            let branded = short
                .iter()
                .any(|w| w.chars().skip(1).any(char::is_uppercase));
            if branded {
                return None;
            }
            running_heads
                .iter()
                .chain(pages.iter().take(3))
                .flat_map(|text| WEB_NAME.captures_iter(text))
                .filter_map(|c| Some(c.get(1)?.as_str().to_lowercase()))
                .find(|label| label.starts_with(&joined) && label.len() > joined.len())
                .map(|label| {
                    let mut chars = label.chars();
                    chars.next().map_or(String::new(), |first| {
                        first.to_uppercase().chain(chars).collect()
                    })
                })
        })
}

/// A journal's web address, its name as one word: "www.eurosurveillance.org".
static WEB_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bwww\.([a-z]{5,40})\.(?:org|com|net|eu|info)\b").expect("a valid pattern")
});

#[cfg(test)]
mod tests {
    use super::super::venue;

    fn heads(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_head_that_the_dois_journal_code_names() {
        let h = heads(&["Research Article Microbiology Spectrum", "Research Article"]);
        let doi = Some("10.1128/spectrum.02839-23");
        assert_eq!(
            venue("", "", &h, &[], doi).as_deref(),
            Some("Microbiology Spectrum")
        );
        assert_eq!(
            venue("", "", &h, &[], Some("10.1371/journal.pone.0001")),
            None
        );
        assert_eq!(venue("", "", &h, &[], None), None);
    }

    #[test]
    fn an_abbreviation_the_first_page_spells_out() {
        let h = heads(&["J Am Heart Assoc. 2020;9:e016123. DOI: 10.1161/JAHA.120.016123"]);
        assert_eq!(
            venue("", "", &h, &[], None).as_deref(),
            Some("J Am Heart Assoc.")
        );
        let top = "Journal of the American Heart Association\nORIGINAL RESEARCH";
        assert_eq!(
            venue("", top, &h, &[], None).as_deref(),
            Some("Journal of the American Heart Association")
        );
        // Words that only begin alike in another order, or more of them, are another name.
        let other =
            "Journal of Heart American Association\nAmerican Journal of Heart Assoc Studies";
        assert_eq!(
            venue("", other, &h, &[], None).as_deref(),
            Some("J Am Heart Assoc.")
        );
    }
}
