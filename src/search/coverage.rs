//! How much of a query a whole page holds: the share of the query's weight whose terms occur
//! anywhere on it, each counted once.
//!
//! A passage is cut from its page, and the page's other passages often hold the rest of the
//! question: the drug's name in the table title above the dose, the disease in the heading the
//! section opened with. Measured on the page-level sets (docs/EVALUATION.md, the right page),
//! this is what told the page that answers from the page beside it most often.
//!
//! A page is a few thousand words and a search weighs a few dozen pages, so the page is not
//! analysed whole (that cost 13 ms a search, as much as the rest of it): only the words that
//! could give one of the query's terms are, each distinct word once. A word is analysed exactly
//! as the keyword index analyses it, so the result is the same as analysing the page.

use std::collections::HashMap;

use super::page::TermWeights;
use crate::index::analysis::analyze;

/// Measures pages against one query's terms, keeping what it learnt of each word between
/// pages (a paper's pages share most of their words).
pub(super) struct Coverage<'w> {
    weights: &'w TermWeights,
    /// Each term's first letter (lowercase), length in characters and whether it is a
    /// compound, for the cheap test before analysis.
    firsts: Vec<(char, usize, bool)>,
    /// Each word analysed so far, with the terms (indexes into the weights) it gives.
    seen: HashMap<String, Vec<usize>>,
}

impl<'w> Coverage<'w> {
    /// A measure for the query whose terms `weights` holds.
    pub(super) fn new(weights: &'w TermWeights) -> Self {
        let firsts = weights
            .entries()
            .map(|(t, _)| {
                let first = t.chars().next().unwrap_or(' ');
                (first, t.chars().count(), t.contains('-'))
            })
            .collect();
        Coverage {
            weights,
            firsts,
            seen: HashMap::new(),
        }
    }

    /// The share (0 to 1) of the query's weight whose terms occur in `text`.
    pub(super) fn share(&mut self, text: &str) -> f32 {
        let total = self.weights.total();
        if total <= 0.0 {
            return 0.0;
        }
        let n = self.firsts.len();
        let mut found = vec![false; n];
        let mut left = n;
        for word in words(text) {
            if !self.could_give_a_term(word) {
                continue;
            }
            let terms = match self.seen.get(word) {
                Some(terms) => terms,
                None => {
                    let terms = self.terms_of(word);
                    self.seen.entry(word.to_string()).or_insert(terms)
                }
            };
            for &i in terms {
                if !found[i] {
                    found[i] = true;
                    left -= 1;
                }
            }
            if left == 0 {
                break;
            }
        }
        let sum: f32 = self
            .weights
            .entries()
            .zip(&found)
            .filter(|(_, &f)| f)
            .map(|((_, w), _)| w)
            .sum();
        (sum / total).clamp(0.0, 1.0)
    }

    /// Whether analysing `word` could give one of the terms. Stemming keeps a word's first
    /// letter and never lengthens it, so a term comes only from a part of the word (or, for a
    /// compound like "il-6", the whole word) that starts with the term's letter and is at least
    /// as long. Every part: "anti-TNF" gives "tnf".
    fn could_give_a_term(&self, word: &str) -> bool {
        self.fits(word, true) || parts(word).any(|p| self.fits(p, false))
    }

    /// Whether a term (a compound or not) starts with the first letter of `s` (any case) and is
    /// no longer than `s`.
    fn fits(&self, s: &str, compound: bool) -> bool {
        // Nearly every word is ASCII: its first byte and length say it without decoding.
        let head = if s.is_ascii() {
            s.bytes()
                .next()
                .map(|b| (b.to_ascii_lowercase() as char, s.len()))
        } else {
            let mut chars = s.chars();
            let first = chars.next().and_then(|c| c.to_lowercase().next());
            first.map(|c| (c, 1 + chars.count()))
        };
        head.is_some_and(|(c, len)| {
            self.firsts
                .iter()
                .any(|&(f, n, h)| h == compound && f == c && n <= len)
        })
    }

    /// The terms (as indexes into the weights) that analysing `word` gives. [`analyze`]
    /// remembers each token's term between searches (a library's pages share their words).
    fn terms_of(&mut self, word: &str) -> Vec<usize> {
        let mut out = Vec::new();
        for (token, _, _) in analyze(word) {
            if let Some(i) = self.weights.entries().position(|(t, _)| t == token) {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out
    }
}

/// The words of `text`: maximal runs of letters, digits and hyphens, which is what the keyword
/// tokenizer's tokens never cross (a compound like "IL-6" stays whole in one).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| w.chars().any(char::is_alphanumeric))
}

/// The runs of letters and digits in a word.
fn parts(word: &str) -> impl Iterator<Item = &str> {
    word.split('-').filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::analysis::analyze;
    use proptest::prelude::*;

    /// The share, analysing the whole text: what [`Coverage::share`] must equal.
    fn share_by_analysis(text: &str, weights: &TermWeights) -> f32 {
        let terms: Vec<String> = analyze(text).into_iter().map(|t| t.0).collect();
        let sum: f32 = weights
            .entries()
            .filter(|(t, _)| terms.iter().any(|x| x == t))
            .map(|(_, w)| w)
            .sum();
        if weights.total() > 0.0 {
            sum / weights.total()
        } else {
            0.0
        }
    }

    #[test]
    fn a_page_holds_the_terms_its_passages_split() {
        let weights = TermWeights::new(vec![
            ("carbamazepin".into(), 3.0),
            ("dose".into(), 1.0),
            ("trigemin".into(), 2.0),
            ("titrat".into(), 2.0),
        ]);
        let mut coverage = Coverage::new(&weights);
        let page = "Table 20 Treatment of Trigeminal neuralgia. 1. Carbamazepine. The initial \
                    dose is 200-400 mg daily, increased by 100 mg every second day.";
        assert!((coverage.share(page) - 6.0 / 8.0).abs() < 1e-6);
        // The second page reuses what the first taught about its words, and finds no more.
        assert!((coverage.share("Doses were titrated.") - 3.0 / 8.0).abs() < 1e-6);
        assert_eq!(coverage.share(""), 0.0);
    }

    #[test]
    fn compounds_and_their_parts_are_found() {
        let weights = TermWeights::new(vec![("il-6".into(), 2.0), ("tnf".into(), 1.0)]);
        let mut coverage = Coverage::new(&weights);
        assert_eq!(coverage.share("serum IL-6 rose; anti-TNF agents"), 1.0);
        assert!((coverage.share("IL 6 and TNF") - 1.0 / 3.0).abs() < 1e-6);
    }

    proptest! {
        /// Skipping words by their first letter and analysing word by word give what analysing
        /// the whole text gives, for any text and any query.
        #[test]
        fn the_shortcut_equals_analysing_the_page(
            text in "[A-Za-zé0-9 ,.;:()\\-–\n]{0,300}",
            query in "[A-Za-z0-9 \\-]{0,40}",
        ) {
            let weights = TermWeights::uniform(&query);
            let mut coverage = Coverage::new(&weights);
            let fast = coverage.share(&text);
            prop_assert!((fast - share_by_analysis(&text, &weights)).abs() < 1e-5);
            // A second time, from the words it has seen.
            prop_assert!((coverage.share(&text) - fast).abs() < 1e-6);
        }
    }
}
