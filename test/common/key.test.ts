import { describe, expect, test } from "bun:test";
import {
  EMPTY_SHA1,
  EMPTY_SHA256,
  digestHex,
  hasherFor,
  isEmptyBlob,
  matchesKey,
  parseActionKey,
  parseKey,
} from "../../lib/common/key.ts";
const ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

describe("parseKey()", () => {
  test("parseKey() reads 40 hex digits as SHA-1 and 64 as SHA-256, lowercased", () => {
    expect(parseKey(EMPTY_SHA1)).toEqual({ algorithm: "sha1", hex: EMPTY_SHA1 });
    expect(parseKey(EMPTY_SHA256.toUpperCase())).toEqual({ algorithm: "sha256", hex: EMPTY_SHA256 });
    expect(parseKey("Da39A3ee5e6b4b0d3255bfef95601890afd80709")?.hex).toBe(EMPTY_SHA1);
  });

  test("parseKey() refuses other lengths, non-hex characters and path tricks", () => {
    const bad = [
      "",
      "a".repeat(39),
      "a".repeat(41),
      "a".repeat(63),
      "a".repeat(65),
      "g".repeat(64),
      "a".repeat(63) + "\n",
      "a".repeat(62) + "..",
      "../" + "a".repeat(61),
      "a".repeat(61) + "%2f",
      "a".repeat(63) + "\0",
      " " + "a".repeat(63),
      "０".repeat(40), // full-width digits are not hex
    ];
    for (const raw of bad) expect(parseKey(raw)).toBeUndefined();
  });
});

describe("hashing", () => {
  test("digestHex() matches the known test vectors", () => {
    expect(digestHex("sha1", "")).toBe(EMPTY_SHA1);
    expect(digestHex("sha256", new Uint8Array(0))).toBe(EMPTY_SHA256);
    expect(digestHex("sha256", "abc")).toBe(ABC_SHA256);
  });

  test("hasherFor() fed in pieces gives the one-shot digest", () => {
    const hasher = hasherFor("sha256");
    for (const piece of ["a", "", "b", "c"]) hasher.update(piece);
    expect(hasher.digest("hex")).toBe(ABC_SHA256);
  });

  test("matchesKey() is true only for the content's own digest", () => {
    const data = new TextEncoder().encode("abc");
    expect(matchesKey(parseKey(ABC_SHA256)!, data)).toBe(true);
    expect(matchesKey(parseKey(EMPTY_SHA256)!, data)).toBe(false);
    expect(matchesKey(parseKey(digestHex("sha1", data))!, data)).toBe(true);
  });
});

describe("the empty blob and action keys", () => {
  test("EMPTY_SHA256 and EMPTY_SHA1 are the digests of no bytes; isEmptyBlob() knows only those", () => {
    expect(digestHex("sha256", "")).toBe(EMPTY_SHA256);
    expect(digestHex("sha1", "")).toBe(EMPTY_SHA1);
    expect(isEmptyBlob(parseKey(EMPTY_SHA256.toUpperCase())!)).toBe(true);
    expect(isEmptyBlob(parseKey(EMPTY_SHA1)!)).toBe(true);
    expect(isEmptyBlob(parseKey(ABC_SHA256)!)).toBe(false);
    // The SHA-256 of nothing is not an empty blob under SHA-1's name (wrong length), nor the other way round.
    expect(isEmptyBlob({ algorithm: "sha1", hex: EMPTY_SHA256 })).toBe(false);
  });

  test("parseActionKey() takes exactly 64 hex digits, lowercased", () => {
    expect(parseActionKey(ABC_SHA256.toUpperCase())).toBe(ABC_SHA256);
    for (const raw of ["", EMPTY_SHA1, "a".repeat(63), "a".repeat(65), "g".repeat(64), "a".repeat(61) + "%2f"]) {
      expect(parseActionKey(raw)).toBeUndefined();
    }
  });
});
