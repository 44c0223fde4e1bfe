//! Which files a run reads: the PDFs under the paths a person names, found by name.

use std::path::{Path, PathBuf};

/// Lists the PDF files under each path (folders recursively), sorted, with absolute paths.
pub fn find_pdfs(paths: &[PathBuf]) -> Vec<Result<PathBuf, crate::Error>> {
    let mut out = Vec::new();
    for path in paths {
        let path = match std::path::absolute(path) {
            Ok(p) => p,
            Err(e) => {
                out.push(Err(crate::Error::io(path, e)));
                continue;
            }
        };
        if path.is_file() {
            out.push(Ok(path));
            continue;
        }
        if !path.exists() {
            out.push(Err(crate::Error::io(
                &path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            )));
            continue;
        }
        let mut found: Vec<PathBuf> = walkdir::WalkDir::new(&path)
            .follow_links(true)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file() && is_pdf_name(e.path()))
            .map(|e| e.into_path())
            .collect();
        found.sort();
        out.extend(found.into_iter().map(Ok));
    }
    out
}

/// Whether a file name ends in `.pdf`, in any case.
pub fn is_pdf_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
}
