import { openAsBlob } from "node:fs";
import { lstat, readdir, readlink, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { NoKVClient } from "../../sdk/index.ts";
import { dirLevels, emptyPlan, joinRel, type TransferPlan, type TransferSummary } from "./plan.ts";
import { runPool } from "./pool.ts";
import type { Progress } from "./progress.ts";

// put: local files and trees into NoKV. Each file is one atomic publish (blocks straight to the
// object store, then one metadata commit), several files at once.

/** The local tree under `root`; symlinks are kept as symlinks, never followed. */
export async function planLocal(root: string): Promise<TransferPlan> {
  const plan = emptyPlan();
  const walk = async (rel: string): Promise<void> => {
    plan.dirs.push(rel);
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const full = join(root, childRel);
      if (entry.isDirectory()) await walk(childRel);
      else if (entry.isSymbolicLink()) plan.symlinks.push({ rel: childRel, target: await readlink(full) });
      else if (entry.isFile()) {
        const s = await lstat(full);
        plan.files.push({ rel: childRel, sizeBytes: s.size, mode: s.mode & 0o777 });
        plan.totalBytes += s.size;
      }
      // Sockets, FIFOs and devices have no bytes to publish: skipped, as cp -r would fail on them.
    }
  };
  await walk("");
  return plan;
}

export interface PutOptions {
  concurrency: number;
  progress: Progress;
}

/** Where `put LOCAL REMOTE` puts a single file: into REMOTE when it is a directory (or ends in /). */
export async function fileDestination(client: NoKVClient, local: string, remote: string, remoteArg: string): Promise<string> {
  if (remoteArg.endsWith("/") || (await client.stat(remote).then((s) => s.isDirectory(), () => false))) {
    return joinRel(remote, basename(local));
  }
  return remote;
}

/** What `put LOCAL` moves: the tree under a directory, or the one file. */
export async function planPut(localRoot: string): Promise<TransferPlan> {
  const s = await stat(localRoot);
  if (s.isDirectory()) return planLocal(localRoot);
  return { dirs: [], files: [{ rel: "", sizeBytes: s.size, mode: s.mode & 0o777 }], symlinks: [], totalBytes: s.size };
}

/** A local file as a lazily read Blob: Bun's native file, or Node's openAsBlob. */
async function localFile(path: string): Promise<Blob> {
  return typeof Bun !== "undefined" ? Bun.file(path) : await openAsBlob(path);
}

export async function putPlan(client: NoKVClient, plan: TransferPlan, localRoot: string, remoteRoot: string, options: PutOptions): Promise<TransferSummary> {
  const startedMs = performance.now();
  for (const level of dirLevels(plan.dirs)) {
    await runPool(level, options.concurrency, async (rel) => void (await client.mkdir(joinRel(remoteRoot, rel), { recursive: true })));
  }
  const source = (rel: string) => (rel === "" ? localRoot : join(localRoot, rel));
  await runPool(plan.files, options.concurrency, async (file) => {
    let reported = 0;
    await client.publish(joinRel(remoteRoot, file.rel), await localFile(source(file.rel)), {
      replace: true,
      mode: file.mode,
      onProgress: ({ bytesUploaded }) => {
        options.progress.add(bytesUploaded - reported);
        reported = bytesUploaded;
      },
    });
    options.progress.fileDone();
  });
  await runPool(plan.symlinks, options.concurrency, async (link) => {
    const path = joinRel(remoteRoot, link.rel);
    await client.rm(path, { force: true });
    await client.symlink(link.target, path);
  });
  return {
    files: plan.files.length,
    // The root counts: `put ./tree /x` creates /x.
    dirs: plan.dirs.length,
    symlinks: plan.symlinks.length,
    bytes: plan.totalBytes,
    seconds: (performance.now() - startedMs) / 1000,
  };
}
