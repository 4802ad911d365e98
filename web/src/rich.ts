// Structured messages (quick replies, buttons, cards) and ice breakers:
// the pure decisions of what to draw and what is tappable, free of the DOM
// so that unit tests cover them.
import type { Button, Conversation, Message } from "./api";
import { safeLink } from "./state";

/** shownText is what a message's text shows: for a structured message its
 * body (the parts are drawn, so the fallback that text ends with — the
 * choices and links spelt out — would say it twice), else its text. */
export function shownText(m: Message): string {
  return m.body ?? m.text ?? "";
}

/** ButtonView is what a button becomes on screen: a postback to tap, a
 * link to follow (showing its host), or inert text. */
export type ButtonView =
  | { kind: "postback"; title: string; payload: string }
  | { kind: "link"; title: string; href: string; host: string }
  | { kind: "inert"; title: string; host?: string };

/** buttonView decides how a button is drawn. tap: postbacks may be tapped
 * (not one's own message, not a request's preview); follow: links may be
 * followed (not in a request). A URL that is not http(s) — javascript:,
 * data: … — is never a link, whatever the server let through. */
export function buttonView(b: Button, opts: { tap: boolean; follow: boolean }): ButtonView {
  if (b.type === "url") {
    const href = b.url ? safeLink(b.url) : null;
    if (!href) return { kind: "inert", title: b.title };
    const host = new URL(href).host;
    return opts.follow && host ? { kind: "link", title: b.title, href, host } : { kind: "inert", title: b.title, host };
  }
  if (b.type === "postback" && b.payload && opts.tap) return { kind: "postback", title: b.title, payload: b.payload };
  return { kind: "inert", title: b.title };
}

/** quickReplyTarget is the id of the message whose quick replies show as
 * chips: the latest message (system lines aside), when someone else sent
 * it and it has quick replies. Choices answer the latest message only: once
 * anyone writes after it, they are gone. */
export function quickReplyTarget(messages: Message[], me: string): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.kind === "system") continue;
    return m.sender.id !== me && !m.deleted && m.quick_replies && m.quick_replies.length > 0 ? m.id : null;
  }
  return null;
}

/** iceBreakerPeer is the handle of the business a new or empty direct
 * conversation is with, whose ice breakers (starter questions on its
 * profile) may be offered; null for anything else. */
export function iceBreakerPeer(c: Conversation, messages: Message[], me: string): string | null {
  if (c.kind !== "direct" || c.request) return null;
  if (messages.some((m) => m.kind !== "system") || (c.last_message && c.last_message.kind !== "system")) return null;
  const other = c.members?.find((m) => m.user.id !== me)?.user;
  return other && other.kind === "business" ? other.handle : null;
}
