// The sensitive-data guard's answer: a send refused with 422
// sensitive_data until the sender confirms it (same client_id,
// confirm_sensitive: true). Pure, so it can be tested without a DOM.

/** isSensitive tells whether a failed send was refused by the guard. */
export function isSensitive(err: unknown): err is { code: string; message: string; kinds?: string[] } {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "sensitive_data";
}

// By the server's kinds; the older wording of its detail ("card number")
// maps through the same table with "_" for spaces.
const names: Record<string, string> = {
  card_number: "a card number", iban: "an IBAN", secret: "a secret", password: "a password",
  national_id: "a national ID number", phone: "a phone number",
};

/** sensitiveKinds names what was found, in words for people: "a card
 * number and an IBAN". It takes the answer's kinds; a server that sends
 * none is read from its detail ("…what looks like a card number, iban;
 * send it again…"). Unknown wording gives "sensitive data". */
export function sensitiveKinds(kinds: string[] | undefined, detail = ""): string {
  let found = (kinds ?? []).filter(Boolean);
  if (found.length === 0) {
    const m = /looks like an? ([^;]+)/.exec(detail);
    found = m ? m[1].split(",").map((k) => k.trim().toLowerCase().replace(/ /g, "_")).filter(Boolean) : [];
  }
  const words = found.map((k) => names[k] ?? ((/^[aeiou]/.test(k) ? "an " : "a ") + k.replace(/_/g, " ")));
  if (words.length === 0) return "sensitive data";
  return words.length === 1 ? words[0] : words.slice(0, -1).join(", ") + " and " + words[words.length - 1];
}

/** sensitiveQuestion is the confirmation to show for a failed send, or ""
 * when the failure was something else. */
export function sensitiveQuestion(err: unknown): string {
  if (!isSensitive(err)) return "";
  return `This message looks like it contains ${sensitiveKinds(err.kinds, err.message)}. Anyone in this conversation will see it. Send anyway?`;
}
