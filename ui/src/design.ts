// A paper's study design as the page shows it: a badge with its reasons, the facet's names, and
// the papers that share its trial.
import type { Design, DesignLabel, TrialGroup } from "./api";
import { basename, escapeHtml } from "./format";

/** Each design's name as a clinician reads it, in order of evidence level. */
export const DESIGN_NAMES: Record<DesignLabel, string> = {
  "meta-analysis": "Meta-analysis",
  "systematic-review": "Systematic review",
  guideline: "Guideline",
  rct: "RCT",
  "non-randomised-trial": "Non-randomised trial",
  cohort: "Cohort",
  "case-control": "Case-control",
  "cross-sectional": "Cross-sectional",
  "case-report": "Case report",
  "narrative-review": "Narrative review",
  editorial: "Editorial",
  "basic-science": "Basic science",
  "patient-information": "Patient information",
  other: "Other",
};

/** A design's name; the label itself for one this page does not know. */
export function designName(label: string): string {
  return DESIGN_NAMES[label as DesignLabel] ?? label;
}

/** The badge of a design: its name, and on hover (and for a screen reader) why and how sure. */
export function designBadge(design: Design | null | undefined): string {
  if (!design) return "";
  const why =
    design.source === "user"
      ? "Set by you"
      : `${Math.round(design.confidence * 100)}% sure: ${design.reasons.join("; ")}`;
  const unsure = design.source !== "user" && design.confidence < 0.5 ? " unsure" : "";
  return `<span class="design${unsure}" data-design="${escapeHtml(design.label)}" title="${escapeHtml(why)}">${escapeHtml(designName(design.label))}</span>`;
}

/** "3 papers on this trial", naming the others on hover. */
export function trialLine(trials: TrialGroup[] | undefined): string {
  if (!trials || trials.length === 0) return "";
  return trials
    .map((t) => {
      const others = t.papers
        .map((p) => `${p.title ?? basename(p.path)}${p.design ? ` (${designName(p.design)})` : ""}`)
        .join("\n");
      return `<div class="trial" title="${escapeHtml(others)}">${t.papers.length + 1} papers on this trial (${escapeHtml(t.id)})</div>`;
    })
    .join("");
}
