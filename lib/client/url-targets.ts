/**
 * `--url` and `--targets` mode: named targets for arbitrary URLs, cycled round-robin as vegeta does, each
 * named `METHOD URL` for the per-target figures. A GET of `…/cas/<key>` (our API) is checked against the key,
 * so CAS URLs stay verified; other URLs are not, even when they end in something hash-shaped such as a git
 * commit id.
 */
import { readFileSync } from "node:fs";
import { matchesKey, parseKey } from "../common/key.ts";
import type { Target } from "../loadgen.ts";

/** Parses one `--header` value, `Key: Value`. */
export function parseHeader(raw: string): [string, string] {
  const colon = raw.indexOf(":");
  const name = colon === -1 ? "" : raw.slice(0, colon).trim();
  if (name === "" || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new SyntaxError('expected a header such as "Authorization: Bearer xyz"');
  }
  return [name, raw.slice(colon + 1).trim()];
}

/** Header pairs to an object; a repeated name keeps the last value. */
export function headersFrom(pairs: readonly (readonly [string, string])[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) headers[name] = value;
  return headers;
}

/** `--body`: `@path` reads a file, anything else is sent as given (UTF-8); empty means no body. */
export function loadBody(raw: string): Uint8Array | undefined {
  if (raw === "") return undefined;
  if (raw.startsWith("@")) {
    try {
      return new Uint8Array(readFileSync(raw.slice(1)));
    } catch (err) {
      throw new Error(`cannot read the body file ${raw.slice(1)}: ${(err as Error).message}`);
    }
  }
  return new TextEncoder().encode(raw);
}

export interface UrlTargetOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Verify GET bodies whose URL path ends in `/cas/<key>`. @default true */
  verify?: boolean;
}

/** A request to make, as a targets file or `--url` gives it. */
export interface TargetSpec {
  method: string;
  url: string;
  /** Sent after `options.headers`; a name given in both is sent with both values, joined by ", ". */
  headers: readonly (readonly [string, string])[];
  /** Replaces `options.body` for this target. */
  body?: Uint8Array;
}

/**
 * Loadgen targets for `specs`, named `METHOD URL`, with `options.headers` sent with every one and `options.body`
 * as the body of those without their own (as vegeta's `-header` and `-body`). `options.method` is not used.
 */
export function namedTargets(specs: readonly TargetSpec[], options: UrlTargetOptions = {}): Target[] {
  return specs.map((spec): Target => {
    const method = spec.method.toUpperCase();
    const key = method === "GET" && options.verify !== false ? keyOf(spec.url) : undefined;
    const headers: Record<string, string> = { ...options.headers };
    for (const [name, value] of spec.headers) headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    const body = spec.body ?? options.body;
    return {
      name: `${method} ${spec.url}`,
      method,
      url: spec.url,
      headers,
      ...(body && { body }),
      ...(key && {
        verify: (received: Uint8Array) => matchesKey(key, received),
      }),
    };
  });
}

/** `next(seq)` cycling through `targets` in order, as vegeta does without `-lazy`. */
export function roundRobin(targets: readonly Target[]): (seq: number) => Target {
  if (targets.length === 0) throw new RangeError("'targets' must hold at least one target");
  return (seq) => targets[seq % targets.length]!;
}

/** The content key of a `…/cas/<key>` URL; any other path (`/commit/<sha1>`) names no key of ours. */
function keyOf(url: string): ReturnType<typeof parseKey> {
  try {
    const segments = new URL(url).pathname.split("/");
    if (segments.length < 2 || segments[segments.length - 2] !== "cas") return undefined;
    return parseKey(segments[segments.length - 1]!);
  } catch {
    return undefined;
  }
}

/** Checks a `--url` value: an absolute http(s) URL. */
export function parseTargetUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SyntaxError("expected an absolute URL such as http://127.0.0.1:8080/path");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new SyntaxError("expected an http or https URL");
  return url.href;
}
