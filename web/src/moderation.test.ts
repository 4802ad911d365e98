import { describe, expect, it } from "vitest";
import type { Conversation, Triage } from "./api";
import { bulkSummary, isFiltered, scorePercent, signalLines, sortRequests, toggle, whyFiltered } from "./moderation";

const triage = (score: number, filtered: boolean, extra: Triage["signals"] = []): Triage => ({
  score, filtered, signals: [
    { name: "base", detail: "every request starts here", contribution: -1.5 },
    { name: "account_age", detail: "account created less than a day ago", contribution: 1.5 },
    { name: "follow_overlap", detail: "followed by 2 people you follow", contribution: -1 },
    { name: "links", detail: "a link", contribution: 0.8 },
    ...extra,
  ],
});
const conv = (id: string, t?: Triage, over: Partial<Conversation> = {}): Conversation => ({
  id, kind: "direct", last_seq: 1, last_activity_at: "2026-01-01T00:00:00Z", member_count: 2, folder: "requests",
  status: "pending", role: "member", pinned: false, read_seq: 0, unread_count: 1, request: true, triage: t, ...over,
});

describe("triage", () => {
  it("sorts requests lowest score first, unscored as 0", () => {
    const out = sortRequests([conv("a", triage(0.9, true)), conv("b"), conv("c", triage(0.2, false))]);
    expect(out.map((c) => c.id)).toEqual(["b", "c", "a"]);
  });
  it("files only filtered requests under Filtered", () => {
    expect(isFiltered(conv("a", triage(0.9, true)))).toBe(true);
    expect(isFiltered(conv("b", triage(0.3, false)))).toBe(false);
    expect(isFiltered(conv("c", triage(0.9, true), { folder: "inbox", request: false }))).toBe(false);
  });
  it("explains a score biggest reason first, without the base", () => {
    expect(signalLines(triage(0.7, false))).toEqual([
      "+1.5 account created less than a day ago", "−1.0 followed by 2 people you follow", "+0.8 a link",
    ]);
    expect(signalLines(undefined)).toEqual([]);
  });
  it("says why a request was filtered: the user's own filter first", () => {
    expect(whyFiltered(triage(0.95, true, [{ name: "your_filter", detail: 'matches your filter "crypto"', contribution: 10 }])))
      .toBe('Matches your filter "crypto"');
    expect(whyFiltered(triage(0.9, true))).toBe("Looks like spam: account created less than a day ago; a link");
    expect(whyFiltered(triage(0.2, false))).toBe("");
    expect(scorePercent(triage(0.934, true))).toBe("93% spam-like");
  });
});

describe("bulk", () => {
  it("toggles a selection without changing the old one", () => {
    const a = new Set(["x"]);
    const b = toggle(a, "y");
    expect([...b].sort()).toEqual(["x", "y"]);
    expect([...toggle(b, "x")]).toEqual(["y"]);
    expect([...a]).toEqual(["x"]);
  });
  it("summarizes partial failures by reason", () => {
    expect(bulkSummary([{ id: "a", ok: true }, { id: "b", ok: true }])).toBe("2 done.");
    expect(bulkSummary([{ id: "a", ok: true }, { id: "b", ok: false, code: "not_found", detail: "conversation not found" },
      { id: "c", ok: false, code: "not_found", detail: "conversation not found" }])).toBe("1 done, 2 not: conversation not found");
  });
});
