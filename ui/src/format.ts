// Small pure helpers shared by the views; each is unit-tested in format.test.ts.

/** Escapes text for use inside HTML. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Makes an engine snippet safe to insert as HTML. The engine escapes the text and adds only
 * `<mark>` and `</mark>`; anything else that looks like a tag is escaped here anyway, so a
 * paper's text can never inject markup into the page.
 */
export function safeSnippet(snippet: string): string {
  return snippet
    .split(/(<\/?mark>)/)
    .map((part) =>
      part === "<mark>" || part === "</mark>"
        ? part
        : part.replace(/<|>/g, (c) => (c === "<" ? "&lt;" : "&gt;")),
    )
    .join("");
}

/** The snippet's text without its marks (entities decoded), for matching against the PDF. */
export function snippetText(snippet: string): string {
  return snippet
    .replace(/<\/?mark>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** The marked terms of a snippet, lower-cased and deduplicated. */
export function markedTerms(snippet: string): string[] {
  const terms = new Set<string>();
  for (const m of snippet.matchAll(/<mark>(.*?)<\/mark>/g)) {
    const t = snippetText(m[1]).trim().toLowerCase();
    if (t) terms.add(t);
  }
  return [...terms];
}

/** The last component of a path, for display. */
export function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** The folder part of a path. */
export function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : path;
}

/** A duration in seconds as a person reads it: "45 s", "3 min", "1 h 5 min". */
/** "1 page", "3 pages": a count with its noun, singular or plural. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString("en")} ${n === 1 ? singular : plural}`;
}

export function formatDuration(seconds: number): string {
  if (!isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return "under a second";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** A number with one decimal below 10, none above: 3.4, 12. */
export function formatRate(value: number): string {
  if (!isFinite(value) || value <= 0) return "0";
  return value < 10 ? value.toFixed(1) : Math.round(value).toString();
}

/** Calls `f` once `ms` have passed without another call; the last arguments win. */
export function debounce<A extends unknown[]>(
  f: (...args: A) => void,
  ms: number,
): ((...args: A) => void) & { cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wrapped = (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      f(...args);
    }, ms);
  };
  wrapped.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return wrapped;
}

/** Lower-cases and folds runs of white space and hyphenation, for comparing PDF text. */
export function normalizeForMatch(text: string): string {
  return text
    .toLowerCase()
    .replace(/\u00ad/g, "")
    .replace(/[\u2010-\u2015]/g, "-")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * Which text items of a PDF page belong to a passage: an item is in when its normalised text
 * (at least `minLength` characters) occurs in the passage. Returns the items' indexes.
 */
export function passageItems(items: string[], passage: string, minLength = 4): number[] {
  const hay = normalizeForMatch(passage);
  const out: number[] = [];
  items.forEach((item, i) => {
    const needle = normalizeForMatch(item);
    if (needle.length >= minLength && hay.includes(needle)) out.push(i);
  });
  return out;
}
