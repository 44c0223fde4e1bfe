//! The encoder's element-wise functions: GELU (with its erf) and softmax (with its exp), in
//! branch-free loops the compiler vectorises, compiled for AVX2 (and AVX-512 for softmax) where
//! the CPU has them.

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
