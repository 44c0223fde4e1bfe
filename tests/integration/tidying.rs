//! The steps of an index run that belong to no file (the keyword index's merge, abbreviations
//! mined again), named to the run's sink exactly when they run.

use std::sync::atomic::AtomicBool;

use medshelf::Library;

use crate::support::{tiny_library, tiny_model};

/// Keeps the tidying steps an index run names.
#[derive(Default)]
struct Steps(std::sync::Mutex<Vec<medshelf::Tidying>>);

impl medshelf::Sink for Steps {
    fn event(&self, event: &medshelf::IndexEvent<'_>) {
        if let medshelf::IndexEvent::Tidying(step) = event {
            self.0.lock().unwrap().push(*step);
        }
    }
}

impl Steps {
    fn take(&self) -> Vec<medshelf::Tidying> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

#[test]
fn an_index_run_names_the_merge_and_the_remining_it_does_and_only_those() {
    use medshelf::fixtures::{write_pdf, FixturePage};
    use medshelf::Tidying;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("papers");
    std::fs::create_dir_all(&dir).unwrap();
    let topics = [
        "Warfarin dosing after mitral valve replacement",
        "Metformin in gestational diabetes",
        "Procalcitonin to stop antibiotics in sepsis",
        "Budesonide for croup in children",
        "Tranexamic acid in postpartum haemorrhage",
        "Ketamine for refractory status epilepticus",
    ];
    let mut lib = tiny_library(tmp.path());
    let no = AtomicBool::new(false);
    let steps = Steps::default();
    // One paper a run: each run commits a segment of its own, and the run that leaves more
    // than four merges them, and says so first.
    let mut merges = Vec::new();
    for (i, topic) in topics.iter().enumerate() {
        let path = dir.join(format!("paper{i}.pdf"));
        let body = format!(
            "{topic}: a trial in {} patients of the intensive care unit.",
            40 + i
        );
        write_pdf(&path, Some(topic), &[FixturePage::text(&[topic, &body])]).unwrap();
        lib.index(&[path], &steps, &no).unwrap();
        for step in steps.take() {
            match step {
                Tidying::Merging {
                    segments,
                    into,
                    passages,
                } => {
                    assert!(segments > 4 && (1..=4).contains(&into), "{step:?}");
                    assert_eq!(passages, lib.status().unwrap().chunks, "{step:?}");
                    merges.push(i);
                }
                Tidying::Remining { .. } => panic!("nothing to mine again: {step:?}"),
            }
        }
    }
    assert!(
        !merges.is_empty(),
        "six runs of one paper each never merged"
    );
    // Nothing new: nothing to merge, nothing named.
    lib.index(std::slice::from_ref(&dir), &steps, &no).unwrap();
    assert_eq!(steps.take(), vec![]);
    // A library an older miner of abbreviations read: the next run mines every paper again,
    // and names that first.
    let root = tmp.path().join("library");
    drop(lib);
    let conn = rusqlite::Connection::open(root.join("catalog.sqlite")).unwrap();
    conn.execute("DELETE FROM meta WHERE key = 'definitions_miner'", [])
        .unwrap();
    drop(conn);
    let mut lib = Library::open_with(&root, Some(tiny_model(tmp.path()))).unwrap();
    lib.index(std::slice::from_ref(&dir), &steps, &no).unwrap();
    assert_eq!(steps.take(), vec![Tidying::Remining { papers: 6 }]);
    lib.index(std::slice::from_ref(&dir), &steps, &no).unwrap();
    assert_eq!(steps.take(), vec![]);
}
