// The campaigns page's pure rules: a segment form made into the API's
// Segment, a campaign's progress as shares of its audience, skip reasons
// and policy refusals in words, and which stream events move a campaign.
// Free of the DOM so that unit tests cover them.
import { ApiError } from "./api";
import type { CampaignPoint, CampaignView, Segment, SyncEvent } from "./api";

/** SegmentForm is what the segment builder holds: text as typed. */
export interface SegmentForm {
  /** labels, separated by commas */
  labels: string;
  /** one condition a line: "key=value", or "key" for any value */
  attributes: string;
  /** topic ids the contacts must be subscribed to */
  topics: string[];
  /** whole days, or "" for no condition */
  activeWithin: string;
  inactiveFor: string;
}

export const emptySegment: SegmentForm = { labels: "", attributes: "", topics: [], activeWithin: "", inactiveFor: "" };

const days = (s: string) => {
  const n = Number(s.trim());
  return Number.isInteger(n) && n > 0 ? n : 0;
};

/** segmentBody turns the form into the API's Segment, leaving out what is
 * empty: labels lower-cased and deduplicated, attributes split at the
 * first "=" (a bare key means any value). */
export function segmentBody(f: SegmentForm): Segment {
  const out: Segment = {};
  const labels = [...new Set(f.labels.split(",").map((l) => l.trim().toLowerCase()).filter(Boolean))];
  if (labels.length) out.labels = labels;
  const attrs: Record<string, string> = {};
  for (const line of f.attributes.split("\n")) {
    const i = line.indexOf("=");
    const key = (i < 0 ? line : line.slice(0, i)).trim();
    if (key) attrs[key] = i < 0 ? "" : line.slice(i + 1).trim();
  }
  if (Object.keys(attrs).length) out.attributes = attrs;
  if (f.topics.length) out.topics = [...new Set(f.topics)];
  if (days(f.activeWithin)) out.active_within_days = days(f.activeWithin);
  if (days(f.inactiveFor)) out.inactive_for_days = days(f.inactiveFor);
  return out;
}

/** describeSegment says in words whom a segment selects. */
export function describeSegment(s: Segment, topicName: (id: string) => string = (id) => id): string {
  const parts: string[] = [];
  if (s.labels?.length) parts.push("labelled " + s.labels.join(" and "));
  for (const [k, v] of Object.entries(s.attributes ?? {})) parts.push(v ? `${k} is ${v}` : `with a ${k}`);
  if (s.topics?.length) parts.push("subscribed to " + s.topics.map(topicName).join(" and "));
  if (s.active_within_days) parts.push(`wrote in the last ${s.active_within_days} day${s.active_within_days > 1 ? "s" : ""}`);
  if (s.inactive_for_days) parts.push(`silent for ${s.inactive_for_days} day${s.inactive_for_days > 1 ? "s" : ""}`);
  return parts.length ? "Contacts " + parts.join(", ") : "Every contact";
}

/** Progress is a campaign's counts and their whole percentages of its
 * audience (sent + skipped + failed + pending = total). */
export interface Progress {
  sent: number; skipped: number; failed: number; pending: number; total: number;
  sentPct: number; skippedPct: number; failedPct: number; donePct: number;
  /** the campaign will send nothing more */
  finished: boolean;
}

const pct = (n: number, total: number) => total > 0 ? Math.floor((n * 100) / total) : 0;

/** progress computes a campaign's progress; an empty audience that ended is
 * 100% done. */
export function progress(c: CampaignView): Progress {
  const skipped = Object.values(c.skipped ?? {}).reduce((a, b) => a + b, 0);
  const finished = c.status === "done" || c.status === "cancelled";
  const handled = c.sent + skipped + c.failed;
  return {
    sent: c.sent, skipped, failed: c.failed, pending: c.pending, total: c.total,
    sentPct: pct(c.sent, c.total), skippedPct: pct(skipped, c.total), failedPct: pct(c.failed, c.total),
    donePct: c.total > 0 ? pct(handled, c.total) : finished ? 100 : 0, finished,
  };
}

const reasons: Record<string, string> = {
  no_consent: "unsubscribed", frequency_cap: "frequency cap", window_closed: "window closed",
  no_conversation: "never wrote to you", no_account: "no Parley account", unresolved_variable: "missing a variable", merged: "contact merged",
  quiet_hours: "quiet hours", dm_not_allowed: "blocked you",
};

/** skipReason names a skip reason for people. */
export function skipReason(code: string): string {
  return reasons[code] ?? code.replace(/_/g, " ");
}

/** skippedText lists skips by reason, most first: "2 unsubscribed, 1 frequency cap". */
export function skippedText(skipped: Record<string, number> | null): string {
  return Object.entries(skipped ?? {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([r, n]) => `${n} ${skipReason(r)}`).join(", ");
}

/** campaignUpdate returns the campaign a stream event carries when it is a
 * campaign.progress event of campaign id (any campaign when id is ""). */
export function campaignUpdate(ev: SyncEvent, id: string): CampaignView | null {
  if (ev.type !== "campaign.progress") return null;
  const c = ev.data as unknown as CampaignView | undefined;
  if (!c || typeof c.id !== "string" || (id && c.id !== id)) return null;
  return c;
}

const policyHeads: Record<string, (detail: string) => string> = {
  window_closed: (d) => {
    const h = /the (\d+)-hour messaging window/.exec(d)?.[1];
    return `Outside the ${h ? h + "-hour" : "messaging"} window: only approved templates can be sent`;
  },
  no_consent: () => "This contact has not agreed to receive this kind of message",
  frequency_cap: () => "Too many promotional messages: this contact reached the frequency cap",
  quiet_hours: () => "Quiet hours for this contact: promotional messages wait",
};

/** policyText explains a refused send: a plain headline for the messaging
 * policy's refusals, then the server's detail; other errors as errText. */
export function policyText(err: unknown, fallback: string): string {
  if (!(err instanceof ApiError)) return fallback;
  const head = policyHeads[err.code];
  if (!head) return err.message;
  const detail = err.message.trim();
  return detail ? `${head(detail)} (${detail}).` : head(detail) + ".";
}

/** The series of a campaign's chart, in the order they are drawn. */
export const statSeries = ["sent", "read", "replied", "opted_out"] as const;
export type StatSeries = typeof statSeries[number];

/** StatBar is one bar of a campaign's chart. */
export interface StatBar { x: number; y: number; w: number; h: number; value: number; series: StatSeries; at: string }

/** statBars lays out a campaign's series as groups of bars (sent, read,
 * replied, opted out) per bucket in a width × height box, the tallest bar
 * at full height. */
export function statBars(series: CampaignPoint[], width: number, height: number): StatBar[] {
  const max = Math.max(1, ...series.flatMap((p) => statSeries.map((k) => p[k])));
  const slot = series.length ? width / series.length : 0;
  const w = Math.min(24, Math.max(0.5, (slot * 0.8) / statSeries.length));
  const out: StatBar[] = [];
  series.forEach((p, i) => {
    statSeries.forEach((k, j) => {
      const value = p[k];
      const h = (value / max) * height;
      out.push({ x: i * slot + slot * 0.1 + j * w, y: height - h, w, h, value, series: k, at: p.at ?? "" });
    });
  });
  return out;
}

/** rate is part of whole as a whole percentage ("–" of nothing). */
export function rate(part: number, whole: number): string {
  return whole > 0 ? Math.round((part * 100) / whole) + "%" : "–";
}

/** bucketLabel names a bucket width: "per minute", "per 15 minutes", "per 6 hours", "per day". */
export function bucketLabel(seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? "per day" : `per ${seconds / 86400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? "per hour" : `per ${seconds / 3600} hours`;
  return seconds === 60 ? "per minute" : `per ${Math.round(seconds / 60)} minutes`;
}
