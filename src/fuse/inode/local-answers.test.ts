import { expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import { LocalAnswers } from "./local-answers.ts";
import { NodeTable } from "./node-table.ts";
import { attrsOf } from "./testing.ts";

const DIR = 7;
const FILE = 9;

/** A node table that holds FILE (named "f" in DIR): what is known of an inode lives on its node. */
function tableWithFile(): NodeTable {
  const nodes = new NodeTable(1, attrsOf(1, "dir"));
  nodes.remember(1, "d", attrsOf(DIR, "dir"));
  nodes.remember(DIR, "f", attrsOf(FILE));
  return nodes;
}

test("a file's attributes answer locally while fresh and its directory is watched", () => {
  let live = true;
  const local = new LocalAnswers(() => live, tableWithFile());
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
  local.fileFresh(FILE);
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(true);
  expect(local.counts.fileGetattrs).toBe(1);
  live = false; // the watch went away: changes could slip by, so the answer is dropped
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
  live = true;
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
});

test("our own change, an event and a dropped node each end a file's local answer", () => {
  const local = new LocalAnswers(() => true, tableWithFile());
  local.fileFresh(FILE);
  local.fileStale(FILE);
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
  local.fileFresh(FILE);
  local.invalidated({ kind: "inode", nodeid: FILE, offsetBytes: 0 });
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
});

test("what is known of an inode goes with its node: looked up again, nothing is known", () => {
  const nodes = tableWithFile();
  const local = new LocalAnswers(() => true, nodes);
  local.fileFresh(FILE);
  local.setXattrNames(FILE, []);
  expect(local.xattrAbsent(FILE, "security.capability")).toBe(true);
  nodes.forget(FILE, 1);
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
  local.setXattrNames(FILE, []); // an answer that arrives after the node went is not kept
  nodes.remember(DIR, "f", attrsOf(FILE));
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
  expect(local.xattrNames(FILE)).toBeUndefined();
  expect(local.xattrAbsent(FILE, "security.capability")).toBe(false);
});

test("absent names answer locally only in a known listing of a watched directory", () => {
  let live = true;
  const local = new LocalAnswers(() => live, tableWithFile());
  expect(local.knownAbsent(DIR, "x")).toBe(false);
  local.listed(DIR, ["a"]);
  expect(local.knownAbsent(DIR, "x")).toBe(true);
  expect(local.knownAbsent(DIR, "a")).toBe(false);
  // A name past NAME_MAX is not absent but invalid: metad answers (ENAMETOOLONG; pjdfstest chmod/02.t).
  expect(local.knownAbsent(DIR, "n".repeat(LIMITS.nameMaxBytes))).toBe(true);
  expect(local.knownAbsent(DIR, "n".repeat(LIMITS.nameMaxBytes + 1))).toBe(false);
  local.added(DIR, "x");
  expect(local.knownAbsent(DIR, "x")).toBe(false);
  // A listing does not expire: it is as current as the watch, however long a run of creates takes.
  const realNow = performance.now.bind(performance);
  const later = realNow() + 10 * LIMITS.fuseLiveCacheTimeoutMs;
  performance.now = () => later;
  try {
    expect(local.knownAbsent(DIR, "y")).toBe(true);
  } finally {
    performance.now = realNow;
  }
  // Any change from elsewhere forgets it.
  local.invalidated({ kind: "entry", parent: DIR, name: "theirs" });
  expect(local.knownAbsent(DIR, "y")).toBe(false);
  // So does a moment unwatched, even once the watch is back.
  local.listed(DIR, []);
  live = false;
  expect(local.knownAbsent(DIR, "y")).toBe(false);
  live = true;
  expect(local.knownAbsent(DIR, "y")).toBe(false);
});

test("a name this mount removed from a watched directory it never listed is absent until an event, a new entry or the watch ends it", () => {
  let live = true;
  const local = new LocalAnswers(() => live, tableWithFile());
  local.removed(DIR, "db-journal");
  expect(local.knownAbsent(DIR, "db-journal")).toBe(true);
  expect(local.knownAbsent(DIR, "other")).toBe(false); // never seen: metad answers
  // Our own create of it again.
  local.added(DIR, "db-journal");
  expect(local.knownAbsent(DIR, "db-journal")).toBe(false);
  // Another client made it: its create event.
  local.removed(DIR, "db-journal");
  local.invalidated({ kind: "entry", parent: DIR, name: "db-journal" });
  expect(local.knownAbsent(DIR, "db-journal")).toBe(false);
  // Any change from elsewhere in the directory (or a lost watch) forgets every such name.
  local.removed(DIR, "a");
  local.removed(DIR, "b");
  local.invalidated({ kind: "inode", nodeid: DIR, offsetBytes: 0 });
  expect(local.knownAbsent(DIR, "a") || local.knownAbsent(DIR, "b")).toBe(false);
  // Watch gone: nothing is answered, and nothing is recorded while unwatched.
  local.removed(DIR, "c");
  live = false;
  expect(local.knownAbsent(DIR, "c")).toBe(false);
  local.removed(DIR, "d");
  live = true;
  expect(local.knownAbsent(DIR, "d")).toBe(false);
  local.removed(DIR, "e");
  local.dropped(DIR);
  expect(local.knownAbsent(DIR, "e")).toBe(false);
});

test("names removed are kept up to their limit and their expiry", () => {
  const local = new LocalAnswers(() => true, tableWithFile());
  for (let i = 0; i < LIMITS.fuseRemovedNamesMax; i++) local.removed(DIR, `f${i}`);
  expect(local.knownAbsent(DIR, "f0")).toBe(true);
  local.removed(DIR, "one-more"); // past the budget: the old ones go
  expect(local.knownAbsent(DIR, "one-more")).toBe(true);
  expect(local.knownAbsent(DIR, "f1")).toBe(false);
  const realNow = performance.now.bind(performance);
  const later = realNow() + LIMITS.fuseLiveCacheTimeoutMs + 1;
  performance.now = () => later;
  try {
    expect(local.knownAbsent(DIR, "one-more")).toBe(false);
  } finally {
    performance.now = realNow;
  }
});
