import { describe, expect, test } from "bun:test";
import type { WatchEvent } from "../../types/index.ts";
import { invalidationsFor } from "./event-rules.ts";
import { NodeTable } from "./node-table.ts";
import { attrsOf } from "./testing.ts";

function event(e: Partial<WatchEvent> & Pick<WatchEvent, "kind" | "name" | "inode">): WatchEvent {
  return { scope: 1, version: 10, ordinal: 0, ...e };
}

function table(): NodeTable {
  const nodes = new NodeTable(1, attrsOf(1, "dir"));
  nodes.remember(1, "known", attrsOf(5, "file", { version: 8, generation: 3 }));
  return nodes;
}

describe("watch events to invalidations", () => {
  test("a create elsewhere drops a (maybe negative) entry and the directory's attributes and cached listing; our own echo does nothing", () => {
    const nodes = table();
    expect(invalidationsFor(event({ kind: "create", name: "new", inode: 9 }), nodes)).toEqual([
      { kind: "entry", parent: 1, name: "new" },
      { kind: "inode", nodeid: 1, offsetBytes: 0 },
    ]);
    expect(invalidationsFor(event({ kind: "create", name: "known", inode: 5 }), nodes)).toEqual([]);
  });

  test("the echo of our own create or publish of a file already gone again (a journal) does nothing; another client's at the same version does", () => {
    const nodes = table();
    nodes.ownCommit(attrsOf(9, "file", { version: 10 }));
    nodes.ownCommit(attrsOf(9, "file", { version: 11, generation: 2 }));
    expect(invalidationsFor(event({ kind: "create", name: "journal", inode: 9 }), nodes)).toEqual([]);
    expect(invalidationsFor(event({ kind: "publish", name: "journal", inode: 9, version: 11, generation: 2 }), nodes)).toEqual([]);
    // One command may create for several clients (merged creates): the inode tells ours apart.
    expect(invalidationsFor(event({ kind: "create", name: "theirs", inode: 12 }), nodes)).toContainEqual({ kind: "entry", parent: 1, name: "theirs" });
  });

  test("a remove of a name the kernel holds drops it; one it never saw needs nothing", () => {
    const nodes = table();
    expect(invalidationsFor(event({ kind: "remove", name: "other", inode: 9 }), nodes)).toEqual([]);
    const out = invalidationsFor(event({ kind: "remove", name: "known", inode: 5 }), nodes);
    expect(out).toContainEqual({ kind: "entry", parent: 1, name: "known" });
    expect(out).toContainEqual({ kind: "inode", nodeid: 5, offsetBytes: -1 });
    expect(nodes.childOf(1, "known")).toBeUndefined();
    // Seen twice (a second scope, a replay): nothing more.
    expect(invalidationsFor(event({ kind: "remove", name: "known", inode: 5 }), nodes)).toEqual([]);
  });

  test("the late echo of our own unlink leaves a new file we made under the same name alone", () => {
    const nodes = table();
    nodes.removed(1, "known");
    nodes.remember(1, "known", attrsOf(7, "file", { version: 12 }));
    expect(invalidationsFor(event({ kind: "remove", name: "known", inode: 5 }), nodes)).toEqual([]);
    expect(nodes.childOf(1, "known")).toBe(7);
    expect(nodes.linkOf(nodes.get(7)!)).toEqual({ parent: 1, name: "known" });
  });

  test("a rename moves the name in the table and drops both entries, once", () => {
    const nodes = table();
    nodes.remember(1, "d", attrsOf(6, "dir"));
    const e = event({ kind: "rename", name: "known", inode: 5, toScope: 6, toName: "moved" });
    const out = invalidationsFor(e, nodes);
    expect(out).toContainEqual({ kind: "entry", parent: 1, name: "known" });
    expect(out).toContainEqual({ kind: "entry", parent: 6, name: "moved" });
    expect(nodes.childOf(6, "moved")).toBe(5);
    expect(invalidationsFor({ ...e, scope: 6 }, nodes)).toEqual([]);
  });

  test("attribute changes newer than what we served drop the inode; older or equal ones do not", () => {
    const nodes = table();
    expect(invalidationsFor(event({ kind: "update_attr", name: "known", inode: 5, version: 8 }), nodes)).toEqual([]);
    expect(invalidationsFor(event({ kind: "update_attr", name: "known", inode: 5, version: 9 }), nodes)).toEqual([{ kind: "inode", nodeid: 5, offsetBytes: 0 }]);
    expect(invalidationsFor(event({ kind: "update_attr", name: "x", inode: 99 }), nodes)).toEqual([]);
  });

  test("a publish of a new generation drops cached pages; of the one we published, nothing", () => {
    const nodes = table();
    expect(invalidationsFor(event({ kind: "publish", name: "known", inode: 5, generation: 3 }), nodes)).toEqual([]);
    expect(invalidationsFor(event({ kind: "publish", name: "known", inode: 5, generation: 4 }), nodes)).toEqual([{ kind: "inode", nodeid: 5, offsetBytes: 0 }]);
    // Our own publish's event, arriving before its reply: the mount's pages are already right.
    nodes.get(5)!.publishingGeneration = 6;
    expect(invalidationsFor(event({ kind: "publish", name: "known", inode: 5, generation: 6 }), nodes)).toEqual([]);
    expect(invalidationsFor(event({ kind: "publish", name: "fresh", inode: 12, generation: 1 }), nodes)).toEqual([
      { kind: "entry", parent: 1, name: "fresh" },
      { kind: "inode", nodeid: 1, offsetBytes: 0 },
    ]);
  });
});
