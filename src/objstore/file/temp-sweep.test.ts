import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileObjectStore } from "./file-store.ts";

// Temp files of writes that never finished are found at any depth; only old ones are removed.

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "nokv-sweep-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("old .nokv-tmp files are swept, young ones and real objects stay; a dry run only reports", async () => {
  const store = await FileObjectStore.open({ dir });
  await store.put("blocks/1/2/3/0/0", new Uint8Array(10));
  mkdirSync(join(dir, "blocks", "1", "2", "4", "0"), { recursive: true });
  const old = join(dir, "blocks", "1", "2", "4", "0", ".nokv-tmp-aaaa");
  // Beside a put's target: its inode's directory (see layout.ts).
  const young = join(dir, "blocks", "1", "2", ".nokv-tmp-bbbb");
  writeFileSync(old, new Uint8Array(1000));
  writeFileSync(young, new Uint8Array(5));
  const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60_000);
  utimesSync(old, twoHoursAgo, twoHoursAgo);
  const dry = await store.sweepTempFiles({ minAgeMs: 0, dryRun: true });
  expect(dry.found.map((f) => f.path).sort()).toEqual(["blocks/1/2/.nokv-tmp-bbbb", "blocks/1/2/4/0/.nokv-tmp-aaaa"]);
  expect(dry.deleted).toBe(0);
  const swept = await store.sweepTempFiles({ minAgeMs: 60 * 60_000, dryRun: false });
  expect(swept).toMatchObject({ deleted: 1, bytesDeleted: 1000 });
  expect(existsSync(old)).toBe(false);
  expect(existsSync(young)).toBe(true);
  expect((await store.list("blocks/")).keys).toEqual(["blocks/1/2/3/0/0"]);
});
