import { afterEach, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { fstatSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpenEntries } from "./open-entries.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(bytes: Uint8Array): string {
  const d = mkdtempSync(join(tmpdir(), "nokv-open-entries-"));
  dirs.push(d);
  const path = join(d, "entry");
  writeFileSync(path, bytes);
  return path;
}

test("reads in place and through the thread pool return the same bytes; short files read null", async () => {
  const bytes = new Uint8Array(randomBytes(100_000));
  const path = file(bytes);
  const open = new OpenEntries();
  const entry = open.get(path, Date.now())!;
  expect(await open.read(entry, 1000, 5000)).toEqual(bytes.subarray(1000, 6000));
  open.threadedReadsUntil(performance.now() + 60_000);
  expect(await open.read(entry, 90_000, 10_000)).toEqual(bytes.subarray(90_000, 100_000));
  expect(await open.read(entry, 95_000, 10_000)).toBeNull();
  expect(open.get(join(path, "..", "missing"), Date.now())).toBeNull();
  open.closeAll();
});

test("an entry dropped while threaded reads are in flight closes after the last one", async () => {
  const bytes = new Uint8Array(randomBytes(64_000));
  const path = file(bytes);
  const open = new OpenEntries();
  open.threadedReadsUntil(performance.now() + 60_000);
  const entry = open.get(path, Date.now())!;
  const reads = Array.from({ length: 20 }, (_, i) => open.read(entry, i * 1000, 1000));
  open.drop(path);
  expect(() => fstatSync(entry.fd)).not.toThrow();
  const got = await Promise.all(reads);
  got.forEach((r, i) => expect(r).toEqual(bytes.subarray(i * 1000, i * 1000 + 1000)));
  expect(() => fstatSync(entry.fd)).toThrow();
});
