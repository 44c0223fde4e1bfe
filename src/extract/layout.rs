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
}

/// Collects one page's text; see the module documentation.
#[derive(Debug, Default)]
pub(super) struct PageText {
    text: String,
    page_height: f64,
    last: Option<Glyph>,
    /// Whether the text ends in whitespace (or nothing), so that no second space is added.
    at_space: bool,
}

impl PageText {
    pub(super) fn new() -> Self {
        PageText {
            at_space: true,
            ..Default::default()
        }
    }

    /// The page's text: lines separated by `\n`, words by spaces.
    pub(super) fn into_text(self) -> String {
        self.text
    }

    fn push_break(&mut self, c: char) {
        if c == '\n' {
            // A line break replaces a trailing space.
            while self.text.ends_with(' ') {
                self.text.pop();
            }
            self.text.push('\n');
            self.at_space = true;
        } else if !self.at_space {
            self.text.push(c);
            self.at_space = true;
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
        };
        if let Some(last) = self.last {
            let same_direction = last.dx * dx + last.dy * dy > 0.99;
            // How far the baselines are apart, how far this glyph starts past the last one's
            // end, and whether it moved back along the line (a new line, a new column).
            let across = ((x - last.x) * -dy + (y - last.y) * dx).abs();
            let along = (x - last.end_x) * dx + (y - last.end_y) * dy;
            let back = (x - last.x) * dx + (y - last.y) * dy < -size * 0.5;
            if !same_direction || across > size * 1.5 || (back && across > size * 0.5) {
                self.push_break('\n');
            } else if along > size * WORD_GAP && !glyph.starts_with(char::is_whitespace) {
                self.push_break(' ');
            }
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
