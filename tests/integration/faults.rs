//! Fault injection: bugs of ours tripped by one file, models that answer wrongly, damaged index
//! and catalog files, a second writer. A fault on one file costs that file alone, with a reason;
//! a damaged index is rebuilt from the catalog; nothing is ever answered from damaged data.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use medshelf::library::NoSink;
use medshelf::{Embedder, Library, ModelInfo, Status};

use crate::support::{indexed_library, tiny_library, tiny_model, write_papers};

/// The tiny model with traps: it panics cutting a page that holds one word, panics embedding
/// a passage that holds another, and can drop the last vector of every answer.
struct Trap {
    inner: Arc<dyn Embedder>,
    panic_cutting: &'static str,
    panic_embedding: &'static str,
    drop_last: bool,
}

impl Embedder for Trap {
    fn embed(&self, texts: &[&str]) -> medshelf::Result<Vec<Vec<f32>>> {
        if texts.iter().any(|t| t.contains(self.panic_embedding)) {
            panic!("trap: embedding {}", self.panic_embedding);
        }
        let mut vectors = self.inner.embed(texts)?;
        if self.drop_last {
            vectors.pop();
        }
        Ok(vectors)
    }
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }
    fn token_spans(&self, text: &str) -> Vec<(usize, usize)> {
        if text.contains(self.panic_cutting) {
            panic!("trap: cutting {}", self.panic_cutting);
        }
        self.inner.token_spans(text)
    }
}

fn trapped(tmp: &std::path::Path, trap: impl FnOnce(Arc<dyn Embedder>) -> Trap) -> Library {
    let embedder: Arc<dyn Embedder> = Arc::new(trap(tiny_model(tmp)));
    Library::open_with(&tmp.join("library"), Some(embedder)).unwrap()
}

#[test]
fn a_bug_on_one_file_fails_that_file_and_the_batch_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let mut lib = trapped(tmp.path(), |inner| Trap {
        inner,
        panic_cutting: "ferritin",
        panic_embedding: "budesonide",
        drop_last: false,
    });
    // Embedded before they are stored (`--embed-inline`): a paper the model fails on fails.
    let run = lib
        .index_with(
            std::slice::from_ref(&papers.dir),
            inline(),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!((run.indexed, run.failed), (1, 2), "{run:?}");
    let docs = lib.documents().unwrap();
    let doc = |name: &str| docs.iter().find(|d| d.path.ends_with(name)).unwrap();
    for (name, stage) in [
        ("sepsis.pdf", "cutting it into passages"),
        ("asthma.pdf", "embedding it"),
    ] {
        let d = doc(name);
        assert_eq!(d.status, Status::Failed, "{name}");
        assert_eq!(d.error_code.as_deref(), Some("internal"), "{name}");
        let error = d.error.as_deref().unwrap();
        assert!(
            error.contains(stage) && error.contains("a bug in MedShelf"),
            "{error}"
        );
        assert_eq!(d.chunks, 0, "{name} keeps no passages");
    }
    assert_eq!(doc("diabetes.pdf").status, Status::Indexed);
    let status = lib.status().unwrap();
    assert_eq!(status.lexical_entries, status.chunks);
    assert_eq!(status.vector_entries, status.vectors);
    let hits = lib
        .search("HbA1c metformin", &medshelf::SearchOptions::default())
        .unwrap();
    assert!(hits.results[0].path.ends_with("diabetes.pdf"));
}

fn inline() -> medshelf::library::IndexOptions {
    medshelf::library::IndexOptions {
        embedding: medshelf::library::Embedding::Inline,
        ..Default::default()
    }
}

/// In two phases (the default), papers are stored before the model sees them: a passage the
/// model panics on is kept for keyword search only, and its paper is indexed; the others'
/// passages get their vectors.
#[test]
fn a_passage_the_model_cannot_embed_is_kept_for_keywords_and_its_paper_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let mut lib = trapped(tmp.path(), |inner| Trap {
        inner,
        panic_cutting: "ferritin",
        panic_embedding: "budesonide",
        drop_last: false,
    });
    let run = lib
        .index(
            std::slice::from_ref(&papers.dir),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!((run.indexed, run.failed), (2, 1), "{run:?}");
    let docs = lib.documents().unwrap();
    let doc = |name: &str| docs.iter().find(|d| d.path.ends_with(name)).unwrap();
    assert_eq!(doc("sepsis.pdf").status, Status::Failed);
    assert_eq!(doc("asthma.pdf").status, Status::Indexed);
    let status = lib.status().unwrap();
    assert_eq!(status.vectors_waiting, 0, "{status:?}");
    assert!(status.vectors > 0, "{status:?}");
    assert_eq!(status.vectors + status.reference_passages, status.chunks);
    assert_eq!(status.lexical_entries, status.chunks);
    assert_eq!(status.vector_entries, status.vectors);
    let keyword = medshelf::SearchOptions {
        mode: medshelf::Mode::Lexical,
        ..Default::default()
    };
    let hits = lib.search("budesonide", &keyword).unwrap();
    assert!(hits.results[0].path.ends_with("asthma.pdf"), "{hits:?}");
    let hits = lib.search("HbA1c metformin", &keyword).unwrap();
    assert!(hits.results[0].path.ends_with("diabetes.pdf"));
    // The tiny model's vectors mean nothing; that a meaning search answers is what counts.
    let meaning = medshelf::SearchOptions {
        mode: medshelf::Mode::Semantic,
        ..Default::default()
    };
    assert!(!lib
        .search("HbA1c metformin", &meaning)
        .unwrap()
        .results
        .is_empty());
}

#[test]
fn regression_an_embedder_that_drops_a_vector_fails_the_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let mut lib = trapped(tmp.path(), |inner| Trap {
        inner,
        panic_cutting: "\u{0}never",
        panic_embedding: "\u{0}never",
        drop_last: true,
    });
    let err = lib
        .index_with(
            std::slice::from_ref(&papers.dir),
            inline(),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap_err();
    assert!(err.to_string().contains("vectors for"), "{err}");
    // Nothing was stored without its vector.
    let status = lib.status().unwrap();
    assert_eq!(status.vectors + status.reference_passages, status.chunks);

    // In two phases, the papers are stored first and stay searchable by keywords; the broken
    // model stops the second phase (every passage fails alone too), and the passages wait.
    let other = tmp.path().join("two-phase");
    std::fs::create_dir(&other).unwrap();
    let mut lib = trapped(&other, |inner| Trap {
        inner,
        panic_cutting: "\u{0}never",
        panic_embedding: "\u{0}never",
        drop_last: true,
    });
    let err = lib
        .index(
            std::slice::from_ref(&papers.dir),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap_err();
    assert!(err.to_string().contains("vectors for"), "{err}");
    let status = lib.status().unwrap();
    assert_eq!(status.documents, 3, "{status:?}");
    assert_eq!(status.vectors, 0, "{status:?}");
    assert_eq!(
        status.vectors_waiting + status.reference_passages,
        status.chunks
    );
    let keyword = medshelf::SearchOptions {
        mode: medshelf::Mode::Lexical,
        ..Default::default()
    };
    let hits = lib.search("ferritin", &keyword).unwrap();
    assert_eq!(hits.results[0].path, papers.sepsis);
}

/// Opens the library as a search would and checks that it answers from whole indexes.
fn assert_answers(dir: &Path, tmp: &Path, papers: &crate::support::Papers) {
    let lib = Library::open_with(dir, Some(tiny_model(tmp))).unwrap();
    let status = lib.status().unwrap();
    assert_eq!(status.lexical_entries, status.chunks, "{status:?}");
    assert_eq!(status.vector_entries, status.vectors, "{status:?}");
    assert!(status.repair_pending.is_none(), "{status:?}");
    let keyword = medshelf::SearchOptions {
        mode: medshelf::Mode::Lexical,
        ..Default::default()
    };
    let hits = lib.search("ferritin", &keyword).unwrap();
    assert_eq!(hits.results[0].path, papers.sepsis);
    for r in lib
        .search("glycaemic control", &medshelf::SearchOptions::default())
        .unwrap()
        .results
    {
        assert!(r.score.is_finite(), "{r:?}");
    }
}

/// The keyword index's files with this extension.
fn lexical_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("lexical"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}

#[test]
fn a_damaged_keyword_index_is_set_aside_and_rebuilt_from_the_catalog() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 5] = [
        ("garbage meta.json", |dir| {
            std::fs::write(dir.join("lexical/meta.json"), b"{ not json").unwrap()
        }),
        ("a deleted .idx", |dir| {
            std::fs::remove_file(&lexical_files(dir, "idx")[0]).unwrap()
        }),
        ("an emptied .term", |dir| {
            std::fs::write(&lexical_files(dir, "term")[0], b"").unwrap()
        }),
        ("a truncated .pos", |dir| {
            let pos = &lexical_files(dir, "pos")[0];
            let len = std::fs::metadata(pos).unwrap().len();
            std::fs::File::options()
                .write(true)
                .open(pos)
                .unwrap()
                .set_len(len / 2)
                .unwrap();
        }),
        ("flipped bytes in a .store", |dir| {
            let store = &lexical_files(dir, "store")[0];
            let mut bytes = std::fs::read(store).unwrap();
            for b in bytes.iter_mut().take(40).skip(8) {
                *b ^= 0x5a;
            }
            std::fs::write(store, &bytes).unwrap();
        }),
    ];
    for (what, damage) in damages {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, papers) = indexed_library(tmp.path());
        damage(&dir);
        assert_answers(&dir, tmp.path(), &papers);
        assert!(
            dir.join("lexical.damaged").is_dir(),
            "{what}: the damaged index is kept aside"
        );
        // And the rebuilt index is whole at the next open: nothing is set aside again.
        std::fs::remove_dir_all(dir.join("lexical.damaged")).unwrap();
        assert_answers(&dir, tmp.path(), &papers);
        assert!(!dir.join("lexical.damaged").exists(), "{what}");
    }
}

#[test]
fn bit_rot_in_the_vector_index_or_a_stored_vector_is_caught_and_repaired() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, papers) = indexed_library(tmp.path());
    let file = dir.join("vectors.usearch");
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 400..n - 380] {
        *b = 0xff;
    }
    std::fs::write(&file, &bytes).unwrap();
    assert_answers(&dir, tmp.path(), &papers);
    assert_ne!(
        std::fs::read(&file).unwrap(),
        bytes,
        "rebuilt from the catalog"
    );

    // A damaged vector in the catalog is dropped when the index is rebuilt, and embedded
    // again by the next index run.
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    let (id, mut blob): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT id, vector FROM chunks WHERE vector IS NOT NULL LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    blob[3] ^= 0x10;
    conn.execute(
        "UPDATE chunks SET vector = ?1 WHERE id = ?2",
        rusqlite::params![blob, id],
    )
    .unwrap();
    drop(conn);
    std::fs::remove_file(&file).unwrap();
    let mut lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    let status = lib.status().unwrap();
    assert_eq!(status.vector_entries, status.vectors);
    assert_eq!(
        status.vectors + status.reference_passages + 1,
        status.chunks,
        "the damaged vector is gone"
    );
    lib.index(
        std::slice::from_ref(&papers.dir),
        &NoSink,
        &AtomicBool::new(false),
    )
    .unwrap();
    let status = lib.status().unwrap();
    assert_eq!(status.vectors + status.reference_passages, status.chunks);
    assert_eq!(status.vector_entries, status.vectors);
}

#[test]
fn a_deleted_lock_file_never_admits_a_second_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = tiny_library(tmp.path());
    first.open_for_writing().unwrap();
    let dir = tmp.path().join("library");
    // People delete "stale" lock files; older MedShelf versions kept one here.
    let _ = std::fs::remove_file(dir.join("write.lock"));
    std::fs::write(dir.join("write.lock"), b"").unwrap();
    let mut second = Library::open_with(&dir, None).unwrap();
    assert_eq!(second.open_for_writing().unwrap_err().code(), "locked");
}

#[test]
fn a_second_writer_that_got_in_anyway_is_caught_by_the_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, papers) = indexed_library(tmp.path());
    // What a second writer leaves: a passage the keyword and vector indexes never saw, and
    // the "indexes in step" mark that its own commit wrote.
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    conn.execute_batch(
        "INSERT INTO chunks (document_id, page, start, end, text, vector, semantic)
             SELECT document_id, page, 0, 9, 'zymogenic cascade', NULL, 1 FROM chunks LIMIT 1;
         UPDATE meta SET value = '0' WHERE key = 'indexes_dirty';",
    )
    .unwrap();
    drop(conn);
    let lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    let status = lib.status().unwrap();
    assert_eq!(status.lexical_entries, status.chunks);
    let keyword = medshelf::SearchOptions {
        mode: medshelf::Mode::Lexical,
        ..Default::default()
    };
    let hits = lib.search("zymogenic", &keyword).unwrap();
    assert_eq!(hits.results.len(), 1);
    assert!(papers.dir.exists());
}

#[test]
fn a_damaged_catalog_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("library");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("catalog.sqlite"), vec![0x42u8; 8192]).unwrap();
    let out = crate::support::cli(&dir, None)
        .arg("status")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("move it aside"), "{stderr}");
    // Said once, not once per link of the error chain.
    assert_eq!(stderr.matches("not a database").count(), 1, "{stderr}");
}

/// Runs a bash script in a mount namespace of its own (`unshare -m`), where it may mount a
/// small tmpfs (a disk that fills) or a read-only view of a folder without touching the
/// machine's mounts. `None` where this machine does not allow it.
#[cfg(target_os = "linux")]
fn in_mount_namespace(script: &str, env: &[(&str, &Path)]) -> Option<std::process::Output> {
    let probe = tempfile::tempdir().unwrap();
    let allowed = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs \"$1\"",
            "sh",
        ])
        .arg(probe.path())
        .output()
        .is_ok_and(|o| o.status.success());
    if !allowed {
        return crate::support::skip(
            "mount namespace",
            "unshare -m with mount is not permitted here",
        );
    }
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "bash", "-euo", "pipefail", "-c", script]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("MEDSHELF", env!("CARGO_BIN_EXE_medshelf"))
        .env_remove("MEDSHELF_MODEL")
        .env_remove("MEDSHELF_LIBRARY");
    Some(cmd.output().unwrap())
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_leaves_a_library_that_still_answers_and_says_a_repair_is_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _papers) = indexed_library(tmp.path());
    let root = tmp.path().join("disk");
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    // The library on a small disk; another process holds the catalog open (as a running
    // MedShelf would, so SQLite's shared-memory file exists); the vector index is gone, so
    // opening wants to rebuild it; then the disk fills up.
    let script = r#"
        mount -t tmpfs -o size=24m tmpfs "$ROOT"
        cp -a "$SRC" "$ROOT/lib"
        python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1]); c.execute("SELECT COUNT(*) FROM meta").fetchone()
open(sys.argv[2], "w").close(); time.sleep(60)' \
            "$ROOT/lib/catalog.sqlite" "$OUT/held" &
        holder=$!
        # The disk fills only once the holder has the catalog open (its shared-memory file
        # made): a fixed pause was too short for a loaded machine.
        for _ in $(seq 300); do [ -e "$OUT/held" ] && break; sleep 0.1; done
        [ -e "$OUT/held" ] || { echo "the holder never opened the catalog" >&2; exit 1; }
        rm "$ROOT/lib/vectors.usearch"
        dd if=/dev/zero of="$ROOT/filler" bs=64k 2>/dev/null || true
        for cmd in "status --json" "search ferritin --json" "docs --json"; do
            name=${cmd%% *}
            "$MEDSHELF" --library "$ROOT/lib" --model "$MODEL" $cmd > "$OUT/$name.json" 2> "$OUT/$name.err" \
                || echo "$name failed" >> "$OUT/failed"
        done
        kill $holder
    "#;
    let model = tmp.path().join("tiny-bert");
    let Some(out) = in_mount_namespace(
        script,
        &[
            ("ROOT", &root),
            ("SRC", &dir),
            ("OUT", &out_dir),
            ("MODEL", &model),
        ],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap_or_default();
    assert!(
        !out_dir.join("failed").exists(),
        "{}: {} {} {}",
        read("failed"),
        read("status.err"),
        read("search.err"),
        read("docs.err")
    );
    let status: serde_json::Value = serde_json::from_str(&read("status.json")).unwrap();
    assert!(status["repair_pending"].is_string(), "{status}");
    assert!(
        status["notice"].as_str().unwrap().contains("repair"),
        "{status}"
    );
    let hits: serde_json::Value = serde_json::from_str(&read("search.json")).unwrap();
    assert!(
        hits["results"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("sepsis.pdf"),
        "{hits}"
    );
    assert!(
        hits["notice"].as_str().unwrap().contains("repair"),
        "{hits}"
    );
    let docs: serde_json::Value = serde_json::from_str(&read("docs.json")).unwrap();
    assert_eq!(docs.as_array().unwrap().len(), 3);
}

#[cfg(target_os = "linux")]
#[test]
fn a_library_on_read_only_storage_is_searched() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _papers) = indexed_library(tmp.path());
    let view = tmp.path().join("view");
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&view).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let script = r#"
        mount --bind "$SRC" "$VIEW"
        mount -o remount,bind,ro "$VIEW"
        "$MEDSHELF" --library "$VIEW" --model "$MODEL" search ferritin --json > "$OUT/search.json"
        "$MEDSHELF" --library "$VIEW" --model "$MODEL" status --json > "$OUT/status.json"
        ! "$MEDSHELF" --library "$VIEW" --model "$MODEL" index "$VIEW" 2> "$OUT/index.err"
    "#;
    let model = tmp.path().join("tiny-bert");
    let Some(out) = in_mount_namespace(
        script,
        &[
            ("SRC", &dir),
            ("VIEW", &view),
            ("OUT", &out_dir),
            ("MODEL", &model),
        ],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();
    let hits: serde_json::Value = serde_json::from_str(&read("search.json")).unwrap();
    assert!(
        hits["results"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("sepsis.pdf"),
        "{hits}"
    );
    let status: serde_json::Value = serde_json::from_str(&read("status.json")).unwrap();
    assert_eq!(status["lexical_entries"], status["chunks"]);
    // Writing says why it cannot, in words.
    assert!(
        read("index.err").contains("read-only storage"),
        "{}",
        read("index.err")
    );
}
