//! A Zotero library brought into this one ([`Library::import_zotero`]) and kept in step: its
//! PDFs indexed like any others, Zotero's record of each item laid over what the PDF says
//! (the user's corrections over both), its collections and tags kept for scopes and filters,
//! its notes and annotations stored as passages of the paper, marked as the user's own words.
//!
//! A second import does only what changed: files are looked at by size and time like any
//! index run, an item whose record, place and notes hash to what was stored is left alone, and
//! what Zotero no longer holds (deleted, trashed, its file gone) leaves the library.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::*;
use crate::catalog::{NewNote, StoredZoteroItem};
use crate::zotero::{Item, Membership, NoteKind, Skipped, Snapshot};

/// What the library records of its Zotero folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ZoteroSource {
    /// The Zotero data folder (kept as text: a folder whose name is not UTF-8 is shown with
    /// U+FFFD, and `zotero status` then cannot tell whether it changed).
    #[serde(serialize_with = "crate::paths::lossy")]
    pub dir: PathBuf,
    /// When it was last imported (seconds since the epoch).
    pub imported_at: u64,
    /// Zotero's schema version then.
    pub schema: i64,
    /// The modification time of its `zotero.sqlite` (nanoseconds) then.
    pub db_mtime_ns: i64,
    /// Items held then.
    pub items: usize,
    /// Attachments and items skipped then.
    pub skipped: usize,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ZoteroSummary {
    /// The Zotero data folder.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub dir: PathBuf,
    /// Regular items in Zotero (trash included).
    pub found: usize,
    /// Items in Zotero's trash, skipped.
    pub trashed: usize,
    /// Items imported (new or changed since the last import).
    pub imported: usize,
    /// Items unchanged since the last import.
    pub unchanged: usize,
    /// Items taken out (deleted or trashed in Zotero, or without a readable PDF now).
    pub removed: usize,
    /// PDFs the items hold.
    pub files: usize,
    /// Notes and annotations searchable as the user's own words.
    pub notes: usize,
    /// What was not imported, with the reason.
    pub skipped: Vec<Skipped>,
    /// Skipped, counted by reason.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// The index run over the items' PDFs.
    pub index: IndexSummary,
    /// Seconds the import took.
    pub seconds: f64,
}

impl Library {
    /// Imports a Zotero library read at one moment (see [`crate::zotero::read`]): indexes its
    /// PDFs (a hostile one fails alone, in the worker, like any other), stores each item's
    /// record, collections, tags and notes, and takes out what Zotero no longer holds. Run
    /// again, it does only what changed.
    pub fn import_zotero(
        &mut self,
        snapshot: &Snapshot,
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<ZoteroSummary> {
        self.open_for_writing()?;
        let started = Instant::now();
        let mut summary = ZoteroSummary {
            dir: snapshot.dir.clone(),
            found: snapshot.regular_items,
            trashed: snapshot.trashed,
            skipped: snapshot.skipped.clone(),
            ..ZoteroSummary::default()
        };
        for s in &snapshot.skipped {
            let reason = serde_json::to_value(s.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *summary.skipped_by_reason.entry(reason).or_default() += 1;
        }
        let paths = snapshot.files();
        summary.files = paths.len();
        // The papers are stored first and the records after; their vectors come last (the
        // CLI embeds after the import, the app's writer between jobs), so that a cancel while
        // embedding never leaves papers without their Zotero records.
        let options = IndexOptions {
            embedding: Embedding::Later,
            ..Default::default()
        };
        summary.index = self.index_with(&paths, options, sink, cancel)?;
        if summary.index.cancelled {
            summary.seconds = started.elapsed().as_secs_f64();
            return Ok(summary);
        }

        let stored: HashMap<(i64, String), StoredZoteroItem> = self
            .catalog
            .zotero_items()?
            .into_iter()
            .map(|s| ((s.library, s.key.clone()), s))
            .collect();
        // The paths held before: a file an item no longer holds (an attachment deleted or
        // renamed in Zotero) leaves with it, like the files of items that left.
        let before: HashSet<PathBuf> = self.catalog.zotero_paths()?.into_iter().collect();
        let mut current = HashSet::new();
        for item in &snapshot.items {
            current.insert((item.library, item.key.clone()));
            let json = serde_json::to_string(item).expect("an item serialises");
            let mut hasher = blake3::Hasher::new();
            hasher.update(json.as_bytes());
            for f in &item.files {
                hasher.update(&crate::paths::to_bytes(&f.path));
                hasher.update(f.key.as_bytes());
            }
            let fingerprint = hasher.finalize().to_hex().to_string();
            if stored
                .get(&(item.library, item.key.clone()))
                .is_some_and(|s| s.fingerprint == fingerprint)
            {
                summary.unchanged += 1;
                continue;
            }
            let files: Vec<(PathBuf, String)> = item
                .files
                .iter()
                .map(|f| (f.path.clone(), f.key.clone()))
                .collect();
            self.catalog.put_zotero_item(
                &StoredZoteroItem {
                    library: item.library,
                    key: item.key.clone(),
                    version: item.version,
                    fingerprint,
                    item: json,
                },
                &item.modified,
                &files,
            )?;
            summary.imported += 1;
        }
        // What Zotero no longer holds leaves: the item, and its files where no other item
        // holds them.
        for key in stored.keys().filter(|k| !current.contains(*k)) {
            self.catalog.delete_zotero_item(key.0, &key.1)?;
            summary.removed += 1;
        }
        let still: HashSet<PathBuf> = self.catalog.zotero_paths()?.into_iter().collect();
        let gone: Vec<PathBuf> = before.difference(&still).cloned().collect();
        if !gone.is_empty() {
            self.remove(&gone)?;
        }
        summary.notes = self.sync_notes(snapshot)?;
        self.commit()?;
        let db = snapshot.dir.join("zotero.sqlite");
        let db_mtime_ns = crate::paths::stat(&db).map_or(0, |(_, m)| m);
        self.catalog.set_zotero_source(&ZoteroSource {
            dir: snapshot.dir.clone(),
            imported_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            schema: snapshot.schema,
            db_mtime_ns,
            items: snapshot.items.len(),
            skipped: snapshot.skipped.len(),
        })?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// The Zotero folder this library was imported from, and what the last import found.
    pub fn zotero_source(&self) -> Result<Option<ZoteroSource>> {
        self.catalog.zotero_source()
    }

    /// Brings the passages of the user's own words in step with Zotero: an annotation belongs
    /// to the paper of the PDF it is on, at its page; a note to the item's first PDF. Returns
    /// how many the library holds.
    fn sync_notes(&mut self, snapshot: &Snapshot) -> Result<usize> {
        // What each paper should hold: (source, key) -> (page, text).
        let mut wanted: HashMap<DocumentId, BTreeMap<NoteId, (u32, String)>> = HashMap::new();
        for item in &snapshot.items {
            let document_of = |path: &Path| -> Result<Option<(DocumentId, u32)>> {
                let Some(file) = self.catalog.file(path)? else {
                    return Ok(None);
                };
                if file.status != Status::Indexed {
                    return Ok(None);
                }
                let pages = self.catalog.page_count(file.document)?;
                Ok(Some((file.document, pages)))
            };
            // A note belongs to the item's first PDF that could be read.
            let mut first = None;
            for f in &item.files {
                if let Some(found) = document_of(&f.path)? {
                    first = Some(found);
                    break;
                }
            }
            for note in &item.notes {
                let target = match (&note.kind, &note.attachment) {
                    (NoteKind::Annotation, Some(key)) => {
                        match item.files.iter().find(|f| &f.key == key) {
                            Some(f) => document_of(&f.path)?,
                            None => None,
                        }
                    }
                    _ => first,
                };
                let Some((doc, pages)) = target else {
                    continue;
                };
                let page = note.page.filter(|p| *p >= 1 && *p <= pages).unwrap_or(1);
                let source = match note.kind {
                    NoteKind::Note => "note",
                    NoteKind::Annotation => "annotation",
                };
                wanted.entry(doc).or_default().insert(
                    (source.to_string(), note.key.clone()),
                    (page, note.text.clone()),
                );
            }
        }
        let mut docs: HashSet<DocumentId> = self.catalog.documents_with_notes()?;
        docs.extend(wanted.keys().copied());
        let mut held = 0;
        for doc in docs {
            let want = wanted.remove(&doc).unwrap_or_default();
            let have = self.catalog.notes_of(doc)?;
            let mut remove = Vec::new();
            let mut kept = HashSet::new();
            for (id, source, key, page, text) in &have {
                let k = (source.clone(), key.clone());
                match want.get(&k) {
                    Some((p, t)) if t == text && p == page && !kept.contains(&k) => {
                        kept.insert(k);
                    }
                    _ => remove.push(*id),
                }
            }
            let add: Vec<(&NoteId, &(u32, String))> =
                want.iter().filter(|(k, _)| !kept.contains(*k)).collect();
            held += want.len();
            if remove.is_empty() && add.is_empty() {
                continue;
            }
            // Notes the model cannot embed are stored without vectors (searched by keywords;
            // the next index run's backfill tries again) rather than failing the import.
            let vectors = match &self.semantic {
                Some(s) if !add.is_empty() => {
                    let texts: Vec<&str> = add.iter().map(|(_, (_, t))| t.as_str()).collect();
                    semantic::embed_unique(s.embedder.as_ref(), &texts).ok()
                }
                _ => None,
            };
            let new: Vec<NewNote<'_>> = add
                .iter()
                .enumerate()
                .map(|(i, ((source, key), (page, text)))| NewNote {
                    page: *page,
                    source,
                    key,
                    text,
                    vector: vectors.as_ref().map(|v| v[i].as_slice()),
                })
                .collect();
            if !new.is_empty() && vectors.is_some() {
                self.record_model()?;
            }
            let ids = self.catalog.replace_notes(doc, &remove, &new)?;
            let title = self.catalog.record(doc)?.and_then(|r| r.title);
            for id in &remove {
                self.lexical.delete_chunk(*id)?;
                if let Some(mut v) = self.vectors_mut() {
                    v.remove(*id)?;
                }
            }
            for (id, note) in ids.iter().zip(&new) {
                self.lexical.add(*id, doc, note.text, title.as_deref())?;
                if let (Some(mut index), Some(v)) = (self.vectors_mut(), note.vector) {
                    index.add(*id, v)?;
                }
            }
        }
        Ok(held)
    }
}

/// A passage of the user's own words by where it came from: (`note` or `annotation`, key).
type NoteId = (String, String);

/// Where a paper sits in Zotero, from the items (stored JSON) that hold it.
pub(super) fn membership_of(items: &[String]) -> Option<Membership> {
    let items: Vec<Item> = items
        .iter()
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect();
    Membership::of(&items)
}

/// Zotero's record of a paper, from the items that hold it (the first one's).
pub(super) fn zotero_record(items: &[String]) -> Option<crate::metadata::Record> {
    items
        .iter()
        .find_map(|json| serde_json::from_str::<Item>(json).ok())
        .map(|item| item.record)
}
