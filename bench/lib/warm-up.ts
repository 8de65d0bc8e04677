// An untimed warm-up before the first workload, for every system measured. metad, the echo server
// and this process start cold: their JavaScript is interpreted until the JIT has seen it, and the
// standard profile's first phases are short (32 batches of 256 creates take a few hundred ms), so
// without it the first rows measure compilation, not a server that has been up for a while. Each
// system runs the same kinds of calls the metadata workloads make, a few thousand of each, in a
// directory (or database) of its own that is removed afterwards; nothing of it is recorded.
import { join } from "node:path";
import type { NoKVClient } from "../../src/sdk/index.ts";
import type { RpcClient } from "../../src/sdk/rpc-client.ts";
import { ROOT_INODE } from "../../src/types/index.ts";
import { SqliteFloor } from "../floors/sqlite-floor.ts";
import { runConcurrent, runSync } from "./run.ts";

/** Clients and sizes of the warm-up: the standard profile's shape, a few rounds of it. */
export const WARM_UP = { clients: 32, batches: 64, batchOps: 256, singleOps: 4_096 } as const;

export interface WarmUpTargets {
  clients: NoKVClient[];
  echoConnections: RpcClient[];
  scratchDir: string;
}

export function warmUpSummary(): string {
  const { batches, batchOps, singleOps, clients } = WARM_UP;
  return `warm-up: ${(batches * batchOps).toLocaleString("en-US")} batched and ${singleOps.toLocaleString("en-US")} single creates, lookups and removes from ${clients} clients on metad, the echo server and the bun:sqlite floor (untimed)`;
}

export async function warmUp(targets: WarmUpTargets, onProgress: (done: number, total: number) => void): Promise<void> {
  const steps = 3;
  await warmMetad(targets.clients);
  onProgress(1, steps);
  await warmEcho(targets.echoConnections);
  onProgress(2, steps);
  warmFloor(join(targets.scratchDir, "warm-up-floor.db"));
  onProgress(3, steps);
}

async function warmMetad(clients: NoKVClient[]): Promise<void> {
  const { batches, batchOps, singleOps } = WARM_UP;
  const c = clients.length;
  const root = await clients[0]!.inode.mkdir(ROOT_INODE, "warm-up");
  const dirs = await Promise.all(clients.map(async (_, i) => (await clients[0]!.inode.mkdir(root.inode, `c${i}`)).inode));
  const names = (i: number) => Array.from({ length: batchOps }, (_, k) => `b${Math.floor(i / c)}-${k}`);
  for (const op of ["create", "lookup", "unlink"]) {
    await runConcurrent(batches, c, (i) => clients[i % c]!.batch(names(i).map((name) => ({ op, args: { parent: dirs[i % c]!, name } }))));
  }
  const single = (i: number) => ({ client: clients[i % c]!, dir: dirs[i % c]!, name: `s${Math.floor(i / c)}` });
  await runConcurrent(singleOps, c, (i) => single(i).client.inode.create(single(i).dir, single(i).name));
  await runConcurrent(singleOps, c, (i) => single(i).client.inode.lookup(single(i).dir, single(i).name));
  await runConcurrent(singleOps, c, (i) => single(i).client.inode.unlink(single(i).dir, single(i).name));
  for (let i = 0; i < c; i++) await clients[0]!.inode.rmdir(root.inode, `c${i}`);
  await clients[0]!.inode.rmdir(ROOT_INODE, "warm-up");
}

async function warmEcho(connections: RpcClient[]): Promise<void> {
  const { batches, batchOps, singleOps } = WARM_UP;
  const n = connections.length;
  const batch = { ops: Array.from({ length: batchOps }, (_, k) => ({ op: "create", args: { mount: 1, parent: 12_345, name: `c0-f${k}` } })) };
  await runConcurrent(batches, n, (i) => connections[i % n]!.call("echo", batch));
  await runConcurrent(singleOps, n, (i) => connections[i % n]!.call("echo", { mount: 1, parent: 12_345, name: "c0-f0" }));
}

function warmFloor(path: string): void {
  const { batches, batchOps, singleOps } = WARM_UP;
  const floor = new SqliteFloor(path);
  try {
    runSync(batches, () => floor.create(batchOps));
    runSync(batches * batchOps, (i) => floor.stat(i));
    runSync(batches, () => floor.remove(batchOps));
    runSync(singleOps, () => floor.create(1));
    runSync(singleOps, (i) => floor.stat(i));
    runSync(singleOps, () => floor.remove(1));
  } finally {
    floor.close();
  }
}
