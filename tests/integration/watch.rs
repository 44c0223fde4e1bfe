//! `medshelf watch`: PDFs added, changed, renamed and deleted in a watched folder are reflected.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use medshelf::fixtures::{write_pdf, write_tiny_model, FixturePage};
use medshelf::Pooling;

use crate::robustness::wait_for_line;
use crate::support::{cli, cli_json, library_paths, write_papers};

/// Polls until `check` holds (20 s at most).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what} was never seen");
}

fn paths(lib: &Path, model: &Path) -> Vec<String> {
    library_paths(lib, Some(model))
}

fn top_path(lib: &Path, model: &Path, query: &str) -> Option<String> {
    let v = cli_json(
        lib,
        Some(model),
        &["search", query, "--mode", "lexical", "--json"],
    );
    v["results"][0]["path"].as_str().map(str::to_string)
}

#[test]
fn added_changed_renamed_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let lib = tmp.path().join("lib");
    let mut watcher = cli(&lib, Some(&model))
        .arg("watch")
        .arg(&papers.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_line(&mut watcher, "watching");
    assert_eq!(
        paths(&lib, &model).len(),
        3,
        "the catch-up indexed the folder"
    );

    let added = papers.dir.join("added.pdf");
    write_pdf(
        &added,
        Some("Lithium in bipolar disorder"),
        &[FixturePage::text(&[
            "Lithium reduced suicide in bipolar disorder.",
        ])],
    )
    .unwrap();
    let added_s = added.to_str().unwrap().to_string();
    eventually("the added paper", || {
        top_path(&lib, &model, "lithium").as_deref() == Some(&added_s)
    });

    write_pdf(
        &added,
        Some("Valproate in bipolar disorder"),
        &[FixturePage::text(&["Valproate prevented mania relapses."])],
    )
    .unwrap();
    eventually("the changed paper", || {
        top_path(&lib, &model, "valproate").as_deref() == Some(&added_s)
            && top_path(&lib, &model, "lithium").is_none()
    });

    let renamed = papers.dir.join("renamed.pdf");
    std::fs::rename(&added, &renamed).unwrap();
    let renamed_s = renamed.to_str().unwrap().to_string();
    eventually("the rename", || {
        let p = paths(&lib, &model);
        p.contains(&renamed_s) && !p.contains(&added_s)
    });

    std::fs::remove_file(&renamed).unwrap();
    eventually("the deletion", || {
        !paths(&lib, &model).contains(&renamed_s) && top_path(&lib, &model, "valproate").is_none()
    });
    watcher.kill().unwrap();
    watcher.wait().unwrap();
}

/// The app re-indexed and re-searched about once a second while idle: the watcher took
/// MedShelf's own reads of a followed folder (open, read, close) for changes. Reads and a
/// library inside the folder are not changes; a new PDF is, once.
#[test]
fn reading_a_followed_folder_is_not_a_change() {
    use medshelf::watch::{Changes, FolderWatcher};
    use std::sync::{Arc, Mutex};

    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let library = papers.dir.join("library");
    std::fs::create_dir(&library).unwrap();
    let seen: Arc<Mutex<Vec<Changes>>> = Arc::default();
    let sink = seen.clone();
    let mut watcher = FolderWatcher::start(vec![library.clone()], move |changes| {
        sink.lock().unwrap().push(changes)
    })
    .unwrap();
    watcher.follow(&papers.dir).unwrap();

    // What MedShelf does all day: read the papers (hashing, the viewer), write its own files.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        for entry in std::fs::read_dir(&papers.dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let _ = std::fs::read(&path).unwrap();
            }
        }
        std::fs::write(library.join("catalog.sqlite-wal"), b"x").unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(medshelf::watch::DEBOUNCE * 2);
    assert_eq!(
        *seen.lock().unwrap(),
        Vec::<Changes>::new(),
        "reads are no changes"
    );

    let added = papers.dir.join("added.pdf");
    write_pdf(&added, None, &[FixturePage::text(&["Lithium in mania."])]).unwrap();
    eventually("the added paper", || !seen.lock().unwrap().is_empty());
    std::thread::sleep(medshelf::watch::DEBOUNCE * 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one settled batch: {seen:?}");
    assert_eq!(seen[0].present, vec![added]);
}

/// A watch that cannot follow its folder ends with the reason and a failure status, instead of
/// waiting forever with nothing followed.
#[test]
fn a_folder_that_cannot_be_followed_ends_the_watch_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let lib = tmp.path().join("lib");
    let missing = tmp.path().join("no such folder");
    let out = cli(&lib, Some(&model))
        .arg("watch")
        .arg(&missing)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no such folder"), "{stderr}");
}
