import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DirentBuffer, Notifier, type RawFileSystem, type RequestContext } from "../../src/fuse/kernel/index.ts";
import { NOTIFY, SIZE } from "../../src/fuse/kernel/abi.ts";
import { createNoKVFs } from "../../src/fuse/inode/bridge.ts";
import { LiveSource } from "../../src/fuse/inode/live-source.ts";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { LIMITS } from "../../src/types/index.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { until } from "./bridge-harness.ts";
import { fuseSkipReason, run, startMount, type MountProcess } from "./fuse-harness.ts";

// Small files fetched ahead in listing order are stored into the kernel's page cache, so a
// program reading a cold directory file by file (tar, cp -r, grep -r) sends no READ, and no
// GETATTR after it, for the files stored before it opened them; a change made elsewhere still
// reaches the mount's readers.

const skip = fuseSkipReason();
if (skip) console.log(`skipping FUSE page-store tests: ${skip}`);

const FILES = LIMITS.fusePrefetchFilesAhead + 2;
const name = (i: number) => `f${String(i).padStart(2, "0")}`;
const contents = (i: number, round = 0) => new Uint8Array(3_000 + i * 101).map((_, k) => (k * 31 + i * 7 + round) % 251);

/** A file's bytes read through the mount by another process (metad runs in this one: a sync read here would wait on itself). */
async function readThrough(path: string): Promise<Uint8Array> {
  return new Uint8Array(Buffer.from((await run(`base64 -w0 ${path}`)).trim(), "base64"));
}

/** A count from the mount's NOKV_FUSE_STATS lines (printed when it stops). */
function statOf(output: string, pattern: RegExp): number {
  const match = pattern.exec(output);
  if (!match) throw new Error(`no ${pattern} in the mount's stats:\n${output}`);
  return Number(match[1]);
}

describe.skipIf(skip !== null)("fetched small files stored into the kernel's page cache", () => {
  let metad: MetadHarness;
  let client: NoKVClient;
  let mount: MountProcess;

  beforeAll(async () => {
    metad = await startMetad();
    client = await metad.client();
    await client.mkdir("/ahead");
    // Written through the SDK: the mount's kernel has none of these pages.
    for (let i = 0; i < FILES; i++) await client.writeFile(`/ahead/${name(i)}`, contents(i));
    mount = await startMount(metad, [], { env: { NOKV_FUSE_STATS: "1" } });
  });

  afterAll(async () => {
    await mount?.stop();
    await metad?.stop();
  });

  test("files read in listing order after the first send no READ, and read back whole", async () => {
    const dir = join(mount.mountpoint, "ahead");
    // The listing and the first file's read start the fetches ahead.
    await run(`ls ahead > /dev/null && cat ahead/${name(0)} > /dev/null`, { cwd: mount.mountpoint });
    await Bun.sleep(1_500);
    for (let i = 0; i < FILES; i++) expect(await readThrough(join(dir, name(i)))).toEqual(contents(i));

    // Another client rewrites a stored file: the mount's readers see the new bytes, not the stored ones.
    await client.writeFile(`/ahead/${name(3)}`, contents(3, 1));
    const deadline = Date.now() + 15_000;
    let seen = await readThrough(join(dir, name(3)));
    while (!Buffer.from(seen).equals(contents(3, 1)) && Date.now() < deadline) {
      await Bun.sleep(100);
      seen = await readThrough(join(dir, name(3)));
    }
    expect(seen).toEqual(contents(3, 1));

    await mount.stop();
    const output = mount.output();
    const stored = statOf(output, /stored in the kernel's page cache (\d+)/);
    const reads = statOf(output, /nokv-fs: READ\s+(\d+) requests/);
    console.log(`${FILES} cold files read through the mount: ${stored} stored ahead into the page cache, ${reads} READ requests`);
    expect(stored).toBeGreaterThanOrEqual(LIMITS.fusePrefetchFilesAhead);
    // The first file's READ and the rewritten file's; without the stores, one per file and more.
    expect(reads).toBeLessThanOrEqual(4);
  }, 60_000);
});

describe("which fetched files the inode layer stores (no kernel: the device is a capture)", () => {
  const ctx: RequestContext = { unique: 1n, nodeid: 1, uid: 0, gid: 0, pid: 1 };
  let metad: MetadHarness;

  beforeAll(async () => {
    metad = await startMetad();
  });

  afterAll(async () => {
    await metad?.stop();
  });

  test("a file open in the mount is not stored (a READ of it may wait on the mount's one thread); the others are", async () => {
    const client = await metad.client();
    await client.mkdir("/st");
    for (const n of ["a", "b", "c", "d"]) await client.writeFile(`/st/${n}`, `bytes of ${n}`);
    const nokv = await createNoKVFs(new LiveSource(await metad.client(), false));
    try {
      const fs = nokv.fs as Required<RawFileSystem>;
      fs.init({ major: 7, minor: 38, maxWriteBytes: 1 << 20, maxReadaheadBytes: 1 << 17, flags: 0 });
      const storedNodeids: number[] = [];
      nokv.attach(
        new Notifier(
          () => {},
          () => 38,
          (frame) => {
            const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
            if (v.getInt32(4, true) === NOTIFY.STORE) storedNodeids.push(Number(v.getBigUint64(SIZE.outHeader, true)));
            return 0;
          },
        ),
      );
      const dir = await fs.lookup(ctx, 1, "st");
      const { fh: dirFh } = await fs.opendir(ctx, dir.nodeid, 0);
      const sink = new DirentBuffer(true, 64 * 1024);
      const nodeids = new Map<string, number>();
      const add = sink.add.bind(sink);
      sink.add = (e) => (nodeids.set(e.name, e.entry?.nodeid ?? 0), add(e));
      await fs.readdir(ctx, dir.nodeid, dirFh, 0, sink);
      await fs.releasedir(ctx, dir.nodeid, dirFh);
      // a is opened and read from its start, which fetches b, c and d; c is opened at once, as by
      // a program that got to it before its fetch arrived.
      const a = await fs.open(ctx, nodeids.get("a")!, 0, false);
      const c = await fs.open(ctx, nodeids.get("c")!, 0, false);
      await fs.read(ctx, nodeids.get("a")!, a.fh, 0, 4096);
      await until(async () => nokv.state.prefetch.counts.fetched >= 3 && storedNodeids.length >= 2);
      await Bun.sleep(50);
      expect(storedNodeids.sort()).toEqual([nodeids.get("b")!, nodeids.get("d")!].sort());
      await fs.release(ctx, nodeids.get("a")!, a.fh);
      await fs.release(ctx, nodeids.get("c")!, c.fh);
    } finally {
      await nokv.close();
      await client.close();
    }
  });
});
