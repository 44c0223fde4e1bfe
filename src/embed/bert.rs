//! MedShelf's own BERT encoder on candle tensors.
//!
//! Same weights and the same arithmetic as candle-transformers' BERT, arranged for two CPU cores
//! (profile in the module docs of `embed`): the query, key and value projections are one matmul
//! over concatenated weights; the padding mask becomes an additive bias once per batch; softmax
//! uses candle's fused last-dimension kernel; the query is scaled before the score matmul (l*d
//! values, not l*l); and GELU uses a vectorisable rational approximation of erf (max error about
//! 1e-7) instead of the scalar libm call that took an eighth of the time.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

use super::kernels;

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
    qkv: Proj,
    attention_out: Proj,
    attention_norm: LayerNorm,
    up: Proj,
    down: Proj,
    output_norm: LayerNorm,
    act: HiddenAct,
}

/// A layer's linear projection: f32 weights, or 8-bit ones (blocks of 32 weights sharing one
/// scale, GGML's Q8_0) multiplied by candle's quantized kernels, which quantise the activations
/// to the same blocks on the fly.
enum Proj {
    F32 { linear: Linear, bias: Vec<f32> },
    Int8 { weight: QMatMul, bias: Tensor },
}

/// Up to this many rows (tokens in a batch) a projection runs on [`kernels::linear_rows`], which
/// reads the weights in place, instead of gemm, which copies them first: a query, a short
/// passage. Measured with `medshelf bench embed` (docs/PERFORMANCE.md).
const SMALL_ROWS: usize = 64;

impl Proj {
    fn new(weight: Tensor, bias: Tensor, int8: bool) -> Result<Self> {
        if !int8 {
            return Ok(Proj::F32 {
                bias: bias.to_vec1()?,
                linear: Linear::new(weight, Some(bias)),
            });
        }
        let q = QTensor::quantize(&weight, GgmlDType::Q8_0)?;
        Ok(Proj::Int8 {
            weight: QMatMul::from_qtensor(q)?,
            bias,
        })
    }

    fn load(vb: VarBuilder, input: usize, output: usize, int8: bool) -> Result<Self> {
        Self::new(
            vb.get((output, input), "weight")?,
            vb.get(output, "bias")?,
            int8,
        )
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Proj::F32 { linear, bias } => {
                let rows = x.elem_count() / x.dim(candle_core::D::Minus1)?;
                if rows <= SMALL_ROWS && x.device().is_cpu() && x.is_contiguous() {
                    x.apply_op2_no_bwd(linear.weight(), &SmallLinear(bias))
                } else {
                    linear.forward(x)
                }
            }
            Proj::Int8 { weight, bias } => weight.forward(x)?.broadcast_add(bias),
        }
    }
}

impl Bert {
    /// Loads the weights of a Hugging Face BERT checkpoint (with or without a `bert.` prefix).
    /// With `int8`, the weights of every layer's projections are quantised to 8 bits (Q8_0) as
    /// they load; embeddings and layer norms stay f32.
    pub fn load(vb: VarBuilder, config: &Config, int8: bool) -> Result<Self> {
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
            let inter = config.intermediate_size;
            layers.push(Layer {
                qkv: Proj::new(qkv_w, qkv_b, int8)?,
                attention_out: Proj::load(p.pp("attention.output.dense"), h, h, int8)?,
                attention_norm: candle_nn::layer_norm(h, eps, p.pp("attention.output.LayerNorm"))?,
                up: Proj::load(p.pp("intermediate.dense"), h, inter, int8)?,
                down: Proj::load(p.pp("output.dense"), inter, h, int8)?,
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
        let scores = q.contiguous()?.matmul(&k.t()?)?;
        let probs = if scores.device().is_cpu() {
            scores.apply_op2_no_bwd(bias, &MaskedSoftmax)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores.broadcast_add(bias)?)?
        };
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

/// The values of a contiguous f32 tensor, or an error naming the custom op `op` that needs them.
fn f32_values<'a>(op: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{op} runs on f32 only")
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op} needs contiguous tensors")
    };
    Ok(&values[start..end])
}

/// GELU with erf, `x * (1 + erf(x / sqrt 2)) / 2`, on the CPU in a loop the compiler vectorises.
struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "medshelf-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let out: Vec<f32> = f32_values(self.name(), storage, layout)?
            .iter()
            .map(|&x| 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)))
            .collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// `x · wᵀ + bias` for a few rows of `x` (see [`kernels::linear_rows`]).
struct SmallLinear<'a>(&'a [f32]);

impl candle_core::CustomOp2 for SmallLinear<'_> {
    fn name(&self) -> &'static str {
        "medshelf-small-linear"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        w: &CpuStorage,
        w_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_values(self.name(), x, x_layout)?;
        let w = f32_values(self.name(), w, w_layout)?;
        let (n, k) = w_layout.shape().dims2()?;
        let m = x.len() / k;
        if n != self.0.len() || m * k != x.len() {
            candle_core::bail!("{}: shapes do not fit", self.name())
        }
        let mut out = vec![0f32; m * n];
        kernels::linear_rows(x, w, self.0, m, k, &mut out);
        let mut dims = x_layout.shape().dims().to_vec();
        *dims.last_mut().expect("x has dimensions") = n;
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }
}

/// `softmax(scores + bias)` over the last dimension in one pass over the scores: `scores` is
/// `[batch, heads, length, length]`, `bias` (0 for tokens, a large negative number for padding)
/// `[batch, 1, 1, length]`. It replaces a broadcast add (a whole new tensor) and candle's
/// softmax, whose scalar libm `exp` took 7 % of embedding time; [`exp`] here vectorises.
struct MaskedSoftmax;

impl candle_core::CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "medshelf-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        scores: &CpuStorage,
        scores_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        use rayon::prelude::*;
        let bias = f32_values(self.name(), bias, bias_layout)?;
        let (batch, heads, rows, len) = scores_layout.shape().dims4()?;
        if bias.len() != batch * len {
            candle_core::bail!(
                "{}: bias of {} for {batch} x {len}",
                self.name(),
                bias.len()
            )
        }
        let mut out = f32_values(self.name(), scores, scores_layout)?.to_vec();
        // Rows of one text share its bias; a chunk is one text's head, many rows long.
        out.par_chunks_mut(rows * len)
            .enumerate()
            .for_each(|(i, head)| {
                let bias = &bias[(i / heads) * len..(i / heads + 1) * len];
                for row in head.chunks_exact_mut(len) {
                    softmax_row(row, bias);
                }
            });
        Ok((CpuStorage::F32(out), scores_layout.shape().clone()))
    }
}

/// `row = softmax(row + bias)`, in loops the compiler vectorises (eight partial maxima and sums,
/// since float reductions are otherwise kept in order).
fn softmax_row(row: &mut [f32], bias: &[f32]) {
    let mut max = [f32::MIN; 8];
    for (x, b) in row.iter_mut().zip(bias) {
        *x += b;
    }
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for j in 0..8 {
            max[j] = max[j].max(c[j]);
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .fold(max.iter().copied().fold(f32::MIN, f32::max), |m, &x| {
            m.max(x)
        });
    for x in row.iter_mut() {
        *x = exp(*x - max);
    }
    let mut sum = [0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for j in 0..8 {
            sum[j] += c[j];
        }
    }
    let sum: f32 = sum.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
    let inv = 1.0 / sum;
    for x in row.iter_mut() {
        *x *= inv;
    }
}

/// e^x for f32 without branches or calls, so that a loop of them vectorises: x = n ln 2 + r
/// with |r| <= ln 2 / 2, e^r by its degree-6 Taylor polynomial (relative error about 2e-7 there),
/// and 2^n put straight into the exponent bits. Inputs below -87 give 0 (softmax's masked
/// scores), which f32 could not distinguish from e^-87 in a sum anyway.
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 * 2^23: adding it rounds to an integer, held in the low bits of the sum.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // The sum's bits are 0x4B40_0000 + n: rebias n to 127 + n and move it into the exponent.
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23);
    let y = p * scale;
    // Masked scores (about -1e9) must give exactly 0, not e^-87.
    if x <= -87.0 {
        0.0
    } else {
        y
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

    #[test]
    fn exp_is_accurate_and_softmax_ignores_padding() {
        let mut worst = 0.0f64;
        for i in -86_000..=88_000 {
            let x = i as f32 / 1000.0;
            let rel = ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 1e-6, "max relative error {worst}");
        assert_eq!(exp(-1e9), 0.0);
        let mut row = vec![1.0, 2.0, 3.0, 50.0, 0.5, -1.0, 2.5, 0.0, 1.5];
        let mut bias = vec![0.0; 9];
        bias[3] = -1e9;
        softmax_row(&mut row, &bias);
        let plain = [1.0f64, 2.0, 3.0, 0.5, -1.0, 2.5, 0.0, 1.5];
        let total: f64 = plain.iter().map(|x| x.exp()).sum();
        assert_eq!(row[3], 0.0, "padding gets no attention");
        let expected: Vec<f64> = plain.iter().map(|x| x.exp() / total).collect();
        let got: Vec<f64> = row
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 3)
            .map(|(_, &x)| x as f64)
            .collect();
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-6, "{got:?} against {expected:?}");
        }
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
