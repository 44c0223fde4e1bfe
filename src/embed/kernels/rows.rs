//! Projections of a few rows ([`linear_rows`]): gemm, under candle's matmul, copies ("packs") the
//! weight matrix into its own layout on every call. With thousands of rows that copy is paid
//! once for a lot of arithmetic; with the twenty rows of a query it is a third of the time
//! (perf: `gemm_common::...::vectorize` 24 % of a search benchmark). Both operands here are read
//! in place: each output is the dot product of a row of `x` with a row of `w`, both contiguous,
//! computed two rows by four outputs at a time so that every load feeds several multiply-adds.

use rayon::prelude::*;

/// Output columns per parallel task: enough work to be worth a thread hand-off.
const COLUMNS_PER_TASK: usize = 64;

/// `out[i][j] = bias[j] + Σ_k x[i][k] · w[j][k]` for `x` of `m × k`, `w` of `n × k`, `out` of
/// `m × n`, all row-major. Uses AVX2 and FMA where the CPU has them, else portable code.
pub fn linear_rows(x: &[f32], w: &[f32], bias: &[f32], m: usize, k: usize, out: &mut [f32]) {
    let n = bias.len();
    assert_eq!(x.len(), m * k, "x is not {m} x {k}");
    assert_eq!(w.len(), n * k, "w is not {n} x {k}");
    assert_eq!(out.len(), m * n, "out is not {m} x {n}");
    // Each task fills a block of columns, transposed (column-major) so that its block is one
    // contiguous slice; the transpose back is m x n, tiny beside the product.
    let mut columns = vec![0f32; n * m];
    columns
        .par_chunks_mut(COLUMNS_PER_TASK * m)
        .enumerate()
        .for_each(|(task, block)| {
            let j0 = task * COLUMNS_PER_TASK;
            let cols = block.len() / m.max(1);
            block_product(x, &w[j0 * k..(j0 + cols) * k], m, k, cols, block);
        });
    for (j, col) in columns.chunks_exact(m.max(1)).enumerate().take(n) {
        for (i, &v) in col.iter().enumerate() {
            out[i * n + j] = v + bias[j];
        }
    }
}

/// `block[j * m + i] = x[i] · w[j]` for the `cols` rows of `w` given.
fn block_product(x: &[f32], w: &[f32], m: usize, k: usize, cols: usize, block: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { x86::block_product(x, w, m, k, cols, block) };
        return;
    }
    for j in 0..cols {
        for i in 0..m {
            block[j * m + i] = dot(&x[i * k..(i + 1) * k], &w[j * k..(j + 1) * k]);
        }
    }
}

/// A dot product in eight independent sums, which the compiler vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Horizontal sum of eight lanes.
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// See [`super::block_product`]. Tiles of two `x` rows by four `w` rows (eight accumulators,
    /// six loads for eight multiply-adds per eight values of k), then one row by four for an odd
    /// row, then plain dot products for the last columns when `cols` is not a multiple of four.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block_product(
        x: &[f32],
        w: &[f32],
        m: usize,
        k: usize,
        cols: usize,
        block: &mut [f32],
    ) {
        let k8 = k / 8 * 8;
        let row = |a: &[f32], r: usize| a[r * k..(r + 1) * k].as_ptr();
        let tail =
            |i: usize, j: usize| -> f32 { (k8..k).map(|p| x[i * k + p] * w[j * k + p]).sum() };
        let cols4 = cols / 4 * 4;
        for j in (0..cols4).step_by(4) {
            let ws = [row(w, j), row(w, j + 1), row(w, j + 2), row(w, j + 3)];
            // The weights come from memory (a model is larger than the caches) and few rows
            // use each: fetching the next four weight rows while these are multiplied keeps
            // the arithmetic from waiting on them. They follow these rows in memory.
            let next = w.as_ptr().wrapping_add((j + 4) * k);
            let ahead = if j + 8 <= cols { 4 * k } else { 0 };
            let mut i = 0;
            while i + 2 <= m {
                let (x0, x1) = (row(x, i), row(x, i + 1));
                let mut a = [_mm256_setzero_ps(); 8];
                for p in (0..k8).step_by(8) {
                    if i == 0 && p % 16 == 0 && 4 * p < ahead {
                        // 64-byte lines: four of the next block's per 16 values of k here.
                        for l in 0..4 {
                            _mm_prefetch::<_MM_HINT_T0>(
                                next.wrapping_add(4 * p + 16 * l) as *const i8
                            );
                        }
                    }
                    // SAFETY: every pointer is to a row of k values and p + 8 <= k.
                    let (u, v) = (_mm256_loadu_ps(x0.add(p)), _mm256_loadu_ps(x1.add(p)));
                    for c in 0..4 {
                        let wv = _mm256_loadu_ps(ws[c].add(p));
                        a[c] = _mm256_fmadd_ps(u, wv, a[c]);
                        a[4 + c] = _mm256_fmadd_ps(v, wv, a[4 + c]);
                    }
                }
                for c in 0..4 {
                    block[(j + c) * m + i] = hsum(a[c]) + tail(i, j + c);
                    block[(j + c) * m + i + 1] = hsum(a[4 + c]) + tail(i + 1, j + c);
                }
                i += 2;
            }
            if i < m {
                let x0 = row(x, i);
                let mut a = [_mm256_setzero_ps(); 4];
                for p in (0..k8).step_by(8) {
                    // SAFETY: as above.
                    let u = _mm256_loadu_ps(x0.add(p));
                    for c in 0..4 {
                        a[c] = _mm256_fmadd_ps(u, _mm256_loadu_ps(ws[c].add(p)), a[c]);
                    }
                }
                for c in 0..4 {
                    block[(j + c) * m + i] = hsum(a[c]) + tail(i, j + c);
                }
            }
        }
        for j in cols4..cols {
            for i in 0..m {
                block[j * m + i] = super::dot(&x[i * k..(i + 1) * k], &w[j * k..(j + 1) * k]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::kernels::tests::values;

    #[test]
    fn matches_the_plain_product_for_every_shape() {
        let mut rand = values(7);
        for &(m, k, n) in &[
            (1, 384, 1152),
            (3, 40, 7),
            (20, 384, 1536),
            (5, 1536, 384),
            (2, 3, 130),
        ] {
            let x: Vec<f32> = (0..m * k).map(|_| rand()).collect();
            let w: Vec<f32> = (0..n * k).map(|_| rand()).collect();
            let b: Vec<f32> = (0..n).map(|_| rand()).collect();
            let mut out = vec![0f32; m * n];
            linear_rows(&x, &w, &b, m, k, &mut out);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = b[j] as f64
                        + (0..k)
                            .map(|p| x[i * k + p] as f64 * w[j * k + p] as f64)
                            .sum::<f64>();
                    let got = out[i * n + j] as f64;
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{m}x{k}x{n} at ({i},{j}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
