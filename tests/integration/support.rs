//! Fixtures shared by the integration tests: generated papers, the tiny model, and where the
//! stand-in model and `../shared` are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use medshelf::fixtures::{write_pdf, write_tiny_model, FixturePage};
use medshelf::{BertEmbedder, Embedder, Library, Pooling};

/// `../shared` beside the checkout (or `MEDSHELF_SHARED`), where present.
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("MEDSHELF_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    dir.join("README.md").is_file().then_some(dir)
}

/// The stand-in model (all-MiniLM-L6-v2) from `MEDSHELF_TEST_MODEL` or `scripts/fetch-model`'s cache.
pub fn standin_model() -> Option<PathBuf> {
    let dir = std::env::var_os("MEDSHELF_TEST_MODEL")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|c| c.join("medshelf/models/all-MiniLM-L6-v2")))?;
    dir.join("model.safetensors").is_file().then_some(dir)
}

/// Prints why a test skips; returns `None` so a test can `let Some(x) = ... else { return }`.
/// Where `MEDSHELF_REQUIRE_SHARED=1` (CI sets it), a missing input fails the test instead: a
/// test that skipped there would pass while asserting nothing.
pub fn skip<T>(test: &str, why: &str) -> Option<T> {
    if std::env::var("MEDSHELF_REQUIRE_SHARED").is_ok_and(|v| v == "1") {
        panic!("{test} cannot run: {why} (MEDSHELF_REQUIRE_SHARED=1 asks for every input)");
    }
    eprintln!("SKIPPED {test}: {why}");
    None
}

/// A tiny random-weight model in a temporary folder.
pub fn tiny_model(dir: &Path) -> Arc<dyn Embedder> {
    let model = dir.join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    Arc::new(BertEmbedder::load(&model).unwrap())
}

/// The three papers the tests generate: each about one subject, with known pages.
pub struct Papers {
    /// Folder holding them.
    pub dir: PathBuf,
    /// sepsis.pdf: 3 pages, ferritin on page 2.
    pub sepsis: PathBuf,
    /// diabetes.pdf: 2 pages, HbA1c on page 2, two columns on page 1.
    pub diabetes: PathBuf,
    /// asthma.pdf: 2 pages, ligatures on page 1.
    pub asthma: PathBuf,
}

/// Writes the three papers into `dir/papers`.
pub fn write_papers(dir: &Path) -> Papers {
    let papers = dir.join("papers");
    std::fs::create_dir_all(&papers).unwrap();
    let header = Some("Journal of Generated Medicine 2024".to_string());
    let sepsis = papers.join("sepsis.pdf");
    write_pdf(
        &sepsis,
        Some("Early antibiotics in septic shock"),
        &[
            FixturePage {
                header: header.clone(),
                ..FixturePage::text(&[
                    "Early antibiotics in septic shock",
                    "Sepsis is a life-threatening organ dysfunction caused by infection.",
                    "Patients in septic shock received antibiotics within one hour.",
                ])
            },
            FixturePage {
                header: header.clone(),
                ..FixturePage::text(&[
                    "Serum ferritin above 4000 ng/mL predicted death within 28 days.",
                    "Hyperferritinaemia marks macrophage activation in these patients.",
                ])
            },
            FixturePage {
                header: header.clone(),
                ..FixturePage::text(&[
                    "Vasopressors were titrated to a mean arterial pressure of 65 mmHg.",
                    "Interleukin IL-6 levels fell after the second day of treatment.",
                ])
            },
        ],
    )
    .unwrap();
    let diabetes = papers.join("diabetes.pdf");
    write_pdf(
        &diabetes,
        Some("Metformin and glycaemic control"),
        &[
            FixturePage {
                columns: vec![
                    vec![
                        "Left column on metformin".into(),
                        "dosing in older adults.".into(),
                    ],
                    vec![
                        "Right column on renal".into(),
                        "function and lactate.".into(),
                    ],
                ],
                header: header.clone(),
            },
            FixturePage {
                header: header.clone(),
                ..FixturePage::text(&[
                    "After six months HbA1c fell by 1.2 percentage points on metformin.",
                    "Weight was stable and hypoglycaemia was rare.",
                ])
            },
        ],
    )
    .unwrap();
    let asthma = papers.join("asthma.pdf");
    write_pdf(
        &asthma,
        None,
        &[
            FixturePage::text(&[
                "Inhaled corticosteroids in childhood asthma",
                "Airway in\u{FB02}ammation and \u{FB01}brosis were reduced by budesonide.",
            ]),
            FixturePage::text(&["Growth velocity slowed slightly in the first year of therapy."]),
        ],
    )
    .unwrap();
    Papers {
        dir: papers,
        sepsis,
        diabetes,
        asthma,
    }
}

/// A library with the tiny model over a fresh temporary folder.
pub fn tiny_library(tmp: &Path) -> Library {
    let embedder = tiny_model(tmp);
    Library::open_with(&tmp.join("library"), Some(embedder)).unwrap()
}

/// A library of the three generated papers in `tmp/library`, indexed with the tiny model and
/// closed: its folder, and the papers.
pub fn indexed_library(tmp: &Path) -> (PathBuf, Papers) {
    let papers = write_papers(tmp);
    let mut lib = tiny_library(tmp);
    lib.index(
        std::slice::from_ref(&papers.dir),
        &medshelf::library::NoSink,
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    (tmp.join("library"), papers)
}

/// The `medshelf` binary on a library, with a model or none (the environment's model ignored).
pub fn cli(library: &Path, model: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_medshelf"));
    cmd.arg("--library")
        .arg(library)
        .env_remove("MEDSHELF_MODEL")
        .env_remove("MEDSHELF_LIBRARY")
        .env_remove("MEDSHELF_INT8");
    if let Some(m) = model {
        cmd.arg("--model").arg(m);
    }
    cmd
}

/// Fails the test, showing the command's standard error, unless it exited 0.
pub fn assert_ran(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `medshelf ... --json` and parses its output, failing the test on a non-zero exit.
pub fn cli_json(library: &Path, model: Option<&Path>, args: &[&str]) -> serde_json::Value {
    let out = cli(library, model).args(args).output().unwrap();
    assert_ran(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every path the library holds, across its documents (`docs --json`).
pub fn library_paths(library: &Path, model: Option<&Path>) -> Vec<String> {
    cli_json(library, model, &["docs", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["paths"].as_array().unwrap().iter())
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}
