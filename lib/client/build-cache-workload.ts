/**
 * The build-cache workload (`--workload build-cache`): traffic shaped like Bazel's or ccache's against a remote
 * cache. Each build step looks its action up (`GET /ac/<key>`); a hit then fetches the outputs the entry names
 * (`GET /cas/<hash>` each), a miss runs the action, as it were, and uploads its results (`PUT /cas/<hash>` per
 * output, then `PUT /ac/<key>` naming them). A step's requests go out one after another on the open-loop
 * schedule. Targets are named by kind, `ac`, `cas` and `put`, for the per-kind figures. Synchronous, no I/O:
 * the seeded actions are uploaded before the attack.
 */
import { digestHex } from "../common/key.ts";
import type { Target } from "../loadgen.ts";
import { generateBlobs, picker, verifier, type Distribution, type Workload, type WorkloadBlob } from "./workload.ts";

/** Outputs per action: enough that a hit is a lookup followed by several fetches, as with real actions. */
export const ACTION_OUTPUTS = 3;

/** Kinds of request, and the names their targets carry (so the per-target figures are per kind). */
export const REQUEST_KINDS = ["ac", "cas", "put"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** An action whose result the cache holds: its key and the entry naming its outputs. */
export interface SeededAction {
  /** 64 hex digits. */
  key: string;
  outputs: WorkloadBlob[];
  /** The action-cache entry: one `<sha256> <size>` line per output. */
  entry: Uint8Array;
}

/** `count` actions of `outputs` random blobs of `size` bytes each, under random keys. */
export function generateActions(count: number, outputs: number, size: number): SeededAction[] {
  return Array.from({ length: count }, () => newAction(outputs, size));
}

function newAction(outputs: number, size: number): SeededAction {
  const blobs = generateBlobs(outputs, size);
  const entry = new TextEncoder().encode(blobs.map((b) => `${b.hash} ${b.data.byteLength}\n`).join(""));
  return { key: digestHex("sha256", crypto.getRandomValues(new Uint8Array(32))), outputs: blobs, entry };
}

export interface BuildCacheWorkloadOptions {
  /** Cache base URLs; each build step goes to one, round-robin. */
  cacheUrls: readonly string[];
  /** The actions already in the cache (uploaded before the attack). */
  actions: readonly SeededAction[];
  /** Share of lookups that find their action; the rest are new actions. @default 1 */
  hitRatio?: number;
  /** Which seeded action a hit looks up. @default uniform */
  dist?: Distribution;
  /** Bytes per output of a new action. */
  size: number;
  /** Check each entry and blob read against what was stored. @default true */
  verify?: boolean;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>` with the uploads. */
  writeToken?: string;
  /** Source of randomness in [0, 1), for reproducible tests. @default Math.random */
  random?: () => number;
}

export function createBuildCacheWorkload(options: BuildCacheWorkloadOptions): Workload {
  const { cacheUrls, actions, size } = options;
  if (cacheUrls.length === 0) throw new RangeError("'cacheUrls' must hold at least one URL");
  if (actions.length === 0) throw new RangeError("'actions' must hold at least one action");
  const hitRatio = options.hitRatio ?? 1;
  if (!(hitRatio >= 0 && hitRatio <= 1)) throw new RangeError(`'hitRatio' must be from 0 to 1, got ${hitRatio}`);
  const pick = picker(actions.length, options.dist ?? { kind: "uniform" }, options.random ?? Math.random);
  const verifyOn = options.verify ?? true;
  const base = options.headers ?? {};
  const putHeaders = { ...base, ...(options.writeToken && { authorization: `Bearer ${options.writeToken}` }) };
  const state = { integrityFailures: 0 };
  const bases = cacheUrls.map((url) => url.replace(/\/+$/, ""));
  const checked = (expected: string) => (verifyOn ? verifier(expected, state) : undefined);

  // A hit's requests, built once per cache and action: steps[cache][action].
  const hits = bases.map((url) =>
    actions.map((action): Target[] => [
      get("ac", `${url}/ac/${action.key}`, checked(digestHex("sha256", action.entry))),
      ...action.outputs.map((blob) => get("cas", `${url}/cas/${blob.hash}`, checked(blob.hash))),
    ]),
  );

  function get(kind: RequestKind, url: string, verify: ((body: Uint8Array) => boolean) | undefined): Target {
    return { name: kind, method: "GET", url, headers: base, ...(verify && { verify }) };
  }

  function missSteps(url: string): Target[] {
    const action = newAction(ACTION_OUTPUTS, size);
    const absent = verifyOn ? absentCheck(state) : undefined;
    const put = (path: string, body: Uint8Array): Target => ({
      name: "put",
      method: "PUT",
      url: `${url}${path}`,
      headers: putHeaders,
      body,
    });
    return [
      get("ac", `${url}/ac/${action.key}`, absent),
      ...action.outputs.map((blob) => put(`/cas/${blob.hash}`, blob.data)),
      put(`/ac/${action.key}`, action.entry),
    ];
  }

  // Misses are spread evenly by step number (per million), so the share is exact over any stretch of the run.
  const missPerMillion = Math.round((1 - hitRatio) * 1e6);
  const isMiss = (step: number) =>
    Math.floor(((step + 1) * missPerMillion) / 1e6) > Math.floor((step * missPerMillion) / 1e6);

  let step = 0;
  let pending: Target[] = [];
  let index = 0;
  return {
    // runLoad asks for targets in sequence order, so the steps can be walked with a cursor.
    next() {
      if (index === pending.length) {
        const cache = step % bases.length;
        pending = isMiss(step) ? missSteps(bases[cache]!) : hits[cache]![pick()]!;
        index = 0;
        step++;
      }
      return pending[index++]!;
    },
    get integrityFailures() {
      return state.integrityFailures;
    },
  };
}

/** A check for a lookup that must find nothing: any 2xx body is an integrity failure. */
function absentCheck(state: { integrityFailures: number }): (body: Uint8Array) => boolean {
  return () => {
    state.integrityFailures++;
    return false;
  };
}
