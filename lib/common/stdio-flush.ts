/**
 * A stdout writer that knows when the pipe has taken everything: `process.exit()` drops what a pipe has not
 * taken yet (a multi-megabyte JSON report to a slow reader arrived cut short), so main() awaits `flushed()`
 * before it exits. Nothing here exits.
 */

export interface StdoutWriter {
  write: (text: string) => void;
  /** Resolves once the pipe has taken every write (or is gone). */
  flushed: () => Promise<void>;
}

/** Writes to `stream` (default stdout), waiting for its drain whenever a write did not go through at once. */
export function stdoutWriter(stream: NodeJS.WriteStream = process.stdout): StdoutWriter {
  let pending: Promise<void> = Promise.resolve();
  return {
    write(text) {
      if (stream.write(text)) return;
      // a reader that went away never drains: its error or close ends the wait too
      pending = new Promise((resolve) => {
        const done = () => {
          stream.off("drain", done).off("error", done).off("close", done);
          resolve();
        };
        stream.on("drain", done).on("error", done).on("close", done);
      });
    },
    flushed: () => pending,
  };
}
