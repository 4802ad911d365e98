// Client state and the pure rules that fold server events into it. Kept
// free of the DOM so that unit tests cover it.
import type { Conversation, Message, SyncEvent } from "./api";

export interface State {
  /** conversations by id */
  conversations: Record<string, Conversation>;
  /** loaded history per conversation, ascending by seq, unique by id */
  messages: Record<string, Message[]>;
  /** highest seq each other member has read, per conversation */
  readBy: Record<string, Record<string, number>>;
  /** highest seq delivered to each other member's devices, per conversation */
  deliveredBy: Record<string, Record<string, number>>;
  /** user ids typing per conversation, with the time their typing lapses */
  typing: Record<string, Record<string, number>>;
  /** set when an event says the conversation list must be fetched again */
  listStale: boolean;
  /** people online now, by user id: the stream's presence snapshot, kept
   * current by presence events (only people who show their presence) */
  online: Record<string, boolean>;
}

export const emptyState = (): State => ({ conversations: {}, messages: {}, readBy: {}, deliveredBy: {}, typing: {}, listStale: false, online: {} });

/** mergeMessages adds or replaces messages by id and keeps seq order. */
export function mergeMessages(list: Message[] | undefined, incoming: Message[]): Message[] {
  const byID = new Map<string, Message>();
  for (const m of list ?? []) byID.set(m.id, m);
  for (const m of incoming) byID.set(m.id, m);
  return [...byID.values()].sort((a, b) => a.seq - b.seq);
}

const messageEvents = new Set(["message.created", "message.edited", "message.unsent", "message.updated", "message.expired", "message.opened",
  "message.erased", "message.redacted",
  "reaction.added", "reaction.removed"]);
const listEvents = new Set(["conversation.created", "conversation.updated", "conversation.folder", "request.accepted",
  "member.joined", "member.invited", "member.left", "member.removed", "member.role"]);

/** coalesce wraps an async reload so that calls never overlap and none is
 * lost: a call made while a run is under way makes one more run follow it,
 * and every call's promise settles only after a run that started after the
 * call. A failed run is retried after retryMs, at most tries times. */
export function coalesce(run: () => Promise<void>, retryMs = 1000, tries = 3): () => Promise<void> {
  let running: Promise<void> | null = null;
  let pending: Promise<void> | null = null;
  const once = async () => {
    for (let i = 1; ; i++) {
      try {
        return await run();
      } catch {
        if (i >= tries) return;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  };
  const call = (): Promise<void> => {
    if (!running) {
      running = once().finally(() => { running = null; });
      return running;
    }
    // One run follows the current one, shared by every call made meanwhile.
    if (!pending) pending = running.then(() => { pending = null; return call(); });
    return pending;
  };
  return call;
}

/** mergeList takes a freshly fetched conversation list as the truth for
 * which conversations exist, but keeps what this device already learned
 * from events that arrived while the fetch ran: a newer last message, and
 * the unread count that went with it. */
export function mergeList(have: Record<string, Conversation>, fetched: Conversation[]): Record<string, Conversation> {
  const out: Record<string, Conversation> = {};
  for (const c of fetched) {
    const old = have[c.id];
    if (old && old.last_seq > c.last_seq) {
      out[c.id] = { ...c, last_seq: old.last_seq, last_message: old.last_message, last_activity_at: old.last_activity_at, unread_count: Math.max(c.unread_count, old.unread_count), read_seq: Math.max(c.read_seq, old.read_seq) };
    } else out[c.id] = c;
  }
  return out;
}

/** TYPING_TTL is how long a typing indicator lasts without a refresh. */
export const TYPING_TTL = 6000;

/** applyEvent folds one stream or sync event into the state. me is the
 * signed-in user's id; open is the conversation on screen, whose new
 * messages do not count as unread. */
export function applyEvent(s: State, ev: SyncEvent, me: string, open: string | null, now = Date.now()): State {
  const cid = ev.conversation_id ?? "";
  if (messageEvents.has(ev.type) && ev.message) {
    const m = ev.message;
    const next = { ...s, messages: { ...s.messages } };
    if (s.messages[cid]) next.messages[cid] = mergeMessages(s.messages[cid], [m]);
    const c = s.conversations[cid];
    if (!c) return { ...next, listStale: true };
    const conv = { ...c };
    // A replayed event (a resume from an older position) is no news.
    const isNew = m.seq > c.last_seq;
    if (m.seq >= c.last_seq) {
      conv.last_seq = m.seq;
      conv.last_message = m;
      conv.last_activity_at = m.created_at;
    }
    if (ev.type === "message.created" && isNew && m.sender.id !== me && cid !== open && m.seq > c.read_seq) conv.unread_count = c.unread_count + 1;
    next.conversations = { ...s.conversations, [cid]: conv };
    if (ev.type === "message.created" && s.typing[cid]?.[m.sender.id]) {
      const t = { ...s.typing[cid] };
      delete t[m.sender.id];
      next.typing = { ...s.typing, [cid]: t };
    }
    return next;
  }
  if (ev.type === "read" && ev.actor_id && ev.seq !== undefined) {
    if (ev.actor_id === me) {
      // Read on another device: all read only when it reached the end.
      const c = s.conversations[cid];
      if (!c) return s;
      if (ev.seq < c.last_seq) return { ...s, listStale: true, conversations: { ...s.conversations, [cid]: { ...c, read_seq: Math.max(c.read_seq, ev.seq) } } };
      return { ...s, conversations: { ...s.conversations, [cid]: { ...c, read_seq: Math.max(c.read_seq, ev.seq), unread_count: 0 } } };
    }
    const prev = s.readBy[cid]?.[ev.actor_id] ?? 0;
    return { ...s, readBy: { ...s.readBy, [cid]: { ...s.readBy[cid], [ev.actor_id]: Math.max(prev, ev.seq) } } };
  }
  if (ev.type === "delivered" && ev.actor_id && ev.actor_id !== me && ev.seq !== undefined) {
    const prev = s.deliveredBy[cid]?.[ev.actor_id] ?? 0;
    return { ...s, deliveredBy: { ...s.deliveredBy, [cid]: { ...s.deliveredBy[cid], [ev.actor_id]: Math.max(prev, ev.seq) } } };
  }
  if (ev.type === "presence.snapshot" && Array.isArray(ev.data?.online)) {
    // A new stream's first word on presence replaces what was known.
    const online: Record<string, boolean> = {};
    for (const id of ev.data.online) if (typeof id === "string") online[id] = true;
    return { ...s, online };
  }
  if (ev.type === "presence" && ev.actor_id && ev.actor_id !== me && typeof ev.data?.online === "boolean") {
    const online = { ...s.online };
    if (ev.data.online) online[ev.actor_id] = true;
    else delete online[ev.actor_id];
    return { ...s, online };
  }
  if (ev.type === "typing" && ev.actor_id && ev.actor_id !== me) {
    const t = { ...s.typing[cid] };
    if (ev.data?.typing) t[ev.actor_id] = now + TYPING_TTL;
    else delete t[ev.actor_id];
    return { ...s, typing: { ...s.typing, [cid]: t } };
  }
  if (ev.type === "conversation.updated" && s.conversations[cid] && ev.data) {
    // The timer and the hold apply at once; the list reload brings the rest.
    const patch: Partial<Conversation> = {};
    if (typeof ev.data.disappear_after === "number") patch.disappear_after = ev.data.disappear_after;
    if (typeof ev.data.legal_hold === "boolean") patch.legal_hold = ev.data.legal_hold;
    return { ...s, listStale: true, conversations: { ...s.conversations, [cid]: { ...s.conversations[cid], ...patch } } };
  }
  if (listEvents.has(ev.type)) return { ...s, listStale: true };
  return s;
}

/** DISAPPEAR_TIMERS are the timers a conversation may have, in seconds. */
export const DISAPPEAR_TIMERS = [0, 300, 3600, 86400, 604800, 7776000];

/** timerLabel names a disappearing-messages timer. */
export function timerLabel(seconds: number): string {
  if (!seconds) return "Off";
  const units: [number, string][] = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  for (const [n, name] of units) {
    if (seconds % n === 0) {
      const k = seconds / n;
      // 24 hours reads better than 1 day, as the big apps say it.
      if (name === "day" && k === 1) return "24 hours";
      return `${k} ${name}${k === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

/** systemLine is the text of a system message. */
export function systemLine(m: Message): string {
  const who = m.sender.display_name || m.sender.handle;
  const action = String(m.system?.action ?? "");
  if (action === "disappearing_set") {
    const n = Number(m.system?.disappear_after ?? 0);
    return n ? `${who} set disappearing messages to ${timerLabel(n)}` : `${who} turned off disappearing messages`;
  }
  return action.replace(/_/g, " ");
}

/** expireLocally shows a message past its expiry as the server will: a
 * tombstone. An open view removes disappearing content on time without
 * waiting for the message.expired event (a legal hold keeps it). */
export function expireLocally(m: Message, held: boolean, now = Date.now()): Message {
  if (held || m.deleted || !m.expires_at || Date.parse(m.expires_at) > now) return m;
  return { ...m, deleted: true, expired: true, text: undefined, body: undefined, attachments: undefined, card: undefined,
    reactions: undefined, quick_replies: undefined, buttons: undefined, cards: undefined };
}

/** typingNames lists who is typing in a conversation now. */
export function typingUsers(s: State, cid: string, now = Date.now()): string[] {
  return Object.entries(s.typing[cid] ?? {}).filter(([, until]) => until > now).map(([id]) => id);
}

/** backoff is the wait before reconnect attempt n (0-based): doubling from
 * 500 ms to 30 s, with jitter so that a restarted server is not stampeded. */
export function backoff(n: number, rand = Math.random): number {
  const base = Math.min(30000, 500 * 2 ** Math.min(n, 10));
  return Math.round(base / 2 + (rand() * base) / 2);
}

/** sortConversations orders a folder as the server does: pinned first,
 * then newest activity. */
export function sortConversations(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.last_activity_at.localeCompare(a.last_activity_at) || b.id.localeCompare(a.id));
}

/** dayLabel names the day of a message for separators. */
export function dayLabel(iso: string, today = new Date()): string {
  const d = new Date(iso);
  const key = (x: Date) => `${x.getFullYear()}-${x.getMonth()}-${x.getDate()}`;
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (key(d) === key(today)) return "Today";
  if (key(d) === key(yesterday)) return "Yesterday";
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** safeLink returns an http(s) URL as it may be opened, or null: links in
 * messages are shown as text, and only these become clickable. */
export function safeLink(raw: string): string | null {
  try {
    const u = new URL(raw);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

/** splitLinks cuts text into plain parts and http(s) links. */
export function splitLinks(text: string): { text: string; href?: string }[] {
  const out: { text: string; href?: string }[] = [];
  const re = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    const url = m[0].replace(/[.,;:!?)\]}]+$/, "");
    const at = m.index ?? 0;
    if (at > last) out.push({ text: text.slice(last, at) });
    const href = safeLink(url);
    out.push(href ? { text: url, href } : { text: url });
    last = at + url.length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/** deliveryState says how far the viewer's last message got: "Seen" when
 * another member read it, "Delivered" when it reached another member's
 * device, "Sent" once the server has it. With read receipts off (receipts
 * false) it never says "Seen", not even from markers received before. */
export function deliveryState(s: State, cid: string, mySeq: number, memberReadSeqs: number[] = [], receipts = true): "Seen" | "Delivered" | "Sent" {
  const read = receipts ? Math.max(0, ...Object.values(s.readBy[cid] ?? {}), ...memberReadSeqs) : 0;
  if (read >= mySeq) return "Seen";
  const delivered = Math.max(0, ...Object.values(s.deliveredBy[cid] ?? {}));
  return delivered >= mySeq ? "Delivered" : "Sent";
}

/** firstUnread is the id of the message a "New messages" divider goes
 * above: the first message after readSeq (the reader's marker when the
 * conversation was opened) up to lastSeq (the newest message then) written
 * by someone else; what arrives while the conversation is open is no
 * reason for a divider. None when nothing was unread, or when the first
 * unread message is not loaded yet (the loaded history starts after
 * readSeq + 1): the divider appears once earlier history brings it in.
 * messages are ascending by seq without gaps. */
export function firstUnread(messages: Message[], readSeq: number, lastSeq: number, me: string): string | null {
  if (messages.length === 0 || messages[0].seq > readSeq + 1) return null;
  const m = messages.find((x) => x.seq > readSeq && x.seq <= lastSeq && x.sender.id !== me && x.kind !== "system");
  return m ? m.id : null;
}

/** announcement is what the open conversation's live region says about a
 * newly arrived message (text only, read by screen readers). */
export function announcement(m: Message): string {
  const who = m.sender.display_name || m.sender.handle;
  const what = m.deleted ? "unsent a message" : m.text ? m.text.slice(0, 200) : `sent ${m.kind === "image" ? "an image" : m.kind === "audio" ? "a voice note" : "a " + m.kind}`;
  return `${who}: ${what}`;
}
