// The viewer: a result's paper at its page, the passage highlighted; pages turned by key.
import { api } from "../api";
import { basename } from "../format";
import { describe } from "../problem";
import { Viewer } from "../viewer";
import { displayTitle } from "../views";
import { onOpen, showSimilar } from "./search";
import { $, onShow, showView, state } from "./state";

const viewer = new Viewer($("pdf"), (path, page) => api.ocrWords(path, page));

onOpen((index, page) => void openResult(index, page));
onShow("viewer", () => $("pdf").focus());

/** Opens result `index` of the answer on screen, at `page` (its best page by default). */
export async function openResult(index: number, page?: number) {
  const result = state.answer?.results[index];
  if (!result) return;
  const target = page ?? result.page;
  state.open = { result, page: target };
  $("viewer-title").textContent = displayTitle(result.title, result.path);
  $("viewer-error").hidden = true;
  showView("viewer");
  const snippet =
    target === result.page
      ? result.snippet
      : (result.passages.find((p) => p.page === target)?.snippet ?? result.snippet);
  try {
    await api.allowView(result.path);
    const shown = await viewer.open(result.path, target, snippet);
    updatePageLabel(shown.page, shown.pages, shown.ocr);
  } catch (e) {
    showError(`Cannot show ${basename(result.path)}: ${describe(e)} Try “Open in system viewer”.`);
  }
}

/** Turns `delta` pages, within the paper. */
export async function turnPage(delta: number) {
  if (!state.open) return;
  const next = state.open.page + delta;
  if (next < 1 || next > viewer.pageCount) return;
  state.open.page = next;
  const r = state.open.result;
  const snippet =
    next === r.page ? r.snippet : (r.passages.find((p) => p.page === next)?.snippet ?? "");
  const shown = await viewer.show(next, snippet);
  updatePageLabel(shown.page, shown.pages, shown.ocr);
}

/** Opens the paper in the system's PDF viewer. */
export async function openExternal() {
  if (!state.open) return;
  try {
    await api.openExternal(state.open.result.path);
  } catch (e) {
    showError(describe(e));
  }
}

function updatePageLabel(page: number, pages: number, ocr = false) {
  $("viewer-page").textContent = `Page ${page} of ${pages}${ocr ? " (OCR)" : ""}`;
}

function showError(message: string) {
  const err = $("viewer-error");
  err.textContent = message;
  err.hidden = false;
}

/** Papers like the page on screen (M). */
export function similarToPage() {
  if (state.open) void showSimilar(state.open.result.path, state.open.page);
}

$("viewer-similar").addEventListener("click", similarToPage);
$("viewer-back").addEventListener("click", () => showView("search"));
$("viewer-prev").addEventListener("click", () => void turnPage(-1));
$("viewer-next").addEventListener("click", () => void turnPage(1));
$("viewer-external").addEventListener("click", () => void openExternal());
