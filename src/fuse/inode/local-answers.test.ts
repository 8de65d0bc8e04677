import { expect, test } from "bun:test";
import { LocalAnswers } from "./local-answers.ts";

const DIR = 7;

function answers(): LocalAnswers {
  return new LocalAnswers(() => true);
}

test("a listing read in the background answers absent names once it arrives", () => {
  const local = answers();
  expect(local.knownAbsent(DIR, "x")).toBe(false);
  expect(local.startListing(DIR)).toBe(true);
  expect(local.startListing(DIR)).toBe(false); // one read at a time
  local.finishListing(DIR, ["a", "b"]);
  expect(local.knownAbsent(DIR, "x")).toBe(true);
  expect(local.knownAbsent(DIR, "a")).toBe(false);
  expect(local.startListing(DIR)).toBe(false); // known already
});

test("this mount's own changes during the read are replayed over what it read, in order", () => {
  const local = answers();
  local.startListing(DIR);
  local.added(DIR, "new");
  local.removed(DIR, "old");
  local.added(DIR, "back");
  local.removed(DIR, "back");
  local.finishListing(DIR, ["old", "keep"]);
  expect(local.knownAbsent(DIR, "new")).toBe(false);
  expect(local.knownAbsent(DIR, "keep")).toBe(false);
  expect(local.knownAbsent(DIR, "old")).toBe(true);
  expect(local.knownAbsent(DIR, "back")).toBe(true);
});

test("a change from elsewhere during the read discards it; so does a failed read", () => {
  const local = answers();
  local.startListing(DIR);
  local.invalidated({ kind: "entry", parent: DIR, name: "theirs" });
  local.finishListing(DIR, ["a"]);
  expect(local.knownAbsent(DIR, "theirs")).toBe(false);
  expect(local.startListing(DIR)).toBe(true);
  local.finishListing(DIR, null);
  expect(local.knownAbsent(DIR, "x")).toBe(false);
  expect(local.startListing(DIR)).toBe(true);
});

test("a directory too large to list is not read again for a while", () => {
  const local = answers();
  local.startListing(DIR);
  local.tooLargeToList(DIR);
  local.finishListing(DIR, null);
  expect(local.startListing(DIR)).toBe(false);
});

test("an unwatched directory's listing answers nothing", () => {
  let live = true;
  const local = new LocalAnswers(() => live);
  local.startListing(DIR);
  local.finishListing(DIR, []);
  live = false;
  expect(local.knownAbsent(DIR, "x")).toBe(false);
});
