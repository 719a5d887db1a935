/**
 * Where a store key sits in a request path: `/cas/<key>` (content-addressed blobs) or `/ac/<key>` (action-cache
 * entries), optionally under an instance prefix (`/<instance>/cas/<key>`, as Bazel and bazel-remote send it),
 * which is accepted and ignored. Pure; the key comes back unparsed, for parseKey or parseActionKey.
 */

/** The two kinds of entry a store holds: immutable blobs under their digest, mutable action-cache entries. */
export type StoreKind = "cas" | "ac";

export interface StorePath {
  kind: StoreKind;
  /** The raw last segment (not percent-decoded), to be parsed by the kind's key parser. */
  key: string;
}

const PLAIN: readonly [string, StoreKind][] = [
  ["/cas/", "cas"],
  ["/ac/", "ac"],
];
// Any prefix, then the kind and one last segment: bazel-remote's `^/?(.*/)?(ac/|cas/)([a-f0-9]{64})$`, with the
// key left to the key parsers so that a bad key is a 400 rather than an unknown route.
const PREFIXED = /^\/.+\/(cas|ac)\/([^/]*)$/;

/** The kind and raw key of a store path, or undefined when the path names neither kind. */
export function parseStorePath(path: string): StorePath | undefined {
  for (const [prefix, kind] of PLAIN) {
    // The common case first, with no regular expression: `/cas/<key>` with no further slash.
    if (path.startsWith(prefix) && path.indexOf("/", prefix.length) === -1) {
      return { kind, key: path.slice(prefix.length) };
    }
  }
  const m = PREFIXED.exec(path);
  if (m !== null) return { kind: m[1] === "ac" ? "ac" : "cas", key: m[2]! };
  // `/cas/a/b`: still a blob route, with a key that will not parse.
  for (const [prefix, kind] of PLAIN) if (path.startsWith(prefix)) return { kind, key: path.slice(prefix.length) };
  return undefined;
}
