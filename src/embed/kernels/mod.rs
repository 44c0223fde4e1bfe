//! The encoder's CPU kernels: projections of a few rows (`rows`), attention, softmax and GELU
//! (`activation`).
//!
//! Attention (`attention`): one task per text and head whose products stay in the core's cache
//! (see there). Softmax and GELU: branch-free loops the compiler vectorises, compiled for AVX2
//! where the CPU has it.

use rayon::prelude::*;
use std::mem::MaybeUninit;

mod activation;
pub mod bf16;
mod rows;
pub use activation::{exp_shifted, gelu, gelu_here, softmax_scaled};
pub use rows::linear_rows;

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
/// (For tests and benches, into a buffer they keep; the encoder uses [`attention_new`].)
#[cfg(any(test, feature = "fixtures"))]
pub fn attention(
    qkv: &[f32],
    lengths: &[usize],
    length: usize,
    heads: usize,
    head_dim: usize,
    out: &mut [f32],
) {
    // SAFETY: `MaybeUninit<f32>` has `f32`'s layout; `attend` only writes.
    let out = unsafe { &mut *(out as *mut [f32] as *mut [MaybeUninit<f32>]) };
    attend(qkv, lengths, length, heads, head_dim, false, out)
}

/// Attention (as `attention` describes it) into a new vector, which is not zeroed first:
/// each text zeroes its own rows as it starts, in its own thread's cache; zeroing the whole
/// output before was a second pass over it. With `bf16`, where the CPU has AVX512-BF16 and
/// heads are a multiple of 16 wide, the two products run in bf16 ([`bf16`]; the int8
/// encoder's choice), else in f32.
pub fn attention_new(
    qkv: &[f32],
    lengths: &[usize],
    length: usize,
    heads: usize,
    head_dim: usize,
    bf16: bool,
) -> Vec<f32> {
    let len = lengths.len() * length * heads * head_dim;
    let mut out = Vec::with_capacity(len);
    attend(
        qkv,
        lengths,
        length,
        heads,
        head_dim,
        bf16,
        &mut out.spare_capacity_mut()[..len],
    );
    // SAFETY: `attend` writes every value (each text's chunk is filled before its heads
    // write into it), and `len` is within the capacity.
    unsafe { out.set_len(len) };
    out
}

/// [`attention`]'s work: every value of `out` is written.
fn attend(
    qkv: &[f32],
    lengths: &[usize],
    length: usize,
    heads: usize,
    head_dim: usize,
    bf16: bool,
    out: &mut [MaybeUninit<f32>],
) {
    let hidden = heads * head_dim;
    let bf16 = bf16::chosen(bf16, head_dim, bf16::available());
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
            for v in out.iter_mut() {
                v.write(0.0);
            }
            // SAFETY: every value was just written.
            let out = unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) };
            if n == 0 {
                return;
            }
            let rows = &qkv[..n * stride];
            #[cfg(target_arch = "x86_64")]
            if bf16 {
                // SAFETY: the CPU has the instructions (`bf16::available`, above).
                unsafe { bf16::text(rows, n, heads, head_dim, scale, out) };
                return;
            }
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

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
}
