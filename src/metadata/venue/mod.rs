//! The venue: a preprint server's stamp, the journal's name in the running heads' citation
//! line ("Postgrad Med J 2010;86:272", "BMC Health Services Research 2014, 14:1", "Nucleic
//! Acids Research, 2024, Vol. 52", "Data in Brief 22 (2019) 451–457"), or what the first page
//! prints of its own publication: a proceedings footer ("Proceedings of NAACL-HLT 2018, pages
//! 84–91"), a journal's citation line at its head ("Clinical Science (2014) 126, 305–313"), a
//! journal's masthead alone on a line ("Journal of Statistical Software"); then the paper's
//! citation of itself and a report's publisher ([`imprint`]). A name the paper abbreviates is
//! given in full where it spells it out ([`spelt`]).

mod imprint;
mod spelt;

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// A name, then a year, then a volume or page number: the citation line's shape. The year
/// may sit in brackets after the volume ("Data in Brief 22 (2019)"), or come last after the
/// volume and issue ("IEEE TRANSACTIONS ON ..., VOL. 7, NO. 5, OCTOBER 1997"), or the
/// volume follow the name with no year before it ("The Korean Journal of Internal Medicine
/// Vol. 29, No. 2").
static CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^(?P<name>.*?[\p{L}.])\s*[,|•·]?\s*
          (?: \(?(?:19|20)\d{2}\)?\s*[,;:|]?\s*(?:vol(?:ume)?\.?\s*)?\d
            | \d{1,4}\s*\((?:19|20)\d{2}\)\s*\d
            | \bvol(?:ume)?\.?\s*\d )",
    )
    .expect("a valid pattern")
});

/// Preprint servers, by the name they stamp on every page.
const SERVERS: [&str; 4] = ["bioRxiv", "medRxiv", "arXiv", "Research Square"];

/// The venue the running heads (and the first page, for a server's stamp) name, where one
/// name is clear.
///
/// `first_page` is the first page's text as stored (its lines joined into prose), and
/// `first_lines` the same page line by line as it was set (mastheads are lines).
/// `doi` is the paper's own DOI where it is known: its journal code names the journal in a
/// running head ("10.1128/spectrum.02839-23" and the head "Microbiology Spectrum"), and the
/// paper's citation of itself ends in it.
pub(crate) fn venue(
    first_page: &str,
    first_lines: &str,
    running_heads: &[String],
    pages: &[String],
    doi: Option<&str>,
) -> Option<String> {
    let found = named(first_page, first_lines, running_heads, pages, doi)?;
    // A name the heads abbreviate ("J Am Heart Assoc.") the page may print in full.
    Some(spelt::expanded(&found, first_lines, running_heads, pages).unwrap_or(found))
}

/// [`venue`] as the paper names it, abbreviated or not.
fn named(
    first_page: &str,
    first_lines: &str,
    running_heads: &[String],
    pages: &[String],
    doi: Option<&str>,
) -> Option<String> {
    let heads = running_heads.join("\n");
    // A server's stamp: "bioRxiv preprint doi: ...", "arXiv:0908.0054v1 [hep-ph]".
    for server in SERVERS {
        // arXiv is stamped by its id with the category in brackets: "arXiv:" alone on a first
        // page is as often a citation.
        let stamped = heads.contains(server)
            || (server != "arXiv"
                && first_page
                    .char_indices()
                    .nth(3000)
                    .map_or(first_page, |(i, _)| &first_page[..i])
                    .contains(&format!("{server}:")))
            || (server == "arXiv" && ARXIV_STAMP.is_match(first_page));
        if stamped {
            return Some(server.to_string());
        }
    }
    // The most frequent journal name among the heads' citation lines.
    let mut votes: HashMap<String, usize> = HashMap::new();
    for line in running_heads {
        if let Some(name) = CITATION
            .captures(line)
            .and_then(|c| clean(c.name("name")?.as_str()))
            .or_else(|| field_line(line))
        {
            *votes.entry(name).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, usize)> = votes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    match ranked.first() {
        Some(first) if ranked.get(1).is_none_or(|second| second.1 < first.1) => {
            Some(first.0.clone())
        }
        // A tie between two names is no answer; the first page may, or a masthead repeated on every page
        // (taken out of the pages' text as a running head: "Journal of Statistical Software").
        _ => first_page_venue(first_page, first_lines)
            .or_else(|| imprint::self_citation(pages, doi))
            .or_else(|| {
                running_heads
                    .iter()
                    .map(|l| l.trim())
                    .find_map(|l| masthead(l).then(|| clean(l)).flatten())
            })
            .or_else(|| spelt::acronym(first_lines, running_heads))
            .or_else(|| spelt::named_by_doi(running_heads, doi?))
            .or_else(|| repeated_foot(pages))
            .or_else(|| imprint::publisher(pages)),
    }
}

/// What separates a head's fields: "BMJ 2015;350:h2145 | the bmj", "Chinese Medical Journal ¦
/// July 20, 2017 ¦ Volume 130", "Emerging Infectious Diseases • www.cdc.gov/eid • Vol. 15".
const FIELD_MARKS: [char; 4] = ['|', '•', '·', '¦'];

/// A head's field that tells the issue: a volume, an issue, or a date that ends in a year.
static ISSUE_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:vol(?:ume)?\.?|issue|no\.)\s*\d|(?:[a-z]+\.?\s+)?(?:\d{1,2},?\s+)?(?:19|20)\d{2}$)")
        .expect("a valid pattern")
});

/// The journal a head of fields names beside its issue ("Chinese Medical Journal ¦ July 20,
/// 2017 ¦ Volume 130 ¦ Issue 14"): the first field in title case, where another field is the
/// volume, the issue or the date. A paper's short title between bullets and a page number
/// ("Outpatient Infection Prevention • OFID • 1") names no issue, so no journal.
fn field_line(line: &str) -> Option<String> {
    let fields: Vec<&str> = line
        .split(FIELD_MARKS)
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() < 2 || !fields.iter().any(|f| ISSUE_FIELD.is_match(f)) {
        return None;
    }
    fields
        .iter()
        .filter(|f| !ISSUE_FIELD.is_match(f) && title_case(f))
        .find_map(|f| clean(f))
}

/// A journal's foot that names it, its web address and the volume, between bullets or bars:
/// "Emerging Infectious Diseases • www.cdc.gov/eid • Vol. 15, No. 2".
static WEB_FOOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s*[•|·]\s*(?:www\.|https?://)\S+\s*[•|·]\s*(?i:vol(?:ume)?)\.?\s*\d")
        .expect("a valid pattern")
});

/// The journal a foot like [`WEB_FOOT`] names, where the pages' text carries it inline (the
/// foot ran into a column's last words, so it was not taken out as a running head): the words
/// before it that every page repeats ("... Neil Ferguson Emerging Infectious Diseases •" on
/// one page, "... adults and 234 Emerging Infectious Diseases •" on the next).
fn repeated_foot(pages: &[String]) -> Option<String> {
    let mut before: Vec<Vec<&str>> = Vec::new();
    for page in pages.iter().take(8) {
        for found in WEB_FOOT.find_iter(page) {
            before.push(
                page[..found.start()]
                    .split_whitespace()
                    .rev()
                    .take(12)
                    .collect(),
            );
        }
    }
    let (first, rest) = before.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut common = first.clone();
    for words in rest {
        let same = common.iter().zip(words).take_while(|(a, b)| a == b).count();
        common.truncate(same);
    }
    common.reverse();
    let name = clean(&common.join(" "))?;
    title_case(&name).then_some(name)
}

/// The stamp arXiv prints down a paper's first page: its id with the version and the category
/// in brackets ("arXiv:0908.0054v1 [astro-ph.CO]", "arXiv:hep-ph/9412269v1 [hep-ph]"). A
/// citation of an arXiv paper names the id without the bracketed category.
static ARXIV_STAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"arXiv:(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})v\d+\s*\[[A-Za-z.-]+\]")
        .expect("a valid pattern")
});

/// A proceedings' name where the first page says it is the paper's: a footer line that starts
/// with it or an "Appearing in" / "Published in" note, or any mention followed by the paper's
/// pages. The name ends at the first comma (a place, the pages follow).
static PROCEEDINGS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)(?:^|(?:Appearing|Published|To appear|Appears) in )(Proceedings of [^,(;\n]{3,200})|(Proceedings of [^,(;\n]{3,200}),\s*(?:pages|pp\.)\s*\d",
    )
    .expect("a valid pattern")
});

/// A journal's citation line at the head of a first page: a name, the year in brackets, the
/// volume and the pages ("Clinical Science (2014) 126, 305–313").
static HEAD_CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\p{Lu}[\p{L} .&-]{2,80}?)\s*\((?:19|20)\d{2}\)\s*\d{1,4}\s*[,:]\s*\d{1,6}\s*[-–]\s*\d{1,6}")
        .expect("a valid pattern")
});

/// How many of the first page's lines hold its masthead and citation line.
const HEAD_LINES: usize = 10;

/// The venue the first page prints of its own publication, where it prints one.
fn first_page_venue(first_page: &str, first_lines: &str) -> Option<String> {
    if let Some(c) = PROCEEDINGS.captures(first_page) {
        let name = c.get(1).or_else(|| c.get(2))?.as_str();
        // "the 28 th International Conference": the ordinal's letters belong to its number.
        static ORDINAL: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\b(\d+) (st|nd|rd|th)\b").expect("a valid pattern"));
        let name = ORDINAL.replace_all(name.trim(), "$1$2");
        let name = name.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
        if name.split_whitespace().count() <= 25 {
            return Some(name.to_string());
        }
    }
    let all: Vec<&str> = first_lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let lines = &all[..all.len().min(HEAD_LINES)];
    // The citation line's shape (a name, the year in brackets, volume, pages) is the
    // journal's own wherever the page draws it: some draw their head line last.
    for line in &all {
        if let Some(name) = HEAD_CITATION
            .captures(line)
            .and_then(|c| clean(c.get(1)?.as_str()))
        {
            return Some(name);
        }
    }
    // A masthead: "Journal of Statistical Software", "The EMBO Journal", alone on its line, in
    // title case; or a journal's name over its volume line ("Rehabilitation Research and Practice" above
    // "Volume 2010, Article ID 157939, 6 pages"), as Hindawi and others set their mastheads.
    let over_volume = lines.windows(2).find_map(|pair| {
        let words = pair[0].split_whitespace().count();
        (VOLUME_LINE.is_match(pair[1]) && title_case(pair[0]) && (2..=8).contains(&words))
            .then(|| clean(pair[0]))
            .flatten()
    });
    over_volume.or_else(|| {
        lines
            .iter()
            .find_map(|line| masthead(line).then(|| clean(line)).flatten())
    })
}

/// A line that starts with a volume number: "Volume 2010, Article ID 157939", "Vol. 12, No. 3".
static VOLUME_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?i:vol(?:ume)?\.?)\s*\d{1,4}\b").expect("a valid pattern"));

/// Every word capitalised but the small ones.
fn title_case(line: &str) -> bool {
    line.split_whitespace().all(|w| {
        ["of", "and", "the", "in", "for", "&"].contains(&w)
            || w.chars().next().is_some_and(char::is_uppercase)
    })
}

/// A journal's masthead alone on its line: "Journal of ..." or "... Journal", title case.
fn masthead(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let journal = words.first() == Some(&"Journal") && words.get(1) == Some(&"of")
        || words.last() == Some(&"Journal");
    journal && title_case(line) && (2..=7).contains(&words.len())
}

/// The journal's name out of what precedes a citation line's year: after the authors
/// ("Doe et al.", "O. Sanni, A.P.I. Popoola /") and without trailing punctuation; `None` where
/// what is left does not read as a name.
fn clean(raw: &str) -> Option<String> {
    let mut name = raw;
    // Authors before a slash: "O. Sanni, A.P.I. Popoola / Data in Brief".
    if let Some(at) = name.rfind(" / ") {
        name = &name[at + 3..];
    }
    if let Some(at) = name.find("et al.") {
        name = &name[at + "et al.".len()..];
    }
    // Fields between bars or bullets: the journal is the last that reads as a name, the one
    // next to the year ("doi: 10.1136/bmj.h2145 | BMJ", "the bmj | BMJ"), or the first
    // where the others are the issue ("Molecular Systems Biology Volume 20 | Issue 3 | March",
    // "Emerging Infectious Diseases • www.cdc.gov/eid •").
    if name.contains(FIELD_MARKS) {
        return name.split(FIELD_MARKS).rev().find_map(clean);
    }
    // A volume after the name, a page number before it.
    let name = VOLUME.replace(name, "");
    let name = name
        .trim_start_matches(|c: char| c.is_ascii_digit() || c.is_whitespace())
        .trim_matches(|c: char| c.is_whitespace() || ",;:|/'".contains(c))
        .to_string();
    let lower = name.to_lowercase();
    let words = name.split_whitespace().count();
    let bad = [
        "page",
        "http",
        "doi",
        "copyright",
        "©",
        "downloaded",
        "license",
        "author",
        "www.",
    ];
    // A date's month before its year ("March 2024") is not a journal.
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let month = lower
        .split(|c: char| !c.is_alphabetic())
        .any(|w| MONTHS.contains(&w));
    let reads = (1..=12).contains(&words)
        && !month
        && name.chars().filter(|c| c.is_alphabetic()).count() >= 3
        && !bad.iter().any(|b| lower.contains(b))
        && !name.chars().any(|c| c.is_ascii_digit());
    reads.then_some(name)
}

/// "Volume 20", "Vol. 52" and what follows, after a journal's name.
static VOLUME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)[\s,]+vol(?:ume)?\.?\s*\d.*$").expect("a valid pattern"));

#[cfg(test)]
mod tests {
    use super::*;

    fn heads(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn journals_from_citation_lines() {
        for (line, name) in [
            (
                "Postgrad Med J 2010;86:272e278. doi:10.1136/pgmj.2009.089987",
                "Postgrad Med J",
            ),
            (
                "Agyeman-Duah et al. BMC Health Services Research 2014, 14:1 Page 2 of 10",
                "BMC Health Services Research",
            ),
            (
                "Nucleic Acids Research, 2024, Vol. 52, No. 7 3745",
                "Nucleic Acids Research",
            ),
            (
                "O. Sanni, A.P.I. Popoola / Data in Brief 22 (2019) 451–457",
                "Data in Brief",
            ),
            (
                "PNAS 2024 Vol. 121 No. 18 e2322520121 https://doi.org/10.1073/pnas.2322520121",
                "PNAS",
            ),
            (
                "758 IEEE TRANSACTIONS ON CIRCUITS AND SYSTEMS FOR VIDEO TECHNOLOGY, VOL. 7, NO. 5, OCTOBER 1997",
                "IEEE TRANSACTIONS ON CIRCUITS AND SYSTEMS FOR VIDEO TECHNOLOGY",
            ),
            (
                "The Korean Journal of Internal Medicine Vol. 29, No. 2, March 2014",
                "The Korean Journal of Internal Medicine",
            ),
            (
                "Emerging Infectious Diseases • www.cdc.gov/eid • Vol. 15, No. 2, February 2009",
                "Emerging Infectious Diseases",
            ),
        ] {
            assert_eq!(venue("", "", &heads(&[line]), &[], None).as_deref(), Some(name), "{line}");
        }
    }

    #[test]
    fn what_the_first_page_prints_of_its_own_publication() {
        for (page, name) in [
            (
                "A title\nProceedings of NAACL-HLT 2018, pages 84–91\nNew Orleans",
                "Proceedings of NAACL-HLT 2018",
            ),
            (
                "text eiAppearing in Proceedings of the 28 th International Conference on Machine Learning, Bellevue, WA, USA, 2011.",
                "Proceedings of the 28th International Conference on Machine Learning",
            ),
            (
                "Clinical Science (2014) 126, 305–313 (Printed in Great Britain) doi: 10.1042/CS\nA title",
                "Clinical Science",
            ),
            ("Journal of Statistical Software\nMay 2007, Volume 18", "Journal of Statistical Software"),
            (
                // Glyphs mapped wrongly: the name stops at the first sign that is not a name's.
                "Appearing in Proceedings of the 28 th International Conference on Machine Learning( Bellevue( WA",
                "Proceedings of the 28th International Conference on Machine Learning",
            ),
            ("Some text\narXiv:0908.0054v1 [astro-ph.CO] 1 Aug 2009", "arXiv"),
            (
                "Hindawi Publishing Corporation\nRehabilitation Research and Practice\nVolume 2010, Article ID 157939, 6 pages",
                "Rehabilitation Research and Practice",
            ),
        ] {
            assert_eq!(venue(page, page, &[], &[], None).as_deref(), Some(name), "{page}");
        }
        // Cited, not published there: a proceedings named without pages, an arXiv id without
        // its stamp, a journal's name inside a sentence.
        for page in [
            "as shown in (Smith, 2019, In Proceedings of ACL) before",
            "see arXiv:1234.56789 for details",
            "We used the Journal of Statistical Software package.",
            "Journal of my year in the lab",
        ] {
            assert_eq!(venue(page, page, &[], &[], None), None, "{page}");
        }
    }

    #[test]
    fn a_web_foot_repeated_inline_names_the_journal() {
        let pages = [
            "text by Robert Booy, and Neil Ferguson Emerging Infectious Diseases • www.cdc.gov/eid • Vol. 15, No. 2, February 2009 233 more",
            "adults and 234 Emerging Infectious Diseases • www.cdc.gov/eid • Vol. 15, No. 2, February 2009 Did not",
        ]
        .map(String::from);
        assert_eq!(
            venue("", "", &[], &pages, None).as_deref(),
            Some("Emerging Infectious Diseases")
        );
        // Once is not a foot.
        assert_eq!(venue("", "", &[], &pages[..1], None), None);
    }

    #[test]
    fn servers_by_their_stamp_and_nothing_from_other_heads() {
        let h = heads(&["bioRxiv preprint doi: https://doi.org/10.1101/2021.05.12.443709"]);
        assert_eq!(venue("", "", &h, &[], None).as_deref(), Some("bioRxiv"));
        assert_eq!(
            venue("arXiv:0908.0054v1 [hep-ph] 1 Sep 2009", "", &[], &[], None).as_deref(),
            Some("arXiv")
        );
        assert_eq!(
            venue(
                "",
                "",
                &heads(&["Page 3 of 10", "Chromatin state barriers… Blanco et al."]),
                &[],
                None
            ),
            None
        );
    }

    #[test]
    fn a_heads_fields_name_the_journal_beside_its_issue() {
        for (lines, name) in [
            // The journal's own field next to the year, not a DOI or a logo in lower case.
            (
                &["doi: 10.1136/bmj.h2145 | BMJ 2015;350:h2145 | the bmj"][..],
                "BMJ",
            ),
            (
                &["the bmj | BMJ 2015;350:h2145 | doi: 10.1136/bmj.h2145"],
                "BMJ",
            ),
            (
                &["Chinese Medical Journal ¦ July 20, 2017 ¦ Volume 130 ¦ Issue 14"],
                "Chinese Medical Journal",
            ),
        ] {
            assert_eq!(
                venue("", "", &heads(lines), &[], None).as_deref(),
                Some(name)
            );
        }
        // A short title, the journal's initials and a page number name no issue.
        let h = heads(&[
            "Outpatient Infection Prevention • OFID • 1",
            "2 • OFID • Steinkuller et al",
        ]);
        assert_eq!(venue("", "", &h, &[], None), None);
        // Its initials are a journal's only where the first page spells them out at its top.
        let top = "Open Forum Infectious Diseases\nREVIEW ARTICLE\nOutpatient Infection Prevention";
        assert_eq!(
            venue("", top, &h, &[], None).as_deref(),
            Some("Open Forum Infectious Diseases")
        );
        assert_eq!(venue("", "Open Forum on Infection", &h, &[], None), None);
    }
}
