// The ingest panel's state: what each dropped file is doing, and the overall progress. Pure,
// driven by the engine's `ingest` events; the clock is passed in so tests control it.
import type { IngestEvent } from "./api";
import { count } from "./format";
import { describe, fileFailure } from "./problem";

export type FileState =
  | "queued"
  | "extracting"
  | "ocr"
  | "embedding"
  | "indexed"
  | "unchanged"
  | "failed"
  | "removed"
  | "cancelled";

export interface FileEntry {
  path: string;
  job: number;
  state: FileState;
  pages?: number;
  chunks?: number;
  error?: string;
  /** Why it failed, as the engine's stable code. */
  code?: string;
  /** While OCR reads it: the page now, of `ocrPages` that need OCR. */
  ocrPage?: number;
  ocrPages?: number;
}

export interface IngestState {
  /** Files of the current batch, in the order they were queued. */
  files: Map<string, FileEntry>;
  /** Jobs queued or running. */
  open: Set<number>;
  /** When the current batch's first job started (ms), for rates. */
  startedAt?: number;
  /** Pages of the files indexed in this batch. */
  pages: number;
  /** After each finished file: when, and the batch's pages and files done by then. Rates come
   * from the last few of these (a window of work), so they follow the files being read now and
   * stop moving when the work stops. */
  samples: Sample[];
  /** A job that could not run, and why. */
  error?: string;
  /** Passages stored without vectors being embedded now: the second phase of an index job
   * (its events carry the job's number, which stays open through both phases), or passages
   * left waiting (indexed before the model came, an interrupted phase), as a job of its own. */
  backfill?: Backfill;
  /** A step of a job that belongs to no file (abbreviations mined again, the keyword index
   * merged): seconds to a minute of work on a large library, named until the job moves on. */
  tidying?: Tidying;
}

export type Tidying = Extract<IngestEvent, { kind: "tidying" }>;

export interface Backfill {
  job: number;
  /** Passages embedded, of `total`. */
  done: number;
  total: number;
  /** Papers searchable by meaning now, of `papers` (0 where the engine does not count them). */
  papersDone: number;
  papers: number;
  /** When this job's first event came, and its `done` then: the pace is measured from there. */
  since: number;
  doneSince: number;
}

export interface Sample {
  at: number;
  pages: number;
  files: number;
}

/** How many finished files the rates look back over. */
export const RATE_WINDOW = 8;

const DONE: ReadonlySet<FileState> = new Set(["indexed", "unchanged", "failed", "removed", "cancelled"]);

export function isDone(state: FileState): boolean {
  return DONE.has(state);
}

export function emptyIngest(): IngestState {
  return { files: new Map(), open: new Set(), pages: 0, samples: [] };
}

/** Applies one event; returns the same (mutated) state. */
export function applyEvent(s: IngestState, e: IngestEvent, now: number): IngestState {
  // A tidying step lasts until its job's next event.
  if (s.tidying && "job" in e && e.job === s.tidying.job && e.kind !== "tidying") s.tidying = undefined;
  switch (e.kind) {
    case "queued": {
      if (s.open.size === 0) {
        // A new batch after a quiet spell: the old one's rows and rates go. Its clock starts
        // now: counting the files took part of its time.
        s.files.clear();
        s.pages = 0;
        s.samples = [];
        s.startedAt = now;
        s.error = undefined;
      }
      s.open.add(e.job);
      for (const path of e.files) {
        const known = s.files.get(path);
        if (!known || isDone(known.state)) s.files.set(path, { path, job: e.job, state: "queued" });
      }
      break;
    }
    case "started":
      s.open.add(e.job);
      if (s.startedAt === undefined) s.startedAt = now;
      break;
    case "file": {
      const entry = s.files.get(e.path) ?? { path: e.path, job: e.job, state: "queued" as FileState };
      const wasDone = isDone(entry.state);
      entry.job = e.job;
      entry.state = e.state;
      if (e.state === "ocr") {
        entry.ocrPage = e.ocr_page;
        entry.ocrPages = e.pages;
      } else if (e.pages !== undefined) entry.pages = e.pages;
      if (e.chunks !== undefined) entry.chunks = e.chunks;
      if (e.error !== undefined) entry.error = e.error;
      if (e.code !== undefined) entry.code = e.code;
      if (e.state === "indexed") s.pages += e.pages ?? 0;
      s.files.set(e.path, entry);
      if (isDone(e.state) && !wasDone) {
        const files = [...s.files.values()].filter((f) => isDone(f.state)).length;
        s.samples.push({ at: now, pages: s.pages, files });
      }
      break;
    }
    case "backfill": {
      s.open.add(e.job);
      if (s.startedAt === undefined) s.startedAt = now;
      const same = s.backfill?.job === e.job;
      s.backfill = {
        job: e.job,
        done: e.done,
        total: e.total,
        papersDone: e.papers_done ?? 0,
        papers: e.papers ?? 0,
        since: same && s.backfill ? s.backfill.since : now,
        doneSince: same && s.backfill ? s.backfill.doneSince : e.done,
      };
      break;
    }
    case "tidying":
      s.open.add(e.job);
      if (s.startedAt === undefined) s.startedAt = now;
      s.tidying = e;
      break;
    case "finished":
    case "error":
      s.open.delete(e.job);
      if (s.backfill?.job === e.job) s.backfill = undefined;
      for (const entry of s.files.values()) {
        if (entry.job === e.job && !isDone(entry.state)) entry.state = "cancelled";
      }
      if (e.kind === "error") s.error = e.problem ? describe(e.problem) : e.error;
      break;
    case "reloaded":
    case "download":
      break;
  }
  return s;
}

export interface Progress {
  done: number;
  total: number;
  /** Pages indexed per second over the last few files (0 until one is done). */
  pagesPerSecond: number;
  /** Estimated seconds left, or undefined until one file is done or once nothing runs. */
  secondsLeft?: number;
  active: boolean;
}

/** The batch's progress at `now`. Rates look at the last [`RATE_WINDOW`] finished files, from
 * the one before them (or the batch's start): they follow the current pace, and since they
 * are measured between finished files, they stand still when the work ends. */
export function progress(s: IngestState, now: number): Progress {
  const entries = [...s.files.values()];
  const total = entries.length;
  const done = entries.filter((f) => isDone(f.state)).length;
  const active = s.open.size > 0;
  let pagesPerSecond = 0;
  let secondsLeft: number | undefined;
  const last = s.samples[s.samples.length - 1];
  if (last && s.startedAt !== undefined) {
    const from = s.samples.length > RATE_WINDOW
      ? s.samples[s.samples.length - 1 - RATE_WINDOW]
      : { at: s.startedAt, pages: 0, files: 0 };
    const seconds = (last.at - from.at) / 1000;
    if (seconds > 0) {
      pagesPerSecond = (last.pages - from.pages) / seconds;
      const filesPerSecond = (last.files - from.files) / seconds;
      // The file being read now has been under way since the last one finished. One file is
      // no pace yet (the first to finish is often one that failed at once).
      if (active && filesPerSecond > 0 && last.files - from.files >= 2) {
        secondsLeft = Math.max(0, (total - done) / filesPerSecond - Math.max(0, (now - last.at) / 1000));
      }
    }
  }
  return { done, total, pagesPerSecond, secondsLeft, active };
}

/** The second phase in words: how many papers are searchable by keywords (`indexed`, this
 * batch's) and by meaning, the passages behind that, and the time left at the pace since this
 * backfill began (once it has moved for a few seconds). */
export function describeBackfill(b: Backfill, indexed: number, now: number): string {
  const parts: string[] = [];
  if (b.papers > 0) {
    if (indexed > 0) parts.push(`${count(indexed, "paper")} searchable by keywords`);
    parts.push(`meaning: ${b.papersDone} of ${count(b.papers, "paper")}`);
    parts.push(`${b.done} of ${count(b.total, "passage")} embedded`);
  } else {
    parts.push(`embedding passages for meaning search: ${b.done} of ${b.total}`);
  }
  const seconds = (now - b.since) / 1000;
  const rate = (b.done - b.doneSince) / seconds;
  if (seconds >= 3 && rate > 0 && b.done < b.total) {
    const left = (b.total - b.done) / rate;
    parts.push(left < 1 ? "almost done" : `about ${formatSeconds(left)} left`);
  }
  return parts.join(" · ");
}

/** A tidying step in words: what the job does while no file moves. */
export function describeTidying(t: Tidying): string {
  switch (t.step) {
    case "remining":
      return `finding the abbreviations of ${count(t.papers, "paper")} again (once, for this version)`;
    case "merging":
      return `merging the keyword index (${count(t.passages, "passage")}) for quicker searches`;
  }
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** Words for a file's state, as the panel shows them. */
export function stateLabel(f: FileEntry): string {
  switch (f.state) {
    case "queued":
      return "queued";
    case "extracting":
      return "reading text";
    case "ocr":
      return f.ocrPage !== undefined && f.ocrPages !== undefined
        ? `OCR page ${f.ocrPage} of ${f.ocrPages}`
        : "OCR";
    case "embedding":
      return f.chunks !== undefined ? `embedding ${count(f.chunks, "passage")}` : "embedding";
    case "indexed":
      return f.pages !== undefined ? `indexed, ${count(f.pages, "page")}` : "indexed";
    case "unchanged":
      return "already indexed";
    case "failed":
      return `failed: ${fileFailure(f.code, f.error)}`;
    case "removed":
      return "removed (file gone)";
    case "cancelled":
      return "cancelled";
  }
}
