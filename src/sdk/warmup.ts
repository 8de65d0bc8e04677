import { FsError, LIMITS } from "../types/index.ts";
import { forEachLimited, type BodyReader } from "./body-reader.ts";
import type { NoKVStats } from "./stats.ts";

// Fills the node cache for a subtree ahead of a job: every file's blocks are read through the
// node cache (a block already there is read and verified, not downloaded again), `concurrency`
// files at a time, in plan windows so a large file never lands in memory whole.

export interface WarmupOptions {
  /** Files read at once (default LIMITS.warmupConcurrency). */
  concurrency?: number;
  /** Called once the tree is listed, before any byte moves. */
  onPlan?(files: number, totalBytes: number): void;
  /** Called as bytes pass through the cache. */
  onBytes?(bytes: number): void;
  onFileDone?(): void;
}

export interface WarmupResult {
  files: number;
  bytes: number;
  elapsedMs: number;
}

export interface WarmupSource {
  stat(path: string): Promise<NoKVStats>;
  readdirStats(path: string): Promise<Array<{ name: string; stats: NoKVStats }>>;
  reader: BodyReader;
}

export async function warmup(source: WarmupSource, path: string, options: WarmupOptions = {}): Promise<WarmupResult> {
  const startedMs = performance.now();
  const files: NoKVStats[] = [];
  const top = await source.stat(path);
  if (top.isDirectory()) await listFiles(source, path, files);
  else if (top.isFile()) files.push(top);
  else throw new FsError("EINVAL", `${path} is neither a file nor a directory`);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  options.onPlan?.(files.length, totalBytes);
  const windowBytes = LIMITS.readStreamWindowBytes;
  await forEachLimited(files, options.concurrency ?? LIMITS.warmupConcurrency, async (file) => {
    for (let at = 0; at < file.size; at += windowBytes) {
      const { bytes } = await source.reader.read(file.ino, at, Math.min(windowBytes, file.size - at), { generation: file.generation });
      options.onBytes?.(bytes.byteLength);
    }
    options.onFileDone?.();
  });
  return { files: files.length, bytes: totalBytes, elapsedMs: performance.now() - startedMs };
}

async function listFiles(source: WarmupSource, dir: string, out: NoKVStats[]): Promise<void> {
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  for (const { name, stats } of await source.readdirStats(dir)) {
    if (stats.isDirectory()) await listFiles(source, base + name, out);
    else if (stats.isFile()) out.push(stats);
  }
}
