/**
 * The origin's `/status` figures: what the store holds by kind, against its limits and quota (bazel-remote's
 * CurrSize/ReservedSize/MaxSize/NumFiles, in this project's names). Plain data, read from the store's counters.
 */
import type { BlobStore } from "./store.ts";

export interface StoreStatus {
  /** Bytes counted against the quota: blobs plus action-cache entries. */
  bytes: number;
  /** Bytes of uploads still in flight, held against the quota. */
  reservedBytes: number;
  /** The quota on `bytes`; 0 means none. */
  maxBytes: number;
  cas: { blobs: number; bytes: number; maxBlobBytes: number };
  ac: { entries: number; bytes: number; maxEntryBytes: number };
}

export function storeStatus(store: BlobStore): StoreStatus {
  const s = store.stats();
  return {
    bytes: s.bytes + s.acBytes,
    reservedBytes: s.reservedBytes,
    maxBytes: store.maxBytes,
    cas: { blobs: s.blobs, bytes: s.bytes, maxBlobBytes: store.maxBlobBytes },
    ac: { entries: s.acEntries, bytes: s.acBytes, maxEntryBytes: store.maxAcBytes },
  };
}
