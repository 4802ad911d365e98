// Request triage and moderation logic for the web app, kept apart from
// the components so that it is unit-tested.
import type { BulkResult, Conversation, Signal, Triage } from "./api";

/** isFiltered says whether a request belongs in the hidden "Filtered" sub-folder. */
export function isFiltered(c: Conversation): boolean {
  return c.folder === "requests" && c.request && !!c.triage?.filtered;
}

/** sortRequests orders requests as the server does: lowest score first. */
export function sortRequests(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => (a.triage?.score ?? 0) - (b.triage?.score ?? 0) || a.id.localeCompare(b.id));
}

/** signalLines explains a score: the signals that moved it, biggest
 * first, each with its sign ("+1.5 account created less than a day ago"). */
export function signalLines(t: Triage | undefined): string[] {
  if (!t) return [];
  return t.signals
    .filter((s) => s.name !== "base" && s.contribution !== 0)
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    .map((s) => `${s.contribution > 0 ? "+" : "−"}${Math.abs(s.contribution).toFixed(1)} ${s.detail}`);
}

/** whyFiltered is the short reason a filtered request shows: the
 * recipient's own filter when it matched, else the strongest reasons. */
export function whyFiltered(t: Triage | undefined): string {
  if (!t?.filtered) return "";
  const own = t.signals.find((s) => s.name === "your_filter");
  if (own) return own.detail.charAt(0).toUpperCase() + own.detail.slice(1);
  const top = t.signals.filter((s: Signal) => s.contribution > 0).sort((a, b) => b.contribution - a.contribution).slice(0, 2);
  return top.length ? "Looks like spam: " + top.map((s) => s.detail).join("; ") : "Looks like spam";
}

/** scorePercent shows a score as people read it ("93% spam-like"). */
export function scorePercent(t: Triage | undefined): string {
  return t ? `${Math.round(t.score * 100)}% spam-like` : "";
}

/** toggle adds or removes id from a selection. */
export function toggle(sel: ReadonlySet<string>, id: string): Set<string> {
  const out = new Set(sel);
  if (out.has(id)) out.delete(id);
  else out.add(id);
  return out;
}

/** bulkSummary says what a bulk action did, naming failures by reason. */
export function bulkSummary(results: BulkResult[]): string {
  const ok = results.filter((r) => r.ok).length;
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return `${ok} done.`;
  const reasons = [...new Set(failed.map((r) => r.detail || r.code || "failed"))].join("; ");
  return `${ok} done, ${failed.length} not: ${reasons}`;
}

/** filterKindLabel names a filter kind for people. */
export const filterKindLabel: Record<string, string> = {
  word: "Word or phrase", regex: "Pattern (regular expression)", domain_deny: "Links to a site", domain_allow: "Allowed site (others refused)",
};
