import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { ApiError, Client, usedRoutes } from "./api";
import type { Conversation, Message, SyncEvent } from "./api";
import type { State } from "./state";
import { announcement, applyEvent, backoff, coalesce, deliveryState, emptyState, firstUnread, mergeList, mergeMessages, sortConversations, splitLinks, typingUsers } from "./state";

const user = (id: string) => ({ id, handle: id, display_name: id.toUpperCase(), kind: "person" });
const msg = (id: string, seq: number, sender = "bob", text = "hi"): Message =>
  ({ id, conversation_id: "c1", seq, sender: user(sender), kind: "text", text, created_at: new Date(2026, 0, 1, 12, seq).toISOString() });
const conv = (over: Partial<Conversation> = {}): Conversation => ({
  id: "c1", kind: "direct", last_seq: 1, last_activity_at: "2026-01-01T00:00:00Z", member_count: 2, folder: "inbox",
  status: "active", role: "member", pinned: false, read_seq: 1, unread_count: 0, request: false, ...over,
});
const ev = (type: string, over: Partial<SyncEvent> = {}): SyncEvent => ({ type, conversation_id: "c1", created_at: "2026-01-01T00:00:00Z", ...over });

describe("mergeMessages", () => {
  it("dedupes by id, replaces edits and orders by seq", () => {
    const out = mergeMessages([msg("a", 1), msg("b", 2)], [msg("c", 4), msg("b", 2, "bob", "edited"), msg("d", 3)]);
    expect(out.map((m) => m.id)).toEqual(["a", "b", "d", "c"]);
    expect(out[1].text).toBe("edited");
  });
});

describe("coalesce", () => {
  const tick = () => new Promise((r) => setTimeout(r, 0));
  it("never overlaps runs and runs once more for calls made during a run", async () => {
    let active = 0, runs = 0, maxActive = 0;
    const gates: (() => void)[] = [];
    const load = coalesce(async () => {
      active++; runs++; maxActive = Math.max(maxActive, active);
      await new Promise<void>((r) => gates.push(r));
      active--;
    });
    const first = load();
    await tick();
    let secondDone = false;
    const second = load().then(() => { secondDone = true; });
    load(); load(); // share the follow-up run
    expect(runs).toBe(1);
    gates.shift()!();
    await first;
    await tick();
    expect(runs).toBe(2); // the follow-up started after the calls
    expect(secondDone).toBe(false);
    gates.shift()!();
    await second;
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
  });
  it("retries a failed run", async () => {
    let calls = 0;
    const load = coalesce(async () => { if (++calls < 3) throw new Error("offline"); }, 1, 5);
    await load();
    expect(calls).toBe(3);
  });
});

describe("mergeList", () => {
  it("takes the fetched list as the set of conversations but keeps newer messages learned meanwhile", () => {
    const have = { c1: conv({ last_seq: 5, last_message: msg("e", 5), unread_count: 4 }), gone: conv({ id: "gone" }) };
    const out = mergeList(have, [conv({ last_seq: 3, unread_count: 2 }), conv({ id: "c2", last_seq: 7 })]);
    expect(Object.keys(out).sort()).toEqual(["c1", "c2"]);
    expect(out.c1.last_seq).toBe(5);
    expect(out.c1.last_message?.id).toBe("e");
    expect(out.c1.unread_count).toBe(4);
    expect(out.c2.last_seq).toBe(7);
  });
  it("takes the fetched conversation when it is as new or newer", () => {
    const out = mergeList({ c1: conv({ last_seq: 2, unread_count: 1 }) }, [conv({ last_seq: 4, unread_count: 0, read_seq: 4 })]);
    expect(out.c1.last_seq).toBe(4);
    expect(out.c1.unread_count).toBe(0);
  });
});

describe("applyEvent", () => {
  const base = () => ({ ...emptyState(), conversations: { c1: conv() }, messages: { c1: [msg("a", 1)] } });

  it("takes the presence snapshot whole, then follows presence events", () => {
    let s = applyEvent(base(), ev("presence", { actor_id: "bob", data: { online: true } }), "me", null);
    expect(s.online).toEqual({ bob: true });
    s = applyEvent(s, ev("presence.snapshot", { data: { online: ["ann", "cat"] } }), "me", null);
    expect(s.online).toEqual({ ann: true, cat: true });
    s = applyEvent(s, ev("presence", { actor_id: "ann", data: { online: false } }), "me", null);
    s = applyEvent(s, ev("presence", { actor_id: "dan", data: { online: true } }), "me", null);
    s = applyEvent(s, ev("presence", { actor_id: "me", data: { online: true } }), "me", null);
    expect(s.online).toEqual({ cat: true, dan: true });
  });

  it("appends a new message once and counts it unread when not open", () => {
    let s = applyEvent(base(), ev("message.created", { pos: 10, message: msg("b", 2) }), "me", null);
    s = applyEvent(s, ev("message.created", { pos: 10, message: msg("b", 2) }), "me", null); // replayed after a resume
    expect(s.messages.c1.map((m) => m.id)).toEqual(["a", "b"]);
    expect(s.conversations.c1.unread_count).toBe(1);
    expect(s.conversations.c1.last_message?.id).toBe("b");
  });

  it("does not count my own or the open conversation's messages", () => {
    expect(applyEvent(base(), ev("message.created", { message: msg("b", 2, "me") }), "me", null).conversations.c1.unread_count).toBe(0);
    expect(applyEvent(base(), ev("message.created", { message: msg("b", 2) }), "me", "c1").conversations.c1.unread_count).toBe(0);
  });

  it("replaces an unsent message with its tombstone", () => {
    const s = applyEvent(base(), ev("message.unsent", { message: { ...msg("a", 1), text: undefined, deleted: true } }), "me", null);
    expect(s.messages.c1[0].deleted).toBe(true);
  });

  it("tracks read markers of others and my own reads on other devices", () => {
    let s = applyEvent(base(), ev("read", { actor_id: "bob", seq: 1 }), "me", null);
    expect(s.readBy.c1.bob).toBe(1);
    s = applyEvent(s, ev("read", { actor_id: "bob", seq: 0 }), "me", null);
    expect(s.readBy.c1.bob).toBe(1); // never backwards
    s = applyEvent({ ...s, conversations: { c1: conv({ unread_count: 3, read_seq: 1, last_seq: 7 }) } }, ev("read", { actor_id: "me", seq: 5 }), "me", null);
    expect(s.conversations.c1.unread_count).toBe(3); // read up to 5 of 7 elsewhere: not all read
    expect(s.listStale).toBe(true);
    s = applyEvent({ ...s, conversations: { c1: conv({ unread_count: 3, read_seq: 1, last_seq: 7 }) } }, ev("read", { actor_id: "me", seq: 7 }), "me", null);
    expect(s.conversations.c1.unread_count).toBe(0);
    expect(s.conversations.c1.read_seq).toBe(7);
  });

  it("shows typing until it lapses or a message arrives", () => {
    let s = applyEvent(base(), ev("typing", { actor_id: "bob", data: { typing: true } }), "me", null, 1000);
    expect(typingUsers(s, "c1", 2000)).toEqual(["bob"]);
    expect(typingUsers(s, "c1", 1000 + 7000)).toEqual([]);
    s = applyEvent(s, ev("message.created", { message: msg("b", 2) }), "me", null);
    expect(typingUsers(s, "c1", 2000)).toEqual([]);
  });

  it("marks the list stale on membership and folder changes, and for unknown conversations", () => {
    expect(applyEvent(base(), ev("request.accepted"), "me", null).listStale).toBe(true);
    expect(applyEvent(base(), ev("message.created", { conversation_id: "c9", message: { ...msg("z", 1), conversation_id: "c9" } }), "me", null).listStale).toBe(true);
  });
});

describe("deliveryState", () => {
  it("moves from Sent to Delivered to Seen", () => {
    let s: State = { ...emptyState(), conversations: { c1: conv() } };
    expect(deliveryState(s, "c1", 3)).toBe("Sent");
    s = applyEvent(s, ev("delivered", { actor_id: "bob", seq: 3 }), "me", null);
    expect(deliveryState(s, "c1", 3)).toBe("Delivered");
    s = applyEvent(s, ev("read", { actor_id: "bob", seq: 3 }), "me", null);
    expect(deliveryState(s, "c1", 3)).toBe("Seen");
    expect(deliveryState(s, "c1", 4)).toBe("Sent"); // a newer message: not yet
  });
});

describe("deliveryState with read receipts off", () => {
  it("never says Seen, not even from markers received before", () => {
    let s: State = { ...emptyState(), conversations: { c1: conv() } };
    s = applyEvent(s, ev("delivered", { actor_id: "bob", seq: 3 }), "me", null);
    s = applyEvent(s, ev("read", { actor_id: "bob", seq: 3 }), "me", null);
    expect(deliveryState(s, "c1", 3, [3], false)).toBe("Delivered");
    expect(deliveryState({ ...s, deliveredBy: {} }, "c1", 3, [5], false)).toBe("Sent");
    expect(deliveryState(s, "c1", 3, [], true)).toBe("Seen");
  });
});

describe("firstUnread", () => {
  const history = [msg("a", 1), msg("b", 2, "me"), msg("c", 3), msg("d", 4, "me"), msg("e", 5)];

  it("goes above the first message after the reader's marker", () => {
    expect(firstUnread(history, 2, 5, "me")).toBe("c");
    expect(firstUnread(history, 0, 5, "me")).toBe("a");
  });

  it("skips the reader's own messages and system messages", () => {
    expect(firstUnread(history, 3, 5, "me")).toBe("e");
    const sys = { ...msg("s", 6), kind: "system", system: { action: "member_joined" } };
    expect(firstUnread([...history, sys, msg("f", 7)], 5, 7, "me")).toBe("f");
  });

  it("is none when everything is read or only the reader wrote since", () => {
    expect(firstUnread(history, 5, 5, "me")).toBeNull();
    expect(firstUnread(history.slice(0, 4), 3, 4, "me")).toBeNull();
    expect(firstUnread([], 0, 0, "me")).toBeNull();
  });

  it("ignores what arrives while the conversation is open", () => {
    expect(firstUnread(history, 3, 4, "me")).toBeNull(); // 5 came after opening
    expect(firstUnread([...history, msg("f", 6)], 1, 3, "me")).toBe("c"); // the divider stays where it was
  });

  it("waits while the first unread message is not loaded", () => {
    const page = [msg("x", 551), msg("y", 552)]; // 600 unread, the newest page loaded
    expect(firstUnread(page, 0, 600, "me")).toBeNull();
    expect(firstUnread(page, 550, 600, "me")).toBe("x");
  });
});

describe("announcement", () => {
  it("says who wrote what, in text", () => {
    expect(announcement(msg("a", 1, "bob", "<b>hi</b>"))).toBe("BOB: <b>hi</b>");
    expect(announcement({ ...msg("a", 1), text: undefined, kind: "image" })).toBe("BOB: sent an image");
  });
});

describe("splitLinks", () => {
  it("links http(s) only and keeps everything else as text", () => {
    const parts = splitLinks("see https://example.com/a?b=1. and javascript:alert(1) <script>x</script>");
    expect(parts).toEqual([
      { text: "see " },
      { text: "https://example.com/a?b=1", href: "https://example.com/a?b=1" },
      { text: ". and javascript:alert(1) <script>x</script>" },
    ]);
  });
});

describe("backoff", () => {
  it("doubles up to 30 s with jitter", () => {
    expect(backoff(0, () => 0)).toBe(250);
    expect(backoff(0, () => 1)).toBe(500);
    expect(backoff(3, () => 1)).toBe(4000);
    expect(backoff(20, () => 1)).toBe(30000);
  });
});

describe("sortConversations", () => {
  it("puts pinned first, then newest activity", () => {
    const list = [conv({ id: "a", last_activity_at: "2026-01-02" }), conv({ id: "b", pinned: true, last_activity_at: "2025-01-01" }), conv({ id: "c", last_activity_at: "2026-01-03" })];
    expect(sortConversations(list).map((c) => c.id)).toEqual(["b", "c", "a"]);
  });
});

describe("Client", () => {
  it("sends the token and turns problem+json into ApiError", async () => {
    let seen: { url: string; init?: RequestInit } | null = null;
    const c = new Client("tok", "http://x", async (url, init) => {
      seen = { url, init };
      return new Response(JSON.stringify({ code: "dm_not_allowed", detail: "no" }), { status: 403, headers: { "Content-Type": "application/problem+json" } });
    });
    await expect(c.startDirect("bob")).rejects.toEqual(new ApiError(403, "dm_not_allowed", "no"));
    expect(seen!.url).toBe("http://x/api/v1/conversations");
    expect((seen!.init!.headers as Record<string, string>).Authorization).toBe("Bearer tok");
  });

  it("uses only routes the OpenAPI document describes", () => {
    const doc = JSON.parse(readFileSync(new URL("../../httpapi/openapi.json", import.meta.url), "utf8"));
    for (const r of usedRoutes) {
      const [method, path] = r.split(" ");
      expect(doc.paths[path]?.[method.toLowerCase()], r).toBeTruthy();
    }
  });
});
