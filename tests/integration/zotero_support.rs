//! What the Zotero tests share: the real Zotero folder, a checksum of a folder, and a Zotero
//! library built on the real database's schema with every case the import must handle.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use medshelf::fixtures::zotero::ZoteroFolder;
use medshelf::library::NoSink;
use medshelf::zotero::{self, Prefs};
use medshelf::{Library, Mode, SearchOptions};

use crate::support::{shared, skip, write_papers};

/// The real Zotero data folder, where `../shared` is present.
pub(crate) fn real_zotero(test: &str) -> Option<PathBuf> {
    let dir = shared()?.join("data/zotero/zotero7-sample");
    if dir.join("zotero.sqlite").is_file() {
        Some(dir)
    } else {
        skip(test, "../shared/data/zotero/zotero7-sample is missing")
    }
}

/// A checksum of every file under `dir` (names and bytes), to show nothing was written.
pub(crate) fn checksum(dir: &Path) -> String {
    let mut hasher = blake3::Hasher::new();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() || e.file_type().is_symlink())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    for f in files {
        hasher.update(f.to_string_lossy().as_bytes());
        if let Ok(bytes) = std::fs::read(&f) {
            hasher.update(&bytes);
        }
    }
    hasher.finalize().to_hex().to_string()
}

/// The library built for most tests, with what each part is.
pub(crate) struct Built {
    pub(crate) fixture: ZoteroFolder,
    pub(crate) papers: crate::support::Papers,
    pub(crate) sepsis: i64,
    pub(crate) diabetes: i64,
    /// The diabetes item's second PDF (linked) and the item that holds sepsis.pdf again.
    pub(crate) supplement: i64,
    pub(crate) again: i64,
    /// A PDF linked from outside the Zotero folder (absolute).
    pub(crate) outside: PathBuf,
    pub(crate) base: PathBuf,
}

pub(crate) fn build(real: &Path, tmp: &Path) -> Built {
    let papers = write_papers(tmp);
    let mut z = ZoteroFolder::new(real, &tmp.join("Zotero"));
    let sepsis = z.paper(
        "Ferritin in septic shock: a cohort",
        &[
            ("date", "2021-03-00 March 2021"),
            ("publicationTitle", "Critical Care"),
            ("DOI", "https://doi.org/10.1186/CC.2021.1"),
            ("extra", "PMID: 33445566\nPMCID: PMC7654321"),
            ("abstractNote", "Ferritin predicted death."),
        ],
        &[("Ng", "Ada"), ("Okafor", "Chidi")],
    );
    let (sepsis_pdf, _) = z.stored(
        Some(sepsis),
        Some(&papers.sepsis),
        "sepsis.pdf",
        "application/pdf",
    );
    let icu = z.collection("Critical care", None);
    let septic = z.collection("Sepsis", Some(icu));
    z.file_in(septic, sepsis);
    z.tag(sepsis, "to-read");
    z.tag(sepsis, "ICU");
    z.note(
        sepsis,
        "<div><p>Check the <b>ferritin</b> cut-off against our quokka protocol</p></div>",
    );
    z.annotation(
        sepsis_pdf,
        "Serum ferritin above 4000 ng/mL predicted death",
        "zebrafinch threshold",
        1,
    );

    // One item, two PDFs: one stored, one linked from outside the Zotero folder.
    let diabetes = z.paper(
        "Metformin and glycaemic control",
        &[("date", "2019-00-00 2019")],
        &[("Li", "Wei")],
    );
    z.stored(
        Some(diabetes),
        Some(&papers.diabetes),
        "diabetes.pdf",
        "application/pdf",
    );
    let outside = tmp.join("elsewhere/asthma supplement.pdf");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::copy(&papers.asthma, &outside).unwrap();
    let (supplement, _) = z.linked(diabetes, outside.to_str().unwrap());
    let endo = z.collection("Endocrinology", None);
    z.file_in(endo, diabetes);
    z.file_in(icu, diabetes);

    // One item, two PDFs of its own (the article and its supplement): one result.
    let trial = z.paper("Amlodipine in resistant hypertension: a trial", &[], &[]);
    for (name, line) in [
        (
            "amlodipine.pdf",
            "Amlodipine lowered systolic pressure by 12 mmHg at one year.",
        ),
        (
            "amlodipine-supplement.pdf",
            "Supplementary appendix: amlodipine dosing by week.",
        ),
    ] {
        let pdf = tmp.join(name);
        medshelf::fixtures::write_pdf(
            &pdf,
            None,
            &[medshelf::fixtures::FixturePage::text(&[line])],
        )
        .unwrap();
        z.stored(Some(trial), Some(&pdf), name, "application/pdf");
    }

    // The same PDF attached to a second item: indexed once.
    let again = z.paper("Ferritin in septic shock (preprint)", &[], &[]);
    z.stored(
        Some(again),
        Some(&papers.sepsis),
        "sepsis copy.pdf",
        "application/pdf",
    );
    z.tag(again, "preprint");

    // Not indexable, each with its reason.
    let web = z.paper("A saved web page", &[], &[]);
    z.stored(Some(web), None, "page.html", "text/html");
    let link = z.paper("A link only", &[], &[]);
    let (id, _) = z.item("attachment", None);
    z.attach(id, Some(link), 3, "text/html", "");
    let missing = z.paper("A paper whose file is gone", &[], &[]);
    z.stored(Some(missing), None, "gone.pdf", "application/pdf");
    let escape = z.paper("A path that climbs out", &[], &[]);
    z.stored(
        Some(escape),
        None,
        "../../../../etc/passwd.pdf",
        "application/pdf",
    );
    let symlinked = z.paper("A symlink out of storage", &[], &[]);
    let (_, key) = z.stored(Some(symlinked), None, "link.pdf", "application/pdf");
    let secret = tmp.join("secret.pdf");
    std::fs::copy(&papers.asthma, &secret).unwrap();
    std::fs::create_dir_all(z.dir.join("storage").join(&key)).unwrap();
    std::os::unix::fs::symlink(&secret, z.dir.join("storage").join(&key).join("link.pdf")).unwrap();
    // A storage folder that is itself a symlink to elsewhere.
    let folder_link = z.paper("A storage folder that is a symlink", &[], &[]);
    let (_, key) = z.stored(Some(folder_link), None, "inside.pdf", "application/pdf");
    let away = tmp.join("away");
    std::fs::create_dir_all(&away).unwrap();
    std::fs::copy(&papers.asthma, away.join("inside.pdf")).unwrap();
    std::os::unix::fs::symlink(&away, z.dir.join("storage").join(&key)).unwrap();
    // Linked relative to the base folder: inside is followed, a climb out is not.
    let base = tmp.join("Papers");
    std::fs::create_dir_all(base.join("cardio")).unwrap();
    std::fs::copy(&papers.asthma, base.join("cardio/asthma.pdf")).unwrap();
    let relative = z.paper("Inhaled corticosteroids (linked)", &[], &[]);
    z.linked(relative, "attachments:cardio/asthma.pdf");
    let climb = z.paper("Linked above the base folder", &[], &[]);
    z.linked(climb, "attachments:../secret.pdf");
    // A hostile PDF fails alone.
    let hostile = z.paper("A damaged PDF", &[], &[]);
    let broken = tmp.join("broken.pdf");
    std::fs::write(&broken, b"%PDF-1.4 nothing else").unwrap();
    z.stored(
        Some(hostile),
        Some(&broken),
        "broken.pdf",
        "application/pdf",
    );
    // In the trash: skipped with its PDF.
    let trashed = z.paper("Trashed paper", &[], &[]);
    z.stored(
        Some(trashed),
        Some(&papers.asthma),
        "trashed.pdf",
        "application/pdf",
    );
    z.trash(trashed);
    Built {
        fixture: z,
        papers,
        sepsis,
        diabetes,
        supplement,
        again,
        outside,
        base,
    }
}

pub(crate) fn prefs(base: &Path) -> Prefs {
    Prefs {
        data_dir: None,
        base_attachment_path: Some(base.to_path_buf()),
    }
}

pub(crate) fn import(
    library: &mut Library,
    dir: &Path,
    base: &Path,
) -> medshelf::library::ZoteroSummary {
    let snapshot = zotero::read(dir, &prefs(base)).unwrap();
    library
        .import_zotero(&snapshot, &NoSink, &AtomicBool::new(false))
        .unwrap()
}

pub(crate) fn search(
    library: &Library,
    query: &str,
    filter: medshelf::search::PaperFilter,
) -> medshelf::SearchResponse {
    library
        .search(
            query,
            &SearchOptions {
                mode: Mode::Lexical,
                filter,
                ..SearchOptions::default()
            },
        )
        .unwrap()
}
