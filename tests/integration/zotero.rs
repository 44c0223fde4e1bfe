//! Zotero import: a real Zotero 7 database (`../shared/data/zotero`) read as it is, and
//! databases built from its very schema (the real file with its items taken out and ours put
//! in) for what the real one lacks: collections, annotations, linked files, trashed items,
//! unsafe paths, a newer schema, damage, and a database held by another connection with
//! committed changes still in its WAL.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use medshelf::fixtures::zotero::ZoteroFolder;
use medshelf::library::NoSink;
use medshelf::zotero::{self, Prefs, SkipReason};

use crate::support::{tiny_library, write_papers};
use crate::zotero_support::{build, checksum, import, real_zotero, search};

#[test]
fn the_real_zotero_folder_is_imported_and_left_untouched() {
    let Some(real) = real_zotero("the_real_zotero_folder_is_imported_and_left_untouched") else {
        return;
    };
    let before = checksum(&real);
    let snapshot = zotero::read(&real, &Prefs::default()).unwrap();
    // 27 rows: 11 regular items (6 in the trash), their attachments, one note.
    assert_eq!(snapshot.regular_items, 11);
    assert_eq!(snapshot.trashed, 6);
    let keys: Vec<&str> = snapshot.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        ["IAW4AG59", "MDUK6ERP", "HPP3X9QY", "RQRBISX9", "RUV7QY24"]
    );
    let preprint = &snapshot.items[1];
    assert_eq!(preprint.item_type, "preprint");
    assert_eq!(preprint.record.venue.as_deref(), Some("arXiv"));
    assert_eq!(
        preprint.record.doi.as_deref(),
        Some("10.48550/arxiv.1703.04782")
    );
    assert_eq!(preprint.record.year, Some(2018));
    assert_eq!(preprint.record.authors.len(), 5);
    assert_eq!(preprint.notes.len(), 1);
    assert_eq!(preprint.notes[0].text, "Comment: 11 pages, 4 figures");
    let book = &snapshot.items[4];
    assert_eq!(book.creators[0].role, "editor");
    assert_eq!(
        book.record.authors[0].family, "Bousquet",
        "editors stand in for authors"
    );
    assert!(snapshot.items.iter().all(|i| i.files.len() == 1));
    assert_eq!(checksum(&real), before, "reading changed the Zotero folder");
}

#[test]
fn items_files_collections_tags_notes_and_annotations_are_imported() {
    let Some(real) = real_zotero("items_files_collections_tags_notes_and_annotations_are_imported")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let built = build(&real, tmp.path());
    let dir = built.fixture.dir.clone();
    drop(built.fixture.conn);
    let before = checksum(&dir);
    let mut library = tiny_library(tmp.path());
    let summary = import(&mut library, &dir, &built.base);
    assert_eq!(
        checksum(&dir),
        before,
        "the import wrote under the Zotero folder"
    );

    let reasons: BTreeMap<&str, SkipReason> = summary
        .skipped
        .iter()
        .map(|s| (s.title.as_deref().unwrap_or(""), s.reason))
        .collect();
    assert_eq!(
        reasons,
        BTreeMap::from([
            ("A link only", SkipReason::LinkOnly),
            ("A path that climbs out", SkipReason::OutsideFolder),
            ("A paper whose file is gone", SkipReason::Missing),
            ("A saved web page", SkipReason::Snapshot),
            (
                "A storage folder that is a symlink",
                SkipReason::OutsideFolder
            ),
            ("A symlink out of storage", SkipReason::OutsideFolder),
            ("Linked above the base folder", SkipReason::OutsideFolder),
        ])
    );
    assert_eq!(summary.found, 14);
    assert_eq!(summary.trashed, 1);
    // sepsis twice (two items), diabetes, the linked supplement, the trial's two, the
    // relative link, broken.
    assert_eq!(summary.files, 8);
    assert_eq!(summary.index.failed, 1, "{:?}", summary.index.failures);
    assert!(summary.index.failures[0].path.ends_with("broken.pdf"));
    assert_eq!(summary.notes, 2);

    let docs = library.documents().unwrap();
    let indexed: Vec<_> = docs
        .iter()
        .filter(|d| d.status == medshelf::Status::Indexed)
        .collect();
    // The same PDF under two items is one document; each PDF of a two-PDF item is one
    // (sepsis, diabetes, asthma, the trial and its supplement).
    assert_eq!(
        indexed.len(),
        5,
        "{:?}",
        indexed.iter().map(|d| &d.paths).collect::<Vec<_>>()
    );
    let sepsis = indexed
        .iter()
        .find(|d| d.paths.iter().any(|p| p.ends_with("sepsis.pdf")))
        .unwrap();
    assert_eq!(sepsis.paths.len(), 2);
    let z = sepsis.zotero.as_ref().unwrap();
    assert_eq!(z.collections, ["Critical care/Sepsis"]);
    // The app's list of collections to scope by comes from the memberships alone.
    let mut every: Vec<String> = docs
        .iter()
        .filter_map(|d| d.zotero.as_ref())
        .flat_map(|z| z.collections.clone())
        .collect();
    every.sort();
    every.dedup();
    assert!(!every.is_empty());
    assert_eq!(
        library.searcher().unwrap().zotero_collections().unwrap(),
        every
    );
    assert_eq!(z.tags, ["ICU", "preprint", "to-read"]);
    assert_eq!(z.other_keys.len(), 1);
    let meta = sepsis.meta.as_ref().unwrap();
    assert_eq!(
        meta.title.as_deref(),
        Some("Ferritin in septic shock: a cohort")
    );
    assert_eq!(meta.venue.as_deref(), Some("Critical Care"));
    assert_eq!(meta.year, Some(2021));
    assert_eq!(meta.doi.as_deref(), Some("10.1186/cc.2021.1"));
    assert_eq!(meta.pmid.as_deref(), Some("33445566"));
    assert_eq!(meta.pmcid.as_deref(), Some("PMC7654321"));
    assert_eq!(meta.authors[1].family, "Okafor");
    assert_eq!(
        serde_json::to_value(&meta.provenance).unwrap()["title"],
        "zotero"
    );
    // Nothing outside the Zotero folder but what Zotero links was read.
    let all: Vec<&PathBuf> = docs.iter().flat_map(|d| &d.paths).collect();
    assert!(all.iter().any(|p| **p == built.outside));
    assert!(all.iter().any(|p| p.ends_with("Papers/cardio/asthma.pdf")));
    assert!(!all.iter().any(|p| p.ends_with("secret.pdf")), "{all:?}");
    assert!(!all.iter().any(|p| p.ends_with("inside.pdf")), "{all:?}");
    assert!(!all.iter().any(|p| p.ends_with("trashed.pdf")), "{all:?}");

    // Scopes: a collection's own items, its subcollections on request, tags.
    use medshelf::search::PaperFilter;
    let scoped = |collection: &str, sub: bool| PaperFilter {
        collection: Some(collection.into()),
        subcollections: sub,
        ..PaperFilter::default()
    };
    let titles = |r: &medshelf::SearchResponse| -> Vec<String> {
        r.results.iter().filter_map(|x| x.title.clone()).collect()
    };
    let everywhere = search(&library, "ferritin metformin", PaperFilter::default());
    assert_eq!(everywhere.results.len(), 2);
    let own = search(
        &library,
        "ferritin metformin",
        scoped("critical care", false),
    );
    assert_eq!(titles(&own), ["Metformin and glycaemic control"]);
    let nested = search(
        &library,
        "ferritin metformin",
        scoped("Critical care", true),
    );
    assert_eq!(nested.results.len(), 2);
    let sub = search(
        &library,
        "ferritin metformin",
        scoped("Critical care/Sepsis", false),
    );
    assert_eq!(titles(&sub), ["Ferritin in septic shock: a cohort"]);
    let tagged = search(
        &library,
        "ferritin metformin",
        PaperFilter {
            tags: vec!["TO-READ".into()],
            ..PaperFilter::default()
        },
    );
    assert_eq!(titles(&tagged), ["Ferritin in septic shock: a cohort"]);
    assert!(search(&library, "ferritin", scoped("Nope", true))
        .results
        .is_empty());

    // An item's two PDFs are one result: the item's, at its best file.
    let trial = search(&library, "amlodipine", PaperFilter::default());
    assert_eq!(
        titles(&trial),
        ["Amlodipine in resistant hypertension: a trial"],
        "{:?}",
        trial.results.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let both: Vec<_> = docs
        .iter()
        .filter(|d| {
            d.paths
                .iter()
                .any(|p| p.to_string_lossy().contains("amlodipine"))
        })
        .map(|d| d.zotero.as_ref().unwrap().key.clone())
        .collect();
    assert_eq!(both.len(), 2);
    assert_eq!(both[0], both[1], "both files carry the item");

    // The user's own words are searchable and say so; an annotation opens at its page.
    let hit = &search(&library, "zebrafinch", PaperFilter::default()).results[0];
    assert_eq!(hit.source.as_deref(), Some("annotation"));
    assert_eq!(hit.page, 2);
    assert!(hit.snippet.contains("zebrafinch"), "{}", hit.snippet);
    assert_eq!(hit.zotero.as_ref().unwrap().tags.len(), 3);
    let hit = &search(&library, "quokka", PaperFilter::default()).results[0];
    assert_eq!(hit.source.as_deref(), Some("note"));
    assert_eq!(
        hit.title.as_deref(),
        Some("Ferritin in septic shock: a cohort")
    );
    // The PDF's own text on that page is not marked.
    let text = &search(&library, "hyperferritinaemia", PaperFilter::default()).results[0];
    assert_eq!(text.source, None);

    // A correction of the user's wins over Zotero's record.
    let edit = medshelf::metadata::Edit::parse_assignment("title=My own title").unwrap();
    let path = sepsis.paths[0].clone();
    let record = library.correct(&path, &[edit], &[]).unwrap();
    assert_eq!(record.title.as_deref(), Some("My own title"));
    let _ = built.sepsis;
    let _ = built.diabetes;
}

#[test]
fn a_second_import_does_only_what_changed_and_follows_deletions() {
    let Some(real) = real_zotero("a_second_import_does_only_what_changed_and_follows_deletions")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let built = build(&real, tmp.path());
    let mut library = tiny_library(tmp.path());
    let dir = built.fixture.dir.clone();
    let first = import(&mut library, &dir, &built.base);
    let items = first.imported;
    let again = import(&mut library, &dir, &built.base);
    assert_eq!(
        (again.imported, again.unchanged, again.removed),
        (0, items, 0)
    );
    assert_eq!(again.index.indexed, 0);

    // In Zotero: a title changed, an annotation removed, the two-PDF item's linked PDF
    // deleted (the item stays), the item that held sepsis.pdf again deleted.
    let z = &built.fixture;
    z.field(built.sepsis, "title", "Ferritin in septic shock: revised");
    z.conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    z.conn
        .execute(
            "DELETE FROM items WHERE itemID IN (?1, ?2)",
            [built.supplement, built.again],
        )
        .unwrap();
    z.conn
        .execute("DELETE FROM items WHERE itemTypeID = (SELECT itemTypeID FROM itemTypes WHERE typeName = 'annotation')", [])
        .unwrap();
    let third = import(&mut library, &dir, &built.base);
    assert_eq!((third.imported, third.removed), (2, 1), "{third:?}");
    assert_eq!(third.notes, 1);
    let docs = library.documents().unwrap();
    let paths: Vec<&PathBuf> = docs.iter().flat_map(|d| &d.paths).collect();
    assert!(
        paths.iter().any(|p| p.ends_with("diabetes.pdf")),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| **p == built.outside), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.ends_with("sepsis copy.pdf")),
        "{paths:?}"
    );
    let sepsis = docs
        .iter()
        .find(|d| d.paths.iter().any(|p| p.ends_with("sepsis.pdf")))
        .unwrap();
    assert_eq!(sepsis.zotero.as_ref().unwrap().tags, ["ICU", "to-read"]);
    let titles: Vec<_> = docs.iter().filter_map(|d| d.title.clone()).collect();
    assert!(
        titles.contains(&"Ferritin in septic shock: revised".to_string()),
        "{titles:?}"
    );
    let found = search(&library, "zebrafinch", Default::default());
    assert!(
        found.results.is_empty(),
        "a deleted annotation still answers"
    );
    // Papers dropped beside Zotero's stay.
    library
        .index(
            std::slice::from_ref(&built.papers.asthma),
            &NoSink,
            &AtomicBool::new(false),
        )
        .unwrap();
    import(&mut library, &dir, &built.base);
    assert!(library
        .documents()
        .unwrap()
        .iter()
        .any(|d| d.paths.contains(&built.papers.asthma)));
}

#[test]
fn a_database_held_open_with_changes_in_its_wal_is_read_whole() {
    let Some(real) = real_zotero("a_database_held_open_with_changes_in_its_wal_is_read_whole")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut z = ZoteroFolder::new(&real, &tmp.path().join("Zotero"));
    let papers = write_papers(tmp.path());
    // Zotero runs in WAL mode and checkpoints when it likes: here, never.
    z.conn
        .execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;")
        .unwrap();
    let item = z.paper("Committed, still in the WAL", &[], &[]);
    z.stored(
        Some(item),
        Some(&papers.sepsis),
        "sepsis.pdf",
        "application/pdf",
    );
    assert!(z.dir.join("zotero.sqlite-wal").metadata().unwrap().len() > 0);
    // Zotero holds the database: a write transaction open, uncommitted work in it.
    z.conn.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let uncommitted = z.paper("Not committed", &[], &[]);
    let _ = uncommitted;
    let before = checksum(&z.dir);
    let snapshot = zotero::read(&z.dir, &Prefs::default()).unwrap();
    let titles: Vec<_> = snapshot
        .items
        .iter()
        .filter_map(|i| i.record.title.clone())
        .collect();
    assert_eq!(titles, ["Committed, still in the WAL"]);
    assert_eq!(checksum(&z.dir), before);
    z.conn.execute_batch("ROLLBACK;").unwrap();
}

#[test]
fn newer_damaged_and_missing_databases_are_refused_with_the_reason() {
    let Some(real) = real_zotero("newer_damaged_and_missing_databases_are_refused_with_the_reason")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let z = ZoteroFolder::new(&real, &tmp.path().join("newer"));
    z.conn
        .execute(
            "UPDATE version SET version = 999 WHERE schema = 'userdata'",
            [],
        )
        .unwrap();
    let err = zotero::read(&z.dir, &Prefs::default()).unwrap_err();
    assert_eq!(err.code(), "zotero_newer");
    assert!(err.to_string().contains("schema version 999"), "{err}");

    let damaged = tmp.path().join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    let mut bytes = std::fs::read(real.join("zotero.sqlite")).unwrap();
    for b in bytes.iter_mut().skip(100).take(8192) {
        *b = 0xA5;
    }
    std::fs::write(damaged.join("zotero.sqlite"), &bytes).unwrap();
    let err = zotero::read(&damaged, &Prefs::default()).unwrap_err();
    assert_eq!(err.code(), "zotero_damaged", "{err}");
    assert!(err.to_string().contains("zotero.sqlite"), "{err}");

    std::fs::write(damaged.join("zotero.sqlite"), b"not a database at all").unwrap();
    let err = zotero::read(&damaged, &Prefs::default()).unwrap_err();
    assert_eq!(err.code(), "zotero_damaged", "{err}");

    let err = zotero::read(&tmp.path().join("nowhere"), &Prefs::default()).unwrap_err();
    assert_eq!(err.code(), "zotero_not_found");
}
