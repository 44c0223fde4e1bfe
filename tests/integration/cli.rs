//! The `medshelf` command-line contract: commands, flags, JSON fields and exit codes.

use std::path::Path;
use std::process::Output;

use medshelf::fixtures::write_tiny_model;
use medshelf::Pooling;
use serde_json::Value;

use crate::support::{assert_ran, write_papers};

fn medshelf(library: &Path, model: Option<&Path>, args: &[&str]) -> Output {
    crate::support::cli(library, model)
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert_ran(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn index_search_status_docs_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    std::fs::write(papers.dir.join("broken.pdf"), b"%PDF-1.4 nothing else").unwrap();
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let lib = tmp.path().join("lib");
    let m = Some(model.as_path());

    let out = medshelf(&lib, m, &["index", papers.dir.to_str().unwrap()]);
    assert_ran(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("indexed 3, unchanged 0, failed 1"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.pdf: damaged"));
    let out = medshelf(&lib, m, &["index", papers.dir.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 0, unchanged 4, failed 0"));

    let v = json(&medshelf(
        &lib,
        m,
        &["search", "serum", "ferritin", "--json", "--limit", "2"],
    ));
    assert_eq!(v["query"], "serum ferritin");
    assert_eq!(v["mode"], "hybrid");
    let top = &v["results"][0];
    for field in [
        "rank", "path", "title", "page", "score", "snippet", "passages",
    ] {
        assert!(top.get(field).is_some(), "missing {field} in {top}");
    }
    assert_eq!(top["rank"], 1);
    assert_eq!(top["path"], papers.sepsis.to_str().unwrap());
    assert_eq!(top["page"], 2);
    assert!(v["results"].as_array().unwrap().len() <= 2);
    let v = json(&medshelf(
        &lib,
        m,
        &["search", "HbA1c", "--mode", "lexical", "--json"],
    ));
    assert_eq!(v["mode"], "lexical");
    assert_eq!(v["results"][0]["path"], papers.diabetes.to_str().unwrap());

    let s = json(&medshelf(&lib, m, &["status", "--json"]));
    assert_eq!(s["documents"], 3);
    assert!(s["chunks"].as_u64().unwrap() >= 3);
    assert_eq!(s["model"]["name"], "tiny-bert");
    assert_eq!(s["model"]["dim"], 32);
    assert_eq!(s["model"]["pooling"], "mean");
    assert_eq!(
        s["failed"][0]["path"],
        papers.dir.join("broken.pdf").to_str().unwrap()
    );
    assert!(s["failed"][0]["error"]
        .as_str()
        .unwrap()
        .starts_with("damaged"));

    let d = json(&medshelf(&lib, m, &["docs", "--json"]));
    let docs = d.as_array().unwrap();
    assert_eq!(docs.len(), 4);
    for doc in docs {
        for field in [
            "path", "paths", "title", "pages", "chunks", "status", "error",
        ] {
            assert!(doc.get(field).is_some(), "missing {field} in {doc}");
        }
        assert!(Path::new(doc["path"].as_str().unwrap()).is_absolute());
    }
    let sepsis = docs
        .iter()
        .find(|d| d["path"] == papers.sepsis.to_str().unwrap())
        .unwrap();
    assert_eq!(
        (sepsis["pages"].as_u64(), sepsis["status"].as_str()),
        (Some(3), Some("indexed"))
    );
    assert_eq!(sepsis["error"], Value::Null);

    let out = medshelf(&lib, m, &["remove", papers.sepsis.to_str().unwrap()]);
    assert!(out.status.success());
    let v = json(&medshelf(&lib, m, &["search", "ferritin", "--json"]));
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["path"] != papers.sepsis.to_str().unwrap()));
    assert_eq!(
        json(&medshelf(&lib, m, &["status", "--json"]))["documents"],
        2
    );
}

#[test]
fn without_a_model_every_output_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let lib = tmp.path().join("lib");
    let out = medshelf(&lib, None, &["index", papers.dir.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keywords only"));
    let v = json(&medshelf(&lib, None, &["search", "ferritin", "--json"]));
    assert_eq!(v["mode"], "lexical");
    assert!(v["notice"].as_str().unwrap().contains("keywords only"));
    let s = json(&medshelf(&lib, None, &["status", "--json"]));
    assert_eq!(s["model"], Value::Null);
    let out = medshelf(&lib, None, &["search", "ferritin", "--mode", "semantic"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an embedding model"));
}

#[test]
fn bad_arguments_and_unusable_libraries_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let out = medshelf(&file, None, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the library") && err.contains("not-a-folder"),
        "{err}"
    );

    let out = medshelf(
        &tmp.path().join("lib"),
        None,
        &["search", "x", "--mode", "fuzzy"],
    );
    assert!(!out.status.success());
    let out = medshelf(
        &tmp.path().join("lib"),
        Some(&tmp.path().join("no-model")),
        &["status"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json is missing"));

    // A missing path is reported and counted; the run itself succeeds.
    let out = medshelf(
        &tmp.path().join("lib"),
        None,
        &["index", tmp.path().join("nowhere").to_str().unwrap()],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed 1"));
}

/// `MEDSHELF_PRECISION` (and `MEDSHELF_INT8=1`, its earlier spelling) chooses the model's
/// arithmetic; unset, a library runs int8 where the CPU has an int8 kernel (AVX2 or
/// AVX512-VNNI) and the calibration check passes, f32 elsewhere. `status` says which and why, a value that is none of these is
/// warned about, and the library indexes and searches as usual.
#[test]
fn precision_is_chosen_by_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let lib = tmp.path().join("lib");
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = crate::support::cli(&lib, Some(&model));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).output().unwrap()
    };
    let status = |env: &[(&str, &str)]| json(&run(env, &["status", "--json"]))["model"].clone();
    let kernel = medshelf::embed::CpuFeatures::detect().int8_kernel();
    let has_kernel = kernel.is_some();
    let f32 = status(&[("MEDSHELF_PRECISION", "f32")]);
    assert_eq!(f32["precision"], "f32");
    assert_eq!(f32["precision_reason"], "MEDSHELF_PRECISION=f32");
    for env in [("MEDSHELF_PRECISION", "int8"), ("MEDSHELF_INT8", "1")] {
        let m = status(&[env]);
        assert_eq!(
            m["precision"],
            if has_kernel { "int8" } else { "f32" },
            "{m}"
        );
        if let Some(kernel) = kernel {
            assert!(
                m["precision_reason"].as_str().unwrap().contains(kernel),
                "{m}"
            );
        }
    }
    let auto = status(&[]);
    let reason = auto["precision_reason"].as_str().unwrap().to_string();
    if has_kernel {
        assert!(reason.contains("calibration"), "{reason}");
        let kept = if reason.contains("runs f32") {
            "f32"
        } else {
            "int8"
        };
        assert_eq!(auto["precision"], kept, "{reason}");
    } else {
        assert_eq!(auto["precision"], "f32");
        assert!(reason.contains("AVX2"), "{reason}");
    }
    let bogus = run(&[("MEDSHELF_PRECISION", "fp16")], &["status"]);
    assert_ran(&bogus);
    let warned = String::from_utf8_lossy(&bogus.stderr);
    assert!(warned.contains("'fp16' is not a precision"), "{warned}");
    assert_ran(&run(&[], &["index", papers.dir.to_str().unwrap()]));
    let status = json(&run(&[], &["status", "--json"]));
    assert_eq!(status["vectors"], status["chunks"], "{status}");
    let v = json(&run(&[], &["search", "serum", "ferritin", "--json"]));
    assert_eq!(v["results"][0]["path"], papers.sepsis.to_str().unwrap());
}

#[test]
fn bench_embed_reports_its_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let texts = tmp.path().join("texts.jsonl");
    let lines: Vec<String> = (0..12)
        .map(|i| {
            serde_json::json!({ "text": format!("patients {i} had fever and sepsis") }).to_string()
        })
        .collect();
    std::fs::write(&texts, lines.join("\n")).unwrap();
    let args = [
        "bench",
        "embed",
        "--texts",
        texts.to_str().unwrap(),
        "--batch",
        "4",
        "--json",
    ];
    let v = json(&medshelf(&tmp.path().join("lib"), Some(&model), &args));
    assert_eq!(v["model"], "tiny-bert");
    assert_eq!(v["chunks"], 12);
    for field in ["chunks_per_s", "tokens_per_s", "query_ms_p50"] {
        assert!(v[field].as_f64().unwrap() > 0.0, "{field} in {v}");
    }
}

#[test]
fn regression_a_closed_pipe_is_not_a_panic() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    // More output than a pipe holds (64 KiB on Linux), so that the writes must meet the closed
    // end: 800 copies of one paper under long names are one document with 800 paths.
    for i in 0..800 {
        let name = format!(
            "{i:03}-{}.pdf",
            "a-long-name-for-a-copy-of-the-sepsis-paper-".repeat(4)
        );
        std::fs::copy(&papers.sepsis, papers.dir.join(name)).unwrap();
    }
    let lib = tmp.path().join("lib");
    assert!(
        medshelf(&lib, None, &["index", papers.dir.to_str().unwrap()])
            .status
            .success()
    );
    let full = medshelf(&lib, None, &["docs", "--json"]);
    assert!(full.stdout.len() > 128 << 10, "{} bytes", full.stdout.len());
    // The reader closes its end at once, as `| head -c0` would.
    let mut child = crate::support::cli(&lib, None)
        .args(["docs", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Ended by SIGPIPE, as `cat` and `grep` are under `| head`: not a panic's exit 101.
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}: {stderr}");
}

#[test]
fn model_import_checks_installs_and_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Cls).unwrap();
    let lib = tmp.path().join("lib");

    // A folder that is not a whole model is refused, naming what is missing, and leaves nothing.
    let broken = tmp.path().join("broken-model");
    write_tiny_model(&broken, Pooling::Mean).unwrap();
    std::fs::remove_file(broken.join("tokenizer.json")).unwrap();
    let out = medshelf(&lib, None, &["model", "import", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tokenizer.json is missing"));
    // Pooling and weights that disagree on dimensions are refused too.
    let mixed = tmp.path().join("mixed-model");
    write_tiny_model(&mixed, Pooling::Mean).unwrap();
    std::fs::write(
        mixed.join("1_Pooling/config.json"),
        r#"{"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true}"#,
    )
    .unwrap();
    let out = medshelf(&lib, None, &["model", "import", mixed.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("says 384 dimensions"));
    assert!(
        !lib.join("models").exists() || std::fs::read_dir(lib.join("models")).unwrap().count() == 0
    );

    let out = medshelf(&lib, None, &["model", "import", model.to_str().unwrap()]);
    assert_ran(&out);
    let listed = json(&medshelf(&lib, None, &["model", "list", "--json"]));
    assert_eq!(listed["models"][0]["name"], "tiny-bert");
    assert_eq!(listed["models"][0]["info"]["pooling"], "cls");
    assert_eq!(
        listed["in_use"],
        lib.join("models/tiny-bert").to_str().unwrap()
    );
    // The library now searches by meaning without --model.
    assert!(
        medshelf(&lib, None, &["index", papers.dir.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(
        json(&medshelf(&lib, None, &["status", "--json"]))["model"]["name"],
        "tiny-bert"
    );
    // A second import of the same name is refused.
    let out = medshelf(&lib, None, &["model", "import", model.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("installed already"));

    // A second model installed changes nothing until `model use`, which re-embeds.
    let other = tmp.path().join("a-second-bert");
    write_tiny_model(&other, Pooling::Mean).unwrap();
    assert_ran(&medshelf(
        &lib,
        None,
        &["model", "import", other.to_str().unwrap()],
    ));
    let listed = json(&medshelf(&lib, None, &["model", "list", "--json"]));
    assert_eq!(
        listed["in_use"],
        lib.join("models/tiny-bert").to_str().unwrap()
    );
    let out = medshelf(&lib, None, &["model", "use", "no-such-model"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("installed: a-second-bert, tiny-bert"));
    let out = medshelf(&lib, None, &["model", "use", "a-second-bert"]);
    assert_ran(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("now uses a-second-bert"));
    let status = json(&medshelf(&lib, None, &["status", "--json"]));
    assert_eq!(status["model"]["name"], "a-second-bert");
    assert_eq!(status["vectors"], status["chunks"]);
    assert_eq!(status["vector_entries"], status["chunks"]);
    let listed = json(&medshelf(&lib, None, &["model", "list", "--json"]));
    assert_eq!(
        listed["in_use"],
        lib.join("models/a-second-bert").to_str().unwrap()
    );
}

#[test]
fn bench_ingest_reports_stages_and_the_ratio_to_embedding_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let out = medshelf(
        &tmp.path().join("lib"),
        Some(&model),
        &["bench", "ingest", papers.dir.to_str().unwrap(), "--json"],
    );
    assert_ran(&out);
    let r = json(&out);
    assert_eq!(r["indexed"], 3);
    assert_eq!(r["pages"], 7);
    assert!(r["chunks"].as_u64().unwrap() >= 7);
    assert!(r["embed_alone_s"].as_f64().unwrap() > 0.0);
    let ratio = r["ratio_to_embed_alone"].as_f64().unwrap();
    assert!(ratio.is_finite() && ratio > 0.0, "{ratio}");
    assert!(r["stages"]["extract"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_search_builds_a_library_of_the_size_asked_once_and_times_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    // A small benchmark in BEIR layout.
    let beir = tmp.path().join("beir");
    std::fs::create_dir_all(beir.join("qrels")).unwrap();
    let corpus: String = (0..7)
        .map(|i| {
            format!(
                "{{\"_id\": \"d{i}\", \"title\": \"Study {i}\", \"text\": \"Serum ferritin and hepcidin in patients with sepsis, cohort {i}. Outcomes at day 28.\"}}\n"
            )
        })
        .collect();
    std::fs::write(beir.join("corpus.jsonl"), corpus).unwrap();
    std::fs::write(
        beir.join("queries.jsonl"),
        "{\"_id\": \"q1\", \"text\": \"ferritin in sepsis\"}\n{\"_id\": \"q2\", \"text\": \"hepcidin\"}\n",
    )
    .unwrap();
    std::fs::write(
        beir.join("qrels/test.tsv"),
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n",
    )
    .unwrap();
    let cache = tmp.path().join("cache");
    let args = [
        "bench",
        "search",
        "--chunks",
        "45",
        "--beir",
        beir.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--json",
    ];
    let first = json(&medshelf(&tmp.path().join("lib"), Some(&model), &args));
    assert_eq!(first["chunks"], 45);
    assert_eq!(first["documents"], 5);
    assert_eq!(first["queries"], 2);
    assert!(first["build_s"].as_f64().is_some());
    assert!(first["p99_ms"].as_f64().unwrap() >= first["p50_ms"].as_f64().unwrap());
    assert!(first["bytes_per_chunk"].as_f64().unwrap() > 0.0);
    // The second run reuses the library.
    let second = json(&medshelf(&tmp.path().join("lib"), Some(&model), &args));
    assert!(second["build_s"].is_null());
    assert_eq!(second["chunks"], 45);
}
