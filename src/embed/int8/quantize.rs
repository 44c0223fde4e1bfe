//! The activations' side of the int8 product: each row quantised on the fly, asymmetric
//! (`x ≈ s_x · (q_x - z)`, `q_x` in 0..=255, the row's minimum and maximum spanning the range).
//! The portable quantiser is here; the AVX-512 and AVX2 ones sit beside their kernels and share
//! its scale, zero point and rounding ([`scale_and_zero`], [`to_byte`]).

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Activations quantised per row: `values` is `m × k4` (zero-padded), with each row's scale and
/// zero point.
pub(super) struct Rows {
    pub(super) values: Vec<u8>,
    pub(super) scales: Vec<f32>,
    pub(super) zeros: Vec<i32>,
}

/// Quantises the `m` rows of `x` (`k` values each) into rows of `k4` bytes, with the fastest
/// quantiser this CPU runs (all give the same bytes).
pub(super) fn quantize_rows(x: &[f32], m: usize, k: usize, k4: usize) -> Rows {
    // Not zeroed first: every byte is written below (the quantiser's k, then the padding up to
    // k4), and calloc's memset of megabytes a layer took 3 % of int8 embedding time in perf.
    let mut values: Vec<u8> = Vec::with_capacity(m * k4);
    let mut scales = vec![0f32; m];
    let mut zeros = vec![0i32; m];
    values.spare_capacity_mut()[..m * k4]
        .par_chunks_mut(k4.max(1))
        .zip(scales.par_iter_mut().zip(zeros.par_iter_mut()))
        .zip(x.par_chunks(k.max(1)))
        .for_each(|((q, (scale, zero)), row)| {
            let (q, padding) = q.split_at_mut(k);
            padding.fill(MaybeUninit::new(0));
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                (*scale, *zero) = unsafe { super::avx512::quantize_row(row, q) };
                return;
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                (*scale, *zero) = unsafe { super::avx2::quantize_row(row, q) };
                return;
            }
            (*scale, *zero) = quantize_row(row, q);
        });
    // SAFETY: the loop above wrote all m * k4 bytes: each row's k by its quantiser, which writes
    // one byte per value, and the rest of its k4 as padding.
    unsafe { values.set_len(m * k4) };
    Rows {
        values,
        scales,
        zeros,
    }
}

/// Quantises one row into `q` (`row.len()` bytes used); returns its scale and zero point. In
/// loops the compiler vectorises: sixteen partial minima and maxima, and rounding by adding one
/// half before the (truncating, saturating) conversion, which is exact for values that are not
/// negative, instead of libm's scalar `roundf` (a tenth of int8 embedding time in perf).
#[inline(always)]
pub(super) fn quantize_row(row: &[f32], q: &mut [MaybeUninit<u8>]) -> (f32, i32) {
    let (mut lo, mut hi) = ([0f32; 16], [0f32; 16]);
    let mut chunks = row.chunks_exact(16);
    for c in &mut chunks {
        for l in 0..16 {
            lo[l] = if c[l] < lo[l] { c[l] } else { lo[l] };
            hi[l] = if c[l] > hi[l] { c[l] } else { hi[l] };
        }
    }
    let (mut lo, mut hi) = (
        lo.iter().fold(0f32, |a, &b| a.min(b)),
        hi.iter().fold(0f32, |a, &b| a.max(b)),
    );
    for &v in chunks.remainder() {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let (scale, zero, inv) = scale_and_zero(lo, hi);
    for (q, &v) in q.iter_mut().zip(row) {
        q.write(to_byte(v, inv, zero));
    }
    (scale, zero as i32)
}

/// A row's scale, zero point (as a float) and the scale's inverse, from its least and greatest
/// values (each taken with 0, so that 0 is exactly representable): one definition for every
/// quantiser, so that they agree byte for byte.
#[inline(always)]
pub(super) fn scale_and_zero(lo: f32, hi: f32) -> (f32, f32, f32) {
    let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let zero = (-lo / scale + 0.5).clamp(0.0, 255.0) as u8 as f32;
    (scale, zero, 1.0 / scale)
}

/// One value's byte: rounded by adding one half before the truncating conversion (exact, the
/// value being clamped to 0..=255 first; a NaN becomes 0).
#[inline(always)]
pub(super) fn to_byte(v: f32, inv: f32, zero: f32) -> u8 {
    ((v * inv + zero).clamp(0.0, 255.0) + 0.5) as u8
}
