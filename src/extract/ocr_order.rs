//! A scanned page's words put back in order where Tesseract's layout analysis parts papers
//! wrongly in ways the page itself gives away: two columns read as one, the numbers of a list
//! set with a hanging indent, a two-column page's running head and foot. Each was found
//! comparing the scans of the page sets' 35 papers with the papers' own text (docs/OCR.md);
//! the words it misreads are `extract::ocr_misread`'s.
//!
//! A numbered reference list (or any list whose numbers hang in a margin of their own) reads
//! as two blocks: first the column of numbers ("19." "20." ... "32."), each a line of one
//! word, then the entries without their numbers. A text layer keeps "27. Ahmad U, Anwar A
//! ..." together. Without the numbers, a reference list no longer reads as one
//! ([`crate::chunk::is_reference_list`] wants a numbered entry where a passage holds few
//! years), so a scan's references were searched and chosen as the page that answers, where
//! the original's were weighed down; and a citation "[27]" could not be found in the text.
//! Each number is put back at the start of the line it stands beside.
//!
//! And a page's running head and foot, where it is set in two columns: Tesseract reads the
//! left column down to the foot printed under it, then the right column from the head
//! printed over it, so both landed mid-page. The running heads are found as the lines that
//! repeat in the first and last lines of the pages ([`super::text::split_running_heads`]),
//! and these were not: "Empagliflozin Reduces Left Ventricular Volumes in HFrEF" stayed in
//! the text of every page of a scanned trial, beside the body that says so once. Lines set
//! apart at the top and bottom of the page are put first and last.
//!
//! And two columns read as one: where a column sits on a tinted or patterned box, Tesseract
//! may not see the gutter, and reads each line across both columns ("4. Do not reuse a
//! syringe to enter a placed on surfaces that are most likely to become"). The gutter is
//! still on the page, a band no word crosses ([`split_merged_columns`]).

use super::ocr::OcrWord;

/// Every mend of this module on one page's words, in the order they build on each other: the
/// columns parted first (the other mends read lines), the numbers next (a moved number makes
/// its entry's line start with it), then the margins.
pub(super) fn mend(words: &mut Vec<OcrWord>) {
    split_merged_columns(words);
    attach_hanging_labels(words);
    margins_first_and_last(words);
}

/// How far from the top or the bottom of the page (a share of its height) a running head
/// or foot may lie: journals set them within the outer tenth, the body's first and last
/// lines start within it too, and the gap tells them apart ([`MARGIN_GAP`]).
const MARGIN_BAND: f32 = 0.12;

/// How much wider than the page's median line height the blank band between a head (or a
/// foot) and the body is at least: the measured pages set 2 to 3 line heights apart, where
/// the body's lines follow each other with a few tenths of a line between them.
const MARGIN_GAP: f32 = 1.5;

/// How far right of a number, as a share of the page's width, its entry's line may start: a
/// hanging indent is a few characters (the echinococcosis guideline's is 1 %); a second
/// column of text starts much further away.
const LABEL_GAP: f32 = 0.04;

/// How many strips the page's width is cut into to find a gutter: each is half a percent.
const STRIPS: usize = 200;

/// How much of the page's width a gutter spans at least: the measured gutters of columns
/// read as one were 2.5 to 5.5 % wide; the gaps between words of a line are under 1.2 %.
const GUTTER: f32 = 0.015;

/// Splits two columns that Tesseract read as one, line by line across both: the left
/// column's part of each line first, then the right column's. It acts only where the page
/// says so plainly:
/// - exactly one band of the page's width, [`GUTTER`] wide or more, that the words of at most
///   3 % of the lines (two, on a short page) cross and that has words on both sides in four
///   lines or more (a table has a band for each of its columns, and stays as read: its text
///   layer reads it row by row too);
/// - that band lies in the middle of the page (30 % to 70 % of its width);
/// - at least six lines, and a quarter of the page's, hold three words or more on each side
///   of it: two columns of prose, not a figure's labels.
///
/// The lines from the first to the last of those are the two columns; the lines above and
/// below (a title across both, a foot) stay where they were read. Boxes are kept.
fn split_merged_columns(words: &mut Vec<OcrWord>) {
    let lines = lines_of(words);
    if lines.len() < 8 {
        return;
    }
    let strip = |x: f32| ((x.clamp(0.0, 1.0) * STRIPS as f32) as usize).min(STRIPS - 1);
    // How many lines cover each strip with a word they believe.
    let mut cover = vec![0usize; STRIPS];
    for line in &lines {
        let mut covered = [false; STRIPS];
        for w in words[line.clone()].iter().filter(|w| w.believed()) {
            covered[strip(w.bbox[0])..=strip(w.bbox[2])].fill(true);
        }
        for (c, covered) in cover.iter_mut().zip(covered) {
            *c += usize::from(covered);
        }
    }
    // A title or a foot across both columns crosses the gutter: two such lines may.
    let open = (lines.len() * 3 / 100).max(2);
    // Words a line believes wholly left of `lo` and wholly right of `hi`.
    let sides = |line: &std::ops::Range<usize>, lo: f32, hi: f32| {
        let believed = || words[line.clone()].iter().filter(|w| w.believed());
        (
            believed().filter(|w| w.bbox[2] <= lo).count(),
            believed().filter(|w| w.bbox[0] >= hi).count(),
        )
    };
    // The blank bands with words on both sides in four lines or more.
    let mut bands: Vec<(f32, f32)> = Vec::new();
    let mut k = STRIPS / 10;
    while k < STRIPS * 9 / 10 {
        if cover[k] > open {
            k += 1;
            continue;
        }
        let start = k;
        while k + 1 < STRIPS && cover[k + 1] <= open {
            k += 1;
        }
        let (lo, hi) = (start as f32 / STRIPS as f32, (k + 1) as f32 / STRIPS as f32);
        k += 1;
        if hi - lo < 0.01 {
            continue;
        }
        let across = lines
            .iter()
            .filter(|line| {
                let (left, right) = sides(line, lo, hi);
                left > 0 && right > 0
            })
            .count();
        if across >= 4 {
            bands.push((lo, hi));
        }
    }
    let [(lo, hi)] = bands[..] else {
        return;
    };
    if hi - lo < GUTTER || (lo + hi) / 2.0 < 0.3 || (lo + hi) / 2.0 > 0.7 {
        return;
    }
    let prose: Vec<usize> = (0..lines.len())
        .filter(|&n| {
            let (left, right) = sides(&lines[n], lo, hi);
            left >= 3 && right >= 3
        })
        .collect();
    let (Some(&first), Some(&last)) = (prose.first(), prose.last()) else {
        return;
    };
    if prose.len() < 6 || prose.len() * 4 < lines.len() {
        return;
    }
    let middle = (lo + hi) / 2.0;
    let left_of = |w: &OcrWord| (w.bbox[0] + w.bbox[2]) / 2.0 < middle;
    let mut order: Vec<OcrWord> = words[..lines[first].start].to_vec();
    for left in [true, false] {
        for line in &lines[first..=last] {
            let start = order.len();
            order.extend(
                words[line.clone()]
                    .iter()
                    .filter(|w| left_of(w) == left)
                    .cloned(),
            );
            if let Some(w) = order.get_mut(start) {
                w.line_start = true;
            }
        }
    }
    order.extend(words[lines[last].end..].iter().cloned());
    *words = order;
}

/// Whether a word is a list's number: "19.", "24," (OCR's reading of "24."), "3)", "(3)",
/// "[12]". A bare number is not one: a manuscript's line numbers hang in the margin too, and
/// a text layer keeps them apart from their lines.
fn is_label(text: &str) -> bool {
    let inner = if let Some(rest) = text.strip_prefix('[') {
        rest.strip_suffix(']')
    } else if let Some(rest) = text.strip_prefix('(') {
        rest.strip_suffix(')')
    } else {
        text.strip_suffix(['.', ',', ')'])
    };
    inner.is_some_and(|n| (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Moves each number of a hanging list to the start of the line beside it. A number moves
/// only from a run of at least two lines that hold nothing else (the column Tesseract read
/// apart), and only to a line that starts just right of it ([`LABEL_GAP`]) and overlaps it
/// vertically by half its height or more, each line taking one number; the others stay where
/// they were read. Boxes are kept: each word is where it was on the page.
fn attach_hanging_labels(words: &mut Vec<OcrWord>) {
    let lines = lines_of(words);
    let lone_label = |line: &std::ops::Range<usize>| {
        line.len() == 1 && words[line.start].believed() && is_label(&words[line.start].text)
    };
    // The lines in runs of two or more lone numbers.
    let mut labels: Vec<usize> = Vec::new();
    let mut run: Vec<usize> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if lone_label(line) {
            run.push(n);
            continue;
        }
        if run.len() >= 2 {
            labels.append(&mut run);
        }
        run.clear();
    }
    if run.len() >= 2 {
        labels.append(&mut run);
    }
    if labels.is_empty() {
        return;
    }
    // Each number's line: the nearest (vertically) that starts just right of it.
    let mut taken = vec![false; lines.len()];
    let mut before: Vec<Option<usize>> = vec![None; lines.len()];
    for &n in &labels {
        let label = &words[lines[n].start].bbox;
        let height = label[3] - label[1];
        let middle = (label[1] + label[3]) / 2.0;
        let partner = lines
            .iter()
            .enumerate()
            .filter(|&(m, line)| !taken[m] && !lone_label(line))
            .filter_map(|(m, line)| {
                let first = &words[line.start].bbox;
                let gap = first[0] - label[2];
                let overlap = label[3].min(first[3]) - label[1].max(first[1]);
                ((-0.002..=LABEL_GAP).contains(&gap) && overlap >= height / 2.0)
                    .then(|| (m, ((first[1] + first[3]) / 2.0 - middle).abs()))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((m, _)) = partner {
            taken[m] = true;
            before[m] = Some(n);
        }
    }
    let moved: std::collections::HashSet<usize> = before.iter().flatten().copied().collect();
    if moved.is_empty() {
        return;
    }
    let mut order: Vec<OcrWord> = Vec::with_capacity(words.len());
    for (m, line) in lines.iter().enumerate() {
        if moved.contains(&m) {
            continue;
        }
        if let Some(n) = before[m] {
            let mut label = words[lines[n].start].clone();
            label.line_start = true;
            order.push(label);
            let mut first = words[line.start].clone();
            first.line_start = false;
            order.push(first);
            order.extend(words[line.start + 1..line.end].iter().cloned());
        } else {
            order.extend(words[line.clone()].iter().cloned());
        }
    }
    *words = order;
}

/// The lines of `words`, as ranges: a line starts at a word that starts one.
pub(super) fn lines_of(words: &[OcrWord]) -> Vec<std::ops::Range<usize>> {
    let mut lines: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        match lines.last_mut() {
            Some(line) if !word.line_start => line.end = i + 1,
            _ => lines.push(i..i + 1),
        }
    }
    lines
}

/// Puts the lines set apart at the top of the page first and those set apart at its bottom
/// last, each in the order read; the rest keep theirs. A line is set apart where a blank band
/// of at least [`MARGIN_GAP`] line heights parts it from the body, within [`MARGIN_BAND`] of
/// the edge; the widest such band on each side is the body's edge. A page of fewer than
/// eight lines is left as read: too little body to tell a margin from.
fn margins_first_and_last(words: &mut Vec<OcrWord>) {
    let lines = lines_of(words);
    if lines.len() < 8 {
        return;
    }
    let extent: Vec<(f32, f32)> = lines
        .iter()
        .map(|line| {
            words[line.clone()]
                .iter()
                .fold((f32::MAX, f32::MIN), |(top, bottom), w| {
                    (top.min(w.bbox[1]), bottom.max(w.bbox[3]))
                })
        })
        .collect();
    let mut heights: Vec<f32> = extent.iter().map(|(t, b)| b - t).collect();
    heights.sort_by(f32::total_cmp);
    let gap = heights[heights.len() / 2] * MARGIN_GAP;
    // The blank bands between the lines, from the page's lines projected on its height.
    let mut spans: Vec<(f32, f32)> = extent.clone();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut blanks: Vec<(f32, f32)> = Vec::new();
    let mut reach = spans[0].1;
    for &(top, bottom) in &spans[1..] {
        if top > reach {
            blanks.push((reach, top));
        }
        reach = reach.max(bottom);
    }
    let widest = |near: &dyn Fn(&(f32, f32)) -> bool| {
        blanks
            .iter()
            .filter(|b| near(b) && b.1 - b.0 >= gap)
            .max_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)))
            .copied()
    };
    let head = widest(&|b| b.0 <= MARGIN_BAND).map(|b| b.0);
    let foot = widest(&|b| b.1 >= 1.0 - MARGIN_BAND).map(|b| b.1);
    let place = |&(top, bottom): &(f32, f32)| {
        if head.is_some_and(|h| bottom <= h) {
            0
        } else if foot.is_some_and(|f| top >= f) {
            2
        } else {
            1
        }
    };
    let places: Vec<u8> = extent.iter().map(place).collect();
    if places.iter().filter(|&&p| p == 1).count() < 4 || places.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    let mut order: Vec<OcrWord> = Vec::with_capacity(words.len());
    for wanted in 0..3 {
        for (line, _) in lines.iter().zip(&places).filter(|(_, &p)| p == wanted) {
            let start = order.len();
            order.extend(words[line.clone()].iter().cloned());
            order[start].line_start = true;
        }
    }
    *words = order;
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A word read at 95, at `bbox`.
    pub(in crate::extract) fn word(text: &str, bbox: [f32; 4], line_start: bool) -> OcrWord {
        OcrWord {
            text: text.into(),
            confidence: 95,
            bbox,
            line_start,
        }
    }

    /// A hanging list as Tesseract reads it: the numbers' column, then the entries' lines.
    fn hanging(numbers: &[&str]) -> Vec<OcrWord> {
        let mut words = Vec::new();
        for (i, n) in numbers.iter().enumerate() {
            let top = 0.1 + 0.05 * i as f32;
            words.push(word(n, [0.10, top, 0.12, top + 0.01], true));
        }
        for (i, _) in numbers.iter().enumerate() {
            let top = 0.1 + 0.05 * i as f32;
            words.push(word(
                &format!("Author{i}"),
                [0.13, top, 0.18, top + 0.011],
                true,
            ));
            words.push(word("AB,", [0.19, top, 0.21, top + 0.011], false));
            // Each entry runs over a second line, with no number beside it.
            words.push(word("Journal.", [0.13, top + 0.02, 0.2, top + 0.03], true));
        }
        words
    }

    /// The words as [`super::super::ocr::OcrPage::text`] joins them, every word believed.
    pub(in crate::extract) fn text(words: &[OcrWord]) -> String {
        let mut out = String::new();
        for w in words {
            if !out.is_empty() {
                out.push(if w.line_start { '\n' } else { ' ' });
            }
            out.push_str(&w.text);
        }
        out
    }

    #[test]
    fn a_hanging_number_goes_back_to_its_entry() {
        let mut words = hanging(&["19.", "20.", "24,"]);
        let before = words.len();
        attach_hanging_labels(&mut words);
        assert_eq!(words.len(), before, "no word is lost or doubled");
        assert_eq!(
            text(&words),
            "19. Author0 AB,\nJournal.\n20. Author1 AB,\nJournal.\n24, Author2 AB,\nJournal."
        );
        // Boxes stay where the words are on the page.
        assert_eq!(words[0].bbox, [0.10, 0.1, 0.12, 0.11]);
    }

    #[test]
    fn line_numbers_a_lone_number_and_a_far_column_stay_where_they_are() {
        // Bare numbers: a manuscript's line numbers.
        let mut words = hanging(&["1", "2", "3"]);
        let read = text(&words);
        attach_hanging_labels(&mut words);
        assert_eq!(text(&words), read);
        // One numbered line alone is not a column of numbers.
        let mut words = hanging(&["7."]);
        let read = text(&words);
        attach_hanging_labels(&mut words);
        assert_eq!(text(&words), read);
        // Text that starts far right of the numbers is another column.
        let mut words = hanging(&["1.", "2."]);
        for w in words.iter_mut().filter(|w| !is_label(&w.text)) {
            w.bbox[0] += 0.3;
            w.bbox[2] += 0.3;
        }
        let read = text(&words);
        attach_hanging_labels(&mut words);
        assert_eq!(text(&words), read);
    }

    /// One line of a word or two at `top`, in the left (0) or the right (1) column.
    fn line(text: &str, column: u8, top: f32) -> Vec<OcrWord> {
        let left = 0.1 + 0.45 * f32::from(column);
        text.split(' ')
            .enumerate()
            .map(|(i, t)| {
                let x = left + 0.1 * i as f32;
                word(t, [x, top, x + 0.08, top + 0.012], i == 0)
            })
            .collect()
    }

    #[test]
    fn the_head_and_foot_of_a_two_column_page_go_to_its_margins() {
        // As Tesseract reads it: the left column down to the foot under it, then the right
        // column from the head over it.
        // Lines 0.012 high at a pitch of 0.0145, as on the measured trial's pages.
        let mut words = Vec::new();
        words.extend(line("Lee al", 0, 0.033));
        for i in 0..59 {
            words.extend(line(&format!("left{i} text"), 0, 0.076 + 0.0145 * i as f32));
        }
        words.extend(line("Circulation 2021", 0, 0.962));
        words.extend(line("Empagliflozin HFrEF", 1, 0.033));
        for i in 0..59 {
            words.extend(line(
                &format!("right{i} text"),
                1,
                0.076 + 0.0145 * i as f32,
            ));
        }
        words.extend(line("February 517", 1, 0.962));
        let before = words.len();
        margins_first_and_last(&mut words);
        assert_eq!(words.len(), before);
        let text = text(&words);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[..2], ["Lee al", "Empagliflozin HFrEF"]);
        assert_eq!(
            lines[lines.len() - 2..],
            ["Circulation 2021", "February 517"]
        );
        // The body keeps its order: the left column, then the right.
        assert_eq!(lines[2], "left0 text");
        assert_eq!(lines[61], "right0 text");
    }

    #[test]
    fn a_page_without_margins_set_apart_stays_as_read() {
        // Two columns whose lines run from the top to the bottom, a paragraph's gap of a
        // line (a line and a half from one line to the next) after the first line of each.
        let mut words = Vec::new();
        for column in 0..2 {
            for i in 0..62 {
                let top = 0.05 + 0.0145 * i as f32 + if i > 0 { 0.012 } else { 0.0 };
                words.extend(line(&format!("c{column}l{i} text"), column, top));
            }
        }
        let read = text(&words);
        margins_first_and_last(&mut words);
        assert_eq!(text(&words), read);
    }

    /// A line of words 0.06 wide, 0.01 apart, from `left`.
    pub(in crate::extract) fn words_from(
        text: &str,
        left: f32,
        top: f32,
        line_start: bool,
    ) -> Vec<OcrWord> {
        text.split(' ')
            .enumerate()
            .map(|(i, t)| {
                let x = left + 0.07 * i as f32;
                word(t, [x, top, x + 0.06, top + 0.012], line_start && i == 0)
            })
            .collect()
    }

    #[test]
    fn two_columns_read_as_one_are_read_column_by_column() {
        // Ten lines read across a gutter from 0.48 to 0.52, under a title across both.
        let mut words = words_from("Safe injection practices", 0.3, 0.05, true);
        for i in 0..10 {
            let top = 0.1 + 0.02 * i as f32;
            let mut line = words_from(&format!("a{i} b c d e"), 0.13, top, true);
            line.extend(words_from(&format!("p{i} q r s t"), 0.52, top, false));
            words.extend(line);
        }
        words.extend(words_from("Version 2.3", 0.4, 0.95, true));
        let before = words.len();
        split_merged_columns(&mut words);
        assert_eq!(words.len(), before, "no word is lost or doubled");
        let text = text(&words);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 22);
        assert_eq!(lines[0], "Safe injection practices");
        assert_eq!(lines[1..3], ["a0 b c d e", "a1 b c d e"]);
        assert_eq!(lines[10..12], ["a9 b c d e", "p0 q r s t"]);
        assert_eq!(lines[20..], ["p9 q r s t", "Version 2.3"]);
    }

    #[test]
    fn a_table_and_a_single_column_stay_as_read() {
        // A table: three columns, each band between them blank.
        let mut table = Vec::new();
        for i in 0..10 {
            let top = 0.1 + 0.02 * i as f32;
            table.extend(words_from("Aspirin 75 mg", 0.1, top, true));
            table.extend(words_from("daily oral", 0.45, top, false));
            table.extend(words_from("n 120 12%", 0.7, top, false));
        }
        let read = text(&table);
        split_merged_columns(&mut table);
        assert_eq!(text(&table), read);
        // A single column of prose, its words' gaps all narrow.
        let mut column: Vec<OcrWord> = (0..10)
            .flat_map(|i| {
                words_from(
                    "one two three four five six seven eight nine ten eleven",
                    0.1,
                    0.1 + 0.02 * i as f32,
                    true,
                )
            })
            .collect();
        let read = text(&column);
        split_merged_columns(&mut column);
        assert_eq!(text(&column), read);
        // Two columns with two words a side: labels, not prose.
        let mut labels = Vec::new();
        for i in 0..10 {
            let top = 0.1 + 0.02 * i as f32;
            labels.extend(words_from("Days 10", 0.3, top, true));
            labels.extend(words_from("Dose 5", 0.55, top, false));
        }
        let read = text(&labels);
        split_merged_columns(&mut labels);
        assert_eq!(text(&labels), read);
    }

    #[test]
    fn what_reads_as_a_list_number() {
        for yes in ["19.", "24,", "3)", "(3)", "[12]", "100."] {
            assert!(is_label(yes), "{yes}");
        }
        for no in ["19", "1234.", "a.", "[12", "1.5", ".", "()", "2020;"] {
            assert!(!is_label(no), "{no}");
        }
    }
}
