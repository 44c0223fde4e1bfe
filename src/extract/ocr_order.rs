//! A scanned page's words mended where Tesseract reads papers wrongly in ways the page itself
//! gives away: the order of what its layout analysis parts (the numbers of a list set with a
//! hanging indent, a two-column page's running head and foot), and a capital I read as a small
//! L or a bar ([`letter_i`]). Each was found comparing the scans of the page sets' 35 papers
//! with the papers' own text (docs/OCR.md).
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

use super::ocr::OcrWord;

/// Every mend of this module on one page's words, in the order they build on each other: the
/// numbers first (a moved number makes its entry's line start with it), then the margins, then
/// single words.
pub(super) fn mend(words: &mut Vec<OcrWord>) {
    attach_hanging_labels(words);
    margins_first_and_last(words);
    letter_i(words);
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

/// The words a Roman numeral read as "|" follows ("Class |", 261 times over the 960 scanned
/// pages of the page sets).
const NUMBERED_BY_ROMAN: [&str; 7] = ["class", "type", "phase", "stage", "grade", "level", "group"];

/// Mends the capital I that Tesseract reads as a small L or a bar where the words around say
/// which it is, as papers print them over and over: Roman numerals ("Class Ill" and "Braak
/// IIl" as III, 141 and 4 times over the scanned pages of the page sets; "Class |" as I, 261
/// times) and confidence intervals ("95% Cl" as CI, 368 times). A question's "class III" or
/// "95% CI" finds the scan's page as it finds the original's.
fn letter_i(words: &mut [OcrWord]) {
    for i in 0..words.len() {
        let (open, head, tail) = split_punctuation(&words[i].text);
        let before = i
            .checked_sub(1)
            .map(|b| words[b].text.to_lowercase())
            .unwrap_or_default();
        let after = words.get(i + 1).map(|w| w.text.to_lowercase());
        // "95% Cl", "(Cl 95%", "Cl, confidence interval", "confidence interval (Cl)".
        let interval = before.ends_with('%')
            || before.trim_end_matches([',', ')']) == "interval"
            || after.as_deref().is_some_and(|a| {
                a.starts_with("confidence")
                    || a.starts_with(|c: char| c.is_ascii_digit()) && a.contains('%')
            });
        let mended = if head.len() >= 2
            && head.len() <= 4
            && head.starts_with('I')
            && head.contains('l')
            && head.chars().all(|c| c == 'I' || c == 'l')
        {
            Some(head.replace('l', "I"))
        } else {
            match head {
                "|" if NUMBERED_BY_ROMAN.contains(&before.as_str()) => Some("I".to_string()),
                "Cl" | "Cls" if interval => Some(head.replacen('l', "I", 1)),
                // Run into its percentage: "(95%Cl)".
                _ if head.ends_with("%Cl") => Some(head.replace("%Cl", "%CI")),
                _ => None,
            }
        };
        if let Some(mended) = mended {
            words[i].text = format!("{open}{mended}{tail}");
        }
    }
}

/// A word as the brackets before it, itself, and the punctuation after it ("(Ill)," as "(",
/// "Ill" and "),").
fn split_punctuation(word: &str) -> (&str, &str, &str) {
    let inner = word.trim_start_matches(['(', '[']);
    let open = &word[..word.len() - inner.len()];
    let head = inner.trim_end_matches([',', '.', ';', ':', ')', ']']);
    (open, head, &inner[head.len()..])
}

/// The lines of `words`, as ranges: a line starts at a word that starts one.
fn lines_of(words: &[OcrWord]) -> Vec<std::ops::Range<usize>> {
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
mod tests {
    use super::*;

    fn word(text: &str, bbox: [f32; 4], line_start: bool) -> OcrWord {
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

    fn text(words: &[OcrWord]) -> String {
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

    #[test]
    fn a_capital_i_read_as_a_small_l_or_a_bar_is_mended_where_the_words_say() {
        let read = |texts: &[&str]| {
            let mut words: Vec<OcrWord> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| word(t, [0.0; 4], i == 0))
                .collect();
            letter_i(&mut words);
            text(&words)
        };
        assert_eq!(read(&["Class", "|", "and", "Ill,"]), "Class I and III,");
        assert_eq!(read(&["Braak", "IIl"]), "Braak III");
        assert_eq!(read(&["(95%", "Cl", "0.5)"]), "(95% CI 0.5)");
        assert_eq!(read(&["(95%Cl)"]), "(95%CI)");
        assert_eq!(read(&["(Cl", "95%", "0.2-1.3)"]), "(CI 95% 0.2-1.3)");
        assert_eq!(
            read(&["RR,", "relative", "risk;", "Cl,", "confidence"]),
            "RR, relative risk; CI, confidence"
        );
        assert_eq!(
            read(&["confidence", "interval", "(Cl)"]),
            "confidence interval (CI)"
        );
        assert_eq!(read(&["Class", "(Ill)"]), "Class (III)");
        // Elsewhere, as read: a table's rule, chlorine, a small word.
        assert_eq!(read(&["cases", "|", "Cl", "ill"]), "cases | Cl ill");
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
