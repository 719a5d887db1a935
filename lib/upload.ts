/**
 * Puts the default flow's blobs on the origin server before the attack: `PUT /cas/<hash>` with the raw
 * body, and the write token when one is set. Any failure becomes one readable line (an `UploadError`).
 */
import type { Blob } from "./workload.ts";

/** An upload that could not be done; `message` is one line for the user. */
export class UploadError extends Error {
  override name = "UploadError";
}

export interface UploadOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  writeToken?: string;
  /** Per request; 0 = none. @default 30000 */
  timeoutMs?: number;
}

/** Uploads every blob; resolves with how many were new (201) and already stored (200). */
export async function uploadBlobs(
  serverUrl: string,
  blobs: readonly Blob[],
  options: UploadOptions = {},
): Promise<{ created: number; existing: number }> {
  const base = serverUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (options.writeToken) headers.authorization = `Bearer ${options.writeToken}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let created = 0;
  let existing = 0;
  for (const blob of blobs) {
    let res: Response;
    try {
      res = await fetch(`${base}/cas/${blob.hash}`, {
        method: "PUT",
        headers,
        body: blob.data,
        // AbortSignal.timeout(0) fires at once, so "no timeout" must mean no timer at all.
        ...(timeoutMs > 0 && { signal: AbortSignal.timeout(timeoutMs) }),
      });
    } catch (err) {
      throw new UploadError(`cannot reach the server at ${base}: ${describeFetchError(err)}`);
    }
    const text = await res.text().catch(() => "");
    if (res.status === 201) created++;
    else if (res.status === 200) existing++;
    else throw new UploadError(`uploading ${blob.hash} to ${base} failed: ${res.status} ${serverMessage(text)}`);
  }
  return { created, existing };
}

/** A fetch failure in a few words: Bun's connection errors carry a `code` such as ConnectionRefused. */
export function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return "timed out";
    const code = (err as Error & { code?: unknown }).code;
    if (code === "ECONNREFUSED" || code === "ConnectionRefused") return "connection refused";
    if (typeof code === "string" && code !== "" && !err.message.includes(code)) return `${err.message} (${code})`;
    return err.message;
  }
  return String(err);
}

/** The server's JSON error message when it sent one, else the start of the body. */
function serverMessage(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "message" in parsed) return String(parsed.message);
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 200);
}
