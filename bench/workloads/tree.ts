// Untimed tree building shared by the workloads: many empty files in one directory through SDK
// batches (NoKV) or one writeFile each (the peer, which has no batch).
import type { NoKVClient } from "../../src/sdk/index.ts";
import { runConcurrent } from "../lib/run.ts";
import type { PeerFs } from "../peers/agentfs.ts";

const FILL_BATCH_OPS = 1024;
const FILL_IN_FLIGHT = 4;

/** Creates files `name(0..count-1)` in directory inode `dir`. */
export async function fillDir(client: NoKVClient, dir: number, count: number, name: (i: number) => string, onProgress?: (done: number, total: number) => void): Promise<void> {
  const batches = Math.ceil(count / FILL_BATCH_OPS);
  await runConcurrent(batches, FILL_IN_FLIGHT, async (b) => {
    const first = b * FILL_BATCH_OPS;
    const ops = Array.from({ length: Math.min(FILL_BATCH_OPS, count - first) }, (_, k) => ({ op: "create", args: { parent: dir, name: name(first + k) } }));
    const results = await client.batch(ops);
    const failed = results.find((r) => !r.ok);
    if (failed) throw new Error(`fill of directory ${dir} failed: ${JSON.stringify(failed)}`);
  }, onProgress ? { onProgress } : {});
}

/** Creates files `${dir}/${name(i)}` in the peer, a few at a time. */
export async function fillPeerDir(fs: PeerFs, dir: string, count: number, name: (i: number) => string, onProgress?: (done: number, total: number) => void): Promise<void> {
  await runConcurrent(count, 16, (i) => fs.writeFile(`${dir === "/" ? "" : dir}/${name(i)}`, ""), onProgress ? { onProgress } : {});
}

export { seededRandom as mulberry32 } from "../../src/types/random.ts";
