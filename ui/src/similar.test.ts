import { describe, expect, it } from "vitest";
import type { SimilarAnswer } from "./api";
import { renderSimilarInfo } from "./similar";

const answer = (over: Partial<SimilarAnswer> = {}): SimilarAnswer => ({
  source: { path: "/p/sara.pdf", title: "Catheter ablation <vs> drugs", page: null },
  mode: "hybrid",
  terms: ["ablation", "flutter", "a", "b", "c", "d", "e"],
  results: [],
  duplicates: [],
  took_ms: 3,
  ...over,
});

describe("the line above papers like a paper", () => {
  it("names the paper, its shared words (at most six), escaped", () => {
    const html = renderSimilarInfo(answer());
    expect(html).toContain("0 papers like “Catheter ablation &lt;vs&gt; drugs”");
    expect(html).toContain("sharing <mark>ablation</mark>, <mark>flutter</mark>");
    expect(html).not.toContain("<mark>e</mark>");
    expect(html).toContain("Esc: back to your search");
  });

  it("names the page asked about, the copies left out and the notice", () => {
    const html = renderSimilarInfo(
      answer({ source: { path: "/p/x.pdf", title: null, page: 4 }, terms: [], duplicates: ["/d/x copy.pdf"], notice: "No model & no vectors" }),
    );
    expect(html).toContain("like page 4 of “x.pdf”");
    expect(html).not.toContain("sharing");
    expect(html).toContain("1 copy of it left out");
    expect(html).toContain("x copy.pdf");
    expect(html).toContain("No model &amp; no vectors");
  });
});
