import { describe, expect, it } from "vitest";
import type { Conversation, Message, SyncEvent } from "./api";
import { applyEvent, DISAPPEAR_TIMERS, emptyState, expireLocally, systemLine, timerLabel } from "./state";

const user = (id: string) => ({ id, handle: id, display_name: id.toUpperCase(), kind: "person" });
const msg = (over: Partial<Message> = {}): Message =>
  ({ id: "m1", conversation_id: "c1", seq: 2, sender: user("ann"), kind: "text", text: "secret", created_at: "2026-01-01T12:00:00Z", ...over });
const conv = (over: Partial<Conversation> = {}): Conversation => ({
  id: "c1", kind: "direct", last_seq: 2, last_activity_at: "2026-01-01T00:00:00Z", member_count: 2, folder: "inbox",
  status: "active", role: "member", pinned: false, read_seq: 2, unread_count: 0, request: false, ...over,
});
const ev = (type: string, over: Partial<SyncEvent> = {}): SyncEvent => ({ type, conversation_id: "c1", created_at: "2026-01-01T00:00:00Z", ...over });

describe("timerLabel", () => {
  it("names every timer the server takes", () => {
    expect(DISAPPEAR_TIMERS.map(timerLabel)).toEqual(["Off", "5 minutes", "1 hour", "24 hours", "7 days", "90 days"]);
  });
});

describe("systemLine", () => {
  it("says who set or turned off the timer", () => {
    expect(systemLine(msg({ kind: "system", system: { action: "disappearing_set", disappear_after: 3600 } }))).toBe("ANN set disappearing messages to 1 hour");
    expect(systemLine(msg({ kind: "system", system: { action: "disappearing_set", disappear_after: 0 } }))).toBe("ANN turned off disappearing messages");
    expect(systemLine(msg({ kind: "system", system: { action: "member_added" } }))).toBe("member added");
  });
});

describe("expireLocally", () => {
  const at = Date.parse("2026-01-01T12:05:00Z");
  const m = msg({ expires_at: "2026-01-01T12:05:00Z", reactions: [{ emoji: "👍", count: 1, me: true }], attachments: [{ id: "x", kind: "image" }] });
  it("turns a message past its expiry into a tombstone", () => {
    const t = expireLocally(m, false, at);
    expect(t.deleted && t.expired).toBe(true);
    expect(t.text).toBeUndefined();
    expect(t.attachments).toBeUndefined();
    expect(t.reactions).toBeUndefined();
    expect(t.seq).toBe(2);
  });
  it("keeps it before the expiry, without one, and under a legal hold", () => {
    expect(expireLocally(m, false, at - 1)).toBe(m);
    const plain = msg();
    expect(expireLocally(plain, false, at)).toBe(plain);
    expect(expireLocally(m, true, at)).toBe(m);
  });
});

describe("applyEvent and disappearing messages", () => {
  const base = () => ({ ...emptyState(), conversations: { c1: conv() }, messages: { c1: [msg()] } });
  it("replaces the message with its tombstone on message.expired", () => {
    const s = applyEvent(base(), ev("message.expired", { pos: 9, message: msg({ text: undefined, deleted: true, expired: true }) }), "bob", "c1");
    expect(s.messages.c1).toHaveLength(1);
    expect(s.messages.c1[0].expired).toBe(true);
    expect(s.messages.c1[0].text).toBeUndefined();
    expect(s.conversations.c1.unread_count).toBe(0);
  });
  it("applies a new timer and a legal hold to the conversation at once", () => {
    let s = applyEvent(base(), ev("conversation.updated", { pos: 10, data: { disappear_after: 300 } }), "bob", null);
    expect(s.conversations.c1.disappear_after).toBe(300);
    s = applyEvent(s, ev("conversation.updated", { pos: 11, data: { legal_hold: true } }), "bob", null);
    expect(s.conversations.c1.legal_hold).toBe(true);
    expect(s.conversations.c1.disappear_after).toBe(300);
    expect(s.listStale).toBe(true);
  });
  it("marks a view-once message opened", () => {
    const s = applyEvent(base(), ev("message.opened", { pos: 12, message: msg({ view_once: true, opened: true }) }), "ann", "c1");
    expect(s.messages.c1[0].opened).toBe(true);
  });
});
