import { describe, expect, it } from "vitest";
import type { Document, Meta } from "./api";
import { cellText, libraryView, renderLibrary, renderLibraryHead } from "./library";

const meta = (over: Partial<Meta> = {}): Meta => ({
  title: "IL-6 in sepsis",
  authors: [
    { family: "Doe", given: "Jane" },
    { family: "Smith", given: "J" },
    { family: "Lee", given: "" },
  ],
  year: 2021,
  venue: "Crit <Care>",
  doi: "10.1000/x1",
  pmid: null,
  pmcid: null,
  trial_ids: [],
  abstract: null,
  provenance: {},
  ...over,
});

const doc = (path: string, over: Partial<Document> = {}): Document => ({
  path,
  paths: [path],
  title: null,
  year: null,
  pages: 3,
  chunks: 9,
  status: "indexed",
  error: null,
  error_code: null,
  ...over,
});

describe("renderLibrary", () => {
  it("shows failures with their reason and no Open button", () => {
    const html = renderLibrary([
      doc("/a.pdf", { pages: 0, chunks: 0, status: "failed", error: "no text found: a scan", error_code: "no_text" }),
    ]);
    // Worded by its code; the engine's message in the tooltip.
    expect(html).toContain("failed: no text layer (a scan?)");
    expect(html).toContain('title="no text found: a scan"');
    expect(html).toContain('data-code="no_text"');
    expect(html).not.toContain('data-action="view"');
    // Nothing to cite of a paper that could not be read.
    expect(html).not.toContain('data-action="cite"');
    expect(html).toContain('data-action="reindex"');
  });
  it("offers the citation of a paper it could read", () => {
    expect(renderLibrary([doc("/b.pdf", { title: "B", year: 2020 })])).toContain('data-action="cite" data-path="/b.pdf"');
  });
  it("says how to add papers when empty, and how to clear a filter that hides them all", () => {
    expect(renderLibrary([])).toContain("Drop PDFs");
    expect(renderLibrary([], true)).toContain("No paper matches the filter");
  });
  it("shows one line a paper: title, authors, year, journal, DOI as text, file", () => {
    const html = renderLibrary([doc("/dir/a.pdf", { title: "T", year: 2021, meta: meta() })]);
    expect(html).toContain('<div class="doc-title" title="IL-6 in sepsis">IL-6 in sepsis</div>');
    expect(html).toContain(">Doe et al.<");
    expect(html).toContain('title="Doe Jane; Smith J; Lee"');
    expect(html).toContain('<td class="num year">2021</td>');
    expect(html).toContain("Crit &lt;Care&gt;");
    expect(html).toContain('<span class="doi">doi:10.1000/x1</span>');
    expect(html).not.toContain("href");
    expect(html).toContain('<span class="doc-file">a.pdf</span>');
    expect(html).toContain('data-action="details"');
  });
});

describe("libraryView", () => {
  const docs = [
    doc("/p/b.pdf", { meta: meta({ title: "Beta blockers", year: 2019, venue: "Lancet", authors: [{ family: "Smith", given: "A" }] }) }),
    doc("/p/a.pdf", { meta: meta({ title: "Aspirin", year: 2021, venue: "BMJ", authors: [{ family: "Jones", given: "B" }] }) }),
    doc("/p/c.pdf", { meta: meta({ title: "Cohort of sepsis", year: null, venue: null, authors: [] }) }),
    doc("/p/z.pdf", { status: "failed", error_code: "encrypted" }),
  ];
  const order = (column: Parameters<typeof cellText>[1], descending = false) => ({ column, descending });
  const names = (ds: Document[]) => ds.map((d) => d.path.slice(3));

  it("sorts by any column both ways, papers without a value last either way", () => {
    expect(names(libraryView(docs, "", order("title")))).toEqual(["a.pdf", "b.pdf", "c.pdf", "z.pdf"]);
    expect(names(libraryView(docs, "", order("year")))).toEqual(["b.pdf", "a.pdf", "c.pdf", "z.pdf"]);
    expect(names(libraryView(docs, "", order("year", true)))).toEqual(["a.pdf", "b.pdf", "c.pdf", "z.pdf"]);
    expect(names(libraryView(docs, "", order("venue", true)))).toEqual(["b.pdf", "a.pdf", "c.pdf", "z.pdf"]);
    expect(names(libraryView(docs, "", order("authors")))).toEqual(["a.pdf", "b.pdf", "c.pdf", "z.pdf"]);
  });
  it("filters as you type: every word in some column, case aside", () => {
    expect(names(libraryView(docs, "smith 2019", order("title")))).toEqual(["b.pdf"]);
    expect(names(libraryView(docs, "LANCET", order("title")))).toEqual(["b.pdf"]);
    expect(names(libraryView(docs, "z.pdf", order("title")))).toEqual(["z.pdf"]);
    expect(names(libraryView(docs, "password", order("title")))).toEqual(["z.pdf"]);
    expect(libraryView(docs, "smith 2021", order("title"))).toEqual([]);
    expect(libraryView(docs, "   ", order("title"))).toHaveLength(4);
  });
  it("heads each column with a button that says the order", () => {
    const head = renderLibraryHead(order("year", true));
    expect(head).toContain('aria-sort="descending"><button class="sort" data-column="year"');
    expect(head).toContain('<th class="col-year num"');
    expect(head).toContain("Year ↓");
    expect(head).toContain('aria-sort="none"><button class="sort" data-column="title"');
  });
});
