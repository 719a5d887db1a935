/**
 * The set of cache peers and the hash ring over it: a fixed list (`--peers`) or the addresses a DNS name
 * resolves to (`--peers-dns`, e.g. a Kubernetes headless service), re-resolved periodically. This process is
 * always on the ring, identified by its base URL (`--self`, matched exactly, as in groupcache).
 */
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { HashRing } from "./hash-ring.ts";
import { type Logger, silentLogger } from "../common/log.ts";

/** How often a DNS peer name is resolved again. */
export const DEFAULT_PEERS_REFRESH_MS = 5_000;

export interface PeersOptions {
  /** This process's base URL as the others know it. Empty: worked out from the local addresses and `port`. */
  self?: string;
  /** This process's listening port (for `self` and for DNS names given without a port). */
  port: number;
  /** Fixed peer base URLs (including this process or not; it is added). Not together with `dns`. */
  peers?: readonly string[];
  /** `name` or `name:port`: every address it resolves to is a peer at `http://address:port`. */
  dns?: string;
  /** @default DEFAULT_PEERS_REFRESH_MS */
  refreshMs?: number;
  /** Virtual nodes per peer on the ring. @default the ring's DEFAULT_REPLICAS */
  replicas?: number;
  /** Resolves a host name to addresses. @default node:dns lookup of all addresses */
  resolve?: (host: string) => Promise<string[]>;
  logger?: Logger;
}

export interface Peers {
  /** This process's base URL. */
  readonly self: string;
  /** The owner of `key` when it is another peer; undefined when this process owns it. */
  pick(key: string): string | undefined;
  /** Every peer on the ring, this process included, sorted. */
  list(): string[];
  /** Resolves the DNS name again now (no-op for a fixed list). */
  refresh(): Promise<void>;
  /** Stops the periodic refresh. */
  stop(): void;
}

/** Builds the peer set; with `dns`, resolves in the background right away and then every `refreshMs`. */
export function createPeers(options: PeersOptions): Peers {
  const logger = options.logger ?? silentLogger;
  if ((options.peers?.length ?? 0) > 0 && options.dns) {
    throw new Error("Cannot create peers: give either a fixed list or a DNS name, not both");
  }
  const ring = new HashRing(options.replicas === undefined ? {} : { replicas: options.replicas });
  const dns = options.dns === undefined || options.dns === "" ? undefined : splitHostPort(options.dns, options.port);
  const resolve = options.resolve ?? resolveAll;
  const self = options.self || guessSelf(options.peers ?? [], options.port);
  let current: string[] = [];

  function install(urls: readonly string[]): void {
    const next = [...new Set([self, ...urls])].sort();
    if (next.join(",") === current.join(",")) return;
    ring.set(next);
    if (current.length > 0) logger.info("peers changed", { peers: next, self });
    current = next;
  }
  install(options.peers ?? []);
  if ((options.peers?.length ?? 0) > 0 && !options.peers!.includes(self)) {
    // The others will not send us our share of keys: pass --self exactly as it appears in --peers.
    logger.warn("this cache is not in --peers; its share of keys will be loaded twice", { self, peers: options.peers });
  }

  async function refresh(): Promise<void> {
    if (dns === undefined) return;
    try {
      const addresses = await resolve(dns.host);
      install(addresses.map((address) => baseUrl(address, dns.port)));
    } catch (err) {
      // Keep the last good set: a DNS hiccup must not collapse the ring.
      logger.warn("peer lookup failed", { name: dns.host, err });
    }
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  if (dns !== undefined) {
    void refresh();
    timer = setInterval(() => void refresh(), options.refreshMs ?? DEFAULT_PEERS_REFRESH_MS);
    timer.unref();
  }

  return {
    self,
    pick(key) {
      const owner = ring.get(key);
      return owner === undefined || owner === self ? undefined : owner;
    },
    list: () => [...current],
    refresh,
    stop: () => clearInterval(timer),
  };
}

/** `name`, `name:port` or `http://name:port` -> host and port. */
function splitHostPort(raw: string, defaultPort: number): { host: string; port: number } {
  const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port === "" ? defaultPort : Number(url.port) };
}

function baseUrl(address: string, port: number): string {
  return address.includes(":") ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

async function resolveAll(host: string): Promise<string[]> {
  const records = await lookup(host, { all: true });
  return records.map((r) => r.address);
}

/** Without `--self`: the listed peer on one of our own addresses and our port, else our first IPv4 address. */
function guessSelf(peers: readonly string[], port: number): string {
  const local = localAddresses();
  for (const peer of peers) {
    const url = new URL(peer);
    if (Number(url.port || 80) === port && local.has(url.hostname.replace(/^\[|\]$/g, ""))) return peer;
  }
  const ipv4 = [...local].find((a) => !a.includes(":") && !a.startsWith("127.") && a !== "localhost");
  return baseUrl(ipv4 ?? "127.0.0.1", port);
}

function localAddresses(): Set<string> {
  const out = new Set(["localhost"]);
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) out.add(info.address);
  }
  return out;
}
