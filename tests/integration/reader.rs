//! What can happen to a file and to the PDF reader while a library is indexed: the idle worker
//! killed, a worker killed mid-file, a file rewritten while it is read, a sparse 600 MB file,
//! names that are not UTF-8 or that hold a newline.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use medshelf::extract::{ExtractError, Extracted, Extractor, InProcessExtractor, WorkerExtractor};
use medshelf::fixtures::{write_pdf, write_tiny_model, FixturePage};
use medshelf::library::NoSink;
use medshelf::{Library, Pooling};

use crate::robustness::wait_for_line;
use crate::support::{assert_ran, cli, cli_json, library_paths, tiny_library, write_papers};

/// The process ids of `parent`'s children whose command line holds `arg`.
fn children_with(parent: u32, arg: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent's pid is the second field after the command's closing parenthesis.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(parent) && String::from_utf8_lossy(&cmdline).contains(arg) {
            found.push(pid);
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn killing_the_idle_pdf_worker_costs_nothing() {
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
    // The workers (one per core, up to four) read the three papers and now wait for the next
    // one: an out-of-memory kill lands exactly there.
    let workers = children_with(watcher.id(), "extract-worker");
    assert!(
        (1..=medshelf::extract::default_workers()).contains(&workers.len()),
        "idle workers: {workers:?}"
    );
    for worker in workers {
        // SAFETY: a signal to a child process of this test.
        unsafe { libc::kill(worker, libc::SIGKILL) };
    }
    std::thread::sleep(Duration::from_millis(300));
    let added = papers.dir.join("added.pdf");
    write_pdf(
        &added,
        Some("Zinc in the common cold"),
        &[FixturePage::text(&[
            "Zinc lozenges shortened the common cold.",
        ])],
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !library_paths(&lib, Some(&model)).contains(&added.to_string_lossy().into_owned()) {
        assert!(
            watcher.try_wait().unwrap().is_none(),
            "watch died: {:?}",
            watcher.try_wait()
        );
        assert!(Instant::now() < deadline, "the new paper was never indexed");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
}

#[cfg(unix)]
#[test]
fn a_worker_killed_mid_file_is_given_the_file_again() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let mark = tmp.path().join("killed-once");
    // The first worker is killed as it reads the file (by the system, say); the next is real.
    let script = format!(
        "if [ -e '{mark}' ]; then exec '{exe}' extract-worker; fi; touch '{mark}'; read line; kill -9 $$",
        mark = mark.display(),
        exe = env!("CARGO_BIN_EXE_medshelf"),
    );
    let worker = WorkerExtractor::new("sh", &["-c", &script]);
    let text = worker.extract(&papers.sepsis).unwrap();
    assert_eq!(text.pages.len(), 3);
    // A worker that dies on the file every time is a verdict on the file.
    let always = WorkerExtractor::new("sh", &["-c", "read line; kill -9 $$"]);
    let err = always.extract(&papers.sepsis).unwrap_err();
    assert!(err.to_string().contains("more memory"), "{err}");
}

/// Reads a file, then rewrites it with other content once, as an editor saving over a paper
/// being indexed would.
struct RewrittenWhileRead {
    replacement: Vec<u8>,
    done: std::sync::Mutex<bool>,
}

impl Extractor for RewrittenWhileRead {
    fn extract(&self, path: &Path) -> Result<Extracted, ExtractError> {
        let read = InProcessExtractor.extract(path);
        let mut done = self.done.lock().unwrap();
        if !*done {
            *done = true;
            // A later modification time, whatever the clock's resolution.
            std::thread::sleep(Duration::from_millis(20));
            std::fs::write(path, &self.replacement).unwrap();
        }
        read
    }
}

#[test]
fn a_file_rewritten_while_it_is_read_is_stored_with_its_own_text() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let paper = papers.dir.join("draft.pdf");
    std::fs::copy(&papers.sepsis, &paper).unwrap();
    let before = std::fs::read(&papers.sepsis).unwrap();
    let after = std::fs::read(&papers.diabetes).unwrap();
    let mut lib = tiny_library(tmp.path());
    lib.set_extractor(Box::new(RewrittenWhileRead {
        replacement: after.clone(),
        done: Default::default(),
    }));
    lib.index(
        std::slice::from_ref(&paper),
        &NoSink,
        &AtomicBool::new(false),
    )
    .unwrap();
    // The paper holds the text of the version whose bytes it is filed under.
    let keyword = medshelf::SearchOptions {
        mode: medshelf::Mode::Lexical,
        ..Default::default()
    };
    let hits = lib.search("HbA1c", &keyword).unwrap();
    assert_eq!(hits.results.len(), 1);
    assert_eq!(hits.results[0].path, paper);
    assert!(lib.search("ferritin", &keyword).unwrap().results.is_empty());
    // A clean copy of the first version is read, not linked to the second's text.
    let copy = papers.dir.join("copy-of-first.pdf");
    std::fs::write(&copy, &before).unwrap();
    lib.set_extractor(Box::new(InProcessExtractor));
    lib.index(
        std::slice::from_ref(&copy),
        &NoSink,
        &AtomicBool::new(false),
    )
    .unwrap();
    let hits = lib.search("ferritin", &keyword).unwrap();
    assert_eq!(hits.results[0].path, copy);
}

#[test]
fn a_file_over_the_size_cap_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let huge = tmp.path().join("papers/huge.pdf");
    std::fs::create_dir_all(huge.parent().unwrap()).unwrap();
    // Sparse: 600 MB on paper, nothing on disk; hashing it would read all of it.
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(600 << 20).unwrap();
    drop(file);
    let lib = tmp.path().join("lib");
    let started = Instant::now();
    let summary = cli_json(&lib, None, &["index", "--json", huge.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(summary["failed"], 1);
    assert!(summary["failures"][0]["error"]
        .as_str()
        .unwrap()
        .contains("too large"));
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_are_indexed_and_listed() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let folder = tmp.path().join(latin1);
    std::fs::create_dir_all(&folder).unwrap();
    let paper = folder.join(std::ffi::OsStr::from_bytes(b"r\xe9sum\xe9.pdf"));
    std::fs::copy(&papers.sepsis, &paper).unwrap();
    // The library itself lives under a name that is not UTF-8 too.
    let lib = tmp
        .path()
        .join(std::ffi::OsStr::from_bytes(b"biblioth\xe8que"));
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let out = cli(&lib, Some(&model))
        .args(["index", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    assert_ran(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["indexed"], 1, "{summary}");
    let hits = cli(&lib, Some(&model))
        .args(["search", "ferritin", "--json"])
        .output()
        .unwrap();
    assert_ran(&hits);
    let hits: serde_json::Value = serde_json::from_slice(&hits.stdout).unwrap();
    assert_eq!(
        hits["results"][0]["path"].as_str().unwrap(),
        paper.to_string_lossy()
    );
    // The library knows the file by its exact bytes.
    let library = Library::open_with(&lib, None).unwrap();
    assert!(library.searcher().unwrap().holds(&paper).unwrap());
    drop(library);
    // A second run finds it unchanged: the stored name is the name on disk.
    let out = cli(&lib, Some(&model))
        .args(["index", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (again["indexed"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn a_newline_in_a_folder_name_never_widens_what_the_library_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    // A folder named "x\n" holding a path that, split at the newline, would name another file.
    let elsewhere: PathBuf = tmp.path().join("elsewhere/secret.pdf");
    let crafted = PathBuf::from(format!(
        "{}/x\n{}",
        tmp.path().display(),
        elsewhere.display()
    ));
    std::fs::create_dir_all(crafted.parent().unwrap()).unwrap();
    std::fs::copy(&papers.sepsis, &crafted).unwrap();
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::copy(&papers.asthma, &elsewhere).unwrap();
    let lib = tmp.path().join("lib");
    let summary = cli_json(&lib, None, &["index", "--json", crafted.to_str().unwrap()]);
    assert_eq!(summary["indexed"], 1);
    let listed = library_paths(&lib, None);
    assert_eq!(listed, [crafted.to_str().unwrap()]);
    let library = Library::open_with(&lib, None).unwrap();
    let searcher = library.searcher().unwrap();
    assert!(searcher.holds(&crafted).unwrap());
    assert!(!searcher.holds(&elsewhere).unwrap());
}

/// Counts how many files are read at once, reading slowly enough that readers overlap.
struct Overlapping {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl Extractor for Overlapping {
    fn extract(&self, path: &Path) -> Result<Extracted, ExtractError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        std::thread::sleep(Duration::from_millis(60));
        let read = InProcessExtractor.extract(path);
        self.now.fetch_sub(1, SeqCst);
        read
    }

    fn readers(&self) -> usize {
        2
    }
}

/// With two readers, an index run reads two files at once (issue 18: both cores read PDFs in
/// the first phase), and stores exactly what one reader would: every paper, each with its own
/// text; a second run reads nothing.
#[test]
fn two_readers_read_ahead_and_the_library_is_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    for i in 0..6 {
        write_pdf(
            &papers.dir.join(format!("extra-{i}.pdf")),
            Some(&format!("Extra paper {i}")),
            &[FixturePage::text(&[&format!(
                "Paper number {i} reports outcome{i} in cohort{i}."
            )])],
        )
        .unwrap();
    }
    std::fs::create_dir_all(tmp.path().join("one")).unwrap();
    std::fs::create_dir_all(tmp.path().join("two")).unwrap();
    let reference = {
        let mut lib = tiny_library(&tmp.path().join("one"));
        lib.index(
            std::slice::from_ref(&papers.dir),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
        lib.status().unwrap()
    };
    let overlapping = Overlapping {
        now: Default::default(),
        most: Default::default(),
    };
    let counter = std::sync::Arc::new(overlapping);
    struct Shared(std::sync::Arc<Overlapping>);
    impl Extractor for Shared {
        fn extract(&self, path: &Path) -> Result<Extracted, ExtractError> {
            self.0.extract(path)
        }
        fn readers(&self) -> usize {
            self.0.readers()
        }
    }
    let mut lib = tiny_library(&tmp.path().join("two"));
    lib.set_extractor(Box::new(Shared(counter.clone())));
    let run = lib
        .index(
            std::slice::from_ref(&papers.dir),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(run.indexed, 9, "{run:?}");
    let most = counter.most.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(most, 2, "files read at once");
    let status = lib.status().unwrap();
    assert_eq!(
        (status.documents, status.chunks, status.vectors),
        (reference.documents, reference.chunks, reference.vectors)
    );
    let keyword = medshelf::SearchOptions {
        mode: medshelf::Mode::Lexical,
        ..Default::default()
    };
    for i in 0..6 {
        let hits = lib.search(&format!("outcome{i}"), &keyword).unwrap();
        assert!(
            hits.results[0].path.ends_with(format!("extra-{i}.pdf")),
            "{i}: {hits:?}"
        );
    }
    let again = lib
        .index(
            std::slice::from_ref(&papers.dir),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!((again.indexed, again.unchanged), (0, 9), "{again:?}");
}
