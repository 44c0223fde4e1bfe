//! Judging a text layer by a dictionary: the share of a page's words that Tesseract's word
//! lists know, and which pages draw their text invisibly (a scanner's own OCR under the image).
//! A poor invisible layer is read again by OCR ([`super::ocr`]).

use std::path::Path;

use super::tesseract::engine;

/// Fewer words than this to look up, and a page's text is too short to judge by them.
const DICTIONARY_SAMPLE_MIN: usize = 30;
/// The most words of a page looked up (evenly spread over it): enough to judge, and cheap.
const DICTIONARY_SAMPLE_MAX: usize = 400;

/// The words of a text that a dictionary can judge: runs of letters (an apostrophe inside
/// them allowed) of two letters or more, split at hyphens and slashes, without the
/// punctuation around them. Numbers, codes and words with digits in them are left out:
/// no dictionary has them, in good text or bad.
fn dictionary_words(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '-' | '/' | '\u{2010}' | '\u{2013}'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| {
            w.chars().filter(|c| c.is_alphabetic()).count() >= 2
                && w.chars()
                    .all(|c| c.is_alphabetic() || matches!(c, '\'' | '\u{2019}'))
        })
        .collect()
}

/// The share of a text's words that Tesseract's dictionaries (of the languages OCR reads)
/// know: about 0.9 for a paper's prose, its references and tables included, and far less
/// for a text layer of garbage (a poor scan's invisible OCR). `None` where Tesseract is not
/// at hand or the text has too few words to judge.
pub fn dictionary_share(text: &str) -> Option<f64> {
    let words = dictionary_words(text);
    if words.len() < DICTIONARY_SAMPLE_MIN {
        return None;
    }
    let step = words.len().div_ceil(DICTIONARY_SAMPLE_MAX);
    let sample: Vec<&str> = words.into_iter().step_by(step).collect();
    let engine = engine().ok()?;
    Some(engine.known_words(&sample) as f64 / sample.len() as f64)
}

/// Below this share of its words in the dictionary, a page's invisible text layer is taken
/// for a poor scan's OCR and the page is read again. Measured with
/// `examples/text_layer_quality` over the 2,189 pages of the shared papers: their text layers
/// measure 0.97 at the median, 0.85 at the 5th percentile (tables, references, French) and
/// 0.69 at the 1st; the same pages with a third of their words misread as a poor scan's OCR
/// misreads them (`fixtures::like_poor_ocr`) measure 0.79 at the median, with half of them
/// misread 0.70 (0.80 at the 99th percentile). Only invisible text is judged this way, so a
/// page of good text under the floor costs an OCR run, never its text (see
/// [`DICTIONARY_GAIN`]).
pub(super) const DICTIONARY_FLOOR: f64 = 0.8;

/// How much more of OCR's reading the dictionary must know than of the invisible layer it
/// replaces (a clean scan's OCR measures about 0.95): OCR that reads no better leaves the
/// layer as it is.
pub(super) const DICTIONARY_GAIN: f64 = 0.1;

/// The pages (1-based) among `pages` whose text is drawn invisibly, as a scanner's OCR layer
/// under the page's image is (text render mode 3 for nine in ten of the text it shows).
/// Visible text is never OCR'd for reading poorly: a page in another language or a page of
/// codes is what it is.
pub(super) fn invisible_text_pages(path: &Path, pages: &[u32]) -> Vec<u32> {
    let Ok(doc) = lopdf::Document::load(path) else {
        return Vec::new();
    };
    let ids = doc.get_pages();
    pages
        .iter()
        .copied()
        .filter(|p| ids.get(p).is_some_and(|&id| drawn_invisibly(&doc, id)))
        .collect()
}

/// Whether nine in ten of the text-showing operators of a page's content draw in render
/// mode 3 (neither filled nor stroked).
fn drawn_invisibly(doc: &lopdf::Document, page: lopdf::ObjectId) -> bool {
    let Some(content) = doc
        .get_page_content(page)
        .ok()
        .and_then(|bytes| lopdf::content::Content::decode(&bytes).ok())
    else {
        return false;
    };
    // The render mode is part of the graphics state: saved by `q`, restored by `Q`.
    let (mut mode, mut saved) = (0i64, Vec::new());
    let (mut shown, mut hidden) = (0usize, 0usize);
    for op in &content.operations {
        match op.operator.as_str() {
            "q" => saved.push(mode),
            "Q" => mode = saved.pop().unwrap_or(0),
            "Tr" => {
                mode = op
                    .operands
                    .first()
                    .and_then(|o| o.as_i64().ok())
                    .unwrap_or(0)
            }
            "Tj" | "TJ" | "'" | "\"" => {
                shown += 1;
                hidden += usize::from(mode == 3);
            }
            _ => {}
        }
    }
    shown > 0 && hidden * 10 >= shown * 9
}

/// Whether Tesseract's dictionary (of the languages OCR reads) knows `word`; `None` where
/// Tesseract is not at hand.
pub(crate) fn known_word(word: &str) -> Option<bool> {
    if word.is_empty() {
        return Some(false);
    }
    Some(engine().ok()?.known_words(&[word]) == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_judges_runs_of_letters_and_nothing_else() {
        assert_eq!(
            dictionary_words("Warfarin (5 mg) was well-tolerated; p<0.05, IL-6 and O'Brien's x"),
            [
                "Warfarin",
                "mg",
                "was",
                "well",
                "tolerated",
                "IL",
                "and",
                "O'Brien's"
            ]
        );
    }
}
