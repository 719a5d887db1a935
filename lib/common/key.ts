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

/** Parses a key, or returns undefined when it is not 40 or 64 hex digits. */
export function parseKey(raw: string): BlobKey | undefined {
  if (!HEX.test(raw)) return undefined;
  if (raw.length === 64) return { algorithm: "sha256", hex: raw.toLowerCase() };
  if (raw.length === 40) return { algorithm: "sha1", hex: raw.toLowerCase() };
  return undefined;
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
