//! `medshelf model fetch` against a hub on 127.0.0.1 that answers in the Hugging Face layout
//! (`/api/models/{repo}/revision/{rev}?blobs=true`, `/{repo}/resolve/{commit}/{file}`, ranges),
//! with the faults a real network has: a connection cut mid-file, a file that does not match its
//! advertised hash, no server at all.
//!
//! The server is written here rather than taken from a crate because the point is to misbehave
//! on purpose (send half a body and hang up), which general servers are built not to do.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use medshelf::fixtures::write_tiny_model;
use medshelf::models::fetch::{fetch_model, FetchRequest, NoProgress};
use medshelf::Library;
use medshelf::Pooling;
use sha1::Digest as _;

use crate::support::{assert_ran, cli, standin_model, write_papers};

const REPO: &str = "test-org/MiniLM-test";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// What the hub serves and how it misbehaves.
#[derive(Default)]
struct HubState {
    files: BTreeMap<String, Vec<u8>>,
    /// Files the listing calls LFS (advertised by SHA-256).
    lfs: Vec<String>,
    /// SHA-256 to advertise instead of the real one.
    lie: HashMap<String, String>,
    /// Cut the connection after this many bytes of the file, once.
    cut: HashMap<String, usize>,
    /// Send this many bytes more than the file has, every time.
    flood: HashMap<String, usize>,
    /// Every request: method, path, range header.
    log: Vec<String>,
}

struct Hub {
    endpoint: String,
    state: Arc<Mutex<HubState>>,
}

impl Hub {
    /// Serves the model folder `dir` as `REPO`, its weights as an LFS file.
    fn serving(dir: &Path) -> Hub {
        let mut state = HubState::default();
        for entry in walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            if entry.file_type().is_file() {
                let rel = entry.path().strip_prefix(dir).unwrap();
                let name = rel.to_string_lossy().replace('\\', "/");
                state
                    .files
                    .insert(name, std::fs::read(entry.path()).unwrap());
            }
        }
        state.lfs.push("model.safetensors".into());
        let state = Arc::new(Mutex::new(state));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &shared);
            }
        });
        Hub { endpoint, state }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HubState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    fn request(&self) -> FetchRequest {
        FetchRequest {
            endpoint: self.endpoint.clone(),
            repo: REPO.into(),
            revision: "main".into(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Answers one request (HTTP/1.1, one request per connection).
fn answer(stream: TcpStream, state: &Mutex<HubState>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                range = v
                    .trim()
                    .strip_prefix("bytes=")
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|r| r.parse::<usize>().ok());
            }
        }
    }
    let mut out = stream;
    let mut st = state.lock().unwrap();
    st.log.push(format!("{method} {target} {range:?}"));
    let listing = format!("/api/models/{REPO}/revision/");
    let resolve = format!("/{REPO}/resolve/");
    if let Some(rest) = target.strip_prefix(&listing) {
        let rev = rest.split('?').next().unwrap_or("");
        if rev != "main" && rev != COMMIT {
            return respond(
                &mut out,
                "404 Not Found",
                &[],
                br#"{"error":"Revision Not Found"}"#,
            );
        }
        let siblings: Vec<serde_json::Value> = st
            .files
            .iter()
            .map(|(name, data)| {
                let mut blob = sha1::Sha1::new();
                blob.update(format!("blob {}\0", data.len()).as_bytes());
                blob.update(data);
                let mut s = serde_json::json!({
                    "rfilename": name, "blobId": hex(&blob.finalize()), "size": data.len() });
                if st.lfs.contains(name) {
                    let sha = st
                        .lie
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| hex(&sha2::Sha256::digest(data)));
                    s["lfs"] = serde_json::json!({ "sha256": sha, "size": data.len(), "pointerSize": 134 });
                }
                s
            })
            .collect();
        let body = serde_json::json!({ "id": REPO, "sha": COMMIT, "siblings": siblings });
        return respond(&mut out, "200 OK", &[], body.to_string().as_bytes());
    }
    if let Some(rest) = target.strip_prefix(&resolve) {
        let (rev, file) = rest.split_once('/').unwrap_or(("", ""));
        let Some(data) = st.files.get(file).cloned().filter(|_| rev == COMMIT) else {
            return respond(&mut out, "404 Not Found", &[], b"Entry not found");
        };
        let start = range.unwrap_or(0).min(data.len());
        let body = &data[start..];
        let headers = [
            format!("X-Repo-Commit: {COMMIT}"),
            "Accept-Ranges: bytes".to_string(),
            format!(
                "Content-Range: bytes {start}-{}/{}",
                data.len().saturating_sub(1),
                data.len()
            ),
        ];
        let status = if range.is_some() {
            "206 Partial Content"
        } else {
            "200 OK"
        };
        if let Some(cut) = st.cut.remove(file) {
            // Promise the whole body, send part of it, hang up.
            write!(
                out,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n\r\n",
                body.len(),
                headers.join("\r\n")
            )?;
            out.write_all(&body[..cut.min(body.len())])?;
            out.flush()?;
            return out.shutdown(std::net::Shutdown::Both);
        }
        if let Some(&extra) = st.flood.get(file) {
            let mut flooded = body.to_vec();
            flooded.resize(body.len() + extra, 0);
            return respond(&mut out, status, &headers, &flooded);
        }
        return respond(&mut out, status, &headers, body);
    }
    respond(&mut out, "404 Not Found", &[], b"not found")
}

fn respond(
    out: &mut TcpStream,
    status: &str,
    headers: &[String],
    body: &[u8],
) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    )?;
    for h in headers {
        write!(out, "{h}\r\n")?;
    }
    out.write_all(b"\r\n")?;
    out.write_all(body)?;
    out.flush()
}

/// The stand-in model where present (the real weights), else the tiny one.
fn model_to_serve(tmp: &Path) -> PathBuf {
    match standin_model() {
        Some(dir) => dir,
        None => {
            eprintln!("the stand-in model is absent (scripts/fetch-model): serving the tiny model");
            let dir = tmp.join("tiny-served");
            write_tiny_model(&dir, Pooling::Mean).unwrap();
            dir
        }
    }
}

fn leftovers(models: &Path) -> Vec<String> {
    std::fs::read_dir(models)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn fetch_resumes_a_broken_download_and_the_model_then_searches() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::serving(&model_to_serve(tmp.path()));
    let size = hub.with(|s| s.files["model.safetensors"].len());
    hub.with(|s| s.cut.insert("model.safetensors".into(), size / 2));
    let library = tmp.path().join("library");
    let out = cli(&library, None)
        .env("HF_ENDPOINT", &hub.endpoint)
        .args(["model", "fetch", "--repo", REPO])
        .output()
        .unwrap();
    assert_ran(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("installed MiniLM-test"), "{stdout}");
    // The weights came in two requests: the broken one, then the rest by range.
    let log = hub.with(|s| s.log.clone());
    let weights: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("model.safetensors"))
        .collect();
    assert_eq!(weights.len(), 2, "{log:#?}");
    assert!(weights[0].ends_with("None"), "{log:#?}");
    assert!(
        weights[1].ends_with(&format!("Some({})", size / 2)),
        "{log:#?}"
    );
    // Installed whole, with its provenance, nothing half-done beside it.
    let models = library.join("models");
    assert_eq!(leftovers(&models), vec!["MiniLM-test".to_string()]);
    let source: serde_json::Value = serde_json::from_slice(
        &std::fs::read(models.join("MiniLM-test/medshelf-source.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(source["commit"], COMMIT);
    // The library uses it without being told: semantic search works.
    let papers = write_papers(tmp.path());
    assert_ran(
        &cli(&library, None)
            .arg("index")
            .arg(&papers.dir)
            .output()
            .unwrap(),
    );
    let out = cli(&library, None)
        .args([
            "search",
            "iron stores in the blood",
            "--mode",
            "semantic",
            "--json",
        ])
        .output()
        .unwrap();
    assert_ran(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mode"], "semantic");
    assert!(!json["results"].as_array().unwrap().is_empty());
    let status: serde_json::Value = serde_json::from_slice(
        &cli(&library, None)
            .args(["status", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(status["model"]["name"], "MiniLM-test");
}

#[test]
fn a_server_that_sends_more_than_it_advertised_never_fills_the_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("tiny");
    write_tiny_model(&served, Pooling::Mean).unwrap();
    let hub = Hub::serving(&served);
    hub.with(|s| s.flood.insert("model.safetensors".into(), 32 << 20));
    let models = tmp.path().join("models");
    // The bytes past the advertised size are never written: what arrives first is the file.
    let (installed, _) = fetch_model(&hub.request(), &models, None, &NoProgress).unwrap();
    let weights = std::fs::read(installed.path.join("model.safetensors")).unwrap();
    assert_eq!(
        weights,
        std::fs::read(served.join("model.safetensors")).unwrap()
    );
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("tiny");
    write_tiny_model(&served, Pooling::Mean).unwrap();
    let hub = Hub::serving(&served);
    hub.with(|s| s.lie.insert("model.safetensors".into(), "ab".repeat(32)));
    let models = tmp.path().join("models");
    let err = fetch_model(&hub.request(), &models, None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.safetensors does not match the hub's SHA-256"),
        "{err}"
    );
    assert!(err.contains("nothing was installed"), "{err}");
    assert!(leftovers(&models).is_empty(), "{:?}", leftovers(&models));
}

#[test]
fn a_later_download_that_differs_from_the_first_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("tiny");
    write_tiny_model(&served, Pooling::Mean).unwrap();
    let hub = Hub::serving(&served);
    let mut library = Library::open_with(tmp.path(), None).unwrap();
    let models = library.models_dir();
    let first = library.fetch_model(&hub.request(), &NoProgress).unwrap();
    let recorded = library.recorded_download(REPO).unwrap().unwrap();
    assert_eq!(recorded.commit, COMMIT);
    assert!(recorded.files.contains_key("model.safetensors"));
    // The hub now serves other weights, honestly advertised: still not the library's model.
    std::fs::remove_dir_all(&first.path).unwrap();
    hub.with(|s| {
        let w = s.files.get_mut("model.safetensors").unwrap();
        let last = w.len() - 1;
        w[last] ^= 0x01;
    });
    let err = library
        .fetch_model(&hub.request(), &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("differs from the copy this library verified before"),
        "{err}"
    );
    assert!(leftovers(&models).is_empty(), "{:?}", leftovers(&models));
}

#[test]
fn without_a_network_fetch_says_so_and_keywords_still_work() {
    let tmp = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let library = tmp.path().join("library");
    let out = cli(&library, None)
        .env("HF_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .args(["model", "fetch"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach http://127.0.0.1"), "{stderr}");
    assert!(stderr.contains("medshelf model import DIR"), "{stderr}");
    assert!(leftovers(&library.join("models")).is_empty());
    let papers = write_papers(tmp.path());
    assert_ran(
        &cli(&library, None)
            .arg("index")
            .arg(&papers.dir)
            .output()
            .unwrap(),
    );
    let out = cli(&library, None)
        .args(["search", "ferritin", "--json"])
        .output()
        .unwrap();
    assert_ran(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mode"], "lexical");
    assert_eq!(json["results"][0]["path"], papers.sepsis.to_str().unwrap());
}
