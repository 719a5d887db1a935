/**
 * Host ports for a compose project's published ports: free a moment ago on every address (Docker binds
 * 0.0.0.0 and [::]), and consecutive where compose publishes a range (one port per cache replica).
 */

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

/** `count` consecutive free ports, from a random start in 20000-59999 (away from the usual fixed ones). */
export function freePortRange(count: number): number[] {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 40_000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (ports.every(isFree)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
