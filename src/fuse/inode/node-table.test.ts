import { describe, expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import { NodeTable } from "./node-table.ts";
import { attrsOf } from "./testing.ts";

describe("NodeTable", () => {
  test("lookup counts: a node lives until FORGET drops its last reference and its last handle", () => {
    const nodes = new NodeTable(1, attrsOf(1, "dir"));
    const dropped: number[] = [];
    nodes.onDrop = (n) => dropped.push(n.nodeid);
    const node = nodes.remember(1, "a", attrsOf(5));
    nodes.remember(1, "a", attrsOf(5));
    node.handles++;
    nodes.forget(5, 2);
    expect(nodes.get(5)).toBe(node);
    nodes.release(node);
    expect(nodes.get(5)).toBeUndefined();
    expect(nodes.childOf(1, "a")).toBeUndefined();
    expect(dropped).toEqual([5]);
  });

  test("the root is node 1 whatever inode it is, and is never forgotten", () => {
    const nodes = new NodeTable(77, attrsOf(77, "dir"));
    expect(nodes.nodeidOf(77)).toBe(1);
    expect(nodes.inodeOf(1)).toBe(77);
    expect(nodes.inodeOf(5)).toBe(5);
    nodes.forget(1, 100);
    expect(nodes.get(1)).toBeDefined();
  });

  test("paths follow the newest link of each directory", () => {
    const nodes = new NodeTable(1, attrsOf(1, "dir"));
    nodes.remember(1, "a", attrsOf(2, "dir"));
    nodes.remember(2, "b", attrsOf(3, "dir"));
    nodes.remember(3, "f", attrsOf(4));
    expect(nodes.pathOf(4)).toBe("/a/b/f");
    nodes.moved({ parent: 2, name: "b" }, { parent: 1, name: "c" });
    expect(nodes.pathOf(4)).toBe("/c/f");
    expect(nodes.linkOf(nodes.get(4)!)).toEqual({ parent: 3, name: "f" });
    expect(nodes.pathOf(1)).toBe("/");
  });

  test("rename over an existing name drops that name; exchange swaps", () => {
    const nodes = new NodeTable(1, attrsOf(1, "dir"));
    nodes.remember(1, "x", attrsOf(2));
    nodes.remember(1, "y", attrsOf(3));
    nodes.exchanged({ parent: 1, name: "x" }, { parent: 1, name: "y" });
    expect(nodes.childOf(1, "x")).toBe(3);
    expect(nodes.childOf(1, "y")).toBe(2);
    nodes.moved({ parent: 1, name: "x" }, { parent: 1, name: "y" });
    expect(nodes.childOf(1, "y")).toBe(3);
    expect(nodes.childOf(1, "x")).toBeUndefined();
    expect(nodes.linkOf(nodes.get(2)!)).toBeNull();
  });

  test("a hard-linked file keeps a name to publish under when one link goes", () => {
    const nodes = new NodeTable(1, attrsOf(1, "dir"));
    nodes.remember(1, "a", attrsOf(2));
    nodes.remember(1, "b", attrsOf(2, "file", { nlink: 2, version: 2 }));
    nodes.removed(1, "b");
    expect(nodes.linkOf(nodes.get(2)!)).toEqual({ parent: 1, name: "a" });
    expect(nodes.get(2)!.attrs.nlink).toBe(2);
  });

  test("a hard-linked file: renaming either name keeps both, and dropping it forgets every name", () => {
    const nodes = new NodeTable(1, attrsOf(1, "dir"));
    nodes.remember(1, "a", attrsOf(2));
    nodes.remember(1, "b", attrsOf(2, "file", { nlink: 2, version: 2 }));
    nodes.moved({ parent: 1, name: "a" }, { parent: 1, name: "c" });
    expect(nodes.linkOf(nodes.get(2)!)).toEqual({ parent: 1, name: "b" });
    nodes.moved({ parent: 1, name: "b" }, { parent: 1, name: "d" });
    expect(nodes.linkOf(nodes.get(2)!)).toEqual({ parent: 1, name: "d" });
    nodes.removed(1, "d");
    expect(nodes.linkOf(nodes.get(2)!)).toEqual({ parent: 1, name: "c" });
    nodes.remember(1, "e", attrsOf(2, "file", { nlink: 2, version: 3 }));
    nodes.forget(2, 3);
    expect(nodes.get(2)).toBeUndefined();
    expect(nodes.childOf(1, "c")).toBeUndefined();
    expect(nodes.childOf(1, "e")).toBeUndefined();
    expect(nodes.namesIn(1)).toEqual([]);
  });

  test("attributes only move forward in commit version", () => {
    const nodes = new NodeTable(1, attrsOf(1, "dir"));
    const node = nodes.remember(1, "a", attrsOf(2, "file", { version: 5, sizeBytes: 50 }));
    nodes.update(node, attrsOf(2, "file", { version: 4, sizeBytes: 40 }));
    expect(node.attrs.sizeBytes).toBe(50);
  });
});

test("own commits are remembered for two generations of fuseOwnCommitsKept / 2, then forgotten", () => {
  const nodes = new NodeTable(1, attrsOf(1, "dir"));
  const half = LIMITS.fuseOwnCommitsKept / 2;
  nodes.ownCommit(attrsOf(100, "file", { version: 1 }));
  for (let i = 0; i < half - 1; i++) nodes.ownCommit(attrsOf(1000 + i, "file", { version: 2 }));
  // The first generation is full and kept whole while the next fills.
  expect(nodes.isOwnCommit(100, 1)).toBe(true);
  for (let i = 0; i < half; i++) nodes.ownCommit(attrsOf(5000 + i, "file", { version: 3 }));
  expect(nodes.isOwnCommit(100, 1)).toBe(false);
  expect(nodes.isOwnCommit(5000 + half - 1, 3)).toBe(true);
  expect(nodes.isOwnCommit(100, 2)).toBe(false);
});
