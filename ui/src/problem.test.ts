import { describe as suite, expect, it } from "vitest";
import { describe, fileFailure, problemOf } from "./problem";

suite("problems from the engine", () => {
  it("keeps the code, fault and message of a typed problem", () => {
    const p = problemOf({ code: "locked", fault: "machine", message: "the library /l is being updated" });
    expect(p).toEqual({ code: "locked", fault: "machine", message: "the library /l is being updated" });
  });

  it("turns a plain rejection into an internal problem with its text", () => {
    expect(problemOf("IPC down")).toEqual({ code: "internal", fault: "internal", message: "IPC down" });
    expect(problemOf(new Error("boom")).message).toBe("boom");
  });

  it("words a known code with advice after the engine's message, never instead of it", () => {
    const text = describe({ code: "locked", fault: "machine", message: "the library /l is being updated" });
    expect(text.startsWith("the library /l is being updated. ")).toBe(true);
    expect(text).toContain("goes on when that one finishes");
    expect(describe({ code: "something_new", fault: "user", message: "as is" })).toBe("as is.");
    expect(describe({ code: "something_new", fault: "user", message: "a sentence." })).toBe("a sentence.");
  });

  it("names a failed file's cause by its code, the message where the code is unknown", () => {
    expect(fileFailure("encrypted", "x.pdf: the PDF is encrypted")).toBe("password-protected");
    expect(fileFailure("no_text", "whatever")).toBe("no text layer (a scan?)");
    expect(fileFailure("scan_without_ocr", "whatever")).toBe("a scan, and OCR is not installed");
    expect(fileFailure("brand_new", "the engine's words")).toBe("the engine's words");
    expect(fileFailure(undefined, undefined)).toBe("unknown reason");
  });
});
