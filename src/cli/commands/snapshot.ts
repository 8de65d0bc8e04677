import type { Command } from "commander";
import { parseSnapshotId, remotePath, withGlobalOptions } from "../context.ts";
import { columns } from "../format.ts";
import type { Runner } from "../runner.ts";

// snapshot create|list|retire: read-only, point-in-time views of a directory. A snapshot costs
// one pin row; what it keeps alive (history, blocks) is freed by GC once it is retired.

export function registerSnapshot(program: Command, run: Runner): void {
  const snapshot = program
    .command("snapshot")
    .description("create, list and retire snapshots")
    .addHelpText(
      "after",
      "\nRead a snapshot with --snapshot ID on ls, stat, tree, cat and get, or mount it with\n`nokv-fs mount DIR --snapshot ID`. A snapshot keeps the live paths: after\n`snapshot create /datasets`, read it as `ls /datasets --snapshot ID`.\n" +
        "\nExamples:\n  nokv-fs snapshot create /workspace\n  nokv-fs snapshot list --json\n  nokv-fs snapshot retire 3",
    );
  withGlobalOptions(snapshot.command("create"))
    .description("snapshot a directory (default: the mount root); prints the snapshot id")
    .argument("[path]", "remote directory", "/")
    .action(
      run.action<object, [string]>(async (ctx, _opts, pathArg) => {
        const client = await ctx.connect();
        const view = await client.snapshot(remotePath(pathArg));
        if (ctx.json) ctx.printJson(view.info);
        else ctx.printLines([String(view.id)]);
      }),
    );
  withGlobalOptions(snapshot.command("list"))
    .alias("ls")
    .description("list the mount's live snapshots")
    .action(
      run.action<object, []>(async (ctx) => {
        const snapshots = await (await ctx.connect()).listSnapshots();
        if (ctx.json) return ctx.printJson(snapshots);
        const rows = [["ID", "ROOT-INODE", "READ-VERSION", "PATH"], ...snapshots.map((s) => [String(s.snapshotId), String(s.rootInode), String(s.readVersion), s.path])];
        ctx.printLines(columns(rows, new Set([0, 1, 2])));
      }),
    );
  withGlobalOptions(snapshot.command("retire"))
    .alias("rm")
    .description("retire snapshots: what only they kept alive becomes garbage for the next GC")
    .argument("<ids...>", "snapshot ids")
    .action(
      run.action<object, [string[]]>(async (ctx, _opts, ids) => {
        const client = await ctx.connect();
        const parsed = ids.map(parseSnapshotId);
        for (const id of parsed) await (await client.openSnapshot(id)).retire();
        if (ctx.json) ctx.printJson({ retired: parsed });
      }),
    );
}
