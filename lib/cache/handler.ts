/**
 * The cache's HTTP side: `GET`/`HEAD /cas/<hash>` served from the Group (a hit is answered synchronously with
 * headers built once per blob), the peer route `/_peer/cas/<hash>`, `/stats`, `/healthz`, `/readyz` and
 * `/metrics`; and {@linkcode createCache}, which wires the Group, peers, origin and metrics into a handler and
 * the Bun routes for cache.ts to serve (lib/common/serve.ts).
 */
import type { Serve } from "bun";
import type { CacheConfig } from "./flags.ts";
import { Group, type GetOptions } from "./group.ts";
import { registerCacheMetrics } from "./metrics.ts";
import { startStatsLog, statsReport } from "./group-stats.ts";
import { logRequest } from "../common/access-log.ts";
import { errorResponse, HttpError, methodNotAllowed, toErrorResponse } from "../common/http-error.ts";
import { type BlobKey, parseKey } from "../common/key.ts";
import type { Logger } from "../common/log.ts";
import { opsRoutes } from "../common/ops-routes.ts";
import { createMetrics, type HttpMetrics } from "../common/prometheus.ts";
import { createPeers, type Peers } from "./peers.ts";
import { fetchBlob, type FetchedBlob, PeerVerdict } from "./upstream.ts";

/** What the handler needs; built by {@linkcode createCache}, or by hand in tests. */
export interface CacheHandlerOptions {
  group: Group<FetchedBlob>;
  /** For /stats and /readyz. */
  peers: Pick<Peers, "self" | "list">;
  metrics: HttpMetrics;
  logger: Logger;
  bypass: boolean;
  accessLog: boolean;
}

const CAS = "/cas/";
const PEER_CAS = "/_peer/cas/";
const ROUTE_CAS = "/cas/:hash";
const ROUTE_PEER = "/_peer/cas/:hash";
const LOWER_HEX_KEY = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The cache's request handlers. Hits return a Response synchronously; everything else returns a Promise. */
export interface CacheHandler {
  /** Handles any request. */
  fetch(req: Request): Response | Promise<Response>;
  /**
   * `GET`/`HEAD` of a blob whose key (`raw`) the router already cut out of the path: the hit path, reached
   * through Bun's native router so that no URL string is built per request.
   */
  blob(req: Request, raw: string, fromPeer: boolean): Response | Promise<Response>;
}

export function createCacheHandler(options: CacheHandlerOptions): CacheHandler {
  const { group, metrics, logger, bypass, accessLog } = options;
  // Bound once: a hit counts into these without a lookup.
  const getHits = metrics.route("GET", ROUTE_CAS);
  const headHits = metrics.route("HEAD", ROUTE_CAS);
  const ops = opsRoutes({
    health: true,
    ready: () => Response.json({ status: "ready", peers: options.peers.list().length }),
    metrics: metrics.registry,
    more: {
      "/stats": () => Response.json({ ...statsReport(group), Self: options.peers.self, Peers: options.peers.list() }),
    },
  });

  function blobResponse(value: FetchedBlob, hit: boolean, head: boolean): Response {
    if (value.kind === "held") return new Response(value.body, hit ? value.hit : value.miss);
    if (!head) return value.response;
    void value.response.body?.cancel().catch(() => {});
    const headers = new Headers(value.response.headers);
    if (value.size !== undefined) headers.set("content-length", String(value.size));
    return new Response(null, { headers });
  }

  function finish(req: Request, route: string, started: number, res: Response): Response {
    metrics.observe(req.method, route, res.status, (performance.now() - started) / 1000);
    if (accessLog) {
      const fields = { cache: res.headers.get("x-cache") ?? undefined };
      logRequest(logger, { req, status: res.status, ms: performance.now() - started, fields });
    }
    return res;
  }

  async function miss(req: Request, route: string, started: number, key: string, get: GetOptions): Promise<Response> {
    let res: Response;
    try {
      const { value, hit } =
        get.fromPeer || get.fresh ? await group.get(key, get) : await group.loadAfterMiss(key, get);
      res = blobResponse(value, hit, req.method === "HEAD");
    } catch (err) {
      if (!(err instanceof HttpError)) logger.error("load failed", { key, err });
      else if (err.status >= 500)
        logger.warn("load failed", { key, status: err.status, error: err.code, message: err.message });
      res = toErrorResponse(err);
    }
    return finish(req, route, started, res);
  }

  function cas(req: Request, started: number, raw: string, fromPeer: boolean): Response | Promise<Response> {
    const route = fromPeer ? ROUTE_PEER : ROUTE_CAS;
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") return finish(req, route, started, methodNotAllowed(["GET", "HEAD"]));
    const key = LOWER_HEX_KEY.test(raw) ? raw : parseKey(raw)?.hex;
    if (key === undefined) {
      return finish(
        req,
        route,
        started,
        errorResponse(400, "invalid_key", "expected a hex SHA-1 (40) or SHA-256 (64) digest"),
      );
    }
    const fresh = bypass && isNoCache(req);
    if (fromPeer) return miss(req, route, started, key, { fromPeer, fresh, timeoutMs: peerBudget(req) });
    if (fresh) return miss(req, route, started, key, { fresh });
    const value = group.lookup(key);
    if (value === undefined) return miss(req, route, started, key, {});
    const res = blobResponse(value, true, method === "HEAD");
    if (accessLog) return finish(req, route, started, res);
    (method === "HEAD" ? headHits : getHits).observe(res.status, (performance.now() - started) / 1000);
    return res;
  }

  function blob(req: Request, raw: string, fromPeer: boolean): Response | Promise<Response> {
    return cas(req, performance.now(), raw, fromPeer);
  }

  function handle(req: Request): Response | Promise<Response> {
    const started = performance.now();
    const url = req.url;
    // req.url is absolute; find the path without building a URL object on the hit path.
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const query = url.indexOf("?", pathStart);
    const pathEnd = query === -1 ? url.length : query;
    if (url.startsWith(CAS, pathStart)) return cas(req, started, url.slice(pathStart + CAS.length, pathEnd), false);
    if (url.startsWith(PEER_CAS, pathStart)) {
      return cas(req, started, url.slice(pathStart + PEER_CAS.length, pathEnd), true);
    }
    const path = pathStart === -1 ? "/" : url.slice(pathStart, pathEnd);
    const res = ops.answer(req, path);
    if (res === undefined) return finish(req, "other", started, errorResponse(404, "not_found", `no route ${path}`));
    return res instanceof Response ? finish(req, path, started, res) : res.then((r) => finish(req, path, started, r));
  }

  return { fetch: handle, blob };
}

/**
 * Asking a peer, a cache tells it how long it will wait (this header, in ms), as a gRPC deadline travels
 * with the call: the owner then gives up on the origin first and its verdict arrives in time, instead of
 * the asker timing out, counting a healthy owner as failed and having no time left to load itself.
 */
export const DEADLINE_HEADER = "x-cache-deadline-ms";

/** The owner's share of an asking peer's remaining time: a tenth (at most 100 ms) is left for the way back. */
function peerBudget(req: Request): number | undefined {
  const remaining = Number(req.headers.get(DEADLINE_HEADER) ?? NaN);
  if (!(remaining > 0)) return undefined;
  return remaining - Math.min(100, remaining / 10);
}

function isNoCache(req: Request): boolean {
  const value = req.headers.get("cache-control");
  return value !== null && /(?:^|[\s,])no-cache(?:$|[\s,=])/i.test(value);
}

/** The blob routes Bun's native router takes, so that a hit builds no URL. */
type BlobRoute = "/cas/:hash" | "/_peer/cas/:hash";

/** A cache ready to serve: its handler and routes, and what starts once the port is bound and stops after. */
export interface CacheService {
  fetch(req: Request): Response | Promise<Response>;
  routes: Serve.Routes<undefined, BlobRoute>;
  /** Seconds a connection may wait for its answer; see createCache. */
  idleTimeout: number;
  group: Group<FetchedBlob>;
  /** Builds the peers for the bound port and starts the stats log; returns the peers. */
  listen(port: number): Peers;
  /** Stops timers (peers refresh, stats log) once the server has drained (see lib/common/shutdown.ts). */
  cleanup(): void;
}

/** Builds the cache for `config`; it joins its peers in {@linkcode CacheService.listen}, once the port is known. */
export function createCache(config: CacheConfig, logger: Logger): CacheService {
  const metrics = createMetrics();
  const maxItemBytes = config.maxItemBytes > 0 ? config.maxItemBytes : Math.floor(config.cacheBytes / 16);
  // Holds the peers once the port is known; the Group only consults it on a miss.
  let peers: Peers | undefined;
  let cacheMetrics: ReturnType<typeof registerCacheMetrics> | undefined;
  const upstream = (up: "origin" | "peer", deadline: number, headers?: Record<string, string>) => ({
    upstream: up,
    timeoutMs: config.upstreamTimeout,
    deadline,
    maxItemBytes,
    headers,
    observe: (u: "origin" | "peer", seconds: number) => cacheMetrics?.observeUpstream(u, seconds),
    onStreamMismatch: (key: BlobKey) => logger.warn("streamed blob failed verification", { key: key.hex, from: up }),
  });
  // Keys reach the Group only after parseKey accepted them.
  const blobKey = (key: string): BlobKey => parseKey(key)!;

  // Every load leaves garbage behind (the fetch's buffers, and under churn the blob it evicts) that the engine
  // collects late: left alone, RSS runs tens of MiB past --cache-bytes. A full collection after each eighth of
  // the budget has been loaded keeps it near --cache-bytes. It is synchronous: everything else, hits in flight
  // included, waits for it (its duration is logged at debug level). A workload of hits never triggers one.
  const collectEvery = Math.min(32 * 2 ** 20, Math.max(2 * 2 ** 20, config.cacheBytes / 8));
  let loadedSinceCollect = 0;
  const loaded = (value: FetchedBlob): FetchedBlob => {
    if (value.kind === "held") loadedSinceCollect += value.size;
    if (loadedSinceCollect >= collectEvery) {
      loadedSinceCollect = 0;
      const started = performance.now();
      Bun.gc(true);
      logger.debug("collected garbage", { ms: Math.round((performance.now() - started) * 100) / 100 });
    }
    return value;
  };
  const group = new Group<FetchedBlob>({
    cacheBytes: config.cacheBytes,
    sizeOf: (v) => (v.kind === "held" ? v.size : 0),
    cacheable: (v) => v.kind === "held",
    // One deadline per get: a peer that fails late leaves the local load only what remains of it.
    timeoutMs: config.upstreamTimeout,
    load: (key, { deadline }) =>
      fetchBlob(`${config.origin}/cas/${key}`, blobKey(key), upstream("origin", deadline)).then(loaded),
    pickPeer: (key) => peers?.pick(key),
    fetchFromPeer: (peer, key, { fresh, deadline }) => {
      const headers: Record<string, string> = { [DEADLINE_HEADER]: String(Math.floor(deadline - performance.now())) };
      if (fresh) headers["cache-control"] = "no-cache";
      return fetchBlob(`${peer}/_peer/cas/${key}`, blobKey(key), upstream("peer", deadline, headers)).then(loaded);
    },
    // The owner's 404 and its verdict on the origin are answers; asking the origin again would only double
    // the origin's load and the client's wait (groupcache falls back only when the peer itself fails).
    isFinal: (err) => err instanceof PeerVerdict || (err instanceof HttpError && err.status === 404),
    onPeerError: (peer, key, err) =>
      logger.warn("peer fetch failed; loading from the origin", {
        peer,
        key,
        err: err instanceof HttpError ? err.message : err,
      }),
  });
  cacheMetrics = registerCacheMetrics(metrics.registry, group);

  const peerView = {
    get self() {
      return peers?.self ?? "";
    },
    list: () => peers?.list() ?? [],
  };
  const handler = createCacheHandler({
    group,
    peers: peerView,
    metrics,
    logger,
    bypass: config.bypass,
    accessLog: config.accessLog,
  });
  let stopStats: (() => void) | undefined;
  return {
    // Everything the routes do not take, other methods on the blob routes included.
    fetch: handler.fetch,
    // A miss waits at most --upstream-timeout for its answer (one deadline for the peer and the origin
    // together); Bun closes a connection idle for idleTimeout (default 10 s) without a reply, so keep it well
    // above. lib/cache/flags.ts caps --upstream-timeout so that this stays under Bun's limit of 255 s.
    idleTimeout: Math.min(255, Math.ceil(config.upstreamTimeout / 1000) + 10),
    routes: {
      "/cas/:hash": {
        GET: (req) => handler.blob(req, req.params.hash, false),
        HEAD: (req) => handler.blob(req, req.params.hash, false),
      },
      "/_peer/cas/:hash": {
        GET: (req) => handler.blob(req, req.params.hash, true),
        HEAD: (req) => handler.blob(req, req.params.hash, true),
      },
    },
    group,
    listen(port) {
      peers = createPeers({
        self: config.self,
        port,
        peers: config.peers,
        dns: config.peersDns,
        refreshMs: config.peersRefresh,
        replicas: config.replicas,
        logger,
      });
      stopStats = startStatsLog(group, logger, config.statsInterval);
      return peers;
    },
    cleanup() {
      stopStats?.();
      peers?.stop();
    },
  };
}
