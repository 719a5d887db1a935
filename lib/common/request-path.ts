/**
 * The path of a request URL as the programs route and log it: the raw path without the query, not
 * percent-decoded (an encoded slash stays in a key). Pure; no URL object is built.
 */

/** `http://h:1/cas/ab?x=1` -> `/cas/ab`; a URL without a path gives `/`. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}
