//! Projections of a few rows ([`linear_rows`]): gemm, under candle's matmul, copies ("packs") the
//! weight matrix into its own layout on every call. With thousands of rows that copy is paid
//! once for a lot of arithmetic; with the twenty rows of a query it is a third of the time
//! (perf: `gemm_common::...::vectorize` 24 % of a search benchmark). Both operands here are read
//! in place.
//!
//! With AVX-512 the rows of `x` are transposed once (a few kilobytes) so that one vector holds a
//! value of sixteen rows, and each weight is broadcast against it: sixteen weight rows by
//! sixteen rows of `x` at a time, every multiply-add a whole vector, no horizontal sums, and the
//! next tile's weights fetched into L2 while this one is multiplied. A query's weights stream
//! from memory (85 MB for a 12-layer model), so that fetch is what the single-query latency
//! waits on: 14 rows through twelve layers' projections took 7.1 ms on the dot-product tiles
//! and 4.8 ms on these (docs/PERFORMANCE.md). Elsewhere each output is the dot product of a row
//! of `x` with a row of `w`, both contiguous, two rows by four outputs at a time (AVX2) or
//! portable.

use rayon::prelude::*;

/// Output columns per parallel task: enough work to be worth a thread hand-off.
const COLUMNS_PER_TASK: usize = 64;

/// `out[i][j] = bias[j] + Σ_k x[i][k] · w[j][k]` for `x` of `m × k`, `w` of `n × k`, `out` of
/// `m × n`, all row-major. Uses AVX-512 (broadcast tiles), else AVX2 and FMA (dot-product tiles)
/// where the CPU has them, else portable code.
pub fn linear_rows(x: &[f32], w: &[f32], bias: &[f32], m: usize, k: usize, out: &mut [f32]) {
    let n = bias.len();
    assert_eq!(x.len(), m * k, "x is not {m} x {k}");
    assert_eq!(w.len(), n * k, "w is not {n} x {k}");
    assert_eq!(out.len(), m * n, "out is not {m} x {n}");
    // Each task fills a block of columns, transposed (column-major) so that its block is one
    // contiguous slice; the transpose back is m x n, tiny beside the product.
    let mut columns = vec![0f32; n * m];
    #[cfg(target_arch = "x86_64")]
    if m > 0 && x86::has_avx512() {
        let (xt, ld) = transpose(x, m, k);
        columns
            .par_chunks_mut(COLUMNS_PER_TASK * m)
            .enumerate()
            .for_each(|(task, block)| {
                let j0 = task * COLUMNS_PER_TASK;
                let cols = block.len() / m;
                // SAFETY: the CPU has AVX-512F, VL and FMA (checked above); xt is k x ld with ld
                // a multiple of 16, w's slice holds `cols` rows of k and block cols x m values.
                unsafe {
                    x86::broadcast_block(&xt, ld, &w[j0 * k..(j0 + cols) * k], m, k, cols, block)
                };
            });
        add_bias_transposed(&columns, bias, m, out);
        return;
    }
    columns
        .par_chunks_mut(COLUMNS_PER_TASK * m)
        .enumerate()
        .for_each(|(task, block)| {
            let j0 = task * COLUMNS_PER_TASK;
            let cols = block.len() / m.max(1);
            block_product(x, &w[j0 * k..(j0 + cols) * k], m, k, cols, block);
        });
    add_bias_transposed(&columns, bias, m, out);
}

/// `x` (`m × k`) transposed for [`x86::broadcast_block`]: value p of row i at `p * ld + i`, with
/// `ld` the rows rounded up to whole vectors of sixteen and zeros past row m. Returns it and `ld`.
#[cfg(target_arch = "x86_64")]
fn transpose(x: &[f32], m: usize, k: usize) -> (Vec<f32>, usize) {
    let ld = m.div_ceil(16) * 16;
    let mut xt = vec![0f32; k * ld];
    for (i, row) in x.chunks_exact(k.max(1)).take(m).enumerate() {
        for (p, &v) in row.iter().enumerate() {
            xt[p * ld + i] = v;
        }
    }
    (xt, ld)
}

/// `out[i][j] = columns[j][i] + bias[j]`: the column-major blocks back to rows, with the bias.
fn add_bias_transposed(columns: &[f32], bias: &[f32], m: usize, out: &mut [f32]) {
    let n = bias.len();
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

    /// Whether [`broadcast_block`] can run here.
    pub(super) fn has_avx512() -> bool {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("fma")
    }

    /// Weight rows per tile: sixteen accumulators (of 32 vector registers) and sixteen streams of
    /// weights; 8 was 4 % slower on a query's projections with the weights in cache, 24 half again
    /// as slow (the sixteen general registers run out for the weight rows' addresses).
    const TILE: usize = 16;

    /// `block[j * m + i] = x[i] · w[j]` for the `cols` rows of `w`, with `x` given transposed
    /// (`xt[p * ld + i]`, `ld` a multiple of 16, zeros past row m). Each weight row's tile runs
    /// over every group of sixteen rows of `x` (a last group of at most eight on half-width
    /// vectors, which cost half on CPUs that split a 512-bit multiply-add in two) while its
    /// weights are in cache.
    #[target_feature(enable = "avx512f,avx512vl,fma")]
    pub(super) unsafe fn broadcast_block(
        xt: &[f32],
        ld: usize,
        w: &[f32],
        m: usize,
        k: usize,
        cols: usize,
        block: &mut [f32],
    ) {
        debug_assert!(ld.is_multiple_of(16) && ld >= m && xt.len() == k * ld);
        debug_assert!(w.len() == cols * k && block.len() == cols * m);
        let mut j = 0;
        while j < cols {
            let take = if j + TILE <= cols { TILE } else { 1 };
            let wj = w.as_ptr().add(j * k);
            for i in (0..m).step_by(16) {
                let lanes = (m - i).min(16);
                let (x, out) = (xt.as_ptr().add(i), block.as_mut_ptr().add(j * m + i));
                match (lanes <= 8, take == TILE) {
                    (true, true) => tile256::<TILE>(x, ld, wj, k, out, m, lanes),
                    (true, false) => tile256::<1>(x, ld, wj, k, out, m, lanes),
                    (false, true) => tile512::<TILE>(x, ld, wj, k, out, m, lanes),
                    (false, false) => tile512::<1>(x, ld, wj, k, out, m, lanes),
                }
            }
            j += take;
        }
    }

    /// One tile: `out[c * m + l] = Σ_p x[p * ld + l] · w[c * k + p]` for `c < J`, `l < lanes`
    /// (at most 16). Every sixteen values of k it asks for the next tile's weights at the same
    /// place, into L2: the tile after this one starts `J * k` values on, and a single query
    /// streams every weight once, so the fetch must run ahead of the arithmetic (14 rows of
    /// twelve layers: 6.3 ms without it, 4.8 ms with; the same distance ahead within the rows
    /// themselves gained less). A fetch past the weights' end is harmless: prefetches never
    /// fault, and the address is computed with wrapping arithmetic.
    #[inline(always)]
    unsafe fn tile512<const J: usize>(
        x: *const f32,
        ld: usize,
        w: *const f32,
        k: usize,
        out: *mut f32,
        m: usize,
        lanes: usize,
    ) {
        let mut acc = [_mm512_setzero_ps(); J];
        for p in 0..k {
            if p % 16 == 0 {
                for c in 0..J {
                    _mm_prefetch::<_MM_HINT_T1>(w.wrapping_add((J + c) * k + p) as *const i8);
                }
            }
            let xv = _mm512_loadu_ps(x.add(p * ld));
            for (c, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(_mm512_set1_ps(*w.add(c * k + p)), xv, *a);
            }
        }
        let mask = ((1u32 << lanes) - 1) as __mmask16;
        for (c, a) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(out.add(c * m), mask, *a);
        }
    }

    /// [`tile512`] for at most eight rows of `x`, on 256-bit vectors.
    #[inline(always)]
    unsafe fn tile256<const J: usize>(
        x: *const f32,
        ld: usize,
        w: *const f32,
        k: usize,
        out: *mut f32,
        m: usize,
        lanes: usize,
    ) {
        let mut acc = [_mm256_setzero_ps(); J];
        for p in 0..k {
            if p % 16 == 0 {
                for c in 0..J {
                    _mm_prefetch::<_MM_HINT_T1>(w.wrapping_add((J + c) * k + p) as *const i8);
                }
            }
            let xv = _mm256_loadu_ps(x.add(p * ld));
            for (c, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(_mm256_set1_ps(*w.add(c * k + p)), xv, *a);
            }
        }
        let mask = ((1u32 << lanes) - 1) as __mmask8;
        for (c, a) in acc.iter().enumerate() {
            _mm256_mask_storeu_ps(out.add(c * m), mask, *a);
        }
    }

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

    /// `bias + x · wᵀ` in f64, the reference every kernel is held to.
    fn reference(x: &[f32], w: &[f32], b: &[f32], m: usize, k: usize) -> Vec<f64> {
        let n = b.len();
        let mut out = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = b[j] as f64
                    + (0..k)
                        .map(|p| x[i * k + p] as f64 * w[j * k + p] as f64)
                        .sum::<f64>();
            }
        }
        out
    }

    /// Row counts on either side of the vector widths (8, 16) and the few-rows limit (64), and
    /// column counts that leave partial tiles (of 16) and partial tasks (of 64).
    const SHAPES: &[(usize, usize, usize)] = &[
        (1, 384, 1152),
        (3, 40, 7),
        (8, 33, 17),
        (9, 64, 130),
        (14, 384, 384),
        (16, 17, 65),
        (17, 100, 31),
        (20, 384, 1536),
        (25, 48, 16),
        (5, 1536, 384),
        (2, 3, 130),
        (64, 96, 80),
    ];

    fn operands(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut rand = values((m * 31 + k * 7 + n) as u32);
        let x: Vec<f32> = (0..m * k).map(|_| rand()).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rand()).collect();
        let b: Vec<f32> = (0..n).map(|_| rand()).collect();
        (x, w, b)
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        for (at, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!((g as f64 - w).abs() < 1e-4, "{what} at {at}: {g} vs {w}");
        }
    }

    /// What this CPU dispatches to, against the product in f64.
    #[test]
    fn matches_the_plain_product_for_every_shape() {
        for &(m, k, n) in SHAPES {
            let (x, w, b) = operands(m, k, n);
            let mut out = vec![f32::NAN; m * n];
            linear_rows(&x, &w, &b, m, k, &mut out);
            assert_close(&out, &reference(&x, &w, &b, m, k), &format!("{m}x{k}x{n}"));
        }
    }

    /// Each x86 kernel this CPU can run, called directly (the dispatch runs only the best one),
    /// against the product in f64. Where /proc/cpuinfo lists the instructions, the kernel must
    /// be detected and run: a detection that failed would otherwise skip it unnoticed.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_x86_kernel_this_cpu_runs_matches_the_plain_product() {
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let listed = |f: &str| flags.split_whitespace().any(|w| w == f);
        let avx512 = x86::has_avx512();
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        if listed("avx512f") && listed("avx512vl") {
            assert!(
                avx512,
                "/proc/cpuinfo lists AVX-512F and VL but they are not detected"
            );
        }
        if listed("avx2") && listed("fma") {
            assert!(
                avx2,
                "/proc/cpuinfo lists AVX2 and FMA but they are not detected"
            );
        }
        for &(m, k, n) in SHAPES {
            let (x, w, b) = operands(m, k, n);
            let want = reference(&x, &w, &b, m, k);
            if avx512 {
                let (xt, ld) = transpose(&x, m, k);
                let mut block = vec![f32::NAN; n * m];
                // SAFETY: AVX-512F, VL and FMA are detected; the shapes are as documented.
                unsafe { x86::broadcast_block(&xt, ld, &w, m, k, n, &mut block) };
                let mut out = vec![0f32; m * n];
                add_bias_transposed(&block, &b, m, &mut out);
                assert_close(&out, &want, &format!("AVX-512 {m}x{k}x{n}"));
            }
            if avx2 {
                let mut block = vec![f32::NAN; n * m];
                // SAFETY: AVX2 and FMA are detected.
                unsafe { x86::block_product(&x, &w, m, k, n, &mut block) };
                let mut out = vec![0f32; m * n];
                add_bias_transposed(&block, &b, m, &mut out);
                assert_close(&out, &want, &format!("AVX2 {m}x{k}x{n}"));
            }
        }
    }
}
