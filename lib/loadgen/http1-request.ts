/**
 * HTTP/1.1 request encoding for the load generator: a method, URL, headers and body turned into the bytes to write,
 * once per target. Pure and synchronous: no sockets, no clock. Leaves out chunked request bodies and header
 * validation (names and values are written as given).
 */

/** A request turned into bytes once, so a target sent many times costs one write each time. */
export interface PreparedRequest {
  method: string;
  /** Pool key: `http://host:port`. */
  origin: string;
  hostname: string;
  port: number;
  tls: boolean;
  /** Request line, headers and body. */
  bytes: Uint8Array;
  /** HEAD: the response has no body whatever its headers say. */
  head: boolean;
  /** Safe to send again on a fresh connection when a reused one turns out to be closed. */
  idempotent: boolean;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const encoder = new TextEncoder();

/**
 * Builds the bytes for one request. Adds `Host` (unless given) and `Content-Length` when there is a body or the
 * method usually has one; `Connection: close` when keepAlive is false. Throws TypeError for a URL that is not
 * http or https.
 */
export function prepareRequest(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: Uint8Array; keepAlive?: boolean } = {},
): PreparedRequest {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Cannot parse URL "${url}"`);
  }
  const tls = parsed.protocol === "https:";
  if (!tls && parsed.protocol !== "http:") throw new TypeError(`Cannot send to "${url}": only http and https`);
  const port = parsed.port === "" ? (tls ? 443 : 80) : Number(parsed.port);
  const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const upper = method.toUpperCase();
  let head = `${upper} ${parsed.pathname}${parsed.search} HTTP/1.1\r\n`;
  const given = new Set<string>();
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    given.add(name.toLowerCase());
    head += `${name}: ${value}\r\n`;
  }
  if (!given.has("host")) head += `Host: ${parsed.host}\r\n`;
  const body = options.body;
  if (
    !given.has("content-length") &&
    (body !== undefined || upper === "POST" || upper === "PUT" || upper === "PATCH")
  ) {
    head += `Content-Length: ${body?.length ?? 0}\r\n`;
  }
  if (options.keepAlive === false && !given.has("connection")) head += "Connection: close\r\n";
  head += "\r\n";
  const headBytes = encoder.encode(head);
  let bytes = headBytes;
  if (body !== undefined && body.length > 0) {
    bytes = new Uint8Array(headBytes.length + body.length);
    bytes.set(headBytes);
    bytes.set(body, headBytes.length);
  }
  return {
    method: upper,
    origin: `${parsed.protocol}//${parsed.host}`,
    hostname,
    port,
    tls,
    bytes,
    head: upper === "HEAD",
    idempotent: IDEMPOTENT.has(upper),
  };
}
