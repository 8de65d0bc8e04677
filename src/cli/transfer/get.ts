import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rename, rm, stat, symlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { NoKVClient, SnapshotView } from "../../sdk/index.ts";
import { dirLevels, emptyPlan, joinRel, type TransferPlan, type TransferSummary } from "./plan.ts";
import { runPool } from "./pool.ts";
import type { Progress } from "./progress.ts";

// get: NoKV files and trees onto the local disk. File bytes come straight from the object store
// (ranged reads through the SDK's read stream); each file lands under a temporary name and is
// renamed into place, so an interrupted get never leaves a truncated file under the real name.

type Reader = NoKVClient | SnapshotView;

/** The remote tree under `root` (a directory), walked breadth-first with one readdir-plus each. */
export async function planRemote(reader: Reader, root: string): Promise<TransferPlan> {
  const plan = emptyPlan();
  const queue = [""];
  while (queue.length > 0) {
    const rel = queue.shift()!;
    plan.dirs.push(rel);
    const entries = await reader.readdirStats(joinRel(root, rel));
    for (const { name, stats } of entries) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      if (stats.isDirectory()) queue.push(childRel);
      else if (stats.isSymbolicLink()) plan.symlinks.push({ rel: childRel, target: await reader.readlink(joinRel(root, childRel)) });
      else {
        plan.files.push({ rel: childRel, sizeBytes: stats.size, mode: stats.mode & 0o777 });
        plan.totalBytes += stats.size;
      }
    }
  }
  return plan;
}

/** What `get REMOTE` moves: the tree under a directory, or the one file. */
export async function planGet(reader: Reader, remote: string): Promise<TransferPlan> {
  const s = await reader.stat(remote);
  if (s.isDirectory()) return planRemote(reader, remote);
  return { dirs: [], files: [{ rel: "", sizeBytes: s.size, mode: s.mode & 0o777 }], symlinks: [], totalBytes: s.size };
}

/** Where a single remote file lands: inside LOCAL when it is a directory (or ends in /). */
export async function localFileDestination(local: string, remote: string): Promise<string> {
  const isDir = local.endsWith("/") || (await stat(local).then((s) => s.isDirectory(), () => false));
  return isDir ? join(local, basename(remote)) : local;
}

export interface GetOptions {
  concurrency: number;
  progress: Progress;
}

export async function getPlan(reader: Reader, plan: TransferPlan, remoteRoot: string, localRoot: string, options: GetOptions): Promise<TransferSummary> {
  const startedMs = performance.now();
  for (const level of dirLevels(plan.dirs)) {
    await runPool(level, options.concurrency, async (rel) => void (await mkdir(localPath(localRoot, rel), { recursive: true })));
  }
  await runPool(plan.files, options.concurrency, async (file) => {
    await download(reader, joinRel(remoteRoot, file.rel), localPath(localRoot, file.rel), file.mode, options.progress);
    options.progress.fileDone();
  });
  await runPool(plan.symlinks, options.concurrency, async (link) => {
    const path = localPath(localRoot, link.rel);
    await rm(path, { force: true });
    await symlink(link.target, path);
  });
  return {
    files: plan.files.length,
    // The root counts: `get /x ./tree` creates ./tree.
    dirs: plan.dirs.length,
    symlinks: plan.symlinks.length,
    bytes: plan.totalBytes,
    seconds: (performance.now() - startedMs) / 1000,
  };
}

function localPath(root: string, rel: string): string {
  return rel === "" ? root : join(root, ...rel.split("/"));
}

async function download(reader: Reader, remote: string, local: string, mode: number, progress: Progress): Promise<void> {
  const temp = join(dirname(local), `.${basename(local)}.nokv-${randomBytes(4).toString("hex")}`);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      progress.add(chunk.byteLength);
      done(null, chunk);
    },
  });
  try {
    await pipeline(reader.createReadStream(remote), counter, createWriteStream(temp, { mode }));
    await chmod(temp, mode);
    await rename(temp, local);
  } catch (err) {
    // Best effort: the error that matters is the one that stopped the download.
    await rm(temp, { force: true }).catch(() => {});
    throw withoutTempName(err, temp, local);
  }
}

/**
 * A local write error names the temporary file it failed on (`.x.bin.nokv-31a0184d`); the user
 * asked for `x.bin`, so the message and path say that.
 */
function withoutTempName(err: unknown, temp: string, local: string): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { path?: string; dest?: string };
  e.message = e.message.replaceAll(temp, local);
  if (e.path === temp) e.path = local;
  if (e.dest === temp) e.dest = local;
  return e;
}
