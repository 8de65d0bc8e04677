// Namespace workloads on an existing tree: stat/lookup storm, readdir of 1,000 and of a big
// directory (paged readdir-plus), rename storm. Each beside the bare bun:sqlite floor, the echo
// floor at the same depth, and AgentFS doing the same through its API.
import { join } from "node:path";
import { ROOT_INODE } from "../../src/types/index.ts";
import { SqliteFloor } from "../floors/sqlite-floor.ts";
import { runConcurrent, runSync } from "../lib/run.ts";
import { echoFloor, sqliteFloor } from "./floors.ts";
import { fillDir, fillPeerDir, mulberry32 } from "./tree.ts";
import { peerLabel, type Ctx, type Workload } from "./types.ts";

const STORM_DIRS = 10;
const STORM_FILES_PER_DIR = 1_000;
const STAT_IN_FLIGHT = 64;
const LOOKUP_IN_FLIGHT = 256;
const RENAME_IN_FLIGHT = 64;
const SMALL_DIR_ENTRIES = 1_000;
const PAGE_ENTRIES = 4_096;

const fileName = (i: number) => `file-${String(i).padStart(6, "0")}`;

function peerUnavailable(ctx: Ctx, phases: string[], unit: "ops/s" | "entries/s", reason: string): void {
  for (const phase of phases) ctx.record({ phase, system: "peer", name: "AgentFS (agentfs-sdk)", unit, rate: 0, p50Us: null, p99Us: null, count: 0, unavailable: reason });
}

async function statStorm(ctx: Ctx): Promise<void> {
  const ops = ctx.profile.stormOps;
  const root = await ctx.client.inode.mkdir(ROOT_INODE, "storm");
  const dirs: number[] = [];
  await ctx.prepare(`tree of ${STORM_DIRS} x ${STORM_FILES_PER_DIR} files`, async (onProgress) => {
    for (let d = 0; d < STORM_DIRS; d++) {
      const dir = await ctx.client.inode.mkdir(root.inode, `d${d}`);
      dirs.push(dir.inode);
      await fillDir(ctx.client, dir.inode, STORM_FILES_PER_DIR, fileName);
      onProgress(d + 1, STORM_DIRS);
    }
  });
  const rnd = mulberry32(1);
  const picks = Array.from({ length: ops }, () => Math.floor(rnd() * STORM_DIRS * STORM_FILES_PER_DIR));
  const path = (p: number) => `/storm/d${Math.floor(p / STORM_FILES_PER_DIR)}/${fileName(p % STORM_FILES_PER_DIR)}`;
  await ctx.measure({ phase: `stat by path, ${STAT_IN_FLIGHT} in flight`, system: "nokv", name: "NoKV", unit: "ops/s" }, (onProgress) =>
    runConcurrent(ops, STAT_IN_FLIGHT, (i) => ctx.client.stat(path(picks[i]!)), { onProgress }));
  await ctx.measure({ phase: `lookup by inode, ${LOOKUP_IN_FLIGHT} in flight`, system: "nokv", name: "NoKV", unit: "ops/s" }, (onProgress) =>
    runConcurrent(ops, LOOKUP_IN_FLIGHT, (i) => ctx.client.inode.lookup(dirs[Math.floor(picks[i]! / STORM_FILES_PER_DIR)]!, fileName(picks[i]! % STORM_FILES_PER_DIR)), { onProgress }));
  await ctx.measure({ phase: "stat by path, 1 in flight", system: "nokv", name: "NoKV", unit: "ops/s" }, (onProgress) =>
    runConcurrent(Math.min(ops, 5_000), 1, (i) => ctx.client.stat(path(picks[i]!)), { onProgress }));

  const floor = new SqliteFloor(join(ctx.scratchDir, "storm-floor.db"));
  try {
    floor.create(STORM_DIRS * STORM_FILES_PER_DIR);
    for (const phase of [`stat by path, ${STAT_IN_FLIGHT} in flight`, `lookup by inode, ${LOOKUP_IN_FLIGHT} in flight`, "stat by path, 1 in flight"]) {
      await sqliteFloor(ctx, phase, "dentry + inode read", ops, (i) => floor.stat(picks[i]!));
    }
  } finally {
    floor.close();
  }
  await echoFloor(ctx, `stat by path, ${STAT_IN_FLIGHT} in flight`, ops, STAT_IN_FLIGHT, { mount: 1, path: path(0) });
  await echoFloor(ctx, `lookup by inode, ${LOOKUP_IN_FLIGHT} in flight`, ops, LOOKUP_IN_FLIGHT, { mount: 1, parent: 12_345, name: fileName(0) });
  await echoFloor(ctx, "stat by path, 1 in flight", Math.min(ops, 5_000), 1, { mount: 1, path: path(0) });

  const peer = await ctx.openPeer("storm.db");
  if ("unavailable" in peer) return peerUnavailable(ctx, [`stat by path, ${STAT_IN_FLIGHT} in flight`, "stat by path, 1 in flight"], "ops/s", peer.unavailable);
  try {
    const perDir = Math.min(STORM_FILES_PER_DIR, Math.floor(ctx.profile.peerMaxFiles / STORM_DIRS));
    await ctx.prepare(`AgentFS tree of ${STORM_DIRS} x ${perDir} files`, async (onProgress) => {
      for (let d = 0; d < STORM_DIRS; d++) {
        await peer.fs.mkdir(`/d${d}`);
        await fillPeerDir(peer.fs, `/d${d}`, perDir, fileName);
        onProgress(d + 1, STORM_DIRS);
      }
    });
    const peerPath = (i: number) => `/d${picks[i]! % STORM_DIRS}/${fileName(Math.floor(picks[i]! / STORM_DIRS) % perDir)}`;
    const count = Math.min(ops, ctx.profile.peerMaxOps * 4);
    const note = perDir < STORM_FILES_PER_DIR ? `tree of ${STORM_DIRS} x ${perDir} files` : undefined;
    await ctx.measure({ phase: `stat by path, ${STAT_IN_FLIGHT} in flight`, system: "peer", name: peer.label, unit: "ops/s", ...(note ? { note } : {}) }, (onProgress) =>
      runConcurrent(count, STAT_IN_FLIGHT, (i) => peer.fs.stat(peerPath(i)), { onProgress }));
    await ctx.measure({ phase: "stat by path, 1 in flight", system: "peer", name: peer.label, unit: "ops/s" }, (onProgress) =>
      runConcurrent(Math.min(count, 5_000), 1, (i) => peer.fs.stat(peerPath(i)), { onProgress }));
  } finally {
    await peer.close();
  }
}

/** Pages through a whole directory with readdir-plus; returns the entries seen. */
async function listAll(ctx: Ctx, dir: number): Promise<number> {
  let seen = 0;
  let after: string | undefined;
  for (;;) {
    const page = await ctx.client.inode.readdirPlus(dir, after === undefined ? { limit: PAGE_ENTRIES } : { after, limit: PAGE_ENTRIES });
    seen += page.entries.length;
    if (page.nextAfter === null) return seen;
    after = page.nextAfter;
  }
}

async function readdirs(ctx: Ctx): Promise<void> {
  const big = ctx.profile.bigDirEntries;
  const small = await ctx.client.inode.mkdir(ROOT_INODE, "list-1k");
  const large = await ctx.client.inode.mkdir(ROOT_INODE, "list-big");
  await ctx.prepare(`directories of ${SMALL_DIR_ENTRIES.toLocaleString("en-US")} and ${big.toLocaleString("en-US")} files`, async (onProgress) => {
    await fillDir(ctx.client, small.inode, SMALL_DIR_ENTRIES, fileName);
    await fillDir(ctx.client, large.inode, big, fileName, onProgress);
  });
  const smallPhase = "readdir-plus of 1,000, 1 in flight";
  const bigPhase = `readdir-plus of ${big.toLocaleString("en-US")}, pages of ${PAGE_ENTRIES}`;
  const listings = ctx.profile.name === "smoke" ? 200 : 1_000;
  const bigListings = ctx.profile.name === "smoke" ? 2 : 5;
  await ctx.measure({ phase: smallPhase, system: "nokv", name: "NoKV", unit: "ops/s" }, (onProgress) =>
    runConcurrent(listings, 1, () => listAll(ctx, small.inode), { onProgress }));
  await ctx.measure({ phase: bigPhase, system: "nokv", name: "NoKV", unit: "entries/s", note: "p50/p99 per whole listing" }, (onProgress) =>
    runConcurrent(bigListings, 1, () => listAll(ctx, large.inode), { itemsPerCall: big, onProgress }));

  const floor = new SqliteFloor(join(ctx.scratchDir, "readdir-floor.db"));
  try {
    floor.create(big);
    const scanAll = (entries: number) => {
      let after = "";
      for (let left = entries; left > 0; left -= PAGE_ENTRIES) {
        const page = floor.scan(after, Math.min(PAGE_ENTRIES, left));
        if (page.length === 0) break;
        after = page[page.length - 1]!.name;
      }
    };
    await sqliteFloor(ctx, smallPhase, "join of 1,000 dentries with inodes", listings, () => scanAll(SMALL_DIR_ENTRIES));
    await ctx.measure({ phase: bigPhase, system: "store floor", name: `floor: bun:sqlite, paged join of ${big} dentries with inodes`, unit: "entries/s" }, () => runSync(bigListings, () => scanAll(big), big));
  } finally {
    floor.close();
  }

  const peer = await ctx.openPeer("readdir.db");
  if ("unavailable" in peer) return peerUnavailable(ctx, [smallPhase, bigPhase], "ops/s", peer.unavailable);
  try {
    const peerBig = Math.min(big, ctx.profile.peerMaxFiles);
    await ctx.prepare(`AgentFS directories of 1,000 and ${peerBig.toLocaleString("en-US")} files`, async (onProgress) => {
      await peer.fs.mkdir("/small");
      await peer.fs.mkdir("/big");
      await fillPeerDir(peer.fs, "/small", SMALL_DIR_ENTRIES, fileName);
      await fillPeerDir(peer.fs, "/big", peerBig, fileName, onProgress);
    });
    await ctx.measure({ phase: smallPhase, system: "peer", name: peer.label, unit: "ops/s" }, (onProgress) =>
      runConcurrent(Math.min(listings, 200), 1, () => peer.fs.readdirPlus("/small"), { onProgress }));
    const note = peerBig < big ? `directory of ${peerBig.toLocaleString("en-US")} entries (one call, no paging in its API)` : "one call, no paging in its API";
    await ctx.measure({ phase: bigPhase, system: "peer", name: peer.label, unit: "entries/s", note }, (onProgress) =>
      runConcurrent(bigListings, 1, () => peer.fs.readdirPlus("/big"), { itemsPerCall: peerBig, onProgress }));
  } finally {
    await peer.close();
  }
}

async function renameStorm(ctx: Ctx): Promise<void> {
  const ops = Math.min(ctx.profile.stormOps, 50_000);
  const phase = `rename in one directory, ${RENAME_IN_FLIGHT} in flight`;
  const dir = await ctx.client.inode.mkdir(ROOT_INODE, "renames");
  await ctx.prepare(`directory of ${ops.toLocaleString("en-US")} files`, (onProgress) => fillDir(ctx.client, dir.inode, ops, fileName, onProgress));
  await ctx.measure({ phase, system: "nokv", name: "NoKV", unit: "ops/s" }, (onProgress) =>
    runConcurrent(ops, RENAME_IN_FLIGHT, (i) => ctx.client.inode.rename({ parent: dir.inode, name: fileName(i), newParent: dir.inode, newName: `moved-${i}` }), { onProgress }));
  const floor = new SqliteFloor(join(ctx.scratchDir, "rename-floor.db"));
  try {
    floor.create(ops);
    await sqliteFloor(ctx, phase, "1 rename per tx", ops, () => floor.rename());
  } finally {
    floor.close();
  }
  await echoFloor(ctx, phase, ops, RENAME_IN_FLIGHT, { mount: 1, parent: 12_345, name: fileName(0), newParent: 12_345, newName: "moved-0" });
  const peer = await ctx.openPeer("rename.db");
  if ("unavailable" in peer) return peerUnavailable(ctx, [phase], "ops/s", peer.unavailable);
  try {
    const count = Math.min(ops, ctx.profile.peerMaxOps);
    await peer.fs.mkdir("/renames");
    await ctx.prepare(`AgentFS directory of ${count} files`, (onProgress) => fillPeerDir(peer.fs, "/renames", count, fileName, onProgress));
    // One at a time: its rename opens a transaction on the one connection, so two at once fail.
    await ctx.measure({ phase, system: "peer", name: peer.label, unit: "ops/s", note: "1 in flight: concurrent renames fail (nested transaction)" }, (onProgress) =>
      runConcurrent(count, 1, (i) => peer.fs.rename(`/renames/${fileName(i)}`, `/renames/moved-${i}`), { onProgress }));
  } finally {
    await peer.close();
  }
}

export const statStormWorkload: Workload = { name: "stat-storm", description: "stat by path and lookup by inode of random files in an existing tree", run: statStorm };
export const readdirWorkload: Workload = { name: "readdir", description: "readdir-plus of 1,000 entries and of a big directory (paged)", run: readdirs };
export const renameWorkload: Workload = { name: "rename-storm", description: "renames in one directory, many in flight", run: renameStorm };
