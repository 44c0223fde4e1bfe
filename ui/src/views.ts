// Every piece of HTML the page shows, built here: pure functions of the data, so that they are
// unit-tested without a browser. All text from papers goes through escapeHtml or safeSnippet.
import type { Facets, FacetValue, Filter, InstalledModel, Meta, ModelInfo, SearchResult, Sort, Version } from "./api";
import { DESIGN_NAMES, designBadge, designName, trialLine } from "./design";
import { basename, count, escapeHtml, safeSnippet } from "./format";
import { type FileEntry, stateLabel } from "./ingest";

/** The title a paper is shown under: its own, else its file name. */
export function displayTitle(title: string | null | undefined, path: string): string {
  return title && title.trim() ? title.trim() : basename(path);
}

/** What a list says of a paper's origin: its first author (et al.), venue and year, where known. */
function bylineParts(meta: Meta | null | undefined, year?: number | null) {
  const authors = meta?.authors ?? [];
  const first =
    authors.length === 0
      ? ""
      : authors.length === 1
        ? authors[0].family
        : authors.length === 2
          ? `${authors[0].family} and ${authors[1].family}`
          : `${authors[0].family} et al.`;
  // A record's year is the year shown: where the user emptied it, there is none.
  const y = meta ? meta.year : (year ?? null);
  return { first, venue: meta?.venue ?? "", year: y ? String(y) : "" };
}

/** How a list names a paper's origin: "Doe et al. · Lancet · 2021". */
export function byline(meta: Meta | null | undefined, year?: number | null): string {
  const p = bylineParts(meta, year);
  return [p.first, p.venue, p.year].filter((s) => s).join(" · ");
}

/** The byline as HTML: escaped, the year in its own span. */
function bylineHtml(meta: Meta | null | undefined, year?: number | null): string {
  const p = bylineParts(meta, year);
  return [escapeHtml(p.first), escapeHtml(p.venue), p.year ? `<span class="year">${p.year}</span>` : ""]
    .filter((s) => s)
    .join(" · ");
}

/** The fields of a record the details form edits, in order, with their labels and hints. */
export const RECORD_FIELDS: { field: string; label: string; hint: string; long?: boolean }[] = [
  { field: "title", label: "Title", hint: "" },
  { field: "authors", label: "Authors", hint: "Surname, Given; Surname, Given" },
  { field: "year", label: "Year", hint: "e.g. 2021" },
  { field: "venue", label: "Journal", hint: "journal, preprint server or conference" },
  { field: "doi", label: "DOI", hint: "10.NNNN/…" },
  { field: "pmid", label: "PMID", hint: "digits" },
  { field: "pmcid", label: "PMCID", hint: "PMC…" },
  { field: "trial_ids", label: "Trial ids", hint: "NCT01234567; ISRCTN…" },
  { field: "abstract", label: "Abstract", hint: "", long: true },
  { field: "design", label: "Study design", hint: "" },
];

/** Each field of a record as a person types it (the values the details form starts from). */
export function recordValues(meta: Meta): Record<string, string> {
  return {
    title: meta.title ?? "",
    authors: meta.authors.map((a) => (a.given ? `${a.family}, ${a.given}` : a.family)).join("; "),
    year: meta.year ? String(meta.year) : "",
    venue: meta.venue ?? "",
    doi: meta.doi ?? "",
    pmid: meta.pmid ?? "",
    pmcid: meta.pmcid ?? "",
    trial_ids: meta.trial_ids.join("; "),
    abstract: meta.abstract ?? "",
    design: meta.design?.label ?? "",
  };
}

/** The corrections a filled-in form asks for: the fields whose text changed (white space
 * aside), as [field, value] pairs. */
export function recordChanges(meta: Meta, typed: Record<string, string>): [string, string][] {
  const before = recordValues(meta);
  const norm = (s: string) => s.replace(/\s+/g, " ").trim();
  return RECORD_FIELDS.map(({ field }) => field)
    .filter((f) => f in typed && norm(typed[f]) !== norm(before[f] ?? ""))
    .map((f) => [f, norm(typed[f])]);
}

/** Where a field came from, in words. */
const SOURCE_WORDS: Record<string, string> = {
  user: "your correction",
  zotero: "from Zotero",
  xmp: "from the PDF's XMP metadata",
  info: "from the PDF's document properties",
  layout: "read from the first page",
  pattern: "read from the text",
};

/** The details form of one paper: each field with where its value came from, and a way back
 * to the PDF's reading where the value is the user's. */
export function renderRecordForm(path: string, meta: Meta): string {
  const values = recordValues(meta);
  const rows = RECORD_FIELDS.map(({ field, label, hint, long }) => {
    const id = `record-${field}`;
    const value = escapeHtml(values[field] ?? "");
    // The design carries its own source; the rules' reading is shown as read from the text.
    const source = field === "design" ? (meta.design ? (meta.design.source === "user" ? "user" : "pattern") : undefined) : meta.provenance[field];
    const input =
      field === "design"
        ? designSelect(id, values.design)
        : long
          ? `<textarea id="${id}" name="${field}" rows="4" placeholder="${escapeHtml(hint)}">${value}</textarea>`
          : `<input id="${id}" name="${field}" value="${value}" placeholder="${escapeHtml(hint)}" autocomplete="off">`;
    const from = source
      ? `<span class="source" data-source="${source}">${escapeHtml(SOURCE_WORDS[source] ?? source)}</span>`
      : "";
    const reset =
      source === "user"
        ? ` <button type="button" data-reset="${field}" title="Forget your correction and show what was read from the PDF">Use the PDF's</button>`
        : "";
    return `<label for="${id}">${escapeHtml(label)}</label><div class="record-field">${input}<div class="record-source">${from}${reset}</div></div>`;
  }).join("\n");
  return `<form id="record-form" class="record-form" data-path="${escapeHtml(path)}">
  <h2>Details of ${escapeHtml(basename(path))}</h2>
  <p class="hint">Your corrections are kept and win over what MedShelf reads from the PDF, also after re-indexing. An empty field says the paper has none.</p>
  <div class="record-grid">${rows}</div>
  <div id="record-error" class="error" role="alert" hidden></div>
  <div class="record-actions"><button type="submit" class="primary">Save (Enter)</button> <button type="button" data-action="close-record">Cancel (Esc)</button></div>
</form>`;
}

/** The design field of the details form: every design, the paper's chosen. */
function designSelect(id: string, label: string): string {
  const none = label ? "" : `<option value="" selected>not read</option>`;
  const options = Object.entries(DESIGN_NAMES)
    .map(([value, name]) => `<option value="${value}"${value === label ? " selected" : ""}>${escapeHtml(name)}</option>`)
    .join("");
  return `<select id="${id}" name="design">${none}${options}</select>`;
}

/** The result list. `selected` is the index of the highlighted result. */
export function renderResults(results: SearchResult[], selected: number): string {
  return results
    .map((r, i) => {
      const others = r.passages
        .filter((p) => p.page !== r.page)
        .map(
          (p) =>
            `<button class="page-link" data-index="${i}" data-page="${p.page}" title="${escapeHtml(
              stripMarks(p.snippet),
            )}">p.&nbsp;${p.page}</button>`,
        )
        .join(" ");
      const weak = r.meaning_only
        ? ` · <span class="weak" title="None of your words occur in this paper">by meaning only</span>`
        : "";
      return `<li class="result${i === selected ? " selected" : ""}${r.meaning_only ? " meaning-only" : ""}" role="option" id="result-${i}"
  aria-selected="${i === selected}" data-index="${i}" data-path="${escapeHtml(r.path)}" data-page="${r.page}">
  <div class="result-head"><span class="rank">${r.rank}</span>
    <span class="result-title">${escapeHtml(displayTitle(r.title, r.path))}</span>${designBadge(r.design)}</div>
  <div class="result-meta">${resultByline(r)}${escapeHtml(basename(r.path))} · page ${r.page}${r.ocr ? " (OCR)" : ""}${ownWords(r.source)}${weak}</div>
  <p class="snippet">${safeSnippet(r.snippet)}</p>
  ${others ? `<div class="other-pages">Also on ${others}</div>` : ""}${versionLine(r.versions)}${trialLine(r.trials)}
</li>`;
    })
    .join("\n");
}

/** "Also as FILE (venue, year)": the other files of the result's article. */
function versionLine(versions: Version[] | undefined): string {
  if (!versions || versions.length === 0) return "";
  const shown = versions.map((v) => {
    const about = [v.venue, v.year].filter((x) => x !== null && x !== undefined && x !== "").join(", ");
    const name = escapeHtml(basename(v.path));
    return `<span class="version" title="${escapeHtml(v.path)}">${name}${about ? ` (${escapeHtml(String(about))})` : ""}</span>`;
  });
  return `<div class="versions">Also as ${shown.join(", ")}</div>`;
}

/** Marks a passage that is the user's own words (a Zotero note or annotation). */
function ownWords(source: SearchResult["source"]): string {
  if (source === "annotation") return ` · <span class="own" title="Your annotation in Zotero">your annotation</span>`;
  if (source === "note") return ` · <span class="own" title="Your note in Zotero">your note</span>`;
  return "";
}

/** A result's byline, with the year marked, followed by a separator; empty where nothing is known. */
function resultByline(r: SearchResult): string {
  const line = bylineHtml(r.meta, r.year);
  return line ? `<span class="byline">${line}</span> · ` : "";
}

function stripMarks(s: string): string {
  return s.replace(/<\/?mark>/g, "");
}

/** Moves a selection by `delta` within `count` items, stopping at the ends. */
export function moveSelection(current: number, delta: number, count: number): number {
  if (count === 0) return -1;
  if (current < 0) return delta > 0 ? 0 : count - 1;
  return Math.min(count - 1, Math.max(0, current + delta));
}

/** The models: the one in use first (it may come from outside the library's models/ folder:
 * `MEDSHELF_MODEL`, or the one an installer bundles), then the installed ones, the others with
 * a Use button. */
export function renderModels(models: InstalledModel[], inUse: ModelInfo | null): string {
  const describe = (info: ModelInfo) =>
    `${count(info.dim, "dimension")}, ${escapeHtml(String(info.pooling))} pooling`;
  // The model in use says at which precision it runs and why (int8 where the CPU and the
  // calibration check allow): a slow library on an old CPU is then explained, not a mystery.
  const precision = (info: ModelInfo) =>
    info.precision
      ? `<div class="precision" data-precision="${escapeHtml(String(info.precision))}">Runs in ${escapeHtml(
          String(info.precision),
        )}${info.precision_reason ? `: ${escapeHtml(String(info.precision_reason))}` : ""}</div>`
      : "";
  const rows: string[] = [];
  if (inUse && !models.some((m) => m.name === inUse.name)) {
    rows.push(`<li data-model="${escapeHtml(inUse.name)}"><strong>${escapeHtml(inUse.name)}</strong>
  <span class="watch-state">${describe(inUse)}, loaded from outside the library's models folder</span>
  <span class="status ok">in use</span>${precision(inUse)}</li>`);
  }
  for (const m of models) {
    const name = escapeHtml(m.name);
    const what = m.info ? describe(m.info) : `unusable: ${escapeHtml(m.problem ?? "unknown reason")}`;
    const used = inUse !== null && m.name === inUse.name;
    const action = used
      ? `<span class="status ok">in use</span>`
      : m.info
        ? `<button data-action="use-model" data-name="${name}">Use this model</button>`
        : "";
    rows.push(
      `<li data-model="${name}"><strong>${name}</strong> <span class="watch-state">${what}</span> ${action}${
        used ? precision(inUse) : ""
      }</li>`,
    );
  }
  if (rows.length === 0) {
    return `<li class="empty">No model: keyword search only. Set one up from the notice at the top.</li>`;
  }
  return rows.join("");
}

/** The ingest panel's file list: each file with its state, a failure worded by its code and
 * the engine's full message in the tooltip. */
export function renderIngestFiles(files: Iterable<FileEntry>): string {
  return [...files]
    .map((f) => {
      const label = escapeHtml(stateLabel(f));
      const title = escapeHtml(f.state === "failed" && f.error ? f.error : f.path);
      const code = f.code ? ` data-code="${escapeHtml(f.code)}"` : "";
      return `<li class="file ${f.state}" data-path="${escapeHtml(f.path)}" data-state="${f.state}"${code}>
  <span class="file-name" title="${escapeHtml(f.path)}">${escapeHtml(basename(f.path))}</span>
  <span class="file-state" title="${title}">${label}</span></li>`;
    })
    .join("");
}

/** The folders the library follows, each with whether changes there are picked up now. */
export function renderFolders(folders: string[], watching: string[]): string {
  if (folders.length === 0) {
    return `<li class="empty">No folders yet: drop a folder to add every PDF in it.</li>`;
  }
  return folders
    .map(
      (f) => `<li><span>${escapeHtml(f)}</span>
  <span class="watch-state">${watching.includes(f) ? "followed: changes are picked up as they happen" : "not followed"}</span>
  <button data-action="rescan" data-path="${escapeHtml(f)}">Rescan</button></li>`,
    )
    .join("");
}

/** What the search view says where there are no results to show. */
export interface EmptyState {
  /** The question asked, where one was and nothing matched. */
  unanswered?: string;
  /** Whether the search is in the hybrid mode. */
  hybrid: boolean;
  /** Papers in the library. */
  documents: number;
  /** Whether papers are being indexed now. */
  indexing: boolean;
  /** Whether a question is on screen with results. */
  answered: boolean;
}

/** The search view's message without results: nothing matched, the library is empty or being
 * filled, or a hint of the keys. */
export function renderEmpty(s: EmptyState): string {
  if (s.unanswered !== undefined) {
    return `<p>No paper matches <strong>${escapeHtml(s.unanswered)}</strong>.</p>
      <p>Try other words${s.hybrid ? "" : ", or the Hybrid mode"}.</p>`;
  }
  if (s.answered) return "";
  if (s.documents === 0 && s.indexing) {
    return `<div class="drop-hint"><p class="big">Your papers are being indexed.</p>
      <p>Search as soon as the first is done; the panel below shows each file.</p></div>`;
  }
  if (s.documents === 0) {
    return `<div class="drop-hint"><p class="big">Your library is empty.</p>
      <p>Drop PDFs or whole folders anywhere on this window, or press <kbd>Ctrl</kbd>+<kbd>O</kbd>.</p>
      <p>Everything stays on this computer.</p></div>`;
  }
  return `<p class="hint">${count(s.documents, "paper")} in your library. Type a question;
      <kbd>↑</kbd> <kbd>↓</kbd> move, <kbd>Enter</kbd> opens, <kbd>Esc</kbd> goes back.</p>`;
}

/** The facets beside the results: the filters chosen (each a button that takes it away), the
 * order, then each facet's values with their counts (each a button that filters by it). */
export function renderFacets(
  facets: Facets | undefined,
  filter: Filter,
  sort: Sort,
  collections: string[] = [],
): string {
  const chosen = (
    [
      ["collection", "Collection"],
      ["years", "Year"],
      ["venue", "Journal"],
      ["author", "Author"],
      ["design", "Design"],
    ] as [keyof Filter, string][]
  )
    .filter(([key]) => filter[key])
    .map(([key, label]) => {
      const value = key === "design" ? designName(filter.design ?? "") : (filter[key] ?? "");
      return `<button class="facet chip" data-remove="${key}" title="Take this filter away">${label}: ${escapeHtml(value)} <span aria-hidden="true">×</span></button>`;
    })
    .join("");
  const order = `<div class="facet-group"><h3>Order</h3>
    <button class="facet" data-sort="relevance" aria-pressed="${sort === "relevance"}">Best match</button>
    <button class="facet" data-sort="date" aria-pressed="${sort === "date"}">Newest first</button>
    <button class="facet" data-sort="evidence" aria-pressed="${sort === "evidence"}" title="Meta-analyses, systematic reviews, guidelines and trials first">Best evidence first</button></div>`;
  const group = (title: string, key: keyof Filter, values: FacetValue[] = [], name = (v: string) => v) =>
    values.length === 0 || filter[key]
      ? ""
      : `<div class="facet-group"><h3>${title}</h3>${values
          .map(
            (v) =>
              `<button class="facet" data-facet="${key}" data-value="${escapeHtml(v.value)}">${escapeHtml(name(v.value))} <span class="count">${v.count}</span></button>`,
          )
          .join("")}</div>`;
  const counted = facets ? `<p class="hint">Among the best ${count(facets.papers, "paper")}</p>` : "";
  // The Zotero collections as a tree: each name under its parent, indented by its depth.
  const tree =
    collections.length === 0 || filter.collection
      ? ""
      : `<div class="facet-group"><h3>Zotero collection</h3>${collections
          .map((path) => {
            const parts = path.split("/");
            return `<button class="facet tree" data-facet="collection" data-value="${escapeHtml(path)}" style="--depth:${parts.length - 1}" title="${escapeHtml(path)}, with its sub-collections">${escapeHtml(parts[parts.length - 1])}</button>`;
          })
          .join("")}</div>`;
  return (
    (chosen ? `<div class="facet-group chosen"><h3>Filters</h3>${chosen}</div>` : "") +
    order +
    tree +
    (facets
      ? counted +
        group("Study design", "design", facets.designs, designName) +
        group("Year", "years", facets.years) +
        group("Journal", "venue", facets.venues) +
        group("Author", "author", facets.authors)
      : "")
  );
}
