// A business's channels (Messenger, Instagram, WhatsApp) for its admins:
// connect one with the platform's credentials, see them with their
// webhook path and health, rotate credentials, pause and resume,
// disconnect. Part of the admin chunk
// (loaded when a settings screen is first opened). docs/channels.md.
import { useEffect, useState } from "preact/hooks";
import type { Business, ChannelChange, ChannelInput, ChannelView, Platform } from "./api";
import { errText } from "./inbox-state";
import { healthText, platformNames } from "./channels";

const accountLabel: Record<Platform, string> = {
  messenger: "Facebook Page id", instagram: "Instagram account id", whatsapp: "WhatsApp phone number id",
};

const empty = (): ChannelInput => ({ platform: "messenger", name: "", account_id: "", app_id: "", access_token: "", app_secret: "", verify_token: "", language: "" });

export function Channels({ biz }: { biz: Business }) {
  const [list, setList] = useState<ChannelView[]>([]);
  const [form, setForm] = useState<ChannelInput>(empty);
  const [editing, setEditing] = useState<string | null>(null);
  const [change, setChange] = useState<ChannelChange>({});
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const reload = () => biz.channels().then((r) => setList(r.items)).catch((err) => setError(errText(err, "Cannot load the channels")));
  useEffect(() => { void reload(); }, [biz]);
  const run = async (f: () => Promise<unknown>, done: string) => {
    setError("");
    setNote("");
    try {
      await f();
      setNote(done);
      await reload();
      return true;
    } catch (err) {
      setError(errText(err, "Not changed"));
      return false;
    }
  };
  const set = (k: keyof ChannelInput) => (e: Event) => setForm((f) => ({ ...f, [k]: (e.currentTarget as HTMLInputElement).value }));
  const setCh = (k: "access_token" | "app_secret" | "verify_token") => (e: Event) => {
    const v = (e.currentTarget as HTMLInputElement).value;
    setChange((c) => { const n = { ...c }; if (v) n[k] = v; else delete n[k]; return n; });
  };
  return (
    <section class="settings channels" aria-label="Channels">
      <h2>Channels</h2>
      <p class="muted">Bring the DMs of a Facebook Page, an Instagram professional account or a WhatsApp number into this inbox.
        In the Meta app, set the callback URL to this server's public address followed by the channel's webhook path, with the verify token you chose.</p>
      {error && <p class="error" role="alert">{error}</p>}
      {note && <p role="status">{note}</p>}
      <ul class="rows channel-list" aria-label="Connected channels">
        {list.map((c) => { const h = healthText(c); return (
          <li key={c.id} data-channel={c.id} data-status={c.status}>
            <span>
              <span class={"channel-badge ch-" + c.platform}>{platformNames[c.platform]}</span> <strong>{c.name || c.account_id}</strong>
              {" "}<span class={"pill channel-status " + (h.paused ? "paused" : h.failing ? "failing" : "ok")} title="Channel status">{h.pill}</span>
              <span class="muted"> · {accountLabel[c.platform]} {c.account_id} · webhook <code>{c.webhook_path}</code> · token {c.access_token} · app secret {c.app_secret}
                {c.updated_at && c.updated_at !== c.created_at ? ` · updated ${new Date(c.updated_at).toLocaleString()}` : ` · connected ${new Date(c.created_at).toLocaleString()}`}</span>
              <span class="muted channel-times"> · {h.times}</span>
              {h.error && <span class={"channel-error" + (h.failing ? " error" : " muted")}> · {h.error}</span>}
            </span>
            <span class="row-actions">
              <button aria-expanded={editing === c.id} onClick={() => { setEditing(editing === c.id ? null : c.id); setChange({}); }}>Update credentials</button>
              <button aria-label={`${c.disabled ? "Resume" : "Pause"} ${c.name || c.account_id}`} aria-pressed={!!c.disabled}
                title={c.disabled ? "Send again; the held replies go out" : "Stop sending: webhooks are still taken, replies are refused and queued ones held"}
                onClick={() => void run(() => biz.updateChannel(c.id, { disabled: !c.disabled }), c.disabled ? "Resumed." : "Paused: nothing is sent until you resume it.")}>
                {c.disabled ? "Resume" : "Pause"}
              </button>
              <button aria-label={`Disconnect ${c.name || c.account_id}`} onClick={() => {
                if (confirm(`Disconnect ${c.name || c.account_id}? Its conversations stay; nothing more comes in or goes out.`)) void run(() => biz.deleteChannel(c.id), "Disconnected.");
              }}>Disconnect</button>
            </span>
            {editing === c.id && (
              <form class="inline-form" aria-label={`New credentials for ${c.name || c.account_id}`} onSubmit={async (e) => {
                e.preventDefault();
                if (await run(() => biz.updateChannel(c.id, change), "Credentials updated.")) { setEditing(null); setChange({}); }
              }}>
                <label>New access token<input type="password" autocomplete="off" minLength={8} onInput={setCh("access_token")} /></label>
                <label>New app secret<input type="password" autocomplete="off" minLength={8} onInput={setCh("app_secret")} /></label>
                <label>New verify token<input type="password" autocomplete="off" minLength={8} onInput={setCh("verify_token")} /></label>
                <button type="submit" disabled={Object.keys(change).length === 0}>Save credentials</button>
              </form>
            )}
          </li>
        ); })}
        {list.length === 0 && <li>No channel connected.</li>}
      </ul>
      <h3>Connect a channel</h3>
      <form class="channel-form" onSubmit={async (e) => {
        e.preventDefault();
        const in_ = { ...form };
        if (!in_.app_id) delete in_.app_id;
        if (!in_.language) delete in_.language;
        if (await run(() => biz.connectChannel(in_), "Connected.")) setForm(empty());
      }}>
        <label>Platform
          <select value={form.platform} onChange={set("platform")}>
            {(Object.keys(platformNames) as Platform[]).map((p) => <option key={p} value={p}>{platformNames[p]}</option>)}
          </select>
        </label>
        <label>Name<input value={form.name} maxLength={100} onInput={set("name")} /></label>
        <label>{accountLabel[form.platform]}<input value={form.account_id} inputMode="numeric" pattern="[0-9]+" required onInput={set("account_id")} /></label>
        <label>App id (optional)<input value={form.app_id} inputMode="numeric" pattern="[0-9]*" onInput={set("app_id")} /></label>
        <label>Access token<input type="password" autocomplete="off" value={form.access_token} minLength={8} required onInput={set("access_token")} /></label>
        <label>App secret<input type="password" autocomplete="off" value={form.app_secret} minLength={8} required onInput={set("app_secret")} /></label>
        <label>Verify token<input type="password" autocomplete="off" value={form.verify_token} minLength={8} required onInput={set("verify_token")} /></label>
        {form.platform === "whatsapp" && <label>Template language<input value={form.language} placeholder="en_US" onInput={set("language")} /></label>}
        <button type="submit" class="primary">Connect</button>
      </form>
      <p class="muted">Tokens and secrets are stored encrypted and never shown again: the list shows their last 4 characters.</p>
    </section>
  );
}
