//! Zotero from the command line: `zotero import` and `zotero status` with their JSON, a search
//! scoped by collection, and `watch` bringing over what Zotero writes.

use crate::support::{cli, cli_json};
use crate::zotero_support::{build, real_zotero};

#[test]
fn the_cli_imports_reports_and_scopes_a_search() {
    let Some(real) = real_zotero("the_cli_imports_reports_and_scopes_a_search") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let built = build(&real, tmp.path());
    let dir = built.fixture.dir.clone();
    drop(built.fixture.conn);
    let lib = tmp.path().join("cli-lib");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = cli(&lib, None)
        .env("HOME", &home)
        .args(["zotero", "import", dir.to_str().unwrap(), "--json"])
        .args(["--base-dir", "Papers"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    crate::support::assert_ran(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["found"], 14);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 7);
    assert_eq!(v["skipped_by_reason"]["outside_folder"], 4);
    // The base folder given relative to where the command runs still finds the linked file.
    let docs = cli_json(&lib, None, &["docs", "--json"]);
    assert!(
        docs.to_string().contains("Papers/cardio/asthma.pdf"),
        "{docs}"
    );
    assert_eq!(v["index"]["failed"], 1);

    let v = cli_json(
        &lib,
        None,
        &[
            "search",
            "ferritin",
            "metformin",
            "--collection",
            "Critical care",
            "--with-subcollections",
            "--json",
        ],
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let z = &r["zotero"];
        assert!(z["key"].as_str().is_some_and(|k| k.len() == 8), "{z}");
        assert!(z["collections"].is_array() && z["tags"].is_array(), "{z}");
    }
    let v = cli_json(&lib, None, &["search", "zebrafinch", "--json"]);
    assert_eq!(v["results"][0]["source"], "annotation");
    assert_eq!(v["results"][0]["page"], 2);
    let docs = cli_json(&lib, None, &["docs", "--json"]);
    let with_zotero = docs
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d.get("zotero").is_some())
        .count();
    assert_eq!(with_zotero, 6, "five documents and the damaged one");

    let status = cli_json(&lib, None, &["zotero", "status", "--json"]);
    assert_eq!(status["source"]["dir"], dir.to_str().unwrap());
    assert_eq!(status["source"]["changed_since"], false);
    let out = cli(&lib, None)
        .env("HOME", &home)
        .args([
            "zotero",
            "import",
            tmp.path().join("none").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Zotero database"));
}

#[test]
fn watch_brings_over_what_zotero_writes() {
    let Some(real) = real_zotero("watch_brings_over_what_zotero_writes") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut built = build(&real, tmp.path());
    let dir = built.fixture.dir.clone();
    let lib = tmp.path().join("watch-lib");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = cli(&lib, None)
        .env("HOME", &home)
        .args(["zotero", "import", dir.to_str().unwrap()])
        .args(["--base-dir", built.base.to_str().unwrap()])
        .output()
        .unwrap();
    crate::support::assert_ran(&out);
    let mut watcher = cli(&lib, None)
        .env("HOME", &home)
        .arg("watch")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::robustness::wait_for_line(&mut watcher, "watching Zotero");

    // Zotero saves a new paper and renames another.
    let z = &mut built.fixture;
    let fresh = tmp.path().join("fresh.pdf");
    medshelf::fixtures::write_pdf(
        &fresh,
        None,
        &[medshelf::fixtures::FixturePage::text(&[
            "Statins after stroke: a new paper saved in Zotero while MedShelf watched.",
        ])],
    )
    .unwrap();
    let item = z.paper("Statins after stroke, added while watched", &[], &[]);
    z.stored(Some(item), Some(&fresh), "fresh.pdf", "application/pdf");
    z.field(
        built.sepsis,
        "title",
        "Ferritin in septic shock: renamed in Zotero",
    );
    let titles = || -> Vec<String> {
        cli_json(&lib, None, &["docs", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["title"].as_str().map(str::to_string))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let mut seen = titles();
    while std::time::Instant::now() < deadline
        && !(seen.iter().any(|t| t.contains("renamed in Zotero"))
            && seen.iter().any(|t| t.contains("added while watched")))
    {
        std::thread::sleep(std::time::Duration::from_millis(300));
        seen = titles();
    }
    watcher.kill().unwrap();
    let _ = watcher.wait();
    assert!(
        seen.iter().any(|t| t.contains("renamed in Zotero")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|t| t.contains("added while watched")),
        "{seen:?}"
    );
}
