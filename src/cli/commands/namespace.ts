import { Option, type Command } from "commander";
import { pipeline } from "node:stream/promises";
import { remotePath, withGlobalOptions } from "../context.ts";
import type { Runner } from "../runner.ts";

// mkdir, rm, mv, ln and cat: the namespace changes, each one SDK call per argument, plus cat,
// which streams file bytes from the object store to stdout.

function registerMkdir(program: Command, run: Runner): void {
  withGlobalOptions(program.command("mkdir"))
    .description("create directories")
    .argument("<paths...>", "remote directories to create")
    .option("-p, --parents", "create missing parents; an existing directory is no error")
    .addHelpText("after", "\nExamples:\n  nokv-fs mkdir /datasets\n  nokv-fs mkdir -p /datasets/cifar/train")
    .action(
      run.action<{ parents?: boolean }, [string[]]>(async (ctx, opts, paths) => {
        const client = await ctx.connect();
        for (const path of paths.map(remotePath)) await client.mkdir(path, { recursive: opts.parents === true });
        if (ctx.json) ctx.printJson({ created: paths.map(remotePath) });
      }),
    );
}

function registerRm(program: Command, run: Runner): void {
  withGlobalOptions(program.command("rm"))
    .description("remove files, symlinks and (with -r) directory trees")
    .argument("<paths...>", "remote paths to remove")
    .option("-r, --recursive", "remove directories and their contents")
    .option("-f, --force", "ignore missing paths")
    .addHelpText("after", "\nExamples:\n  nokv-fs rm /tmp/old.bin\n  nokv-fs rm -rf /scratch/run-17")
    .action(
      run.action<{ recursive?: boolean; force?: boolean }, [string[]]>(async (ctx, opts, paths) => {
        const client = await ctx.connect();
        for (const path of paths.map(remotePath)) {
          // Without -r an empty directory is still refused, as rm(1) does.
          await client.rm(path, { recursive: opts.recursive === true, force: opts.force === true });
        }
        if (ctx.json) ctx.printJson({ removed: paths.map(remotePath) });
      }),
    );
}

function registerMv(program: Command, run: Runner): void {
  withGlobalOptions(program.command("mv"))
    .description("rename or move a path (atomic, within one mount)")
    .argument("<source>", "remote path to move")
    .argument("<destination>", "new remote path (an existing directory receives SOURCE inside it)")
    .option("-n, --no-clobber", "fail with EEXIST instead of replacing DESTINATION")
    .option("--exchange", "atomically swap SOURCE and DESTINATION")
    .addHelpText("after", "\nExamples:\n  nokv-fs mv /ckpt/step-100.tmp /ckpt/step-100\n  nokv-fs mv /a.txt /archive/\n  nokv-fs mv --exchange /live /staging")
    .action(
      run.action<{ clobber: boolean; exchange?: boolean }, [string, string]>(async (ctx, opts, sourceArg, destArg) => {
        const client = await ctx.connect();
        const source = remotePath(sourceArg);
        let dest = remotePath(destArg);
        if (!opts.exchange && (await client.stat(dest).then((s) => s.isDirectory(), () => false))) {
          dest = `${dest === "/" ? "" : dest}/${source.slice(source.lastIndexOf("/") + 1)}`;
        }
        await client.rename(source, dest, { noReplace: !opts.clobber, exchange: opts.exchange === true });
        if (ctx.json) ctx.printJson({ from: source, to: dest });
      }),
    );
}

function registerLn(program: Command, run: Runner): void {
  withGlobalOptions(program.command("ln"))
    .description("make a symbolic link (-s) or a hard link")
    .argument("<target>", "what the link points to (for -s stored as given, may be relative)")
    .argument("<link>", "remote path of the new link")
    .option("-s, --symbolic", "make a symbolic link")
    .addHelpText("after", "\nExamples:\n  nokv-fs ln -s /ckpt/step-900 /ckpt/latest\n  nokv-fs ln /data/a.bin /data/a-alias.bin")
    .action(
      run.action<{ symbolic?: boolean }, [string, string]>(async (ctx, opts, target, linkArg) => {
        const client = await ctx.connect();
        const link = remotePath(linkArg);
        if (opts.symbolic) await client.symlink(target, link);
        else await client.link(remotePath(target), link);
        if (ctx.json) ctx.printJson({ link, target, symbolic: opts.symbolic === true });
      }),
    );
}

function registerCat(program: Command, run: Runner): void {
  withGlobalOptions(program.command("cat"))
    .description("write file contents to stdout")
    .argument("<paths...>", "remote files")
    .addOption(new Option("--snapshot <id>", "read snapshot ID instead of the live namespace (its paths start at the snapshotted directory)"))
    .addHelpText("after", "\nExamples:\n  nokv-fs cat /workspace/notes.md\n  nokv-fs cat /ckpt/step-900/config.json --snapshot 3 | jq .")
    .action(
      run.action<{ snapshot?: string }, [string[]]>(async (ctx, opts, paths) => {
        const reader = await ctx.reader(opts.snapshot);
        for (const path of paths.map(remotePath)) {
          // Streamed with backpressure: a checkpoint larger than memory still cats.
          await pipeline(reader.createReadStream(path), process.stdout, { end: false });
        }
      }),
    );
}

export function registerNamespace(program: Command, run: Runner): void {
  registerMkdir(program, run);
  registerRm(program, run);
  registerMv(program, run);
  registerLn(program, run);
  registerCat(program, run);
}
