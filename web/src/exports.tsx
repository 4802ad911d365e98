// Exports: "Export conversation" in a conversation and "Export my data"
// in settings. A job is started, its progress shown (polled), and the
// download link offered once it is done; the link is signed and expires.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Client, ExportJob } from "./api";

/** exportStatus is what a job's line says, for people and screen readers. */
export function exportStatus(j: ExportJob, now = Date.now()): string {
  switch (j.state) {
    case "queued": return "Export waiting to start…";
    case "running": return j.total > 0 ? `Exporting… ${j.done} of ${j.total} messages` : "Exporting…";
    case "failed": return `Export failed: ${j.error || "try again"}`;
  }
  if (!j.download_url || (j.expires_at && Date.parse(j.expires_at) <= now)) return "Export ready, but its link has expired; export again";
  return `Export ready: ${j.total} messages, ${formatSize(j.size ?? 0)}`;
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** ExportButton starts an export and follows it to its download link. */
export function ExportButton({ client, label, request }: {
  client: Client; label: string; request: { scope: "conversation" | "account" | "business"; conversation_id?: string; business?: string };
}) {
  const [job, setJob] = useState<ExportJob | null>(null);
  const [error, setError] = useState("");
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const follow = (j: ExportJob) => {
    setJob(j);
    if (j.state === "queued" || j.state === "running") {
      timer.current = window.setTimeout(async () => {
        try { follow(await client.exportJob(j.id)); } catch (err) { setError(err instanceof ApiError ? err.message : "Lost track of the export"); }
      }, 1000);
    }
  };
  const start = async () => {
    setError("");
    try { follow(await client.startExport(request)); } catch (err) { setError(err instanceof ApiError ? err.message : "Export failed"); }
  };
  const busy = job !== null && (job.state === "queued" || job.state === "running");
  return (
    <div class="export">
      <button type="button" onClick={start} disabled={busy}>{label}</button>
      {job && <ExportLine job={job} />}
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

/** ExportLine shows one job: progress while it runs, the link when done. */
export function ExportLine({ job }: { job: ExportJob }) {
  const running = job.state === "queued" || job.state === "running";
  return (
    <p class="export-line" role="status" aria-live="polite">
      <span>{exportStatus(job)}</span>
      {running && job.total > 0 && <progress max={job.total} value={job.done} aria-label="Export progress" />}
      {job.state === "done" && job.download_url && (!job.expires_at || Date.parse(job.expires_at) > Date.now()) && (
        <>
          {" "}<a href={job.download_url} download>Download (ZIP)</a>
          {job.expires_at && <span class="muted"> · link works until {new Date(job.expires_at).toLocaleString()}</span>}
        </>
      )}
    </p>
  );
}

/** YourData is the settings section: export everything, and recent exports. */
export function YourData({ client }: { client: Client }) {
  const [jobs, setJobs] = useState<ExportJob[]>([]);
  useEffect(() => { client.exports().then((p) => setJobs(p.items), () => setJobs([])); }, []);
  return (
    <>
      <h3>Your data</h3>
      <p class="muted">A ZIP of every conversation you are in and your profile: JSON, a readable transcript with media, and a signed record anyone can check with <code>parley verify</code>.</p>
      <ExportButton client={client} label="Export my data" request={{ scope: "account" }} />
      {jobs.length > 0 && (
        <ul class="rows" aria-label="Recent exports">
          {jobs.slice(0, 5).map((j) => <li key={j.id}><span>{j.scope === "account" ? "All my data" : "A conversation"} · {new Date(j.created_at).toLocaleString()}</span><ExportLine job={j} /></li>)}
        </ul>
      )}
    </>
  );
}
