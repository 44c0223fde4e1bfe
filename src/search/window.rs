//! A passage's best window: the run of its whole sentences, about a snippet long, that holds
//! the largest share of the query's weight ("small to big": the page is chosen by passages,
//! the answer shown by the window inside the best one; docs/EVALUATION.md, the right page).

use super::page::{TermWeights, SNIPPET_CHARS};
#[cfg(doc)]
use crate::index::lexical::analyze;

/// How long a window of sentences may grow, in bytes: about two sentences, the size of a
/// snippet, so that the window shown is the window scored.
pub(super) const WINDOW_BYTES: usize = SNIPPET_CHARS;
/// Where sentences end in `text`, as byte spans: at `.`, `?`, `!` or `;` before white space, at
/// a blank line, at the end of a line ending in `:`, and before a line that starts a list
/// item. Coarse on purpose: a split too many only makes a window of two sentences where one
/// would do.
pub(super) fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        let ends = match c {
            b'.' | b'?' | b'!' | b';' => bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()),
            b'\n' => {
                let rest = text[i + 1..].trim_start_matches([' ', '\t']);
                rest.starts_with('\n')
                    // Not '-' or '–': "5\n–10 mg/kg" is one range, not a list.
                    || rest.starts_with(['•', '●', '▪', '◦', '*'])
                    || text[start..i].trim_end().ends_with(':')
            }
            _ => false,
        };
        if ends {
            let end = if c == b'\n' { i } else { i + 1 };
            push_trimmed(&mut out, text, start, end);
            start = end;
        }
    }
    push_trimmed(&mut out, text, start, text.len());
    out
}

/// Adds the span `start..end` of `text` without its leading white space, unless it is blank.
fn push_trimmed(out: &mut Vec<(usize, usize)>, text: &str, start: usize, end: usize) {
    let piece = &text[start..end];
    let trimmed = piece.trim_start();
    if !trimmed.trim_end().is_empty() {
        out.push((start + piece.len() - trimmed.len(), end));
    }
}

/// The run of whole sentences of `text`, at most [`WINDOW_BYTES`] long (one sentence where a
/// sentence is longer), that holds the largest share of the query's weight, with that share
/// (0 to 1). `terms` are the text's analysed terms with their start offsets ([`analyze`]).
/// A window starts at a sentence with one of the terms (the answer tends to follow them);
/// ties go to the earlier window; a text without any of the query's terms gives its first
/// sentence and 0.
pub(super) fn best_window(
    text: &str,
    terms: &[(String, usize)],
    weights: &TermWeights,
) -> ((usize, usize), f32) {
    let spans = sentences(text);
    let first = spans.first().copied().unwrap_or((0, text.len()));
    let hits: Vec<(&str, f32, usize)> = terms
        .iter()
        .filter_map(|(t, at)| Some((t.as_str(), weights.weight(t)?, *at)))
        .filter(|h| h.1 > 0.0)
        .collect();
    if hits.is_empty() || weights.total <= 0.0 {
        return (first, 0.0);
    }
    let mut best = (first, 0.0f32);
    for (i, &(start, first_end)) in spans.iter().enumerate() {
        // A window starts at a sentence that holds one of the words: no lead-in to highlight.
        if !hits.iter().any(|h| h.2 >= start && h.2 < first_end) {
            continue;
        }
        let end = spans[i + 1..]
            .iter()
            .take_while(|s| s.1 - start <= WINDOW_BYTES)
            .last()
            .map_or(first_end, |s| s.1);
        let mut seen: Vec<&str> = Vec::new();
        let mut sum = 0.0;
        for &(t, w, at) in &hits {
            if at >= start && at < end && !seen.contains(&t) {
                seen.push(t);
                sum += w;
            }
        }
        let share = sum / weights.total;
        if share > best.1 + 1e-6 {
            best = ((start, end), share);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::lexical::analyze;
    use proptest::prelude::*;

    #[test]
    fn sentences_split_at_ends_blank_lines_and_list_items() {
        let text = "  First one. Second? Third;\nHeading:\nline\n• item one\n\nlast e.g. 5\n–10 mg";
        let got: Vec<&str> = sentences(text).iter().map(|&(a, b)| &text[a..b]).collect();
        assert_eq!(
            got,
            [
                "First one.",
                "Second?",
                "Third;",
                "Heading:",
                "line",
                "• item one",
                "last e.g.",
                "5\n–10 mg"
            ]
        );
    }

    fn terms_of(text: &str) -> Vec<(String, usize)> {
        analyze(text).into_iter().map(|(t, a, _)| (t, a)).collect()
    }

    #[test]
    fn the_window_is_where_the_rare_words_meet() {
        let filler = "Patients were reviewed at each visit. ".repeat(8);
        let text = format!(
            "Carbamazepine is an old drug. {filler}Trigeminal neuralgia is painful. {filler}\
             The initial dose of carbamazepine for trigeminal neuralgia is 200 mg. {filler}"
        );
        let term = |w: &str| analyze(w).remove(0).0;
        let weights = TermWeights::new(vec![
            (term("carbamazepine"), 3.0),
            (term("trigeminal"), 1.0),
            (term("dose"), 2.0),
        ]);
        let ((a, b), share) = best_window(&text, &terms_of(&text), &weights);
        assert!(
            text[a..b].starts_with("The initial dose"),
            "{}",
            &text[a..b]
        );
        assert!(b - a <= WINDOW_BYTES, "{}", &text[a..b]);
        assert!((share - 1.0).abs() < 1e-6, "{share}");
        // A rarer word weighs more: without the dose, the drug's own sentence would do.
        let before = &text[..text.find("The initial").unwrap()];
        let ((a, _), share) = best_window(before, &terms_of(before), &weights);
        assert!(before[a..].starts_with("Carbamazepine is"));
        assert!((share - 0.5).abs() < 1e-6, "{share}");
        // No query word: the first sentence, and nothing to add.
        let none = TermWeights::uniform("ferritin");
        assert_eq!(best_window(&text, &terms_of(&text), &none).1, 0.0);
    }

    proptest! {
        #[test]
        fn sentences_are_ordered_pieces_of_the_text(text in "[a-z .;:?!•\n\t’é]{0,200}") {
            let spans = sentences(&text);
            let mut at = 0;
            for &(a, b) in &spans {
                prop_assert!(a >= at && a < b && b <= text.len());
                prop_assert!(text.is_char_boundary(a) && text.is_char_boundary(b));
                prop_assert!(!text[a..b].trim().is_empty());
                at = b;
            }
        }
    }
}
