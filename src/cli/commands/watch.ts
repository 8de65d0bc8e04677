import type { Command } from "commander";
import type { CursorWatchEvent } from "../../sdk/index.ts";
import { formatCursor, parseCursor, type WatchEvent } from "../../types/index.ts";
import { parsePositiveInt, remotePath, withGlobalOptions } from "../context.ts";
import { UsageError } from "../errors.ts";
import type { Runner } from "../runner.ts";

// watch: events in one directory, printed as they commit (the server pushes them). Every line
// starts with the event's cursor, so `--cursor` from any printed line resumes right after it.

/** An unbounded stream unless --count; the cap only guards typos like --count 1e99. */
const WATCH_COUNT_MAX = Number.MAX_SAFE_INTEGER;

export function eventLine(event: WatchEvent): string {
  const cursor = formatCursor(event);
  const target = event.toName === undefined ? "" : ` -> ${event.toName}${event.toScope !== undefined && event.toScope !== event.scope ? ` (dir ${event.toScope})` : ""}`;
  const generation = event.generation === undefined ? "" : ` generation=${event.generation}`;
  return `${cursor} ${event.kind} ${event.name}${target} inode=${event.inode}${generation}`;
}

/** One JSON line per event: the cursor is the one resume form, so version and ordinal stay out. */
export function eventJson(event: CursorWatchEvent): Record<string, unknown> {
  const { version: _version, ordinal: _ordinal, ...rest } = event;
  return { ...rest, cursor: event.cursor };
}

export function registerWatch(program: Command, run: Runner): void {
  withGlobalOptions(program.command("watch"))
    .description("stream a directory's events as they happen, one line each")
    .argument("<path>", "remote directory to watch")
    .option("--cursor <cursor>", "resume after this cursor (VERSION.ORDINAL, printed first on each line)")
    .option("-n, --count <n>", "exit after N events")
    .addHelpText(
      "after",
      "\nEach line: CURSOR KIND NAME [-> NEW-NAME] inode=N [generation=G]; with --json one JSON object\n" +
        "per line with a `cursor` field. On exit (Ctrl-C) the cursor to resume from goes to stderr.\n" +
        "\nExamples:\n  nokv-fs watch /workspace\n  nokv-fs watch /workspace --cursor 1042.0\n  nokv-fs watch /inbox --count 1 --json",
    )
    .action(
      run.action<{ cursor?: string; count?: string }, [string]>(async (ctx, opts, pathArg) => {
        const limit = opts.count === undefined ? Number.POSITIVE_INFINITY : parsePositiveInt("--count", opts.count, WATCH_COUNT_MAX);
        if (opts.cursor !== undefined && parseCursor(opts.cursor) === null) throw new UsageError(`--cursor '${opts.cursor}' is not VERSION.ORDINAL`);
        const client = await ctx.connect();
        const stopper = new AbortController();
        const watcher = await client.watch(remotePath(pathArg), { ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }), signal: stopper.signal }).ready;
        const stop = () => stopper.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        let seen = 0;
        try {
          if (!ctx.json) process.stderr.write(`watching ${remotePath(pathArg)} from cursor ${watcher.cursor}\n`);
          for await (const event of watcher) {
            if (ctx.json) ctx.printJson(eventJson(event));
            else process.stdout.write(`${eventLine(event)}\n`);
            if (++seen >= limit) break;
          }
        } catch (err) {
          // Ctrl-C or SIGTERM: a normal end, with the resume cursor below.
          if (!(err instanceof Error && err.name === "AbortError")) throw err;
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          await watcher.close();
        }
        if (!ctx.json) process.stderr.write(`resume with --cursor ${watcher.cursor}\n`);
      }),
    );
}
