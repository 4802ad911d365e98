import { describe, expect, it } from "vitest";
import type { SubscriptionView } from "./api";
import { subscribeToken, subscribed } from "./subscribe";

describe("subscribeToken", () => {
  it("reads the token of a subscribe page only", () => {
    expect(subscribeToken("/subscribe/AbC-12_xyz")).toBe("AbC-12_xyz");
    expect(subscribeToken("/subscribe/AbC-12_xyz/")).toBe("AbC-12_xyz");
    expect(subscribeToken("/")).toBe("");
    expect(subscribeToken("/subscribe/")).toBe("");
    expect(subscribeToken("/subscribe/short")).toBe("");
    expect(subscribeToken("/subscribe/a%2Fb..c/x")).toBe("");
    expect(subscribeToken("/x/subscribe/AbC-12_xyz")).toBe("");
  });
});

describe("subscribed", () => {
  const biz = (id: string) => ({ id, handle: id, display_name: id.toUpperCase(), kind: "business" });
  it("keeps the topics opted in, and businesses with any", () => {
    const subs: SubscriptionView[] = [
      { business: biz("shop"), stopped_at: null, topics: [
        { topic: { id: "t1", name: "Offers" }, opted_in: true }, { topic: { id: "t2", name: "News" }, opted_in: false }] },
      { business: biz("cafe"), stopped_at: "2026-01-01T00:00:00Z", topics: [{ topic: { id: "t3", name: "Menu" }, opted_in: false }] },
    ];
    expect(subscribed(subs)).toEqual([{ business: biz("shop"), topics: [{ id: "t1", name: "Offers" }] }]);
    expect(subscribed([])).toEqual([]);
  });
});
