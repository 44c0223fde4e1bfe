//! Clinical search (issue 16): each paper's study design with its reasons, read on the labelled
//! development tables of `../shared` and shown, filtered, sorted and corrected through the CLI;
//! papers of one trial linked, never through a reference list.

use std::path::{Path, PathBuf};

use medshelf::clinical::eval::evaluate;
use medshelf::fixtures::{write_pdf, FixturePage};

use crate::support::{assert_ran, cli, cli_json, shared, skip};

#[test]
fn the_labelled_tables_get_their_designs_with_reasons() {
    let Some(shared) = shared().or_else(|| skip("clinical", "../shared is absent")) else {
        return;
    };
    let data = shared.join("data");
    for (table, pdfs, floor) in [
        // Measured when set: 0.962 (25 of 26) and 0.978 (45 of 46); floors under them.
        ("clinical/truth_dev.tsv", "clinical", 0.90),
        ("metadata/truth_dev.tsv", "pdfs", 0.90),
    ] {
        let report = evaluate(&data.join(table), &data.join(pdfs)).unwrap();
        assert!(report.missing.is_empty(), "{table}: {:?}", report.missing);
        let wrong: Vec<String> = report
            .outcomes
            .iter()
            .filter(|o| o.truth != o.ours.label)
            .map(|o| format!("{} is {}, read as {}", o.file, o.truth, o.ours.label))
            .collect();
        eprintln!("{table}: accuracy {:.3}; {wrong:#?}", report.accuracy);
        assert!(report.accuracy >= floor, "{table}: {wrong:#?}");
        assert_eq!(
            report.without_reason, 0,
            "{table}: a label without a reason"
        );
        // The targets the issue sets for trials and for reviews (sr and ma together).
        for (name, c) in [("rct", &report.rct), ("reviews", &report.synthesis)] {
            assert!(c.precision >= 0.95, "{table}: {name} {c:?}");
            assert!(c.recall >= 0.90, "{table}: {name} {c:?}");
        }
    }
}

#[test]
fn eval_design_prints_the_figures_for_a_sample() {
    let Some(shared) = shared().or_else(|| skip("clinical", "../shared is absent")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let table = tmp.path().join("sample.tsv");
    std::fs::write(
        &table,
        "file\tdesign\n\
         robotreviewer__example.pdf\trct\n\
         rct-extractor-v2__meta__40468584__PMC12337619.pdf\tmeta-analysis\n\
         anjackson-openVirus__PMC3322896_fulltext.pdf\tcase-report\n",
    )
    .unwrap();
    let clinical = shared.join("data/clinical");
    let out = cli(&tmp.path().join("lib"), None)
        .args(["eval-design", table.to_str().unwrap(), "--pdfs"])
        .arg(&clinical)
        .output()
        .unwrap();
    assert_ran(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("accuracy 1.000"), "{text}");
    assert!(text.contains("confusion"), "{text}");
    let json = cli_json(
        &tmp.path().join("lib"),
        None,
        &[
            "eval-design",
            table.to_str().unwrap(),
            "--pdfs",
            clinical.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(json["rows"], 3);
    assert_eq!(json["confusion"]["rct"]["rct"], 1);
    let reasons = json["outcomes"][0]["ours"]["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty());
}

/// Four papers: a trial, a secondary analysis of it (the same registration), a review that
/// cites the trial's registration in its reference list only, and a systematic review.
struct Papers {
    dir: PathBuf,
    trial: PathBuf,
    secondary: PathBuf,
    narrative: PathBuf,
    review: PathBuf,
}

fn write_clinical_papers(root: &Path) -> Papers {
    let dir = root.join("papers");
    std::fs::create_dir_all(&dir).unwrap();
    let filler = "Anticoagulation after knee replacement and venous thromboembolism in adults.";
    let paper = |name: &str, title: &str, lines: &[&str], references: &[&str]| {
        let path = dir.join(name);
        let mut first = vec![title];
        first.extend_from_slice(lines);
        first.extend(std::iter::repeat_n(filler, 20));
        let mut last: Vec<&str> = std::iter::repeat_n(filler, 30).collect();
        if !references.is_empty() {
            last.push("References");
            last.extend_from_slice(references);
        }
        let pages = [FixturePage::text(&first), FixturePage::text(&last)];
        write_pdf(&path, Some(title), &pages).unwrap();
        path
    };
    let trial = paper(
        "trial.pdf",
        "Rivaroxaban after knee replacement: a randomised controlled trial",
        &[
            "Methods: 400 adults were randomly assigned to rivaroxaban or enoxaparin.",
            "Trial registration: ClinicalTrials.gov NCT01234567.",
        ],
        &[],
    );
    let secondary = paper(
        "secondary.pdf",
        "Bleeding in the RIVA cohort: a prospective cohort study",
        &[
            "Methods: a prospective cohort of the trial's participants was followed for two years.",
            "The trial was registered at ClinicalTrials.gov (NCT01234567).",
        ],
        &[],
    );
    let narrative = paper(
        "narrative.pdf",
        "Thromboprophylaxis after arthroplasty: a narrative review",
        &["In this review we discuss the history of anticoagulation after surgery."],
        &["1. Rivaroxaban after knee replacement. NCT01234567. 2020."],
    );
    let review = paper(
        "review.pdf",
        "Direct oral anticoagulants after arthroplasty: a systematic review and meta-analysis",
        &[
            "We searched MEDLINE, Embase and the Cochrane Library for randomised trials.",
            "Pooled risk ratios were computed with random-effects models (PRISMA).",
        ],
        &[],
    );
    Papers {
        dir,
        trial,
        secondary,
        narrative,
        review,
    }
}

/// A library of the PDFs in `dir` under `root`, indexed through the CLI with the tiny model:
/// the library folder and the model folder.
fn indexed(root: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let model = root.join("tiny-bert");
    medshelf::fixtures::write_tiny_model(&model, medshelf::Pooling::Mean).unwrap();
    let lib = root.join("lib");
    assert_ran(
        &cli(&lib, Some(&model))
            .arg("index")
            .arg(dir)
            .output()
            .unwrap(),
    );
    (lib, model)
}

fn name(v: &serde_json::Value) -> String {
    v["path"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn designs_are_shown_filtered_sorted_and_corrected_and_trials_linked() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_clinical_papers(tmp.path());
    let (lib, model) = indexed(tmp.path(), &papers.dir);
    let m = Some(model.as_path());

    // Every row carries its design beside its record, with reasons and the rules as source.
    let docs = cli_json(&lib, m, &["docs", "--json"]);
    let label_of = |docs: &serde_json::Value, file: &str| -> String {
        let row = docs
            .as_array()
            .unwrap()
            .iter()
            .find(|d| name(d) == file)
            .unwrap_or_else(|| panic!("{file} not in {docs}"));
        assert!(row["meta"].get("design").is_none(), "{row}");
        row["design"]["label"].as_str().unwrap().to_string()
    };
    for (file, label) in [
        ("trial.pdf", "rct"),
        ("secondary.pdf", "cohort"),
        ("narrative.pdf", "narrative-review"),
        ("review.pdf", "meta-analysis"),
    ] {
        assert_eq!(label_of(&docs, file), label, "{docs}");
    }
    for d in docs.as_array().unwrap() {
        assert_eq!(d["design"]["source"], "rules");
        assert!(!d["design"]["reasons"].as_array().unwrap().is_empty());
        let c = d["design"]["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{d}");
    }

    let search = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["search", "anticoagulation knee arthroplasty", "--json"];
        all.extend_from_slice(args);
        cli_json(&lib, m, &all)
    };
    let names = |answer: &serde_json::Value| -> Vec<String> {
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(name)
            .collect()
    };
    // A filter by design, in every mode; several designs: any of them.
    for mode in ["hybrid", "lexical", "semantic"] {
        let only = names(&search(&["--mode", mode, "--design", "rct"]));
        assert_eq!(only, ["trial.pdf"], "{mode}");
        let mut two = names(&search(&["--mode", mode, "--design", "rct,cohort"]));
        two.sort();
        assert_eq!(two, ["secondary.pdf", "trial.pdf"], "{mode}");
    }
    // Ordered by level of evidence: the meta-analysis, the trial, the cohort, the review.
    let by_evidence = names(&search(&["--mode", "semantic", "--sort", "evidence"]));
    assert_eq!(
        by_evidence,
        ["review.pdf", "trial.pdf", "secondary.pdf", "narrative.pdf"]
    );
    // Facets count designs.
    let facets = search(&["--mode", "semantic", "--facets"]);
    let designs = facets["facets"]["designs"].as_array().unwrap();
    assert_eq!(designs.len(), 4, "{designs:?}");
    assert_eq!(designs[0]["value"], "meta-analysis");

    // The trial and its secondary analysis are linked; the review citing the registration in
    // its references is not.
    let all = search(&["--mode", "semantic"]);
    let result = |file: &str| -> serde_json::Value {
        all["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| name(r) == file)
            .cloned()
            .unwrap()
    };
    let trial = result("trial.pdf");
    assert_eq!(trial["meta"]["trial_ids"][0], "NCT01234567");
    assert_eq!(trial["trials"][0]["id"], "NCT01234567");
    let linked: Vec<String> = trial["trials"][0]["papers"]
        .as_array()
        .unwrap()
        .iter()
        .map(name)
        .collect();
    assert_eq!(linked, ["secondary.pdf"]);
    assert_eq!(
        name(&result("secondary.pdf")["trials"][0]["papers"][0]),
        "trial.pdf"
    );
    let narrative = result("narrative.pdf");
    assert!(narrative.get("trials").is_none(), "{narrative}");
    assert_eq!(narrative["meta"]["trial_ids"].as_array().unwrap().len(), 0);

    // A correction wins, is shown as the user's, and is taken back with --reset.
    let narrative_path = papers.narrative.to_str().unwrap();
    let meta = cli_json(
        &lib,
        m,
        &[
            "meta",
            narrative_path,
            "--set",
            "design=guideline",
            "--json",
        ],
    );
    assert_eq!(meta["design"]["label"], "guideline");
    assert_eq!(meta["design"]["source"], "user");
    assert_eq!(
        names(&search(&["--mode", "semantic", "--design", "guideline"])),
        ["narrative.pdf"]
    );
    // Re-reading the papers (a new reader) keeps it.
    assert_ran(
        &cli(&lib, m)
            .args(["index", papers.dir.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(
        label_of(&cli_json(&lib, m, &["docs", "--json"]), "narrative.pdf"),
        "guideline"
    );
    let meta = cli_json(
        &lib,
        m,
        &["meta", narrative_path, "--reset", "design", "--json"],
    );
    assert_eq!(meta["design"]["source"], "rules");

    // Wrong names are refused with the list of designs, nothing changed.
    let out = cli(&lib, m)
        .args(["meta", narrative_path, "--set", "design=trial"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("systematic-review"));
    let out = cli(&lib, m)
        .args(["search", "x", "--design", "rct,nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'nonsense' is not a design"));
    let _ = (&papers.trial, &papers.secondary, &papers.review);
}

#[test]
fn abbreviations_are_expanded_both_ways_by_the_librarys_own_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("papers");
    std::fs::create_dir_all(&dir).unwrap();
    let filler = "Outcomes were recorded at each visit by the treating team.";
    let paper = |name: &str, lines: &[&str]| {
        let mut all: Vec<&str> = lines.to_vec();
        all.extend(std::iter::repeat_n(filler, 12));
        write_pdf(&dir.join(name), None, &[FixturePage::text(&all)]).unwrap();
    };
    paper(
        "dvt.pdf",
        &[
            "Thromboprophylaxis after knee replacement",
            "Deep vein thrombosis (DVT) is common after total knee arthroplasty (TKA).",
            "Prophylaxis with enoxaparin lowered the rate of DVT after TKA.",
        ],
    );
    paper(
        "sclerosis.pdf",
        &[
            "Relapses in multiple sclerosis",
            "Multiple sclerosis (MS) relapses were counted. In MS, relapses fell.",
        ],
    );
    paper(
        "sclerosis2.pdf",
        &[
            "Fatigue in multiple sclerosis",
            "Fatigue in multiple sclerosis (MS) was measured with a scale.",
        ],
    );
    paper(
        "stenosis.pdf",
        &[
            "Valve area in mitral stenosis",
            "Mitral stenosis (MS) was graded by valve area on echocardiography.",
        ],
    );
    paper(
        "table.pdf",
        &[
            "A paper with false pairs",
            "The results are shown below (Table 1) and were significant (p < 0.05).",
        ],
    );
    let (lib, model) = indexed(tmp.path(), &dir);
    let m = Some(model.as_path());
    let search = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["search", "--json", "--mode", "lexical"];
        all.extend_from_slice(args);
        cli_json(&lib, m, &all)
    };
    let expanded = |answer: &serde_json::Value| -> Vec<(String, String, String)> {
        answer["expanded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["abbreviation"].as_str().unwrap().to_string(),
                    e["expansion"].as_str().unwrap().to_string(),
                    e["source"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());

    // Shorthand: DVT by the library's definition, ppx by the table (the library uses
    // "prophylaxis"), TKA by the library; the paper found, both forms marked in the snippet.
    let answer = search(&["DVT ppx after TKA"]);
    assert_eq!(
        expanded(&answer),
        [
            s("DVT", "deep vein thrombosis", "library"),
            s("ppx", "prophylaxis", "table"),
            s("TKA", "total knee arthroplasty", "library"),
        ],
        "{answer}"
    );
    assert_eq!(name(&answer["results"][0]), "dvt.pdf");
    let snippet = answer["results"][0]["snippet"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(snippet.contains("<mark>dvt</mark>"), "{snippet}");
    assert!(snippet.contains("<mark>thrombosis</mark>"), "{snippet}");
    // Turned off: the query as typed, nothing listed.
    let plain = search(&["DVT ppx after TKA", "--no-expand"]);
    assert!(expanded(&plain).is_empty());

    // An abbreviation alone; its senses by the library's usage (two papers against one), the
    // other offered; a sense chosen; one abbreviation kept as typed.
    let ms = search(&["MS"]);
    assert_eq!(expanded(&ms), [s("MS", "multiple sclerosis", "library")]);
    assert_eq!(ms["expanded"][0]["papers"], 2);
    assert_eq!(ms["expanded"][0]["other_senses"][0], "mitral stenosis");
    let chosen = search(&["MS valve", "--sense", "MS=mitral stenosis"]);
    assert_eq!(expanded(&chosen), [s("MS", "mitral stenosis", "user")]);
    assert_eq!(name(&chosen["results"][0]), "stenosis.pdf");
    let kept = search(&["DVT ppx", "--as-typed", "dvt"]);
    assert_eq!(expanded(&kept), [s("ppx", "prophylaxis", "table")]);

    // The other way: a term spelled out gains the abbreviation the papers use.
    let spelled = search(&["deep vein thrombosis rates"]);
    assert_eq!(spelled["expanded"][0]["abbreviation"], "DVT");
    assert_eq!(spelled["expanded"][0]["direction"], "abbreviation");

    // False pairs are no definitions; odd queries give sensible answers.
    assert!(expanded(&search(&["Table"])).is_empty());
    let fifty = "MS DVT TKA ppx MI ".repeat(10);
    let many = search(&[fifty.as_str()]);
    assert!(many["expanded"].as_array().unwrap().len() <= 8);
    for q in ["Ωμέγα ΜΣ", "((MS))", "MS;DVT,TKA"] {
        search(&[q]);
    }
    // The CLI's words: what was also searched, and how to turn it off.
    let out = cli(&lib, m)
        .args(["search", "DVT after TKA", "--mode", "lexical"])
        .output()
        .unwrap();
    assert_ran(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Also searched: DVT → deep vein thrombosis (your papers)"),
        "{text}"
    );
    let bad = cli(&lib, m)
        .args(["search", "MS", "--sense", "MS"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn a_list_of_abbreviations_is_mined_and_mined_again_for_an_older_library() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("papers");
    std::fs::create_dir_all(&dir).unwrap();
    let filler = "Cysts were staged by ultrasound at each visit by the treating team.";
    let mut answer: Vec<&str> = vec!["ALB is contraindicated in the first trimester of pregnancy."];
    answer.extend(std::iter::repeat_n(filler, 10));
    write_pdf(
        &dir.join("guideline.pdf"),
        Some("Treatment of cystic echinococcosis"),
        &[
            FixturePage::text(&[
                "Abbreviations and acronyms",
                "ALB albendazole",
                "CE cystic echinococcosis",
                "ICU intensive care unit",
            ]),
            FixturePage::text(&answer),
        ],
    )
    .unwrap();
    let (lib, model) = indexed(tmp.path(), &dir);
    let m = Some(model.as_path());
    // The question spells the drug out; the guideline writes ALB, defined in its list alone.
    let ask = || {
        cli_json(
            &lib,
            m,
            &[
                "search",
                "--json",
                "--mode",
                "lexical",
                "can albendazole be used in pregnancy",
            ],
        )
    };
    let answered = |a: &serde_json::Value| {
        a["expanded"][0]["abbreviation"] == "ALB" && a["results"][0]["page"] == 2
    };
    let first = ask();
    assert!(answered(&first), "{first}");
    // A library whose papers an older miner read: its definitions are gone, its version is
    // the first; the next index run mines them again from the stored pages.
    let conn = rusqlite::Connection::open(lib.join("catalog.sqlite")).unwrap();
    conn.execute_batch(
        "DELETE FROM definitions; DELETE FROM meta WHERE key = 'definitions_miner';",
    )
    .unwrap();
    drop(conn);
    let older = ask();
    assert!(!answered(&older), "{older}");
    assert_ran(&cli(&lib, m).arg("index").arg(&dir).output().unwrap());
    let again = ask();
    assert!(answered(&again), "{again}");
}
