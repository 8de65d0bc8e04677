import { expect, test } from "bun:test";
import type { WatchEvent } from "../types/index.ts";
import { MetaCache, ancestors, type DirWatch } from "./meta-cache.ts";

/** A watch whose readiness and events the test drives. */
function fakeWatch() {
  let ready!: () => void;
  const queue: WatchEvent[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const watch: DirWatch = {
    ready: new Promise<void>((resolve) => (ready = resolve)),
    events: {
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          if (queue.length) yield queue.shift()!;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    },
    close: async () => {
      closed = true;
      wake?.();
    },
  };
  const push = (e: Partial<WatchEvent>) => {
    queue.push({ kind: "publish", scope: 1, name: "", inode: 0, version: 1, ordinal: 0, ...e } as WatchEvent);
    wake?.();
  };
  return { watch, ready: () => ready(), push };
}

function setup() {
  const watches = new Map<string, ReturnType<typeof fakeWatch>>();
  const cache = new MetaCache((dir) => {
    const w = fakeWatch();
    watches.set(dir, w);
    return w.watch;
  });
  let sent = 0;
  const stat = (path: string, inode = 7) => cache.call("stat_path", { path }, async () => ({ inode, path, n: ++sent }));
  return { cache, watches, stat, sent: () => sent };
}

test("ancestors of a path are every directory above it", () => {
  expect(ancestors("/a/b/c")).toEqual(["/", "/a", "/a/b"]);
  expect(ancestors("/x")).toEqual(["/"]);
});

test("attributes are kept only once every directory above is watched and live", async () => {
  const { watches, stat, sent } = setup();
  await stat("/d/f");
  await stat("/d/f");
  expect(sent()).toBe(2);
  watches.get("/")!.ready();
  watches.get("/d")!.ready();
  await Bun.sleep(0);
  await stat("/d/f");
  await stat("/d/f");
  expect(sent()).toBe(3);
});

test("an event for the file or its inode drops it; a rename drops everything; disconnect drops all", async () => {
  const { cache, watches, stat, sent } = setup();
  await stat("/d/f");
  watches.get("/")!.ready();
  watches.get("/d")!.ready();
  await Bun.sleep(0);
  await stat("/d/f");
  await stat("/d/g", 8);
  watches.get("/d")!.push({ kind: "publish", name: "f", inode: 7 });
  await Bun.sleep(1);
  await stat("/d/f");
  expect(sent()).toBe(4);
  await stat("/d/g", 8);
  expect(sent()).toBe(4);
  watches.get("/")!.push({ kind: "rename", name: "d", inode: 3 });
  await Bun.sleep(1);
  await stat("/d/g", 8);
  expect(sent()).toBe(5);
  cache.dropAll();
  await stat("/d/g", 8);
  await stat("/d/g", 8);
  expect(sent()).toBe(7);
});

test("read plans with a generation are cached; a reply to a request made before a drop is not kept", async () => {
  const { cache } = setup();
  let sent = 0;
  const plan = () => cache.call("read_plan", { inode: 7, generation: 2, offsetBytes: 0, lengthBytes: 10 }, async () => ({ n: ++sent }));
  await plan();
  await plan();
  expect(sent).toBe(1);
  const late = cache.call("read_plan", { inode: 7, generation: 3, offsetBytes: 0, lengthBytes: 10 }, async () => {
    cache.clear();
    return { n: ++sent };
  });
  await late;
  await cache.call("read_plan", { inode: 7, generation: 3, offsetBytes: 0, lengthBytes: 10 }, async () => ({ n: ++sent }));
  expect(sent).toBe(3);
});
