//! How text becomes terms, for passages, titles, queries and snippet highlighting alike.
//!
//! The analyzer keeps the terms clinicians type: `IL-6`, `COVID-19` and `HbA1c` are indexed whole
//! as well as by their parts, so `IL-6` finds IL-6 and not every passage with a 6 in it, while
//! `IL 6` still matches. Words are lowercased, English stop words dropped and the rest stemmed.

use std::cell::RefCell;
use std::collections::HashMap;

use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer,
    Token, TokenStream, Tokenizer,
};

/// The version of the terms [`analyzer`] makes, recorded with a library's keyword index; a
/// library whose index an older version built rebuilds it from its catalog when next written.
/// Raise it with every change to the terms a text gives.
///
/// 1: numbers joined by a hyphen ("37-38") are no longer a term whole.
/// 2: Unicode's hyphens (U+2010, U+2011) join a compound as ASCII's does.
/// 3: Greek letters are their Latin names ("β-lactam" is "beta-lactam"), and one glued to
///    Latin letters or digits is a part of its own ("IFNγ" is "ifngamma", "ifn", "gamma").
pub const ANALYZER_VERSION: u32 = 3;

/// Splits text into words and keeps hyphenated compounds (`IL-6`) whole besides their parts.
#[derive(Clone, Default)]
pub struct CompoundTokenizer;

/// The tokens of one text, computed up front: passages are short, and it keeps the stream simple.
pub struct CompoundTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for CompoundTokenizer {
    type TokenStream<'a> = CompoundTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CompoundTokenStream {
        CompoundTokenStream {
            tokens: compound_tokens(text),
            index: 0,
        }
    }
}

impl TokenStream for CompoundTokenStream {
    fn advance(&mut self) -> bool {
        self.index += 1;
        self.index <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

fn compound_tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for_each_span(text, |from, to, position| {
        tokens.push(token(text, from, to, position))
    });
    tokens
}

/// Calls `f` with each token's byte span, in order, as [`CompoundTokenizer`] makes them.
fn for_each_token(text: &str, mut f: impl FnMut(usize, usize)) {
    for_each_span(text, |from, to, _| f(from, to));
}

/// Calls `f` with each token's byte span and position, in order: a compound's whole (where it
/// has more than one part), then its parts; the whole shares its first part's position.
fn for_each_span(text: &str, mut f: impl FnMut(usize, usize, usize)) {
    let mut position = 0;
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut flush = |parts: &mut Vec<(usize, usize)>, position: &mut usize| {
        // Numbers joined by a hyphen are a range ("37-38 weeks") or a date, not a term: typeset
        // text writes them with an en dash, which never joins, while typed questions and OCR
        // write a hyphen, so only their parts are terms, the same however the dash was written.
        if parts.len() > 1
            && parts
                .iter()
                .any(|&(from, to)| !text[from..to].bytes().all(|b| b.is_ascii_digit()))
        {
            f(parts[0].0, parts[parts.len() - 1].1, *position);
        }
        for &(from, to) in parts.iter() {
            f(from, to, *position);
            *position += 1;
        }
        parts.clear();
    };
    while let Some((i, c)) = chars.next() {
        if !c.is_alphanumeric() {
            // A single hyphen between two alphanumeric runs joins them into a compound:
            // the ASCII one or Unicode's own (U+2010, U+2011), which some journals typeset
            // ("DE‐MRI") and which OCR and a keyboard write as ASCII.
            let joins = is_hyphen(c)
                && !parts.is_empty()
                && parts.last().is_some_and(|p| p.1 == i)
                && chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric());
            if !joins {
                flush(&mut parts, &mut position);
            }
            continue;
        }
        // A run of letters and digits, parted where Greek meets the rest ("IFNγ", "β2"):
        // papers glue the letter on, clinicians type it apart ("IFN-gamma", "beta-2").
        let mut start = i;
        let mut end = i + c.len_utf8();
        let mut greek = greek_name(c).is_some();
        while let Some(&(j, n)) = chars.peek() {
            if !n.is_alphanumeric() {
                break;
            }
            if greek_name(n).is_some() != greek {
                parts.push((start, end));
                start = j;
                greek = !greek;
            }
            end = j + n.len_utf8();
            chars.next();
        }
        parts.push((start, end));
    }
    flush(&mut parts, &mut position);
}

fn token(text: &str, from: usize, to: usize, position: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text: normalized(&text[from..to]),
        position_length: 1,
    }
}

/// A token's text as its term is made from: a compound's hyphens as ASCII's, so that "DE‐MRI"
/// and "DE-MRI" are one term, and Greek letters by their names, as a keyboard types them
/// ("β-blocker" as "beta-blocker", "TNF-α" as "TNF-alpha").
fn normalized(token: &str) -> String {
    let mut out = String::with_capacity(token.len() + 8);
    for c in token.chars() {
        match greek_name(c) {
            Some(name) => out.push_str(name),
            None if is_hyphen(c) => out.push('-'),
            None => out.push(c),
        }
    }
    out
}

/// The Latin name of a Greek letter, either case, final sigma and the symbol variants of phi
/// and theta included. Mu is left alone: "µg" and "μM" are units, which "mu" would not spell.
fn greek_name(c: char) -> Option<&'static str> {
    let lower = match c {
        'ϕ' => 'φ',
        'ϑ' => 'θ',
        'ς' => 'σ',
        'ϐ' => 'β',
        'Α'..='Ω' => c.to_lowercase().next()?,
        _ => c,
    };
    Some(match lower {
        'α' => "alpha",
        'β' => "beta",
        'γ' => "gamma",
        'δ' => "delta",
        'ε' => "epsilon",
        'ζ' => "zeta",
        'η' => "eta",
        'θ' => "theta",
        'ι' => "iota",
        'κ' => "kappa",
        'λ' => "lambda",
        'ν' => "nu",
        'ξ' => "xi",
        'ο' => "omicron",
        'π' => "pi",
        'ρ' => "rho",
        'σ' => "sigma",
        'τ' => "tau",
        'υ' => "upsilon",
        'φ' => "phi",
        'χ' => "chi",
        'ψ' => "psi",
        'ω' => "omega",
        _ => return None,
    })
}

/// Whether `c` is a hyphen: ASCII's, or Unicode's hyphen and non-breaking hyphen.
fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

/// The analyzer used for passages, titles, queries and snippet highlighting alike.
pub fn analyzer() -> TextAnalyzer {
    filtered(TextAnalyzer::builder(CompoundTokenizer))
}

/// [`analyzer`]'s filters on one token: the whole text as a single token ([`RawTokenizer`]),
/// lowercased, dropped if a stop word or too long, stemmed.
fn token_analyzer() -> TextAnalyzer {
    filtered(TextAnalyzer::builder(RawTokenizer::default()))
}

/// The filters every token goes through, after whichever tokenizer `builder` starts with.
fn filtered<T: Tokenizer>(builder: tantivy::tokenizer::TextAnalyzerBuilder<T>) -> TextAnalyzer {
    builder
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| w.to_string()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// English function words, dropped before stemming. Larger than tantivy's built-in list (which
/// keeps "were", "has", "which" ...): BM25 on biomedical abstracts gains from dropping them.
const STOP_WORDS: [&str; 124] = [
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
    "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
    "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once",
    "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "would", "you", "your", "yours", "also", "may",
];

/// How many distinct tokens [`analyze`] remembers on a thread before it starts again: about
/// 10 MB at most, and a library's vocabulary mostly fits.
const TERMS_MAX: usize = 100_000;

/// A thread's analysis of the tokens it has met: each token as it stands in the text, with
/// its term (`None`: a stop word or too long).
struct Terms {
    analyzer: TextAnalyzer,
    seen: HashMap<Box<str>, Option<Box<str>>>,
}

thread_local! {
    static TERMS: RefCell<Terms> = RefCell::new(Terms {
        analyzer: token_analyzer(),
        seen: HashMap::new(),
    });
}

/// The analysed terms of `text` with their byte spans. A search analyses its candidates'
/// passages at each query (the page choice, the snippet), and a token's term depends on the
/// token alone: each is looked up among those the thread has met instead of being lowercased
/// and stemmed again (analysis was 9 % of a search at a million passages). The result is
/// [`analyzer`]'s, token for token.
pub fn analyze(text: &str) -> Vec<(String, usize, usize)> {
    TERMS.with(|terms| {
        let mut terms = terms.borrow_mut();
        let Terms { analyzer, seen } = &mut *terms;
        if seen.len() >= TERMS_MAX {
            seen.clear();
        }
        let mut out = Vec::new();
        for_each_token(text, |from, to| {
            let raw = &text[from..to];
            let term = match seen.get(raw) {
                Some(term) => term.as_deref(),
                None => {
                    let normal = normalized(raw);
                    let mut stream = analyzer.token_stream(&normal);
                    let term = stream.next().map(|t| t.text.clone().into_boxed_str());
                    seen.entry(raw.into()).or_insert(term).as_deref()
                }
            };
            if let Some(term) = term {
                out.push((term.to_string(), from, to));
            }
        });
        out
    })
}

/// [`analyze`] through the whole analyzer, token by token: what the cache must agree with.
#[cfg(test)]
fn analyze_uncached(text: &str) -> Vec<(String, usize, usize)> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push((t.text.clone(), t.offset_from, t.offset_to));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        analyze(text).into_iter().map(|t| t.0).collect()
    }

    #[test]
    fn medical_compounds_stay_findable() {
        assert_eq!(terms("IL-6 levels"), ["il-6", "il", "6", "level"]);
        assert_eq!(terms("COVID-19"), ["covid-19", "covid", "19"]);
        assert_eq!(terms("HbA1c"), ["hba1c"]);
        assert_eq!(terms("5-HT3"), ["5-ht3", "5", "ht3"]);
        assert_eq!(terms("the patients were treated"), ["patient", "treat"]);
    }

    #[test]
    fn a_range_of_numbers_is_its_numbers_however_its_dash_is_written() {
        assert_eq!(terms("37-38 weeks"), ["37", "38", "week"]);
        assert_eq!(terms("37-38 weeks"), terms("37\u{2013}38 weeks"));
        assert_eq!(terms("0-95"), ["0", "95"]);
    }

    #[test]
    fn unicode_hyphens_join_as_the_ascii_one_does() {
        assert_eq!(terms("DE\u{2010}MRI"), ["de-mri", "de", "mri"]);
        assert_eq!(terms("IL\u{2011}6"), terms("IL-6"));
    }

    #[test]
    fn greek_letters_are_their_names_and_a_part_of_their_own() {
        assert_eq!(terms("β-lactam"), ["beta-lactam", "beta", "lactam"]);
        assert_eq!(terms("β-lactam"), terms("beta-lactam"));
        assert_eq!(terms("TNF-α"), terms("TNF-alpha"));
        assert_eq!(terms("IFNγ"), ["ifngamma", "ifn", "gamma"]);
        assert_eq!(terms("β2"), ["beta2", "beta", "2"]);
        assert_eq!(terms("ΔLVEF"), ["deltalvef", "delta", "lvef"]);
        // Units keep their mu.
        assert_eq!(terms("5 µg"), ["5", "µg"]);
        // The terms' spans are the text's own.
        assert_eq!(analyze("IFNγ")[2], ("gamma".to_string(), 3, 5));
    }

    #[test]
    fn a_remembered_token_is_analysed_as_the_first_time() {
        let text = "IL-6 levels; the IL-6 LEVELS of TNF-α were raised in 12 of 40 patients-years";
        assert_eq!(analyze(text), analyze_uncached(text));
        assert_eq!(analyze(text), analyze(text));
    }

    proptest::proptest! {
        #[test]
        fn the_cache_gives_the_analyzers_terms_and_spans(
            text in "([A-Za-z0-9é]{1,12}|-|--|\u{2010}| |\\.|, |\n|é|ﬁ|İ){0,40}"
        ) {
            proptest::prop_assert_eq!(analyze(&text), analyze_uncached(&text));
            // Again, now from the cache.
            proptest::prop_assert_eq!(analyze(&text), analyze_uncached(&text));
        }
    }
}
