//! Text to vectors: the `embed` stage.
//!
//! A model folder in the Hugging Face / sentence-transformers layout (`config.json`,
//! `tokenizer.json`, `model.safetensors`, `modules.json`, `1_Pooling/config.json`) is loaded into a
//! candle BERT. Pooling (CLS or mean) and normalisation are read from the folder, never assumed:
//! MedEmbed pools the CLS token, the all-MiniLM stand-in averages tokens. Texts are batched by
//! length so padding stays small, and padding is masked out everywhere, so a text embedded alone
//! gives the same vector as the same text inside a batch.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

mod bert;
mod fingerprint;
mod norm;
mod precision;
use precision::{
    calibration_file, least_cosine, read_verdict, verdict, verdict_reason, write_verdict,
};
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

use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{Error, Result};

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The first ([CLS]) token's vector.
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

#[derive(serde::Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    word_embedding_dimension: Option<usize>,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(serde::Deserialize)]
pub(crate) struct ModuleEntry {
    #[serde(default)]
    pub(crate) path: String,
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
}

/// The files a model folder must hold.
pub const REQUIRED_MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// The files of a model folder that MedShelf reads, besides the pooling folder's
/// `config.json`; an import copies these and nothing else.
pub const MODEL_FILES: [&str; 6] = [
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
];

/// The most a small model file (a configuration) may weigh.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The most a tokenizer file may weigh (a large multilingual one is about 20 MB).
const MAX_TOKENIZER_BYTES: u64 = 64 << 20;
/// The most a weights file may weigh: MedShelf runs small encoders (MedEmbed-small is 130 MB).
pub(crate) const MAX_WEIGHTS_BYTES: u64 = 4 << 30;

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ModelFileError {
    #[error("{0} is missing")]
    Missing(String),
    #[error("{0} is not a regular file")]
    NotAFile(String),
    #[error("{0} is too large ({1} bytes) to be part of a model MedShelf runs")]
    TooLarge(String, u64),
}

/// `dir/name` where it is a regular file (a link to one is followed) of at most `cap` bytes.
pub(crate) fn model_file(dir: &Path, name: &str, cap: u64) -> Result<PathBuf, ModelFileError> {
    let path = dir.join(name);
    match std::fs::metadata(&path) {
        Err(_) => Err(ModelFileError::Missing(name.to_string())),
        Ok(m) if !m.is_file() => Err(ModelFileError::NotAFile(name.to_string())),
        Ok(m) if m.len() > cap => Err(ModelFileError::TooLarge(name.to_string(), m.len())),
        Ok(_) => Ok(path),
    }
}

/// Refuses a configuration the encoder cannot run: it would divide by zero, index past its
/// tables, or embed nothing.
fn check_config(config: &Config) -> std::result::Result<(), String> {
    let positive = [
        ("hidden_size", config.hidden_size),
        ("num_hidden_layers", config.num_hidden_layers),
        ("num_attention_heads", config.num_attention_heads),
        ("intermediate_size", config.intermediate_size),
        ("max_position_embeddings", config.max_position_embeddings),
        ("vocab_size", config.vocab_size),
        ("type_vocab_size", config.type_vocab_size),
    ];
    if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(format!("config.json gives {name} as 0"));
    }
    if !config
        .hidden_size
        .is_multiple_of(config.num_attention_heads)
    {
        return Err(format!(
            "config.json's hidden_size ({}) is not a multiple of num_attention_heads ({})",
            config.hidden_size, config.num_attention_heads
        ));
    }
    if config.pad_token_id >= config.vocab_size {
        return Err(format!(
            "config.json's pad_token_id ({}) is outside its vocabulary ({})",
            config.pad_token_id, config.vocab_size
        ));
    }
    Ok(())
}

/// The longest passage MedEmbed was trained on, in word pieces: the default truncation.
pub const DEFAULT_MAX_TOKENS: usize = 256;

impl BertEmbedder {
    /// Loads a model folder onto the best available device, at the precision the settings and
    /// the CPU allow ([`Encoder::Auto`]).
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with(dir, Encoder::Auto)
    }

    /// Loads a model folder with the given encoder implementation.
    pub fn load_with(dir: &Path, encoder: Encoder) -> Result<Self> {
        let err = |message: String| Error::Model {
            path: dir.to_path_buf(),
            message,
        };
        for file in REQUIRED_MODEL_FILES {
            model_file(dir, file, MAX_WEIGHTS_BYTES).map_err(|why| err(why.to_string()))?;
        }
        // Only regular files of a sane size are read: a FIFO, a device or a runaway file named
        // like a model file would hang or exhaust every command that loads the model.
        let read = |rel: &str| -> Result<Option<String>> {
            match model_file(dir, rel, MAX_CONFIG_BYTES) {
                Ok(p) => std::fs::read_to_string(&p)
                    .map(Some)
                    .map_err(|e| Error::io(p, e)),
                Err(ModelFileError::Missing(_)) => Ok(None),
                Err(why) => Err(err(why.to_string())),
            }
        };
        let config_json = read("config.json")?.unwrap_or_default();
        let config: Config = serde_json::from_str(&config_json)
            .map_err(|e| err(format!("config.json is not a BERT configuration: {e}")))?;
        check_config(&config).map_err(err)?;

        let modules: Vec<ModuleEntry> = match read("modules.json")? {
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| err(format!("modules.json is unreadable: {e}")))?,
            None => Vec::new(),
        };
        let pooling_dir = modules
            .iter()
            .find(|m| m.kind.ends_with("Pooling"))
            .map(|m| m.path.clone())
            .unwrap_or_else(|| "1_Pooling".to_string());
        // modules.json names folders inside the model folder, never a path out of it.
        if !Path::new(&pooling_dir)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(err(format!(
                "modules.json points the pooling at {pooling_dir:?}, outside the model folder"
            )));
        }
        let pooling_json = read(&format!("{pooling_dir}/config.json"))?.ok_or_else(|| {
            err(format!(
                "{pooling_dir}/config.json is missing: it says how the model pools (CLS or mean)"
            ))
        })?;
        let pooling_cfg: PoolingConfig = serde_json::from_str(&pooling_json)
            .map_err(|e| err(format!("{pooling_dir}/config.json is unreadable: {e}")))?;
        let pooling = match (
            pooling_cfg.pooling_mode_cls_token,
            pooling_cfg.pooling_mode_mean_tokens,
        ) {
            (true, false) => Pooling::Cls,
            (false, true) => Pooling::Mean,
            _ => {
                return Err(err(format!(
                    "{pooling_dir}/config.json asks for a pooling MedShelf does not support \
                     (exactly one of CLS or mean pooling is supported; max={}, sqrt-len={})",
                    pooling_cfg.pooling_mode_max_tokens,
                    pooling_cfg.pooling_mode_mean_sqrt_len_tokens
                )))
            }
        };
        if let Some(dim) = pooling_cfg.word_embedding_dimension {
            if dim != config.hidden_size {
                return Err(err(format!(
                    "{pooling_dir}/config.json says {dim} dimensions but config.json says {}: \
                     the files come from different models",
                    config.hidden_size
                )));
            }
        }
        // Without modules.json (a bare transformers folder) assume normalised output: every model
        // MedShelf ships is used with cosine similarity.
        let normalize = modules.is_empty() || modules.iter().any(|m| m.kind.ends_with("Normalize"));

        let seq_max = read("sentence_bert_config.json")?
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v.get("max_seq_length").and_then(|m| m.as_u64()))
            .map(|m| m as usize)
            .unwrap_or(DEFAULT_MAX_TOKENS);
        let max_tokens = seq_max.min(config.max_position_embeddings);

        let tokenizer_path = model_file(dir, "tokenizer.json", MAX_TOKENIZER_BYTES)
            .map_err(|e| err(e.to_string()))?;
        let tokenizer_json =
            std::fs::read_to_string(&tokenizer_path).map_err(|e| Error::io(&tokenizer_path, e))?;
        let mut tokenizer = Tokenizer::from_str(&tokenizer_json)
            .map_err(|e| err(format!("tokenizer.json is unreadable: {e}")))?;
        let vocabulary = tokenizer.get_vocab_size(true);
        if vocabulary > config.vocab_size {
            return Err(err(format!(
                "tokenizer.json has {vocabulary} word pieces but config.json's model only {}: \
                 the files come from different models",
                config.vocab_size
            )));
        }
        // The file's own padding and truncation (the stand-in ships fixed padding to 128) would give
        // vectors that differ from sentence-transformers': pad per batch ourselves, truncate at the
        // model's sequence length.
        tokenizer.with_padding(None);
        let mut counter = tokenizer.clone();
        counter
            .with_truncation(None)
            .map_err(|e| err(format!("tokenizer: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| err(format!("tokenizer: {e}")))?;
        let pad_id = tokenizer
            .token_to_id("[PAD]")
            .unwrap_or(config.pad_token_id as u32);

        let device = select_device();
        let weights = dir.join("model.safetensors");
        // SAFETY: the weights file is memory-mapped read-only; MedShelf never writes to a model
        // folder while a model from it is loaded.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| err(format!("model.safetensors is unreadable: {e}")))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string());
        // What the model computes identifies it, not its folder's name: the weights, and the
        // configuration, tokenizer and pooling that decide what the weights are applied to.
        let parts = [
            config_json.as_str(),
            tokenizer_json.as_str(),
            pooling_json.as_str(),
        ];
        let fingerprint = fingerprint::fingerprint(&weights, &parts, normalize)?;
        let cpu = CpuFeatures::detect();
        let mut plan = match encoder {
            Encoder::Own | Encoder::Stock => PrecisionPlan::F32("asked for by name".into()),
            Encoder::Int8 => PrecisionPlan::Int8("asked for by name".into()),
            Encoder::Auto => plan_precision(
                crate::settings::get().precision,
                cpu,
                matches!(device, Device::Cpu),
            ),
        };
        // The check's verdict for this model, this CPU and this build is kept from the last
        // load: it costs a third of a second for the stand-in and twice that for MedEmbed's
        // twelve layers, on every start of the app and every `medshelf search`.
        let verdict_file = calibration_file(&fingerprint, cpu);
        if plan == PrecisionPlan::Calibrate {
            if let Some(least) = verdict_file.as_deref().and_then(read_verdict) {
                plan = verdict(
                    least,
                    "checked at an earlier start",
                    int8::Kernel::detect().name(),
                );
            }
        }
        let mismatch = |e: candle_core::Error| {
            err(format!("model.safetensors does not match config.json: {e}"))
        };
        let (model, precision, precision_reason) = match (&plan, encoder) {
            (_, Encoder::Stock) => (
                Model::Stock(BertModel::load(vb.clone(), &config).map_err(mismatch)?),
                Precision::F32,
                "candle's stock BERT".to_string(),
            ),
            (PrecisionPlan::Int8(why), _) => (
                Model::Own(bert::Bert::load(vb.clone(), &config, true).map_err(mismatch)?),
                Precision::Int8,
                why.clone(),
            ),
            // Calibration starts from f32 and may swap in int8 below.
            (PrecisionPlan::F32(why), _) => (
                Model::Own(bert::Bert::load(vb.clone(), &config, false).map_err(mismatch)?),
                Precision::F32,
                why.clone(),
            ),
            (PrecisionPlan::Calibrate, _) => (
                Model::Own(bert::Bert::load(vb.clone(), &config, false).map_err(mismatch)?),
                Precision::F32,
                String::new(),
            ),
        };
        let mut embedder = Self {
            model,
            tokenizer,
            counter,
            info: ModelInfo {
                name,
                dim: config.hidden_size,
                pooling,
                normalize,
                max_tokens,
                device: device_name(&device),
                precision,
                precision_reason,
                weights: Some(fingerprint),
            },
            pad_id,
            device,
            // Measured with `medshelf bench embed` on two cores: batch 8 gave 19.5 chunks/s,
            // 4 gave 18.8, 16 gave 15.8, 32 gave 12.5 (larger activations fall out of cache).
            batch_size: 8,
        };
        if plan == PrecisionPlan::Calibrate {
            let int8 = bert::Bert::load(vb, &config, true).map_err(mismatch)?;
            let least = embedder.calibrate(Model::Own(int8))?;
            if let Some(file) = &verdict_file {
                write_verdict(file, least);
            }
        }
        Ok(embedder)
    }

    /// Embeds [`CALIBRATION_TEXTS`] with the loaded f32 model and with `int8`, and keeps `int8`
    /// where every text's two vectors agree to [`CALIBRATION_MIN_COSINE`]: a model whose
    /// activations quantise badly (outliers in a few channels, as some larger encoders have)
    /// stays in f32, and `status` says so.
    /// Returns the least cosine found.
    fn calibrate(&mut self, int8: Model) -> Result<f32> {
        let reference = self.embed(&CALIBRATION_TEXTS)?;
        let f32_model = std::mem::replace(&mut self.model, int8);
        let quantised = self.embed(&CALIBRATION_TEXTS)?;
        let least = least_cosine(&reference, &quantised);
        if least >= CALIBRATION_MIN_COSINE {
            self.info.precision = Precision::Int8;
        } else {
            self.model = f32_model;
            self.info.precision = Precision::F32;
        }
        self.info.precision_reason =
            verdict_reason(least, "checked now", int8::Kernel::detect().name());
        Ok(least)
    }

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

fn select_device() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(d) = Device::new_cuda(0) {
        return d;
    }
    #[cfg(feature = "metal")]
    if let Ok(d) = Device::new_metal(0) {
        return d;
    }
    Device::Cpu
}

fn device_name(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".to_string(),
        Device::Cuda(_) => "cuda:0".to_string(),
        Device::Metal(_) => "metal".to_string(),
    }
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
    use super::*;

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
