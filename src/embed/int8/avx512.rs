//! The AVX512-VNNI kernel: `vpdpbusd` multiplies 64 pairs of bytes and adds them into sixteen
//! 32-bit sums in one instruction, on the weights' panels as [`super::QuantLinear`] lays them
//! out; and the activations' quantiser in AVX-512.

use super::quantize::{scale_and_zero, to_byte};
use super::{QuantLinear, Rows, LANES};
use std::arch::x86_64::*;

/// [`super::quantize::quantize_row`] in AVX-512: the same arithmetic, sixteen values a step (the
/// compiler's own vectorisation of the min/max reduction shuffled more than it computed).
#[target_feature(enable = "avx512f")]
pub(super) fn quantize_row(row: &[f32], q: &mut [u8]) -> (f32, i32) {
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
        *q = to_byte(v, inv, zero);
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
    out: &mut [f32],
    ldo: usize,
) {
    let mut panel = 0;
    while panel < count {
        let take = if count - panel >= 4 { 4 } else { 1 };
        let mut i = 0;
        // SAFETY (each call): rows i0 + i.. and panels first + panel.. exist, and out has
        // the rows (the caller checked the block).
        while i + 6 <= m {
            tile::<6>(
                q,
                rows,
                i0 + i,
                first + panel,
                take,
                out,
                i * ldo + panel * LANES,
                ldo,
            );
            i += 6;
        }
        let at = i * ldo + panel * LANES;
        match m - i {
            5 => tile::<5>(q, rows, i0 + i, first + panel, take, out, at, ldo),
            4 => tile::<4>(q, rows, i0 + i, first + panel, take, out, at, ldo),
            3 => tile::<3>(q, rows, i0 + i, first + panel, take, out, at, ldo),
            2 => tile::<2>(q, rows, i0 + i, first + panel, take, out, at, ldo),
            1 => tile::<1>(q, rows, i0 + i, first + panel, take, out, at, ldo),
            _ => {}
        }
        panel += take;
    }
}

/// `R` rows by `panels` (1 or 4) panels: per group of four inputs, one load of each panel's
/// 64 weights, R broadcasts of four activations, `R × panels` `vpdpbusd`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const R: usize>(
    q: &QuantLinear,
    rows: &Rows,
    i: usize,
    panel: usize,
    panels: usize,
    out: &mut [f32],
    at: usize,
    ldo: usize,
) {
    let stride = q.k4 * LANES;
    let w = q.weights.as_ptr().add(panel * stride);
    let a = rows.values.as_ptr().add(i * q.k4);
    let mut acc = [[_mm512_setzero_si512(); 4]; R];
    if panels == 4 {
        for g in 0..q.k4 / 4 {
            let ws = [
                _mm512_loadu_si512(w.add(g * 64) as *const _),
                _mm512_loadu_si512(w.add(stride + g * 64) as *const _),
                _mm512_loadu_si512(w.add(2 * stride + g * 64) as *const _),
                _mm512_loadu_si512(w.add(3 * stride + g * 64) as *const _),
            ];
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_epi32((a.add(r * q.k4 + g * 4) as *const i32).read_unaligned());
                for l in 0..4 {
                    acc[l] = _mm512_dpbusd_epi32(acc[l], x, ws[l]);
                }
            }
        }
    } else {
        for g in 0..q.k4 / 4 {
            let ws = _mm512_loadu_si512(w.add(g * 64) as *const _);
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_epi32((a.add(r * q.k4 + g * 4) as *const i32).read_unaligned());
                acc[0] = _mm512_dpbusd_epi32(acc[0], x, ws);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let row = i + r;
        let zero = _mm512_set1_epi32(rows.zeros[row]);
        let scale = _mm512_set1_ps(rows.scales[row]);
        for (l, &acc) in acc.iter().enumerate().take(panels) {
            let j = (panel + l) * LANES;
            if j >= q.n {
                break;
            }
            let sums = _mm512_loadu_si512(q.sums.as_ptr().add(j) as *const _);
            let exact = _mm512_sub_epi32(acc, _mm512_mullo_epi32(zero, sums));
            let scales = _mm512_mul_ps(scale, _mm512_loadu_ps(q.scales.as_ptr().add(j)));
            let y = _mm512_add_ps(
                _mm512_mul_ps(_mm512_cvtepi32_ps(exact), scales),
                _mm512_loadu_ps(q.bias.as_ptr().add(j)),
            );
            let left = (q.n - j).min(LANES);
            let mask: __mmask16 = if left == LANES {
                0xffff
            } else {
                (1u16 << left) - 1
            };
            _mm512_mask_storeu_ps(out.as_mut_ptr().add(at + r * ldo + l * LANES), mask, y);
        }
    }
}
