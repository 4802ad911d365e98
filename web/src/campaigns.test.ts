import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import type { CampaignView } from "./api";
import { bucketLabel, campaignUpdate, describeSegment, emptySegment, policyText, progress, rate, segmentBody, skippedText, statBars } from "./campaigns";

const camp = (c: Partial<CampaignView>): CampaignView => ({
  id: "c1", name: "Sale", template: null, topic: null, segment: {}, status: "running", scheduled_at: null, rate: 100,
  created_at: "", started_at: null, ended_at: null, total: 0, sent: 0, failed: 0, skipped: {}, pending: 0, ...c,
});

describe("segmentBody", () => {
  it("leaves out empty conditions", () => {
    expect(segmentBody(emptySegment)).toEqual({});
    expect(segmentBody({ ...emptySegment, activeWithin: "0", inactiveFor: "abc" })).toEqual({});
  });
  it("splits labels and attributes", () => {
    expect(segmentBody({ labels: " VIP, vip ,  new,", attributes: "city = Oslo\nplan\n\n=x\nnote=a=b", topics: ["t1", "t1"], activeWithin: "30", inactiveFor: "2.5" }))
      .toEqual({ labels: ["vip", "new"], attributes: { city: "Oslo", plan: "", note: "a=b" }, topics: ["t1"], active_within_days: 30 });
  });
  it("describes a segment", () => {
    expect(describeSegment({})).toBe("Every contact");
    expect(describeSegment({ labels: ["vip"], attributes: { city: "Oslo", plan: "" }, topics: ["t1"], inactive_for_days: 1 }, () => "Offers"))
      .toBe("Contacts labelled vip, city is Oslo, with a plan, subscribed to Offers, silent for 1 day");
  });
});

describe("progress", () => {
  it("computes whole percentages of the audience", () => {
    const p = progress(camp({ total: 3, sent: 1, skipped: { no_consent: 1 }, failed: 0, pending: 1 }));
    expect(p).toMatchObject({ sent: 1, skipped: 1, failed: 0, pending: 1, sentPct: 33, skippedPct: 33, failedPct: 0, donePct: 66, finished: false });
  });
  it("is done at 100% and for an empty finished audience", () => {
    expect(progress(camp({ status: "done", total: 4, sent: 2, failed: 1, skipped: { frequency_cap: 1 } })).donePct).toBe(100);
    expect(progress(camp({ status: "done", total: 0, skipped: null }))).toMatchObject({ donePct: 100, finished: true, skipped: 0 });
    expect(progress(camp({ status: "draft", total: 0 })).donePct).toBe(0);
  });
  it("lists skips by reason", () => {
    expect(skippedText({ no_consent: 1, frequency_cap: 2, merged: 0 })).toBe("2 frequency cap, 1 unsubscribed");
    expect(skippedText(null)).toBe("");
  });
});

describe("campaignUpdate", () => {
  it("takes only this campaign's progress events", () => {
    const data = camp({ id: "c1", sent: 2 }) as unknown as Record<string, unknown>;
    expect(campaignUpdate({ type: "campaign.progress", data, created_at: "" }, "c1")?.sent).toBe(2);
    expect(campaignUpdate({ type: "campaign.progress", data, created_at: "" }, "c2")).toBeNull();
    expect(campaignUpdate({ type: "campaign.progress", data, created_at: "" }, "")?.id).toBe("c1");
    expect(campaignUpdate({ type: "message.created", data, created_at: "" }, "c1")).toBeNull();
    expect(campaignUpdate({ type: "campaign.progress", created_at: "" }, "c1")).toBeNull();
  });
});

describe("policyText", () => {
  it("puts a plain headline before the policy's detail", () => {
    const d = "the 24-hour messaging window is closed (the contact last wrote 2026-01-01T00:00:00Z); only an approved template for a topic the contact opted in to can be sent now";
    expect(policyText(new ApiError(403, "window_closed", d), "Not sent")).toBe(`Outside the 24-hour window: only approved templates can be sent (${d}).`);
    expect(policyText(new ApiError(403, "no_consent", "the contact has not opted in to \"Offers\""), "x")).toMatch(/^This contact has not agreed .*Offers/);
    expect(policyText(new ApiError(429, "frequency_cap", ""), "x")).toBe("Too many promotional messages: this contact reached the frequency cap.");
    expect(policyText(new ApiError(429, "quiet_hours", "it is quiet hours"), "x")).toMatch(/^Quiet hours/);
  });
  it("keeps other errors as they are", () => {
    expect(policyText(new ApiError(404, "not_found", "no such conversation"), "x")).toBe("no such conversation");
    expect(policyText(new Error("boom"), "Not sent")).toBe("Not sent");
  });
});

describe("statBars", () => {
  const pt = (at: string, sent: number, read: number, replied: number, opted_out: number) =>
    ({ at, sent, delivered: sent, read, replied, opted_out, failed: 0, skipped: {} });
  it("groups four bars per bucket, the tallest at full height", () => {
    const bars = statBars([pt("2026-11-27T10:00:00Z", 10, 5, 2, 0), pt("2026-11-27T11:00:00Z", 0, 0, 1, 1)], 600, 150);
    expect(bars).toHaveLength(8);
    expect(bars.map((b) => b.series)).toEqual(["sent", "read", "replied", "opted_out", "sent", "read", "replied", "opted_out"]);
    expect(bars[0].h).toBe(150);
    expect(bars[0].y).toBe(0);
    expect(bars[1].h).toBe(75);
    expect(bars[4].value).toBe(0);
    expect(bars[4].x).toBeGreaterThanOrEqual(300); // the second bucket's half
    expect(bars[7].at).toBe("2026-11-27T11:00:00Z");
  });
  it("draws nothing without points", () => {
    expect(statBars([], 600, 150)).toEqual([]);
  });
});

describe("rate and bucketLabel", () => {
  it("rounds shares and names widths", () => {
    expect(rate(1, 3)).toBe("33%");
    expect(rate(0, 0)).toBe("–");
    expect(bucketLabel(60)).toBe("per minute");
    expect(bucketLabel(900)).toBe("per 15 minutes");
    expect(bucketLabel(21600)).toBe("per 6 hours");
    expect(bucketLabel(86400)).toBe("per day");
  });
  it("names the new skip reasons", () => {
    expect(skippedText({ no_account: 2, dm_not_allowed: 1 })).toBe("2 no Parley account, 1 blocked you");
  });
});
