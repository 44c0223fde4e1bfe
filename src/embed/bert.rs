//! MedShelf's own BERT encoder on candle tensors.
//!
//! Same weights and the same arithmetic as candle-transformers' BERT, arranged for two CPU cores
//! (profile in the module docs of `embed`): the query, key and value projections are one matmul
//! over concatenated weights; the padding mask becomes an additive bias once per batch; softmax
//! uses candle's fused last-dimension kernel; the query is scaled before the score matmul (l*d
//! values, not l*l); and GELU uses a vectorisable rational approximation of erf (max error about
//! 1e-7) instead of the scalar libm call that took an eighth of the time.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

/// A BERT encoder: token ids and mask in, one vector per token out.
pub struct Bert {
    word: Embedding,
    /// Position embeddings with the (single) token-type embedding already added.
    position: Tensor,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
}

struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    up: Linear,
    down: Linear,
    output_norm: LayerNorm,
    act: HiddenAct,
}

impl Bert {
    /// Loads the weights of a Hugging Face BERT checkpoint (with or without a `bert.` prefix).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let prefixed =
            |p: &str| vb.contains_tensor(&format!("{p}.embeddings.word_embeddings.weight"));
        let vb = match &config.model_type {
            _ if prefixed("bert") => vb.pp("bert"),
            Some(t) if prefixed(t) => vb.pp(t),
            _ => vb,
        };
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let word = candle_nn::embedding(config.vocab_size, h, vb.pp("embeddings.word_embeddings"))?;
        let position = vb.get(
            (config.max_position_embeddings, h),
            "embeddings.position_embeddings.weight",
        )?;
        let token_type = vb
            .get(
                (config.type_vocab_size, h),
                "embeddings.token_type_embeddings.weight",
            )?
            .get(0)?;
        let position = position.broadcast_add(&token_type)?;
        let norm = candle_nn::layer_norm(h, eps, vb.pp("embeddings.LayerNorm"))?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = vb.pp(format!("encoder.layer.{i}"));
            let a = p.pp("attention.self");
            let weight = |name: &str| a.get((h, h), &format!("{name}.weight"));
            let bias = |name: &str| a.get(h, &format!("{name}.bias"));
            let qkv_w = Tensor::cat(&[weight("query")?, weight("key")?, weight("value")?], 0)?;
            let qkv_b = Tensor::cat(&[bias("query")?, bias("key")?, bias("value")?], 0)?;
            layers.push(Layer {
                qkv: Linear::new(qkv_w, Some(qkv_b)),
                attention_out: candle_nn::linear(h, h, p.pp("attention.output.dense"))?,
                attention_norm: candle_nn::layer_norm(h, eps, p.pp("attention.output.LayerNorm"))?,
                up: candle_nn::linear(h, config.intermediate_size, p.pp("intermediate.dense"))?,
                down: candle_nn::linear(config.intermediate_size, h, p.pp("output.dense"))?,
                output_norm: candle_nn::layer_norm(h, eps, p.pp("output.LayerNorm"))?,
                act: config.hidden_act,
            });
        }
        Ok(Bert {
            word,
            position,
            norm,
            layers,
            heads: config.num_attention_heads,
            head_dim: h / config.num_attention_heads,
        })
    }

    /// Encodes a batch: `ids` and `mask` are `[batch, length]` (u32); returns
    /// `[batch, length, hidden]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let x = self.word.forward(ids)?;
        let x = x.broadcast_add(&self.position.narrow(0, 0, l)?)?;
        let mut x = self.norm.forward(&x)?;
        // 0 where a token is, a large negative number where padding is: exp() of it is 0.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((b, 1, 1, l))?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias, self.heads, self.head_dim)?;
        }
        Ok(x)
    }
}

impl Layer {
    fn forward(&self, x: &Tensor, bias: &Tensor, heads: usize, head_dim: usize) -> Result<Tensor> {
        let (b, l, h) = x.dims3()?;
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((b, l, 3, heads, head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let q = (qkv.get(0)? * (1.0 / (head_dim as f64).sqrt()))?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let scores = q.contiguous()?.matmul(&k.t()?)?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, l, h))?;
        let x = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let up = self.up.forward(&x)?;
        let up = match self.act {
            HiddenAct::Gelu if up.device().is_cpu() => up.apply_op1_no_bwd(&GeluErf)?,
            HiddenAct::Gelu => up.gelu_erf()?,
            HiddenAct::GeluApproximate => up.gelu()?,
            HiddenAct::Relu => up.relu()?,
        };
        self.output_norm.forward(&(self.down.forward(&up)? + x)?)
    }
}

/// GELU with erf, `x * (1 + erf(x / sqrt 2)) / 2`, on the CPU in a loop the compiler vectorises.
struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "medshelf-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(values) = storage else {
            candle_core::bail!("{} runs on f32 only", self.name())
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{} needs a contiguous tensor", self.name())
        };
        let out: Vec<f32> = values[start..end]
            .iter()
            .map(|&x| 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)))
            .collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// erf(x) for f32 as an odd rational function of x on [-4, 4] (erf is +-1 to f32 precision
/// beyond), with the coefficients of the minimax fit that Eigen and XLA also use. Branch-free,
/// so a slice of them vectorises.
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_6e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_474e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_accurate_everywhere() {
        let mut worst = 0.0f64;
        for i in -80_000..=80_000 {
            let x = i as f64 / 10_000.0;
            let err = (erf(x as f32) as f64 - libm_erf(x)).abs();
            worst = worst.max(err);
        }
        assert!(worst < 2e-6, "max error {worst}");
    }

    /// A reference erf in f64 (Abramowitz-Stegun 7.1.28 is too coarse; use the series and
    /// continued fraction, which are exact to f64 rounding over this range).
    fn libm_erf(x: f64) -> f64 {
        if x.abs() < 2.5 {
            // Maclaurin series.
            let mut sum = x;
            let mut term = x;
            for n in 1..200 {
                term *= -x * x / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // Continued fraction for erfc.
            let z = x.abs();
            let mut f = 0.0;
            for n in (1..200).rev() {
                f = n as f64 / 2.0 / (z + f);
            }
            let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + f);
            (1.0 - erfc) * x.signum()
        }
    }
}
