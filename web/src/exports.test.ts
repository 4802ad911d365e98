import { describe, expect, it } from "vitest";
import { exportStatus, formatSize } from "./exports";
import type { ExportJob } from "./api";

const job = (o: Partial<ExportJob>): ExportJob => ({ id: "j", scope: "account", state: "queued", done: 0, total: 0, created_at: "2026-11-27T10:00:00Z", ...o });

describe("exportStatus", () => {
  it("follows a job from queued to its link", () => {
    expect(exportStatus(job({}))).toBe("Export waiting to start…");
    expect(exportStatus(job({ state: "running" }))).toBe("Exporting…");
    expect(exportStatus(job({ state: "running", done: 120, total: 500 }))).toBe("Exporting… 120 of 500 messages");
    expect(exportStatus(job({ state: "failed", error: "the conversation is no longer yours to export" })))
      .toBe("Export failed: the conversation is no longer yours to export");
    const now = Date.parse("2026-11-27T12:00:00Z");
    const done = job({ state: "done", done: 500, total: 500, size: 3 * 1024 * 1024, download_url: "/api/v1/exports/j/download?expires=1&sig=x", expires_at: "2026-11-28T10:00:00Z" });
    expect(exportStatus(done, now)).toBe("Export ready: 500 messages, 3.0 MB");
    expect(exportStatus({ ...done, expires_at: "2026-11-27T11:00:00Z" }, now)).toBe("Export ready, but its link has expired; export again");
  });
  it("formats sizes", () => {
    expect(formatSize(512)).toBe("512 B");
    expect(formatSize(2048)).toBe("2.0 KB");
  });
});
