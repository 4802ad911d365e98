// The sensitive-data guard's answer: a send refused with 422
// sensitive_data until the sender confirms it (same client_id,
// confirm_sensitive: true). Pure, so it can be tested without a DOM.

/** isSensitive tells whether a failed send was refused by the guard. */
export function isSensitive(err: unknown): err is { code: string; message: string } {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "sensitive_data";
}

const names: Record<string, string> = { "card number": "a card number", iban: "an IBAN", secret: "a secret", password: "a password", "national id": "a national ID number", phone: "a phone number" };

/** sensitiveKinds reads what was found from the server's detail ("…what
 * looks like a card number, iban; send it again…"), in words for people:
 * "a card number and an IBAN". Unknown wording gives "sensitive data". */
export function sensitiveKinds(detail: string): string {
  const m = /looks like an? ([^;]+)/.exec(detail);
  const kinds = m ? m[1].split(",").map((k) => k.trim().toLowerCase()).filter(Boolean)
    .map((k) => names[k] ?? (/^[aeiou]/.test(k) ? "an " : "a ") + k) : [];
  if (kinds.length === 0) return "sensitive data";
  return kinds.length === 1 ? kinds[0] : kinds.slice(0, -1).join(", ") + " and " + kinds[kinds.length - 1];
}

/** sensitiveQuestion is the confirmation to show for a failed send, or ""
 * when the failure was something else. */
export function sensitiveQuestion(err: unknown): string {
  if (!isSensitive(err)) return "";
  return `This message looks like it contains ${sensitiveKinds(err.message)}. Anyone in this conversation will see it. Send anyway?`;
}
