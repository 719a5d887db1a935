/**
 * Content keys: a blob's hex SHA-1 (40 digits) or SHA-256 (64 digits), any case, normalised to
 * lowercase. Parsing is strict, so a key can be used as a file name with no path tricks possible.
 */

export type HashAlgorithm = "sha1" | "sha256";

export interface BlobKey {
  algorithm: HashAlgorithm;
  /** Lowercase hex digest. */
  hex: string;
}

const HEX = /^[0-9a-fA-F]+$/;

/** The SHA-256 and SHA-1 of no bytes. The empty blob is always there, stored or not (as in bazel-remote). */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

/** Parses a key, or returns undefined when it is not 40 or 64 hex digits. */
export function parseKey(raw: string): BlobKey | undefined {
  if (!HEX.test(raw)) return undefined;
  if (raw.length === 64) return { algorithm: "sha256", hex: raw.toLowerCase() };
  if (raw.length === 40) return { algorithm: "sha1", hex: raw.toLowerCase() };
  return undefined;
}

/** True for the key of the empty blob (either algorithm). */
export function isEmptyBlob(key: BlobKey): boolean {
  return key.hex === (key.algorithm === "sha256" ? EMPTY_SHA256 : EMPTY_SHA1);
}

/**
 * Parses an action-cache key: 64 hex digits, any case, lowercased (Bazel's action digest; ccache's
 * `layout=bazel` pads its own keys to that form). Undefined for anything else.
 */
export function parseActionKey(raw: string): string | undefined {
  return raw.length === 64 && HEX.test(raw) ? raw.toLowerCase() : undefined;
}

/** A streaming hasher for the key's algorithm. */
export function hasherFor(algorithm: HashAlgorithm): Bun.CryptoHasher {
  return new Bun.CryptoHasher(algorithm);
}

/** Hex digest of `data` with `algorithm`. */
export function digestHex(algorithm: HashAlgorithm, data: Uint8Array | string): string {
  return new Bun.CryptoHasher(algorithm).update(data).digest("hex");
}

/** True when `data` hashes to `key`. */
export function matchesKey(key: BlobKey, data: Uint8Array): boolean {
  return digestHex(key.algorithm, data) === key.hex;
}
