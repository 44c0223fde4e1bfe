//! The queries: a copy of `zotero.sqlite` read into a [`Snapshot`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::record::{page_of, record_of};
use super::*;
use crate::metadata::Source;

/// Reads the Zotero library in the data folder `dir` (its database copied first: see the
/// module's notes). `prefs` names the linked-attachment base folder.
pub fn read(dir: &Path, prefs: &Prefs) -> Result<Snapshot, ZoteroError> {
    let copy = Copy::take(dir)?;
    let damaged = |e: rusqlite::Error| ZoteroError::Damaged {
        path: dir.join("zotero.sqlite"),
        reason: e.to_string(),
    };
    let conn = Connection::open_with_flags(
        copy.path(),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(damaged)?;
    // The first statement makes SQLite replay the WAL (or roll back a hot journal) into the
    // copy; from then on nothing is written.
    conn.execute_batch("PRAGMA query_only = ON;")
        .map_err(damaged)?;
    let version = |schema: &str| -> Result<i64, ZoteroError> {
        conn.query_row(
            "SELECT version FROM version WHERE schema = ?1",
            [schema],
            |r| r.get::<_, i64>(0),
        )
        .map_err(damaged)
    };
    let schema = version("userdata")?;
    let compatibility = version("compatibility").unwrap_or(0);
    if schema > KNOWN_USERDATA || compatibility > KNOWN_COMPATIBILITY {
        return Err(ZoteroError::NewerSchema {
            path: dir.join("zotero.sqlite"),
            version: schema,
            compatibility,
        });
    }
    let mut snapshot = Reader {
        conn: &conn,
        dir,
        prefs,
    }
    .snapshot()
    .map_err(damaged)?;
    snapshot.schema = schema;
    Ok(snapshot)
}

pub(super) struct Reader<'a> {
    conn: &'a Connection,
    pub(super) dir: &'a Path,
    pub(super) prefs: &'a Prefs,
}

/// An item row before it is sorted into regular items, attachments and notes.
struct Row {
    id: i64,
    key: String,
    library: i64,
    item_type: String,
    version: i64,
    modified: String,
}

/// An attachment row.
pub(super) struct AttachmentRow {
    id: i64,
    parent: Option<i64>,
    pub(super) link_mode: i64,
    pub(super) content_type: Option<String>,
    pub(super) path: Option<String>,
}

impl Reader<'_> {
    fn has_table(&self, name: &str) -> rusqlite::Result<bool> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
    }

    /// `X` where Zotero 7 keeps the union of built-in and custom rows in `XCombined`.
    fn combined(&self, name: &str) -> rusqlite::Result<String> {
        let combined = format!("{name}Combined");
        Ok(if self.has_table(&combined)? {
            combined
        } else {
            name.to_string()
        })
    }

    fn snapshot(&self) -> rusqlite::Result<Snapshot> {
        let item_types = self.combined("itemTypes")?;
        let rows: Vec<Row> = {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT i.itemID, i.key, i.libraryID, t.typeName, i.version, i.dateModified
                 FROM items i JOIN {item_types} t ON t.itemTypeID = i.itemTypeID
                 WHERE i.libraryID IN (SELECT libraryID FROM libraries WHERE type IN ('user', 'group'))
                 ORDER BY i.itemID"
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    library: r.get(2)?,
                    item_type: r.get(3)?,
                    version: r.get(4)?,
                    modified: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let trashed: HashSet<i64> = self.ids("SELECT itemID FROM deletedItems")?;
        let fields = self.fields()?;
        let creators = self.creators()?;
        let (collection_paths, collections_of) = self.collections()?;
        let tags = self.tags()?;
        let attachments = self.attachments()?;
        let keys: HashMap<i64, &str> = rows.iter().map(|r| (r.id, r.key.as_str())).collect();

        let mut snapshot = Snapshot {
            dir: self.dir.to_path_buf(),
            collections: collection_paths,
            ..Snapshot::default()
        };
        let regular: Vec<&Row> = rows
            .iter()
            .filter(|r| !matches!(r.item_type.as_str(), "attachment" | "note" | "annotation"))
            .collect();
        snapshot.regular_items = regular.len();
        let mut items: HashMap<i64, Item> = HashMap::new();
        for row in &regular {
            if trashed.contains(&row.id) {
                snapshot.trashed += 1;
                continue;
            }
            let fields = fields.get(&row.id);
            let (record, url) = record_of(&row.item_type, fields, creators.get(&row.id));
            items.insert(
                row.id,
                Item {
                    key: row.key.clone(),
                    library: row.library,
                    item_type: row.item_type.clone(),
                    version: row.version,
                    modified: row.modified.clone(),
                    record,
                    creators: creators.get(&row.id).cloned().unwrap_or_default(),
                    url,
                    collections: collections_of.get(&row.id).cloned().unwrap_or_default(),
                    tags: tags.get(&row.id).cloned().unwrap_or_default(),
                    ..Item::default()
                },
            );
        }

        // Attachments: a standalone PDF is an item of its own (Zotero lists it as one).
        let title_of = |id: Option<i64>| {
            id.and_then(|id| fields.get(&id))
                .and_then(|f| f.get("title").cloned())
        };
        let mut attachment_item: HashMap<i64, i64> = HashMap::new();
        // Items with an attachment listed as skipped: their reason is said already.
        let mut said: HashSet<i64> = HashSet::new();
        for a in &attachments {
            if trashed.contains(&a.id) || a.parent.is_some_and(|p| trashed.contains(&p)) {
                continue;
            }
            let Some(key) = keys.get(&a.id).map(|k| k.to_string()) else {
                continue;
            };
            let parent = match a.parent {
                Some(p) if items.contains_key(&p) => p,
                Some(_) => continue, // a child of a note or of something not imported
                None => {
                    let row = rows.iter().find(|r| r.id == a.id).expect("attachment row");
                    let title = title_of(Some(a.id));
                    let mut record = Record::default();
                    if let Some(t) = &title {
                        record.title = Some(t.clone());
                        record.provenance.insert("title".into(), Source::Zotero);
                    }
                    items.insert(
                        a.id,
                        Item {
                            key: row.key.clone(),
                            library: row.library,
                            item_type: "attachment".into(),
                            version: row.version,
                            modified: row.modified.clone(),
                            record,
                            collections: collections_of.get(&a.id).cloned().unwrap_or_default(),
                            tags: tags.get(&a.id).cloned().unwrap_or_default(),
                            ..Item::default()
                        },
                    );
                    a.id
                }
            };
            let skip = |reason, path: Option<PathBuf>| Skipped {
                key: key.clone(),
                title: title_of(Some(parent)),
                path,
                reason,
            };
            match self.attachment_file(a, &key) {
                Ok(file) => {
                    attachment_item.insert(a.id, parent);
                    items.get_mut(&parent).expect("parent").files.push(file);
                }
                Err((reason, path)) => {
                    said.insert(parent);
                    snapshot.skipped.push(skip(reason, path))
                }
            }
        }

        for (note_id, parent, note_key, html) in self.notes()? {
            if trashed.contains(&note_id) || trashed.contains(&parent) {
                continue;
            }
            if let Some(item) = items.get_mut(&parent) {
                let text = note_text(&html);
                if !text.is_empty() {
                    item.notes.push(Note {
                        key: note_key,
                        kind: NoteKind::Note,
                        attachment: None,
                        page: None,
                        text,
                    });
                }
            }
        }
        if self.has_table("itemAnnotations")? {
            for (id, attachment, key, text, comment, position) in self.annotations()? {
                if trashed.contains(&id) || trashed.contains(&attachment) {
                    continue;
                }
                let Some(item) = attachment_item
                    .get(&attachment)
                    .and_then(|parent| items.get_mut(parent))
                else {
                    continue;
                };
                let text = [text, comment]
                    .into_iter()
                    .flatten()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
                if text.is_empty() {
                    continue; // an ink drawing or an image area without a comment
                }
                item.notes.push(Note {
                    key,
                    kind: NoteKind::Annotation,
                    attachment: keys.get(&attachment).map(|k| k.to_string()),
                    page: page_of(&position),
                    text,
                });
            }
        }

        let mut ids: Vec<i64> = items.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let item = items.remove(&id).expect("item");
            if item.files.is_empty() {
                // Nothing MedShelf can search: say so where nothing else was said about it.
                if !said.contains(&id) && item.item_type != "attachment" {
                    snapshot.skipped.push(Skipped {
                        key: item.key.clone(),
                        title: item.record.title.clone(),
                        path: None,
                        reason: SkipReason::NoFile,
                    });
                }
                continue;
            }
            snapshot.items.push(item);
        }
        Ok(snapshot)
    }

    fn ids(&self, sql: &str) -> rusqlite::Result<HashSet<i64>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        rows.collect()
    }

    /// Every item's fields by their base names (`publicationTitle` for a conference paper's
    /// `proceedingsTitle`), keeping the type's own name beside it.
    fn fields(&self) -> rusqlite::Result<HashMap<i64, HashMap<String, String>>> {
        let fields = self.combined("fields")?;
        let base = self.combined("baseFieldMappings")?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT d.itemID, f.fieldName, bf.fieldName, v.value
             FROM itemData d
             JOIN items i ON i.itemID = d.itemID
             JOIN {fields} f ON f.fieldID = d.fieldID
             JOIN itemDataValues v ON v.valueID = d.valueID
             LEFT JOIN {base} b ON b.itemTypeID = i.itemTypeID AND b.fieldID = d.fieldID
             LEFT JOIN {fields} bf ON bf.fieldID = b.baseFieldID"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                // Values are untyped in SQLite: a number stays a number.
                r.get::<_, rusqlite::types::Value>(3)?,
            ))
        })?;
        let mut all: HashMap<i64, HashMap<String, String>> = HashMap::new();
        for row in rows {
            let (id, name, base, value) = row?;
            let value = match value {
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Real(f) => f.to_string(),
                _ => continue,
            };
            let fields = all.entry(id).or_default();
            if let Some(base) = base {
                fields.insert(base, value.clone());
            }
            fields.insert(name, value);
        }
        Ok(all)
    }

    fn creators(&self) -> rusqlite::Result<HashMap<i64, Vec<Creator>>> {
        let mut stmt = self.conn.prepare(
            "SELECT ic.itemID, c.firstName, c.lastName, t.creatorType
             FROM itemCreators ic
             JOIN creators c ON c.creatorID = ic.creatorID
             JOIN creatorTypes t ON t.creatorTypeID = ic.creatorTypeID
             ORDER BY ic.itemID, ic.orderIndex",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Creator {
                    given: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    family: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    role: r.get(3)?,
                },
            ))
        })?;
        let mut all: HashMap<i64, Vec<Creator>> = HashMap::new();
        for row in rows {
            let (id, creator) = row?;
            all.entry(id).or_default().push(creator);
        }
        Ok(all)
    }

    /// Every collection's path, and the paths of the collections each item is in. Collections
    /// in Zotero's trash (and what they hold) are left out.
    #[allow(clippy::type_complexity)]
    fn collections(&self) -> rusqlite::Result<(Vec<String>, HashMap<i64, Vec<String>>)> {
        let trashed = if self.has_table("deletedCollections")? {
            self.ids("SELECT collectionID FROM deletedCollections")?
        } else {
            HashSet::new()
        };
        let groups: HashMap<i64, String> = if self.has_table("groups")? {
            let mut stmt = self.conn.prepare("SELECT libraryID, name FROM groups")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        } else {
            HashMap::new()
        };
        let mut stmt = self.conn.prepare(
            "SELECT collectionID, collectionName, parentCollectionID, libraryID FROM collections",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                (
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                ),
            ))
        })?;
        let all: HashMap<i64, (String, Option<i64>, i64)> =
            rows.collect::<rusqlite::Result<_>>()?;
        // A path walks up the parents (a cycle, which Zotero never writes, stops the walk).
        let path_of = |mut id: i64| -> Option<String> {
            let mut names = Vec::new();
            let mut seen = HashSet::new();
            let library = all.get(&id)?.2;
            while let Some((name, parent, _)) = all.get(&id) {
                if trashed.contains(&id) || !seen.insert(id) {
                    return None;
                }
                // A `/` inside a name would read as nesting: it is written as a division slash.
                names.push(name.replace('/', "\u{2215}"));
                match parent {
                    Some(p) => id = *p,
                    None => break,
                }
            }
            if let Some(group) = groups.get(&library) {
                names.push(group.replace('/', "\u{2215}"));
            }
            names.reverse();
            Some(names.join("/"))
        };
        let paths: HashMap<i64, String> = all
            .keys()
            .filter_map(|&id| path_of(id).map(|p| (id, p)))
            .collect();
        let mut of_item: HashMap<i64, BTreeSet<String>> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT collectionID, itemID FROM collectionItems")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (collection, item) = row?;
            if let Some(path) = paths.get(&collection) {
                of_item.entry(item).or_default().insert(path.clone());
            }
        }
        let mut every: Vec<String> = paths.into_values().collect();
        every.sort();
        Ok((
            every,
            of_item
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
        ))
    }

    fn tags(&self) -> rusqlite::Result<HashMap<i64, Vec<String>>> {
        let mut stmt = self.conn.prepare(
            "SELECT it.itemID, t.name FROM itemTags it JOIN tags t ON t.tagID = it.tagID
             ORDER BY it.itemID, t.name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut all: HashMap<i64, Vec<String>> = HashMap::new();
        for row in rows {
            let (id, tag) = row?;
            all.entry(id).or_default().push(tag);
        }
        Ok(all)
    }

    fn attachments(&self) -> rusqlite::Result<Vec<AttachmentRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT itemID, parentItemID, linkMode, contentType, path FROM itemAttachments
             ORDER BY parentItemID, itemID",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AttachmentRow {
                id: r.get(0)?,
                parent: r.get(1)?,
                link_mode: r.get::<_, Option<i64>>(2)?.unwrap_or(-1),
                content_type: r.get(3)?,
                path: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    /// Child notes: (note id, parent id, key, HTML).
    fn notes(&self) -> rusqlite::Result<Vec<(i64, i64, String, String)>> {
        let item_types = self.combined("itemTypes")?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT n.itemID, n.parentItemID, i.key, n.note FROM itemNotes n
             JOIN items i ON i.itemID = n.itemID
             JOIN {item_types} t ON t.itemTypeID = i.itemTypeID
             WHERE t.typeName = 'note' AND n.parentItemID IS NOT NULL ORDER BY n.itemID"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            ))
        })?;
        rows.collect()
    }

    /// Annotations: (id, attachment id, key, text, comment, position JSON), in reading order.
    #[allow(clippy::type_complexity)]
    fn annotations(
        &self,
    ) -> rusqlite::Result<Vec<(i64, i64, String, Option<String>, Option<String>, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.itemID, a.parentItemID, i.key, a.text, a.comment, a.position
             FROM itemAnnotations a JOIN items i ON i.itemID = a.itemID
             ORDER BY a.parentItemID, a.sortIndex",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            ))
        })?;
        rows.collect()
    }
}
