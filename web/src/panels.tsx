// Settings (profile, privacy, devices, API tokens, blocked users) and the
// new-group form.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Client, Me, SessionView, TokenView, UserSummary } from "./api";

export function Settings({ client, me, onSaved, onClose }: { client: Client; me: Me; onSaved(m: Me): void; onClose(): void }) {
  const [name, setName] = useState(me.display_name);
  const [bio, setBio] = useState(me.bio);
  const [policy, setPolicy] = useState(me.dm_policy);
  const [presence, setPresence] = useState(me.show_presence);
  const [sessions, setSessions] = useState<SessionView[]>([]);
  const [blocked, setBlocked] = useState<UserSummary[]>([]);
  const [note, setNote] = useState("");
  const reload = async () => {
    setSessions((await client.sessions()).items);
    setBlocked((await client.blocks()).items);
  };
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => { void reload(); heading.current?.focus(); }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      onSaved(await client.updateMe({ display_name: name, bio, dm_policy: policy, show_presence: presence }));
      setNote("Saved.");
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not saved");
    }
  };
  return (
    <section class="settings" aria-label="Settings" onKeyDown={(e) => { if (e.key === "Escape" && !e.defaultPrevented) { e.preventDefault(); onClose(); } }}>
      <header><h2 tabIndex={-1} ref={heading}>Settings</h2><button class="link" onClick={onClose}>Close</button></header>
      <form onSubmit={save}>
        <label>Display name<input name="display_name" value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label>Bio<textarea name="bio" rows={2} value={bio} onInput={(e) => setBio(e.currentTarget.value)} /></label>
        <label>Who may message you
          <select name="dm_policy" value={policy} onChange={(e) => setPolicy(e.currentTarget.value)}>
            <option value="open">Everyone (strangers land in requests)</option>
            <option value="following">Only people I follow</option>
            <option value="closed">Nobody new</option>
          </select>
        </label>
        <label class="check"><input type="checkbox" checked={presence} onChange={(e) => setPresence(e.currentTarget.checked)} /> Show when I am online</label>
        <button type="submit">Save</button>
        {note && <p role="status">{note}</p>}
      </form>
      <ReadReceipts client={client} me={me} onSaved={onSaved} />
      <h3>Devices</h3>
      <ul class="rows">
        {sessions.map((s) => (
          <li key={s.id}>
            <span>{s.device || "device"}{s.current ? " (this one)" : ""} · last used {new Date(s.last_used_at).toLocaleString()}</span>
            {!s.current && <button aria-label={`Sign out ${s.device || "device"} last used ${new Date(s.last_used_at).toLocaleString()}`}
              onClick={async () => { await client.revokeSession(s.id); await reload(); }}>Sign out</button>}
          </li>
        ))}
      </ul>
      <ApiTokens client={client} />
      <h3>Blocked</h3>
      <ul class="rows">
        {blocked.map((u) => (
          <li key={u.id}><span>@{u.handle}</span><button aria-label={`Unblock @${u.handle}`} onClick={async () => { await client.unblock(u.handle); await reload(); }}>Unblock</button></li>
        ))}
        {blocked.length === 0 && <li>Nobody.</li>}
      </ul>
    </section>
  );
}

/** ReadReceipts is the privacy switch; it applies at once. */
function ReadReceipts({ client, me, onSaved }: { client: Client; me: Me; onSaved(m: Me): void }) {
  const [note, setNote] = useState("");
  const flip = async (on: boolean) => {
    try {
      onSaved(await client.updateMe({ read_receipts: on }));
      setNote(on ? "Read receipts are on." : "Read receipts are off.");
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not changed");
    }
  };
  return (
    <>
      <h3>Privacy</h3>
      <label class="check switch">
        <input type="checkbox" role="switch" name="read_receipts" checked={me.read_receipts} aria-describedby="receipts-help"
          onChange={(e) => void flip(e.currentTarget.checked)} /> Read receipts
      </label>
      <p id="receipts-help" class="muted">When off, people won't see when you've read their messages, and you won't see theirs.</p>
      {note && <p role="status">{note}</p>}
    </>
  );
}

/** The scopes a token may have, in plain words. */
export const scopeLabels: Record<string, string> = {
  read: "Read conversations and messages",
  "messages:write": "Send and edit messages",
  "conversations:write": "Start and manage conversations",
  "profile:write": "Edit profile, follows and blocks",
  "media:write": "Upload media",
  "business:write": "Work in business inboxes",
  "webhooks:write": "Manage webhooks",
};
const expiries = [[0, "Never"], [30, "In 30 days"], [90, "In 90 days"], [365, "In a year"]] as const;

/** ApiTokens lists, creates and revokes the user's API tokens. A new
 * token's secret lives in this component's state only, until "Done": it is
 * never stored (no localStorage) and never logged. */
function ApiTokens({ client }: { client: Client }) {
  const [list, setList] = useState<TokenView[]>([]);
  const [scopes, setScopes] = useState<string[]>(Object.keys(scopeLabels));
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>(["read"]);
  const [days, setDays] = useState(90);
  const [made, setMade] = useState<{ name: string; secret: string } | null>(null);
  const [copied, setCopied] = useState("");
  const [note, setNote] = useState("");
  const secretRef = useRef<HTMLInputElement>(null);
  const reload = () => client.tokens().then((r) => { setList(r.items); if (r.scopes?.length) setScopes(r.scopes); })
    .catch((err) => setNote(err instanceof ApiError ? err.message : "Cannot load the tokens"));
  useEffect(() => { void reload(); }, []);
  useEffect(() => { if (made) secretRef.current?.focus(); }, [made]);
  const create = async (e: Event) => {
    e.preventDefault();
    setNote("");
    if (chosen.length === 0) return setNote("Choose at least one permission.");
    try {
      const t = await client.createToken(name.trim(), scopes.filter((x) => chosen.includes(x)), days);
      setMade({ name: t.name, secret: t.token ?? "" });
      setCopied("");
      setName("");
      await reload();
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "The token was not created");
    }
  };
  const copy = async () => {
    if (!made) return;
    try {
      await navigator.clipboard.writeText(made.secret);
      setCopied("Copied.");
    } catch {
      secretRef.current?.select(); // the browser refused: select it for Ctrl+C
      setCopied("Press Ctrl+C (⌘C) to copy the selected token.");
    }
  };
  const revoke = async (t: TokenView) => {
    if (!confirm(`Revoke the token "${t.name}"? Anything using it stops working at once.`)) return;
    try {
      await client.revokeToken(t.id);
      setNote(`Token "${t.name}" revoked.`);
      await reload();
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not revoked");
    }
  };
  const when = (iso: string) => new Date(iso).toLocaleDateString();
  return (
    <>
      <h3>API tokens</h3>
      <p class="muted">Tokens let scripts and bots use your account through the API, with only the permissions you give them.</p>
      {made && (
        <div class="secret" role="region" aria-label="New API token">
          <p><strong>Copy your new token "{made.name}" now: you will not see it again.</strong> Keep it like a password.</p>
          <div class="secret-row">
            <label class="grow">Token<input ref={secretRef} name="token_secret" readOnly value={made.secret} autocomplete="off" spellcheck={false}
              onFocus={(e) => e.currentTarget.select()} /></label>
            <button type="button" onClick={() => void copy()}>Copy</button>
            <button type="button" onClick={() => setMade(null)}>Done</button>
          </div>
          <p role="status" class="muted">{copied}</p>
        </div>
      )}
      <ul class="rows tokens">
        {list.map((t) => (
          <li key={t.id}>
            <span>
              <strong>{t.name}</strong> · {t.scopes.join(", ")}
              <span class="muted"> · created {when(t.created_at)} · {Date.parse(t.last_used_at) - Date.parse(t.created_at) > 1000 ? `last used ${when(t.last_used_at)}` : "no use recorded yet"}
                {" · "}{!t.expires_at ? "never expires" : Date.parse(t.expires_at) < Date.now() ? "expired" : `expires ${when(t.expires_at)}`}</span>
            </span>
            <button aria-label={`Revoke ${t.name}`} onClick={() => void revoke(t)}>Revoke</button>
          </li>
        ))}
        {list.length === 0 && <li>No tokens.</li>}
      </ul>
      <form class="token-form" onSubmit={create}>
        <label>Token name<input name="token_name" value={name} maxLength={100} placeholder="e.g. backup script" onInput={(e) => setName(e.currentTarget.value)} required /></label>
        <fieldset>
          <legend>What it may do</legend>
          {scopes.map((x) => (
            <label key={x} class="check">
              <input type="checkbox" name="token_scope" value={x} checked={chosen.includes(x)}
                onChange={(e) => { const on = e.currentTarget.checked; setChosen((c) => on ? [...c, x] : c.filter((y) => y !== x)); }} />
              {" "}{scopeLabels[x] ?? x}
            </label>
          ))}
        </fieldset>
        <label>Expires
          <select name="token_expiry" value={String(days)} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {expiries.map(([d, l]) => <option key={d} value={String(d)}>{l}</option>)}
          </select>
        </label>
        <button type="submit">Create token</button>
        {note && <p role="status">{note}</p>}
      </form>
    </>
  );
}

export function NewGroup({ client, onCreated }: { client: Client; onCreated(id: string): void }) {
  const [title, setTitle] = useState("");
  const [members, setMembers] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const handles = members.split(/[\s,]+/).map((h) => h.replace(/^@/, "")).filter(Boolean);
      const c = await client.createGroup(title, handles);
      setTitle("");
      setMembers("");
      onCreated(c.id);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Cannot create the group");
    }
  };
  return (
    <form class="new-group" onSubmit={submit}>
      <label>Group name<input name="group_title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required /></label>
      <label>Members (handles)<input name="group_members" value={members} onInput={(e) => setMembers(e.currentTarget.value)} /></label>
      <button type="submit">Create group</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
