import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NoKVClient } from "../../src/sdk/index.ts";
import { openObjectStore } from "../../src/objstore/index.ts";
import { fsckDataDir } from "../../src/cli/fsck.ts";
import { startMetad } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";
import { freePort, spawnMetad, type MetadChild } from "./metad-child.ts";

// SIGKILL metad again and again under a write storm from several clients, restart it on the same
// data and port, and hold it to what it acknowledged: every acked write is there, nothing is half
// applied, and writes retried across a restart were applied exactly once.

const KILLS = Number(process.env.NOKV_CRASH_KILLS ?? 20);
const WORKERS = 4;
const BLOCK_BYTES = 16 * 1024;

const root = mkdtempSync(join(tmpdir(), "nokv-crash-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

interface Model {
  files: Map<string, string>;
  dirs: Set<string>;
}

interface Tally {
  acked: number;
  failed: string[];
  /** Ops still waiting for their reply when a kill happened: each was retried on a new connection. */
  inFlightAtKill: number;
}

/** One client's writes under its own directory; the model follows only acknowledged ops. */
async function worker(c: NoKVClient, id: number, model: Model, tally: Tally, running: () => boolean, inFlight: Set<string>): Promise<void> {
  const base = `/w${id}`;
  await c.mkdir(base);
  model.dirs.add(base);
  let seq = 0;
  while (running()) {
    seq++;
    const files = [...model.files.keys()];
    const pick = files[Math.floor(Math.random() * files.length)];
    const roll = Math.random();
    const label = `w${id}#${seq}`;
    inFlight.add(label);
    try {
      if (roll < 0.15 || !pick) {
        const path = `${base}/e${seq}`;
        await c.createFile(path);
        model.files.set(path, sha(""));
      } else if (roll < 0.5) {
        const path = roll < 0.3 ? `${base}/p${seq}` : pick;
        const bytes = crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 5 * BLOCK_BYTES)));
        await c.writeFile(path, bytes, { blockSizeBytes: BLOCK_BYTES });
        model.files.set(path, sha(bytes));
      } else if (roll < 0.7) {
        const dirs = [...model.dirs];
        const to = `${dirs[seq % dirs.length]}/r${seq}`;
        await c.rename(pick, to);
        model.files.set(to, model.files.get(pick)!);
        model.files.delete(pick);
      } else if (roll < 0.85) {
        await c.unlink(pick);
        model.files.delete(pick);
      } else {
        const path = `${base}/d${seq}`;
        await c.mkdir(path);
        model.dirs.add(path);
      }
      tally.acked++;
    } catch (err) {
      tally.failed.push(`${label}: ${(err as Error).message}`);
      return;
    } finally {
      inFlight.delete(label);
    }
  }
}

async function listTree(c: NoKVClient, dir: string, files: Map<string, string>, dirs: Set<string>): Promise<void> {
  dirs.add(dir);
  for (const entry of await c.readdir(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) await listTree(c, path, files, dirs);
    else files.set(path, sha(await c.readFile(path)));
  }
}

test(`${KILLS} SIGKILLs under a write storm lose nothing acknowledged and apply nothing twice`, async () => {
  const port = await freePort();
  const args = ["--listen", `127.0.0.1:${port}`, "--data", join(root, "data"), "--objects", `file://${join(root, "objects")}`];
  let metad: MetadChild = await spawnMetad(args);
  const url = `nokv://127.0.0.1:${port}`;
  const clients = await Promise.all(Array.from({ length: WORKERS }, () => connect(url, { requestTimeoutMs: 20_000 })));
  const models: Model[] = clients.map(() => ({ files: new Map(), dirs: new Set() }));
  const tally: Tally = { acked: 0, failed: [], inFlightAtKill: 0 };
  const inFlight = new Set<string>();
  let running = true;
  const started = Date.now();
  const workers = clients.map((c, i) => worker(c, i, models[i]!, tally, () => running, inFlight));
  let kills = 0;
  for (; kills < KILLS && tally.failed.length === 0; kills++) {
    await Bun.sleep(100 + Math.random() * 400);
    tally.inFlightAtKill += inFlight.size;
    metad.proc.kill("SIGKILL");
    await metad.proc.exited;
    metad = await spawnMetad(args);
  }
  await Bun.sleep(300);
  running = false;
  await Promise.all(workers);
  const elapsedMs = Date.now() - started;
  expect(tally.failed).toEqual([]);

  const checker = await connect(url);
  for (let i = 0; i < WORKERS; i++) {
    const files = new Map<string, string>();
    const dirs = new Set<string>();
    await listTree(checker, `/w${i}`, files, dirs);
    // Renames may move a file into another directory of the same worker only, so trees are disjoint.
    expect(dirs).toEqual(models[i]!.dirs);
    expect(files).toEqual(models[i]!.files);
  }
  await checker.close();
  for (const c of clients) await c.close();
  metad.proc.kill("SIGTERM");
  expect(await metad.proc.exited).toBe(0);
  const report = await fsckDataDir({ dataDir: join(root, "data"), objectsUrl: `file://${join(root, "objects")}` });
  expect(report.violations).toEqual([]);
  console.log(
    `crash: ${kills} kills in ${elapsedMs} ms, ${tally.acked} ops acknowledged, ${tally.inFlightAtKill} in flight at a kill (retried), ` +
      `${models.reduce((n, m) => n + m.files.size, 0)} files verified by sha256, fsck: ${report.violations.length} findings (${report.counts.inodes} inodes)`,
  );
  expect(kills).toBe(KILLS);
  expect(tally.inFlightAtKill).toBeGreaterThan(0);
}, 120_000);

test("a client SIGKILLed mid-publish leaves nothing visible, and GC collects its staged blocks after the expiry", async () => {
  const h = await startMetad();
  try {
    const c = await h.client();
    await c.mkdir("/mid");
    const script = `
      import { connect } from ${JSON.stringify(join(import.meta.dir, "..", "..", "src", "sdk", "index.ts"))};
      const c = await connect(${JSON.stringify(h.url)});
      async function* slow() {
        for (let i = 0; ; i++) {
          yield new Uint8Array(${BLOCK_BYTES}).fill(i % 256);
          if (i === 8) console.log("uploading");
          if (i >= 8) await Bun.sleep(50);
        }
      }
      await c.publish("/mid/big.bin", slow(), { blockSizeBytes: ${BLOCK_BYTES}, expiryMs: 1500 });
    `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("uploading")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`publisher exited early: ${await new Response(child.stderr).text()}`);
      text += new TextDecoder().decode(value);
    }
    await Bun.sleep(150);
    child.kill("SIGKILL");
    await child.exited;
    const objects = await openObjectStore(`file://${join(h.dir, "objects")}`);
    const staged = (await objects.list("blocks/")).keys;
    expect(staged.length).toBeGreaterThan(4);
    // Nothing half-visible: no name, an empty directory.
    await expect(c.stat("/mid/big.bin")).rejects.toMatchObject({ code: "ENOENT" });
    expect(await c.readdir("/mid")).toEqual([]);
    // Before the expiry GC keeps the staged blocks (the writer might still publish).
    await c.gc();
    expect((await objects.list("blocks/")).keys.length).toBe(staged.length);
    await Bun.sleep(1600);
    const report = (await c.gc()) as { stagedExpired: number; stagedObjectsDeleted: number };
    expect(report.stagedExpired).toBe(1);
    expect(report.stagedObjectsDeleted).toBe(staged.length);
    expect((await objects.list("blocks/")).keys).toEqual([]);
    await objects.close();
    await c.close();
    await h.metad.stop();
    const fsckReport = await fsckDataDir({ dataDir: join(h.dir, "data"), objectsUrl: `file://${join(h.dir, "objects")}` });
    expect(fsckReport.violations).toEqual([]);
    console.log(`mid-publish kill: ${staged.length} staged blocks left by the killed writer, all collected after the expiry`);
  } finally {
    rmSync(h.dir, { recursive: true, force: true });
  }
}, 30_000);

// Found by the storm above: a plain mkdir retried after a lost reply was applied again (EEXIST).
test("a plain mkdir_path repeated with the same request key is answered with the first result", async () => {
  const h = await startMetad();
  const raw = await RawConnection.open(h.port);
  try {
    raw.request(1, "mkdir_path", { mount: 1, path: "/once" }, "mkdir-key-1");
    expect(((await raw.next())!.value as { ok: boolean }).ok).toBe(true);
    raw.request(2, "mkdir_path", { mount: 1, path: "/once" }, "mkdir-key-1");
    expect(((await raw.next())!.value as { ok: boolean }).ok).toBe(true);
  } finally {
    raw.close();
    await h.stop();
  }
});
