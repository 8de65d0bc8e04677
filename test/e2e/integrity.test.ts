import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openObjectStore, type ByteRange, type ObjectStore } from "../../src/objstore/index.ts";
import { fsckDataDir } from "../../src/cli/fsck.ts";
import { FsError, type NoKVClient } from "../../src/sdk/index.ts";
import { runCli } from "../cli/cli-harness.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { objectFilePath } from "../../src/objstore/file/layout.ts";

// Blocks altered behind the system's back: a flipped byte, a truncated, replaced or missing
// block. Every read path returns EIO naming the object (after one re-read), never the bad bytes,
// and fsck --verify-data names each bad block.

setDefaultTimeout(60_000);

const BLOCK = 256 * 1024;
const SEGMENT = 64 * 1024;
let h: MetadHarness;
let c: NoKVClient;
beforeAll(async () => {
  h = await startMetad();
  c = await h.client({ cacheBytes: 0 });
});
afterAll(() => h.stop());

function objectPath(key: string): string {
  return objectFilePath(join(h.dir, "objects"), key);
}

/** The object keys holding a file's blocks, in order. */
async function blockKeys(path: string): Promise<string[]> {
  const st = await c.stat(path);
  const plan = h.metad.service.publisher.readPlan({ mount: c.mount.id, inode: st.ino, offsetBytes: 0, lengthBytes: st.size });
  return plan.ranges.map((r) => r.key);
}

function flipByte(key: string, offsetBytes: number): void {
  const bytes = readFileSync(objectPath(key));
  bytes[offsetBytes]! ^= 0x5a;
  writeFileSync(objectPath(key), bytes);
}

/** The rejection of `p`: it must be an EIO whose message names `key`. */
async function expectEio(p: Promise<unknown>, key: string): Promise<FsError> {
  const err = (await p.then(() => null, (e: unknown) => e)) as FsError | null;
  expect(err).toBeInstanceOf(Error);
  expect(err!.code).toBe("EIO");
  expect(err!.message).toContain(key);
  return err!;
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

describe("a flipped byte", () => {
  const data = randomBytes(4 * BLOCK);
  let key: string;
  const at = BLOCK + SEGMENT + 100; // block 1, segment 1

  beforeAll(async () => {
    await c.writeFile("/flip.bin", data, { blockSizeBytes: BLOCK });
    await c.writeFile("/good.bin", "fine", { blockSizeBytes: BLOCK });
    key = (await blockKeys("/flip.bin"))[1]!;
    expect(await c.readFile("/flip.bin")).toEqual(data);
    flipByte(key, SEGMENT + 100);
  });

  test("readFile, streams, handles, inode reads and batched reads are EIO naming the object; each failure re-read once and counted", async () => {
    const before = c.integrityStats();
    await expectEio(c.readFile("/flip.bin"), key);
    const after = c.integrityStats();
    expect(after.checksumMismatches - before.checksumMismatches).toBe(2);
    expect(after.checksumFailures - before.checksumFailures).toBe(1);
    await expectEio(drain(c.createReadStream("/flip.bin")), key);
    await expectEio(drain(c.createReadStream("/flip.bin", { start: at - 10, end: at + 10 })), key);
    const handle = await c.open("/flip.bin");
    // A ranged read inside the bad segment fails; others, in the same block too, verify and pass.
    await expectEio(handle.read(Buffer.alloc(16 * 1024), 0, 16 * 1024, at - 8 * 1024), key);
    const good = Buffer.alloc(16 * 1024);
    await handle.read(good, 0, good.byteLength, BLOCK + 2 * SEGMENT);
    expect(good).toEqual(data.subarray(BLOCK + 2 * SEGMENT, BLOCK + 2 * SEGMENT + good.byteLength));
    await handle.close();
    const st = await c.stat("/flip.bin");
    await expectEio(c.inode.read(st.ino, { offsetBytes: at, lengthBytes: 1 }), key);
    // Many reads issued at once travel as one batch of plans; only the bad one fails.
    const results = await Promise.allSettled([...Array.from({ length: 16 }, () => c.readFile("/good.bin", "utf8")), c.readFile("/flip.bin")]);
    expect(results.slice(0, 16).every((r) => r.status === "fulfilled" && r.value === "fine")).toBe(true);
    const last = results[16]!;
    expect(last.status === "rejected" && (last.reason as FsError).code === "EIO" && (last.reason as FsError).message.includes(key)).toBe(true);
  });

  test("snapshot views verify too, and a cached read never serves unverified bytes", async () => {
    const snap = await c.snapshot("/");
    await expectEio(snap.readFile("/flip.bin"), key);
    const cached = await h.client();
    await expectEio(cached.readFile("/flip.bin"), key);
    await expectEio(cached.readFile("/flip.bin"), key);
    expect(cached.integrityStats().checksumFailures).toBe(2);
  });

  test("nokv-fs cat and get exit 1 naming the object, and get leaves no partial file", async () => {
    const cat = await runCli(["cat", "/flip.bin", "--server", h.url]);
    expect(cat.code).toBe(1);
    expect(cat.stderr).toContain(key);
    expect(cat.stderr).toContain("EIO");
    const out = mkdtempSync(join(tmpdir(), "nokv-get-"));
    try {
      const get = await runCli(["get", "/flip.bin", join(out, "flip.bin"), "--server", h.url]);
      expect(get.code).toBe(1);
      expect(get.stderr).toContain(key);
      expect(existsSync(join(out, "flip.bin"))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("a torn read (bad bytes once, good on the re-read) is not corruption", async () => {
    await c.writeFile("/torn.bin", randomBytes(BLOCK), { blockSizeBytes: BLOCK });
    const inner = await openObjectStore(h.metad.objects.url);
    let tears = 1;
    const tearing: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
      async get(k: string, range?: ByteRange) {
        const bytes = await inner.get(k, range);
        if (k.startsWith("blocks/") && tears-- > 0) bytes[0]! ^= 1;
        return bytes;
      },
    });
    const reader = await h.client({ objectStore: tearing, cacheBytes: 0 });
    expect((await reader.readFile("/torn.bin")).byteLength).toBe(BLOCK);
    expect(reader.integrityStats()).toMatchObject({ checksumMismatches: 1, checksumRereadsRecovered: 1, checksumFailures: 0 });
    await reader.close();
    await inner.close();
  });
});

describe("missing, truncated and replaced blocks", () => {
  test("each reads as EIO naming the object", async () => {
    for (const name of ["missing", "truncated", "replaced", "longer"]) await c.writeFile(`/${name}.bin`, randomBytes(2 * BLOCK), { blockSizeBytes: BLOCK });
    const missing = (await blockKeys("/missing.bin"))[0]!;
    rmSync(objectPath(missing));
    const err = await expectEio(c.readFile("/missing.bin"), missing);
    expect(err.message).toContain("missing");
    const truncated = (await blockKeys("/truncated.bin"))[1]!;
    truncateSync(objectPath(truncated), BLOCK / 2 + 10);
    expect((await expectEio(c.readFile("/truncated.bin"), truncated)).message).toContain("truncated");
    const replaced = (await blockKeys("/replaced.bin"))[0]!;
    writeFileSync(objectPath(replaced), randomBytes(BLOCK));
    expect((await expectEio(c.readFile("/replaced.bin"), replaced)).message).toContain("CRC-32");
    const longer = (await blockKeys("/longer.bin"))[0]!;
    writeFileSync(objectPath(longer), Buffer.concat([readFileSync(objectPath(longer)), Buffer.from("tail")]));
  });
});

describe("fsck --verify-data", () => {
  test("reads every block, reports each bad one by key, with progress; plain fsck sees the size changes", async () => {
    const keyOf = async (path: string, i: number) => (await blockKeys(path))[i]!;
    const expected = {
      "block-corrupt": [await keyOf("/flip.bin", 1), await keyOf("/replaced.bin", 0)],
      "block-missing": [await keyOf("/missing.bin", 0)],
      "block-short": [await keyOf("/truncated.bin", 1)],
      "block-replaced": [await keyOf("/longer.bin", 0)],
    };
    await h.metad.stop();
    const dataDir = join(h.dir, "data");
    const progress: number[] = [];
    const report = await fsckDataDir({ dataDir, verifyData: true, onProgress: (p) => progress.push(p.blocksVerified) });
    const found: Record<string, string[]> = {};
    for (const v of report.violations) (found[v.kind] ??= []).push(String(v.keys.objectKey));
    for (const list of Object.values(found)) list.sort();
    expect(found).toEqual(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, v.sort()])));
    expect(report.counts.blocksVerified).toBe(report.counts.blocksReferenced);
    expect(progress.at(-1)).toBe(report.counts.blocksReferenced);
    // Without --verify-data, only what sizes show: the flipped and same-size replaced blocks pass.
    const plain = await fsckDataDir({ dataDir });
    expect(plain.violations.map((v) => v.kind).sort()).toEqual(["block-missing", "block-replaced", "block-short"]);
    const cli = await runCli(["fsck", "--data", dataDir, "--verify-data"]);
    expect(cli.code).toBe(1);
    for (const key of Object.values(expected).flat()) expect(cli.stdout).toContain(key);
    expect(cli.stderr).toMatch(/verify-data: \d+\/\d+ blocks/);
    await h.restart();
  });
});
