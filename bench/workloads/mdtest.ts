// mdtest: clients create, stat and remove empty files; easy gives each client its own
// directory, hard puts every client in one shared directory. Batched: each client sends its
// files as SDK batches (consecutive creates in one directory merge into one command server-side);
// unbatched: one request per file, each client one request in flight.
import { join } from "node:path";
import type { NoKVClient } from "../../src/sdk/index.ts";
import { ROOT_INODE } from "../../src/types/index.ts";
import { SqliteFloor } from "../floors/sqlite-floor.ts";
import { runConcurrent } from "../lib/run.ts";
import { echoFloor, sqliteFloor } from "./floors.ts";
import { peerLabel, type Ctx, type Workload } from "./types.ts";

const BATCH_OPS = 256;

interface Shape {
  workload: string;
  clients: number;
  filesPerClient: number;
  /** Directory of client c: its own (easy) or the shared one (hard). */
  shared: boolean;
}

type Phase = "create" | "stat" | "remove";
const OPS: Record<Phase, string> = { create: "create", stat: "lookup", remove: "unlink" };

async function nokvPhases(ctx: Ctx, shape: Shape, clients: NoKVClient[], batched: boolean): Promise<void> {
  const { clients: c, filesPerClient } = shape;
  const variant = batched ? "batched" : "unbatched";
  const root = await ctx.client.inode.mkdir(ROOT_INODE, `${shape.workload}-${variant}`);
  const dirs = shape.shared ? [root.inode] : await Promise.all(clients.map(async (_, i) => (await ctx.client.inode.mkdir(root.inode, `c${i}`)).inode));
  const dirOf = (client: number) => dirs[shape.shared ? 0 : client]!;
  const total = c * filesPerClient;
  const perBatch = Math.min(BATCH_OPS, filesPerClient);
  const batchesPerClient = Math.ceil(filesPerClient / perBatch);
  for (const phase of ["create", "stat", "remove"] as const) {
    const label = batched ? `${phase}, batched` : phase;
    if (batched) {
      await ctx.measure({ phase: label, system: "nokv", name: "NoKV", unit: "ops/s", note: `p50/p99 per batch of ${perBatch}` }, (onProgress) =>
        runConcurrent(c * batchesPerClient, c, (i) => {
          const client = i % c;
          const first = Math.floor(i / c) * perBatch;
          const names = Array.from({ length: Math.min(perBatch, filesPerClient - first) }, (_, k) => `c${client}-f${first + k}`);
          return clients[client]!.batch(names.map((name) => ({ op: OPS[phase], args: { parent: dirOf(client), name } })));
        }, { itemsPerCall: perBatch, onProgress }),
      );
    } else {
      await ctx.measure({ phase: label, system: "nokv", name: "NoKV", unit: "ops/s" }, (onProgress) =>
        runConcurrent(total, c, (i) => {
          const client = i % c;
          const name = `c${client}-f${Math.floor(i / c)}`;
          const api = clients[client]!.inode;
          return phase === "create" ? api.create(dirOf(client), name) : phase === "stat" ? api.lookup(dirOf(client), name) : api.unlink(dirOf(client), name);
        }, { onProgress }),
      );
    }
  }
}

async function floorPhases(ctx: Ctx, shape: Shape, batched: boolean): Promise<void> {
  const floor = new SqliteFloor(join(ctx.scratchDir, `${shape.workload}-${batched ? "b" : "u"}-floor.db`));
  const total = shape.clients * shape.filesPerClient;
  const perBatch = batched ? Math.min(BATCH_OPS, shape.filesPerClient) : 1;
  const calls = Math.ceil(total / perBatch);
  try {
    for (const phase of ["create", "stat", "remove"] as const) {
      const label = batched ? `${phase}, batched` : phase;
      const what = phase === "stat" ? "dentry + inode read" : `${perBatch} ${phase}${perBatch > 1 ? "s" : ""} per tx`;
      const fn = phase === "create" ? () => floor.create(perBatch) : phase === "stat" ? (i: number) => floor.stat(i) : () => floor.remove(perBatch);
      await sqliteFloor(ctx, label, what, phase === "stat" ? total : calls, fn, phase === "stat" ? 1 : perBatch);
      const args = batched
        ? { ops: Array.from({ length: perBatch }, (_, k) => ({ op: OPS[phase], args: { mount: 1, parent: 12_345, name: `c0-f${k}` } })) }
        : { mount: 1, parent: 12_345, name: "c0-f0" };
      // NoKV's clients each have their own connection; so does the floor's.
      await echoFloor(ctx, label, calls, shape.clients, args, perBatch, ctx.echoConnections(shape.clients));
    }
  } finally {
    floor.close();
  }
}

async function peerPhases(ctx: Ctx, shape: Shape): Promise<void> {
  const peer = await ctx.openPeer(`${shape.workload}.db`);
  if ("unavailable" in peer) {
    for (const phase of ["create", "stat", "remove"]) ctx.record({ phase, system: "peer", name: peerLabel(peer), unit: "ops/s", rate: 0, p50Us: null, p99Us: null, count: 0, unavailable: peer.unavailable });
    return;
  }
  try {
    const { clients: c } = shape;
    const perClient = Math.min(shape.filesPerClient, Math.max(1, Math.floor(ctx.profile.peerMaxOps / c)));
    const total = c * perClient;
    if (!shape.shared) for (let i = 0; i < c; i++) await peer.fs.mkdir(`/c${i}`);
    const path = (i: number) => (shape.shared ? `/c${i % c}-f${Math.floor(i / c)}` : `/c${i % c}/f${Math.floor(i / c)}`);
    const note = total < c * shape.filesPerClient ? `${total} of ${c * shape.filesPerClient} files` : undefined;
    const row = (phase: string) => ({ phase, system: "peer" as const, name: peer.label, unit: "ops/s" as const, ...(note ? { note } : {}) });
    await ctx.measure(row("create"), (onProgress) => runConcurrent(total, c, (i) => peer.fs.writeFile(path(i), ""), { onProgress }));
    await ctx.measure(row("stat"), (onProgress) => runConcurrent(total, c, (i) => peer.fs.stat(path(i)), { onProgress }));
    await ctx.measure(row("remove"), (onProgress) => runConcurrent(total, c, (i) => peer.fs.unlink(path(i)), { onProgress }));
  } finally {
    await peer.close();
  }
}

async function runMdtest(ctx: Ctx, shape: Shape): Promise<void> {
  const clients = await Promise.all(Array.from({ length: shape.clients }, () => ctx.connect()));
  try {
    await nokvPhases(ctx, shape, clients, true);
    await nokvPhases(ctx, shape, clients, false);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
  await floorPhases(ctx, shape, true);
  await floorPhases(ctx, shape, false);
  await peerPhases(ctx, shape);
}

export const mdtestEasy: Workload = {
  name: "mdtest-easy",
  description: "each client creates, stats and removes empty files in its own directory",
  run: (ctx) => runMdtest(ctx, { workload: "mdtest-easy", clients: ctx.profile.easyDirs, filesPerClient: ctx.profile.easyFilesPerDir, shared: false }),
};

export const mdtestHard: Workload = {
  name: "mdtest-hard",
  description: "all clients create, stat and remove empty files in one shared directory",
  run: (ctx) => {
    const { hardFiles, hardClients } = ctx.profile;
    return runMdtest(ctx, { workload: "mdtest-hard", clients: hardClients, filesPerClient: Math.ceil(hardFiles / hardClients), shared: true });
  },
};
