//! Pages scanned turned: a landscape table printed sideways, a sheet fed upside down. OCR
//! reads such a page again turned upright ([`super::ocr`]), and its words' boxes come back to
//! the page as it is shown, so that a highlight lands on the sideways text.

use super::poppler::Gray;

/// The image turned `degrees` (90, 180 or 270) clockwise; any other angle leaves it as it is.
pub(crate) fn turn_image(image: &Gray, degrees: u32) -> Gray {
    let (w, h) = (image.width, image.height);
    let px = &image.pixels;
    let mut out = vec![255u8; px.len()];
    match degrees {
        90 => {
            // The turned image is h wide and w high: its row y is the old column y, read
            // from the bottom row up.
            for y in 0..w {
                for x in 0..h {
                    out[y * h + x] = px[(h - 1 - x) * w + y];
                }
            }
        }
        180 => {
            for (i, p) in px.iter().rev().enumerate() {
                out[i] = *p;
            }
        }
        270 => {
            for y in 0..w {
                for x in 0..h {
                    out[y * h + x] = px[x * w + (w - 1 - y)];
                }
            }
        }
        _ => return image.clone(),
    }
    let (width, height) = if degrees == 180 { (w, h) } else { (h, w) };
    Gray {
        width,
        height,
        pixels: out,
    }
}

/// A word's box on an image turned `degrees` clockwise ([`turn_image`]), as shares of that
/// image, brought back to the page as displayed: left, top, right, bottom.
pub(crate) fn unturn_box(b: [f32; 4], degrees: u32) -> [f32; 4] {
    let [l, t, r, bottom] = b;
    match degrees {
        90 => [t, 1.0 - r, bottom, 1.0 - l],
        180 => [1.0 - r, 1.0 - bottom, 1.0 - l, 1.0 - t],
        270 => [1.0 - bottom, l, 1.0 - t, r],
        _ => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turned_image_and_its_boxes_come_back_to_the_page() {
        // A 7 x 4 page with one dark block, columns 1-2 and rows 1-1 (a word near the top
        // left).
        let (w, h) = (7usize, 4usize);
        let mut pixels = vec![255u8; w * h];
        pixels[w + 1] = 0;
        pixels[w + 2] = 0;
        let page = Gray {
            width: w,
            height: h,
            pixels,
        };
        // The block's box as shares of an image, from its dark pixels.
        let dark_box = |g: &Gray| {
            let (mut l, mut t, mut r, mut b) = (usize::MAX, usize::MAX, 0, 0);
            for y in 0..g.height {
                for x in 0..g.width {
                    if g.pixels[y * g.width + x] == 0 {
                        (l, t, r, b) = (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1));
                    }
                }
            }
            let (gw, gh) = (g.width as f32, g.height as f32);
            [l as f32 / gw, t as f32 / gh, r as f32 / gw, b as f32 / gh]
        };
        let truth = dark_box(&page);
        for turn in [90, 180, 270] {
            let turned = turn_image(&page, turn);
            let quarter = turn != 180;
            assert_eq!(
                (turned.width, turned.height),
                if quarter { (h, w) } else { (w, h) }
            );
            let back = unturn_box(dark_box(&turned), turn);
            for (a, b) in back.iter().zip(truth) {
                assert!((a - b).abs() < 1e-6, "{turn}: {back:?} vs {truth:?}");
            }
        }
        // A quarter turn one way and the other is the page itself; so are two halves.
        let round = turn_image(&turn_image(&page, 90), 270);
        assert_eq!(round.pixels, page.pixels);
        let round = turn_image(&turn_image(&page, 180), 180);
        assert_eq!(round.pixels, page.pixels);
        assert_eq!(turn_image(&page, 45).pixels, page.pixels);
    }
}
