//! 8-bit projections: weights quantised once at load, activations per row on the fly, products
//! in 32-bit integers with AVX512-VNNI where the CPU has it, AVX2 where it has only that.
//!
//! Weights are symmetric per output column (`w ≈ s_w[j] · q_w`, `q_w` in -127..=127);
//! activations are asymmetric per row (`x ≈ s_x[i] · (q_x - z[i])`, `q_x` in 0..=255, the row's
//! minimum and maximum spanning the range, 0 exactly representable), which suits GELU's outputs
//! (from -0.17 to large) as well as layer norms'. Then
//! `x · w = s_x s_w (Σ q_x q_w - z Σ q_w)`, with `Σ q_w` per column computed at load.
//!
//! AVX2 has no byte dot product into 32 bits: `vpmaddubsw` adds two byte products into a
//! *saturating* 16-bit sum, and 255 · 127 · 2 does not fit. Where that kernel runs, the weights
//! are quantised to -63..=63 instead (one bit less, the activations keep all eight; ONNX
//! Runtime's "reduced range" makes the same trade on such CPUs), so no sum can saturate and the
//! kernel's arithmetic is exact, equal to the portable loops'.
//!
//! Why not candle's quantized matmul (GGML's Q8_0): it computes every output as its own dot
//! product over blocks of 32 (no reuse of a loaded activation across outputs), and its VNNI
//! kernels need an inner size that is a multiple of 256; measured, it ran at 0.4x of our f32
//! path. `vpdpbusd` multiplies 64 pairs of bytes and adds them into sixteen 32-bit sums in one
//! instruction, four times the multiply-adds of an f32 FMA of the same width; here each loaded
//! group of weights serves several rows and each broadcast activation sixty-four columns.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Columns per panel: one 512-bit register of 32-bit sums.
const LANES: usize = 16;

/// `v.round().clamp(-127.0, 127.0) as i8` (rounding half away from zero, NaN to 0), in
/// arithmetic the compiler vectorises: libm's `roundf` is a call per value. Clamping first keeps
/// the truncating conversion in range; the fraction left by truncation is exact below 2^23.
#[inline(always)]
fn round_to_i8(v: f32) -> i8 {
    let v = v.clamp(-127.0, 127.0);
    let t = v as i32;
    let frac = v - t as f32;
    (t + i32::from(frac >= 0.5) - i32::from(frac <= -0.5)) as i8
}

/// Which code multiplies the bytes, chosen by the CPU's features at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `vpdpbusd` on 512 bits (AVX-512 F, BW and VNNI).
    Avx512Vnni,
    /// `vpmaddubsw`, `vpmaddwd` on 256 bits (AVX2), weights at 7 bits.
    Avx2,
    /// Plain loops: correct, slow; where neither runs.
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Self {
        [Kernel::Avx512Vnni, Kernel::Avx2]
            .into_iter()
            .find(|k| k.runs_here())
            .unwrap_or(Kernel::Portable)
    }

    /// Whether this CPU runs the kernel.
    pub fn runs_here(self) -> bool {
        match self {
            Kernel::Avx512Vnni => vnni(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2 => false,
            Kernel::Portable => true,
        }
    }

    /// The largest quantised weight: 127, or 63 where two byte products must fit a signed
    /// 16-bit sum (`2 · 255 · 63 = 32,130`).
    fn weight_max(self) -> f32 {
        match self {
            Kernel::Avx2 => 63.0,
            Kernel::Avx512Vnni | Kernel::Portable => 127.0,
        }
    }

    /// The kernel's name, as `status` and the bench print it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512Vnni => "AVX512-VNNI",
            Kernel::Avx2 => "AVX2",
            Kernel::Portable => "portable",
        }
    }
}

/// A linear layer with 8-bit weights.
pub struct QuantLinear {
    /// Inputs per row, and that rounded up to a multiple of 4 (VNNI takes four bytes at a time).
    k: usize,
    k4: usize,
    /// Outputs per row.
    n: usize,
    /// Panels of [`LANES`] columns, one after another; in a panel, for each group of four
    /// inputs, the four weights of each column in turn (`[k4 / 4][LANES][4]`), which is the
    /// layout `vpdpbusd` multiplies a broadcast group of four activations by. Zero-padded.
    weights: Vec<i8>,
    /// Per column (padded to whole panels with zeros): the scale, `Σ q_w`, the bias.
    scales: Vec<f32>,
    sums: Vec<i32>,
    bias: Vec<f32>,
    /// The kernel that multiplies (the weights' range depends on it).
    kernel: Kernel,
}

impl QuantLinear {
    /// Quantises `w` (`n × k` row-major, as a checkpoint stores a linear layer) and keeps `bias`,
    /// for the fastest kernel this CPU runs.
    pub fn new(w: &[f32], bias: &[f32], n: usize, k: usize) -> Self {
        Self::for_kernel(w, bias, n, k, Kernel::detect())
    }

    /// As [`QuantLinear::new`], for `kernel` (which must run here to be used; see
    /// [`Kernel::runs_here`]).
    pub fn for_kernel(w: &[f32], bias: &[f32], n: usize, k: usize, kernel: Kernel) -> Self {
        assert_eq!(w.len(), n * k, "w is not {n} x {k}");
        assert_eq!(bias.len(), n, "bias is not {n} long");
        // At least one group of four, even for a layer of no inputs: the kernels run their
        // first group before they test for the end.
        let k4 = k.div_ceil(4).max(1) * 4;
        let n16 = n.div_ceil(LANES) * LANES;
        let mut weights = vec![0i8; n16 * k4];
        let mut scales = vec![0f32; n16];
        let mut sums = vec![0i32; n16];
        let mut padded_bias = vec![0f32; n16];
        padded_bias[..n].copy_from_slice(bias);
        // Quantising is part of every start of the app and of every `medshelf search` (about
        // 21 million weights for MedEmbed's twelve layers): a column is quantised into a
        // contiguous buffer by loops the compiler vectorises, then scattered four bytes at a
        // time into its panel.
        let mut column = vec![0i8; k];
        for j in 0..n {
            let row = &w[j * k..(j + 1) * k];
            let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = if max > 0.0 {
                max / kernel.weight_max()
            } else {
                1.0
            };
            scales[j] = scale;
            for (q, &x) in column.iter_mut().zip(row) {
                *q = round_to_i8(x / scale);
            }
            sums[j] = column.iter().map(|&q| q as i32).sum();
            let (panel, c) = (j / LANES, j % LANES);
            let base = panel * k4 * LANES + c * 4;
            let mut groups = column.chunks_exact(4);
            for (g, four) in (&mut groups).enumerate() {
                let at = base + g * LANES * 4;
                weights[at..at + 4].copy_from_slice(four);
            }
            let rest = groups.remainder();
            if !rest.is_empty() {
                let at = base + (k / 4) * LANES * 4;
                weights[at..at + rest.len()].copy_from_slice(rest);
            }
        }
        QuantLinear {
            k,
            k4,
            n,
            weights,
            scales,
            sums,
            bias: padded_bias,
            kernel,
        }
    }

    /// The kernel that multiplies.
    #[cfg(test)]
    fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Inputs per row.
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// Outputs per row.
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// `out = x · wᵀ + bias` for `x` of `m × k` and `out` of `m × n`, row-major. For tests and
    /// benches, into a buffer they keep; the encoder uses [`QuantLinear::product_then`].
    #[cfg(any(test, feature = "fixtures"))]
    pub fn linear(&self, x: &[f32], m: usize, out: &mut [f32]) {
        self.linear_then(x, m, out, |_, _| {})
    }

    /// [`QuantLinear::linear`], then `then(first_row, rows)` (GELU, or the residual add and
    /// layer norm that follow the projection) on each block of whole output rows, by the
    /// thread that wrote them, while they are in its cache, instead of in a pass of its own
    /// over the whole output.
    #[cfg(any(test, feature = "fixtures"))]
    pub fn linear_then(
        &self,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        then: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        // SAFETY: `MaybeUninit<f32>` has `f32`'s layout, and every value here is initialised;
        // `write` only writes.
        let out = unsafe { &mut *(out as *mut [f32] as *mut [MaybeUninit<f32>]) };
        self.write(x, m, out, then);
    }

    /// `x · wᵀ + bias` then `then(first_row, rows)` on each block of whole output rows (as
    /// `linear_then` does), into a new vector of `m × n` values, which is not zeroed
    /// first: at a batch of eight passages a layer's outputs are tens of megabytes, and
    /// zeroing them and attention's output (calloc's memset) took 6 % of int8 embedding time
    /// in perf.
    pub fn product_then(
        &self,
        x: &[f32],
        m: usize,
        then: impl Fn(usize, &mut [f32]) + Sync,
    ) -> Vec<f32> {
        let len = m * self.n;
        let mut out = Vec::with_capacity(len);
        self.write(x, m, &mut out.spare_capacity_mut()[..len], then);
        // SAFETY: `write` writes every one of the `len` values (each kernel stores every row
        // and every column below `n` of the blocks it is given, and the blocks cover the
        // output), and `len` is within the capacity.
        unsafe { out.set_len(len) };
        out
    }

    /// Writes every value of `out` (`m × n`), then runs `then` on it by blocks of rows.
    fn write(
        &self,
        x: &[f32],
        m: usize,
        out: &mut [MaybeUninit<f32>],
        then: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        let (k, n) = (self.k, self.n);
        assert_eq!(x.len(), m * k, "x is not {m} x {k}");
        assert_eq!(out.len(), m * n, "out is not {m} x {n}");
        let rows = quantize_rows(x, m, k, self.k4);
        let kernel = self.kernel;
        // Rows in chunks for the threads, each chunk all columns (its output rows are one
        // contiguous run); a query's few rows split by columns instead.
        let chunk = m.div_ceil(rayon::current_num_threads().max(1) * 2).max(1);
        if m >= 24 {
            out.par_chunks_mut(chunk * n)
                .enumerate()
                .for_each(|(t, out)| {
                    let i0 = t * chunk;
                    let rows_here = out.len() / n;
                    self.block(&rows, i0, rows_here, 0, self.panels(), out, n, kernel);
                    // SAFETY: `block` wrote all of these rows' values.
                    then(i0, unsafe { assume_written(out) });
                });
            return;
        }
        let panels_per_task = 4;
        let blocks: Vec<Vec<f32>> = (0..self.panels().div_ceil(panels_per_task))
            .into_par_iter()
            .map(|task| {
                let first = task * panels_per_task;
                let count = panels_per_task.min(self.panels() - first);
                let width = (count * LANES).min(n - first * LANES);
                let mut block = vec![0f32; m * width];
                // SAFETY: as in `linear_then`.
                let view = unsafe { &mut *(block.as_mut_slice() as *mut [f32] as *mut [_]) };
                self.block(&rows, 0, m, first, count, view, width, kernel);
                block
            })
            .collect();
        for (task, block) in blocks.iter().enumerate() {
            let j0 = task * panels_per_task * LANES;
            let width = block.len() / m.max(1);
            for (row, values) in out
                .chunks_exact_mut(n)
                .zip(block.chunks_exact(width.max(1)))
            {
                for (slot, &v) in row[j0..j0 + width].iter_mut().zip(values) {
                    slot.write(v);
                }
            }
        }
        // SAFETY: the blocks' columns cover all n columns of every row, and each was copied.
        then(0, unsafe { assume_written(out) });
    }

    fn panels(&self) -> usize {
        self.n.div_ceil(LANES)
    }

    /// Rows `i0..i0 + m` by panels `first..first + count` into `out` (`m` rows, `ldo` apart,
    /// starting at the block's first column; columns past `n` are not written).
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        rows: &Rows,
        i0: usize,
        m: usize,
        first: usize,
        count: usize,
        out: &mut [MaybeUninit<f32>],
        ldo: usize,
        kernel: Kernel,
    ) {
        assert!(i0 + m <= rows.zeros.len() && first + count <= self.panels());
        assert!(m == 0 || out.len() >= (m - 1) * ldo + (count * LANES).min(self.n - first * LANES));
        #[cfg(target_arch = "x86_64")]
        match kernel {
            Kernel::Avx512Vnni if vnni() => {
                // SAFETY: the CPU has AVX-512 F, BW and VNNI (`vnni()`); rows i0..i0 + m and
                // panels first..first + count exist, and out holds m rows of the block (checked
                // above).
                unsafe { avx512::block(self, rows, i0, m, first, count, out, ldo) };
                return;
            }
            Kernel::Avx2 if std::arch::is_x86_feature_detected!("avx2") => {
                // SAFETY: the CPU has AVX2; the block is in range (checked above); the weights
                // are at most 63 in size (`Kernel::weight_max`) when the kernel is AVX2, so
                // `vpmaddubsw`'s 16-bit sums cannot saturate.
                unsafe { avx2::block(self, rows, i0, m, first, count, out, ldo) };
                return;
            }
            _ => {}
        }
        let _ = kernel;
        for i in 0..m {
            let a = &rows.values[(i0 + i) * self.k4..(i0 + i + 1) * self.k4];
            for jp in 0..count * LANES {
                let j = first * LANES + jp;
                if j >= self.n {
                    break;
                }
                let (panel, c) = (j / LANES, j % LANES);
                let w = &self.weights[panel * self.k4 * LANES..(panel + 1) * self.k4 * LANES];
                let acc: i32 = (0..self.k4)
                    .map(|p| a[p] as i32 * w[(p / 4) * LANES * 4 + c * 4 + p % 4] as i32)
                    .sum();
                out[i * ldo + jp].write(self.finish(acc, rows, i0 + i, j));
            }
        }
    }

    /// One output from its integer sum: `s_x s_w (acc - z Σ q_w) + bias`.
    fn finish(&self, acc: i32, rows: &Rows, i: usize, j: usize) -> f32 {
        (acc - rows.zeros[i] * self.sums[j]) as f32 * (rows.scales[i] * self.scales[j])
            + self.bias[j]
    }
}

/// The values of `out`, once every one of them has been written.
///
/// # Safety
/// Every element of `out` must have been written.
unsafe fn assume_written(out: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    // SAFETY: same layout; initialised, as the caller promises.
    unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// Whether this CPU multiplies bytes with AVX512-VNNI (else the portable loops run: correct, slow).
pub fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod quantize;

use quantize::{quantize_rows, Rows};

#[cfg(test)]
mod tests;
