//! The encoder's element-wise functions: GELU (with its erf) and softmax (with its exp), in
//! branch-free loops the compiler vectorises, compiled for AVX2 and AVX-512 where the CPU has
//! them.

use rayon::prelude::*;

/// GELU with erf, `x (1 + erf(x / √2)) / 2`, in place, on both cores, eight lanes wide where the
/// CPU has AVX2: the scalar libm `erf` took an eighth of embedding time.
pub fn gelu(values: &mut [f32]) {
    values.par_chunks_mut(1 << 14).for_each(gelu_here);
}

/// [`gelu`] on this thread: for a block of values another kernel has just written, while
/// they are in this core's cache.
pub fn gelu_here(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        unsafe { x86::gelu512(values) };
        return;
    }
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

/// The body of [`softmax_scaled`], inlined into each instruction set's copy: the shifted
/// exponentials and their sum ([`exp_shifted`]), then the division.
#[inline(always)]
fn softmax_portable(row: &mut [f32], scale: f32) {
    let inv = 1.0 / exp_shifted_portable::<8>(row, scale);
    for x in row.iter_mut() {
        *x *= inv;
    }
}

/// `row = e^(scale · (row - max(row)))` for `scale > 0`, returning the sum of the new values:
/// softmax but for the division by that sum, which the caller folds into the pass it makes
/// over the row next (bf16 attention packs the probabilities). The exp and the sum are one
/// pass, sixteen lanes wide where the CPU has AVX-512.
pub fn exp_shifted(row: &mut [f32], scale: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { x86::exp_shifted512(row, scale) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { x86::exp_shifted(row, scale) };
        }
    }
    exp_shifted_portable::<8>(row, scale)
}

/// The body of [`exp_shifted`], `L` lanes wide, inlined into each instruction set's copy.
#[inline(always)]
fn exp_shifted_portable<const L: usize>(row: &mut [f32], scale: f32) -> f32 {
    let mut max = [f32::MIN; L];
    let mut chunks = row.chunks_exact(L);
    for c in &mut chunks {
        for j in 0..L {
            max[j] = max[j].max(c[j]);
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .fold(max.iter().copied().fold(f32::MIN, f32::max), |m, &x| {
            m.max(x)
        });
    let mut sum = [0f32; L];
    let mut chunks = row.chunks_exact_mut(L);
    for c in &mut chunks {
        for j in 0..L {
            c[j] = exp((c[j] - max) * scale);
            sum[j] += c[j];
        }
    }
    let mut rest = 0.0;
    for x in chunks.into_remainder() {
        *x = exp((*x - max) * scale);
        rest += *x;
    }
    sum.iter().sum::<f32>() + rest
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

#[cfg(target_arch = "x86_64")]
mod x86 {
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

    use std::arch::x86_64::*;

    /// [`super::exp_shifted`] in AVX-512 intrinsics: the portable loops' arithmetic (the same
    /// polynomial and rounding trick as [`super::exp`]) with fused multiply-adds, and the
    /// row's last partial sixteen under a mask rather than in a scalar loop (a row of 218
    /// tokens spent a fifth of its time in the scalar tail in perf).
    #[target_feature(enable = "avx512f")]
    pub(super) fn exp_shifted512(row: &mut [f32], scale: f32) -> f32 {
        let n = row.len();
        let mask = |j: usize| -> __mmask16 {
            let left = (n - j).min(16);
            if left == 16 {
                0xffff
            } else {
                (1 << left) - 1
            }
        };
        let ptr = row.as_mut_ptr();
        let mut max = _mm512_set1_ps(f32::MIN);
        for j in (0..n).step_by(16) {
            // SAFETY: the mask reads only values j..n.
            let x = unsafe { _mm512_mask_loadu_ps(max, mask(j), ptr.add(j)) };
            max = _mm512_max_ps(max, x);
        }
        let max = _mm512_set1_ps(_mm512_reduce_max_ps(max));
        let scale = _mm512_set1_ps(scale);
        let mut sum = _mm512_setzero_ps();
        for j in (0..n).step_by(16) {
            let m = mask(j);
            // SAFETY: the mask reads and writes only values j..n.
            unsafe {
                let x = _mm512_maskz_loadu_ps(m, ptr.add(j));
                let y = exp16(_mm512_mul_ps(_mm512_sub_ps(x, max), scale));
                _mm512_mask_storeu_ps(ptr.add(j), m, y);
                sum = _mm512_mask_add_ps(sum, m, sum, y);
            }
        }
        _mm512_reduce_add_ps(sum)
    }

    /// [`super::exp`] on sixteen lanes, with fused multiply-adds.
    #[target_feature(enable = "avx512f")]
    fn exp16(x: __m512) -> __m512 {
        let x = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_set1_ps(-87.0)),
            _mm512_set1_ps(88.0),
        );
        let round = _mm512_set1_ps(12_582_912.0);
        let shifted = _mm512_fmadd_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E), round);
        let n = _mm512_sub_ps(shifted, round);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_145_75), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428_606_8e-6), r);
        let mut p = _mm512_set1_ps(1.0 / 720.0);
        for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        let bits = _mm512_slli_epi32(
            _mm512_sub_epi32(
                _mm512_castps_si512(shifted),
                _mm512_set1_epi32(0x4B40_0000 - 127),
            ),
            23,
        );
        let y = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
        // Masked scores (-87 and below) give exactly 0, as in `exp`.
        let low = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0), _CMP_LE_OQ);
        _mm512_mask_mov_ps(y, low, _mm512_setzero_ps())
    }

    /// [`super::exp_shifted`] compiled for AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn exp_shifted(row: &mut [f32], scale: f32) -> f32 {
        super::exp_shifted_portable::<8>(row, scale)
    }

    /// [`super::gelu`] compiled for AVX-512: sixteen lanes, the same arithmetic lane by lane.
    #[target_feature(enable = "avx512f")]
    pub(super) fn gelu512(values: &mut [f32]) {
        super::gelu_portable(values)
    }

    /// [`super::gelu`] compiled for AVX2.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn gelu(values: &mut [f32]) {
        super::gelu_portable(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The exp and the sum in one pass give softmax's values once divided by the sum, on rows
    /// with and without a remainder past the lanes; the instruction sets' copies agree.
    #[test]
    fn exp_shifted_is_softmax_before_the_division() {
        let mut rand = crate::embed::kernels::tests::values(31);
        for len in [1, 7, 16, 33, 218] {
            let row: Vec<f32> = (0..len).map(|_| rand() * 20.0).collect();
            let mut want = row.clone();
            softmax_scaled(&mut want, 0.3);
            let mut got = row.clone();
            let sum = exp_shifted(&mut got, 0.3);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g / sum - w).abs() <= 1e-6,
                    "length {len}: {} vs {w}",
                    g / sum
                );
            }
            // The instruction sets' copies differ only by fused multiply-adds' rounding.
            let mut portable = row.clone();
            let portable_sum = exp_shifted_portable::<8>(&mut portable, 0.3);
            for (p, g) in portable.iter().zip(&got) {
                assert!(
                    (p - g).abs() <= 1e-6 * p.abs().max(1e-30),
                    "length {len}: {p} vs {g}"
                );
            }
            assert!((portable_sum - sum).abs() <= 1e-5 * sum, "length {len}");
            // Masked scores give exactly 0.
            let mut masked = vec![0.0, -1e9, 1.0, -1e9];
            exp_shifted(&mut masked, 1.0);
            assert_eq!((masked[1], masked[3]), (0.0, 0.0));
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
