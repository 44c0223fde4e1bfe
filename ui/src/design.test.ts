import { describe, expect, it } from "vitest";
import type { Design, Meta, SearchResult } from "./api";
import { designBadge, trialLine } from "./design";
import { recordChanges, recordValues, renderFacets, renderRecordForm, renderResults } from "./views";

const rules: Design = {
  label: "rct",
  confidence: 0.96,
  reasons: ["“randomly assigned” in the abstract", "a trial registration id (NCT01234567)"],
  source: "rules",
};

const result = (over: Partial<SearchResult> = {}): SearchResult => ({
  rank: 1,
  path: "/papers/trial.pdf",
  title: "A <trial>",
  page: 1,
  score: 0.9,
  snippet: "x",
  start: 0,
  end: 1,
  passages: [],
  ...over,
});

describe("designs", () => {
  it("shows a badge with its reasons and confidence, escaped", () => {
    const badge = designBadge(rules);
    expect(badge).toContain('data-design="rct"');
    expect(badge).toContain(">RCT</span>");
    expect(badge).toContain("96% sure: “randomly assigned” in the abstract; a trial registration id (NCT01234567)");
    expect(designBadge({ ...rules, source: "user", confidence: 1 })).toContain('title="Set by you"');
    expect(designBadge({ ...rules, confidence: 0.4 })).toContain('class="design unsure"');
    expect(designBadge(null)).toBe("");
    expect(designBadge({ ...rules, reasons: ["<b>"] })).not.toContain("<b>");
    expect(renderResults([result({ design: rules })], 0)).toContain('data-design="rct"');
  });

  it("says how many papers report the same trial, naming the others on hover", () => {
    const line = trialLine([
      { id: "NCT01234567", papers: [{ path: "/p/protocol.pdf", title: null, year: 2019, design: "other" }] },
    ]);
    expect(line).toContain("2 papers on this trial (NCT01234567)");
    expect(line).toContain('title="protocol.pdf (Other)"');
    expect(trialLine(undefined)).toBe("");
    expect(trialLine([])).toBe("");
  });

  it("offers designs as a facet, a chosen one as a chip, and an evidence order", () => {
    const facets = {
      papers: 3,
      years: [],
      venues: [],
      authors: [],
      designs: [
        { value: "meta-analysis", count: 1 },
        { value: "rct", count: 2 },
      ],
    };
    const html = renderFacets(facets, {}, "evidence");
    expect(html).toContain("Study design");
    expect(html).toContain('data-facet="design" data-value="rct">RCT <span class="count">2</span>');
    expect(html).toContain('data-sort="evidence" aria-pressed="true"');
    const chosen = renderFacets(facets, { design: "rct" }, "relevance");
    expect(chosen).toContain('data-remove="design"');
    expect(chosen).toContain("Design: RCT");
    expect(chosen).not.toContain('data-facet="design"');
    // Facets from an older engine have no designs: nothing breaks.
    expect(renderFacets({ ...facets, designs: undefined }, {}, "relevance")).not.toContain("Study design");
  });

  it("lets the details form correct the design and take the correction back", () => {
    const meta: Meta = {
      title: "T",
      authors: [],
      year: null,
      venue: null,
      doi: null,
      pmid: null,
      pmcid: null,
      trial_ids: [],
      abstract: null,
      provenance: {},
      design: rules,
    };
    const form = renderRecordForm("/p.pdf", meta);
    expect(form).toContain('<select id="record-design" name="design">');
    expect(form).toContain('<option value="rct" selected>RCT</option>');
    expect(form).not.toContain('data-reset="design"');
    const values = recordValues(meta);
    expect(recordChanges(meta, values)).toEqual([]);
    expect(recordChanges(meta, { ...values, design: "cohort" })).toEqual([["design", "cohort"]]);
    const mine = renderRecordForm("/p.pdf", { ...meta, design: { ...rules, source: "user" } });
    expect(mine).toContain('data-reset="design"');
    // No design read: the form says so and asks for nothing.
    const unread = { ...meta, design: null };
    expect(renderRecordForm("/p.pdf", unread)).toContain('<option value="" selected>not read</option>');
    expect(recordChanges(unread, recordValues(unread))).toEqual([]);
  });
});
