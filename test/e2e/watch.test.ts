import { afterEach, expect, test } from "bun:test";
import { FsError, type NoKVClient, type WatchEvent } from "../../src/sdk/index.ts";
import { LIMITS, ROOT_INODE } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";

// Watch delivers every committed event exactly once in commit order, or fails with ESTALE when
// its cursor is behind what the log retains. Writers (single creates and large batches) race a
// watcher that keeps stopping, letting a backlog build, and resuming from its cursor; GC trims the
// watch log meanwhile.

let h: MetadHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

/** Creates `count` files in /w as batches of `batch` (1: one request each); returns the names acknowledged. */
async function write(c: NoKVClient, prefix: string, count: number, batch: number): Promise<string[]> {
  const done: string[] = [];
  for (let i = 0; i < count; i += batch) {
    const names = Array.from({ length: Math.min(batch, count - i) }, (_, j) => `${prefix}-${i + j}`);
    if (batch === 1) await c.createFile(`/w/${names[0]}`);
    else {
      const results = await c.batch(names.map((name) => ({ op: "create_file_path", args: { path: `/w/${name}` } })));
      for (const r of results as Array<{ ok: boolean }>) expect(r.ok).toBe(true);
    }
    done.push(...names);
  }
  return done;
}

/** Reads up to `max` events, or until `idleMs` pass with none. */
async function take(watcher: AsyncIterator<WatchEvent>, max: number, idleMs: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  while (out.length < max) {
    const next = await Promise.race([watcher.next(), Bun.sleep(idleMs).then(() => null)]);
    if (next === null || next.done) break;
    out.push(next.value);
  }
  return out;
}

function assertInOrder(events: WatchEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!;
    const b = events[i]!;
    expect(b.version > a.version || (b.version === a.version && b.ordinal > a.ordinal)).toBe(true);
  }
}

test("a watcher that stops and resumes from its cursor, again and again, gets every event once, in order", async () => {
  h = await startMetad();
  const writerA = await h.client();
  const writerB = await h.client();
  const reader = await h.client();
  await writerA.mkdir("/w");
  const writers = Promise.all([write(writerA, "single", 300, 1), write(writerB, "batch", 9_000, 4_096), write(writerA, "late", 50, 1)]);
  const received: WatchEvent[] = [];
  let cursor = "0.0";
  let resumes = 0;
  let writing = true;
  void writers.then(() => (writing = false));
  // Each round: resume, read a slice, close (the backlog builds while closed), run GC.
  while (writing || resumes < 3) {
    const watcher = await reader.watch("/w", { cursor }).ready;
    received.push(...(await take(watcher, 700, writing ? 200 : 500)));
    cursor = watcher.cursor;
    await watcher.close();
    resumes++;
    await h.metad.runGc();
    await Bun.sleep(5);
    if (resumes > 200) break;
  }
  const watcher = await reader.watch("/w", { cursor }).ready;
  const created = (await writers).flat();
  received.push(...(await take(watcher, created.length, 1_000)));
  await watcher.close();
  expect(resumes).toBeGreaterThan(3);
  assertInOrder(received);
  const names = received.filter((e) => e.kind === "create").map((e) => e.name);
  expect(names.length).toBe(created.length);
  expect(new Set(names).size).toBe(names.length);
  expect(new Set(names)).toEqual(new Set(created));
}, 120_000);

test("live pushes that race the catch-up of a resumed watch are neither lost nor repeated", async () => {
  h = await startMetad();
  const writer = await h.client();
  const other = await h.client();
  const reader = await h.client();
  await writer.mkdir("/w");
  const backlog = await write(writer, "old", 9_000, 4_096);
  // The resumed watch has 9,000 events of log to read while another client keeps creating.
  const watcher = await reader.watch("/w", { cursor: "0.0" }).ready;
  const live = await write(other, "new", 50, 1);
  const received = await take(watcher, backlog.length + live.length + 10, 1_000);
  await watcher.close();
  assertInOrder(received);
  expect(received.map((e) => e.name).filter((n) => n.startsWith("old-") || n.startsWith("new-")).length).toBe(9_050);
  expect(new Set(received.map((e) => e.name))).toEqual(new Set([...backlog, ...live]));
}, 60_000);

test("a resumed watch of a quiet directory in a busy mount crosses log pages with none of its events, and gets each of them once", async () => {
  h = await startMetad();
  const writer = await h.client();
  const reader = await h.client();
  await writer.mkdir("/w");
  await writer.mkdir("/quiet");
  await writer.createFile("/quiet/first");
  // More than two pages of commands (watchPageMaxCommands each), none of them in /quiet: at least
  // one catch-up page comes back empty with more to read, and the position must move past it.
  const busy = await write(writer, "busy", 2 * LIMITS.watchPageMaxCommands + 100, 1);
  await writer.createFile("/quiet/last");
  const pagesBefore = ((await reader.serverStats()) as { watch: { catchUpPages: number } }).watch.catchUpPages;
  const watcher = await reader.watch("/quiet", { cursor: "0.0" }).ready;
  const received = await take(watcher, 10, 1_000);
  await watcher.close();
  expect(received.map((e) => e.name)).toEqual(["first", "last"]);
  assertInOrder(received);
  const pages = ((await reader.serverStats()) as { watch: { catchUpPages: number } }).watch.catchUpPages - pagesBefore;
  expect(pages).toBeGreaterThanOrEqual(Math.ceil(busy.length / LIMITS.watchPageMaxCommands));
}, 60_000);

test("a cursor behind what GC trimmed gets ESTALE, never a silent gap", async () => {
  h = await startMetad({ retention: { watchRetainVersions: 10 } });
  const c = await h.client();
  await c.mkdir("/w");
  const first = await c.watch("/w", { cursor: "0.0" }).ready;
  const early = await take(first, 1, 300);
  await first.close();
  expect(early).toEqual([]);
  for (let i = 0; i < 40; i++) await c.createFile(`/w/f${i}`);
  await h.metad.runGc();
  const stale = await c.watch("/w", { cursor: "1.0" }).ready.catch((err: unknown) => err);
  expect(stale).toBeInstanceOf(FsError);
  expect((stale as FsError).code).toBe("ESTALE");
  // From "now" it goes on with new events only.
  const fresh = await c.watch("/w").ready;
  await c.createFile("/w/after");
  const after = await take(fresh, 5, 500);
  expect(after.map((e) => e.name)).toEqual(["after"]);
  await fresh.close();
}, 60_000);

test("a watcher whose cursor GC passes while it catches up ends with ESTALE after the events it got", async () => {
  h = await startMetad({ retention: { watchRetainVersions: 5 } });
  const c = await h.client();
  const reader = await h.client();
  await c.mkdir("/w");
  const created = await write(c, "x", 30, 1);
  const watcher = await reader.watch("/w", { cursor: "1.4294967295" }).ready;
  const got: WatchEvent[] = [];
  let failure: unknown = null;
  await h.metad.runGc();
  try {
    for (;;) {
      const next = await Promise.race([watcher.next(), Bun.sleep(500).then(() => null)]);
      if (next === null || next.done) break;
      got.push(next.value);
    }
  } catch (err) {
    failure = err;
  }
  await watcher.close();
  assertInOrder(got);
  // Either the whole log was read before GC ran, or what came is a prefix of it and then ESTALE.
  if (failure === null) expect(got.map((e) => e.name)).toEqual(created);
  else {
    expect((failure as FsError).code).toBe("ESTALE");
    expect(created.slice(0, got.length)).toEqual(got.map((e) => e.name));
  }
}, 60_000);

test("a watch by inode of a directory already removed fails with ENOENT instead of waiting for events that never come", async () => {
  h = await startMetad();
  const c = await h.client();
  const gone = await c.inode.mkdir(ROOT_INODE, "gone");
  await c.writeFile("/file", "x");
  const file = { inode: (await c.stat("/file")).ino };
  // Subscribed from the mkdir on: a change before the subscription is replayed to it.
  const made = await c.inode.mkdir(ROOT_INODE, "made");
  await c.createFile("/made/early");
  const fromMkdir = await c.watch({ inode: made.inode }, { cursor: `${made.version}.4294967295` }).ready;
  expect((await take(fromMkdir, 1, 2_000)).map((e) => e.name)).toEqual(["early"]);
  await fromMkdir.close();
  await c.rmdir("/gone");
  for (const [target, code] of [[gone.inode, "ENOENT"], [file.inode, "ENOTDIR"]] as const) {
    const failure = await c.watch({ inode: target }, { cursor: "0.0" }).ready.catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(FsError);
    expect((failure as FsError).code).toBe(code);
  }
}, 30_000);
