import { expect, test } from "bun:test";
import { LIMITS, type InodeAttrs } from "../../types/index.ts";
import type { Node } from "./node-table.ts";
import { SiblingPrefetch } from "./sibling-prefetch.ts";

const DIR = 1;

function fileNode(nodeid: number, sizeBytes = 100, generation = 1): Node {
  const attrs = { type: "file", sizeBytes, generation, inode: nodeid, version: 1, nlink: 1 } as unknown as InodeAttrs;
  return { nodeid, inode: nodeid, type: "file", lookups: 1, handles: 0, primary: null, otherLinks: null, attrs, attrsFresh: false, xattrNames: null } as unknown as Node;
}

function setup(count: number, sizeBytes = 100) {
  const nodes = new Map<number, Node>();
  const reads: number[] = [];
  const prefetch = new SiblingPrefetch(async (node, sizeBytes) => {
    reads.push(node.nodeid);
    return new Uint8Array(sizeBytes).fill(node.nodeid);
  }, (nodeid) => nodes.get(nodeid));
  prefetch.listingStarted(DIR);
  for (let i = 10; i < 10 + count; i++) {
    const node = fileNode(i, sizeBytes);
    nodes.set(i, node);
    prefetch.listed(DIR, node);
  }
  return { nodes, reads, prefetch };
}

test("reading a listed file fetches the next few small files; their reads are served from it", async () => {
  const { nodes, reads, prefetch } = setup(LIMITS.fusePrefetchFilesAhead + 12);
  prefetch.ahead(nodes.get(10)!);
  expect(reads).toEqual(Array.from({ length: LIMITS.fusePrefetchFilesAhead }, (_, i) => 11 + i));
  const bytes = await prefetch.take(nodes.get(11)!, 0, 4096);
  expect(bytes).toEqual(new Uint8Array(100).fill(11));
  // Read to its end: not kept any longer.
  expect(prefetch.take(nodes.get(11)!, 0, 4096)).toBeNull();
  // Reading on keeps the window moving without fetching twice.
  prefetch.ahead(nodes.get(11)!);
  expect(reads.filter((n) => n === 12).length).toBe(1);
  expect(reads).toContain(11 + LIMITS.fusePrefetchFilesAhead);
});

test("a new generation, a change event or a large file is never served from a fetch", async () => {
  const { nodes, prefetch } = setup(4);
  prefetch.ahead(nodes.get(10)!);
  nodes.get(11)!.attrs = { ...nodes.get(11)!.attrs, generation: 2 };
  expect(prefetch.take(nodes.get(11)!, 0, 10)).toBeNull();
  prefetch.changed(12);
  expect(prefetch.take(nodes.get(12)!, 0, 10)).toBeNull();
  const big = fileNode(99, LIMITS.fusePrefetchFileMaxBytes + 1);
  prefetch.listed(DIR, big);
  prefetch.ahead(nodes.get(13)!);
  expect(prefetch.take(big, 0, 10)).toBeNull();
});

test("a failed fetch leaves the read to the ordinary path", async () => {
  const node = fileNode(11);
  const prefetch = new SiblingPrefetch(async () => {
    throw new Error("EIO");
  }, () => node);
  prefetch.listingStarted(DIR);
  prefetch.listed(DIR, fileNode(10));
  prefetch.listed(DIR, node);
  prefetch.ahead(fileNode(10));
  expect(await prefetch.take(node, 0, 10)).toBeNull();
});

test("listing order is kept for at most fusePrefetchListedMax files across directories", () => {
  const prefetch = new SiblingPrefetch(async () => new Uint8Array(0), () => undefined);
  prefetch.listingStarted(DIR);
  for (let i = 0; i < LIMITS.fusePrefetchListedMax + 10; i++) prefetch.listed(DIR, fileNode(10 + i));
  const reads: number[] = [];
  const past = new SiblingPrefetch(async (node) => (reads.push(node.nodeid), new Uint8Array(1)), (nodeid) => fileNode(nodeid));
  past.listingStarted(DIR);
  for (let i = 0; i < LIMITS.fusePrefetchListedMax + 10; i++) past.listed(DIR, fileNode(10 + i));
  // A file listed past the cap has no place in the order: reading it fetches nothing ahead.
  past.ahead(fileNode(10 + LIMITS.fusePrefetchListedMax + 1));
  expect(reads).toEqual([]);
  past.ahead(fileNode(10));
  expect(reads.length).toBe(LIMITS.fusePrefetchFilesAhead);
  // Dropping the directory frees its share of the cap.
  past.dropped(DIR);
  past.listingStarted(DIR);
  past.listed(DIR, fileNode(7));
  past.listed(DIR, fileNode(8));
  past.ahead(fileNode(7));
  expect(reads).toContain(8);
});

test("fetched bytes are stored into the kernel once they arrive, unless a change or a new generation came first", async () => {
  const nodes = new Map<number, Node>();
  const pending = new Map<number, (bytes: Uint8Array) => void>();
  const stored: Array<[number, number]> = [];
  const prefetch = new SiblingPrefetch(
    (node) => new Promise<Uint8Array>((resolve) => pending.set(node.nodeid, resolve)),
    (nodeid) => nodes.get(nodeid),
    (node, bytes) => (stored.push([node.nodeid, bytes.byteLength]), true),
  );
  prefetch.listingStarted(DIR);
  for (let i = 10; i < 15; i++) {
    nodes.set(i, fileNode(i));
    prefetch.listed(DIR, nodes.get(i)!);
  }
  prefetch.ahead(nodes.get(10)!);
  // 11 arrives as fetched; 12 changed before its bytes arrived; 13 moved to a new generation;
  // 14's bytes are not the size the kernel was told.
  prefetch.changed(12);
  nodes.get(13)!.attrs = { ...nodes.get(13)!.attrs, generation: 2 };
  for (const nodeid of [11, 12, 13]) pending.get(nodeid)!(new Uint8Array(100).fill(nodeid));
  pending.get(14)!(new Uint8Array(99));
  await Bun.sleep(0);
  expect(stored).toEqual([[11, 100]]);
  expect(prefetch.counts.stored).toBe(1);
  // Stored or not, a READ that still comes is served from the fetch.
  expect(await prefetch.take(nodes.get(11)!, 0, 100)).toEqual(new Uint8Array(100).fill(11));
});

test("a store the kernel side refused is not counted, and the fetch still serves the read", async () => {
  const node = fileNode(11);
  const prefetch = new SiblingPrefetch(async (n, sizeBytes) => new Uint8Array(sizeBytes).fill(n.nodeid), (nodeid) => (nodeid === 11 ? node : undefined), () => false);
  prefetch.listingStarted(DIR);
  prefetch.listed(DIR, fileNode(10));
  prefetch.listed(DIR, node);
  prefetch.ahead(fileNode(10));
  await Bun.sleep(0);
  expect(prefetch.counts.stored).toBe(0);
  expect(await prefetch.take(node, 0, 100)).toEqual(new Uint8Array(100).fill(11));
});

test("a program that leaves listing order gets no more fetches until it comes back to it", () => {
  const ahead = LIMITS.fusePrefetchFilesAhead;
  const { nodes, reads, prefetch } = setup(4 * ahead);
  prefetch.ahead(nodes.get(10)!);
  expect(reads.length).toBe(ahead);
  // Opened and then read from its start: the same file asks once.
  prefetch.ahead(nodes.get(10)!);
  expect(reads.length).toBe(ahead);
  // A shuffling reader jumps about: nothing more is fetched for it.
  for (const far of [10 + 3 * ahead, 10 + 2 * ahead + 5, 10 + 3 * ahead + 7]) prefetch.ahead(nodes.get(far)!);
  expect(reads.length).toBe(ahead);
  // Parallel readers a little out of step still read in order: the window moves on.
  prefetch.ahead(nodes.get(10 + LIMITS.fusePrefetchOrderSlackFiles)!);
  expect(reads).toContain(10 + ahead + LIMITS.fusePrefetchOrderSlackFiles);
  const count = reads.length;
  prefetch.ahead(nodes.get(10 + 1)!);
  expect(reads.length).toBe(count);
  // Starting again from the first file is a new pass in order: what it needs is fetched again.
  prefetch.changed(11);
  prefetch.ahead(nodes.get(10)!);
  expect(reads.filter((n) => n === 11).length).toBe(2);
});

test("fetched bytes held are bounded by fusePrefetchHeldMaxBytes: the oldest go first", async () => {
  const sizeBytes = LIMITS.fusePrefetchFileMaxBytes;
  const perBound = Math.floor(LIMITS.fusePrefetchHeldMaxBytes / sizeBytes);
  const { nodes, reads, prefetch } = setup(perBound + LIMITS.fusePrefetchFilesAhead + 2, sizeBytes);
  prefetch.ahead(nodes.get(10)!);
  prefetch.ahead(nodes.get(11)!);
  prefetch.ahead(nodes.get(12)!);
  const fetched = reads.length;
  expect(fetched).toBeGreaterThan(perBound);
  // Only the newest perBound fetches are still held: the first one went.
  expect(prefetch.take(nodes.get(11)!, 0, 10)).toBeNull();
  expect(await prefetch.take(nodes.get(reads[fetched - 1]!)!, 0, 10)).toEqual(new Uint8Array(10).fill(reads[fetched - 1]!));
});
