//! The snippet under a result: a passage cut to a few lines around the query's words, the
//! words marked.

use std::collections::HashSet;

use crate::index::lexical::analyze;

/// At most `max_chars` of `text` around the query's terms (the window with the most of them,
/// cut between words, with an ellipsis where the text goes on), the terms in `<mark>` tags and
/// everything else HTML-escaped.
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
    }
}
