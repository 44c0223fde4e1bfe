//! A scanned page's words mended where Tesseract misreads papers in ways the page itself gives
//! away: a figure's ink read as letters ([`drop_figure_noise`]), a capital I read as a small L
//! or a bar ([`letter_i`]), and a superscript read as marks glued to its word
//! ([`superscript_marks`]). Found, as `extract::ocr_order`'s mends were, comparing the
//! scans of the page sets' 35 papers with the papers' own text (docs/OCR.md).

use super::ocr::{OcrWord, WORD_FLOOR};
use super::ocr_order::lines_of;

/// Every mend of this module on one page's words, after their order is mended
/// ([`super::ocr_order::mend`]): the figure's lines left out first, then single words.
pub(super) fn mend(words: &mut Vec<OcrWord>) {
    drop_figure_noise(words);
    superscript_marks(words);
    letter_i(words);
}

/// A line whose words Tesseract believes less than this on average (and 15 less than the
/// page's median line), in a run of such lines, is a figure's ink read as letters: the lines
/// of a scanned plot read at 35 to 70 ("oO", "38 8 8", "5” 55"), the page's prose at 90 and
/// more.
const FIGURE_CONFIDENCE: f32 = 70.0;

/// Leaves out the lines of a figure read as text: three or more of four lines in a row whose
/// words Tesseract believes less than [`FIGURE_CONFIDENCE`] on average, and 15 less than the
/// page's median line (a poor scan reads all its lines lower, and keeps them). A plot's
/// ticks and fragments ("238 o00- Control § 3 °") made a passage of their own on the scan,
/// where the original holds the figure as an image and no text; its labels read well
/// ("Expected value") are kept.
fn drop_figure_noise(words: &mut Vec<OcrWord>) {
    let lines = lines_of(words);
    let means: Vec<Option<f32>> = lines
        .iter()
        .map(|line| {
            let believed: Vec<&OcrWord> = words[line.clone()]
                .iter()
                .filter(|w| w.believed())
                .collect();
            (!believed.is_empty()).then(|| {
                believed
                    .iter()
                    .map(|w| f32::from(w.confidence))
                    .sum::<f32>()
                    / believed.len() as f32
            })
        })
        .collect();
    let mut sorted: Vec<f32> = means.iter().flatten().copied().collect();
    if sorted.is_empty() {
        return;
    }
    sorted.sort_by(f32::total_cmp);
    let floor = FIGURE_CONFIDENCE.min(sorted[sorted.len() / 2] - 15.0);
    let doubtful: Vec<Option<bool>> = means.iter().map(|m| m.map(|m| m < floor)).collect();
    let mut drop = vec![false; lines.len()];
    for i in 0..lines.len() {
        let window: Vec<bool> = doubtful[i..(i + 4).min(lines.len())]
            .iter()
            .flatten()
            .copied()
            .collect();
        if window.len() >= 3 && window.iter().filter(|&&d| d).count() >= 3 {
            for j in i..(i + 4).min(lines.len()) {
                if doubtful[j] == Some(true) {
                    drop[j] = true;
                }
            }
        }
    }
    if !drop.contains(&true) {
        return;
    }
    let mut kept = Vec::with_capacity(words.len());
    for (line, drop) in lines.iter().zip(drop) {
        if !drop {
            kept.extend(words[line.clone()].iter().cloned());
        }
    }
    *words = kept;
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

/// The marks a superscript (a citation's number, a footnote's dagger or asterisk) reads as.
const SUPERSCRIPT_MARKS: [char; 12] = ['*', '\'', '"', '!', '?', '°', '^', '`', '’', '‘', '“', '”'];

/// Takes off the marks a superscript reads as where they are glued to the end of a word:
/// "benefits²²,²³." reads "benefits***." and "kilograms.¹⁰³" reads "kilograms.\"!". Tesseract
/// doubts the whole word for its marks ("benefits***." at 2 of 100), so the word was left out
/// of the text, and with it the full stop that ends its sentence: the sentence ran on into
/// the next, and the page was cut into passages elsewhere than the original's. Over the 947
/// scanned pages of the page sets, 203 words end so, and 198 of their letters are words of the
/// original's page; they are kept at [`WORD_FLOOR`] at least, as believed as the words the
/// text keeps. A single mark stays: "study*" is a footnote's asterisk as printed.
fn superscript_marks(words: &mut [OcrWord]) {
    for word in words {
        if let Some(kept) = without_superscript(&word.text) {
            word.text = kept;
            word.confidence = word.confidence.max(WORD_FLOOR);
        }
    }
}

/// `word` without the superscript's marks at its end ([`superscript_marks`]), where it is
/// three letters or more (hyphens between them), a stop or comma at most, two marks or more
/// and a stop, comma or bracket at most; `None` where it is not so.
fn without_superscript(word: &str) -> Option<String> {
    let letters_end = word
        .char_indices()
        .take_while(|&(i, c)| {
            c.is_alphabetic()
                || (c == '-' && i > 0 && word[i + 1..].starts_with(char::is_alphabetic))
        })
        .last()
        .map(|(i, c)| i + c.len_utf8())?;
    let letters = &word[..letters_end];
    if letters.chars().filter(|c| c.is_alphabetic()).count() < 3 {
        return None;
    }
    let rest = &word[letters_end..];
    let before = rest.starts_with(['.', ',', ';', ':']).then(|| &rest[..1]);
    let rest = &rest[before.map_or(0, str::len)..];
    let marks = rest.trim_start_matches(SUPERSCRIPT_MARKS);
    if rest.chars().count() - marks.chars().count() < 2 {
        return None;
    }
    let after = match marks {
        "" => None,
        "." | "," | ";" | ":" | ")" => Some(marks),
        _ => return None,
    };
    Some(format!("{letters}{}", before.or(after).unwrap_or("")))
}

/// A word as the brackets before it, itself, and the punctuation after it ("(Ill)," as "(",
/// "Ill" and "),").
fn split_punctuation(word: &str) -> (&str, &str, &str) {
    let inner = word.trim_start_matches(['(', '[']);
    let open = &word[..word.len() - inner.len()];
    let head = inner.trim_end_matches([',', '.', ';', ':', ')', ']']);
    (open, head, &inner[head.len()..])
}

#[cfg(test)]
mod tests {
    use super::super::ocr_order::tests::{text, word, words_from};
    use super::*;

    #[test]
    fn a_figure_read_as_letters_is_left_out_and_its_clear_labels_kept() {
        let line = |text: &str, confidence: u8, top: f32| -> Vec<OcrWord> {
            let mut words = words_from(text, 0.1, top, true);
            for w in &mut words {
                w.confidence = confidence;
            }
            words
        };
        let prose = "Braak stage methylation of retrotransposons differs";
        let mut words = Vec::new();
        for i in 0..6 {
            words.extend(line(prose, 94, 0.05 + 0.02 * i as f32));
        }
        // A plot: fragments read at 40 to 65, one clear label among them.
        words.extend(line("oO c 0.03", 48, 0.2));
        words.extend(line("38 8 8", 64, 0.22));
        words.extend(line("Expected value", 96, 0.24));
        words.extend(line("238 o00- Control", 59, 0.26));
        words.extend(line("5” 55", 40, 0.28));
        // One doubtful line alone in prose is a word misread, and stays.
        for i in 0..3 {
            words.extend(line(prose, 94, 0.4 + 0.02 * i as f32));
        }
        words.extend(line("Nakamura eta1", 55, 0.46));
        for i in 0..3 {
            words.extend(line(prose, 94, 0.48 + 0.02 * i as f32));
        }
        drop_figure_noise(&mut words);
        let kept = text(&words);
        assert!(kept.contains("Expected value"), "{kept}");
        assert!(kept.contains("Nakamura eta1"), "{kept}");
        for noise in ["oO", "38 8 8", "o00-", "5” 55"] {
            assert!(!kept.contains(noise), "{noise} in {kept}");
        }
        // A poor scan, every line read at 60: kept whole.
        let mut poor: Vec<OcrWord> = (0..10)
            .flat_map(|i| line(prose, 60, 0.05 + 0.02 * i as f32))
            .collect();
        let read = text(&poor);
        drop_figure_noise(&mut poor);
        assert_eq!(text(&poor), read);
    }

    #[test]
    fn a_superscript_read_as_marks_is_taken_off_its_word() {
        let mended = |t: &str| without_superscript(t);
        assert_eq!(mended("benefits***.").as_deref(), Some("benefits."));
        assert_eq!(mended("kilograms.\"!").as_deref(), Some("kilograms."));
        assert_eq!(mended("fetus.'\"?!").as_deref(), Some("fetus."));
        assert_eq!(
            mended("self-perpetuating'*").as_deref(),
            Some("self-perpetuating")
        );
        assert_eq!(mended("localisation”*,").as_deref(), Some("localisation,"));
        // As printed: one mark, a quotation closed, a short word, digits, a contraction.
        for kept in [
            "study*", "said.\"", "of**", "AML25.", "don't", "95%**", "**", "x-**",
        ] {
            assert_eq!(mended(kept), None, "{kept}");
        }
        // The word Tesseract doubted for its marks is kept in the text, with its full stop.
        let mut words = vec![
            word("offer", [0.0; 4], true),
            word("these", [0.0; 4], false),
            word("benefits***.", [0.0; 4], false),
            word("In", [0.0; 4], false),
        ];
        words[2].confidence = 2;
        superscript_marks(&mut words);
        assert_eq!(text(&words), "offer these benefits. In");
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
}
