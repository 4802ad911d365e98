// A topic's opt-in link as a page (/subscribe/{token}: what it is, and a
// Subscribe button once signed in), and the Subscriptions part of
// Settings, where a person sees and stops what businesses send them.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Client, ConsentForm, SubscriptionView, UserSummary } from "./api";

/** subscribeToken is the token of a /subscribe/{token} path, "" for any other path. */
export function subscribeToken(path: string): string {
  const m = /^\/subscribe\/([A-Za-z0-9_-]{8,128})\/?$/.exec(path);
  return m ? m[1] : "";
}

/** subscribed lists the topics a person is subscribed to, business by business (none: left out). */
export function subscribed(subs: SubscriptionView[]): { business: UserSummary; topics: { id: string; name: string }[] }[] {
  return subs
    .map((s) => ({ business: s.business, topics: s.topics.filter((t) => t.opted_in).map((t) => t.topic) }))
    .filter((s) => s.topics.length > 0);
}

const bizName = (b: UserSummary) => b.display_name || "@" + b.handle;

function linkError(err: unknown, fallback: string): string {
  if (err instanceof ApiError && err.status === 404) return "This subscription link does not work any more: ask the business for a new one.";
  return err instanceof ApiError ? err.message : fallback;
}

/** useConsentForm loads what a link subscribes to. */
function useConsentForm(client: Client, token: string) {
  const [form, setForm] = useState<ConsentForm | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    client.consentForm(token).then(setForm).catch((err) => setError(linkError(err, "Cannot reach the server")));
  }, [token]);
  return { form, error };
}

/** SubscribeLead says, above the sign-in form, what the link is for. */
export function SubscribeLead({ client, token }: { client: Client; token: string }) {
  const { form, error } = useConsentForm(client, token);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!form) return null;
  return <p class="notice subscribe-lead">Sign in or create an account to get <strong>{form.topic.name}</strong> from {bizName(form.business)}.</p>;
}

/** SubscribePage asks a signed-in person to confirm a link's subscription.
 * A session that turns out to be over (401) signs out and keeps the link:
 * the sign-in screen says what it is for and comes back here. */
export function SubscribePage({ client, token, onDone, onSignedOut }: { client: Client; token: string; onDone(): void; onSignedOut(): void }) {
  const { form, error } = useConsentForm(client, token);
  const [me, setMe] = useState("");
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => { heading.current?.focus(); }, [form, done]);
  const signedOut = (err: unknown) => err instanceof ApiError && err.status === 401;
  useEffect(() => {
    client.me().then((m) => setMe(m.handle)).catch((err) => { if (signedOut(err)) onSignedOut(); });
  }, [client]);
  const confirm = async () => {
    setBusy(true);
    setMsg("");
    try {
      await client.subscribe(token);
      setDone(true);
    } catch (err) {
      if (signedOut(err)) { onSignedOut(); return; }
      setMsg(linkError(err, "Not subscribed"));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="auth subscribe" aria-label="Subscribe">
      <h1>Parley</h1>
      {error && <><p class="error" role="alert">{error}</p><button type="button" onClick={onDone}>Open Parley</button></>}
      {form && !done && (
        <section>
          <h2 tabIndex={-1} ref={heading}>{form.topic.name}</h2>
          <p>{bizName(form.business)} <span class="muted">@{form.business.handle}</span> would like to send you messages about this.</p>
          {form.description && <p class="subscribe-description">{form.description}</p>}
          <p class="muted">You can stop any time: reply STOP in the conversation, or unsubscribe in Settings → Subscriptions.</p>
          {me && <p class="muted">Signed in as @{me}.</p>}
          <button type="button" class="primary" disabled={busy} onClick={() => void confirm()}>Subscribe</button>
          <button type="button" class="link" onClick={onDone}>Not now</button>
          {msg && <p class="error" role="alert">{msg}</p>}
        </section>
      )}
      {form && done && (
        <section>
          <h2 tabIndex={-1} ref={heading}>Subscribed</h2>
          <p role="status">You will get {form.topic.name} from {bizName(form.business)}.</p>
          <button type="button" class="primary" onClick={onDone}>Open Parley</button>
        </section>
      )}
    </main>
  );
}

/** Subscriptions lists what businesses may send the person, with a way out of each. */
export function Subscriptions({ client }: { client: Client }) {
  const [subs, setSubs] = useState<SubscriptionView[] | null>(null);
  const [note, setNote] = useState("");
  const load = () => client.subscriptions().then((r) => setSubs(r.items)).catch((err) => setNote(err instanceof ApiError ? err.message : "Cannot load your subscriptions"));
  useEffect(() => { void load(); }, []);
  const stop = async (business: UserSummary, topic?: { id: string; name: string }) => {
    try {
      await client.unsubscribe(business.handle, topic?.id);
      setNote(topic ? `Unsubscribed from ${topic.name} from ${bizName(business)}.` : `Unsubscribed from everything from ${bizName(business)}.`);
      await load();
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not unsubscribed");
    }
  };
  const list = subscribed(subs ?? []);
  return (
    <>
      <h3>Subscriptions</h3>
      <p class="muted">Businesses you agreed to get updates from.</p>
      <ul class="rows subscriptions">
        {list.map((s) => [
          ...s.topics.map((t) => (
            <li key={s.business.id + t.id}>
              <span>{t.name} · {bizName(s.business)}</span>
              <button aria-label={`Unsubscribe from ${t.name} from ${bizName(s.business)}`} onClick={() => void stop(s.business, t)}>Unsubscribe</button>
            </li>
          )),
          s.topics.length > 1 && (
            <li key={s.business.id}>
              <span class="muted">Everything from {bizName(s.business)}</span>
              <button aria-label={`Unsubscribe from everything from ${bizName(s.business)}`} onClick={() => void stop(s.business)}>Unsubscribe from all</button>
            </li>
          ),
        ])}
        {subs && list.length === 0 && <li>None.</li>}
      </ul>
      {note && <p role="status">{note}</p>}
    </>
  );
}
