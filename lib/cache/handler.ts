/**
 * The cache's HTTP side: `GET`/`HEAD /cas/<hash>` served from the Group (a hit is answered synchronously with
 * headers built once per blob), `PUT /cas/<hash>` and everything on `/ac/<key>` handed to the origin as it is
 * (lib/cache/origin-forward.ts), either kind also under an instance prefix, the peer route
 * `/_peer/cas/<hash>`, `/stats`, `/healthz`, `/readyz` and `/metrics`; and {@linkcode createCache}, which wires
 * the Group, peers, origin and metrics into a handler and the Bun routes for cache.ts to serve.
 */
import type { Serve } from "bun";
import type { CacheConfig } from "./flags.ts";
import type { Group, GetOptions } from "./group.ts";
import { registerCacheMetrics } from "./metrics.ts";
import { startStatsLog, statsReport } from "./group-stats.ts";
import { logRequest } from "../common/access-log.ts";
import { errorResponse, HttpError, methodNotAllowed, toErrorResponse } from "../common/http-error.ts";
import { parseActionKey, parseKey } from "../common/key.ts";
import type { Logger } from "../common/log.ts";
import { opsRoutes } from "../common/ops-routes.ts";
import { createMetrics, type HttpMetrics } from "../common/prometheus.ts";
import { parseStorePath } from "../common/store-path.ts";
import type { FetchedBlob } from "./blob-fetch.ts";
import { createBlobGroup } from "./blob-group.ts";
import { createPeerEjection } from "./peer-ejection.ts";
import { createPeers, type Peers } from "./peers.ts";
import { forwardToOrigin } from "./origin-forward.ts";
import { PEER_PATH, PEER_ROUTE, peerBudget } from "./peer-protocol.ts";

/** What the handler needs; built by {@linkcode createCache}, or by hand in tests. */
export interface CacheHandlerOptions {
  group: Group<FetchedBlob>;
  /** For /stats and /readyz; `ejected` lists the peers passed over right now (lib/cache/peer-ejection.ts). */
  peers: Pick<Peers, "self" | "list"> & { ejected?: () => string[] };
  metrics: HttpMetrics;
  logger: Logger;
  bypass: boolean;
  accessLog: boolean;
  /** Base URL of the origin, for what is handed to it (uploads, /ac/). */
  origin: string;
  /** For what is handed to the origin: the wait for its answer and for each chunk. */
  timeoutMs: number;
}

const CAS = "/cas/";
const ROUTE_CAS = "/cas/:hash";
const ROUTE_AC = "/ac/:hash";
const CAS_METHODS = ["GET", "HEAD", "PUT"] as const;
const LOWER_HEX_KEY = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The cache's request handlers. Hits return a Response synchronously; everything else returns a Promise. */
export interface CacheHandler {
  /** Handles any request. */
  fetch(req: Request): Response | Promise<Response>;
  /**
   * `GET`/`HEAD` of a blob whose key (`raw`) the router already cut out of the path: the hit path, reached
   * through Bun's native router so that no URL string is built per request. A `PUT` goes to the origin.
   */
  blob(req: Request, raw: string, fromPeer: boolean): Response | Promise<Response>;
  /** Any request on an action-cache entry whose key (`raw`) the router cut out: handed to the origin. */
  action(req: Request, raw: string): Promise<Response>;
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
      "/stats": () =>
        Response.json({
          ...statsReport(group),
          Self: options.peers.self,
          Peers: options.peers.list(),
          EjectedPeers: options.peers.ejected?.() ?? [],
        }),
    },
  });

  function blobResponse(value: FetchedBlob, hit: boolean, head: boolean): Response {
    if (value.kind === "held") return new Response(value.body, hit ? value.hit : value.miss);
    if (!head) return value.response;
    void value.response.body?.cancel().catch(() => {});
    const headers = new Headers(value.response.headers);
    // Without a size, say what a GET would send (chunked), or Bun would claim Content-Length: 0.
    if (value.size !== undefined) headers.set("content-length", String(value.size));
    else headers.set("transfer-encoding", "chunked");
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

  /** Hands `req` to the origin's `path` and finishes it under `route`. */
  async function forward(req: Request, route: string, started: number, path: string): Promise<Response> {
    const res = await forwardToOrigin(req, `${options.origin}${path}`, { timeoutMs: options.timeoutMs });
    if (res.status >= 500) logger.warn("origin request failed", { method: req.method, path, status: res.status });
    return finish(req, route, started, res);
  }

  function cas(req: Request, started: number, raw: string, fromPeer: boolean): Response | Promise<Response> {
    const route = fromPeer ? PEER_ROUTE : ROUTE_CAS;
    const method = req.method;
    const isRead = method === "GET" || method === "HEAD";
    if (!isRead && (fromPeer || method !== "PUT")) {
      return finish(req, route, started, methodNotAllowed(fromPeer ? ["GET", "HEAD"] : CAS_METHODS));
    }
    const key = LOWER_HEX_KEY.test(raw) ? raw : parseKey(raw)?.hex;
    if (key === undefined) {
      return finish(
        req,
        route,
        started,
        errorResponse(400, "invalid_key", "expected a hex SHA-1 (40) or SHA-256 (64) digest"),
      );
    }
    // The origin verifies and stores; nothing is cached on the way (the next GET loads the blob as any miss).
    if (!isRead) return forward(req, route, started, `/cas/${key}`);
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

  // Entries change under their key, so none is held: every read reaches the origin and sees its latest entry.
  async function ac(req: Request, started: number, raw: string): Promise<Response> {
    const method = req.method;
    if (method !== "GET" && method !== "HEAD" && method !== "PUT") {
      return finish(req, ROUTE_AC, started, methodNotAllowed(CAS_METHODS));
    }
    const key = parseActionKey(raw);
    if (key === undefined) {
      return finish(req, ROUTE_AC, started, errorResponse(400, "invalid_key", "an action-cache key is 64 hex digits"));
    }
    return forward(req, ROUTE_AC, started, `/ac/${key}`);
  }

  function action(req: Request, raw: string): Promise<Response> {
    return ac(req, performance.now(), raw);
  }

  function handle(req: Request): Response | Promise<Response> {
    const started = performance.now();
    const url = req.url;
    // req.url is absolute; find the path without building a URL object on the hit path.
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const query = url.indexOf("?", pathStart);
    const pathEnd = query === -1 ? url.length : query;
    if (url.startsWith(CAS, pathStart)) return cas(req, started, url.slice(pathStart + CAS.length, pathEnd), false);
    if (url.startsWith(PEER_PATH, pathStart)) {
      return cas(req, started, url.slice(pathStart + PEER_PATH.length, pathEnd), true);
    }
    const path = pathStart === -1 ? "/" : url.slice(pathStart, pathEnd);
    // `/ac/<key>` and either kind under an instance prefix, which is dropped (the origin ignores it too).
    const stored = parseStorePath(path);
    if (stored?.kind === "cas") return cas(req, started, stored.key, false);
    if (stored?.kind === "ac") return ac(req, started, stored.key);
    const res = ops.answer(req, path);
    if (res === undefined) return finish(req, "other", started, errorResponse(404, "not_found", `no route ${path}`));
    return res instanceof Response ? finish(req, path, started, res) : res.then((r) => finish(req, path, started, r));
  }

  return { fetch: handle, blob, action };
}

function isNoCache(req: Request): boolean {
  const value = req.headers.get("cache-control");
  return value !== null && /(?:^|[\s,])no-cache(?:$|[\s,=])/i.test(value);
}

/** The blob routes Bun's native router takes, so that a hit builds no URL. */
type BlobRoute = typeof ROUTE_CAS | typeof PEER_ROUTE | typeof ROUTE_AC;

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
  // Holds the peers once the port is known; the Group only consults it on a miss.
  let peers: Peers | undefined;
  let cacheMetrics: ReturnType<typeof registerCacheMetrics> | undefined;
  const ejection = createPeerEjection({ forMs: config.peerEjection });
  const group = createBlobGroup({
    origin: config.origin,
    cacheBytes: config.cacheBytes,
    maxItemBytes: config.maxItemBytes,
    timeoutMs: config.upstreamTimeout,
    minBytesPerSecond: config.upstreamMinRate,
    // an ejected owner is passed over: its keys load from the origin, bar one probe per ejection time
    pickPeer: (key) => {
      const owner = peers?.pick(key);
      return owner === undefined || !ejection.ask(owner) ? undefined : owner;
    },
    onPeerFailure: (peer) => {
      if (ejection.failed(peer)) logger.warn("peer ejected", { peer, forMs: config.peerEjection });
    },
    onPeerAnswer: (peer) => ejection.answered(peer),
    observe: (upstream, seconds) => cacheMetrics?.observeUpstream(upstream, seconds),
    logger,
  });
  cacheMetrics = registerCacheMetrics(metrics.registry, group, () => ejection.total);

  const peerView = {
    get self() {
      return peers?.self ?? "";
    },
    list: () => peers?.list() ?? [],
    // a peer dropped from the set while ejected is no one's concern any more
    ejected: () => ejection.ejected().filter((peer) => peers?.list().includes(peer)),
  };
  const handler = createCacheHandler({
    group,
    peers: peerView,
    metrics,
    logger,
    bypass: config.bypass,
    accessLog: config.accessLog,
    origin: config.origin,
    timeoutMs: config.upstreamTimeout,
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
      [ROUTE_CAS]: {
        GET: (req) => handler.blob(req, req.params.hash, false),
        HEAD: (req) => handler.blob(req, req.params.hash, false),
        PUT: (req) => handler.blob(req, req.params.hash, false),
      },
      [ROUTE_AC]: {
        GET: (req) => handler.action(req, req.params.hash),
        HEAD: (req) => handler.action(req, req.params.hash),
        PUT: (req) => handler.action(req, req.params.hash),
      },
      [PEER_ROUTE]: {
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
