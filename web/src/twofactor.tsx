// Two-factor authentication in settings: set up (QR code from the
// server, then a first code), the recovery codes shown once, turning it
// off and making new recovery codes (password and a code each time).
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Client, TwoFactorSetup, TwoFactorStatus } from "./api";

const message = (err: unknown) => (err instanceof ApiError ? err.message : "Cannot reach the server");

export function TwoFactor({ client }: { client: Client }) {
  const [status, setStatus] = useState<TwoFactorStatus | null>(null);
  const [setup, setSetup] = useState<TwoFactorSetup | null>(null);
  // codes are the recovery codes just made: shown until "Done", kept in
  // component state only.
  const [codes, setCodes] = useState<string[]>([]);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [note, setNote] = useState("");
  const reload = async () => setStatus(await client.twoFactor());
  useEffect(() => { void reload(); }, []);
  const run = (fn: () => Promise<void>) => async (e: Event) => {
    e.preventDefault();
    setNote("");
    try { await fn(); } catch (err) { setNote(message(err)); }
  };
  const start = run(async () => { setSetup(await client.setupTwoFactor(password)); setPassword(""); });
  const confirm = run(async () => {
    setCodes((await client.confirmTwoFactor(code)).recovery_codes);
    setSetup(null); setCode(""); setNote("Two-factor authentication is on.");
    await reload();
  });
  const disable = run(async () => {
    await client.disableTwoFactor(password, code);
    setPassword(""); setCode(""); setNote("Two-factor authentication is off.");
    await reload();
  });
  const renew = run(async () => {
    setCodes((await client.newRecoveryCodes(password, code)).recovery_codes);
    setPassword(""); setCode(""); setNote("New recovery codes; the old ones no longer work.");
    await reload();
  });
  const passwordField = <label>Password<input name="tfa_password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></label>;
  const codeField = (label: string) => <label>{label}<input name="tfa_code" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} required /></label>;
  return (
    <section aria-labelledby="tfa-title">
      <h3 id="tfa-title">Two-factor authentication</h3>
      {codes.length > 0 && (
        <div class="recovery" role="group" aria-label="Recovery codes">
          <p>Save these recovery codes somewhere safe. Each signs you in once if you lose your authenticator. They are shown only now.</p>
          <ul class="codes">{codes.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
          <button onClick={() => setCodes([])}>Done, I saved them</button>
        </div>
      )}
      {status && !status.enabled && !setup && (
        <form onSubmit={start}>
          <p class="muted">Off. With it on, signing in also asks for a code from an authenticator app.</p>
          {passwordField}
          <button type="submit">Set up</button>
        </form>
      )}
      {setup && (
        <form onSubmit={confirm}>
          <p>Scan this code with your authenticator app, then enter the code it shows.</p>
          <img class="qr" src={setup.qr_png} width={200} height={200} alt="QR code for your authenticator app" />
          <p class="muted">Or type this key: <code data-testid="totp-secret">{setup.secret}</code></p>
          {codeField("Code from the app")}
          <button type="submit">Turn on</button>
          <button type="button" class="link" onClick={() => { setSetup(null); setCode(""); }}>Cancel</button>
        </form>
      )}
      {status?.enabled && (
        <form onSubmit={disable}>
          <p class="muted">On · {status.recovery_codes_left} recovery codes left.</p>
          {passwordField}
          {codeField("Code from the app, or a recovery code")}
          <button type="submit">Turn off</button>
          <button type="button" onClick={renew}>New recovery codes</button>
        </form>
      )}
      {note && <p role="status">{note}</p>}
    </section>
  );
}
