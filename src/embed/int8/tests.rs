//! The int8 projections' tests: against the exact product, the portable loops (every fast
//! kernel this CPU runs), the layout's definition and libm's rounding.

use super::quantize::{quantize_row, to_byte};
use super::*;
use crate::embed::kernels::tests::values;
use std::mem::MaybeUninit;

/// The quantised product is close to the exact one (8 bits: about 1 % of the row's scale),
/// for shapes with partial tiles, partial panels and an inner size not a multiple of 4, on
/// both the few-rows and many-rows paths.
#[test]
fn close_to_the_f32_product() {
    let mut rand = values(5);
    for &(m, k, n) in &[
        (1, 384, 1152),
        (13, 30, 37),
        (40, 384, 64),
        (7, 1536, 384),
        (30, 5, 17),
    ] {
        let x: Vec<f32> = (0..m * k).map(|_| rand() * 4.0).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rand()).collect();
        let b: Vec<f32> = (0..n).map(|_| rand()).collect();
        let q = QuantLinear::new(&w, &b, n, k);
        let mut out = vec![f32::NAN; m * n];
        q.linear(&x, m, &mut out);
        // The weights' step is twice as coarse where they are kept to 63 (AVX2).
        let coarser = 127.0 / q.kernel().weight_max() as f64;
        for i in 0..m {
            // The error scales with |x| |w| summed, not with the (possibly small) result.
            let size: f64 = (0..k).map(|p| (x[i * k + p] as f64).abs()).sum::<f64>() * 0.5;
            for j in 0..n {
                let want: f64 = b[j] as f64
                    + (0..k)
                        .map(|p| x[i * k + p] as f64 * w[j * k + p] as f64)
                        .sum::<f64>();
                let got = out[i * n + j] as f64;
                assert!(
                    (got - want).abs() <= 0.02 * coarser * size / (k as f64).sqrt() + 1e-3,
                    "{m}x{k}x{n} ({i},{j}): {got} vs {want}"
                );
            }
        }
    }
}

/// The weights' rounding is libm's, half away from zero, on ties, on values just either
/// side of them, at the clamp and for NaN.
#[test]
fn weights_round_as_libm_does() {
    let mut rand = values(9);
    let mut cases: Vec<f32> = vec![
        0.0,
        -0.0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        2.5,
        126.5,
        -126.5,
        127.0,
        127.49,
        200.0,
        -1e9,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
        1e-40,
    ];
    for t in -128..=128 {
        let half = t as f32 + 0.5;
        cases.extend([half, half.next_up(), half.next_down()]);
    }
    cases.extend((0..10_000).map(|_| rand() * 300.0));
    for v in cases {
        let want = v.round().clamp(-127.0, 127.0) as i8;
        assert_eq!(round_to_i8(v), want, "{v:e}");
    }
}

/// The panels hold each weight where the kernels look for it: built one value at a time
/// here, by the layout's definition, they match what `new` builds four at a time.
#[test]
fn weights_land_in_their_panel_slots() {
    let mut rand = values(4);
    for &(n, k) in &[(1, 1), (17, 5), (16, 384), (37, 30), (3, 1539)] {
        let w: Vec<f32> = (0..n * k).map(|_| rand() * 3.0).collect();
        let q = QuantLinear::new(&w, &vec![0.0; n], n, k);
        let mut want = vec![0i8; q.weights.len()];
        for j in 0..n {
            let scale = q.scales[j];
            let mut sum = 0;
            for p in 0..k {
                let v = (w[j * k + p] / scale).round().clamp(-127.0, 127.0) as i8;
                sum += v as i32;
                want[(j / LANES) * q.k4 * LANES + (p / 4) * LANES * 4 + (j % LANES) * 4 + p % 4] =
                    v;
            }
            assert_eq!(q.sums[j], sum, "{n}x{k}: column {j}'s sum");
        }
        assert_eq!(q.weights, want, "{n}x{k}");
    }
}

/// A row quantiser: the row, the bytes it writes, and what it returns (scale, zero point).
type Quantiser<'a> = &'a dyn Fn(&[f32], &mut [MaybeUninit<u8>]) -> (f32, i32);

/// The AVX-512 and AVX2 quantisers give the portable one's bytes, scale and zero point, and each
/// writes every byte of its row (the buffers are not zeroed first: a byte left unwritten would
/// keep the marker it was filled with).
#[test]
fn quantisers_agree() {
    let mut rand = values(2);
    // Runs a quantiser on a buffer filled with a marker no row of these values quantises to
    // everywhere, and returns what it wrote.
    let quantise = |row: &[f32], f: Quantiser<'_>| {
        let mut q = vec![MaybeUninit::new(0xA5u8); row.len()];
        let found = f(row, &mut q);
        // SAFETY: filled with the marker above, so initialised whatever the quantiser wrote.
        let bytes: Vec<u8> = q.iter().map(|b| unsafe { b.assume_init() }).collect();
        (found, bytes)
    };
    for len in [1, 15, 16, 384, 1539] {
        let row: Vec<f32> = (0..len).map(|_| rand() * 6.0 + 1.0).collect();
        let (expected, want) = quantise(&row, &quantize_row);
        let (scale, zero) = expected;
        for (&q, &v) in want.iter().zip(&row) {
            assert_eq!(
                q,
                to_byte(v, 1.0 / scale, zero as f32),
                "portable, length {len}"
            );
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            let got = quantise(&row, &|r, q| unsafe { avx512::quantize_row(r, q) });
            assert_eq!(got, (expected, want.clone()), "length {len}, AVX-512");
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            let got = quantise(&row, &|r, q| unsafe { avx2::quantize_row(r, q) });
            assert_eq!(got, (expected, want.clone()), "length {len}, AVX2");
        }
        // Dequantised, every value is within half a step of the original.
        let (scale, zero) = expected;
        for (&q, &v) in want.iter().zip(&row) {
            let back = (q as i32 - zero) as f32 * scale;
            assert!(
                (back - v).abs() <= scale * 0.5 + 1e-6,
                "{v} came back as {back}"
            );
        }
    }
}

/// Every fast kernel this CPU runs does the portable loops' integer arithmetic, exactly:
/// on shapes with partial tiles and panels, and on rows whose bytes reach 0 and 255 against
/// weights at both ends of their range (where AVX2's 16-bit sums would saturate if the
/// weights were not kept to 63). A kernel the CPU cannot run is checked against what
/// /proc/cpuinfo lists instead: a CPU that has the instructions but is not detected would
/// silently lose the fast path.
#[test]
fn every_kernel_matches_the_portable_loops() {
    let flags: Vec<String> = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("flags"))
                .map(|l| l.split_whitespace().map(str::to_string).collect())
        })
        .unwrap_or_default();
    let listed = |names: &[&str]| names.iter().all(|f| flags.iter().any(|x| x == f));
    let mut rand = values(9);
    for (kernel, names) in [
        (
            Kernel::Avx512Vnni,
            &["avx512f", "avx512bw", "avx512_vnni"][..],
        ),
        (Kernel::Avx2, &["avx2"][..]),
    ] {
        if !kernel.runs_here() {
            assert!(
                flags.is_empty() || !listed(names),
                "the CPU lists {names:?} but the {} kernel is not detected",
                kernel.name()
            );
            eprintln!(
                "skipped: this CPU does not run the {} kernel",
                kernel.name()
            );
            continue;
        }
        for &(m, k, n) in &[(11, 70, 100), (1, 384, 1152), (29, 1536, 40), (4, 3, 16)] {
            let mut x: Vec<f32> = (0..m * k).map(|_| rand()).collect();
            let mut w: Vec<f32> = (0..n * k).map(|_| rand()).collect();
            // Whole rows and columns at the extremes: bytes of 255 (and 0) times weights
            // of the range's ends, added in pairs.
            for p in 0..k {
                x[p] = if p % 2 == 0 { 1.0 } else { 1.0 - 1e-7 };
                w[p] = if p % 3 == 0 { -1.0 } else { 1.0 };
            }
            // A column of weights at the top of the range: 2 · 255 · 63 per pair on AVX2.
            w[k..2 * k].iter_mut().for_each(|v| *v = 1.0);
            let b: Vec<f32> = (0..n).map(|_| rand()).collect();
            let q = QuantLinear::for_kernel(&w, &b, n, k, kernel);
            assert_eq!(q.kernel(), kernel);
            let rows = quantize_rows(&x, m, k, q.k4);
            let block = |kernel| {
                let mut out = vec![MaybeUninit::new(f32::NAN); m * n];
                q.block(&rows, 0, m, 0, q.panels(), &mut out, n, kernel);
                // SAFETY: every value was initialised (NaN) before the kernel ran.
                out.iter()
                    .map(|v| unsafe { v.assume_init() })
                    .collect::<Vec<f32>>()
            };
            let (fast, slow) = (block(kernel), block(Kernel::Portable));
            assert_eq!(fast, slow, "{} kernel, {m}x{k}x{n}", kernel.name());
            assert!(slow.iter().all(|v| !v.is_nan()), "a value was not written");
            // And through the public entry, which splits the work by rows or by panels.
            let mut out = vec![f32::NAN; m * n];
            q.linear(&x, m, &mut out);
            assert_eq!(out, slow, "{} kernel, linear, {m}x{k}x{n}", kernel.name());
            // And into a vector that is not zeroed first.
            let fresh = q.product_then(&x, m, |_, _| {});
            assert_eq!(
                fresh,
                slow,
                "{} kernel, product, {m}x{k}x{n}",
                kernel.name()
            );
        }
    }
}

/// What follows the product in its own pass gives what following it afterwards gives, on
/// both ways of splitting the work (by rows, by panels).
#[test]
fn the_pass_after_the_product_sees_every_output_once() {
    let mut rand = values(6);
    for m in [3, 30] {
        let (k, n) = (40, 70);
        let x: Vec<f32> = (0..m * k).map(|_| rand()).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rand()).collect();
        let q = QuantLinear::new(&w, &vec![0.1; n], n, k);
        let mut want = vec![0f32; m * n];
        q.linear(&x, m, &mut want);
        crate::embed::kernels::gelu(&mut want);
        let mut got = vec![0f32; m * n];
        q.linear_then(&x, m, &mut got, |_, rows| {
            crate::embed::kernels::gelu_here(rows)
        });
        assert_eq!(got, want, "{m} rows");
    }
}

/// The residual add and layer norm as the product's epilogue: each block of rows is told
/// its first row, so that it takes its own rows of the residual (an off-by-a-block error
/// would add another token's), on both ways of splitting the work and into a vector that
/// was not zeroed.
#[test]
fn the_epilogue_knows_its_rows() {
    use crate::embed::norm;
    let mut rand = values(8);
    for m in [1, 5, 30, 101] {
        let (k, n) = (48, 40);
        let x: Vec<f32> = (0..m * k).map(|_| rand()).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rand()).collect();
        let residual: Vec<f32> = (0..m * n).map(|_| rand() * 3.0).collect();
        let gamma: Vec<f32> = (0..n).map(|_| rand() + 1.0).collect();
        let beta: Vec<f32> = (0..n).map(|_| rand()).collect();
        let q = QuantLinear::new(&w, &vec![0.2; n], n, k);
        let mut product = vec![0f32; m * n];
        q.linear(&x, m, &mut product);
        let mut want = vec![0f32; m * n];
        norm::add_norm(&product, &residual, &gamma, &beta, 1e-12, &mut want);
        let got = q.product_then(&x, m, |i0, rows| {
            let residual = &residual[i0 * n..i0 * n + rows.len()];
            norm::add_norm_in_place(rows, residual, &gamma, &beta, 1e-12);
        });
        assert_eq!(got, want, "{m} rows");
    }
}

/// AVX2's weights stay within 63, so that two byte products fit a 16-bit sum.
#[test]
fn avx2_weights_cannot_saturate_its_sums() {
    const _: () = assert!(2 * 255 * 63 <= i16::MAX as i32);
    let mut rand = values(3);
    let w: Vec<f32> = (0..40 * 30).map(|_| rand() * 5.0).collect();
    let q = QuantLinear::for_kernel(&w, &[0.0; 40], 40, 30, Kernel::Avx2);
    assert!(q.weights.iter().all(|&v| (-63..=63).contains(&v)));
    assert!(q.weights.iter().any(|&v| v.abs() == 63));
}
