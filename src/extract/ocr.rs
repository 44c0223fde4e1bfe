//! OCR of scanned pages: a page without a usable text layer is rendered to an image by
//! poppler's `pdftoppm` and read by Tesseract 5, in the PDF worker (so a page that makes either
//! loop or crash costs that file, never the run).
//!
//! Tesseract is loaded at run time through its C API (`libtesseract.so.5`, Debian's
//! `tesseract-ocr`), by a handful of functions declared in `extract::tesseract`: no bindings generated at build
//! time (that needs libclang), no link-time dependency, and an app that runs where Tesseract is
//! absent and says so ([`status`]). Each page gets its own deadline inside Tesseract; a page
//! that overruns keeps what was recognised by then.
//!
//! What comes out is each page's words with their confidence and their box on the page (as
//! shares of its width and height, so that a viewer draws the highlight over the page at any
//! zoom). Words Tesseract itself barely believes are left out of the page's text, and a page
//! whose words are mostly such guesses (a photograph, a drawing) gives no text at all: a
//! passage of invented words would only mislead both searches.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::ink::{unread_ink, Grays, BLANK_INK, UNREAD_INK};
use super::poppler;
use super::tesseract::{engine, Threshold};
pub use super::text_layer::dictionary_share;
pub(crate) use super::text_layer::known_word;
use super::text_layer::{invisible_text_pages, DICTIONARY_FLOOR, DICTIONARY_GAIN};

/// The resolution pages are rendered at: Tesseract reads body text best at about 300 dpi.
pub const DPI: u32 = 300;

/// The longest side of a rendered page, in pixels: 300 dpi on a poster-sized page would be
/// hundreds of megabytes, so such a page is rendered at less (20 inches at 300 dpi).
const MAX_SIDE: f64 = 6000.0;

/// The time Tesseract gets for one page; what it recognised by then is kept. A dense page
/// at 300 dpi takes a few seconds on one core.
pub const PAGE_DEADLINE_MS: i32 = 45_000;

/// Words with a confidence below this (Tesseract's 0 to 100) are guesses: left out of the
/// page's text (they stay in the word list, for the record).
pub const WORD_FLOOR: u8 = 30;

/// A page whose mean word confidence (weighted by length) is below this is not text: a
/// photograph, a drawing, a texture that Tesseract read as letters.
const PAGE_FLOOR: f32 = 45.0;

/// One recognised word.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OcrWord {
    /// The word as read.
    #[serde(rename = "t")]
    pub text: String,
    /// Tesseract's confidence, 0 to 100.
    #[serde(rename = "c")]
    pub confidence: u8,
    /// Its box: left, top, right, bottom, as shares of the page's width and height (0 to 1,
    /// from the top left corner of the page as displayed).
    #[serde(rename = "b")]
    pub bbox: [f32; 4],
    /// Whether it starts a new line.
    #[serde(rename = "l", default, skip_serializing_if = "std::ops::Not::not")]
    pub line_start: bool,
}

impl OcrWord {
    /// Whether it goes into the page's text: a word Tesseract believes, and not a lone mark
    /// it half believes (the specks of a noisy scan read as `:` or `.`).
    pub fn believed(&self) -> bool {
        let lone_mark = !self.text.chars().any(char::is_alphanumeric);
        self.confidence >= if lone_mark { SPECK_FLOOR } else { WORD_FLOOR }
    }
}

/// The confidence a word without a letter or a digit needs to be kept.
const SPECK_FLOOR: u8 = 90;

/// A page read by OCR.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OcrPage {
    /// The page, 1-based.
    pub page: u32,
    /// The mean confidence of its words, weighted by their length (0 to 100).
    pub confidence: f32,
    /// The resolution it was rendered at.
    pub dpi: u32,
    /// Its words in reading order.
    pub words: Vec<OcrWord>,
    /// Whether Tesseract ran out of time on it (its words are those read by then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overran: bool,
    /// The page's width and height in points, where known: the words' boxes in points give
    /// the sizes of its lines ([`super::ocr_layout`]). Pages read before it was kept have
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<[f32; 2]>,
}

impl OcrPage {
    /// The page's text: the words Tesseract believes, line by line; empty where the page is
    /// not text at all.
    pub fn text(&self) -> String {
        if self.confidence < PAGE_FLOOR {
            return String::new();
        }
        let mut text = String::new();
        // A line whose first word is left out (a bullet read as "+", a speck) still starts a
        // line: joined to the line above, a running head no longer read as one and was kept
        // in the text of five pages of WHO's sickle-cell guideline.
        let mut new_line = false;
        for word in &self.words {
            new_line |= word.line_start;
            if !word.believed() {
                continue;
            }
            if !text.is_empty() {
                text.push(if new_line { '\n' } else { ' ' });
            }
            new_line = false;
            text.push_str(&word.text);
        }
        text
    }
}

/// Where OCR stands on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OcrStatus {
    /// Whether scanned pages are read.
    pub available: bool,
    /// Tesseract's version, where it loaded.
    pub version: Option<String>,
    /// The languages OCR reads (`eng`), where it loaded.
    pub languages: Vec<String>,
    /// Every language installed, where it loaded.
    pub installed: Vec<String>,
    /// Why not, in words a person can act on, where it is not available.
    pub reason: Option<String>,
}

/// Whether OCR can run here, and with what: loads Tesseract once per process.
pub fn status() -> OcrStatus {
    let renderer = poppler::available();
    match engine() {
        Ok(engine) if renderer => OcrStatus {
            available: true,
            version: Some(engine.version.clone()),
            languages: engine.languages.clone(),
            installed: engine.installed.clone(),
            reason: None,
        },
        Ok(engine) => OcrStatus {
            available: false,
            version: Some(engine.version.clone()),
            languages: engine.languages.clone(),
            installed: engine.installed.clone(),
            reason: Some(
                "scanned pages are not read: poppler's pdftoppm is missing (install poppler-utils)"
                    .into(),
            ),
        },
        Err(reason) => OcrStatus {
            available: false,
            version: None,
            languages: Vec::new(),
            installed: Vec::new(),
            reason: Some(reason.clone()),
        },
    }
}

/// How far the OCR of a document is: `done` of `pages` pages to recognise, `page` next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OcrProgress {
    /// Pages recognised so far.
    pub done: u32,
    /// Pages of the document that need OCR.
    pub pages: u32,
    /// The page being recognised now (1-based).
    pub page: u32,
}

/// Recognises the given pages (1-based) of the PDF at `path`, telling `progress` before each
/// and stopping between pages once `cancel` is set. A page that cannot be rendered or read is
/// left out; `Err` says why OCR could not run at all.
pub fn recognise(
    path: &Path,
    pages: &[u32],
    progress: &mut dyn FnMut(OcrProgress),
    cancel: &AtomicBool,
) -> Result<Vec<OcrPage>, String> {
    if !poppler::available() {
        return Err("poppler's pdftoppm is missing".into());
    }
    let engine = engine()?;
    let sizes = poppler::page_sizes(path).unwrap_or_default();
    let mut out = Vec::new();
    for (done, &page) in pages.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        progress(OcrProgress {
            done: done as u32,
            pages: pages.len() as u32,
            page,
        });
        let dpi = sizes
            .get(page as usize - 1)
            .map_or(DPI, |&(w, h)| dpi_for(w, h));
        let Some(image) = poppler::render(path, page, dpi) else {
            continue;
        };
        // A blank page (or one with a stamp's worth of ink) has nothing to read: Tesseract
        // would spend a second finding so.
        let grays = Grays::of(&image);
        if grays.ink() < BLANK_INK {
            continue;
        }
        let mut threshold = Threshold::Global;
        let mut upright = engine.read(&image, dpi, page, threshold);
        // Much ink that no word covers may be type the page-wide threshold took for paper:
        // pale type (coloured headings, call-out boxes), type on a tinted panel. The page is
        // read again thresholded tile by tile, and the reading that believes more letters is
        // kept. A figure leaves ink unread too, and costs a second reading for nothing; a
        // page of text does not, nor a page whose first reading believes no text at all (a
        // photograph, a drawing: other thresholds read no more there, and a scanned picture
        // took twice as long). Tiles are not the first reading because they are not better
        // everywhere: they lose a little on some tables and dense pages (docs/OCR.md).
        let unread = upright.as_ref().is_some_and(|r| {
            letters(r) > 0 && unread_ink(&image, grays.paper(), &r.words) > UNREAD_INK
        });
        if unread && !cancel.load(Ordering::Relaxed) {
            progress(OcrProgress {
                done: done as u32,
                pages: pages.len() as u32,
                page,
            });
            let second = Threshold::Tiled;
            if let Some(again) = engine.read(&image, dpi, page, second) {
                if upright
                    .as_ref()
                    .is_none_or(|r| letters(&again) > letters(r))
                {
                    upright = Some(again);
                    threshold = second;
                }
            }
        }
        // A page read poorly may be turned: a landscape table printed sideways on a portrait
        // page reads as letter soup (and slowly). Tesseract's orientation detection is asked
        // only then (a quarter of a second), and the page read again turned upright; the
        // better reading is kept.
        let doubtful = upright
            .as_ref()
            .is_none_or(|r| r.confidence < ORIENTATION_DOUBT);
        let turned = match doubtful && !cancel.load(Ordering::Relaxed) {
            true => engine
                .orientation(&image, dpi)
                .filter(|&turn| turn != 0)
                .and_then(|turn| {
                    // The worker's clock for a page starts again: this is a second reading.
                    progress(OcrProgress {
                        done: done as u32,
                        pages: pages.len() as u32,
                        page,
                    });
                    let mut read = engine.read(
                        &super::turn::turn_image(&image, turn),
                        dpi,
                        page,
                        threshold,
                    )?;
                    for word in &mut read.words {
                        word.bbox = super::turn::unturn_box(word.bbox, turn);
                    }
                    Some(read)
                }),
            false => None,
        };
        let best = match (upright, turned) {
            (Some(a), Some(b)) => Some(if b.confidence > a.confidence { b } else { a }),
            (a, b) => a.or(b),
        };
        out.extend(best.map(|mut read| {
            read.size = size_of(&sizes, page);
            read
        }));
    }
    Ok(out)
}

/// A page's width and height in points (1-based `page`), from `pdfinfo`'s sizes.
fn size_of(sizes: &[(f64, f64)], page: u32) -> Option<[f32; 2]> {
    let &(width, height) = sizes.get((page as usize).checked_sub(1)?)?;
    Some([width as f32, height as f32])
}

/// The most letters a word weighs with in a page's mean confidence ([`page_confidence`]).
const CONFIDENCE_LETTERS: usize = 8;

/// A page's confidence: the mean of its words', each weighing its length up to
/// [`CONFIDENCE_LETTERS`] (a long word read right says more than a short one), 0 for no
/// words. The cap is for contents pages: their dot leaders come out as words of a hundred
/// letters or more ("....ceccecce...") at confidence 0, and weighed whole they sank pages of
/// good text under [`PAGE_FLOOR`] (ten of the 960 pages scanned for the page sets).
pub(super) fn page_confidence(words: &[OcrWord]) -> f32 {
    let (sum, weight) = words.iter().fold((0.0f32, 0.0f32), |(s, n), w| {
        let len = w.text.chars().count().min(CONFIDENCE_LETTERS) as f32;
        (s + w.confidence as f32 * len, n + len)
    });
    if weight > 0.0 {
        sum / weight
    } else {
        0.0
    }
}

/// A page read with a mean confidence under this may be turned sideways or upside down: an
/// upright page of text reads at 80 to 97, one turned a quarter at 30 to 40.
const ORIENTATION_DOUBT: f32 = 70.0;

/// The letters and digits of the words a reading believes (none where the page as a whole is
/// not believed to be text): what a second reading must beat to be kept.
fn letters(read: &OcrPage) -> usize {
    if read.text().is_empty() {
        return 0;
    }
    read.words
        .iter()
        .filter(|w| w.believed())
        .map(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count())
        .sum()
}

/// The resolution for a page of `w` by `h` points: [`DPI`], less where its longest side would
/// pass [`MAX_SIDE`] pixels.
fn dpi_for(w: f64, h: f64) -> u32 {
    let inches = w.max(h) / 72.0;
    if !inches.is_finite() || inches <= 0.0 {
        return DPI;
    }
    ((MAX_SIDE / inches).floor() as u32).clamp(1, DPI)
}

/// Whether a page's text is no text: (almost) no letters, or symbol soup.
fn unusable(page: &str) -> bool {
    page.chars().filter(|c| c.is_alphanumeric()).count() < super::EMPTY_PAGE
        || poppler::garbled(page) > super::GARBLED_PAGE
}

/// Whether page `page` (1-based) was read, with a whole word or more but too few letters to
/// count as text, and none of it symbol soup. (A page with no letters at all may be text drawn
/// as outlines, and soup may be a font that renders well: both are for OCR whatever they draw.)
fn only_a_few_words(raw: &super::RawPdf, page: u32) -> bool {
    let i = page as usize - 1;
    let text = &raw.pages[i];
    !raw.failed[i]
        && text
            .split(|c: char| !c.is_alphabetic())
            .any(|w| w.chars().count() >= 3)
        && poppler::garbled(text) <= super::GARBLED_PAGE
}

/// Recognises the pages both readers left without usable text (every page of a document
/// neither could open, where poppler still counts its pages), and the pages whose invisible
/// text layer the dictionary hardly knows (a poor scan's own OCR). A page OCR reads better than
/// the readers did takes OCR's text; a page with good text is never OCR'd.
pub(super) fn with_ocr(
    path: &Path,
    raw: Result<super::RawPdf, super::ExtractError>,
    options: &super::ReadOptions<'_>,
) -> Result<super::RawPdf, super::ExtractError> {
    let mut unopened = None;
    let mut raw = match raw {
        Ok(raw) => raw,
        Err(
            e @ (super::ExtractError::Damaged(_)
            | super::ExtractError::ReaderCrashed(_)
            | super::ExtractError::Encrypted),
        ) => {
            // Neither reader had text: a scan the parser could not walk may still render.
            let Some(sizes) = poppler::page_sizes(path) else {
                return Err(e);
            };
            unopened = Some(e);
            super::RawPdf {
                info_title: None,
                pages: vec![String::new(); sizes.len()],
                failed: vec![true; sizes.len()],
                embedded: None,
                ocr: Vec::new(),
            }
        }
        Err(e) => return Err(e),
    };
    let mut wanted: Vec<u32> = (0..raw.pages.len())
        .filter(|&i| raw.failed[i] || unusable(&raw.pages[i]))
        .map(|i| i as u32 + 1)
        .collect();
    let status = status();
    if status.available && wanted.iter().any(|&p| only_a_few_words(&raw, p)) {
        // A page whose few words are well read and which draws no image holds nothing more
        // for OCR to find (a title-only or all but blank page): reading it costs a quarter
        // of a second and gives the same words back.
        if let Some(images) = poppler::pages_with_images(path) {
            wanted.retain(|&p| !only_a_few_words(&raw, p) || images.binary_search(&p).is_ok());
        }
    }
    // Pages with text the dictionary hardly knows, drawn invisibly: a poor scan's own OCR,
    // read again. (Where OCR cannot run, there is nothing better to put in its place.)
    let mut layers = Vec::new();
    if status.available {
        let doubtful: Vec<u32> = (0..raw.pages.len())
            .filter(|&i| !raw.failed[i] && !unusable(&raw.pages[i]))
            .filter(|&i| dictionary_share(&raw.pages[i]).is_some_and(|s| s < DICTIONARY_FLOOR))
            .map(|i| i as u32 + 1)
            .collect();
        if !doubtful.is_empty() {
            layers = invisible_text_pages(path, &doubtful);
            wanted.extend(&layers);
            wanted.sort_unstable();
        }
    }
    if wanted.is_empty() {
        return unopened.map_or(Ok(raw), Err);
    }
    if !status.available {
        // A document with no page of text is a scan this machine cannot read: say what is
        // missing (a page or two without text among others is nothing to report).
        if unopened.is_none() && wanted.len() == raw.pages.len() {
            let reason = status.reason.unwrap_or_default();
            let reason = reason.trim_start_matches("scanned pages are not read: ");
            return Err(super::ExtractError::ScanWithoutOcr(reason.to_string()));
        }
        return unopened.map_or(Ok(raw), Err);
    }
    // Pages read before in this very file are taken as they were read: reading a record
    // again must not cost a scan's OCR again.
    // Sets, not lists: a 2,000-page scan would compare every page with every other.
    let asked: std::collections::HashSet<u32> = wanted.iter().copied().collect();
    let mut read: Vec<OcrPage> = options
        .stored
        .iter()
        .filter(|p| asked.contains(&p.page))
        .cloned()
        .collect();
    let taken: std::collections::HashSet<u32> = read.iter().map(|p| p.page).collect();
    let fresh: Vec<u32> = wanted
        .iter()
        .copied()
        .filter(|w| !taken.contains(w))
        .collect();
    if !fresh.is_empty() {
        let mut tell = |p: OcrProgress| (options.progress)(p);
        read.extend(recognise(path, &fresh, &mut tell, options.cancel).unwrap_or_default());
    }
    // Pages stored before their size was kept get it now (their layout needs it).
    if read.iter().any(|p| p.size.is_none()) {
        let sizes = poppler::page_sizes(path).unwrap_or_default();
        for page in read.iter_mut().filter(|p| p.size.is_none()) {
            page.size = size_of(&sizes, page.page);
        }
    }
    read.sort_by_key(|p| p.page);
    if options.cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(super::ExtractError::Cancelled);
    }
    for mut page in read {
        // Reading order and misreadings Tesseract makes on papers, mended where the page says
        // how: two columns read as one, a list's numbers read apart from their entries, a
        // two-column page's head and foot read mid-page (extract/ocr_order.rs); a figure's ink
        // read as letters, "Class Ill" and "95% Cl" (extract/ocr_misread.rs).
        super::ocr_order::mend(&mut page.words);
        super::ocr_misread::mend(&mut page.words);
        let i = page.page as usize - 1;
        let text = super::glue::unglued(&page.text());
        let letters = |t: &str| t.chars().filter(|c| c.is_alphanumeric()).count();
        let better = if layers.contains(&page.page) {
            let before = dictionary_share(&raw.pages[i]).unwrap_or(0.0);
            dictionary_share(&text).is_some_and(|after| after >= before + DICTIONARY_GAIN)
        } else if raw.failed[i] || letters(&raw.pages[i]) < super::EMPTY_PAGE {
            letters(&text) > letters(&raw.pages[i])
        } else {
            poppler::garbled(&text) < poppler::garbled(&raw.pages[i]) / 2.0
                && letters(&text) >= super::EMPTY_PAGE
        };
        if better {
            raw.pages[i] = text;
            raw.failed[i] = false;
            raw.ocr.push(page);
        }
    }
    super::ocr_layout::set_first_page_layout(&mut raw);
    match unopened {
        // The parser's verdict stands where OCR found nothing either.
        Some(e) if raw.failed.iter().all(|&f| f) => Err(e),
        _ => Ok(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, confidence: u8, line_start: bool) -> OcrWord {
        OcrWord {
            text: text.into(),
            confidence,
            bbox: [0.0; 4],
            line_start,
        }
    }

    #[test]
    fn a_page_keeps_the_words_it_believes_line_by_line() {
        let page = OcrPage {
            page: 1,
            confidence: 88.0,
            dpi: DPI,
            words: vec![
                word("Aspirin", 95, true),
                word("after", 91, false),
                word("~#%", 12, false),
                word("stroke", 93, true),
                // A bullet Tesseract half believes starts the next line: left out, its line
                // still starts one.
                word("+", 49, true),
                word("Dose", 94, false),
            ],
            overran: false,
            size: None,
        };
        assert_eq!(page.text(), "Aspirin after\nstroke\nDose");
        let photo = OcrPage {
            confidence: 20.0,
            ..page
        };
        assert_eq!(photo.text(), "");
    }

    #[test]
    fn the_reading_kept_is_the_one_that_believes_more_letters() {
        let read = |words: Vec<OcrWord>| OcrPage {
            page: 1,
            confidence: page_confidence(&words),
            dpi: 300,
            words,
            overran: false,
            size: None,
        };
        let first = read(vec![word("Recovery", 95, true), word("time", 90, false)]);
        let second = read(vec![
            word("Recovery", 95, true),
            word("time", 90, false),
            word("two", 92, false),
            word("weeks", 88, false),
        ]);
        assert!(letters(&second) > letters(&first));
        // A page not believed to be text has none.
        assert_eq!(letters(&read(vec![word("x#@", 5, true)])), 0);
    }

    #[test]
    fn dot_leaders_read_as_long_words_do_not_sink_a_contents_page() {
        let mut words: Vec<OcrWord> = (0..30)
            .map(|i| word(if i % 2 == 0 { "Diagnosis" } else { "of" }, 95, false))
            .collect();
        assert_eq!(page_confidence(&words), 95.0);
        let leader = format!("....{}", "ceccecseceeceececc".repeat(8));
        words.extend((0..6).map(|_| word(&leader, 0, false)));
        let page = OcrPage {
            page: 2,
            confidence: page_confidence(&words),
            dpi: 300,
            words,
            overran: false,
            size: None,
        };
        // Weighed by their whole length, the six leaders (888 letters) outweigh the thirty
        // words (165 letters): 15. Capped, the page is text, and the leaders stay out of it.
        assert!(page.confidence > 70.0, "{}", page.confidence);
        assert!(
            page.text().starts_with("Diagnosis of Diagnosis"),
            "{}",
            page.text()
        );
        assert!(!page.text().contains("cecc"), "{}", page.text());
        // A page of soup is still soup.
        let soup: Vec<OcrWord> = (0..40).map(|_| word("Wm", 20, false)).collect();
        assert!(page_confidence(&soup) < PAGE_FLOOR);
        assert_eq!(page_confidence(&[]), 0.0);
    }

    #[test]
    fn large_pages_are_rendered_at_less_than_300_dpi() {
        assert_eq!(dpi_for(612.0, 792.0), DPI);
        // A 200-inch poster: its longest side stays within the bound.
        let dpi = dpi_for(14_400.0, 14_400.0);
        assert!(f64::from(dpi) * 200.0 <= MAX_SIDE, "{dpi}");
        assert_eq!(dpi_for(f64::NAN, 0.0), DPI);
    }
}
