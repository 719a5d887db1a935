/**
 * The floor Bun itself sets: Bun.serve answering every GET with one prebuilt Blob, and reading every PUT's body
 * into nothing (answering 201), with no routing, no metrics, no headers of ours. Benchmarks run it next to nginx
 * and our programs, so a gap between it and nginx is Bun's, not ours (a minimal reproduction of the limit).
 * Run alone: bun bench/support/bare-serve.ts <bytes>  (prints its URL on stdout, serves until killed)
 */

export interface BareServe {
  url: string;
  stop(): void;
}

/** Starts the bare server in a child process pinned to `core`, answering GETs with `bytes` bytes. */
export async function startBareServe(bytes: number, core: number): Promise<BareServe> {
  const child = Bun.spawn([process.execPath, import.meta.path, String(bytes)], { stdout: "pipe", stderr: "inherit" });
  const url = await firstLine(child.stdout);
  if (!url.startsWith("http://")) throw new Error(`bare-serve did not start: ${JSON.stringify(url)}`);
  Bun.spawnSync(["taskset", "-a", "-cp", String(core), String(child.pid)], { stdout: "ignore" });
  return { url, stop: () => child.kill() };
}

/** The first line a child prints (it keeps running, so its stdout never ends). */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.trim();
}

async function drain(req: Request): Promise<Response> {
  if (req.body !== null) for await (const _ of req.body);
  return new Response(null, { status: 201 });
}

if (import.meta.main) {
  const bytes = Number(process.argv[2] ?? 25_000);
  const blob = new Blob([new Uint8Array(bytes).fill(120)]);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 2 ** 40,
    fetch: (req) => (req.method === "PUT" ? drain(req) : new Response(blob)),
  });
  console.log(`http://127.0.0.1:${server.port}/`);
}
