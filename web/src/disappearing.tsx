// Disappearing messages in the conversation view: the timer picker, the
// legal-hold banner, the timer mark on a message and view-once media.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Attachment, Client, Conversation, Message } from "./api";
import { AttachmentView } from "./media";
import { DISAPPEAR_TIMERS, timerLabel } from "./state";

/** Clock is the timer icon, drawn (no emoji font needed). */
function Clock() {
  return (
    <svg class="clock" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      <circle cx="8" cy="9" r="6" fill="none" stroke="currentColor" stroke-width="1.6" />
      <path d="M8 5.5V9l2.5 1.5M6 1.5h4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" />
    </svg>
  );
}

/** canSetTimer: any active member of a direct conversation, a group's owner and admins. */
export function canSetTimer(c: Conversation): boolean {
  return !c.request && c.status === "active" && (c.kind === "direct" || c.role === "owner" || c.role === "admin");
}

export function TimerPicker({ client, conv, onError }: { client: Client; conv: Conversation; onError(msg: string): void }) {
  const [busy, setBusy] = useState(false);
  const value = conv.disappear_after ?? 0;
  if (!canSetTimer(conv)) {
    return value ? <span class="timer-state" title="Disappearing messages"><Clock /> {timerLabel(value)}</span> : null;
  }
  return (
    <label class="timer-picker">
      <Clock />
      <span class="visually-hidden">Disappearing messages</span>
      <select aria-label="Disappearing messages" value={String(value)} disabled={busy}
        onChange={async (e) => {
          const n = Number(e.currentTarget.value);
          setBusy(true);
          try { await client.setDisappearing(conv.id, n); } catch (err) { onError(err instanceof ApiError ? err.message : "The timer was not changed"); }
          setBusy(false);
        }}>
        {DISAPPEAR_TIMERS.map((s) => <option key={s} value={String(s)}>{s ? timerLabel(s) : "Off"}</option>)}
      </select>
    </label>
  );
}

export function LegalHoldBanner() {
  return <div class="legal-hold" role="status">Messages are kept: legal hold</div>;
}

/** TimerMark is the small timer on a disappearing message. */
export function TimerMark({ at }: { at: string }) {
  const when = new Date(at).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return <span class="timer-mark" role="img" aria-label={`Disappears ${when}`} title={`Disappears ${when}`}><Clock /></span>;
}

/** ViewOnce shows a view-once attachment: the sender sees it and whether
 * it was opened; a recipient opens it once, on demand. */
export function ViewOnce({ m, a, mine, client }: { m: Message; a: Attachment; mine: boolean; client: Client }) {
  const [src, setSrc] = useState("");
  const [opened, setOpened] = useState(!!m.opened);
  const [error, setError] = useState("");
  useEffect(() => () => { if (src) URL.revokeObjectURL(src); }, [src]);
  if (mine) {
    return (
      <span class="view-once-sent">
        <AttachmentView a={a} client={client} />
        <span class="view-once">View once · {m.opened ? "Opened" : "Not opened yet"}</span>
      </span>
    );
  }
  if (src) {
    return (
      <span class="view-once-open">
        {a.kind === "image" || a.kind === "gif" ? <img class="media" src={src} alt="View-once photo" /> : <a href={src} download>Save the view-once {a.kind}</a>}
        <button onClick={() => { URL.revokeObjectURL(src); setSrc(""); setOpened(true); }}>Close</button>
      </span>
    );
  }
  if (opened || m.opened) return <span class="view-once">View once · Opened</span>;
  const open = async () => {
    setError("");
    try {
      setSrc(await client.mediaURL(a.id!));
    } catch (err) {
      if (err instanceof ApiError && err.status === 410) setOpened(true);
      else setError("It cannot be opened now");
    }
  };
  return (
    <span class="view-once">
      <button onClick={() => void open()}>Open view-once {a.kind === "image" ? "photo" : a.kind}</button>
      {error && <span role="alert"> {error}</span>}
    </span>
  );
}
