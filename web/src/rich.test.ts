import { describe, expect, it } from "vitest";
import type { Button, Conversation, Message } from "./api";
import { Business, Client } from "./api";
import { buttonView, iceBreakerPeer, quickReplyTarget, shownText } from "./rich";

const user = (id: string, kind = "person") => ({ id, handle: id, display_name: id.toUpperCase(), kind });
const msg = (id: string, seq: number, sender = "bot", over: Partial<Message> = {}): Message =>
  ({ id, conversation_id: "c1", seq, sender: user(sender), kind: "text", text: id, created_at: new Date(2026, 0, 1, 12, seq).toISOString(), ...over });
const qr = [{ title: "Yes", payload: "YES" }, { title: "No", payload: "NO" }];
const conv = (over: Partial<Conversation> = {}): Conversation => ({
  id: "c1", kind: "direct", last_seq: 0, last_activity_at: "2026-01-01T00:00:00Z", member_count: 2, folder: "inbox", status: "active",
  role: "member", pinned: false, read_seq: 0, unread_count: 0, request: false,
  members: [{ user: user("me"), role: "member", status: "active", read_seq: 0 }, { user: user("shop", "business"), role: "member", status: "active", read_seq: 0 }],
  ...over,
});

describe("shownText", () => {
  it("shows the body of a structured message, not the fallback", () => {
    expect(shownText(msg("a", 1, "bot", { text: "Pick one\nReply with: Yes / No", body: "Pick one" }))).toBe("Pick one");
    expect(shownText(msg("a", 1, "bot", { text: "[Track]\nReply with: Yes / No", body: "" }))).toBe(""); // parts only
    expect(shownText(msg("a", 1, "bob", { text: "plain" }))).toBe("plain");
    expect(shownText(msg("a", 1, "bob", { text: undefined, deleted: true }))).toBe("");
  });
});

describe("buttonView", () => {
  const tap = { tap: true, follow: true };
  it("makes postbacks tappable and links followable with their host", () => {
    expect(buttonView({ type: "postback", title: "Track", payload: "TRACK" }, tap)).toEqual({ kind: "postback", title: "Track", payload: "TRACK" });
    expect(buttonView({ type: "url", title: "Shop", url: "https://shop.example.com/a?b=1" }, tap))
      .toEqual({ kind: "link", title: "Shop", href: "https://shop.example.com/a?b=1", host: "shop.example.com" });
  });

  it("never links anything but http(s)", () => {
    for (const url of ["javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)", "data:text/html,<script>1</script>", "vbscript:x", "file:///etc/passwd", "//evil.example", "not a url", ""]) {
      const v = buttonView({ type: "url", title: "X", url } as Button, tap);
      expect(v.kind, url).toBe("inert");
      expect(JSON.stringify(v), url).not.toMatch(/javascript|data:|vbscript/i);
    }
  });

  it("stays inert in a request, on one's own message, or without a payload", () => {
    expect(buttonView({ type: "url", title: "Shop", url: "https://shop.example.com" }, { tap: false, follow: false }))
      .toEqual({ kind: "inert", title: "Shop", host: "shop.example.com" });
    expect(buttonView({ type: "postback", title: "Track", payload: "T" }, { tap: false, follow: true }).kind).toBe("inert");
    expect(buttonView({ type: "postback", title: "Track" }, tap).kind).toBe("inert");
    expect(buttonView({ type: "weird", title: "?" } as unknown as Button, tap).kind).toBe("inert");
  });
});

describe("quickReplyTarget", () => {
  it("shows chips under the latest message when someone else sent it", () => {
    expect(quickReplyTarget([msg("a", 1, "me"), msg("b", 2, "bot", { quick_replies: qr })], "me")).toBe("b");
  });

  it("drops them once anyone writes after, or for my own choices", () => {
    expect(quickReplyTarget([msg("b", 1, "bot", { quick_replies: qr }), msg("c", 2, "me")], "me")).toBeNull();
    expect(quickReplyTarget([msg("b", 1, "bot", { quick_replies: qr }), msg("c", 2, "bot")], "me")).toBeNull();
    expect(quickReplyTarget([msg("b", 1, "me", { quick_replies: qr })], "me")).toBeNull();
    expect(quickReplyTarget([msg("b", 1, "bot", { quick_replies: qr, deleted: true })], "me")).toBeNull();
    expect(quickReplyTarget([], "me")).toBeNull();
  });

  it("looks past system lines", () => {
    expect(quickReplyTarget([msg("b", 1, "bot", { quick_replies: qr }), msg("s", 2, "bot", { kind: "system" })], "me")).toBe("b");
  });
});

describe("iceBreakerPeer", () => {
  it("offers a business's ice breakers in a new or empty direct conversation", () => {
    expect(iceBreakerPeer(conv(), [], "me")).toBe("shop");
  });

  it("not once anything was said, in requests, groups, or with a person", () => {
    expect(iceBreakerPeer(conv(), [msg("a", 1, "me")], "me")).toBeNull();
    expect(iceBreakerPeer(conv({ last_seq: 1, last_message: msg("a", 1, "shop") }), [], "me")).toBeNull();
    expect(iceBreakerPeer(conv({ request: true }), [], "me")).toBeNull();
    expect(iceBreakerPeer(conv({ kind: "group" }), [], "me")).toBeNull();
    const people = conv({ members: [{ user: user("me"), role: "member", status: "active", read_seq: 0 }, { user: user("bob"), role: "member", status: "active", read_seq: 0 }] });
    expect(iceBreakerPeer(people, [], "me")).toBeNull();
  });
});

describe("API calls", () => {
  it("send a quick reply's title with its payload, postbacks, handovers and dry runs", async () => {
    const seen: { method: string; url: string; body?: unknown }[] = [];
    const c = new Client("t", "", async (url, init) => {
      seen.push({ method: init?.method ?? "GET", url, body: init?.body ? JSON.parse(init.body as string) : undefined });
      return new Response(JSON.stringify({ open: true, fired: [] }), { status: 200 });
    });
    await c.send("c1", { client_id: "x", text: "Yes", quick_reply: "YES" });
    await c.postback("c 1", "m/1", "TRACK");
    await new Business(c, "shop").handover("c1", "human");
    await new Business(c, "shop").handover("c1", "human", "refund over limit");
    await new Business(c, "shop").testRules({ text: "price?", rules: [] });
    await c.createBotToken("acme bot", "ci", ["read"], 0);
    await c.rotateBotToken("acmebot", "t1");
    expect(seen).toEqual([
      { method: "POST", url: "/api/v1/conversations/c1/messages", body: { client_id: "x", text: "Yes", quick_reply: "YES" } },
      { method: "POST", url: "/api/v1/conversations/c%201/messages/m%2F1/postback", body: { payload: "TRACK" } },
      { method: "POST", url: "/api/v1/business/shop/conversations/c1/handover", body: { to: "human" } },
      { method: "POST", url: "/api/v1/business/shop/conversations/c1/handover", body: { to: "human", reason: "refund over limit" } },
      { method: "POST", url: "/api/v1/business/shop/rules/test", body: { text: "price?", rules: [] } },
      { method: "POST", url: "/api/v1/bots/acme%20bot/tokens", body: { name: "ci", scopes: ["read"], expires_in_days: 0 } },
      { method: "POST", url: "/api/v1/bots/acmebot/tokens/t1/rotate", body: undefined },
    ]);
  });

  it("keep the field a problem names", async () => {
    const c = new Client("t", "", async () => new Response(JSON.stringify({ code: "invalid", detail: 'rule "x": bad', field: "rules" }), { status: 422 }));
    await expect(c.me()).rejects.toMatchObject({ status: 422, code: "invalid", field: "rules", message: 'rule "x": bad' });
  });
});
