//! What on a rendered page is ink, and how much of it a reading left unread: whether a page
//! is blank (nothing to read), and whether its first reading lost type that a second one,
//! thresholded otherwise, may find (docs/OCR.md, "Pale type and tinted panels").

use super::ocr::OcrWord;
use super::poppler;

/// The share of inked pixels below which a page is blank: a line of body text alone is about
/// 0.1 % of a page's pixels at 300 dpi.
pub(super) const BLANK_INK: f64 = 0.0002;

/// How far (of 255 levels) a pixel's gray must be from the paper's to be ink.
const INK_CONTRAST: u8 = 48;

/// The share of a page's ink that no believed word may cover before the page is read again
/// tile by tile ([`super::tesseract::Threshold::Tiled`]): the 23 pages of a PMC review leave
/// 2 to 19 % of their ink outside their words' boxes (rules, tables' lines, logos), and
/// booklet pages whose coloured type the page-wide threshold lost 20 to 99 %.
pub(super) const UNREAD_INK: f64 = 0.2;

/// The share of a page's ink (further than [`INK_CONTRAST`] from the `paper` gray) outside
/// the boxes of the words a reading believes.
pub(super) fn unread_ink(image: &poppler::Gray, paper: u8, words: &[OcrWord]) -> f64 {
    let (w, h) = (image.width, image.height);
    let mut covered = vec![false; w * h];
    for word in words.iter().filter(|word| word.believed()) {
        let [left, top, right, bottom] = word.bbox;
        let x = |f: f32| ((f.clamp(0.0, 1.0) * w as f32) as usize).min(w);
        let y = |f: f32| ((f.clamp(0.0, 1.0) * h as f32) as usize).min(h);
        let (x0, x1) = (x(left), x(right).max(x(left)));
        for row in y(top)..y(bottom) {
            covered[row * w + x0..row * w + x1].fill(true);
        }
    }
    let (mut ink, mut unread) = (0usize, 0usize);
    for (&p, &c) in image.pixels.iter().zip(&covered) {
        if p.abs_diff(paper) > INK_CONTRAST {
            ink += 1;
            unread += usize::from(!c);
        }
    }
    unread as f64 / ink.max(1) as f64
}

/// How many of a page's pixels have each gray.
pub(super) struct Grays {
    counts: [usize; 256],
    pixels: usize,
}

impl Grays {
    /// Counts the grays of `image`.
    pub(super) fn of(image: &poppler::Gray) -> Grays {
        let mut counts = [0usize; 256];
        for &p in &image.pixels {
            counts[p as usize] += 1;
        }
        Grays {
            counts,
            pixels: image.pixels.len(),
        }
    }

    /// The paper's gray: the page's commonest.
    pub(super) fn paper(&self) -> u8 {
        (0..=255u8)
            .max_by_key(|&g| self.counts[g as usize])
            .unwrap_or(255)
    }

    /// The share of the pixels that are ink: further than [`INK_CONTRAST`] from the paper's
    /// gray. Not "darker than middle gray": a patient booklet's page set in pink or cyan
    /// renders at grays of 150 to 210, which that counted as a blank page (nothing read, a
    /// page of text lost); and white type on a dark panel is ink too.
    pub(super) fn ink(&self) -> f64 {
        let paper = self.paper();
        let inked: usize = (0..=255u8)
            .filter(|g| g.abs_diff(paper) > INK_CONTRAST)
            .map(|g| self.counts[g as usize])
            .sum();
        inked as f64 / self.pixels.max(1) as f64
    }
}

/// The share of a page's pixels that are ink ([`Grays::ink`]).
#[cfg(test)]
fn ink(image: &poppler::Gray) -> f64 {
    Grays::of(image).ink()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page of `width` by `height` pixels.
    fn white(width: usize, height: usize) -> poppler::Gray {
        poppler::Gray {
            width,
            height,
            pixels: vec![255; width * height],
        }
    }

    #[test]
    fn a_blank_page_has_no_ink_and_a_line_of_text_has_some() {
        let (width, height) = (2550, 3300);
        let mut page = white(width, height);
        assert!(ink(&page) < BLANK_INK);
        // One line of 10-point text: about 2,000 pixels across, a third of its 40 inked.
        for x in 300..2300 {
            for y in (600..640).step_by(3) {
                page.pixels[y * width + x] = 0;
            }
        }
        assert!(ink(&page) > BLANK_INK, "{}", ink(&page));
        // The same line in pale pink (gray 180), and a page's speckle of scanner dust
        // (gray 230 dots), which is not ink.
        let mut pale = page.clone();
        pale.pixels
            .iter_mut()
            .filter(|p| **p == 0)
            .for_each(|p| *p = 180);
        assert!(ink(&pale) > BLANK_INK, "{}", ink(&pale));
        let mut dust = white(width, height);
        dust.pixels.iter_mut().step_by(97).for_each(|p| *p = 230);
        assert!(ink(&dust) < BLANK_INK, "{}", ink(&dust));
        // White type on a dark panel.
        let mut dark = page.clone();
        dark.pixels.iter_mut().for_each(|p| *p = 255 - *p);
        assert!(ink(&dark) > BLANK_INK, "{}", ink(&dark));
        dark.pixels.iter_mut().for_each(|p| *p = 0);
        assert!(ink(&dark) < BLANK_INK);
    }

    #[test]
    fn ink_outside_the_words_believed_is_unread() {
        // Two lines of type of equal ink; a reading that found words over the first only.
        let (width, height) = (1000, 1000);
        let mut page = white(width, height);
        for y in [100, 500] {
            for row in y..y + 20 {
                page.pixels[row * width + 100..row * width + 900].fill(0);
            }
        }
        let boxed = |bbox: [f32; 4], confidence| OcrWord {
            text: "Heading".into(),
            confidence,
            bbox,
            line_start: true,
        };
        let first = [boxed([0.09, 0.09, 0.91, 0.13], 95)];
        let half = unread_ink(&page, 255, &first);
        assert!((half - 0.5).abs() < 0.01, "{half}");
        assert!(half > UNREAD_INK);
        let both = [first[0].clone(), boxed([0.09, 0.49, 0.91, 0.53], 95)];
        assert_eq!(unread_ink(&page, 255, &both), 0.0);
        // A word Tesseract does not believe covers nothing: its ink is still unread.
        let doubted = [first[0].clone(), boxed([0.09, 0.49, 0.91, 0.53], 10)];
        assert!((unread_ink(&page, 255, &doubted) - 0.5).abs() < 0.01);
        // Boxes past the page's edges are clipped, not a panic.
        let wild = [boxed([-0.5, 0.9, 1.5, 2.0], 95)];
        assert_eq!(unread_ink(&page, 255, &wild), 1.0);
    }
}
