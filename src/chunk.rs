//! Page text to passages: the `chunk` stage.
//!
//! Passages are cut on the model's own word pieces, so none is longer than the model reads
//! (MedEmbed was trained on at most 256), preferring sentence ends, then word starts, and each
//! starts a little before the previous one ends so that a fact straddling a cut is whole in one of
//! them. A passage never spans pages: each keeps its page and its byte offsets into that page's
//! text, which is what lets a hit be shown and highlighted in place.

/// One passage of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The 1-based page number.
    pub page: u32,
    /// Byte offset of the passage's first character in the page text.
    pub start: usize,
    /// Byte offset one past its last character.
    pub end: usize,
    /// How many word pieces it holds.
    pub tokens: usize,
}

/// How passages are cut.
#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    /// Most word pieces in a passage, special tokens excluded.
    pub max_tokens: usize,
    /// Word pieces repeated from the end of one passage at the start of the next, at most.
    pub overlap: usize,
}

impl ChunkOptions {
    /// Options for a model that reads at most `model_max` word pieces (special tokens included).
    pub fn for_model(model_max: usize) -> Self {
        // [CLS] and [SEP] take two places; 256 is MedEmbed's training length.
        let max_tokens = model_max.min(crate::embed::DEFAULT_MAX_TOKENS) - 2;
        ChunkOptions {
            max_tokens,
            overlap: max_tokens / 8,
        }
    }
}

/// Splits one page into passages, given the page's word pieces as byte spans in token order.
///
/// Any spans are accepted: a tokenizer's offsets may overlap, repeat, run backwards or fall
/// inside a character (the uncased BERT normaliser splits one Hangul syllable into pieces that
/// all point at the whole syllable), so they are first made monotone ([`monotone_spans`]).
/// Every piece then lands in a passage, and a passage never holds more pieces than the budget.
pub fn chunk_page(
    page: u32,
    text: &str,
    spans: &[(usize, usize)],
    opts: ChunkOptions,
) -> Vec<Passage> {
    let spans = monotone_spans(text, spans);
    let spans = spans.as_slice();
    let n = spans.len();
    if n == 0 {
        return Vec::new();
    }
    let budget = opts.max_tokens.max(8);
    let overlap = opts.overlap.min(budget / 4);
    let sentence_start = sentence_starts(text, spans);
    let word_start: Vec<bool> = (0..n)
        .map(|i| i == 0 || spans[i].0 > spans[i - 1].1)
        .collect();

    let mut out = Vec::new();
    let mut a = 0;
    loop {
        if n - a <= budget {
            out.push(passage(page, spans, a, n));
            break;
        }
        let limit = a + budget;
        let floor = a + budget * 3 / 4;
        let b = (floor..=limit)
            .rev()
            .find(|&i| sentence_start[i])
            .or_else(|| (a + budget / 2..=limit).rev().find(|&i| word_start[i]))
            .unwrap_or(limit);
        out.push(passage(page, spans, a, b));
        // Restart at a sentence start inside the overlap window, else at a word start in its
        // second half, else right at the cut.
        let next = (b - overlap..b)
            .find(|&i| sentence_start[i])
            .or_else(|| (b - overlap / 2..b).find(|&i| word_start[i]))
            .unwrap_or(b);
        a = next.max(a + 1);
    }
    out
}

/// Makes a tokenizer's spans safe to cut on: each inside `text` and on character boundaries
/// (starts rounded down, ends up), never ending before it starts, and with starts and ends that
/// never go backwards. Pieces keep their count, so passages still respect the model's budget.
pub fn monotone_spans(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let ceil = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let (mut last_start, mut last_end) = (0, 0);
    spans
        .iter()
        .map(|&(s, e)| {
            let start = floor(s).max(last_start);
            let end = ceil(e).max(start).max(last_end);
            (last_start, last_end) = (start, end);
            (start, end)
        })
        .collect()
}

fn passage(page: u32, spans: &[(usize, usize)], a: usize, b: usize) -> Passage {
    Passage {
        page,
        start: spans[a].0,
        end: spans[b - 1].1,
        tokens: b - a,
    }
}

/// Abbreviations after which a full stop does not end a sentence.
const ABBREVIATIONS: [&str; 16] = [
    "al", "e.g", "i.e", "fig", "figs", "vs", "dr", "eq", "ref", "refs", "no", "approx", "ca",
    "resp", "cf", "etc",
];

/// For each word piece, whether a sentence starts at it. The spans must be monotone
/// ([`monotone_spans`]); pieces that overlap the one before have no gap, so start nothing.
fn sentence_starts(text: &str, spans: &[(usize, usize)]) -> Vec<bool> {
    let bytes = text.as_bytes();
    let mut starts = vec![false; spans.len()];
    starts[0] = true;
    for i in 1..spans.len() {
        let prev_end = spans[i - 1].1;
        let Some(gap) = text.get(prev_end..spans[i].0) else {
            continue;
        };
        if gap.contains("\n\n") {
            starts[i] = true;
            continue;
        }
        if gap.is_empty() || prev_end == 0 || !matches!(bytes[prev_end - 1], b'.' | b'?' | b'!') {
            continue;
        }
        let next = text[spans[i].0..].chars().next().unwrap_or(' ');
        if !(next.is_uppercase() || next.is_ascii_digit() || next == '(' || next == '[') {
            continue;
        }
        // The word before the full stop: abbreviations and initials ("J. Smith") do not end one.
        // Whitespace may be wider than a byte (U+3000, U+2028): step over the whole character.
        let word_start = text[..prev_end - 1]
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(p, c)| p + c.len_utf8());
        let word = text[word_start..prev_end - 1]
            .trim_end_matches('.')
            .to_lowercase();
        let initial = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
        if !initial && !ABBREVIATIONS.contains(&word.as_str()) {
            starts[i] = true;
        }
    }
    starts
}

/// Whether a passage is part of a reference list (a bibliography), which nobody searches by
/// meaning: such passages stay in the keyword index, so an author or a journal still finds
/// them, but are not embedded. In the 85 shared papers they are about a sixth of all passages.
///
/// A passage counts as references when years are dense (at least three, one per 50 words or
/// more) and the marks of citations pile up: author initials ("Smith JA," or "Smith, J. A."),
/// numbered entries ("[12] ", "12. Smith"), volume and pages ("2019;380:1234-45", "521,
/// 436-444"), DOIs and PubMed ids. Running text that cites in author-year style has the years
/// but not the rest. The first page is never taken for references: it holds the abstract, and
/// its front matter (DOIs, dates, "Cite this: ...") looks citation-like.
pub fn is_reference_list(page: u32, text: &str) -> bool {
    use regex::Regex;
    use std::sync::LazyLock;
    static YEAR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b(?:19[5-9]\d|20[0-4]\d)[a-z]?\b").expect("valid"));
    static VOLUME_PAGES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"\b\d{1,4}\s*(?:\(\s*[\w\s-]{1,9}\))?\s*[:,]\s*[A-Za-z]?\d{1,6}\s*[-–—]\s*[A-Za-z]?\d{1,6}\b",
            r"|\b\d{4}\s*;\s*\d{1,4}",
            r"|(?i:\bdoi\b|10\.\d{4,9}/|\bPMID\b|\bPubMed\b|Crossref|Google Scholar|arXiv|\bpp?\. ?\d+ ?[-–])",
        ))
        .expect("valid")
    });
    static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?:^|\s)\[\d{1,3}\]\s",
            r"|(?:^|[.)]\s+)\(?\d{1,3}[.)]\s+[A-Z][a-zA-Z'-]+,? (?:[A-Z]\.|[A-Z]{1,3}\b|et al)",
        ))
        .expect("valid")
    });
    static INITIALS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b[A-Z][a-zA-Z'-]+,? (?:[A-Z]\. ?){1,3}|\b[A-Z][a-zA-Z'-]+ [A-Z]{1,3}[,.]")
            .expect("valid")
    });
    if page <= 1 {
        return false;
    }
    let words = text.split_whitespace().count().max(1);
    let years = YEAR.find_iter(text).count();
    if years < 2 || years * 80 < words {
        return false;
    }
    let cited = VOLUME_PAGES.find_iter(text).count();
    let numbered = NUMBERED.find_iter(text).count();
    let initials = INITIALS.find_iter(text).count();
    if years < 3 || years * 50 < words {
        // Fewer years than running text could hold: a passage of references whose entries
        // run long (DOIs, PMIDs, twenty authors each) holds only two or three. Every mark of
        // an entry must then be there: author initials, volume and pages, a number.
        return initials >= 8 && cited >= 2 && numbered >= 1;
    }
    initials >= 8
        || numbered >= 3
        || (numbered >= 2 && initials >= 3)
        || (cited >= 4 && (numbered >= 1 || initials >= 3))
}

/// Whether a passage is front matter that lists rather than tells: a table of contents, a
/// list of tables or figures, a list of abbreviations or a glossary. Such a page names every
/// subject of a long document (a guideline's contents page holds the words of each of its
/// questions, its abbreviations page each drug beside its acronym) and answers none of them,
/// so the page choice weighs it down as it does a reference list (docs/EVALUATION.md).
///
/// Told by its heading at the passage's start (after a page number, roman or not: "vi
/// Abbreviations and acronyms ALB albendazole ...", "Contents 1 Introduction ..."),
/// capitalised and followed by an entry rather than the rest of a sentence, or by dot
/// leaders, the rows of dots that join an entry to its page number, three or more.
pub fn is_front_matter(text: &str) -> bool {
    use regex::Regex;
    use std::sync::LazyLock;
    static HEADING: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?i:(?:[ivxlc]{1,7}|\d{1,3})\s+)?",
            r"(?<heading>(?i:table of contents|contents|list of (?:abbreviations|acronyms|tables|figures)",
            r"|abbreviations(?: and acronyms)?|acronyms(?: and abbreviations)?|glossary))",
            r"\s*:?\s+(?<next>\S+)",
        ))
        .expect("valid")
    });
    // A heading is followed by an entry, not by the rest of a sentence ("Contents of the cyst
    // were aspirated").
    const SENTENCE_GOES_ON: [&str; 16] = [
        "of", "the", "and", "in", "on", "for", "to", "with", "from", "by", "at", "as", "is", "are",
        "was", "were",
    ];
    static LEADER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:\.\s?){5,}").expect("valid"));
    let text = text.trim_start();
    // A heading is capitalised: "contents of the cyst" starts a sentence, not a list.
    let heading = HEADING.captures(text).is_some_and(|c| {
        c.name("heading")
            .is_some_and(|h| h.as_str().starts_with(char::is_uppercase))
            && c.name("next")
                .is_some_and(|n| !SENTENCE_GOES_ON.contains(&n.as_str()))
    });
    heading || LEADER.find_iter(text).nth(2).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::word_spans;
    use proptest::prelude::*;

    fn opts(max_tokens: usize, overlap: usize) -> ChunkOptions {
        ChunkOptions {
            max_tokens,
            overlap,
        }
    }

    #[test]
    fn short_page_is_one_passage() {
        let text = "Sepsis is common. It kills.";
        let p = chunk_page(3, text, &word_spans(text), opts(64, 8));
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].page, p[0].start, p[0].end), (3, 0, text.len()));
    }

    #[test]
    fn cuts_fall_on_sentence_ends() {
        let text = (0..40)
            .map(|i| format!("Sentence number {i} has words in it."))
            .collect::<Vec<_>>()
            .join(" ");
        let passages = chunk_page(1, &text, &word_spans(&text), opts(40, 8));
        assert!(passages.len() > 3);
        for p in &passages {
            let s = &text[p.start..p.end];
            assert!(s.starts_with("Sentence"), "{s}");
            assert!(s.ends_with("it."), "{s}");
            assert!(p.tokens <= 40);
        }
    }

    #[test]
    fn abbreviations_do_not_end_sentences() {
        let text = "As shown by Smith et al. in 2020, it held. The result held. See Fig. 2 for it.";
        let spans = word_spans(text);
        let starts = sentence_starts(text, &spans);
        let starting: Vec<&str> = spans
            .iter()
            .zip(&starts)
            .filter(|(_, &s)| s)
            .map(|(&(a, b), _)| &text[a..b])
            .collect();
        assert_eq!(starting, ["As", "The", "See"]);
    }

    proptest! {
        #[test]
        fn passages_cover_the_page_in_order(
            words in proptest::collection::vec("[a-zA-Z]{1,9}[.,]?", 0..600),
            max in 8usize..80,
            overlap in 0usize..20,
        ) {
            let text = words.join(" ");
            let spans = word_spans(&text);
            let passages = chunk_page(1, &text, &spans, opts(max, overlap));
            if spans.is_empty() {
                prop_assert!(passages.is_empty());
            } else {
                prop_assert_eq!(passages[0].start, 0);
                prop_assert_eq!(passages.last().unwrap().end, text.len());
                for w in passages.windows(2) {
                    // In order, overlapping or separated by whitespace only: no word is lost.
                    prop_assert!(w[1].start > w[0].start);
                    prop_assert!(w[1].end > w[0].end);
                    if w[1].start > w[0].end {
                        prop_assert!(text[w[0].end..w[1].start].trim().is_empty());
                    }
                }
                for p in &passages {
                    prop_assert!(p.tokens <= max.max(8));
                    prop_assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
                }
            }
        }
    }

    /// `medshelf index` died on a Korean PDF: the uncased BERT normaliser splits a Hangul
    /// syllable into jamo pieces that all carry the syllable's offsets, so a piece could start
    /// before the one before it ended.
    #[test]
    fn regression_overlapping_hangul_pieces() {
        let text = "한국어 표. 다음 문장.";
        // Three pieces of the first syllable share its bytes, then offsets run backwards.
        let spans = [
            (0, 3),
            (0, 3),
            (0, 3),
            (3, 6),
            (0, 3),
            (6, 9),
            (10, 13),
            (13, 14),
        ];
        let passages = chunk_page(1, text, &spans, opts(8, 2));
        assert_eq!(passages.first().map(|p| p.start), Some(0));
        assert_eq!(passages.last().map(|p| p.end), Some(14));
        // A piece inside a character and one past the end are pulled onto the text.
        let passages = chunk_page(1, text, &[(1, 2), (4, 400)], opts(8, 2));
        assert_eq!((passages[0].start, passages[0].end), (0, text.len()));
    }

    /// Found by the fuzz target: a word before a full stop, after a space wider than one
    /// byte (the ideographic space), was sliced inside that space.
    #[test]
    fn regression_wide_whitespace_before_a_full_stop() {
        for space in ['\u{3000}', '\u{2028}', '\u{85}', '\u{1680}'] {
            let text = format!("Word{space}ab. Next one. Third");
            let passages = chunk_page(1, &text, &word_spans(&text), opts(8, 2));
            assert_eq!(passages.last().map(|p| p.end), Some(text.len()));
        }
    }

    proptest! {
        /// Whatever spans a tokenizer reports, cutting never panics, every piece lands in a
        /// passage, and passages are well-formed slices of the page.
        #[test]
        fn any_spans_are_cut_safely(
            text in "\\PC{0,120}",
            raw in proptest::collection::vec((0usize..400, 0usize..400), 0..300),
            max in 8usize..40,
            overlap in 0usize..12,
        ) {
            let passages = chunk_page(2, &text, &raw, opts(max, overlap));
            let spans = monotone_spans(&text, &raw);
            prop_assert_eq!(passages.is_empty(), spans.is_empty());
            for p in &passages {
                prop_assert!(p.start <= p.end && p.end <= text.len());
                prop_assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
                prop_assert!(p.tokens >= 1 && p.tokens <= max.max(8));
            }
            for w in passages.windows(2) {
                prop_assert!(w[1].start >= w[0].start && w[1].end >= w[0].end);
            }
            for &(s, e) in &spans {
                prop_assert!(passages.iter().any(|p| p.start <= s && e <= p.end), "{s}..{e} lost");
            }
        }
    }

    #[test]
    fn front_matter_that_lists_is_told_from_running_text() {
        for text in [
            "iii Contents Acknowledgements ........ iv Abbreviations and acronyms ....... vi",
            "vi Abbreviations and acronyms ALB albendazole CE cystic echinococcosis",
            "vii Glossary The definitions given below apply to the terms used here.",
            "TABLE OF CONTENTS ABSTRACT 1 INTRODUCTION 2",
            "List of abbreviations AF atrial fibrillation",
            "8 What is breast cancer? ........ 9 What are the symptoms? ........ 13 MRI ....... 16",
        ] {
            assert!(is_front_matter(text), "{text}");
        }
        for text in [
            "Contents of the cyst were aspirated under ultrasound guidance.",
            "contents were mixed. Glossary terms are in bold.",
            "Abbreviation is common in notes. The dose was 400 mg. Then more text... and more.",
            "Patients with AF were treated. 10. Smith J. A trial. Lancet. 2019;1:1-2.",
        ] {
            assert!(!is_front_matter(text), "{text}");
        }
    }

    #[test]
    fn reference_lists_are_told_from_running_text() {
        let vancouver = "Cell Rep. 2021; 34: 108887. 82. Xia S, Zhang Z, Magupalli VG, Pablo JL, \
            Dong Y, Vora SM, et al. Gasdermin D pore structure reveals preferential release of \
            mature interleukin-1. Nature. 2021;593:607-11. 83. Liu X, Zhang Z, Ruan J, Pan Y, \
            Magupalli VG, Wu H, et al. Inflammasome-activated gasdermin D causes pyroptosis by \
            forming membrane pores. Nature. 2016;535:153-8. 84. Shi J, Zhao Y, Wang K, Shi X, \
            Wang Y, Huang H, et al. Cleavage of GSDMD by inflammatory caspases determines \
            pyroptotic cell death. Nature. 2015;526:660-5.";
        assert!(is_reference_list(9, vancouver));
        let nature = "29. Casey, J. R., Grinstein, S. & Orlowski, J. Sensors and regulators of \
            intracellular pH. Nat. Rev. Mol. Cell Biol. 11,50-61 (2010). 30. Harris, I., Jones, \
            E. W. & Aldred, C. N. The pH and lactic acid content of the cerebrospinal fluid. J. \
            Neurol. Neurosurg. Psychiatry 35, 21-27 (1972). 31. Ma, Y. et al. Lactate in tumour \
            immunity. Nature 577, 1-5 (2020).";
        assert!(is_reference_list(12, nature));
        // Running text citing in author-year style: years, but no reference-list marks.
        let prose = "LAIR also interacts with the H4K16 acetyltransferase OsMOF (Wang et al, \
            2018), suggesting that lncRNAs are central modulators of chromatin dynamics (Li et \
            al, 2019; Chen et al, 2020). The ELF18-induced lncRNA ELENA1 (Seo et al, 2017) \
            enhances resistance to bacterial infection, and further work since 2021 has found \
            more of them in rice and maize.";
        assert!(!is_reference_list(4, prose));
        // Entries that run long hold only two years in a passage: every other mark is there.
        let long_entries = "19. Khuroo MS, Dar MY, Yattoo GN, Zargar SA, Javaid G, Khan BA, et \
            al. Percutaneous drainage versus albendazole therapy in hepatic hydatidosis: a \
            prospective, randomized study. Gastroenterology. 1993;104(5):1452-9. doi: \
            10.1016/0016-5085(93)90355-g. 20. Khuroo MS, Wani NA, Javid G, Khan BA, Yattoo GN, \
            Shah AH, et al. Percutaneous drainage compared with surgery for hepatic hydatid \
            cysts. N Engl J Med. 1997;337(13):881-7. doi: 10.1056/NEJM199709253371303. 21. \
            Shera TA, Choh NA, Gojwari TA, Shera FA, Shaheen FA, Wani GM, et al. A comparison \
            of imaging guided double percutaneous aspiration injection and surgery in the \
            treatment of cystic echinococcosis of liver.";
        assert!(is_reference_list(40, long_entries));
        // Two years and bracketed citations in running text are not enough.
        let cited_prose = "More recent studies from different parts of India have reported \
            similar or higher prevalence of obesity [5] and abdominal obesity [6]. The survey of \
            2020 and the one of 2021 [7] found it in a third of adults, and in more of the women \
            than of the men, in the cities as in the villages, where diets have changed most.";
        assert!(!is_reference_list(6, cited_prose));
        // The first page is never references, however citation-like its front matter.
        assert!(!is_reference_list(1, vancouver));
        assert!(!is_reference_list(
            3,
            "Aspirin reduced events. 2019 2020 2021."
        ));
    }
}
