//! Text to vectors: the `embed` stage.
//!
//! A model folder in the Hugging Face / sentence-transformers layout (`config.json`,
//! `tokenizer.json`, `model.safetensors`, `modules.json`, `1_Pooling/config.json`) is loaded into a
//! candle BERT. Pooling (CLS or mean) and normalisation are read from the folder, never assumed:
//! MedEmbed pools the CLS token, the all-MiniLM stand-in averages tokens. Texts are batched by
//! length so padding stays small, and padding is masked out everywhere, so a text embedded alone
//! gives the same vector as the same text inside a batch.

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::BertModel;

mod bert;
mod fingerprint;
mod load;
mod norm;
mod precision;
pub(crate) use load::{
    model_file, ModelFileError, ModuleEntry, MAX_CONFIG_BYTES, MAX_WEIGHTS_BYTES,
};
pub use load::{MODEL_FILES, REQUIRED_MODEL_FILES};
pub use precision::{
    plan_precision, CpuFeatures, PrecisionChoice, PrecisionPlan, CALIBRATION_MIN_COSINE,
    CALIBRATION_TEXTS,
};
// The numeric kernels are the engine's own business; its benches measure them through the
// `fixtures` feature, and no face sees them.
#[cfg(feature = "fixtures")]
pub mod int8;
#[cfg(not(feature = "fixtures"))]
pub(crate) mod int8;
#[cfg(feature = "fixtures")]
pub mod kernels;
#[cfg(not(feature = "fixtures"))]
pub(crate) mod kernels;

use std::str::FromStr;

use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The first (`[CLS]`) token's vector.
    Cls,
    /// The mean of the real (unpadded) tokens' vectors.
    Mean,
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pooling::Cls => "CLS",
            Pooling::Mean => "mean",
        })
    }
}

/// What a library records about the model its vectors came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// The model's name (its folder name).
    pub name: String,
    /// Vector dimensions.
    pub dim: usize,
    /// Pooling, as the model folder declares it.
    pub pooling: Pooling,
    /// Whether vectors are L2-normalised.
    pub normalize: bool,
    /// The longest input in word pieces, special tokens included; longer texts are truncated.
    pub max_tokens: usize,
    /// The device the model runs on ("cpu", "cuda:0", "metal").
    pub device: String,
    /// The projections' arithmetic: int8 by default where the CPU has AVX2 or AVX512-VNNI and
    /// the model passes the calibration check, else f32 (`MEDSHELF_PRECISION` overrides; see
    /// [`plan_precision`]).
    #[serde(default)]
    pub precision: Precision,
    /// Why the model runs at that precision, in words a user can act on ("AVX512-VNNI;
    /// calibration texts agree with f32 to cosine 0.9981").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub precision_reason: String,
    /// BLAKE3 (hex) of the weights, with the configuration, tokenizer and pooling that decide
    /// what they compute: what identifies the model, whatever its folder is called. `None` for
    /// embedders without a model folder (test doubles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
}

/// The arithmetic of a model's projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 32-bit floats.
    #[default]
    F32,
    /// 8-bit weights and activations (`embed::int8`).
    Int8,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        })
    }
}

/// Turns texts into vectors. A seam between the candle model and the tests' tiny models.
pub trait Embedder: Send + Sync {
    /// Embeds texts, one vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Describes the model.
    fn info(&self) -> &ModelInfo;
    /// The model's word pieces of `text`, as byte spans, without special tokens and untruncated:
    /// the chunker cuts on these so a chunk never exceeds what the model reads.
    fn token_spans(&self, text: &str) -> Vec<(usize, usize)>;
}

/// Which implementation of the encoder runs the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoder {
    /// MedShelf's own forward pass (fused QKV, vectorised GELU): the default.
    #[default]
    Own,
    /// candle-transformers' BERT, kept for comparison in `medshelf bench embed`.
    Stock,
    /// MedShelf's forward pass with 8-bit projections (`embed::int8`), wherever asked (on a
    /// CPU without AVX2 in portable loops: right, and slow).
    Int8,
    /// MedShelf's forward pass at the precision [`plan_precision`] chooses for the settings'
    /// `MEDSHELF_PRECISION` and this CPU: what a library runs. int8 embeds about twice as fast
    /// as f32; its cost in retrieval quality is in docs/PERFORMANCE.md.
    Auto,
}

enum Model {
    Own(bert::Bert),
    Stock(BertModel),
}

/// A BERT-family sentence-embedding model run by candle.
pub struct BertEmbedder {
    model: Model,
    /// Truncating tokenizer for embedding.
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation, for counting word pieces when chunking.
    counter: Tokenizer,
    info: ModelInfo,
    pad_id: u32,
    device: Device,
    batch_size: usize,
}

/// The longest passage MedEmbed was trained on, in word pieces: the default truncation.
pub const DEFAULT_MAX_TOKENS: usize = 256;

impl BertEmbedder {
    /// Sets how many texts go through the model at once.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    fn embed_batch(&self, ids: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let len = ids.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
        let n = ids.len();
        let mut input = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for t in ids {
            input.extend_from_slice(t);
            input.extend(std::iter::repeat_n(self.pad_id, len - t.len()));
            mask.extend(std::iter::repeat_n(1u32, t.len()));
            mask.extend(std::iter::repeat_n(0u32, len - t.len()));
        }
        let input = Tensor::from_vec(input, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        // The forward pass runs on a worker of rayon's pool: its dozens of parallel steps per
        // layer then split between the pool's threads directly, instead of each being handed
        // over from this thread and waited for (a futex sleep and wake-up per step, about a
        // sixth of a single query's time in perf).
        let hidden = rayon::scope(|_| match &self.model {
            Model::Own(m) => m.forward(&input, &mask),
            Model::Stock(m) => m.forward(&input, &input.zeros_like()?, Some(&mask)),
        })?;
        let pooled = match self.info.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let sum = hidden.broadcast_mul(&m)?.sum(1)?;
                sum.broadcast_div(&m.sum(1)?)?
            }
        };
        let pooled = if self.info.normalize {
            let norm = pooled
                .sqr()?
                .sum_keepdim(1)?
                .sqrt()?
                .clamp(1e-12, f64::MAX)?;
            pooled.broadcast_div(&norm)?
        } else {
            pooled
        };
        Ok(pooled.to_vec2::<f32>()?)
    }
}

impl Embedder for BertEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Model {
                path: PathBuf::from(&self.info.name),
                message: format!("tokenizing failed: {e}"),
            })?;
        // Group by length so that a batch pads little; results go back in the caller's order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.batch_size) {
            let ids: Vec<&[u32]> = batch.iter().map(|&i| encodings[i].get_ids()).collect();
            for (&i, v) in batch.iter().zip(self.embed_batch(&ids)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn token_spans(&self, text: &str) -> Vec<(usize, usize)> {
        match self.counter.encode(text, false) {
            Ok(enc) => enc.get_offsets().to_vec(),
            // The tokenizer only fails on inputs it cannot represent; fall back to words.
            Err(_) => word_spans(text),
        }
    }
}

/// Byte spans of the words and punctuation marks of `text`: the chunker's units without a model.
pub fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            spans.push((s, i));
        }
        if !c.is_whitespace() {
            spans.push((i, i + c.len_utf8()));
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// Keeps memory the model frees for its next batch instead of handing it back to the system.
///
/// Each layer allocates and frees activations of tens of megabytes; glibc's default returns the
/// top of the heap to the system once 128 KiB is free, so every batch faults the same pages in
/// again. Measured with `medshelf bench embed` on all-MiniLM-L6-v2, batch 8, two cores: 12.8 ->
/// 20.1 chunks/s (profile before: about 10 % of the time in page faults, brk and munmap). The
/// cost is that resident memory stays at its peak rather than shrinking between batches. Call it
/// once at start-up, before other threads run; it does nothing off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's thresholds; it is called before any thread
    // that allocates concurrently is started.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::precision::least_cosine;
    use super::*;
    use candle_nn::VarBuilder;
    use candle_transformers::models::bert::Config;

    /// The calibration check on the tiny model: whatever it decides, the embedder's precision
    /// and reason say the same, and the vectors stay close to f32's.
    #[test]
    fn calibration_keeps_int8_only_when_it_agrees_with_f32() {
        let dir = tempfile::tempdir().unwrap();
        crate::fixtures::write_tiny_model(dir.path(), Pooling::Mean).unwrap();
        let f32_model = BertEmbedder::load_with(dir.path(), Encoder::Own).unwrap();
        let reference = f32_model.embed(&CALIBRATION_TEXTS).unwrap();
        let mut embedder = BertEmbedder::load_with(dir.path(), Encoder::Own).unwrap();
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                &[dir.path().join("model.safetensors")],
                DType::F32,
                &Device::Cpu,
            )
        }
        .unwrap();
        let config: Config =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
                .unwrap();
        let int8 = bert::Bert::load(vb, &config, true).unwrap();
        embedder.calibrate(Model::Own(int8)).unwrap();
        let after = embedder.embed(&CALIBRATION_TEXTS).unwrap();
        let least = least_cosine(&reference, &after);
        let reason = &embedder.info().precision_reason;
        match embedder.info().precision {
            Precision::Int8 => {
                assert!(least >= CALIBRATION_MIN_COSINE, "{least}: {reason}");
                assert!(reason.contains("calibration"), "{reason}");
            }
            Precision::F32 => {
                assert_eq!(least, 1.0, "f32 kept, so the vectors are f32's");
                assert!(reason.contains("runs f32"), "{reason}");
            }
        }
    }

    #[test]
    fn word_spans_split_words_and_punctuation() {
        let text = "IL-6 rose (p<0.05).";
        let words: Vec<&str> = word_spans(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(
            words,
            ["IL", "-", "6", "rose", "(", "p", "<", "0", ".", "05", ")", "."]
        );
    }

    /// The CPU attention kernel takes each text's tokens to come first, then its padding; a
    /// mask that breaks that is an error, never a silently wrong vector.
    #[test]
    fn a_mask_with_a_hole_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        crate::fixtures::write_tiny_model(dir.path(), Pooling::Mean).unwrap();
        let embedder = BertEmbedder::load_with(dir.path(), Encoder::Own).unwrap();
        let Model::Own(bert) = &embedder.model else {
            panic!("the own encoder was asked for")
        };
        let ids = Tensor::from_vec(vec![1u32, 2, 3, 4], (1, 4), &Device::Cpu).unwrap();
        let mask = |m: Vec<u32>| Tensor::from_vec(m, (1, 4), &Device::Cpu).unwrap();
        assert!(bert.forward(&ids, &mask(vec![1, 1, 0, 0])).is_ok());
        let err = bert.forward(&ids, &mask(vec![1, 0, 1, 0])).unwrap_err();
        assert!(err.to_string().contains("tokens first"), "{err}");
    }

    #[test]
    fn tiny_model_alone_equals_batched() {
        let dir = tempfile::tempdir().unwrap();
        crate::fixtures::write_tiny_model(dir.path(), Pooling::Mean).unwrap();
        let model = BertEmbedder::load(dir.path()).unwrap().with_batch_size(8);
        let texts = [
            "the heart rate",
            "a much longer text about the kidney and the liver and the blood pressure of patients",
            "blood",
        ];
        let batched = model.embed(&texts).unwrap();
        for (text, v) in texts.iter().zip(&batched) {
            let alone = &model.embed(&[text]).unwrap()[0];
            assert!(cosine(alone, v) > 0.99999, "{text}");
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
        }
        assert!(cosine(&batched[0], &batched[1]) < 0.9999);
    }

    #[test]
    fn own_encoder_matches_candle_stock() {
        for pooling in [Pooling::Mean, Pooling::Cls] {
            let dir = tempfile::tempdir().unwrap();
            crate::fixtures::write_tiny_model(dir.path(), pooling).unwrap();
            let own = BertEmbedder::load_with(dir.path(), Encoder::Own).unwrap();
            let stock = BertEmbedder::load_with(dir.path(), Encoder::Stock).unwrap();
            let texts = [
                "the heart rate",
                "kidney and liver of patients with sepsis and fever",
                "a",
            ];
            for (a, b) in own
                .embed(&texts)
                .unwrap()
                .iter()
                .zip(stock.embed(&texts).unwrap())
            {
                assert!(cosine(a, &b) > 0.99999, "{pooling:?}: {}", cosine(a, &b));
            }
        }
    }

    #[test]
    fn pooling_is_read_from_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        crate::fixtures::write_tiny_model(dir.path(), Pooling::Cls).unwrap();
        let model = BertEmbedder::load(dir.path()).unwrap();
        assert_eq!(model.info().pooling, Pooling::Cls);
        std::fs::remove_file(dir.path().join("1_Pooling/config.json")).unwrap();
        let err = BertEmbedder::load(dir.path()).err().unwrap().to_string();
        assert!(err.contains("1_Pooling/config.json is missing"), "{err}");
    }
}
