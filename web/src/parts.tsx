// A structured message's buttons and cards, and the Automated badge.
// Everything is text in the DOM (no markup from messages); links are only
// http(s) (rich.ts decides), opened in a new tab without the opener or a
// referrer.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Button, Message } from "./api";
import { ApiError } from "./api";
import { buttonView } from "./rich";

/** Automated marks a message no person wrote (a bot, or the server for a
 * business): every client shows it. */
export function Automated() {
  return <span class="automated" role="img" aria-label="Automated message, not written by a person" title="Sent automatically, not written by a person">Automated</span>;
}

/** Masked marks a message whose sensitive values the server hid. */
export function Masked() {
  return <span class="masked" role="img" aria-label="Sensitive data hidden" title="Sensitive data hidden">masked</span>;
}

/** SensitiveConfirm asks, next to the composer, whether a message the
 * server found sensitive data in should be sent anyway. The focus goes to
 * Edit, the safe choice; Escape is Edit too. */
export function SensitiveConfirm({ question, busy, onSend, onEdit }: { question: string; busy: boolean; onSend: () => void; onEdit: () => void }) {
  const edit = useRef<HTMLButtonElement>(null);
  useEffect(() => { edit.current?.focus(); }, [question]);
  return (
    <div class="sensitive-confirm" role="group" aria-labelledby="sensitive-question"
      onKeyDown={(e) => { if (e.key === "Escape") { e.preventDefault(); onEdit(); } }}>
      <p id="sensitive-question" role="alert">{question}</p>
      <button type="button" class="primary" disabled={busy} onClick={onSend}>Send anyway</button>
      <button type="button" ref={edit} disabled={busy} onClick={onEdit}>Edit</button>
    </div>
  );
}

/** Parts draws the buttons and the card carousel of a message. tap, when
 * given, sends a postback (it resolves once the server took it); without
 * it postback buttons are inert text. follow: links may be followed. */
export function Parts({ m, tap, follow }: { m: Message; tap?: (b: Button) => Promise<void>; follow: boolean }) {
  const [busy, setBusy] = useState("");
  const [said, setSaid] = useState<{ text: string; error?: boolean } | null>(null);
  if (!m.buttons?.length && !m.cards?.length) return null;
  const press = async (key: string, b: Button) => {
    if (!tap || busy) return;
    setBusy(key);
    setSaid(null);
    try {
      await tap(b);
      setSaid({ text: `Sent “${b.title}”` });
    } catch (err) {
      setSaid({ text: err instanceof ApiError ? err.message : "Not sent: the server cannot be reached", error: true });
    } finally {
      setBusy("");
    }
  };
  const row = (bs: Button[], key: string, label: string) => (
    <span class="buttons" role="group" aria-label={label}>
      {bs.map((b, i) => {
        const v = buttonView(b, { tap: !!tap, follow });
        const k = `${key}-${i}`;
        if (v.kind === "postback") {
          return <button key={k} type="button" class="postback" aria-busy={busy === k} disabled={busy === k} onClick={() => void press(k, b)}>{v.title}</button>;
        }
        if (v.kind === "link") {
          return <a key={k} class="button-link" href={v.href} target="_blank" rel="noopener noreferrer">{v.title} <small class="host">{v.host}</small></a>;
        }
        return <span key={k} class="button-inert">{v.title}{v.host && <small class="host"> {v.host}</small>}</span>;
      })}
    </span>
  );
  const cards = m.cards ?? [];
  return (
    <>
      {m.buttons && m.buttons.length > 0 && row(m.buttons, "b", "Buttons")}
      {cards.length > 0 && (
        // A horizontal carousel: focusable so that arrow keys scroll it,
        // and Tab reaches each card's buttons (scrolling them into view).
        <div class="carousel" role="region" aria-roledescription="carousel" aria-label={`${cards.length === 1 ? "Card" : cards.length + " cards"}`} tabIndex={0}>
          <ul>
            {cards.map((c, i) => (
              <li key={i} class="rich-card" role="group" aria-roledescription="card" aria-label={`${i + 1} of ${cards.length}: ${c.title}`}>
                <strong>{c.title}</strong>
                {c.subtitle && <span class="subtitle">{c.subtitle}</span>}
                {c.buttons && c.buttons.length > 0 && row(c.buttons, "c" + i, `${c.title}: buttons`)}
              </li>
            ))}
          </ul>
        </div>
      )}
      {/* Always in the page, so that screen readers hear what the tap did. */}
      {tap && <span class={"tap-note" + (said?.error ? " error" : "")} role="status">{said?.text ?? ""}</span>}
    </>
  );
}
