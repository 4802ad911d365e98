// Channels (Messenger, Instagram, WhatsApp) as the team inbox shows them:
// the platform's name on badges, a message's delivery line, the files of
// a person's message still being fetched, and the composer's send modes.
// Pure functions; the settings screen is inbox-channels.tsx.
import type { ChannelDelivery, ChannelView, Message, OptinRequestView, Platform, SendModes } from "./api";

export const platformNames: Record<Platform, string> = { messenger: "Messenger", instagram: "Instagram", whatsapp: "WhatsApp" };

/** platformName is a platform's name for people ("" for none). */
export function platformName(p?: string): string {
  return p && p in platformNames ? platformNames[p as Platform] : "";
}

const statusWords: Record<string, string> = {
  queued: "sending", sent: "sent", delivered: "delivered", read: "read", failed: "not delivered",
};

/** deliveryText is the line under a business message in a channel
 * conversation: its status on the platform and, when it failed (or a try
 * failed and it is retried), why. */
export function deliveryText(d?: ChannelDelivery): { text: string; failed: boolean } | null {
  if (!d || !d.status || d.attachments) return null;
  const name = platformName(d.platform);
  const word = statusWords[d.status] ?? d.status;
  let text = `${name}: ${word}`;
  if (d.mode === "human_agent") text += " (human agent tag)";
  if (d.mode === "template") text += " (template)";
  if (d.mode && tagModeNames[d.mode]) text += ` (${tagModeNames[d.mode].toLowerCase()} tag)`;
  if (d.mode === "notification_message") text += " (notification message)";
  if (d.mode === "optin_request") text += " (opt-in request)";
  if (d.error) text += d.status === "queued" ? ` — retrying: ${d.error}` : ` — ${d.error}`;
  return { text, failed: d.status === "failed" };
}

/** pendingFiles describes a person's files not (yet) in Parley. */
export function pendingFiles(m: Message): { text: string; failed: boolean }[] {
  const d = m.channel;
  if (!d?.attachments) return [];
  const name = platformName(d.platform);
  return d.attachments.map((a) => {
    const what = a.name ? `${a.type} “${a.name}”` : a.type;
    return a.status === "failed"
      ? { text: `The ${what} could not be fetched from ${name}${a.error ? ": " + a.error : ""}. Open ${name} to see it.`, failed: true }
      : { text: `Fetching the ${what} from ${name}…`, failed: false };
  });
}

/** tagModeNames are Messenger's update tags, which the sender chooses. */
export const tagModeNames: Record<string, string> = {
  confirmed_event_update: "Confirmed event update", post_purchase_update: "Post-purchase update", account_update: "Account update",
};

const modeNames: Record<string, string> = {
  standard: "Reply", human_agent: "Human agent reply", template: "Template", notification_message: "Notification message (campaigns)",
  optin_request: "Opt-in request", ...tagModeNames,
};

/** tagChoices are the update tags the composer may send the next reply
 * with ("Send as"): the open ones of the conversation's send modes. */
export function tagChoices(s: SendModes | null): { mode: string; name: string }[] {
  if (!s?.channel || s.channel.disabled) return [];
  return s.modes.filter((m) => m.open && tagModeNames[m.mode]).map((m) => ({ mode: m.mode, name: tagModeNames[m.mode] }));
}

/** optinCardText is the card of an opt-in request in the conversation. */
export function optinCardText(o: OptinRequestView): string {
  return `Asked to get ${o.topic} updates ${o.frequency.toLowerCase()}`;
}

/** optinRequestOpen says whether the composer may ask the person to opt
 * in to a topic now (Messenger, within the window, channel not paused). */
export function optinRequestOpen(s: SendModes | null): boolean {
  if (!s?.channel || s.channel.disabled) return false;
  return s.modes.some((m) => m.mode === "optin_request" && m.open);
}

/** modesText is what the composer says about sending in a channel
 * conversation: the modes open (until when) and why the others are not. */
export function modesText(s: SendModes | null, now = new Date()): { open: string[]; closed: string[] } | null {
  if (!s?.channel) return null;
  const open: string[] = [];
  const closed: string[] = [];
  if (s.channel.disabled) return { open, closed: [s.modes[0]?.reason ?? "the channel is paused"] };
  for (const m of s.modes) {
    const name = modeNames[m.mode] ?? m.mode;
    if (m.open) {
      const until = m.until ? new Date(m.until) : null;
      open.push(until ? `${name} until ${until.toLocaleString([], { dateStyle: "short", timeStyle: "short" })}${until < now ? " (closed now)" : ""}` : name);
    } else {
      closed.push(`${name}: ${m.reason}`);
    }
  }
  return { open, closed };
}

const when = (t?: string) => (t ? new Date(t).toLocaleString() : "never");

/** healthText is a channel's health on the Channels screen: its status
 * pill, the last error with its time, and the last messages in and out. */
export function healthText(c: Pick<ChannelView, "status" | "last_error" | "last_error_at" | "last_inbound_at" | "last_outbound_at" | "queued">):
  { pill: string; failing: boolean; paused: boolean; error: string; times: string } {
  const failing = c.status === "failing";
  const paused = c.status === "disabled";
  return {
    pill: paused ? "Paused" : failing ? "Failing" : "OK",
    failing,
    paused,
    error: c.last_error ? `Last error (${when(c.last_error_at)}): ${c.last_error}` : "",
    times: `Last in: ${when(c.last_inbound_at)} · last out: ${when(c.last_outbound_at)}` + (c.queued ? ` · ${c.queued} queued${paused ? " (held until resumed)" : ""}` : ""),
  };
}
