//! The page and the highlight: which of a paper's passages it opens at, and which of that
//! passage's sentences its snippet (the text the viewer highlights) shows.
//!
//! A paper's best passages compete for its page by their fused score plus the share of the
//! query's weight that their best window of sentences holds ("small to big"), measured on the
//! page-level sets (docs/EVALUATION.md, the right page).

use std::collections::HashSet;

use crate::catalog::ChunkRow;
use crate::index::lexical::analyze;

/// How long a snippet may be, in characters.
const SNIPPET_CHARS: usize = 280;

/// A query's distinct analysed terms, each with the weight it carries when a short window of
/// text is scored (its inverse document frequency: a rare word says more about where the
/// answer is than a common one).
#[derive(Debug, Clone, Default)]
pub struct TermWeights {
    terms: Vec<(String, f32)>,
    total: f32,
}

impl TermWeights {
    /// Weights as given; negative or non-finite ones count as 0.
    pub fn new(terms: Vec<(String, f32)>) -> Self {
        let terms: Vec<(String, f32)> = terms
            .into_iter()
            .map(|(t, w)| (t, if w.is_finite() { w.max(0.0) } else { 0.0 }))
            .collect();
        let total = terms.iter().map(|t| t.1).sum();
        TermWeights { terms, total }
    }

    /// Every term of `query` weighing the same: where no index tells how rare a word is.
    pub fn uniform(query: &str) -> Self {
        let mut seen = HashSet::new();
        TermWeights::new(
            analyze(query)
                .into_iter()
                .filter(|t| seen.insert(t.0.clone()))
                .map(|t| (t.0, 1.0))
                .collect(),
        )
    }

    /// The terms.
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.0.as_str())
    }

    fn weight(&self, term: &str) -> Option<f32> {
        self.terms.iter().find(|t| t.0 == term).map(|t| t.1)
    }

    /// These weights, each scaled by the share of `texts` (analysed) that lack the term (plus
    /// [`WITHIN_FLOOR`]): a term in every one of them weighs almost nothing among them.
    fn within(&self, texts: &[Vec<(String, usize)>]) -> TermWeights {
        if texts.is_empty() {
            return self.clone();
        }
        let n = texts.len() as f32;
        TermWeights::new(
            self.terms
                .iter()
                .map(|(t, w)| {
                    let df = texts.iter().filter(|x| x.iter().any(|y| &y.0 == t)).count();
                    // A little of the global weight stays: a term in seven candidates of eight
                    // must not decide the window alone where the rarer ones weigh nothing.
                    (t.clone(), w * (1.0 - df as f32 / n + WITHIN_FLOOR))
                })
                .collect(),
        )
    }
}

/// How long a window of sentences may grow, in bytes: about two sentences, the size of a
/// snippet, so that the window shown is the window scored.
const WINDOW_BYTES: usize = SNIPPET_CHARS;
/// What a term in every candidate keeps of its weight when the highlight is chosen.
const WITHIN_FLOOR: f32 = 0.05;
/// How many of a paper's best passages compete for its page.
const PAGE_CANDIDATES: usize = 8;
/// Passages shorter than this (in bytes) have their fused score scaled down in proportion
/// when the page is chosen: a title page, a running head or a page's last lines match a
/// question about the paper's subject by its words alone, and answer nothing. A full passage
/// is about 1,000 to 1,500 bytes.
const FULL_PASSAGE_BYTES: usize = 800;

/// Where sentences end in `text`, as byte spans: at `.`, `?`, `!` or `;` before white space, at
/// a blank line, at the end of a line ending in `:`, and before a line that starts a list
/// item. Coarse on purpose: a split too many only makes a window of two sentences where one
/// would do.
fn sentences(text: &str) -> Vec<(usize, usize)> {
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
fn best_window(
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

/// A candidate's fused score against the paper's best, 0 to 1: the ratio where the best is
/// positive (the usual case: fused and keyword scores are, and cosines nearly always), else
/// min-max over the candidates (cosines all negative would make every ratio meaningless).
fn relative_score(score: f32, top: f32, bottom: f32) -> f32 {
    if top > 0.0 {
        (score / top).clamp(0.0, 1.0)
    } else if top > bottom {
        (score - bottom) / (top - bottom)
    } else {
        1.0
    }
}

/// A passage competing for its paper's page.
pub(super) struct Candidate<'a> {
    pub(super) row: &'a ChunkRow,
    /// Its fused score.
    pub(super) score: f32,
    /// What its snippet shows, as byte offsets into the passage text: its best window, or the
    /// whole passage where none was scored.
    pub(super) window: (usize, usize),
}

impl Candidate<'_> {
    /// The snippet: the window, cut and marked as [`snippet`] does, with an ellipsis wherever
    /// the passage goes on.
    pub(super) fn snippet(&self, terms: &HashSet<String>) -> String {
        let (a, b) = self.window;
        let text = &self.row.text;
        let inner = snippet(&text[a..b], terms, SNIPPET_CHARS);
        let mut out = String::with_capacity(inner.len() + 8);
        if a > 0 && !inner.starts_with('…') {
            out.push('…');
        }
        out.push_str(&inner);
        if b < text.len() && !inner.ends_with('…') {
            out.push('…');
        }
        out
    }
}

/// Orders a paper's passages (best fused score first) for its page, best page first.
///
/// Each of the first [`PAGE_CANDIDATES`] scores its fused score relative to the paper's best
/// (scaled down when it is short, see [`FULL_PASSAGE_BYTES`]), plus `window_weight` times its
/// best window's share of the query's weight; the candidates are ordered by that score, and
/// the passages past them follow in fused order. The usual miss
/// was a page about the question's subject beside the page that answers it: the window asks
/// where the question's rarer words come together. No `window_weight` keeps the fused order
/// and whole-passage snippets (the ranking before windows, for comparison).
///
/// The window each snippet shows is chosen with the query's terms weighed again within these
/// candidates: a word in every one of them (the paper's subject) says nothing about where in
/// the passage the answer is (docs/EVALUATION.md, page level).
pub(super) fn choose_pages<'a>(
    list: &[(&'a ChunkRow, f32)],
    weights: &TermWeights,
    window_weight: Option<f32>,
) -> Vec<Candidate<'a>> {
    let whole = |row: &'a ChunkRow, score| Candidate {
        row,
        score,
        window: (0, row.text.len()),
    };
    let Some(window_weight) = window_weight else {
        return list.iter().map(|&(row, score)| whole(row, score)).collect();
    };
    if list.is_empty() {
        return Vec::new();
    }
    let n = list.len().min(PAGE_CANDIDATES);
    let analysed: Vec<Vec<(String, usize)>> = list[..n]
        .iter()
        .map(|(row, _)| {
            analyze(&row.text)
                .into_iter()
                .map(|(t, a, _)| (t, a))
                .collect()
        })
        .collect();
    let within = weights.within(&analysed);
    let top = list[0].1;
    let bottom = list[..n].iter().map(|c| c.1).fold(top, f32::min);
    let mut scored: Vec<(Option<f32>, Candidate<'a>)> = Vec::with_capacity(list.len());
    for (i, &(row, score)) in list.iter().enumerate() {
        let Some(terms) = analysed.get(i) else {
            scored.push((None, whole(row, score)));
            continue;
        };
        let (window, share) = best_window(&row.text, terms, weights);
        let (shown, shown_share) = best_window(&row.text, terms, &within);
        let window = match (shown_share > 0.0, share > 0.0) {
            (true, _) => shown,
            (false, true) => window,
            (false, false) => (0, row.text.len()),
        };
        let relative = relative_score(score, top, bottom);
        let fullness = (row.text.len() as f32 / FULL_PASSAGE_BYTES as f32).min(1.0);
        let own = relative * fullness + window_weight * share;
        scored.push((Some(own), Candidate { row, score, window }));
    }
    // Stable: passages past the candidates keep their fused order, after the candidates.
    scored.sort_by(|a, b| b.0.unwrap_or(f32::MIN).total_cmp(&a.0.unwrap_or(f32::MIN)));
    scored.into_iter().map(|s| s.1).collect()
}

/// tags and everything else HTML-escaped.
pub fn snippet(text: &str, terms: &HashSet<String>, max_chars: usize) -> String {
    let hits: Vec<(usize, usize)> = analyze(text)
        .into_iter()
        .filter(|(t, _, _)| terms.contains(t))
        .map(|(_, a, b)| (a, b))
        .collect();
    let max_bytes = max_chars; // Text is mostly ASCII; bytes bound the window closely enough.
    let (mut start, mut end) = (0, text.len());
    if text.len() > max_bytes {
        // The window that starts a little before a hit and holds the most hits.
        let lead = max_bytes / 6;
        let mut best = (0usize, 0usize);
        for &(a, _) in &hits {
            let s = a.saturating_sub(lead);
            let count = hits
                .iter()
                .filter(|h| h.0 >= s && h.1 <= s + max_bytes)
                .count();
            if count > best.1 {
                best = (s, count);
            }
        }
        start = best.0;
        end = (start + max_bytes).min(text.len());
        // Never inside a character: widen to the nearest boundaries first.
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        // Then to word boundaries, so no word is cut.
        if start > 0 {
            start = text[start..end]
                .char_indices()
                .find(|(_, c)| c.is_whitespace())
                .map_or(start, |(p, c)| start + p + c.len_utf8());
        }
        if end < text.len() {
            end = text[start..end]
                .rfind(char::is_whitespace)
                .map_or(end, |p| start + p);
        }
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for &(a, b) in hits.iter().filter(|h| h.0 >= start && h.1 <= end) {
        if a < at {
            continue; // A compound and its parts overlap: mark the compound once.
        }
        escape_into(&mut out, &text[at..a]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[a..b]);
        out.push_str("</mark>");
        at = b;
    }
    escape_into(&mut out, &text[at..end]);
    if end < text.len() {
        out.push('…');
    }
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ChunkId;
    use proptest::prelude::*;

    #[test]
    fn snippet_marks_terms_and_escapes() {
        let terms: HashSet<String> = analyze("IL-6 sepsis").into_iter().map(|t| t.0).collect();
        let s = snippet("In sepsis, IL-6 <rose> & fell.", &terms, 280);
        assert_eq!(
            s,
            "In <mark>sepsis</mark>, <mark>IL-6</mark> &lt;rose&gt; &amp; fell."
        );
    }

    #[test]
    fn long_snippet_is_cut_around_the_hits() {
        let text = format!(
            "{} the ferritin level was high {}",
            "word ".repeat(200),
            "tail ".repeat(200)
        );
        let terms: HashSet<String> = analyze("ferritin").into_iter().map(|t| t.0).collect();
        let s = snippet(&text, &terms, 120);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>ferritin</mark>"));
        assert!(s.chars().count() < 140);
    }

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

    fn row(id: ChunkId, page: u32, text: &str) -> ChunkRow {
        ChunkRow {
            id,
            document: 1,
            page,
            start: 0,
            end: text.len(),
            text: text.to_string(),
            source: None,
            ocr: false,
        }
    }

    #[test]
    fn the_page_that_answers_beats_the_page_about_the_subject() {
        let filler = "Patients were followed in clinic and reviewed at each visit. ".repeat(14);
        let about = row(
            1,
            20,
            &format!("{filler}Trigeminal neuralgia is a painful condition of the face."),
        );
        let answers = row(
            2,
            21,
            &format!(
                "{filler}Carbamazepine for trigeminal neuralgia: the initial dose is 200 mg \
                 daily, increased every second day."
            ),
        );
        let title = row(3, 1, "Trigeminal neuralgia: a guideline");
        let list = [(&title, 1.0), (&about, 0.9), (&answers, 0.7)];
        let weights = TermWeights::uniform("carbamazepine starting dose trigeminal neuralgia");
        let chosen = choose_pages(&list, &weights, Some(1.0));
        assert_eq!(chosen[0].row.page, 21);
        // The snippet is the answering window, not the passage's start.
        let terms: HashSet<String> = weights.terms().map(str::to_string).collect();
        let shown = chosen[0].snippet(&terms);
        assert!(shown.starts_with("…<mark>Carbamazepine</mark>"), "{shown}");
        // Weight 0: the fused order and whole passages, as before windows.
        let fused = choose_pages(&list, &weights, None);
        assert_eq!(fused[0].row.page, 1);
        assert_eq!(fused[1].window, (0, about.text.len()));
    }

    #[test]
    fn relative_scores_stay_in_range_whatever_the_sign() {
        assert_eq!(relative_score(0.5, 1.0, 0.2), 0.5);
        // A negative cosine below a positive best is worth nothing, not less than nothing.
        assert_eq!(relative_score(-0.1, 0.4, -0.1), 0.0);
        // All negative: the order is kept by min-max.
        assert_eq!(relative_score(-0.02, -0.02, -0.3), 1.0);
        assert_eq!(relative_score(-0.3, -0.02, -0.3), 0.0);
        assert_eq!(relative_score(0.0, 0.0, 0.0), 1.0);
    }

    proptest! {
        #[test]
        fn regression_snippet_never_cuts_a_character(
            text in "[a-z ’–é中\u{3000}]{0,400}",
            max in 10usize..120,
        ) {
            let terms: HashSet<String> = ["é".to_string(), "a".to_string()].into();
            let s = snippet(&text, &terms, max);
            // Unmarked, the snippet is a piece of the text, cut only between words.
            let plain = s.replace("<mark>", "").replace("</mark>", "");
            let plain = plain.trim_start_matches('…').trim_end_matches('…');
            prop_assert!(text.contains(plain), "{plain:?} is not in {text:?}");
        }

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
