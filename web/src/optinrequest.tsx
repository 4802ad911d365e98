// The composer's "Ask for updates…" action in a Messenger conversation:
// a request to opt in to one of the business's topics (title, frequency),
// sent as send_mode optin_request. The server says whether it is open
// (send modes) and refuses it outside the 24-hour window.
import { useState } from "preact/hooks";
import { Business, newClientID } from "./api";
import type { Message, OptinRequest, TopicView } from "./api";
import { policyText } from "./campaigns";

export function AskForUpdates({ biz, conv, onSent }: { biz: Business; conv: string; onSent: (m: Message) => void }) {
  const [open, setOpen] = useState(false);
  const [topics, setTopics] = useState<TopicView[] | null>(null);
  const [topic, setTopic] = useState("");
  const [title, setTitle] = useState("");
  const [frequency, setFrequency] = useState<OptinRequest["frequency"]>("WEEKLY");
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState("");
  const show = () => {
    setOpen(true);
    setMsg("");
    if (!topics) biz.topics().then((r) => { setTopics(r.items); if (r.items[0]) setTopic((t) => t || r.items[0].id); })
      .catch((err) => setMsg(policyText(err, "Cannot load the topics")));
  };
  if (!open) return <button type="button" class="link ask-updates" onClick={show}>Ask for updates…</button>;
  const send = async () => {
    setBusy(true);
    setMsg("");
    try {
      onSent(await biz.send(conv, { client_id: newClientID(), send_mode: "optin_request", optin_request: { topic, title: title.trim(), frequency } }));
      setOpen(false);
      setTitle("");
    } catch (err) {
      setMsg(policyText(err, "Not sent"));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="ask-updates-form" aria-label="Ask for updates" onSubmit={(e) => { e.preventDefault(); void send(); }}>
      <label>Topic
        <select value={topic} onChange={(e) => setTopic((e.currentTarget as HTMLSelectElement).value)} required>
          {(topics ?? []).map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
        </select>
      </label>
      <label>Title
        <input value={title} maxLength={65} required placeholder="Get our weekly deals" onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <label>Frequency
        <select value={frequency} onChange={(e) => setFrequency((e.currentTarget as HTMLSelectElement).value as OptinRequest["frequency"])}>
          <option value="DAILY">Daily</option>
          <option value="WEEKLY">Weekly</option>
          <option value="MONTHLY">Monthly</option>
        </select>
      </label>
      <button type="submit" class="primary" disabled={busy || !topic || !title.trim()}>Send request</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>Cancel</button>
      {topics && topics.length === 0 && <p class="muted">No topics yet: an admin creates them under Campaigns.</p>}
      {msg && <p class="error" role="alert">{msg}</p>}
    </form>
  );
}
