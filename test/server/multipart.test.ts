import { describe, expect, test } from "bun:test";
import { MultipartError, multipartBoundary, readMultipart, type MultipartPart } from "../../lib/server/multipart.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Yields `data` in pieces of `size` bytes. */
async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** The body Go's mime/multipart writer produces for CreateFormFile("file", filename) (the original client). */
function goClientBody(boundary: string, filename: string, content: Uint8Array): Uint8Array {
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  return concat(head, content, tail);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface Collected {
  name: string | undefined;
  filename: string | undefined;
  headers: Map<string, string>;
  content: Uint8Array;
}

async function collect(parts: AsyncIterable<MultipartPart>): Promise<Collected[]> {
  const out: Collected[] = [];
  for await (const part of parts) {
    const bufs: Uint8Array[] = [];
    for await (const chunk of part.body) bufs.push(chunk);
    out.push({ name: part.name, filename: part.filename, headers: part.headers, content: concat(...bufs) });
  }
  return out;
}

describe("multipartBoundary()", () => {
  test("multipartBoundary() reads plain and quoted boundaries of multipart/form-data", () => {
    expect(multipartBoundary("multipart/form-data; boundary=abc123")).toBe("abc123");
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b:c"')).toBe("a b:c");
  });

  test("multipartBoundary() answers undefined for other types and bad boundaries", () => {
    for (const value of [
      null,
      "",
      "application/octet-stream",
      "multipart/form-data",
      "multipart/mixed; boundary=x",
      "multipart/form-data; boundary=",
      `multipart/form-data; boundary=${"x".repeat(71)}`,
    ]) {
      expect(multipartBoundary(value)).toBeUndefined();
    }
  });
});

describe("readMultipart()", () => {
  const boundary = "9051914041544843365972754266f9a0e4a5cab85b2c9c3d1d7a5ac4e8cb";
  // Content that holds near-delimiters, so a parser that matches too early or too late shows it.
  const content = encoder.encode(`line\r\n--${boundary.slice(0, 20)}\r\n-\r\n--\r\r\nend`);

  test("readMultipart() reads the original Go client's upload split at every possible place", async () => {
    const body = goClientBody(boundary, "6f1ed002ab5595859014ebf0951522d9", content);
    for (let size = 1; size <= body.length; size++) {
      const parts = await collect(readMultipart(pieces(body, size), boundary));
      expect(parts.length).toBe(1);
      expect(parts[0]!.name).toBe("file");
      expect(parts[0]!.filename).toBe("6f1ed002ab5595859014ebf0951522d9");
      expect(parts[0]!.headers.get("content-type")).toBe("application/octet-stream");
      expect(decoder.decode(parts[0]!.content)).toBe(decoder.decode(content));
    }
  });

  test("readMultipart() reads what Bun's own FormData encoder writes", async () => {
    const form = new FormData();
    form.append("note", "first field");
    form.append("file", new Blob([content]), "blob.bin");
    form.append("empty", "");
    const encoded = new Response(form);
    const contentBoundary = multipartBoundary(encoded.headers.get("content-type"))!;
    const body = new Uint8Array(await encoded.arrayBuffer());
    const parts = await collect(readMultipart(pieces(body, 5), contentBoundary));
    expect(parts.map((p) => [p.name, p.filename, decoder.decode(p.content)])).toEqual([
      ["note", undefined, "first field"],
      ["file", "blob.bin", decoder.decode(content)],
      ["empty", undefined, ""],
    ]);
  });

  test("readMultipart() skips the preamble, the epilogue, padding and parts left unread", async () => {
    const body = encoder.encode(
      `preamble text\r\n--B  \r\nContent-Disposition: form-data; name="skipped"\r\n\r\nnot read\r\n` +
        `--B\r\n\r\nno headers\r\n` +
        `--B\r\nContent-Disposition: form-data; name="file"; filename="a \\"q\\".txt"\r\n\r\nwanted\r\n--B--\r\nepilogue`,
    );
    const seen: [string | undefined, string | undefined, string][] = [];
    for await (const part of readMultipart(pieces(body, 3), "B")) {
      if (part.name !== "file" && part.name !== undefined) continue;
      const bufs: Uint8Array[] = [];
      for await (const chunk of part.body) bufs.push(chunk);
      seen.push([part.name, part.filename, decoder.decode(concat(...bufs))]);
    }
    expect(seen).toEqual([
      [undefined, undefined, "no headers"],
      ["file", 'a "q".txt', "wanted"],
    ]);
  });

  test("readMultipart() throws MultipartError for a body cut short", async () => {
    const body = goClientBody(boundary, "f", content);
    for (const cut of [10, 150, body.length - 10]) {
      const parts = collect(readMultipart(pieces(body.subarray(0, cut), 64), boundary));
      await expect(parts).rejects.toBeInstanceOf(MultipartError);
    }
  });

  test("readMultipart() throws MultipartError without a boundary, for malformed lines and huge headers", async () => {
    const cases = [
      "no delimiter anywhere",
      "--B\r\nContent-Disposition form-data\r\n\r\nx\r\n--B--",
      "--Bjunk\r\n\r\nx\r\n--B--",
      `--B\r\nX-Big: ${"h".repeat(20_000)}\r\n\r\nx\r\n--B--`,
    ];
    for (const text of cases) {
      const parts = collect(readMultipart(pieces(encoder.encode(text), 1000), "B"));
      await expect(parts).rejects.toBeInstanceOf(MultipartError);
    }
  });
});
