//! The encoder's CPU kernels: projections of a few rows, attention, softmax and GELU.
//!
//! Projections of few rows (`linear_rows`): gemm, under candle's matmul, copies ("packs") the
//! weight matrix into its own layout on every call. With thousands of rows that copy is paid
//! once for a lot of arithmetic; with the twenty rows of a query it is a third of the time
//! (perf: `gemm_common::...::vectorize` 24 % of a search benchmark). Both operands here are read
//! in place: each output is the dot product of a row of `x` with a row of `w`, both contiguous,
//! computed two rows by four outputs at a time so that every load feeds several multiply-adds.
//!
//! Attention (`attention`): one task per text and head whose products stay in the core's cache
//! (see there). Softmax and GELU: branch-free loops the compiler vectorises, compiled for AVX2
//! where the CPU has it.

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

/// Multi-head self-attention straight from the fused query/key/value projection.
///
/// `qkv` is `[texts, length, 3, heads, head_dim]` row-major (the projection's output as it
/// comes); `lengths[t]` is how many of text `t`'s `length` positions are tokens rather than
/// padding. Writes `out` (`[texts, length, heads * head_dim]`): for each token, each head's
/// `softmax(q · kᵀ / √head_dim) · v` over the text's own tokens. Padding rows get zeros.
///
/// Why not candle's matmuls: there, attention is a batched product per text and head (two
/// hundred gemm calls a layer for a batch of eight, each handed to the thread pool), a score
/// tensor of `texts × heads × length²` (25 MB for eight texts of 256 tokens: out of cache, written
/// and read three times), and copies to put q, k and v in order. Here each text is one task whose
/// scores (`length²` for one head at a time, 256 KB) stay in the core's cache, padding is skipped
/// rather than masked, and the only copy is of one head's k (`length × head_dim`).
pub fn attention(
    qkv: &[f32],
    lengths: &[usize],
    length: usize,
    heads: usize,
    head_dim: usize,
    out: &mut [f32],
) {
    let hidden = heads * head_dim;
    let texts = lengths.len();
    assert_eq!(
        qkv.len(),
        texts * length * 3 * hidden,
        "qkv is not [texts, length, 3, hidden]"
    );
    assert_eq!(
        out.len(),
        texts * length * hidden,
        "out is not [texts, length, hidden]"
    );
    assert!(
        lengths.iter().all(|&n| n <= length),
        "a text is longer than the batch"
    );
    if out.is_empty() {
        return;
    }
    let scale = 1.0 / (head_dim as f32).sqrt();
    let stride = 3 * hidden;
    // One task per text, its heads in turn: q and v are read where the projection left them
    // (rows `3 × hidden` apart), only k is copied (transposed, zero-padded to whole 16-column
    // blocks), and each head's context is written straight into its columns of the text's rows.
    out.par_chunks_mut(length * hidden)
        .zip(qkv.par_chunks(length * stride))
        .zip(lengths.par_iter())
        .for_each(|((out, qkv), &n)| {
            out.fill(0.0);
            if n == 0 {
                return;
            }
            let rows = &qkv[..n * stride];
            let n16 = n.div_ceil(16) * 16;
            let mut kt = vec![0f32; head_dim * n16];
            let mut scores = vec![0f32; n * n16];
            for head in 0..heads {
                let at = head * head_dim;
                for (i, row) in rows.chunks_exact(stride).enumerate() {
                    for (c, &x) in row[hidden + at..][..head_dim].iter().enumerate() {
                        kt[c * n16 + i] = x;
                    }
                }
                // scores[i][j] = q_i · k_j (`n × n16`; the padded columns are never read),
                // then softmax(scores / √d) over each text's own tokens.
                product(
                    &rows[at..],
                    stride,
                    &kt,
                    n16,
                    &mut scores,
                    n16,
                    n,
                    head_dim,
                    n16,
                );
                for row in scores.chunks_exact_mut(n16) {
                    softmax_scaled(&mut row[..n], scale);
                }
                let v = &rows[2 * hidden + at..];
                product(
                    &scores,
                    n16,
                    v,
                    stride,
                    &mut out[at..],
                    hidden,
                    n,
                    n,
                    head_dim,
                );
            }
        });
}

/// GELU with erf, `x (1 + erf(x / √2)) / 2`, in place, on both cores, eight lanes wide where the
/// CPU has AVX2: the scalar libm `erf` took an eighth of embedding time.
pub fn gelu(values: &mut [f32]) {
    values.par_chunks_mut(1 << 14).for_each(gelu_here);
}

/// [`gelu`] on this thread: for a block of values another kernel has just written, while
/// they are in this core's cache.
pub fn gelu_here(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { x86::gelu(values) };
        return;
    }
    gelu_portable(values)
}

/// The body of [`gelu`], inlined into each instruction set's copy.
#[inline(always)]
fn gelu_portable(values: &mut [f32]) {
    for x in values {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf(x) for f32 as an odd rational function of x on [-4, 4] (erf is +-1 to f32 precision
/// beyond), with the coefficients of the minimax fit that Eigen and XLA also use. Branch-free,
/// so a slice of them vectorises.
#[inline(always)]
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

/// `c = a · b` for row-major `a` (`m × k`, rows `lda` apart), `b` (`k × n`, rows `ldb` apart)
/// and `c` (`m × n`, rows `ldc` apart): attention's two products, whose sizes (a head is 32 wide, a text a few hundred tokens) are too small for
/// gemm's packing to pay. Register tiles of up to eight rows by 32 columns with AVX-512, six by
/// sixteen with AVX2, where the CPU has them; columns beyond the last whole sixteen are done
/// one at a time.
#[allow(clippy::too_many_arguments)]
fn product(
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    m: usize,
    k: usize,
    n: usize,
) {
    assert!(
        n <= ldc && (m == 0 || c.len() >= (m - 1) * ldc + n),
        "c is not {m} x {n}"
    );
    assert!(
        m == 0 || k == 0 || a.len() >= (m - 1) * lda + k,
        "a is not {m} x {k}"
    );
    assert!(
        k == 0 || n == 0 || b.len() >= (k - 1) * ldb + n,
        "b is not {k} x {n}"
    );
    let whole = n / 16 * 16;
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above); the sizes were checked above.
            unsafe { x86::product512(a, lda, b, ldb, c, ldc, m, k, whole) };
            product_columns(a, lda, b, ldb, c, ldc, m, k, whole..n);
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above); the sizes as above.
            unsafe { x86::product(a, lda, b, ldb, c, ldc, m, k, whole) };
            product_columns(a, lda, b, ldb, c, ldc, m, k, whole..n);
            return;
        }
    }
    product_columns(a, lda, b, ldb, c, ldc, m, k, 0..n);
}

/// The columns `columns` of [`product`], in portable code.
#[allow(clippy::too_many_arguments)]
fn product_columns(
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    m: usize,
    k: usize,
    columns: std::ops::Range<usize>,
) {
    if columns.is_empty() {
        return;
    }
    for i in 0..m {
        let row = &mut c[i * ldc + columns.start..i * ldc + columns.end];
        row.fill(0.0);
        for p in 0..k {
            let x = a[i * lda + p];
            let w = &b[p * ldb + columns.start..p * ldb + columns.end];
            for (y, &w) in row.iter_mut().zip(w) {
                *y += x * w;
            }
        }
    }
}

/// `row = softmax(scale · row)` for `scale > 0` (attention's 1/√d, applied here rather than in a
/// pass of its own), in loops the compiler vectorises (eight partial maxima and sums, since
/// float reductions are otherwise kept in order), sixteen or eight lanes wide where the CPU has
/// AVX-512 or AVX2.
pub fn softmax_scaled(row: &mut [f32], scale: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            unsafe { x86::softmax512(row, scale) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { x86::softmax(row, scale) };
            return;
        }
    }
    softmax_portable(row, scale)
}

/// The body of [`softmax_scaled`], inlined into each instruction set's copy.
#[inline(always)]
fn softmax_portable(row: &mut [f32], scale: f32) {
    let mut max = [f32::MIN; 8];
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
        *x = exp((*x - max) * scale);
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
#[inline(always)]
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

    /// [`super::softmax_scaled`] compiled for AVX2: the same loops, twice as wide as the
    /// baseline.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn softmax(row: &mut [f32], scale: f32) {
        super::softmax_portable(row, scale)
    }

    /// [`super::softmax_scaled`] compiled for AVX-512.
    #[target_feature(enable = "avx512f")]
    pub(super) fn softmax512(row: &mut [f32], scale: f32) {
        super::softmax_portable(row, scale)
    }

    /// [`super::gelu`] compiled for AVX2.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn gelu(values: &mut [f32]) {
        super::gelu_portable(values)
    }

    /// [`super::product`] over the first `n` columns (a multiple of 16), AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn product(
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        m: usize,
        k: usize,
        n: usize,
    ) {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        for j in (0..n).step_by(16) {
            let mut i = 0;
            // SAFETY (each call): rows i..i + R of a and c, columns j..j + 16 of b and c, and
            // 0..k of a's rows exist (checked by the caller).
            let at = |i: usize| (a.add(i * lda), b.add(j), c.add(i * ldc + j));
            while i + 6 <= m {
                let (a, b, c) = at(i);
                tile::<6>(a, lda, b, ldb, c, ldc, k);
                i += 6;
            }
            let (a, b, c) = at(i);
            match m - i {
                5 => tile::<5>(a, lda, b, ldb, c, ldc, k),
                4 => tile::<4>(a, lda, b, ldb, c, ldc, k),
                3 => tile::<3>(a, lda, b, ldb, c, ldc, k),
                2 => tile::<2>(a, lda, b, ldb, c, ldc, k),
                1 => tile::<1>(a, lda, b, ldb, c, ldc, k),
                _ => {}
            }
        }
    }

    /// `R` rows by 16 columns of [`product`]: 2R accumulators, and per step of k two loads of b
    /// and R broadcasts of a for 2R multiply-adds.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const R: usize>(
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        k: usize,
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for p in 0..k {
            // SAFETY: within the rows and columns the caller vouched for.
            let (b0, b1) = (
                _mm256_loadu_ps(b.add(p * ldb)),
                _mm256_loadu_ps(b.add(p * ldb + 8)),
            );
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_ps(*a.add(r * lda + p));
                acc[0] = _mm256_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(x, b1, acc[1]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            _mm256_storeu_ps(c.add(r * ldc), acc[0]);
            _mm256_storeu_ps(c.add(r * ldc + 8), acc[1]);
        }
    }

    /// [`super::product`] over the first `n` columns (a multiple of 16), AVX-512: tiles 32
    /// columns wide (one 16 wide for a remainder), up to eight rows high.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn product512(
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        m: usize,
        k: usize,
        n: usize,
    ) {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let mut j = 0;
        while j < n {
            if j + 32 <= n {
                rows512::<2>(a, lda, b.add(j), ldb, c.add(j), ldc, m, k);
                j += 32;
            } else {
                rows512::<1>(a, lda, b.add(j), ldb, c.add(j), ldc, m, k);
                j += 16;
            }
        }
    }

    /// All `m` rows of one block of `16 C` columns, in tiles of up to eight rows.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows512<const C: usize>(
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        m: usize,
        k: usize,
    ) {
        // SAFETY (each call): as in `product`, for rows i..i + R.
        let mut i = 0;
        while i + 8 <= m {
            tile512::<8, C>(a.add(i * lda), lda, b, ldb, c.add(i * ldc), ldc, k);
            i += 8;
        }
        let (a, c) = (a.add(i * lda), c.add(i * ldc));
        match m - i {
            7 => tile512::<7, C>(a, lda, b, ldb, c, ldc, k),
            6 => tile512::<6, C>(a, lda, b, ldb, c, ldc, k),
            5 => tile512::<5, C>(a, lda, b, ldb, c, ldc, k),
            4 => tile512::<4, C>(a, lda, b, ldb, c, ldc, k),
            3 => tile512::<3, C>(a, lda, b, ldb, c, ldc, k),
            2 => tile512::<2, C>(a, lda, b, ldb, c, ldc, k),
            1 => tile512::<1, C>(a, lda, b, ldb, c, ldc, k),
            _ => {}
        }
    }

    /// `R` rows by `16 C` columns: `R C` accumulators; per step of k, C loads of b and R
    /// broadcasts of a for `R C` multiply-adds.
    #[target_feature(enable = "avx512f")]
    unsafe fn tile512<const R: usize, const C: usize>(
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        k: usize,
    ) {
        let mut acc = [[_mm512_setzero_ps(); C]; R];
        for p in 0..k {
            // SAFETY: within the rows and columns the caller vouched for.
            let mut w = [_mm512_setzero_ps(); C];
            for (l, w) in w.iter_mut().enumerate() {
                *w = _mm512_loadu_ps(b.add(p * ldb + 16 * l));
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*a.add(r * lda + p));
                for l in 0..C {
                    acc[l] = _mm512_fmadd_ps(x, w[l], acc[l]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (l, acc) in acc.iter().enumerate() {
                _mm512_storeu_ps(c.add(r * ldc + 16 * l), *acc);
            }
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
pub(crate) mod tests {
    use super::*;

    /// Reproducible test values in [-0.5, 0.5): a linear congruential generator.
    pub(crate) fn values(mut seed: u32) -> impl FnMut() -> f32 {
        move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        }
    }

    #[test]
    fn exp_is_accurate_and_softmax_sums_to_one() {
        let mut worst = 0.0f64;
        for i in -86_000..=88_000 {
            let x = i as f32 / 1000.0;
            let rel = ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 1e-6, "max relative error {worst}");
        assert_eq!(exp(-1e9), 0.0);
        let plain = [1.0f64, 2.0, 3.0, 50.0, 0.5, -1.0, 2.5, 0.0, 1.5];
        let mut row: Vec<f32> = plain.iter().map(|&x| x as f32).collect();
        softmax_scaled(&mut row, 1.0);
        let total: f64 = plain.iter().map(|x| (x - 50.0).exp()).sum();
        for (got, x) in row.iter().zip(plain) {
            let want = (x - 50.0).exp() / total;
            assert!((*got as f64 - want).abs() < 1e-6, "{row:?}");
        }
    }

    /// Attention against the textbook formula in f64, for a batch whose texts have different
    /// lengths: padding must neither be attended to nor change the tokens' results.
    #[test]
    fn attention_matches_the_formula_and_ignores_padding() {
        let mut values = values(11);
        let mut rand = move || values() * 4.0;
        let (heads, d, length) = (3, 5, 9);
        let hidden = heads * d;
        let lengths = [9, 4, 1];
        let qkv: Vec<f32> = (0..lengths.len() * length * 3 * hidden)
            .map(|_| rand())
            .collect();
        let mut out = vec![f32::NAN; lengths.len() * length * hidden];
        attention(&qkv, &lengths, length, heads, d, &mut out);
        attention(&[], &[], 0, heads, d, &mut []);
        attention(&[], &[0, 0], 0, heads, d, &mut []);
        let at = |t: usize, i: usize, part: usize, head: usize, c: usize| {
            qkv[((t * length + i) * 3 + part) * hidden + head * d + c] as f64
        };
        for (t, &n) in lengths.iter().enumerate() {
            for head in 0..heads {
                for i in 0..length {
                    let got = |c: usize| out[(t * length + i) * hidden + head * d + c] as f64;
                    if i >= n {
                        assert!((0..d).all(|c| got(c) == 0.0), "padding row {t}/{i}");
                        continue;
                    }
                    let scores: Vec<f64> = (0..n)
                        .map(|j| {
                            (0..d)
                                .map(|c| at(t, i, 0, head, c) * at(t, j, 1, head, c))
                                .sum::<f64>()
                                / (d as f64).sqrt()
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                    for c in 0..d {
                        let want: f64 = (0..n)
                            .map(|j| (scores[j] - max).exp() / total * at(t, j, 2, head, c))
                            .sum();
                        assert!(
                            (got(c) - want).abs() < 1e-5,
                            "{t}/{head}/{i}/{c}: {} vs {want}",
                            got(c)
                        );
                    }
                }
            }
        }
    }

    /// Every instruction set's tiles against the portable loop, on shapes that leave partial
    /// row tiles and columns beyond the last whole sixteen, with rows further apart than they
    /// are long (as attention's padded buffers are).
    #[test]
    fn each_instruction_set_gives_the_portable_product() {
        let mut rand = values(3);
        for &(m, k, n) in &[(1, 5, 16), (13, 31, 80), (8, 64, 37), (23, 7, 48)] {
            let (lda, ldb, ldc) = (k + 3, n + 5, n + 2);
            let a: Vec<f32> = (0..m * lda).map(|_| rand()).collect();
            let b: Vec<f32> = (0..k * ldb).map(|_| rand()).collect();
            let mut want = vec![0f32; m * ldc];
            product_columns(&a, lda, &b, ldb, &mut want, ldc, m, k, 0..n);
            let mut got = vec![0f32; m * ldc];
            product(&a, lda, &b, ldb, &mut got, ldc, m, k, n);
            let close = |got: &[f32], what: &str| {
                for i in 0..m {
                    for j in 0..n {
                        let (g, w) = (got[i * ldc + j], want[i * ldc + j]);
                        assert!(
                            (g - w).abs() < 1e-5,
                            "{what} {m}x{k}x{n} ({i},{j}): {g} vs {w}"
                        );
                    }
                }
            };
            close(&got, "dispatched");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                let mut got = want.clone();
                // SAFETY: the CPU has AVX2 and FMA; the shapes are those product checks.
                unsafe { x86::product(&a, lda, &b, ldb, &mut got, ldc, m, k, n / 16 * 16) };
                close(&got, "avx2");
            }
        }
    }

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
