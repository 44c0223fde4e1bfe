//! What identifies a model: its fingerprint, a hash of the weights and of the files that decide
//! what they are applied to, kept between loads in the user's cache folder.

use std::path::Path;

use crate::error::{Error, Result};

/// What identifies a model: a hash of its weights file, then of each of `parts` (the files that
/// decide what the weights are applied to) and of `normalize`.
///
/// Hashing the weights reads them whole (133 MB for MedEmbed: a tenth of a `medshelf search`),
/// so the result is kept in the user's cache folder under the weights file's identity (device,
/// inode, size, modification and change times: a file rewritten in any way has another change
/// time) and the other parts' hash, and read from there at the next load.
pub(super) fn fingerprint(weights: &Path, parts: &[&str], normalize: bool) -> Result<String> {
    let cache = dirs::cache_dir().map(|c| c.join("medshelf").join("weights"));
    fingerprint_in(cache.as_deref(), weights, parts, normalize)
}

/// [`fingerprint`], keeping it in `cache` (none: hash every time).
fn fingerprint_in(
    cache: Option<&Path>,
    weights: &Path,
    parts: &[&str],
    normalize: bool,
) -> Result<String> {
    let mut small = blake3::Hasher::new();
    for part in parts {
        small.update(&(part.len() as u64).to_le_bytes());
        small.update(part.as_bytes());
    }
    small.update(&[u8::from(normalize)]);
    let others = small.finalize();
    let before = FileIdentity::of(weights);
    let kept = cache
        .zip(before.as_ref())
        .map(|(dir, id)| dir.join(id.key(others.as_bytes())));
    if let Some(hex) = kept
        .as_deref()
        .and_then(|f| std::fs::read_to_string(f).ok())
    {
        let lowercase_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hex.len() == 64 && hex.bytes().all(lowercase_hex) {
            return Ok(hex);
        }
    }
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_mmap_rayon(weights)
        .map_err(|e| Error::io(weights, e))?;
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(&[u8::from(normalize)]);
    let hex = hasher.finalize().to_hex().to_string();
    // Kept only where the file did not change while it was read, and has not changed in the
    // last seconds: as git does with its index, a file changed now may change again within the
    // file system's clock tick and keep its times.
    let after = FileIdentity::of(weights);
    let settled = before.as_ref().is_some_and(FileIdentity::settled);
    if let Some(file) = kept.filter(|_| settled && before == after) {
        // A cache that cannot be written only means the next load hashes again.
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let written = file
            .parent()
            .is_some_and(|dir| std::fs::create_dir_all(dir).is_ok())
            && std::fs::write(&tmp, &hex).is_ok();
        if !written || std::fs::rename(&tmp, &file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(hex)
}

/// What tells one version of a file from another without reading it: device, inode, size,
/// modification and change times (Unix; elsewhere none, and every load hashes).
#[derive(PartialEq, Eq)]
struct FileIdentity([u64; 7]);

impl FileIdentity {
    fn of(path: &Path) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).ok()?;
            Some(FileIdentity([
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime() as u64,
                m.mtime_nsec() as u64,
                m.ctime() as u64,
                m.ctime_nsec() as u64,
            ]))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// Whether the file's last change (its modification or change time, whichever is later:
    /// `cp -p` and `tar` set the first into the past) is more than two seconds old.
    fn settled(&self) -> bool {
        let [_, _, _, mtime, _, ctime, _] = self.0;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // (A time before 1970, cast from a negative number, is huge: never settled.)
        now.saturating_sub(mtime.max(ctime)) > 2
    }

    /// The cache file's name for this version of the file read with `others`; the leading
    /// version changes with the fingerprint's formula.
    fn key(&self, others: &[u8]) -> String {
        let mut key = blake3::Hasher::new();
        key.update(b"medshelf fingerprint v1");
        for n in self.0 {
            key.update(&n.to_le_bytes());
        }
        key.update(others);
        format!("{}.txt", &key.finalize().to_hex()[..32])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kept fingerprint is the one hashing gives, and a weights file rewritten (same size,
    /// other bytes) is hashed again.
    #[test]
    fn a_kept_fingerprint_follows_the_weights_file() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let weights = tmp.path().join("model.safetensors");
        let hash = |bytes: &[u8], normalize: bool| {
            let mut h = blake3::Hasher::new();
            h.update(bytes);
            for part in ["{}", "tok"] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            h.update(&[u8::from(normalize)]);
            h.finalize().to_hex().to_string()
        };
        let print = |normalize| fingerprint_in(Some(&cache), &weights, &["{}", "tok"], normalize);
        let kept = || std::fs::read_dir(&cache).map_or(0, |d| d.count());
        std::fs::write(&weights, b"weights one").unwrap();
        // Just written: hashed, and not kept (it may change again within the clock's tick).
        assert_eq!(print(true).unwrap(), hash(b"weights one", true));
        assert_eq!(kept(), 0);
        // Settled (the change time cannot be set back: the test waits it out), then kept and
        // read back.
        std::thread::sleep(std::time::Duration::from_millis(3100));
        assert_eq!(print(true).unwrap(), hash(b"weights one", true));
        assert_eq!(kept(), 1);
        assert_eq!(print(true).unwrap(), hash(b"weights one", true));
        // The other parts are part of it.
        assert_eq!(print(false).unwrap(), hash(b"weights one", false));
        // Rewritten with other bytes of the same size: hashed again, and kept once settled.
        std::fs::write(&weights, b"weights two").unwrap();
        assert_eq!(print(true).unwrap(), hash(b"weights two", true));
        std::thread::sleep(std::time::Duration::from_millis(3100));
        assert_eq!(print(true).unwrap(), hash(b"weights two", true));
        assert_eq!(kept(), 3);
        // A kept entry that is not a fingerprint is not believed.
        for entry in std::fs::read_dir(&cache).unwrap() {
            std::fs::write(entry.unwrap().path(), "ABCDEF").unwrap();
        }
        assert_eq!(print(true).unwrap(), hash(b"weights two", true));
    }
}
