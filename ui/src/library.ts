// The library table: one line a paper (title, authors, year, journal, design, DOI, file), sorted
// by any column and filtered as you type. Pure: the page (page/library.ts) holds the papers and
// the choices, and draws what these return.
import type { Document } from "./api";
import { designBadge, designName } from "./design";
import { basename, escapeHtml } from "./format";
import { fileFailure } from "./problem";
import { displayTitle } from "./views";

/** The columns a library can be sorted by. */
export type LibraryColumn = "title" | "authors" | "year" | "venue" | "design" | "doi" | "file" | "pages" | "status";

/** The order chosen: a column, and which way. */
export interface LibraryOrder {
  column: LibraryColumn;
  descending: boolean;
}

/** The headers, in order, with their labels. */
const COLUMNS: { column: LibraryColumn; label: string; num?: boolean }[] = [
  { column: "title", label: "Title" },
  { column: "authors", label: "Authors" },
  { column: "year", label: "Year", num: true },
  { column: "venue", label: "Journal" },
  { column: "design", label: "Design" },
  { column: "doi", label: "DOI" },
  { column: "file", label: "File" },
  { column: "pages", label: "Pages", num: true },
  { column: "status", label: "Status" },
];

/** "Doe", "Doe and Lee", "Doe et al.": the authors as one line shows them. */
function authorsShort(d: Document): string {
  const authors = d.meta?.authors ?? [];
  if (authors.length === 0) return "";
  if (authors.length === 1) return authors[0].family;
  if (authors.length === 2) return `${authors[0].family} and ${authors[1].family}`;
  return `${authors[0].family} et al.`;
}

/** The year shown: the record's (a user who emptied it sees none), else the first page's. */
function yearOf(d: Document): number | null {
  return d.meta ? (d.meta.year ?? null) : d.year;
}

/** A paper's value in a column, as text: what is sorted and filtered. */
export function cellText(d: Document, column: LibraryColumn): string {
  switch (column) {
    case "title":
      return d.meta?.title ?? displayTitle(d.title, d.path);
    case "authors":
      return (d.meta?.authors ?? []).map((a) => `${a.family} ${a.given}`.trim()).join("; ");
    case "year":
      return String(yearOf(d) ?? "");
    case "venue":
      return d.meta?.venue ?? "";
    case "design":
      return d.design ? designName(d.design.label) : "";
    case "doi":
      return d.meta?.doi ?? "";
    case "file":
      return basename(d.path);
    case "pages":
      return String(d.pages);
    case "status":
      return d.status === "failed" ? `failed ${fileFailure(d.error_code ?? undefined, d.error ?? undefined)}` : d.status;
  }
}

/** The papers a filter lets through, in the order chosen. Every word typed must occur in one of
 * the paper's columns (case aside): "smith 2019 lancet". A paper without a value in the column
 * sorted by comes last either way; ties keep the title order. */
export function libraryView(docs: Document[], filter: string, order: LibraryOrder): Document[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = words.length
    ? docs.filter((d) => {
        const text = COLUMNS.map((c) => cellText(d, c.column)).join(" \u0000 ").toLowerCase();
        return words.every((w) => text.includes(w));
      })
    : [...docs];
  const numeric = order.column === "year" || order.column === "pages";
  const key = (d: Document) => cellText(d, order.column);
  const byTitle = (a: Document, b: Document) =>
    cellText(a, "title").localeCompare(cellText(b, "title"), "en", { sensitivity: "base" }) || a.path.localeCompare(b.path);
  return shown.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    if (!x || !y) return x === y ? byTitle(a, b) : x ? -1 : 1;
    const c = numeric ? Number(x) - Number(y) : x.localeCompare(y, "en", { sensitivity: "base", numeric: true });
    return (order.descending ? -c : c) || byTitle(a, b);
  });
}

/** The header row: each column a button that sorts by it (again: the other way), the order
 * chosen said to a screen reader. */
export function renderLibraryHead(order: LibraryOrder): string {
  const cells = COLUMNS.map(({ column, label, num }) => {
    const on = order.column === column;
    const sort = on ? (order.descending ? "descending" : "ascending") : "none";
    const arrow = on ? (order.descending ? " ↓" : " ↑") : "";
    return `<th class="col-${column}${num ? " num" : ""}" aria-sort="${sort}"><button class="sort" data-column="${column}" title="Sort by ${label.toLowerCase()}">${label}${arrow}</button></th>`;
  });
  return `<tr>${cells.join("")}<th class="col-actions">Actions</th></tr>`;
}

/** The table body: one line a paper. The DOI is text (MedShelf opens nothing on the network). */
export function renderLibrary(docs: Document[], filtered = false): string {
  if (docs.length === 0) {
    return filtered
      ? `<tr><td colspan="10" class="empty">No paper matches the filter. Esc clears it.</td></tr>`
      : `<tr><td colspan="10" class="empty">No papers yet. Drop PDFs or folders on the window, or press Ctrl+O.</td></tr>`;
  }
  return docs
    .map((d) => {
      const failed = d.status === "failed";
      const status = failed
        ? `<span class="status failed" data-code="${escapeHtml(d.error_code ?? "")}" title="${escapeHtml(d.error ?? "")}">failed: ${escapeHtml(fileFailure(d.error_code ?? undefined, d.error ?? undefined))}</span>`
        : `<span class="status ok">${escapeHtml(d.status)}</span>`;
      const path = escapeHtml(d.path);
      const title = escapeHtml(cellText(d, "title"));
      const authors = cellText(d, "authors");
      const venue = escapeHtml(cellText(d, "venue"));
      const doi = d.meta?.doi ? `<span class="doi">doi:${escapeHtml(d.meta.doi)}</span>` : "";
      return `<tr data-path="${path}">
  <td class="doc"><div class="doc-title" title="${title}">${title}</div></td>
  <td class="authors" title="${escapeHtml(authors)}">${escapeHtml(authorsShort(d))}</td>
  <td class="num year">${yearOf(d) ?? ""}</td>
  <td class="venue" title="${venue}">${venue}</td>
  <td class="design-cell">${designBadge(d.design)}</td>
  <td class="doi-cell" title="${escapeHtml(d.meta?.doi ?? "")}">${doi}</td>
  <td class="file" title="${path}"><span class="doc-file">${escapeHtml(basename(d.path))}</span></td>
  <td class="num pages">${d.pages}</td><td class="status-cell">${status}</td>
  <td class="actions">
    ${failed ? "" : `<button data-action="view" data-path="${path}">Open</button>`}
    ${failed ? "" : `<button data-action="details" data-path="${path}" title="See and correct title, authors, year, journal, DOI">Details</button>`}
    <span class="more-hint" aria-hidden="true" title="More: Tab from Details, or point here">⋯</span>
    <span class="more-actions">
      ${d.status === "indexed" ? `<button data-action="cite" data-path="${path}" title="Copy its citation in the chosen style (Alt+C)">Cite</button>` : ""}
      <button data-action="reindex" data-path="${path}">Re-index</button>
      <button data-action="reveal" data-path="${path}">Show in folder</button>
      <button data-action="remove" data-path="${path}" class="danger">Remove</button>
    </span>
  </td>
</tr>`;
    })
    .join("\n");
}
