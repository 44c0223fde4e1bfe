// Errors as the engine hands them to the page: every command fails with a problem
// `{code, fault, message}` (src/error.rs, `Problem`), and a failed file carries its code. The
// page words what a clinician can act on by the code, and keeps the engine's message (which
// names the file and the cause) beside it.

export type Fault = "user" | "machine" | "internal";

export interface Problem {
  code: string;
  fault: Fault;
  message: string;
}

/** What `invoke` rejected with, as a problem: the engine's own, or a failure outside it (the
 * IPC layer rejects with a string). */
export function problemOf(e: unknown): Problem {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const p = e as Partial<Problem>;
    return {
      code: String(p.code),
      fault: (p.fault as Fault) ?? "internal",
      message: String(p.message),
    };
  }
  return { code: "internal", fault: "internal", message: e instanceof Error ? e.message : String(e) };
}

/** What to do about a problem, by its code, where there is something to say beyond the
 * engine's message. */
const ADVICE: Record<string, string> = {
  locked: "Another MedShelf (the command line, or a second window) is updating this library; it goes on when that one finishes.",
  read_only: "The library is on storage this computer cannot write to: search works, adding papers does not.",
  newer_library: "This library was written by a newer MedShelf: update MedShelf to open it.",
  older_library_read_only: "Open this library once where it can be written to, so that MedShelf can upgrade it.",
  catalog_damaged: "Your PDFs are untouched: move catalog.sqlite aside and add your folders again.",
  model_mismatch: "Keep the model the library was indexed with, or switch models in Library (every passage is embedded again).",
  network: "Check the connection, then try again: what was downloaded is kept.",
  io: "Check that the disk has room and that MedShelf may read the file.",
  not_in_library: "Only papers in your library can be opened from here.",
  writer_stopped: "Restart MedShelf; your library is safe.",
  internal: "This is a bug in MedShelf, not in your file; please report it with the message.",
};

/** A problem in words for the screen, as whole sentences: the engine's message, then advice
 * where the code has some. */
export function describe(e: unknown): string {
  const p = problemOf(e);
  const advice = ADVICE[p.code];
  const message = /[.!?]$/.test(p.message.trim()) ? p.message.trim() : `${p.message.trim()}.`;
  return advice ? `${message} ${advice}` : message;
}

/** Short words for why a file could not be indexed, by its failure code; the engine's full
 * message goes in the tooltip. Unknown codes fall back to the message. */
const FILE_FAILURES: Record<string, string> = {
  not_pdf: "not a PDF",
  encrypted: "password-protected",
  no_text: "no text layer (a scan?)",
  scan_without_ocr: "a scan, and OCR is not installed",
  too_large: "too large",
  damaged: "damaged PDF",
  timed_out: "took too long to read",
  reader_crashed: "crashed the PDF reader",
  unreadable: "could not be read",
  changing: "still being written: tried again when it settles",
  not_found: "not found",
};

/** Why a file failed, in a few words, by its code (the message where the code is unknown). */
export function fileFailure(code: string | undefined, message: string | undefined): string {
  return (code && FILE_FAILURES[code]) || message || "unknown reason";
}
