//! A Zotero library, read and never written: its items with their PDFs, Zotero's metadata,
//! collections, tags, notes and annotations, as a [`Snapshot`] the library imports.
//!
//! A running Zotero holds `zotero.sqlite` locked and keeps recent changes in its `-wal` (or a
//! `-journal`), so the database is never opened where it lies: it is copied with those files
//! into a temporary folder of ours ([`Copy`]), and only the copy is opened (read-write, so
//! that SQLite can replay the WAL or roll back an unfinished transaction into the copy; every
//! query after that runs under `query_only`). Nothing under the Zotero folder is opened for
//! writing. A database of a newer schema than the one MedShelf was built against is refused
//! with its version ([`ZoteroError::NewerSchema`]): reading tables whose meaning changed
//! would import wrong metadata silently.
//!
//! Which files are followed ([`read`]): a stored attachment (`storage:NAME`) only where it
//! stays inside its own `storage/KEY/` folder once links are resolved (a name with `..` or a
//! symlink out of the folder is refused); a linked file where Zotero points, absolute as it is,
//! or relative (`attachments:`) to the linked-attachment base folder and inside it once
//! resolved. Everything else is listed with its reason, never silently dropped.

mod files;
mod prefs;
mod read;
mod record;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::metadata::Record;

pub use prefs::{default_dir, Prefs};
pub use read::read;

/// The newest schema of Zotero's user data this reader knows (Zotero 7.0's `userdata`).
pub const KNOWN_USERDATA: i64 = 123;
/// The newest `compatibility` version (Zotero bumps it when older readers must stop).
pub const KNOWN_COMPATIBILITY: i64 = 7;

/// Why a Zotero library could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ZoteroError {
    /// No `zotero.sqlite` where one was looked for.
    #[error("no Zotero database in {}: expected {} (give the Zotero data folder, the one that holds zotero.sqlite and storage/)", .0.display(), .0.join("zotero.sqlite").display())]
    NotFound(PathBuf),
    /// The database is of a newer Zotero than this MedShelf knows.
    #[error("{} is from a newer Zotero (schema version {version}, compatibility {compatibility}; MedShelf reads up to {KNOWN_USERDATA} and {KNOWN_COMPATIBILITY}): update MedShelf to import it", path.display())]
    NewerSchema {
        /// The database.
        path: PathBuf,
        /// Its `userdata` schema version.
        version: i64,
        /// Its `compatibility` version.
        compatibility: i64,
    },
    /// The database could not be read (damaged, not SQLite, or missing tables).
    #[error("{} could not be read as a Zotero database ({reason}); Zotero's own files were not touched", path.display())]
    Damaged {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// Copying the database to a temporary folder failed.
    #[error("copying {} to read it: {error}", path.display())]
    Copy {
        /// The file being copied.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
}

impl ZoteroError {
    /// A stable code for the faces.
    pub fn code(&self) -> &'static str {
        match self {
            ZoteroError::NotFound(_) => "zotero_not_found",
            ZoteroError::NewerSchema { .. } => "zotero_newer",
            ZoteroError::Damaged { .. } => "zotero_damaged",
            ZoteroError::Copy { .. } => "io",
        }
    }
}

/// A Zotero library as read at one moment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// The Zotero data folder.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub dir: PathBuf,
    /// Its `userdata` schema version.
    pub schema: i64,
    /// The regular items to import, each with at least one readable PDF (notes and
    /// annotations are searched as part of a paper, so an item without one is skipped).
    pub items: Vec<Item>,
    /// What was not imported, each with the reason.
    pub skipped: Vec<Skipped>,
    /// Every collection path (nested names joined by `/`), sorted.
    pub collections: Vec<String>,
    /// How many items Zotero's library holds (regular items, not attachments or notes).
    pub regular_items: usize,
    /// How many regular items are in Zotero's trash (skipped).
    pub trashed: usize,
}

impl Snapshot {
    /// Every PDF of the items, once, in Zotero's order (a PDF attached to two items is one
    /// paper).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut seen = std::collections::HashSet::new();
        self.items
            .iter()
            .flat_map(|i| i.files.iter().map(|f| f.path.clone()))
            .filter(|p| seen.insert(p.clone()))
            .collect()
    }
}

/// One regular Zotero item (a journal article, a preprint, a book...), or a PDF that stands
/// alone in Zotero (`item_type` `attachment`). Stored as JSON in the catalog, without its
/// files (which the catalog keeps as paths).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Item {
    /// Zotero's key of the item (eight characters), unique within its library.
    pub key: String,
    /// Zotero's library id (1: the user's own library; others: groups).
    pub library: i64,
    /// Zotero's item type (`journalArticle`, `preprint`, `book`...).
    pub item_type: String,
    /// Zotero's version of the item (its sync counter) and its modification time.
    pub version: i64,
    /// When Zotero last changed it.
    pub modified: String,
    /// Zotero's metadata as a MedShelf record, every field's source `zotero`.
    pub record: Record,
    /// Every creator in Zotero's order, with its role (`author`, `editor`...).
    pub creators: Vec<Creator>,
    /// The item's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Its PDFs, in Zotero's order.
    #[serde(skip)]
    pub files: Vec<Attachment>,
    /// The collections that hold the item itself, as paths.
    pub collections: Vec<String>,
    /// Its tags, sorted.
    pub tags: Vec<String>,
    /// Its child notes and the annotations on its PDFs: the user's own words.
    pub notes: Vec<Note>,
}

/// Where a paper sits in Zotero: the `zotero` object of each row of `docs --json` and each
/// result of `search --json` (`key`, `collections`, `tags` are the contract; the rest is
/// added). A PDF held by two items is one paper: the first item's key, the others' in
/// `other_keys`, collections and tags of all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// Zotero's key of the item (unique within its library).
    pub key: String,
    /// Zotero's library id of the item (1: the user's own library; others: groups).
    pub library: i64,
    /// The collections that hold it, as paths (nested names joined by `/`).
    pub collections: Vec<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Zotero's item type.
    pub item_type: String,
    /// The item's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Every creator with its role.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub creators: Vec<Creator>,
    /// The keys of other items that hold the same PDF.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_keys: Vec<String>,
}

impl Membership {
    /// The membership of a paper held by `items` (the first is the paper's item).
    pub fn of(items: &[Item]) -> Option<Membership> {
        let first = items.first()?;
        let mut collections = BTreeSet::new();
        let mut tags = BTreeSet::new();
        for item in items {
            collections.extend(item.collections.iter().cloned());
            tags.extend(item.tags.iter().cloned());
        }
        Some(Membership {
            key: first.key.clone(),
            library: first.library,
            collections: collections.into_iter().collect(),
            tags: tags.into_iter().collect(),
            item_type: first.item_type.clone(),
            url: first.url.clone(),
            creators: first.creators.clone(),
            other_keys: items[1..].iter().map(|i| i.key.clone()).collect(),
        })
    }

    /// Whether the collection `path` holds the paper (its own items; with `subcollections`,
    /// those of the collections inside it too). Names compare without regard to case, and
    /// slashes around the path are ignored.
    pub fn in_collection(&self, path: &str, subcollections: bool) -> bool {
        let wanted = path.trim().trim_matches('/').to_lowercase();
        self.collections.iter().any(|c| {
            let c = c.to_lowercase();
            c == wanted
                || (subcollections
                    && c.strip_prefix(&wanted)
                        .is_some_and(|rest| rest.starts_with('/')))
        })
    }

    /// Whether the paper carries the tag (case aside, as Zotero compares tags).
    pub fn has_tag(&self, tag: &str) -> bool {
        let tag = tag.trim().to_lowercase();
        self.tags.iter().any(|t| t.to_lowercase() == tag)
    }
}

/// A creator of an item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Creator {
    /// Surname (or the whole name of an institution).
    pub family: String,
    /// Given names.
    pub given: String,
    /// Zotero's role (`author`, `editor`, `contributor`...).
    pub role: String,
}

/// A PDF attached to an item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// Zotero's key of the attachment.
    pub key: String,
    /// Where the file is (resolved, not canonicalised: the path the user's Zotero names).
    pub path: PathBuf,
    /// Whether it is a linked file (outside Zotero's storage) rather than a stored one.
    pub linked: bool,
}

/// What kind of the user's own words a [`Note`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    /// A child note of the item.
    Note,
    /// An annotation on one of its PDFs (a highlight, a comment).
    Annotation,
}

/// A child note or a PDF annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Note {
    /// Zotero's key of the note or annotation.
    pub key: String,
    /// Which it is.
    pub kind: NoteKind,
    /// The attachment an annotation is on (`None` for notes).
    pub attachment: Option<String>,
    /// The page an annotation is on (1-based), where Zotero knows it.
    pub page: Option<u32>,
    /// The text: a note stripped of its HTML; an annotation's highlighted text and its comment.
    pub text: String,
}

/// An attachment or item that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Zotero's key of the item (or attachment) concerned.
    pub key: String,
    /// The parent item's title, where there is one (what the user recognises).
    pub title: Option<String>,
    /// The file concerned, where there is one.
    #[serde(serialize_with = "crate::paths::lossy_opt")]
    pub path: Option<PathBuf>,
    /// Why, as a stable code.
    pub reason: SkipReason,
}

/// Why something in Zotero was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A saved web page (HTML snapshot): MedShelf indexes PDFs.
    Snapshot,
    /// A link to a web page: there is no file.
    LinkOnly,
    /// Another kind of file (an EPUB, an image...).
    NotPdf,
    /// The file Zotero names is not there.
    Missing,
    /// The path leaves the folder it must stay in (`..`, or a symlink out of it).
    OutsideFolder,
    /// A linked file relative to a base folder that Zotero's settings do not name.
    NoBaseFolder,
    /// A regular item with nothing to index (no PDF, no notes).
    NoFile,
}

impl SkipReason {
    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Snapshot => "a saved web page (HTML snapshot), not a PDF",
            SkipReason::LinkOnly => "a link to a web page, no file",
            SkipReason::NotPdf => "not a PDF",
            SkipReason::Missing => "the file is missing",
            SkipReason::OutsideFolder => {
                "the path leaves the folder Zotero keeps it in (not followed)"
            }
            SkipReason::NoBaseFolder => {
                "linked relative to a base folder that Zotero's settings do not name"
            }
            SkipReason::NoFile => "no PDF attached",
        }
    }
}

/// The database copied into a temporary folder with its `-wal` and `-journal`; the folder goes
/// when this is dropped.
pub struct Copy {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Copy {
    /// Copies `zotero.sqlite` of the data folder `dir`. The copy is taken again (up to three
    /// times) where the database changed while it was copied, so that Zotero writing at that
    /// moment does not leave a copy of half of one state.
    pub fn take(dir: &Path) -> Result<Copy, ZoteroError> {
        let source = dir.join("zotero.sqlite");
        if !source.is_file() {
            return Err(ZoteroError::NotFound(dir.to_path_buf()));
        }
        let copy_err = |path: &Path| {
            let path = path.to_path_buf();
            move |error| ZoteroError::Copy { path, error }
        };
        let tmp = tempfile::Builder::new()
            .prefix("medshelf-zotero-")
            .tempdir()
            .map_err(copy_err(&std::env::temp_dir()))?;
        let db = tmp.path().join("zotero.sqlite");
        let stamp = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.len(), m.modified().ok()))
        };
        for _ in 0..3 {
            let before = stamp(&source);
            let _ = std::fs::remove_file(&db);
            std::fs::copy(&source, &db).map_err(copy_err(&source))?;
            writable(&db).map_err(copy_err(&db))?;
            for suffix in ["-wal", "-journal"] {
                let side = dir.join(format!("zotero.sqlite{suffix}"));
                let target = tmp.path().join(format!("zotero.sqlite{suffix}"));
                let _ = std::fs::remove_file(&target);
                if side.is_file() {
                    std::fs::copy(&side, &target).map_err(copy_err(&side))?;
                    writable(&target).map_err(copy_err(&target))?;
                }
            }
            if stamp(&source) == before {
                break;
            }
        }
        Ok(Copy { dir: tmp, db })
    }

    /// The copied database.
    pub fn path(&self) -> &Path {
        &self.db
    }

    /// The temporary folder that holds the copy.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Makes a copy writable: a copy keeps its source's mode, and SQLite opens a read-only file
/// read-only, so it could neither replay the WAL nor roll back a journal into it (a backup or
/// a share mounted read-only would then read as damaged).
fn writable(path: &Path) -> std::io::Result<()> {
    let mut permissions = std::fs::metadata(path)?.permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(path, permissions)
}

/// Strips a Zotero note's HTML to its text: tags dropped (block ends become line breaks),
/// entities decoded, runs of blank space closed up.
pub fn note_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[lt + 1..lt + gt]
            .trim_start_matches('/')
            .to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        if matches!(
            name,
            "p" | "div"
                | "br"
                | "li"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "tr"
                | "blockquote"
        ) {
            out.push('\n');
        } else if matches!(name, "td" | "th") {
            out.push(' ');
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(&decode_entities(rest));
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_lose_their_markup_and_keep_their_words() {
        let html = "<div class=\"zotero-note znv1\"><h1>Dosing</h1><p>Start at 5&nbsp;mg &amp; \
                    titrate &lt;weekly&gt;.</p><ul><li>eGFR &lt;30: r&#233;duire &#x2192; halve</li></ul></div>";
        assert_eq!(
            note_text(html),
            "Dosing\nStart at 5 mg & titrate <weekly>.\neGFR <30: réduire → halve"
        );
        assert_eq!(note_text("a &bogus; b & c"), "a &bogus; b & c");
        assert_eq!(note_text("unclosed <b"), "unclosed");
    }
}
