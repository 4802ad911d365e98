import { describe, expect, it } from "vitest";
import type { Message, Note, SyncEvent } from "./api";
import { ApiError, Business, Client } from "./api";
import {
  applyPresence, applyThreadEvent, collisionWarning, duration, emptyThread, forInbox, handoverError, inboxEffect, lineOf, mentionParts, missingText,
  parseIntervals, parseLabels, slashQuery, timeline, volumeBars, viewQuery, describeView, cleanView,
} from "./inbox-state";
import type { Thread } from "./inbox-state";

const user = (id: string) => ({ id, handle: id, display_name: id.toUpperCase(), kind: "person" });
const at = (min: number, ms = 0) => new Date(Date.UTC(2026, 10, 27, 9, min, 0, ms)).toISOString();
const msg = (id: string, seq: number, min: number, sender = "cus"): Message =>
  ({ id, conversation_id: "c1", seq, sender: user(sender), kind: "text", text: id, created_at: at(min) });
const note = (id: string, min: number, text = "psst"): Note =>
  ({ id, conversation_id: "c1", author: user("ann"), text, mentions: [], created_at: at(min) });
const ev = (type: string, over: Partial<SyncEvent> = {}): SyncEvent => ({ type, conversation_id: "c1", created_at: at(0), ...over });
const ctx = { business: "shop", me: "ann" };

describe("timeline", () => {
  it("merges notes between messages by time, a note at the same instant after the message", () => {
    const t: Thread = { messages: [msg("m1", 1, 0), msg("m2", 2, 5), msg("m3", 3, 10)], notes: [note("n1", 3), note("n2", 10), note("n3", 12)], complete: true };
    expect(timeline(t).map((e) => (e.kind === "note" ? e.n.id : e.m.id))).toEqual(["m1", "n1", "m2", "m3", "n2", "n3"]);
  });

  it("compares times, not strings of different precision", () => {
    const m = { ...msg("m1", 1, 0), created_at: "2026-11-27T09:00:00.5Z" };
    const n = { ...note("n1", 0), created_at: "2026-11-27T09:00:00.123456789Z" };
    expect(timeline({ messages: [m], notes: [n], complete: true }).map((e) => e.kind)).toEqual(["note", "message"]);
  });

  it("keeps notes older than the loaded history back until it is loaded", () => {
    const t: Thread = { messages: [msg("m9", 9, 20)], notes: [note("old", 1), note("new", 21)], complete: false };
    expect(timeline(t).map((e) => (e.kind === "note" ? e.n.id : e.m.id))).toEqual(["m9", "new"]);
    expect(timeline({ ...t, complete: true }).map((e) => (e.kind === "note" ? e.n.id : e.m.id))).toEqual(["old", "m9", "new"]);
  });

  it("shows notes alone when there are no messages", () => {
    expect(timeline({ messages: [], notes: [note("n1", 1)], complete: false })).toHaveLength(1);
  });
});

describe("applyThreadEvent", () => {
  it("appends new messages and notes of the open conversation once", () => {
    let t = { ...emptyThread(), messages: [msg("m1", 1, 0)] };
    t = applyThreadEvent(t, ev("message.created", { message: msg("m2", 2, 1, "shop") }), "c1");
    t = applyThreadEvent(t, ev("message.created", { message: msg("m2", 2, 1, "shop") }), "c1"); // replayed
    t = applyThreadEvent(t, ev("note.created", { data: note("n1", 2) as unknown as Record<string, unknown> }), "c1");
    t = applyThreadEvent(t, ev("note.created", { data: note("n1", 2) as unknown as Record<string, unknown> }), "c1");
    expect(t.messages.map((m) => m.id)).toEqual(["m1", "m2"]);
    expect(t.notes.map((n) => n.id)).toEqual(["n1"]);
  });

  it("replaces an edited or unsent message and ignores other conversations", () => {
    let t = { ...emptyThread(), messages: [msg("m1", 1, 0)] };
    t = applyThreadEvent(t, ev("message.unsent", { message: { ...msg("m1", 1, 0), text: undefined, deleted: true } }), "c1");
    expect(t.messages[0].deleted).toBe(true);
    const other = applyThreadEvent(t, ev("message.created", { conversation_id: "c2", message: { ...msg("x", 1, 0), conversation_id: "c2" } }), "c1");
    expect(other).toBe(t);
  });

  it("moves a channel message's delivery status and shows why it failed", () => {
    let t = { ...emptyThread(), messages: [{ ...msg("m1", 1, 0, "shop"), channel: { platform: "whatsapp" as const, status: "queued" } }, msg("m2", 2, 1)] };
    t = applyThreadEvent(t, ev("channel.delivery", { data: { message_id: "m1", status: "sent", error: "" } }), "c1");
    expect(t.messages[0].channel).toEqual({ platform: "whatsapp", status: "sent", error: undefined });
    t = applyThreadEvent(t, ev("channel.delivery", { data: { message_id: "m1", status: "failed", error: "Message undeliverable (code 131026)" } }), "c1");
    expect(t.messages[0].channel?.status).toBe("failed");
    expect(t.messages[0].channel?.error).toBe("Message undeliverable (code 131026)");
    // A message without a channel status, or not loaded, is left alone.
    const same = applyThreadEvent(t, ev("channel.delivery", { data: { message_id: "m2", status: "sent" } }), "c1");
    expect(same).toBe(t);
  });
});

describe("inbox events", () => {
  it("belong to the inbox of the business they are for", () => {
    expect(forInbox(ev("inbox.updated", { as: "shop" }), ctx)).toBe(true);
    expect(forInbox(ev("inbox.updated", { as: "other" }), ctx)).toBe(false);
    expect(forInbox(ev("message.created"), ctx)).toBe(false); // the agent's own chats
    expect(forInbox(ev("message.created"), { business: "shop", me: "shop" })).toBe(true); // the business account itself
    expect(forInbox(ev("inbox.presence", { data: { state: "viewing", business: "shop" } }), ctx)).toBe(true);
    expect(forInbox(ev("inbox.removed", { data: { business: "other" } }), ctx)).toBe(false);
    expect(forInbox(ev("resync"), ctx)).toBe(true);
  });

  it("refetch the list, the open item, the team, or leave the inbox", () => {
    expect(inboxEffect(ev("inbox.updated"), "c1")).toEqual({ list: true, item: true, agents: false, removed: false });
    expect(inboxEffect(ev("inbox.updated"), "c2").item).toBe(false);
    expect(inboxEffect(ev("message.created"), null).list).toBe(true);
    expect(inboxEffect(ev("note.created"), "c1")).toEqual({ list: false, item: false, agents: false, removed: false });
    expect(inboxEffect(ev("inbox.agents"), null).agents).toBe(true);
    expect(inboxEffect(ev("inbox.removed"), null).removed).toBe(true);
  });

  it("warn who else is viewing or typing, until they leave or it lapses", () => {
    const name = (id: string) => ({ ben: "Ben", cat: "Cat" })[id] ?? id;
    let p = applyPresence({}, ev("inbox.presence", { actor_id: "ben", data: { state: "viewing", business: "shop" } }), "ann", 0);
    p = applyPresence(p, ev("inbox.presence", { actor_id: "cat", data: { state: "typing", business: "shop" } }), "ann", 0);
    p = applyPresence(p, ev("inbox.presence", { actor_id: "ann", data: { state: "typing", business: "shop" } }), "ann", 0); // me
    expect(collisionWarning(p, "c1", name, 1000)).toEqual(["Cat is typing", "Ben is viewing"]);
    expect(collisionWarning(p, "c1", name, 20_000)).toEqual(["Ben is viewing", "Cat is viewing"]); // typing lapsed
    p = applyPresence(p, ev("inbox.presence", { actor_id: "ben", data: { state: "left", business: "shop" } }), "ann", 21_000);
    expect(collisionWarning(p, "c1", name, 21_000)).toEqual(["Cat is viewing"]);
    expect(collisionWarning(p, "c1", name, 10 * 60_000)).toEqual([]);
  });
});

describe("saved replies", () => {
  it("open on a slash shortcut only", () => {
    expect(slashQuery("/")).toBe("");
    expect(slashQuery("/Hi")).toBe("hi");
    expect(slashQuery("/hi there")).toBeNull();
    expect(slashQuery("hi")).toBeNull();
  });

  it("explain which variables are missing", () => {
    expect(missingText([])).toBe("");
    expect(missingText(["conversation.order_id"])).toBe(
      "{{conversation.order_id}} has no value in this conversation. Fill it in on the contact, or edit the reply; it was not sent.");
    expect(missingText(["contact.first_name", "contact.tier"])).toMatch(/^\{\{contact\.first_name\}\}, \{\{contact\.tier\}\} have no value .* Fill them in/);
  });

  it("send saved_reply, not text, and encode the render query", async () => {
    const seen: { url: string; body?: string }[] = [];
    const c = new Client("t", "", async (url, init) => {
      seen.push({ url, body: init?.body as string });
      return new Response(JSON.stringify({ text: "", missing: [] }), { status: 200 });
    });
    const b = new Business(c, "shop");
    await b.send("c 1", { client_id: "x", saved_reply: "r1" });
    await b.renderReply("r1", "c&1");
    expect(seen[0].url).toBe("/api/v1/business/shop/conversations/c%201/messages");
    expect(JSON.parse(seen[0].body!)).toEqual({ client_id: "x", saved_reply: "r1" });
    expect(seen[1].url).toBe("/api/v1/business/shop/saved-replies/r1/render?conversation=c%261");
  });
});

describe("helpers", () => {
  it("highlight mentions of known handles only, as text", () => {
    expect(mentionParts("@ben look, mail@x.com and @nobody", ["ben"])).toEqual([
      { text: "@ben", mention: true }, { text: " look, mail@x.com and @nobody" }]);
  });

  it("read labels and intervals", () => {
    expect(parseLabels(" VIP, billing,,vip ")).toEqual(["vip", "billing"]);
    expect(parseIntervals("09:00 - 12:00, 13:00-17:30,")).toEqual(["09:00-12:00", "13:00-17:30"]);
  });

  it("format durations", () => {
    expect(duration(0)).toBe("–");
    expect(duration(5743)).toBe("6s");
    expect(duration(185_000)).toBe("3m 05s");
    expect(duration(2 * 3600_000 + 600_000)).toBe("2h 10m");
    expect(duration(28 * 3600_000)).toBe("1d 4h");
  });

  it("lay out volume bars with the tallest at full height", () => {
    const bars = volumeBars([{ start: "a", opened: 2, resolved: 1 }, { start: "b", opened: 4, resolved: 0 }], 100, 50, (s) => s);
    expect(bars).toHaveLength(4);
    const tallest = bars.find((b) => b.value === 4)!;
    expect(tallest).toMatchObject({ h: 50, y: 0, series: "opened", label: "b" });
    expect(bars.find((b) => b.label === "a" && b.series === "resolved")!.h).toBe(12.5);
    expect(bars.every((b) => b.x >= 0 && b.x + b.w <= 100)).toBe(true);
  });
});

describe("saved views", () => {
  it("turn into the inbox query they stand for", () => {
    expect(viewQuery({ name: "VIP" })).toEqual({ view: "all" });
    expect(viewQuery({ name: "Waiting", view: "unassigned", status: "pending", label: "vip", team: "", assignee: "ann" }))
      .toEqual({ view: "unassigned", status: "pending", label: "vip", assignee: "ann" });
  });

  it("describe themselves in words", () => {
    expect(describeView({ name: "x" })).toBe("All");
    expect(describeView({ name: "x", view: "team", team: "t1", status: "open" }, () => "Billing")).toBe("Team Billing · open");
    expect(describeView({ name: "x", view: "mine", label: "vip", assignee: "ann" })).toBe("Mine · label vip · assigned to @ann");
  });

  it("are cleaned and checked before saving", () => {
    expect(cleanView({ name: "  VIP ", view: "all", status: "", label: " VIP ", assignee: "@ann", team: "" }, []))
      .toEqual({ view: { name: "VIP", label: "vip", assignee: "ann" } });
    expect(cleanView({ name: "vip" }, [{ name: "VIP" }]).error).toMatch(/already/);
    expect(cleanView({ name: " " }, []).error).toMatch(/name/);
    expect(cleanView({ name: "T", view: "team" }, []).error).toMatch(/team/);
  });

  it("reach the inbox as query parameters", async () => {
    let url = "";
    const biz = new Business(new Client("t", "", async (u) => { url = u; return new Response(JSON.stringify({ items: [] })); }), "shop");
    await biz.inbox({ view: "all", status: "open", team: "t1", assignee: "ann", label: "vip" });
    expect(url).toBe("/api/v1/business/shop/conversations?view=all&status=open&label=vip&team=t1&assignee=ann");
  });
});

describe("handover and postbacks", () => {
  it("refetch the item and the list on a handover", () => {
    expect(inboxEffect(ev("handover", { as: "shop" }), "c1")).toEqual({ list: true, item: true, agents: false, removed: false });
    expect(inboxEffect(ev("postback", { as: "shop" }), "c1")).toEqual({ list: false, item: false, agents: false, removed: false });
  });

  it("put a system line in the open conversation's timeline, once", () => {
    const tap = ev("postback", { pos: 7, created_at: at(2), data: { payload: "TRACK", title: "Track order", message_id: "m1" } });
    let t: Thread = { ...emptyThread(), messages: [msg("m1", 1, 1, "shop"), msg("m2", 2, 3)], complete: true };
    t = applyThreadEvent(t, tap, "c1");
    t = applyThreadEvent(t, tap, "c1"); // replayed
    t = applyThreadEvent(t, ev("handover", { pos: 8, created_at: at(4), data: { control: "human", reason: "customer_asked" } }), "c1");
    expect(timeline(t).map((e) => (e.kind === "line" ? e.l.text : e.kind === "message" ? e.m.id : e.n.id)))
      .toEqual(["m1", "Customer tapped “Track order”", "m2", "Handed over to people: the customer asked for a person"]);
  });

  it("say who holds the conversation after a handover", () => {
    expect(lineOf(ev("handover", { data: { control: "bot", reason: "manual" } }))?.text).toBe("Given back to the bot");
    expect(lineOf(ev("handover", { data: { control: "human", reason: "refund over limit" } }))?.text).toBe("Handed over to people: refund over limit");
    expect(lineOf(ev("handover", { data: { control: "human", reason: "took_control" } }))?.text).toBe("Handed over to people");
    expect(lineOf(ev("inbox.updated"))).toBeNull();
  });

  it("explain a refused handover", () => {
    expect(handoverError(new ApiError(409, "human_control", "a person is handling this conversation"))).toMatch(/^A person is handling this conversation/);
    expect(handoverError(new ApiError(409, "conflict", "the business has no bot to hand over to"))).toBe("Not changed: the business has no bot to hand over to.");
    expect(handoverError(new TypeError("fetch failed"))).toMatch(/cannot be reached/);
  });
});
