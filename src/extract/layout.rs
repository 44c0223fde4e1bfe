//! A page's text from the positions of its glyphs.
//!
//! pdf-extract hands every glyph to an output device with its position, advance and font size;
//! its own plain-text device decides on a space only at the first glyph of each text-showing
//! operator. Producers that set a whole line in one operator and move words apart by kerning
//! (`[(prevention) -250 (of) -250 (DVT)] TJ`), or that draw letter by letter, then come out
//! glued ("preventionofDVT"). This device, as poppler's does, looks at every glyph: a gap along
//! the line wider than a fraction of the font size is a space, a step to another baseline is a
//! line break. Lines are measured in the text's own direction, so text set sideways (the tab
//! labels along a guideline's margin) reads as words, not as one letter per line.

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

/// A gap along the line wider than this fraction of the font size separates two words.
/// Kerning stays well under it (a few hundredths of an em); a word space is about a quarter
/// of an em. Measured against poppler on the shared papers (docs/EXTRACTION.md).
const WORD_GAP: f64 = 0.1;
/// A space glyph that starts further back than this (in ems) over the ligature before it is
/// drawn over that glyph, not after it: the font's placeholder, not a word space (measured:
/// -0.25 and -0.28 ems, the space's own width taken back).
const OVERDRAWN: f64 = 0.15;

/// A glyph set this much smaller than the letter before it, and raised by this much of that
/// letter's size, is a superscript: journals set a citation's number at about 0.6 to 0.7 of
/// the text's size, a third of an em up; a change of font within a word (italic, bold) keeps
/// the size and the baseline.
const SUPERSCRIPT_SIZE: f64 = 0.85;
const SUPERSCRIPT_RISE: f64 = 0.15;

/// Whether a glyph is a ligature of f: one of Unicode's ("ﬁ") or its letters mapped to one
/// glyph ("fi").
fn is_ligature(glyph: &str) -> bool {
    matches!(glyph, "ff" | "fi" | "fl" | "ffi" | "ffl")
        || glyph
            .chars()
            .any(|c| ('\u{FB00}'..='\u{FB04}').contains(&c))
}

/// A gap along the line wider than this many ems sets cells apart (names in a row, a table's
/// columns), not words: a justified line's widest word space stays under one em.
const CELL_GAP: f64 = 1.5;

/// Stands for a cell gap in a line's text until the line is closed.
const CELL_MARK: &str = "\u{E000}";

/// Where a glyph was drawn, in device space (y growing down the page).
#[derive(Debug, Clone, Copy)]
struct Glyph {
    x: f64,
    y: f64,
    /// The unit vector of the text's direction.
    dx: f64,
    dy: f64,
    /// Where the next glyph would start without any gap.
    end_x: f64,
    end_y: f64,
    /// Whether it is a ligature ("ﬁ", or "fi" as one glyph).
    ligature: bool,
    /// Whether it is a letter (a superscript after one is a citation's number).
    letter: bool,
    /// Its font size on the page.
    size: f64,
}

/// One line of a page as it was set: its text, the font size most of its letters have, and
/// where its baseline is. The metadata reader finds a title by it (the largest text near the
/// top of the first page) and the authors' line below it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StyledLine {
    /// The line's text, as drawn.
    pub text: String,
    /// The font size (in points on the page) of most of its letters.
    pub size: f64,
    /// Its baseline's distance from the top of the page, in points.
    pub top: f64,
    /// Where in `text` (byte offsets, at the start of a word) a gap of more than 1.5 ems
    /// came before: the line's cells, such as authors' names set apart in a row.
    pub cells: Vec<usize>,
}

/// A page's lines with their styles, and the page's height.
#[derive(Debug, Clone, Default)]
pub struct PageLayout {
    /// The lines, in the order drawn.
    pub lines: Vec<StyledLine>,
    /// The page's height, in points.
    pub height: f64,
}

/// Collects one page's text; see the module documentation.
#[derive(Debug, Default)]
pub(super) struct PageText {
    text: String,
    page_height: f64,
    last: Option<Glyph>,
    /// Whether the text ends in whitespace (or nothing), so that no second space is added.
    at_space: bool,
    /// Whether to keep the lines' styles (the first page only: nothing else asks for them).
    styled: bool,
    lines: Vec<StyledLine>,
    /// The current line's glyphs (text, size in tenths of a point, whether a space came
    /// before it, whether a cell gap did) and its baseline.
    line_glyphs: Vec<(String, u32, bool, bool)>,
    line_top: Option<f64>,
    /// A space was put in before the next glyph.
    space_pending: bool,
    /// A cell gap came before the next glyph.
    cell_pending: bool,
}

impl PageText {
    pub(super) fn new() -> Self {
        PageText {
            at_space: true,
            ..Default::default()
        }
    }

    /// A page whose lines' styles are kept too ([`PageText::into_parts`]).
    pub(super) fn styled() -> Self {
        PageText {
            styled: true,
            ..PageText::new()
        }
    }

    /// The page's text (lines separated by `\n`, words by spaces) and, where kept, its lines
    /// with their styles.
    pub(super) fn into_parts(mut self) -> (String, PageLayout) {
        self.end_styled_line();
        let layout = PageLayout {
            lines: std::mem::take(&mut self.lines),
            height: self.page_height,
        };
        (self.text, layout)
    }

    /// Closes the current line's record: the size most of its letters have, and its text
    /// without the glyphs set much smaller (superscript affiliation marks, "Gong^a").
    fn end_styled_line(&mut self) {
        if !self.styled {
            return;
        }
        let glyphs = std::mem::take(&mut self.line_glyphs);
        let top = self.line_top.take();
        let mut sizes: Vec<u32> = glyphs
            .iter()
            .filter(|g| g.0.chars().any(char::is_alphanumeric))
            .map(|g| g.1)
            .collect();
        sizes.sort_unstable();
        // The most common size: superscript marks and a drop cap do not make the line.
        let mut best = (0, 0);
        let mut i = 0;
        while i < sizes.len() {
            let run = sizes[i..].iter().take_while(|&&x| x == sizes[i]).count();
            if run > best.1 {
                best = (sizes[i], run);
            }
            i += run;
        }
        let mut text = String::new();
        let (mut space, mut cell) = (false, false);
        for (glyph, size, before, wide) in &glyphs {
            space |= *before;
            cell |= *wide;
            if *size * 4 < best.0 * 3 {
                continue;
            }
            if cell && !text.is_empty() {
                text.push(' ');
                text.push_str(CELL_MARK);
            }
            if space && !text.is_empty() {
                text.push(' ');
            }
            (space, cell) = (false, false);
            text.push_str(glyph);
        }
        // Words joined by single spaces; where a cell gap was, its offset.
        let (mut joined, mut cells) = (String::new(), Vec::new());
        for word in text.split_whitespace() {
            if let Some(rest) = word.strip_prefix(CELL_MARK) {
                if !joined.is_empty() && cells.last() != Some(&(joined.len() + 1)) {
                    cells.push(joined.len() + 1);
                }
                if rest.is_empty() {
                    continue;
                }
            }
            let word = word.trim_start_matches(CELL_MARK);
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(word);
        }
        cells.retain(|&at| at < joined.len());
        if let (false, Some(top)) = (joined.is_empty(), top) {
            self.lines.push(StyledLine {
                text: joined,
                size: f64::from(best.0) / 10.0,
                top,
                cells,
            });
        }
    }

    fn push_break(&mut self, c: char) {
        if c == '\n' {
            // A line break replaces a trailing space.
            while self.text.ends_with(' ') {
                self.text.pop();
            }
            self.end_styled_line();
            self.text.push('\n');
            self.at_space = true;
        } else if !self.at_space {
            self.text.push(c);
            self.at_space = true;
            self.space_pending = true;
        }
    }
}

impl OutputDev for PageText {
    fn begin_page(
        &mut self,
        _page: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.page_height = media_box.ury - media_box.lly;
        self.last = None;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        glyph: &str,
    ) -> Result<(), OutputError> {
        // The text matrix's x axis is the direction of the text; its lengths scale the font.
        let row = trm.m11.hypot(trm.m12);
        let column = trm.m21.hypot(trm.m22);
        if !(row.is_finite() && column.is_finite() && row > 0.0) {
            return Ok(());
        }
        let (x, y) = (trm.m31, self.page_height - trm.m32);
        let (dx, dy) = (trm.m11 / row, -trm.m12 / row);
        let size = (row * column).sqrt() * font_size.abs();
        // The glyph's own width, with letter spacing only where it tightens: some producers
        // set a large character spacing and take it back with kerning before each glyph
        // (bioRxiv and Nature titles), so that adding it would swallow every word space.
        let advance = (width * font_size + spacing.min(0.0)) * row;
        let current = Glyph {
            x,
            y,
            dx,
            dy,
            end_x: x + advance * dx,
            end_y: y + advance * dy,
            ligature: is_ligature(glyph),
            letter: glyph.chars().all(char::is_alphabetic) && !glyph.is_empty(),
            size,
        };
        if let Some(last) = self.last {
            let same_direction = last.dx * dx + last.dy * dy > 0.99;
            // How far the baselines are apart, how far this glyph starts past the last one's
            // end, and whether it moved back along the line (a new line, a new column).
            let across = ((x - last.x) * -dy + (y - last.y) * dx).abs();
            let along = (x - last.end_x) * dx + (y - last.end_y) * dy;
            let back = (x - last.x) * dx + (y - last.y) * dy < -size * 0.5;
            // A space drawn back over the ligature before it is no word space: some fonts
            // map a ligature to two codes, "ﬁ" and a space, and take the space's width
            // back by kerning ("signiﬁ cant", "inﬂ uenza" in Emerging Infectious
            // Diseases and Lancet PDFs). A real space starts where the glyph before ends;
            // where the next word is apart, the gap says so anyway.
            if last.ligature
                && same_direction
                && across < size * 0.5
                && along < -size * OVERDRAWN
                && glyph.chars().all(char::is_whitespace)
                && !glyph.is_empty()
            {
                return Ok(());
            }
            // A citation's number set as a superscript right after its word ("colleagues³²")
            // is a word of its own: run into the word, neither is found ("colleagues32",
            // "translation1,2": about 900 words over the 132 papers of the page sets). So is
            // an author's mark of affiliation ("Madhu¹").
            let raised = (last.y - y) * dx + (x - last.x) * dy;
            let superscript = same_direction
                && last.letter
                && size < last.size * SUPERSCRIPT_SIZE
                && raised > last.size * SUPERSCRIPT_RISE
                && across < last.size
                && glyph.starts_with(|c: char| c.is_ascii_digit())
                // After a word, not a unit's or a symbol's letter or two ("kg/m²", "mm³",
                // "χ²", "I²", "Mn²⁺"), which keep their power.
                && self.text.chars().rev().take_while(|c| c.is_alphabetic()).nth(2).is_some();
            if !same_direction || across > size * 1.5 || (back && across > size * 0.5) {
                self.push_break('\n');
            } else if superscript {
                self.push_break(' ');
            } else if along > size * WORD_GAP && !glyph.starts_with(char::is_whitespace) {
                self.push_break(' ');
                self.cell_pending |= along > size * CELL_GAP;
            }
        }
        // Bounded: a line of ten thousand glyphs is not a title's or an author's.
        if self.styled && !glyph.is_empty() && self.line_glyphs.len() < 10_000 {
            if glyph.chars().any(char::is_alphanumeric) {
                self.line_top.get_or_insert(y);
            }
            let tenths = if size.is_finite() {
                (size * 10.0).round().clamp(0.0, 1e6)
            } else {
                0.0
            };
            let before =
                std::mem::take(&mut self.space_pending) || glyph.starts_with(char::is_whitespace);
            let wide = std::mem::take(&mut self.cell_pending);
            self.line_glyphs
                .push((glyph.to_string(), tenths as u32, before, wide));
        }
        if !glyph.is_empty() {
            self.text.push_str(glyph);
            self.at_space = glyph.ends_with(char::is_whitespace);
        }
        self.last = Some(current);
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of one line of glyphs, each `(glyph, its width in ems, where it starts in
    /// ems from the line's start)`, set at 10 points.
    fn line_of(glyphs: &[(&str, f64, f64)]) -> String {
        let glyphs: Vec<(&str, f64, f64, f64, f64)> = glyphs
            .iter()
            .map(|&(g, width, at)| (g, width, at, 10.0, 0.0))
            .collect();
        line_with(&glyphs)
    }

    /// [`line_of`], each glyph with its own size in points and its rise above the line's
    /// baseline in points.
    fn line_with(glyphs: &[(&str, f64, f64, f64, f64)]) -> String {
        let mut page = PageText::new();
        let media = MediaBox {
            llx: 0.0,
            lly: 0.0,
            urx: 600.0,
            ury: 800.0,
        };
        page.begin_page(1, &media, None).unwrap();
        for &(glyph, width, at, size, rise) in glyphs {
            let trm = Transform::row_major(1.0, 0.0, 0.0, 1.0, 50.0 + at * 10.0, 700.0 + rise);
            page.output_character(&trm, width, 0.0, size, glyph)
                .unwrap();
        }
        page.into_parts().0.trim().to_string()
    }

    /// "signiﬁcant all", its ligature's space placeholder drawn `back` ems over the ligature.
    fn significant(back: f64) -> Vec<(&'static str, f64, f64)> {
        let mut glyphs = Vec::new();
        let mut at = 0.0;
        for (g, w) in [("s", 0.4), ("i", 0.25), ("g", 0.5), ("n", 0.5), ("i", 0.25)] {
            glyphs.push((g, w, at));
            at += w;
        }
        glyphs.push(("\u{FB01}", 0.55, at));
        at += 0.55;
        glyphs.push((" ", 0.25, at - back));
        at += 0.25 - back;
        for (g, w) in [("c", 0.45), ("a", 0.45), ("n", 0.5), ("t", 0.3)] {
            glyphs.push((g, w, at));
            at += w;
        }
        // A word space after it, and the next word.
        glyphs.push((" ", 0.25, at));
        glyphs.push(("a", 0.45, at + 0.25));
        glyphs.push(("l", 0.25, at + 0.7));
        glyphs.push(("l", 0.25, at + 0.95));
        glyphs
    }

    #[test]
    fn a_space_drawn_back_over_a_ligature_is_no_word_space() {
        assert_eq!(line_of(&significant(0.25)), "signiﬁcant all");
        // A space that starts where the ligature ends is one ("staff were").
        assert_eq!(line_of(&significant(0.0)), "signiﬁ cant all");
    }

    /// `word` at 10 points, then `mark` set at `size` points and raised by `rise` points.
    fn word_and_mark(word: &str, mark: &str, size: f64, rise: f64) -> String {
        let letters: Vec<String> = word.chars().map(String::from).collect();
        let marks: Vec<String> = mark.chars().map(String::from).collect();
        let mut glyphs = Vec::new();
        let mut at = 0.0;
        for letter in &letters {
            glyphs.push((letter.as_str(), 0.5, at, 10.0, 0.0));
            at += 0.5;
        }
        for m in &marks {
            glyphs.push((m.as_str(), 0.3, at, size, rise));
            at += 0.3 * size / 10.0;
        }
        line_with(&glyphs)
    }

    #[test]
    fn a_citation_set_as_a_superscript_is_a_word_of_its_own() {
        assert_eq!(word_and_mark("colleagues", "32", 6.5, 3.5), "colleagues 32");
        // A unit's power keeps its letter; a digit on the baseline or as large stays too.
        assert_eq!(word_and_mark("kg/m", "2", 6.5, 3.5), "kg/m2");
        assert_eq!(word_and_mark("HbA", "1", 10.0, 0.0), "HbA1");
        assert_eq!(word_and_mark("covid", "19", 10.0, 3.5), "covid19");
    }
}
