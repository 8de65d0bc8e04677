import { Option, type Command } from "commander";
import type { NoKVClient, NoKVStats, SnapshotView } from "../../sdk/index.ts";
import { parsePositiveInt, remotePath, withGlobalOptions } from "../context.ts";
import { columns, humanBytes, modeString, shortTime, statsJson } from "../format.ts";
import type { Runner } from "../runner.ts";

// ls, stat and tree: the read side of the namespace, on the live mount or (--snapshot ID) on a
// snapshot's read-only view.

type Reader = NoKVClient | SnapshotView;

/** Deeper than any path can go (4 KiB paths, 2-byte components): -L is a convenience, not a limit. */
const TREE_DEPTH_MAX = 2048;

interface Entry {
  path: string;
  name: string;
  stats: NoKVStats;
  target?: string;
}

const snapshotOption = () => new Option("--snapshot <id>", "read snapshot ID instead of the live namespace (same absolute paths; a snapshot of /datasets holds /datasets/...)");

function childPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function baseName(path: string): string {
  return path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
}

/** A directory's entries with their attributes (one readdir-plus) and symlink targets. */
async function listDir(reader: Reader, dir: string, withTargets: boolean): Promise<Entry[]> {
  const entries = (await reader.readdirStats(dir)).map((e) => ({ path: childPath(dir, e.name), name: e.name, stats: e.stats }) as Entry);
  if (withTargets) {
    await Promise.all(entries.filter((e) => e.stats.isSymbolicLink()).map(async (e) => (e.target = await reader.readlink(e.path))));
  }
  return entries;
}

function longLines(entries: readonly Entry[]): string[] {
  const rows = entries.map((e) => [
    modeString(e.stats.type, e.stats.mode),
    String(e.stats.nlink),
    String(e.stats.uid),
    String(e.stats.gid),
    String(e.stats.size),
    shortTime(e.stats.mtimeMs),
    e.target === undefined ? e.name : `${e.name} -> ${e.target}`,
  ]);
  return columns(rows, new Set([1, 4]));
}

interface LsOptions {
  long?: boolean;
  recursive?: boolean;
  snapshot?: string;
}

function registerLs(program: Command, run: Runner): void {
  withGlobalOptions(program.command("ls"))
    .description("list directory contents")
    .argument("[paths...]", "remote paths (default /)")
    .option("-l, --long", "long format: mode, links, uid, gid, size, mtime, name")
    .option("-R, --recursive", "list subdirectories recursively")
    .addOption(snapshotOption())
    .addHelpText("after", "\nExamples:\n  nokv-fs ls /datasets\n  nokv-fs ls -lR /datasets/cifar --json\n  nokv-fs ls /datasets --snapshot 3")
    .action(
      run.action<LsOptions, [string[]]>(async (ctx, opts, paths) => {
        const reader = await ctx.reader(opts.snapshot);
        const targets = (paths.length ? paths : ["/"]).map(remotePath);
        const all: Entry[] = [];
        const sections: Array<{ dir: string | null; entries: Entry[] }> = [];
        for (const target of targets) {
          const stats = await reader.stat(target);
          if (!stats.isDirectory()) {
            const entry: Entry = { path: target, name: target, stats };
            sections.push({ dir: null, entries: [entry] });
            all.push(entry);
            continue;
          }
          const queue = [target];
          while (queue.length > 0) {
            const dir = queue.shift()!;
            const entries = await listDir(reader, dir, opts.long === true || ctx.json);
            sections.push({ dir, entries });
            all.push(...entries);
            // Depth first, as ls -R prints: a directory's subtrees before its next sibling.
            if (opts.recursive) queue.unshift(...entries.filter((e) => e.stats.isDirectory()).map((e) => e.path));
          }
        }
        if (ctx.json) return ctx.printJson(all.map((e) => ({ name: e.name, ...statsJson(e.path, e.stats, e.target) })));
        const headed = opts.recursive === true || targets.length > 1;
        const out: string[] = [];
        for (const [i, section] of sections.entries()) {
          if (headed && section.dir !== null) out.push(...(i > 0 ? [""] : []), `${section.dir}:`);
          out.push(...(opts.long ? longLines(section.entries) : section.entries.map((e) => e.name)));
        }
        ctx.printLines(out);
      }),
    );
}

function registerStat(program: Command, run: Runner): void {
  withGlobalOptions(program.command("stat"))
    .description("show a path's attributes (of a symlink itself unless -L)")
    .argument("<paths...>", "remote paths")
    .option("-L, --dereference", "follow symlinks")
    .addOption(snapshotOption())
    .addHelpText("after", "\nExamples:\n  nokv-fs stat /datasets/cifar/train.bin\n  nokv-fs stat -L /latest --json")
    .action(
      run.action<{ dereference?: boolean; snapshot?: string }, [string[]]>(async (ctx, opts, paths) => {
        const reader = await ctx.reader(opts.snapshot);
        const results: Record<string, unknown>[] = [];
        const out: string[] = [];
        for (const path of paths.map(remotePath)) {
          const s = opts.dereference ? await reader.stat(path) : await reader.lstat(path);
          const target = s.isSymbolicLink() ? await reader.readlink(path) : undefined;
          results.push(statsJson(path, s, target));
          out.push(
            `  Path: ${path}${target === undefined ? "" : ` -> ${target}`}`,
            `  Type: ${s.type}  Size: ${s.size} (${humanBytes(s.size)})  Blocks: ${s.blocks}  Inode: ${s.ino}  Generation: ${s.generation}  Links: ${s.nlink}`,
            `Access: (0${(s.mode & 0o7777).toString(8)}/${modeString(s.type, s.mode)})  Uid: ${s.uid}  Gid: ${s.gid}  Version: ${s.version}`,
            `Modify: ${s.mtime.toISOString()}`,
            `Change: ${s.ctime.toISOString()}`,
          );
        }
        if (ctx.json) return ctx.printJson(results.length === 1 ? results[0] : results);
        ctx.printLines(out);
      }),
    );
}

interface TreeNode {
  name: string;
  type: string;
  sizeBytes: number;
  target?: string;
  children?: TreeNode[];
}

async function buildTree(reader: Reader, path: string, stats: NoKVStats, depthLeft: number): Promise<TreeNode> {
  const node: TreeNode = { name: baseName(path), type: stats.type, sizeBytes: stats.size };
  if (stats.isSymbolicLink()) node.target = await reader.readlink(path);
  if (stats.isDirectory() && depthLeft > 0) {
    const entries = await listDir(reader, path, false);
    node.children = await Promise.all(entries.map((e) => buildTree(reader, e.path, e.stats, depthLeft - 1)));
  }
  return node;
}

function drawTree(node: TreeNode, prefix: string, out: string[], counts: { dirs: number; files: number }): void {
  const children = node.children ?? [];
  children.forEach((child, i) => {
    const last = i === children.length - 1;
    const label = child.target === undefined ? child.name : `${child.name} -> ${child.target}`;
    out.push(`${prefix}${last ? "└── " : "├── "}${label}${child.type === "dir" ? "/" : ""}`);
    if (child.type === "dir") counts.dirs++;
    else counts.files++;
    drawTree(child, prefix + (last ? "    " : "│   "), out, counts);
  });
}

function registerTree(program: Command, run: Runner): void {
  withGlobalOptions(program.command("tree"))
    .description("show a directory tree")
    .argument("[path]", "remote directory (default /)", "/")
    .option("-L, --level <depth>", "descend at most DEPTH levels")
    .addOption(snapshotOption())
    .addHelpText("after", "\nExamples:\n  nokv-fs tree /workspace\n  nokv-fs tree / -L 2 --json")
    .action(
      run.action<{ level?: string; snapshot?: string }, [string]>(async (ctx, opts, pathArg) => {
        const depth = opts.level === undefined ? Number.POSITIVE_INFINITY : parsePositiveInt("--level", opts.level, TREE_DEPTH_MAX);
        const reader = await ctx.reader(opts.snapshot);
        const path = remotePath(pathArg);
        const root = await buildTree(reader, path, await reader.stat(path), depth);
        if (ctx.json) return ctx.printJson({ ...root, name: path });
        const out = [path];
        const counts = { dirs: 0, files: 0 };
        drawTree(root, "", out, counts);
        out.push("", `${counts.dirs} ${counts.dirs === 1 ? "directory" : "directories"}, ${counts.files} ${counts.files === 1 ? "file" : "files"}`);
        ctx.printLines(out);
      }),
    );
}

export function registerListing(program: Command, run: Runner): void {
  registerLs(program, run);
  registerStat(program, run);
  registerTree(program, run);
}
