//! Where an attachment's file is, and whether it may be followed: a stored file only inside its
//! own `storage/KEY/` folder once links are resolved, a linked file where Zotero points (a
//! relative one only inside the linked-attachment base folder). Everything else is a
//! [`SkipReason`].

use std::path::{Component, Path, PathBuf};

use super::read::{AttachmentRow, Reader};
use super::*;

/// Zotero's link modes (`itemAttachments.linkMode`).
const IMPORTED_FILE: i64 = 0;
const IMPORTED_URL: i64 = 1;
const LINKED_FILE: i64 = 2;
const LINKED_URL: i64 = 3;

impl Reader<'_> {
    /// Where an attachment's file is, or why it is not imported.
    pub(super) fn attachment_file(
        &self,
        a: &AttachmentRow,
        key: &str,
    ) -> Result<Attachment, (SkipReason, Option<PathBuf>)> {
        let content_type = a.content_type.as_deref().unwrap_or("");
        let raw = a.path.as_deref().unwrap_or("");
        if a.link_mode == LINKED_URL {
            return Err((SkipReason::LinkOnly, None));
        }
        let is_pdf = content_type == "application/pdf"
            || (content_type.is_empty() && raw.to_ascii_lowercase().ends_with(".pdf"));
        if !is_pdf {
            let reason = if content_type.contains("html") {
                SkipReason::Snapshot
            } else {
                SkipReason::NotPdf
            };
            return Err((reason, None));
        }
        // Absolute (not resolved), as an index run records paths: the library finds the
        // file again under the same name.
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        let (path, inside, root, linked) = match a.link_mode {
            IMPORTED_FILE | IMPORTED_URL => {
                let name = raw.strip_prefix("storage:").unwrap_or(raw);
                let storage = absolute(self.dir.join("storage"));
                let folder = storage.join(key);
                (folder.join(name), folder, storage, false)
            }
            LINKED_FILE => match raw.strip_prefix("attachments:") {
                Some(relative) => {
                    let Some(base) = &self.prefs.base_attachment_path else {
                        return Err((SkipReason::NoBaseFolder, Some(PathBuf::from(raw))));
                    };
                    let base = absolute(base.clone());
                    (base.join(relative), base.clone(), base, true)
                }
                // An absolute link is where the user pointed Zotero: followed as it is.
                None => {
                    let path = PathBuf::from(raw);
                    if !path.is_absolute() {
                        return Err((SkipReason::OutsideFolder, Some(path)));
                    }
                    let path = absolute(path);
                    return if path.is_file() {
                        Ok(Attachment {
                            key: key.to_string(),
                            path,
                            linked: true,
                        })
                    } else {
                        Err((SkipReason::Missing, Some(path)))
                    };
                }
            },
            _ => return Err((SkipReason::NotPdf, None)),
        };
        if !stays_inside(&path, &inside, &root) {
            return Err((SkipReason::OutsideFolder, Some(path)));
        }
        if !path.is_file() {
            return Err((SkipReason::Missing, Some(path)));
        }
        Ok(Attachment {
            key: key.to_string(),
            path,
            linked,
        })
    }
}

/// Whether `path` is inside `folder` as written, and inside `root` once links are resolved
/// (a symlink in the file's place or in the folder's, `storage/KEY` itself, may lead out;
/// `root`, such as `storage/`, may itself be a link to another disk).
fn stays_inside(path: &Path, folder: &Path, root: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(folder) else {
        return false;
    };
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return false;
    }
    // Resolved: a symlink inside the folder may lead out of it. A file that is not there is
    // not outside (it is missing, and said so).
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(p), Ok(r)) => p.starts_with(r),
        _ => true,
    }
}
