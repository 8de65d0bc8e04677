import type { Command } from "commander";
import type { DiffEntry } from "../../sdk/index.ts";
import { parseSnapshotId, remotePath, withGlobalOptions } from "../context.ts";
import { UsageError } from "../errors.ts";
import type { Runner } from "../runner.ts";

// Agent workspaces: cp --clone (a writable copy made of metadata only), diff of two directories
// (or a directory and a snapshot of it), and rollback of a directory to a snapshot.

function registerCp(program: Command, run: Runner): void {
  withGlobalOptions(program.command("cp"))
    .description("copy a file or directory tree by cloning: one atomic step, no byte copied")
    .argument("<source>", "remote path to copy (relative to the snapshot's root with --snapshot)")
    .argument("<destination>", "new remote path (an existing directory receives SOURCE inside it)")
    .option("--clone", "share the source's blocks (required: metad copies no bytes)")
    .option("--snapshot <id>", "copy SOURCE as this snapshot saw it")
    .addHelpText("after", "\nExamples:\n  nokv-fs cp --clone /workspace /workspace-try-2\n  nokv-fs cp --clone --snapshot 3 / /restored")
    .action(
      run.action<{ clone?: boolean; snapshot?: string }, [string, string]>(async (ctx, opts, sourceArg, destArg) => {
        if (!opts.clone) throw new UsageError("cp copies by cloning only; add --clone (to copy bytes, use get and put)");
        const snapshot = opts.snapshot === undefined ? undefined : parseSnapshotId(opts.snapshot);
        const client = await ctx.connect();
        const source = remotePath(sourceArg);
        let dest = remotePath(destArg);
        if (await client.stat(dest).then((s) => s.isDirectory(), () => false)) {
          const base = source === "/" ? "" : source.slice(source.lastIndexOf("/") + 1);
          if (base === "") throw new UsageError(`'${dest}' exists; name the copy of '/' with a new path`);
          dest = `${dest === "/" ? "" : dest}/${base}`;
        }
        const made = await client.clone(source, dest, snapshot === undefined ? {} : { snapshot });
        if (ctx.json) ctx.printJson({ from: source, to: dest, ...made });
      }),
    );
}

const MARK: Record<DiffEntry["kind"], string> = { added: "A", removed: "D", changed: "M", renamed: "R" };

function describe(e: DiffEntry): string {
  const what = e.changes && e.changes.length > 0 ? `  (${e.changes.join(",")})` : "";
  const slash = e.type === "dir" ? "/" : "";
  return e.kind === "renamed" ? `R  ${e.path}${slash} -> ${e.toPath}${slash}${what}` : `${MARK[e.kind]}  ${e.path}${slash}${what}`;
}

function registerDiff(program: Command, run: Runner): void {
  withGlobalOptions(program.command("diff"))
    .description("what differs from directory A to directory B: added, removed, changed, renamed")
    .argument("<a>", "remote directory (relative to the snapshot's root with --snapshot)")
    .argument("<b>", "remote directory (relative to the snapshot's root with --other-snapshot)")
    .option("--snapshot <id>", "read A as this snapshot saw it")
    .option("--other-snapshot <id>", "read B as this snapshot saw it")
    .addHelpText(
      "after",
      "\nOne line per difference: A added, D removed, M changed (content, type, mode, owner, target),\n" +
        "R renamed (same inode; between two states of one directory). Content is compared by\n" +
        "generation and block lists, never by reading bytes. --json prints one array, streamed.\n" +
        "\nExamples:\n  nokv-fs diff /workspace /workspace-try-2\n  nokv-fs diff --snapshot 3 / /workspace --json",
    )
    .action(
      run.action<{ snapshot?: string; otherSnapshot?: string }, [string, string]>(async (ctx, opts, aArg, bArg) => {
        const a = { path: remotePath(aArg), ...(opts.snapshot === undefined ? {} : { snapshot: parseSnapshotId(opts.snapshot) }) };
        const b = { path: remotePath(bArg), ...(opts.otherSnapshot === undefined ? {} : { snapshot: parseSnapshotId(opts.otherSnapshot) }) };
        const client = await ctx.connect();
        let count = 0;
        if (ctx.json) process.stdout.write("[");
        for await (const entry of client.diff(a, b)) {
          if (ctx.json) process.stdout.write(`${count === 0 ? "\n" : ",\n"}${JSON.stringify(entry)}`);
          else process.stdout.write(`${describe(entry)}\n`);
          count++;
        }
        if (ctx.json) process.stdout.write(count === 0 ? "]\n" : "\n]\n");
      }),
    );
}

function registerRollback(program: Command, run: Runner): void {
  withGlobalOptions(program.command("rollback"))
    .description("make a directory what a snapshot saw of it, in one atomic step")
    .argument("<path>", "remote directory to roll back")
    .requiredOption("--snapshot <id>", "the snapshot to go back to")
    .addHelpText("after", "\nWatchers of the directory see one event per entry that changed.\n\nExamples:\n  nokv-fs rollback /workspace --snapshot 3")
    .action(
      run.action<{ snapshot: string }, [string]>(async (ctx, opts, pathArg) => {
        const snapshot = parseSnapshotId(opts.snapshot);
        const path = remotePath(pathArg);
        const result = await (await ctx.connect()).rollback(path, snapshot);
        if (ctx.json) ctx.printJson({ path, snapshot, ...result });
        else ctx.printLines([`${result.changed} entries changed`]);
      }),
    );
}

export function registerWorkspace(program: Command, run: Runner): void {
  registerCp(program, run);
  registerDiff(program, run);
  registerRollback(program, run);
}
