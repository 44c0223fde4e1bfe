//! Abbreviations a paper lists rather than defines in its text: a guideline's "Abbreviations
//! and acronyms" page ("ALB albendazole CE cystic echinococcosis CT computed tomography ..."),
//! a journal's "Abbreviations" section ("AF: atrial fibrillation; CI: confidence interval"),
//! a table's footnote ("Abbreviations: OR, odds ratio"). A guideline often defines its
//! abbreviations there alone and writes only the short form afterwards ("ALB is
//! contraindicated in the first trimester of pregnancy"), so a question that spells the term
//! out finds those pages only through the list.
//!
//! A list is where such a heading is followed by a short form; each entry is a short form
//! with two capitals, then the words up to the next such short form (or a semicolon), and is
//! kept where those words spell the short form as a parenthesised definition's would
//! ([`super::mine`]'s test, which must take every word: in a list the long form starts right
//! after its short form). The list ends at the second entry in a row that fails. A page
//! whose list runs to its foot continues on the next page, from its first word, for as long
//! as the entries hold there.

use regex::Regex;
use std::sync::LazyLock;

/// The entries a list may have on one page: a page of a glossary holds far fewer, and a
/// hostile page must not cost more.
const MAX_ENTRIES: usize = 400;

/// How many entries in a row may fail before a list is taken as ended: one may (an entry
/// whose long form itself holds an abbreviation, "WHO-IWGE WHO Informal Working Group"), two
/// are text that is not a list.
const MAX_FAILURES_IN_A_ROW: usize = 2;

/// The "long form, short form" pairs the lists on `pages` give, in page order.
pub fn pairs(pages: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // Whether the previous page's list ran to its foot (and so may go on here).
    let mut open = false;
    for page in pages {
        let mut ran_to_end = false;
        if open {
            let (found, to_end) = entries(page, 0, true);
            ran_to_end = to_end && !found.is_empty();
            out.extend(found);
        }
        for start in list_starts(page) {
            let (found, to_end) = entries(page, start, false);
            ran_to_end |= to_end && !found.is_empty();
            out.extend(found);
        }
        open = ran_to_end;
    }
    out
}

/// Where lists start on `page`: the byte just after each heading that is followed by a
/// short form.
fn list_starts(page: &str) -> Vec<usize> {
    static HEADING: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?:^|[\s.;:)])",
            r"(?:List of abbreviations|LIST OF ABBREVIATIONS",
            r"|Abbreviations(?: and acronyms| used)?|ABBREVIATIONS(?: AND ACRONYMS)?",
            r"|Acronyms(?: and abbreviations)?|ACRONYMS(?: AND ABBREVIATIONS)?)",
            r"\s*:?\s+",
        ))
        .expect("valid")
    });
    HEADING
        .find_iter(page)
        .map(|m| m.end())
        .filter(|&end| {
            let next = page[end..].split_whitespace().next().unwrap_or("");
            is_list_short_form(entry_short(next))
        })
        .collect()
}

/// The entries of the list that starts at `start` in `page`, and whether it ran to the page's
/// end. A list continued from the page before (`continued`) may open with the page's number
/// and must hold from its first entry.
fn entries(page: &str, start: usize, continued: bool) -> (Vec<(String, String)>, bool) {
    let mut words = page[start..].split_whitespace().peekable();
    if continued {
        // The page's number at its head ("vii", "12").
        if words.peek().is_some_and(|w| {
            w.chars().all(|c| c.is_ascii_digit()) || w.chars().all(|c| "ivxlc".contains(c))
        }) {
            words.next();
        }
    }
    let words: Vec<&str> = words.collect();
    let mut out = Vec::new();
    let mut failures = 0;
    let mut i = 0;
    while i < words.len() && out.len() < MAX_ENTRIES {
        let short = entry_short(words[i]);
        if !is_list_short_form(short) {
            return (out, false);
        }
        // The long form: the words up to the next short form, or up to a semicolon.
        let mut j = i + 1;
        let mut long: Vec<&str> = Vec::new();
        while j < words.len() && !is_list_short_form(entry_short(words[j])) {
            let word = words[j];
            j += 1;
            if let Some(w) = word.strip_suffix(';') {
                long.push(w);
                break;
            }
            long.push(word);
        }
        let long = long.join(" ");
        let long = long.trim_end_matches([',', '.', ';', ':']).trim();
        match spelled_out(short, long) {
            Some(long) => {
                out.push((short.to_string(), long));
                failures = 0;
            }
            None => {
                failures += 1;
                // A continued list holds from its first entry, or it is not one.
                if continued && out.is_empty() || failures >= MAX_FAILURES_IN_A_ROW {
                    return (out, false);
                }
            }
        }
        i = j;
    }
    (out, i >= words.len())
}

/// The short form of a list entry's first word: "AF:" and "CI," are "AF" and "CI".
fn entry_short(word: &str) -> &str {
    word.trim_end_matches([':', ',', '='])
}

/// A list's short form: a definition's ([`super::mine::is_short_form`]) with two capitals,
/// so that a capitalised word of a long form ("Intensive Care Unit") does not end it.
fn is_list_short_form(s: &str) -> bool {
    super::mine::is_short_form(s) && s.chars().filter(|c| c.is_uppercase()).count() >= 2
}

/// `long`, lower-cased, where all of its words spell `short` (its first word starting with
/// the short form's first letter).
fn spelled_out(short: &str, long: &str) -> Option<String> {
    let first = short.chars().find(|c| c.is_alphanumeric())?.to_lowercase();
    let starts = long.chars().next()?.to_lowercase().eq(first);
    if !starts {
        return None;
    }
    let found = super::mine::long_form(short, long)?;
    (found == long.to_lowercase()).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(pages: &[&str]) -> Vec<(String, String)> {
        pairs(&pages.iter().map(|p| p.to_string()).collect::<Vec<_>>())
    }

    /// Fails unless `found` holds every (short, long) pair of `wanted`.
    fn holds(found: &[(String, String)], wanted: &[(&str, &str)]) {
        for (short, long) in wanted {
            assert!(
                found.contains(&(short.to_string(), long.to_string())),
                "{short}: {found:?}"
            );
        }
    }

    #[test]
    fn a_guidelines_list_page_gives_its_entries() {
        let page = "vi Abbreviations and acronyms ALB albendazole CE cystic echinococcosis \
                    CT computed tomography EtD evidence to decision GDG Guideline Development \
                    Group GRADE Grading of Recommendations Assessment, Development and \
                    Evaluation ICU intensive care unit Mo-CAT modified catheterization technique \
                    WHO World Health Organization WHO-IWGE WHO Informal Working Group on \
                    Echinococcosis";
        let found = listed(&[page]);
        holds(
            &found,
            &[
                ("ALB", "albendazole"),
                ("CE", "cystic echinococcosis"),
                ("EtD", "evidence to decision"),
                ("GDG", "guideline development group"),
                (
                    "GRADE",
                    "grading of recommendations assessment, development and evaluation",
                ),
                ("ICU", "intensive care unit"),
                ("Mo-CAT", "modified catheterization technique"),
                ("WHO", "world health organization"),
            ],
        );
        // "WHO-IWGE" is followed by "WHO" itself: no long form of its own, and no false one.
        assert!(found.iter().all(|(s, _)| s != "WHO-IWGE"), "{found:?}");
    }

    #[test]
    fn a_list_goes_on_over_the_page_and_stops_where_prose_starts() {
        let pages = [
            "Acronyms and abbreviations AMR antimicrobial resistance CI confidence interval",
            "vii NWS neonatal withdrawal syndrome OR odds ratio SCD sickle-cell disease",
            "1 Introduction Sickle-cell disease (SCD) is common. RR relative risk",
        ];
        let found = listed(&pages);
        assert!(found.contains(&("NWS".into(), "neonatal withdrawal syndrome".into())));
        assert!(found.contains(&("SCD".into(), "sickle-cell disease".into())));
        // The third page opens with prose: its "RR relative risk" is no list entry.
        assert!(found.iter().all(|(s, _)| s != "RR"), "{found:?}");
    }

    #[test]
    fn a_journal_section_and_a_footnote_are_lists_too() {
        let found = listed(&[
            "we thank them. Abbreviations AF: atrial fibrillation; BMI: body mass index; \
             Competing interests The authors declare none.",
            "Values are medians. Abbreviations: OR, odds ratio; CI, confidence interval.",
        ]);
        holds(
            &found,
            &[
                ("AF", "atrial fibrillation"),
                ("BMI", "body mass index"),
                ("OR", "odds ratio"),
                ("CI", "confidence interval"),
            ],
        );
    }

    #[test]
    fn prose_after_a_heading_word_is_no_list() {
        for page in [
            "Abbreviations are defined at first use. The ICU team met daily.",
            "Standard abbreviations: see the journal's list. HR hazard ratio was 0.8.",
            "ABBREVIATIONS IN THIS FIELD ARE MANY: CT scans were read by two radiologists.",
        ] {
            assert!(listed(&[page]).is_empty(), "{page}: {:?}", listed(&[page]));
        }
    }

    #[test]
    fn a_hostile_list_is_bounded() {
        let page = format!("Abbreviations {}", "AB alpha beta ".repeat(100_000));
        let started = std::time::Instant::now();
        assert!(listed(&[&page]).len() <= MAX_ENTRIES);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }
}
