//! Abbreviations both ways: a query's "DVT ppx after TKA" also finds "deep vein thrombosis
//! prophylaxis after total knee arthroplasty", and "myocardial infarction" also finds "MI".
//!
//! Senses come from two places: the definitions the user's own papers make (mined at ingest,
//! [`mine`]), which win, and the general table shipped in `assets/abbreviations/` ([`table`]).
//! A sense is used only where the library holds it (a table sense no paper uses finds
//! nothing and would only blur the ranking); where several senses are held ("MS": multiple
//! sclerosis in some papers, mitral stenosis in others) the one the library uses most is
//! chosen and the others are offered, never dropped silently. Every expansion is reported
//! ([`Expansion`]) so that a face can show it and the user take it back.

mod list;
pub mod mine;
mod table;

use serde::{Deserialize, Serialize};

pub use mine::{definitions, Definition, MINER};

/// The most expansions one query gets: a query of fifty abbreviations is expanded at its
/// first eight (each costs a lookup, and past a handful they stop helping).
pub const MAX_EXPANSIONS: usize = 8;

/// Which way an expansion goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// An abbreviation typed, its expansion added ("MI" → "myocardial infarction").
    Expansion,
    /// A term spelled out, its abbreviation added ("myocardial infarction" → "MI").
    Abbreviation,
}

/// Where a sense came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenseSource {
    /// Defined in the user's own papers.
    Library,
    /// MedShelf's general table.
    Table,
    /// Chosen by the user for this search.
    User,
}

/// One expansion of a query, as `search --json` lists it (`expanded`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expansion {
    /// The abbreviation ("MI").
    pub abbreviation: String,
    /// What it stands for ("myocardial infarction").
    pub expansion: String,
    /// Which of the two the query held: `expansion` adds the long form, `abbreviation` the
    /// short one.
    pub direction: Direction,
    /// Where the sense came from.
    pub source: SenseSource,
    /// How many papers of the library define it so (0 for the table's).
    pub papers: usize,
    /// The abbreviation's other senses that the library holds, most used first: what the
    /// user may choose instead.
    pub other_senses: Vec<String>,
}

/// What the user asked of expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandOptions {
    /// Whether to expand at all (`--no-expand` turns it off).
    pub enabled: bool,
    /// Abbreviations not to expand (a chip taken away), case aside.
    pub off: Vec<String>,
    /// A sense chosen per abbreviation (`--sense "MS=mitral stenosis"`), case aside.
    pub senses: Vec<(String, String)>,
}

impl Default for ExpandOptions {
    fn default() -> Self {
        ExpandOptions {
            enabled: true,
            off: Vec::new(),
            senses: Vec::new(),
        }
    }
}

/// What expansion needs to know of the library.
pub trait Vocabulary {
    /// The long forms the library's papers define `short` as (case aside), with how many
    /// papers do, most first.
    fn defined(&self, short: &str) -> Vec<(String, usize)>;
    /// The short forms the library's papers define `long` by, with how many papers do.
    fn defined_as(&self, long: &str) -> Vec<(String, usize)>;
    /// How many passages hold the phrase (0: the library never uses it).
    fn phrase_passages(&self, phrase: &str) -> usize;
}

/// How many of a query's words are read for spelled-out terms.
const MAX_SPELLED_OUT_WORDS: usize = 32;

/// The shortest single word looked up as the long form of an abbreviation.
const MIN_SPELLED_OUT_WORD: usize = 6;

/// Function words a query's spelled-out terms never start or end with.
const GLUE: [&str; 8] = ["of", "the", "and", "with", "in", "on", "for", "to"];

/// The expansions of `query`, at most [`MAX_EXPANSIONS`].
pub fn expand(query: &str, vocabulary: &dyn Vocabulary, options: &ExpandOptions) -> Vec<Expansion> {
    if !options.enabled {
        return Vec::new();
    }
    let words = words(query);
    let mut out: Vec<Expansion> = Vec::new();
    let off = |abbreviation: &str| {
        options
            .off
            .iter()
            .any(|o| o.eq_ignore_ascii_case(abbreviation))
    };
    for word in &words {
        if out.len() >= MAX_EXPANSIONS {
            break;
        }
        if off(word)
            || out
                .iter()
                .any(|e| e.abbreviation.eq_ignore_ascii_case(word))
        {
            continue;
        }
        let typed_as_abbreviation = capitals(word) >= 2;
        let table = if typed_as_abbreviation {
            table::TABLE.senses(word)
        } else {
            table::TABLE.shorthand(word)
        };
        // Shorthand typed in lower case ("dvt") reads the library's definitions of it too.
        let library = if typed_as_abbreviation || !table.is_empty() {
            vocabulary.defined(word)
        } else {
            Vec::new()
        };
        if table.is_empty() && library.is_empty() {
            continue;
        }
        // The library's senses, most used first; then the table's the library holds, most
        // used first, where they are not a spelling of a sense already there.
        // Two spellings of one sense ("erythematosis", "erythematosus") are one sense, the
        // more used spelling first.
        let mut senses: Vec<(String, SenseSource, usize)> = Vec::new();
        for (long, papers) in library {
            if !senses.iter().any(|(s, _, _)| same_sense(s, &long)) {
                senses.push((long, SenseSource::Library, papers));
            }
        }
        let mut held: Vec<(String, usize)> = table
            .iter()
            .filter(|long| !senses.iter().any(|(s, _, _)| same_sense(s, long)))
            .map(|long| (long.clone(), vocabulary.phrase_passages(long)))
            .filter(|(_, n)| *n > 0)
            .collect();
        held.sort_by_key(|h| std::cmp::Reverse(h.1));
        senses.extend(
            held.into_iter()
                .map(|(long, _)| (long, SenseSource::Table, 0)),
        );
        let chosen = options
            .senses
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(word))
            .map(|(_, long)| long.to_lowercase());
        let (expansion, source, papers) = match chosen {
            Some(long) => {
                let papers = senses
                    .iter()
                    .find(|(s, _, _)| *s == long)
                    .map_or(0, |s| s.2);
                (long, SenseSource::User, papers)
            }
            None => match senses.first() {
                Some(first) => first.clone(),
                None => continue,
            },
        };
        // "AMP-activated protein kinase (AMPK)": the query spells it out already.
        if contains_words(&query.to_lowercase(), &expansion) {
            continue;
        }
        let other_senses = senses
            .into_iter()
            .map(|(s, _, _)| s)
            .filter(|s| *s != expansion)
            .collect();
        out.push(Expansion {
            abbreviation: word.clone(),
            expansion,
            direction: Direction::Expansion,
            source,
            papers,
            other_senses,
        });
    }
    // The other direction: runs of the query's words that spell out an abbreviation the
    // library uses ("myocardial infarction" where papers write "MI"). A pasted paragraph is
    // read at its first words only: each run is a lookup.
    let lower: Vec<String> = words
        .iter()
        .take(MAX_SPELLED_OUT_WORDS)
        .map(|w| w.to_lowercase())
        .collect();
    let longest = table::TABLE.longest_expansion().min(8);
    let mut start = 0;
    while start < lower.len() && out.len() < MAX_EXPANSIONS {
        let mut matched = 0;
        for len in (1..=longest.max(1).min(lower.len() - start)).rev() {
            let run = &lower[start..start + len];
            if GLUE.contains(&run[0].as_str()) || GLUE.contains(&run[len - 1].as_str()) {
                continue;
            }
            // One word ("albendazole" where a guideline writes "ALB") only by the library's
            // own definitions and only where it is long enough to be a term: the table's
            // single words are shorthand the other way ("pt" for patient), and a short
            // common word ("dose") is no one's long form.
            if len == 1 && run[0].chars().count() < MIN_SPELLED_OUT_WORD {
                continue;
            }
            let long = run.join(" ");
            let mut shorts: Vec<(String, SenseSource, usize)> = vocabulary
                .defined_as(&long)
                .into_iter()
                .map(|(s, n)| (s, SenseSource::Library, n))
                .collect();
            if shorts.is_empty() && len > 1 {
                shorts = table::TABLE
                    .abbreviations_of(&long)
                    .iter()
                    .map(|s| (s.clone(), SenseSource::Table, 0))
                    .collect();
            }
            // Two-letter abbreviations ("BC" for breast cancer) stand for too much to add
            // to a query that spelled its term out.
            let Some((short, source, papers)) = shorts
                .into_iter()
                .filter(|(s, _, _)| s.chars().filter(|c| c.is_alphanumeric()).count() >= 3)
                .filter(|(s, _, _)| !off(s) && !lower.contains(&s.to_lowercase()))
                .find(|(s, _, _)| vocabulary.phrase_passages(s) > 0)
            else {
                continue;
            };
            out.push(Expansion {
                abbreviation: short,
                expansion: long,
                direction: Direction::Abbreviation,
                source,
                papers,
                other_senses: Vec::new(),
            });
            matched = len;
            break;
        }
        start += matched.max(1);
    }
    out
}

/// The query's words as typed: split at white space, punctuation around a word dropped
/// ("(MI)," is "MI"), inner marks kept ("IL-6", "h/o").
fn words(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty() && w.chars().count() <= 40)
        .map(str::to_string)
        .collect()
}

/// Whether the words of `phrase` occur in `text` in order, as whole words (both lower-case).
fn contains_words(text: &str, phrase: &str) -> bool {
    let split = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (text, phrase) = (split(text), split(phrase));
    !phrase.is_empty() && text.windows(phrase.len()).any(|w| w == phrase.as_slice())
}

/// How many capital letters a word has ("HFrEF": 4, "Sepsis": 1).
fn capitals(word: &str) -> usize {
    word.chars().filter(|c| c.is_uppercase()).count()
}

/// Whether two long forms are spellings of one sense ("deep vein thrombosis" and "deep
/// venous thrombosis", "erythematosus" and "erythematosis"): the same words but one, and that
/// one a small edit away. "Acute coronary syndrome" and "acute compartment syndrome" are two
/// senses.
fn same_sense(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    if a.len() != b.len() {
        return false;
    }
    let differing: Vec<(&String, &String)> = a.iter().zip(&b).filter(|(x, y)| x != y).collect();
    match differing.as_slice() {
        [] => true,
        [(x, y)] => edits(x, y) <= 2,
        _ => false,
    }
}

/// The edit distance of two words (insertions, deletions, substitutions).
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library that defines MS both ways and uses the phrases given.
    struct Library {
        defined: Vec<(&'static str, &'static str, usize)>,
        phrases: Vec<(&'static str, usize)>,
    }

    impl Vocabulary for Library {
        fn defined(&self, short: &str) -> Vec<(String, usize)> {
            self.defined
                .iter()
                .filter(|(s, _, _)| s.eq_ignore_ascii_case(short))
                .map(|(_, l, n)| (l.to_string(), *n))
                .collect()
        }
        fn defined_as(&self, long: &str) -> Vec<(String, usize)> {
            self.defined
                .iter()
                .filter(|(_, l, _)| *l == long)
                .map(|(s, _, n)| (s.to_string(), *n))
                .collect()
        }
        fn phrase_passages(&self, phrase: &str) -> usize {
            self.phrases
                .iter()
                .find(|(p, _)| p.eq_ignore_ascii_case(phrase))
                .map_or(0, |(_, n)| *n)
        }
    }

    fn library() -> Library {
        Library {
            defined: vec![
                ("MS", "multiple sclerosis", 3),
                ("MS", "mitral stenosis", 1),
                ("DVT", "deep vein thrombosis", 2),
                ("SLE", "systemic lupus erythematosus", 2),
                ("SLE", "systemic lupus erythematosis", 1),
                ("ALB", "albendazole", 1),
                ("ASA", "aspirin", 1),
            ],
            phrases: vec![
                ("myocardial infarction", 5),
                ("total knee arthroplasty", 2),
                ("prophylaxis", 4),
                ("deep venous thrombosis", 1),
                ("MI", 3),
                ("DVT", 2),
                ("ALB", 4),
            ],
        }
    }

    fn pairs(e: &[Expansion]) -> Vec<(&str, &str)> {
        e.iter()
            .map(|e| (e.abbreviation.as_str(), e.expansion.as_str()))
            .collect()
    }

    #[test]
    fn shorthand_is_expanded_where_the_library_holds_the_sense() {
        let lib = library();
        let e = expand("DVT ppx after TKA", &lib, &ExpandOptions::default());
        assert_eq!(
            pairs(&e),
            [
                ("DVT", "deep vein thrombosis"),
                ("ppx", "prophylaxis"),
                ("TKA", "total knee arthroplasty")
            ]
        );
        assert_eq!(e[0].source, SenseSource::Library);
        // "Venous" is another word, not a misspelling: the table's wording is offered beside.
        assert_eq!(e[0].other_senses, ["deep venous thrombosis"], "{:?}", e[0]);
        assert_eq!(e[2].source, SenseSource::Table);
        // A sense no paper uses is not added.
        assert!(expand("AKI", &lib, &ExpandOptions::default()).is_empty());
    }

    #[test]
    fn the_librarys_usage_chooses_among_senses_and_offers_the_others() {
        let lib = library();
        let e = expand("MS relapse", &lib, &ExpandOptions::default());
        assert_eq!(pairs(&e), [("MS", "multiple sclerosis")]);
        assert_eq!(e[0].other_senses, ["mitral stenosis"]);
        let chosen = ExpandOptions {
            senses: vec![("ms".into(), "Mitral stenosis".into())],
            ..Default::default()
        };
        let e = expand("MS relapse", &lib, &chosen);
        assert_eq!(pairs(&e), [("MS", "mitral stenosis")]);
        assert_eq!(e[0].source, SenseSource::User);
        assert_eq!(e[0].other_senses, ["multiple sclerosis"]);
        // A misspelling is no second sense.
        let e = expand("SLE", &lib, &ExpandOptions::default());
        assert_eq!(pairs(&e), [("SLE", "systemic lupus erythematosus")]);
        assert!(e[0].other_senses.is_empty());
    }

    #[test]
    fn misspellings_are_one_sense_and_different_words_two() {
        assert!(same_sense(
            "systemic lupus erythematosus",
            "systemic lupus erythematosis"
        ));
        assert!(same_sense("haemoglobin", "hemoglobin"));
        for (a, b) in [
            ("acute coronary syndrome", "acute compartment syndrome"),
            ("huntington's disease", "hirschsprung's disease"),
            ("loss of consciousness", "level of consciousness"),
            ("cardiomegaly", "cardiomyopathy"),
            ("deep vein thrombosis", "deep venous thrombosis thrombi"),
        ] {
            assert!(!same_sense(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn spelled_out_terms_gain_their_abbreviation() {
        let e = expand(
            "deep vein thrombosis after surgery",
            &library(),
            &ExpandOptions::default(),
        );
        assert_eq!(pairs(&e), [("DVT", "deep vein thrombosis")]);
        assert_eq!(e[0].direction, Direction::Abbreviation);
        // Two letters stand for too much to add ("MI" for myocardial infarction).
        assert!(expand(
            "statins after myocardial infarction",
            &library(),
            &ExpandOptions::default()
        )
        .is_empty());
    }

    #[test]
    fn a_word_the_library_abbreviates_gains_its_abbreviation() {
        // A guideline lists "ALB albendazole" and writes "ALB" from then on.
        let e = expand(
            "can albendazole be used in pregnancy",
            &library(),
            &ExpandOptions::default(),
        );
        assert_eq!(pairs(&e), [("ALB", "albendazole")]);
        assert_eq!(e[0].direction, Direction::Abbreviation);
        // Not where no passage uses the abbreviation ("ASA" is defined, never written).
        assert!(expand("aspirin dose", &library(), &ExpandOptions::default()).is_empty());
    }

    #[test]
    fn expansion_can_be_turned_off_whole_or_one_at_a_time() {
        let lib = library();
        let none = ExpandOptions {
            enabled: false,
            ..Default::default()
        };
        assert!(expand("DVT ppx", &lib, &none).is_empty());
        let one = ExpandOptions {
            off: vec!["dvt".into()],
            ..Default::default()
        };
        assert_eq!(
            pairs(&expand("DVT ppx", &lib, &one)),
            [("ppx", "prophylaxis")]
        );
    }

    #[test]
    fn odd_queries_are_bounded() {
        let lib = library();
        // Lower-case words are not abbreviations unless they are shorthand; a word alone works.
        let lower = expand("ms mi dvt", &lib, &ExpandOptions::default());
        assert_eq!(pairs(&lower), [("dvt", "deep vein thrombosis")]);
        assert_eq!(expand("MI", &lib, &ExpandOptions::default()).len(), 1);
        let fifty = "MI DVT TKA MS ppx ".repeat(10);
        assert!(expand(&fifty, &lib, &ExpandOptions::default()).len() <= MAX_EXPANSIONS);
        for q in ["", "   ", "((()))", "Ωμέγα ÄÖÜ 漢字", &"x".repeat(10_000)] {
            let _ = expand(q, &lib, &ExpandOptions::default());
        }
    }
}
