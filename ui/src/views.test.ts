import { describe, expect, it } from "vitest";
import type { Meta, SearchResult } from "./api";
import { emptyIngest, applyEvent } from "./ingest";
import {
  byline,
  moveSelection,
  recordChanges,
  recordValues,
  renderRecordForm,
  renderEmpty,
  renderFolders,
  renderIngestFiles,
  renderFacets,
  renderModels,
  renderResults,
} from "./views";

const result = (over: Partial<SearchResult> = {}): SearchResult => ({
  rank: 1,
  path: "/papers/sepsis.pdf",
  title: "IL-6 in sepsis",
  page: 3,
  score: 0.9,
  snippet: "serum <mark>IL-6</mark> rose",
  start: 0,
  end: 10,
  passages: [{ page: 5, snippet: "more <mark>IL-6</mark>", score: 0.5, start: 0, end: 4 }],
  ...over,
});

describe("renderResults", () => {
  it("shows title, page, marked snippet and the other pages", () => {
    const html = renderResults([result()], 0);
    expect(html).toContain('data-path="/papers/sepsis.pdf"');
    expect(html).toContain('data-page="3"');
    expect(html).toContain("IL-6 in sepsis");
    expect(html).toContain("serum <mark>IL-6</mark> rose");
    expect(html).toMatch(/class="page-link"[^>]*data-page="5"/);
    expect(html).toContain('aria-selected="true"');
  });
  it("shows the year where the paper has one", () => {
    expect(renderResults([result({ year: 2019 })], 0)).toContain('<span class="year">2019</span>');
    expect(renderResults([result()], 0)).not.toContain('class="year"');
  });
  it("falls back to the file name and escapes what papers say", () => {
    const html = renderResults([result({ title: null, path: '/x/<b>"q".pdf', passages: [] })], -1);
    expect(html).toContain("&lt;b&gt;&quot;q&quot;.pdf");
    expect(html).not.toContain("<b>");
    expect(html).not.toContain("Also on");
  });
  it("names the other files of the same article, escaped", () => {
    const html = renderResults(
      [result({ versions: [{ path: "/dl/<preprint>.pdf", title: "IL-6 in sepsis", year: 2020, venue: "medRxiv", doi: null }] })],
      0,
    );
    expect(html).toContain("Also as");
    expect(html).toContain("&lt;preprint&gt;.pdf (medRxiv, 2020)");
    expect(renderResults([result()], 0)).not.toContain("Also as");
    expect(renderResults([result({ versions: [{ path: "/a.pdf", title: null, year: null, venue: null, doi: null }] })], 0)).toContain("a.pdf</span>");
  });
  it("marks a hit on the user's own words from Zotero", () => {
    expect(renderResults([result({ source: "annotation" })], 0)).toContain("your annotation");
    expect(renderResults([result({ source: "note" })], 0)).toContain("your note");
    expect(renderResults([result()], 0)).not.toContain('class="own"');
  });
});

describe("moveSelection", () => {
  it("moves within bounds", () => {
    expect(moveSelection(-1, 1, 3)).toBe(0);
    expect(moveSelection(0, -1, 3)).toBe(0);
    expect(moveSelection(1, 1, 3)).toBe(2);
    expect(moveSelection(2, 1, 3)).toBe(2);
    expect(moveSelection(-1, -1, 3)).toBe(2);
    expect(moveSelection(0, 1, 0)).toBe(-1);
  });
});

describe("renderModels", () => {
  it("marks the model in use and offers the others", () => {
    const info = { name: "x", dim: 384, pooling: "cls", max_tokens: 256 };
    const html = renderModels(
      [
        { name: "MedEmbed-small-v0.1", path: "/m/a", info, problem: null },
        { name: "all-MiniLM-L6-v2", path: "/m/b", info, problem: null },
        { name: "broken", path: "/m/c", info: null, problem: "tokenizer.json is missing" },
      ],
      { ...info, name: "MedEmbed-small-v0.1" },
    );
    expect(html).toMatch(/data-model="MedEmbed-small-v0.1">.*in use/);
    expect(html).toContain('data-action="use-model" data-name="all-MiniLM-L6-v2"');
    expect(html).not.toContain('data-name="broken"');
    expect(html).toContain("unusable: tokenizer.json is missing");
  });

  it("shows the model in use where it is not installed in the library (MEDSHELF_MODEL, bundled)", () => {
    const info = { name: "all-MiniLM-L6-v2", dim: 384, pooling: "mean", max_tokens: 256 };
    const html = renderModels([], info);
    expect(html).not.toMatch(/No model/);
    expect(html).toMatch(/data-model="all-MiniLM-L6-v2">.*384 dimensions.*in use/s);
    expect(renderModels([], null)).toMatch(/No model: keyword search only/);
  });

  it("says at which precision the model in use runs, and why", () => {
    const info = { name: "all-MiniLM-L6-v2", dim: 384, pooling: "mean", max_tokens: 256 };
    const inUse = { ...info, precision: "int8", precision_reason: "AVX512-VNNI; <cosine> 0.9985" };
    const html = renderModels([{ name: "all-MiniLM-L6-v2", path: "/m/b", info, problem: null }], inUse);
    expect(html).toContain('data-precision="int8">Runs in int8: AVX512-VNNI; &lt;cosine&gt; 0.9985</div>');
    const other = renderModels(
      [
        { name: "all-MiniLM-L6-v2", path: "/m/b", info, problem: null },
        { name: "other", path: "/m/c", info: { ...info, name: "other" }, problem: null },
      ],
      inUse,
    );
    expect(other.match(/Runs in/g)).toHaveLength(1);
    expect(renderModels([], { ...info })).not.toContain("Runs in");
  });
});

describe("renderIngestFiles", () => {
  it("lists each file with its state, a failure worded by its code and its message on hover", () => {
    const s = emptyIngest();
    applyEvent(s, { kind: "queued", job: 1, files: ["/p/a.pdf", "/p/<b>.pdf"] }, 0);
    applyEvent(s, { kind: "file", job: 1, path: "/p/a.pdf", state: "indexed", pages: 4, chunks: 9 }, 1);
    applyEvent(
      s,
      { kind: "file", job: 1, path: "/p/<b>.pdf", state: "failed", error: "/p/<b>.pdf: encrypted", code: "encrypted" },
      2,
    );
    const html = renderIngestFiles(s.files.values());
    expect(html).toContain('data-state="indexed"');
    expect(html).toContain("indexed, 4 pages");
    expect(html).toContain('data-code="encrypted"');
    expect(html).toContain("failed: password-protected");
    expect(html).toContain('title="/p/&lt;b&gt;.pdf: encrypted"');
    expect(html).not.toContain("<b>");
  });
});

describe("renderFolders", () => {
  it("says which folders are followed, and what to do without any", () => {
    const html = renderFolders(["/p/one", "/p/two"], ["/p/one"]);
    expect(html).toContain("followed: changes are picked up");
    expect(html).toContain("not followed");
    expect(html).toContain('data-action="rescan" data-path="/p/two"');
    expect(renderFolders([], [])).toContain("No folders yet");
  });
});

describe("renderEmpty", () => {
  const base = { hybrid: true, documents: 3, indexing: false, answered: false };
  it("says nothing matched, escaped, and suggests Hybrid only outside it", () => {
    expect(renderEmpty({ ...base, unanswered: "<x>" })).toContain("<strong>&lt;x&gt;</strong>");
    expect(renderEmpty({ ...base, unanswered: "q" })).not.toContain("Hybrid");
    expect(renderEmpty({ ...base, hybrid: false, unanswered: "q" })).toContain("or the Hybrid mode");
  });
  it("tells an empty library, one being filled, and one ready for a question apart", () => {
    expect(renderEmpty({ ...base, documents: 0 })).toContain("Your library is empty");
    expect(renderEmpty({ ...base, documents: 0, indexing: true })).toContain("being indexed");
    expect(renderEmpty({ ...base, documents: 1 })).toContain("1 paper in your library");
    expect(renderEmpty({ ...base, answered: true })).toBe("");
  });
});

describe("records", () => {
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
    provenance: { title: "xmp", year: "user", venue: "pattern" },
    ...over,
  });

  it("names a paper by first author, venue and year, escaped", () => {
    expect(byline(meta())).toBe("Doe et al. · Crit <Care> · 2021");
    expect(byline(meta({ authors: [{ family: "Doe", given: "" }] }))).toBe("Doe · Crit <Care> · 2021");
    // A year the user emptied is no year, whatever the first page said.
    expect(byline(meta({ authors: [], venue: null, year: null }), 2019)).toBe("");
    expect(byline(undefined, 2019)).toBe("2019");
    const html = renderResults([result({ meta: meta() })], 0);
    expect(html).toContain("Doe et al. · Crit &lt;Care&gt; · <span class=\"year\">2021</span>");
  });

  it("turns a filled-in form into the corrections it asks for", () => {
    const m = meta();
    const values = recordValues(m);
    expect(values.authors).toBe("Doe, Jane; Smith, J; Lee");
    expect(recordChanges(m, values)).toEqual([]);
    const typed = { ...values, year: " 2020 ", venue: "", title: "IL-6  in sepsis" };
    expect(recordChanges(m, typed)).toEqual([
      ["year", "2020"],
      ["venue", ""],
    ]);
  });

  it("says where each value came from and offers the PDF's reading back for corrections", () => {
    const html = renderRecordForm('/p/"x".pdf', meta());
    expect(html).toContain('data-path="/p/&quot;x&quot;.pdf"');
    expect(html).toContain("from the PDF&#39;s XMP metadata");
    expect(html).toContain('data-reset="year"');
    expect(html).not.toContain('data-reset="title"');
    expect(html).toContain('value="Crit &lt;Care&gt;"');
  });
});

describe("renderFacets", () => {
  const facets = {
    papers: 12,
    years: [{ value: "2021", count: 3 }],
    venues: [{ value: "The <Lancet>", count: 2 }],
    authors: [{ value: "Smith", count: 4 }],
  };
  it("lists each value with its count, escaped, as a button", () => {
    const html = renderFacets(facets, {}, "relevance");
    expect(html).toContain('data-facet="years" data-value="2021"');
    expect(html).toContain('<span class="count">3</span>');
    expect(html).toContain("The &lt;Lancet&gt;");
    expect(html).not.toContain("<Lancet>");
    expect(html).toContain("Among the best 12 papers");
    expect(html).toContain('data-sort="relevance" aria-pressed="true"');
  });
  it("shows a chosen filter as a chip that takes it away, in place of its values", () => {
    const html = renderFacets(facets, { author: "Smith" }, "date");
    expect(html).toContain('data-remove="author"');
    expect(html).toContain("Author: Smith");
    expect(html).not.toContain('data-facet="author"');
    expect(html).toContain('data-sort="date" aria-pressed="true"');
  });
  it("offers the Zotero collections as a tree, and a chosen one as a chip", () => {
    const collections = ["Cardiology", "Cardiology/Heart <failure>", "ICU"];
    const html = renderFacets(facets, {}, "relevance", collections);
    expect(html).toContain('data-facet="collection" data-value="Cardiology/Heart &lt;failure&gt;" style="--depth:1"');
    expect(html).toContain('>Heart &lt;failure&gt;</button>');
    expect(html).toContain('data-value="ICU" style="--depth:0"');
    const chosen = renderFacets(facets, { collection: "Cardiology" }, "relevance", collections);
    expect(chosen).toContain('data-remove="collection"');
    expect(chosen).toContain("Collection: Cardiology");
    expect(chosen).not.toContain('data-facet="collection"');
    expect(renderFacets(facets, {}, "relevance")).not.toContain("Zotero collection");
  });
});
