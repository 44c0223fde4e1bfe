//! Words Tesseract ran together where the space between them was narrow ("acommon",
//! "riskof"), set apart again with its own dictionary's help.

use super::ocr::known_word;

/// Short words Tesseract runs into the word after them where the space between is narrow
/// ("acommon", "Toassess", "Thesystematic").
const LEADING_GLUE: [&str; 15] = [
    "a", "an", "the", "of", "to", "in", "is", "and", "or", "for", "with", "as", "at", "by", "on",
];
/// Short words it runs into the word before them ("riskof", "participantsin", "SCDis").
const TRAILING_GLUE: [&str; 11] = [
    "is", "in", "of", "and", "or", "to", "from", "for", "with", "was", "are",
];

/// OCR's text with the words Tesseract ran together set apart, where the dictionary says so:
/// a word it does not know that is, in exactly one way, a short word (see [`LEADING_GLUE`],
/// [`TRAILING_GLUE`]) and a word of four letters or more it knows (or an abbreviation in
/// capitals before the short word). The first and last words of a line are left alone: they
/// may be the halves of a word hyphenated across lines. Over the OCR of the 960 scanned
/// pages of `examples/ocr_accuracy`'s retrieval sets (these rules replayed in a script on the
/// words kept in the catalog, with Tesseract's word list dumped by `dawg2wordlist`), about 69
/// words are set apart: 59 as the original's text layer prints them, 4 more rightly where the
/// original breaks the line between them ("Asmall", "Withimprecision"), and about 6 wrongly
/// ("Indirectness" as "In directness": the list lacks the whole word; "afallin" as "a
/// fallin").
pub(super) fn unglued(text: &str) -> String {
    // OCR's own dictionary seam; without Tesseract there is no OCR text to mend either.
    if known_word("the").is_none() {
        return text.to_string();
    }
    let known =
        |w: &str| known_word(w) == Some(true) || known_word(&w.to_lowercase()) == Some(true);
    let mut out = String::with_capacity(text.len() + 16);
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let words: Vec<&str> = line.split(' ').collect();
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let inner = i > 0 && i + 1 < words.len();
            match inner.then(|| split_glued(word, &known)).flatten() {
                Some((left, right)) => {
                    out.push_str(left);
                    out.push(' ');
                    out.push_str(right);
                }
                None => out.push_str(word),
            }
        }
    }
    out
}

/// The one way `word` (punctuation around it kept with its halves) is a short word run into
/// a known one, where there is exactly one; see [`unglued`].
fn split_glued<'a>(word: &'a str, known: &dyn Fn(&str) -> bool) -> Option<(&'a str, &'a str)> {
    let start = word.find(|c: char| c.is_ascii_alphabetic())?;
    let end = word.rfind(|c: char| c.is_ascii_alphabetic())? + 1;
    let core = &word[start..end];
    if core.len() < 4 || !core.bytes().all(|b| b.is_ascii_alphabetic()) || known(core) {
        return None;
    }
    let lowercase = |w: &str| w.bytes().all(|b| b.is_ascii_lowercase());
    let capitalised = |w: &str| {
        w.as_bytes()[0].is_ascii_uppercase() && w.bytes().skip(1).all(|b| b.is_ascii_lowercase())
    };
    let abbreviation = |w: &str| w.len() >= 2 && w.bytes().all(|b| b.is_ascii_uppercase());
    let mut found = None;
    for at in 1..core.len() {
        let (l, r) = core.split_at(at);
        let leading = LEADING_GLUE.contains(&l.to_ascii_lowercase().as_str())
            && (lowercase(l) || capitalised(l))
            && lowercase(r)
            && r.len() >= 4
            && known(r);
        let trailing = TRAILING_GLUE.contains(&r) && (l.len() >= 4 && known(l) || abbreviation(l));
        if leading || trailing {
            if found.is_some() {
                return None;
            }
            found = Some(start + at);
        }
    }
    found.map(|at| word.split_at(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_run_together_are_set_apart_once_and_only_where_the_dictionary_says() {
        let words = [
            "a",
            "common",
            "risk",
            "screen",
            "participants",
            "to",
            "assess",
            "the",
            "same",
            "systematic",
            "cardiac",
            "directness",
        ];
        let known = |w: &str| words.contains(&w.to_lowercase().as_str());
        let split = |w| split_glued(w, &known);
        assert_eq!(split("acommon"), Some(("a", "common")));
        assert_eq!(split("Toassess,"), Some(("To", "assess,")));
        assert_eq!(split("(riskof"), Some(("(risk", "of")));
        assert_eq!(split("participantsin"), Some(("participants", "in")));
        assert_eq!(split("SCDis"), Some(("SCD", "is")));
        // A known word, a fragment, a single letter after a word, mixed case, digits: kept.
        for kept in [
            "common", "cardiaca", "laxis", "aCommon", "a5common", "ACommon", "SCD",
        ] {
            assert_eq!(split(kept), None, "{kept}");
        }
        if known_word("acommon").is_some() {
            // Tesseract's own dictionary, and the line's ends left alone.
            let text = unglued("It is acommon cause\nToassess the riskof bleeding in\nwarfa");
            assert_eq!(
                text,
                "It is a common cause\nToassess the risk of bleeding in\nwarfa"
            );
        }
    }
}
