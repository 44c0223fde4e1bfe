//! Loading a model folder: which files it must hold and how large they may be, the checks on
//! its configuration, pooling read from the folder, the device, and the precision chosen at
//! load (with the calibration check where the plan asks for it).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

use super::precision::{
    calibration_file, least_cosine, read_verdict, verdict, verdict_reason, write_verdict,
};
use super::*;
use crate::error::{Error, Result};

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
    pub(super) fn calibrate(&mut self, int8: Model) -> Result<f32> {
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
