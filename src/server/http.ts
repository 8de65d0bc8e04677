// The HTTP side of the one port: GET /healthz, GET /readyz, GET /stats, POST /gc, nothing else.
// Requests are small and rare, so this is a minimal HTTP/1.1 reader: one request per connection,
// answered and closed.

import { LIMITS } from "../types/index.ts";

const HTTP_HEADER_MAX_BYTES = LIMITS.httpHeaderMaxBytes;
const HTTP_BODY_MAX_BYTES = LIMITS.httpBodyMaxBytes;

export interface HttpRequest {
  method: string;
  path: string;
  headers: Map<string, string>;
}

export interface HttpResponse {
  status: number;
  body: string;
  contentType?: string;
}

export type HttpParse =
  | { kind: "incomplete" }
  | { kind: "request"; request: HttpRequest; consumedBytes: number }
  | { kind: "error"; response: HttpResponse };

const REASONS: Record<number, string> = {
  200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
  413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
};

/** Parses one request from the bytes so far; bodies are read past, never kept. */
export function parseHttpRequest(bytes: Uint8Array): HttpParse {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, HTTP_HEADER_MAX_BYTES + 4)).toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) {
    if (bytes.length > HTTP_HEADER_MAX_BYTES) return { kind: "error", response: jsonResponse(413, { error: "request headers too large" }) };
    return { kind: "incomplete" };
  }
  const [requestLine = "", ...headerLines] = text.slice(0, end).split("\r\n");
  const match = /^([A-Z]{1,16}) (\S{1,2048}) HTTP\/1\.[01]$/.exec(requestLine);
  if (!match) return { kind: "error", response: jsonResponse(400, { error: "malformed request line" }) };
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const lengthText = headers.get("content-length") ?? "0";
  const bodyBytes = /^\d{1,12}$/.test(lengthText) ? Number(lengthText) : -1;
  if (bodyBytes < 0) return { kind: "error", response: jsonResponse(400, { error: "bad content-length" }) };
  if (bodyBytes > HTTP_BODY_MAX_BYTES || headers.has("transfer-encoding")) {
    return { kind: "error", response: jsonResponse(413, { error: `request body over ${HTTP_BODY_MAX_BYTES} bytes` }) };
  }
  const consumedBytes = end + 4 + bodyBytes;
  if (bytes.length < consumedBytes) return { kind: "incomplete" };
  return { kind: "request", request: { method: match[1]!, path: match[2]!.split("?")[0]!, headers }, consumedBytes };
}

export function jsonResponse(status: number, value: unknown): HttpResponse {
  return { status, body: JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n", contentType: "application/json" };
}

export function encodeHttpResponse(response: HttpResponse): Uint8Array {
  const body = Buffer.from(response.body, "utf8");
  const head =
    `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? "Status"}\r\n` +
    `Content-Type: ${response.contentType ?? "text/plain; charset=utf-8"}\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}
