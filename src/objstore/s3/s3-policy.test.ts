// The request policy S3ObjectStore applies to both clients, against a scripted driver: timeouts,
// which failures are retried, and what a server's listing must look like before it is believed.
import { describe, expect, test } from "bun:test";
import { FsError, setUnexpectedErrorLogger } from "../../types/index.ts";
import type { S3Driver } from "./s3-driver.ts";
import { mapS3Error } from "./s3-errors.ts";
import { S3ObjectStore } from "./s3-store.ts";

const location = { bucket: "b-1", prefix: "pre", endpoint: "http://127.0.0.1:9", region: "us-east-1" };
const policy = { requestTimeoutMs: 30, maxAttempts: 3, retryBackoffBaseMs: 1 };

function fakeDriver(overrides: Partial<S3Driver>): S3Driver {
  const unused = () => Promise.reject(new Error("not scripted"));
  return { kind: "node", put: unused, get: unused, head: unused, delete: unused, list: unused, close() {}, ...overrides };
}

const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const bunError = (code: string) => Object.assign(new Error(code), { name: "S3Error", code });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => "no error", (err: unknown) => (err instanceof FsError ? err.code : `not an FsError: ${String(err)}`));
}

describe("s3 request policy", () => {
  test("a call that never answers is ETIMEDOUT after every attempt", async () => {
    let calls = 0;
    const store = new S3ObjectStore(location, fakeDriver({ head: () => (calls++, new Promise(() => undefined)) }), policy);
    const started = performance.now();
    expect(await codeOf(store.head("k"))).toBe("ETIMEDOUT");
    expect(calls).toBe(3);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("the abort signal fires when an attempt times out", async () => {
    let aborted = false;
    const driver = fakeDriver({
      get: (_key, _range, signal) => new Promise((_, reject) => signal.addEventListener("abort", () => ((aborted = true), reject(new Error("aborted"))))),
    });
    expect(await codeOf(new S3ObjectStore(location, driver, { ...policy, maxAttempts: 1 }).get("k"))).toBe("ETIMEDOUT");
    expect(aborted).toBe(true);
  });

  test("5xx, throttling and dropped connections are retried; the call then succeeds", async () => {
    const failures = [sdkError("InternalError", 500), bunError("ConnectionClosed")];
    let calls = 0;
    const driver = fakeDriver({ put: async () => { calls++; const next = failures.shift(); if (next) throw next; } });
    await new S3ObjectStore(location, driver, policy).put("k", new Uint8Array(1));
    expect(calls).toBe(3);
  });

  test("denied, missing and invalid are answered at once, never retried", async () => {
    for (const [err, code] of [[sdkError("AccessDenied", 403), "EACCES"], [bunError("NoSuchKey"), "ENOENT"], [sdkError("InvalidArgument", 400), "EIO"]] as const) {
      let calls = 0;
      const driver = fakeDriver({ get: async () => { calls++; throw err; } });
      expect(await codeOf(new S3ObjectStore(location, driver, policy).get("k"))).toBe(code);
      expect(calls).toBe(1);
    }
  });

  test("keys go under the store prefix and come back without it", async () => {
    const seen: string[] = [];
    const driver = fakeDriver({
      put: async (key) => void seen.push(key),
      list: async (input) => (seen.push(`${input.prefix}|${input.startAfter}`), { keys: ["pre/a/1", "pre/a/2"], truncated: true }),
    });
    const store = new S3ObjectStore(location, driver, policy);
    await store.put("a/1", new Uint8Array(1));
    expect(await store.list("a/", { after: "a/0", limit: 2 })).toEqual({ keys: ["a/1", "a/2"], nextAfter: "a/2" });
    expect(seen).toEqual(["pre/a/1", "pre/a/|pre/a/0"]);
  });

  test("a listing out of order, outside the prefix, over the limit or at the cursor is EIO", async () => {
    const cases = [
      { keys: ["pre/b", "pre/a"], prefix: "", after: "" },
      { keys: ["pre/a/1", "pre/b"], prefix: "a/", after: "" },
      { keys: ["pre/a", "pre/b", "pre/c"], prefix: "", after: "" },
      { keys: ["pre/a"], prefix: "", after: "a" },
    ];
    for (const { keys, prefix, after } of cases) {
      const store = new S3ObjectStore(location, fakeDriver({ list: async () => ({ keys, truncated: false }) }), policy);
      expect(await codeOf(store.list(prefix, { after, limit: 2 }))).toBe("EIO");
    }
    const empty = new S3ObjectStore(location, fakeDriver({ list: async () => ({ keys: [], truncated: true }) }), policy);
    expect(await codeOf(empty.list(""))).toBe("EIO");
  });

  test("a server that ignores Range is caught, not believed", async () => {
    const store = new S3ObjectStore(location, fakeDriver({ get: async () => new Uint8Array(100) }), policy);
    expect(await codeOf(store.get("k", { offsetBytes: 10, lengthBytes: 5 }))).toBe("EIO");
  });
});

describe("s3 error mapping", () => {
  const where = { op: "get", key: "k", url: "s3://b-1" };
  test("both clients' shapes map to the same errnos", () => {
    expect(mapS3Error(bunError("NoSuchKey"), where).error.code).toBe("ENOENT");
    expect(mapS3Error(sdkError("NotFound", 404), where).error.code).toBe("ENOENT");
    expect(mapS3Error(bunError("AccessDenied"), where).error.code).toBe("EACCES");
    expect(mapS3Error(sdkError("Forbidden", 403), where).error.code).toBe("EACCES");
    expect(mapS3Error(sdkError("NoSuchBucket", 404), where).error.code).toBe("EIO");
    const slow = mapS3Error(sdkError("SlowDown", 503), where);
    expect([slow.error.code, slow.retryable]).toEqual(["EIO", true]);
    expect(slow.error.message).toContain("SlowDown");
    expect(slow.error.message).toContain("HTTP 503");
    expect(mapS3Error(Object.assign(new Error("socket"), { code: "ECONNRESET" }), where).retryable).toBe(true);
  });

  test("an error with no S3 shape is a bug: logged, EIO, not retried", () => {
    const logged: unknown[] = [];
    const previous = setUnexpectedErrorLogger((err) => logged.push(err));
    try {
      const { error, retryable } = mapS3Error(new TypeError("undefined is not a function"), where);
      expect([error.code, retryable]).toEqual(["EIO", false]);
      expect(logged.length).toBe(1);
    } finally {
      setUnexpectedErrorLogger(previous);
    }
  });
});
