import type { Command } from "commander";
import { CacheLayout, clearCache, scanEntries, sumStats } from "../../sdk/node-cache/index.ts";
import { LIMITS } from "../../types/index.ts";
import { parsePositiveInt, remotePath, withGlobalOptions, type CliContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { columns, humanBytes, humanDuration } from "../format.ts";
import type { Runner } from "../runner.ts";
import { startProgress } from "../transfer/progress.ts";

// warmup PATH and cache stats|clear: the node cache (docs/cache.md) from the command line.

function cacheDirOf(ctx: CliContext): string {
  const dir = ctx.options.cacheDir;
  if (!dir) throw new UsageError("no node cache: give --cache-dir DIR or set NOKV_CACHE_DIR");
  return dir;
}

export function registerCache(program: Command, run: Runner): void {
  withGlobalOptions(program.command("warmup"))
    .description("fill the node cache with every file under a path, ahead of a job that reads them")
    .argument("<path>", "remote file or directory")
    .option("-j, --concurrency <n>", `files read at once (default ${LIMITS.warmupConcurrency})`)
    .option("--progress", "show the progress bar even when stderr is not a terminal")
    .option("--no-progress", "never show the progress bar")
    .addHelpText("after", "\nExamples:\n  nokv-fs --cache-dir /local/nokv-cache warmup /datasets/cifar\n  NOKV_CACHE_DIR=/local/nokv-cache nokv-fs warmup /datasets --json")
    .action(
      run.action<{ concurrency?: string; progress?: boolean }, [string]>(async (ctx, opts, pathArg) => {
        cacheDirOf(ctx);
        const concurrency = opts.concurrency === undefined ? LIMITS.warmupConcurrency : parsePositiveInt("--concurrency", opts.concurrency, 1024);
        const client = await ctx.connect();
        let progress = startProgress({ label: "warmup", totalBytes: 0, totalFiles: 0, forced: false, json: true });
        const result = await client.warmup(remotePath(pathArg), {
          concurrency,
          onPlan: (files, totalBytes) => (progress = startProgress({ label: "warmup", totalBytes, totalFiles: files, forced: opts.progress, json: ctx.json })),
          onBytes: (bytes) => progress.add(bytes),
          onFileDone: () => progress.fileDone(),
        });
        progress.stop();
        const stats = client.nodeCacheStats();
        const summary = { ...result, elapsedMs: Math.round(result.elapsedMs), bytesFilled: stats?.bytesFilled ?? 0, blocksFilled: stats?.misses ?? 0, blocksCached: stats?.hits ?? 0 };
        if (ctx.json) return ctx.printJson(summary);
        ctx.printLines([`warmed ${summary.files} files, ${humanBytes(summary.bytes)} in ${humanDuration(summary.elapsedMs)}: ${summary.blocksFilled} blocks fetched (${humanBytes(summary.bytesFilled)}), ${summary.blocksCached} already cached`]);
      }),
    );
  const cache = program.command("cache").description("node cache statistics and clearing (--cache-dir / NOKV_CACHE_DIR)");
  withGlobalOptions(cache.command("stats"))
    .description("hits, misses, bytes and evictions of every process using the node cache, and what it holds")
    .action(
      run.action<object, []>(async (ctx) => {
        const layout = new CacheLayout(cacheDirOf(ctx));
        const entries = scanEntries(layout);
        const stats = {
          cacheDir: layout.cacheDir,
          ...sumStats(layout),
          entries: entries.length,
          bytesOnDisk: entries.reduce((sum, e) => sum + e.sizeBytes, 0),
          limitBytes: ctx.options.cacheMaxBytes ?? LIMITS.nodeCacheDefaultMaxBytes,
        };
        if (ctx.json) return ctx.printJson(stats);
        const rows = [
          ["cache dir", stats.cacheDir], ["entries", String(stats.entries)], ["on disk", `${humanBytes(stats.bytesOnDisk)} of ${humanBytes(stats.limitBytes)}`],
          ["hits", String(stats.hits)], ["misses", String(stats.misses)], ["bytes from cache", humanBytes(stats.bytesFromCache)], ["bytes filled", humanBytes(stats.bytesFilled)],
          ["evictions", String(stats.evictions)], ["corrupt", String(stats.corrupt)], ["processes", String(stats.processes)],
        ];
        ctx.printLines(columns(rows, new Set()));
      }),
    );
  withGlobalOptions(cache.command("clear"))
    .description("remove every cached block (readers still running fetch them again)")
    .action(
      run.action<object, []>(async (ctx) => {
        const removed = clearCache(new CacheLayout(cacheDirOf(ctx)));
        if (ctx.json) ctx.printJson({ removed });
        else ctx.printLines([`removed ${removed} entries`]);
      }),
    );
}
