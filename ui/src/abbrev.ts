// The abbreviations a question was widened by, as chips under the search box: each shows what
// was also searched and takes it away; an abbreviation with several senses in the library
// offers the others; one taken away stays as typed until given back.
import type { Expansion } from "./api";
import { escapeHtml } from "./format";

/** Where a sense came from, in words. */
const FROM: Record<Expansion["source"], string> = {
  library: "as your papers define it",
  table: "from MedShelf's list of medical abbreviations",
  user: "as you chose",
};

/** The chips of an answer's expansions and of the abbreviations kept as typed. */
export function renderExpansions(expanded: Expansion[], asTyped: string[]): string {
  const chips = expanded.map((e) => {
    const [typed, added] = e.direction === "expansion" ? [e.abbreviation, e.expansion] : [e.expansion, e.abbreviation];
    const papers = e.papers > 0 ? `, in ${e.papers} of your papers` : "";
    const title = `Also searched: ${added} (${FROM[e.source]}${papers}). Enter searches ${typed} as typed.`;
    const chip = `<button class="expansion chip" data-as-typed="${escapeHtml(e.abbreviation)}" title="${escapeHtml(title)}">${escapeHtml(typed)} → ${escapeHtml(added)} <span aria-hidden="true">×</span></button>`;
    const others = e.other_senses
      .map(
        (s) =>
          `<button class="expansion sense" data-abbr="${escapeHtml(e.abbreviation)}" data-sense="${escapeHtml(s)}" title="Search ${escapeHtml(e.abbreviation)} as ${escapeHtml(s)} instead">or ${escapeHtml(s)}</button>`,
      )
      .join("");
    return chip + others;
  });
  const kept = asTyped.map(
    (a) =>
      `<button class="expansion kept" data-expand="${escapeHtml(a)}" title="Expand ${escapeHtml(a)} again">${escapeHtml(a)} as typed ↺</button>`,
  );
  const all = [...chips, ...kept];
  return all.length ? `<span class="expansions-label">Also searched:</span>${all.join("")}` : "";
}
