// Citations and exports: a paper's reference copied (the selected result, or a library row),
// a result list or the whole library saved for a reference manager. The style and the format
// chosen are remembered; every select of the page shows the same choice.
import { api, type CiteStyle, type ExportFormat, type Meta } from "../api";
import { describe } from "../problem";
import { $ } from "./state";

const STYLE_KEY = "medshelf.citeStyle";
const FORMAT_KEY = "medshelf.exportFormat";
const STYLES: CiteStyle[] = ["vancouver", "ama", "apa"];
const FORMATS: ExportFormat[] = ["bibtex", "ris", "csljson"];
const STYLE_NAMES: Record<CiteStyle, string> = { vancouver: "Vancouver", ama: "AMA", apa: "APA" };
const FORMAT_NAMES: Record<ExportFormat, string> = { bibtex: "BibTeX", ris: "RIS", csljson: "CSL-JSON" };

function remembered<T extends string>(key: string, allowed: T[]): T {
  const value = localStorage.getItem(key) as T | null;
  return value && allowed.includes(value) ? value : allowed[0];
}

/** The citation style chosen. */
export function citeStyle(): CiteStyle {
  return remembered(STYLE_KEY, STYLES);
}

/** The export format chosen. */
export function exportFormat(): ExportFormat {
  return remembered(FORMAT_KEY, FORMATS);
}

function syncSelects() {
  document.querySelectorAll<HTMLSelectElement>("select.cite-style").forEach((s) => (s.value = citeStyle()));
  document.querySelectorAll<HTMLSelectElement>("select.export-format").forEach((s) => (s.value = exportFormat()));
}
document.addEventListener("change", (e) => {
  const select = e.target as HTMLSelectElement;
  if (select.classList.contains("cite-style")) localStorage.setItem(STYLE_KEY, select.value);
  else if (select.classList.contains("export-format")) localStorage.setItem(FORMAT_KEY, select.value);
  else return;
  syncSelects();
});
syncSelects();

let toastTimer: number | undefined;
/** Says what just happened, for a few seconds, where a screen reader hears it too. */
export function toast(message: string, isError = false) {
  const el = $("toast");
  el.textContent = message;
  el.classList.toggle("error", isError);
  el.hidden = false;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (el.hidden = true), isError ? 10000 : 6000);
}

/** Copies a paper's reference in the chosen style and says what was copied. */
export async function copyCitation(meta: Meta | null | undefined) {
  if (!meta) {
    toast("Choose a paper first: ↑ ↓ in the results, or a row of the library.", true);
    return;
  }
  if (!meta.title && meta.authors.length === 0) {
    toast("Nothing is known of this paper yet to cite: give it a title in the library's Details.", true);
    return;
  }
  const style = citeStyle();
  try {
    const text = await api.copyCitation(meta, style);
    const el = $("toast");
    toast(`Copied (${STYLE_NAMES[style]}): ${text}`);
    el.dataset.copied = text;
  } catch (e) {
    toast(`Could not copy the citation: ${describe(e)}`, true);
  }
}

/** Saves records in the chosen format where the person says (the system's save dialog). */
export async function exportRecords(records: Meta[], name: string) {
  if (records.length === 0) {
    toast("There is nothing to export yet.", true);
    return;
  }
  const format = exportFormat();
  try {
    const done = await api.exportRecords(records, format, name);
    if (done) {
      const papers = done.papers === 1 ? "1 paper" : `${done.papers} papers`;
      toast(`Exported ${papers} as ${FORMAT_NAMES[format]} to ${done.path}`);
    } else {
      toast("Export cancelled.");
    }
  } catch (e) {
    toast(`Could not export: ${describe(e)}`, true);
  }
}
