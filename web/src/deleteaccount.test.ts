import { describe, expect, it } from "vitest";
import type { AccountDeletion, Conversation, Message, SyncEvent } from "./api";
import { deletionSummary } from "./deleteaccount";
import { applyEvent, emptyState } from "./state";

const base: AccountDeletion = {
  handle: "alice", policy: "erase", erased: 3, kept: 0, held: 0, sessions_ended: 2, conversations_left: 1, bots_retired: 0,
  handle_reserved_until: "2026-12-27T00:00:00Z",
};

describe("deletionSummary", () => {
  it("says what erase and anonymise did, and what a legal hold kept", () => {
    expect(deletionSummary(base)).toBe("Your account @alice is deleted: 3 messages erased.");
    expect(deletionSummary({ ...base, policy: "anonymise", erased: 0, kept: 1 }))
      .toBe("Your account @alice is deleted: 1 message kept, shown as from a deleted account.");
    expect(deletionSummary({ ...base, erased: 1, kept: 2, held: 2 })).toContain("2 messages are kept under a legal hold");
  });
});

describe("erased and redacted messages", () => {
  const user = (id: string) => ({ id, handle: id, display_name: id, kind: "person" });
  const msg: Message = { id: "a", conversation_id: "c1", seq: 1, sender: user("bob"), kind: "text", text: "secret", created_at: "2026-01-01T00:00:00Z" };
  const conv = { id: "c1", kind: "direct", last_seq: 1, last_activity_at: "2026-01-01T00:00:00Z", member_count: 2, folder: "inbox",
    status: "active", role: "member", pinned: false, read_seq: 1, unread_count: 0, request: false } as Conversation;
  const state = () => ({ ...emptyState(), conversations: { c1: conv }, messages: { c1: [msg] } });
  const ev = (type: string, message: Message): SyncEvent => ({ type, conversation_id: "c1", created_at: "2026-01-01T00:00:00Z", message });

  it("replaces the message with the event's view", () => {
    const gone = { ...msg, text: undefined, deleted: true, sender: { id: "bob", handle: "", display_name: "Deleted account", kind: "person", deleted: true } };
    expect(applyEvent(state(), ev("message.erased", gone), "me", null).messages.c1[0]).toEqual(gone);
    const redacted = { ...msg, text: "This message was redacted", redacted: true };
    expect(applyEvent(state(), ev("message.redacted", redacted), "me", null).messages.c1[0].text).toBe("This message was redacted");
  });
});
