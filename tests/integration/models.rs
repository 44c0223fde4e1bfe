//! Hostile and mistaken model folders: each is refused with a reason at import or load, never
//! a panic, a hang, a full disk or a library that mixes two models' vectors.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use medshelf::fixtures::write_tiny_model;
use medshelf::Pooling;

use crate::support::{assert_ran, cli, cli_json, write_papers};

fn medshelf(lib: &Path, model: Option<&Path>, args: &[&str]) -> Output {
    cli(lib, model).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Rewrites one field of a model folder's config.json.
fn set_config(model: &Path, key: &str, value: serde_json::Value) {
    let path = model.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config[key] = value;
    std::fs::write(&path, config.to_string()).unwrap();
}

#[test]
fn configurations_the_encoder_cannot_run_are_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let cases: [(&str, serde_json::Value, &str); 4] = [
        ("num_attention_heads", 0.into(), "num_attention_heads as 0"),
        (
            "num_attention_heads",
            3.into(),
            "not a multiple of num_attention_heads",
        ),
        (
            "max_position_embeddings",
            0.into(),
            "max_position_embeddings as 0",
        ),
        (
            "vocab_size",
            20.into(),
            "word pieces but config.json's model only 20",
        ),
    ];
    for (i, (key, value, said)) in cases.into_iter().enumerate() {
        let model = tmp.path().join(format!("model-{i}"));
        write_tiny_model(&model, Pooling::Mean).unwrap();
        set_config(&model, key, value);
        // Every command that loads it says why, and nothing panics.
        let out = medshelf(&lib, Some(&model), &["status"]);
        assert_eq!(out.status.code(), Some(2), "{key}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{key}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        let out = medshelf(&lib, None, &["model", "import", model.to_str().unwrap()]);
        assert!(stderr(&out).contains(said), "{key}: {}", stderr(&out));
    }
    assert!(
        !lib.join("models").exists() || std::fs::read_dir(lib.join("models")).unwrap().count() == 0
    );
}

#[cfg(unix)]
#[test]
fn import_copies_the_model_files_only_and_follows_no_link_out_of_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let model = tmp.path().join("linked-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    // A loop, a link to a system file, and a stray file: none of them is a model file.
    std::os::unix::fs::symlink(&model, model.join("loop")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", model.join("notes.txt")).unwrap();
    std::fs::write(model.join("training-log.txt"), b"epoch 1").unwrap();
    let out = medshelf(&lib, None, &["model", "import", model.to_str().unwrap()]);
    assert_ran(&out);
    let installed = lib.join("models/linked-bert");
    let mut names: Vec<String> = walk(&installed);
    names.sort();
    assert_eq!(
        names,
        [
            "1_Pooling/config.json",
            "config.json",
            "model.safetensors",
            "modules.json",
            "sentence_bert_config.json",
            "tokenizer.json",
        ]
        .iter()
        .filter(|n| installed.join(n).exists())
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
    );
    assert!(!installed.join("notes.txt").exists() && !installed.join("loop").exists());
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for inner in walk(&path) {
                out.push(format!(
                    "{}/{inner}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        } else {
            out.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    out
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_path_out_of_the_folder_never_hangs_or_escapes() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let model = tmp.path().join("fifo-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let pooling = model.join("1_Pooling/config.json");
    std::fs::remove_file(&pooling).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&pooling)
        .status()
        .unwrap();
    assert!(made.success());
    let started = Instant::now();
    let mut child = cli(&lib, Some(&model))
        .arg("status")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("a FIFO in the model folder hung `status`");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );

    let escaping = tmp.path().join("escaping-bert");
    write_tiny_model(&escaping, Pooling::Mean).unwrap();
    std::fs::write(
        escaping.join("modules.json"),
        r#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "../../elsewhere", "type": "sentence_transformers.models.Pooling"}]"#,
    )
    .unwrap();
    let out = medshelf(&lib, Some(&escaping), &["status"]);
    assert!(
        stderr(&out).contains("outside the model folder"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_model_is_known_by_its_weights_not_its_folder_name() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let lib = tmp.path().join("lib");
    let first = tmp.path().join("a/tiny-bert");
    let second = tmp.path().join("b/tiny-bert");
    write_tiny_model(&first, Pooling::Mean).unwrap();
    write_tiny_model(&second, Pooling::Mean).unwrap();
    // Same name, same dimensions, other weights.
    change_a_weight(&second);

    // Opening a new library with a model does not bind it to that model ...
    assert_ran(&medshelf(&lib, Some(&second), &["status"]));
    // ... writing its first vector does.
    assert_ran(&medshelf(
        &lib,
        Some(&first),
        &["index", papers.dir.to_str().unwrap()],
    ));
    let out = medshelf(&lib, Some(&second), &["search", "ferritin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("other weights"), "{}", stderr(&out));
    // The refusal is typed: the app takes an imported copy back out on this error alone.
    let opened = medshelf::Library::open_with(
        &lib,
        Some(std::sync::Arc::new(
            medshelf::BertEmbedder::load(&second).unwrap(),
        )),
    );
    assert_eq!(opened.err().map(|e| e.code()), Some("model_mismatch"));
    // The same weights in a folder of another name are the same model.
    let renamed = tmp.path().join("c/renamed-bert");
    std::fs::create_dir_all(renamed.parent().unwrap()).unwrap();
    copy_tree(&first, &renamed);
    let hits = cli_json(&lib, Some(&renamed), &["search", "ferritin", "--json"]);
    assert_eq!(hits["results"][0]["path"], papers.sepsis.to_str().unwrap());
}

/// The app opens its library with the model loading beside the indexes: the right model
/// searches by meaning, a model that does not load or whose weights are not the vectors' leaves
/// the library searching by keywords, with a reason that says which.
#[test]
fn the_app_opens_by_keywords_where_the_model_fails_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let lib = tmp.path().join("lib");
    let model = tmp.path().join("a/tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    assert_ran(&medshelf(
        &lib,
        Some(&model),
        &["index", papers.dir.to_str().unwrap()],
    ));
    let search = |library: &medshelf::Library| {
        let opts = medshelf::SearchOptions::default();
        library.search("ferritin", &opts).unwrap()
    };

    let (library, why) = medshelf::Library::open_or_keywords(&lib, Some(model.clone())).unwrap();
    assert_eq!(why, None);
    let hits = search(&library);
    assert_eq!(hits.results[0].path, papers.sepsis);
    assert_eq!(hits.notice, None, "the right model searches by meaning too");
    assert!(library.status().unwrap().model.is_some());
    drop(library);

    // Weights that do not load.
    let broken = tmp.path().join("b/tiny-bert");
    copy_tree(&model, &broken);
    std::fs::write(broken.join("model.safetensors"), b"not weights").unwrap();
    let (library, why) = medshelf::Library::open_or_keywords(&lib, Some(broken)).unwrap();
    let why = why.expect("a reason");
    assert!(why.contains("could not be loaded"), "{why}");
    assert!(why.contains("keywords only"), "{why}");
    let hits = search(&library);
    assert_eq!(hits.results[0].path, papers.sepsis);
    assert!(hits.notice.unwrap().contains("keywords only"));
    drop(library);

    // Weights that load but are not the ones the vectors came from.
    let other = tmp.path().join("c/tiny-bert");
    copy_tree(&model, &other);
    change_a_weight(&other);
    let (library, why) = medshelf::Library::open_or_keywords(&lib, Some(other)).unwrap();
    let why = why.expect("a reason");
    assert!(why.contains("other weights"), "{why}");
    assert!(!why.contains("could not be loaded"), "{why}");
    assert_eq!(search(&library).results[0].path, papers.sepsis);
}

/// Changes one weight of a model folder's last tensor: the same model in every other way.
fn change_a_weight(model: &Path) {
    let weights = model.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let n = bytes.len();
    bytes[n - 2] ^= 0x01;
    std::fs::write(&weights, &bytes).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}
