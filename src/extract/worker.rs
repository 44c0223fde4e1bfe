//! PDF reading in a separate process, so that nothing a hostile or broken PDF does to the parser
//! (a panic, an endless loop, a stack overflow, a decompression bomb) can stall or take down the
//! app or the index run.
//!
//! The worker is the `medshelf` binary itself (`medshelf extract-worker`), kept running across
//! files. It reads one JSON-encoded path a line on standard input and answers one JSON line per
//! file. The parent gives each file a time limit; the worker runs under an address-space limit.
//! A worker that overruns is killed, one that dies is reported by how it died, and either is
//! restarted for the next file.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::ocr::OcrPage;
use super::{extract_file_with, ExtractError, Extracted, Extractor, OcrProgress, ReadOptions};

/// The default time allowed to read one PDF. The slowest real paper seen takes under a second.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The time allowed for each page OCR reads, on top of [`DEFAULT_TIMEOUT`]: the worker says
/// when it starts a page, and the clock starts again. Tesseract's own deadline for a page comes
/// first; this covers rendering it, and a worker stuck outside Tesseract.
pub const OCR_PAGE_TIMEOUT: Duration = Duration::from_secs(90);

/// How often a wait for the worker looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(200);

/// The default address-space limit of a worker: far above what a paper needs, far below what
/// would push the machine into swap.
pub const DEFAULT_MEMORY_LIMIT: u64 = 3 << 30;

/// Reads PDFs in a worker process; see the module documentation.
pub struct WorkerExtractor {
    program: PathBuf,
    args: Vec<String>,
    timeout: Duration,
    memory_limit: u64,
    /// One slot per worker process: a file goes to a free one, so that as many files are read
    /// at once as there are slots ([`WorkerExtractor::with_workers`]).
    workers: Vec<Mutex<Option<Worker>>>,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

/// How many worker processes an index run keeps: one per core, at most four (each may use up
/// to its memory limit, and a first phase with more readers than cores only waits on itself).
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

impl WorkerExtractor {
    /// A worker started as `program args...`, which must run [`run_worker`].
    pub fn new(program: impl Into<PathBuf>, args: &[&str]) -> Self {
        WorkerExtractor {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            timeout: DEFAULT_TIMEOUT,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            workers: vec![Mutex::new(None)],
        }
    }

    /// Keeps up to `n` worker processes, so that `n` files can be read at once (an index run
    /// reads ahead with as many threads: [`Extractor::readers`]). Each has the time and memory
    /// limits of one.
    pub fn with_workers(mut self, n: usize) -> Self {
        self.workers = (0..n.max(1)).map(|_| Mutex::new(None)).collect();
        self
    }

    /// Sets the time allowed per file.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the worker's address-space limit in bytes.
    pub fn with_memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = bytes;
        self
    }

    fn spawn(&self) -> Result<Worker, ExtractError> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .env("MEDSHELF_WORKER_MEMORY", self.memory_limit.to_string())
            // The threads Tesseract's OpenMP build would start for each page compete with the
            // other readers; one page per worker on one thread is the faster whole (Tesseract's
            // own advice for running several at once).
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                ExtractError::ReaderCrashed(format!(
                    "cannot start the PDF reader {}: {e}",
                    self.program.display()
                ))
            })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        // A thread per worker turns its answers into a channel the parent can wait on with a limit.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Worker {
            child,
            stdin,
            lines,
        })
    }
}

/// How one attempt to read a file in the worker ended.
enum Attempt {
    /// The worker answered (with text or with the file's error).
    Answered(Result<Extracted, ExtractError>),
    /// The worker died while reading the file: maybe the file's doing, maybe not.
    Died(Option<std::process::ExitStatus>),
}

impl WorkerExtractor {
    /// Gives the worker one file and waits for its answer, within the time limit. A worker that
    /// died while idle (an out-of-memory kill lands exactly there) is replaced first.
    fn attempt(
        &self,
        slot: &mut Option<Worker>,
        path: &Path,
        options: &ReadOptions<'_>,
    ) -> Result<Attempt, ExtractError> {
        if let Some(worker) = slot.as_mut() {
            if !matches!(worker.child.try_wait(), Ok(None)) {
                *slot = None;
            }
        }
        let request = request_line(path, options);
        // A worker that dies between the check and the write makes the write fail; a fresh one
        // gets the file instead.
        let mut sent = false;
        for _ in 0..2 {
            if slot.is_none() {
                *slot = Some(self.spawn()?);
            }
            let worker = slot.as_mut().expect("a worker was just started");
            if write_unsignalled(&mut worker.stdin, request.as_bytes()).is_ok() {
                sent = true;
                break;
            }
            if let Some(mut dead) = slot.take() {
                let _ = dead.child.kill();
                let _ = dead.child.wait();
            }
        }
        if !sent {
            return Err(ExtractError::ReaderCrashed(
                "the PDF reader could not be started or stopped at once".into(),
            ));
        }
        let worker = slot.as_mut().expect("the worker was given the file");
        // The file's time limit; each OCR page the worker starts gives it a page's time more.
        let mut deadline = Instant::now() + self.timeout;
        let mut allowed = self.timeout;
        let stop = |slot: &mut Option<Worker>| {
            let mut worker = slot.take().expect("the worker is present");
            let _ = worker.child.kill();
            let _ = worker.child.wait();
        };
        loop {
            if options.cancel.load(Ordering::Relaxed) {
                stop(slot);
                return Ok(Attempt::Answered(Err(ExtractError::Cancelled)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match worker.lines.recv_timeout(left.min(CANCEL_POLL)) {
                Ok(line) => {
                    if let Some(progress) = progress_line(&line) {
                        (options.progress)(progress);
                        deadline = Instant::now() + OCR_PAGE_TIMEOUT;
                        allowed += OCR_PAGE_TIMEOUT;
                        continue;
                    }
                    return Ok(Attempt::Answered(
                        serde_json::from_str::<Result<Extracted, ExtractError>>(&line)
                            .unwrap_or_else(|e| {
                                Err(ExtractError::ReaderCrashed(format!(
                                    "unreadable answer: {e}"
                                )))
                            }),
                    ));
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => continue,
                Err(RecvTimeoutError::Timeout) => {
                    stop(slot);
                    return Ok(Attempt::Answered(Err(ExtractError::TimedOut(
                        allowed.as_secs(),
                    ))));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let mut worker = slot.take().expect("the worker is present");
                    return Ok(Attempt::Died(worker.child.wait().ok()));
                }
            }
        }
    }
}

impl Extractor for WorkerExtractor {
    fn readers(&self) -> usize {
        self.workers.len()
    }

    fn extract(&self, path: &Path) -> Result<Extracted, ExtractError> {
        self.extract_with(path, &ReadOptions::plain())
    }

    fn extract_with(
        &self,
        path: &Path,
        options: &ReadOptions<'_>,
    ) -> Result<Extracted, ExtractError> {
        // A free worker, else the first (whose file ends within the time limit).
        let free = self.workers.iter().find_map(|w| match w.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        });
        let mut slot =
            free.unwrap_or_else(|| self.workers[0].lock().unwrap_or_else(|p| p.into_inner()));
        // A worker can die for reasons that have nothing to do with the file (killed by the
        // system for memory another program took, by a person): a death is a verdict on the
        // file only when a fresh worker dies on it again.
        match self.attempt(&mut slot, path, options)? {
            Attempt::Answered(answer) => answer,
            Attempt::Died(_) => match self.attempt(&mut slot, path, options)? {
                Attempt::Answered(answer) => answer,
                Attempt::Died(status) => Err(died(status)),
            },
        }
    }
}

/// A request for the worker: the path as its bytes, so that a name that is not UTF-8 reaches
/// the worker as it is on disk.
#[derive(serde::Serialize, serde::Deserialize)]
struct Request {
    path: Vec<u8>,
    /// Whether to recognise scanned pages.
    #[serde(default)]
    ocr: bool,
    /// Pages OCR read before in this file ([`ReadOptions::stored`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stored: Vec<OcrPage>,
}

fn request_line(path: &Path, options: &ReadOptions<'_>) -> String {
    let request = Request {
        path: crate::paths::to_bytes(path),
        ocr: options.ocr,
        stored: options.stored.to_vec(),
    };
    let mut line = serde_json::to_string(&request).expect("a request serialises");
    line.push('\n');
    line
}

/// Writes to a worker's pipe with SIGPIPE blocked on this thread: a worker that died makes the
/// write fail with EPIPE instead of killing this process, whatever the signal's disposition
/// (the CLI restores the default action, so that `medshelf search | head` ends quietly). The
/// signal the failed write left pending is taken back before the mask is restored.
#[cfg(unix)]
fn write_unsignalled(stdin: &mut ChildStdin, bytes: &[u8]) -> std::io::Result<()> {
    // SAFETY: the sigset_t values are initialised by sigemptyset/pthread_sigmask before use,
    // and the mask is restored before returning; nothing here touches memory we do not own.
    unsafe {
        let mut pipe: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe);
        libc::sigaddset(&mut pipe, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old);
        let result = stdin.write_all(bytes).and_then(|()| stdin.flush());
        let was_blocked = libc::sigismember(&old, libc::SIGPIPE) == 1;
        if result.is_err() && !was_blocked {
            let mut pending: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut pending);
            if libc::sigpending(&mut pending) == 0
                && libc::sigismember(&pending, libc::SIGPIPE) == 1
            {
                let mut signal = 0;
                libc::sigwait(&pipe, &mut signal);
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        result
    }
}

#[cfg(not(unix))]
fn write_unsignalled(stdin: &mut ChildStdin, bytes: &[u8]) -> std::io::Result<()> {
    stdin.write_all(bytes).and_then(|()| stdin.flush())
}

impl Drop for WorkerExtractor {
    fn drop(&mut self) {
        for slot in &self.workers {
            if let Some(mut worker) = slot.lock().ok().and_then(|mut w| w.take()) {
                // Closing stdin ends the worker's loop; kill covers a worker stuck in a file.
                let _ = worker.child.kill();
                let _ = worker.child.wait();
            }
        }
    }
}

/// Says how a worker died, in the terms a person can act on.
fn died(status: Option<std::process::ExitStatus>) -> ExtractError {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        match status.and_then(|s| s.signal()) {
            // abort() is how Rust reports an allocation that failed under the memory limit.
            Some(libc::SIGABRT) | Some(libc::SIGKILL) => {
                return ExtractError::Damaged(
                    "reading it needed more memory than MedShelf allows (a decompression bomb?)"
                        .into(),
                )
            }
            Some(libc::SIGSEGV) | Some(libc::SIGBUS) => {
                return ExtractError::ReaderCrashed(
                    "the PDF reader overflowed its stack on this file".into(),
                )
            }
            Some(sig) => {
                return ExtractError::ReaderCrashed(format!("the PDF reader died (signal {sig})"))
            }
            None => {}
        }
    }
    ExtractError::ReaderCrashed(format!(
        "the PDF reader stopped ({})",
        status.map_or("unknown status".to_string(), |s| s.to_string())
    ))
}

/// A line the worker sends while it reads a file: OCR starts a page. Answers are
/// `{"Ok": ...}` or `{"Err": ...}`, so the two never mix.
#[derive(serde::Serialize, serde::Deserialize)]
struct ProgressLine {
    ocr: OcrProgress,
}

fn progress_line(line: &str) -> Option<OcrProgress> {
    if !line.starts_with("{\"ocr\"") {
        return None;
    }
    serde_json::from_str::<ProgressLine>(line)
        .ok()
        .map(|p| p.ocr)
}

/// The worker's side: reads paths from standard input until it closes, answering each with a
/// JSON line. Applies the memory limit the parent passed in `MEDSHELF_WORKER_MEMORY`.
pub fn run_worker() -> std::io::Result<()> {
    if let Some(limit) = std::env::var("MEDSHELF_WORKER_MEMORY")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        limit_memory(limit);
    }
    // Panics are caught and answered as errors; the default hook would only add noise.
    std::panic::set_hook(Box::new(|_| {}));
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line?;
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                // OCR's progress goes out as it happens, between the answers; the parent
                // cancels by ending this process.
                let progress = |p: OcrProgress| {
                    if let Ok(line) = serde_json::to_string(&ProgressLine { ocr: p }) {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "{line}");
                        let _ = out.flush();
                    }
                };
                let never = std::sync::atomic::AtomicBool::new(false);
                let options = ReadOptions {
                    ocr: request.ocr,
                    progress: &progress,
                    cancel: &never,
                    stored: &request.stored,
                };
                extract_file_with(&crate::paths::from_bytes(request.path), &options)
            }
            Err(e) => Err(ExtractError::Unreadable(format!("bad request: {e}"))),
        };
        serde_json::to_writer(&mut stdout, &answer).map_err(std::io::Error::other)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}

#[cfg(unix)]
fn limit_memory(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct we pass; failure leaves the process unlimited,
    // which the parent's time limit still bounds.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}

#[cfg(not(unix))]
fn limit_memory(_bytes: u64) {}
