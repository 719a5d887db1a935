/**
 * Puts the workload's blobs on the origin server before the attack: `PUT /cas/<hash>` with the raw body,
 * or as `multipart/form-data` with the field `file` named after the key (what the original Go client sent, and
 * all the original Go server accepts), or action-cache entries (`PUT /ac/<key>`, raw), a few at a time, with
 * the write token when one is set. Any failure
 * becomes one readable line.
 */
import type { WorkloadBlob } from "./workload.ts";

/** An upload that could not be done; `message` is one line for the user. */
export class UploadError extends Error {
  override name = "UploadError";
}

/** The upload was stopped by the caller's signal (Ctrl-C) before every blob was stored. */
export class UploadAbortedError extends UploadError {
  override name = "UploadAbortedError";
}

/** Uploads in flight at once: enough to hide a round trip per blob without flooding the server. */
export const UPLOAD_CONCURRENCY = 8;

/** How a blob is sent: the raw body, or a multipart form with the field `file` whose file name is the key. */
export type UploadForm = "raw" | "multipart";

/** Parses `--upload`: `raw` or `multipart`. */
export function parseUploadForm(raw: string): UploadForm {
  const v = raw.trim();
  if (v === "raw" || v === "multipart") return v;
  throw new SyntaxError('expected "raw" or "multipart"');
}

export interface UploadOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  writeToken?: string;
  /** Per request; 0 = none. @default 30000 */
  timeoutMs?: number;
  /** Aborting stops the upload: in-flight requests are cancelled and no new one starts. */
  signal?: AbortSignal;
  /** Requests in flight at once. @default UPLOAD_CONCURRENCY */
  concurrency?: number;
  /** @default "raw" */
  form?: UploadForm;
  /** Where they go: blobs (`/cas/<hash>`) or action-cache entries (`/ac/<key>`, the key in `hash`). @default "cas" */
  kind?: "cas" | "ac";
}

/** Uploads every blob; resolves with how many were new (201) and already stored (200). */
export async function uploadBlobs(
  serverUrl: string,
  blobs: readonly WorkloadBlob[],
  options: UploadOptions = {},
): Promise<{ created: number; existing: number }> {
  const base = serverUrl.replace(/\/+$/, "");
  const multipart = options.form === "multipart";
  // fetch sets the multipart Content-Type itself, with its boundary
  const headers: Record<string, string> = multipart ? {} : { "content-type": "application/octet-stream" };
  if (options.writeToken) headers.authorization = `Bearer ${options.writeToken}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const kind = options.kind ?? "cas";
  // One controller for the whole upload: the first failure (or the caller's abort) cancels the others.
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const counts = { created: 0, existing: 0 };
  let nextIndex = 0;
  let failure: unknown;

  const putOne = async (blob: WorkloadBlob): Promise<void> => {
    // AbortSignal.timeout(0) fires at once, so "no timeout" must mean no timer at all.
    const signal = timeoutMs > 0 ? AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]) : stop.signal;
    let res: Response;
    try {
      const body = multipart ? formOf(blob) : blob.data;
      res = await fetch(`${base}/${kind}/${blob.hash}`, { method: "PUT", headers, body, signal });
    } catch (err) {
      if (isConnectionReset(err)) {
        throw new UploadError(`the server at ${base} closed the connection during the upload of ${blob.hash}`);
      }
      throw new UploadError(`cannot reach the server at ${base}: ${describeFetchError(err)}`);
    }
    const text = await res.text().catch(() => "");
    if (res.status === 201) counts.created++;
    else if (res.status === 200) counts.existing++;
    else throw new UploadError(`uploading ${blob.hash} to ${base} failed: ${res.status} ${serverMessage(text)}`);
  };
  const worker = async (): Promise<void> => {
    while (!stop.signal.aborted && nextIndex < blobs.length) {
      const blob = blobs[nextIndex++]!;
      try {
        await putOne(blob);
      } catch (err) {
        failure ??= err;
        stop.abort();
      }
    }
  };

  try {
    const workers = Math.max(1, Math.min(options.concurrency ?? UPLOAD_CONCURRENCY, blobs.length));
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (options.signal?.aborted) {
    const done = counts.created + counts.existing;
    throw new UploadAbortedError(`upload interrupted after ${done} of ${blobs.length} blob(s); nothing was attacked`);
  }
  if (failure !== undefined) throw failure;
  return counts;
}

/** The multipart form the original Go client sent: the field `file`, its file name the key. */
function formOf(blob: WorkloadBlob): FormData {
  const form = new FormData();
  form.append("file", new Blob([blob.data]), blob.hash);
  return form;
}

/** The server took the connection and closed (or reset) it before answering. */
function isConnectionReset(err: unknown): boolean {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return code === "ECONNRESET" || code === "ConnectionClosed" || code === "EPIPE";
}

/**
 * A fetch failure in a few words: Bun's connection errors carry a `code` such as ConnectionRefused. Bun's
 * advice to pass `verbose: true` to fetch() is for whoever calls fetch, not for the user: it is cut.
 */
export function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return "timed out";
    const code = (err as Error & { code?: unknown }).code;
    if (code === "ECONNREFUSED" || code === "ConnectionRefused") return "connection refused";
    const message = withoutFetchHint(err.message);
    if (typeof code === "string" && code !== "" && !message.includes(code)) return `${message} (${code})`;
    return message;
  }
  return String(err);
}

function withoutFetchHint(message: string): string {
  return message.replace(/\.?\s*For more information, pass `verbose: true`[^.]*\.?/, "").trim();
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
