//! The AVX512-VNNI kernel: `vpdpbusd` multiplies 64 pairs of bytes and adds them into sixteen
//! 32-bit sums in one instruction, on the weights' panels as [`super::QuantLinear`] lays them
//! out; and the activations' quantiser in AVX-512.

use super::quantize::{scale_and_zero, to_byte};
use super::{QuantLinear, Rows, LANES};
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// [`super::quantize::quantize_row`] in AVX-512: the same arithmetic, sixteen values a step (the
/// compiler's own vectorisation of the min/max reduction shuffled more than it computed).
#[target_feature(enable = "avx512f")]
pub(super) fn quantize_row(row: &[f32], q: &mut [MaybeUninit<u8>]) -> (f32, i32) {
    assert!(
        row.len() <= q.len(),
        "a row of {} values into {} bytes",
        row.len(),
        q.len()
    );
    let whole = row.len() / 16 * 16;
    let (mut lo, mut hi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    for c in (0..whole).step_by(16) {
        // SAFETY: c + 16 <= row.len().
        let v = unsafe { _mm512_loadu_ps(row.as_ptr().add(c)) };
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
    }
    let (mut lo, mut hi) = (_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
    for &v in &row[whole..] {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let (scale, zero, inv) = scale_and_zero(lo, hi);
    let (vinv, vzero, half) = (
        _mm512_set1_ps(inv),
        _mm512_set1_ps(zero),
        _mm512_set1_ps(0.5),
    );
    let (floor, ceil) = (_mm512_setzero_ps(), _mm512_set1_ps(255.0));
    for c in (0..whole).step_by(16) {
        // SAFETY: c + 16 <= row.len() <= q.len().
        unsafe {
            let v = _mm512_loadu_ps(row.as_ptr().add(c));
            let t = _mm512_add_ps(_mm512_mul_ps(v, vinv), vzero);
            let t = _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(t, floor), ceil), half);
            let bytes = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(t));
            _mm_storeu_si128(q.as_mut_ptr().add(c) as *mut __m128i, bytes);
        }
    }
    for (q, &v) in q[whole..].iter_mut().zip(&row[whole..]) {
        q.write(to_byte(v, inv, zero));
    }
    (scale, zero as i32)
}

/// See [`QuantLinear::block`]: tiles of up to six rows by four panels (64 columns).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
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
    let mut panel = 0;
    while panel < count {
        // SAFETY: rows i0.. i0 + m and panels first + panel.. exist, and out has the rows
        // (the caller checked the block).
        if count - panel >= 4 {
            rows_of::<4>(q, rows, i0, m, first + panel, out, panel * LANES, ldo);
            panel += 4;
        } else {
            rows_of::<1>(q, rows, i0, m, first + panel, out, panel * LANES, ldo);
            panel += 1;
        }
    }
}

/// All `m` rows by `P` panels from `panel`, in tiles of six rows (then the rest).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_of<const P: usize>(
    q: &QuantLinear,
    rows: &Rows,
    i0: usize,
    m: usize,
    panel: usize,
    out: &mut [MaybeUninit<f32>],
    column: usize,
    ldo: usize,
) {
    let mut i = 0;
    // SAFETY (each call): as in `block`.
    while i + 6 <= m {
        tile::<6, P>(q, rows, i0 + i, panel, out, i * ldo + column, ldo);
        i += 6;
    }
    let at = i * ldo + column;
    match m - i {
        5 => tile::<5, P>(q, rows, i0 + i, panel, out, at, ldo),
        4 => tile::<4, P>(q, rows, i0 + i, panel, out, at, ldo),
        3 => tile::<3, P>(q, rows, i0 + i, panel, out, at, ldo),
        2 => tile::<2, P>(q, rows, i0 + i, panel, out, at, ldo),
        1 => tile::<1, P>(q, rows, i0 + i, panel, out, at, ldo),
        _ => {}
    }
}

/// `R` rows by `P` panels (1 or 4): per group of four inputs, one load of each panel's
/// 64 weights, R broadcasts of four activations, `R × P` `vpdpbusd`. The panel count is a
/// constant so that the `R × P` accumulators can be registers throughout.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile<const R: usize, const P: usize>(
    q: &QuantLinear,
    rows: &Rows,
    i: usize,
    panel: usize,
    out: &mut [MaybeUninit<f32>],
    at: usize,
    ldo: usize,
) {
    let stride = q.k4 * LANES;
    let w = q.weights.as_ptr().add(panel * stride);
    let a = rows.values.as_ptr().add(i * q.k4);
    let mut acc = [[_mm512_setzero_si512(); P]; R];
    // At least one group runs (`QuantLinear` keeps at least one group of four inputs), so the
    // loop is written to run once before it tests: with a loop that might not run, the
    // compiler kept the accumulators' zeros in a stack array for that path, and zeroed it
    // with a call to memset at every tile (5 % of int8 embedding time in perf).
    let groups = (q.k4 / 4).max(1);
    let mut g = 0;
    loop {
        let mut ws = [_mm512_setzero_si512(); P];
        for (l, w_l) in ws.iter_mut().enumerate() {
            *w_l = _mm512_loadu_si512(w.add(l * stride + g * 64) as *const _);
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm512_set1_epi32((a.add(r * q.k4 + g * 4) as *const i32).read_unaligned());
            for l in 0..P {
                acc[l] = _mm512_dpbusd_epi32(acc[l], x, ws[l]);
            }
        }
        g += 1;
        if g == groups {
            break;
        }
    }
    // Columns at or past `n` (the last panel may be partial) store nothing through the mask;
    // their sums, scales and bias are in bounds, being padded to whole panels.
    for (r, acc) in acc.iter().enumerate() {
        let row = i + r;
        let zero = _mm512_set1_epi32(rows.zeros[row]);
        let scale = _mm512_set1_ps(rows.scales[row]);
        for (l, &acc) in acc.iter().enumerate() {
            let j = (panel + l) * LANES;
            let sums = _mm512_loadu_si512(q.sums.as_ptr().add(j) as *const _);
            let exact = _mm512_sub_epi32(acc, _mm512_mullo_epi32(zero, sums));
            let scales = _mm512_mul_ps(scale, _mm512_loadu_ps(q.scales.as_ptr().add(j)));
            let y = _mm512_add_ps(
                _mm512_mul_ps(_mm512_cvtepi32_ps(exact), scales),
                _mm512_loadu_ps(q.bias.as_ptr().add(j)),
            );
            let left = q.n.saturating_sub(j).min(LANES);
            let mask: __mmask16 = if left == LANES {
                0xffff
            } else {
                (1u16 << left) - 1
            };
            _mm512_mask_storeu_ps(
                out.as_mut_ptr().add(at + r * ldo + l * LANES) as *mut f32,
                mask,
                y,
            );
        }
    }
}
