// Deleting the account, at the end of settings: a button opens a form
// that asks for the password (and a code when two-factor is on) and a
// typed confirmation, says what will happen, and signs out once done.
import { useState } from "preact/hooks";
import { ApiError } from "./api";
import type { AccountDeletion, Client, Me } from "./api";

/** deletionSummary says in words what a deletion did. */
export function deletionSummary(r: AccountDeletion): string {
  const what = r.policy === "erase"
    ? `${r.erased} message${r.erased === 1 ? "" : "s"} erased`
    : `${r.kept} message${r.kept === 1 ? "" : "s"} kept, shown as from a deleted account`;
  let s = `Your account @${r.handle} is deleted: ${what}.`;
  if (r.held > 0) s += ` ${r.held} message${r.held === 1 ? " is" : "s are"} kept under a legal hold.`;
  return s;
}

export function DeleteAccount({ client, me, onDeleted }: { client: Client; me: Me; onDeleted(summary: string): void }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [typed, setTyped] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (typed.trim().replace(/^@/, "").toLowerCase() !== me.handle) {
      setNote(`Type your handle, ${me.handle}, to confirm.`);
      return;
    }
    setBusy(true);
    setNote("");
    try {
      const r = await client.deleteAccount(password, code.trim() || undefined);
      onDeleted(deletionSummary(r));
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Cannot reach the server");
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="delete-title" class="danger">
      <h3 id="delete-title">Delete account</h3>
      {!open && <button onClick={() => setOpen(true)}>Delete account…</button>}
      {open && (
        <form aria-label="Delete account" onSubmit={submit}>
          <p>This cannot be undone. You are signed out everywhere, your profile is wiped, you leave every conversation, your
            bots stop, and your messages are erased (or kept as from a “Deleted account”, as this server decides). Messages
            under a legal hold are kept. Nobody else can take your handle for a while.</p>
          <label>Password<input name="delete_password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></label>
          <label>Two-factor code (if it is on)<input name="delete_code" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} /></label>
          <label>Type your handle to confirm<input name="delete_confirm" autocomplete="off" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} required /></label>
          <button type="submit" class="danger" disabled={busy}>Delete my account for good</button>
          <button type="button" class="link" onClick={() => { setOpen(false); setPassword(""); setCode(""); setTyped(""); setNote(""); }}>Cancel</button>
        </form>
      )}
      {note && <p role="alert">{note}</p>}
    </section>
  );
}
