//! Duplicates (issue 14): two different papers are never one article. Measured over every paper
//! of the two hand-checked tables (whose rows are all different papers), by the records
//! MedShelf reads from their PDFs: not one pair may be merged. (Files of one article becoming
//! one result with its versions is tested with the search, in `similar.rs`.)

use medshelf::metadata::{self, same_work, work_keys, Record};

use crate::support::{shared, skip};

#[test]
fn no_two_papers_of_the_checked_tables_are_merged() {
    let Some(shared) = shared().or_else(|| skip("duplicates", "../shared is absent")) else {
        return;
    };
    let data = shared.join("data");
    let mut records: Vec<(String, Record)> = Vec::new();
    for (table, dir) in [
        ("metadata/truth_dev.tsv", "pdfs"),
        ("clinical/truth_dev.tsv", "clinical"),
    ] {
        for row in metadata::eval::load_truth(&data.join(table)).unwrap() {
            let path = data.join(dir).join(&row.file);
            let read = metadata::read_file(&path).unwrap();
            records.push((row.file, Record::from(&read)));
        }
    }
    assert!(records.len() >= 70, "{} papers", records.len());
    // Not vacuous: most papers carry a key that could merge them.
    let keyed = records
        .iter()
        .filter(|(_, r)| work_keys(r).iter().any(Option::is_some))
        .count();
    assert!(
        keyed * 4 >= records.len() * 3,
        "{keyed} of {} keyed",
        records.len()
    );
    let mut merged = Vec::new();
    for (i, (a, ra)) in records.iter().enumerate() {
        for (b, rb) in &records[i + 1..] {
            if same_work(ra, rb) {
                merged.push(format!("{a} = {b}"));
            }
        }
    }
    eprintln!(
        "duplicates: {} papers, {keyed} with a DOI or a title and first author; {} false merges",
        records.len(),
        merged.len()
    );
    assert!(merged.is_empty(), "false merges: {merged:?}");
}
