//! Libraries written by earlier versions of MedShelf open, migrate and answer; one written by a
//! newer version is refused with a reason. The fixtures in `tests/fixtures/libraries/` are real
//! catalogs written by those versions (see that folder's README.md).

use std::path::{Path, PathBuf};

use medshelf::{Library, Mode, SearchOptions};

use crate::support::standin_model;

/// A copy of the catalog written at schema `version`, alone in a fresh library folder: the
/// keyword and vector indexes are rebuilt from it.
fn library_at(version: u32, tmp: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/fixtures/libraries/v{version}/catalog.sqlite"
    ));
    let dir = tmp.join(format!("v{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&fixture, dir.join("catalog.sqlite")).unwrap();
    dir
}

#[test]
fn a_schema_4_library_migrates_and_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = library_at(4, tmp.path());
    let lib = Library::open_with(&dir, None).unwrap();
    let status = lib.status().unwrap();
    assert_eq!((status.documents, status.chunks), (3, 49));
    assert_eq!(status.vectors, 49, "vectors kept for a model to use");
    assert_eq!(
        status.lexical_entries, 49,
        "the keyword index rebuilt from stored text"
    );
    assert_eq!(status.failed.len(), 1);
    assert_eq!(lib.folders().unwrap(), [PathBuf::from("/tmp/v4papers")]);
    let paths: Vec<PathBuf> = lib
        .documents()
        .unwrap()
        .into_iter()
        .map(|d| d.path)
        .collect();
    assert!(paths.contains(&PathBuf::from("/tmp/v4papers/procalcitonin-sepsis.pdf")));
    let keyword = SearchOptions {
        mode: Mode::Lexical,
        ..Default::default()
    };
    let hits = lib
        .search("procalcitonin guided discontinuation", &keyword)
        .unwrap();
    assert_eq!(
        hits.results[0].path,
        Path::new("/tmp/v4papers/procalcitonin-sepsis.pdf")
    );
    assert_eq!(hits.results[0].page, 5);
    let holds = lib.searcher().unwrap();
    assert!(holds
        .holds(Path::new("/tmp/v4papers/metformin-kidney.pdf"))
        .unwrap());
    drop(lib);
    // The vectors the older version stored (without checksums) serve the model that made them.
    let Some(model) = standin_model()
        .or_else(|| crate::support::skip("compat", "no stand-in model: run scripts/fetch-model"))
    else {
        return;
    };
    let lib = Library::open(&dir, Some(&model)).unwrap();
    let status = lib.status().unwrap();
    assert_eq!(status.vector_entries, 49);
    let meaning = SearchOptions {
        mode: Mode::Semantic,
        ..Default::default()
    };
    let hits = lib
        .search(
            "stopping antibiotics early guided by a blood marker",
            &meaning,
        )
        .unwrap();
    assert_eq!(
        hits.results[0].path,
        Path::new("/tmp/v4papers/procalcitonin-sepsis.pdf")
    );
}

#[test]
fn a_library_from_a_newer_medshelf_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = library_at(4, tmp.path());
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let err = Library::open_with(&dir, None).err().unwrap();
    assert!(err.to_string().contains("newer MedShelf"), "{err}");
}

#[test]
fn an_upgrade_is_told_before_the_opening_that_does_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = library_at(4, tmp.path());
    assert_eq!(
        Library::pending_upgrade(&dir),
        Some((4, medshelf::catalog::SCHEMA_VERSION))
    );
    // The command line says so on stderr, then answers as ever.
    let out = crate::support::cli(&dir, None)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Upgrading the library") && stderr.contains("(4 to "),
        "{stderr}"
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["documents"], 3);
    // Once done, nothing is pending and nothing more is said.
    assert_eq!(Library::pending_upgrade(&dir), None);
    let again = crate::support::cli(&dir, None)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&again.stderr).contains("Upgrading"));
    // A new folder and a newer library are not upgrades.
    assert_eq!(Library::pending_upgrade(&tmp.path().join("none")), None);
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    assert_eq!(Library::pending_upgrade(&dir), None);
}
