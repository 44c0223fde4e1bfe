//! The library over generated papers with the tiny model: incremental indexing, duplicates,
//! changes, removal from all three stores, repair after a crash, and keyword-only libraries.

use std::sync::atomic::AtomicBool;

use medshelf::library::NoSink;
use medshelf::{Library, Mode, SearchOptions, Status};

use crate::support::{indexed_library, tiny_library, tiny_model, write_papers};

fn opts(mode: Mode) -> SearchOptions {
    SearchOptions {
        mode,
        ..SearchOptions::default()
    }
}

#[test]
fn index_search_reindex_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let mut lib = tiny_library(tmp.path());
    let no = AtomicBool::new(false);

    let first = lib
        .index(std::slice::from_ref(&papers.dir), &NoSink, &no)
        .unwrap();
    assert_eq!((first.indexed, first.unchanged, first.failed), (3, 0, 0));
    assert_eq!(first.pages, 7);

    let hits = lib.search("ferritin", &opts(Mode::Lexical)).unwrap();
    assert_eq!(hits.results[0].path, papers.sepsis);
    assert_eq!(hits.results[0].page, 2);
    assert!(
        hits.results[0].snippet.contains("<mark>ferritin</mark>"),
        "{}",
        hits.results[0].snippet
    );
    let hits = lib.search("HbA1c", &opts(Mode::Lexical)).unwrap();
    assert_eq!(
        (hits.results[0].path.clone(), hits.results[0].page),
        (papers.diabetes.clone(), 2)
    );
    // The tiny model's random vectors weigh as much as the keywords in hybrid mode, so only
    // the keyword hit's presence is certain here; real models are checked in `papers`.
    let hits = lib.search("HbA1c", &opts(Mode::Hybrid)).unwrap();
    let diabetes = hits
        .results
        .iter()
        .find(|r| r.path == papers.diabetes)
        .unwrap();
    assert_eq!(diabetes.page, 2);
    // The tiny model's vectors are random, but a passage is always its own nearest neighbour.
    let exact = "Weight was stable and hypoglycaemia was rare.";
    let hits = lib.search(exact, &opts(Mode::Semantic)).unwrap();
    assert_eq!(hits.results[0].path, papers.diabetes);

    // A second run does no work.
    let again = lib
        .index(std::slice::from_ref(&papers.dir), &NoSink, &no)
        .unwrap();
    assert_eq!((again.indexed, again.unchanged), (0, 3));
    assert_eq!(again.stages.extract, 0.0);

    // The same content under another path is one document with two paths, read once.
    let copy = tmp.path().join("copy-of-sepsis.pdf");
    std::fs::copy(&papers.sepsis, &copy).unwrap();
    let dup = lib
        .index(std::slice::from_ref(&copy), &NoSink, &no)
        .unwrap();
    assert_eq!((dup.indexed, dup.unchanged), (0, 1));
    let docs = lib.documents().unwrap();
    assert_eq!(docs.len(), 3);
    let sepsis = docs
        .iter()
        .find(|d| d.paths.contains(&papers.sepsis))
        .unwrap();
    assert_eq!(sepsis.paths.len(), 2);

    // Removing one path keeps the paper; removing the other takes it out of every store.
    let status = lib.status().unwrap();
    lib.remove(std::slice::from_ref(&papers.sepsis)).unwrap();
    assert_eq!(lib.status().unwrap().chunks, status.chunks);
    lib.remove(&[copy]).unwrap();
    let after = lib.status().unwrap();
    assert_eq!(after.documents, 2);
    assert!(after.chunks < status.chunks);
    assert_eq!(after.vectors, after.chunks);
    assert!(lib
        .search("ferritin", &opts(Mode::Lexical))
        .unwrap()
        .results
        .is_empty());
    let semantic = lib
        .search(
            "Serum ferritin above 4000 ng/mL predicted death within 28 days.",
            &opts(Mode::Semantic),
        )
        .unwrap();
    assert!(semantic.results.iter().all(|r| r.path != papers.sepsis));
}

#[test]
fn a_changed_file_replaces_its_passages() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let mut lib = tiny_library(tmp.path());
    let no = AtomicBool::new(false);
    lib.index(std::slice::from_ref(&papers.dir), &NoSink, &no)
        .unwrap();
    // Overwrite asthma.pdf with other content.
    medshelf::fixtures::write_pdf(
        &papers.asthma,
        Some("Bronchiolitis in infants"),
        &[medshelf::fixtures::FixturePage::text(&[
            "Nebulised saline shortened the stay of infants with bronchiolitis.",
        ])],
    )
    .unwrap();
    let run = lib
        .index(std::slice::from_ref(&papers.dir), &NoSink, &no)
        .unwrap();
    assert_eq!((run.indexed, run.unchanged), (1, 2));
    assert!(lib
        .search("budesonide", &opts(Mode::Lexical))
        .unwrap()
        .results
        .is_empty());
    let hits = lib
        .search("bronchiolitis saline", &opts(Mode::Lexical))
        .unwrap();
    assert_eq!(hits.results[0].path, papers.asthma);
    assert_eq!(
        hits.results[0].title.as_deref(),
        Some("Bronchiolitis in infants")
    );
    assert_eq!(lib.documents().unwrap().len(), 3);
}

#[test]
fn lost_indexes_are_rebuilt_from_the_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let no = AtomicBool::new(false);
    let dir = tmp.path().join("library");
    {
        let mut lib = tiny_library(tmp.path());
        lib.index(std::slice::from_ref(&papers.dir), &NoSink, &no)
            .unwrap();
    }
    // As after a crash between the catalog's commit and the indexes' saves.
    std::fs::remove_dir_all(dir.join("lexical")).unwrap();
    std::fs::remove_file(dir.join("vectors.usearch")).unwrap();
    let mut lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    lib.open_for_writing().unwrap();
    let hits = lib.search("ferritin", &opts(Mode::Hybrid)).unwrap();
    assert_eq!(hits.results[0].path, papers.sepsis);
    let status = lib.status().unwrap();
    assert_eq!(status.vectors, status.chunks);
    let exact = "Weight was stable and hypoglycaemia was rare.";
    assert_eq!(
        lib.search(exact, &opts(Mode::Semantic)).unwrap().results[0].path,
        papers.diabetes
    );
}

/// The keyword index's segment files, by name.
fn segment_files(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(dir.join("lexical"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".idx"))
        .collect()
}

#[test]
fn a_keyword_index_an_older_analyzer_built_is_rebuilt_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, papers) = indexed_library(tmp.path());
    let built = segment_files(&dir);
    // As a library an earlier MedShelf indexed: its state records no analyzer version.
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    let state: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'index_state'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        state["analyzer"],
        medshelf::index::analysis::ANALYZER_VERSION,
        "a new library records the analyzer that built its keyword index"
    );
    state.as_object_mut().unwrap().remove("analyzer");
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'index_state'",
        [state.to_string()],
    )
    .unwrap();
    drop(conn);
    let lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    let rebuilt = segment_files(&dir);
    assert!(
        rebuilt.is_disjoint(&built),
        "the index is built anew: {built:?} then {rebuilt:?}"
    );
    assert!(
        !dir.join("lexical.damaged").exists(),
        "an index that was only outdated is not kept aside"
    );
    let status = lib.status().unwrap();
    assert_eq!(status.lexical_entries, status.chunks);
    let hits = lib.search("ferritin", &opts(Mode::Lexical)).unwrap();
    assert_eq!(hits.results[0].path, papers.sepsis);
    drop(lib);
    // Once: the next opening finds it current.
    drop(Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap());
    assert_eq!(segment_files(&dir), rebuilt);
}

#[test]
fn a_catalog_change_the_indexes_missed_is_repaired_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, papers) = indexed_library(tmp.path());
    let catalog = medshelf::catalog::Catalog::open(&dir.join("catalog.sqlite")).unwrap();
    // Closed cleanly: the catalog says its indexes are in step.
    assert!(!catalog.indexes_dirty().unwrap());
    // As after a crash between a removal's catalog commit and the index saves.
    let sepsis = catalog.file(&papers.sepsis).unwrap().unwrap().document;
    catalog.delete_document(sepsis).unwrap();
    assert!(catalog.indexes_dirty().unwrap());
    drop(catalog);
    let lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    let status = lib.status().unwrap();
    assert_eq!(status.lexical_entries, status.chunks);
    assert_eq!(status.vector_entries, status.vectors);
    assert_eq!(status.documents, 2);
}

#[test]
fn one_writer_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = tiny_library(tmp.path());
    a.open_for_writing().unwrap();
    let mut b = Library::open_with(&tmp.path().join("library"), None).unwrap();
    let err = b.open_for_writing().unwrap_err();
    assert_eq!(err.code(), "locked", "{err}");
    // Given back (as the app does between jobs), the lock is free for the other, and back.
    a.release_writer();
    b.open_for_writing().unwrap();
    assert_eq!(a.open_for_writing().unwrap_err().code(), "locked");
    b.release_writer();
    a.open_for_writing().unwrap();
}

#[test]
fn without_a_model_keywords_still_work_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let mut lib = Library::open_with(&tmp.path().join("library"), None).unwrap();
    let run = lib
        .index(
            std::slice::from_ref(&papers.dir),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(run.indexed, 3);
    let hits = lib.search("ferritin", &SearchOptions::default()).unwrap();
    assert_eq!(hits.mode, Mode::Lexical);
    assert!(hits.notice.as_deref().unwrap().contains("keywords only"));
    assert_eq!(hits.results[0].path, papers.sepsis);
    let err = lib.search("ferritin", &opts(Mode::Semantic)).unwrap_err();
    assert!(
        err.to_string().contains("needs an embedding model"),
        "{err}"
    );
    let status = lib.status().unwrap();
    assert!(status.model.is_none() && status.notice.is_some());
}

#[test]
fn a_model_installed_later_embeds_what_was_indexed_without_one() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let dir = tmp.path().join("library");
    let chunks = {
        let mut lib = Library::open_with(&dir, None).unwrap();
        let run = lib
            .index(
                std::slice::from_ref(&papers.dir),
                &NoSink,
                &AtomicBool::new(false),
            )
            .unwrap();
        assert_eq!(run.indexed, 3);
        let status = lib.status().unwrap();
        assert_eq!(status.vectors, 0);
        status.chunks
    };
    let mut lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    // A cancel before the start embeds nothing and loses nothing.
    assert_eq!(
        lib.embed_missing(&NoSink, &AtomicBool::new(true)).unwrap(),
        0
    );
    let searcher = lib.searcher().unwrap();
    assert!(searcher
        .search("ferritin", &opts(Mode::Semantic))
        .unwrap()
        .results
        .is_empty());
    let done = lib.embed_missing(&NoSink, &AtomicBool::new(false)).unwrap();
    assert_eq!(done, chunks);
    let status = searcher.status().unwrap();
    assert_eq!((status.vectors, status.vector_entries), (chunks, chunks));
    // The searcher made before the backfill sees the new vectors.
    let hits = searcher.search("ferritin", &opts(Mode::Semantic)).unwrap();
    assert_eq!(
        hits.results.len(),
        3,
        "every paper is reachable by meaning now"
    );
    // Nothing is left to do, and a reopened library agrees.
    assert_eq!(
        lib.embed_missing(&NoSink, &AtomicBool::new(false)).unwrap(),
        0
    );
    drop((lib, searcher));
    let lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    assert_eq!(lib.status().unwrap().vector_entries, chunks);
}

/// Cancels once `after` backfill events have been seen.
struct CancelAfter<'a>(&'a AtomicBool, usize, std::sync::atomic::AtomicUsize);

impl medshelf::Sink for CancelAfter<'_> {
    fn event(&self, event: &medshelf::IndexEvent<'_>) {
        if let medshelf::IndexEvent::Backfill { .. } = event {
            let seen = self.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if seen >= self.1 {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }
}

#[test]
fn switching_models_keeps_the_old_vectors_until_the_new_ones_are_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let mut papers = vec![write_papers(tmp.path()).dir];
    // Enough passages for several batches of the switch.
    let many = tmp.path().join("many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..12 {
        let lines: Vec<String> = (0..40)
            .map(|l| {
                format!(
                    "Paper {i} line {l}: serum ferritin and hepcidin in anaemia of inflammation."
                )
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        medshelf::fixtures::write_pdf(
            &many.join(format!("p{i}.pdf")),
            None,
            &[medshelf::fixtures::FixturePage::text(&refs)],
        )
        .unwrap();
    }
    papers.push(many);
    let dir = tmp.path().join("library");
    let mut lib = tiny_library(tmp.path());
    lib.index(&papers, &NoSink, &AtomicBool::new(false))
        .unwrap();
    let chunks = lib.status().unwrap().chunks;
    assert!(chunks > 64, "{chunks} passages: too few for two batches");
    let before = lib.searcher().unwrap();
    let old = before.search("ferritin", &opts(Mode::Semantic)).unwrap();

    let other = tmp.path().join("other-bert");
    medshelf::fixtures::write_tiny_model(&other, medshelf::Pooling::Cls).unwrap();
    let next: std::sync::Arc<dyn medshelf::Embedder> =
        std::sync::Arc::new(medshelf::BertEmbedder::load(&other).unwrap());

    // Interrupted after the first batch: the old model is still the library's, whole.
    let cancel = AtomicBool::new(false);
    let sink = CancelAfter(&cancel, 1, Default::default());
    let outcome = lib.switch_model(next.clone(), &sink, &cancel).unwrap();
    assert_eq!(outcome, medshelf::library::Switch::Interrupted);
    assert_eq!(lib.model().unwrap().name, "tiny-bert");
    let status = lib.status().unwrap();
    assert_eq!((status.vectors, status.vector_entries), (chunks, chunks));
    let during = before.search("ferritin", &opts(Mode::Semantic)).unwrap();
    assert_eq!(
        during.results.iter().map(|r| &r.path).collect::<Vec<_>>(),
        old.results.iter().map(|r| &r.path).collect::<Vec<_>>(),
        "searches during the switch answer as before"
    );
    drop(lib);
    // Reopened (a crash, say) with the old model: still fine, nothing mixed.
    let mut lib = Library::open_with(&dir, Some(tiny_model(tmp.path()))).unwrap();
    assert_eq!(lib.status().unwrap().vector_entries, chunks);

    // Resumed to the end: the new model is the library's and every vector is its.
    let outcome = lib
        .switch_model(next.clone(), &NoSink, &AtomicBool::new(false))
        .unwrap();
    assert_eq!(outcome, medshelf::library::Switch::Done);
    assert_eq!(lib.model().unwrap().name, "other-bert");
    let status = lib.status().unwrap();
    assert_eq!((status.vectors, status.vector_entries), (chunks, chunks));
    // Every stored vector is the new model's embedding of its passage, not the old one's.
    let catalog = medshelf::catalog::Catalog::open(&dir.join("catalog.sqlite")).unwrap();
    let mut texts = std::collections::HashMap::new();
    catalog
        .for_each_chunk(|row, _| {
            texts.insert(row.id, row.text.clone());
        })
        .unwrap();
    let old_model = tiny_model(tmp.path());
    let mut checked = 0;
    catalog
        .for_each_vector(next.info().dim, |id, v| {
            let v = v.expect("every stored vector passes its checksum");
            if checked < 5 {
                let text = texts[&id].as_str();
                let new = next.embed(&[text]).unwrap().remove(0);
                let was = old_model.embed(&[text]).unwrap().remove(0);
                assert!(medshelf::embed::cosine(v, &new) > 0.9999);
                assert!(medshelf::embed::cosine(v, &was) < 0.99);
                checked += 1;
            }
        })
        .unwrap();
    assert_eq!(checked, 5);
    let hits = lib
        .searcher()
        .unwrap()
        .search("ferritin", &opts(Mode::Semantic))
        .unwrap();
    assert!(!hits.results.is_empty());
    drop(lib);
    // The old model can no longer open it, and says what to do; the new one can.
    let err = Library::open_with(&dir, Some(tiny_model(tmp.path())))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("medshelf model use tiny-bert"), "{err}");
    assert!(Library::open_with(&dir, Some(next)).is_ok());
}

#[test]
fn a_library_refuses_vectors_from_another_model() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    {
        let mut lib = tiny_library(tmp.path());
        lib.index(
            std::slice::from_ref(&papers.dir),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
    }
    let other = tmp.path().join("other-model");
    medshelf::fixtures::write_tiny_model(&other, medshelf::Pooling::Cls).unwrap();
    let err = Library::open(&tmp.path().join("library"), Some(&other))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("vectors were made by the model tiny-bert"),
        "{err}"
    );
}

#[test]
fn broken_and_good_files_in_one_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    std::fs::write(papers.dir.join("broken.pdf"), b"%PDF-1.7\ngarbage").unwrap();
    std::fs::write(papers.dir.join("letter.pdf"), b"Dear colleague").unwrap();
    let mut lib = tiny_library(tmp.path());
    let no = AtomicBool::new(false);
    let run = lib
        .index(std::slice::from_ref(&papers.dir), &NoSink, &no)
        .unwrap();
    assert_eq!((run.indexed, run.failed), (3, 2));
    let docs = lib.documents().unwrap();
    let letter = docs
        .iter()
        .find(|d| d.path.ends_with("letter.pdf"))
        .unwrap();
    assert_eq!(letter.status, Status::Failed);
    assert!(letter.error.as_deref().unwrap().contains("not a PDF"));
    // Failures are remembered, not retried on every run.
    let again = lib
        .index(std::slice::from_ref(&papers.dir), &NoSink, &no)
        .unwrap();
    assert_eq!((again.indexed, again.unchanged, again.failed), (0, 5, 0));
    assert_eq!(lib.status().unwrap().failed.len(), 2);
}

#[test]
fn reference_lists_are_searched_by_keyword_but_never_embedded() {
    use medshelf::fixtures::{write_pdf, FixturePage};
    let tmp = tempfile::tempdir().unwrap();
    let papers = tmp.path().join("papers");
    std::fs::create_dir_all(&papers).unwrap();
    let paper = papers.join("statins.pdf");
    write_pdf(
        &paper,
        Some("Statins after stroke"),
        &[
            FixturePage::text(&[
                "Statins after ischaemic stroke lowered the rate of a second stroke.",
                "Atorvastatin was given at 80 mg daily for five years.",
            ]),
            FixturePage::text(&[
                "References",
                "1. Amarenco P, Bogousslavsky J. Statins after stroke. N Engl J Med. 2006;355:549-59.",
                "2. Collins R, Armitage J. Simvastatin in stroke. Lancet. 2004;363:757-67.",
                "3. Baigent C, Keech A. Lowering cholesterol. Lancet. 2005;366:1267-78.",
                "4. Zhorowski Q, Wexler T. Lipids and stroke. Stroke. 2010;41:S1-S5.",
                "5. Amarenco P, Labreuche J. Lipid management. Lancet Neurol. 2009;8:453-63.",
                "6. Sever PS, Dahlof B. Atorvastatin in hypertension. Lancet. 2003;361:1149-58.",
                "7. Heart Protection Study Group. Simvastatin. Lancet. 2002;360:7-22.",
                "8. Shepherd J, Cobbe SM. Pravastatin in men. N Engl J Med. 1995;333:1301-7.",
                "9. Downs JR, Clearfield M. Lovastatin. JAMA. 1998;279:1615-22.",
            ]),
        ],
    )
    .unwrap();
    let mut lib = tiny_library(tmp.path());
    let no = AtomicBool::new(false);
    lib.index(std::slice::from_ref(&papers), &NoSink, &no)
        .unwrap();
    let status = lib.status().unwrap();
    assert!(status.reference_passages >= 1, "{status:?}");
    assert!(status.vectors >= 1, "{status:?}");
    assert_eq!(status.vectors + status.reference_passages, status.chunks);
    assert_eq!(status.vector_entries, status.vectors);
    // Nothing is waiting for a vector: a backfill has nothing to do.
    assert_eq!(lib.embed_missing(&NoSink, &no).unwrap(), 0);
    // An author in the references is still found, on the references' page.
    let hits = lib.search("Zhorowski", &opts(Mode::Lexical)).unwrap();
    assert_eq!(
        (hits.results[0].path.clone(), hits.results[0].page),
        (paper.clone(), 2)
    );
    // In hybrid mode too, among the paper's matching pages (the semantic side ranks page 1).
    let hits = lib.search("Zhorowski", &opts(Mode::Hybrid)).unwrap();
    let r = &hits.results[0];
    assert!(
        r.page == 2 || r.passages.iter().any(|p| p.page == 2),
        "{r:?}"
    );
    // Reopening (the consistency check compares vectors with the catalog) changes nothing.
    drop(lib);
    let lib =
        Library::open_with(&tmp.path().join("library"), Some(tiny_model(tmp.path()))).unwrap();
    let again = lib.status().unwrap();
    assert_eq!(
        (again.vectors, again.vector_entries),
        (status.vectors, status.vectors)
    );
}
