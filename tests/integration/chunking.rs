//! Any text through the real stand-in tokenizer into the chunker: no panic, no piece lost, no
//! passage over the model's budget. (The fuzz target `fuzz/fuzz_targets/chunk.rs` explores the
//! same ground guided by coverage; this runs in every test run.)

use medshelf::chunk::{chunk_page, monotone_spans, ChunkOptions};
use medshelf::{BertEmbedder, Embedder};
use proptest::prelude::*;

use crate::support::{shared, skip, standin_model};

fn check(text: &str, embedder: &BertEmbedder, max_tokens: usize) -> Result<(), TestCaseError> {
    let spans = embedder.token_spans(text);
    let opts = ChunkOptions {
        max_tokens,
        overlap: max_tokens / 8,
    };
    let passages = chunk_page(1, text, &spans, opts);
    prop_assert_eq!(passages.is_empty(), spans.is_empty());
    for p in &passages {
        prop_assert!(p.start <= p.end && p.end <= text.len());
        prop_assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
        prop_assert!(p.tokens >= 1 && p.tokens <= max_tokens);
    }
    for (s, e) in monotone_spans(text, &spans) {
        prop_assert!(
            passages.iter().any(|p| p.start <= s && e <= p.end),
            "{s}..{e} lost"
        );
    }
    Ok(())
}

/// Text of the kinds the uncased BERT normaliser rewrites: Hangul (split into jamo), accents
/// and combining marks (stripped), CJK (spaced), controls (dropped), with ASCII between.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[가-힣]{1,6}",
        "[a-zA-Z]{1,9}[.,;]?",
        "[àéîõüçñ]{1,4}",
        "e\u{301}\u{308}",
        "[一-龥]{1,4}",
        "[\u{0}-\u{1f}\u{7f}\u{200b}\u{fffd}]{1,3}",
        "\\PC{1,5}",
        Just("\n\n".to_string()),
        Just(" ".to_string()),
    ];
    proptest::collection::vec(piece, 0..200).prop_map(|v| v.join(" "))
}

#[test]
fn any_text_through_the_real_tokenizer_is_cut_safely() {
    let Some(model) =
        standin_model().or_else(|| skip("chunking", "no stand-in model: run scripts/fetch-model"))
    else {
        return;
    };
    let embedder = BertEmbedder::load(&model).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    });
    runner
        .run(&(hostile_text(), 8usize..64), |(text, max)| {
            check(&text, &embedder, max)
        })
        .unwrap();
}

#[test]
fn regression_korean_text_with_tables() {
    let Some(model) =
        standin_model().or_else(|| skip("korean", "no stand-in model: run scripts/fetch-model"))
    else {
        return;
    };
    let Some(shared) = shared().or_else(|| skip("korean", "../shared is absent")) else {
        return;
    };
    let pdf = shared.join("data/bad_pdfs/unstructured__korean-text-with-tables.pdf");
    let text = medshelf::extract::extract_file(&pdf).unwrap();
    let embedder = BertEmbedder::load(&model).unwrap();
    for page in &text.pages {
        check(page, &embedder, embedder.info().max_tokens - 2).unwrap();
    }
}
