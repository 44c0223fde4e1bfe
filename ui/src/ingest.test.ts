import { describe, expect, it } from "vitest";
import { applyEvent, describeBackfill, describeTidying, emptyIngest, progress, stateLabel } from "./ingest";

const summary = { cancelled: false, indexed: 1, failed: 1, unchanged: 0, pages: 3, seconds: 2 };

describe("ingest state", () => {
  it("follows each file from queued to done, with rate and time left", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "queued", job: 1, files: ["/p/a.pdf", "/p/b.pdf", "/p/c.pdf"] }, 0);
    expect([...s.files.values()].map((f) => f.state)).toEqual(["queued", "queued", "queued"]);
    applyEvent(s, { kind: "started", job: 1, files: 3 }, 1000);
    applyEvent(s, { kind: "file", job: 1, path: "/p/a.pdf", state: "extracting" }, 1000);
    applyEvent(s, { kind: "file", job: 1, path: "/p/a.pdf", state: "embedding", pages: 4, chunks: 9 }, 1500);
    expect(stateLabel(s.files.get("/p/a.pdf")!)).toBe("embedding 9 passages");
    applyEvent(s, { kind: "file", job: 1, path: "/p/a.pdf", state: "indexed", pages: 4, chunks: 9 }, 3000);
    const p = progress(s, 3000);
    expect(p).toMatchObject({ done: 1, total: 3, active: true });
    expect(p.pagesPerSecond).toBeCloseTo(4 / 3); // 4 pages in 3 s since the files were queued
    expect(p.secondsLeft).toBeUndefined(); // one file is no pace yet
    applyEvent(s, { kind: "file", job: 1, path: "/p/b.pdf", state: "failed", error: "encrypted" }, 3500);
    expect(stateLabel(s.files.get("/p/b.pdf")!)).toBe("failed: encrypted");
    // With its code, the failure is worded by the code; the message stays on the entry.
    applyEvent(
      s,
      { kind: "file", job: 1, path: "/p/c.pdf", state: "failed", error: "/p/c.pdf: the PDF is encrypted", code: "encrypted" },
      3600,
    );
    expect(stateLabel(s.files.get("/p/c.pdf")!)).toBe("failed: password-protected");
    expect(s.files.get("/p/c.pdf")!.error).toBe("/p/c.pdf: the PDF is encrypted");
  });

  it("says which page OCR reads in a scan, then the scan's own page count once indexed", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "started", job: 1, files: 1 }, 0);
    applyEvent(s, { kind: "file", job: 1, path: "/p/scan.pdf", state: "extracting" }, 0);
    applyEvent(s, { kind: "file", job: 1, path: "/p/scan.pdf", state: "ocr", pages: 12, ocr_page: 3 }, 100);
    expect(stateLabel(s.files.get("/p/scan.pdf")!)).toBe("OCR page 3 of 12");
    applyEvent(s, { kind: "file", job: 1, path: "/p/scan.pdf", state: "indexed", pages: 14, chunks: 30 }, 200);
    expect(stateLabel(s.files.get("/p/scan.pdf")!)).toBe("indexed, 14 pages");
    expect(s.pages).toBe(14);
  });

  it("marks what a cancelled job left as cancelled", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "queued", job: 1, files: ["/a.pdf", "/b.pdf"] }, 0);
    applyEvent(s, { kind: "file", job: 1, path: "/a.pdf", state: "indexed", pages: 1 }, 1);
    applyEvent(s, { kind: "finished", job: 1, summary: { ...summary, cancelled: true } }, 2);
    expect(s.files.get("/b.pdf")!.state).toBe("cancelled");
    expect(progress(s, 3).active).toBe(false);
  });

  it("starts a new batch after a quiet spell, but not while a job runs", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "queued", job: 1, files: ["/a.pdf"] }, 0);
    applyEvent(s, { kind: "queued", job: 2, files: ["/b.pdf"] }, 1);
    expect(s.files.size).toBe(2);
    applyEvent(s, { kind: "finished", job: 1, summary }, 2);
    applyEvent(s, { kind: "finished", job: 2, summary }, 3);
    applyEvent(s, { kind: "queued", job: 3, files: ["/c.pdf"] }, 4);
    expect([...s.files.keys()]).toEqual(["/c.pdf"]);
  });

  it("keeps a job error for the panel", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "queued", job: 1, files: ["/a.pdf"] }, 0);
    applyEvent(s, { kind: "error", job: 1, error: "the library is locked" }, 1);
    expect(s.error).toBe("the library is locked");
    expect(s.files.get("/a.pdf")!.state).toBe("cancelled");
  });

  it("computes rates over the last files and freezes them when the batch ends", () => {
    const s = emptyIngest();
    const files = Array.from({ length: 20 }, (_, i) => `/p/${i}.pdf`);
    applyEvent(s, { kind: "queued", job: 1, files }, 0);
    applyEvent(s, { kind: "started", job: 1, files: 20 }, 0);
    // Ten slow files (10 s, 10 pages each), then fast ones (1 s, 10 pages each).
    let t = 0;
    files.slice(0, 18).forEach((path, i) => {
      t += i < 10 ? 10000 : 1000;
      applyEvent(s, { kind: "file", job: 1, path, state: "indexed", pages: 10 }, t);
    });
    const p = progress(s, t);
    // The last eight files took 1 s each: the pace now, not the batch's average.
    expect(p.pagesPerSecond).toBeCloseTo(10);
    expect(p.secondsLeft).toBeCloseTo(2);
    // A second and a half into the next file: the rate stays, the time left counts down.
    expect(progress(s, t + 1500).secondsLeft).toBeCloseTo(0.5);
    applyEvent(s, { kind: "file", job: 1, path: files[18], state: "indexed", pages: 10 }, t + 1000);
    applyEvent(s, { kind: "file", job: 1, path: files[19], state: "indexed", pages: 10 }, t + 2000);
    applyEvent(s, { kind: "finished", job: 1, summary }, t + 2000);
    const end = progress(s, t + 2000);
    const later = progress(s, t + 60000);
    expect(later.pagesPerSecond).toBe(end.pagesPerSecond);
    expect(later.secondsLeft).toBeUndefined();
    expect(later).toMatchObject({ done: 20, total: 20, active: false });
  });
});

describe("the second phase (passages embedded after the papers are stored)", () => {
  it("goes from reading to embedding within the job, with papers and time left, and ends with it", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "queued", job: 1, files: ["/p/a.pdf", "/p/b.pdf"] }, 0);
    applyEvent(s, { kind: "file", job: 1, path: "/p/a.pdf", state: "indexed", pages: 4, chunks: 9 }, 1000);
    applyEvent(s, { kind: "file", job: 1, path: "/p/b.pdf", state: "indexed", pages: 2, chunks: 5 }, 2000);
    applyEvent(s, { kind: "backfill", job: 1, done: 0, total: 14, papers_done: 0, papers: 2 }, 2300);
    expect(progress(s, 2400)).toMatchObject({ done: 2, total: 2, active: true });
    applyEvent(s, { kind: "backfill", job: 1, done: 9, total: 14, papers_done: 1, papers: 2 }, 5300);
    const text = describeBackfill(s.backfill!, 2, 5300);
    expect(text).toBe("2 papers searchable by keywords · meaning: 1 of 2 papers · 9 of 14 passages embedded · about 2 s left");
    const summary = { cancelled: false, indexed: 2, failed: 0, unchanged: 0, pages: 6, seconds: 6, vectors_waiting: 0 };
    applyEvent(s, { kind: "finished", job: 1, summary }, 6000);
    expect(s.backfill).toBeUndefined();
    expect(progress(s, 6100).active).toBe(false);
  });

  it("words a backfill of its own (passages left waiting, a model switch) in passages", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "backfill", job: 3, done: 10, total: 40 }, 200);
    expect(progress(s, 300).active).toBe(true);
    expect(describeBackfill(s.backfill!, 0, 300)).toBe("embedding passages for meaning search: 10 of 40");
  });
});

describe("tidying steps (no file moves while they run)", () => {
  it("names the merge and the re-mining while they last, and drops them at the job's next event", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "tidying", job: 2, step: "remining", papers: 1250 }, 0);
    expect(progress(s, 10).active).toBe(true);
    expect(describeTidying(s.tidying!)).toBe("finding the abbreviations of 1,250 papers again (once, for this version)");
    applyEvent(s, { kind: "started", job: 2, files: 1 }, 100);
    expect(s.tidying).toBeUndefined();
    applyEvent(s, { kind: "file", job: 2, path: "/p/a.pdf", state: "indexed", pages: 4, chunks: 9 }, 1000);
    applyEvent(s, { kind: "tidying", job: 2, step: "merging", segments: 9, into: 2, passages: 1000000 }, 1100);
    expect(describeTidying(s.tidying!)).toBe("merging the keyword index (1,000,000 passages) for quicker searches");
    // Another job's event leaves it standing.
    applyEvent(s, { kind: "queued", job: 3, files: ["/p/b.pdf"] }, 1200);
    expect(s.tidying?.job).toBe(2);
    applyEvent(s, { kind: "backfill", job: 2, done: 0, total: 9, papers_done: 0, papers: 1 }, 1300);
    expect(s.tidying).toBeUndefined();
  });
});
