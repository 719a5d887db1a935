/**
 * Reads a `--targets` file in vegeta's two formats: `http` (a `METHOD URL` line, `Name: Value` header lines, an
 * optional `@path` body line; targets apart by blank lines; `#` comments) and `json` (one object per line:
 * `{"method","url","body" (base64),"header":{"Name":["value"]}}`, nothing else). Synchronous; body files are read
 * through `readBody` (relative paths from the working directory, as vegeta does). Any mistake throws a
 * {@linkcode TargetFileError} naming the line.
 */
import { readFileSync } from "node:fs";
import { parseTargetUrl } from "./url-targets.ts";

export type TargetFormat = "http" | "json";

export const TARGET_FORMATS: readonly TargetFormat[] = ["http", "json"];

/** One target as the file gives it. */
export interface FileTarget {
  method: string;
  /** Absolute http(s) URL, normalised. */
  url: string;
  /** In file order; a name may repeat (vegeta sends every value). */
  headers: [string, string][];
  body?: Uint8Array;
  /** 1-based line of the request line (http) or the object (json). */
  line: number;
}

/** A targets file that cannot be read; `message` names the source and the line. */
export class TargetFileError extends SyntaxError {
  override name = "TargetFileError";
  readonly line: number;
  constructor(source: string, line: number, reason: string) {
    super(`${source} line ${line}: ${reason}`);
    this.line = line;
  }
}

export interface TargetFileOptions {
  /** Names the input in errors: a path, or "stdin". @default "targets" */
  source?: string;
  /** Reads an `@path` body. @default readFileSync */
  readBody?: (path: string) => Uint8Array;
}

/** Parses `--format`: `http` or `json`. */
export function parseTargetFormat(raw: string): TargetFormat {
  const v = raw.trim();
  if (v === "http" || v === "json") return v;
  throw new SyntaxError('expected "http" or "json"');
}

/** Every target in `text`, in order; throws TargetFileError at the first mistake, or when there is none. */
export function parseTargets(text: string, format: TargetFormat, options: TargetFileOptions = {}): FileTarget[] {
  const source = options.source ?? "targets";
  const lines = text.split(/\r?\n/);
  const targets = format === "http" ? parseHttp(lines, source, options) : parseJson(lines, source);
  if (targets.length === 0) {
    throw new TargetFileError(source, lines.length, `no targets (expected the ${format} format${hint(format)})`);
  }
  return targets;
}

function hint(format: TargetFormat): string {
  return format === "http" ? ', e.g. "GET http://host/path"' : ', e.g. {"method":"GET","url":"http://host/path"}';
}

const REQUEST_LINE = /^[A-Z]+\s/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseHttp(lines: readonly string[], source: string, options: TargetFileOptions): FileTarget[] {
  const readBody = options.readBody ?? ((path: string) => new Uint8Array(readFileSync(path)));
  const targets: FileTarget[] = [];
  let current: FileTarget | undefined;
  let bodyDone = false; // after `@path` only a blank line or a new request line may follow
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    const fail = (reason: string): never => {
      throw new TargetFileError(source, number, reason);
    };
    if (line === "") {
      current = undefined;
      return;
    }
    if (line.startsWith("#")) return;
    if (current === undefined || REQUEST_LINE.test(line)) {
      current = requestLine(line, number, fail);
      bodyDone = false;
      targets.push(current);
      return;
    }
    if (bodyDone) fail(`expected a blank line or a new request line after the body, got ${quote(line)}`);
    if (line.startsWith("@")) {
      const path = line.slice(1).trim();
      if (path === "") fail('expected a body file after "@"');
      try {
        const body = readBody(path);
        if (body.length > 0) current.body = body;
      } catch (err) {
        fail(`cannot read the body file ${path}: ${(err as Error).message}`);
      }
      bodyDone = true;
      return;
    }
    const colon = line.indexOf(":");
    const name = colon === -1 ? "" : line.slice(0, colon).trim();
    const value = colon === -1 ? "" : line.slice(colon + 1).trim();
    if (name === "" || value === "" || !TOKEN.test(name)) {
      fail(`expected a header such as "Accept: text/plain", a body line "@path" or a blank line, got ${quote(line)}`);
    }
    current.headers.push([name, value]);
  });
  return targets;
}

function requestLine(line: string, number: number, fail: (reason: string) => never): FileTarget {
  const space = line.search(/\s/);
  const method = space === -1 ? line : line.slice(0, space);
  const rest = space === -1 ? "" : line.slice(space).trim();
  if (!/^[A-Z]+$/.test(method)) {
    fail(`expected a request line such as "GET http://host/path", got ${quote(line)} (methods are upper case)`);
  }
  if (rest === "") fail(`expected a URL after the method in ${quote(line)}`);
  return { method, url: checkUrl(rest, fail), headers: [], line: number };
}

function checkUrl(raw: string, fail: (reason: string) => never): string {
  try {
    return parseTargetUrl(raw);
  } catch (err) {
    return fail(`bad URL ${quote(raw)}: ${(err as Error).message}`);
  }
}

const JSON_KEYS = new Set(["method", "url", "body", "header"]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseJson(lines: readonly string[], source: string): FileTarget[] {
  const targets: FileTarget[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "") return;
    const number = index + 1;
    const fail = (reason: string): never => {
      throw new TargetFileError(source, number, reason);
    };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      fail(`not JSON: ${(err as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      fail('expected one object per line, such as {"method":"GET","url":"http://host/path"}');
    }
    const obj = value as Record<string, unknown>; // checked to be a plain object just above
    for (const key of Object.keys(obj)) {
      if (!JSON_KEYS.has(key)) fail(`unknown field ${quote(key)} (allowed: method, url, body, header)`);
    }
    if (typeof obj.method !== "string" || obj.method === "") fail("required method is missing");
    if (typeof obj.url !== "string" || obj.url === "") fail("required url is missing");
    const method = obj.method as string; // both checked to be strings just above
    if (!TOKEN.test(method)) fail(`bad method ${quote(method)}`);
    const target: FileTarget = { method, url: checkUrl(obj.url as string, fail), headers: [], line: number };
    if (obj.body !== undefined && obj.body !== null) {
      if (typeof obj.body !== "string" || !BASE64.test(obj.body)) fail("body must be a base64 string");
      const body = Buffer.from(obj.body as string, "base64");
      if (body.length > 0) target.body = new Uint8Array(body);
    }
    if (obj.header !== undefined && obj.header !== null) {
      if (typeof obj.header !== "object" || Array.isArray(obj.header)) {
        fail('header must be an object of string lists, such as {"Accept":["text/plain"]}');
      }
      for (const [name, values] of Object.entries(obj.header as Record<string, unknown>)) {
        if (!TOKEN.test(name)) fail(`bad header name ${quote(name)}`);
        if (!Array.isArray(values) || !values.every((v) => typeof v === "string")) {
          fail(`header ${quote(name)} must be a list of strings, such as ["text/plain"]`);
        }
        for (const v of values as string[]) target.headers.push([name, v]);
      }
    }
    targets.push(target);
  });
  return targets;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}
