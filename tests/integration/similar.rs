//! "More like this" on real papers with the stand-in model: a trial of catheter ablation for
//! atrial fibrillation finds the other atrial fibrillation papers before the rest, never itself
//! or a second copy of itself, by paper and by page, through the library and the CLI.

use std::path::{Path, PathBuf};

use medshelf::library::SimilarOptions;
use medshelf::{Library, Mode};

use crate::support::{assert_ran, cli, cli_json, shared, skip, standin_model};

/// The source (a trial of catheter ablation against drugs in persistent atrial fibrillation).
const SOURCE: &str = "rct-extractor-v2__rct_trial__24135832__PMC3930872.pdf";
/// The two other papers on atrial fibrillation.
const ALIKE: [&str; 2] = [
    "rct-extractor-v2__rct_trial__32578466__PMC7670527.pdf",
    "rct-extractor-v2__rct_trial__9789699__PMC6656075.pdf",
];
/// Trials on other subjects: cloth masks, exercise to stop smoking in pregnancy.
const OTHERS: [&str; 2] = [
    "anjackson-openVirus__PMC4420971_fulltext.pdf",
    "robotreviewer__example.pdf",
];

/// The papers copied into `dir`, with a second download of the source (one byte more: another
/// file with the same text), indexed through the CLI with the stand-in model.
fn library(dir: &Path, shared: &Path, model: &Path) -> (PathBuf, PathBuf) {
    let papers = dir.join("papers");
    std::fs::create_dir_all(&papers).unwrap();
    for name in [SOURCE].iter().chain(&ALIKE).chain(&OTHERS) {
        let from = shared.join("data/clinical").join(name);
        std::fs::copy(from, papers.join(name)).unwrap();
    }
    let mut copy = std::fs::read(papers.join(SOURCE)).unwrap();
    copy.push(b'\n');
    std::fs::write(papers.join("SARA-download-2.pdf"), &copy).unwrap();
    copy.push(b'\n');
    std::fs::write(papers.join("SARA-renamed.pdf"), &copy).unwrap();
    let lib = dir.join("lib");
    assert_ran(
        &cli(&lib, Some(model))
            .arg("index")
            .arg(&papers)
            .output()
            .unwrap(),
    );
    // A copy whose record the user changed (another title, no DOI): the same text only.
    assert_ran(
        &cli(&lib, Some(model))
            .arg("meta")
            .arg(papers.join("SARA-renamed.pdf"))
            .args(["--set", "title=My notes on ablation", "--set", "doi="])
            .output()
            .unwrap(),
    );
    (lib, papers)
}

fn file_name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn file_name(v: &serde_json::Value) -> String {
    let path = v.as_str().unwrap();
    path.rsplit('/').next().unwrap().to_string()
}

#[test]
fn papers_like_a_trial_are_on_its_subject_and_never_itself() {
    let Some(shared) = shared().or_else(|| skip("similar", "../shared is absent")) else {
        return;
    };
    let Some(model) =
        standin_model().or_else(|| skip("similar", "no stand-in model: run scripts/fetch-model"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (lib, papers) = library(tmp.path(), &shared, &model);
    let source = papers.join(SOURCE);
    let answer = cli_json(
        &lib,
        Some(&model),
        &["similar", source.to_str().unwrap(), "--json"],
    );
    assert_eq!(answer["mode"], "hybrid", "{answer}");
    assert_eq!(file_name(&answer["source"]["path"]), SOURCE);
    let results: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| file_name(&r["path"]))
        .collect();
    // The atrial fibrillation papers first; the source and its copy nowhere.
    let mut first: Vec<&str> = results[..2].iter().map(String::as_str).collect();
    first.sort_unstable();
    assert_eq!(first, ALIKE, "{results:?}");
    assert_eq!(results.len(), 4, "{results:?}");
    assert!(!results.iter().any(|r| r == SOURCE || r.starts_with("SARA")));
    // Both copies left out and named: one by its record, one by its text alone.
    let mut duplicates: Vec<String> = answer["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(file_name)
        .collect();
    duplicates.sort_unstable();
    assert_eq!(
        duplicates,
        ["SARA-download-2.pdf", "SARA-renamed.pdf"],
        "{answer}"
    );
    // The words shared, as the source writes them (not stems), and marked in the snippets.
    let library = Library::open(&lib, None).unwrap();
    let text: String = (1..)
        .map_while(|page| library.page_text(&source, page).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    drop(library);
    let terms = answer["terms"].as_array().unwrap();
    assert!((1..=25).contains(&terms.len()), "{terms:?}");
    assert!(
        terms.iter().all(|t| text.contains(t.as_str().unwrap())),
        "{terms:?}"
    );
    assert!(
        answer["results"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>"),
        "{answer}"
    );

    // In a search, the two files are one result: the article, with its other file.
    let found = cli_json(
        &lib,
        Some(&model),
        &[
            "search",
            "catheter ablation persistent atrial fibrillation",
            "--json",
        ],
    );
    let found = found["results"].as_array().unwrap();
    let sara: Vec<&serde_json::Value> = found
        .iter()
        .filter(|r| {
            let name = file_name(&r["path"]);
            name == SOURCE || name == "SARA-download-2.pdf"
        })
        .collect();
    assert_eq!(sara.len(), 1, "one result for both files: {found:?}");
    let versions: Vec<String> = sara[0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| file_name(&v["path"]))
        .collect();
    assert_eq!(versions.len(), 1, "{:?}", sara[0]);
    assert!(versions[0] == SOURCE || versions[0] == "SARA-download-2.pdf");

    // A page of it: the papers like what that page says, the paper still left out.
    let open = || Library::open(&lib, Some(&model)).unwrap();
    let by_page = open()
        .similar(
            &source,
            &SimilarOptions {
                page: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(by_page.source.page, Some(2));
    assert!(!by_page.results.is_empty());
    assert!(by_page
        .results
        .iter()
        .all(|r| r.path != source && !file_name_of(&r.path).starts_with("SARA")));
    // Each side alone still answers; without the model, shared words alone, and it says so.
    for mode in [Mode::Lexical, Mode::Semantic] {
        let opts = SimilarOptions {
            mode,
            ..Default::default()
        };
        let alone = open().similar(&source, &opts).unwrap();
        assert_eq!(alone.mode, mode);
        assert!(
            ALIKE.iter().any(|a| alone.results[0].path.ends_with(a)),
            "{mode:?}"
        );
    }
    let keywords = Library::open(&lib, None)
        .unwrap()
        .similar(&source, &SimilarOptions::default())
        .unwrap();
    assert_eq!(keywords.mode, Mode::Lexical);
    assert!(keywords.notice.is_some());

    // Asked about a page past its end, or a file the library does not hold: a reason.
    let past = open()
        .similar(
            &source,
            &SimilarOptions {
                page: Some(400),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(past.code(), "no_such_page", "{past}");
    assert!(past.to_string().contains("page 400"), "{past}");
    let stranger = open()
        .similar(
            &tmp.path().join("elsewhere.pdf"),
            &SimilarOptions::default(),
        )
        .unwrap_err();
    assert_eq!(stranger.code(), "not_in_library");
    let out = cli(&lib, Some(&model))
        .args(["similar", source.to_str().unwrap(), "--page", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--page counts from 1"));
}
