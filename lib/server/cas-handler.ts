/**
 * The CAS origin's request handler: `PUT`/`GET`/`HEAD /cas/<hash>` and `/ac/<key>` (either under an ignored
 * instance prefix), `POST /cas`, `/status`, and health, readiness and metrics (lib/common/ops-routes.ts), as a
 * `fetch(req)` function over a {@linkcode BlobStore}. Small blobs are kept in a byte-bounded read cache (content
 * is immutable, so a cached blob is never stale) and answered synchronously; action-cache entries are mutable
 * and always read from disk.
 */
import type { Serve } from "bun";
import { createHash, timingSafeEqual } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { Counter, Gauge } from "prom-client";
import { contentRange, parseByteRange } from "./byte-range.ts";
import { logRequest } from "../common/access-log.ts";
import { errorResponse, HttpError, methodNotAllowed, toErrorResponse } from "../common/http-error.ts";
import {
  EMPTY_SHA1,
  EMPTY_SHA256,
  isEmptyBlob,
  parseActionKey,
  parseKey,
  type BlobKey,
  type HashAlgorithm,
} from "../common/key.ts";
import { parseStorePath, type StoreKind } from "../common/store-path.ts";
import { createActionCache } from "./action-cache.ts";
import { blobView, type BlobView } from "./blob-view.ts";
import { silentLogger, type Logger } from "../common/log.ts";
import { Lru } from "../lru.ts";
import { opsRoutes, type OpsRoutes } from "../common/ops-routes.ts";
import { createMetrics, type HttpMetrics, type RouteMetrics } from "../common/prometheus.ts";
import { pathOf } from "../common/request-path.ts";
import { MultipartError, multipartBoundary, readMultipart } from "./multipart.ts";
import { declaredLength, etagMatches } from "./request-headers.ts";
import { StoreError, fileStream, readWhole, type BlobStore, type PutResult } from "./store.ts";
import { storeStatus } from "./store-status.ts";
import { DEFAULT_MAX_UPLOADS, rateBounded, uploadSlots, type RateBoundOptions } from "./upload-limits.ts";

/** Read cache size unless configured. */
export const DEFAULT_READ_CACHE_BYTES = 64 * 2 ** 20;
/** Largest blob kept in the read cache (and read whole instead of streamed) unless configured. */
export const DEFAULT_READ_CACHE_ITEM_BYTES = 2 ** 20;
/** Room for the multipart envelope around a file of the largest allowed size. */
export const MULTIPART_OVERHEAD_BYTES = 2 ** 20;

export interface CasServerOptions {
  store: BlobStore;
  /** @default silentLogger */
  logger?: Logger;
  /** Registry and HTTP metrics to count into; the store's metrics are added to it. @default createMetrics() */
  metrics?: HttpMetrics;
  /** When set, PUT and POST need `Authorization: Bearer <token>`. */
  writeToken?: string;
  /** Log one line per request. @default false */
  accessLog?: boolean;
  /** Bytes of small blobs kept in memory; 0 turns the read cache off. @default DEFAULT_READ_CACHE_BYTES */
  readCacheBytes?: number;
  /** Blobs up to this size are read whole and cached; larger ones stream from disk. @default DEFAULT_READ_CACHE_ITEM_BYTES */
  readCacheItemBytes?: number;
  /** The slowest an upload may be (408 below it); see lib/server/upload-limits.ts for the defaults. */
  uploadRate?: RateBoundOptions;
  /** Uploads in flight at once, 503 beyond; 0 means no cap. @default DEFAULT_MAX_UPLOADS */
  maxUploads?: number;
}

export interface CasServer {
  fetch(req: Request): Response | Promise<Response>;
  /**
   * Bun's native routes for blob reads, the hot path: `GET`/`HEAD /cas/<key>` without building a URL string
   * or looking a route up per request. Everything else (other methods too) goes to `fetch`.
   */
  routes: Serve.Routes<undefined, typeof ROUTE_BLOB>;
  metrics: HttpMetrics;
  /** For Bun.serve: the largest blob plus a multipart envelope; the handler refuses bigger blobs with its own 413. */
  maxRequestBodySize: number;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const ROUTE_BLOB = "/cas/:hash";
const ROUTE_AC = "/ac/:hash";
const ROUTE_POST = "/cas";
const ROUTE_UNMATCHED = "unmatched";
const LOWER_HEX_KEY = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const BLOB_METHODS = ["GET", "HEAD", "PUT"] as const;
// Methods outside this set are counted as "OTHER" so clients cannot grow the metric's label set.
const KNOWN_METHODS = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]);
const NO_BODY: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };

/** Builds the handler. */
export function createCasServer(options: CasServerOptions): CasServer {
  const { store } = options;
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? createMetrics();
  const accessLog = options.accessLog ?? false;
  const cacheBytes = options.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES;
  const itemBytes = options.readCacheItemBytes ?? DEFAULT_READ_CACHE_ITEM_BYTES;
  const cache =
    cacheBytes > 0
      ? new Lru<string, BlobView>({ maxBytes: cacheBytes, sizeOf: (k, v) => k.length + v.size })
      : undefined;
  const tokenDigest = options.writeToken ? sha256(options.writeToken) : undefined;
  const uploads = uploadSlots(options.maxUploads ?? DEFAULT_MAX_UPLOADS);
  // GETs and HEADs by kind and outcome, counted in plain numbers (the hit path stays cheap), read at scrape time.
  const reads: ReadTally = { cas: { hit: 0, miss: 0 }, ac: { hit: 0, miss: 0 } };
  const actionCache = createActionCache({
    store,
    itemBytes,
    onRead: (found) => reads.ac[found ? "hit" : "miss"]++,
    readCache: cache,
  });
  const emptyViews = new Map([EMPTY_SHA256, EMPTY_SHA1].map((hex) => [hex, viewOf(hex, 0, new Uint8Array(0))]));
  registerStoreMetrics(metrics, store, reads);
  // Blob reads are the hot path: their metric handles are bound once instead of looked up per request.
  const getBlobMetrics = metrics.route("GET", ROUTE_BLOB);
  const headBlobMetrics = metrics.route("HEAD", ROUTE_BLOB);
  const ops = opsRoutes({
    health: true,
    ready: readiness,
    metrics: metrics.registry,
    more: { "/status": () => Response.json(storeStatus(store)) },
  });

  function fetch(req: Request): Response | Promise<Response> {
    const started = performance.now();
    const path = pathOf(req.url);
    const route = routeOf(path, ops);
    let result: Response | Promise<Response>;
    try {
      result = dispatch(req, route, path);
    } catch (err) {
      result = failed(req, route, err);
    }
    if (result instanceof Response) return finish(req, route, started, result);
    return result.then(
      (res) => finish(req, route, started, res),
      (err: unknown) => finish(req, route, started, failed(req, route, err)),
    );
  }

  /** A blob read reached through the native route: the read cache first, with the key as the router cut it. */
  function blobRoute(req: Request, raw: string, head: boolean): Response | Promise<Response> {
    const started = performance.now();
    let result: Response | Promise<Response>;
    try {
      const cached = LOWER_HEX_KEY.test(raw) ? cache?.get(raw) : undefined;
      if (cached !== undefined) {
        reads.cas.hit++;
        result = answer(req, cached, head, undefined);
      } else {
        const key = parseKey(raw);
        result = key === undefined ? invalidKey() : read(req, key, head);
      }
    } catch (err) {
      result = failed(req, ROUTE_BLOB, err);
    }
    return result instanceof Response ? finish(req, ROUTE_BLOB, started, result) : later(req, started, result);
  }

  /**
   * Finishes a blob read that went to disk. Its own function so that blobRoute holds no closure: a function that
   * creates one allocates its scope on every call, hits included.
   */
  function later(req: Request, started: number, result: Promise<Response>): Promise<Response> {
    return result.then(
      (res) => finish(req, ROUTE_BLOB, started, res),
      (err: unknown) => finish(req, ROUTE_BLOB, started, failed(req, ROUTE_BLOB, err)),
    );
  }

  function finish(req: Request, route: string, started: number, res: Response): Response {
    const ms = performance.now() - started;
    metricsFor(req.method, route).observe(res.status, ms / 1000);
    if (accessLog) logRequest(logger, { req, status: res.status, ms });
    return res;
  }

  /** The request metrics of a method and route; blob reads, the hot path, skip the lookup. */
  function metricsFor(method: string, route: string): RouteMetrics {
    if (route === ROUTE_BLOB) {
      if (method === "GET") return getBlobMetrics;
      if (method === "HEAD") return headBlobMetrics;
    }
    return metrics.route(KNOWN_METHODS.has(method) ? method : "OTHER", route);
  }

  function failed(req: Request, route: string, err: unknown): Response {
    if (err instanceof StoreError) {
      const status = err.code === "digest_mismatch" ? 400 : err.code === "too_large" ? 413 : 507;
      return errorResponse(status, err.code, err.message);
    }
    if (err instanceof MultipartError) return errorResponse(400, "bad_multipart", err.message);
    if (err instanceof HttpError) {
      logger.debug("upload refused", { method: req.method, route, error: err.code, message: err.message });
      return toErrorResponse(err);
    }
    if (err instanceof Error && err.name === "AbortError") {
      // The client went away mid-upload; nobody reads this answer.
      logger.debug("upload aborted", { method: req.method, route });
      return errorResponse(400, "aborted", "the client closed the connection");
    }
    logger.error("request failed", { method: req.method, route, err });
    return errorResponse(500, "internal", "internal server error");
  }

  function dispatch(req: Request, route: string, path: string): Response | Promise<Response> {
    const method = req.method;
    switch (route) {
      case ROUTE_BLOB: {
        const isRead = method === "GET" || method === "HEAD";
        if (!isRead && method !== "PUT") return methodNotAllowed(BLOB_METHODS);
        if (!isRead && !authorized(req)) return unauthorized();
        const key = parseKey(parseStorePath(path)!.key);
        if (key === undefined) {
          return invalidKey();
        }
        return isRead ? read(req, key, method === "HEAD") : receive(req, key);
      }
      case ROUTE_AC: {
        const isRead = method === "GET" || method === "HEAD";
        if (!isRead && method !== "PUT") return methodNotAllowed(BLOB_METHODS);
        if (!isRead && !authorized(req)) return unauthorized();
        const key = parseActionKey(parseStorePath(path)!.key);
        if (key === undefined) return errorResponse(400, "invalid_key", "an action-cache key is 64 hex digits");
        if (isRead) return actionCache.read(req, key, method === "HEAD");
        return inUploadSlot(() => actionCache.write(req, key, uploadBody(req)));
      }
      case ROUTE_POST:
        if (method !== "POST") return methodNotAllowed(["POST"]);
        if (!authorized(req)) return unauthorized();
        return receive(req, "sha256");
      default:
        return ops.answer(req, path) ?? errorResponse(404, "not_found", "no such route");
    }
  }

  function read(req: Request, key: BlobKey, head: boolean): Response | Promise<Response> {
    const cached = cache?.get(key.hex) ?? (isEmptyBlob(key) ? emptyViews.get(key.hex) : undefined);
    if (cached !== undefined) {
      reads.cas.hit++;
      return answer(req, cached, head, undefined);
    }
    return readFromDisk(req, key, head);
  }

  function missing(key: BlobKey): Response {
    reads.cas.miss++;
    return notFound(key);
  }

  async function readFromDisk(req: Request, key: BlobKey, head: boolean): Promise<Response> {
    if (head) {
      const size = await store.sizeOf(key);
      if (size === undefined) return missing(key);
      reads.cas.hit++;
      return answer(req, viewOf(key.hex, size, undefined), true, undefined);
    }
    const blob = await store.open(key);
    if (blob === undefined) return missing(key);
    reads.cas.hit++;
    if (blob.size > itemBytes) return answer(req, viewOf(key.hex, blob.size, undefined), false, blob.handle);
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readWhole(blob.handle, blob.size);
    } finally {
      await blob.handle.close();
    }
    const view = viewOf(key.hex, blob.size, body);
    cache?.set(key.hex, view);
    return answer(req, view, false, undefined);
  }

  /** The response for a blob: 304, 206, 416 or 200. A given handle is closed, or handed to the body stream. */
  function answer(req: Request, view: BlobView, head: boolean, handle: FileHandle | undefined): Response {
    const ifNoneMatch = req.headers.get("if-none-match");
    const rangeHeader = req.headers.get("range");
    if (ifNoneMatch === null && rangeHeader === null) {
      if (head) return new Response(null, view.ok);
      return new Response(view.body ?? fileStream(handle!, 0, view.size), view.ok);
    }
    if (ifNoneMatch !== null && etagMatches(ifNoneMatch, view.etag)) {
      void handle?.close();
      return new Response(null, view.notModified);
    }
    const ifRange = req.headers.get("if-range");
    const range =
      ifRange !== null && ifRange !== view.etag ? { kind: "full" as const } : parseByteRange(rangeHeader, view.size);
    if (range.kind === "unsatisfiable") {
      void handle?.close();
      return errorResponse(416, "range_not_satisfiable", `the blob has ${view.size} bytes`, {
        "content-range": contentRange(view.size),
      });
    }
    if (range.kind === "full") {
      if (head) {
        void handle?.close();
        return new Response(null, view.ok);
      }
      return new Response(view.body ?? fileStream(handle!, 0, view.size), view.ok);
    }
    const headers = {
      ...Object.fromEntries(view.ok.headers),
      "content-length": String(range.end - range.start),
      "content-range": contentRange(view.size, range),
    };
    if (head) {
      void handle?.close();
      return new Response(null, { status: 206, headers });
    }
    const body = view.body?.slice(range.start, range.end) ?? fileStream(handle!, range.start, range.end);
    return new Response(body, { status: 206, headers });
  }

  /** Runs an upload of either kind in one of the --max-uploads slots (503 when none is free). */
  async function inUploadSlot(upload: () => Promise<Response>): Promise<Response> {
    uploads.take();
    try {
      return await upload();
    } finally {
      uploads.release();
    }
  }

  /** A request's body, cut off (408) if it arrives too slowly rather than holding its socket and temp file. */
  function uploadBody(req: Request): AsyncIterable<Uint8Array> {
    return req.body === null ? NO_BODY : rateBounded(req.body, options.uploadRate);
  }

  function receive(req: Request, target: BlobKey | HashAlgorithm): Promise<Response> {
    return inUploadSlot(() => receiveBody(req, target));
  }

  async function receiveBody(req: Request, target: BlobKey | HashAlgorithm): Promise<Response> {
    const declared = declaredLength(req);
    const boundary = multipartBoundary(req.headers.get("content-type"));
    const body = uploadBody(req);
    let result: PutResult | undefined;
    if (boundary === undefined) {
      if (declared !== undefined && declared > store.maxBlobBytes) throw tooLarge();
      result = await store.put(target, body, { declaredSize: declared });
    } else {
      if (declared !== undefined && declared > store.maxBlobBytes + MULTIPART_OVERHEAD_BYTES) throw tooLarge();
      for await (const part of readMultipart(body, boundary)) {
        if (part.name === "file" && result === undefined) result = await store.put(target, part.body);
      }
      if (result === undefined) return errorResponse(400, "missing_file", 'the multipart body has no "file" field');
    }
    const location = `/cas/${result.key.hex}`;
    return Response.json(
      { hash: result.key.hex, size: result.size },
      { status: result.created ? 201 : 200, headers: { location } },
    );
  }

  function tooLarge(): StoreError {
    return new StoreError("too_large", `blob larger than ${store.maxBlobBytes} bytes`);
  }

  async function readiness(): Promise<Response> {
    if (await store.ready()) return Response.json({ status: "ready" });
    return errorResponse(
      503,
      "not_ready",
      "the data directory is not writable, the store quota is reached or the disk is full",
    );
  }

  function authorized(req: Request): boolean {
    if (tokenDigest === undefined) return true;
    const header = req.headers.get("authorization");
    const m = header === null ? null : /^bearer[ \t]+(.*)$/i.exec(header);
    if (m === null) return false;
    // Digests have equal lengths, so the comparison takes the same time whatever the token's length.
    return timingSafeEqual(sha256(m[1]!.trim()), tokenDigest);
  }

  const largestBody = Math.max(store.maxBlobBytes, store.maxAcBytes);
  const routes = {
    [ROUTE_BLOB]: {
      GET: (req: Bun.BunRequest<typeof ROUTE_BLOB>) => blobRoute(req, req.params.hash, false),
      HEAD: (req: Bun.BunRequest<typeof ROUTE_BLOB>) => blobRoute(req, req.params.hash, true),
    },
  };
  return { fetch, routes, metrics, maxRequestBodySize: largestBody + MULTIPART_OVERHEAD_BYTES };
}

/** A blob's view: its key is its ETag, and it never changes, so caches may keep it for good. */
function viewOf(hex: string, size: number, bytes: Uint8Array<ArrayBuffer> | undefined): BlobView {
  return blobView(`"${hex}"`, IMMUTABLE, size, bytes, { "accept-ranges": "bytes" });
}

/** The answer to a blob path whose key is not a content key, from the native route and from fetch alike. */
function invalidKey(): Response {
  return errorResponse(400, "invalid_key", "a key is 40 (SHA-1) or 64 (SHA-256) hex digits");
}

function notFound(key: BlobKey): Response {
  return errorResponse(404, "not_found", `no blob ${key.hex}`);
}

function unauthorized(): Response {
  return errorResponse(401, "unauthorized", "writes need Authorization: Bearer <token>", {
    "www-authenticate": 'Bearer realm="cas"',
  });
}

/** The metric route: a fixed pattern, never the raw path (an instance prefix is dropped). */
function routeOf(path: string, ops: OpsRoutes): string {
  const stored = parseStorePath(path);
  if (stored !== undefined) return stored.kind === "cas" ? ROUTE_BLOB : ROUTE_AC;
  if (path === "/cas") return ROUTE_POST;
  if (ops.has(path)) return path;
  return ROUTE_UNMATCHED;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Reads (GET and HEAD) by kind: found (`hit`) or not (`miss`). */
type ReadTally = Record<StoreKind, { hit: number; miss: number }>;

const KINDS: readonly StoreKind[] = ["cas", "ac"];

/**
 * Adds the store's gauges and counters to the registry, each by `kind` (`cas` blobs, `ac` action-cache
 * entries); values are read from the store and the tally at scrape time.
 */
function registerStoreMetrics(metrics: HttpMetrics, store: BlobStore, reads: ReadTally): void {
  const registers = [metrics.registry];
  const byKind = (cas: number, ac: number): Record<StoreKind, number> => ({ cas, ac });
  gaugeBy("cas_store_blobs", "Entries in the store: blobs (kind=cas) and action-cache entries (kind=ac)", () => {
    const s = store.stats();
    return byKind(s.blobs, s.acEntries);
  });
  gaugeBy("cas_store_bytes", "Sum of the sizes of the entries in the store, in bytes (the quota counts both)", () => {
    const s = store.stats();
    return byKind(s.bytes, s.acBytes);
  });
  counterBy("cas_store_written_bytes_total", "Bytes of newly stored blobs and written action-cache entries", () => {
    const s = store.stats();
    return byKind(s.writtenBytes, s.acWrittenBytes);
  });
  let seenMismatches = 0;
  new Counter({
    name: "cas_store_digest_mismatches_total",
    help: "Uploads refused because their content did not hash to their key",
    registers,
    collect() {
      const now = store.stats().digestMismatches;
      if (now > seenMismatches) this.inc(now - seenMismatches);
      seenMismatches = now;
    },
  });
  const seenReads: ReadTally = { cas: { hit: 0, miss: 0 }, ac: { hit: 0, miss: 0 } };
  new Counter({
    name: "cas_store_requests_total",
    help: "GET and HEAD requests by kind, and whether the entry was there (hit) or not (miss)",
    labelNames: ["kind", "result"] as const,
    registers,
    collect() {
      for (const kind of KINDS) {
        for (const result of ["hit", "miss"] as const) {
          const now = reads[kind][result];
          // inc(0) too, so every series exists from the first scrape.
          this.inc({ kind, result }, now - seenReads[kind][result]);
          seenReads[kind][result] = now;
        }
      }
    },
  });

  function gaugeBy(name: string, help: string, read: () => Record<StoreKind, number>): void {
    new Gauge({
      name,
      help,
      labelNames: ["kind"] as const,
      registers,
      collect() {
        const now = read();
        for (const kind of KINDS) this.set({ kind }, now[kind]);
      },
    });
  }

  function counterBy(name: string, help: string, read: () => Record<StoreKind, number>): void {
    const seen = byKind(0, 0);
    new Counter({
      name,
      help,
      labelNames: ["kind"] as const,
      registers,
      collect() {
        const now = read();
        for (const kind of KINDS) {
          this.inc({ kind }, Math.max(0, now[kind] - seen[kind]));
          seen[kind] = now[kind];
        }
      },
    });
  }
}
