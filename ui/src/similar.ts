// "More like this": the line above the papers like a paper, saying what they are like, the
// words they share and the copies left out.
import type { SimilarAnswer } from "./api";
import { basename, count, escapeHtml } from "./format";
import { displayTitle } from "./views";

/** How many shared words the line names. */
const SHOWN_TERMS = 6;

/** The line above the papers like a paper (HTML). */
export function renderSimilarInfo(answer: SimilarAnswer): string {
  const source = answer.source;
  const title = escapeHtml(displayTitle(source.title, source.path));
  const what = source.page ? `page ${source.page} of “${title}”` : `“${title}”`;
  const parts = [`${count(answer.results.length, "paper")} like ${what}`];
  const terms = answer.terms.slice(0, SHOWN_TERMS);
  if (terms.length) parts.push(`sharing ${terms.map((t) => `<mark>${escapeHtml(t)}</mark>`).join(", ")}`);
  if (answer.duplicates.length) {
    const names = answer.duplicates.map((d) => escapeHtml(basename(d))).join(", ");
    parts.push(`<span title="${names}">${count(answer.duplicates.length, "copy", "copies")} of it left out</span>`);
  }
  if (answer.notice) parts.push(escapeHtml(answer.notice));
  parts.push(`Esc: back to your search`);
  return parts.join(" · ");
}
