// The team inbox's pure rules: which events belong to an inbox, how they
// change what is on screen, the merged message-and-note timeline, the
// collision warning, saved-reply lookups and report figures. Free of the
// DOM so that unit tests cover them.
import { ApiError } from "./api";
import type { InboxQuery, Message, Note, SavedView, SyncEvent, VolumeBucket } from "./api";
import { mergeMessages } from "./state";

/** Who the inbox is for: the business, and the signed-in user. */
export interface InboxCtx { business: string; me: string }

/** forInbox says whether an event concerns the inbox of ctx.business: a
 * team member gets the business's changes with `as`; the business account
 * gets its own without; presence names the business in its data. */
export function forInbox(ev: SyncEvent, ctx: InboxCtx): boolean {
  if (ev.type === "resync") return true; // the stream started over: everything may have changed
  if (ev.type === "inbox.presence") return ev.data?.business === ctx.business;
  if (ev.type === "inbox.removed") return ev.data?.business === ctx.business;
  if (ev.as) return ev.as === ctx.business;
  return ctx.me === ctx.business;
}

/** Effect is what an event asks of the inbox screen. */
export interface Effect {
  /** the list and counts must be fetched again */
  list: boolean;
  /** the open conversation's item (status, assignee …) must be fetched again */
  item: boolean;
  /** the agents list changed */
  agents: boolean;
  /** the user is no longer on the team: leave the inbox */
  removed: boolean;
}

const messageTypes = new Set(["message.created", "message.edited", "message.unsent", "message.updated", "message.erased", "message.redacted",
  "reaction.added", "reaction.removed"]);

/** inboxEffect decides what an event of this inbox changes on screen. */
export function inboxEffect(ev: SyncEvent, open: string | null): Effect {
  const e: Effect = { list: false, item: false, agents: false, removed: false };
  const here = !!open && ev.conversation_id === open;
  switch (ev.type) {
    case "inbox.updated":
    case "handover":
      e.list = true;
      e.item = here;
      break;
    case "message.created":
    case "message.unsent":
    case "message.erased":
    case "message.redacted":
    case "conversation.created":
      e.list = true; // the last message and the order change
      break;
    case "inbox.agents":
      e.agents = true;
      break;
    case "inbox.removed":
      e.removed = true;
      break;
    case "resync":
      e.list = true;
      e.item = !!open;
      e.agents = true;
  }
  return e;
}

/** Thread is what the open conversation shows: its loaded messages, its
 * notes, and system lines for what happened while it was open (a postback
 * tapped, a handover). complete is true when the history is loaded from
 * the start. */
export interface Thread { messages: Message[]; notes: Note[]; complete: boolean; lines?: Line[] }

/** Line is a small system line of the timeline. */
export interface Line { id: string; at: string; text: string }

export const emptyThread = (): Thread => ({ messages: [], notes: [], complete: false, lines: [] });

const handoverReasons: Record<string, string> = {
  customer_asked: "the customer asked for a person", agent_replied: "a person replied", took_control: "", manual: "",
};

/** lineOf is the system line of a postback or handover event, or null. */
export function lineOf(ev: SyncEvent): Line | null {
  const d = ev.data ?? {};
  const id = `${ev.type}-${ev.pos ?? ev.created_at}`;
  if (ev.type === "postback" && typeof d.title === "string") return { id, at: ev.created_at, text: `Customer tapped “${d.title}”` };
  if (ev.type === "handover") {
    const raw = typeof d.reason === "string" ? d.reason : "";
    const why = raw in handoverReasons ? handoverReasons[raw] : raw;
    const what = d.control === "bot" ? "Given back to the bot" : "Handed over to people";
    return { id, at: ev.created_at, text: why ? `${what}: ${why}` : what };
  }
  return null;
}

/** applyThreadEvent folds a message or note event of the open
 * conversation into its thread; any other event leaves it as it is. */
export function applyThreadEvent(t: Thread, ev: SyncEvent, open: string): Thread {
  if (ev.conversation_id !== open) return t;
  if (messageTypes.has(ev.type) && ev.message) return { ...t, messages: mergeMessages(t.messages, [ev.message]) };
  if (ev.type === "channel.delivery" && typeof ev.data?.message_id === "string") {
    // A business message's status on Messenger, Instagram or WhatsApp
    // moved (or it failed, with the reason).
    const id = ev.data.message_id, status = String(ev.data.status ?? ""), error = String(ev.data.error ?? "");
    if (!t.messages.some((m) => m.id === id && m.channel)) return t;
    return { ...t, messages: t.messages.map((m) => m.id === id && m.channel ? { ...m, channel: { ...m.channel, status, error: error || undefined } } : m) };
  }
  if (ev.type === "note.created" && ev.data && typeof ev.data.id === "string") return { ...t, notes: mergeNotes(t.notes, [ev.data as unknown as Note]) };
  const line = lineOf(ev);
  if (line && !t.lines?.some((l) => l.id === line.id)) return { ...t, lines: [...(t.lines ?? []), line] };
  return t;
}

/** mergeNotes adds notes by id, oldest first. */
export function mergeNotes(list: Note[], incoming: Note[]): Note[] {
  const byID = new Map(list.map((n) => [n.id, n]));
  for (const n of incoming) byID.set(n.id, n);
  return [...byID.values()].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

export type Entry = { kind: "message"; at: string; m: Message } | { kind: "note"; at: string; n: Note } | { kind: "line"; at: string; l: Line };

/** timeline merges messages, notes and system lines by time (a note or
 * line of the same instant as a message comes after it). While earlier
 * history is not loaded, notes older than the first loaded message wait
 * with it. */
export function timeline(t: Thread): Entry[] {
  const first = t.messages[0]?.created_at;
  const notes = t.complete || !first ? t.notes : t.notes.filter((n) => n.created_at >= first);
  const extra: Entry[] = [...notes.map((n): Entry => ({ kind: "note", at: n.created_at, n })), ...(t.lines ?? []).map((l): Entry => ({ kind: "line", at: l.at, l }))]
    .sort((a, b) => time(a.at) - time(b.at));
  const out: Entry[] = [];
  let i = 0;
  for (const m of t.messages) {
    while (i < extra.length && time(extra[i].at) < time(m.created_at)) out.push(extra[i++]);
    out.push({ kind: "message", at: m.created_at, m });
  }
  for (; i < extra.length; i++) out.push(extra[i]);
  return out;
}

// RFC 3339 strings with different fraction lengths do not compare as text.
const time = (iso: string) => Date.parse(iso);

/** PRESENCE_TTL is how long "viewing" lasts without a refresh (the page
 * repeats it every minute); TYPING_TTL how long "typing" does. */
export const PRESENCE_TTL = 150_000;
export const INBOX_TYPING_TTL = 8000;

/** Presence is, per conversation, who else is there: user id → until
 * when they are typing and viewing (typing implies viewing). */
export type Presence = Record<string, Record<string, { typing: number; viewing: number }>>;

/** applyPresence records an inbox.presence event. */
export function applyPresence(p: Presence, ev: SyncEvent, me: string, now = Date.now()): Presence {
  const cid = ev.conversation_id, who = ev.actor_id, state = ev.data?.state;
  if (ev.type !== "inbox.presence" || !cid || !who || who === me) return p;
  const here = { ...p[cid] };
  if (state === "viewing") here[who] = { typing: 0, viewing: now + PRESENCE_TTL };
  else if (state === "typing") here[who] = { typing: now + INBOX_TYPING_TTL, viewing: now + PRESENCE_TTL };
  else delete here[who];
  return { ...p, [cid]: here };
}

/** collisionWarning says who else is on a conversation now, typing first:
 * "Ann is typing", "Ben is viewing". */
export function collisionWarning(p: Presence, cid: string, name: (id: string) => string, now = Date.now()): string[] {
  const rows = Object.entries(p[cid] ?? {});
  const typing = rows.filter(([, v]) => v.typing > now).map(([id]) => `${name(id)} is typing`);
  const viewing = rows.filter(([, v]) => v.typing <= now && v.viewing > now).map(([id]) => `${name(id)} is viewing`);
  return [...typing, ...viewing];
}

/** slashQuery returns what follows "/" when the composer holds a saved
 * reply shortcut being typed ("/hi" → "hi"), else null. */
export function slashQuery(text: string): string | null {
  const m = /^\/([a-z0-9_-]{0,32})$/i.exec(text);
  return m ? m[1].toLowerCase() : null;
}

/** missingText explains why a saved reply cannot be sent here. */
export function missingText(missing: string[]): string {
  if (missing.length === 0) return "";
  const names = missing.map((v) => `{{${v}}}`).join(", ");
  const what = missing.length === 1 ? "has no value" : "have no value";
  return `${names} ${what} in this conversation. Fill ${missing.length === 1 ? "it" : "them"} in on the contact, or edit the reply; it was not sent.`;
}

/** mentionParts cuts a note into text and @mentions of the given handles,
 * for highlighting (rendered as text, never markup). */
export function mentionParts(text: string, handles: string[]): { text: string; mention?: boolean }[] {
  const set = new Set(handles.map((h) => h.toLowerCase()));
  const out: { text: string; mention?: boolean }[] = [];
  let last = 0;
  for (const m of text.matchAll(/(^|[^\w@])@([a-z0-9_][a-z0-9_.]{0,31})/gi)) {
    if (!set.has(m[2].toLowerCase())) continue;
    const at = (m.index ?? 0) + m[1].length;
    if (at > last) out.push({ text: text.slice(last, at) });
    out.push({ text: "@" + m[2], mention: true });
    last = at + 1 + m[2].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/** parseLabels reads "VIP, wholesale" as labels. */
export function parseLabels(s: string): string[] {
  return [...new Set(s.split(",").map((l) => l.trim().toLowerCase()).filter(Boolean))];
}

/** duration shows milliseconds as "45s", "3m 05s", "2h 10m", "1d 4h"; 0 is "–". */
export function duration(ms: number): string {
  if (!ms) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export interface Bar { x: number; y: number; w: number; h: number; value: number; series: "opened" | "resolved"; label: string }

/** volumeBars lays out the report's volume as pairs of bars (opened,
 * resolved) in a width × height box, tallest bar at full height. */
export function volumeBars(volume: VolumeBucket[], width: number, height: number, label: (iso: string) => string): Bar[] {
  const max = Math.max(1, ...volume.flatMap((b) => [b.opened, b.resolved]));
  const slot = volume.length ? width / volume.length : 0;
  const w = Math.max(1, slot * 0.4);
  const out: Bar[] = [];
  volume.forEach((b, i) => {
    for (const [j, series] of (["opened", "resolved"] as const).entries()) {
      const value = b[series];
      const h = (value / max) * height;
      out.push({ x: i * slot + slot * 0.1 + j * w, y: height - h, w, h, value, series, label: label(b.start) });
    }
  });
  return out;
}

export const weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** parseIntervals reads "09:00-12:00, 13:00-17:00" as a day's intervals. */
export function parseIntervals(s: string): string[] {
  return s.split(",").map((x) => x.replace(/\s+/g, "")).filter(Boolean);
}

/** errText is an error's message for people: the server's for API errors. */
export function errText(err: unknown, fallback: string): string {
  return err instanceof ApiError ? err.message : fallback;
}

/** handoverError explains a refused handover. */
export function handoverError(err: unknown): string {
  if (err instanceof ApiError && err.code === "human_control") return "A person is handling this conversation: the bot may answer again once it is given back.";
  if (err instanceof ApiError && err.status === 409) return `Not changed: ${err.message}.`;
  return errText(err, "Not changed: the server cannot be reached");
}

/** viewQuery is the inbox query of a saved view: its own view (none means
 * all), status, team, label and assignee. */
export function viewQuery(v: SavedView): InboxQuery {
  const q: InboxQuery = { view: v.view || "all" };
  for (const k of ["status", "team", "label", "assignee"] as const) if (v[k]) q[k] = v[k];
  return q;
}

const viewNames: Record<string, string> = { all: "All", mine: "Mine", unassigned: "Unassigned", overdue: "Overdue", team: "Team" };

/** describeView says in words what a saved view shows, e.g.
 * "Unassigned · pending · label vip · assigned to @ann". */
export function describeView(v: SavedView, teamName: (id: string) => string = (id) => id): string {
  const parts = [v.view === "team" ? `Team ${teamName(v.team ?? "")}` : viewNames[v.view || "all"] ?? v.view ?? "All"];
  if (v.team && v.view !== "team") parts.push(`team ${teamName(v.team)}`);
  if (v.status) parts.push(v.status);
  if (v.label) parts.push(`label ${v.label}`);
  if (v.assignee) parts.push(`assigned to @${v.assignee}`);
  return parts.join(" · ");
}

/** cleanView trims a saved view from the form and drops empty fields; it
 * returns an error text when the view cannot be saved as it is. */
export function cleanView(v: SavedView, existing: SavedView[]): { view?: SavedView; error?: string } {
  const name = v.name.trim();
  if (!name) return { error: "Give the view a name." };
  if (existing.some((x) => x.name.toLowerCase() === name.toLowerCase())) return { error: `There is already a view named "${name}".` };
  if (v.view === "team" && !v.team) return { error: "A team view needs its team." };
  const out: SavedView = { name };
  if (v.view && v.view !== "all") out.view = v.view;
  for (const k of ["status", "team", "label", "assignee"] as const) {
    let x = (v[k] ?? "").trim();
    if (k === "assignee") x = x.replace(/^@/, "");
    if (k === "label") x = x.toLowerCase();
    if (x) out[k] = x;
  }
  return { view: out };
}
