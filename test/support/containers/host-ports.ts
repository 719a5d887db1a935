/**
 * Host ports for a compose project's published ports: free a moment ago on every address (Docker binds
 * 0.0.0.0 and [::]), consecutive (compose publishes a range, one port per cache replica), and below
 * the kernel's ephemeral range, where any outgoing connection could take one meanwhile.
 */
import { readFileSync } from "node:fs";

function isFree(port: number): boolean {
  for (const hostname of ["0.0.0.0", "::"]) {
    try {
      const listener = Bun.listen({ hostname, port, socket: { data() {} } });
      listener.stop(true);
    } catch {
      return false;
    }
  }
  return true;
}

/** The first port the kernel hands out to outgoing connections (32768 unless configured). */
function ephemeralStart(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

/** `count` consecutive free ports from a random start at 20000 or above (away from the usual fixed ones). */
export function freePortRange(count: number): number[] {
  const end = Math.max(ephemeralStart(), 20_000 + 1000) - count;
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (end - 20_000));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (ports.every(isFree)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
