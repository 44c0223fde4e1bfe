//! The arithmetic a model runs at: int8 where the CPU makes it fast and a calibration check at
//! load says it agrees with f32, f32 elsewhere (issue 18). The choice is a pure function of the
//! setting and the CPU's features, so that it is tested for every feature set on any machine;
//! the check's verdict is kept per model, CPU and build, so that later starts skip it.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::int8;

/// What the user asks of the projections' arithmetic (`MEDSHELF_PRECISION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrecisionChoice {
    /// int8 where it is fast and a calibration check at load passes, else f32: the default.
    #[default]
    Auto,
    /// Always f32.
    F32,
    /// int8 without the check, where the CPU has the instructions that make it fast.
    Int8,
}

impl FromStr for PrecisionChoice {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(PrecisionChoice::Auto),
            "f32" | "fp32" | "float32" => Ok(PrecisionChoice::F32),
            "int8" | "i8" => Ok(PrecisionChoice::Int8),
            other => Err(format!(
                "'{other}' is not a precision: use f32, int8 or auto"
            )),
        }
    }
}

/// The CPU features the choice of precision looks at, detected at run time: machines of the
/// same kind differ (AVX-512 with VNNI on these, AVX-VNNI on Intel's desktop cores since Alder
/// Lake, AVX2 alone on older ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuFeatures {
    /// AVX-512 F and BW with VNNI's byte products (`vpdpbusd` on 512 bits): what
    /// `embed::int8`'s fast kernel needs.
    pub avx512_vnni: bool,
    /// The VEX-encoded `vpdpbusd` on 256 bits (AVX-VNNI), without AVX-512.
    pub avx_vnni: bool,
    /// AVX2 (with FMA): byte products by `vpmaddubsw`/`vpmaddwd` only.
    pub avx2: bool,
}

impl CpuFeatures {
    /// The int8 kernel these features run (`embed::int8::Kernel`'s choice), by name; none where only
    /// the portable loops would, which are slower than f32.
    pub fn int8_kernel(self) -> Option<&'static str> {
        if self.avx512_vnni {
            Some(int8::Kernel::Avx512Vnni.name())
        } else if self.avx2 {
            // AVX-VNNI's CPUs have AVX2, and run its kernel: the 256-bit `vpdpbusd` is not
            // used yet (no machine here has it to measure on).
            Some(int8::Kernel::Avx2.name())
        } else {
            None
        }
    }

    /// This CPU's features.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            CpuFeatures {
                avx512_vnni: int8::vnni(),
                avx_vnni: std::arch::is_x86_feature_detected!("avxvnni"),
                avx2: std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        CpuFeatures::default()
    }
}

/// What a model load does about precision, decided before the model is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrecisionPlan {
    /// Run f32, for this reason.
    F32(String),
    /// Run int8 without a check, for this reason.
    Int8(String),
    /// Embed the calibration texts both ways and run int8 where they agree
    /// ([`CALIBRATION_MIN_COSINE`]), else f32.
    Calibrate,
}

/// The least cosine between a calibration text's f32 and int8 vectors for int8 to be the
/// default: issue 18's bar. MedShelf's int8 measured 0.998 at worst on the golden texts.
pub const CALIBRATION_MIN_COSINE: f32 = 0.99;

/// Texts embedded in f32 and int8 at load under [`PrecisionChoice::Auto`]: short and long,
/// numbers, units, abbreviations and non-ASCII letters, as clinicians' papers and queries are.
pub const CALIBRATION_TEXTS: [&str; 8] = [
    "metformin in renal impairment",
    "What dose of enoxaparin for DVT prophylaxis in obese patients?",
    "Serum ferritin predicts mortality in septic shock.",
    "Patients were randomised 1:1 to dapagliflozin 10 mg once daily or placebo; the primary \
     outcome was a composite of worsening heart failure or cardiovascular death (HR 0.74, \
     95% CI 0.65-0.85, p<0.001).",
    "Table 2. Baseline characteristics: age 64.2 ± 11.3 years, eGFR 58 mL/min/1.73 m², \
     HbA1c 7.9 %, BMI ≥ 30 kg/m² in 41 %.",
    "Background: Sickle cell disease (SCD) in pregnancy carries maternal and fetal risks; \
     hydroxyurea (HU) is usually stopped before conception although data on its teratogenicity \
     in humans are scarce. Methods: We reviewed 120 pregnancies in women with SCD treated at \
     two centres between 2005 and 2019, comparing those exposed to HU in the first trimester \
     with those who stopped it, for congenital anomalies, preterm birth and vaso-occlusive \
     crises.",
    "Die Behandlung der akuten Pankreatitis: Flüssigkeitstherapie und frühe enterale Ernährung.",
    "ACE-I/ARB, β-blocker, MRA and SGLT2i: the four pillars of HFrEF therapy (NYHA II-IV).",
];

/// Decides the precision of a model about to load on the CPU (`on_cpu`; other devices run
/// f32) from what the user asked for and what the CPU can do. Pure, so that the choice for
/// every feature set is tested on any machine.
pub fn plan_precision(choice: PrecisionChoice, cpu: CpuFeatures, on_cpu: bool) -> PrecisionPlan {
    let f32 = |why: &str| PrecisionPlan::F32(why.to_string());
    if !on_cpu {
        return f32("the model runs on a GPU, where MedShelf's int8 path does not");
    }
    match (choice, cpu.int8_kernel()) {
        (PrecisionChoice::F32, _) => f32("MEDSHELF_PRECISION=f32"),
        (PrecisionChoice::Int8, Some(kernel)) => PrecisionPlan::Int8(format!(
            "MEDSHELF_PRECISION=int8 ({kernel}; calibration not checked)"
        )),
        (PrecisionChoice::Int8, None) => f32(
            "MEDSHELF_PRECISION=int8, but this CPU lacks AVX2 and AVX512-VNNI, without which \
             MedShelf's int8 runs slower than f32",
        ),
        (PrecisionChoice::Auto, Some(_)) => PrecisionPlan::Calibrate,
        (PrecisionChoice::Auto, None) => f32(
            "this CPU lacks AVX2 and AVX512-VNNI, without which MedShelf's int8 runs slower \
             than f32",
        ),
    }
}

/// The plan a calibration's least cosine makes: int8 where it reaches
/// [`CALIBRATION_MIN_COSINE`], else f32, each with its reason (`when` says whether the check ran
/// at this load or an earlier one).
pub(super) fn verdict(least: f32, when: &str, kernel: &str) -> PrecisionPlan {
    let why = verdict_reason(least, when, kernel);
    if least >= CALIBRATION_MIN_COSINE {
        PrecisionPlan::Int8(why)
    } else {
        PrecisionPlan::F32(why)
    }
}

/// The reason a calibration's verdict gives, naming the int8 kernel (`kernel`) where it passed.
pub(super) fn verdict_reason(least: f32, when: &str, kernel: &str) -> String {
    if least >= CALIBRATION_MIN_COSINE {
        format!(
            "{kernel}; the calibration texts agree with f32 to cosine {least:.4} (at least \
             {CALIBRATION_MIN_COSINE} needed; {when})"
        )
    } else {
        format!(
            "the calibration texts agree with int8 to cosine {least:.4} only (at least \
             {CALIBRATION_MIN_COSINE} needed; {when}), so this model runs f32"
        )
    }
}

/// Where the calibration verdict of a model (its fingerprint) on this CPU with this build is
/// kept: `medshelf/precision/` in the user's cache folder, under a hash of everything that
/// decides the verdict (the weights, the CPU's features, this executable, the texts and the
/// bar), so that a new build or a new model checks again. `None` where there is no cache
/// folder: every load then checks.
pub(super) fn calibration_file(fingerprint: &str, cpu: CpuFeatures) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut key = blake3::Hasher::new();
    key.update(fingerprint.as_bytes());
    key.update(format!("{cpu:?}").as_bytes());
    key.update(env!("CARGO_PKG_VERSION").as_bytes());
    key.update(exe.as_os_str().as_encoded_bytes());
    key.update(&meta.len().to_le_bytes());
    key.update(&modified.to_le_bytes());
    for text in CALIBRATION_TEXTS {
        key.update(text.as_bytes());
    }
    key.update(&CALIBRATION_MIN_COSINE.to_le_bytes());
    let name = format!("{}.json", &key.finalize().to_hex()[..32]);
    Some(
        dirs::cache_dir()?
            .join("medshelf")
            .join("precision")
            .join(name),
    )
}

/// A kept verdict's least cosine; none where the file is absent or not one of ours.
pub(super) fn read_verdict(file: &Path) -> Option<f32> {
    let text = std::fs::read_to_string(file).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let least = value.get("least_cosine")?.as_f64()? as f32;
    (least.is_finite() && (-1.0..=1.0001).contains(&least)).then_some(least)
}

/// Keeps a verdict; a cache that cannot be written only means the next load checks again.
pub(super) fn write_verdict(file: &Path, least: f32) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let body = serde_json::json!({ "least_cosine": least }).to_string();
    if std::fs::write(&tmp, body).is_ok() && std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The least cosine between two lists of vectors, pair by pair.
pub(super) fn least_cosine(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            let nx = x.iter().map(|v| v * v).sum::<f32>().sqrt();
            let ny = y.iter().map(|v| v * v).sum::<f32>().sqrt();
            if nx == 0.0 || ny == 0.0 {
                0.0
            } else {
                dot / (nx * ny)
            }
        })
        .fold(f32::INFINITY, f32::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The choice for every feature set and every setting, on any machine: int8 only on the
    /// CPU, by default only with AVX2 or AVX512-VNNI and after the check, and never silently.
    #[test]
    fn the_precision_plan_follows_the_setting_and_the_cpu() {
        let none = CpuFeatures::default();
        let avx2 = CpuFeatures { avx2: true, ..none };
        let avx_vnni = CpuFeatures {
            avx_vnni: true,
            ..avx2
        };
        let avx512 = CpuFeatures {
            avx512_vnni: true,
            ..avx2
        };
        use PrecisionChoice::*;
        for cpu in [none, avx2, avx_vnni, avx512] {
            for choice in [Auto, F32, Int8] {
                let plan = plan_precision(choice, cpu, true);
                let expected_int8 = (cpu.avx512_vnni || cpu.avx2) && choice != F32;
                match &plan {
                    PrecisionPlan::F32(why) => {
                        assert!(!expected_int8, "{cpu:?} {choice:?}: {why}");
                        assert!(!why.is_empty());
                    }
                    PrecisionPlan::Calibrate => {
                        assert!(expected_int8 && choice == Auto, "{cpu:?} {choice:?}")
                    }
                    PrecisionPlan::Int8(why) => {
                        assert!(expected_int8 && choice == Int8, "{cpu:?} {choice:?}");
                        assert!(why.contains("MEDSHELF_PRECISION=int8"));
                        let kernel = if cpu.avx512_vnni {
                            "AVX512-VNNI"
                        } else {
                            "AVX2"
                        };
                        assert!(why.contains(kernel), "{cpu:?}: {why}");
                    }
                }
                // A GPU runs f32 whatever is asked.
                assert!(matches!(
                    plan_precision(choice, cpu, false),
                    PrecisionPlan::F32(_)
                ));
            }
        }
        // AVX-VNNI's CPUs run the AVX2 kernel, after the check.
        assert_eq!(
            plan_precision(Auto, avx_vnni, true),
            PrecisionPlan::Calibrate
        );
        assert_eq!(avx_vnni.int8_kernel(), Some("AVX2"));
        let PrecisionPlan::F32(why) = plan_precision(Auto, none, true) else {
            panic!("without AVX2 int8 is slower than f32");
        };
        assert!(why.contains("AVX2"), "{why}");
    }

    #[test]
    fn precision_names_parse_and_others_are_refused() {
        assert_eq!("auto".parse(), Ok(PrecisionChoice::Auto));
        assert_eq!(" F32 ".parse(), Ok(PrecisionChoice::F32));
        assert_eq!("int8".parse(), Ok(PrecisionChoice::Int8));
        let e = "fp16".parse::<PrecisionChoice>().unwrap_err();
        assert!(e.contains("fp16") && e.contains("f32, int8 or auto"), "{e}");
    }

    #[test]
    fn least_cosine_is_the_worst_pair() {
        let a = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let b = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
        let c = least_cosine(&a, &b);
        assert!((c - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6, "{c}");
        assert_eq!(least_cosine(&a, &[vec![0.0, 0.0]]), 0.0);
    }
}
