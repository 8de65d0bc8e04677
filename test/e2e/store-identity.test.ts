import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fsckDataDir } from "../../src/cli/fsck.ts";
import { Metad, StartupError } from "../../src/server/metad.ts";
import { DEFAULT_CONFIG } from "../../src/server/config.ts";
import { recordedStore } from "../../src/service/store-identity.ts";
import { runCli } from "../cli/cli-harness.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { objectFilePath } from "../../src/objstore/file/layout.ts";

// Each object store carries the id its database records. metad, fsck and clients refuse a store
// with another id (or blocks and no id), naming both; fsck never deletes a foreign store's objects.

setDefaultTimeout(60_000);

let a: MetadHarness;
let b: MetadHarness;
beforeAll(async () => {
  a = await startMetad();
  b = await startMetad();
  for (const h of [a, b]) {
    const c = await h.client();
    await c.writeFile("/f.bin", `bytes of ${h.dir}`);
  }
});
afterAll(async () => {
  await a.stop();
  await b.stop();
});

const objectsOf = (h: MetadHarness) => join(h.dir, "objects");
const dataOf = (h: MetadHarness) => join(h.dir, "data");
const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();

describe("store identity", () => {
  test("first start writes the id object and records it with the store's URL; hello hands it to clients", async () => {
    const id = readFileSync(join(objectsOf(a), "nokv-store-id"), "utf8").trim();
    expect(id).toBe(a.metad.storeId);
    expect(recordedStore(a.metad.service.store)).toEqual({ id, url: `file://${objectsOf(a)}` });
    expect(a.metad.storeId).not.toBe(b.metad.storeId);
    const c = await a.client();
    expect(await c.readFile("/f.bin", "utf8")).toBe(`bytes of ${a.dir}`);
  });

  test("metad refuses another database's store, and a store with blocks but no id, naming both", async () => {
    await a.metad.stop();
    const config = { ...DEFAULT_CONFIG, port: 0, dataDir: dataOf(a), gcIntervalMs: 0 };
    const err = await Metad.start({ ...config, objectsUrl: `file://${objectsOf(b)}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toContain(a.metad.storeId);
    expect((err as Error).message).toContain(b.metad.storeId);
    const anonymous = join(a.dir, "anonymous");
    cpSync(objectsOf(b), anonymous, { recursive: true });
    rmSync(join(anonymous, "nokv-store-id"));
    const err2 = await Metad.start({ ...config, objectsUrl: `file://${anonymous}` }).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain("carries no store id");
    expect((err2 as Error).message).toContain(a.metad.storeId);
    await a.restart();
  });

  test("fsck uses the recorded store, and refuses a foreign one even with --repair, deleting nothing", async () => {
    await b.metad.stop();
    // Run from another directory: the store comes from the database, not ./.nokv/objects.
    const clean = await runCli(["fsck", "--data", dataOf(b)], { cwd: a.dir });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain("the recorded object store");
    const before = filesUnder(objectsOf(a));
    const foreign = await runCli(["fsck", "--data", dataOf(b), "--objects", `file://${objectsOf(a)}`, "--repair"]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain(a.metad.storeId);
    expect(foreign.stderr).toContain(b.metad.storeId);
    expect(filesUnder(objectsOf(a))).toEqual(before);
    await expect(fsckDataDir({ dataDir: dataOf(b), objectsUrl: `file://${objectsOf(a)}`, repair: true })).rejects.toMatchObject({ code: "EXDEV" });
    await b.restart();
  });
});

describe("leftovers", () => {
  test("fsck reports temp files and expired prepares and repair removes them; GC removes old temp files too", async () => {
    const c = await b.client();
    // An abandoned upload: a prepare that expires, with a block put under it and temp files of killed writes.
    const { keyPrefix } = b.metad.service.publisher.prepare({ mount: c.mount.id, parent: 1, name: "abandoned", expiryMs: 1 });
    await b.metad.objects.put(`${keyPrefix}/0/0`, new Uint8Array(100));
    const blockDir = dirname(objectFilePath(objectsOf(b), `${keyPrefix}/0/0`));
    const longAgo = new Date(Date.now() - 3 * 60 * 60_000);
    const temp = (name: string, old: boolean) => {
      const path = join(blockDir, `.nokv-tmp-${name}`);
      writeFileSync(path, new Uint8Array(4096));
      if (old) utimesSync(path, longAgo, longAgo);
      return path;
    };
    const oldTemp = temp("0123456789abcdef", true);
    const youngTemp = temp("fedcba9876543210", false);
    await Bun.sleep(5);
    await b.metad.stop();
    const report = await fsckDataDir({ dataDir: dataOf(b) });
    expect(report.ok).toBe(true);
    expect(report.leftovers.tempFiles.map((t) => join(objectsOf(b), t.path)).sort()).toEqual([oldTemp, youngTemp].sort());
    expect(report.leftovers.expiredPrepares).toMatchObject([{ keyPrefix, blocks: 1 }]);
    const cli = await runCli(["fsck", "--data", dataOf(b)]);
    expect(cli.stdout).toContain("leftover temp file");
    expect(cli.stdout).toContain("leftover expired prepare");
    const repaired = await fsckDataDir({ dataDir: dataOf(b), repair: true });
    expect(repaired.repaired).toMatchObject({ tempFilesDeleted: 1, expiredBlocksDeleted: 1 });
    expect(existsSync(oldTemp)).toBe(false);
    // A young temp file may be a write in progress: left alone.
    expect(existsSync(youngTemp)).toBe(true);
    await b.restart();
    const again = temp("00000000000000aa", true);
    const gc = (await (await b.client()).gc()) as { tempFilesDeleted: number; stagedExpired: number };
    expect(gc).toMatchObject({ tempFilesDeleted: 1, stagedExpired: 1 });
    expect(existsSync(again)).toBe(false);
    expect(existsSync(youngTemp)).toBe(true);
  });
});
