import { describe, expect, test } from "bun:test";
import { createPeers } from "../../lib/cache/peers.ts";

describe("createPeers", () => {
  test("a fixed list: this process is on the ring and owns its share of keys", () => {
    const urls = ["http://10.0.0.1:18001", "http://10.0.0.2:18001", "http://10.0.0.3:18001"];
    const peers = createPeers({ self: urls[1], port: 18001, peers: [urls[2]!, urls[0]!, urls[1]!] });
    expect(peers.self).toBe(urls[1]!);
    expect(peers.list()).toEqual(urls);
    const owners = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const owner = peers.pick(`key-${i}`) ?? "self";
      owners.set(owner, (owners.get(owner) ?? 0) + 1);
    }
    expect([...owners.keys()].sort()).toEqual([urls[0]!, urls[2]!, "self"]);
    for (const count of owners.values()) expect(count).toBeGreaterThan(800);
    peers.stop();
  });

  test("without --self, the listed peer on a local address and our port is us", () => {
    const peers = createPeers({ port: 18005, peers: ["http://127.0.0.1:18005", "http://10.9.9.9:18005"] });
    expect(peers.self).toBe("http://127.0.0.1:18005");
    peers.stop();
  });

  test("a DNS name: every address is a peer, re-resolved on refresh; a failed lookup keeps the last set", async () => {
    let answer: string[] | Error = ["10.1.0.2", "10.1.0.1"];
    const asked: string[] = [];
    const peers = createPeers({
      self: "http://10.1.0.1:18001",
      port: 18001,
      dns: "cache-headless",
      refreshMs: 60_000,
      resolve: async (host) => {
        asked.push(host);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
    await peers.refresh();
    expect(peers.list()).toEqual(["http://10.1.0.1:18001", "http://10.1.0.2:18001"]);
    answer = ["10.1.0.1", "10.1.0.2", "fd00::3"];
    await peers.refresh();
    expect(peers.list()).toEqual(["http://10.1.0.1:18001", "http://10.1.0.2:18001", "http://[fd00::3]:18001"]);
    answer = new Error("SERVFAIL");
    await peers.refresh();
    expect(peers.list()).toHaveLength(3);
    expect(asked.every((host) => host === "cache-headless")).toBe(true);
    peers.stop();
  });

  test("a DNS name with a port, resolved for real (localhost)", async () => {
    const peers = createPeers({ self: "http://127.0.0.1:18002", port: 18002, dns: "localhost:18003" });
    await peers.refresh();
    expect(peers.list()).toContain("http://127.0.0.1:18003");
    expect(peers.list()).toContain("http://127.0.0.1:18002");
    peers.stop();
  });

  test("a fixed list and a DNS name together are refused (DNS answers would replace the list)", () => {
    expect(() => createPeers({ port: 18001, peers: ["http://10.0.0.1:18001"], dns: "cache-headless" })).toThrow(
      "not both",
    );
  });
});
