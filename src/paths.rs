//! File paths as the operating system gives them (stored as their bytes, shown lossily), and
//! what the library asks of a file: its size and time, and the hash of its content.
//!
//! A file name on Linux is any bytes but `/` and NUL, so a paper named in Latin-1 (or with a
//! newline in its folder's name) is still a paper. The catalog and the PDF worker carry paths as
//! their bytes; JSON, which only holds Unicode, shows them with U+FFFD where a byte is not UTF-8
//! rather than failing a whole summary for one name.

use std::path::{Path, PathBuf};

/// A path's bytes, exactly as on disk.
#[cfg(unix)]
pub fn to_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

/// A path's bytes (UTF-8 where the platform's paths are not bytes).
#[cfg(not(unix))]
pub fn to_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

/// The path whose bytes these are.
#[cfg(unix)]
pub fn from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// The path whose bytes these are.
#[cfg(not(unix))]
pub fn from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// A file's size and modification time (nanoseconds since the epoch): what tells, without
/// reading it, that a file changed.
pub fn stat(path: &Path) -> crate::Result<(u64, i64)> {
    let meta = std::fs::metadata(path).map_err(|e| crate::Error::io(path, e))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    Ok((meta.len(), mtime_ns))
}

/// The BLAKE3 hash of a file's content (hex), streamed.
pub fn content_hash(path: &Path) -> crate::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| crate::Error::io(path, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| crate::Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Whether this process may write in the folder `dir` (a read-only mount or share, or a folder
/// without write permission, is not): such a library is opened for reading only.
#[cfg(unix)]
pub fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access() only reads the NUL-terminated path it is given.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Whether this process may write in the folder `dir`.
#[cfg(not(unix))]
pub fn writable(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
}

/// Serialises a path as text, replacing bytes that are not UTF-8 (`#[serde(serialize_with)]`).
pub fn lossy<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// [`lossy`] for a path that may be absent.
pub fn lossy_opt<S: serde::Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match path {
        Some(path) => s.serialize_some(&path.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// [`lossy`] for a list of paths.
pub fn lossy_all<S: serde::Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| p.to_string_lossy()))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_json_shows_them_lossily() {
        let path = from_bytes(b"/papers/caf\xe9\n.pdf".to_vec());
        assert_eq!(to_bytes(&path), b"/papers/caf\xe9\n.pdf");
        #[derive(serde::Serialize)]
        struct Row {
            #[serde(serialize_with = "lossy")]
            path: PathBuf,
        }
        let json = serde_json::to_string(&Row { path }).unwrap();
        assert_eq!(
            json,
            r#"{"path":"/papers/caf\ufffd\n.pdf"}"#.replace("\\ufffd", "\u{fffd}")
        );
    }
}
