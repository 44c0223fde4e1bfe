//! Trial registration ids (NCT01234567, ISRCTN12345678, EudraCT 2004-000446-20, ACTRN...,
//! PROSPERO CRD42019123456, ...) found in a paper's own text.
//!
//! Only the paper's own words count: a review cites dozens of trials, each with its id, in
//! its reference list, and linking the review to every one of them would say the review *is*
//! about those trials. The text is cut at the reference list's heading first
//! ([`before_references`]).

use std::sync::LazyLock;

use regex::Regex;

/// The registries whose ids are recognised, each with the shape of its ids. The captures are
/// joined (spaces and dashes that PDFs break ids with dropped where the registry has none).
static REGISTRIES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("a registry's id pattern");
    vec![
        // ClinicalTrials.gov: NCT and 8 digits.
        ("NCT", r(r"\bNCT ?(\d{8})\b")),
        // ISRCTN: 8 digits.
        ("ISRCTN", r(r"\bISRCTN ?(\d{8})\b")),
        // The Australian New Zealand registry: ACTRN and 14 digits.
        ("ACTRN", r(r"\bACTRN ?(\d{14})\b")),
        // PROSPERO (systematic reviews): CRD and 11 digits.
        ("CRD", r(r"\bCRD ?(\d{11})\b")),
        // The German, Japanese and Chinese registries.
        ("DRKS", r(r"\bDRKS ?(\d{8})\b")),
        ("UMIN", r(r"\bUMIN ?(\d{9})\b")),
        // ChiCTR ids are kept whole, dashes and all ("ChiCTR-TRC-10000883").
        ("", r(r"\b(ChiCTR(?:-?\d{10}|-[A-Z]{2,4}-\d{8}))\b")),
        // The Clinical Trials Registry of India: CTRI/2020/05/025123.
        ("CTRI/", r(r"\bCTRI/(\d{4}/\d{2,3}/\d{6})\b")),
    ]
});

/// EudraCT numbers (2004-000446-20) are bare digits: only where the text names the registry.
static EUDRACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bEudra ?CT(?:\s+(?:number|no\.?|n°))?[:\s]*((?:19|20)\d{2}-\d{6}-\d{2})\b")
        .expect("the EudraCT pattern")
});

/// The reference list's heading, alone on its line.
static REFERENCES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*(?:\d+\.?\s*)?(references|bibliography|literature cited|works cited|references and notes|reference list)\s*:?\s*$",
    )
    .expect("the references heading")
});

/// The trial registration ids in `text`, each once, in the order first seen, written as the
/// registries write them (`NCT01234567`, `2004-000446-20` for EudraCT).
pub fn trial_ids(text: &str) -> Vec<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for (prefix, pattern) in REGISTRIES.iter() {
        for c in pattern.captures_iter(text) {
            let at = c.get(0).map_or(0, |m| m.start());
            found.push((at, format!("{prefix}{}", &c[1])));
        }
    }
    for c in EUDRACT.captures_iter(text) {
        let at = c.get(0).map_or(0, |m| m.start());
        // The number alone is how EudraCT writes it (and how a correction types it).
        found.push((at, c[1].to_string()));
    }
    found.sort_by_key(|(at, _)| *at);
    let mut ids: Vec<String> = Vec::new();
    for (_, id) in found {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The pages' text up to the reference list: the heading taken is the last one in the second
/// half of the text (a "References" line early on is a table of contents'), pages joined by a
/// blank line.
pub fn before_references(pages: &[String]) -> String {
    let text = pages.join("\n\n");
    let half = text.len() / 2;
    let cut = REFERENCES
        .find_iter(&text)
        .filter(|m| m.start() >= half)
        .last()
        .map_or(text.len(), |m| m.start());
    text[..cut].to_string()
}

/// How far into the paper its own registration is looked for everywhere: the first pages,
/// where the abstract ends with "Trial registration: ...".
const HEAD_BYTES: usize = 9000;
/// How far after a registration cue ("registered at", "ClinicalTrials.gov", "PROSPERO") an
/// id is taken as the paper's own further on.
const CUE_REACH: usize = 200;

/// A statement that names the paper's own registration.
static REGISTRATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)trial registration|registration (?:number|no\.?|id)|registered (?:at|with|in|on|under|as)|prospero")
        .expect("the registration cue")
});

/// The registration ids of the paper itself: those on its first pages, and those further on
/// that follow a registration statement. A review's table of the trials it includes, and
/// its reference list, name other papers' trials.
pub fn paper_trial_ids(pages: &[String]) -> Vec<String> {
    let text = before_references(pages);
    let mut own: Vec<String> = Vec::new();
    let mut add = |ids: Vec<String>| {
        for id in ids {
            if !own.contains(&id) {
                own.push(id);
            }
        }
    };
    add(trial_ids(crate::extract::head_bytes(&text, HEAD_BYTES)));
    for cue in REGISTRATION
        .find_iter(&text)
        .filter(|m| m.start() >= HEAD_BYTES / 2)
    {
        // The window ends between words: an id cut in its middle is no id.
        let mut end = (cue.end() + CUE_REACH).min(text.len());
        while end < text.len()
            && (!text.is_char_boundary(end)
                || text[end..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric))
        {
            end += 1;
        }
        add(trial_ids(&text[cue.start()..end]));
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_recognised() {
        let text = "Registered at ClinicalTrials.gov (NCT 00863213) and ISRCTN12345678; \
                    EudraCT number: 2004-000446-20; PROSPERO CRD42019123456; ACTRN12610000123456; \
                    CTRI/2020/05/025123 and again NCT00863213.";
        assert_eq!(
            trial_ids(text),
            [
                "NCT00863213",
                "ISRCTN12345678",
                "2004-000446-20",
                "CRD42019123456",
                "ACTRN12610000123456",
                "CTRI/2020/05/025123"
            ]
        );
        // ChiCTR ids as the registry writes them, old and new.
        assert_eq!(
            trial_ids("ChiCTR-TRC-10000883 and ChiCTR2000029308"),
            ["ChiCTR-TRC-10000883", "ChiCTR2000029308"]
        );
    }

    #[test]
    fn near_misses_are_not_ids() {
        // Too few digits, part of a longer word, a bare date-like number without the registry.
        assert!(trial_ids("NCT0086321 xNCT00863213 2004-000446-20 CRD4201").is_empty());
    }

    #[test]
    fn ids_in_the_reference_list_only_are_left_out() {
        let body = "Methods. We pooled twelve trials.\n".repeat(40);
        let pages = vec![
            body.clone(),
            format!("{body}\nReferences\n1. Smith J. A trial. NCT01234567.\n"),
        ];
        assert!(paper_trial_ids(&pages).is_empty());
        // The paper's own id, in its abstract, counts.
        let mut own = pages.clone();
        own[0].insert_str(0, "Trial registration: NCT07654321.\n");
        assert_eq!(paper_trial_ids(&own), ["NCT07654321"]);
    }

    #[test]
    fn a_review_table_of_included_trials_is_not_the_papers_own() {
        let intro = "We pooled the trials listed in Table 1.\n".repeat(300);
        let table = "Table 1. Included trials: NCT01111111, NCT02222222, NCT03333333.\n";
        let end = "This review was registered in PROSPERO (CRD42019123456).\n";
        let pages = vec![intro, format!("{table}{end}")];
        assert_eq!(paper_trial_ids(&pages), ["CRD42019123456"]);
    }

    #[test]
    fn a_contents_line_named_references_does_not_cut_the_paper() {
        let pages = vec![
            "Contents\nReferences\nNCT01234567 is this trial.".to_string(),
            "Body. ".repeat(200),
        ];
        assert_eq!(paper_trial_ids(&pages), ["NCT01234567"]);
    }
}
