// Store footprint: bytes of SQLite per file. A metad of its own (so nothing else is counted)
// gets the profile's files, in directories of 1,000, then stops (closing SQLite checkpoints the
// WAL) and meta.db plus any WAL left is measured. Beside it: the bare bun:sqlite floor writing
// the same rows, and AgentFS holding the same empty files.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/sdk/index.ts";
import { ROOT_INODE } from "../../src/types/index.ts";
import { SqliteFloor } from "../floors/sqlite-floor.ts";
import { spawnMetad } from "../lib/run.ts";
import { fillDir, fillPeerDir } from "./tree.ts";
import type { Ctx, Workload } from "./types.ts";

const FILES_PER_DIR = 1_000;
const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);
const fileName = (i: number) => `file-${String(i).padStart(6, "0")}`;

async function footprint(ctx: Ctx): Promise<void> {
  const files = ctx.profile.footprintFiles;
  const phase = `${files.toLocaleString("en-US")} empty files, dirs of ${FILES_PER_DIR.toLocaleString("en-US")}`;
  const dataDir = join(ctx.scratchDir, "footprint-data");
  mkdirSync(dataDir);
  const metad = await spawnMetad(dataDir, join(ctx.scratchDir, "footprint-objects"));
  try {
    const client = await connect(`nokv://127.0.0.1:${metad.port}`);
    try {
      await ctx.prepare(`create ${files.toLocaleString("en-US")} files in a metad of its own`, async (onProgress) => {
        for (let d = 0; d * FILES_PER_DIR < files; d++) {
          const dir = await client.inode.mkdir(ROOT_INODE, `d${d}`);
          await fillDir(client, dir.inode, Math.min(FILES_PER_DIR, files - d * FILES_PER_DIR), fileName);
          onProgress((d + 1) * FILES_PER_DIR, files);
        }
      });
    } finally {
      await client.close();
    }
  } finally {
    await metad.stop();
  }
  const db = join(dataDir, "meta.db");
  const bytes = size(db) + size(`${db}-wal`);
  ctx.record({ phase, system: "nokv", name: "NoKV", unit: "bytes/file", rate: bytes / files, p50Us: null, p99Us: null, count: files, note: `meta.db + wal after metad stops: ${bytes.toLocaleString("en-US")} bytes (history and watch log included)` });

  const floor = new SqliteFloor(join(ctx.scratchDir, "footprint-floor.db"));
  try {
    for (let done = 0; done < files; done += FILES_PER_DIR) floor.create(Math.min(FILES_PER_DIR, files - done));
    const floorBytes = floor.footprintBytes();
    ctx.record({ phase, system: "store floor", name: "floor: bun:sqlite, inode + dentry + watch rows", unit: "bytes/file", rate: floorBytes / files, p50Us: null, p99Us: null, count: files });
  } finally {
    floor.close();
  }

  const peer = await ctx.openPeer("footprint.db");
  if ("unavailable" in peer) {
    ctx.record({ phase, system: "peer", name: "AgentFS (agentfs-sdk)", unit: "bytes/file", rate: 0, p50Us: null, p99Us: null, count: 0, unavailable: peer.unavailable });
    return;
  }
  const peerFiles = Math.min(files, ctx.profile.peerMaxFiles);
  try {
    await ctx.prepare(`AgentFS: create ${peerFiles.toLocaleString("en-US")} files`, async (onProgress) => {
      for (let d = 0; d * FILES_PER_DIR < peerFiles; d++) {
        await peer.fs.mkdir(`/d${d}`);
        await fillPeerDir(peer.fs, `/d${d}`, Math.min(FILES_PER_DIR, peerFiles - d * FILES_PER_DIR), fileName);
        onProgress((d + 1) * FILES_PER_DIR, peerFiles);
      }
    });
  } finally {
    await peer.close();
  }
  ctx.record({ phase, system: "peer", name: peer.label, unit: "bytes/file", rate: peer.dbBytes() / peerFiles, p50Us: null, p99Us: null, count: peerFiles, note: `database + wal after close, ${peerFiles.toLocaleString("en-US")} files` });
}

export const footprintWorkload: Workload = { name: "store-footprint", description: "bytes of SQLite per file (100,000 files; smoke 10,000)", run: footprint };
