//! The residual add and the layer norm after it, in one pass over the rows: `layer_norm(a + b)`.
//!
//! Each of a layer's two norms used to be two candle ops: the add (its own output buffer, and
//! candle's barrier thread pool even for a query's twenty rows, where waiting on it took 7 % of
//! a query in perf) and the norm (one sequential sum per row, as a chain of dependent adds).
//! Here a row is added, summed in eight lanes and normalised while it is in the cache, rows are
//! shared between the cores only where there are enough of them to be worth it, and the
//! variance is taken around the mean (two passes over the row in cache, not `E[x²] - mean²`).

use rayon::prelude::*;

/// Below this many rows, one thread does them all: a query's rows take microseconds, less
/// than handing them to another thread.
const PARALLEL_ROWS: usize = 64;

/// `out = (v - mean(v)) / sqrt(var(v) + eps) · gamma + beta` for each row `v` of `a + b`
/// (rows of `gamma.len()` values, all row-major), with AVX2 and FMA where the CPU has them.
pub fn add_norm(a: &[f32], b: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let h = gamma.len();
    assert_eq!(a.len(), out.len(), "a and out differ in length");
    check(b, gamma, beta, out);
    let row = |(i, out): (usize, &mut [f32])| {
        let (a, b) = (&a[i * h..(i + 1) * h], &b[i * h..(i + 1) * h]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { add_norm_row_avx2(a, b, gamma, beta, eps, out) };
            return;
        }
        add_norm_row(a, b, gamma, beta, eps, out)
    };
    if out.len() / h >= PARALLEL_ROWS {
        out.par_chunks_mut(h).enumerate().for_each(row);
    } else {
        out.chunks_mut(h).enumerate().for_each(row);
    }
}

/// [`add_norm`] with `x` as both `a` and `out`, on the rows of the calling thread alone: the
/// epilogue of an int8 projection, run on the block of rows it has just written, while they
/// are in the core's cache (no buffer of its own, no pass over the whole output).
pub fn add_norm_in_place(x: &mut [f32], b: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let h = gamma.len();
    check(b, gamma, beta, x);
    for (x, b) in x.chunks_exact_mut(h).zip(b.chunks_exact(h)) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { add_norm_row_in_place_avx2(x, b, gamma, beta, eps) };
            continue;
        }
        add_norm_row_in_place(x, b, gamma, beta, eps)
    }
}

/// The shapes both entries need: whole rows of `gamma.len()`, `b` as long as `out`.
fn check(b: &[f32], gamma: &[f32], beta: &[f32], out: &[f32]) {
    let h = gamma.len();
    assert!(h > 0, "rows of no values");
    assert_eq!(beta.len(), h, "beta is not {h} long");
    assert_eq!(b.len(), out.len(), "b and out differ in length");
    assert_eq!(out.len() % h, 0, "out is not rows of {h}");
}

/// [`add_norm_row`] compiled for AVX2 and FMA: its eight-lane loops become one register each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_norm_row_avx2(a: &[f32], b: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    add_norm_row(a, b, gamma, beta, eps, out)
}

/// [`add_norm_row_in_place`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_norm_row_in_place_avx2(x: &mut [f32], b: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    add_norm_row_in_place(x, b, gamma, beta, eps)
}

/// One row of [`add_norm`]: the sum, then [`norm_row`] on it while it is in L1.
#[inline(always)]
fn add_norm_row(a: &[f32], b: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
        *o = a + b;
    }
    norm_row(gamma, beta, eps, out)
}

/// One row of [`add_norm_in_place`].
#[inline(always)]
fn add_norm_row_in_place(x: &mut [f32], b: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    for (x, b) in x.iter_mut().zip(b) {
        *x += b;
    }
    norm_row(gamma, beta, eps, x)
}

/// Normalises one row in place, in loops of eight independent lanes that the compiler
/// vectorises (a single running sum is a chain of dependent adds it may not reorder).
#[inline(always)]
fn norm_row(gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let n = out.len() as f32;
    let whole = out.len() / 8 * 8;
    let mut lanes = [0f32; 8];
    for o in out[..whole].chunks_exact(8) {
        for l in 0..8 {
            lanes[l] += o[l];
        }
    }
    let sum: f32 = lanes.iter().sum::<f32>() + out[whole..].iter().sum::<f32>();
    let mean = sum / n;
    let mut lanes = [0f32; 8];
    for o in out[..whole].chunks_exact(8) {
        for l in 0..8 {
            let d = o[l] - mean;
            lanes[l] += d * d;
        }
    }
    let mut squares: f32 = lanes.iter().sum();
    for o in &out[whole..] {
        squares += (o - mean) * (o - mean);
    }
    let inv = 1.0 / (squares / n + eps).sqrt();
    for ((o, g), b) in out.iter_mut().zip(gamma).zip(beta) {
        *o = (*o - mean) * inv * g + b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::kernels::tests::values;

    /// The textbook layer norm of `a + b`, in f64.
    fn reference(a: &[f32], b: &[f32], gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f64> {
        let h = gamma.len();
        let mut out = Vec::with_capacity(a.len());
        for (a, b) in a.chunks(h).zip(b.chunks(h)) {
            let v: Vec<f64> = a
                .iter()
                .zip(b)
                .map(|(x, y)| *x as f64 + *y as f64)
                .collect();
            let mean = v.iter().sum::<f64>() / h as f64;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / h as f64;
            let inv = 1.0 / (var + eps as f64).sqrt();
            for (j, x) in v.iter().enumerate() {
                out.push((x - mean) * inv * gamma[j] as f64 + beta[j] as f64);
            }
        }
        out
    }

    /// Rows of several widths (remainders past the eight lanes too), few rows and many (one
    /// thread and both), values far from zero (where `E[x²] - mean²` loses digits), and the
    /// vectorised copy against the portable one.
    #[test]
    fn matches_the_textbook_norm_of_the_sum() {
        let mut rand = values(11);
        for &(rows, h) in &[(1, 384), (3, 5), (20, 17), (70, 384), (130, 8)] {
            let a: Vec<f32> = (0..rows * h).map(|_| rand() * 3.0 + 40.0).collect();
            let b: Vec<f32> = (0..rows * h).map(|_| rand()).collect();
            let gamma: Vec<f32> = (0..h).map(|_| rand() + 1.0).collect();
            let beta: Vec<f32> = (0..h).map(|_| rand()).collect();
            let mut out = vec![f32::NAN; rows * h];
            add_norm(&a, &b, &gamma, &beta, 1e-12, &mut out);
            let want = reference(&a, &b, &gamma, &beta, 1e-12);
            for (i, (got, want)) in out.iter().zip(&want).enumerate() {
                assert!(
                    (*got as f64 - want).abs() <= 2e-5 * want.abs().max(1.0),
                    "{rows}x{h} [{i}]: {got} vs {want}"
                );
            }
            let mut portable = vec![f32::NAN; h];
            add_norm_row(&a[..h], &b[..h], &gamma, &beta, 1e-12, &mut portable);
            for (p, o) in portable.iter().zip(&out[..h]) {
                assert!((p - o).abs() <= 1e-5 * p.abs().max(1.0), "{p} vs {o}");
            }
        }
    }

    /// The in-place form gives the out-of-place one's values, bit for bit.
    #[test]
    fn in_place_equals_out_of_place() {
        let mut rand = values(12);
        for &(rows, h) in &[(1, 384), (3, 5), (70, 17)] {
            let a: Vec<f32> = (0..rows * h).map(|_| rand() * 3.0 + 4.0).collect();
            let b: Vec<f32> = (0..rows * h).map(|_| rand()).collect();
            let gamma: Vec<f32> = (0..h).map(|_| rand() + 1.0).collect();
            let beta: Vec<f32> = (0..h).map(|_| rand()).collect();
            let mut want = vec![f32::NAN; rows * h];
            add_norm(&a, &b, &gamma, &beta, 1e-12, &mut want);
            let mut got = a.clone();
            add_norm_in_place(&mut got, &b, &gamma, &beta, 1e-12);
            assert_eq!(got, want, "{rows}x{h}");
        }
    }

    /// A constant row has no spread: it becomes beta, not NaN (eps keeps the division finite).
    #[test]
    fn a_constant_row_becomes_beta() {
        let mut out = vec![0f32; 4];
        add_norm(
            &[2.0; 4],
            &[1.0; 4],
            &[3.0; 4],
            &[0.5, -1.0, 0.0, 2.0],
            1e-12,
            &mut out,
        );
        assert_eq!(out, [0.5, -1.0, 0.0, 2.0]);
    }
}
