// The ingest panel's state: what each dropped file is doing, and the overall progress. Pure,
// driven by the engine's `ingest` events; the clock is passed in so tests control it.
import type { IngestEvent } from "./api";

export type FileState =
  | "queued"
  | "extracting"
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
  /** A job that could not run, and why. */
  error?: string;
  /** Passages indexed before the model came, being embedded now. */
  backfill?: { job: number; done: number; total: number };
}

const DONE: ReadonlySet<FileState> = new Set(["indexed", "unchanged", "failed", "removed", "cancelled"]);

export function isDone(state: FileState): boolean {
  return DONE.has(state);
}

export function emptyIngest(): IngestState {
  return { files: new Map(), open: new Set(), pages: 0 };
}

/** Applies one event; returns the same (mutated) state. */
export function applyEvent(s: IngestState, e: IngestEvent, now: number): IngestState {
  switch (e.kind) {
    case "queued": {
      if (s.open.size === 0) {
        // A new batch after a quiet spell: the old one's rows and rates go.
        s.files.clear();
        s.pages = 0;
        s.startedAt = undefined;
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
      entry.job = e.job;
      entry.state = e.state;
      if (e.pages !== undefined) entry.pages = e.pages;
      if (e.chunks !== undefined) entry.chunks = e.chunks;
      if (e.error !== undefined) entry.error = e.error;
      if (e.state === "indexed") s.pages += e.pages ?? 0;
      s.files.set(e.path, entry);
      break;
    }
    case "backfill":
      s.open.add(e.job);
      if (s.startedAt === undefined) s.startedAt = now;
      s.backfill = { job: e.job, done: e.done, total: e.total };
      break;
    case "finished":
    case "error":
      s.open.delete(e.job);
      if (s.backfill?.job === e.job) s.backfill = undefined;
      for (const entry of s.files.values()) {
        if (entry.job === e.job && !isDone(entry.state)) entry.state = "cancelled";
      }
      if (e.kind === "error") s.error = e.error;
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
  /** Pages indexed per second since the batch started. */
  pagesPerSecond: number;
  /** Estimated seconds left, or undefined until one file is done. */
  secondsLeft?: number;
  active: boolean;
}

export function progress(s: IngestState, now: number): Progress {
  const entries = [...s.files.values()];
  const total = entries.length;
  const done = entries.filter((f) => isDone(f.state)).length;
  const elapsed = s.startedAt === undefined ? 0 : (now - s.startedAt) / 1000;
  const pagesPerSecond = elapsed > 0 ? s.pages / elapsed : 0;
  const active = s.open.size > 0;
  let secondsLeft: number | undefined;
  if (active && done > 0 && elapsed > 0) secondsLeft = ((total - done) * elapsed) / done;
  return { done, total, pagesPerSecond, secondsLeft, active };
}

/** Words for a file's state, as the panel shows them. */
export function stateLabel(f: FileEntry): string {
  switch (f.state) {
    case "queued":
      return "queued";
    case "extracting":
      return "reading text";
    case "embedding":
      return f.chunks !== undefined ? `embedding ${f.chunks} passages` : "embedding";
    case "indexed":
      return f.pages !== undefined ? `indexed, ${f.pages} pages` : "indexed";
    case "unchanged":
      return "already indexed";
    case "failed":
      return `failed: ${f.error ?? "unknown reason"}`;
    case "removed":
      return "removed (file gone)";
    case "cancelled":
      return "cancelled";
  }
}
