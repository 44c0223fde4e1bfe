//! Queries that ask for too much or for nothing: memory follows the library, not the limit,
//! and a blank query is answered with nothing rather than with arbitrary papers.

use std::path::PathBuf;

use crate::support::{cli, cli_json, write_papers};
use medshelf::fixtures::write_tiny_model;
use medshelf::Pooling;

/// The three generated papers indexed with the tiny model: the folder (kept alive by the
/// caller), the library and the model.
fn indexed() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let model = tmp.path().join("tiny-bert");
    write_tiny_model(&model, Pooling::Mean).unwrap();
    let lib = tmp.path().join("lib");
    cli_json(
        &lib,
        Some(&model),
        &["index", "--json", papers.dir.to_str().unwrap()],
    );
    (tmp, lib, model)
}

#[test]
fn huge_limits_are_clamped_to_the_library() {
    let (_tmp, lib, model) = indexed();
    for (limit, mode) in [
        ("18446744073709551615", "hybrid"),
        ("1000000000", "semantic"),
        ("1000000000", "lexical"),
    ] {
        let out = cli(&lib, Some(&model))
            .args([
                "search", "ferritin", "--json", "--limit", limit, "--mode", mode,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{limit} {mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let n = hits["results"].as_array().unwrap().len();
        assert!((1..=3).contains(&n), "{limit} {mode}: {n} results");
    }
}

#[test]
fn a_blank_query_returns_nothing_in_every_mode() {
    let (_tmp, lib, model) = indexed();
    for mode in ["hybrid", "semantic", "lexical"] {
        for query in ["", "   ", "\t\n"] {
            let hits = cli_json(
                &lib,
                Some(&model),
                &["search", query, "--json", "--mode", mode],
            );
            assert_eq!(
                hits["results"].as_array().unwrap().len(),
                0,
                "{mode} {query:?}"
            );
        }
    }
}

/// Every query returned papers, nonsense included, with no sign that nothing matched: a
/// hybrid result that none of the query's words occur in is marked `meaning_only`.
#[test]
fn papers_found_by_meaning_alone_are_marked() {
    let (_tmp, lib, model) = indexed();
    let nonsense = cli_json(
        &lib,
        Some(&model),
        &["search", "zxqv wbjk", "--json", "--mode", "hybrid"],
    );
    let results = nonsense["results"].as_array().unwrap();
    assert!(
        !results.is_empty(),
        "hybrid still offers the nearest papers"
    );
    assert!(
        results.iter().all(|r| r["meaning_only"] == true),
        "{nonsense:#}"
    );
    let real = cli_json(
        &lib,
        Some(&model),
        &["search", "ferritin", "--json", "--mode", "hybrid"],
    );
    assert!(real["results"][0].get("meaning_only").is_none(), "{real:#}");
}
