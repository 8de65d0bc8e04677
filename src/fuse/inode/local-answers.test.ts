import { expect, test } from "bun:test";
import { LocalAnswers } from "./local-answers.ts";

const DIR = 7;
const FILE = 9;

test("a file's attributes answer locally while fresh and its directory is watched", () => {
  let live = true;
  const local = new LocalAnswers(() => live);
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
  const local = new LocalAnswers(() => true);
  local.fileFresh(FILE);
  local.fileStale(FILE);
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
  local.fileFresh(FILE);
  local.invalidated({ kind: "inode", nodeid: FILE, offsetBytes: 0 });
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
  local.fileFresh(FILE);
  local.dropped(FILE);
  expect(local.fileAttrsCurrent(FILE, DIR)).toBe(false);
});

test("absent names answer locally only in a known listing of a watched directory", () => {
  let live = true;
  const local = new LocalAnswers(() => live);
  expect(local.knownAbsent(DIR, "x")).toBe(false);
  local.listed(DIR, ["a"]);
  expect(local.knownAbsent(DIR, "x")).toBe(true);
  expect(local.knownAbsent(DIR, "a")).toBe(false);
  local.added(DIR, "x");
  expect(local.knownAbsent(DIR, "x")).toBe(false);
  live = false;
  expect(local.knownAbsent(DIR, "y")).toBe(false);
  live = true;
  local.invalidated({ kind: "entry", parent: DIR, name: "theirs" });
  expect(local.knownAbsent(DIR, "y")).toBe(false);
});
