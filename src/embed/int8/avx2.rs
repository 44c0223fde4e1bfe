//! The AVX2 kernel, for CPUs without VNNI's byte dot product: `vpmaddubsw` multiplies 32 pairs
//! of bytes and adds neighbours into sixteen 16-bit sums, `vpmaddwd` adds those pairs into
//! eight 32-bit sums, so four instructions do what one `vpdpbusd` does on half the width. The
//! 16-bit step saturates at 32,767, which is why this kernel's weights are quantised to at most
//! 63 ([`super::Kernel::weight_max`]): two products of 255 and 63 fit, and the arithmetic is
//! exact. The weights' panels are laid out as for the AVX-512 kernel.

use super::quantize::{scale_and_zero, to_byte};
use super::{QuantLinear, Rows, LANES};
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// [`super::quantize::quantize_row`] in AVX2: the same arithmetic, eight values a step (the portable code
/// compiled for AVX2 took 12 % of int8 embedding time in perf, shuffling more than computing).
#[target_feature(enable = "avx2")]
pub(super) fn quantize_row(row: &[f32], q: &mut [MaybeUninit<u8>]) -> (f32, i32) {
    assert!(
        row.len() <= q.len(),
        "a row of {} values into {} bytes",
        row.len(),
        q.len()
    );
    let whole = row.len() / 32 * 32;
    let eights = row.len() / 8 * 8;
    let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for c in (0..eights).step_by(8) {
        // SAFETY: c + 8 <= row.len().
        let v = unsafe { _mm256_loadu_ps(row.as_ptr().add(c)) };
        // The value first: where it is NaN the bound is kept, as the portable comparison does.
        lo = _mm256_min_ps(v, lo);
        hi = _mm256_max_ps(v, hi);
    }
    let (mut los, mut his) = ([0f32; 8], [0f32; 8]);
    // SAFETY: each array holds eight floats.
    unsafe {
        _mm256_storeu_ps(los.as_mut_ptr(), lo);
        _mm256_storeu_ps(his.as_mut_ptr(), hi);
    }
    let (mut lo, mut hi) = (
        los.iter().fold(0f32, |a, &b| a.min(b)),
        his.iter().fold(0f32, |a, &b| a.max(b)),
    );
    for &v in &row[eights..] {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let (scale, zero, inv) = scale_and_zero(lo, hi);
    let (vinv, vzero, half) = (
        _mm256_set1_ps(inv),
        _mm256_set1_ps(zero),
        _mm256_set1_ps(0.5),
    );
    let (floor, ceil) = (_mm256_setzero_ps(), _mm256_set1_ps(255.0));
    // max(t, 0) before min(.., 255): a NaN becomes 0, as `clamp` then `as u8` make it.
    let convert = |at: usize| {
        // SAFETY: the caller passes at + 8 <= row.len().
        let v = unsafe { _mm256_loadu_ps(row.as_ptr().add(at)) };
        let t = _mm256_add_ps(_mm256_mul_ps(v, vinv), vzero);
        let t = _mm256_add_ps(_mm256_min_ps(_mm256_max_ps(t, floor), ceil), half);
        _mm256_cvttps_epi32(t)
    };
    // Packing 32 bit to 8 works on 128-bit halves: the bytes come out in the order
    // a0 b0 c0 d0 a1 b1 c1 d1 (four each), which one permutation of 32-bit groups undoes.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for c in (0..whole).step_by(32) {
        let (a, b, d, e) = (convert(c), convert(c + 8), convert(c + 16), convert(c + 24));
        let words = (_mm256_packs_epi32(a, b), _mm256_packs_epi32(d, e));
        let bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(words.0, words.1), order);
        // SAFETY: c + 32 <= row.len() <= q.len().
        unsafe { _mm256_storeu_si256(q.as_mut_ptr().add(c) as *mut __m256i, bytes) };
    }
    for (q, &v) in q[whole..].iter_mut().zip(&row[whole..]) {
        q.write(to_byte(v, inv, zero));
    }
    (scale, zero as i32)
}

/// See [`QuantLinear::block`]: tiles of up to four rows by one panel (16 columns), which keeps
/// the eight accumulators, the panel's two registers of weights and the products in AVX2's
/// sixteen registers.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn block(
    q: &QuantLinear,
    rows: &Rows,
    i0: usize,
    m: usize,
    first: usize,
    count: usize,
    out: &mut [MaybeUninit<f32>],
    ldo: usize,
) {
    for panel in 0..count {
        let mut i = 0;
        // SAFETY (each call): rows i0 + i.. and panel first + panel exist, and out has the
        // rows (the caller checked the block).
        while i + 4 <= m {
            tile::<4>(
                q,
                rows,
                i0 + i,
                first + panel,
                out,
                i * ldo + panel * LANES,
                ldo,
            );
            i += 4;
        }
        let at = i * ldo + panel * LANES;
        match m - i {
            3 => tile::<3>(q, rows, i0 + i, first + panel, out, at, ldo),
            2 => tile::<2>(q, rows, i0 + i, first + panel, out, at, ldo),
            1 => tile::<1>(q, rows, i0 + i, first + panel, out, at, ldo),
            _ => {}
        }
    }
}

/// `R` rows by one panel: per group of four inputs, two loads of the panel's 64 weights (eight
/// columns each), then per row a broadcast of its four activations and, per half panel, the
/// byte products into 16 bits, into 32 bits, and the sum.
#[target_feature(enable = "avx2")]
unsafe fn tile<const R: usize>(
    q: &QuantLinear,
    rows: &Rows,
    i: usize,
    panel: usize,
    out: &mut [MaybeUninit<f32>],
    at: usize,
    ldo: usize,
) {
    let w = q.weights.as_ptr().add(panel * q.k4 * LANES);
    let a = rows.values.as_ptr().add(i * q.k4);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    for g in 0..q.k4 / 4 {
        let w0 = _mm256_loadu_si256(w.add(g * 64) as *const __m256i);
        let w1 = _mm256_loadu_si256(w.add(g * 64 + 32) as *const __m256i);
        for (r, acc) in acc.iter_mut().enumerate() {
            // The activations are unsigned, the weights signed: the order vpmaddubsw wants.
            let x = _mm256_set1_epi32((a.add(r * q.k4 + g * 4) as *const i32).read_unaligned());
            let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones);
            let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones);
            acc[0] = _mm256_add_epi32(acc[0], p0);
            acc[1] = _mm256_add_epi32(acc[1], p1);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let row = i + r;
        let zero = _mm256_set1_epi32(rows.zeros[row]);
        let scale = _mm256_set1_ps(rows.scales[row]);
        for (h, &acc) in acc.iter().enumerate() {
            let j = panel * LANES + h * 8;
            if j >= q.n {
                break;
            }
            // The same arithmetic in the same order as `QuantLinear::finish`.
            let sums = _mm256_loadu_si256(q.sums.as_ptr().add(j) as *const __m256i);
            let exact = _mm256_sub_epi32(acc, _mm256_mullo_epi32(zero, sums));
            let scales = _mm256_mul_ps(scale, _mm256_loadu_ps(q.scales.as_ptr().add(j)));
            let y = _mm256_add_ps(
                _mm256_mul_ps(_mm256_cvtepi32_ps(exact), scales),
                _mm256_loadu_ps(q.bias.as_ptr().add(j)),
            );
            let dst = out.as_mut_ptr().add(at + r * ldo + h * 8) as *mut f32;
            let left = (q.n - j).min(8);
            if left == 8 {
                _mm256_storeu_ps(dst, y);
            } else {
                let mut tail = [0f32; 8];
                _mm256_storeu_ps(tail.as_mut_ptr(), y);
                std::ptr::copy_nonoverlapping(tail.as_ptr(), dst, left);
            }
        }
    }
}
