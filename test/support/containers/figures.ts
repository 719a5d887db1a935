/** How the container tests print their measurements: one `containers:` line each, so they show in CI's output. */

export function figure(line: string): void {
  console.log(`containers: ${line}`);
}

/** Milliseconds as seconds with one decimal: "8.6 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Nanoseconds (the client report's unit) as milliseconds: "1.42 ms". */
export function millis(ns: number): string {
  return `${(ns / 1e6).toFixed(2)} ms`;
}

/** Bytes as decimal megabytes, as docker prints image sizes: "193 MB". */
export function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1e6)} MB`;
}
