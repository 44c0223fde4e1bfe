//! MedShelf's own BERT encoder on candle tensors.
//!
//! Same weights and the same arithmetic as candle-transformers' BERT, arranged for two CPU cores
//! (profiles in docs/PERFORMANCE.md): the query, key and value projections are one matmul
//! over concatenated weights; on the CPU, attention is one kernel that reads that matmul's
//! output in place and skips padding ([`kernels::attention`]; elsewhere candle's ops with the
//! mask as an additive bias); with int8, the projections run on [`int8::QuantLinear`]; projections of a few rows read their weights in place
//! ([`kernels::linear_rows`]); and GELU uses a vectorisable rational approximation of erf (max
//! error about 1e-7) instead of the scalar libm call that took an eighth of the time.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

use super::{int8, kernels, norm};

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
    attention_norm: Norm,
    up: Proj,
    down: Proj,
    output_norm: Norm,
    act: HiddenAct,
}

/// A layer norm that follows a residual add: on the CPU the two are one pass
/// ([`norm::add_norm`]), elsewhere candle's ops.
struct Norm {
    candle: LayerNorm,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn load(h: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let candle = candle_nn::layer_norm(h, eps, vb)?;
        let gamma = candle.weight().to_dtype(DType::F32)?.to_vec1()?;
        let beta = match candle.bias() {
            Some(b) => b.to_dtype(DType::F32)?.to_vec1()?,
            None => vec![0.0; h],
        };
        Ok(Norm {
            candle,
            gamma,
            beta,
            eps: eps as f32,
        })
    }

    /// `layer_norm(x + residual)`.
    fn add_forward(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        let fused = x.device().is_cpu()
            && x.dtype() == DType::F32
            && residual.dtype() == DType::F32
            && x.shape() == residual.shape()
            && x.dim(candle_core::D::Minus1)? == self.gamma.len();
        if fused {
            let (x, residual) = (x.contiguous()?, residual.contiguous()?);
            x.apply_op2_no_bwd(&residual, &AddNorm(self))
        } else {
            self.candle.forward(&(x + residual)?)
        }
    }
}

/// A layer's linear projection: f32 weights, or 8-bit ones: on the CPU our own
/// ([`int8::QuantLinear`]), elsewhere GGML's Q8_0 (blocks of 32 weights sharing one scale)
/// multiplied by candle's quantized kernels.
enum Proj {
    F32 {
        linear: Linear,
        bias: Vec<f32>,
    },
    /// 8-bit weights on the CPU ([`int8::QuantLinear`]).
    Quant(int8::QuantLinear),
    /// 8-bit weights elsewhere: candle's quantized matmul (GGML's Q8_0).
    Int8 {
        weight: QMatMul,
        bias: Tensor,
    },
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
        if weight.device().is_cpu() {
            let (n, k) = weight.dims2()?;
            return Ok(Proj::Quant(int8::QuantLinear::new(
                &weight.flatten_all()?.to_vec1()?,
                &bias.to_vec1()?,
                n,
                k,
            )));
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
            Proj::Quant(weights) => x.apply_op1_no_bwd(&QuantOp(weights, false)),
            Proj::Int8 { weight, bias } => weight.forward(x)?.broadcast_add(bias),
        }
    }

    /// `norm(self(x) + residual)`: with int8 on the CPU, the add and the norm are the product's
    /// epilogue, run by each thread on the rows it has just written while they are in its
    /// cache, in the product's own output; elsewhere a product, then [`Norm::add_forward`].
    fn then_norm(&self, x: &Tensor, residual: &Tensor, norm: &Norm) -> Result<Tensor> {
        match self {
            Proj::Quant(weights)
                if x.device().is_cpu()
                    && residual.dtype() == DType::F32
                    && residual.dim(candle_core::D::Minus1)? == weights.outputs()
                    && weights.outputs() == norm.gamma.len() =>
            {
                let residual = residual.contiguous()?;
                x.contiguous()?
                    .apply_op2_no_bwd(&residual, &QuantAddNorm(weights, norm))
            }
            _ => norm.add_forward(&self.forward(x)?, residual),
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
                attention_norm: Norm::load(h, eps, p.pp("attention.output.LayerNorm"))?,
                up: Proj::load(p.pp("intermediate.dense"), h, inter, int8)?,
                down: Proj::load(p.pp("output.dense"), inter, h, int8)?,
                output_norm: Norm::load(h, eps, p.pp("output.LayerNorm"))?,
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
        let mask = if x.device().is_cpu() {
            // Each text's tokens come first, then its padding (as `embed_batch` lays them out):
            // the attention kernel relies on it, so a mask with a hole is refused, not misread.
            let rows = mask.to_vec2::<u32>()?;
            let lengths: Vec<usize> = rows
                .iter()
                .map(|row| row.iter().take_while(|&&m| m != 0).count())
                .collect();
            if rows
                .iter()
                .zip(&lengths)
                .any(|(row, &n)| row[n..].iter().any(|&m| m != 0))
            {
                candle_core::bail!("the attention mask must be tokens first, then padding")
            }
            Mask::Lengths(lengths)
        } else {
            // 0 where a token is, a large negative number where padding is: exp() of it is 0.
            Mask::Bias(((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((b, 1, 1, l))?)
        };
        for layer in &self.layers {
            x = layer.forward(&x, &mask, self.heads, self.head_dim)?;
        }
        Ok(x)
    }
}

/// Which positions of a batch attention sees: on the CPU, each text's token count (its tokens
/// come first, then padding), for [`kernels::attention`]; elsewhere an additive bias for
/// candle's kernels (0 for tokens, a large negative number for padding).
enum Mask {
    Lengths(Vec<usize>),
    Bias(Tensor),
}

impl Layer {
    fn forward(&self, x: &Tensor, mask: &Mask, heads: usize, head_dim: usize) -> Result<Tensor> {
        let (b, l, h) = x.dims3()?;
        let qkv = self.qkv.forward(x)?;
        let context = match mask {
            Mask::Lengths(lengths) => qkv.apply_op1_no_bwd(&Attention {
                lengths,
                heads,
                head_dim,
                // The int8 encoder's attention may run in bf16: its inputs were 8 bits.
                bf16: matches!(self.qkv, Proj::Quant(_)),
            })?,
            Mask::Bias(bias) => {
                let qkv = qkv
                    .reshape((b, l, 3, heads, head_dim))?
                    .permute((2, 0, 3, 1, 4))?;
                let q = (qkv.get(0)? * (1.0 / (head_dim as f64).sqrt()))?;
                let k = qkv.get(1)?.contiguous()?;
                let v = qkv.get(2)?.contiguous()?;
                let scores = q.contiguous()?.matmul(&k.t()?)?;
                let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(bias)?)?;
                probs.matmul(&v)?.transpose(1, 2)?.reshape((b, l, h))?
            }
        };
        let x = self
            .attention_out
            .then_norm(&context, x, &self.attention_norm)?;
        let up = match (&self.up, self.act) {
            // int8 on the CPU: GELU in the projection's own pass (PERFORMANCE.md).
            (Proj::Quant(weights), HiddenAct::Gelu) if x.device().is_cpu() => {
                x.apply_op1_no_bwd(&QuantOp(weights, true))?
            }
            _ => self.up.forward(&x)?,
        };
        let up = match self.act {
            HiddenAct::Gelu if matches!(self.up, Proj::Quant(_)) && up.device().is_cpu() => up,
            HiddenAct::Gelu if up.device().is_cpu() => up.apply_op1_no_bwd(&GeluErf)?,
            HiddenAct::Gelu => up.gelu_erf()?,
            HiddenAct::GeluApproximate => up.gelu()?,
            HiddenAct::Relu => up.relu()?,
        };
        self.down.then_norm(&up, &x, &self.output_norm)
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

/// GELU with erf on the CPU ([`kernels::gelu`]).
struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "medshelf-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let mut out = f32_values(self.name(), storage, layout)?.to_vec();
        kernels::gelu(&mut out);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// Self-attention on the CPU, from the fused projection's output (see [`kernels::attention`]):
/// `[batch, length, 3 * hidden]` in, `[batch, length, hidden]` out.
struct Attention<'a> {
    lengths: &'a [usize],
    heads: usize,
    head_dim: usize,
    /// Whether the products may run in bf16 ([`kernels::attention_new`]).
    bf16: bool,
}

impl CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "medshelf-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = f32_values(self.name(), storage, layout)?;
        let (b, l, three_h) = layout.shape().dims3()?;
        let h = self.heads * self.head_dim;
        if three_h != 3 * h || b != self.lengths.len() || self.lengths.iter().any(|&n| n > l) {
            candle_core::bail!("{}: shapes do not fit", self.name())
        }
        let out =
            kernels::attention_new(qkv, self.lengths, l, self.heads, self.head_dim, self.bf16);
        Ok((CpuStorage::F32(out), Shape::from((b, l, h))))
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

/// `layer_norm(a + b)` on the CPU ([`norm::add_norm`]).
struct AddNorm<'a>(&'a Norm);

impl CustomOp2 for AddNorm<'_> {
    fn name(&self) -> &'static str {
        "medshelf-add-norm"
    }

    fn cpu_fwd(
        &self,
        a: &CpuStorage,
        a_layout: &Layout,
        b: &CpuStorage,
        b_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let a = f32_values(self.name(), a, a_layout)?;
        let b = f32_values(self.name(), b, b_layout)?;
        let h = self.0.gamma.len();
        if a.len() != b.len() || a.len() % h != 0 {
            candle_core::bail!("{}: shapes do not fit", self.name())
        }
        let mut out = vec![0f32; a.len()];
        norm::add_norm(a, b, &self.0.gamma, &self.0.beta, self.0.eps, &mut out);
        Ok((CpuStorage::F32(out), a_layout.shape().clone()))
    }
}

/// `x · wᵀ + bias` with 8-bit weights on the CPU ([`int8::QuantLinear::linear`]).
/// With `true`, GELU follows in the same pass ([`int8::QuantLinear::linear_then`]).
struct QuantOp<'a>(&'a int8::QuantLinear, bool);

impl CustomOp1 for QuantOp<'_> {
    fn name(&self) -> &'static str {
        "medshelf-int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_values(self.name(), storage, layout)?;
        let (k, n) = (self.0.inputs(), self.0.outputs());
        let mut dims = layout.shape().dims().to_vec();
        if dims.last() != Some(&k) {
            candle_core::bail!("{}: rows of {dims:?} are not {k} long", self.name())
        }
        let m = x.len() / k;
        let out = if self.1 {
            self.0
                .product_then(x, m, |_, rows| kernels::gelu_here(rows))
        } else {
            self.0.product_then(x, m, |_, _| {})
        };
        *dims.last_mut().expect("x has dimensions") = n;
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }
}

/// `layer_norm(x · wᵀ + bias + residual)` with 8-bit weights on the CPU: the add and the norm
/// run on each block of rows as the product finishes it ([`int8::QuantLinear::product_then`],
/// [`norm::add_norm_in_place`]), in the product's own buffer. Before, they were a pass of their
/// own over the whole output, into a third buffer.
struct QuantAddNorm<'a>(&'a int8::QuantLinear, &'a Norm);

impl CustomOp2 for QuantAddNorm<'_> {
    fn name(&self) -> &'static str {
        "medshelf-int8-linear-add-norm"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_values(self.name(), x, x_layout)?;
        let residual = f32_values(self.name(), residual, residual_layout)?;
        let (k, n) = (self.0.inputs(), self.0.outputs());
        let mut dims = x_layout.shape().dims().to_vec();
        if dims.last() != Some(&k) {
            candle_core::bail!("{}: rows of {dims:?} are not {k} long", self.name())
        }
        let m = x.len() / k;
        if residual.len() != m * n || self.1.gamma.len() != n {
            candle_core::bail!("{}: shapes do not fit", self.name())
        }
        let norm = self.1;
        let out = self.0.product_then(x, m, |i0, rows| {
            let residual = &residual[i0 * n..i0 * n + rows.len()];
            norm::add_norm_in_place(rows, residual, &norm.gamma, &norm.beta, norm.eps);
        });
        *dims.last_mut().expect("x has dimensions") = n;
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }
}
