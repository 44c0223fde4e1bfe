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

/// A citation line, "2019;12(3):45" or "2019; 12: 45", or a volume line, "Vol. 12, 2019".
static CITATION_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b((?:19|20)\d{2})\s*;\s*\d+\s*[(:]|\bvol(?:ume)?\.?\s*\d+[^\n]{0,30}?\b((?:19|20)\d{2})\b")
        .expect("a valid pattern")
});

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
            YEAR.find(window).and_then(|y| plausible(y.as_str()))
        })
        .max();
    cued.or_else(|| {
        CITATION_YEAR.captures_iter(head).find_map(|c| {
            c.get(1)
                .or_else(|| c.get(2))
                .and_then(|y| plausible(y.as_str()))
        })
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
    use super::publication_year;

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
