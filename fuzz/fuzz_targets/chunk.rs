//! Arbitrary text through the real stand-in tokenizer (all-MiniLM-L6-v2's `tokenizer.json`,
//! from `MEDSHELF_TEST_MODEL` or `scripts/fetch-model`'s cache) into the chunker.
//!
//! The chunker is compiled from `src/chunk.rs` itself, not through the engine crate: the fuzz
//! build instruments every crate it compiles, and the engine's dependencies (candle, tantivy,
//! usearch) would cost CI ten minutes for code this target never reaches. The tokenizer is set
//! up as `embed::BertEmbedder` sets up its counting tokenizer: no padding, no truncation, byte
//! offsets, no special tokens.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tokenizers::Tokenizer;

#[allow(dead_code)]
#[path = "../../src/chunk.rs"]
mod chunk;

/// What `src/chunk.rs` needs of the engine's `embed` module.
mod embed {
    pub const DEFAULT_MAX_TOKENS: usize = 256;
}

static TOKENIZER: LazyLock<Tokenizer> = LazyLock::new(|| {
    let dir = std::env::var_os("MEDSHELF_TEST_MODEL")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/medshelf/models/all-MiniLM-L6-v2"))
        })
        .expect("MEDSHELF_TEST_MODEL names the stand-in model folder");
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
        .expect("the stand-in model's tokenizer.json (run scripts/fetch-model)");
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None).expect("no truncation");
    tokenizer
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(encoding) = TOKENIZER.encode(text.as_ref(), false) else {
        return;
    };
    let spans = encoding.get_offsets();
    for max_tokens in [8, 30, 254] {
        let opts = chunk::ChunkOptions {
            max_tokens,
            overlap: max_tokens / 8,
        };
        let passages = chunk::chunk_page(1, &text, spans, opts);
        assert_eq!(passages.is_empty(), spans.is_empty());
        let monotone = chunk::monotone_spans(&text, spans);
        for p in &passages {
            assert!(p.start <= p.end && p.end <= text.len(), "{p:?}");
            assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
            assert!(p.tokens >= 1 && p.tokens <= max_tokens, "{p:?}");
            // What the engine does next with a passage: slice it and test it for references.
            let _ = chunk::is_reference_list(p.page, &text[p.start..p.end]);
        }
        for w in passages.windows(2) {
            assert!(w[1].start >= w[0].start && w[1].end >= w[0].end);
        }
        for &(s, e) in &monotone {
            assert!(
                passages.iter().any(|p| p.start <= s && e <= p.end),
                "a word piece {s}..{e} is in no passage"
            );
        }
    }
});
