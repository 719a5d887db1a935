/**
 * The floor Bun itself sets for serving a blob: Bun.serve answering every request with one prebuilt Blob,
 * no routing, no metrics, no headers of ours. Benchmarks run it next to nginx and our programs, so a gap
 * between it and nginx is Bun's, not ours (a minimal reproduction of the limit).
 * Run: bun bench/support/bare-serve.ts <bytes>  (prints its URL on stdout, serves until killed)
 */
const bytes = Number(process.argv[2] ?? 25_000);
const blob = new Blob([new Uint8Array(bytes).fill(120)]);
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(blob) });
console.log(`http://127.0.0.1:${server.port}/`);
