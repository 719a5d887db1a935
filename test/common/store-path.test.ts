import { expect, test } from "bun:test";
import { parseStorePath } from "../../lib/common/store-path.ts";

const HEX = "ab".repeat(32);

test("parseStorePath() finds the kind and raw key, with or without an instance prefix", () => {
  const cases: [string, ReturnType<typeof parseStorePath>][] = [
    [`/cas/${HEX}`, { kind: "cas", key: HEX }],
    [`/ac/${HEX}`, { kind: "ac", key: HEX }],
    [`/main/cas/${HEX}`, { kind: "cas", key: HEX }],
    [`/a/b/c/ac/${HEX}`, { kind: "ac", key: HEX }],
    // An instance may itself be named like a kind.
    [`/cas/cas/${HEX}`, { kind: "cas", key: HEX }],
    [`/ac/cas/${HEX}`, { kind: "cas", key: HEX }],
    // Still store routes, with keys that will not parse (400, not 404).
    ["/cas/", { kind: "cas", key: "" }],
    ["/cas/a/b", { kind: "cas", key: "a/b" }],
    [`/ac/${HEX}%2f`, { kind: "ac", key: `${HEX}%2f` }],
    ["/x/ac/", { kind: "ac", key: "" }],
  ];
  for (const [path, want] of cases) expect([path, parseStorePath(path)]).toEqual([path, want]);
});

test("parseStorePath() answers undefined for every other path", () => {
  for (const path of ["/", "/cas", "/ac", "/status", `/cas${HEX}`, `/x/cass/${HEX}`, `/x/cas`, `cas/${HEX}`]) {
    expect([path, parseStorePath(path)]).toEqual([path, undefined]);
  }
});
