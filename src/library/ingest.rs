//! Indexing: looking at each file (unchanged, known content, failed, or read and cut into
//! passages), gathering papers into full embedding batches, and the run's commit cadence.

use super::prefetch::Prefetch;
use super::*;

/// How many passages an index run gathers, across papers, before embedding them in one call:
/// a paper's last batch is otherwise short, and lengths are sorted within one paper only.
pub(super) const BATCH_PASSAGES: usize = 128;

/// What looking at one file led to.
pub(super) enum Step {
    /// Settled: unchanged, failed, or linked to known content.
    Done(FileOutcome),
    /// Read and cut into passages, waiting for vectors.
    Pending(Box<Pending>),
    /// The person cancelled while it was being read: nothing of it is recorded.
    Cancelled,
}

/// A paper read and cut, waiting to be embedded with others and stored.
pub(super) struct Pending {
    pub(super) path: PathBuf,
    pub(super) hash: String,
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
    /// The document the path held before, if any.
    pub(super) old: Option<DocumentId>,
    pub(super) doc: Extracted,
    pub(super) passages: Vec<crate::chunk::Passage>,
    /// When the run started on it.
    pub(super) started: Instant,
}

/// Counts a finished file in the summary and reports it; returns 1 if it was indexed.
pub(super) fn finish(
    path: &Path,
    outcome: FileOutcome,
    started: Instant,
    summary: &mut IndexSummary,
    sink: &dyn Sink,
) -> usize {
    let mut indexed = 0;
    match &outcome {
        FileOutcome::Indexed { pages, chunks } => {
            summary.indexed += 1;
            summary.pages += pages;
            summary.chunks += chunks;
            indexed = 1;
        }
        FileOutcome::Unchanged => summary.unchanged += 1,
        FileOutcome::Failed { error, .. } => {
            summary.failed += 1;
            summary.failures.push(FailedFile {
                path: path.to_path_buf(),
                error: error.clone(),
            });
        }
    }
    let took = started.elapsed().as_secs_f64();
    if summary.slowest.as_ref().is_none_or(|s| took > s.1) {
        summary.slowest = Some((path.to_path_buf(), took));
    }
    sink.event(&IndexEvent::FileDone {
        path,
        outcome: &outcome,
    });
    indexed
}

/// Whether an error fails only the file it happened on (the file's fault, the machine's, or a
/// bug caught at the file's boundary), so that the run goes on with the next one.
pub(super) fn fails_the_file_only(e: &Error) -> bool {
    matches!(e.fault(), crate::Fault::Machine | crate::Fault::User)
        || matches!(e, Error::Bug { .. })
}

/// How often (in papers) an index run makes its work durable.
pub(super) const COMMIT_EVERY: usize = 16;

/// How soon a paper stored without its vectors is committed, and so searchable by keywords
/// (in this process and others), at the latest: a commit costs tens of milliseconds, a paper's
/// reading about a second.
const KEYWORDS_WITHIN: Duration = Duration::from_secs(2);

impl Library {
    /// Indexes files and folders (recursively): new and changed PDFs are read, unchanged ones
    /// skipped, unreadable ones recorded with the reason. One bad file never stops the run.
    pub fn index(
        &mut self,
        paths: &[PathBuf],
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<IndexSummary> {
        self.index_with(paths, IndexOptions::default(), sink, cancel)
    }

    /// [`Library::index`] with options.
    pub fn index_with(
        &mut self,
        paths: &[PathBuf],
        options: IndexOptions,
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<IndexSummary> {
        self.open_for_writing()?;
        // Papers mined by an older miner of abbreviations are mined again from their stored
        // pages (seconds for a thousand papers; no PDF is read).
        self.remine_definitions(sink)?;
        let started = Instant::now();
        let mut summary = IndexSummary::default();
        let mut seen = HashSet::new();
        // A file named and also inside a named folder (a watcher passes both) is looked at once.
        let found: Vec<Result<PathBuf>> = find_pdfs(paths)
            .into_iter()
            .filter(|f| f.as_ref().map_or(true, |p| seen.insert(p.clone())))
            .collect();
        self.remember_folders(paths)?;
        summary.removed = self.forget_vanished(paths, &found)?;
        sink.event(&IndexEvent::Started { files: found.len() });
        // Inline, papers wait to be embedded together; otherwise each is stored as soon as it is
        // read, and committed within seconds, so that it is searchable by keywords at once.
        let inline = options.embedding == Embedding::Inline && self.semantic.is_some();
        let batch_passages = if inline { BATCH_PASSAGES } else { 0 };
        let mut since_commit = 0;
        let mut committed = Instant::now();
        // Papers read and cut, waiting to be embedded together (see BATCH_PASSAGES).
        let mut pending: Vec<Pending> = Vec::new();
        let mut pending_chunks = 0;
        // With more than one PDF reader, reader threads read the next files while this loop
        // stores the current one (`prefetch`): both cores read PDFs in the first phase.
        let readers = self.extractor.readers();
        let prefetch = match readers > 1 {
            true => Some(Prefetch::new(
                self.likely_read(&found, options)?,
                readers,
                options.ocr(),
            )),
            false => None,
        };
        let extractor = self.extractor.clone();
        std::thread::scope(|scope| -> Result<()> {
            if let Some(p) = &prefetch {
                for _ in 0..readers {
                    scope.spawn(|| p.read(extractor.as_ref(), cancel));
                }
            }
            let ran = (|| -> Result<()> {
                for item in found {
                    if cancel.load(Ordering::Relaxed) {
                        summary.cancelled = true;
                        break;
                    }
                    let path = match item {
                        Ok(p) => p,
                        Err(e) => {
                            // A path given on the command line that does not exist.
                            let (path, error) = match &e {
                                Error::Io { path, error } => (path.clone(), error.to_string()),
                                other => (PathBuf::new(), other.to_string()),
                            };
                            let outcome = FileOutcome::Failed {
                                error: error.clone(),
                                code: "not_found".into(),
                            };
                            sink.event(&IndexEvent::FileDone {
                                path: &path,
                                outcome: &outcome,
                            });
                            summary.failed += 1;
                            summary.failures.push(FailedFile { path, error });
                            continue;
                        }
                    };
                    sink.event(&IndexEvent::FileStarted { path: &path });
                    let file_started = Instant::now();
                    let stages = &mut summary.stages;
                    let step = Error::guard("looking at it", || {
                        self.index_file(&path, options, stages, sink, prefetch.as_ref(), cancel)
                    });
                    if let Some(p) = &prefetch {
                        p.passed(&path);
                    }
                    let read = file_started.elapsed().as_secs_f64();
                    if summary.slowest_read.as_ref().is_none_or(|s| read > s.1) {
                        summary.slowest_read = Some((path.clone(), read));
                    }
                    let outcome = match step {
                        Ok(Step::Done(o)) => o,
                        Ok(Step::Cancelled) => {
                            summary.cancelled = true;
                            break;
                        }
                        Ok(Step::Pending(p)) => {
                            pending_chunks += p.passages.len();
                            pending.push(Pending {
                                started: file_started,
                                ..*p
                            });
                            if pending_chunks >= batch_passages {
                                let stored =
                                    self.flush_pending(&mut pending, &mut summary, sink, inline)?;
                                self.count_stored(stored, &mut since_commit, &mut summary.stages)?;
                                pending_chunks = 0;
                            }
                            self.commit_soon(
                                inline,
                                &mut since_commit,
                                &mut committed,
                                &mut summary,
                            )?;
                            continue;
                        }
                        Err(e) if fails_the_file_only(&e) => FileOutcome::Failed {
                            error: e.to_string(),
                            code: e.code().into(),
                        },
                        // Our own stores failing is not this file's fault: stop rather than go on writing.
                        Err(e) => return Err(e),
                    };
                    let stored = finish(&path, outcome, file_started, &mut summary, sink);
                    self.count_stored(stored, &mut since_commit, &mut summary.stages)?;
                    self.commit_soon(inline, &mut since_commit, &mut committed, &mut summary)?;
                }
                Ok(())
            })();
            if let Some(p) = &prefetch {
                p.stop();
            }
            ran
        })?;
        // Papers read but not yet embedded: finished, unless cancelled (then the next run
        // reads them again; nothing of them was written).
        if !summary.cancelled {
            self.flush_pending(&mut pending, &mut summary, sink, inline)?;
        }
        // The second phase: every paper of the run is stored and searchable by keywords (made
        // durable first, so that a crash while embedding loses none of it); now their passages
        // get vectors, and so do passages stored while no model was present.
        let t = Instant::now();
        self.commit()?;
        if std::mem::take(&mut self.store_interrupted) {
            // A bug stopped a paper half-stored: compare every id, whatever the counts say
            // (before the second phase, which adds to the vector index).
            self.repair_with(true)?;
        }
        // A run of many papers leaves the keyword index in several segments, which each search
        // looks at apart: merged here, before the embedding, so that searches are quick while
        // it goes on. Only quicker searches hang on it: where it fails (a full disk), the
        // segments stay as they are.
        if !summary.cancelled {
            if let Ok(Some((segments, passages))) = self.lexical.to_consolidate() {
                sink.event(&IndexEvent::Tidying(Tidying::Merging {
                    segments,
                    into: crate::index::segments::search_threads(),
                    passages,
                }));
            }
            if self.lexical.consolidate().unwrap_or(false) {
                // The merged segment is checked and recorded now, not at the next opening.
                self.mark_indexed()?;
            }
        }
        summary.stages.write += t.elapsed().as_secs_f64();
        if !summary.cancelled && options.embedding != Embedding::Later {
            summary.keywords_seconds = started.elapsed().as_secs_f64();
            let t = Instant::now();
            self.embed_missing(sink, cancel)?;
            summary.stages.embed += t.elapsed().as_secs_f64();
            summary.cancelled = cancel.load(Ordering::Relaxed);
        }
        summary.seconds = started.elapsed().as_secs_f64();
        if summary.keywords_seconds == 0.0 {
            summary.keywords_seconds = summary.seconds;
        }
        if self.semantic.is_some() && options.embedding == Embedding::Later {
            summary.vectors_waiting = self.waiting_for_vectors()?;
        }
        Ok(summary)
    }

    /// Looks at one file: unchanged (size and time, then content), linked to known content,
    /// failed with a reason, or read and cut into passages that wait to be embedded.
    pub(super) fn index_file(
        &mut self,
        path: &Path,
        options: IndexOptions,
        times: &mut StageTimes,
        sink: &dyn Sink,
        prefetch: Option<&Prefetch>,
        cancel: &AtomicBool,
    ) -> Result<Step> {
        /// How often a file that changes while it is read is read again before it is left for
        /// the next run.
        const READS: usize = 3;
        let settled = |status: Status| {
            status == Status::Indexed || (status == Status::Failed && !options.retry_failed)
        };
        let (mut size, mut mtime_ns) = crate::paths::stat(path)?;
        let known = self.catalog.file(path)?;
        if let Some(row) = &known {
            if row.size == size && row.mtime_ns == mtime_ns && settled(row.status) {
                let stale =
                    row.status == Status::Indexed && row.metadata_reader < crate::metadata::READER;
                // Only a record read again counts as extraction: an unchanged file costs none.
                let same = if stale {
                    let t = Instant::now();
                    let same = self.reread_record(path, row.document)?;
                    times.extract += t.elapsed().as_secs_f64();
                    same
                } else {
                    true
                };
                if same {
                    return Ok(Step::Done(FileOutcome::Unchanged));
                }
                // Its content changed under the same size and time: read as a changed file.
            }
        }
        let old = known.as_ref().map(|k| k.document);
        if size > crate::extract::MAX_PDF_BYTES {
            // Refused before it is hashed: hashing 20 GB takes half a minute for nothing. The
            // failure is keyed by what was seen of the file, which changes when the file does.
            let key = format!("too-large:{size}:{mtime_ns}:{}", path.display());
            let error = Error::from(crate::ExtractError::TooLarge(size));
            let (doc, outcome) = self.record_failure(&key, size, &error)?;
            self.relink(path, old, doc, size, mtime_ns)?;
            return Ok(Step::Done(outcome));
        }
        for _ in 0..READS {
            let t = Instant::now();
            let hash = crate::paths::content_hash(path)?;
            times.hash += t.elapsed().as_secs_f64();
            if let Some((doc, status)) = self.catalog.document_by_hash(&hash)? {
                if settled(status) {
                    // Known content under a new or touched path (a copy, a move, a `touch`).
                    self.relink(path, old, doc, size, mtime_ns)?;
                    return Ok(Step::Done(FileOutcome::Unchanged));
                }
            }
            let t = Instant::now();
            // Read ahead by a reader thread where one has it; checked below like any reading.
            let progress = |progress| sink.event(&IndexEvent::Ocr { path, progress });
            let extracted = match prefetch.and_then(|p| p.take(path, &progress)) {
                Some(reading) => reading,
                None => self.extractor.extract_with(
                    path,
                    &crate::extract::ReadOptions {
                        ocr: options.ocr(),
                        progress: &progress,
                        cancel,
                        stored: &[],
                    },
                ),
            };
            times.extract += t.elapsed().as_secs_f64();
            let extracted = match extracted {
                Ok(extracted) => extracted,
                Err(crate::ExtractError::Cancelled) => return Ok(Step::Cancelled),
                Err(e) => {
                    let (doc, outcome) = self.record_failure(&hash, size, &e.into())?;
                    self.relink(path, old, doc, size, mtime_ns)?;
                    return Ok(Step::Done(outcome));
                }
            };
            // The text must belong to the content that is recorded: the bytes parsed are the
            // bytes hashed, and the file did not change since it was looked at.
            let now = crate::paths::stat(path)?;
            if extracted.hash.as_ref().is_some_and(|h| *h != hash) || now != (size, mtime_ns) {
                (size, mtime_ns) = now;
                continue;
            }
            let t = Instant::now();
            let passages =
                Error::guard("cutting it into passages", || Ok(self.passages(&extracted)));
            times.chunk += t.elapsed().as_secs_f64();
            let passages = match passages {
                Ok(passages) => passages,
                Err(e) => {
                    let (doc, outcome) = self.record_failure(&hash, size, &e)?;
                    self.relink(path, old, doc, size, mtime_ns)?;
                    return Ok(Step::Done(outcome));
                }
            };
            // Inline, the paper waits for its batch's vectors now; otherwise it is stored at
            // once and embedded later (the backfill's events tell).
            if options.embedding == Embedding::Inline && self.semantic.is_some() {
                sink.event(&IndexEvent::Embedding {
                    path,
                    pages: extracted.pages.len(),
                    chunks: passages.len(),
                });
            }
            return Ok(Step::Pending(Box::new(Pending {
                path: path.to_path_buf(),
                hash,
                size,
                mtime_ns,
                old,
                doc: extracted,
                passages,
                started: Instant::now(),
            })));
        }
        // Nothing is recorded: the next run (or the watcher, when the writes stop) reads it.
        let error = Error::from(crate::ExtractError::Changing);
        Ok(Step::Done(FileOutcome::Failed {
            error: error.to_string(),
            code: error.code().into(),
        }))
    }

    /// Indexes documents that are already text (a benchmark corpus, say) through the same
    /// chunking, embedding and stores as PDFs, each filed under its own path. Paths already in
    /// the library are skipped, so an interrupted run resumes.
    pub fn index_extracted(
        &mut self,
        docs: &[(PathBuf, Extracted)],
        sink: &dyn Sink,
        cancel: &AtomicBool,
    ) -> Result<IndexSummary> {
        self.open_for_writing()?;
        // Papers mined by an older miner of abbreviations are mined again from their stored
        // pages (seconds for a thousand papers; no PDF is read).
        self.remine_definitions(sink)?;
        let started = Instant::now();
        let mut summary = IndexSummary::default();
        sink.event(&IndexEvent::Started { files: docs.len() });
        // Groups big enough to fill the model's batches, small enough to commit often.
        for group in docs.chunks(64) {
            if cancel.load(Ordering::Relaxed) {
                summary.cancelled = true;
                break;
            }
            let mut todo = Vec::new();
            for (path, doc) in group {
                if self.catalog.file(path)?.is_some() {
                    summary.unchanged += 1;
                    sink.event(&IndexEvent::FileDone {
                        path,
                        outcome: &FileOutcome::Unchanged,
                    });
                } else {
                    todo.push((path, doc));
                }
            }
            let t = Instant::now();
            let passages: Vec<_> = todo.iter().map(|(_, doc)| self.passages(doc)).collect();
            summary.stages.chunk += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let pairs: Vec<_> = todo
                .iter()
                .zip(&passages)
                .map(|((_, d), p)| (*d, p))
                .collect();
            let vectors = self.embed_passages(&pairs)?;
            summary.stages.embed += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut offset = 0;
            for ((path, doc), passages) in todo.iter().zip(&passages) {
                let mut hasher = blake3::Hasher::new();
                hasher.update(path.to_string_lossy().as_bytes());
                for page in &doc.pages {
                    hasher.update(page.as_bytes());
                }
                let hash = hasher.finalize().to_hex().to_string();
                let size: usize = doc.pages.iter().map(String::len).sum();
                let own = vectors
                    .as_ref()
                    .map(|v| &v[offset..offset + passages.len()]);
                offset += passages.len();
                let (id, pages, chunks) = self.write(&hash, size as u64, doc, passages, own)?;
                self.catalog.link_file(path, id, size as u64, 0)?;
                summary.indexed += 1;
                summary.pages += pages;
                summary.chunks += chunks;
                let outcome = FileOutcome::Indexed { pages, chunks };
                sink.event(&IndexEvent::FileDone {
                    path,
                    outcome: &outcome,
                });
            }
            self.commit()?;
            summary.stages.write += t.elapsed().as_secs_f64();
        }
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// The files of `found` an index run will most likely read: those the catalog does not
    /// know at their size and time, or knows as failed where failures are read again. Reading
    /// ahead any other would be work for nothing (a catch-up over a large unchanged folder).
    fn likely_read(
        &self,
        found: &[Result<PathBuf>],
        options: IndexOptions,
    ) -> Result<Vec<PathBuf>> {
        let mut likely = Vec::new();
        for path in found.iter().filter_map(|f| f.as_ref().ok()) {
            let Ok((size, mtime_ns)) = crate::paths::stat(path) else {
                continue;
            };
            let known = self.catalog.file(path)?.is_some_and(|row| {
                row.size == size
                    && row.mtime_ns == mtime_ns
                    && (row.status == Status::Indexed
                        || (row.status == Status::Failed && !options.retry_failed))
            });
            if !known && size <= crate::extract::MAX_PDF_BYTES {
                likely.push(path.clone());
            }
        }
        Ok(likely)
    }

    /// Commits what is stored when the last commit is [`KEYWORDS_WITHIN`] old (papers stored
    /// without vectors only; inline runs keep their cadence in papers), checked after every
    /// file, so that a paper is searchable by keywords soon after it is read, whatever the
    /// files after it do (at the latest one reader's time limit later).
    fn commit_soon(
        &mut self,
        inline: bool,
        since_commit: &mut usize,
        committed: &mut Instant,
        summary: &mut IndexSummary,
    ) -> Result<()> {
        if inline || *since_commit == 0 || committed.elapsed() < KEYWORDS_WITHIN {
            return Ok(());
        }
        let t = Instant::now();
        self.commit()?;
        summary.stages.write += t.elapsed().as_secs_f64();
        *since_commit = 0;
        *committed = Instant::now();
        Ok(())
    }

    /// Counts papers stored since the last commit and commits every [`COMMIT_EVERY`] of them,
    /// timed as writing: the run's one commit cadence, wherever in the loop papers are stored.
    fn count_stored(
        &mut self,
        stored: usize,
        since_commit: &mut usize,
        stages: &mut StageTimes,
    ) -> Result<()> {
        *since_commit += stored;
        if *since_commit >= COMMIT_EVERY {
            let t = Instant::now();
            self.commit()?;
            stages.write += t.elapsed().as_secs_f64();
            *since_commit = 0;
        }
        Ok(())
    }

    /// Cuts a paper's pages into passages on the model's word pieces (or words, without one).
    pub(super) fn passages(&self, doc: &Extracted) -> Vec<crate::chunk::Passage> {
        let opts = ChunkOptions::for_model(
            self.semantic
                .as_ref()
                .map_or(crate::embed::DEFAULT_MAX_TOKENS, |s| s.info().max_tokens),
        );
        let mut passages = Vec::new();
        for (i, text) in doc.pages.iter().enumerate() {
            let spans = match &self.semantic {
                Some(s) => s.embedder.token_spans(text),
                None => word_spans(text),
            };
            passages.extend(chunk_page(i as u32 + 1, text, &spans, opts));
        }
        passages
    }
}
