// Settings and the new-group form.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Client, Me, SessionView, UserSummary } from "./api";

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
  useEffect(() => { void reload(); }, []);
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
    <section class="settings" aria-label="Settings">
      <header><h2>Settings</h2><button class="link" onClick={onClose}>Close</button></header>
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
      <h3>Devices</h3>
      <ul class="rows">
        {sessions.map((s) => (
          <li key={s.id}>
            <span>{s.device || "device"}{s.current ? " (this one)" : ""} · last used {new Date(s.last_used_at).toLocaleString()}</span>
            {!s.current && <button onClick={async () => { await client.revokeSession(s.id); await reload(); }}>Sign out</button>}
          </li>
        ))}
      </ul>
      <h3>Blocked</h3>
      <ul class="rows">
        {blocked.map((u) => (
          <li key={u.id}><span>@{u.handle}</span><button onClick={async () => { await client.unblock(u.handle); await reload(); }}>Unblock</button></li>
        ))}
        {blocked.length === 0 && <li>Nobody.</li>}
      </ul>
    </section>
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
