//! The engine's one writer (`medshelf::writer`), which both faces submit to: jobs run in order,
//! the followed folders are caught up with and then followed, a cancel stops the running job
//! and drops the queued ones, and the writer ends when its queue is dropped.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use medshelf::fixtures::{write_pdf, FixturePage};
use medshelf::writer::{writer, Job, JobId, Outcome, Report};
use medshelf::{FileOutcome, IndexEvent, Library};

use crate::support::{tiny_model, write_papers};

/// What the writer reported, as the test reads it.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Started(JobId),
    Indexed(JobId, PathBuf),
    Removed(JobId, PathBuf),
    Watching(Vec<PathBuf>),
    /// A job that ran: papers indexed, and whether it was cancelled.
    Done(JobId, usize, bool),
    Nothing(JobId),
    Failed(JobId, String),
    /// Passages embedded of those waiting, and papers searchable by meaning of those waiting.
    Backfill(JobId, u64, u64, u64, u64),
}

/// Records every report; holds the writer inside job `hold`'s first event until released.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    changed: Condvar,
    hold: Mutex<Option<JobId>>,
    held: Condvar,
    /// Holds the writer inside the next backfill's first event until released.
    hold_backfill: Mutex<bool>,
}

impl Recorder {
    fn push(&self, s: Seen) {
        self.seen.lock().unwrap().push(s);
        self.changed.notify_all();
    }

    /// Waits (20 s at most) until a report matches, and returns it.
    fn wait_for(&self, what: &str, f: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = self.seen.lock().unwrap();
        loop {
            if let Some(s) = seen.iter().find(|s| f(s)) {
                return s.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{what} was never reported; saw {seen:?}");
            seen = self.changed.wait_timeout(seen, left).unwrap().0;
        }
    }

    fn release(&self) {
        *self.hold.lock().unwrap() = None;
        *self.hold_backfill.lock().unwrap() = false;
        self.held.notify_all();
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Report for Recorder {
    fn event(&self, job: JobId, event: &IndexEvent<'_>) {
        let mut hold = self.hold.lock().unwrap();
        while *hold == Some(job) {
            hold = self.held.wait(hold).unwrap();
        }
        drop(hold);
        match event {
            IndexEvent::Started { .. } => self.push(Seen::Started(job)),
            IndexEvent::FileDone {
                path,
                outcome: FileOutcome::Indexed { .. },
            } => self.push(Seen::Indexed(job, path.to_path_buf())),
            IndexEvent::Removed { path } => self.push(Seen::Removed(job, path.to_path_buf())),
            IndexEvent::Watching { folders } => self.push(Seen::Watching(folders.to_vec())),
            IndexEvent::Backfill {
                done,
                total,
                papers_done,
                papers,
            } => {
                self.push(Seen::Backfill(job, *done, *total, *papers_done, *papers));
                let mut hold = self.hold_backfill.lock().unwrap();
                while *hold {
                    hold = self.held.wait(hold).unwrap();
                }
            }
            _ => {}
        }
    }

    fn finished(&self, job: JobId, outcome: Outcome) {
        self.push(match outcome {
            Outcome::Done(s) => Seen::Done(job, s.indexed, s.cancelled),
            Outcome::Nothing => Seen::Nothing(job),
            Outcome::Failed(e) => Seen::Failed(job, e.to_string()),
        });
    }
}

#[test]
fn catches_up_follows_the_folder_cancels_and_ends_with_its_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let library =
        Library::open_with(&tmp.path().join("library"), Some(tiny_model(tmp.path()))).unwrap();
    let searcher = library.searcher().unwrap();
    let (queue, writer) = writer(library);
    let recorder = Arc::new(Recorder::default());
    let running = {
        let (weak, recorder) = (Arc::downgrade(&queue), recorder.clone());
        let folders = vec![papers.dir.clone()];
        let following = medshelf::writer::Following {
            folders,
            library_folders: true,
            strict: true,
        };
        std::thread::spawn(move || writer.run(weak, Some(following), recorder.as_ref()))
    };

    // The catch-up indexes the folder quietly (no "started"), then says it watches.
    let watching = recorder.wait_for("watching", |s| matches!(s, Seen::Watching(_)));
    assert_eq!(watching, Seen::Watching(vec![papers.dir.clone()]));
    let Seen::Done(catch_up, indexed, _) =
        recorder.wait_for("the catch-up", |s| matches!(s, Seen::Done(..)))
    else {
        unreachable!()
    };
    assert_eq!(indexed, 3);
    assert!(!recorder
        .seen
        .lock()
        .unwrap()
        .contains(&Seen::Started(catch_up)));
    assert_eq!(queue.watching(), vec![papers.dir.clone()]);
    assert_eq!(searcher.documents().unwrap().len(), 3);

    // A paper saved into the folder becomes a job of its own, and is indexed.
    let added = papers.dir.join("added.pdf");
    write_pdf(
        &added,
        Some("Lithium in bipolar disorder"),
        &[FixturePage::text(&[
            "Lithium reduced suicide in bipolar disorder.",
        ])],
    )
    .unwrap();
    recorder.wait_for(
        "the added paper",
        |s| matches!(s, Seen::Indexed(_, p) if *p == added),
    );

    // One deleted is forgotten.
    std::fs::remove_file(&papers.asthma).unwrap();
    recorder.wait_for(
        "the deleted paper",
        |s| matches!(s, Seen::Removed(_, p) if *p == papers.asthma),
    );

    // A job that answers: the paths removed come back to the one who asked.
    let (tx, rx) = std::sync::mpsc::channel();
    queue
        .submit(Job::Remove {
            paths: vec![papers.diabetes.clone()],
            reply: tx,
        })
        .unwrap();
    let removed = rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
    assert_eq!(removed, vec![papers.diabetes.clone()]);

    // A cancel stops the running job and drops the one queued behind it unrun. The writer is
    // held inside the first job until both are queued and the cancel is made.
    let index = |paths: Vec<PathBuf>| Job::Index {
        paths,
        retry_failed: true,
        quiet: false,
    };
    let running_job = queue.reserve();
    *recorder.hold.lock().unwrap() = Some(running_job);
    queue
        .submit_as(running_job, index(vec![papers.dir.clone()]))
        .unwrap();
    let queued_job = queue.submit(index(vec![papers.sepsis.clone()])).unwrap();
    while !queue.busy() {
        std::thread::sleep(Duration::from_millis(10));
    }
    queue.cancel();
    recorder.release();
    let dropped = recorder.wait_for(
        "the queued job",
        |s| matches!(s, Seen::Done(j, ..) if *j == queued_job),
    );
    assert_eq!(dropped, Seen::Done(queued_job, 0, true), "dropped unrun");
    let stopped = recorder.wait_for(
        "the running job",
        |s| matches!(s, Seen::Done(j, ..) if *j == running_job),
    );
    assert!(matches!(stopped, Seen::Done(_, _, true)), "{stopped:?}");
    assert!(
        !recorder
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| matches!(s, Seen::Failed(..))),
        "no job failed"
    );

    // Without a queue, the writer finishes and hands the library's lock back.
    drop(queue);
    running.join().unwrap().unwrap();
    let mut again = Library::open_with(&tmp.path().join("library"), None).unwrap();
    again.open_for_writing().unwrap();
}

/// A cancel stops indexing; a model switch the person asked for meanwhile still runs (it was
/// cancelled too, before: it replied "switching" and then stopped at once).
#[test]
fn a_cancel_stops_indexing_not_a_model_switch_asked_for_meanwhile() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let library =
        Library::open_with(&tmp.path().join("library"), Some(tiny_model(tmp.path()))).unwrap();
    // Another model: the same shape, one weight changed.
    let other = library.models_dir().join("other-bert");
    medshelf::fixtures::write_tiny_model(&other, medshelf::Pooling::Mean).unwrap();
    let weights = other.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let n = bytes.len();
    bytes[n - 2] ^= 0x01;
    std::fs::write(&weights, &bytes).unwrap();
    let (queue, writer) = writer(library);
    let recorder = Arc::new(Recorder::default());
    let running = {
        let recorder = recorder.clone();
        let weak = Arc::downgrade(&queue);
        std::thread::spawn(move || writer.run(weak, None, recorder.as_ref()))
    };
    let indexing = queue.reserve();
    *recorder.hold.lock().unwrap() = Some(indexing);
    let index = Job::Index {
        paths: vec![papers.dir.clone()],
        retry_failed: false,
        quiet: false,
    };
    queue.submit_as(indexing, index).unwrap();
    while !queue.busy() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let switching = queue
        .submit(Job::UseModel {
            name: "other-bert".into(),
            reply: tx,
        })
        .unwrap();
    queue.cancel();
    recorder.release();
    rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
    let stopped = recorder.wait_for(
        "the index run",
        |s| matches!(s, Seen::Done(j, ..) if *j == indexing),
    );
    assert!(matches!(stopped, Seen::Done(_, _, true)), "{stopped:?}");
    let switched = recorder.wait_for(
        "the switch",
        |s| matches!(s, Seen::Done(j, ..) if *j == switching),
    );
    assert_eq!(
        switched,
        Seen::Done(switching, 0, false),
        "the switch ran to its end"
    );
    drop(queue);
    running.join().unwrap().unwrap();
}

/// Two-phase ingest in the writer: an index job stores papers without vectors (searchable by
/// keywords at once), then embeds them within the same job; that second phase stops for a job
/// that comes meanwhile, and the next index job embeds what still waits, until every passage
/// has its vector.
#[test]
fn the_backfill_yields_to_a_new_job_and_resumes_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let library =
        Library::open_with(&tmp.path().join("library"), Some(tiny_model(tmp.path()))).unwrap();
    let searcher = library.searcher().unwrap();
    let (queue, writer) = writer(library);
    let recorder = Arc::new(Recorder::default());
    let running = {
        let recorder = recorder.clone();
        let weak = Arc::downgrade(&queue);
        std::thread::spawn(move || writer.run(weak, None, recorder.as_ref()))
    };
    *recorder.hold_backfill.lock().unwrap() = true;
    let first = queue
        .submit(Job::Index {
            paths: vec![papers.sepsis.clone(), papers.asthma.clone()],
            retry_failed: false,
            quiet: false,
        })
        .unwrap();
    // Stored and searchable by keywords, no vector yet: the writer is held in the second
    // phase's first event, within the same job.
    let Seen::Backfill(job, 0, total, 0, 2) =
        recorder.wait_for("the second phase", |s| matches!(s, Seen::Backfill(..)))
    else {
        panic!("{:?}", recorder.seen());
    };
    assert_eq!(job, first);
    assert!(total > 0);
    let status = searcher.status().unwrap();
    assert_eq!(status.documents, 2);
    assert_eq!(status.vectors, 0, "{status:?}");
    assert_eq!(status.vectors_waiting, total);
    assert_eq!(status.papers_waiting, 2);
    let lexical = medshelf::search::SearchOptions {
        mode: medshelf::search::Mode::Lexical,
        ..Default::default()
    };
    let hits = searcher.search("serum ferritin", &lexical).unwrap();
    assert_eq!(hits.results[0].path, papers.sepsis);

    // A paper dropped now is read before the embedding goes on.
    let second = queue
        .submit(Job::Index {
            paths: vec![papers.diabetes.clone()],
            retry_failed: false,
            quiet: false,
        })
        .unwrap();
    recorder.release();
    recorder.wait_for(
        "the second job",
        |s| matches!(s, Seen::Done(j, ..) if *j == second),
    );
    let seen = recorder.seen();
    let at = |f: &dyn Fn(&Seen) -> bool| seen.iter().position(f).unwrap();
    let stopped = at(&|s| matches!(s, Seen::Done(j, ..) if *j == first));
    let diabetes =
        at(&|s| matches!(s, Seen::Indexed(j, p) if *j == second && *p == papers.diabetes));
    let again = at(&|s| matches!(s, Seen::Backfill(j, ..) if *j == second));
    assert!(stopped < diabetes && diabetes < again, "{seen:?}");
    assert_eq!(seen[stopped], Seen::Done(first, 2, false), "{seen:?}");
    // The first job's second phase stopped at once (nothing embedded); the second job's did it
    // all, the three papers' passages, counting the papers as they became searchable by
    // meaning.
    let last = seen
        .iter()
        .rev()
        .find_map(|s| match s {
            Seen::Backfill(j, done, total, papers_done, papers) if *j == second => {
                Some((*done, *total, *papers_done, *papers))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(last.0, last.1, "{seen:?}");
    assert_eq!((last.2, last.3), (3, 3), "{seen:?}");
    assert_eq!(seen.last(), Some(&Seen::Done(second, 1, false)), "{seen:?}");
    let status = searcher.status().unwrap();
    assert_eq!(status.vectors_waiting, 0, "{status:?}");
    assert_eq!(status.vectors + status.reference_passages, status.chunks);
    let semantic = medshelf::search::SearchOptions {
        mode: medshelf::search::Mode::Semantic,
        ..Default::default()
    };
    assert!(!searcher
        .search("metformin", &semantic)
        .unwrap()
        .results
        .is_empty());
    // Idle afterwards: nothing more is started.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!queue.busy());
    assert_eq!(recorder.seen().len(), seen.len(), "{:?}", recorder.seen());
    drop(queue);
    running.join().unwrap().unwrap();
}

/// A cancel during the second phase stops it and holds it back: the writer does not start
/// embedding again on its own (the app would look busy after the person said stop); the
/// person's next index job resumes it.
#[test]
fn a_cancelled_second_phase_waits_for_the_next_job() {
    let tmp = tempfile::tempdir().unwrap();
    let papers = write_papers(tmp.path());
    let library =
        Library::open_with(&tmp.path().join("library"), Some(tiny_model(tmp.path()))).unwrap();
    let searcher = library.searcher().unwrap();
    let (queue, writer) = writer(library);
    let recorder = Arc::new(Recorder::default());
    let running = {
        let recorder = recorder.clone();
        let weak = Arc::downgrade(&queue);
        std::thread::spawn(move || writer.run(weak, None, recorder.as_ref()))
    };
    *recorder.hold_backfill.lock().unwrap() = true;
    let index = |paths: Vec<PathBuf>| Job::Index {
        paths,
        retry_failed: false,
        quiet: false,
    };
    let first = queue.submit(index(vec![papers.dir.clone()])).unwrap();
    recorder.wait_for("the second phase", |s| matches!(s, Seen::Backfill(..)));
    queue.cancel();
    recorder.release();
    let done = recorder.wait_for("the job", |s| matches!(s, Seen::Done(j, ..) if *j == first));
    assert_eq!(done, Seen::Done(first, 3, true), "{:?}", recorder.seen());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!queue.busy(), "idle after a cancel");
    let status = searcher.status().unwrap();
    assert!(status.vectors_waiting > 0, "{status:?}");
    assert_eq!(
        status.documents, 3,
        "the papers stay, searchable by keywords"
    );
    let count = recorder.seen().len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(recorder.seen().len(), count, "{:?}", recorder.seen());
    // The person's next job finishes the embedding.
    let next = queue.submit(index(vec![papers.sepsis.clone()])).unwrap();
    recorder.wait_for(
        "the next job",
        |s| matches!(s, Seen::Done(j, ..) if *j == next),
    );
    assert_eq!(searcher.status().unwrap().vectors_waiting, 0);
    drop(queue);
    running.join().unwrap().unwrap();
}
