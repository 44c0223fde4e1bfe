//! Citations and exports (issue 14): every record written as BibTeX, RIS and CSL-JSON reads
//! back, field by field, through parsers that are not ours (`biblatex`, `biblib`,
//! `citeworks-csl`); the CLI's `cite` and `export` over a library of real papers.

use biblatex::{Bibliography, ChunksExt};
use medshelf::cite::{cite, export, keys, Format, Style};
use medshelf::metadata::{Author, Record};
use proptest::prelude::*;

use crate::support::{assert_ran, cli, cli_json, shared, skip, write_papers};

fn author(family: &str, given: &str) -> Author {
    Author {
        family: family.into(),
        given: given.into(),
    }
}

/// Records that test a writer: LaTeX's special characters, braces, accents and scripts,
/// particles, a group author, a long author list, a DOI with parentheses and underscores,
/// every identifier, a paragraphed abstract; and records with almost nothing.
fn hard_records() -> Vec<Record> {
    let mut many: Vec<Author> = (1..=14)
        .map(|i| author(&format!("Author{i}"), "Q. R."))
        .collect();
    many.insert(0, author("van der Berg", "Jan"));
    vec![
        Record {
            title: Some(
                "β-blockers & 5% of {patients}: #1 in $cost_effectiveness ~ 100^2 \\ \"quoted\""
                    .into(),
            ),
            authors: vec![
                author("Sundström", "Anna"),
                author("Nilsson", "Lars-Göran"),
                author("O'Brien", "Seán"),
                author("de la Cruz", "María José"),
                author("WHO Solidarity Trial Consortium", ""),
                author("Tanaka", "Hiroshi"),
            ],
            year: Some(2020),
            venue: Some("Journal of Trauma Management & Outcomes".into()),
            doi: Some("10.1016/s0140-6736(20)30183-5_x".into()),
            pmid: Some("31986264".into()),
            pmcid: Some("PMC7159299".into()),
            trial_ids: vec!["NCT04315948".into(), "ISRCTN83971151".into()],
            abstract_text: Some(
                "Background: Sepsis kills.\n\nMethods: We randomised 1,200 adults (≥18 years).\n\
                 Results: Mortality fell from 30% to 25%."
                    .into(),
            ),
            ..Record::default()
        },
        Record {
            title: Some("Deep vein thrombosis prophylaxis after knee replacement".into()),
            authors: many,
            year: Some(1998),
            venue: Some("The Lancet".into()),
            ..Record::default()
        },
        Record {
            title: Some("A title and nothing else".into()),
            ..Record::default()
        },
        Record::default(),
    ]
}

/// Whitespace runs as one space: RIS holds a field on one line, so paragraphs become spaces.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn trial_note(r: &Record) -> Option<String> {
    (!r.trial_ids.is_empty()).then(|| format!("Trial registration: {}", r.trial_ids.join(", ")))
}

/// Reads BibTeX back with the `biblatex` crate and compares every field with the records.
fn assert_bibtex_round_trip(records: &[Record]) {
    let text = export(records, Format::Bibtex);
    let bib = Bibliography::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    assert_eq!(bib.len(), records.len(), "{text}");
    for (r, key) in records.iter().zip(keys(records)) {
        let entry = bib
            .get(&key)
            .unwrap_or_else(|| panic!("{key} missing\n{text}"));
        // BibTeX reads a run of whitespace as one space.
        let field = |name: &str| {
            entry
                .get(name)
                .map(|chunks| flat(&chunks.format_verbatim()))
        };
        let flat = |v: &Option<String>| v.as_deref().map(flat);
        assert_eq!(field("title"), flat(&r.title), "title\n{text}");
        let authors: Vec<Author> = entry
            .author()
            .unwrap_or_default()
            .into_iter()
            .map(|p| Author {
                family: [p.prefix.as_str(), p.name.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" "),
                given: p.given_name,
            })
            .collect();
        assert_eq!(authors, r.authors, "authors\n{text}");
        assert_eq!(
            field("year").map(|y| y.parse::<u16>().unwrap()),
            r.year,
            "year\n{text}"
        );
        assert_eq!(field("journal"), flat(&r.venue), "venue\n{text}");
        assert_eq!(entry.doi().ok(), r.doi, "doi\n{text}");
        assert_eq!(field("pmid"), r.pmid, "pmid\n{text}");
        assert_eq!(field("pmcid"), r.pmcid, "pmcid\n{text}");
        assert_eq!(
            field("abstract"),
            flat(&r.abstract_text),
            "abstract\n{text}"
        );
        assert_eq!(field("note"), trial_note(r), "trial ids\n{text}");
    }
}

/// Reads RIS back with the `biblib` crate and compares every field with the records.
fn assert_ris_round_trip(records: &[Record]) {
    use biblib::CitationParser;
    let text = export(records, Format::Ris);
    let parsed = biblib::RisParser::new()
        .parse(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed.len(), records.len(), "{text}");
    for (r, c) in records.iter().zip(&parsed) {
        assert_eq!(c.citation_type, ["Journal Article"], "{text}");
        assert_eq!(
            Some(c.title.clone()).filter(|t| !t.is_empty()),
            r.title.as_deref().map(flat),
            "title\n{text}"
        );
        let authors: Vec<Author> = c
            .authors
            .iter()
            .map(|a| Author {
                family: a.name.clone(),
                given: [a.given_name.as_deref(), a.middle_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
            })
            .collect();
        assert_eq!(authors, r.authors, "authors\n{text}");
        assert_eq!(
            c.date.as_ref().map(|d| d.year as u16),
            r.year,
            "year\n{text}"
        );
        assert_eq!(c.journal, r.venue.as_deref().map(flat), "venue\n{text}");
        assert_eq!(c.doi, r.doi, "doi\n{text}");
        assert_eq!(c.accession_number, r.pmid, "pmid\n{text}");
        assert_eq!(c.pmc_id, r.pmcid, "pmcid\n{text}");
        assert_eq!(
            c.abstract_text,
            r.abstract_text.as_deref().map(flat),
            "abstract\n{text}"
        );
        assert_eq!(
            c.extra_fields.get("N1").map(|n| n.join(" ")),
            trial_note(r),
            "trial ids\n{text}"
        );
    }
}

/// Reads CSL-JSON back with the `citeworks-csl` crate and compares every field.
fn assert_csljson_round_trip(records: &[Record]) {
    use citeworks_csl::dates::Date;
    use citeworks_csl::items::ItemValue;
    let text = export(records, Format::Csljson);
    let items = citeworks_csl::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(items.len(), records.len(), "{text}");
    for ((r, item), key) in records.iter().zip(&items).zip(keys(records)) {
        let string = |v: &Option<citeworks_csl::ordinaries::OrdinaryValue>| {
            v.as_ref().map(|v| v.to_string())
        };
        let extra = |name: &str| match item.fields.get(name) {
            Some(ItemValue::Ordinary(v)) => Some(v.to_string()),
            None => None,
            Some(other) => panic!("{name}: {other:?}"),
        };
        assert_eq!(item.id, key);
        assert_eq!(string(&item.title), r.title, "title\n{text}");
        let authors: Vec<Author> = item
            .author
            .iter()
            .map(|n| Author {
                family: n.family.clone().or(n.literal.clone()).unwrap_or_default(),
                given: n.given.clone().unwrap_or_default(),
            })
            .collect();
        assert_eq!(authors, r.authors, "authors\n{text}");
        let year = item.issued.as_ref().map(|d| match d {
            Date::Single { date, .. } => date.year as u16,
            other => panic!("{other:?}"),
        });
        assert_eq!(year, r.year, "year\n{text}");
        assert_eq!(string(&item.container_title), r.venue, "venue\n{text}");
        assert_eq!(string(&item.doi), r.doi, "doi\n{text}");
        assert_eq!(extra("PMID"), r.pmid, "pmid\n{text}");
        assert_eq!(extra("PMCID"), r.pmcid, "pmcid\n{text}");
        assert_eq!(
            string(&item.abstract_text),
            r.abstract_text,
            "abstract\n{text}"
        );
        assert_eq!(string(&item.note), trial_note(r), "trial ids\n{text}");
    }
}

#[test]
fn exports_read_back_through_independent_parsers_with_every_field() {
    let records = hard_records();
    assert_bibtex_round_trip(&records);
    assert_ris_round_trip(&records);
    assert_csljson_round_trip(&records);
}

/// Text as the reader or a user's correction could leave it: any printable characters,
/// LaTeX's specials and braces most of all.
fn any_text() -> impl Strategy<Value = String> {
    "[a-zA-Zéßøβ0-9 {}%&#$_~^\\\\\"'.,:;()<>@!?=+*/|-]{1,40}"
        .prop_map(|s| flat(&s))
        .prop_filter("not blank", |s| !s.is_empty())
}

fn any_name() -> impl Strategy<Value = String> {
    "[A-Z][a-zéøß'-]{1,12}( [A-Z][a-zé]{1,10})?"
}

prop_compose! {
    fn any_record()(
        title in proptest::option::of(any_text()),
        authors in proptest::collection::vec((any_name(), proptest::option::of(any_name())), 0..5),
        year in proptest::option::of(1900u16..2030),
        venue in proptest::option::of(any_text()),
        abstract_text in proptest::option::of(any_text()),
    ) -> Record {
        Record {
            title,
            authors: authors
                .into_iter()
                .map(|(family, given)| author(&family, &given.unwrap_or_default()))
                .collect(),
            year,
            venue,
            abstract_text,
            ..Record::default()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_record_reads_back_from_every_format(records in proptest::collection::vec(any_record(), 1..4)) {
        assert_bibtex_round_trip(&records);
        assert_ris_round_trip(&records);
        assert_csljson_round_trip(&records);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any title, venue or name is cited, its text printed as typed (hayagriva's markup
    /// characters, braces and dollars among them, escaped).
    #[test]
    fn any_record_is_cited_with_its_title_as_typed(record in any_record()) {
        for style in [Style::Ama, Style::Vancouver, Style::Apa] {
            let text = cite(std::slice::from_ref(&record), style).unwrap().remove(0);
            if let Some(title) = &record.title {
                // Styles may end a title with their own period and change its case (APA).
                let wanted = flat(title).trim_end_matches('.').to_lowercase();
                prop_assert!(flat(&text).to_lowercase().contains(&wanted), "{style:?}: {text} / {title}");
            }
        }
    }
}

#[test]
fn the_three_styles_cite_a_paper_as_their_guides_print_it() {
    let r = &hard_records()[..2];
    let ama = cite(r, Style::Ama).unwrap();
    // AMA: up to six authors, else three and "et al"; the journal's name in full here.
    assert!(
        ama[1].starts_with("van der Berg J, Author1 QR, Author2 QR, et al. Deep vein"),
        "{}",
        ama[1]
    );
    assert!(
        ama[0].contains("doi:10.1016/s0140-6736(20)30183-5_x"),
        "{}",
        ama[0]
    );
    let vancouver = cite(r, Style::Vancouver).unwrap();
    // NLM: up to six authors, then "et al.".
    assert!(
        vancouver[1].starts_with(
            "van der Berg J, Author1 QR, Author2 QR, Author3 QR, Author4 QR, Author5 QR, et al. \
             Deep vein thrombosis prophylaxis after knee replacement. The Lancet. 1998."
        ),
        "{}",
        vancouver[1]
    );
    assert!(
        vancouver[0].starts_with("Sundström A, Nilsson LG, O'Brien S,"),
        "{}",
        vancouver[0]
    );
    let apa = cite(r, Style::Apa).unwrap();
    assert!(
        apa[0].starts_with("Sundström, A., Nilsson, L.-G., O'Brien, S., de la Cruz, M. J.,"),
        "{}",
        apa[0]
    );
    assert!(apa[0].contains("(2020)"), "{}", apa[0]);
    assert!(
        apa[0].contains("https://doi.org/10.1016/s0140-6736(20)30183-5_x"),
        "{}",
        apa[0]
    );
}

#[test]
fn cite_and_export_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let lib = tmp.path().join("lib");
    assert_ran(
        &cli(&lib, None)
            .args(["index", papers.dir.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    let sepsis = papers.sepsis.to_str().unwrap();
    assert_ran(
        &cli(&lib, None)
            .args([
                "meta",
                sepsis,
                "--set",
                "authors=Doe, Jane; Smith, John",
                "--set",
                "year=2021",
                "--set",
                "venue=Critical Care",
            ])
            .output()
            .unwrap(),
    );
    let out = cli(&lib, None)
        .args(["cite", sepsis, "--style", "vancouver"])
        .output()
        .unwrap();
    assert_ran(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1. Doe J, Smith J. Early antibiotics in septic shock. Critical Care. 2021."
    );
    // A path the library does not hold is named; the others are cited; the exit says so.
    let elsewhere = papers.dir.join("elsewhere.pdf");
    let out = cli(&lib, None)
        .args([
            "cite",
            "--json",
            "--style",
            "apa",
            elsewhere.to_str().unwrap(),
            sepsis,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("elsewhere.pdf"));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["path"], sepsis);
    assert!(rows[0]["citation"]
        .as_str()
        .unwrap()
        .starts_with("Doe, J., & Smith, J. (2021)."));

    // The whole library, a search's results, named papers: each export parses back.
    let docs = cli_json(&lib, None, &["docs", "--json"]);
    let held: Vec<Record> = docs
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "indexed")
        .map(|d| serde_json::from_value(d["meta"].clone()).unwrap())
        .collect();
    assert!(held.len() >= 2);
    let out = cli(&lib, None)
        .args(["export", "--format", "ris"])
        .output()
        .unwrap();
    assert_ran(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, export(&held, Format::Ris));
    assert_ris_round_trip(&held);

    let file = tmp.path().join("found.bib");
    let out = cli(&lib, None)
        .args([
            "export",
            "--query",
            "ferritin",
            "--year",
            "2020..2022",
            "-o",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_ran(&out);
    let bib = Bibliography::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(bib.len(), 1);
    assert_eq!(bib.iter().next().unwrap().key, "doe2021early");

    let out = cli(&lib, None)
        .args(["export", "--format", "csljson", sepsis])
        .output()
        .unwrap();
    assert_ran(&out);
    let items = citeworks_csl::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].author[1].family.as_deref(), Some("Smith"));
}

#[test]
fn real_papers_export_and_read_back() {
    let Some(shared) = shared().or_else(|| skip("citations", "../shared is absent")) else {
        return;
    };
    let table =
        medshelf::metadata::eval::load_truth(&shared.join("data/metadata/truth_dev.tsv")).unwrap();
    let records: Vec<Record> = table
        .iter()
        .filter_map(|t| medshelf::metadata::read_file(&shared.join("data/pdfs").join(&t.file)).ok())
        .map(|m| Record::from(&m))
        .collect();
    assert!(records.len() >= 20, "{}", records.len());
    assert_bibtex_round_trip(&records);
    assert_ris_round_trip(&records);
    assert_csljson_round_trip(&records);
    for style in [Style::Ama, Style::Vancouver, Style::Apa] {
        for (r, text) in records.iter().zip(cite(&records, style).unwrap()) {
            if let Some(family) = r.authors.first().map(|a| &a.family) {
                let shown = family.split_whitespace().last().unwrap().to_lowercase();
                assert!(text.to_lowercase().contains(&shown), "{style:?}: {text}");
            }
        }
    }
}
