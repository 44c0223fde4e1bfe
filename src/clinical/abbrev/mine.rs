//! Abbreviations a paper defines ("deep vein thrombosis (DVT)"; its lists of abbreviations
//! are [`super::list`]'s), found with the algorithm of Schwartz and Hearst (2003): a short
//! form in parentheses, and before it the shortest run of words whose letters, read
//! backwards, hold the short form's letters in order, its first letter starting a word.
//!
//! False pairs are what this must not make: "(Table 1)", "(p < 0.05)", "(n = 12)", "(see
//! below)". A short form is one word of 2 to 10 characters with two capitals (or one, in four
//! characters or fewer) and more letters than digits; a long form at least as long, of at
//! most `min(|SF| + 5, 2|SF|)` words, within the sentence, not containing the short form.
//!
//! Hostile text is bounded: each candidate looks back at most [`LOOK_BACK`] bytes, and a page
//! gives at most [`MAX_CANDIDATES`] candidates.

use std::collections::HashMap;

/// A short form and its long form as the paper wrote them (white space single), with how
/// often the paper defines it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The abbreviation, as printed ("DVT", "HFrEF", "IL-6").
    pub short: String,
    /// What it stands for, lower-cased ("deep vein thrombosis").
    pub long: String,
    /// How many times the paper defines it so.
    pub count: u32,
}

/// Words a short form never is (a reference to a part of the paper, a statistic).
const NOT_SHORT: [&str; 12] = [
    "Table",
    "Fig",
    "Figure",
    "Figs",
    "Suppl",
    "Supplementary",
    "Appendix",
    "Ref",
    "See",
    "Eq",
    "Box",
    "Panel",
];

/// Words a long form never starts or ends with.
const EDGE_WORDS: [&str; 16] = [
    "a", "an", "and", "are", "as", "by", "for", "in", "is", "of", "on", "or", "that", "the", "to",
    "with",
];

/// How far before a parenthesis a long form is looked for, in bytes: twenty words of a long
/// form are far less, and a page of parentheses must not cost the square of its length.
const LOOK_BACK: usize = 1024;
/// The most parentheses of one page read as candidates.
const MAX_CANDIDATES: usize = 2_000;

/// The most definitions kept per paper (a glossary page defines hundreds; a hostile text
/// could define millions).
const MAX_DEFINITIONS: usize = 500;

/// The version of [`definitions`]. A library whose papers were mined by an older one has them
/// mined again from their stored pages by its next index run (no PDF read again): 2 is the
/// miner that reads lists of abbreviations too ([`super::list`]).
pub const MINER: i64 = 2;

/// The abbreviations `pages` define, each short form with its most frequent long form first.
pub fn definitions(pages: &[String]) -> Vec<Definition> {
    let mut counts: HashMap<(String, String), u32> = HashMap::new();
    // Definitions in the text, then the entries of its lists of abbreviations.
    let listed = super::list::pairs(pages);
    for (short, long) in pages.iter().flat_map(|page| pairs(page)).chain(listed) {
        if counts.len() >= MAX_DEFINITIONS && !counts.contains_key(&(short.clone(), long.clone())) {
            continue;
        }
        *counts.entry((short, long)).or_default() += 1;
    }
    let mut out: Vec<Definition> = counts
        .into_iter()
        .map(|((short, long), count)| Definition { short, long, count })
        .collect();
    out.sort_by(|a, b| {
        a.short
            .cmp(&b.short)
            .then(b.count.cmp(&a.count))
            .then(a.long.cmp(&b.long))
    });
    out
}

/// Each "long form (SF)" of one text.
fn pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut candidates = 0;
    while let Some(open) = text[from..].find('(').map(|i| from + i) {
        from = open + 1;
        candidates += 1;
        if candidates > MAX_CANDIDATES {
            break;
        }
        let Some(close) = text[open + 1..].find([')', '(']).map(|i| open + 1 + i) else {
            break;
        };
        if text.as_bytes()[close] != b')' {
            continue;
        }
        let inside = text[open + 1..close].trim();
        // "(DVT; 12 %)", "(HFrEF, n = 40)": the short form comes first.
        let short = inside.split([';', ',']).next().unwrap_or("").trim();
        if !is_short_form(short) {
            continue;
        }
        let mut start = open.saturating_sub(LOOK_BACK);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        let before = sentence_before(&text[start..open]);
        if let Some(long) = long_form(short, before) {
            out.push((short.to_string(), long));
        }
    }
    out
}

/// Whether `s` can be a short form.
pub(crate) fn is_short_form(s: &str) -> bool {
    let len = s.chars().count();
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    (2..=10).contains(&len)
        && !s.contains(char::is_whitespace)
        && s.chars().next().is_some_and(char::is_alphanumeric)
        // "DVT", "HFrEF", "IL-6", "Ca": capitals, or a short word with one ("Agilent (...)"
        // is a name).
        && (s.chars().filter(|c| c.is_uppercase()).count() >= 2
            || (s.chars().any(char::is_uppercase) && len <= 4))
        && letters >= 2
        && letters > digits
        && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '&' | '.' | '+'))
        && !NOT_SHORT.iter().any(|w| w.eq_ignore_ascii_case(s.trim_end_matches('.')))
}

/// The text of the sentence before a parenthesis (a long form never crosses a sentence end,
/// a colon or another parenthesis).
fn sentence_before(text: &str) -> &str {
    let mut start = text
        .rfind(['.', ';', ':', '(', ')', '[', ']'])
        .map_or(0, |i| i + 1);
    // A line break inside a sentence is common in PDF text: only a blank line ends it.
    if let Some(i) = text.rfind("\n\n") {
        start = start.max(i + 2);
    }
    &text[start..]
}

/// The long form of `short` at the end of `before`, lower-cased, where there is one.
pub(super) fn long_form(short: &str, before: &str) -> Option<String> {
    let words: Vec<&str> = before.split_whitespace().collect();
    let n = short.chars().count();
    let max_words = (n + 5).min(2 * n);
    let words = &words[words.len().saturating_sub(max_words)..];
    if words.is_empty() {
        return None;
    }
    let candidate = words.join(" ");
    let lower: Vec<char> = candidate.to_lowercase().chars().collect();
    let sf: Vec<char> = short
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    // Schwartz-Hearst: match the short form's characters from its end, backwards through
    // the candidate; the first must begin a word.
    let mut l = lower.len() as isize - 1;
    let mut s = sf.len() as isize - 1;
    while s >= 0 {
        let c = sf[s as usize];
        loop {
            if l < 0 {
                return None;
            }
            let here = lower[l as usize];
            let word_start = l == 0 || !lower[l as usize - 1].is_alphanumeric();
            if here == c && (s > 0 || word_start) {
                break;
            }
            l -= 1;
        }
        l -= 1;
        s -= 1;
    }
    let start = (l + 1) as usize;
    let long: String = lower[start..].iter().collect();
    let mut long = long.trim().to_string();
    // The letters can all match inside fewer words ("personal protective equipment (PPE)"
    // read as "protective equipment", the P of "equipment" taken): where the words before
    // make the initials spell the short form exactly, they belong to it.
    let head: String = lower[..start].iter().collect();
    let before: Vec<&str> = head.split_whitespace().collect();
    for extra in 1..=2.min(before.len()) {
        let extended =
            format!("{} {long}", before[before.len() - extra..].join(" ")).to_lowercase();
        let initials: String = extended
            .split_whitespace()
            .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
            .collect();
        if initials == sf.iter().collect::<String>() {
            long = extended;
            break;
        }
    }
    let long_words = long.split_whitespace().count();
    let sf_word = short.to_lowercase();
    // A term neither starts nor ends with a function word ("index are (ID)").
    let edge = |w: Option<&str>| w.is_some_and(|w| EDGE_WORDS.contains(&w));
    if edge(long.split_whitespace().next()) || edge(long.split_whitespace().last()) {
        return None;
    }
    if long.chars().count() <= n
        || long_words < 2 && long.chars().count() < 2 * n
        || long_words > max_words
        || long
            .split_whitespace()
            .any(|w| w.trim_matches(|c: char| !c.is_alphanumeric()) == sf_word)
    {
        return None;
    }
    Some(long)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mined(text: &str) -> Vec<(String, String)> {
        definitions(&[text.to_string()])
            .into_iter()
            .map(|d| (d.short, d.long))
            .collect()
    }

    #[test]
    fn definitions_are_found() {
        let text = "Patients with deep vein thrombosis (DVT) after total knee arthroplasty (TKA) \
                    and heart failure with reduced ejection fraction (HFrEF; n = 40) were seen. \
                    Interleukin-6 (IL-6) rose.";
        let found = mined(text);
        assert!(
            found.contains(&("DVT".into(), "deep vein thrombosis".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&("TKA".into(), "total knee arthroplasty".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "HFrEF".into(),
                "heart failure with reduced ejection fraction".into()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&("IL-6".into(), "interleukin-6".into())),
            "{found:?}"
        );
        let ppe = mined("Use personal protective equipment (PPE) at all times.");
        assert_eq!(
            ppe,
            [("PPE".into(), "personal protective equipment".into())]
        );
    }

    #[test]
    fn false_pairs_are_not_definitions() {
        for text in [
            "The results are shown below (Table 1).",
            "Mortality fell (p < 0.05) in the treated group.",
            "Twelve patients were included (n = 12).",
            "As described elsewhere (see below), it works.",
            "The drug was given twice daily (BID) as usual.",
            "Outcomes improved (OR 2.1, 95% CI 1.2-3.4).",
            "The posting list of the index are (ID) sorted.",
        ] {
            assert!(mined(text).is_empty(), "{text}: {:?}", mined(text));
        }
    }

    #[test]
    fn counts_and_the_most_frequent_long_form_first() {
        let pages = vec![
            "Multiple sclerosis (MS) is common. Multiple sclerosis (MS) again.".to_string(),
            "Mitral stenosis (MS) once.".to_string(),
        ];
        let d = definitions(&pages);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].long.as_str(), d[0].count), ("multiple sclerosis", 2));
        assert_eq!((d[1].long.as_str(), d[1].count), ("mitral stenosis", 1));
    }

    #[test]
    fn hostile_text_is_bounded_and_safe() {
        let text = "Alpha Beta (AB) ".repeat(2000) + &"((((((".repeat(1000) + "é (É) ü";
        // A megabyte of candidates on one page, without a sentence end: bounded work.
        let flood = "Ab Cd (AC) ".repeat(100_000);
        let started = std::time::Instant::now();
        assert!(definitions(&[flood]).len() <= MAX_DEFINITIONS);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
        let d = definitions(&[text]);
        assert!(d.len() <= MAX_DEFINITIONS);
        let many: String = (0..2000)
            .map(|i| format!("Alpha Beta Gamma (ABG{i}) "))
            .collect();
        assert!(definitions(&[many]).len() <= MAX_DEFINITIONS);
    }
}
