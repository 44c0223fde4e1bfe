//! The year a paper came out, where its first page says: a copyright line, a publication or
//! acceptance date, a citation line; the papers indexed before records were kept read it here.

use std::sync::LazyLock;

use regex::Regex;

/// Words after which a first page gives the year a paper came out: a copyright line, a
/// publication or acceptance date.
static YEAR_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)©|\(c\)|copyright|published|accepted|available online|epub|version posted")
        .expect("a valid pattern")
});

/// A plausible year.
static YEAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:19|20)\d{2}\b").expect("a valid pattern"));

/// A citation line, "2019;12(3):45" or "2019; 12: 45", a volume line, "Vol. 12, 2019", the
/// year in brackets after a volume and before or after its pages ("22 (2019) 451–457",
/// "54 a, 272-273 (1999)"), or a proceedings' footer ("Appearing in Proceedings of ...,
/// 2011").
static CITATION_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)\b((?:19|20)\d{2})\s*;\s*\d+\s*[(:]
          | \bvol(?:ume)?\.?\s*\d+[^\n]{0,30}?\b((?:19|20)\d{2})\b
          | \b\d{1,4}\s*\(((?:19|20)\d{2})\)\s*\d+\s*[-–]\s*\d+
          | \b\d{1,4}\s*[a-z]?\s*,\s*\d+\s*[-–]\s*\d+\s*\(((?:19|20)\d{2})\)
          | (?m:^|(?:appearing|published|to\ appear|appears)\ in\ )proceedings\ of\ [^\n]{0,200}?\b((?:19|20)\d{2})\b",
    )
    .expect("a valid pattern")
});

/// arXiv's stamp down a first page: the paper's id (old style with its archive,
/// "hep-ph/9412269", or new, "0908.0054"), its version and category where printed, and the
/// date it was submitted ("09 Dec 94", "1 Sep 2009"). A citation of an arXiv paper gives no
/// such date after the id.
static ARXIV_STAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:arXiv:)?(?:[a-z-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?\s*(?:\[[A-Za-z.-]+\])?\s+\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+(\d{4}|\d{2})\b",
    )
    .expect("a valid pattern")
});

/// The year of arXiv's stamp on a first page (the preprint's submission, which is all an
/// arXiv preprint has); a two-digit year is of the 1990s from 91 (arXiv's first year).
pub fn arxiv_year(first_page: &str) -> Option<u16> {
    let digits = ARXIV_STAMP.captures(first_page)?.get(1)?.as_str();
    let year: u16 = digits.parse().ok()?;
    let year = match year {
        91..=99 => 1900 + year,
        0..=90 => 2000 + year,
        _ => year,
    };
    (1991..=current_year() + 1).contains(&year).then_some(year)
}

/// The year a paper was published, where its first page says so: the latest year right after
/// a copyright, "published", "accepted" or "available online" cue, else the year of a citation
/// or volume line. `None` rather than a guess: a paper's first page is full of other years
/// (study periods, references), and a wrong year misleads more than none.
pub fn publication_year(first_page: &str) -> Option<u16> {
    let head = match first_page.char_indices().nth(8000) {
        Some((i, _)) => &first_page[..i],
        None => first_page,
    };
    let latest = current_year() + 1;
    let plausible = |y: &str| {
        y.parse::<u16>()
            .ok()
            .filter(|y| (1900..=latest).contains(y))
    };
    let cued = YEAR_CUE
        .find_iter(head)
        .filter_map(|cue| {
            let after = &head[cue.end()..];
            let window = match after.char_indices().nth(40) {
                Some((i, _)) => &after[..i],
                None => after,
            };
            // A copyright line names its holder before the year ("© World Health
            // Organization 2025"); other cues are followed by a date.
            let copyright = !cue
                .as_str()
                .to_lowercase()
                .starts_with(|c: char| c.is_alphabetic())
                || cue.as_str().eq_ignore_ascii_case("copyright");
            YEAR.find(window)
                .filter(|y| copyright || only_a_date_before(&window[..y.start()]))
                .and_then(|y| plausible(y.as_str()))
        })
        .max();
    cued.or_else(|| {
        CITATION_YEAR.captures_iter(head).find_map(|c| {
            c.iter()
                .skip(1)
                .flatten()
                .next()
                .and_then(|y| plausible(y.as_str()))
        })
    })
    // A footnote at the foot of a long first page: a line that opens with a copyright sign or
    // a proceedings' "Appearing in", which a reference never does.
    .or_else(|| {
        FOOT_YEAR
            .captures_iter(first_page)
            .find_map(|c| plausible(c.get(1).or_else(|| c.get(2))?.as_str()))
    })
}

/// A first page's footnote that dates it: "Copyright 2011 by the author(s)", "© 2019 Elsevier",
/// "Appearing in Proceedings of ..., 2011", at the start of a line (glued text aside: a
/// footnote mark before it, "eiAppearing").
static FOOT_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?mi)(?:^\s*(?:©|\(c\)|copyright)\s*((?:19|20)\d{2})\b|(?:appearing|to appear|appears) in proceedings of [^\n]{0,200}?\b((?:19|20)\d{2})\b)",
    )
    .expect("a valid pattern")
});

/// The year of the journal's own citation line at the head of the first page ("European
/// Heart Journal (2014) 35, 501–507", "BMJ 2015;350:h1234", "Nucleic Acids Research, 2024,
/// 52, 2761–2775"): the issue's year, which the accepted and online dates below it may
/// precede. `first_lines` is the page line by line (a line that opens with a journal's name
/// and its year and volume is the paper's own citation; a reference list's entries open with
/// authors), read up to a reference list.
pub fn head_citation_year(first_lines: &str) -> Option<u16> {
    let latest = current_year() + 1;
    first_lines
        .lines()
        .map(str::trim)
        .take_while(|l| !l.eq_ignore_ascii_case("references"))
        .filter(|l| !l.is_empty() && !YEAR_CUE.is_match(l))
        .find_map(|l| {
            let c = HEAD_CITATION.captures(l)?;
            let y: u16 = c.get(1).or_else(|| c.get(2))?.as_str().parse().ok()?;
            (1900..=latest).contains(&y).then_some(y)
        })
}

/// A journal's name, then its year and volume: in brackets ("Name (2014) 35, 501"), or after
/// it with a semicolon or a comma ("Name 2015;350:h1234", "Name, 2024, 52, 2761").
static HEAD_CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\p{Lu}[\p{L} .&-]{2,80}?\s*(?:\(((?:19|20)\d{2})\)\s*\d{1,4}\s*[,:(]|[.,]?\s+((?:19|20)\d{2})\s*[;,]\s*\d{1,4}\s*[(:,])",
    )
    .expect("a valid pattern")
});

/// The year of a citation or volume line alone (no cue words): what running heads print on
/// every page ("Emerging Infectious Diseases • Vol. 16, No. 2, February 2010").
pub fn citation_year(text: &str) -> Option<u16> {
    let latest = current_year() + 1;
    CITATION_YEAR.captures_iter(text).find_map(|c| {
        c.iter()
            .skip(1)
            .flatten()
            .next()
            .and_then(|y| y.as_str().parse::<u16>().ok())
            .filter(|y| (1900..=latest).contains(y))
    })
}

/// The year of a copyright line ("© World Health Organization 2025", "Copyright © 2023 The
/// Cochrane Collaboration") in `text`: where a book-like document (a guideline, a review)
/// prints it on the pages after its cover. The latest, where several.
pub fn copyright_year(text: &str) -> Option<u16> {
    let latest = current_year() + 1;
    COPYRIGHT
        .captures_iter(text)
        .filter_map(|c| c.get(1)?.as_str().parse::<u16>().ok())
        .filter(|y| (1900..=latest).contains(y))
        .max()
}

/// A copyright sign or word, then within a holder's name the year.
static COPYRIGHT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:©|\(c\)|copyright)[^\n©]{0,40}?\b((?:19|20)\d{2})\b")
        .expect("a valid pattern")
});

/// Whether the words between a cue and a year are a date's or a copyright line's ("Published
/// online 12 March", "© The Author(s)"), not a sentence's ("Published reports on pandemic
/// (H1N1) 2009").
fn only_a_date_before(between: &str) -> bool {
    const WORDS: [&str; 16] = [
        "the",
        "author",
        "authors",
        "s",
        "online",
        "on",
        "in",
        "first",
        "ahead",
        "of",
        "print",
        "electronically",
        "date",
        "by",
        "version",
        "issue",
    ];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    between
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .all(|w| {
            let w = w.to_lowercase();
            WORDS.contains(&w.as_str()) || MONTHS.iter().any(|m| w.starts_with(m))
        })
}

/// This year by the system clock (UTC), close enough for a plausibility bound.
fn current_year() -> u16 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (1970 + secs / 31_556_952) as u16
}

#[cfg(test)]
mod year_tests {
    use super::arxiv_year;

    #[test]
    fn an_arxiv_stamp_gives_its_date_and_a_citation_none() {
        assert_eq!(arxiv_year("text hep-ph/9412269 09 Dec 94 more"), Some(1994));
        assert_eq!(
            arxiv_year("arXiv:0908.0054v1 [astro-ph.CO] 1 Sep 2009"),
            Some(2009)
        );
        assert_eq!(arxiv_year("as shown in arXiv:0908.0054 (2009)"), None);
        assert_eq!(arxiv_year("see hep-ph/9412269 for details"), None);
    }

    use super::{citation_year, copyright_year, head_citation_year, publication_year};

    #[test]
    fn cues_give_the_year() {
        let page = "Critical Care Medicine\nReceived 3 May 2018; accepted 12 January 2019\n\
                    Patients enrolled 2010-2015 ...";
        assert_eq!(publication_year(page), Some(2019));
        assert_eq!(
            publication_year("© 2021 The Authors. Published by Elsevier"),
            Some(2021)
        );
        assert_eq!(publication_year("Copyright (c) 2003 Wiley"), Some(2003));
        assert_eq!(
            publication_year("Published online: 4 March 2020\n© The Author(s) 2020"),
            Some(2020)
        );
    }

    #[test]
    fn citation_and_volume_lines() {
        assert_eq!(
            publication_year("BMJ 2015;350:h1234 doi:10.1136"),
            Some(2015)
        );
        assert_eq!(
            publication_year("Lancet. 2012; 380(9859): 2095"),
            Some(2012)
        );
        assert_eq!(
            publication_year("Vol. 12, No. 3, 1998\nAbstract"),
            Some(1998)
        );
        assert_eq!(
            publication_year("text\n© World Health Organization 2025\nSome rights reserved"),
            Some(2025)
        );
        assert_eq!(
            copyright_year("Copyright © 2023 The Cochrane Collaboration. Published by Wiley"),
            Some(2023)
        );
        assert_eq!(
            publication_year("Published reports on pandemic (H1N1) 2009 in staff"),
            None
        );
        assert_eq!(
            publication_year("© The Author(s) 2019. Published online: 3 May 2019"),
            Some(2019)
        );
        assert_eq!(
            head_citation_year("European Heart Journal (2014) 35, 501–507\nReceived 2013"),
            Some(2014)
        );
        assert_eq!(
            head_citation_year("Nucleic Acids Research, 2024, 52, 2761–2775"),
            Some(2024)
        );
        assert_eq!(head_citation_year("Received 3 May 2013, 12 (4)"), None);
        assert_eq!(
            citation_year("Emerging Infectious Diseases • Vol. 16, No. 2, February 2010"),
            Some(2010)
        );
        assert_eq!(
            publication_year("Z. Naturforsch. 54 a, 272-273 (1999); received December 15, 1998"),
            Some(1999)
        );
        assert_eq!(
            publication_year("O. Sanni / Data in Brief 22 (2019) 451–457"),
            Some(2019)
        );
        let long = format!(
            "A title\n{}\neiAppearing in Proceedings of the 28 th International Conference on \
             Machine Learning, Bellevue, WA, USA, 2011.",
            "body text in 2004 and 2008 ".repeat(400)
        );
        assert_eq!(publication_year(&long), Some(2011));
        // A reference's proceedings is not the paper's.
        assert_eq!(
            publication_year("[3] J. Doe. In Proceedings of ACL 2009, pages 1-9."),
            None
        );
    }

    #[test]
    fn no_cue_no_year() {
        assert_eq!(
            publication_year("Between 2010 and 2015 we enrolled 400 patients in 12 centres."),
            None
        );
        assert_eq!(publication_year("Published in the year 3019"), None);
        assert_eq!(publication_year(""), None);
    }
}
