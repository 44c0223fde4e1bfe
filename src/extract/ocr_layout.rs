//! A scanned page's lines as a text layer would set them: the font size, baseline and cells of
//! each line, from the boxes of the words OCR read. The metadata reader tells a title from
//! the body by its size and reads the names under it ([`crate::metadata`]); without sizes a
//! scan's title was its first line that read as one ("Cochrane Database of Systematic
//! Reviews", or half a title broken over two lines) and its authors were never found.
//!
//! A word's box spans its ink, not its font's em: "was" is as tall as the letter x, "the" as
//! an ascender, "type" from the ascender to the descender. Each word's box height is divided
//! by the share of an em its letters reach, so that every word of a line gives an estimate of
//! one size, and the line takes their median. Estimates still scatter by a few per cent where
//! a text layer gives one exact size, so the page's line sizes are gathered into styles (a gap
//! of more than [`STYLE_GAP`] between neighbouring sizes parts two), each line taking its
//! style's size.

use super::layout::{PageLayout, StyledLine};
use super::ocr::{OcrPage, OcrWord};

/// The share of an em that lower-case letters without ascenders reach above the baseline (the
/// x-height), and that capitals, digits and ascenders reach; what descenders add below it.
/// Typical of the serif and sans faces papers are set in (Times: 0.45, 0.68, 0.22; Helvetica:
/// 0.52, 0.72, 0.21): a few per cent off for any one face, the same for all its lines.
const X_HEIGHT: f64 = 0.48;
const ASCENDER: f64 = 0.70;
const DESCENDER: f64 = 0.21;

/// Two neighbouring line sizes further apart than this ratio are two styles. A text layer's
/// sizes are exact; OCR's estimates of one size scatter by about 5 %, and a title is set at
/// least a fifth larger than what is under it.
const STYLE_GAP: f64 = 1.12;

/// The largest font size a line set this many points from the next can have: type is set
/// with at least its own size between baselines, and a little less where a title is set
/// tight.
const MAX_SIZE_PER_PITCH: f64 = 1.1;

/// A gap between two words of a line wider than this many ems sets cells apart (names in a
/// row), as [`super::layout`] measures it on a text layer.
const CELL_GAP: f64 = 1.5;

/// The page size assumed where a page read before sizes were kept has none (US letter, in
/// points): only ratios of sizes matter to the rules that read the layout, and those hold.
const LETTER: [f32; 2] = [612.0, 792.0];

/// The layout of a page OCR read: its believed words, line by line as Tesseract read them,
/// each line with a font size and a baseline in points and its cells. Empty where the page
/// gives no text.
pub(crate) fn layout(page: &OcrPage) -> PageLayout {
    let [width, height] = page.size.unwrap_or(LETTER).map(f64::from);
    let mut layout = PageLayout {
        lines: Vec::new(),
        height,
    };
    if page.text().is_empty() {
        return layout;
    }
    // Each line's words, each with whether a mark Tesseract doubted came before it.
    let mut lines: Vec<Vec<(&OcrWord, bool)>> = Vec::new();
    let mut mark = false;
    for word in page.words.iter() {
        // A line starts where Tesseract says so, even where its first word is not believed.
        if word.line_start || lines.is_empty() {
            lines.push(Vec::new());
            mark = false;
        }
        if word.believed() || doubtful_name(word) {
            if let Some(line) = lines.last_mut() {
                line.push((word, mark));
            }
            mark = false;
        } else {
            mark = true;
        }
    }
    let mut sizes = Vec::new();
    for marked in lines.into_iter().filter(|l| !l.is_empty()) {
        let words: Vec<&OcrWord> = marked.iter().map(|m| m.0).collect();
        let mut estimates: Vec<f64> = words.iter().filter_map(|w| em(w, height)).collect();
        let Some(size) = median(&mut estimates) else {
            continue;
        };
        let mut text = String::new();
        let mut cells = Vec::new();
        let mut previous: Option<&OcrWord> = None;
        for &(word, after_mark) in &marked {
            if let Some(p) = previous {
                let gap = f64::from(word.bbox[0] - p.bbox[2]) * width;
                // A doubted mark between two capitalised words stood between two names
                // ("Carlotta Biagi *,† Alessandro Rocca" read as "+t"): it parts them as the
                // comma it often held did.
                let capital = |w: &OcrWord| w.text.chars().next().is_some_and(char::is_uppercase);
                if after_mark && capital(p) && capital(word) && !text.ends_with(',') {
                    text.push(',');
                }
                if gap > CELL_GAP * size {
                    cells.push(text.len() + 1);
                }
                text.push(' ');
            }
            text.push_str(&word.text);
            previous = Some(word);
        }
        // The baseline: where the words without descenders end.
        let mut bottoms: Vec<f64> = words
            .iter()
            .filter(|w| !w.text.chars().any(descends))
            .map(|w| f64::from(w.bbox[3]) * height)
            .collect();
        let top = median(&mut bottoms).unwrap_or_else(|| {
            let mut all: Vec<f64> = words
                .iter()
                .map(|w| f64::from(w.bbox[3]) * height)
                .collect();
            median(&mut all).unwrap_or(0.0) - DESCENDER * size
        });
        sizes.push(size);
        layout.lines.push(StyledLine {
            text,
            size,
            top,
            cells,
        });
    }
    // A line's size cannot be much more than its distance to the lines around it: a skewed
    // scan's boxes run into the next line's and tell a size twice the real one. Lines of a
    // mark or two (a superscript read as a line of its own) do not count as neighbours.
    let letters = |l: &StyledLine| l.text.chars().filter(|c| c.is_alphabetic()).count();
    for (i, size) in sizes.iter_mut().enumerate() {
        let top = layout.lines[i].top;
        let pitch = [i.checked_sub(1), Some(i + 1)]
            .into_iter()
            .flatten()
            .filter_map(|j| layout.lines.get(j))
            .filter(|l| letters(l) >= 4)
            .map(|l| (l.top - top).abs())
            .filter(|&d| d > 1.0)
            .fold(f64::INFINITY, f64::min);
        *size = size.min(pitch * MAX_SIZE_PER_PITCH);
    }
    let styles = styles(&sizes);
    for (line, size) in layout.lines.iter_mut().zip(styles) {
        line.size = size;
    }
    layout
}

/// A word Tesseract doubts that may be a name all the same: three letters or more. An
/// author's name with its affiliation marks glued on ("Ball1,*" read as "Ball'’,") is read
/// at a confidence of a few per cent; left out, the names on either side ran together.
fn doubtful_name(word: &OcrWord) -> bool {
    word.text.chars().filter(|c| c.is_alphabetic()).count() >= 3
}

/// Where OCR read the paper's first page, its layout is OCR's: the metadata reader finds the
/// title by its size and the names under it there. That is the page the text layer's layout
/// was of (a poor OCR layer read again), or, where no page had a text layer, the first page
/// OCR found text on.
pub(super) fn set_first_page_layout(raw: &mut super::RawPdf) {
    let at = raw.embedded.as_ref().and_then(|e| e.first_page_at);
    let first = at.unwrap_or_else(|| {
        raw.pages
            .iter()
            .position(|p| !super::opening::blank(p))
            .unwrap_or(raw.pages.len())
    });
    let Some(page) = raw.ocr.iter().find(|p| p.page as usize == first + 1) else {
        return;
    };
    let layout = layout(page);
    let embedded = raw.embedded.get_or_insert_with(Default::default);
    embedded.first_page = layout;
    embedded.first_page_at = Some(first);
}

/// The em a word's box gives (its font size, in points): its ink's height over the share of
/// an em its letters reach. `None` for a word of no letter or digit, or one with brackets or
/// slashes (they reach past both the ascender and the descender).
fn em(word: &OcrWord, page_height: f64) -> Option<f64> {
    let text = &word.text;
    if !text.chars().any(char::is_alphanumeric)
        || text.contains(['(', ')', '[', ']', '{', '}', '/', '|', '\\'])
    {
        return None;
    }
    let tall = text.chars().any(|c| {
        c.is_uppercase()
            || c.is_ascii_digit()
            || matches!(c, 'b' | 'd' | 'f' | 'h' | 'i' | 'k' | 'l' | 't' | 'j')
            || (c.is_alphabetic() && !c.is_ascii())
    });
    let reach = if tall { ASCENDER } else { X_HEIGHT }
        + if text.chars().any(descends) {
            DESCENDER
        } else {
            0.0
        };
    let ink = f64::from(word.bbox[3] - word.bbox[1]) * page_height;
    (ink > 0.0).then(|| ink / reach)
}

/// Letters that reach below the baseline.
fn descends(c: char) -> bool {
    matches!(c, 'g' | 'j' | 'p' | 'q' | 'y')
}

/// The median of `values` (sorted in place), `None` where there are none.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Each size's style: sizes sorted and parted where a neighbour is more than [`STYLE_GAP`]
/// larger; every size in a part takes the part's median. In the order given.
fn styles(sizes: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| sizes[a].total_cmp(&sizes[b]));
    let mut out = vec![0.0; sizes.len()];
    let mut start = 0;
    for i in 1..=order.len() {
        let parted = i == order.len() || sizes[order[i]] > sizes[order[i - 1]] * STYLE_GAP;
        if parted {
            let part = &order[start..i];
            let mut values: Vec<f64> = part.iter().map(|&j| sizes[j]).collect();
            let size = median(&mut values).unwrap_or(0.0);
            for &j in part {
                out[j] = size;
            }
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word at `left` (share of the width) on a line whose baseline is at `baseline` (share
    /// of the height), in a font of `size` points on a letter page, its box drawn as its
    /// letters reach.
    fn word(text: &str, left: f32, baseline: f32, size: f32, line_start: bool) -> OcrWord {
        let em = size / 792.0;
        let tall = text
            .chars()
            .any(|c| c.is_uppercase() || "bdfhiklt".contains(c));
        let deep = text.chars().any(descends);
        let above = if tall { 0.70 } else { 0.48 } * em;
        let below = if deep { 0.21 } else { 0.0 } * em;
        let wide = text.len() as f32 * size * 0.5 / 612.0;
        OcrWord {
            text: text.into(),
            confidence: 93,
            bbox: [left, baseline - above, left + wide, baseline + below],
            line_start,
        }
    }

    /// Page 1, read at 300 dpi with this mean confidence.
    fn page(words: Vec<OcrWord>, confidence: f32, size: Option<[f32; 2]>) -> OcrPage {
        OcrPage {
            page: 1,
            confidence,
            dpi: 300,
            words,
            overran: false,
            size,
        }
    }

    fn line(words: &str, left: f32, baseline: f32, size: f32) -> Vec<OcrWord> {
        let mut x = left;
        words
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| {
                let out = word(w, x, baseline, size, i == 0);
                x = out.bbox[2] + size * 0.25 / 612.0;
                out
            })
            .collect()
    }

    #[test]
    fn a_scanned_title_is_set_larger_than_the_names_and_the_body_under_it() {
        let mut words = Vec::new();
        words.extend(line(
            "Complications related to deep venous",
            0.1,
            0.10,
            18.0,
        ));
        words.extend(line("thrombosis prophylaxis in trauma", 0.1, 0.13, 18.5));
        words.extend(line("Pallavi Datta and Chad Ball", 0.1, 0.17, 11.0));
        for i in 0..12 {
            words.extend(line(
                "Venous thromboembolism is a frequent complication of major trauma and its",
                0.1,
                0.25 + i as f32 * 0.016,
                if i % 2 == 0 { 9.6 } else { 10.2 },
            ));
        }
        let layout = layout(&page(words, 93.0, Some([612.0, 792.0])));
        assert_eq!(layout.lines.len(), 15);
        assert_eq!(layout.lines[0].text, "Complications related to deep venous");
        // The two title lines are one style, larger than the body; the body's lines one.
        let (t0, t1) = (layout.lines[0].size, layout.lines[1].size);
        assert_eq!(t0, t1);
        assert!((17.0..20.0).contains(&t0), "{t0}");
        let body: Vec<f64> = layout.lines[3..].iter().map(|l| l.size).collect();
        assert!(body.iter().all(|&s| s == body[0]), "{body:?}");
        assert!((9.0..11.0).contains(&body[0]), "{}", body[0]);
        assert!(layout.lines[2].size < t0 * 0.8);
        // Baselines in points, from the top.
        assert!((layout.lines[1].top - 0.13 * 792.0).abs() < 0.5);
        assert_eq!(layout.height, 792.0);
    }

    #[test]
    fn names_set_apart_in_a_row_are_cells() {
        let mut words = line("Anna Berg", 0.1, 0.2, 10.0);
        words.extend(line("Carl Dahl", 0.45, 0.2, 10.0));
        words[2].line_start = false;
        let layout = layout(&page(words, 93.0, None));
        assert_eq!(layout.lines.len(), 1);
        assert_eq!(layout.lines[0].text, "Anna Berg Carl Dahl");
        assert_eq!(layout.lines[0].cells, vec!["Anna Berg ".len()]);
    }

    #[test]
    fn a_doubted_mark_between_two_names_parts_them() {
        let mut words = line(
            "Carlotta Biagi +t Alessandro Rocca, Giulia Poletti",
            0.1,
            0.2,
            10.0,
        );
        words.extend(line("Oral Class I and III drugs", 0.1, 0.3, 10.0));
        for w in words.iter_mut().filter(|w| w.text == "+t" || w.text == "I") {
            w.confidence = 10;
        }
        let layout = layout(&page(words, 93.0, None));
        assert_eq!(
            layout.lines[0].text,
            "Carlotta Biagi, Alessandro Rocca, Giulia Poletti"
        );
        // Not before a word in lower case: a title's doubted word leaves no comma.
        assert_eq!(layout.lines[1].text, "Oral Class and III drugs");
    }

    #[test]
    fn a_page_without_text_has_no_lines() {
        let soup = page(line("soup of letters", 0.1, 0.2, 10.0), 20.0, None);
        assert!(layout(&soup).lines.is_empty());
    }

    #[test]
    fn sizes_close_together_are_one_style_and_a_gap_parts_them() {
        let got = styles(&[10.0, 18.0, 9.6, 10.3, 17.4, 12.0]);
        assert_eq!(got[0], got[2]);
        assert_eq!(got[0], got[3]);
        assert_eq!(got[1], got[4]);
        assert_ne!(got[0], got[1]);
        // 12 is more than 12 % above 10.3: a style of its own.
        assert_eq!(got[5], 12.0);
        assert!(styles(&[]).is_empty());
    }
}
