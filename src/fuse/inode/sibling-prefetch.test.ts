import { expect, test } from "bun:test";
import { LIMITS, type InodeAttrs } from "../../types/index.ts";
import type { Node } from "./node-table.ts";
import { SiblingPrefetch } from "./sibling-prefetch.ts";

const DIR = 1;

function fileNode(nodeid: number, sizeBytes = 100, generation = 1): Node {
  const attrs = { type: "file", sizeBytes, generation, inode: nodeid, version: 1, nlink: 1 } as unknown as InodeAttrs;
  return { nodeid, inode: nodeid, type: "file", lookups: 1, handles: 0, primary: null, otherLinks: null, attrs, attrsFresh: false, xattrNames: null } as unknown as Node;
}

function setup(count: number) {
  const nodes = new Map<number, Node>();
  const reads: number[] = [];
  const prefetch = new SiblingPrefetch(async (node, sizeBytes) => {
    reads.push(node.nodeid);
    return new Uint8Array(sizeBytes).fill(node.nodeid);
  }, (nodeid) => nodes.get(nodeid));
  prefetch.listingStarted(DIR);
  for (let i = 10; i < 10 + count; i++) {
    const node = fileNode(i);
    nodes.set(i, node);
    prefetch.listed(DIR, node);
  }
  return { nodes, reads, prefetch };
}

test("reading a listed file fetches the next few small files; their reads are served from it", async () => {
  const { nodes, reads, prefetch } = setup(20);
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
