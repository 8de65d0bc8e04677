import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openObjectStore } from "../../src/objstore/index.ts";
import { FaultyObjectStore } from "../../src/objstore/fault/fault-store.ts";
import { FsError, type CursorWatchEvent } from "../../src/sdk/index.ts";
import { ORDINAL_END } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";

// The SDK's shape where node:fs/promises sets the expectation: watch() is an async iterable at
// once and takes an AbortSignal, errno is negative, a failure below the namespace (the object
// store) says what failed in the message and keeps the original error as an Error in `cause`,
// and a watch cursor is one opaque string that round-trips.

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad();
});
afterAll(() => h.stop());

test("watch() returns an async iterable at once, like node:fs/promises watch", async () => {
  const c = await h.client();
  await c.mkdir("/shape");
  const watcher = c.watch("/shape");
  expect(typeof (watcher as unknown as { then?: unknown }).then).toBe("undefined");
  expect(typeof watcher[Symbol.asyncIterator]).toBe("function");
  await watcher.ready;
  await c.createFile("/shape/a");
  const seen: CursorWatchEvent[] = [];
  for await (const event of watcher) {
    seen.push(event);
    break;
  }
  expect(seen.map((e) => `${e.kind}:${e.name}`)).toEqual(["create:a"]);
  // The event's cursor is the resume form: "VERSION.ORDINAL", two decimal integers.
  expect(seen[0]!.cursor).toMatch(/^\d+\.\d+$/);
  await c.createFile("/shape/b");
  const resumed = c.watch("/shape", { cursor: seen[0]!.cursor });
  expect((await resumed.next()).value!.name).toBe("b");
  expect(resumed.cursor).toMatch(/^\d+\.\d+$/);
  await resumed.close();
});

test("a watch taken now starts at its version's end ordinal, as a plain decimal string", async () => {
  const c = await h.client();
  await c.mkdir("/now");
  const watcher = await c.watch("/now").ready;
  expect(watcher.cursor).toMatch(new RegExp(`^\\d+\\.${ORDINAL_END}$`));
  expect(watcher.cursor).not.toContain("9007199254740991");
  await watcher.close();
});

test("an AbortSignal ends a watch with an AbortError, as node's watch does", async () => {
  const c = await h.client();
  await c.mkdir("/abort");
  const controller = new AbortController();
  const watcher = c.watch("/abort", { signal: controller.signal });
  await watcher.ready;
  setTimeout(() => controller.abort(), 20);
  const err = await (async () => {
    for await (const _ of watcher) {
      // no events are made: only the abort ends this loop
    }
  })().catch((e: unknown) => e);
  expect((err as Error).name).toBe("AbortError");
  expect(watcher.closed).toBe(true);
  // An already aborted signal: the first next() throws.
  const pre = c.watch("/abort", { signal: AbortSignal.abort() });
  expect(((await pre.next().catch((e: unknown) => e)) as Error).name).toBe("AbortError");
});

test("a watch that cannot start throws from the iteration, node-shaped", async () => {
  const c = await h.client();
  const watcher = c.watch("/no-such-dir");
  const err = (await watcher.next().catch((e: unknown) => e)) as FsError;
  expect(err).toBeInstanceOf(FsError);
  expect(err.code).toBe("ENOENT");
  expect(err.syscall).toBe("watch");
  expect(err.path).toBe("/no-such-dir");
  const bad = c.watch("/", { cursor: "12" });
  expect(((await bad.ready.catch((e: unknown) => e)) as FsError).code).toBe("EINVAL");
});

test("errno is negative as in node:fs, and the message names no internal id", async () => {
  const c = await h.client();
  await c.mkdir("/dup");
  const err = (await c.mkdir("/dup").catch((e: unknown) => e)) as FsError;
  expect(err.code).toBe("EEXIST");
  expect(err.errno).toBe(-17);
  expect(err.message).toBe("EEXIST: file already exists, mkdir '/dup'");
  expect(err.cause).toBeInstanceOf(Error);
  expect(String((err.cause as Error).message)).not.toMatch(/directory \d/);
});

test("an object-store failure says so in the message, with the original error as cause", async () => {
  const writer = await h.client();
  await writer.writeFile("/blob.bin", new Uint8Array(1000).fill(7));
  const inner = await openObjectStore(`file://${join(h.dir, "objects")}`);
  const faulty = new FaultyObjectStore(inner, [{ op: "get", fail: "EACCES" }]);
  const reader = await h.client({ objectStore: faulty, cacheBytes: 0 });
  const err = (await reader.readFile("/blob.bin").catch((e: unknown) => e)) as FsError;
  expect(err.code).toBe("EACCES");
  expect(err.errno).toBe(-13);
  expect(err.path).toBe("/blob.bin");
  expect(err.message).toStartWith("EACCES: permission denied, open '/blob.bin' (");
  expect(err.message).toContain("injected get failure");
  expect(err.cause).toBeInstanceOf(FsError);
  expect((err.cause as FsError).code).toBe("EACCES");
  await inner.close();
});
