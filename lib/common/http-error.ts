/**
 * JSON error responses: every HTTP error any program sends is `{"error": code, "message": text}`
 * with the right status, and never a stack trace.
 */

/** An error that carries its HTTP answer; handlers throw it and the top level turns it into a Response. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Builds the JSON error response. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error: code, message }) + "\n", {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Turns anything thrown into a response: HttpError keeps its status; anything else is a bare 500. */
export function toErrorResponse(err: unknown): Response {
  if (err instanceof HttpError) return errorResponse(err.status, err.code, err.message, err.headers);
  return errorResponse(500, "internal", "internal server error");
}

/** `405` with the `Allow` header listing what the route takes. */
export function methodNotAllowed(allow: readonly string[]): Response {
  return errorResponse(405, "method_not_allowed", `use ${allow.join(", ")}`, { allow: allow.join(", ") });
}
