// The search view: the question box, the modes, the result list and its selection.
import { api, type Answer, type Mode } from "../api";
import { count, debounce } from "../format";
import { describe } from "../problem";
import { renderExpansions } from "../abbrev";
import { renderSimilarInfo } from "../similar";
import { renderEmpty, renderFacets, renderResults } from "../views";
import { copyCitation, exportRecords } from "./cite";
import { $, onShow, onStatus, showView, state } from "./state";

export const search = $<HTMLInputElement>("search");
const resultsEl = $("results");

/** Search timings, for the E2E test and for anyone who opens the dev tools. */
interface Timing {
  query: string;
  /** From the keystroke that led to the search to the results painted. */
  keyToPaintMs: number;
  /** What the engine took. */
  engineMs: number;
}
const metrics: { searches: Timing[] } = { searches: [] };
(window as unknown as { medshelfMetrics: typeof metrics }).medshelfMetrics = metrics;

/** How long typing pauses before the question is asked. */
const TYPING_PAUSE_MS = 120;

/** Opens a result; set by the viewer (which needs the search's answer, not the reverse). */
let open: (index: number, page?: number) => void = () => {};
export function onOpen(f: (index: number, page?: number) => void) {
  open = f;
}

search.addEventListener("input", () => {
  state.lastKeyAt = performance.now();
  debouncedSearch();
});
const debouncedSearch = debounce(() => void runSearch(), TYPING_PAUSE_MS);

for (const button of document.querySelectorAll<HTMLButtonElement>(".mode")) {
  button.addEventListener("click", () => setMode(button.dataset.mode as Mode));
}

resultsEl.addEventListener("click", (e) => {
  const target = e.target as HTMLElement;
  const pageLink = target.closest<HTMLElement>(".page-link");
  const li = target.closest<HTMLElement>(".result");
  if (!li) return;
  const index = Number(li.dataset.index);
  select(index);
  open(index, pageLink ? Number(pageLink.dataset.page) : undefined);
});

onShow("search", () => search.focus());

const facetsEl = $("facets");

/** Where the focus goes once a facet's choice is shown: the chip of a filter just chosen,
 * the values of one just taken away, the order just chosen. */
let focusAfter: string | undefined;

/** The facets beside an answer; kept where a filter leaves no result, so it can be taken
 * away. The focus stays on the facet that was chosen (or the first), never lost to the body. */
function showFacets(answer: Answer) {
  const filtered = Object.values(state.filter).some(Boolean) || state.sort !== "relevance";
  const had = facetsEl.contains(document.activeElement) ? [...facetsEl.querySelectorAll("button")].indexOf(document.activeElement as HTMLButtonElement) : -1;
  facetsEl.innerHTML = renderFacets(answer.facets, state.filter, state.sort, state.collections);
  facetsEl.hidden = answer.results.length === 0 && !filtered;
  // The focus follows a facet's choice only while it is in the facets (a question typed
  // meanwhile keeps it) and only into a panel that shows.
  if (!facetsEl.hidden && (had >= 0 || (focusAfter && document.activeElement === document.body))) {
    const buttons = facetsEl.querySelectorAll<HTMLButtonElement>("button");
    const wanted = focusAfter ? facetsEl.querySelector<HTMLButtonElement>(focusAfter) : null;
    (wanted ?? buttons[Math.min(Math.max(had, 0), buttons.length - 1)])?.focus();
  }
  focusAfter = undefined;
}


/** Applies a facet's button: a value filters, a chip takes its filter away, an order sorts. */
function useFacet(button: HTMLButtonElement) {
  const { facet, value, remove, sort } = button.dataset;
  if (facet && value !== undefined) {
    state.filter = { ...state.filter, [facet]: value };
    focusAfter = `button[data-remove="${facet}"]`;
  } else if (remove) {
    state.filter = { ...state.filter, [remove]: undefined };
    focusAfter = `button[data-facet="${remove}"]`;
  } else if (sort === "relevance" || sort === "date" || sort === "evidence") {
    state.sort = sort;
    focusAfter = `button[data-sort="${sort}"]`;
  } else return;
  state.lastKeyAt = performance.now();
  void runSearch();
}
facetsEl.addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button.facet");
  if (button) useFacet(button);
});
facetsEl.addEventListener("keydown", (e) => {
  // ↑ ↓ move between the facets' buttons; Esc goes back to the question.
  const buttons = [...facetsEl.querySelectorAll<HTMLButtonElement>("button")];
  const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    e.stopPropagation();
    const next = at + (e.key === "ArrowDown" ? 1 : -1);
    buttons[Math.max(0, Math.min(buttons.length - 1, next))]?.focus();
  } else if (e.key === "Escape") {
    e.preventDefault();
    e.stopPropagation();
    search.focus();
  }
});

/** Puts the focus on the facets (Alt+F): the first chosen filter, else the first value. */
export function focusFacets() {
  if (facetsEl.hidden) return;
  (facetsEl.querySelector<HTMLButtonElement>("button[data-remove]") ?? facetsEl.querySelector<HTMLButtonElement>("button[data-facet]") ?? facetsEl.querySelector<HTMLButtonElement>("button"))?.focus();
}

/** Copies the selected result's reference (Alt+C). */
export function citeSelected() {
  void copyCitation(state.answer?.results[state.selected]?.meta);
}

/** Saves the results shown, in their order (Alt+E). */
export function exportResults() {
  const answer = state.answer;
  const records = (answer?.results ?? []).flatMap((r) => (r.meta ? [r.meta] : []));
  void exportRecords(records, answer ? `MedShelf - ${answer.query}` : "MedShelf");
}

/** Shows the papers like the paper at `path` (or like its page `page`) in the result list,
 * in the mode chosen; the question stays in its box, and Esc goes back to its results. The
 * view changes only once the answer is there: a failure is said where the person is. */
export async function showSimilar(path: string, page?: number) {
  const seq = ++state.searchSeq;
  // Set before the answer comes, so that a refresh of the question meanwhile does not ask
  // over it (runSearch leaves papers like a paper alone).
  state.similar = { path, page };
  const info = $("search-info");
  if (state.view === "search") info.textContent = "Finding similar papers…";
  let answer;
  try {
    answer = await api.similar(path, state.mode, page);
  } catch (e) {
    if (seq !== state.searchSeq) return;
    state.similar = undefined;
    const message = `More like this failed: ${describe(e)}`;
    if (state.view === "viewer") {
      $("viewer-error").textContent = message;
      $("viewer-error").hidden = false;
    } else info.textContent = message;
    return;
  }
  if (seq !== state.searchSeq) return;
  if (state.view !== "search") showView("search");
  const title = answer.source.title ?? path;
  state.answer = { query: `like ${title}`, mode: answer.mode, results: answer.results, notice: answer.notice, took_ms: answer.took_ms, expanded: [] };
  state.selected = answer.results.length ? 0 : -1;
  resultsEl.innerHTML = renderResults(answer.results, state.selected);
  expansionsEl.hidden = true;
  facetsEl.hidden = true;
  $("results-tools").hidden = answer.results.length === 0;
  info.innerHTML = renderSimilarInfo(answer);
  info.classList.remove("weak");
  showEmpty();
  (resultsEl.closest("main") as HTMLElement).scrollTop = 0;
  search.focus();
}

/** Papers like the selected result (Alt+M, the button). */
export function similarToSelected() {
  const result = state.answer?.results[state.selected];
  if (result) void showSimilar(result.path);
}

/** Goes back from papers like a paper to the question's results; false where none are shown. */
export function leaveSimilar(): boolean {
  if (!state.similar) return false;
  state.similar = undefined;
  void runSearch();
  return true;
}

$("more-like-this").addEventListener("click", similarToSelected);
$("copy-citation").addEventListener("click", citeSelected);
$("export-results").addEventListener("click", exportResults);
onStatus(() => {
  if (state.view === "search") showEmpty();
});

export function setMode(mode: Mode) {
  state.mode = mode;
  for (const b of document.querySelectorAll<HTMLButtonElement>(".mode")) {
    b.setAttribute("aria-checked", String(b.dataset.mode === mode));
  }
  state.lastKeyAt = performance.now();
  // Papers like a paper are asked again in the new mode; a question is searched again.
  if (state.similar) void showSimilar(state.similar.path, state.similar.page);
  else void runSearch();
  if (state.view === "search") search.focus();
}

/** Asks the engine and shows the answer. A new question starts at the top with the first
 * result selected; `keep` (the same question asked again because the library changed) keeps
 * the selected paper selected and the list where it was scrolled, so that ↓ then Enter opens
 * what the person chose. */
export async function runSearch(keep = false) {
  // Papers like a paper stay on screen while the library changes; any new question ends them.
  if (keep && state.similar) return;
  state.similar = undefined;
  const query = search.value.trim();
  const seq = ++state.searchSeq;
  const keyAt = state.lastKeyAt;
  if (!query) {
    focusAfter = undefined;
    state.expand = { asTyped: [], senses: [] };
    showExpansions(undefined);
    state.answer = undefined;
    state.selected = -1;
    resultsEl.innerHTML = "";
    $("search-info").textContent = "";
    $("results-tools").hidden = true;
    $("facets").hidden = true;
    showEmpty();
    return;
  }
  let answer: Answer;
  try {
    answer = await api.search(query, state.mode, state.filter, state.sort, 20, state.expand);
  } catch (e) {
    if (seq !== state.searchSeq) return;
    focusAfter = undefined;
    $("search-info").textContent = `Search failed: ${describe(e)}`;
    // The facets show the filters now asked for, so that a bad one can be taken away.
    facetsEl.innerHTML = renderFacets(undefined, state.filter, state.sort, state.collections);
    facetsEl.hidden = false;
    return;
  }
  // A newer keystroke has asked since: its answer is the one to show.
  if (seq !== state.searchSeq) return;
  const scroller = resultsEl.closest("main") as HTMLElement;
  const same = keep && state.answer?.query === answer.query && state.answer?.mode === answer.mode;
  const chosen = same ? state.answer?.results[state.selected]?.path : undefined;
  const scrollTop = scroller.scrollTop;
  state.answer = answer;
  const kept = chosen === undefined ? -1 : answer.results.findIndex((r) => r.path === chosen);
  state.selected = kept >= 0 ? kept : answer.results.length ? 0 : -1;
  resultsEl.innerHTML = renderResults(answer.results, state.selected);
  showExpansions(answer);
  $("results-tools").hidden = answer.results.length === 0;
  showFacets(answer);
  scroller.scrollTop = same ? scrollTop : 0;
  showEmpty();
  const n = answer.results.length;
  const info = $("search-info");
  const byMeaning = answer.results.filter((r) => r.meaning_only).length;
  const weak =
    n > 0 && byMeaning === n
      ? ` · none of your words occur in any paper: these are the nearest by meaning`
      : "";
  info.textContent = `${count(n, "paper")}${weak}${answer.notice ? ` · ${answer.notice}` : ""}`;
  info.classList.toggle("weak", weak !== "");
  // Two frames later the results are on screen: the first callback runs before the paint,
  // the timeout after it.
  requestAnimationFrame(() =>
    setTimeout(() => {
      const timing = {
        query,
        keyToPaintMs: performance.now() - keyAt,
        engineMs: answer.took_ms,
      };
      metrics.searches.push(timing);
      resultsEl.dataset.keyToPaintMs = timing.keyToPaintMs.toFixed(1);
      resultsEl.dataset.engineMs = timing.engineMs.toFixed(1);
      info.textContent += ` · ${Math.round(timing.engineMs)} ms`;
      info.title = `${Math.round(timing.keyToPaintMs)} ms from your last key to these results (a ${TYPING_PAUSE_MS} ms pause for typing included)`;
    }, 0),
  );
}

const expansionsEl = $("expansions");

/** Where the focus goes once the chips are drawn again after a choice among them. */
let chipFocus: string | undefined;

/** The chips of the abbreviations an answer was widened by. */
function showExpansions(answer: Answer | undefined) {
  const html = answer ? renderExpansions(answer.expanded ?? [], state.expand.asTyped) : "";
  expansionsEl.innerHTML = html;
  expansionsEl.hidden = html === "";
  if (chipFocus) {
    (expansionsEl.querySelector<HTMLButtonElement>(chipFocus) ?? expansionsEl.querySelector<HTMLButtonElement>("button") ?? search).focus();
    chipFocus = undefined;
  }
}

/** A chip's choice: keep an abbreviation as typed, expand it again, or take another sense. */
function useChip(button: HTMLButtonElement) {
  const { asTyped, expand, abbr, sense } = button.dataset;
  const e = state.expand;
  if (asTyped) {
    e.asTyped = [...e.asTyped.filter((a) => a !== asTyped), asTyped];
    chipFocus = `button[data-expand="${CSS.escape(asTyped)}"]`;
  } else if (expand) {
    e.asTyped = e.asTyped.filter((a) => a !== expand);
    chipFocus = `button[data-as-typed="${CSS.escape(expand)}"]`;
  } else if (abbr && sense) {
    e.senses = [...e.senses.filter(([a]) => a !== abbr), [abbr, sense]];
    chipFocus = `button[data-as-typed="${CSS.escape(abbr)}"]`;
  } else return;
  state.lastKeyAt = performance.now();
  void runSearch();
}
expansionsEl.addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button.expansion");
  if (button) useChip(button);
});
expansionsEl.addEventListener("keydown", (e) => {
  // ← → move between the chips; Esc goes back to the question.
  const buttons = [...expansionsEl.querySelectorAll<HTMLButtonElement>("button")];
  const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
  if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
    e.preventDefault();
    e.stopPropagation();
    buttons[Math.max(0, Math.min(buttons.length - 1, at + (e.key === "ArrowRight" ? 1 : -1)))]?.focus();
  } else if (e.key === "Escape") {
    e.preventDefault();
    e.stopPropagation();
    search.focus();
  }
});

/** Puts the focus on the first abbreviation chip (Alt+X). */
export function focusExpansions() {
  if (!expansionsEl.hidden) expansionsEl.querySelector<HTMLButtonElement>("button")?.focus();
}

/** Highlights result `index` (and scrolls it into view). */
export function select(index: number) {
  state.selected = index;
  for (const li of resultsEl.querySelectorAll<HTMLElement>(".result")) {
    const on = Number(li.dataset.index) === index;
    li.classList.toggle("selected", on);
    li.setAttribute("aria-selected", String(on));
    if (on) li.scrollIntoView({ block: "nearest" });
  }
  search.setAttribute("aria-activedescendant", index >= 0 ? `result-${index}` : "");
}

/** The message where there are no results to show. */
export function showEmpty() {
  if (state.similar) {
    const none = state.answer && state.answer.results.length === 0;
    $("empty").innerHTML = none ? `<p>No other paper of the library is like it.</p>` : "";
    return;
  }
  const answer = state.answer;
  $("empty").innerHTML = renderEmpty({
    unanswered: answer && answer.results.length === 0 ? answer.query : undefined,
    hybrid: state.mode === "hybrid",
    documents: state.status?.documents ?? 0,
    indexing: state.ingest.open.size > 0,
    answered: answer !== undefined,
  });
}
