import { describe, expect, it } from "vitest";
import type { Expansion } from "./api";
import { renderExpansions } from "./abbrev";

const ms: Expansion = {
  abbreviation: "MS",
  expansion: "multiple sclerosis",
  direction: "expansion",
  source: "library",
  papers: 3,
  other_senses: ["mitral <stenosis>"],
};

describe("renderExpansions", () => {
  it("shows each expansion as a chip that takes it away, and the other senses, escaped", () => {
    const html = renderExpansions([ms], []);
    expect(html).toContain('data-as-typed="MS"');
    expect(html).toContain("MS → multiple sclerosis");
    expect(html).toContain("as your papers define it, in 3 of your papers");
    expect(html).toContain('data-sense="mitral &lt;stenosis&gt;"');
    expect(html).not.toContain("<stenosis>");
  });
  it("shows a spelled-out term with the abbreviation it gained", () => {
    const mi: Expansion = { ...ms, abbreviation: "MI", expansion: "myocardial infarction", direction: "abbreviation", other_senses: [] };
    expect(renderExpansions([mi], [])).toContain("myocardial infarction → MI");
  });
  it("keeps an abbreviation taken away as a chip that gives it back, and nothing when empty", () => {
    const html = renderExpansions([], ["DVT"]);
    expect(html).toContain('data-expand="DVT"');
    expect(html).toContain("DVT as typed");
    expect(renderExpansions([], [])).toBe("");
  });
});
