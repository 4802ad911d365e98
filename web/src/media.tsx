// Media in messages: images, voice notes and files, fetched with the
// token into blob: URLs (an <img> cannot send the Authorization header).
import { useEffect, useState } from "preact/hooks";
import type { Attachment, Client } from "./api";

export function AttachmentView({ a, client }: { a: Attachment; client: Client }) {
  if (a.hidden || !a.id) return <span class="hidden-media">[{a.kind} hidden until you accept]</span>;
  if (a.kind === "image" || a.kind === "gif" || a.kind === "sticker") {
    return <MediaImage client={client} id={a.id} thumb={!!a.thumbnail} alt={`${a.kind} attachment`} />;
  }
  if (a.kind === "audio") return <MediaAudio client={client} id={a.id} />;
  return <MediaLink client={client} a={a} />;
}

/** useMediaURL fetches a media file with the token into a blob: URL,
 * revoked when the component goes. */
function useMediaURL(client: Client, id: string, thumb = false): string {
  const [src, setSrc] = useState("");
  useEffect(() => {
    let url = "";
    client.mediaURL(id, thumb).then((u) => { url = u; setSrc(u); }).catch(() => {});
    return () => { if (url) URL.revokeObjectURL(url); };
  }, [id, thumb]);
  return src;
}

export function MediaImage({ client, id, thumb, alt }: { client: Client; id: string; thumb?: boolean; alt: string }) {
  const src = useMediaURL(client, id, thumb);
  return src ? <img class="media" src={src} alt={alt} /> : <span class="media loading">Loading image…</span>;
}

function MediaAudio({ client, id }: { client: Client; id: string }) {
  const src = useMediaURL(client, id);
  return src ? <audio class="voice" controls src={src} aria-label="Voice note" /> : <span class="voice-loading">Loading voice note…</span>;
}

function MediaLink({ client, a }: { client: Client; a: Attachment }) {
  // Downloaded, never opened in the app's origin: a blob: URL would not
  // carry the server's sandbox, so the bytes go out as a file to save.
  const open = async () => {
    const u = await client.mediaURL(a.id!, false, "application/octet-stream");
    const link = document.createElement("a");
    link.href = u;
    link.download = `${a.kind}-${a.id}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(u), 10000);
  };
  const size = a.size ? ` · ${(a.size / 1024).toFixed(0)} KB` : "";
  return <button class="file-link" onClick={open}>{a.kind}: {a.content_type}{size}</button>;
}
