import { describe, expect, it } from "vitest";
import { deliveryText, healthText, modesText, optinCardText, optinRequestOpen, pendingFiles, platformName, tagChoices } from "./channels";
import type { Message } from "./api";

const msg = (channel: Message["channel"]): Message => ({
  id: "m1", conversation_id: "c1", seq: 1, sender: { id: "u", handle: "~wh.x", display_name: "P", kind: "external" } as Message["sender"],
  kind: "image", created_at: "2026-11-27T10:00:00Z", channel,
});

describe("channels", () => {
  it("shows a channel's health", () => {
    const ok = healthText({ status: "ok", queued: 0 });
    expect(ok).toEqual({ pill: "OK", failing: false, paused: false, error: "", times: "Last in: never · last out: never" });
    const bad = healthText({ status: "failing", last_error: "send: token expired", last_error_at: "2026-11-27T10:00:00Z",
      last_inbound_at: "2026-11-27T09:00:00Z", queued: 2 });
    expect(bad.pill).toBe("Failing");
    expect(bad.failing).toBe(true);
    expect(bad.error).toMatch(/^Last error \(.+\): send: token expired$/);
    expect(bad.times).toMatch(/^Last in: .+ · last out: never · 2 queued$/);
    expect(bad.times).not.toContain("Last in: never");
  });
  it("names platforms", () => {
    expect(platformName("whatsapp")).toBe("WhatsApp");
    expect(platformName("nope")).toBe("");
    expect(platformName(undefined)).toBe("");
  });
  it("shows delivery and failures with the reason", () => {
    expect(deliveryText({ platform: "messenger", status: "delivered", mode: "standard" })).toEqual({ text: "Messenger: delivered", failed: false });
    expect(deliveryText({ platform: "whatsapp", status: "failed", error: "Re-engagement message (code 131047)" }))
      .toEqual({ text: "WhatsApp: not delivered — Re-engagement message (code 131047)", failed: true });
    expect(deliveryText({ platform: "instagram", status: "queued", error: "rate limited" })?.text).toBe("Instagram: sending — retrying: rate limited");
    expect(deliveryText({ platform: "messenger", status: "sent", mode: "human_agent" })?.text).toBe("Messenger: sent (human agent tag)");
    expect(deliveryText(undefined)).toBeNull();
  });
  it("describes files being fetched or failed", () => {
    expect(pendingFiles(msg(undefined))).toEqual([]);
    const files = pendingFiles(msg({ platform: "whatsapp", status: "delivered", attachments: [
      { type: "image", status: "fetching" }, { type: "file", name: "invoice.pdf", status: "failed", error: "the download answered Not Found (HTTP 404)" },
    ] }));
    expect(files[0]).toEqual({ text: "Fetching the image from WhatsApp…", failed: false });
    expect(files[1].failed).toBe(true);
    expect(files[1].text).toContain("“invoice.pdf” could not be fetched from WhatsApp: the download answered Not Found");
    // A person's message with pending files has no delivery line.
    expect(deliveryText(msg({ platform: "whatsapp", status: "delivered", attachments: [] }).channel)).toBeNull();
  });
  it("lists the open send modes and why the others are closed", () => {
    expect(modesText(null)).toBeNull();
    expect(modesText({ channel: null, modes: [{ mode: "standard", open: true, reason: "x" }] })).toBeNull();
    const t = modesText({ channel: { id: "c", platform: "messenger", name: "Page" }, modes: [
      { mode: "standard", open: false, reason: "the 24-hour window closed at 2026-11-26T10:00:00Z" },
      { mode: "human_agent", open: true, until: "2026-12-02T10:00:00Z", reason: "a reply written by a person" },
    ] }, new Date("2026-11-27T10:00:00Z"));
    expect(t?.open.length).toBe(1);
    expect(t?.open[0]).toMatch(/^Human agent reply until /);
    expect(t?.closed).toEqual(["Reply: the 24-hour window closed at 2026-11-26T10:00:00Z"]);
  });
  it("shows a paused channel and its held outbox", () => {
    const h = healthText({ status: "disabled", last_error: "send: token expired", last_error_at: "2026-11-27T10:00:00Z", queued: 3 });
    expect(h.pill).toBe("Paused");
    expect(h.paused).toBe(true);
    expect(h.failing).toBe(false);
    expect(h.times).toMatch(/ · 3 queued \(held until resumed\)$/);
    const modes = { channel: { id: "c", platform: "messenger" as const, name: "Page", disabled: true }, modes: [
      { mode: "standard", open: false, reason: "the channel is paused: nothing is sent through it until an admin resumes it" },
      { mode: "post_purchase_update", open: false, reason: "the channel is paused: nothing is sent through it until an admin resumes it" },
    ] };
    expect(modesText(modes)).toEqual({ open: [], closed: ["the channel is paused: nothing is sent through it until an admin resumes it"] });
    expect(tagChoices(modes)).toEqual([]);
  });
  it("offers the open update tags to send as, and names them on delivery", () => {
    const modes = { channel: { id: "c", platform: "messenger" as const, name: "Page" }, modes: [
      { mode: "standard", open: false, reason: "closed" },
      { mode: "confirmed_event_update", open: true, reason: "x" },
      { mode: "post_purchase_update", open: true, reason: "x" },
      { mode: "account_update", open: false, reason: "the person has not written yet" },
      { mode: "notification_message", open: true, reason: "campaigns" },
    ] };
    expect(tagChoices(modes)).toEqual([
      { mode: "confirmed_event_update", name: "Confirmed event update" }, { mode: "post_purchase_update", name: "Post-purchase update" },
    ]);
    expect(modesText(modes)?.open).toEqual(["Confirmed event update", "Post-purchase update", "Notification message (campaigns)"]);
    expect(deliveryText({ platform: "messenger", status: "sent", mode: "post_purchase_update" })?.text).toBe("Messenger: sent (post-purchase update tag)");
    expect(deliveryText({ platform: "messenger", status: "sent", mode: "notification_message" })?.text).toBe("Messenger: sent (notification message)");
  });
});

describe("opt-in requests", () => {
  const modes = (open: boolean, disabled = false) => ({
    channel: { id: "ch", platform: "messenger" as const, name: "Page", disabled },
    modes: [{ mode: "standard", open, reason: "" }, { mode: "optin_request", open, reason: open ? "" : "an opt-in request goes only within the standard window" }],
  });
  it("draws the card of a request", () => {
    expect(optinCardText({ topic_id: "t1", topic: "Weekly deals", title: "Get our deals", frequency: "WEEKLY" })).toBe("Asked to get Weekly deals updates weekly");
  });
  it("offers the request only while the mode is open", () => {
    expect(optinRequestOpen(modes(true))).toBe(true);
    expect(optinRequestOpen(modes(false))).toBe(false);
    expect(optinRequestOpen(modes(true, true))).toBe(false);
    expect(optinRequestOpen(null)).toBe(false);
    expect(modesText(modes(false))?.closed).toContain("Opt-in request: an opt-in request goes only within the standard window");
    expect(deliveryText({ platform: "messenger", status: "sent", mode: "optin_request" })?.text).toBe("Messenger: sent (opt-in request)");
  });
});
