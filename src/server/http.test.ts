import { describe, expect, test } from "bun:test";
import { LIMITS } from "../types/index.ts";
import { encodeHttpResponse, parseHttpRequest } from "./http.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("http request parsing", () => {
  test("a complete GET with headers", () => {
    const r = parseHttpRequest(bytes("GET /stats?x=1 HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n"));
    expect(r.kind).toBe("request");
    if (r.kind !== "request") return;
    expect(r.request).toMatchObject({ method: "GET", path: "/stats" });
    expect(r.request.headers.get("x-y")).toBe("z");
  });

  test("partial requests wait; bodies are waited for and skipped", () => {
    expect(parseHttpRequest(bytes("GET /healthz HTTP/1.1\r\nHost")).kind).toBe("incomplete");
    expect(parseHttpRequest(bytes("POST /gc HTTP/1.1\r\nContent-Length: 4\r\n\r\nab")).kind).toBe("incomplete");
    const whole = "POST /gc HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
    const done = parseHttpRequest(bytes(whole + "GET"));
    expect(done.kind === "request" && done.consumedBytes).toBe(whole.length);
  });

  test("oversized and malformed requests get 413 and 400", () => {
    const huge = parseHttpRequest(bytes("GET / HTTP/1.1\r\nX: " + "a".repeat(LIMITS.httpHeaderMaxBytes) + "\r\n"));
    expect(huge.kind === "error" && huge.response.status).toBe(413);
    const body = parseHttpRequest(bytes("POST /gc HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"));
    expect(body.kind === "error" && body.response.status).toBe(413);
    const chunked = parseHttpRequest(bytes("POST /gc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
    expect(chunked.kind === "error" && chunked.response.status).toBe(413);
    const bad = parseHttpRequest(bytes("HELLO\r\n\r\n"));
    expect(bad.kind === "error" && bad.response.status).toBe(400);
  });

  test("responses carry length and close", () => {
    const text = new TextDecoder().decode(encodeHttpResponse({ status: 404, body: "no\n" }));
    expect(text).toBe("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\nCache-Control: no-store\r\n\r\nno\n");
  });
});
