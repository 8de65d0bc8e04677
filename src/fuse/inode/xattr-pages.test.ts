import { expect, test } from "bun:test";
import { LIMITS } from "../../types/index.ts";
import { LocalAnswers } from "./local-answers.ts";
import { NodeTable } from "./node-table.ts";
import { attrsOf } from "./testing.ts";
import type { NodeSource } from "./source.ts";
import { XattrPages } from "./xattr-pages.ts";

function setup() {
  const asked: number[][] = [];
  const source = { xattrNames: async (inodes: number[]) => (asked.push(inodes), inodes.map((i) => [i, i === 11 ? ["user.k"] : []] as [number, string[]])) } as unknown as NodeSource;
  const nodes = new NodeTable(1, attrsOf(1, "dir"));
  for (const n of [10, 11, 12, 13]) nodes.remember(1, `f${n}`, attrsOf(n));
  const local = new LocalAnswers(() => true, nodes);
  return { asked, local, pages: new XattrPages(source, local) };
}

test("the first question about a listed file fetches the names of every file taken from its page, once", async () => {
  const { asked, local, pages } = setup();
  const page = {};
  for (const n of [10, 11, 12]) pages.taken(page, n, n);
  expect(await pages.learn(12)).toBe(true);
  expect(asked).toEqual([[10, 11, 12]]);
  expect(local.xattrNames(11)).toEqual(["user.k"]);
  expect(local.xattrNames(10)).toEqual([]);
  // Taken after the fetch: a new group, fetched on its own question.
  pages.taken(page, 13, 13);
  expect(await pages.learn(13)).toBe(true);
  expect(asked).toEqual([[10, 11, 12], [13]]);
  expect(await pages.learn(99)).toBe(false);
});

test("only the last fuseXattrPagesKept pages are remembered", async () => {
  const { asked, pages } = setup();
  for (let i = 0; i <= LIMITS.fuseXattrPagesKept; i++) pages.taken({}, 1000 + i, 1000 + i);
  expect(await pages.learn(1000)).toBe(false);
  expect(await pages.learn(1000 + LIMITS.fuseXattrPagesKept)).toBe(true);
  expect(asked).toEqual([[1000 + LIMITS.fuseXattrPagesKept]]);
});
