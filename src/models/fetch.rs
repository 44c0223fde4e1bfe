//! Downloading a model from a Hugging Face hub (`medshelf model fetch`): the one network call
//! MedShelf ever makes, and only when a person asks for it.
//!
//! The hub's listing of the revision gives each file's size and hash: the SHA-256 of an LFS file
//! (the weights) and the git blob id of a small one (the JSON files). Each file is downloaded
//! into a temporary folder beside `models/`, resumed with a range request where a connection
//! broke, checked against that hash, and only then renamed into place; the folder becomes the
//! model only when every file is there and the model loads. The first verified download's
//! SHA-256 sums are recorded in the library, and a later download that differs is refused, so
//! a library never silently changes the model its vectors came from.
//!
//! The endpoint is `HF_ENDPOINT` (as for the hub's own tools) or huggingface.co; tests point it
//! at a server on 127.0.0.1 that answers in the hub's layout.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha1::Digest as _;

use super::{inspect_model, InstalledModel};
use crate::error::{Error, Result};

/// The model a library uses unless told otherwise.
pub const DEFAULT_REPO: &str = "abhinand/MedEmbed-small-v0.1";

/// The revision fetched unless told otherwise. The hub is out of reach from where this was
/// written, so no commit could be looked up to pin; the commit actually fetched is recorded in
/// the model folder and in the library, and a later fetch whose files differ is refused.
pub const DEFAULT_REVISION: &str = "main";

/// The public hub.
pub const DEFAULT_ENDPOINT: &str = crate::settings::DEFAULT_HUB;

/// The files MedShelf reads from a sentence-transformers BERT repository, and whether each is
/// required. The rest (ONNX exports, PyTorch pickles, READMEs) is never downloaded.
const FILES: &[(&str, bool)] = &[
    ("config.json", true),
    ("tokenizer.json", true),
    ("model.safetensors", true),
    ("1_Pooling/config.json", true),
    ("modules.json", false),
    ("sentence_bert_config.json", false),
    ("config_sentence_transformers.json", false),
    ("tokenizer_config.json", false),
    ("special_tokens_map.json", false),
    ("vocab.txt", false),
];

/// How many times a broken transfer is resumed before giving up.
const ATTEMPTS: u32 = 5;

/// What to fetch, and from where.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The hub's base address, without a trailing slash.
    pub endpoint: String,
    /// `owner/name` on the hub.
    pub repo: String,
    /// A branch, tag or commit.
    pub revision: String,
}

impl FetchRequest {
    /// The default model at the default revision, from `HF_ENDPOINT` or the public hub.
    pub fn new(repo: Option<&str>, revision: Option<&str>) -> Self {
        FetchRequest {
            endpoint: endpoint(),
            repo: repo.unwrap_or(DEFAULT_REPO).to_string(),
            revision: revision.unwrap_or(DEFAULT_REVISION).to_string(),
        }
    }

    /// The folder name the model is installed under: the repository's name.
    pub fn name(&self) -> &str {
        self.repo.rsplit('/').next().unwrap_or(&self.repo)
    }
}

/// The settings' hub (`HF_ENDPOINT`) where set, else the public hub.
pub fn endpoint() -> String {
    crate::settings::get().hub()
}

/// Receives a download's progress, for a bar.
pub trait FetchProgress {
    /// A file starts (or resumes at `from` bytes) of `size` bytes.
    fn file(&self, name: &str, size: u64, from: u64);
    /// `n` more bytes arrived.
    fn bytes(&self, n: u64);
}

/// Ignores progress.
pub struct NoProgress;

impl FetchProgress for NoProgress {
    fn file(&self, _: &str, _: u64, _: u64) {}
    fn bytes(&self, _: u64) {}
}

/// The hub's description of a revision (`/api/models/{repo}/revision/{rev}?blobs=true`).
#[derive(Debug, Deserialize)]
struct RevisionInfo {
    /// The commit the revision resolved to.
    sha: String,
    siblings: Vec<Sibling>,
}

#[derive(Debug, Deserialize)]
struct Sibling {
    rfilename: String,
    #[serde(rename = "blobId")]
    blob_id: Option<String>,
    size: Option<u64>,
    lfs: Option<Lfs>,
}

#[derive(Debug, Deserialize)]
struct Lfs {
    sha256: String,
    size: u64,
}

/// What a file must hash to.
#[derive(Debug, Clone)]
enum Expected {
    /// An LFS file: the SHA-256 of its content.
    Sha256(String),
    /// A file in git proper: its blob id, the SHA-1 of `blob {len}\0` and the content.
    GitBlob(String),
}

/// Where a fetched model came from, written beside its files as `medshelf-source.json` and
/// recorded in the library.
#[derive(Debug, Clone, serde::Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// `owner/name` on the hub.
    pub repo: String,
    /// The revision asked for.
    pub revision: String,
    /// The commit it resolved to.
    pub commit: String,
    /// Each file's SHA-256, by name.
    pub files: std::collections::BTreeMap<String, String>,
}

/// Downloads the model `req` names into `models/{name}`, verified, and returns it with what was
/// fetched. `recorded`, where given, is what a library recorded of the first verified download
/// of this repository; files that differ from it are refused. A library records the first one
/// itself ([`crate::Library::fetch_model`]), under its write lock.
pub fn fetch_model(
    req: &FetchRequest,
    models: &Path,
    recorded: Option<&Provenance>,
    progress: &dyn FetchProgress,
) -> Result<(InstalledModel, Provenance)> {
    let name = req.name().to_string();
    let dest = models.join(&name);
    if dest.exists() {
        return Err(Error::ModelInstalled {
            name,
            models: models.to_path_buf(),
        });
    }
    let agent = agent();
    let info = revision_info(&agent, req)?;
    let mut wanted = Vec::new();
    for &(file, required) in FILES {
        match info.siblings.iter().find(|s| s.rfilename == file) {
            Some(s) => {
                let (expected, size) = match (&s.lfs, &s.blob_id) {
                    (Some(lfs), _) => (Expected::Sha256(lfs.sha256.to_lowercase()), lfs.size),
                    (None, Some(blob)) => (Expected::GitBlob(blob.to_lowercase()), s.size.unwrap_or(0)),
                    (None, None) => {
                        return Err(Error::Hub(format!(
                            "{}: the hub gives no hash for {file}, so it cannot be verified; nothing was downloaded",
                            req.repo
                        )))
                    }
                };
                wanted.push((file, expected, size));
            }
            None if required => {
                return Err(Error::Hub(format!(
                    "{} at {} has no {file}: it is not a sentence-transformers BERT model in safetensors \
                     form, which MedShelf needs",
                    req.repo, req.revision
                )))
            }
            None => {}
        }
    }

    std::fs::create_dir_all(models).map_err(|e| Error::io(models, e))?;
    let commit_tag: String = info
        .sha
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    let tmp = models.join(format!(".fetch-{name}-{commit_tag}"));
    let result = (|| {
        let mut files = std::collections::BTreeMap::new();
        for (file, expected, size) in &wanted {
            let url = format!(
                "{}/{}/resolve/{}/{}",
                req.endpoint, req.repo, info.sha, file
            );
            let path = tmp.join(file);
            let sha256 = download(&agent, &url, &path, file, expected, *size, progress)?;
            if let Some(before) = recorded.and_then(|r| r.files.get(*file)) {
                if before != &sha256 {
                    return Err(Error::Model {
                        path: path.clone(),
                        message: format!(
                            "{file} differs from the copy this library verified before (SHA-256 {before}, now \
                             {sha256}): the library's vectors came from the earlier file, so this one is refused"
                        ),
                    });
                }
            }
            files.insert(file.to_string(), sha256);
        }
        inspect_model(&tmp)?;
        let provenance = Provenance {
            repo: req.repo.clone(),
            revision: req.revision.clone(),
            commit: info.sha.clone(),
            files,
        };
        let json = serde_json::to_string_pretty(&provenance).expect("provenance serialises");
        let source = tmp.join("medshelf-source.json");
        std::fs::write(&source, json).map_err(|e| Error::io(&source, e))?;
        sync_dir(&tmp)?;
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        sync_dir(models)?;
        Ok(provenance)
    })();
    let provenance = match result {
        Ok(p) => p,
        Err(e) => {
            // A broken connection keeps what arrived, for the next try to resume; anything
            // else (a wrong hash, a model that does not load) leaves nothing behind.
            if !matches!(e, Error::Network(_)) {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            return Err(e);
        }
    };
    let info = inspect_model(&dest)?;
    let installed = InstalledModel {
        name,
        path: dest,
        info: Some(info),
        problem: None,
    };
    Ok((installed, provenance))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // A large file on a slow line may take long: no limit on the body as a whole.
        .timeout_recv_body(None)
        .http_status_as_error(false)
        .user_agent(concat!("medshelf/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn revision_info(agent: &ureq::Agent, req: &FetchRequest) -> Result<RevisionInfo> {
    let url = format!(
        "{}/api/models/{}/revision/{}?blobs=true",
        req.endpoint, req.repo, req.revision
    );
    let mut response = agent
        .get(&url)
        .call()
        .map_err(|e| unreachable_hub(&req.endpoint, e))?;
    match response.status().as_u16() {
        200 => {}
        401 | 403 | 404 => {
            return Err(Error::Hub(format!(
            "{} has no model {} at revision {} (HTTP {}); check the name (owner/name) and revision",
            req.endpoint,
            req.repo,
            req.revision,
            response.status().as_u16()
        )))
        }
        status => {
            return Err(Error::Network(format!(
                "{url}: the hub answered HTTP {status}; try again later"
            )))
        }
    }
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| unreachable_hub(&req.endpoint, e))?;
    serde_json::from_str(&body).map_err(|e| {
        Error::Hub(format!(
            "{url}: not a hub's description of a model revision ({e})"
        ))
    })
}

fn unreachable_hub(endpoint: &str, e: ureq::Error) -> Error {
    Error::Network(format!(
        "cannot reach {endpoint} ({e}). MedShelf works without a network, searching by keywords; \
         to add the model offline, copy its folder to this machine and run `medshelf model import DIR`"
    ))
}

/// The most a file the hub lists without a size (a small configuration file) may weigh.
const MAX_UNSIZED_BYTES: u64 = 64 << 20;

/// Downloads `url` into `path`, resuming a `.part` file left by a broken transfer, checks it
/// against `expected`, and returns its SHA-256.
fn download(
    agent: &ureq::Agent,
    url: &str,
    path: &Path,
    name: &str,
    expected: &Expected,
    size: u64,
    progress: &dyn FetchProgress,
) -> Result<String> {
    if path.is_file() {
        // Verified by an earlier, interrupted run: check it again (cheap) and keep it.
        let sha256 = verify(path, name, expected)?;
        progress.file(name, size, size);
        return Ok(sha256);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let part = PathBuf::from(format!("{}.part", path.display()));
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(300 * u64::from(attempt)));
        }
        let mut file = File::options()
            .create(true)
            .append(true)
            .open(&part)
            .map_err(|e| Error::io(&part, e))?;
        let mut have = file.metadata().map_err(|e| Error::io(&part, e))?.len();
        if size > 0 && have > size {
            file.set_len(0).map_err(|e| Error::io(&part, e))?;
            have = 0;
        }
        if size > 0 && have == size {
            break;
        }
        progress.file(name, size, have);
        let mut request = agent.get(url);
        if have > 0 {
            request = request.header("Range", &format!("bytes={have}-"));
        }
        let mut response = match request.call() {
            Ok(r) => r,
            Err(e) => {
                last_error = e.to_string();
                continue;
            }
        };
        match response.status().as_u16() {
            206 => {}
            // The server sent the whole file: start over.
            200 => {
                file.set_len(0).map_err(|e| Error::io(&part, e))?;
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| Error::io(&part, e))?;
                progress.file(name, size, 0);
                have = 0;
            }
            416 => {
                // Asked for bytes past the end: what we have may be everything, or garbage.
                file.set_len(0).map_err(|e| Error::io(&part, e))?;
                last_error = "the server refused the range asked for".into();
                continue;
            }
            status => {
                return Err(Error::Network(format!(
                    "{url}: the hub answered HTTP {status}; try again later"
                )))
            }
        }
        let mut reader = response.body_mut().as_reader();
        let mut buf = vec![0u8; 1 << 16];
        // Never more than the listing advertised (or, for a file listed without a size, than
        // any small file could be): a server that keeps sending cannot fill the disk.
        let limit = if size > 0 { size } else { MAX_UNSIZED_BYTES };
        let mut total = have;
        let copied: std::io::Result<()> = (|| loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            // What fits is kept (it may be the whole file); what follows is never written.
            let keep = n.min((limit - total) as usize);
            file.write_all(&buf[..keep])?;
            total += keep as u64;
            progress.bytes(keep as u64);
            if keep < n {
                return Err(std::io::Error::other(format!(
                    "the server sent more than the {limit} bytes the file has"
                )));
            }
        })();
        file.sync_data().map_err(|e| Error::io(&part, e))?;
        match copied {
            Ok(()) => {
                let got = file.metadata().map_err(|e| Error::io(&part, e))?.len();
                if size == 0 || got == size {
                    break;
                }
                last_error = format!("the transfer ended at {got} of {size} bytes");
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    let got = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if size > 0 && got != size {
        return Err(Error::Network(format!(
            "{name}: the download broke off at {got} of {size} bytes after {ATTEMPTS} tries ({last_error}); \
             run the same command again to resume"
        )));
    }
    let sha256 = verify(&part, name, expected)?;
    std::fs::rename(&part, path).map_err(|e| Error::io(path, e))?;
    Ok(sha256)
}

/// Checks a downloaded file against what the hub advertised; returns its SHA-256.
fn verify(path: &Path, name: &str, expected: &Expected) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut sha256 = sha2::Sha256::new();
    let mut blob = sha1::Sha1::new();
    blob.update(format!("blob {len}\0").as_bytes());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        sha256.update(&buf[..n]);
        blob.update(&buf[..n]);
    }
    let sha256 = hex(&sha256.finalize());
    let (kind, want, got) = match expected {
        Expected::Sha256(want) => ("SHA-256", want, &sha256),
        Expected::GitBlob(want) => ("git blob id", want, &hex(&blob.finalize())),
    };
    if want != got {
        return Err(Error::Model {
            path: path.to_path_buf(),
            message: format!(
                "{name} does not match the hub's {kind} (expected {want}, got {got}): the download is \
                 corrupt or was altered, so nothing was installed"
            ),
        });
    }
    Ok(sha256)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_ids_are_git_s() {
        // `printf 'hello\n' | git hash-object --stdin`
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "hello\n").unwrap();
        let expected = Expected::GitBlob("ce013625030ba8dba906f756967f9e9ca394464a".into());
        let sha256 = verify(&path, "f", &expected).unwrap();
        assert_eq!(
            sha256,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        let wrong = Expected::Sha256("00".repeat(32));
        let err = verify(&path, "f", &wrong).unwrap_err().to_string();
        assert!(err.contains("does not match the hub's SHA-256"), "{err}");
    }

    #[test]
    fn the_folder_is_named_after_the_repository() {
        let req = FetchRequest {
            endpoint: "http://127.0.0.1:1".into(),
            repo: "abhinand/MedEmbed-small-v0.1".into(),
            revision: "main".into(),
        };
        assert_eq!(req.name(), "MedEmbed-small-v0.1");
    }
}
