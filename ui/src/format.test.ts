import { describe, expect, it, vi } from "vitest";
import {
  basename,
  debounce,
  escapeHtml,
  formatDuration,
  markedTerms,
  passageItems,
  passageRun,
  safeSnippet,
  snippetText,
} from "./format";

describe("safeSnippet", () => {
  it("keeps the engine's marks and nothing else", () => {
    const s = safeSnippet("IL-6 <mark>sepsis</mark> <script>alert(1)</script> &amp; more");
    expect(s).toBe("IL-6 <mark>sepsis</mark> &lt;script&gt;alert(1)&lt;/script&gt; &amp; more");
  });
  it("escapes a mark with attributes", () => {
    expect(safeSnippet('<mark onclick="x">a</mark>')).toBe('&lt;mark onclick="x"&gt;a</mark>');
  });
});

describe("snippet text and terms", () => {
  it("drops marks and decodes entities", () => {
    expect(snippetText("a <mark>b</mark> &lt;c&gt; &amp; d")).toBe("a b <c> & d");
  });
  it("collects marked terms once, lower-cased", () => {
    expect(markedTerms("<mark>Sepsis</mark> and <mark>sepsis</mark>, <mark>IL-6</mark>")).toEqual([
      "sepsis",
      "il-6",
    ]);
  });
});

describe("escapeHtml", () => {
  it("escapes quotes for attributes", () => {
    expect(escapeHtml(`a"b'c<d>&`)).toBe("a&quot;b&#39;c&lt;d&gt;&amp;");
  });
});

describe("paths and numbers", () => {
  it("takes the last path component on both separators", () => {
    expect(basename("/home/a/paper.pdf")).toBe("paper.pdf");
    expect(basename("C:\\papers\\b.pdf")).toBe("b.pdf");
  });
  it("says durations in words", () => {
    expect(formatDuration(0.2)).toBe("under a second");
    expect(formatDuration(42.4)).toBe("42 s");
    expect(formatDuration(600)).toBe("10 min");
    expect(formatDuration(3900)).toBe("65 min");
    expect(formatDuration(7500)).toBe("2 h 5 min");
    expect(formatDuration(NaN)).toBe("");
  });
});

describe("passageItems", () => {
  it("finds the text items inside a passage, across line breaks and case", () => {
    const items = ["Results", "Serum IL-6 was higher", "in non-survivors", "Table 2", "p < 0.001"];
    const passage = "serum IL-6 was higher\nin non-survivors";
    expect(passageItems(items, passage)).toEqual([1, 2]);
  });
  it("marks the lines a sentence starts and ends inside", () => {
    // pdf.js gives each line an item here; the snippet is one sentence across two lines.
    const items = [
      "Patients were reviewed at each visit. The initial dose of carbamazepine",
      "for trigeminal neuralgia is 200 mg daily. Patients were followed",
      "for a year.",
    ];
    const snippet = "…The initial dose of carbamazepine for trigeminal neuralgia is 200 mg daily.…";
    expect(passageItems(items, snippet)).toEqual([0, 1]);
  });
  it("marks the one place of the passage, not its words all over the page", () => {
    // pdf.js gives each word an item here: the passage's words occur elsewhere too.
    const page =
      "Severe disease with fever have been seen in many patients and their families . " +
      "Infected individuals have been treated with an array of drugs . " +
      "Others with severe symptoms have been admitted";
    const items = page.split(" ");
    const passage = "Infected individuals have been treated with an array of drugs.";
    const marked = passageItems(items, passage).map((i) => items[i]);
    expect(marked).toEqual([
      "Infected", "individuals", "have", "been", "treated", "with", "an", "array", "of", "drugs",
    ]);
  });
  it("unfolds ligatures", () => {
    expect(passageItems(["the ﬁrst eﬀect"], "first effect")).toEqual([0]);
  });
});

describe("passageRun", () => {
  it("falls back to the stretch that reads as the passage, in order", () => {
    const items = ["Results", "Serum IL-6 was higher", "in non-survivors", "Table 2", "p < 0.001"];
    const passage = "serum IL-6 was higher\nin non-survivors (p < 0.001).";
    expect(passageRun(items, passage)).toEqual([1, 2, 4]);
  });
  it("ignores items too short to mean anything", () => {
    expect(passageRun(["a", "of", "the"], "a study of the heart")).toEqual([]);
  });
  it("is not thrown off by a stray word that occurs later in the passage", () => {
    const items = ["Infected", "individuals", "patients", "were", "treated", "with", "drugs"];
    const passage = "infected individuals were treated with drugs and patients recovered";
    expect(passageRun(items, passage)).toEqual([0, 1, 3, 4, 5, 6]);
  });
});

describe("debounce", () => {
  it("runs once with the last arguments after the pause", () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const f = debounce((q: string) => seen.push(q), 100);
    f("s");
    f("se");
    vi.advanceTimersByTime(99);
    f("sep");
    vi.advanceTimersByTime(99);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(["sep"]);
    f("x");
    f.cancel();
    vi.advanceTimersByTime(500);
    expect(seen).toEqual(["sep"]);
    vi.useRealTimers();
  });
});
