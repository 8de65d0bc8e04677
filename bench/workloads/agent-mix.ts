// The agent op mix: the measured mix of a JavaScript project install (lstat 57%, stat 15%,
// create 13%, readdir 8%, mkdir 7%) by path over a node_modules-like tree, many in flight.
import { runConcurrent } from "../lib/run.ts";
import type { PeerFs } from "../peers/agentfs.ts";
import { echoFloor } from "./floors.ts";
import { mulberry32 } from "./tree.ts";
import type { Ctx, Workload } from "./types.ts";

const MIX = [["lstat", 57], ["stat", 15], ["create", 13], ["readdir", 8], ["mkdir", 7]] as const;
type MixOp = (typeof MIX)[number][0];
const IN_FLIGHT = 16;
const SUBDIRS = ["lib", "lib/utils", "dist", "dist/esm"];
const FILES_PER_DIR = 6;

interface Tree {
  dirs: string[];
  files: string[];
}

function treeOf(packages: number): Tree {
  const dirs = ["/proj", "/proj/node_modules"];
  const files = ["/proj/package.json"];
  for (let p = 0; p < packages; p++) {
    const pkg = `/proj/node_modules/pkg-${p}`;
    dirs.push(pkg, ...SUBDIRS.map((s) => `${pkg}/${s}`));
    files.push(`${pkg}/package.json`, `${pkg}/README.md`);
    for (const s of SUBDIRS) for (let f = 0; f < FILES_PER_DIR; f++) files.push(`${pkg}/${s}/file-${f}.js`);
  }
  return { dirs, files };
}

function opsOf(count: number, tree: Tree): Array<{ op: MixOp; path: string }> {
  const rnd = mulberry32(7);
  const pick = <T>(list: T[]) => list[Math.floor(rnd() * list.length)]!;
  return Array.from({ length: count }, (_, i) => {
    let r = rnd() * 100;
    const op = MIX.find(([, weight]) => (r -= weight) < 0)?.[0] ?? "lstat";
    // lstat/stat hit files and directories as an install does; creates and mkdirs make new names.
    if (op === "lstat" || op === "stat") return { op, path: rnd() < 0.8 ? pick(tree.files) : pick(tree.dirs) };
    if (op === "readdir") return { op, path: pick(tree.dirs) };
    return { op, path: `${pick(tree.dirs)}/${op === "create" ? "new" : "newdir"}-${i}` };
  });
}

interface MixFs {
  lstat(path: string): Promise<unknown>;
  stat(path: string): Promise<unknown>;
  create(path: string): Promise<unknown>;
  readdir(path: string): Promise<unknown>;
  mkdir(path: string): Promise<unknown>;
}

async function build(fs: MixFs, tree: Tree, onProgress: (done: number, total: number) => void): Promise<void> {
  for (const dir of tree.dirs) await fs.mkdir(dir);
  await runConcurrent(tree.files.length, IN_FLIGHT, (i) => fs.create(tree.files[i]!), { onProgress });
}

function peerMix(fs: PeerFs): MixFs {
  return { lstat: (p) => fs.lstat(p), stat: (p) => fs.stat(p), create: (p) => fs.writeFile(p, ""), readdir: (p) => fs.readdir(p), mkdir: (p) => fs.mkdir(p) };
}

async function agentMix(ctx: Ctx): Promise<void> {
  const packages = ctx.profile.name === "smoke" ? 40 : 200;
  const tree = treeOf(packages);
  const ops = opsOf(ctx.profile.agentOps, tree);
  const phase = `install mix by path, ${IN_FLIGHT} in flight`;
  const c = ctx.client;
  const nokv: MixFs = { lstat: (p) => c.lstat(p), stat: (p) => c.stat(p), create: (p) => c.createFile(p), readdir: (p) => c.readdir(p), mkdir: (p) => c.mkdir(p) };
  await ctx.prepare(`tree of ${packages} packages, ${tree.dirs.length} dirs, ${tree.files.length} files`, (onProgress) => build(nokv, tree, onProgress));
  const note = `${tree.files.length} files in ${tree.dirs.length} dirs`;
  await ctx.measure({ phase, system: "nokv", name: "NoKV", unit: "ops/s", note }, (onProgress) =>
    runConcurrent(ops.length, IN_FLIGHT, (i) => nokv[ops[i]!.op](ops[i]!.path), { onProgress }));
  await echoFloor(ctx, phase, ops.length, IN_FLIGHT, { mount: 1, path: "/proj/node_modules/pkg-1/lib/file-1.js" });
  const peer = await ctx.openPeer("agent-mix.db");
  if ("unavailable" in peer) {
    ctx.record({ phase, system: "peer", name: "AgentFS (agentfs-sdk)", unit: "ops/s", rate: 0, p50Us: null, p99Us: null, count: 0, unavailable: peer.unavailable });
    return;
  }
  try {
    const fs = peerMix(peer.fs);
    await ctx.prepare("AgentFS tree", (onProgress) => build(fs, tree, onProgress));
    const count = Math.min(ops.length, ctx.profile.peerMaxOps * 2);
    // One at a time: its writes open transactions on its one connection.
    await ctx.measure({ phase, system: "peer", name: peer.label, unit: "ops/s", note: `1 in flight (concurrent writes fail), ${count} ops` }, (onProgress) =>
      runConcurrent(count, 1, (i) => fs[ops[i]!.op](ops[i]!.path), { onProgress }));
  } finally {
    await peer.close();
  }
}

export const agentMixWorkload: Workload = { name: "agent-mix", description: "lstat 57% stat 15% create 13% readdir 8% mkdir 7% over a node_modules tree", run: agentMix };
