//! Attention's two products in bf16, for the int8 encoder on CPUs with AVX512-BF16 (AMD Zen 4,
//! Intel Sapphire Rapids and later).
//!
//! `vdpbf16ps` multiplies sixteen pairs of bf16 values and adds each pair's two products into
//! one of sixteen f32 sums: twice the multiply-adds of an f32 FMA of the same width. The int8
//! encoder's projections already round their inputs to 8 bits, so attention's q, k, v and
//! probabilities rounded to bf16 (8 bits of mantissa, products and sums in f32) cost it little:
//! SciFact hybrid nDCG@10 0.7304 in int8 against 0.7306 in f32 (docs/PERFORMANCE.md). The f32
//! encoder keeps f32 attention.
//!
//! Operands are packed as 32-bit words, each a pair of bf16 values along the products' inner
//! dimension (the lower half the even element), which is what `vdpbf16ps` reads: a row's words
//! broadcast one at a time, and the other operand's words sixteen columns to a register.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether this CPU has the instructions (AVX-512 F and BW, and AVX512-BF16).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether attention runs in bf16: asked for (the int8 encoder asks), heads a multiple of
/// 16 wide (the products' tiles), and the CPU has the instructions (`cpu`: [`available`]).
/// Pure, so that the choice is tested for every case on any machine.
pub fn chosen(asked: bool, head_dim: usize, cpu: bool) -> bool {
    asked && cpu && head_dim > 0 && head_dim.is_multiple_of(16)
}

/// `x` rounded to bf16, to nearest with ties to even, as `vcvtneps2bf16` rounds (NaN stays a
/// quiet NaN): the tests' reference.
#[cfg(test)]
fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

/// The f32 value of a bf16.
#[cfg(test)]
fn from_bf16(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// Attention for one text in bf16, all its heads: the same arithmetic as the f32 path in
/// [`super::attention`] (`softmax(q · kᵀ · scale) · v` over the text's `n` tokens, head by
/// head), with q, k, v and the probabilities rounded to bf16. `rows` are the text's `n` rows
/// of the fused projection (`3 hidden` values each: q, k, v, each `heads × head_dim`); each
/// head's context goes to its columns of `out` (`n` rows of `hidden`). `head_dim` must be a
/// multiple of 16.
///
/// The text's rows are read once, in order, and packed for all heads (q and v as rows of
/// pairs, k transposed): reading one head's columns from each row, head after head, as the
/// f32 path does, waited on memory for most of its packing time in perf.
///
/// # Safety
/// The CPU must have the instructions ([`available`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub unsafe fn text(
    rows: &[f32],
    n: usize,
    heads: usize,
    head_dim: usize,
    scale: f32,
    out: &mut [f32],
) {
    let hidden = heads * head_dim;
    let stride = 3 * hidden;
    assert!(
        head_dim.is_multiple_of(16) && n > 0,
        "bf16 attention needs heads a multiple of 16 wide"
    );
    assert!(rows.len() >= n * stride && out.len() >= n * hidden);
    WORK.with_borrow_mut(|work| {
        // SAFETY: as this function's (the caller vouched for the CPU).
        unsafe { text_in(rows, n, heads, head_dim, scale, out, work) }
    })
}

/// Buffers of a text's attention, kept by each thread from text to text and layer to layer:
/// allocating and zeroing them for every text took 2 % of int8 embedding time in perf.
#[derive(Default)]
struct Work {
    q: Vec<u32>,
    k: Vec<u32>,
    v: Vec<u32>,
    p: Vec<u32>,
    scores: Vec<f32>,
    k_row: Vec<u32>,
}

thread_local! {
    static WORK: std::cell::RefCell<Work> = std::cell::RefCell::new(Work::default());
}

/// The first `len` values of `v`, grown where it is shorter. What an earlier text left there
/// stays: the caller overwrites what it reads.
fn first<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::default());
    }
    &mut v[..len]
}

/// [`text`] in `work`'s buffers.
///
/// # Safety
/// As [`text`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn text_in(
    rows: &[f32],
    n: usize,
    heads: usize,
    head_dim: usize,
    scale: f32,
    out: &mut [f32],
    work: &mut Work,
) {
    let hidden = heads * head_dim;
    let stride = 3 * hidden;
    let n16 = n.div_ceil(16) * 16;
    let (pairs, all_pairs, steps) = (head_dim / 2, hidden / 2, n16 / 2);
    // q: n rows of all heads' pairs; k: a row per pair (all heads'), a column per token,
    // zero past the last; v: a row per pair of tokens (their values interleaved, a zero
    // token past the last), all heads' columns.
    let q = first(&mut work.q, n * all_pairs);
    let k = first(&mut work.k, all_pairs * n16);
    let v = first(&mut work.v, steps * hidden);
    let k_row = first(&mut work.k_row, all_pairs);
    // k's columns past the last token must be zeros (their products are computed, then never
    // read); every other value below is written before it is read.
    for row in k.chunks_exact_mut(n16) {
        row[n..].fill(0);
    }
    for i in 0..n {
        let row = &rows[i * stride..(i + 1) * stride];
        pack_row(&row[..hidden], &mut q[i * all_pairs..(i + 1) * all_pairs]);
        pack_row(&row[hidden..2 * hidden], k_row);
        for (p, &w) in k_row.iter().enumerate() {
            k[p * n16 + i] = w;
        }
    }
    for t in 0..steps {
        let values = |i: usize| (i < n).then(|| &rows[i * stride + 2 * hidden..(i + 1) * stride]);
        interleave(
            values(2 * t),
            values(2 * t + 1),
            &mut v[t * hidden..(t + 1) * hidden],
        );
    }
    let scores = first(&mut work.scores, n * n16);
    let p = first(&mut work.p, n * steps);
    for head in 0..heads {
        let (at, first) = (head * head_dim, head * pairs);
        // Scores (`n × n16`; the padded columns hold zeros' products and are never read),
        // the softmax over each row's own tokens in f32, then the probabilities as pairs,
        // zero past the last token.
        product(
            &q[first..],
            all_pairs,
            &k[first * n16..],
            n16,
            scores.as_mut_ptr(),
            n16,
            n,
            pairs,
            n16,
        );
        for i in 0..n {
            let row = &mut scores[i * n16..(i + 1) * n16];
            let sum = super::exp_shifted(&mut row[..n], scale);
            pack_probabilities(&row[..n], 1.0 / sum, &mut p[i * steps..(i + 1) * steps]);
        }
        product(
            p,
            steps,
            &v[at..],
            hidden,
            out.as_mut_ptr().add(at),
            hidden,
            n,
            steps,
            head_dim,
        );
    }
}

/// A row of f32 values (a multiple of 16) as pairs of bf16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
fn pack_row(values: &[f32], words: &mut [u32]) {
    assert!(values.len().is_multiple_of(16) && words.len() * 2 == values.len());
    for (c, w) in values.chunks_exact(16).zip(words.chunks_exact_mut(8)) {
        // SAFETY: c holds 16 values and w 8 words (32 bytes).
        unsafe {
            let h = _mm512_cvtneps_pbh(_mm512_loadu_ps(c.as_ptr()));
            _mm256_storeu_si256(w.as_mut_ptr() as *mut __m256i, bits256(h));
        }
    }
}

/// A row of probabilities, `values` times `inv` (softmax's division, done here rather than in
/// a pass of its own), as pairs of bf16, zero past its last value: `words` is the row's
/// `n16 / 2` words, whole groups of eight.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
fn pack_probabilities(values: &[f32], inv: f32, words: &mut [u32]) {
    assert!(words.len().is_multiple_of(8) && words.len() * 2 >= values.len());
    for (j, w) in (0..words.len() * 2)
        .step_by(16)
        .zip(words.chunks_exact_mut(8))
    {
        let left = values.len().saturating_sub(j).min(16);
        let mask: __mmask16 = if left == 16 { 0xffff } else { (1 << left) - 1 };
        // SAFETY: the mask reads only values j..j + left (none past the end); w holds 8
        // words (32 bytes).
        unsafe {
            let x = _mm512_maskz_loadu_ps(mask, values.as_ptr().add(j.min(values.len())));
            let x = _mm512_mul_ps(x, _mm512_set1_ps(inv));
            let h = bits256(_mm512_cvtneps_pbh(x));
            _mm256_storeu_si256(w.as_mut_ptr() as *mut __m256i, h);
        }
    }
}

/// Two rows of values (`None`: zeros) as one row of pairs: word `d` holds `a[d]` (lower half)
/// and `b[d]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
fn interleave(a: Option<&[f32]>, b: Option<&[f32]>, words: &mut [u32]) {
    for (c, w) in words.chunks_exact_mut(16).enumerate() {
        let pair = _mm512_or_si512(
            widened(a, c * 16),
            _mm512_slli_epi32(widened(b, c * 16), 16),
        );
        // SAFETY: w holds 16 words.
        unsafe { _mm512_storeu_si512(w.as_mut_ptr() as *mut _, pair) };
    }
}

/// Values `at..at + 16` of a row (`None`: zeros) as bf16, each in the lower half of a word.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
fn widened(row: Option<&[f32]>, at: usize) -> __m512i {
    let Some(row) = row else {
        return _mm512_setzero_si512();
    };
    let src = &row[at..at + 16];
    // SAFETY: src holds 16 values.
    let h = bits256(_mm512_cvtneps_pbh(unsafe { _mm512_loadu_ps(src.as_ptr()) }));
    _mm512_cvtepu16_epi32(h)
}

/// `c = a · b` on pairs: `a` is `m × k` words (rows `lda` apart), `b` is `k × n` words (rows
/// `ldb` apart), `c` is `m × n` f32 (rows `ldc` apart); `n` a multiple of 16 and `k` at least 1.
///
/// # Safety
/// The CPU has the instructions; `c` holds `m` rows of `n` values `ldc` apart.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn product(
    a: &[u32],
    lda: usize,
    b: &[u32],
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    m: usize,
    k: usize,
    n: usize,
) {
    assert!(n.is_multiple_of(16) && k > 0 && n <= ldb);
    assert!(m == 0 || a.len() >= (m - 1) * lda + k);
    assert!(b.len() >= (k - 1) * ldb + n);
    let (a, b) = (a.as_ptr(), b.as_ptr());
    let mut j = 0;
    while j < n {
        // SAFETY (each call): columns j..j + 16 C of b and c, rows 0..m of a and c.
        if j + 32 <= n {
            rows::<2>(a, lda, b.add(j), ldb, c.add(j), ldc, m, k);
            j += 32;
        } else {
            rows::<1>(a, lda, b.add(j), ldb, c.add(j), ldc, m, k);
            j += 16;
        }
    }
}

/// All `m` rows of one block of `16 C` columns, in tiles of up to eight rows.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn rows<const C: usize>(
    a: *const u32,
    lda: usize,
    b: *const u32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    m: usize,
    k: usize,
) {
    let mut i = 0;
    while i + 8 <= m {
        tile::<8, C>(a.add(i * lda), lda, b, ldb, c.add(i * ldc), ldc, k);
        i += 8;
    }
    let (a, c) = (a.add(i * lda), c.add(i * ldc));
    match m - i {
        7 => tile::<7, C>(a, lda, b, ldb, c, ldc, k),
        6 => tile::<6, C>(a, lda, b, ldb, c, ldc, k),
        5 => tile::<5, C>(a, lda, b, ldb, c, ldc, k),
        4 => tile::<4, C>(a, lda, b, ldb, c, ldc, k),
        3 => tile::<3, C>(a, lda, b, ldb, c, ldc, k),
        2 => tile::<2, C>(a, lda, b, ldb, c, ldc, k),
        1 => tile::<1, C>(a, lda, b, ldb, c, ldc, k),
        _ => {}
    }
}

/// `R` rows by `16 C` columns: per word of the inner dimension, C loads of b, R broadcasts
/// of a's word and `R C` `vdpbf16ps`. The loop runs once before it tests (k is at least 1),
/// so that the accumulators stay in registers (see `int8::avx512::tile`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn tile<const R: usize, const C: usize>(
    a: *const u32,
    lda: usize,
    b: *const u32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    k: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    let mut p = 0;
    loop {
        let mut w: [__m512bh; C] = [pairs512(_mm512_setzero_si512()); C];
        for (l, w) in w.iter_mut().enumerate() {
            *w = pairs512(_mm512_loadu_si512(b.add(p * ldb + 16 * l) as *const _));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = pairs512(_mm512_set1_epi32(*a.add(r * lda + p) as i32));
            for l in 0..C {
                acc[l] = _mm512_dpbf16_ps(acc[l], x, w[l]);
            }
        }
        p += 1;
        if p == k {
            break;
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (l, acc) in acc.iter().enumerate() {
            _mm512_storeu_ps(c.add(r * ldc + 16 * l), *acc);
        }
    }
}

/// Sixteen bf16 values as the integer vector of their bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn bits256(h: __m256bh) -> __m256i {
    // SAFETY: both are 256 bits of plain data.
    unsafe { std::mem::transmute::<__m256bh, __m256i>(h) }
}

/// Sixteen words of bf16 pairs as the vector `vdpbf16ps` reads.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn pairs512(x: __m512i) -> __m512bh {
    // SAFETY: both are 512 bits of plain data.
    unsafe { std::mem::transmute::<__m512i, __m512bh>(x) }
}

#[cfg(test)]
mod choice {
    /// bf16 only where the int8 encoder asks, the CPU can, and the heads fit the tiles
    /// (MedEmbed-small's and the stand-in's heads are 32 wide, BERT-base's 64).
    #[test]
    fn bf16_is_chosen_only_where_asked_possible_and_fitting() {
        for asked in [false, true] {
            for cpu in [false, true] {
                for (head_dim, fits) in
                    [(32, true), (64, true), (16, true), (24, false), (0, false)]
                {
                    assert_eq!(
                        super::chosen(asked, head_dim, cpu),
                        asked && cpu && fits,
                        "asked {asked}, cpu {cpu}, heads of {head_dim}"
                    );
                }
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::embed::kernels::tests::values;

    /// The rounding is to nearest, ties to even, on ties, either side of them, and specials.
    #[test]
    fn rounds_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3f80);
        // 1 + 2^-8 is half way between 1 and 1 + 2^-7: ties go to the even (1.0).
        assert_eq!(to_bf16(1.0 + 1.0 / 256.0), 0x3f80);
        assert_eq!(to_bf16((1.0f32 + 1.0 / 256.0).next_up()), 0x3f81);
        // 1 + 3 · 2^-8 is half way between 0x3f81 and 0x3f82: to the even, 0x3f82.
        assert_eq!(to_bf16(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(to_bf16(-2.5), 0xc020);
        assert_eq!(from_bf16(to_bf16(f32::INFINITY)), f32::INFINITY);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
    }

    /// Whether the tests of the instructions run here. Where /proc/cpuinfo lists them, they
    /// must be detected: a detection that failed would skip these tests and lose the fast
    /// attention, unnoticed.
    fn runnable() -> bool {
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let listed = ["avx512f", "avx512bw", "avx512_bf16"]
            .iter()
            .all(|f| flags.split_whitespace().any(|w| w == *f));
        assert!(
            !listed || available(),
            "/proc/cpuinfo lists AVX-512 F, BW and BF16 but they are not detected"
        );
        if !available() {
            eprintln!("skipped: this CPU has no AVX512-BF16");
        }
        available()
    }

    /// The instruction's rounding is the portable one's, on many values.
    #[test]
    fn packing_rounds_as_the_portable_code() {
        if !runnable() {
            return;
        }
        let mut rand = values(21);
        let row: Vec<f32> = (0..64).map(|_| rand() * 1000.0).collect();
        let mut words = vec![0u32; 32];
        // SAFETY: the CPU has the instructions (checked above).
        unsafe { pack_row(&row, &mut words) };
        for (p, w) in words.iter().enumerate() {
            assert_eq!(*w as u16, to_bf16(row[2 * p]), "value {}", 2 * p);
            assert_eq!(
                (*w >> 16) as u16,
                to_bf16(row[2 * p + 1]),
                "value {}",
                2 * p + 1
            );
        }
    }

    /// A text's heads in bf16 against the formula in f64 on the same bf16-rounded q, k and v,
    /// for lengths that fill whole tiles and leave remainders, and heads of 16, 32 and 64, each
    /// text in the buffers the one before left behind: the only difference left is the
    /// probabilities' rounding to bf16 and f32 sums.
    #[test]
    fn a_head_matches_the_formula_on_rounded_inputs() {
        if !runnable() {
            return;
        }
        let mut rand = values(23);
        // The last, shorter text reuses the buffers the longer ones left in this thread.
        for &(n, head_dim, heads) in &[
            (1, 16, 2),
            (9, 32, 3),
            (33, 64, 1),
            (200, 32, 2),
            (5, 16, 3),
        ] {
            let hidden = head_dim * heads;
            let stride = 3 * hidden;
            let rows: Vec<f32> = (0..n * stride).map(|_| rand() * 6.0).collect();
            let scale = 1.0 / (head_dim as f32).sqrt();
            let mut out = vec![f32::NAN; n * hidden];
            // SAFETY: the CPU has the instructions (checked above).
            unsafe { text(&rows, n, heads, head_dim, scale, &mut out) };
            let r = |x: f32| from_bf16(to_bf16(x)) as f64;
            for head in 0..heads {
                let at = head * head_dim;
                for i in 0..n {
                    let q = |c: usize| r(rows[i * stride + at + c]);
                    let scores: Vec<f64> = (0..n)
                        .map(|j| {
                            (0..head_dim)
                                .map(|c| q(c) * r(rows[j * stride + hidden + at + c]))
                                .sum::<f64>()
                                * scale as f64
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f64 = e.iter().sum();
                    for c in 0..head_dim {
                        let want: f64 = (0..n)
                            .map(|j| e[j] / total * r(rows[j * stride + 2 * hidden + at + c]))
                            .sum();
                        let got = out[i * hidden + at + c] as f64;
                        // Probabilities in bf16 (2^-9 relative) times |v| up to 3.
                        assert!(
                            (got - want).abs() <= 2.0 * 3.0 / 512.0 + 1e-4,
                            "n {n}, head {head}, row {i}, column {c}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
